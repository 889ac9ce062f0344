# The OpenAPI description (issue 9, item 5): served by the location the
# shipped conf/switchboard.conf has, and the checker (t/openapi/check.mjs,
# which make test runs over every answer of the suite) catches drift.
use strict;
use warnings;
use lib 't/lib';
use File::Temp qw(tempdir);
use Test::More;
use SbTest;

my $root = $SbTest::ROOT;
my $checker = "$root/t/openapi/check.mjs";
plan skip_all => 'the checker is not installed: make test installs it'
  unless -d "$root/t/openapi/node_modules";

# this test's own answers, recorded apart from the suite's
my $record = tempdir(CLEANUP => 1);
$ENV{SB_API_RECORD} = $record;

# the default config's location, pointed at the repo instead of var/..
open my $fh, '<', "$root/conf/switchboard.conf" or die $!;
my ($location) = do { local $/; <$fh> }
  =~ /(location = \/openapi\.yaml \{.*?\n\s*\})/s
  or BAIL_OUT('conf/switchboard.conf serves no /openapi.yaml');
$location =~ s{alias \.\./doc/}{alias $root/doc/};

my $t = SbTest->new(server => $location);
$t->start;

open $fh, '<', "$root/doc/openapi.yaml" or die $!;
my $doc = do { local $/; <$fh> };
my $r = $t->get('/openapi.yaml');
is($r->{status}, 200, 'GET /openapi.yaml: 200');
is($r->{headers}{'content-type'}, 'application/yaml', 'as application/yaml');
ok($r->{body} eq $doc, 'the document as it is in the repo');

# a few answers of each kind to check against the document
my $admin = $t->admin;
$t->add_agent('alice');
$t->available('alice');
my $v = $t->say_visitor('v1', 'chat', 'Bonjour');
my $conv = $v->{json}{conversation};
$t->wait_for(sub { @{ $t->me('alice')->{conversations} } });
$t->post("/agent/conversations/$conv/messages", $t->agent('alice'),
         { text => 'Hello' });
$t->get("/agent/conversations/$conv", $t->agent('alice'));
$t->post("/agent/conversations/$conv/transfer", $t->agent('alice'),
         { agent => 'nobody' });
$t->post("/agent/conversations/$conv/snooze", $t->agent('alice'),
         { for => 'nope' });
$t->get('/admin/stats', $admin);
$t->get('/agent/me');

sub check_doc {
    my ($path) = @_;
    my $out = `env -u LD_PRELOAD node '$checker' '$path' '$record' '$root/src' --partial 2>&1`;
    return ($? >> 8, $out);
}

my ($rc, $out) = check_doc("$root/doc/openapi.yaml");
is($rc, 0, 'these answers match the document') or diag $out;
like($out, qr/ok - \d+ recorded answers checked/, 'and were checked');

# drift, one kind at a time: each must fail the check, saying why
my $dir = tempdir(CLEANUP => 1);
my @drifts = (
    [ 'a field the answers have is not documented',
      sub { $_[0] =~ s/^        age_seconds: .*\n//m },
      qr/GET \/agent\/conversations\/c\d+ -> 200.*unevaluated properties/ ],
    [ 'an error code the source answers is not documented',
      sub { $_[0] =~ s/ unknown_preset,// },
      qr/error code unknown_preset is answered by the source but not in the document/ ],
    [ 'an error code documented that the source never answers',
      sub { $_[0] =~ s/ not_blocked,/ not_blocked, no_such_code,/ },
      qr/error code no_such_code is in the document but nowhere in the source/ ],
    [ 'a status the operation answers is not documented',
      sub { $_[0] =~ s/(\n    post:\n      tags: \[agent\]\n      operationId: transfer\n(?:.*\n)*?)        '404':.*\n(?:          .*\n)*/$1/ },
      qr/POST \/agent\/conversations\/c\d+\/transfer -> 404.*no such answer/ ],
    [ 'a field documented as required is missing from the answers',
      sub { $_[0] =~ s/required: \[queues, agents, conversations\]/required: [queues, agents, conversations, ledger]/ },
      qr/GET \/admin\/stats -> 200.*must have required property 'ledger'/ ],
    [ 'a schema that is not valid OpenAPI',
      sub { $_[0] =~ s/^openapi: 3\.1\.0/openapi: 3.1.0\nnot_a_field: 1/m },
      qr/is not valid OpenAPI 3\.1/ ],
);
for my $d (@drifts) {
    my ($name, $mutate, $says) = @$d;
    my $copy = $doc;
    $mutate->($copy) or BAIL_OUT("the mutation for '$name' matched nothing");
    open my $out_fh, '>', "$dir/openapi.yaml" or die $!;
    print $out_fh $copy;
    close $out_fh;
    my ($drc, $dout) = check_doc("$dir/openapi.yaml");
    isnt($drc, 0, "caught: $name");
    like($dout, $says, '... saying so') or diag $dout;
}

$t->check_log;
done_testing;
