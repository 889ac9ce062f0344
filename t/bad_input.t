# R25, R26: every bad input gets the right status and a JSON error, and
# the store is byte for byte the same afterwards (mdb_dump before/after).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Encode ();
use Time::HiRes ();
use SbTest;
use Switchboard::Token qw(mint);

my $t = SbTest->new(server => 'location /small/ { client_max_body_size 100; '
                             . 'switchboard_visitor_api; }')->start;
$t->add_agent('ann');
$t->add_agent('bob');
$t->available('ann', 'chat');
my $conv = $t->say_visitor('v1', 'chat', 'hello')->{json}{conversation};
my $other = $t->post('/visitor/messages', $t->visitor('v9', 'mobile'),
                     { text => 'x' })->{json}{conversation};

my $gone = $t->say_visitor('v5', 'chat', 'bye')->{json}{conversation};
$t->post("/agent/conversations/$gone/end", $t->agent('ann'));

my $admin = $t->admin;
my $ann = $t->agent('ann');
my $vis = $t->visitor('v1', 'chat');
my $long = 'a' x 65;

my @cases = (
    # method, path, token, body (string or ref), status, code, [headers]
    ['POST', '/visitor/messages', $vis, '{"text":', 400, 'malformed_json'],
    ['POST', '/visitor/messages', $vis, '', 400, 'malformed_json'],
    ['POST', '/visitor/messages', $vis, '[1,2]', 400, 'not_an_object'],
    ['POST', '/visitor/messages', $vis, '"text"', 400, 'not_an_object'],
    ['POST', '/visitor/messages', $vis, '{"text":42}', 400, 'bad_type'],
    ['POST', '/visitor/messages', $vis, '{"txt":"a"}', 400, 'missing_field'],
    ['POST', '/visitor/messages', $vis, '{"text":""}', 400, 'empty_text'],
    ['POST', '/visitor/messages', $vis, qq({"text":"\xff\xfe"}), 400,
     'malformed_json'],
    ['POST', '/visitor/messages', $vis, '{"text":"\ud83d"}', 400,
     'malformed_json'],
    ['POST', '/visitor/messages', $vis, '{"text":"a\u0000b"}', 400,
     'malformed_json'],
    ['POST', '/visitor/messages', $vis, '{"text":"a","text":"b"}', 400,
     'malformed_json'],
    ['POST', '/visitor/messages', $vis, { text => 'x' x 5000 }, 413,
     'text_too_long'],
    ['POST', '/small/messages', $vis, { text => 'x' x 200 }, 413,
     'body_too_large'],
    ['POST', '/small/messages', $vis, { text => 'x' x 200 }, 413,
     'body_too_large', {}, 1],
    ['POST', '/visitor/messages', $vis, { text => 'a' }, 400,
     'bad_idempotency_key', { 'Idempotency-Key' => 'k' x 129 }],
    ['POST', '/visitor/messages', $t->token('v1', 'visitor'), { text => 'a' },
     403, 'bad_channel'],

    # tokens
    ['GET', '/agent/me', undef, undef, 401, 'missing_token'],
    # issue 8, item 13: query arguments decode cleanly or are refused
    ['GET', '/admin/conversations?tag=%00x', $admin, undef, 400,
     'bad_argument'],
    ['GET', '/admin/conversations?tag=%ZZ', $admin, undef, 400,
     'bad_argument'],
    ['GET', '/admin/conversations?tag=abc%', $admin, undef, 400,
     'bad_argument'],
    ['GET', '/admin/conversations?group=%E9t%E9', $admin, undef, 400,
     'bad_argument'],
    # issue 8, item 14: a cursor ahead of the log is refused at once
    ['GET', '/agent/events?cursor=999999', $ann, undef, 400,
     'cursor_ahead'],
    ['GET', '/agent/me', 'not.a.token', undef, 401, 'invalid_token'],
    ['GET', '/agent/me', 'garbage', undef, 401, 'invalid_token'],
    ['GET', '/agent/me', mint('another-secret-123456', sub => 'ann',
                              role => 'agent'), undef, 401, 'invalid_token'],
    ['GET', '/agent/me', $t->token('ann', 'agent', exp => time - 5), undef,
     401, 'invalid_token'],
    ['GET', '/agent/me', $t->token('ann', 'agent', exp => 'soon'), undef,
     401, 'invalid_token'],
    ['GET', '/agent/me', $t->token('a/b', 'agent'), undef, 401,
     'invalid_token'],
    ['GET', '/agent/me', $vis, undef, 403, 'wrong_role'],
    ['GET', '/agent/me', $admin, undef, 403, 'wrong_role'],
    ['GET', '/admin/ledger', $ann, undef, 403, 'wrong_role'],
    ['POST', '/visitor/messages', $ann, { text => 'a' }, 403, 'wrong_role'],
    ['GET', '/agent/me', $t->token('ann', 'agent', tnt => 'acme'), undef,
     403, 'wrong_tenant'],
    ['GET', '/agent/me', $t->token('zed', 'agent'), undef, 403,
     'unknown_agent'],
    ['GET', '/agent/events', $t->token('zed', 'agent'), undef, 403,
     'unknown_agent'],
    ['PUT', '/agent/availability', $t->token('zed', 'agent'),
     { class => 'all', available => JSON::PP::true }, 403, 'unknown_agent'],

    # agent actions
    ['GET', '/agent/events?cursor=abc', $ann, undef, 400, 'bad_cursor'],
    ['GET', '/agent/events?cursor=-1', $ann, undef, 400, 'bad_cursor'],
    ['PUT', '/agent/availability', $ann, { class => 'chat' }, 400,
     'missing_field'],
    ['PUT', '/agent/availability', $ann, { class => 'chat',
     available => 'yes' }, 400, 'bad_type'],
    ['PUT', '/agent/availability', $ann, { class => 'voice',
     available => JSON::PP::true }, 422, 'unknown_class'],
    ['GET', '/agent/conversations/c9999', $ann, undef, 404,
     'unknown_conversation'],
    ['GET', "/agent/conversations/$long", $ann, undef, 400, 'bad_id'],
    ['GET', '/agent/conversations/c%401', $ann, undef, 400, 'bad_id'],
    ['GET', "/agent/conversations/$other", $ann, undef, 403, 'not_handler'],
    ['POST', "/agent/conversations/$conv/messages", $t->agent('bob'),
     { text => 'mine?' }, 403, 'not_holder'],
    ['POST', "/agent/conversations/$conv/end", $t->agent('bob'), undef, 403,
     'not_holder'],
    ['POST', '/agent/conversations/c9999/messages', $ann, { text => 'a' },
     404, 'unknown_conversation'],
    ['POST', "/agent/conversations/$conv/messages", $ann, { text => [] },
     400, 'bad_type'],
    ['POST', "/agent/conversations/$conv/messages", $ann, '{', 400,
     'malformed_json'],

    # snooze and release (R7, R8)
    ['POST', "/agent/conversations/$conv/snooze", $ann, { for => '5h' },
     422, 'unknown_preset'],
    # the message quotes 64 bytes of it, which cut an "\x{e9}" in two: the
    # answer must still be JSON (the cut byte is written as U+FFFD)
    ['POST', "/agent/conversations/$conv/snooze", $ann,
     { for => 'x' . ("\x{e9}" x 40) }, 422, 'unknown_preset'],
    ['POST', "/agent/conversations/$conv/snooze", $ann,
     { until => '2020-01-01T00:00:00Z' }, 422, 'snooze_in_past'],
    ['POST', "/agent/conversations/$conv/snooze", $ann,
     { until => SbTest::rfc3339(time + 40 * 86400) }, 422,
     'snooze_too_long'],
    ['POST', "/agent/conversations/$conv/snooze", $ann,
     { until => 'tomorrow at ten' }, 400, 'bad_date'],
    # issue 8, item 11: dates and times that do not exist, signed fields
    ['POST', "/agent/conversations/$conv/snooze", $ann,
     { until => (1900 + (gmtime)[5] + 1) . '-11-31T10:00:00Z' }, 400,
     'bad_date'],
    ['POST', "/agent/conversations/$conv/snooze", $ann,
     { until => (1900 + (gmtime)[5] + 1) . '-01-10T10:00:60Z' }, 400,
     'bad_date'],
    ['POST', "/agent/conversations/$conv/snooze", $ann,
     { until => (1900 + (gmtime)[5] + 1) . '-+1-10T10:00:00Z' }, 400,
     'bad_date'],
    ['POST', "/agent/conversations/$conv/snooze", $ann,
     { until => '2030-02-30T25:00:00Z' }, 400, 'bad_date'],
    ['POST', "/agent/conversations/$conv/snooze", $ann, {}, 400,
     'missing_field'],
    ['POST', "/agent/conversations/$conv/snooze", $ann,
     { for => '3h', until => '2030-01-01T00:00:00Z' }, 400, 'missing_field'],
    ['POST', "/agent/conversations/$conv/snooze", $ann, { for => 3 }, 400,
     'bad_type'],
    ['POST', "/agent/conversations/$conv/snooze", $ann, '{"for":', 400,
     'malformed_json'],
    ['POST', "/agent/conversations/$conv/snooze", $t->agent('bob'),
     { for => '3h' }, 403, 'not_holder'],
    ['POST', "/agent/conversations/$other/snooze", $ann, { for => '3h' },
     403, 'not_holder'],
    ['POST', "/agent/conversations/$gone/snooze", $ann, { for => '3h' },
     409, 'conversation_ended'],
    ['POST', '/agent/conversations/c9999/snooze', $ann, { for => '3h' },
     404, 'unknown_conversation'],
    ['GET', "/agent/conversations/$conv/snooze", $ann, undef, 405,
     'method_not_allowed'],
    ['POST', "/agent/conversations/$conv/release", $t->agent('bob'), undef,
     403, 'not_holder'],
    ['POST', "/agent/conversations/$gone/release", $ann, undef, 409,
     'conversation_ended'],

    # admin
    ['PUT', '/admin/agents/carl', $admin, {}, 400, 'missing_field'],
    ['PUT', '/admin/agents/carl', $admin, { name => 7 }, 400, 'bad_type'],
    ['PUT', '/admin/agents/carl', $admin, { name => 'C', groups => 'x' },
     400, 'bad_type'],
    ['PUT', '/admin/agents/carl', $admin, { name => 'C',
     groups => ['no/pe'] }, 400, 'bad_id'],
    ['PUT', '/admin/agents/carl', $admin, { name => 'C',
     groups => ['ghost'] }, 404, 'unknown_group'],
    ['PUT', '/admin/agents/carl', $admin, { name => 'C',
     capacity => { chat => 'many' } }, 400, 'bad_type'],
    ['PUT', '/admin/agents/carl', $admin, { name => 'C',
     capacity => { voice => 1 } }, 422, 'unknown_class'],
    ['PUT', "/admin/agents/$long", $admin, { name => 'C' }, 400, 'bad_id'],
    ['PUT', '/admin/agents/c%20d', $admin, { name => 'C' }, 400, 'bad_id'],
    ['GET', '/admin/agents/ghost', $admin, undef, 404, 'unknown_agent'],
    ['DELETE', '/admin/agents/ghost', $admin, undef, 404, 'unknown_agent'],
    ['DELETE', '/admin/groups/ghost', $admin, undef, 404, 'unknown_group'],
    ['DELETE', '/admin/groups/default', $admin, undef, 409, 'builtin_group'],
    ['GET', '/admin/ledger?cursor=x', $admin, undef, 400, 'bad_cursor'],
    ['GET', '/admin/conversations?state=lost', $admin, undef, 400,
     'bad_state'],

    # paths and methods
    ['GET', '/agent/nowhere', $ann, undef, 404, 'not_found'],
    ['GET', '/agent/', $ann, undef, 404, 'not_found'],
    ['GET', '/agent/conversations/c1/snooze/x', $ann, undef, 404,
     'not_found'],
    ['POST', "/agent/conversations/$conv/fly", $ann, {}, 404, 'not_found'],
    ['GET', '/admin/whatever/x', $admin, undef, 404, 'not_found'],
    ['DELETE', '/agent/me', $ann, undef, 405, 'method_not_allowed'],
    ['POST', '/agent/events', $ann, {}, 405, 'method_not_allowed'],
    ['GET', '/agent/availability', $ann, undef, 405, 'method_not_allowed'],
    ['GET', "/agent/conversations/$conv/messages", $ann, undef, 405,
     'method_not_allowed'],
    ['PATCH', '/admin/agents/ann', $admin, { name => 'A' }, 405,
     'method_not_allowed'],
    ['GET', '/visitor/messages', $vis, undef, 405, 'method_not_allowed'],

    # issue 19, item 2: hostile JSON bodies, refused without stalling
    ['POST', '/visitor/messages', $vis, '{"text":"a","\\u0074ext":"b"}',
     400, 'malformed_json'],
    ['POST', '/visitor/messages', $vis,
     '{' . join(',', map { qq("k$_":0) } 1 .. 4097) . ',"text":"hi"}', 413,
     'json_too_large'],
    ['POST', '/visitor/messages', $vis,
     '{"text":"hi","x":[' . join(',', (0) x 200_000) . ']}', 413,
     'json_too_large'],
);

for my $c (@cases) {
    my ($method, $path, $token, $body, $status, $code, $hdr, $chunked) = @$c;
    my $label = "$method $path"
      . (defined $body ? ' ' . substr(ref $body ? 'json' : $body, 0, 24) : '')
      . ($chunked ? ' (chunked)' : '');
    my $before = $t->dump_store;
    my $res = $t->request($method, $path, token => $token, body => $body,
                          headers => $hdr, chunked => $chunked);
    is($res->{status}, $status, "$label: $status");
    is(eval { $res->{json}{error}{code} }, $code, "$label: code $code")
      or diag $res->{body};
    ok(length(eval { $res->{json}{error}{message} } // ''),
       "$label: a message says why");
    my $bytes = $res->{body};
    ok(eval { Encode::decode('UTF-8', $bytes, Encode::FB_CROAK); 1 },
       "$label: the answer is UTF-8");
    is($t->dump_store, $before, "$label: the store is unchanged");
}

# issue 19, item 2: ~60 KB of distinct keys cost milliseconds, not the
# ~0.8 s of the event loop that comparing every pair of keys took (the
# keys are an agent's capacity map: read whole, then refused as classes
# that do not exist)
{
    my $keys = '{"name":"Zed","capacity":{'
             . join(',', map { sprintf '"key-%05d-\\u0078":1', $_ } 1 .. 3500)
             . '}}';
    my $before = $t->dump_store;
    my $t0 = Time::HiRes::time();
    my $res = $t->put('/admin/agents/zed', $admin, $keys);
    my $took = Time::HiRes::time() - $t0;
    is($res->{status}, 422, length($keys) . ' bytes of 3500 distinct keys: '
       . 'read, then 422');
    is($res->{json}{error}{code}, 'unknown_class', '... unknown_class');
    cmp_ok($took, '<', 0.3, sprintf('... answered in %.0f ms', $took * 1e3));
    is($t->dump_store, $before, '... and nothing changed');
}

# a cursor ahead is refused before the poll refreshes presence: with the
# agent's presence due for a write (more than 2 s since it was written
# here), the refusal still writes nothing (R24, R26)
select undef, undef, undef, 2.2;
{
    my $before = $t->dump_store;
    my $res = $t->get('/agent/events?cursor=999999', $ann);
    is($res->{status}, 400, 'a cursor ahead, presence stale: 400');
    is($t->dump_store, $before, '... and no presence write either');
}
$t->stop;

$t->check_log;
done_testing;
