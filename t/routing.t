# Routing policy (R2, R5, R5a): fewest in the class, then longest since
# the last assignment; unavailable and away agents get nothing.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SbTest;

my $t = SbTest->new(poll => '1s', presence => '3s')->start;

$t->add_agent($_) for qw(ann bob);
$t->available('ann');
select undef, undef, undef, 0.05;
$t->available('bob');

sub holder {
    my ($conv) = @_;
    return $t->get("/admin/conversations/$conv", $t->admin)->{json}{agent}
      // '-';
}
sub visit { $t->say_visitor(@_)->{json}{conversation} }

my $c1 = visit('v1', 'chat', 'one');
my $c2 = visit('v2', 'chat', 'two');
isnt(holder($c1), holder($c2), 'R2: two conversations, two agents');
my $first = holder($c1);
my $c3 = visit('v3', 'chat', 'three');
is(holder($c3), $first,
   'R2: at equal load the agent assigned longest ago gets the next');
my $c4 = visit('v4', 'chat', 'four');
isnt(holder($c4), $first, 'R2: then the one with fewer conversations');

# R5: unavailable for chat: no new chat, but still mobile
my $off = $t->put('/agent/availability', $t->agent('bob'),
                  { class => 'chat', available => JSON::PP::false });
is($off->{status}, 200, 'bob goes unavailable for chat');
is($off->{json}{classes}{chat}{status}, 'red', 'R5: chat red');
is($off->{json}{classes}{mobile}{status}, 'green', 'R5: mobile green');
is(scalar @{ $off->{json}{conversations} }, 2,
   'R5: unavailable keeps the conversations held');
my $c5 = visit('v5', 'chat', 'five');
is(holder($c5), 'ann', 'R5: the unavailable agent gets no new chat');
my $m1 = visit('m1', 'mobile', 'mobile one');
my $m2 = visit('m2', 'mobile', 'mobile two');
ok(holder($m1) ne '-' && holder($m2) ne '-', 'mobile still routed');
ok(grep({ holder($_) eq 'bob' } $m1, $m2),
   'R5: bob still takes mobile while red on chat');

# R5a: ann stops polling; bob keeps polling; ann goes away
$t->available('bob', 'chat', 1);
my $deadline = time + 4.5;
my $cursor = 0;
while (time < $deadline) {
    my $ev = $t->events('bob', $cursor, 3);
    $cursor = $ev->{cursor};
}
my $ann = $t->get('/admin/agents/ann', $t->admin)->{json};
is($ann->{presence}, 'away', 'R5a: no poll for the presence timeout: away');
is($ann->{classes}{chat}{status}, 'red', 'R5a: an away agent shows red');
my $bob = $t->get('/admin/agents/bob', $t->admin)->{json};
is($bob->{presence}, 'online', 'R5a: the polling agent is online');

# ann has 3 chats (c1/c3 or c2/c4 + c5): bob has room: new work goes to bob
my $c6 = visit('v6', 'chat', 'six');
is(holder($c6), 'bob', 'R5a: the away agent gets nothing');

# fill bob's chat so the next one must wait; then ann polls and takes it
my @more;
push @more, visit("w$_", 'chat', 'more') for 1 .. 3;
my ($waiting) = grep { holder($_) eq '-' } @more;
ok($waiting, 'a conversation waits when only away agents have room')
  or diag explain [ map { holder($_) } @more ];
$t->post("/agent/conversations/$c5/end", $t->agent('ann'));
is(holder($waiting), '-', 'R5a: a slot freed by an away agent stays empty');

my $ev = $t->events('ann', 0, 3);    # ann comes back
select undef, undef, undef, 0.3;
is(holder($waiting), 'ann', 'R5a: the agent polls again and takes work');

$t->stop;
$t->check_log;
done_testing;
