# The store: workers that are not root can use it when the master is
# root; a full map is a 507 with a log line, never a crash, and changes
# nothing (R26).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SbTest;

my $t = SbTest->new;
$t->{store} = "switchboard_store $t->{prefix}/store size=1m;";
$t->write_conf;
$t->start;

SKIP: {
    skip 'not root: workers run as this user', 2 unless $> == 0;
    my ($w) = $t->worker_pids;
    open my $fh, '<', "/proc/$w/status" or die;
    my ($uid) = map { /^Uid:\s+(\d+)/ ? $1 : () } <$fh>;
    isnt($uid, 0, 'workers run as an unprivileged user');
    my $owner = (stat "$t->{prefix}/store/data.mdb")[4];
    is($owner, $uid, 'the store files belong to the worker user');
}

$t->add_agent('ann');
my ($status, $n) = (201, 0);
my $text = 'x' x 4000;
while ($status == 201 && $n < 2000) {
    $status = $t->say_visitor("v$n", 'chat', $text)->{status};
    $n++;
}
is($status, 507, "a full store answers 507 (after $n messages)");
my $before = $t->dump_store;
my $r = $t->say_visitor('late', 'chat', $text);
is($r->{status}, 507, 'again 507');
is($r->{json}{error}{code}, 'store_full', 'with code store_full');
is($t->dump_store, $before, 'and nothing changed');
like($t->error_log, qr/store_full/, 'the error log says so');
is($t->get('/admin/agents/ann', $t->admin)->{status}, 200,
   'reads still work');
my @w = $t->worker_pids;
is(scalar @w, 2, 'both workers are up');
unlike($t->error_log, qr/exited on signal/, 'no worker crashed');

$t->stop;
$t->check_log;
done_testing;
