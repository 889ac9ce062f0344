# Issue 20, item 2: a visitor's erasure (GDPR art. 17). DELETE
# /admin/visitors/{channel}/{visitor} ends their open conversation first
# (the agent's slot freed and the next in line routed, the agent told
# "ended, erased"), then removes every conversation of theirs, its
# thread, handlers and tags, their events in every owner's log, outbox
# rows, pending deliveries, their block and the idempotency and dedupe
# rows that name them; it answers the counts and writes an audit line
# (who, when, counts, the visitor only as a SHA-256) that survives it;
# the CRM gets visitor.erased. mdb_dump then holds no byte of them.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(hmac_sha256_hex sha256_hex);
use Time::HiRes qw(time sleep);
use SbTest;
use FakeProvider;

my $crm = FakeProvider->new;
my $provider = FakeProvider->new;
$provider->plan((503) x 50);                  # WhatsApp is down: replies wait
my ($cp, $pp) = ($crm->port, $provider->port);
my $meta = 'meta-app-secret-0123456789';
my $t = SbTest->new(presence => '60s',
    server => "switchboard_event_webhook /_crm; "
            . "location = /webhooks/whatsapp { switchboard_webhook whatsapp; "
            . "switchboard_webhook_secret $meta; } "
            . 'switchboard_deliver whatsapp /_wa; '
            . "location /_wa { internal; proxy_pass http://127.0.0.1:$pp; } "
            . "location /_crm { internal; proxy_pass http://127.0.0.1:$cp/crm; }",
    http => 'switchboard_event_webhook_secret crm-signing-secret-0123456789; '
          . 'switchboard_deliver_backoff 1s; switchboard_deliver_attempts 20;')
  ->start;
$t->add_agent('ann', capacity => { chat => 2, messaging => 5 });
$t->available('ann');
my $me = $t->agent('ann');
my $V = 'erase-me-7f3a';                   # bytes no other row can hold
my $SECRET = 'my card number is 4970';

# v3: blocked; v1: an ended conversation and an open one; v2: open; v4 waits
my $b3 = $t->say_visitor('v3', 'chat', 'spam')->{json}{conversation};
is($t->post("/agent/conversations/$b3/block", $me, {})->{status}, 200,
   'v3 is blocked');
my $a = $t->say_visitor($V, 'chat', $SECRET, headers => {
    'Idempotency-Key' => 'k-1' })->{json}{conversation};
is($t->post("/agent/conversations/$a/messages", $me, { text => "re: $SECRET" },
            headers => { 'Idempotency-Key' => 'ka-1' })->{status}, 201,
   'ann answers A with a key of her own');
is($t->put("/agent/conversations/$a/tags", $me, { tags => ['erasable'] })
     ->{status}, 200, 'A is tagged');
is($t->post("/agent/conversations/$a/end", $me, {})->{status}, 200, 'A ends');
my $b = $t->say_visitor($V, 'chat', 'back again')->{json}{conversation};
my $o2 = $t->say_visitor('v2', 'chat', 'other visitor')->{json}{conversation};
is($t->conv($b)->{agent}, 'ann', 'B is with ann');
my $w4 = $t->say_visitor('v4', 'chat', 'waiting')->{json}{conversation};
is($t->conv($w4)->{state}, 'queued', 'v4 waits: ann is full');

# w: a WhatsApp visitor with a reply waiting for WhatsApp
my $wa = $SbTest::JSON->encode({ object => 'whatsapp_business_account',
    entry => [ { id => 'WABA1', changes => [ { field => 'messages',
        value => { metadata => { phone_number_id => '1055' },
                   messages => [ { from => '33699887766', id => 'wamid.ERASE1',
                       timestamp => '1763780000', type => 'text',
                       text => { body => 'from WhatsApp' } } ] } } ] } ] });
my $sig = { 'X-Hub-Signature-256' => 'sha256=' . hmac_sha256_hex($wa, $meta) };
is($t->request('POST', '/webhooks/whatsapp', body => $wa, headers => $sig)
     ->{status}, 200, 'a WhatsApp visitor writes');
my ($wconv) = map { $_->{id} } grep { $_->{channel} eq 'whatsapp' }
    @{ $t->get('/admin/conversations', $t->admin)->{json}{conversations} };
my $wvisitor = $t->conv($wconv)->{visitor};
is($t->post("/agent/conversations/$wconv/messages", $me, { text => 'hi' })
     ->{status}, 202, 'ann\'s reply waits for WhatsApp (202)');
ok($t->wait_for(sub { (() = $provider->requests) >= 1 }, 5),
   'WhatsApp is tried');

my $ledger = scalar @{ $t->get('/admin/ledger?cursor=0', $t->admin)
                         ->{json}{entries} };
is(scalar @{ $t->get("/admin/visitors/chat/$V/export", $t->admin)
               ->{json}{conversations} }, 2, 'the export has A and B');

# --- bad inputs change nothing ----------------------------------------------
my $before = $t->dump_store;
for my $case ([ '/admin/visitors/chat/nobody', $t->admin, 404, 'unknown_visitor' ],
              [ '/admin/visitors/fax/x', $t->admin, 404, 'unknown_channel' ],
              [ '/admin/visitors/chat/' . ('x' x 256), $t->admin, 400, 'bad_id' ],
              [ '/admin/visitors/chat/a%3Cb', $t->admin, 400, 'bad_id' ],
              [ "/admin/visitors/chat/$V", $me, 403, 'wrong_role' ])
{
    my $r = $t->del($case->[0], $case->[1]);
    is($r->{status}, $case->[2], "DELETE $case->[0]: $case->[2]");
    is($r->{json}{error}{code}, $case->[3], "... $case->[3]");
}
is($t->dump_store, $before, '... and the store is as it was');

# --- the erasure -------------------------------------------------------------
my $r = $t->del("/admin/visitors/chat/$V", $t->admin);
is($r->{status}, 200, 'the erasure: 200');
my $e = $r->{json}{erased};
is($e->{conversations}, 2, '... two conversations');
cmp_ok($e->{messages}, '>=', 6, "... their threads ($e->{messages} entries)");
cmp_ok($e->{events}, '>=', 4, "... their events ($e->{events})");
is($e->{idempotency}, 2, '... the visitor\'s key and ann\'s');
is($e->{blocks}, 0, '... no block');
is($r->{json}{audit}, 1, '... the audit line 1');

is($t->conv($w4)->{agent}, 'ann', 'B\'s slot is freed: v4 goes to ann');
is($t->get("/admin/conversations/$_", $t->admin)->{status}, 404,
   "conversation $_ is gone") for $a, $b;
is($t->conv($o2)->{state}, 'assigned', 'v2\'s conversation is untouched');
my @ann = @{ $t->get('/agent/events?cursor=0', $me, timeout => 1)
               ->{json}{events} };
my @about = grep { ($_->{conversation} // '') =~ /^(\Q$a\E|\Q$b\E)$/ } @ann;
is(scalar @about, 1, 'ann\'s log keeps one event about them');
is($about[0]{type}, 'conversation.ended', '... that B ended');
is($about[0]{reason}, 'erased', '... erased');
is($about[0]{conversation}, $b, '... naming only the conversation');
is(scalar @{ $t->get('/admin/ledger?cursor=0', $t->admin)->{json}{entries} },
   $ledger + 1, 'the ledger keeps its lines (B\'s end added one)');

$r = $t->get("/admin/visitors/chat/$V/export", $t->admin);
is($r->{json}{error}{code}, 'unknown_visitor', 'the export of them is 404');
$r = $t->del("/admin/visitors/chat/$V", $t->admin);
is($r->{status}, 404, 'erased twice: 404');
is($r->{json}{error}{code}, 'unknown_visitor', '... unknown_visitor');

# the WhatsApp visitor, with the reply waiting, and v3's block
my $seen = () = $provider->requests;
$r = $t->del("/admin/visitors/whatsapp/$wvisitor", $t->admin);
is($r->{status}, 200, 'the WhatsApp visitor is erased');
is($r->{json}{erased}{deliveries}, 1, '... with the reply waiting');
is($r->{json}{erased}{idempotency}, 1, '... and the dedupe row of wamid.ERASE1');
sleep 2.5;
is(scalar(() = $provider->requests), $seen,
   '... which is not tried again (the backoff was 1s)');
$r = $t->del('/admin/visitors/chat/v3', $t->admin);
is($r->{json}{erased}{blocks}, 1, 'v3 is erased with its block');
is($t->get('/admin/blocks/chat/v3', $t->admin)->{status}, 404, '... gone');

# --- what is left ------------------------------------------------------------
$r = $t->get('/admin/erasures?cursor=0', $t->admin);
is($r->{status}, 200, 'the audit lines');
my @lines = @{ $r->{json}{erasures} };
is(scalar @lines, 3, '... three');
is($lines[0]{visitor_sha256}, sha256_hex("default/chat:$V"),
   '... the first names the visitor by SHA-256 of tenant/channel:visitor');
is($lines[0]{by}, 'root', '... who erased');
is($lines[0]{channel}, 'chat', '... on which channel');
is_deeply($lines[0]{erased}, $e, '... and what went');
is($r->{json}{cursor}, 3, '... a cursor to go on from');
is(scalar @{ $t->get('/admin/erasures?cursor=3', $t->admin)->{json}{erasures} },
   0, '... past the last: none');

ok($t->wait_for(sub { 3 == grep { ($_->{body} // '') =~ /"visitor\.erased"/ }
                                $crm->requests }, 10),
   'the CRM gets visitor.erased three times');
my ($hook) = map { $SbTest::JSON->decode($_->{body}) }
             grep { ($_->{body} // '') =~ /"visitor\.erased"/ } $crm->requests;
is_deeply($hook->{visitor}, { channel => 'chat', id => $V },
          '... naming whom, to erase its copy');
is($hook->{by}, 'root', '... and who');
ok($t->wait_for(sub { $t->get('/admin/webhooks', $t->admin)->{json}{pending}
                        == 0 }, 10), 'the outbox is empty');

my $dump = $t->dump_store;
for my $bytes ($V, $SECRET, 'back again', '33699887766', 'wamid.ERASE1', 'k-1',
               'ka-1', 'erasable')
{
    my $hex = unpack 'H*', $bytes;
    unlike($dump, qr/$hex/, "mdb_dump holds no \"$bytes\"");
}
like($dump, qr/${\ unpack 'H*', 'other visitor'}/,
     '... while v2\'s message is there');

# a visitor who writes again after the erasure starts afresh
$r = $t->say_visitor($V, 'chat', $SECRET, headers => { 'Idempotency-Key' => 'k-1' });
is($r->{status}, 201, 'the same key after the erasure stores a new message');
isnt($r->{json}{conversation}, $a, '... in a new conversation');

# what the CRM received, for the OpenAPI check of the `event` webhook
if (my $dir = $ENV{SB_API_RECORD}) {
    open my $fh, '>>', "$dir/events-$$.jsonl" or die "$dir: $!";
    print $fh $SbTest::JSON->encode({ test => $0, headers => $_->{headers},
                                      body => unpack('H*', $_->{body}) }), "\n"
      for $crm->requests;
    close $fh;
}

done_testing;
