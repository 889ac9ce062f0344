# R25 authorization matrix: every agent, visitor and admin endpoint with no
# token, a malformed one, a bad signature, an expired one, the wrong role
# and another tenant's; agents on a conversation another agent holds;
# visitors on another visitor's conversation. Each is refused with the
# right status and the store (mdb_dump) is unchanged.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SbTest;
use Switchboard::Token qw(mint);

my $t = SbTest->new->start;
my $admin = $t->admin;
$t->add_agent('ann', capacity => { chat => 1 });
$t->add_agent('bob', capacity => { chat => 1 });
$t->available('ann');
my $mine = $t->say_visitor('v1', 'chat', 'for ann')->{json}{conversation};
$t->available('bob');
my $theirs = $t->say_visitor('v2', 'chat', 'for bob')->{json}{conversation};
is($t->conv($mine)->{agent}, 'ann', 'ann holds one');
is($t->conv($theirs)->{agent}, 'bob', 'bob holds the other');
$t->put('/admin/canned/hi', $admin, { title => 'Hi', text => 'Hello' });

my @agent = (
    [GET => '/agent/events?cursor=0'], [GET => '/agent/me'],
    [PUT => '/agent/availability', { class => 'all', available => \0 }],
    [GET => '/agent/canned'], [GET => '/agent/settings'],
    [GET => '/agent/directory'],
    [GET => "/agent/conversations/$theirs"],
    [POST => "/agent/conversations/$theirs/messages", { text => 'x' }],
    [POST => "/agent/conversations/$theirs/end"],
    [POST => "/agent/conversations/$theirs/snooze", { for => '3h' }],
    [POST => "/agent/conversations/$theirs/release"],
    [POST => "/agent/conversations/$theirs/block"],
    [POST => "/agent/conversations/$theirs/transfer", { agent => 'ann' }],
    [PUT => "/agent/conversations/$theirs/tags", { tags => ['x'] }],
);
my @visitor = (
    [POST => '/visitor/messages', { text => 'x' }],
    [GET => '/visitor/events?cursor=0'],
);
my @admin = (
    [PUT => '/admin/agents/zed', { name => 'Z' }], [GET => '/admin/agents/ann'],
    [DELETE => '/admin/agents/bob'],
    [PUT => '/admin/groups/g', { name => 'G' }], [GET => '/admin/groups/default'],
    [DELETE => '/admin/groups/default'],
    [PUT => '/admin/canned/c', { title => 'C', text => 'c' }],
    [GET => '/admin/canned/hi'], [DELETE => '/admin/canned/hi'],
    [GET => '/admin/canned'],
    [GET => '/admin/conversations'], [GET => "/admin/conversations/$mine"],
    [GET => '/admin/ledger?cursor=0'], [GET => '/admin/stats'],
    [GET => '/admin/capabilities'], [DELETE => '/admin/blocks/chat/v1'],
    [GET => '/admin/webhooks'], [POST => '/admin/webhooks/replay', {}],
);

my $good = { agent => $t->agent('ann'), visitor => $t->visitor('v1', 'chat'),
             admin => $admin };
my %wrong_role = (agent => $admin, visitor => $t->agent('ann'),
                  admin => $t->agent('ann'));
# The same signature with the spare bits of its last character set: the
# same bytes once decoded, another spelling.
sub respell {
    my ($token) = @_;
    my $alphabet = join '', 'A' .. 'Z', 'a' .. 'z', 0 .. 9, '-', '_';
    my $v = index $alphabet, substr($token, -1);
    return substr($token, 0, -1) . substr($alphabet, $v | 1, 1);
}
sub bad_tokens {
    my ($role) = @_;
    my $sub = $role eq 'admin' ? 'root' : $role eq 'agent' ? 'ann' : 'v1';
    my %chn = $role eq 'visitor' ? (chn => 'chat') : ();
    return (
        [ 'no token', undef, 401, 'missing_token' ],
        [ 'a malformed token', 'abc.def', 401, 'invalid_token' ],
        [ 'a bad signature', mint('not-the-secret-at-all', sub => $sub,
                                  role => $role, %chn), 401,
          'invalid_token' ],
        [ 'an expired token', $t->token($sub, $role, exp => time - 1, %chn),
          401, 'invalid_token' ],
        # issue 8, item 12
        [ 'a token not valid yet (nbf)', $t->token($sub, $role,
                                                   nbf => time + 600, %chn),
          401, 'invalid_token' ],
        [ 'an exp of 1e300', $t->token($sub, $role, exp => 1e300, %chn),
          401, 'invalid_token' ],
        [ 'a signature spelled another way', respell($t->token($sub, $role,
                                                                 %chn)),
          401, 'invalid_token' ],
        # a subject no URL could name (an admin could not unblock it)
        [ 'a subject of ".."', $t->token('..', $role, %chn), 401,
          'invalid_token' ],
        [ 'the wrong role', $wrong_role{$role}, 403, 'wrong_role' ],
        [ "another tenant's token", $t->token($sub, $role, tnt => 'other',
                                               %chn), 403, 'wrong_tenant' ],
    );
}

for my $set ([agent => \@agent], [visitor => \@visitor], [admin => \@admin]) {
    my ($role, $endpoints) = @$set;
    for my $e (@$endpoints) {
        my ($method, $path, $body) = @$e;
        for my $bad (bad_tokens($role)) {
            my ($what, $token, $status, $code) = @$bad;
            my $before = $t->dump_store;
            my $r = $t->request($method, $path, token => $token,
                                body => $body);
            my $ok = $r->{status} == $status
                     && ($r->{json}{error}{code} // '') eq $code;
            ok($ok, "$method $path with $what: $status $code")
              or diag "got $r->{status} $r->{body}";
            is($t->dump_store, $before, "... changes nothing");
        }
    }
}

# issue 8, item 12: a past nbf is honoured as valid, a fractional exp too
is($t->get('/agent/me', $t->token('ann', 'agent', nbf => time - 10))
     ->{status}, 200, 'a token whose nbf has passed is taken');
is($t->get('/agent/me', $t->token('ann', 'agent', exp => time + 60.5))
     ->{status}, 200, 'an exp with a fraction is taken');

# agents on a conversation another agent holds (R25)
for my $e (grep { $_->[1] =~ m{/conversations/} } @agent) {
    my ($method, $path, $body) = @$e;
    my $before = $t->dump_store;
    my $r = $t->request($method, $path, token => $good->{agent},
                        body => $body);
    is($r->{status}, 403, "ann: $method $path: 403");
    like($r->{json}{error}{code} // '', qr/^not_(holder|handler)$/,
         '... not the holder');
    is($t->dump_store, $before, '... changes nothing');
}

# a visitor sees only its own conversation: another visitor's events stay
# apart, and its messages go to its own conversation
my $v3 = $t->visitor('v3', 'chat');
$t->post("/agent/conversations/$mine/messages", $good->{agent},
         { text => 'for v1 only' });
my $ev = $t->get('/visitor/events?cursor=0', $v3, timeout => 3)->{json};
is_deeply($ev->{events}, [], "R25: v3 does not see v1's events");
my $own = $t->post('/visitor/messages', $v3, { text => 'mine' })->{json};
isnt($own->{conversation}, $mine, "R25: v3 writes into its own "
                                  . 'conversation, never v1\'s');

# reads of a conversation handled earlier are allowed (R25)
$t->post("/agent/conversations/$mine/transfer", $good->{agent},
         { agent => 'bob', anyway => \1 });
is($t->get("/agent/conversations/$mine", $good->{agent})->{status}, 200,
   'R25: ann may still read a conversation she handled');
is($t->post("/agent/conversations/$mine/messages", $good->{agent},
            { text => 'x' })->{status}, 403, 'but not write to it');

$t->stop;
$t->check_log;
# issue 9: key rotation, switchboard_jwt_secret given twice: tokens of
# the new key and of the old one are taken, a third key's are not
{
    my $old = 'the-old-key-0123456789abcdef';
    my $r = SbTest->new(http => 'switchboard_jwt_secret old.secret;');
    $r->write_file('old.secret', "$old\n");
    $r->start;
    $r->add_agent('ann');
    is($r->get('/agent/me', $r->agent('ann'))->{status}, 200,
       'rotation: a token of the new key is taken');
    is($r->get('/agent/me', mint($old, sub => 'ann', role => 'agent'))
         ->{status}, 200, 'rotation: a token of the old key still is');
    my $other = $r->get('/agent/me', mint('a-third-key-0123456789abcdef',
                                          sub => 'ann', role => 'agent'));
    is($other->{status}, 401, "rotation: a third key's token is not");
    is($other->{json}{error}{code}, 'invalid_token', '... invalid_token');
    $r->stop;
}

done_testing;
