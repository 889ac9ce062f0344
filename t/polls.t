# Waiting long-polls are parked (R24): their request is freed while they
# wait, and the answer goes out on a request made anew. The answer, the
# keep-alive connection after it, the access log line, a client that goes
# away while parked, and a request pipelined behind a poll all still work.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time sleep);
use SbTest;

my $t = SbTest->new(poll => '2s',
                    http => "log_format full '\$pid \$request_method \$uri "
                          . "\$status \"\$request\" \"\$http_user_agent\" "
                          . "\"\$http_referer\" \$request_time'; "
                          # fifty polls of one agent below
                          . 'switchboard_polls_per_token 60;')->start;
$t->add_agent('ann');
$t->available('ann');
my $ann = $t->agent('ann');

# /agent/me is a snapshot with its cursor: a desk that loads it and polls
# from events_cursor misses nothing and replays nothing (R24)
is($t->me('ann')->{events_cursor}, 0, 'an empty log: events_cursor 0');
my $snap_conv = $t->say_visitor('s1', 'chat', 'hello')->{json}{conversation};
my $snap = $t->me('ann');
is_deeply($snap->{conversations}, [$snap_conv], 'the snapshot holds it');
my $all = $t->events('ann', 0, 1);
is($snap->{events_cursor}, $all->{cursor},
   'events_cursor is the last event of the log, its assignment among them');
my $held_since = time;
my $after = $t->events('ann', $snap->{events_cursor}, 3);
is_deeply($after->{events}, [], 'polling from it replays nothing (it waits)');
cmp_ok(time - $held_since, '>=', 1.5, '... held until the poll timeout');
$t->post("/agent/conversations/$snap_conv/end", $ann);
$after = $t->events('ann', $snap->{events_cursor}, 3);
is_deeply([ map { $_->{type} } @{ $after->{events} } ],
          ['conversation.ended'], 'and then gets exactly what changed since');

# the full format shows what the revived request carries
$t->{http} .= "\naccess_log $t->{prefix}/logs/full.log full;";
$t->write_conf;
my @before_reload = $t->worker_pids;
$t->reload;
# the old workers answer what they hold and go: the polls below must land
# on the new ones
for (1 .. 200) {
    last unless grep { kill 0, $_ } @before_reload;
    sleep 0.025;
}

sub keepalive {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $t->{port}) or die $!;
    binmode $s;
    return $s;
}

sub send_get {
    my ($s, $path) = @_;
    print $s "GET $path HTTP/1.1\r\nHost: localhost\r\n"
           . "User-Agent: desk/7 (poll)\r\nReferer: https://desk.example/q\r\n"
           . "Authorization: Bearer $ann\r\n\r\n";
}

# One answer off a keep-alive connection (Content-Length framed); what
# follows it stays buffered for the next call.
my %pending;
sub read_one {
    my ($s, $timeout) = @_;
    my $sel = IO::Select->new($s);
    my $buf = delete $pending{$s} // '';
    my $deadline = time + ($timeout // 5);
    while (1) {
        if ($buf =~ /^(.*?\r\n\r\n)/s) {
            my $head = $1;
            my ($len) = $head =~ /Content-Length: (\d+)/i;
            if (defined $len && length($buf) >= length($head) + $len) {
                $pending{$s} = substr($buf, length($head) + $len);
                return SbTest::parse_response(
                    substr($buf, 0, length($head) + $len));
            }
        }
        last if time >= $deadline || !$sel->can_read($deadline - time);
        sysread($s, $buf, 65536, length $buf) or last;
    }
    return SbTest::parse_response($buf);
}

sub full_log {
    open my $fh, '<', "$t->{prefix}/logs/full.log" or return ();
    return <$fh>;
}

my $cursor = $t->events('ann', 0, 0.3)->{cursor} // 0;

# a parked poll answered by an event, then the same connection goes on
my $s = keepalive();
send_get($s, "/agent/events?cursor=$cursor&probe=1");
sleep 0.3;                                   # parked by now
my $c = $t->say_visitor('v1', 'chat', 'hello')->{json}{conversation};
my $r = read_one($s);
is($r->{status}, 200, 'R24: the parked poll is answered');
is($r->{json}{events}[0]{type}, 'conversation.assigned',
   'with the event that woke it');
is($r->{json}{events}[0]{conversation}, $c, 'for the new conversation');
$cursor = $r->{json}{cursor};
send_get($s, '/agent/me');
$r = read_one($s);
is($r->{status}, 200, 'the keep-alive connection serves the next request');
is($r->{json}{id}, 'ann', 'and answers it');

# a parked poll that times out keeps its cursor
send_get($s, "/agent/events?cursor=$cursor");
my $t0 = time;
$r = read_one($s, 5);
my $waited = time - $t0;
is($r->{status}, 200, 'a parked poll times out with a 200');
is($r->{json}{cursor}, $cursor, 'R24: and the same cursor');
ok($waited > 1.5 && $waited < 4, sprintf 'after the poll timeout (%.1f s)',
   $waited);
close $s;

ok($t->wait_for(sub {
       grep { m{GET /agent/events 200 "GET /agent/events\?cursor=\d+&probe=1 HTTP/1.1"} }
       full_log() }, 5),
   'the access log shows the parked poll: method, URI, status, request line');
my ($line) = grep { /probe=1/ } full_log();
like($line, qr{"desk/7 \(poll\)" "https://desk\.example/q"},
     'issue 19: ... with the headers it came with ($http_user_agent, '
     . '$http_referer), not "-"');
my ($rt) = $line =~ /(\S+)$/;
ok($rt >= 0.25, "its request time counts from the first byte ($rt s)");

# a client that goes away while parked: 499 in the log, nothing leaks
$s = keepalive();
send_get($s, "/agent/events?cursor=$cursor&gone=1");
sleep 0.3;
close $s;
ok($t->wait_for(sub { grep { /gone=1 .* 499|499 "GET \/agent\/events\?cursor=\d+&gone=1/ }
                      full_log() }, 5),
   'a client gone while parked is logged 499');
$t->say_visitor('v1', 'chat', 'after the client went');

# a request pipelined behind a poll: the poll stays held whole, then both
# are answered in order
$s = keepalive();
print $s "GET /agent/events?cursor=$cursor HTTP/1.1\r\nHost: localhost\r\n"
       . "Authorization: Bearer $ann\r\n\r\n"
       . "GET /agent/me HTTP/1.1\r\nHost: localhost\r\n"
       . "Authorization: Bearer $ann\r\n\r\n";
sleep 0.3;
$t->say_visitor('v2', 'chat', 'hi');
$r = read_one($s);
is($r->{status}, 200, 'a poll with a pipelined request behind it is answered');
ok(@{ $r->{json}{events} } >= 1, 'with its events');
$r = read_one($s);
is($r->{json}{id}, 'ann', 'then the pipelined request');
close $s;

# many parked polls on one log, all answered by one event
my $latest = $t->events('ann', 0, 0.3)->{cursor};
my @many = map { my $x = keepalive(); send_get($x, "/agent/events?cursor=$latest"); $x }
        1 .. 50;
sleep 0.3;
$t->say_visitor('v3', 'chat', 'for everyone');
my $answered = grep { my $a = read_one($_); $a->{status} == 200
                      && @{ $a->{json}{events} } } @many;
is($answered, 50, 'fifty parked polls on one log: each answered with the event');

$t->stop;
$t->check_log;
done_testing;
