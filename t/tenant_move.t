# Issue 19, item 9 (issue 12's move, at size): a tenant of more than 50 MB
# moved with sb-tenant between two nodes' stores. The tool opens a store
# with the map size its node wrote with (it opened with 1 MiB before,
# which LMDB clamps to the used size: a store could not grow and a real
# tenant could not be imported); the export file is its owner's only;
# import decodes every row and refuses one no Switchboard writes; drop
# leaves a tombstone, so a late request to the old node gets 421.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(hmac_sha256_hex sha256);
use SbTest;

my $tool = "$SbTest::ROOT/build/sb-tenant";
sub tool {
    my $cmd = join ' ', map { "'$_'" } @_;
    my $out = `env -u LD_PRELOAD '$tool' $cmd 2>&1`;
    return ($? >> 8, $out);
}
my $secret = 'meta-app-secret-big-tenant';
my $server = "location /operator/ { switchboard_admin_api; "
           . "switchboard_operator on; }\n"
           . "location = /webhooks/whatsapp { switchboard_webhook whatsapp; "
           . "switchboard_webhook_secret $secret; client_max_body_size 4m; }";
my $src = SbTest->new(server => $server, presence => '60s')->start;
my $dst = SbTest->new(server => $server, presence => '60s');
$dst->{secret} = $src->{secret};
$dst->write_file('jwt.secret', "$src->{secret}\n");
$dst->start;
$src->add_agent('ann');

# 50 MB of one visitor's WhatsApp messages, 16 KB each, 100 a delivery
my $text = 'x' x 16000;
my $n = 0;
for my $batch (1 .. 33) {
    # written by hand: JSON::PP takes seconds over 1.6 MB
    my $m = join ',', map { ++$n; qq({"from":"33611","id":"wamid.big.$n",)
                              . qq("timestamp":"1","type":"text",)
                              . qq("text":{"body":"$n $text"}}) } 1 .. 100;
    my $body = '{"object":"whatsapp_business_account","entry":[{"id":"W",'
             . '"changes":[{"field":"messages","value":{"metadata":'
             . qq({"phone_number_id":"1055"},"messages":[$m]}}]}]});
    my $r = $src->request('POST', '/webhooks/whatsapp', body => $body,
        headers => { 'X-Hub-Signature-256' => 'sha256='
                                               . hmac_sha256_hex($body, $secret) });
    die "batch $batch: $r->{status} $r->{body}" unless $r->{status} == 200;
}
my ($c) = map { $_->{id} }
          @{ $src->get('/admin/conversations', $src->admin)->{json}{conversations} };
my $length = $src->get("/admin/conversations/$c?limit=1", $src->admin)
                 ->{json}{thread_length};
is($length, 3300, "the tenant's conversation holds $n messages");

# pause, export
is($src->post('/operator/pause', $src->admin, {})->{status}, 200, 'paused');
my $file = "$src->{prefix}/default.sbt";
my ($ec, $eo) = tool('export', "$src->{prefix}/store", 'default', $file);
is($ec, 0, 'exported') or diag $eo;
cmp_ok(-s $file, '>', 50e6, sprintf('the export is %.1f MB', (-s $file) / 1e6));
is((stat $file)[2] & 0777, 0600, 'the file is readable by its owner only');

# import into the other node's store, which is far smaller than the tenant
cmp_ok(-s "$dst->{prefix}/store/data.mdb", '<', 5e6,
       'the target store is small before');
my ($ic, $io) = tool('import', "$dst->{prefix}/store", 'default', $file);
is($ic, 0, 'imported into a store that must grow by 50 MB') or diag $io;
ok($dst->reload_settled, 'the target reloaded');
my $moved = $dst->get("/admin/conversations/$c?limit=500&before=200",
                      $dst->admin)->{json};
is($moved->{thread_length}, $length, 'the target serves the whole thread');
is(scalar(grep { length($_->{text} // '') > 16000 } @{ $moved->{thread} }),
   199, '... the messages whole (its first 199 read)');

# drop from the source: a tombstone answers what still comes there
my ($dc, $do) = tool('drop', "$src->{prefix}/store", 'default');
is($dc, 0, 'dropped from the source') or diag $do;
my $late = $src->say_visitor('v9', 'chat', 'late');
is($late->{status}, 421, 'a late request to the old node: 421');
is($late->{json}{error}{code}, 'tenant_moved', '... tenant_moved');
is($late->{headers}{'retry-after'}, 10, '... with Retry-After');

# a file whose every row is in place but one does not decode
sub u32 { pack 'V', $_[0] }
my $bad = "SBTENANT\x01" . u32(5) . 'other'
        . chr(1) . u32(14) . "other\0" . pack('Q>', 1) . u32(7) . 'garbage'
        . "\xff" . pack('Q<', 1);
$dst->write_file('bad.sbt', $bad . sha256($bad));
($ic, $io) = tool('import', "$dst->{prefix}/store", 'other',
                  "$dst->{prefix}/bad.sbt");
is($ic, 1, 'a conversation row that does not decode is refused');
like($io, qr/nothing imported: a row no Switchboard writes/, '... and says so');
($ic, $io) = tool('export', "$dst->{prefix}/store", 'other',
                  "$dst->{prefix}/x.sbt");
like($io, qr/no row of tenant "other"/, '... nothing of it imported');

# the tenant moves back: the tombstone gives way to the import
is($dst->post('/operator/pause', $dst->admin, {})->{status}, 200,
   'paused on the target');
($ec, $eo) = tool('export', "$dst->{prefix}/store", 'default', $file);
is($ec, 0, 'exported again') or diag $eo;
($ic, $io) = tool('import', "$src->{prefix}/store", 'default', $file);
is($ic, 0, 'imported back over its tombstone') or diag $io;
ok($src->reload_settled, 'the source reloaded');
is($src->get("/admin/conversations/$c?limit=1", $src->admin)->{status}, 200,
   'served there again');
$src->stop;
$dst->stop;
$src->check_log;
$dst->check_log;
done_testing;
