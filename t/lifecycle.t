# Conversation lifecycle (R7, R8, R13, R14, R14a, R15, R17, R18): snooze,
# release, reassignment and auto-close, with their thread entries and the
# events each agent's poll receives. Short durations in the config.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use POSIX qw(strftime);
use SbTest;

my $t = SbTest->new(http => join "\n    ",
    'switchboard_first_reply_timeout 1s;',
    'switchboard_reply_timeout 2s;',
    'switchboard_snooze_presets 2s 1d;',
    'switchboard_snooze_max 1h;',
    'switchboard_auto_close mobile 3s;')->start;

$t->add_agent('ann', name => 'Ann', capacity => { chat => 5 });
$t->add_agent('bob', name => 'Bob', capacity => { chat => 5 });
my %cur = (ann => 0, bob => 0);
sub drain_events {
    my ($who, $wait) = @_;
    my $ev = $t->events($who, $cur{$who}, $wait // 0.3);
    $cur{$who} = $ev->{cursor};
    return @{ $ev->{events} };
}
sub rfc3339 { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(shift)) }
sub state { $t->conv(shift)->{state} }
sub holder { $t->conv(shift)->{agent} // '-' }
sub reply {
    my ($who, $c, $text) = @_;
    return $t->post("/agent/conversations/$c/messages", $t->agent($who),
                    { text => $text // 'noted' });
}
sub act {
    my ($who, $c, $what, $body) = @_;
    return $t->post("/agent/conversations/$c/$what", $t->agent($who), $body);
}

$t->available('ann');

# --- R7 snooze by preset, woken by its end --------------------------------
my $c1 = $t->say_visitor('v1', 'chat', 'hello')->{json}{conversation};
is(holder($c1), 'ann', 'ann holds c1');
reply('ann', $c1);
drain_events('ann');
my $r = act('ann', $c1, 'snooze', { for => '3h' });
is($r->{status}, 422, 'a snooze for a preset not configured: 422');
like($r->{json}{error}{message} // '', qr/the presets are "2s", "1d"/,
     '... naming the presets there are');
$r = act('ann', $c1, 'snooze', { for => '2s' });
is($r->{status}, 200, 'R7: snooze for the 2s preset');
is($r->{json}{state}, 'snoozed', 'state snoozed');
ok($r->{json}{snoozed_until}, 'snoozed_until is shown');
my $due = SbTest::epoch_of($r->{json}{snoozed_until});
my ($snz) = grep { ($_->{event} // '') eq 'snoozed' } @{ $r->{json}{thread} };
like($snz->{text}, qr/^Ann snoozed this conversation until \d{4}-/,
     'R17: "Ann snoozed this conversation until <time>"');
is($t->me('ann')->{classes}{chat}{used}, 0, 'R7: the slot frees at once');
my @ev = drain_events('ann');
is_deeply([ map { "$_->{type}/" . ($_->{reason} // '') } @ev ],
          ['conversation.unassigned/snoozed'],
          "ann's poll hears conversation.unassigned (snoozed)");

# the snoozer is busy elsewhere: the first available agent takes it
$t->available('ann', 'all', 0);
$t->available('bob');
drain_events('bob');
my $poll = $t->send_request('GET', "/agent/events?cursor=$cur{bob}",
                            token => $t->agent('bob'));
my $got = $t->read_response($poll, 5);
my $lag = time - $due;
is($got->{json}{events}[0]{type}, 'conversation.assigned',
   "R7: the snooze's end pushes it to bob's open poll");
is($got->{json}{events}[0]{conversation}, $c1, '... c1');
$cur{bob} = $got->{json}{cursor};
diag(sprintf 'snooze end to poll answer: %+.0f ms after due', 1000 * $lag);
cmp_ok(abs($lag), '<', 1, 'R16: within a second of its due time');
is_deeply([ grep { /woke|snoozed/ } $t->thread_events($c1) ],
          [qw(snoozed woke)], 'R17: woke entry after the snooze');
like((grep { ($_->{event} // '') eq 'woke' } @{ $t->conv($c1)->{thread} })[0]
       {text}, qr/snooze ended/, 'R17: the thread says why it woke');
is($t->conv($c1)->{snoozed_until}, undef, 'snoozed_until cleared');

# --- R7 snooze until a date, woken by the visitor --------------------------
reply('bob', $c1);
$r = act('bob', $c1, 'snooze', { until => rfc3339(time + 1800) });
is($r->{status}, 200, 'R7: snooze until a date-time');
is(state($c1), 'snoozed', 'snoozed');
$t->say_visitor('v1', 'chat', 'actually, one more question');
is(state($c1), 'assigned', 'R7: a visitor message wakes it at once');
like((grep { ($_->{event} // '') eq 'woke' } @{ $t->conv($c1)->{thread} })[-1]
       {text}, qr/visitor wrote/, 'R17: woke because the visitor wrote');
reply(holder($c1), $c1, 'sure');

# --- R8 release -----------------------------------------------------------
$t->available('ann');
my $c2 = $t->say_visitor('v2', 'chat', 'release me')->{json}{conversation};
my $h2 = holder($c2);
my $other = $h2 eq 'ann' ? 'bob' : 'ann';
drain_events($_) for qw(ann bob);
$r = act($h2, $c2, 'release');
is($r->{status}, 200, 'R8: release');
is($r->{json}{agent}, $other,
   'R8: the visitor spoke last: straight back, to another agent');
like((grep { ($_->{event} // '') eq 'released' } @{ $r->{json}{thread} })[0]
       {text}, qr/released this conversation/, 'R17: released entry');
is_deeply([ map { "$_->{type}/" . ($_->{reason} // '') } drain_events($h2) ],
          ['conversation.unassigned/released'],
          'the releasing agent hears conversation.unassigned (released)');
ok((grep { $_->{type} eq 'conversation.assigned' } drain_events($other)),
   'the other agent hears conversation.assigned');

reply($other, $c2, 'done here?');
$r = act($other, $c2, 'release');
is($r->{json}{state}, 'released', 'R8: agent spoke last: it waits');
is($r->{json}{agent}, undef, 'held by nobody');
$t->say_visitor('v2', 'chat', 'not quite');
isnt(state($c2), 'released', "R8: the visitor's next message requeues it");
ok(holder($c2) ne '-', 'and it is routed at once');
reply(holder($c2), $c2, 'ok');

# --- R13 first reply, R14a --------------------------------------------------
$t->available('bob', 'all', 0);
my $c3 = $t->say_visitor('v3', 'chat', 'anyone?')->{json}{conversation};
is(holder($c3), 'ann', 'ann gets c3');
drain_events('ann');
sleep 1.6;
is(holder($c3), 'ann', 'R14a: nobody else qualifies: it stays');
ok(!(grep { $_ eq 'reassigned' } $t->thread_events($c3)),
   'R14a: no thread entry while it stays');
$t->available('bob');
my $took = $t->wait_for(sub { holder($c3) eq 'bob' }, 3);
ok(defined $took, 'R13/R14a: the check repeats and moves it when bob can '
                  . 'take it');
my @re = grep { ($_->{event} // '') eq 'reassigned' }
         @{ $t->conv($c3)->{thread} };
is(scalar @re, 1, 'R17: one reassigned entry');
like($re[0]{text}, qr/^Reassigned from Ann to Bob: no first reply within 1s/,
     'R17: with the reason');
ok((grep { $_->{type} eq 'conversation.unassigned'
           && $_->{reason} eq 'first_reply_timeout' } drain_events('ann')),
   "R13: ann's poll hears conversation.unassigned (first_reply_timeout)");
is_deeply([ map { $_->{agent} } @{ $t->conv($c3)->{handlers} } ],
          [qw(ann bob)], 'R18: handlers in order');
ok(defined $t->conv($c3)->{handlers}[0]{to}, "R18: ann's turn has an end");

# --- R14 later reply ----------------------------------------------------------
reply('bob', $c3, 'hi, bob here');
$t->available('ann', 'all', 1);
$t->say_visitor('v3', 'chat', 'and another thing');
sleep 1.2;
is(holder($c3), 'bob', 'R14: not yet (2s)');
ok(defined $t->wait_for(sub { holder($c3) eq 'ann' }, 3),
   'R14: no reply within 2s: moves to ann');
like((grep { ($_->{event} // '') eq 'reassigned' }
      @{ $t->conv($c3)->{thread} })[-1]{text},
     qr/Bob to Ann: no reply within 2s/, 'R17: the reason is the reply delay');
reply('ann', $c3, 'answered');
sleep 1.2;
is(holder($c3), 'ann', 'an answered conversation stays put');

# --- R15 auto-close -------------------------------------------------------------
my $vm = $t->visitor('m1', 'mobile');
my $m1 = $t->post('/visitor/messages', $vm, { text => 'from the app' })
           ->{json}{conversation};
my $hm = holder($m1);
reply($hm, $m1, 'here is your answer');
my $closed = $t->wait_for(sub { state($m1) eq 'ended' }, 5);
ok(defined $closed, 'R15: mobile: no visitor message for 3s: ended');
my $view = $t->conv($m1);
is($view->{end_reason}, 'auto_close', 'R15: end reason auto_close');
is($view->{credited_agent}, $hm, 'R15/R19: credit to the last agent who wrote');
like((grep { ($_->{event} // '') eq 'ended' } @{ $view->{thread} })[0]{text},
     qr/Ended automatically: no visitor message for 3s/, 'R17: ended entry');
my $vev = $t->get('/visitor/events?cursor=0', $vm)->{json};
ok((grep { $_->{type} eq 'conversation.ended' } @{ $vev->{events} }),
   'the visitor is told');
is(state($c3), 'assigned', 'R15: chat has no auto-close by default');

# a visitor message stops the auto-close clock
my $m2 = $t->post('/visitor/messages', $t->visitor('m2', 'mobile'),
                  { text => 'x' })->{json}{conversation};
reply(holder($m2), $m2, 'answer');
sleep 1.5;
$t->post('/visitor/messages', $t->visitor('m2', 'mobile'), { text => 'y' });
sleep 2.5;
isnt(state($m2), 'ended', 'R15: the visitor wrote: the clock stopped');

$t->stop;
$t->check_log;
done_testing;
