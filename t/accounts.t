# Issue 19, item 8 (R20, R25): a provider account (a WhatsApp phone
# number id, a Page) belongs to one tenant. One app secret for every
# tenant, the tenant taken from Host: a signed delivery replayed with
# another Host, or an account another tenant holds, is refused (403
# foreign_account, nothing stored, a log line). The first tenant to
# receive an account keeps it unless an admin bound it first; admins
# list, bind and let go of theirs. Per-tenant secrets: a location each.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use SbTest;

my $secret = 'meta-app-secret-shared-by-all';
my ($shop_secret, $bank_secret) = ('shop-only-secret-123', 'bank-only-secret-456');
my $t = SbTest->new(
    presence => '60s',
    http => 'map $host $sb_tenant { default default; shop.test shop; '
          . 'bank.test bank; }',
    server => "location = /webhooks/whatsapp { switchboard_tenant \$sb_tenant; "
            . "switchboard_webhook whatsapp; switchboard_webhook_secret $secret; }\n"
            . "location = /webhooks/messenger { switchboard_tenant \$sb_tenant; "
            . "switchboard_webhook messenger; switchboard_webhook_secret $secret; }\n"
            . "location = /shop/whatsapp { switchboard_tenant shop; "
            . "switchboard_webhook whatsapp; switchboard_webhook_secret $shop_secret; }\n"
            . "location = /bank/whatsapp { switchboard_tenant bank; "
            . "switchboard_webhook whatsapp; switchboard_webhook_secret $bank_secret; }\n"
            # the default locations (/admin/ among them) take it too
            . "switchboard_tenant \$sb_tenant;")->start;

sub body_of {
    my ($account, $from, $id) = @_;
    return $SbTest::JSON->encode({ object => 'whatsapp_business_account',
        entry => [ { id => 'W', changes => [ { field => 'messages', value => {
            metadata => { phone_number_id => $account },
            messages => [ { from => $from, id => $id, timestamp => '1',
                            type => 'text', text => { body => "hi $id" } } ] } } ] } ] });
}
sub hook {
    my ($host, $body, %o) = @_;
    return $t->request('POST', $o{path} // '/webhooks/whatsapp', host => $host,
        body => $body, headers => { 'X-Hub-Signature-256' => 'sha256='
            . hmac_sha256_hex($body, $o{secret} // $secret) });
}
sub admin_of { $t->token('root', 'admin', tnt => $_[0]) }
sub aget { $t->request('GET', $_[1], host => "$_[0].test", token => admin_of($_[0])) }
sub aput { $t->request('PUT', $_[1], host => "$_[0].test", token => admin_of($_[0]), body => '{}') }
sub adel { $t->request('DELETE', $_[1], host => "$_[0].test", token => admin_of($_[0])) }
sub refused {
    my ($res, $status, $code, $label) = @_;
    is($res->{status}, $status, "$label: $status");
    is($res->{json}{error}{code}, $code, "$label: $code") or diag $res->{body};
}

# the first delivery of an account binds it to its tenant
my $first = body_of('1055', '33611', 'wamid.A1');
is(hook('shop.test', $first)->{status}, 200, "shop's delivery for 1055 is stored");
my $list = aget('shop', '/admin/accounts')->{json}{accounts};
is_deeply([map { "$_->{channel}/$_->{account}/$_->{tenant}" } @$list],
          ['whatsapp/1055/shop'], "1055 is shop's now (GET /admin/accounts)");
ok($list->[0]{bound_at}, '... since a time');
is_deeply(aget('bank', '/admin/accounts')->{json}{accounts}, [],
          "bank's list is empty: it sees only its own");

# the same signed body, replayed with another Host
my $before = $t->dump_store;
refused(hook('bank.test', $first), 403, 'foreign_account',
        'the signed delivery replayed to bank');
refused(hook('bank.test', body_of('1055', '44700', 'wamid.B1')), 403,
        'foreign_account', 'a new message for shop\'s account, Host bank');
is($t->dump_store, $before, '... nothing stored');
like($t->error_log, qr/webhook refused with 403: .*foreign_account/,
     '... and the error log says so');
is(hook('shop.test', $first)->{json}{duplicates}, 1,
   'shop itself still gets its redelivery (a duplicate)');

# admins: bind, refuse another's, let go
refused(aput('bank', '/admin/accounts/whatsapp/1055'), 409, 'account_taken',
        "bank binds shop's account");
is(aput('bank', '/admin/accounts/whatsapp/2066')->{status}, 201,
   'bank binds 2066 before any delivery');
is(aput('bank', '/admin/accounts/whatsapp/2066')->{status}, 200,
   '... again: 200');
is(aget('bank', '/admin/accounts/whatsapp/2066')->{json}{tenant}, 'bank',
   'GET one account');
refused(aget('shop', '/admin/accounts/whatsapp/2066'), 404, 'unknown_account',
        "shop reading bank's account");
$before = $t->dump_store;
refused(hook('shop.test', body_of('2066', '33612', 'wamid.C1')), 403,
        'foreign_account', "a delivery to shop for the account bank bound first");
refused(adel('shop', '/admin/accounts/whatsapp/2066'), 404, 'unknown_account',
        "shop lets go of bank's account");
refused(aput('shop', '/admin/accounts/chat/1055'), 404, 'unknown_channel',
        'a channel without provider accounts');
refused(aput('shop', '/admin/accounts/whatsapp/a%20b'), 400, 'bad_id',
        'an account id that is none of a provider\'s');
is($t->dump_store, $before, 'the refusals changed nothing');
is(adel('shop', '/admin/accounts/whatsapp/1055')->{status}, 204,
   'shop lets go of 1055');
is(hook('bank.test', body_of('1055', '44700', 'wamid.B2'))->{status}, 200,
   'then bank receives it, and keeps it');
is(aget('bank', '/admin/accounts/whatsapp/1055')->{json}{tenant}, 'bank',
   '... 1055 is bank\'s');

# Messenger: the Page of a read watermark counts too
my $page = sub {
    my ($item) = @_;
    return $SbTest::JSON->encode({ object => 'page', entry => [ { id => '9001',
        time => 1, messaging => [ { sender => { id => '5001' },
                                    recipient => { id => '9001' }, %$item } ] } ] });
};
is($t->request('POST', '/webhooks/messenger', host => 'shop.test',
               body => $page->({ message => { mid => 'm.1', text => 'hello' } }),
               headers => { 'X-Hub-Signature-256' => 'sha256=' . hmac_sha256_hex(
                   $page->({ message => { mid => 'm.1', text => 'hello' } }), $secret) })
     ->{status}, 200, 'a Messenger message binds Page 9001 to shop');
my $read = $page->({ read => { watermark => 1 } });
refused($t->request('POST', '/webhooks/messenger', host => 'bank.test', body => $read,
                    headers => { 'X-Hub-Signature-256' => 'sha256='
                                 . hmac_sha256_hex($read, $secret) }),
        403, 'foreign_account', "a read watermark of shop's Page, Host bank");

# per-tenant secrets: a location per tenant, with its own secret
my $own = body_of('3077', '33613', 'wamid.D1');
is(hook('x', $own, path => '/shop/whatsapp', secret => $shop_secret)->{status}, 200,
   "shop's own location takes a body signed with shop's secret");
refused(hook('x', $own, path => '/bank/whatsapp', secret => $shop_secret), 403,
        'bad_signature', "bank's location refuses it (bank's secret)");

$t->stop;
$t->check_log;
done_testing;
