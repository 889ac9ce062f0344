# Deadlines (R16): precise on an idle server, exactly once with two
# workers and 200 due together, and durable across reload, restart and a
# killed worker (fired at once when they fell due while nginx was down).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use SbTest;

my $t = SbTest->new(http => join "\n    ",
    'switchboard_first_reply_timeout 1s;',
    'switchboard_snooze_presets 2s;',
    'switchboard_snooze_max 1h;')->start;

$t->add_agent('ann', name => 'Ann', capacity => { chat => 500 });
$t->add_agent('bob', name => 'Bob', capacity => { chat => 500 });
$t->available('ann');

# --- precision --------------------------------------------------------------
my $c = $t->say_visitor('p1', 'chat', 'precise')->{json}{conversation};
$t->post("/agent/conversations/$c/messages", $t->agent('ann'),
         { text => 'ok' });
my $until = SbTest::rfc3339(time + 1.5);
my $r = $t->post("/agent/conversations/$c/snooze", $t->agent('ann'),
                 { until => $until });
is($r->{status}, 200, 'snoozed until ' . $until);
my $due = SbTest::epoch_of($r->{json}{snoozed_until});
my $cursor = $t->events('ann', 0, 0.2)->{cursor};
my $poll = $t->send_request('GET', "/agent/events?cursor=$cursor",
                            token => $t->agent('ann'));
my $got = $t->read_response($poll, 5);
my $late = time - $due;
is($got->{json}{events}[0]{type}, 'conversation.assigned',
   'the snooze end reaches the held poll');
diag(sprintf 'precision: poll answered %.1f ms after the due time '
              . '(idle server)', 1000 * $late);
cmp_ok($late, '>=', -0.005, 'not before its due time');
cmp_ok($late, '<', 1, 'within one second of its due time');
$t->post("/agent/conversations/$c/end", $t->agent('ann'));

# --- exactly once: 200 first-reply deadlines due together, two workers ----
my @socks = map {
    $t->send_request('POST', '/visitor/messages',
                     token => $t->visitor("x$_", 'chat'),
                     body => { text => "burst $_" })
} 1 .. 200;
my @convs = map { $t->read_response($_, 10)->{json}{conversation} } @socks;
is(scalar(grep { defined } @convs), 200, '200 conversations for ann');
my $ann_c = $t->events('ann', 0, 0.2)->{cursor};
my $bob_c = $t->events('bob', 0, 0.2)->{cursor} // 0;
# ann steps away (keeps them, R5); bob comes: every one moves, once
$t->available('ann', 'all', 0);
$t->available('bob');
my $moved = $t->wait_for(sub {
    my $l = $t->get('/admin/conversations?state=assigned&limit=500', $t->admin)->{json};
    200 == grep { ($_->{agent} // '') eq 'bob' } @{ $l->{conversations} };
}, 6);
ok(defined $moved, 'R13: all 200 moved to bob');
sleep 2.5;    # two more rounds of their (now bob's) deadlines
my $list = $t->get('/admin/conversations?state=assigned&limit=500', $t->admin)->{json};
my %by = map { $_->{id} => $_ } @{ $list->{conversations} };
my ($once, $assigned_to_bob) = (0, 0);
for my $id (@convs) {
    my $v = $t->conv($id);
    my $n = grep { ($_->{event} // '') eq 'reassigned' } @{ $v->{thread} };
    $once++ if $n == 1;
    $assigned_to_bob++ if ($v->{agent} // '') eq 'bob';
}
is($once, 200, 'R16: each of the 200 has exactly one reassigned entry');
is($assigned_to_bob, 200, 'R14a: and stays with bob (no one else '
                          . 'qualifies)');
my @bob_ev;
for (1 .. 10) {
    my $ev = $t->events('bob', $bob_c, 5);   # past the 2s poll timeout
    last unless @{ $ev->{events} };
    push @bob_ev, @{ $ev->{events} };
    $bob_c = $ev->{cursor};
}
is(scalar(grep { $_->{type} eq 'conversation.assigned' } @bob_ev), 200,
   "R16: bob's poll got exactly 200 conversation.assigned");
my @ann_ev;
for (1 .. 10) {
    my $ev = $t->events('ann', $ann_c, 5);
    last unless @{ $ev->{events} };
    push @ann_ev, @{ $ev->{events} };
    $ann_c = $ev->{cursor};
}
is(scalar(grep { $_->{type} eq 'conversation.unassigned'
                 && $_->{reason} eq 'first_reply_timeout' } @ann_ev), 200,
   "R16: ann's poll got exactly 200 conversation.unassigned");
$t->post("/agent/conversations/$_/messages", $t->agent('bob'),
         { text => 'answered' }) for @convs;

# --- durable: reload, stop/start (due while down), kill -9 ----------------
$t->available('ann');
sub snooze_some {
    my ($tag, $in) = @_;
    my @ids;
    # a poll keeps both agents present (R5a) after the pauses above
    $t->events($_, 0, 0.2) for qw(ann bob);
    sleep 0.1;
    for my $i (1 .. 5) {
        my $id = $t->say_visitor("$tag$i", 'chat', 'hi')->{json}{conversation};
        my $h = $t->conv($id)->{agent};
        $t->post("/agent/conversations/$id/messages", $t->agent($h),
                 { text => 'ok' });
        my $r = $t->post("/agent/conversations/$id/snooze", $t->agent($h),
                         { until => SbTest::rfc3339(time + $in) });
        die "snooze: $r->{body}" unless $r->{status} == 200;
        push @ids, [$id, SbTest::epoch_of($r->{json}{snoozed_until})];
    }
    return @ids;
}
sub check_fired {
    my ($label, $ids, $bound) = @_;
    my ($once, $worst) = (0, 0);
    for my $pair (@$ids) {
        my ($id, $due) = @$pair;
        my @woke = grep { ($_->{event} // '') eq 'woke' }
                   @{ $t->conv($id)->{thread} };
        $once++ if @woke == 1;
        next unless @woke;
        my $late = SbTest::epoch_of($woke[0]{at}) - $due;
        $worst = $late if $late > $worst;
    }
    is($once, scalar @$ids, "$label: every deadline fired exactly once");
    diag(sprintf '%s: worst %.0f ms after due', $label, 1000 * $worst);
    cmp_ok($worst, '<', $bound, "$label: within ${bound}s of its due time");
}

my @r = snooze_some('rl', 1.5);
$t->reload;
sleep 2.5;
check_fired('reload', \@r, 1);

my @s = snooze_some('st', 1);
$t->stop;
sleep 2;                               # they fall due while nginx is down
my $started = time;
$t->start;
sleep 1;
check_fired('stop/start', \@s, 2 + 1 + (time - $started));

my @k = snooze_some('kl', 1.5);
kill 'KILL', $t->worker_pids;          # both workers die
$t->wait_workers;
sleep 2.5;
check_fired('kill -9', \@k, 1);

$t->stop;
my @bad = grep { /\[(alert|emerg|crit)\]/ && !/exited on signal 9/ }
          split /\n/, $t->error_log;
ok(!@bad, 'no alert beyond the killed workers') or diag join "\n", @bad;
done_testing;
