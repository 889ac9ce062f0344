# The store: workers that are not root can use it when the master is
# root; a full map is a 507 with a log line, never a crash, and changes
# nothing (R26); a deadline due on a full store backs off quietly and
# does not hold up a quit (issue 8, item 7).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX qw(strftime);
use Time::HiRes qw(time sleep);
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

$t->add_agent('ann', capacity => { chat => 1000 });
$t->available('ann');

# conversations snoozed until a few seconds from now: their deadlines
# fall due together once the store is full (one FIRE wakes them all, more
# than a full store has room for)
my $due = int(time) + 6;
my @snoozed;
for my $i (1 .. 40) {
    my $c = $t->say_visitor("snoozer$i", 'chat', 'hello')->{json}{conversation};
    $t->post("/agent/conversations/$c/messages", $t->agent('ann'),
             { text => 'one moment' });
    push @snoozed, $c if $t->post("/agent/conversations/$c/snooze",
        $t->agent('ann'),
        { until => strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $due) })
        ->{status} == 200;
}
is(scalar @snoozed, 40, '40 conversations snoozed for a few seconds');
my $c = $snoozed[0];

my ($status, $n) = (201, 0);
my $text = 'x' x 4000;
while ($status == 201 && $n < 2000) {
    $status = $t->say_visitor("v$n", 'chat', $text)->{status};
    $n++;
}
is($status, 507, "a full store answers 507 (after $n messages)");
# smaller and smaller messages, until not even a short one fits
for my $size (1000, 200, 20) {
    for (my $s = 201; $s == 201; ) {
        $s = $t->say_visitor("w$size-" . $n++, 'chat', 'y' x $size)->{status};
    }
}
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

# --- item 7: the deadline falls due on the full store -------------------------
sleep 0.1 while time < $due + 2.5;
sub cpu_ticks {
    my $sum = 0;
    for my $pid (@w) {
        open my $fh, '<', "/proc/$pid/stat" or next;
        my @f = split ' ', (<$fh> =~ s/^.*\) //r);
        $sum += $f[11] + $f[12];        # utime + stime
    }
    return $sum;
}
my $ticks = cpu_ticks();
sleep 3;
my $used = (cpu_ticks() - $ticks) / POSIX::sysconf(POSIX::_SC_CLK_TCK());
my @fails = $t->error_log =~ /deadlines cannot fire: the store is full/g;
cmp_ok(scalar @fails, '>=', 1, 'the FIRE on a full store is logged');
cmp_ok(scalar @fails, '<=', 4, '... a few times, not in a loop ('
       . scalar(@fails) . ' lines)');
cmp_ok($used, '<', 0.3, sprintf('the idle workers stay quiet while it '
       . 'backs off (%.2f s of CPU in 3 s)', $used));
is($t->conv($c)->{state}, 'snoozed', 'the conversation waits for room');

my $t0 = time;
$t->stop;
cmp_ok(time - $t0, '<', 5, sprintf('quit completes (%.1f s)', time - $t0));
$t->check_log;
done_testing;
