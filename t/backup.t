# Issue 20, item 5: the backup procedure of the README. `mdb_copy -c` of
# the store while visitors write to it; a fresh nginx opens the copy, and
# every message acknowledged before the copy began is there, once. The
# copy is compact (no free pages) and the live store goes on.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);
use POSIX qw(_exit);
use Time::HiRes qw(time sleep);
use SbTest;

my $t = SbTest->new->start;
$t->add_agent('ann', capacity => { chat => 100 });
$t->available('ann');

# writers: each visitor message acknowledged (201) is one line: the time
# the answer came, the conversation, the text
my $dir = tempdir('sb-backup-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my @writers;
for my $w (1 .. 2) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open my $log, '>', "$dir/acks$w" or _exit(1);
        $log->autoflush(1);
        my $end = time + 4;
        for (my $i = 0; time < $end; $i++) {
            my $text = "w$w message $i";
            my $r = $t->say_visitor("w$w-v" . ($i % 20), 'chat', $text);
            printf $log "%.6f %s %s\n", time, $r->{json}{conversation}, $text
              if $r->{status} == 201;
        }
        close $log;
        _exit(0);
    }
    push @writers, $pid;
}

# the restore's nginx, made now: the copy goes into its prefix
my $t2 = SbTest->new;
sleep 2;
my $began = time;
my $copy = "$t2->{prefix}/restored";
mkdir $copy or die $!;
system('mdb_copy', '-c', "$t->{prefix}/store", $copy) == 0
  or die "mdb_copy failed: $?";
diag(sprintf('mdb_copy -c under load: %.0f ms, %.1f MB store, %.1f MB copy',
             (time - $began) * 1e3, (-s "$t->{prefix}/store/data.mdb") / 1e6,
             (-s "$copy/data.mdb") / 1e6));
waitpid $_, 0 for @writers;

my (@before, $after);
for my $w (1 .. 2) {
    open my $fh, '<', "$dir/acks$w" or die $!;
    while (<$fh>) {
        chomp;
        my ($at, $conv, $text) = split / /, $_, 3;
        if ($at < $began) { push @before, [ $conv, $text ] } else { $after++ }
    }
}
cmp_ok(scalar @before, '>', 100, scalar(@before) . ' messages acknowledged '
       . 'before the copy began');
cmp_ok($after // 0, '>', 0, '... and more while and after it ran: the store '
       . 'was under load');
cmp_ok(-s "$copy/data.mdb", '<=', -s "$t->{prefix}/store/data.mdb",
       'the compact copy is no larger than the store');

# a fresh nginx on the copy
$t2->{store} = "switchboard_store $copy;";
$t2->write_conf;
$t2->start;
is($t2->get('/agent/me', $t2->agent('ann'))->{json}{id}, 'ann',
   'the copy opens in a fresh nginx: the agent is there');
my (%thread, $missing, $doubled);
for my $m (@before) {
    my ($conv, $text) = @$m;
    $thread{$conv} //= [ map { $_->{text} // '' }
                         @{ $t2->conv($conv)->{thread} || [] } ];
    my $n = grep { $_ eq $text } @{ $thread{$conv} };
    $missing++ if $n == 0;
    $doubled++ if $n > 1;
}
is($missing // 0, 0, 'every message acknowledged before the copy is in it');
is($doubled // 0, 0, '... once');
is($t2->say_visitor('new', 'chat', 'after the restore')->{status}, 201,
   'the restored store takes new messages');
$t2->stop;
$t2->check_log;

is($t->say_visitor('live', 'chat', 'still here')->{status}, 201,
   'the live store went on');
$t->stop;
$t->check_log;
done_testing;
