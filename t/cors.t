# The README's CORS recipe (issue 9, item 6) for a desk on another origin:
# nginx answers the preflight itself (the module never sees OPTIONS) and
# adds the headers to every answer, refusals and parked polls included.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SbTest;

open my $fh, '<', "$SbTest::ROOT/README.md" or die "README.md: $!";
my $readme = do { local $/; <$fh> };
my ($http, $server) = $readme =~
  /### CORS.*?```nginx\n# http \{\} level\n(.*?)# server \{\} level\n(.*?)```/s
  or BAIL_OUT('no CORS recipe in the README');
# the recipe's agent location replaces the harness's own
my $t = SbTest->new(http => $http, server => $server);
my $conf = $t->conf_text;
$conf =~ s{\n\s*location /agent/ \{ switchboard_agent_api; \}}{};
$t->write_file('conf/nginx.conf', $conf);
$t->start;
$t->add_agent('ann');

my $origin = 'https://desk.example.com';
my $pre = $t->request('OPTIONS', '/agent/me', headers => {
    Origin => $origin, 'Access-Control-Request-Method' => 'GET',
    'Access-Control-Request-Headers' => 'authorization' });
is($pre->{status}, 204, 'the preflight: 204 from nginx');
is($pre->{headers}{'access-control-allow-origin'}, $origin,
   '... allowing the desk');
like($pre->{headers}{'access-control-allow-headers'} // '',
     qr/Authorization.*Idempotency-Key/i, '... with the headers the API reads');

my $me = $t->get('/agent/me', $t->agent('ann'),
                 headers => { Origin => $origin });
is($me->{status}, 200, 'a GET from the desk: 200');
is($me->{headers}{'access-control-allow-origin'}, $origin, '... allowed');
my $no = $t->get('/agent/me', 'bad.token', headers => { Origin => $origin });
is($no->{status}, 401, 'a refusal: 401');
is($no->{headers}{'access-control-allow-origin'}, $origin,
   '... still readable by the desk');
my $other = $t->get('/agent/me', $t->agent('ann'),
                    headers => { Origin => 'https://evil.example' });
ok(!$other->{headers}{'access-control-allow-origin'},
   'another origin gets no CORS header');
my $poll = $t->get('/agent/events?cursor=0', $t->agent('ann'),
                   headers => { Origin => $origin }, timeout => 4);
is($poll->{status}, 200, 'a poll held to its timeout (parked meanwhile)');
is($poll->{headers}{'access-control-allow-origin'}, $origin,
   '... answered with the header too');
$t->check_log;
done_testing;
