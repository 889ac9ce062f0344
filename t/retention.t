# Dedupe retention (R21): provider message ids are remembered for
# switchboard_dedupe_window and then purged by a timer; within the window
# a redelivery is stored once, after it the row is gone from the store.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use SbTest;

my $secret = 'meta-app-secret-retention';
my $t = SbTest->new(http => 'switchboard_dedupe_window 2s;',
                    server => "location = /webhooks/whatsapp { "
                    . "switchboard_webhook whatsapp; "
                    . "switchboard_webhook_secret $secret; }")->start;

sub hook {
    my ($id) = @_;
    my $body = $SbTest::JSON->encode({ object => 'whatsapp_business_account',
        entry => [ { id => 'W', changes => [ { field => 'messages', value => {
            metadata => { phone_number_id => '1055' },
            messages => [ { from => '33611', id => $id, timestamp => '1',
                            type => 'text', text => { body => "m $id" } } ]
        } } ] } ] });
    return $t->request('POST', '/webhooks/whatsapp', body => $body, headers => {
        'X-Hub-Signature-256' => 'sha256=' . hmac_sha256_hex($body, $secret) });
}
# the dedupe row's key holds the provider id as bytes; mdb_dump shows hex
sub remembered { index($t->dump_store, unpack('H*', "p:$_[0]")) >= 0 }

is(hook('wamid.R1')->{json}{stored}, 1, 'a message is stored');
ok(remembered('wamid.R1'), 'its provider id is remembered');
is(hook('wamid.R1')->{json}{duplicates}, 1,
   'R21: within the window a redelivery is a duplicate');
ok($t->wait_for(sub { !remembered('wamid.R1') }, 8),
   'R21: after the window the timer purged the row');
is(hook('wamid.R2')->{json}{stored}, 1, 'other messages go on');
ok(remembered('wamid.R2'), 'and are remembered in turn');

$t->stop;
$t->check_log;
done_testing;
