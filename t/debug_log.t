# Issue 19, item 3: with `error_log … debug` (Debian's nginx is built
# --with-debug; operators switch it on to troubleshoot) every worker
# starts, serves and stays: each event of the module has a log and a
# data pointer that nginx's debug lines can read. `make test-asan` runs
# the whole suite at this level.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SbTest;

my $t = SbTest->new(log_level => 'debug', workers => 2)->start;
my @workers = $t->worker_pids;
is(scalar @workers, 2, 'two workers up with error_log at debug');
$t->add_agent('ann');
$t->available('ann', 'chat');
my $res = $t->say_visitor('v1', 'chat', 'hello');
is($res->{status}, 201, 'a visitor message is stored');
my $ev = $t->events('ann', 0, 2);
ok(scalar @{ $ev->{events} }, 'the agent hears of it through a long-poll');
my $c = $res->{json}{conversation};
is($t->post("/agent/conversations/$c/snooze", $t->agent('ann'),
            { for => '3h' })->{status}, 200, 'a snooze arms a deadline');
select undef, undef, undef, 0.5;      # the exit watch and timers ran
is_deeply([sort $t->worker_pids], [sort @workers],
          'the same workers still run: none was respawned');
unlike($t->error_log, qr/exited on signal/, 'no worker died');
like($t->error_log, qr/\[debug\]/, 'the log is at debug');
$t->reload;
is($t->get('/admin/agents/ann', $t->admin)->{status}, 200,
   'after a reload at debug the new workers serve');
unlike($t->error_log, qr/exited on signal/, '... and none of them died');
$t->stop;
$t->check_log;
done_testing;
