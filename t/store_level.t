# Issue 20, item 6: a month in minutes. Steady traffic (a visitor writes,
# the agent answers and ends the conversation, over and over) with a
# retention of seconds: the store's used size levels off instead of
# growing with the conversations. The curve is printed.
# LEVEL_SECONDS sets the traffic time (24 in `make test`, 300 in `make
# soak`).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use List::Util qw(max);
use Time::HiRes qw(time sleep);
use SbTest;

my $SECONDS = $ENV{LEVEL_SECONDS} // 24;
my $keep = 'switchboard_dedupe_window 2s; switchboard_ledger_retention 2s;';
my $t = SbTest->new(presence => '60s',
    server => 'location = /health { switchboard_health; } '
            . 'location = /metrics { switchboard_metrics; }',
    http => "switchboard_retention 1h; $keep")->start;
$t->add_agent('ann', capacity => { chat => 1000 });
$t->available('ann');
my $ann = $t->agent('ann');

sub used { $t->get('/health')->{json}{store}{used_bytes} }
sub deleted {
    ($t->get('/metrics')->{body}
       =~ /^switchboard_retention_deleted_total\{what="conversations"\} (\d+)/m)[0]
}
my $text = 'a question of some length, as a visitor writes it ' x 4;
my $n = 0;
sub one_conversation {
    my $r = $t->say_visitor('v' . $n++, 'chat', $text,
                            headers => { 'Idempotency-Key' => "k$n" });
    return 0 unless $r->{status} == 201;
    my $c = $r->{json}{conversation};
    $t->post("/agent/conversations/$c/messages", $ann,
             { text => 'an answer of some length, as an agent writes it' });
    return $t->post("/agent/conversations/$c/end", $ann, {})->{status} == 200;
}

# --- what a conversation costs, and how fast retention deletes ---------------
my $BACKLOG = 2000;
my $u0 = used();
my $made = 0;
$made += one_conversation() for 1 .. $BACKLOG;
is($made, $BACKLOG, "$BACKLOG conversations made, answered and ended");
my $per = (used() - $u0) / $BACKLOG;
diag(sprintf('%.0f bytes of store per conversation (a visitor message, an '
             . 'answer, the system entries, events, handler, ledger, dedupe '
             . 'row)', $per));
# and a message more in a conversation that stays open
my $long = $t->say_visitor('long', 'chat', $text)->{json}{conversation};
my $MSGS = 1000;
$u0 = used();
my $said = grep { $_->{status} == 201 }
           map { $t->say_visitor('long', 'chat', $text) } 1 .. $MSGS;
is($said, $MSGS, "$MSGS messages more in one conversation");
diag(sprintf('%.0f bytes of store per visitor message of %d characters in '
             . 'an open conversation (thread entry, events in the agent\'s '
             . 'and the visitor\'s logs)', (used() - $u0) / $MSGS,
             length $text));
is($t->post("/agent/conversations/$long/end", $ann, {})->{status}, 200,
   'that conversation ends too');
$t->{http} = "switchboard_retention 1s; $keep";
$t->write_conf;
$t->reload;
my $r0 = time;
ok($t->wait_for(sub { (deleted() // 0) >= $BACKLOG }, 60),
   'after a reload to a retention of 1 s, retention deletes them all');
my $took = time - $r0;
diag(sprintf('retention deleted %d conversations in %.1f s (%.0f a second, '
             . 'the reload and the first timer included)', $BACKLOG, $took,
             $BACKLOG / $took));

# --- the level --------------------------------------------------------------
$t->{http} = "switchboard_retention 2s; $keep";
$t->write_conf;
$t->reload;

my @curve;
my $t0 = time;
my $next = $t0;
$n = 0;
while (time - $t0 < $SECONDS) {
    one_conversation();
    if (time >= $next) {
        push @curve, [ time - $t0, used(), $n ];
        $next += $SECONDS / 12;
    }
}
push @curve, [ time - $t0, used(), $n ];
diag(sprintf('%5.1f s  %7d conversations  %8.0f KB used',
             $_->[0], $_->[2], $_->[1] / 1024)) for @curve;

my $third = int(@curve / 3);
my $middle = max(map { $_->[1] } @curve[$third .. 2 * $third - 1]);
my $last = max(map { $_->[1] } @curve[2 * $third .. $#curve]);
my $grew = ($curve[-1][2] - $curve[$third][2]) / ($curve[$third][2] || 1);
cmp_ok($n, '>', 500, "$n conversations made, answered and ended");
cmp_ok($last, '<=', $middle * 1.25, sprintf('the used size levels off: '
       . '%.0f KB at most in the last third, %.0f KB in the middle one, while '
       . 'the conversations grew by %.0f%%', $last / 1024, $middle / 1024,
       100 * $grew));
is($t->get('/health')->{status}, 200, 'the store is healthy at the end');

$t->stop;
$t->check_log;
done_testing;
