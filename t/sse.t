# Server-Sent Events (issue 11, R24, R5a): the event logs streamed with
# Accept: text/event-stream, in order across both workers; Last-Event-ID
# resumes with nothing lost or repeated; heartbeats; a stream is presence;
# a reader that stops reading is dropped and recovers; a reload ends
# streams cleanly.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use SbTest;
use SseClient;

# small socket buffers, so that a reader that stops reading is soon seen
my $t = SbTest->new(listen => 'sndbuf=8k',
                    http => "switchboard_stream_heartbeat 1s;\n"
                          . "switchboard_stream_buffer 8k;",
                    server => 'location = /metrics { switchboard_metrics; }')
  ->start;
sub streams_open {
    my ($kind) = @_;
    my ($n) = $t->get('/metrics')->{body}
      =~ /^switchboard_streams_open\{kind="$kind"\} (\d+)$/m;
    return $n;
}
my $admin = $t->admin;
$t->add_agent('ann', capacity => { chat => 100, mobile => 100 });
$t->available('ann');
my $ann = $t->agent('ann');
my $port = $t->{port};

# --- refusals come before any stream ---------------------------------------
my $bad = SseClient->connect($port, '/agent/events', $ann,
                             last_event_id => 'x1');
$bad->pump(3, sub { $_[0]->{eof} });
is($bad->status, 400, 'a Last-Event-ID that is not a number: 400');
like($bad->{raw} . $bad->{body}, qr/bad_cursor/, '... bad_cursor');
my $ahead = SseClient->connect($port, '/agent/events', $ann,
                               last_event_id => 99);
$ahead->pump(3, sub { $_[0]->{eof} });
is($ahead->status, 400, 'a Last-Event-ID ahead of the log: 400');
like($ahead->{raw} . $ahead->{body}, qr/cursor_ahead/, '... cursor_ahead');
my $anon = SseClient->connect($port, '/agent/events', undef);
$anon->pump(3, sub { $_[0]->{eof} });
is($anon->status, 401, 'no token: 401, as for a poll');

# --- the stream -----------------------------------------------------------------
my $es = SseClient->connect($port, '/agent/events', $ann);
$es->pump(3, sub { grep { /stream open/ } $_[0]->comments });
is($es->status, 200, 'Accept: text/event-stream: 200');
is($es->header('content-type'), 'text/event-stream', 'text/event-stream');
is($es->header('cache-control'), 'no-cache', 'Cache-Control: no-cache');
is($es->header('x-accel-buffering'), 'no', 'X-Accel-Buffering: no');
ok((grep { /stream open/ } $es->comments), 'a first comment line at once');
is(streams_open('agent'), 1, 'the metrics count it: switchboard_streams_open');

# 30 visitors, each write taken by either worker: 30 assignments, in order
my @convs;
for my $i (1 .. 30) {
    push @convs, $t->say_visitor("v$i", 'chat', "hello $i")->{json}{conversation};
}
$es->pump(10, sub { scalar($_[0]->frames) >= 30 });
my @f = $es->frames;
is(scalar @f, 30, 'thirty events streamed');
is_deeply([ map { $_->{id} } @f ], [ 1 .. 30 ], 'ids 1..30: in order, no gap');
is_deeply([ map { $_->{event} } @f ], [ ('conversation.assigned') x 30 ],
          'event: the type');
is_deeply([ map { $_->{json}{conversation} } @f ], \@convs,
          'data: the event as the poll gives it, in the order written');
my $poll = $t->events('ann', 0, 1);
is_deeply([ map { $_->{json} } @f ], $poll->{events},
          'the same events as a poll from 0');
my %pids = map { /^(\d+) POST \/visitor\/messages/ ? ($1 => 1) : () }
           $t->access_log;
is(scalar keys %pids, 2, 'the writes were taken by both workers');

# --- heartbeats, and presence ----------------------------------------------------
my $beats = () = grep { /heartbeat/ } $es->comments;
$es->pump(2.6);
my $now_beats = () = grep { /heartbeat/ } $es->comments;
cmp_ok($now_beats - $beats, '>=', 2, 'a heartbeat a second while idle');

# only the stream from now on: 8 s is past the 6 s presence timeout
$es->pump(8);
is($t->me('ann')->{presence}, 'online', 'a stream alone keeps the agent present (R5a)');
my $c31 = $t->say_visitor('v31', 'chat', 'still there?')->{json}{conversation};
is($t->conv($c31)->{agent}, 'ann', 'and routable: the new conversation is hers');
$es->pump(3, sub { grep { $_->{json}{conversation} eq $c31 } $_[0]->frames });
is($es->last_id, 31, 'streamed as event 31');

# --- Last-Event-ID: reconnect, nothing lost or repeated ------------------------------
$es->close;
$t->post("/agent/conversations/$convs[0]/messages", $ann, { text => 'a' });
$t->post("/agent/conversations/$convs[1]/end", $ann);
my $again = SseClient->connect($port, '/agent/events', $ann, last_event_id => 31);
$again->pump(5, sub { scalar($_[0]->frames) >= 1 });
sleep 0.5;
$again->pump(0.5);
my @g = $again->frames;
is_deeply([ map { $_->{id} } @g ], [32], 'resumed after 31: the one event since');
is($g[0]{event}, 'conversation.ended', '... the end (a reply makes none for its author)');
is($g[0]{json}{conversation}, $convs[1], '... of the right conversation');
$again->close;

# ?cursor= works as well as Last-Event-ID, and the header wins
my $both = SseClient->connect($port, '/agent/events?cursor=0', $ann,
                              last_event_id => 30);
$both->pump(3, sub { scalar($_[0]->frames) >= 2 });
is_deeply([ map { $_->{id} } $both->frames ], [31, 32],
          'Last-Event-ID wins over ?cursor=');
$both->close;

# --- a visitor's stream --------------------------------------------------------------
my $vs = SseClient->connect($port, '/visitor/events', $t->visitor('v3', 'chat'));
$vs->pump(3, sub { grep { /stream open/ } $_[0]->comments });
$t->post("/agent/conversations/$convs[2]/messages", $ann, { text => 'Bonjour v3 🙂' });
$vs->pump(3, sub { scalar($_[0]->frames) >= 1 });
my ($vf) = $vs->frames;
is(streams_open('visitor'), 1, "... a visitor's, by kind");
is($vf->{event}, 'message', "the visitor's stream: event message");
is($vf->{json}{message}{text}, 'Bonjour v3 🙂', '... with the agent\'s text, UTF-8 intact');
$vs->close;

# --- a reader that stops reading is dropped, and recovers -------------------------------
my $slow = SseClient->connect($port, '/agent/events', $ann,
                              last_event_id => 32, rcvbuf => 4096);
$slow->pump(3, sub { grep { /stream open/ } $_[0]->comments });
my $big = 'x' x 3000;
my $n = 0;
for my $c (@convs[3 .. 22]) {           # 20 conversations x 10 messages
    for (1 .. 10) {
        $t->say_visitor("v" . (substr($c, 1) + 0), 'chat', "$big $n");
        $n++;
    }
}
# it was read nothing all along; now it reads what it was sent: the end
$slow->pump(20, sub { $_[0]->{eof} });
ok($slow->eof, 'a reader that stopped reading was dropped');
is(streams_open('agent'), 0, 'and no longer counted');
my $got = () = $slow->frames;
cmp_ok($got, '<', $n, "having been sent part of the $n events ($got)");
like($t->error_log, qr/stream dropped: over 8192 bytes unread/, 'and the log says why');
my $resume = SseClient->connect($port, '/agent/events', $ann,
                                last_event_id => $slow->last_id // 32);
$resume->pump(20, sub { scalar($_[0]->frames) + $got >= $n });
my @all = ($slow->frames, $resume->frames);
is(scalar @all, $n, "resumed with its Last-Event-ID: all $n, none twice");
is_deeply([ map { $_->{id} } @all ], [ 33 .. 32 + $n ], 'in order, no gap');
$resume->close;

# --- a reload ends streams cleanly; clients come back to the new workers -----------------
my $r1 = SseClient->connect($port, '/agent/events', $ann, last_event_id => 32 + $n);
$r1->pump(3, sub { grep { /stream open/ } $_[0]->comments });
my $t0 = time;
$t->reload;
$r1->pump(10, sub { $_[0]->{eof} });
ok($r1->eof, 'a reload ends the stream');
ok($r1->ended_cleanly, 'cleanly: the last chunk, not a cut connection');
cmp_ok(time - $t0, '<', 5, 'promptly');
my $r2 = SseClient->connect($port, '/agent/events', $ann, last_event_id => 32 + $n);
my $c99 = $t->say_visitor('v99', 'chat', 'after the reload')->{json}{conversation};
$r2->pump(5, sub { scalar($_[0]->frames) >= 1 });
is(($r2->frames)[0]{json}{conversation}, $c99, 'the reconnected stream goes on');
$r2->close;

$t->check_log;
done_testing;
