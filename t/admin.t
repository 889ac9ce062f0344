# The directory (admin API): agents with groups and per-class capacity,
# groups, and what removing an agent does to its conversations.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SbTest;

my $t = SbTest->new->start;
my $admin = $t->admin;

my $r = $t->put('/admin/groups/sales', $admin, { name => 'Sales' });
is($r->{status}, 201, 'PUT group: created');
is($t->put('/admin/groups/sales', $admin, { name => 'Sales team' })
     ->{status}, 200, 'PUT group again: updated');
is($t->get('/admin/groups/sales', $admin)->{json}{name}, 'Sales team',
   'GET group');
is($t->get('/admin/groups/default', $admin)->{json}{id}, 'default',
   'the default group always exists');

$r = $t->put('/admin/agents/ann', $admin,
             { name => 'Ann', groups => ['sales'],
               capacity => { chat => 1, mobile => 4 } });
is($r->{status}, 201, 'PUT agent: created');
is($r->{json}{classes}{chat}{capacity}, 1, 'own capacity for chat');
is($r->{json}{classes}{mobile}{capacity}, 4, 'own capacity for mobile');
is($r->{json}{classes}{messaging}{capacity}, 3, 'class default elsewhere');
is($r->{json}{classes}{chat}{status}, 'red', 'new agents are unavailable');
is_deeply($t->get('/admin/agents/ann', $admin)->{json}{groups}, ['sales'],
          'GET agent');

is($t->del('/admin/groups/sales', $admin)->{status}, 409,
   'a group with agents cannot be deleted');

# routing stays inside the group: a default-group visitor waits
$t->available('ann');
my $conv = $t->say_visitor('v1', 'chat', 'hi')->{json}{conversation};
is($t->get("/admin/conversations/$conv", $admin)->{json}{state}, 'queued',
   'R2: an agent outside the group gets nothing');

# moving ann into default drains the queue at once (R3)
$r = $t->put('/admin/agents/ann', $admin,
             { name => 'Ann', groups => ['sales', 'default'],
               capacity => { chat => 1 } });
is($r->{status}, 200, 'PUT agent again: updated');
is($t->get("/admin/conversations/$conv", $admin)->{json}{agent}, 'ann',
   'R3: joining the group takes the waiting conversation');
is($r->{json}{classes}{chat}{available}, JSON::PP::true,
   'an update keeps availability');

# removing an agent hands its conversations to someone else
$t->add_agent('bob');
$t->available('bob');
is($t->del('/admin/agents/ann', $admin)->{status}, 204, 'DELETE agent');
is($t->get('/admin/agents/ann', $admin)->{status}, 404, 'gone');
my $view = $t->get("/admin/conversations/$conv", $admin)->{json};
is($view->{agent}, 'bob', 'its conversation went to another agent');
is_deeply([ map { $_->{agent} } @{ $view->{handlers} } ], [qw(ann bob)],
          'R18: handlers in order');
ok((grep { ($_->{event} // '') eq 'reassigned' } @{ $view->{thread} }),
   'R17: a reassigned entry says why');

is($t->del('/admin/groups/sales', $admin)->{status}, 204,
   'an unused group can be deleted');
is($t->get('/admin/groups/sales', $admin)->{status}, 404, 'and is gone');

my $list = $t->get('/admin/conversations?state=assigned', $admin)->{json};
is(scalar @{ $list->{conversations} }, 1, 'list by state');

# tenants are isolated (R25)
my $acme = SbTest->new(server => 'location /acme/admin/ { '
                               . 'switchboard_tenant acme; '
                               . 'switchboard_admin_api; }');
$t->stop;
$acme->start;
my $tok = $acme->token('root', 'admin', tnt => 'acme');
is($acme->put('/acme/admin/agents/zed', $tok, { name => 'Zed' })->{status},
   201, 'a tenant-scoped admin creates an agent');
is($acme->get('/admin/agents/zed', $acme->admin)->{status}, 404,
   'the default tenant does not see it');
is($acme->get('/acme/admin/agents/zed', $acme->admin)->{status}, 403,
   'a default-tenant token is refused on the acme location');
$acme->stop;
$acme->check_log;
$t->check_log;
done_testing;
