# R24 across workers: a poll held by one worker is answered within
# milliseconds when another worker commits; $pid in the access log proves
# which worker served what.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use SbTest;

my $t = SbTest->new(workers => 2)->start;
my @workers = $t->worker_pids;
is(scalar @workers, 2, 'two worker processes');

$t->add_agent('ann', capacity => { chat => 100 });
$t->available('ann');
my $cursor = $t->events('ann', 0, 0.5)->{cursor} // 0;

my (@cross, @same);
$t->wait_for(sub { grep { /GET \/agent\/events/ } $t->access_log }, 5);
my $logged = () = $t->access_log;
for my $i (1 .. 40) {
    my $poll = $t->send_request('GET', "/agent/events?cursor=$cursor&i=$i",
                                token => $t->agent('ann'));
    sleep 0.05;                           # the poll is held by now
    my $t0 = time;
    my $post = $t->say_visitor("v$i", 'chat', "message $i");
    my $res = $t->read_response($poll, 5);
    my $lag = time - $t0;
    die "poll failed: $res->{status}" unless $res->{status} == 200;
    $cursor = $res->{json}{cursor};

    # nginx writes the access log after the response has gone out: wait for
    # this round's two lines rather than read a log one line short.
    my ($poll_line, $post_line);
    $t->wait_for(sub {
        my @round = $t->access_log;
        splice @round, 0, $logged;
        ($poll_line) = grep { /GET \/agent\/events/ } @round;
        ($post_line) = grep { /POST \/visitor\/messages/ } @round;
        return $poll_line && $post_line;
    }, 5) or die "round $i never reached the access log";
    $logged = () = $t->access_log;
    my ($pp) = $poll_line =~ /^(\d+)/;
    my ($cp) = $post_line =~ /^(\d+)/;
    my $ok = @{ $res->{json}{events} } >= 1;
    if ($pp != $cp) {
        push @cross, [$lag, $ok, $pp, $cp];
    } else {
        push @same, [$lag, $ok];
    }
    last if @cross >= 5 && @same >= 2;
}

ok(@cross >= 3, 'at least three polls were woken by a commit in the other '
               . 'worker (' . scalar(@cross) . ')');
ok(!(grep { !$_->[1] } @cross, @same), 'every woken poll carries the event');
my @lags = sort { $a <=> $b } map { $_->[0] } @cross;
my $worst = $lags[-1] // 99;
diag(sprintf 'cross-worker wake-up: median %.1f ms, worst %.1f ms '
              . '(including the POST round trip)',
     1000 * ($lags[@lags / 2] // 0), 1000 * $worst);
cmp_ok($worst, '<', 0.5, 'each cross-worker wake-up came within 500 ms');

$t->stop;
$t->check_log;
done_testing;
