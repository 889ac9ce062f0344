# Issue 19, item 10 (R24): a subject holds at most
# switchboard_polls_per_token polls and streams at once per worker; one
# more is 429 too_many_polls with Retry-After, and nothing changes for
# anyone else. Each held one is a connection and a timer: one token must
# not hold thousands.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(sleep);
use SbTest;

my $t = SbTest->new(poll => '3s', http => 'switchboard_polls_per_token 2;')
  ->start;
$t->add_agent('ann');
$t->add_agent('bob');
$t->available($_) for qw(ann bob);
my $cursor = $t->events('ann', 0, 0.2)->{cursor};

# five at once with two workers of two each: at least one refused
my @held = map { $t->send_request('GET', "/agent/events?cursor=$cursor",
                                  token => $t->agent('ann')) } 1 .. 5;
sleep 0.5;
my $bob = $t->get('/agent/events?cursor=0', $t->agent('bob'));
is($bob->{status}, 200, "bob's poll is not counted with ann's");
my @got = map { $t->read_response($_, 6) } @held;
my @refused = grep { $_->{status} == 429 } @got;
my @ok = grep { $_->{status} == 200 } @got;
cmp_ok(scalar @refused, '>=', 1, scalar(@refused) . ' of five refused');
cmp_ok(scalar @ok, '<=', 4, '... at most two held per worker');
is($refused[0]{json}{error}{code}, 'too_many_polls', '... too_many_polls');
is($refused[0]{headers}{'retry-after'}, 5, '... with Retry-After');
is(scalar @ok + scalar @refused, 5, 'the others were held and answered');

my $vis = $t->visitor('v1', 'chat');
my @v = map { $t->send_request('GET', '/visitor/events?cursor=0', token => $vis)
            } 1 .. 5;
my @vr = map { $t->read_response($_, 6)->{status} } @v;
cmp_ok(scalar(grep { $_ == 429 } @vr), '>=', 1, "a visitor's polls likewise");

# the streams count with the polls (sixteen: both workers have two, as
# good as certain, whatever the kernel's spread of the connections)
my @s = map { $t->send_request('GET', "/agent/events?cursor=$cursor",
                               token => $t->agent('ann'),
                               headers => { Accept => 'text/event-stream' })
            } 1 .. 16;
sleep 0.5;
my $extra = $t->get("/agent/events?cursor=$cursor", $t->agent('ann'));
is($extra->{status}, 429, 'with streams open, one more poll is 429');
close $_ for @s;
sleep 0.3;
is($t->get('/agent/me', $t->agent('ann'))->{status}, 200,
   'reads are not limited');
$t->stop;
$t->check_log;
done_testing;
