# Issue 20, item 4: a bounded outbox. Events that gave up are kept for a
# replay at most switchboard_event_webhook_keep's time and rows per
# tenant; past the rows the oldest go at once, past the time a timer
# drops them; each drop is counted (GET /admin/webhooks, /metrics) and
# logged. A CRM that is down for a week cannot fill the store. The CRM
# is a real HTTP server that answers 500 to everything.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use SbTest;
use FakeProvider;
use PromText;

my $secret = 'crm-signing-secret-0123456789';
my $crm = FakeProvider->new(check => sub { 500 });
my $cp = $crm->port;

{
    my $t = SbTest->new(http => 'switchboard_event_webhook_keep 0;');
    my ($code, $out) = $t->test_conf;
    isnt($code, 0, 'nginx -t refuses a keep of 0');
    like($out, qr/takes a time above 0/, '... and says why');
    $t = SbTest->new(http => 'switchboard_event_webhook_keep 1d none;');
    ($code, $out) = $t->test_conf;
    isnt($code, 0, '... and rows that are not a number');
}

my $t = SbTest->new(
    presence => '60s',
    server => "switchboard_event_webhook /_crm conversation.created; "
            . 'location = /metrics { switchboard_metrics; } '
            . "location /_crm { internal; proxy_pass http://127.0.0.1:$cp/crm; }",
    http => "switchboard_event_webhook_secret $secret; "
          . 'switchboard_event_webhook_attempts 1; '
          . 'switchboard_event_webhook_keep 4s 5; '
          . 'switchboard_dedupe_window 1h;')->start;

sub outbox { $t->get('/admin/webhooks', $t->admin)->{json} }

# 8 conversations: 8 conversation.created events, each failing at once
for my $i (1 .. 8) {
    is($t->say_visitor("v$i", 'chat', "hello $i")->{status}, 201,
       "visitor $i writes");
    # one at a time, so that the failures come in order
    ok($t->wait_for(sub { outbox()->{failed} + outbox()->{dropped} >= $i }, 10),
       "... its event gave up");
}
my $o = outbox();
is($o->{failed}, 5, 'at most 5 failed events are kept for the tenant');
is($o->{dropped}, 3, '... the 3 oldest were dropped');
is(scalar @{ $o->{failed_events} }, 5, '... and 5 are listed');
my @convs = sort map { $_->{conversation} } @{ $o->{failed_events} };
my @kept = map { $t->say_visitor("v$_", 'chat', 'again')->{json}{conversation} }
           4 .. 8;
is_deeply(\@convs, [ sort @kept ], '... those of the newest conversations');
like($t->error_log, qr/the oldest failed event webhook dropped, 5 kept at most/,
     'the drop is logged');
my $m = PromText::parse($t->get('/metrics')->{body});
is(PromText::value($m, 'switchboard_event_webhooks_dropped_total',
                   tenant => 'default'), 3, 'metrics: dropped counter');
is(PromText::value($m, 'switchboard_event_webhooks_failed',
                   tenant => 'default'), 5, 'metrics: failed gauge');

# past the keep, the timer drops the rest
ok($t->wait_for(sub { outbox()->{failed} == 0 }, 12),
   'after 4 s the failed events are dropped by the timer');
$o = outbox();
is($o->{dropped}, 8, '... all 8 counted');
like($t->error_log, qr/\d+ failed event webhooks dropped, kept longer than/,
     '... and logged');
# the store holds no failed row ('f' after the tenant in the hook db)
my $dump = $t->dump_store;
my ($hook) = $dump =~ /database=hook\n(.*?)DATA=END/s;
unlike($hook // '', qr/^ 64656661756c740066/m,
       'mdb_dump: no failed row is left in the hook database');
is($t->post('/admin/webhooks/replay', $t->admin, {})->{json}{replayed} // 0, 0,
   'a replay finds nothing to send');

$t->stop;
$t->check_log;
done_testing;
