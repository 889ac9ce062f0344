# Issue 20, item 3: a store that tells the truth when it fills. New
# content stops at the reserve (507 store_full) while what frees room
# (deletes) and presence still commit; /health answers 503 store_full with
# the fill ratio, /metrics has the ratio, the room and the disk's free
# bytes; the store is emptied without a restart. A reload with a larger
# size= is followed by the old workers still serving (MDB_MAP_RESIZED).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use SbTest;

my $t = SbTest->new(poll => '20s', presence => '60s',
    server => 'location = /health { switchboard_health; } '
            . 'location = /metrics { switchboard_metrics; }');
my $store = "switchboard_store $t->{prefix}/store size=2m reserve=512k;";
$t->{store} = $store;
$t->write_conf;
$t->start;

$t->add_agent('ann', capacity => { chat => 10 });
$t->available('ann');

my $h = $t->get('/health');
is($h->{status}, 200, 'an empty store is healthy');
is($h->{json}{store}{reserve_bytes}, 512 * 1024, '... its reserve is shown');
cmp_ok($h->{json}{store}{fill_ratio}, '<', 0.5, '... and its fill ratio low '
       . "($h->{json}{store}{fill_ratio})");
cmp_ok($h->{json}{store}{disk_free_bytes}, '>', 0, '... and the disk room');

# --- new content until the reserve -----------------------------------------
my $text = 'x' x 3900;
my ($status, $n, $last) = (200, 0);
while ($status =~ /^20/ && $n < 2000) {
    $last = $t->put("/admin/canned/c$n", $t->admin,
                    { title => "canned $n", text => $text });
    $status = $last->{status};
    $n++;
}
is($status, 507, "new content stops with 507 (after $n canned responses)");
is($last->{json}{error}{code}, 'store_full', '... code store_full');
my $stored = $n - 1;

$h = $t->get('/health');
is($h->{status}, 503, 'a full store: /health answers 503');
is($h->{json}{reason}, 'store_full', '... reason store_full');
cmp_ok($h->{json}{store}{room_bytes}, '<', 512 * 1024,
       "... less room than the reserve ($h->{json}{store}{room_bytes})");
cmp_ok($h->{json}{store}{fill_ratio}, '>', 0.7, '... and the fill ratio says '
       . "so ($h->{json}{store}{fill_ratio})");
like($t->error_log, qr/unhealthy: store_full/, '... and the error log');

my $m = $t->get('/metrics')->{body};
like($m, qr/^switchboard_store_fill_ratio 0\.[7-9]\d*$/m,
     'metrics: the fill ratio');
like($m, qr/^switchboard_store_disk_free_bytes [1-9]\d*$/m,
     'metrics: the disk\'s free bytes');
like($m, qr/^switchboard_store_reserve_bytes 524288$/m, 'metrics: the reserve');
like($m, qr/^switchboard_store_room_bytes \d+$/m, 'metrics: the room');
like($m, qr/^switchboard_commands_total\{command="put_canned",result="store_full"\} [1-9]/m,
     '... and the refusals are counted');

# a refused write changed nothing
my $before = $t->dump_store;
is($t->say_visitor('late', 'chat', 'hello')->{status}, 507,
   'a visitor\'s message is 507 too');
is($t->dump_store, $before, '... and changed nothing');

# presence and deletes commit inside the reserve
is($t->available('ann', 'all', 0)->{status}, 200,
   'an agent can still go away (presence commits in the reserve)');
is($t->available('ann')->{status}, 200, '... and come back');
is($t->me('ann')->{classes}{chat}{status}, 'green', '... green');
my $deleted = 0;
for my $i (0 .. $stored - 1) {
    $deleted++ if $t->del("/admin/canned/c$i", $t->admin)->{status} == 204;
}
is($deleted, $stored, "all $stored canned responses deleted on the full store");

$h = $t->get('/health');
is($h->{status}, 200, 'emptied without a restart: /health is 200 again');
cmp_ok($h->{json}{store}{fill_ratio}, '<', 0.5,
       "... fill ratio $h->{json}{store}{fill_ratio}");
is($t->put('/admin/canned/again', $t->admin,
           { title => 'again', text => $text })->{status}, 201,
   '... and new content is taken');
my $r = $t->say_visitor('v1', 'chat', 'hello after');
is($r->{status}, 201, '... a visitor\'s message too');

# --- a reload with a larger size= while an old worker still serves -------
# A visitor's message half sent keeps an old worker; the new workers then
# write past the old map, and the old worker's commit must follow it.
my $body = $SbTest::JSON->encode({ text => 'sent across the reload' });
my $slow = $t->slow_post('/visitor/messages', $t->visitor('v2', 'chat'), $body, 5);
sleep 0.3;
my @old = $t->worker_pids;
$t->{store} = "switchboard_store $t->{prefix}/store size=16m;";
$t->write_conf;
$t->reload;
sleep 0.5;
ok(scalar(grep { kill 0, $_ } @old), 'an old worker is still reading the '
   . 'body it began');
my $ok = 0;
for my $i (1 .. 900) {
    $ok++ if $t->put("/admin/canned/big$i", $t->admin,
                     { title => "big $i", text => $text })->{status} == 201;
}
is($ok, 900, 'the new workers, with size=16m, store 3.5 MB');
cmp_ok($t->get('/health')->{json}{store}{used_bytes}, '>', 2 * 1024 * 1024,
       '... past the old 2m map');
print $slow substr($body, 5);
my $late = SbTest::parse_response(do { local $/; <$slow> });
is($late->{status}, 201, 'the old worker stores the message (it follows the '
   . 'new map)');
ok($late->{json}{conversation}, '... and names its conversation');
unlike($t->error_log, qr/MDB_MAP_RESIZED/, 'no command or read failed on '
       . 'the resized map');
like($t->error_log, qr/map was resized by another generation/,
     '... the old worker said it followed');
is($t->conv($late->{json}{conversation})->{thread}[0]{text},
   'sent across the reload', '... and the message is there');

$t->stop;
$t->check_log;
done_testing;
