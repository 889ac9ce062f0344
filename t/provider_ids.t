# Provider ids and texts kept whole (issue 8; R1, R20, R21, R26): long
# message ids are deduplicated on the whole id, senders are never merged or
# cut, ids a provider cannot have refuse the delivery with nothing stored,
# a provider's text is stored as sent, an empty text is counted as ignored.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(hmac_sha256_hex hmac_sha1_base64);
use Encode qw(encode_utf8);
use SbTest;

my $secret = 'meta-app-secret-ids';
my $token = 'twilio-token-ids';
my $sms_url = 'https://sb.example.com/webhooks/sms';
my $t = SbTest->new(presence => '60s', server => join("\n        ", (map {
    "location = /webhooks/$_ { switchboard_webhook $_; "
    . "switchboard_webhook_secret $secret; client_max_body_size 256k; }"
} qw(whatsapp messenger instagram)),
    "location = /webhooks/sms { switchboard_webhook sms; "
    . "switchboard_webhook_secret $token; switchboard_public_url $sms_url; }"))
    ->start;
$t->{track} = 1;
$t->add_agent('ann', capacity => { messaging => 50 });
$t->available('ann');

sub hook {
    my ($ch, $body) = @_;
    return $t->request('POST', "/webhooks/$ch", body => $body, headers =>
        { 'X-Hub-Signature-256' => 'sha256=' . hmac_sha256_hex($body,
                                                                $secret) });
}
sub instagram {
    my ($account, @msgs) = @_;
    return $SbTest::JSON->encode({ object => 'instagram', entry => [
        { id => $account, time => 1763780000000, messaging => [ map {
            { sender => { id => $_->[0] }, recipient => { id => $account },
              timestamp => 1763780000000,
              message => { mid => $_->[1], text => $_->[2] } } } @msgs ] } ] });
}
sub whatsapp {
    my (@msgs) = @_;
    return $SbTest::JSON->encode({ object => 'whatsapp_business_account',
        entry => [ { id => '1', changes => [ { field => 'messages', value => {
            messaging_product => 'whatsapp',
            metadata => { phone_number_id => '1055' },
            messages => [ map { { from => $_->[0], id => $_->[1],
                timestamp => '1763780000', type => 'text',
                text => { body => $_->[2] } } } @msgs ] } } ] } ] });
}
sub refused {
    my ($res, $label) = @_;
    is($res->{status}, 400, "$label: 400");
    is($res->{json}{error}{code}, 'invalid_provider_id',
       "$label: invalid_provider_id");
    is($t->dump_store, $t->{before}, "$label: nothing stored");
}
sub thread_of {
    my ($visitor) = @_;
    my ($c) = grep { $_->{visitor} eq $visitor }
              @{ $t->get('/admin/conversations', $t->admin)->{json}
                 {conversations} };
    return [ grep { $_->{kind} eq 'visitor' }
             @{ $c ? $t->conv($c->{id})->{thread} : [] } ];
}

# --- 1. long message ids, one thread: keyed on the whole id -------------------
# Instagram's mids are ~160 characters and share a long prefix in a thread
my $prefix = 'aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAxNTk0NjUxMzY4OjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI1OTg0NjI4NzE2NzY4MzI1Mzo2NjQ1MTk2MzE3NDU5NjQ2NjU2NTY1NDY3ODkwMTIzNDU2';
my @mids = map { $prefix . sprintf('%012d', $_) } 1 .. 3;
cmp_ok(length $mids[0], '>', 150, 'the ids are as long as Instagram\'s');
my $r = hook('instagram', instagram('17841400000000001',
    map { [ '7000000001', $mids[$_], "message $_" ] } 0 .. 2));
is($r->{status}, 200, 'R20: three messages of one thread');
is($r->{json}{stored}, 3, 'R21: three stored, none taken for another');
is($r->{json}{duplicates}, 0, 'no duplicates');
is(scalar @{ thread_of('17841400000000001:7000000001') }, 3,
   'the thread holds the three');
$r = hook('instagram', instagram('17841400000000001',
                                 [ '7000000001', $mids[1], 'message 1' ]));
is($r->{json}{duplicates}, 1, 'R21: a redelivery of the second is a duplicate');
is($r->{json}{stored}, 0, 'and is not stored again');

# --- 2. senders kept whole, never merged -------------------------------------
my ($a64, $b64) = map { ('9' x 63) . $_ } 1, 2;
$r = hook('whatsapp', whatsapp([ $a64, 'wamid.L1', 'from a' ],
                               [ $b64, 'wamid.L2', 'from b' ]));
is($r->{json}{stored}, 2, 'two senders with 64-digit ids sharing 63');
is(scalar @{ thread_of("1055:$a64") }, 1, 'the first has its conversation');
is(scalar @{ thread_of("1055:$b64") }, 1, 'the second has its own');

$t->{before} = $t->dump_store;
refused(hook('whatsapp', whatsapp([ '9' x 65, 'wamid.L3', 'too long' ])),
        'a 65-digit sender');
refused(hook('whatsapp', whatsapp([ '../../x', 'wamid.L4', 'path' ])),
        'a sender "../../x"');
refused(hook('whatsapp', whatsapp([ 'a b/c', 'wamid.L5', 'space' ])),
        'a sender "a b/c"');
refused(hook('messenger', $SbTest::JSON->encode({ object => 'page',
    entry => [ { id => 'PAGE-1', messaging => [ { sender => { id => '5005' },
        recipient => { id => 'PAGE-1' }, timestamp => 1,
        message => { mid => 'm.1', text => 'hi' } } ] } ] })),
        'a Page id that is not a number');
refused(hook('whatsapp', whatsapp([ '33600000001', 'wamid.ok', 'fine' ],
                                  [ 'x' x 10, 'wamid.bad', 'not fine' ])),
        'a batch with one bad sender (the good one is not stored either)');
refused(hook('whatsapp', whatsapp([ '33600000002', 'x' x 256, 'long id' ])),
        'a message id over 255 bytes');
refused(hook('whatsapp', whatsapp([ '33600000003', "wamid.a b", 'space' ])),
        'a message id with a space');
like($t->error_log, qr/invalid_provider_id|is not a whatsapp id/,
     'the refusal is in the error log');

# Twilio names phone numbers: "+" and digits, or letters for short codes
my %f = (AccountSid => 'AC1', Body => 'hi', From => 'a b/c',
         MessageSid => 'SM1', NumMedia => '0', To => '+15550001');
my $sig = hmac_sha1_base64(join('', $sms_url, map { $_, $f{$_} } sort keys %f),
                           $token);
$sig .= '=' x ((4 - length($sig) % 4) % 4);
my $form = join '&', map {
    (my $v = $f{$_}) =~ s/([^A-Za-z0-9\-_.~ ])/sprintf('%%%02X', ord $1)/ge;
    $v =~ tr/ /+/;
    "$_=$v" } sort keys %f;
refused($t->request('POST', '/webhooks/sms', body => $form, headers => {
    'Content-Type' => 'application/x-www-form-urlencoded',
    'X-Twilio-Signature' => $sig }), 'an SMS from "a b/c"');

# --- 4. a provider's text is stored as sent ----------------------------------
my $long = '🐟' x 4096;              # WhatsApp's 4096 characters, 16 KB
$r = hook('whatsapp', whatsapp([ '33600000004', 'wamid.LONG', $long ]));
is($r->{json}{stored}, 1, 'a 16 KB text (over switchboard_max_text) is stored');
is(thread_of('1055:33600000004')->[0]{text}, $long,
   'whole, byte for byte');

# --- 5. an empty text -------------------------------------------------------
$t->{before} = $t->dump_store;
$r = hook('whatsapp', whatsapp([ '33600000005', 'wamid.EMPTY', '' ]));
is($r->{status}, 200, 'an empty text is acknowledged');
is($r->{json}{stored}, 0, 'not stored as a visitor message');
is($r->{json}{ignored}, 1, 'but counted as ignored');
is($t->dump_store, $t->{before}, 'and nothing is written');

$t->check_log;
done_testing;
