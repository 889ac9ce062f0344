# Issue 19, item 11 (R24): a commit wakes the polls of every worker
# generation. During a reload, the old workers still answering their
# requests commit; during a binary upgrade (USR2) two masters' workers
# serve side by side. Each worker's wake-up socket is a file of the
# store's wake/ directory, so every worker hears every other; before,
# the socket pairs of one generation could not reach the other's, and
# such a poll waited for its timeout.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use SbTest;

my $t = SbTest->new(poll => '10s', presence => '60s')->start;
$t->add_agent('ann', capacity => { chat => 50 });
$t->available('ann');
my $cursor = $t->events('ann', 0, 0.2)->{cursor};

# 1. reload: a visitor's message still being sent to an old worker
my $body = $SbTest::JSON->encode({ text => 'sent across the reload' });
my $slow = $t->slow_post('/visitor/messages', $t->visitor('v1', 'chat'), $body, 5);
sleep 0.3;
my @old = $t->worker_pids;
$t->reload;
sleep 0.5;
ok(scalar(grep { kill 0, $_ } @old), 'an old worker is still there, reading '
   . 'the body it began');
# a poll on a new worker (the old ones listen no more)
my $poll = $t->send_request('GET', "/agent/events?cursor=$cursor",
                            token => $t->agent('ann'));
sleep 0.5;
my $t0 = time;
print $slow substr($body, 5);
my $ev = $t->read_response($poll, 12);
my $took = time - $t0;
is($ev->{status}, 200, 'the poll held by a new worker is answered');
ok(@{ $ev->{json}{events} || [] }, '... with the event');
cmp_ok($took, '<', 1, sprintf('... %.0f ms after the old worker committed '
                              . '(the poll timeout is 10 s)', $took * 1e3));
close $slow;
$cursor = $ev->{json}{cursor};
ok($t->wait_for(sub { !grep { kill 0, $_ } @old }, 10),
   'the old workers leave');
ok(!grep({ -e "$t->{prefix}/store/wake/$_" } @old),
   '... and take their sockets with them');

# 2. a binary upgrade: two masters' workers serve at once
my $master = $t->master_pid;
kill 'USR2', $master;
ok($t->wait_for(sub { -e "$t->{prefix}/logs/nginx.pid.oldbin" }, 5),
   'USR2: a new master starts beside the old one');
sleep 1;
my @workers = grep { kill 0, $_ }
              map { m{/wake/(\d+)$} ? $1 : () }
              glob "$t->{prefix}/store/wake/*";
cmp_ok(scalar @workers, '>=', 4, scalar(@workers) . ' workers of two '
       . 'generations have wake-up sockets');

# polls spread over both generations, each woken by a commit of either
my @polls = map { $t->send_request('GET', "/agent/events?cursor=$cursor",
                                   token => $t->agent('ann')) } 1 .. 8;
sleep 0.5;
$t0 = time;
is($t->say_visitor("u$_", 'chat', "during the upgrade $_")->{status}, 201,
   "a message during the upgrade ($_)") for 1 .. 3;
my @answered = map { $t->read_response($_, 12) } @polls;
$took = time - $t0;
is(scalar(grep { $_->{status} == 200 && @{ $_->{json}{events} || [] } }
           @answered), 8, 'all 8 polls, whichever generation holds them, '
   . 'got the events');
cmp_ok($took, '<', 2, sprintf('... within %.0f ms (the poll timeout is 10 s)',
                              $took * 1e3));

# the old generation goes; the new one serves on
kill 'QUIT', $master;
ok($t->wait_for(sub { !kill 0, $master }, 10), 'the old master quits');
is($t->get('/agent/me', $t->agent('ann'))->{status}, 200,
   'the new generation serves');
$t->stop;
$t->check_log;
done_testing;
