# Twilio SMS webhooks (R1, R20, R21, R26): form-encoded messages signed with
# X-Twilio-Signature over the public URL plus the sorted fields (with or
# without the default port), answered with an empty TwiML document after
# the commit; status callbacks, dedupe on MessageSid, refusals.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Encode qw(encode_utf8);
use Digest::SHA qw(hmac_sha1_base64);
use SbTest;

my $token = 'twilio-auth-token-0123456789';
my %public = (sms => 'https://sb.example.com/webhooks/sms',
              sms443 => 'https://sb.example.com:443/webhooks/sms443');
my $t = SbTest->new(presence => '60s', server => join "\n        ", map {
    "location = /webhooks/$_ { switchboard_webhook sms; "
    . "switchboard_webhook_secret $token; switchboard_public_url $public{$_}; "
    . "client_max_body_size 16k; }"
} sort keys %public)->start;
$t->{track} = 1;
$t->add_agent('ann', capacity => { messaging => 10 });
$t->available('ann');

sub enc {
    my $s = encode_utf8($_[0]);
    $s =~ s/([^A-Za-z0-9\-_.~ ])/sprintf('%%%02X', ord $1)/ge;
    $s =~ tr/ /+/;
    return $s;
}
sub signature {
    my ($url, @pairs) = @_;
    my %f;
    my @sorted = sort { $a->[0] cmp $b->[0] || $a->[1] cmp $b->[1] }
                 map { [ $pairs[2 * $_], $pairs[2 * $_ + 1] ] } 0 .. $#pairs / 2;
    my $sig = hmac_sha1_base64(encode_utf8(join '', $url, map { @$_ } @sorted),
                               $token);
    return $sig . '=' x ((4 - length($sig) % 4) % 4);
}
sub form { my @p = @_; join '&', map { enc($p[2 * $_]) . '=' . enc($p[2 * $_ + 1]) } 0 .. $#p / 2 }
sub sms {
    my ($sid, $from, $body, %o) = @_;
    my %f = (MessageSid => $sid, SmsSid => $sid, AccountSid => 'AC42',
            MessagingServiceSid => 'MG1', From => $from, To => '+15550001',
            Body => $body, NumMedia => '0', NumSegments => '1',
            SmsStatus => 'received', ApiVersion => '2010-04-01',
            FromCountry => 'FR', %o);
    return map { $_ => $f{$_} } sort keys %f;
}
sub hook {
    my ($pairs, %o) = @_;
    my $path = $o{path} // '/webhooks/sms';
    my $url = $o{url} // $public{sms};
    my %h = ('Content-Type' => 'application/x-www-form-urlencoded');
    $h{'X-Twilio-Signature'} = $o{sig} // signature($url, @$pairs)
        unless exists $o{sig} && !defined $o{sig};
    return $t->request('POST', $path, body => $o{body} // form(@$pairs),
                       headers => \%h);
}
sub refused {
    my ($res, $status, $code, $label) = @_;
    is($res->{status}, $status, "$label: $status");
    is(eval { $res->{json}{error}{code} }, $code, "$label: $code");
    is($t->dump_store, $t->{before}, "$label: nothing stored");
}

# --- a message reaches the agent -------------------------------------------------
my $cur = $t->events('ann', 0, 0.2)->{cursor};
my $r = hook([ sms('SM1', '+33611', 'Bonjour, où est ma commande ? 📦') ]);
is($r->{status}, 200, 'R20: a signed SMS: 200');
is($r->{headers}{'content-type'}, 'text/xml', 'as text/xml');
is($r->{body}, '<Response/>', 'an empty TwiML document (no auto-reply)');
my $ev = $t->events('ann', $cur, 2);
my ($assigned) = grep { $_->{type} eq 'conversation.assigned' } @{ $ev->{events} };
ok($assigned, 'R1: the conversation reaches the agent\'s poll');
my $c = $assigned->{conversation};
my $conv = $t->conv($c);
is($conv->{channel}, 'sms', 'on the sms channel');
is($conv->{visitor}, '+15550001:+33611', 'keyed by our number and the sender');
is($conv->{thread}[0]{text}, 'Bonjour, où est ma commande ? 📦',
   'the text, decoded (UTF-8, +, %XX)');

# --- the default port, either way; the query string -------------------------------
$r = hook([ sms('SM2', '+33611', 'port 443') ],
          url => 'https://sb.example.com:443/webhooks/sms');
is($r->{status}, 200, 'R20: signed over the URL with :443, configured without');
$r = hook([ sms('SM3', '+33611', 'no port') ], path => '/webhooks/sms443',
          url => 'https://sb.example.com/webhooks/sms443');
is($r->{status}, 200, 'R20: signed without the port, configured with :443');
$r = hook([ sms('SM4', '+33611', 'query') ], path => '/webhooks/sms?tenant=x',
          url => "$public{sms}?tenant=x");
is($r->{status}, 200, 'R20: the query string is part of what Twilio signs');

# --- media, status callbacks, fields Twilio adds later ------------------------------
$r = hook([ sms('MM5', '+33611', '', NumMedia => '1',
                MediaUrl0 => 'https://api.twilio.com/media/ME1',
                MediaContentType0 => 'image/jpeg', SomethingNew => 'x') ]);
is($r->{json}, undef, 'TwiML, not JSON');
my ($media) = grep { $_->{media} } @{ $t->conv($c)->{thread} };
is($media->{media}{ref}[0]{url}, 'https://api.twilio.com/media/ME1',
   'a media-only MMS is stored with its URL (no download)');
$t->{before} = $t->dump_store;
$r = hook([ MessageSid => 'SMOUT9', AccountSid => 'AC42', From => '+15550001',
            To => '+33611', MessageStatus => 'delivered', SmsStatus => 'delivered' ]);
is($r->{status}, 200, 'R20: a status callback is acknowledged');
is($t->dump_store, $t->{before}, 'and creates nothing (not one of our sends)');

# --- dedupe (R21) ----------------------------------------------------------------------
my @dup = sms('SM7', '+33622', 'twice');
my $n = scalar @{ $t->get('/admin/conversations', $t->admin)->{json}{conversations} };
is(hook(\@dup)->{status}, 200, 'first delivery');
is(hook(\@dup)->{status}, 200, 'R21: a retry is acknowledged');
my @raced = sms('SM8', '+33633', 'raced');
my @socks = map {
    $t->send_request('POST', '/webhooks/sms', body => form(@raced), headers => {
        'Content-Type' => 'application/x-www-form-urlencoded',
        'X-Twilio-Signature' => signature($public{sms}, @raced) })
} 1 .. 2;
is_deeply([ map { $t->read_response($_, 5)->{status} } @socks ], [200, 200],
          'R21: the same message on two connections at once');
my %texts;
$texts{ $_->{text} }++ for map { @{ $t->conv($_->{id})->{thread} } }
    @{ $t->get('/admin/conversations', $t->admin)->{json}{conversations} };
is($texts{twice}, 1, 'R21: stored once');
is($texts{raced}, 1, 'R21: stored once when raced');

# --- refusals: nothing stored ----------------------------------------------------------
$t->{before} = $t->dump_store;
my @p = sms('SM9', '+33644', 'refuse me');
refused(hook(\@p, sig => undef), 401, 'missing_signature', 'no signature');
refused(hook(\@p, sig => 'AAAAAAAAAAAAAAAAAAAAAAAAAAA='), 403, 'bad_signature',
        'a wrong signature');
refused(hook(\@p, url => 'https://other.example.com/webhooks/sms'), 403,
        'bad_signature', 'signed for another URL');
refused(hook(\@p, sig => signature($public{sms}, @p),
             body => form(@p) . '&Extra=1'), 403, 'bad_signature',
        'a field added after signing');
refused(hook(\@p, body => substr(form(@p), 0, 40)), 403, 'bad_signature',
        'a truncated body');
refused(hook(\@p, body => 'Body=%ZZ&MessageSid=SM9'), 400, 'malformed_form',
        'a body that is not a form');
refused(hook(\@p, body => 'Body=%FF%FE&MessageSid=SM9'), 400, 'malformed_form',
        'invalid UTF-8 in a field');
refused(hook([ From => '+33644', To => '+15550001', Body => 'no sid' ]), 400,
        'unexpected_payload', 'signed, but no MessageSid');
refused(hook(\@p, body => 'Body=' . ('x' x 20000)), 413, 'body_too_large',
        'a huge body');
$r = $t->get('/webhooks/sms', undef);
is($r->{status}, 405, 'Twilio has no handshake: GET is 405');

$t->stop;
$t->check_log;
done_testing;
