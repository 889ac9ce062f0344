# A tenant paused for a move (issue 12), on one node with two workers:
# POST /operator/pause (a location marked switchboard_operator on; a
# tenant's own /admin/pause is 403, issue 19) makes every read and
# command of the tenant answer 503 tenant_paused with Retry-After, and its
# deadlines wait, kept aside (out of the table every FIRE walks); another
# tenant of the node is untouched; resuming serves it again and the
# deadline that fell due meanwhile fires then, once.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use SbTest;

my $t = SbTest->new(server => 'location /other/ { switchboard_admin_api; '
                              . 'switchboard_tenant other; } '
                              . 'location /operator/ { switchboard_admin_api; '
                              . 'switchboard_operator on; }',
                    presence => '60s')->start;
$t->add_agent('ann');
$t->available('ann');
my $c = $t->say_visitor('v1', 'chat', 'hello')->{json}{conversation};
my $until = SbTest::rfc3339(time + 1.5);
is $t->post("/agent/conversations/$c/snooze", $t->agent('ann'),
            { until => $until })->{status}, 200, 'a snooze due in 1.5 s';

is $t->post('/operator/pause', undef, {})->{status}, 401,
   'pause: no token, 401';
is $t->post('/operator/pause', $t->agent('ann'), {})->{status}, 403,
   'pause: an agent, 403';
my $before = $t->dump_store;
my $r = $t->post('/admin/pause', $t->admin, {});
is $r->{status}, 403, "issue 19: the tenant's admin on its /admin/: 403";
is $r->{json}{error}{code}, 'operator_only', '... operator_only';
is $t->post('/admin/resume', $t->admin, {})->{json}{error}{code},
   'operator_only', '... resume too';
is $t->dump_store, $before, '... nothing changed';
# the deadline table's rows of the tenant (keys: be64 due, "default\0")
sub deadline_rows {
    my $d = `mdb_dump -s deadline '$t->{prefix}/store' 2>&1`;
    my $n = () = $d =~ /^ [0-9a-f]{16}64656661756c7400/mg;
    return $n;
}
is deadline_rows(), 1, 'the snooze is a row of the deadline table';
$r = $t->post('/operator/pause', $t->admin, {});
is $r->{status}, 200, 'the operator pauses the tenant';
is_deeply $r->{json}, { tenant => 'default', paused => JSON::PP::true },
   '... {"tenant","paused":true}';
is deadline_rows(), 0, "... and its deadlines left the table every FIRE walks";
like $t->dump_store, qr/^ 64656661756c7400236173696465/m,
   '... kept aside under the tenant (#aside), for the export';
is $t->post('/operator/pause', $t->admin)->{status}, 200,
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
$r = $t->post('/operator/resume', $t->admin, {});
is $r->{status}, 200, 'the operator resumes the tenant';
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
is $t->post('/operator/resume', $t->admin, {})->{status}, 200,
   'resuming a tenant not paused is a no-op';
$t->check_log;

done_testing;
