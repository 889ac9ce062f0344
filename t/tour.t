# The README's five-minute tour (issue 9, item 6), run as written against a
# real nginx: only the port, the key file and the poll's wait differ.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SbTest;

my $t = SbTest->new;
$t->start;
open my $fh, '<', "$SbTest::ROOT/README.md" or die "README.md: $!";
my $readme = do { local $/; <$fh> };
my ($tour) = $readme =~ /## A five-minute tour.*?```sh\n(.*?)```/s
  or BAIL_OUT('no tour in the README');
$tour =~ s{var/jwt\.secret}{$t->{prefix}/jwt.secret}g;
$tour =~ s{127\.0\.0\.1:8080}{127.0.0.1:$t->{port}}g;
$t->write_file('tour.sh', "set -e\ncd '$SbTest::ROOT'\n$tour\nwait\n");

# the tour's curl is the user's, not run under test-asan's preloaded runtime
my $out = `env -u LD_PRELOAD bash '$t->{prefix}/tour.sh' 2>&1`;
is($? >> 8, 0, 'the tour runs to its end') or diag $out;
my ($conv) = $out =~ /\bconversation (c\d+)$/m;
ok($conv, "the conversation id comes from the answer") or diag $out;
like($out, qr/"conversation":"$conv","message":\{[^}]*"author":"alice"/,
     "alice's answer is stored in it");
like($out, qr/"events":\[[^\]]*Elle arrive demain/, 'the visitor gets it');
like($out, qr/"state":"ended"/, 'alice ends it');
like($out, qr/"status":"green"/, 'alice is green again');
like($out, qr/"credited_agent":"alice"/, 'the ledger credits alice');
$t->check_log;
done_testing;
