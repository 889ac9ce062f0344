# Working together (R6, R10, R11, R12): transfer, canned responses, tags,
# blocking, the capability table, the text limit and the admin's views.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use SbTest;

my $t = SbTest->new(presence => '60s')->start;   # not about presence (R5a)
$t->{track} = 1;
my $admin = $t->admin;
$t->put('/admin/groups/sales', $admin, { name => 'Sales' });
$t->add_agent('ann', name => 'Ann', groups => ['default'],
              capacity => { chat => 2 });
$t->add_agent('bob', name => 'Bob', groups => ['default'],
              capacity => { chat => 1 });
$t->add_agent('sal', name => 'Sal', groups => ['sales']);
$t->available('ann');
my %cur = map { $_ => 0 } qw(ann bob sal);
sub events_of {
    my ($who) = @_;
    my $ev = $t->events($who, $cur{$who}, 0.3);
    $cur{$who} = $ev->{cursor};
    return @{ $ev->{events} };
}
sub act {
    my ($who, $c, $what, $body) = @_;
    return $t->post("/agent/conversations/$c/$what", $t->agent($who), $body);
}
sub check {
    my ($res, $status, $code, $label) = @_;
    is($res->{status}, $status, "$label: $status");
    return unless defined $code;
    is(eval { $res->{json}{error}{code} }, $code, "$label: $code");
    is($t->dump_store, $t->{before}, "$label: changes nothing");
}

# --- R10 transfer to an agent -----------------------------------------------
my $c1 = $t->say_visitor('v1', 'chat', 'I need sales help')->{json}{conversation};
is($t->conv($c1)->{agent}, 'ann', 'ann holds c1');
events_of($_) for qw(ann bob);

my $before = $t->dump_store;
check(act('ann', $c1, 'transfer', { agent => 'bob' }), 409,
      'target_unavailable', 'R10: an unavailable target');
$t->available('bob');
$t->available('sal');
my $c2 = $t->say_visitor('v2', 'chat', 'fill bob')->{json}{conversation};
is($t->conv($c2)->{agent}, 'bob', 'R2: the least loaded (bob) takes c2');
is($t->me('bob')->{classes}{chat}{status}, 'orange', 'bob is full');
$before = $t->dump_store;
check(act('ann', $c1, 'transfer', { agent => 'bob' }), 409, 'target_full',
      'R10: a full target');
check(act('ann', $c1, 'transfer', { agent => 'ann' }), 400, 'self_transfer',
      'R10: to oneself');
check(act('ann', $c1, 'transfer', { agent => 'ghost' }), 404,
      'unknown_agent', 'R10: an unknown agent');
check(act('ann', $c1, 'transfer', { agent => 'sal' }), 403,
      'not_in_your_groups', 'R10: an agent of none of my groups');
check(act('ann', $c1, 'transfer', { group => 'ghost' }), 404,
      'unknown_group', 'R10: an unknown group');
check(act('ann', $c1, 'transfer', { group => 'default' }), 409,
      'same_group', 'R10: its own group');
check(act('ann', $c1, 'transfer', { agent => 'bob', comment => '' }), 400,
      'empty_field', 'R10: an empty comment');
check(act('ann', $c1, 'transfer', { agent => 'bob', comment => 'x' x 501 }),
      413, 'field_too_long', 'R10: an over-long comment');
check(act('ann', $c1, 'transfer', {}), 400, 'missing_field',
      'R10: no target');
check(act('ann', $c1, 'transfer', { agent => 'bob', group => 'sales' }),
      400, 'missing_field', 'R10: two targets');
check(act('bob', $c1, 'transfer', { agent => 'ann' }), 403, 'not_holder',
      'R25: a conversation one does not hold');
is($t->dump_store, $before, 'refused transfers change nothing');

my $r = act('ann', $c1, 'transfer',
            { agent => 'bob', comment => 'VIP, wants a quote 💼',
              anyway => JSON::PP::true });
is($r->{status}, 200, 'R10: "anyway" gives it to the full agent');
is($r->{json}{agent}, 'bob', 'bob holds c1');
my ($tr) = grep { ($_->{event} // '') eq 'transferred' } @{ $r->{json}{thread} };
is($tr->{text}, 'Ann transferred this conversation to Bob: VIP, wants a '
                . 'quote 💼', 'R17: "<A> transferred … to <B>: <comment>"');
is_deeply([ map { $_->{agent} } @{ $r->{json}{handlers} } ], [qw(ann bob)],
          'R18: handlers record the change');
my $bob = $t->me('bob');
cmp_ok($bob->{classes}{chat}{used}, '>', $bob->{classes}{chat}{capacity},
       'R10: over capacity (used > capacity)');
is($bob->{classes}{chat}{status}, 'orange', 'R5: shown orange');
ok((grep { $_->{type} eq 'conversation.unassigned'
           && $_->{reason} eq 'transferred' } events_of('ann')),
   "ann's poll: conversation.unassigned (transferred)");
my @bev = events_of('bob');
ok((grep { $_->{type} eq 'conversation.assigned' && $_->{conversation} eq $c1 }
    @bev), "bob's poll: conversation.assigned");
ok((grep { $_->{type} eq 'conversation.transferred'
           && $_->{comment} =~ /VIP/ && $_->{from} eq 'ann' } @bev),
   "bob's poll: the comment and who sent it");

# --- R10 transfer to a group --------------------------------------------------
$r = act('bob', $c1, 'transfer', { group => 'sales', comment => 'quote' });
is($r->{status}, 200, 'R10: transfer to a group');
is($r->{json}{group}, 'sales', 'the conversation moved group');
is($r->{json}{agent}, 'sal', 'and was routed there at once');
like((grep { ($_->{event} // '') eq 'transferred' } @{ $r->{json}{thread} })[-1]
       {text}, qr/to group Sales: quote$/, 'R17: names the group');

# --- R6 canned responses ----------------------------------------------------
check($t->put('/admin/canned/hello', $admin, { title => 'Hello',
      text => 'Bonjour {{visitor}}, ici {{agent}} 🙂' }), 201, undef,
      'PUT canned');
check($t->put('/admin/canned/hello', $admin, { title => 'Hello',
      text => 'Hello {{visitor}}, {{agent}} here 🙂' }), 200, undef,
      'PUT canned again: updated');
check($t->put('/admin/canned/bad', $admin, { title => 'x' }), 400,
      'missing_field', 'canned without text');
check($t->put('/admin/canned/b%20d', $admin, { title => 'x', text => 'y' }),
      400, 'bad_id', 'canned with a bad id');
is($t->get('/admin/canned/hello', $admin)->{json}{title}, 'Hello',
   'GET canned');
is_deeply([ map { $_->{id} } @{ $t->get('/agent/canned', $t->agent('sal'))
                                   ->{json}{canned} } ], ['hello'],
          'GET /agent/canned lists them');
$r = act('sal', $c1, 'messages', { canned => 'hello' });
is($r->{status}, 201, 'R6: reply with a canned response');
is($r->{json}{message}{text}, 'Hello v1, Sal here 🙂',
   'R6: the resolved text, placeholders filled');
is($r->{json}{message}{canned}, 'hello', 'R6: and the canned id');
check(act('sal', $c1, 'messages', { canned => 'nope' }), 404,
      'unknown_canned', 'R6: an unknown canned id');
check(act('sal', $c1, 'messages', { canned => 'hello', text => 'x' }), 400,
      'bad_body', 'R6: text and canned together');
check($t->del('/admin/canned/nope', $admin), 404, 'unknown_canned',
      'DELETE an unknown canned');
check($t->put('/admin/canned/bye', $admin, { title => 'Bye', text => 'Bye' }),
      201, undef, 'PUT a second canned');
is_deeply([ map { $_->{id} } @{ $t->get('/admin/canned', $admin)
                                   ->{json}{canned} } ], ['bye', 'hello'],
          'GET /admin/canned lists them in id order');
is($t->del('/admin/canned/bye', $admin)->{status}, 204, 'DELETE canned');
check($t->get('/admin/canned/bye', $admin), 404, 'unknown_canned',
      'and it is gone');

# attachments and offers where the channel has them
$r = act('sal', $c1, 'messages',
         { text => 'the quote', attachment => { url => 'https://x.test/q.pdf',
                                                name => 'quote.pdf' } });
is($r->{json}{message}{attachment}{name}, 'quote.pdf',
   'R12: chat takes attachments');
check(act('sal', $c1, 'messages', { offer => { title => 'Deal',
      url => 'ftp://x' } }), 400, 'bad_url', 'an offer with a bad URL');

# --- R11 tags ------------------------------------------------------------------
$r = $t->put("/agent/conversations/$c1/tags", $t->agent('sal'),
             { tags => ['  VIP  Customer ', 'vip customer', 'Quote', 'devis €'] });
is($r->{status}, 200, 'R11: PUT tags');
is_deeply($r->{json}{tags}, ['vip-customer', 'quote', 'devis-€'],
          'R11: normalised (trim, lower case, blanks as -) and unique');
$r = $t->put("/agent/conversations/$c1/tags", $t->agent('sal'),
             { tags => ['quote'] });
is_deeply($r->{json}{tags}, ['quote'], 'R11: PUT replaces the set');
check($t->put("/agent/conversations/$c1/tags", $t->agent('sal'),
      { tags => [ map { "t$_" } 1 .. 21 ] }), 422, 'too_many_tags',
      'R11: too many tags');
check($t->put("/agent/conversations/$c1/tags", $t->agent('sal'),
      { tags => ['a,b'] }), 400, 'bad_tag', 'R11: a comma');
check($t->put("/agent/conversations/$c1/tags", $t->agent('sal'),
      { tags => ['x' x 33] }), 400, 'bad_tag', 'R11: an over-long tag');
# issue 8, item 10: the limits themselves are allowed
$r = $t->put("/agent/conversations/$c1/tags", $t->agent('sal'),
             { tags => [ map { "t$_" } 1 .. 20 ] });
is($r->{status}, 200, 'R11: 20 distinct tags, the limit, are taken');
is(scalar @{ $r->{json}{tags} }, 20, 'all 20 kept');
$r = $t->put("/agent/conversations/$c1/tags", $t->agent('sal'),
             { tags => [ (map { "t$_" } 1 .. 20), 'T1', ' t2 ', 'T3', 't4', 't5' ] });
is($r->{status}, 200, 'R11: 25 entries that are 20 distinct tags are taken');
is(scalar @{ $r->{json}{tags} }, 20, 'duplicates collapsed: 20');
$r = $t->put("/agent/conversations/$c1/tags", $t->agent('sal'),
             { tags => [ 'x' x 32, ("\x{20ac}" x 10) . 'ab' ] });
is($r->{status}, 200, 'R11: tags of 32 bytes, ASCII and UTF-8, are taken');
is_deeply($r->{json}{tags}, [ 'x' x 32, ("\x{20ac}" x 10) . 'ab' ], 'whole');
check($t->put("/agent/conversations/$c1/tags", $t->agent('sal'),
      { tags => [ "\x{20ac}" x 11 ] }), 400, 'bad_tag',
      'R11: 11 euro signs are 33 bytes: over');
$t->put("/agent/conversations/$c1/tags", $t->agent('sal'), { tags => ['quote'] });
check($t->put("/agent/conversations/$c1/tags", $t->agent('sal'),
      { tags => 'quote' }), 400, 'bad_type', 'R11: not an array');
check($t->put("/agent/conversations/$c1/tags", $t->agent('ann'),
      { tags => ['x'] }), 403, 'not_holder', 'R11: not the holder');
my $list = $t->get('/admin/conversations?tag=quote', $admin)->{json};
is_deeply([ map { $_->{id} } @{ $list->{conversations} } ], [$c1],
          'the admin list filters by tag');

# --- R11 block -------------------------------------------------------------------
$r = act('sal', $c1, 'block');
is($r->{status}, 200, 'R11: block');
is($r->{json}{state}, 'ended', 'R11: the conversation ends');
is($r->{json}{end_reason}, 'blocked', 'reason blocked');
ok((grep { ($_->{event} // '') eq 'blocked' } @{ $r->{json}{thread} }),
   'R17: a blocked entry');
check(act('sal', $c1, 'block'), 409, 'conversation_ended', 'R11: blocking twice');
my $ack = $t->say_visitor('v1', 'chat', 'let me in');
is($ack->{status}, 202, 'R11: a blocked visitor is acknowledged');
is($ack->{json}{conversation}, undef, 'but nothing is routed');
$t->say_visitor('v1', 'chat', 'again');
is($t->get('/admin/blocks/chat/v1', $admin)->{json}{dropped}, 2,
   'R11: dropped messages are counted');
is(scalar(grep { $_->{visitor} eq 'v1' && $_->{state} ne 'ended' }
          @{ $t->get('/admin/conversations', $admin)->{json}{conversations} }),
   0, 'R11: no conversation was opened');
check($t->del('/admin/blocks/chat/v1', $admin), 204, undef, 'unblock');
check($t->del('/admin/blocks/chat/v1', $admin), 404, 'not_blocked',
      'unblock twice');
check($t->del('/admin/blocks/pager/v1', $admin), 404, 'unknown_channel',
      'unblock on an unknown channel');
is($t->say_visitor('v1', 'chat', 'thanks')->{status}, 201,
   'after unblocking, the visitor is routed again');

# --- R12 capabilities: mobile has no transfer, attachments or offers ----------
my $m = $t->post('/visitor/messages', $t->visitor('m1', 'mobile'),
                 { text => 'from the app' })->{json}{conversation};
my $mh = $t->conv($m)->{agent};
check(act($mh, $m, 'transfer', { agent => $mh eq 'ann' ? 'bob' : 'ann' }),
      422, 'channel_lacks_transfer', 'R12: mobile refuses transfer');
check(act($mh, $m, 'messages', { attachment => { url => 'https://x.test/a' } }),
      422, 'channel_lacks_attachments', 'R12: mobile refuses attachments');
check(act($mh, $m, 'messages', { offer => { title => 'T',
      url => 'https://x.test' } }), 422, 'channel_lacks_offers',
      'R12: mobile refuses offers');
is(act($mh, $m, 'messages', { canned => 'hello' })->{status}, 201,
   'R12: mobile has canned responses');
is(act($mh, $m, 'messages', { text => 'emoji ok 🎉' })->{status}, 201,
   'R12: mobile has emoji');
my $caps = $t->get('/admin/capabilities', $admin)->{json};
is_deeply($caps->{mobile}, { canned => JSON::PP::true, block => JSON::PP::true,
    emoji => JSON::PP::true, tags => JSON::PP::true,
    attachments => JSON::PP::false, offers => JSON::PP::false,
    transfer => JSON::PP::false }, 'R12: the table shows the seeds');

# --- the desk's reference data: settings and the transfer directory -----------
my $settings = $t->get('/agent/settings', $t->agent('ann'))->{json};
is_deeply($settings->{capabilities}, $caps,
          'settings: the capability table, as the admin sees it (R12)');
is_deeply($settings->{snooze}, { presets => [ { label => '3h', seconds => 10800 },
          { label => '1d', seconds => 86400 } ], max_seconds => 30 * 86400 },
          'settings: the snooze presets and limit (R7)');
is_deeply($settings->{classes}{messaging}, [qw(whatsapp messenger instagram
          facebook twitter sms)], 'settings: the channels of each class');
is($settings->{max_text_bytes}, 4096, 'settings: the text limit');
$t->add_agent('dee', name => 'Dee', groups => ['default', 'sales']);
my $dir = $t->get('/agent/directory', $t->agent('ann'))->{json};
is_deeply([ map { "$_->{id}=$_->{name}" } @{ $dir->{groups} } ],
          [ 'default=default', 'sales=Sales' ], 'directory: every group');
is_deeply([ map { $_->{id} } @{ $dir->{agents} } ], [qw(bob dee)],
          'directory: the agents sharing a group with ann, not ann');
ok(!exists $dir->{agents}[0]{conversations}
   && $dir->{agents}[0]{classes}{chat}{status},
   "directory: each with their status, not the conversations they hold");
is_deeply([ map { $_->{id} } @{ $t->get('/agent/directory',
          $t->agent('sal'))->{json}{agents} } ], ['dee'],
          'directory: sal (sales) sees only dee');
check($t->get('/agent/directory', $t->agent('nobody')), 403, 'unknown_agent',
      'directory: an agent not in the directory');
$t->del('/admin/agents/dee', $admin);

# --- stats ------------------------------------------------------------------------
$t->available($_, 'all', 0) for qw(ann bob sal);
$t->say_visitor('w1', 'chat', 'waiting');
my $stats = $t->get('/admin/stats', $admin)->{json};
is($stats->{queues}{default}{chat}{length}, 1, 'stats: queue length');
ok(defined $stats->{queues}{default}{chat}{oldest_wait_seconds},
   'stats: oldest wait');
is($stats->{agents}{chat}{red}, 3, 'stats: agents per status per class');
ok($stats->{conversations}{ended} >= 1 && $stats->{conversations}{queued} == 1,
   'stats: conversations per state');
my $page = $t->get('/admin/conversations?limit=2', $admin)->{json};
is(scalar @{ $page->{conversations} }, 2, 'paged: limit');
ok($page->{next}, 'paged: a next cursor');
my $page2 = $t->get("/admin/conversations?limit=2&after=$page->{next}",
                    $admin)->{json};
ok(!(grep { $_->{id} eq $page->{conversations}[0]{id} }
     @{ $page2->{conversations} }), 'paged: the next page moves on');
check($t->get('/admin/conversations?limit=0', $admin), 400, 'bad_limit',
      'a bad limit');

$t->stop;
$t->check_log;

# --- a configured table and text limit ---------------------------------------------
my $u = SbTest->new(http => "switchboard_capabilities chat canned tags;\n"
                           . "    switchboard_max_text 20;")->start;
$u->{track} = 1;
$t = $u;
$u->add_agent('ann');
$u->available('ann');
my $c = $u->say_visitor('v1', 'chat', 'hi')->{json}{conversation};
check($u->post("/agent/conversations/$c/messages", $u->agent('ann'),
               { text => 'no emoji 🙂' }), 422, 'channel_lacks_emoji',
      'R12: a channel without emoji refuses them');
check($u->post("/agent/conversations/$c/block", $u->agent('ann')), 422,
      'channel_lacks_block', 'R12: configured: no block on chat');
check($u->post("/agent/conversations/$c/messages", $u->agent('ann'),
               { text => 'x' x 21 }), 413, 'text_too_long',
      'switchboard_max_text 20');
check($u->say_visitor('v1', 'chat', 'y' x 21), 413, 'text_too_long',
      'the limit holds for visitors too');
is($u->get('/admin/capabilities', $u->admin)->{json}{chat}{block},
   JSON::PP::false, 'the table shows the directive');
$u->stop;
$u->check_log;
done_testing;
