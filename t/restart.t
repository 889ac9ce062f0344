# Durability (R16 for state, R19, R24): restart, reload and a killed
# worker lose no conversation, queue entry, cursor or credit.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use SbTest;

my $t = SbTest->new->start;
$t->add_agent('ann', capacity => { chat => 1 });
$t->available('ann');

my $c1 = $t->say_visitor('v1', 'chat', 'first')->{json}{conversation};
my $c2 = $t->say_visitor('v2', 'chat', 'second')->{json}{conversation};
is($t->post("/agent/conversations/$c1/messages", $t->agent('ann'),
            { text => 'answer' })->{status}, 201, 'ann answers c1');
is($t->post("/agent/conversations/$c1/end", $t->agent('ann'))->{status}, 200,
   'ann ends c1; c2 comes to her');
my $c3 = $t->say_visitor('v3', 'chat', 'third')->{json}{conversation};
my $events = $t->events('ann', 0, 1);
my $cursor = $events->{cursor};
my $before = $t->get('/admin/conversations', $t->admin)->{json};

$t->stop;
ok(!$t->worker_pids, 'nginx is down');
$t->start;

my $after = $t->get('/admin/conversations', $t->admin)->{json};
is_deeply([ map { [$_->{id}, $_->{state}, $_->{agent}] }
              @{ $after->{conversations} } ],
          [ map { [$_->{id}, $_->{state}, $_->{agent}] }
              @{ $before->{conversations} } ],
          'every conversation, its state and holder survive a restart');
my %state = map { $_->{id} => $_->{state} } @{ $after->{conversations} };
is($state{$c3}, 'queued', 'the queue entry survived');
is_deeply($t->events('ann', 0, 1), $events,
          'the event log and its cursor survived');
my $ledger = $t->get('/admin/ledger', $t->admin)->{json};
is($ledger->{entries}[0]{conversation}, $c1, 'R19: the ledger survived');
is($ledger->{entries}[0]{credited_agent}, 'ann', 'R19: with its credit');

is($t->post("/agent/conversations/$c2/end", $t->agent('ann'))->{status}, 200,
   'ann ends c2 after the restart');
my $next = $t->events('ann', $cursor, 2);
ok((grep { $_->{type} eq 'conversation.assigned'
           && $_->{conversation} eq $c3 } @{ $next->{events} }),
   'the queued conversation is assigned from the surviving queue');
$cursor = $next->{cursor};

# reload: a held poll is answered at once so the old worker can go
my $poll = $t->send_request('GET', "/agent/events?cursor=$cursor",
                            token => $t->agent('ann'));
sleep 0.2;
my $t0 = time;
my @new = $t->reload;
my $res = $t->read_response($poll, 5);
is($res->{status}, 200, 'reload: the held poll is answered');
is($res->{json}{cursor}, $cursor, 'reload: with the same cursor');
cmp_ok(time - $t0, '<', 1.5, 'reload: promptly');
is($t->get("/agent/conversations/$c3", $t->agent('ann'))->{json}{state},
   'assigned', 'new workers read the same store');

# a killed worker: the master forks another; the store is intact
my @w = $t->worker_pids;
kill 'KILL', $w[0];
my @again = $t->wait_workers([$w[0]]);
ok(@again >= 2, 'a new worker replaced the killed one');
for (1 .. 4) {
    my $r = $t->say_visitor("k$_", 'chat', 'after kill');
    is($r->{status}, 201, "write $_ after a killed worker");
}
is($t->get("/admin/conversations/$c3", $t->admin)->{json}{agent}, 'ann',
   'state intact after kill -9');

$t->stop;
my @bad = grep { /\[(alert|emerg|crit)\]/ && !/worker process \d+ exited on signal 9/ }
          split /\n/, $t->error_log;
ok(!@bad, 'no alert beyond the kill itself') or diag join "\n", @bad;
done_testing;
