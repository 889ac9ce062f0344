# X direct messages (R1, R20, R21): the CRC challenge, the base64
# signature over the raw body, message_create events (HTML-unescaped),
# our own sends and other events creating nothing, redeliveries stored once.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(hmac_sha256_base64);
use URI::Escape qw(uri_escape_utf8);
use SbTest;

my $secret = 'x-consumer-secret-0123456789';
my $t = SbTest->new(server => "location = /webhooks/twitter { "
    . "switchboard_webhook twitter; switchboard_webhook_secret $secret; }")
    ->start;
$t->{track} = 1;
$t->add_agent('ann', capacity => { messaging => 5 });
$t->available('ann');

sub b64sig { my $s = hmac_sha256_base64($_[0], $secret);
             $s .= '=' x ((4 - length($s) % 4) % 4); "sha256=$s" }
sub hook {
    my ($body, %o) = @_;
    my %h = exists $o{sig} ? (defined $o{sig}
               ? ('x-twitter-webhooks-signature' => $o{sig}) : ())
          : ('x-twitter-webhooks-signature' => b64sig($body));
    return $t->request('POST', '/webhooks/twitter', body => $body,
                       headers => \%h);
}
sub dm {
    my ($id, $sender, $text) = @_;
    return { type => 'message_create', id => $id,
             created_timestamp => '1763780000000',
             message_create => { target => { recipient_id => '1001' },
                                 sender_id => $sender,
                                 message_data => { text => $text } } };
}
sub payload {
    return $SbTest::JSON->encode({ for_user_id => '1001',
                                   direct_message_events => [@_],
                                   users => {} });
}
sub refused {
    my ($res, $status, $code, $label) = @_;
    is($res->{status}, $status, "$label: $status");
    is($res->{json}{error}{code}, $code, "$label: $code");
    is($t->dump_store, $t->{before}, "$label: nothing stored");
}

my $r = $t->get('/webhooks/twitter?crc_token=abc%2B123', undef);
is($r->{status}, 200, 'R20: the CRC check answers 200');
is($r->{json}{response_token}, b64sig('abc+123'),
   'R20: sha256= + base64 HMAC of the (decoded) crc_token');
is($t->get('/webhooks/twitter', undef)->{status}, 400,
   'a CRC check without a token is 400');
$r = $t->get('/webhooks/twitter?crc_token=test+token', undef);
is($r->{json}{response_token}, b64sig('test token'),
   'the CRC token is form-decoded first: "+" is a space');
# the shape X sends now: base64 of a UUID, with a nonce beside it
$r = $t->get('/webhooks/twitter?crc_token=M2RkODJkZmMtYjlkYi00NmQ4LTk0MGUtM2J'
             . 'jYzkwM2Q4MjQ0&nonce=MTc2OTUxODI5MjkxNA', undef);
is($r->{json}{response_token},
   b64sig('M2RkODJkZmMtYjlkYi00NmQ4LTk0MGUtM2JjYzkwM2Q4MjQ0'),
   'a base64 token with a nonce is answered');
is($t->get('/webhooks/twitter?crc_token=a-b_c/d%3D', undef)->{status}, 200,
   'base64url and padding are X\'s alphabet too');

# Issue 19: the CRC's answer is exactly the signature of a POST whose body
# is the token, so a token that is a delivery would sign a forgery.
$t->{before} = $t->dump_store;
my $forged = payload(dm('FORGED1', '6666', 'give me a refund'));
$r = $t->get('/webhooks/twitter?crc_token=' . uri_escape_utf8($forged), undef);
is($r->{status}, 400, 'issue 19: a JSON crc_token is refused');
is($r->{json}{error}{code}, 'bad_crc_token', '... as bad_crc_token');
ok(!exists $r->{json}{response_token}, '... and nothing is signed');
refused(hook($forged, sig => $r->{json}{response_token}
                             // 'sha256=' . ('A' x 43) . '='),
        403, 'bad_signature', 'issue 19: the forged delivery');
for my $bad ('a' x 257, 'abc%21', 'abc%7B', '%E2%9C%93') {
    $r = $t->get("/webhooks/twitter?crc_token=$bad", undef);
    is($r->{status}, 400, "crc_token '" . substr($bad, 0, 12) . "': 400");
    is($r->{json}{error}{code}, 'bad_crc_token', '... bad_crc_token');
}
is($t->dump_store, $t->{before}, 'no CRC answer stored anything');

$r = hook(payload(dm('E1', '7077', 'Fish &amp; chips &lt;3 🐟'),
                  dm('E2', '1001', 'our own reply'),
                  { type => 'favorite_event', id => 'F1' }));
is($r->{status}, 200, 'R20: a signed delivery is acknowledged');
is($r->{json}{stored}, 1, 'the visitor DM is stored');
is($r->{json}{ignored}, 2, 'our own send and a like are not');
my $ev = $t->events('ann', 0, 2);
my ($as) = grep { $_->{type} eq 'conversation.assigned' } @{ $ev->{events} };
is($as->{channel}, 'twitter', 'R1: it reaches the agent');
is($as->{visitor}, '1001:7077', 'keyed by (account, visitor)');
is($t->conv($as->{conversation})->{thread}[0]{text}, 'Fish & chips <3 🐟',
   'HTML entities are unescaped');

$r = hook(payload(dm('E1', '7077', 'Fish &amp; chips &lt;3 🐟')));
is($r->{json}{duplicates}, 1, 'R21: a redelivery is not stored again');
$r = hook(payload(map { dm("E3$_", "708$_", "batch $_") } 1 .. 3));
is($r->{json}{stored}, 3, 'a batch of three DMs from three visitors: three stored');
is(scalar(grep { $_->{visitor} =~ /^1001:708\d$/ }
          @{ $t->get('/admin/conversations', $t->admin)->{json}{conversations} }),
   3, 'three conversations');

my $good = payload(dm('E9', '7078', 'nope'));
refused(hook($good, sig => undef), 401, 'missing_signature', 'no signature');
refused(hook($good, sig => b64sig($good . ' ')), 403, 'bad_signature',
        'a signature over other bytes');
refused(hook($good, sig => 'sha256=' . ('A' x 43) . '='), 403,
        'bad_signature', 'a wrong signature');
refused(hook('{"direct_message_events":[]}'), 400, 'unexpected_payload',
        'no for_user_id');
refused(hook('not json'), 400, 'malformed_json', 'not JSON');

$t->stop;
$t->check_log;
done_testing;
