# Messages both ways (R6, R17-R19, R21, R23, R24): UTF-8 byte for byte,
# idempotency keys, a body spooled to a temp file, the visitor's poll.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use SbTest;

my $t = SbTest->new->start;
$t->add_agent('ann', name => 'Ann Lee');
$t->add_agent('bob', name => 'Bob');
$t->available('ann');

my $vis = $t->visitor('+33612345678', 'mobile');
my $emoji = "Salut 👋🏽 — ça va ? 𝄞 中文 \x{1F600}";
my $r = $t->post('/visitor/messages', $vis, { text => $emoji });
is($r->{status}, 201, 'R23: the visitor posts');
my $conv = $r->{json}{conversation};
is($r->{json}{message}{text}, $emoji, 'R6: echoed byte for byte');

# \u escapes with a surrogate pair decode to the same 4-byte character
$r = $t->post('/visitor/messages', $vis, '{"text":"\ud83d\ude00 ok"}');
is($r->{status}, 201, 'a surrogate pair escape is accepted');
is($r->{json}{message}{text}, "\x{1F600} ok", 'R6: surrogate pair decoded');
is($r->{json}{conversation}, $conv, 'R1: same open conversation');

# R21: visitor retries with the same key store one message
my %k = (headers => { 'Idempotency-Key' => 'client-msg-1' });
my $a = $t->post('/visitor/messages', $vis, { text => 'once' }, %k);
my $b = $t->post('/visitor/messages', $vis, { text => 'once' }, %k);
is($a->{status}, 201, 'first send: 201');
is($b->{status}, 200, 'R21: replay: 200');
is($b->{json}{message}{seq}, $a->{json}{message}{seq},
   'R21: the replay returns the stored message');
ok($b->{json}{replayed}, 'R21: and says it is a replay');

# a body larger than client_body_buffer_size goes to a temp file
my $big = '{"text":"from a file ✓"' . (' ' x 20000) . '}';
$r = $t->post('/visitor/messages', $vis, $big);
is($r->{status}, 201, 'a body spooled to a temp file is read whole');
is($r->{json}{message}{text}, 'from a file ✓', 'and parsed');
like($t->error_log, qr/buffered to a temporary file/,
     'nginx did spool it to a file');

# the agent answers, with an idempotency key, twice
my $ann = $t->agent('ann');
%k = (headers => { 'Idempotency-Key' => 'reply-1' });
$a = $t->post("/agent/conversations/$conv/messages", $ann,
              { text => 'Bonjour ! 🇫🇷' }, %k);
$b = $t->post("/agent/conversations/$conv/messages", $ann,
              { text => 'Bonjour ! 🇫🇷' }, %k);
is($a->{status}, 201, 'R6: the agent replies');
is($b->{status}, 200, 'R21: the agent replay is not stored again');

my $view = $t->get("/agent/conversations/$conv", $ann)->{json};
my @agent_msgs = grep { $_->{kind} eq 'agent' } @{ $view->{thread} };
is(scalar @agent_msgs, 1, 'R21: one agent message in the thread');
is($agent_msgs[0]{text}, 'Bonjour ! 🇫🇷', 'R6: the flag emoji round trip');
is(scalar(grep { $_->{kind} eq 'visitor' } @{ $view->{thread} }), 4,
   'four visitor messages (the replay was not stored)');
my ($assigned) = grep { ($_->{event} // '') eq 'assigned' } @{ $view->{thread} };
like($assigned->{text}, qr/Ann Lee/, 'R17: the assigned entry names the agent');
like($view->{created_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/,
     'times are RFC 3339 UTC');
ok(defined $view->{last_agent_message_at}, 'R18: last agent message time');
ok(defined $view->{age_seconds}, 'R18: age');
ok(exists $view->{since_last_agent_message_seconds},
   'R18: time since the last agent message');
is_deeply([ map { $_->{agent} } @{ $view->{handlers} } ], ['ann'],
          'R18: handlers');
is($view->{channel}, 'mobile', 'channel');
is($view->{class}, 'mobile', 'slot class');

# R24/R23: the visitor's poll gets the agent's message, cursor resumes
my $vev = $t->get('/visitor/events?cursor=0', $vis)->{json};
is(scalar @{ $vev->{events} }, 1, 'R23: one event for the visitor');
is($vev->{events}[0]{type}, 'message', 'of type message');
is($vev->{events}[0]{message}{text}, 'Bonjour ! 🇫🇷',
   'carrying the agent message');
my $vc = $vev->{cursor};
my $held = $t->send_request('GET', "/visitor/events?cursor=$vc",
                            token => $vis);
select undef, undef, undef, 0.1;
$t->post("/agent/conversations/$conv/messages", $ann, { text => 'second' });
my $got = $t->read_response($held, 5);
is($got->{json}{events}[0]{message}{text}, 'second',
   'R24: a held visitor poll is woken by the reply');
my $timeout = $t->get("/visitor/events?cursor=$got->{json}{cursor}", $vis);
is($timeout->{status}, 200, 'R24: a poll that times out answers 200');
is_deeply($timeout->{json}, { cursor => $got->{json}{cursor}, events => [] },
          'R24: with the same cursor and no events');
cmp_ok($timeout->{elapsed}, '>=', 1.8, 'after the poll timeout (2s)');

# another visitor cannot see this one's events (R25)
my $stranger = $t->get('/visitor/events?cursor=0',
                       $t->visitor('+33699999999', 'mobile'))->{json};
is_deeply($stranger->{events}, [], 'R25: a visitor sees only its own');

# R19: bob cannot end it; ann ends; credit to the last agent who wrote
is($t->post("/agent/conversations/$conv/end", $t->agent('bob'))->{status},
   403, 'R25: only the holder ends');
my $end = $t->post("/agent/conversations/$conv/end", $ann);
is($end->{json}{state}, 'ended', 'R9: ended');
is($end->{json}{credited_agent}, 'ann', 'R19: credited to ann');
is($end->{json}{end_reason}, 'agent', 'end reason');
my ($ended) = grep { ($_->{event} // '') eq 'ended' } @{ $end->{json}{thread} };
like($ended->{text}, qr/Ann Lee ended/, 'R17: ended entry names who');
is($t->post("/agent/conversations/$conv/end", $ann)->{status}, 409,
   'R26: ending twice is a 409');
is($t->post("/agent/conversations/$conv/messages", $ann, { text => 'late' })
     ->{status}, 409, 'R26: replying to an ended conversation is a 409');

$vev = $t->get("/visitor/events?cursor=$got->{json}{cursor}", $vis)->{json};
is($vev->{events}[0]{type}, 'conversation.ended', 'R23: the visitor is told');

# R9: a later visitor message starts a new conversation
my $again = $t->post('/visitor/messages', $vis, { text => 'one more thing' });
isnt($again->{json}{conversation}, $conv, 'R9: a new conversation after end');
is($t->get("/agent/conversations/$conv", $ann)->{json}{state}, 'ended',
   'R25: the agent still reads a conversation it handled');

my $ledger = $t->get('/admin/ledger?cursor=0', $t->admin)->{json};
is(scalar @{ $ledger->{entries} }, 1, 'R19: one ledger entry');
is($ledger->{entries}[0]{credited_agent}, 'ann', 'R19: with the credit');
is($t->get("/admin/ledger?cursor=$ledger->{cursor}", $t->admin)->{json}
     {entries}->@*, 0, 'R19: the ledger reads on from its cursor');

$t->stop;
$t->check_log;
done_testing;
