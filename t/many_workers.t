# More than 64 workers (issue 8, item 9; R24): a wake-up that cannot be
# sent to a worker (its datagram queue full) is remembered per worker and
# turned into a rescan once it can, for workers 64 and up as for the
# others. Workers 64-79 are stopped while their queues fill, and an event
# for an agent whose polls they hold must still reach those polls.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time sleep);
use SbTest;

my $port2 = SbTest::free_port();
my $t = SbTest->new(workers => 80, poll => '60s', presence => '120s',
    # a second listener without reuseport: while some workers are stopped,
    # the running ones take its connections
    http => 'switchboard_polls_per_token 400; '
          . "server { listen 127.0.0.1:$port2; "
          . 'location /visitor/ { switchboard_visitor_api; } '
          . 'location /agent/ { switchboard_agent_api; } }');
(my $conf = $t->conf_text) =~ s/worker_connections 1024;/worker_connections 256;/;
$t->write_file('conf/nginx.conf', $conf);
$t->start;
my @w = $t->worker_pids;
is(scalar @w, 80, '80 workers run');

$t->add_agent('ann', capacity => { chat => 10 });
$t->add_agent('bob', capacity => { chat => 1000 });
$t->available('ann');
my $conv = $t->say_visitor('vann', 'chat', 'for ann')->{json}{conversation};
is($t->conv($conv)->{agent}, 'ann', 'ann holds a conversation');
$t->available('ann', 'all', 0);       # no new work for ann
$t->available('bob');
my $cursor = $t->events('ann', 0, 0.2)->{cursor};

# ann's polls, spread over every worker by reuseport
my @polls = map { $t->send_request('GET', "/agent/events?cursor=$cursor",
                                   token => $t->agent('ann')) } 1 .. 320;
sleep 1.5;

# the last 16 workers stop: their wake-up queues fill up
my @stopped = @w[64 .. 79];
kill 'STOP', @stopped;
sub post2 {
    my ($visitor, $text) = @_;
    my $body = qq({"text":"$text"});
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port2)
      or die "connect: $!";
    print $s "POST /visitor/messages HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           . 'Authorization: Bearer ' . $t->visitor($visitor, 'chat') . "\r\n"
           . 'Content-Type: application/json' . "\r\nContent-Length: "
           . length($body) . "\r\n\r\n$body";
    return $t->read_response($s, 5);
}
my $ok = grep { post2("fill$_", 'for bob')->{status} == 201 } 1 .. 600;
is($ok, 600, '600 commits for bob, a datagram each to every worker: '
   . 'more than the socket of a stopped worker holds');
is(post2('vann', 'again, for ann')->{status}, 201,
   "then a message for ann: its datagram cannot reach the stopped workers");
sleep 0.3;
kill 'CONT', @stopped;

# every poll of ann's hears the message, the stopped workers' too
my $sel = IO::Select->new(@polls);
my %answered;
my $deadline = time + 8;
my %buf;
while (keys %answered < @polls && (my $left = $deadline - time) > 0) {
    for my $s ($sel->can_read($left)) {
        my $n = sysread($s, $buf{$s}, 65536, length($buf{$s} // ''));
        if (!$n || $buf{$s} =~ /"events":\[\{/) {
            $answered{$s} = $buf{$s} // '';
            $sel->remove($s);
        }
    }
}
is(scalar(keys %answered), 320, "all 320 of ann's polls are answered");
is(scalar(grep { /conversation\.message/ } values %answered), 320,
   'each with the message (none waited for its timeout)');

is(scalar(() = $t->worker_pids), 80, 'no worker was lost');
$t->stop;
$t->check_log;
done_testing;
