# Issue 19, item 6 (R18): threads are read a page at a time. A read gives
# the last entries (50 unless ?limit= says, up to 500) and thread_before,
# the cursor to the page before (?before=); an action answers with its
# last few entries only. A conversation of 20,000 messages answers every
# read and action in a few kilobytes.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use Time::HiRes qw(time);
use SbTest;

my $secret = 'meta-app-secret-threads';
my $t = SbTest->new(server => "location = /webhooks/whatsapp { "
    . "switchboard_webhook whatsapp; switchboard_webhook_secret $secret; "
    . "client_max_body_size 4m; }", presence => '60s')->start;
$t->add_agent('ann');
$t->available('ann');

# a WhatsApp delivery of many messages from one visitor
my $n = 0;
sub batch {
    my ($count) = @_;
    my @m = map { { from => '33611', id => 'wamid.' . ++$n, timestamp => '1',
                    type => 'text', text => { body => "message $n" } } }
            1 .. $count;
    my $body = $SbTest::JSON->encode({ object => 'whatsapp_business_account',
        entry => [ { id => 'W', changes => [ { field => 'messages', value => {
            metadata => { phone_number_id => '1055' }, messages => \@m } } ] } ] });
    my $res = $t->request('POST', '/webhooks/whatsapp', body => $body,
        headers => { 'X-Hub-Signature-256' => 'sha256='
                                               . hmac_sha256_hex($body, $secret) });
    die "batch: $res->{status} $res->{body}" unless $res->{status} == 200;
    return $res;
}

batch(120);
my ($c) = map { $_->{id} }
          @{ $t->get('/admin/conversations', $t->admin)->{json}{conversations} };
my $ann = $t->agent('ann');
my $page = $t->get("/agent/conversations/$c", $ann)->{json};
my $total = $page->{thread_length};
ok($total >= 121, "the thread holds $total entries (120 messages, the "
   . 'assignment)');
is(scalar @{ $page->{thread} }, 50, 'a read gives the last 50');
is($page->{thread}[-1]{text}, 'message 120', '... ending with the newest');
is($page->{thread_before}, $page->{thread}[0]{seq},
   'thread_before is the oldest seq given');

# walk back to the start: every entry once, in order
my @seqs = map { $_->{seq} } @{ $page->{thread} };
my $pages = 1;
while (defined $page->{thread_before}) {
    $page = $t->get("/agent/conversations/$c?before=$page->{thread_before}",
                    $ann)->{json};
    unshift @seqs, map { $_->{seq} } @{ $page->{thread} };
    $pages++;
}
is_deeply(\@seqs, [1 .. $total], "$pages pages, every entry once, in order");
is($pages, int(($total + 49) / 50), '... of 50 each');
is(scalar @{ $t->get("/agent/conversations/$c?limit=500", $ann)->{json}{thread} },
   $total, '?limit=500 gives up to 500');
my $admin = $t->get("/admin/conversations/$c?limit=3&before=10", $t->admin)->{json};
is_deeply([map { $_->{seq} } @{ $admin->{thread} }], [7, 8, 9],
          "the admin's read pages the same way");
is($admin->{thread_before}, 7, '... with its cursor');

$t->{track} = 1;
for my $bad (['limit=0', 'bad_limit'], ['limit=501', 'bad_limit'],
             ['limit=x', 'bad_limit'], ['before=0', 'bad_cursor'],
             ['before=-3', 'bad_cursor'], ['before=abc', 'bad_cursor']) {
    my $res = $t->get("/agent/conversations/$c?$bad->[0]", $ann);
    is($res->{status}, 400, "?$bad->[0]: 400");
    is($res->{json}{error}{code}, $bad->[1], "... $bad->[1]");
    is($t->dump_store, $t->{before}, '... nothing changed');
}
$t->{track} = 0;

# an action answers with its last few entries
my $res = $t->put("/agent/conversations/$c/tags", $ann, { tags => ['vip'] });
is($res->{status}, 200, 'tags');
ok(@{ $res->{json}{thread} } <= 5, 'an action answers its last entries '
   . 'only (' . scalar(@{ $res->{json}{thread} }) . ')');
ok(defined $res->{json}{thread_before}, '... with the cursor to the rest');

# 20,000 messages: reads and actions stay small and quick
batch(1000) for 1 .. 20;
my $t0 = time;
$res = $t->get("/agent/conversations/$c", $ann);
my $took = time - $t0;
ok($res->{json}{thread_length} > 20000, 'a conversation of '
   . "$res->{json}{thread_length} entries");
cmp_ok(length $res->{body}, '<', 20000, 'its read answers '
       . length($res->{body}) . ' bytes (the whole thread was ~6 MB)');
cmp_ok($took, '<', 0.2, sprintf('... in %.1f ms', $took * 1e3));
$t0 = time;
$res = $t->post("/agent/conversations/$c/snooze", $ann, { for => '3h' });
$took = time - $t0;
is($res->{status}, 200, 'a snooze of it');
cmp_ok(length $res->{body}, '<', 5000, '... answers '
       . length($res->{body}) . ' bytes');
cmp_ok($took, '<', 0.2, sprintf('... in %.1f ms', $took * 1e3));
$t->stop;
$t->check_log;
done_testing;
