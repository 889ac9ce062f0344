# A tenant paused for a move (issue 12), on one node with two workers:
# POST /admin/pause makes every read and command of the tenant answer 503
# tenant_paused with Retry-After, and its deadlines wait; another tenant
# of the node is untouched; POST /admin/resume serves it again and the
# deadline that fell due meanwhile fires then, once.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use SbTest;

my $t = SbTest->new(server => 'location /other/ { switchboard_admin_api; '
                              . 'switchboard_tenant other; }',
                    presence => '60s')->start;
$t->add_agent('ann');
$t->available('ann');
my $c = $t->say_visitor('v1', 'chat', 'hello')->{json}{conversation};
my $until = SbTest::rfc3339(time + 1.5);
is $t->post("/agent/conversations/$c/snooze", $t->agent('ann'),
            { until => $until })->{status}, 200, 'a snooze due in 1.5 s';

is $t->post('/admin/pause', undef, {})->{status}, 401,
   'pause: no token, 401';
is $t->post('/admin/pause', $t->agent('ann'), {})->{status}, 403,
   'pause: an agent, 403';
my $r = $t->post('/admin/pause', $t->admin, {});
is $r->{status}, 200, 'the admin pauses the tenant';
is_deeply $r->{json}, { tenant => 'default', paused => JSON::PP::true },
   '... {"tenant","paused":true}';
is $t->post('/admin/pause', $t->admin)->{status}, 200,
   'pausing again (no body) is the same';

for my $case (
    [ 'GET /agent/me', sub { $t->get('/agent/me', $t->agent('ann')) } ],
    [ 'a poll', sub { $t->get('/agent/events?cursor=0', $t->agent('ann')) } ],
    [ 'GET /admin/stats', sub { $t->get('/admin/stats', $t->admin) } ],
    [ 'a visitor message', sub { $t->say_visitor('v2', 'chat', 'hi') } ],
    [ 'availability', sub { $t->available('ann', 'all', 0) } ],
    [ 'an admin write', sub { $t->put('/admin/groups/g1', $t->admin,
                                      { name => 'G1' }) } ],
    [ 'a replay', sub { $t->post('/admin/webhooks/replay', $t->admin, {}) } ],
) {
    my ($what, $run) = @$case;
    my $res = $run->();
    is $res->{status}, 503, "paused: $what answers 503";
    is $res->{json}{error}{code}, 'tenant_paused', '... tenant_paused';
    is $res->{headers}{'retry-after'}, 10, '... Retry-After: 10';
}

my $other = $t->token('root', 'admin', tnt => 'other');
is $t->put('/other/agents/zed', $other, { name => 'Zed' })->{status}, 201,
   'another tenant of the node is served';

# the snooze falls due while paused: it waits
sleep 2.5;
my $resumed_at = time;
$r = $t->post('/admin/resume', $t->admin, {});
is $r->{status}, 200, 'the admin resumes the tenant';
is_deeply $r->{json}, { tenant => 'default', paused => JSON::PP::false },
   '... {"paused":false}';
ok $t->wait_for(sub { grep { $_ eq 'woke' } $t->thread_events($c) }, 5),
   'the snooze fires once the tenant is served again';
my ($woke) = grep { ($_->{event} // '') eq 'woke' }
             @{ $t->conv($c)->{thread} };
cmp_ok SbTest::epoch_of($woke->{at}), '>=', $resumed_at - 0.05,
   '... not before the resume';
sleep 0.5;
is scalar(grep { $_ eq 'woke' } $t->thread_events($c)), 1, '... once';
is $t->say_visitor('v2', 'chat', 'hi')->{status}, 201,
   'commands are taken again';
is $t->post('/admin/resume', $t->admin, {})->{status}, 200,
   'resuming a tenant not paused is a no-op';
$t->check_log;

done_testing;
