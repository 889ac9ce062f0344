# Issue 20, item 1: retention. An ended conversation older than
# switchboard_retention is deleted whole by the purge timer (record,
# thread, handlers, tags and their index, state row, its events in the
# owners' logs), in bounded slices, counted in the metrics; its ledger
# line stays unless switchboard_ledger_retention says otherwise. A
# conversation still open is kept with its events. A cursor that points
# into deleted events is not refused and goes on from the oldest kept one
# and says so ("gap"); a log emptied numbers on past every deleted number.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use SbTest;
use PromText;
use SseClient;

# --- nginx -t -----------------------------------------------------------------
for my $case ([ 'switchboard_retention 0;', qr/invalid retention "0": a time above 0, or off/ ],
              [ 'switchboard_retention 1d fax;', qr/fax/ ],
              [ 'switchboard_retention 1d chat; switchboard_retention 2d chat;',
                qr/switchboard_retention is duplicate for "chat"/ ],
              [ 'switchboard_retention 1d; switchboard_retention off;',
                qr/is duplicate without channels/ ],
              [ 'switchboard_ledger_retention never;', qr/invalid retention "never"/ ])
{
    my $t = SbTest->new(http => $case->[0]);
    my ($code, $out) = $t->test_conf;
    isnt($code, 0, "nginx -t refuses: $case->[0]");
    like($out, $case->[1], '... and says why');
}
{
    my $t = SbTest->new(http => 'switchboard_retention 30d; '
                              . 'switchboard_retention off mobile; '
                              . 'switchboard_retention 1y whatsapp sms; '
                              . 'switchboard_ledger_retention 2y;');
    my ($code, $out) = $t->test_conf;
    is($code, 0, 'a default, a channel kept, channels of their own') or diag $out;
}

my $t = SbTest->new(presence => '60s',
    server => 'location = /metrics { switchboard_metrics; }',
    http => 'switchboard_retention 3s; switchboard_retention off mobile; '
          . 'switchboard_ledger_retention 8s;')->start;
$t->add_agent('ann', capacity => { chat => 5, mobile => 5 });
$t->available('ann');

# c1: written, answered, tagged, ended; c2: still open; m1: mobile, ended
my $c1 = $t->say_visitor('v1', 'chat', 'hello one')->{json}{conversation};
$t->post("/agent/conversations/$c1/messages", $t->agent('ann'), { text => 'hi' });
is($t->put("/agent/conversations/$c1/tags", $t->agent('ann'),
           { tags => ['vip'] })->{status}, 200, 'c1 is tagged');
my $c2 = $t->say_visitor('v2', 'chat', 'hello two')->{json}{conversation};
# c5: written with an Idempotency-Key, then ended
my $c5 = $t->say_visitor('v5', 'chat', 'keyed', headers => {
    'Idempotency-Key' => 'k-5' })->{json}{conversation};
is($t->post("/agent/conversations/$c5/end", $t->agent('ann'), {})->{status},
   200, 'c5 ended');
my $m1 = $t->say_visitor('m1', 'mobile', 'from the app')->{json}{conversation};
is($t->post("/agent/conversations/$_/end", $t->agent('ann'), {})->{status},
   200, "$_ ended") for $c1, $m1;
my $vcur = $t->get('/visitor/events?cursor=0', $t->visitor('v1', 'chat'),
                   timeout => 2)->{json}{cursor};
cmp_ok($vcur, '>=', 2, "v1's log has its events ($vcur)");
my $ledger_before = scalar @{ $t->get('/admin/ledger?cursor=0', $t->admin)
                                ->{json}{entries} };
is($ledger_before, 3, 'three ledger lines');

my $id_hex = sub { unpack 'H*', pack 'Q>', $_[0] =~ s/\D//gr };
ok($t->wait_for(sub { $t->get("/admin/conversations/$c1", $t->admin)
                        ->{status} == 404 }, 10),
   'c1, ended more than 3 s ago, is deleted by the timer');
is($t->get("/admin/conversations/$c1", $t->admin)->{json}{error}{code},
   'unknown_conversation', '... a read of it is 404 unknown_conversation');
is($t->get("/admin/conversations/$c2", $t->admin)->{status}, 200,
   'c2, still open, is kept');
ok($t->wait_for(sub { $t->get("/admin/conversations/$c5", $t->admin)
                        ->{status} == 404 }, 10), 'c5 is deleted too');
my $again = $t->say_visitor('v5', 'chat', 'keyed', headers => {
    'Idempotency-Key' => 'k-5' });
is($again->{status}, 200, 'a replay of its Idempotency-Key is still a '
   . 'replay (the key stays used for the dedupe window)');
ok($again->{json}{replayed}, '... "replayed"');
is($again->{json}{message}, undef, '... its message, deleted, is null');
is($again->{json}{conversation}, $c5, '... and names the old conversation');
is($t->conv($c2)->{thread}[0]{text}, 'hello two', '... with its thread');
is($t->get("/admin/conversations/$m1", $t->admin)->{status}, 200,
   'm1, on a channel with retention off, is kept');
is($t->get('/admin/conversations?tag=vip', $t->admin)->{json}{conversations}[0],
   undef, 'the tag index no longer names c1');

# no row of c1 is left in the databases that hold a conversation
my $dump = $t->dump_store;
my $hex = $id_hex->($c1);
# keys: tenant, then the conversation (conv, thread, handlers, tags) or
# ending with it (tagged, state); open rows hold it as their value
my $lead = qr/^ 64656661756c7400$hex/;
my %where = (conv => $lead, thread => $lead, handlers => $lead, tags => $lead,
             tagged => qr/^ 64656661756c7400\S*$hex$/,
             state => qr/^ 64656661756c7400\S*$hex$/, open => qr/^ $hex$/);
for my $db (sort keys %where) {
    my ($rows) = $dump =~ /database=$db\n.*?HEADER=END\n(.*?)DATA=END/s;
    my @hit = grep { $_ =~ $where{$db} } split /\n/, $rows // '';
    is(scalar @hit, 0, "mdb_dump: no row of c1 in $db");
}
my ($thread) = $dump =~ /database=thread\n.*?HEADER=END\n(.*?)DATA=END/s;
ok(grep({ /^ 64656661756c7400${\ $id_hex->($c2)}/ } split /\n/, $thread),
   '... while c2\'s thread rows are there');
is(scalar @{ $t->get('/admin/ledger?cursor=0', $t->admin)->{json}{entries} },
   3, 'the ledger keeps its lines (for the KPIs)');

my $m = PromText::parse($t->get('/metrics')->{body});
cmp_ok(PromText::value($m, 'switchboard_retention_deleted_total',
                       what => 'conversations'), '>=', 1,
       'metrics: conversations deleted');
cmp_ok(PromText::value($m, 'switchboard_retention_deleted_total',
                       what => 'events'), '>=', 1, 'metrics: events deleted');
like($t->error_log, qr/retention deleted \d+ conversations/, 'the log says so');

# the visitor's log: every event was c1's, all gone; a client holding a
# cursor into them waits, not refused
my $r = $t->get("/visitor/events?cursor=$vcur", $t->visitor('v1', 'chat'),
                timeout => 4);
is($r->{status}, 200, "v1 polls with its cursor ($vcur) into the deleted "
   . 'events: 200, not cursor_ahead');
is(scalar @{ $r->{json}{events} || [] }, 0, '... no event left: it waits');
is($t->get('/visitor/events?cursor=999999', $t->visitor('v1', 'chat'))
       ->{json}{error}{code}, 'cursor_ahead', '... a cursor past every '
   . 'number is still refused');

# the agent's log: c1's events are gone, c2's kept
$r = $t->get('/agent/events?cursor=0', $t->agent('ann'), timeout => 2);
is($r->{status}, 200, 'ann polls from cursor 0');
my @convs = map { $_->{conversation} // '' } @{ $r->{json}{events} };
ok(!grep({ $_ eq $c1 } @convs), '... no event of c1 is left');
ok(grep({ $_ eq $c2 } @convs), '... c2\'s events are there');

# v1 comes back: a new conversation, its events numbered after every
# number deleted, and the held cursor is told of the gap
my $r2 = $t->say_visitor('v1', 'chat', 'back again');
is($r2->{status}, 201, 'v1 writes again');
my $c4 = $r2->{json}{conversation};
isnt($c4, $c1, '... in a new conversation');
$t->post("/agent/conversations/$c4/messages", $t->agent('ann'),
         { text => 'welcome back' });
my $held = $vcur - 1;
$r = $t->get("/visitor/events?cursor=$held", $t->visitor('v1', 'chat'),
             timeout => 2);
my $first = $r->{json}{events}[0]{seq} // 0;
cmp_ok($first, '>', $vcur, "the log's numbers go on past the deleted ones "
       . "($first after $vcur)");
is_deeply($r->{json}{gap}, { from => $held + 1, to => $first - 1 },
          '... and the answer to a cursor into them says which it missed');

# a stream resumed there is told by a "gap" frame
my $es = SseClient->connect($t->{port}, '/visitor/events',
                            $t->visitor('v1', 'chat'),
                            last_event_id => $held);
$es->pump(3, sub { scalar($_[0]->frames) >= 2 });
my @f = $es->frames;
is($f[0]{event}, 'gap', 'SSE from that Last-Event-ID: a gap frame first');
is_deeply($f[0]{json}, $r->{json}{gap}, '... naming the missed numbers');
is($f[0]{id}, $first - 1, '... its id the last of them');
is($f[1]{id}, $first, '... then the kept event');
$es->close;

# the ledger retention, 8 s
ok($t->wait_for(sub { @{ $t->get('/admin/ledger?cursor=0', $t->admin)
                           ->{json}{entries} } == 0 }, 15),
   'after switchboard_ledger_retention, the ledger lines go too');

$t->stop;
$t->check_log;
done_testing;
