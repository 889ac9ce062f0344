# Issue 19, item 5 (R25): a removed agent reads nothing more, a token
# lives at most switchboard_token_max_age (12 h unless the operator says
# otherwise, per role), a claim given twice is refused, and a kid selects
# a key bound to one tenant and some roles, so a tenant's visitor-minting
# backend cannot mint an admin or another tenant's visitor.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SbTest;
use Switchboard::Token qw(mint);

my $shop_key = 'shop-visitor-key-' . join('', map { int rand 10 } 1 .. 16);
my $t = SbTest->new(
    http => 'switchboard_token_max_age 7d visitor; '
          . 'switchboard_jwt_secret shop.key kid=shop tenant=shop '
          . 'roles=visitor;',
    server => 'location /shop/visitor/ { switchboard_tenant shop; '
            . 'switchboard_visitor_api; } '
            . 'location /shop/admin/ { switchboard_tenant shop; '
            . 'switchboard_admin_api; }');
$t->write_file('shop.key', "$shop_key\n");
$t->start;
$t->add_agent('ann');
$t->available('ann', 'chat');
my $conv = $t->say_visitor('v1', 'chat', 'hello')->{json}{conversation};
my $ann = $t->agent('ann');
is($t->get("/agent/conversations/$conv", $ann)->{status}, 200,
   'ann reads the conversation she holds');

sub refused {
    my ($res, $status, $code, $label) = @_;
    is($res->{status}, $status, "$label: $status");
    is($res->{json}{error}{code}, $code, "$label: $code")
      or diag $res->{body};
}

# a removed agent: her token is still signed and unexpired
is($t->del('/admin/agents/ann', $t->admin)->{status}, 204, 'ann is removed');
$t->say_visitor('v1', 'chat', 'are you there?');
for my $path ("/agent/conversations/$conv", '/agent/me', '/agent/canned',
              '/agent/settings', '/agent/directory', '/agent/events?cursor=0') {
    refused($t->get($path, $ann), 403, 'unknown_agent',
            "removed ann reads $path");
}

# the maximum age: 12 h for agents and admins, 7 d for visitors here
$t->add_agent('bob');
my $before = $t->dump_store;
refused($t->get('/agent/me', $t->token('bob', 'agent', ttl => 13 * 3600)),
        401, 'invalid_token', 'an agent token of 13 h');
like($t->get('/agent/me', $t->token('bob', 'agent', ttl => 13 * 3600))
       ->{json}{error}{message}, qr/switchboard_token_max_age/,
     '... the message names the directive');
refused($t->get('/agent/me', $t->token('bob', 'agent', iat => time - 13 * 3600,
                                       exp => time + 60)),
        401, 'invalid_token', 'one issued for 13 h, a minute before its end');
is($t->get('/agent/me', $t->token('bob', 'agent', ttl => 12 * 3600 - 5))
     ->{status}, 200, 'one of 12 h is taken');
refused($t->get('/admin/agents/bob', $t->token('root', 'admin',
                                               ttl => 30 * 86400)),
        401, 'invalid_token', 'an admin token of 30 days');
is($t->post('/visitor/messages', $t->token('v7', 'visitor', chn => 'chat',
                                          ttl => 6 * 86400), { text => 'hi' })
     ->{status}, 201, 'a visitor token of 6 days is taken (7d for visitors)');
refused($t->post('/visitor/messages', $t->token('v7', 'visitor', chn => 'chat',
                                               ttl => 8 * 86400),
                 { text => 'hi' }), 401, 'invalid_token',
        'one of 8 days is not');

# a claim twice: the first or the last, whichever a reader takes
my $exp = time + 600;
$before = $t->dump_store;
refused($t->get('/admin/agents/bob', mint($t->{secret}, _payload =>
            qq({"sub":"bob","role":"agent","role":"admin","exp":$exp}))),
        401, 'invalid_token', 'role given twice');
refused($t->post('/visitor/messages', mint($t->{secret}, _payload =>
            qq({"sub":"v1","role":"visitor","chn":"chat","sub":"v2","exp":$exp})),
            { text => 'x' }),
        401, 'invalid_token', 'sub given twice');
is($t->dump_store, $before, 'refused tokens changed nothing');

# kid: the shop's key signs the shop's visitors and nothing else
my %shop = (_kid => 'shop', tnt => 'shop');
my $res = $t->post('/shop/visitor/messages',
                   mint($shop_key, sub => 'w1', role => 'visitor',
                        chn => 'chat', %shop), { text => 'from the shop' });
is($res->{status}, 201, "the shop's visitor token is taken")
  or diag $res->{body};
$before = $t->dump_store;
refused($t->get('/shop/admin/stats', mint($shop_key, sub => 'root',
                                           role => 'admin', %shop)),
        401, 'invalid_token', 'the shop key cannot mint an admin');
refused($t->post('/visitor/messages', mint($shop_key, sub => 'w1',
            role => 'visitor', chn => 'chat', _kid => 'shop'),
            { text => 'x' }),
        401, 'invalid_token', "... nor the default tenant's visitors");
refused($t->post('/shop/visitor/messages', mint($shop_key, sub => 'w1',
            role => 'visitor', chn => 'chat', tnt => 'shop'),
            { text => 'x' }),
        401, 'invalid_token', 'the shop key without its kid: refused');
refused($t->post('/shop/visitor/messages', mint($t->{secret}, sub => 'w1',
            role => 'visitor', chn => 'chat', %shop), { text => 'x' }),
        401, 'invalid_token', 'kid shop signed with the main key: refused');
refused($t->post('/shop/visitor/messages', mint($shop_key, sub => 'w1',
            role => 'visitor', chn => 'chat', tnt => 'shop', _kid => 'mall'),
            { text => 'x' }),
        401, 'invalid_token', 'an unknown kid');
is($t->dump_store, $before, '... nothing stored');
is($t->get('/shop/admin/stats', $t->token('root', 'admin', tnt => 'shop'))
     ->{status}, 200, "the main key still mints the shop's admin");

$t->stop;
$t->check_log;

# nginx -t on the new parameters
for my $bad (
    [ 'switchboard_jwt_secret jwt.secret tenant=shop;', qr/only with a kid=/ ],
    [ 'switchboard_jwt_secret jwt.secret colour=red;',
      qr/unknown parameter "colour=red"/ ],
    [ 'switchboard_jwt_secret jwt.secret kid=a; '
      . 'switchboard_jwt_secret jwt.secret kid=a;', qr/same kid/ ],
    [ 'switchboard_jwt_secret jwt.secret kid=a roles=owner;',
      qr/roles other than/ ],
    [ 'switchboard_jwt_secret jwt.secret kid=a/b;', qr/kid that is not/ ],
    [ 'switchboard_token_max_age 0;', qr/takes a time/ ],
    [ 'switchboard_token_max_age 1h owner;', qr/takes the roles/ ],
) {
    my $c = SbTest->new(http => $bad->[0]);
    my ($code, $out) = $c->test_conf;
    isnt($code, 0, "nginx -t refuses: $bad->[0]");
    like($out, $bad->[1], '... and says why');
}
my $off = SbTest->new(http => 'switchboard_token_max_age off agent;')->start;
$off->add_agent('cy');
is($off->get('/agent/me', $off->token('cy', 'agent', ttl => 400 * 86400))
     ->{status}, 200, 'switchboard_token_max_age off: no maximum');
$off->stop;
done_testing;
