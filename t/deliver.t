# Delivery (R22, R21, R26): an agent's reply on a third-party channel is
# stored (202), POSTed by an nginx subrequest to the operator's location in
# the provider's shape, retried with back-off, reported when it fails, and
# moved along by the provider's statuses. The provider is a real server.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(hmac_sha256_hex hmac_sha1_base64);
use MIME::Base64 qw(encode_base64);
use Time::HiRes ();
use SbTest;
use FakeProvider;

my $fake = FakeProvider->new;
my $fp = $fake->port;
my $secret = 'meta-app-secret-0123456789';
my $twilio = 'twilio-auth-token-42';
my %route = (
    whatsapp  => '/v19.0/$switchboard_account/messages',
    messenger => '/v19.0/me/messages',
    facebook  => '/v19.0/$switchboard_reply_to/comments',
    twitter   => '/2/dm_conversations/with/$switchboard_recipient/messages',
    sms       => '/2010-04-01/Accounts/AC42/Messages.json',
);
my $server = join "\n        ",
    (map { "location = /webhooks/$_ { switchboard_webhook $_; "
           . "switchboard_webhook_secret "
           . ($_ eq 'sms' ? $twilio : $secret) . '; '
           . ($_ eq 'sms' ? "switchboard_public_url https://sb.example.com/webhooks/sms; " : '')
           . '}' } qw(whatsapp messenger facebook twitter sms)),
    (map { "switchboard_deliver $_ /_deliver/$_;" } keys %route),
    (map { "location /_deliver/$_ { internal; rewrite ^ $route{$_} break; "
           . "proxy_pass http://127.0.0.1:$fp; "
           . "proxy_set_header Authorization \"Bearer token-$_\"; }" }
     keys %route);
my $http = 'switchboard_deliver_backoff 1s; switchboard_deliver_attempts 3; '
         . 'switchboard_max_text 16k;';
my $t = SbTest->new(server => $server, http => $http,
                    presence => '60s')->start;
$t->add_agent('ann', capacity => { messaging => 20 });
$t->available('ann');
my $cursor = 0;

sub meta_hook {
    my ($ch, $payload) = @_;
    my $body = $SbTest::JSON->encode($payload);
    return $t->request('POST', "/webhooks/$ch", body => $body, headers => {
        'X-Hub-Signature-256' => 'sha256=' . hmac_sha256_hex($body, $secret),
    });
}
sub wa_message {
    my ($from, $id, $text) = @_;
    return meta_hook('whatsapp', { object => 'whatsapp_business_account',
        entry => [ { id => 'WABA1', changes => [ { field => 'messages',
            value => { metadata => { phone_number_id => '1055' },
                       messages => [ { from => $from, id => $id,
                           timestamp => '1763780000', type => 'text',
                           text => { body => $text } } ] } } ] } ] });
}
sub wa_status {
    my ($id, $status) = @_;
    return meta_hook('whatsapp', { object => 'whatsapp_business_account',
        entry => [ { id => 'WABA1', changes => [ { field => 'messages',
            value => { metadata => { phone_number_id => '1055' },
                       statuses => [ { id => $id, status => $status,
                                       timestamp => '1763780001' } ] } } ] } ] });
}
sub conv_of {
    my ($visitor) = @_;
    my ($c) = grep { $_->{visitor} eq $visitor }
              @{ $t->get('/admin/conversations', $t->admin)->{json}{conversations} };
    return $c ? $c->{id} : undef;
}
sub reply {
    my ($c, $text, %o) = @_;
    return $t->post("/agent/conversations/$c/messages", $t->agent('ann'),
                    { text => $text }, %o);
}
sub delivery_of {
    my ($c, $seq) = @_;
    my ($m) = grep { $_->{seq} == $seq } @{ $t->conv($c)->{thread} };
    return $m ? $m->{delivery} : undef;
}
sub settled {
    my ($c, $seq, $state) = @_;
    $t->wait_for(sub { (delivery_of($c, $seq) // {})->{state} eq $state }, 10);
    return delivery_of($c, $seq);
}
sub events_of_type {
    my ($type) = @_;
    my @got;
    $t->wait_for(sub {
        my $ev = $t->events('ann', $cursor, 0.2);
        $cursor = $ev->{cursor};
        push @got, grep { $_->{type} eq $type } @{ $ev->{events} };
        return @got;
    }, 10);
    return @got;
}
sub provider_got { my @r = $fake->requests; return @r }

# --- WhatsApp: body shape, headers, the provider id, statuses -----------------
is(wa_message('33611', 'wamid.IN1', 'where is my parcel?')->{status}, 200,
   'a WhatsApp message comes in');
my $wa = conv_of('1055:33611');
ok($wa, 'its conversation');
$t->{track} = 1;
my $r = reply($wa, 'On its way — tomorrow.');
is($r->{status}, 202, 'R22: the reply is stored, not yet delivered: 202');
is($r->{json}{message}{delivery}{state}, 'pending', 'its delivery is pending');
my $seq = $r->{json}{message}{seq};
my $d = settled($wa, $seq, 'sent');
is($d->{state}, 'sent', 'R22: delivered through the operator location');
is($d->{provider_id}, 'wamid.OUT1', 'the provider id is kept');
is($d->{attempts}, 1, 'in one attempt');
my ($req) = provider_got();
is($req->{method}, 'POST', 'POST to the provider');
is($req->{path}, '/v19.0/1055/messages', 'to the phone number id from the '
   . 'webhook ($switchboard_account)');
is($req->{headers}{authorization}, 'Bearer token-whatsapp',
   'with the credentials nginx holds');
is($req->{headers}{'content-type'}, 'application/json', 'as JSON');
is_deeply($SbTest::JSON->decode($req->{body}),
          { messaging_product => 'whatsapp', recipient_type => 'individual',
            to => '33611', type => 'text',
            text => { body => 'On its way — tomorrow.' } },
          'in the Cloud API shape');
ok((grep { $_->{message}{seq} == $seq } events_of_type('message.status')),
   'the agent hears that it was sent');

$r = wa_status('wamid.OUT1', 'read');
is($r->{json}{status_changes}, 1, 'a read status moves it');
is(delivery_of($wa, $seq)->{state}, 'read', 'R22: read');
$r = wa_status('wamid.OUT1', 'delivered');
is($r->{json}{status_changes}, 0, 'a late delivered moves nothing');
is(delivery_of($wa, $seq)->{state}, 'read', 'R22: a late delivered never '
   . 'overwrites read');
$r = reply($wa, 'Again?', headers => { 'Idempotency-Key' => 'k1' });
my $seq2 = $r->{json}{message}{seq};
settled($wa, $seq2, 'sent');
$r = reply($wa, 'Again?', headers => { 'Idempotency-Key' => 'k1' });
is($r->{status}, 200, 'R21: a replayed Idempotency-Key answers 200');
is($r->{json}{message}{delivery}{state}, 'sent', 'with the state it reached');
is(scalar(provider_got()), 2, 'R21: and the provider got it once');

# --- an attachment travels as its link after the text (the text whole) ---------
my $long = 'ü' x 4090;
$r = $t->post("/agent/conversations/$wa/messages", $t->agent('ann'),
              { text => $long, attachment => { url => 'https://x.test/invoice.pdf',
                                               name => 'invoice.pdf' } });
settled($wa, $r->{json}{message}{seq}, 'sent');
is($SbTest::JSON->decode((provider_got())[-1]{body})->{text}{body},
   "$long\nhttps://x.test/invoice.pdf",
   'R22: an 8180-byte text and its attachment link arrive whole');

# --- text limits per channel (R26) --------------------------------------------
meta_hook('messenger', { object => 'page', entry => [ { id => '90009',
    messaging => [ { sender => { id => '5005' }, recipient => { id => '90009' },
                     message => { mid => 'm_in1', text => 'hello' } } ] } ] });
my $ms = conv_of('90009:5005');
my $before = $t->dump_store;
$r = reply($ms, 'é' x 2001);
is($r->{status}, 422, 'R26: 2001 characters on Messenger: 422');
is($r->{json}{error}{code}, 'text_too_long_for_channel', 'text_too_long_for_channel');
is($t->dump_store, $before, 'and nothing is stored');
$r = reply($ms, 'é' x 2000);
is($r->{status}, 202, '2000 characters (4000 bytes) are taken');
my $mseq = $r->{json}{message}{seq};
$d = settled($ms, $mseq, 'sent');
my $mreq = (provider_got())[-1];
is($mreq->{path}, '/v19.0/me/messages', 'Messenger: the Send API path');
is_deeply($SbTest::JSON->decode($mreq->{body}),
          { recipient => { id => '5005' }, messaging_type => 'RESPONSE',
            message => { text => 'é' x 2000 } }, 'Messenger: its shape');
is($d->{provider_id}, 'm_OUT' . scalar(provider_got()), 'Messenger: message_id kept');
$r = meta_hook('messenger', { object => 'page', entry => [ { id => '90009',
    messaging => [ { sender => { id => '5005' }, recipient => { id => '90009' },
                     read => { watermark => 4102444800000 } } ] } ] });
is(delivery_of($ms, $mseq)->{state}, 'read',
   'Messenger: a read watermark marks our sends read');

# --- fails twice, then succeeds: exactly one delivered message ------------------
$fake->plan(503, 503);
my $n0 = provider_got();
$r = reply($wa, 'third time lucky');
$seq = $r->{json}{message}{seq};
$d = settled($wa, $seq, 'sent');
is($d->{state}, 'sent', 'R22: 503, 503, then 200: sent');
is($d->{attempts}, 3, 'after three attempts');
my @tries = (provider_got())[$n0 .. $n0 + 2];
is_deeply([ map { $_->{answered} } @tries ], [503, 503, 200],
          'the provider saw exactly the three attempts');
is(scalar(provider_got()), $n0 + 3, 'and nothing after the success');

# --- always fails: message.failed after the limit -------------------------------
$fake->plan((503) x 5);
$r = reply($wa, 'this one will not make it');
$seq = $r->{json}{message}{seq};
$d = settled($wa, $seq, 'failed');
is($d->{state}, 'failed', 'R22: out of attempts: failed');
is($d->{attempts}, 3, 'after switchboard_deliver_attempts (3)');
like($d->{error}, qr/503/, 'with the last error');
my @failed = grep { $_->{message}{seq} == $seq } events_of_type('message.failed');
is(scalar @failed, 1, 'R22: the agent gets message.failed once');
$fake->plan();

# --- a refusal (4xx) is final at once --------------------------------------------
$fake->plan(400);
$r = reply($wa, 'refused');
$d = settled($wa, $r->{json}{message}{seq}, 'failed');
is($d->{attempts}, 1, 'a 400 is not retried');

# --- 429 is retried like a 5xx ----------------------------------------------------
$fake->plan(429);
$r = reply($wa, 'slow down');
$d = settled($wa, $r->{json}{message}{seq}, 'sent');
is($d->{attempts}, 2, 'a 429 is retried');

# --- X, Facebook comments, Twilio: their shapes -----------------------------------
my $xbody = $SbTest::JSON->encode({ for_user_id => '4337', direct_message_events => [
    { type => 'message_create', id => 'dm1', created_timestamp => '1763780000000',
      message_create => { target => { recipient_id => '4337' }, sender_id => '777',
                          message_data => { text => 'hi X' } } } ] });
use Digest::SHA qw(hmac_sha256);
$t->request('POST', '/webhooks/twitter', body => $xbody, headers => {
    'x-twitter-webhooks-signature' => 'sha256='
        . encode_base64(hmac_sha256($xbody, $secret), '') });
my $xc = conv_of('4337:777');
$r = reply($xc, 'hello from X');
$d = settled($xc, $r->{json}{message}{seq}, 'sent');
my $xreq = (provider_got())[-1];
is($xreq->{path}, '/2/dm_conversations/with/777/messages',
   'X: to the participant ($switchboard_recipient)');
is_deeply($SbTest::JSON->decode($xreq->{body}), { text => 'hello from X' },
          'X: its shape');
is($d->{provider_id}, 'OUT' . scalar(provider_got()), 'X: dm_event_id kept');

meta_hook('facebook', { object => 'page', entry => [ { id => '90009', time => 1763780000,
    changes => [ { field => 'feed', value => { item => 'comment', verb => 'add',
        comment_id => '111_222', post_id => '90009_111', from => { id => '55', name => 'Léa' },
        message => 'Is this in stock?', created_time => 1763780000 } } ] } ] });
my $fc = conv_of('90009:55');
ok($fc, 'Facebook: a comment opens a conversation');
$r = reply($fc, 'Yes, in stock.');
settled($fc, $r->{json}{message}{seq}, 'sent');
my $freq = (provider_got())[-1];
is($freq->{path}, '/v19.0/111_222/comments',
   'Facebook: a reply under the comment ($switchboard_reply_to)');
is_deeply($SbTest::JSON->decode($freq->{body}), { message => 'Yes, in stock.' },
          'Facebook: its shape');

my %form = (MessageSid => 'SMIN1', AccountSid => 'AC42', From => '+33611',
            To => '+15550001', Body => 'Bonjour', NumMedia => '0');
my $url = 'https://sb.example.com/webhooks/sms';
my $sig = hmac_sha1_base64(join('', $url, map { $_, $form{$_} } sort keys %form),
                           $twilio);
$sig .= '=' while length($sig) % 4;
my $fbody = join '&', map { "$_=" . ($form{$_} =~ s/\+/%2B/gr) } sort keys %form;
$r = $t->request('POST', '/webhooks/sms', body => $fbody, headers => {
    'Content-Type' => 'application/x-www-form-urlencoded',
    'X-Twilio-Signature' => $sig });
is($r->{status}, 200, 'Twilio: an SMS comes in');
my $sc = conv_of('+15550001:+33611');
$r = reply($sc, 'Bonjour & bienvenue');
$d = settled($sc, $r->{json}{message}{seq}, 'sent');
my $sreq = (provider_got())[-1];
is($sreq->{path}, '/2010-04-01/Accounts/AC42/Messages.json', 'Twilio: the Messages path');
is($sreq->{headers}{'content-type'}, 'application/x-www-form-urlencoded',
   'Twilio: a form');
is($sreq->{body}, 'To=%2B33611&From=%2B15550001&Body=Bonjour%20%26%20bienvenue',
   'Twilio: To, From, Body');
is($d->{provider_id}, 'SMOUT' . scalar(provider_got()), 'Twilio: sid kept');
$r = reply($sc, 'x' x 1601);
is($r->{status}, 422, 'R26: 1601 characters on Twilio: 422');

# --- restart mid-retry: the delivery completes ------------------------------------
$fake->plan(503);
$n0 = provider_got();
$r = reply($wa, 'across a restart');
$seq = $r->{json}{message}{seq};
$t->wait_for(sub { provider_got() > $n0 }, 10);
$t->stop;
is(scalar(provider_got()), $n0 + 1, 'the first attempt failed before the stop');
my $restarted = Time::HiRes::time();
$t->start;
$d = settled($wa, $seq, 'sent');
is($d->{state}, 'sent', 'R22: a retry due while nginx was down completes');
is($d->{attempts}, 2, 'with the attempt it was owed');
cmp_ok((provider_got())[-1]{at}, '>', $restarted,
       'by the restarted nginx');

$t->stop;
$t->check_log;
done_testing;
