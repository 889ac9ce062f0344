# Meta webhooks (R1, R20, R21, R26): WhatsApp, Messenger, Instagram and
# Facebook Page comments as
# Meta sends them: the verification handshake, X-Hub-Signature-256 over
# the raw body, batches, receipts and echoes that create nothing, media
# references, and deliveries retried (or raced) that are stored once.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use SbTest;

my $secret = 'meta-app-secret-0123456789';
my $t = SbTest->new(server => join "\n        ", map {
    "location = /webhooks/$_ { switchboard_webhook $_; "
    # Instagram's secret comes from a file (the file: form)
    . "switchboard_webhook_secret "
    . ($_ eq 'instagram' ? 'file:meta.secret' : $secret) . '; '
    . "switchboard_verify_token vt-42; client_max_body_size 64k; }"
} qw(whatsapp messenger instagram facebook));
$t->write_file('meta.secret', "$secret\n");
$t->start;
$t->{track} = 1;

$t->add_agent('ann', capacity => { messaging => 10 });
$t->available('ann');
my $cursor = 0;

sub sign { 'sha256=' . hmac_sha256_hex($_[0], $secret) }
sub hook {
    my ($ch, $body, %o) = @_;
    my %h = exists $o{sig} ? (defined $o{sig}
                                ? ('X-Hub-Signature-256' => $o{sig}) : ())
                           : ('X-Hub-Signature-256' => sign($body));
    return $t->request('POST', "/webhooks/$ch", body => $body,
                       headers => \%h);
}
sub refused {
    my ($res, $status, $code, $label) = @_;
    is($res->{status}, $status, "$label: $status");
    is($res->{json}{error}{code}, $code, "$label: $code");
    is($t->dump_store, $t->{before}, "$label: nothing stored");
}
sub wa_payload {
    my (@msgs) = @_;
    return $SbTest::JSON->encode({
        object => 'whatsapp_business_account',
        entry => [ { id => 'WABA1', changes => [ { field => 'messages',
            value => { messaging_product => 'whatsapp',
                       metadata => { display_phone_number => '15550001',
                                     phone_number_id => '1055' },
                       contacts => [ { profile => { name => 'Zoé' },
                                       wa_id => '33611' } ],
                       messages => \@msgs } } ] } ] });
}
sub wa_text {
    my ($from, $id, $text) = @_;
    return { from => $from, id => $id, timestamp => '1763780000',
             type => 'text', text => { body => $text } };
}

# --- handshake ----------------------------------------------------------------
my $r = $t->get('/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=vt-42'
                . '&hub.challenge=1158201444', undef);
is($r->{status}, 200, 'R20: handshake answers 200');
is($r->{body}, '1158201444', 'R20: with the challenge as the raw body');
like($r->{headers}{'content-type'}, qr{^text/plain}, 'as text/plain');
is($t->get('/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=nope'
           . '&hub.challenge=1', undef)->{status}, 403,
   'R20: a wrong verify token is 403');
is($t->get('/webhooks/messenger?hub.challenge=1', undef)->{status}, 403,
   'R20: a handshake without mode and token is 403');
for my $ch (qw(messenger instagram)) {
    is($t->get("/webhooks/$ch?hub.mode=subscribe&hub.verify_token=vt-42"
               . '&hub.challenge=99', undef)->{body}, '99', "$ch: the handshake");
}

# --- WhatsApp: one message reaches the agent ------------------------------------
my $body = wa_payload(wa_text('33611', 'wamid.A1', 'Bonjour 👋'));
$r = hook('whatsapp', $body);
is($r->{status}, 200, 'R20: a signed delivery is acknowledged');
is($r->{json}{stored}, 1, 'one message stored');
my $ev = $t->events('ann', $cursor, 2);
$cursor = $ev->{cursor};
my ($as) = grep { $_->{type} eq 'conversation.assigned' } @{ $ev->{events} };
is($as->{channel}, 'whatsapp', 'R1: a whatsapp conversation reaches the poll');
is($as->{visitor}, '1055:33611', 'keyed by (account, visitor)');
my $conv = $as->{conversation};
is($t->conv($conv)->{thread}[0]{text}, 'Bonjour 👋', 'the text, byte for byte');
is($t->conv($conv)->{class}, 'messaging', 'in the messaging slot class');

# --- R21: redelivered, and raced from two connections --------------------------
$r = hook('whatsapp', $body);
is($r->{json}{duplicates}, 1, 'R21: a redelivery is acknowledged');
is($r->{json}{stored}, 0, 'R21: and not stored again');
my $race = wa_payload(wa_text('33611', 'wamid.RACE', 'twice?'));
my @socks = map { $t->send_request('POST', '/webhooks/whatsapp', body => $race,
                      headers => { 'X-Hub-Signature-256' => sign($race) }) }
            1 .. 2;
my @res = map { $t->read_response($_, 5) } @socks;
is(scalar(grep { $_->{status} == 200 } @res), 2, 'both racers get 200');
is((grep { $_->{text} eq 'twice?' } @{ $t->conv($conv)->{thread} }), 1,
   'R21: the raced delivery is stored once');

# --- batches: every entry, change and message ----------------------------------
my $batch = $SbTest::JSON->encode({
    object => 'whatsapp_business_account',
    entry => [ map { my $e = $_; { id => "WABA$e", changes => [ { field => 'messages',
        value => { metadata => { phone_number_id => '1055' },
                   messages => [ wa_text("4470$e", "wamid.B$e.1", "hi $e"),
                                 wa_text("4470$e", "wamid.B$e.2", "again $e") ],
                 } } ] } } 1 .. 2 ] });
$r = hook('whatsapp', $batch);
is($r->{json}{stored}, 4, 'a batch of 2 entries x 2 messages: 4 stored');
is(scalar(grep { $_->{visitor} =~ /^1055:4470/ }
          @{ $t->get('/admin/conversations', $t->admin)->{json}
             {conversations} }), 2, 'two visitors, two conversations');

# --- a body nginx spools to a temp file is verified and read whole ---------------
$r = hook('whatsapp', wa_payload(wa_text('33655', 'wamid.BIG',
                                         'long ' x 6000)));
is($r->{status}, 200, 'R20: a 30 KB body (in a temp file) is verified');
is($r->{json}{stored}, 1, 'and stored');
my ($big) = grep { $_->{visitor} eq '1055:33655' }
            @{ $t->get('/admin/conversations', $t->admin)->{json}{conversations} };
is(length($t->conv($big->{id})->{thread}[0]{text}), 30000,
   'its 30,000-byte text whole: a provider\'s text is not cut (issue 8)');

# --- media-only ------------------------------------------------------------------
$r = hook('whatsapp', wa_payload({ from => '33611', id => 'wamid.IMG',
    type => 'image', image => { id => 'MEDIA77', mime_type => 'image/jpeg',
                                caption => 'the box' } }));
is($r->{json}{stored}, 1, 'a media message is stored');
my ($img) = grep { $_->{media} } @{ $t->conv($conv)->{thread} };
is($img->{media}{type}, 'image', 'with its type');
is($img->{media}{ref}{id}, 'MEDIA77', 'and the provider reference (no download)');
is($img->{text}, 'the box', 'the caption as text');

# --- statuses: nothing created ----------------------------------------------------
my $status = $SbTest::JSON->encode({ object => 'whatsapp_business_account',
    entry => [ { id => 'WABA1', changes => [ { field => 'messages',
        value => { metadata => { phone_number_id => '1055' },
                   statuses => [ { id => 'wamid.OUT1', status => 'read',
                                   timestamp => '1763780001',
                                   recipient_id => '33611' } ] } } ] } ] });
$r = hook('whatsapp', $status);
is($r->{status}, 200, 'R20: a status notification is acknowledged');
is($r->{json}{statuses}, 1, 'and recognised as a status of our send');
is($r->{json}{status_changes}, 0, 'R22: an id we never sent moves nothing');
is($t->dump_store, $t->{before}, 'R20: it creates nothing');

# --- Messenger and Instagram ------------------------------------------------------
sub messaging {
    my ($object, @ev) = @_;
    return $SbTest::JSON->encode({ object => $object, entry => [
        { id => '90009', time => 1763780000000, messaging => \@ev } ] });
}
$r = hook('messenger', messaging('page',
    { sender => { id => '5005' }, recipient => { id => '90009' },
      timestamp => 1763780000000, message => { mid => 'm_1', text => 'hey' } },
    { sender => { id => '90009' }, recipient => { id => '5005' },
      message => { mid => 'm_2', text => 'our reply', is_echo => JSON::PP::true } },
    { sender => { id => '5005' }, recipient => { id => '90009' },
      delivery => { mids => ['m_2'], watermark => 1763780000001 } }));
is($r->{json}{stored}, 1, 'Messenger: the visitor message is stored');
is($r->{json}{ignored}, 1, 'Messenger: the echo is not');
is($r->{json}{statuses}, 1, 'Messenger: the delivery is a receipt of our send');
$r = hook('messenger', messaging('page',
    { sender => { id => '90009' }, recipient => { id => '5005' },
      message => { mid => 'm_3', text => 'echo', is_echo => JSON::PP::true } }));
is($r->{json}{stored}, 0, 'Messenger: an echo alone creates nothing');
is($t->dump_store, $t->{before}, '... the store is unchanged');
$r = hook('instagram', messaging('instagram',
    { sender => { id => '7001' }, recipient => { id => '90009' },
      message => { mid => 'ig_1', text => 'from instagram' } }));
is($r->{json}{stored}, 1, 'Instagram: stored');
$r = hook('messenger', messaging('page',
    map { { sender => { id => "500$_" }, recipient => { id => '90009' },
            message => { mid => "m_b$_", text => "batch $_" } } } 6 .. 8));
is($r->{json}{stored}, 3, 'Messenger: a batch of three events, three stored');
my %on_poll;
$t->wait_for(sub {
    my $e = $t->events('ann', $cursor, 0.3);
    $cursor = $e->{cursor};
    $on_poll{"$_->{channel}:$_->{visitor}"}++
        for grep { $_->{type} eq 'conversation.assigned' } @{ $e->{events} };
    return keys(%on_poll) >= 5;
}, 5);
ok($on_poll{$_}, "R1: $_ reached the agent's poll")
    for qw(messenger:90009:5005 instagram:90009:7001 messenger:90009:5006
           messenger:90009:5008);
refused(hook('instagram', messaging('page',
    { sender => { id => 'X' }, message => { mid => 'x', text => 'x' } })),
    400, 'unexpected_payload', 'Instagram endpoint with a page payload');

# --- refusals: nothing stored ------------------------------------------------------
my $good = wa_payload(wa_text('33699', 'wamid.BAD', 'should not land'));
refused(hook('whatsapp', $good, sig => undef), 401, 'missing_signature',
        'no signature');
refused(hook('whatsapp', $good, sig => 'sha256=' . ('0' x 64)), 403,
        'bad_signature', 'a wrong signature');
refused(hook('whatsapp', $good, sig => 'sha1=abc'), 403, 'bad_signature',
        'a legacy sha1 header alone');
(my $spaced = $good) =~ s/,/, /g;
refused(hook('whatsapp', $spaced, sig => sign($good)), 403, 'bad_signature',
        'a signature over a re-serialised body');
refused(hook('whatsapp', substr($good, 0, 40), sig => sign($good)), 403,
        'bad_signature', 'a truncated body');
refused(hook('whatsapp', substr($good, 0, 40)), 400, 'malformed_json',
        'a truncated body signed as sent');
refused(hook('whatsapp', 'hello=world'), 400, 'malformed_json', 'not JSON');
refused(hook('whatsapp', '{"object":"page","entry":[]}'), 400,
        'unexpected_payload', 'another product\'s payload');
# --- Facebook Page comments --------------------------------------------------------
sub feed {
    my (@changes) = @_;
    return $SbTest::JSON->encode({ object => 'page', entry => [
        map { { id => '90009', time => 1763780000, changes => [$_] } } @changes ] });
}
sub comment {
    my ($id, $from, $text, %o) = @_;
    return { field => 'feed', value => { item => 'comment', verb => 'add',
        comment_id => $id, post_id => '90009_100', parent_id => '90009_100',
        from => { id => $from, name => 'Léa' }, message => $text,
        created_time => 1763780000, %o } };
}
$r = $t->get('/webhooks/facebook?hub.mode=subscribe&hub.verify_token=vt-42'
             . '&hub.challenge=77', undef);
is($r->{body}, '77', 'Facebook: the handshake');
$r = hook('facebook', feed(comment('100_1', '55', 'Is it in stock?'),
                           comment('100_2', '56', 'And in blue?')));
is($r->{json}{stored}, 2, 'Facebook: a batch of two comments, two stored');
my ($fb) = grep { $_->{visitor} eq '90009:55' }
           @{ $t->get('/admin/conversations', $t->admin)->{json}{conversations} };
ok($fb && $fb->{channel} eq 'facebook', 'Facebook: keyed by Page and commenter');
my $fev = $t->events('ann', $cursor, 2);
ok((grep { ($_->{conversation} // '') eq $fb->{id} } @{ $fev->{events} }),
   'Facebook: the comment reaches the agent\'s poll');
$t->{before} = $t->dump_store;
$r = hook('facebook', feed(comment('100_3', '90009', 'our own answer'),
                           comment('100_1', '55', 'edited', verb => 'edited'),
                           comment('100_1', '55', '', verb => 'remove'),
                           { field => 'feed', value => { item => 'reaction',
                             verb => 'add', from => { id => '55' } } }));
is($r->{json}{ignored}, 4, 'Facebook: the Page\'s own comment, edits, removals '
   . 'and reactions are not visitor messages');
is($t->dump_store, $t->{before}, 'Facebook: and create nothing');
$r = hook('facebook', feed(comment('100_1', '55', 'Is it in stock?')));
is($r->{json}{duplicates}, 1, 'R21: Facebook: a redelivered comment is stored once');
$r = hook('messenger', feed(comment('100_4', '57', 'through the Page URL')));
is($r->{json}{stored}, 1, 'a Page\'s feed also comes through the messenger '
   . 'location (Meta has one callback URL per app)');
my $fbgood = feed(comment('100_5', '58', 'sign me'));
(my $fbspaced = $fbgood) =~ s/,/, /g;
refused(hook('facebook', $fbgood, sig => undef), 401, 'missing_signature',
        'Facebook: no signature');
refused(hook('facebook', $fbgood, sig => 'sha256=' . ('0' x 64)), 403,
        'bad_signature', 'Facebook: a wrong signature');
refused(hook('facebook', $fbspaced, sig => sign($fbgood)), 403, 'bad_signature',
        'Facebook: a signature over a re-serialised body');
refused(hook('facebook', substr($fbgood, 0, 30)), 400, 'malformed_json',
        'Facebook: a truncated body');
refused(hook('facebook', 'a=b'), 400, 'malformed_json', 'Facebook: not JSON');
refused(hook('facebook', feed(comment('100_6', '59', 'x' x 70000))), 413,
        'body_too_large', 'Facebook: a huge body');

for my $ch (qw(messenger instagram)) {
    my $good = messaging($ch eq 'instagram' ? 'instagram' : 'page',
        { sender => { id => '3001' }, recipient => { id => '90009' },
          message => { mid => "m_$ch", text => 'sign me' } });
    (my $spaced = $good) =~ s/,/, /g;
    refused(hook($ch, $good, sig => undef), 401, 'missing_signature',
            "$ch: no signature");
    refused(hook($ch, $good, sig => 'sha256=' . ('f' x 64)), 403,
            'bad_signature', "$ch: a wrong signature");
    refused(hook($ch, $spaced, sig => sign($good)), 403, 'bad_signature',
            "$ch: a signature over a re-serialised body");
    refused(hook($ch, substr($good, 0, 30)), 400, 'malformed_json',
            "$ch: a truncated body");
    refused(hook($ch, 'x' x 70000), 413, 'body_too_large', "$ch: a huge body");
}

my $huge = wa_payload(wa_text('33699', 'wamid.HUGE', 'x' x 70000));
refused(hook('whatsapp', $huge), 413, 'body_too_large', 'a huge body');
is($t->request('PUT', '/webhooks/whatsapp', body => '{}')->{status}, 405,
   'other methods: 405');

$t->stop;
$t->check_log;
done_testing;
