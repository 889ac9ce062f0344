# Issue 19, item 4 (R2, R3, R7, R16): a reload that renames one slot
# class and removes another, with held, snoozed and queued conversations
# of every class. Nothing is lost, nothing indexes a class that is gone,
# and one conversation that cannot wake never stops the deadlines behind
# it: the renamed classes' conversations take their channel's class of
# now, the removed class's wait, said in the error log.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use Time::HiRes qw(time sleep);
use SbTest;

my $secret = 'meta-app-secret-reload-classes';
my $hook = "location = /webhooks/whatsapp { switchboard_webhook whatsapp; "
         . "switchboard_webhook_secret $secret; }";
my $t = SbTest->new(server => $hook, presence => '60s')->start;
my %cap = (capacity => { chat => 1, mobile => 1, messaging => 1 });
$t->add_agent('ann', %cap);
$t->add_agent('bob', %cap);
$t->available($_) for qw(ann bob);

sub whatsapp {
    my ($from, $id) = @_;
    my $body = $SbTest::JSON->encode({ object => 'whatsapp_business_account',
        entry => [ { id => 'W', changes => [ { field => 'messages', value => {
            metadata => { phone_number_id => '1055' },
            messages => [ { from => $from, id => $id, timestamp => '1',
                            type => 'text', text => { body => "hi $id" } } ]
        } } ] } ] });
    my $res = $t->request('POST', '/webhooks/whatsapp', body => $body,
        headers => { 'X-Hub-Signature-256' => 'sha256='
                                               . hmac_sha256_hex($body, $secret) });
    die "whatsapp: $res->{status}" unless $res->{status} == 200;
    my ($c) = grep { $_->{visitor} eq "1055:$from" }
        @{ $t->get('/admin/conversations', $t->admin)->{json}{conversations} };
    return $c->{id};
}
sub say {
    my ($channel, $visitor) = @_;
    return $channel eq 'whatsapp' ? whatsapp($visitor, "m$visitor")
         : $t->say_visitor($visitor, $channel, 'hello')->{json}{conversation};
}
sub state_of { $t->conv($_[0])->{state} }
sub holder   { $t->conv($_[0])->{agent} // '' }

# per class: one held, one snoozed (its snoozes fall due in this order:
# mobile first, the class that will be gone), one held after it, one
# queued behind two full agents
my $due = time + 6;
my %c;
for my $k (['mobile', 'mobile', 0], ['chat', 'chat', 0.3],
           ['messaging', 'whatsapp', 0.6]) {
    my ($class, $channel, $later) = @$k;
    my $n = 0;
    my $v = sub { $class . ++$n . int(rand 1e6) };
    $c{$class}{held} = say($channel, $channel eq 'whatsapp' ? 33600 + $n++ . '1' : $v->());
    my $snooze = say($channel, $channel eq 'whatsapp' ? 33600 + $n++ . '2' : $v->());
    my $who = holder($snooze);
    my $res = $t->post("/agent/conversations/$snooze/snooze", $t->agent($who),
                       { until => SbTest::rfc3339($due + $later) });
    is($res->{status}, 200, "$class: a conversation snoozed");
    $c{$class}{snoozed} = $snooze;
    $c{$class}{held2} = say($channel, $channel eq 'whatsapp' ? 33600 + $n++ . '3' : $v->());
    $c{$class}{queued} = say($channel, $channel eq 'whatsapp' ? 33600 + $n++ . '4' : $v->());
    is(state_of($c{$class}{held}), 'assigned', "$class: one held");
    is(state_of($c{$class}{held2}), 'assigned', "$class: another held");
    is(state_of($c{$class}{queued}), 'queued', "$class: one queued");
}

# the reload: chat renamed web, messaging renamed msg, mobile removed
$t->{http} = 'switchboard_slot_class web 3 chat; '
           . 'switchboard_slot_class msg 3 whatsapp messenger instagram '
           . 'facebook twitter sms;';
$t->write_conf;
my ($rc, $out) = $t->test_conf;
is($rc, 0, 'nginx -t takes the new classes') or diag $out;
ok($t->reload_settled, 'the old workers are gone');
ok($t->wait_for(sub { $t->error_log =~ /agrees with the configuration/ }, 10),
   'the new workers make the store agree with the classes');
like($t->error_log, qr/(\d+) queued or held conversations of a class it no longer has moved/,
     '... and say how many rows moved');

my $stats = $t->get('/admin/stats', $t->admin)->{json};
is($stats->{queues}{default}{web}{length}, 1, 'the chat queue is the web queue');
is($stats->{queues}{default}{msg}{length}, 1, 'the messaging queue is msg');
ok(!exists $stats->{queues}{default}{chat}, 'no chat queue is left');
is($stats->{queues}{default}{mobile}{length}, 1,
   'the mobile one waits in its old queue: no class takes mobile');
is($stats->{agents}{web}{red} + ($stats->{agents}{web}{green} // 0)
   + ($stats->{agents}{web}{orange} // 0), 2, 'both agents are counted in web');
my $me = $t->me('ann');
is($me->{classes}{web}{used}, 1, "ann's held chat conversation counts in web");
my $ann_wa = grep { $t->conv($_)->{channel} eq 'whatsapp' }
             @{ $me->{conversations} };
is($me->{classes}{msg}{used}, $ann_wa, "... her messaging ones in msg");
ok(!exists $me->{classes}{chat} && !exists $me->{classes}{mobile},
   'her classes are the configuration\'s');

for my $class (qw(chat messaging)) {
    is($t->conv($c{$class}{held})->{class}, $class eq 'chat' ? 'web' : 'msg',
       "$class: a held conversation reads with its new class");
}

# R3: an agent available in the new class takes what was queued in the old
$t->available('ann', 'web');
is(holder($c{chat}{queued}), 'ann', 'the queued chat conversation goes to '
   . 'ann, available in web');

# the deadlines: the mobile snooze first, then the others behind it
ok($t->wait_for(sub { state_of($c{chat}{snoozed}) ne 'snoozed'
                      && state_of($c{messaging}{snoozed}) ne 'snoozed' },
                15), 'the chat and messaging snoozes behind the mobile one '
   . 'fire') or diag explain $t->conv($c{chat}{snoozed});
is($t->conv($c{chat}{snoozed})->{class}, 'web', '... the chat one in web');
is(state_of($c{mobile}{snoozed}), 'snoozed', 'the mobile one still waits');
like($t->error_log, qr/cannot wake: no slot class takes channel mobile/,
     '... said in the error log');

# a conversation of the removed class: ended, never routed again
my $mheld = $c{mobile}{held};
my $res = $t->post("/agent/conversations/$mheld/release",
                   $t->agent(holder($mheld)));
is($res->{status}, 422, 'a release that would route a class-less '
   . 'conversation: 422');
is($res->{json}{error}{code}, 'no_slot_class', '... no_slot_class');
$res = $t->post("/agent/conversations/$mheld/end", $t->agent(holder($mheld)));
is($res->{status}, 200, 'it can be ended');

# the timer still runs: a new snooze fires
my $fresh = $c{chat}{held2};
$res = $t->post("/agent/conversations/$fresh/snooze", $t->agent(holder($fresh)),
                { until => SbTest::rfc3339(time + 1.5) });
is($res->{status}, 200, 'a new snooze');
ok($t->wait_for(sub { state_of($fresh) ne 'snoozed' }, 8),
   'it fires: no deadline is stuck');

unlike($t->error_log, qr/exited on signal/, 'no worker died');
$t->stop;
$t->check_log;
done_testing;
