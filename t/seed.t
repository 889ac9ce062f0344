# The seeds' numbers end to end (R1-R5, R9, R24): chat 3 and mobile 2 are
# independent; the sixth conversation waits and is pushed at once.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time);
use SbTest;

my $t = SbTest->new->start;

$t->add_agent('alice', capacity => { chat => 3, mobile => 2 });
is($t->available('alice')->{status}, 200, 'alice goes available');

my %conv;
for my $v (qw(c1 c2 c3)) {
    my $r = $t->say_visitor("web-$v", 'chat', "hello from $v");
    is($r->{status}, 201, "chat visitor $v is stored (R1)");
    $conv{$v} = $r->{json}{conversation};
}
for my $v (qw(m1 m2)) {
    my $r = $t->say_visitor("app-$v", 'mobile', "bonjour de $v");
    is($r->{status}, 201, "mobile visitor $v is stored");
    $conv{$v} = $r->{json}{conversation};
}

my $me = $t->me('alice');
is($me->{classes}{chat}{used}, 3, 'R4: chat 3/3');
is($me->{classes}{chat}{status}, 'orange', 'R5: chat is orange when full');
is($me->{classes}{mobile}{used}, 2, 'R4: mobile 2/2 on top of a full chat');
is($me->{classes}{mobile}{status}, 'orange', 'R5: mobile orange');
is($me->{classes}{messaging}{status}, 'green', 'R5: messaging still green');
is(scalar @{ $me->{conversations} }, 5, 'alice holds five conversations');

my $ev = $t->events('alice', 0);
is(scalar(grep { $_->{type} eq 'conversation.assigned' } @{ $ev->{events} }),
   5, 'R2: five assignments were pushed to the poll');
my $cursor = $ev->{cursor};

my $sixth = $t->say_visitor('app-m3', 'mobile', 'anyone? 🙂');
is($sixth->{status}, 201, 'the sixth (mobile) is stored');
my $waiting = $sixth->{json}{conversation};
my $view = $t->get("/admin/conversations/$waiting", $t->admin)->{json};
is($view->{state}, 'queued', 'R3: the sixth waits in the queue');

# alice's poll is held; ending a mobile conversation pushes the sixth to it
my $poll = $t->send_request('GET', "/agent/events?cursor=$cursor",
                            token => $t->agent('alice'));
select undef, undef, undef, 0.2;
my $t0 = time;
my $end = $t->post("/agent/conversations/$conv{m1}/end", $t->agent('alice'));
is($end->{status}, 200, 'R9: alice ends a mobile conversation');
my $pushed = $t->read_response($poll, 5);
my $lag = time - $t0;
is($pushed->{status}, 200, 'the held poll answers');
my @types = map { "$_->{type}:$_->{conversation}" } @{ $pushed->{json}{events} };
ok((grep { $_ eq "conversation.assigned:$waiting" } @types)
   || do {
       # the end's own event may come first; the assignment follows at once
       my $more = $t->events('alice', $pushed->{json}{cursor}, 3);
       grep { $_->{type} eq 'conversation.assigned'
              && $_->{conversation} eq $waiting } @{ $more->{events} };
   }, 'R3: the waiting conversation is pushed to the open poll')
  or diag explain \@types;
cmp_ok($lag, '<', 1, "pushed at once (${\ sprintf '%.3f', $lag}s)");

$me = $t->me('alice');
is($me->{classes}{mobile}{used}, 2, 'mobile is full again');
is($me->{classes}{mobile}{status}, 'orange', 'R5: mobile orange');

is($t->post("/agent/conversations/$conv{m2}/end", $t->agent('alice'))
     ->{status}, 200, 'alice ends another mobile conversation');
$me = $t->me('alice');
is($me->{classes}{mobile}{used}, 1, 'mobile 1/2');
is($me->{classes}{mobile}{status}, 'green', 'R5: mobile green again');

$view = $t->get("/agent/conversations/$waiting", $t->agent('alice'))->{json};
is($view->{thread}[0]{text}, 'anyone? 🙂', 'R6: emoji stored byte for byte');
is($view->{handlers}[0]{agent}, 'alice', 'R18: handlers list alice');

$t->stop;
$t->check_log;
done_testing;
