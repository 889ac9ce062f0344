# Issue 20, items 1 and 3: a store that is full while retention runs.
# Ended conversations fill a 2 MB store to its reserve (507 store_full,
# /health 503); retention, which commits inside the reserve, deletes
# them, and the store takes new conversations again without a restart.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use SbTest;

my $t = SbTest->new(presence => '60s',
    server => 'location = /health { switchboard_health; }',
    http => 'switchboard_retention 3s; switchboard_dedupe_window 3s;');
$t->{store} = "switchboard_store $t->{prefix}/store size=2m reserve=512k;";
$t->write_conf;
$t->start;
$t->add_agent('ann', capacity => { chat => 1000 });
$t->available('ann');
my $ann = $t->agent('ann');

# conversations written, answered and ended until the store says full
my $text = 'x' x 3000;
my ($n, $status) = (0, 201);
while ($status == 201 && $n < 3000) {
    my $r = $t->say_visitor('v' . $n++, 'chat', $text);
    $status = $r->{status};
    last unless $status == 201;
    my $c = $r->{json}{conversation};
    $t->post("/agent/conversations/$c/end", $ann, {});
}
is($status, 507, "the store fills with ended conversations ($n)");
is($t->get('/health')->{json}{reason}, 'store_full', '/health: store_full');

ok($t->wait_for(sub { $t->get('/health')->{status} == 200 }, 20),
   'retention deletes them on the full store: /health is 200 again');
my $r = $t->say_visitor('after', 'chat', 'hello again');
is($r->{status}, 201, 'a new conversation is taken, without a restart');
like($t->error_log, qr/retention deleted \d+ conversations/,
     '... and the log says what retention did');

$t->stop;
$t->check_log;
done_testing;
