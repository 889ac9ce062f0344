# R14b: with switchboard_sticky on, a conversation back from a snooze or a
# release goes first to the agent who last handled it when that agent is
# green; off (the default), the routing policy decides.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(sleep);
use SbTest;

for my $sticky (qw(on off)) {
    my $t = SbTest->new(http => "switchboard_sticky $sticky;\n"
                              . "    switchboard_snooze_presets 1s;")->start;
    $t->add_agent('ann', name => 'Ann', capacity => { chat => 5 });
    $t->add_agent('bob', name => 'Bob', capacity => { chat => 5 });
    $t->available('ann');
    my @c = map { $t->say_visitor("v$_", 'chat', 'hi')->{json}{conversation} }
            1 .. 4;
    $t->post("/agent/conversations/$_/messages", $t->agent('ann'),
             { text => 'hello' }) for @c;
    $t->available('bob');        # bob: 0 conversations, ann: 4

    $t->post("/agent/conversations/$c[0]/snooze", $t->agent('ann'),
             { for => '1s' });
    my $back = $t->wait_for(sub { ($t->conv($c[0])->{agent} // '') ne '' }, 4);
    ok(defined $back, "sticky $sticky: the snooze ends");
    is($t->conv($c[0])->{agent}, $sticky eq 'on' ? 'ann' : 'bob',
       $sticky eq 'on' ? 'R14b: back to the last handler while green'
                       : 'R2: the policy picks the least loaded');

    my $h = $t->conv($c[1])->{agent};
    $t->post("/agent/conversations/$c[1]/release", $t->agent($h));
    $t->say_visitor('v2', 'chat', 'me again');
    is($t->conv($c[1])->{agent}, $sticky eq 'on' ? 'ann' : 'bob',
       "sticky $sticky: a released conversation the visitor revives");
    $t->stop;
    $t->check_log;
}
done_testing;
