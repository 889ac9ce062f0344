# Log variables (issue 9, item 4): $switchboard_tenant, _sub, _role,
# _conversation, _error and _commit_ms in a log_format, checked line by
# line for commands, reads, refusals (ours and nginx's), a parked poll and
# a webhook; token refusals in the error log at switchboard_auth_log_level,
# one line a second per worker.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(sleep);
use SbTest;

my $fields = join '|', map { "\$switchboard_$_" }
             qw(tenant sub role conversation error commit_ms);
my $t = SbTest->new(
    http => "log_format sbvars '\$request_method \$uri \$status $fields';"
          . ' switchboard_auth_log_level warn;',
    server => 'access_log logs/vars.log sbvars; client_max_body_size 1k;');
$t->start;
$t->add_agent('ann');
$t->available('ann');

my $conv = $t->say_visitor('v1', 'chat', 'hello')->{json}{conversation};
$t->get('/agent/me', $t->agent('ann'));
$t->post("/agent/conversations/$conv/messages", $t->agent('ann'),
         { text => 'hi' });
$t->get('/agent/me', 'not.a.token');
$t->get('/agent/conversations/c999999', $t->agent('ann'));
$t->say_visitor('v1', 'chat', 'x' x 2000);
$t->events('ann', 999, 1);                # held, then parked, then answered
$t->get('/agent/events?cursor=0', $t->agent('ann'));

sleep 0.3;
my @lines = do {
    open my $f, '<', "$t->{prefix}/logs/vars.log" or die "vars.log: $!";
    <$f>;
};
chomp @lines;
my %by;
push @{ $by{ join ' ', (split / /, $_)[0 .. 2] } }, (split / /, $_, 4)[3]
  for @lines;
sub fields { [ split /\|/, $_[0], -1 ] }

my ($post) = @{ $by{'POST /visitor/messages 201'} };
my $f = fields($post);
is_deeply([ @$f[0 .. 4] ], [ 'default', 'v1', 'visitor', $conv, '-' ],
          'a visitor message: tenant, sub, role, the conversation it made')
  or diag $post;
like($f->[5], qr/^\d+$/, '... and its commit time in ms');

($post) = @{ $by{"POST /agent/conversations/$conv/messages 201"} };
$f = fields($post);
is_deeply([ @$f[0 .. 4] ], [ 'default', 'ann', 'agent', $conv, '-' ],
          "an agent's reply names the conversation") or diag $post;
like($f->[5], qr/^\d+$/, '... with its commit time');

my @me = @{ $by{'GET /agent/me 200'} };
is_deeply(fields($me[0]), [ 'default', 'ann', 'agent', '-', '-', '-' ],
          'a read: no conversation, no commit');
is_deeply(fields($by{'GET /agent/me 401'}[0]),
          [ 'default', '-', '-', '-', 'invalid_token', '-' ],
          'a refused token: the error code, no subject');
is_deeply(fields($by{'GET /agent/conversations/c999999 404'}[0]),
          [ 'default', 'ann', 'agent', 'c999999', 'unknown_conversation', '-' ],
          'a refusal of ours carries its code');
is(fields($by{'POST /visitor/messages 413'}[0])->[4], 'body_too_large',
   "nginx's own 413 carries its code too");
is_deeply(fields($by{'GET /agent/events 400'}[0]),
          [ 'default', 'ann', 'agent', '-', 'cursor_ahead', '-' ],
          'a cursor ahead: 400 with its code');
is_deeply(fields($by{'GET /agent/events 200'}[0]),
          [ 'default', 'ann', 'agent', '-', '-', '-' ],
          'a poll answered at once');

# a parked poll: its answer's request is made anew, and still says who
my $last = $t->events('ann', 0, 1)->{cursor};
my $held = $t->send_request('GET', "/agent/events?cursor=$last",
                            token => $t->agent('ann'));
my $r = $t->read_response($held, 4);
is_deeply($r->{json}{events}, [], 'the poll was held to its timeout');
sleep 0.3;
@lines = do { open my $fh, '<', "$t->{prefix}/logs/vars.log"; <$fh> };
my ($parked) = grep { m{^GET /agent/events 200 } } reverse @lines;
chomp $parked;
like($parked, qr/ default\|ann\|agent\|-\|-\|-$/,
     'a parked poll answered by its timeout: tenant, sub and role kept');

# the error log: refused tokens at warn, at most a line a second
$t->get('/agent/me', 'bad.token.again') for 1 .. 30;
my @refused = grep { /\[warn\].*switchboard: agent token refused/ }
              split /\n/, $t->error_log;
cmp_ok(scalar @refused, '>=', 1, 'a refused token is logged at warn');
cmp_ok(scalar @refused, '<=', 2 * 3, '... at most a line a second per worker');
like(join("\n", @refused), qr/more refused since the last line/,
     '... counting the others');

$t->check_log;
done_testing;
