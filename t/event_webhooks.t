# Event webhooks (issue 11, item 2): every event is an outbox row written
# by the transaction that makes it, POSTed signed to the operator's
# location, retried with back-off in order per conversation, counted and
# shown to the admin when it fails, replayed on demand, and delivered at
# least once through kill -9 of workers: exactly once after the CRM
# dedupes by event id. The CRM is a real HTTP server that checks every
# signature.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use Time::HiRes qw(time sleep);
use SbTest;
use FakeProvider;
use PromText;

my $secret = 'crm-signing-secret-0123456789';
my $bad_signatures = 0;

# The receiver's side of the scheme the README documents: the header's
# t and v1, v1 = hex HMAC-SHA256(secret, "<t>.<body>"), t within 5 min.
sub signature_ok {
    my ($h, $body) = @_;
    my ($ts, $v1) = ($h->{'switchboard-signature'} // '')
        =~ /^t=(\d+),v1=([0-9a-f]{64})$/ or return 0;
    return 0 if abs(time - $ts) > 300;
    return hmac_sha256_hex("$ts.$body", $secret) eq $v1;
}

my $crm = FakeProvider->new(check => sub {
    my ($h, $body) = @_;
    return signature_ok($h, $body) ? undef : 401;
});
my $cp = $crm->port;
my $provider = FakeProvider->new;     # WhatsApp's send API, for message.failed
my $pp = $provider->port;
my $meta = 'meta-app-secret-0123456789';
my $server = "switchboard_event_webhook /_crm; "
           . 'location = /metrics { switchboard_metrics; } '
           . "location = /webhooks/whatsapp { switchboard_webhook whatsapp; "
           . "switchboard_webhook_secret $meta; } "
           . 'switchboard_deliver whatsapp /_wa; '
           . "location /_wa { internal; proxy_pass http://127.0.0.1:$pp; } "
           . "location /_crm { internal; proxy_pass http://127.0.0.1:$cp/crm; }";
my $http = "switchboard_event_webhook_secret $secret; "
         . 'switchboard_event_webhook_backoff 200ms; '
         . 'switchboard_event_webhook_attempts 3; '
         . 'switchboard_event_webhook_timeout 2s;';

# -- nginx -t ---------------------------------------------------------------
{
    my $t = SbTest->new(server => "switchboard_event_webhook /_crm "
                                  . "message.created nosuch.thing;",
                        http => $http);
    my ($code, $out) = $t->test_conf;
    isnt $code, 0, 'nginx -t refuses an unknown event type';
    like $out, qr/unknown event type "nosuch\.thing"/, '... and names it';

    $t = SbTest->new(server => 'switchboard_event_webhook /_crm;');
    ($code, $out) = $t->test_conf;
    isnt $code, 0, 'nginx -t refuses event webhooks without a secret';
    like $out, qr/switchboard_event_webhook_secret/, '... and says which';

    $t = SbTest->new(server => 'switchboard_event_webhook /_crm;',
                     http => 'switchboard_event_webhook_secret short;');
    ($code) = $t->test_conf;
    isnt $code, 0, '... or with a secret under 16 bytes';

    $t = SbTest->new(server => 'switchboard_event_webhook /_crm '
                               . 'conversation.* agent.status_changed;',
                     http => $http);
    ($code, $out) = $t->test_conf;
    is $code, 0, 'families and names are accepted' or diag $out;
}

my $t = SbTest->new(server => $server, http => $http,
                    presence => '60s')->start;
$t->add_agent('ann', capacity => { chat => 5 });
$t->add_agent('bob', capacity => { chat => 5 });

sub received { map { +{ %$_, event => $SbTest::JSON->decode($_->{body}) } }
               grep { $_->{answered} != 401 } $crm->requests }
sub outbox { $t->get('/admin/webhooks', $t->admin)->{json} }
sub drained {
    my ($timeout) = @_;
    return $t->wait_for(sub { my $o = outbox(); $o->{pending} == 0 },
                        $timeout // 10);
}
# the events of a conversation, in the order they were received (2xx)
sub line_of {
    my ($conv, %o) = @_;
    my %seen;
    return map { $_->{event} }
           grep { $_->{answered} == 200
                  && ($_->{event}{conversation}{id} // '') eq $conv
                  && !$seen{ $_->{event}{id} }++ } received();
}

# -- the story: every type, in order, signed ---------------------------------
$t->available('ann');
my $res = $t->say_visitor('v1', 'chat', 'hello');
is $res->{status}, 201, 'a visitor writes';
my $c1 = $res->{json}{conversation};
my $me = $t->agent('ann');
is $t->post("/agent/conversations/$c1/messages", $me,
            { text => 'Hi, how can I help?' })->{status}, 201, 'ann answers';
my $until = SbTest::rfc3339(time + 3600);
is $t->post("/agent/conversations/$c1/snooze", $me, { until => $until })
     ->{status}, 200, 'ann snoozes it';
is $t->say_visitor('v1', 'chat', 'still there?')->{status}, 201,
   'the visitor wakes it';
is $t->post("/agent/conversations/$c1/messages", $me, { text => 'Yes' })
     ->{status}, 201, 'ann answers again';
$t->available('bob');
is $t->post("/agent/conversations/$c1/transfer", $me,
            { agent => 'bob', comment => 'billing' })->{status}, 200,
   'ann transfers it to bob';
is $t->post("/agent/conversations/$c1/release", $t->agent('bob'), {})
     ->{status}, 200, 'bob releases it';
is $t->say_visitor('v1', 'chat', 'hello again')->{status}, 201,
   'the visitor writes again';
my $holder = $t->conv($c1)->{agent};
ok $holder, 'it is assigned again';
is $t->post("/agent/conversations/$c1/end", $t->agent($holder), {})
     ->{status}, 200, 'its agent ends it';
ok drained(), 'the outbox empties';

my @line = line_of($c1);
is_deeply [ map { $_->{type} } @line ], [
    'conversation.created', 'message.created', 'conversation.assigned',
    'message.created',
    'conversation.unassigned', 'conversation.snoozed',
    'message.created', 'conversation.woke', 'conversation.assigned',
    'message.created',
    'conversation.unassigned', 'conversation.transferred',
    'conversation.assigned',
    'conversation.unassigned', 'conversation.released',
    'message.created', 'conversation.woke', 'conversation.assigned',
    'conversation.unassigned', 'conversation.ended',
], "the conversation's events arrive in the order they happened"
  or diag explain [ map { $_->{type} } @line ];
my %by_type;
push @{ $by_type{ $_->{type} } }, $_ for @line;
is $line[0]{conversation}{channel}, 'chat', 'events name the channel';
is $line[0]{conversation}{visitor}, 'v1', '... the visitor';
is $line[0]{conversation}{group}, 'default', '... and the group';
is $line[0]{tenant}, 'default', '... and the tenant';
is $by_type{'message.created'}[0]{message}{kind}, 'visitor',
   'message.created carries the visitor message';
is $by_type{'message.created'}[0]{message}{text}, 'hello', '... its text';
is $by_type{'message.created'}[1]{message}{author}, 'ann',
   "... and the agent's, with its author";
is $by_type{'conversation.assigned'}[0]{agent}, 'ann', 'assigned names ann';
is $by_type{'conversation.unassigned'}[0]{reason}, 'snoozed',
   'unassigned says why: snoozed';
is $by_type{'conversation.snoozed'}[0]{agent}, 'ann', 'snoozed names who';
is $by_type{'conversation.snoozed'}[0]{snoozed_until}, $until,
   '... and until when';
is $by_type{'conversation.transferred'}[0]{to}{agent}, 'bob',
   'transferred names the target';
is $by_type{'conversation.transferred'}[0]{comment}, 'billing',
   '... and the comment';
is $by_type{'conversation.unassigned'}[1]{reason}, 'transferred',
   'unassigned: transferred';
is $by_type{'conversation.assigned'}[2]{agent}, 'bob', 'assigned to bob';
is $by_type{'conversation.released'}[0]{agent}, 'bob', 'released by bob';
is $by_type{'conversation.unassigned'}[2]{reason}, 'released',
   'unassigned: released';
is $by_type{'conversation.ended'}[0]{reason}, 'agent', 'ended: by an agent';
is $by_type{'conversation.ended'}[0]{by}, $holder, '... its holder';

my @status = grep { $_->{event}{type} eq 'agent.status_changed' } received();
ok((grep { $_->{event}{agent} eq 'ann' && $_->{event}{class} eq 'chat'
           && $_->{event}{previous_status} eq 'red'
           && $_->{event}{status} eq 'green' } @status),
   'agent.status_changed: ann red to green in chat');
ok @status && !(grep { exists $_->{event}{conversation} } @status),
   'agent events carry no conversation';

my @all = received();
is scalar(grep { $_->{answered} == 401 } $crm->requests), 0,
   'every request carried a valid signature';
my $r0 = $all[0];
is $r0->{headers}{'content-type'}, 'application/json', 'sent as JSON';
is $r0->{headers}{'switchboard-event-id'}, $r0->{event}{id},
   'Switchboard-Event-Id is the body\'s id';
is $r0->{headers}{'switchboard-event-type'}, $r0->{event}{type},
   'Switchboard-Event-Type its type';
is $r0->{headers}{'switchboard-attempt'}, 1, 'Switchboard-Attempt counts';
like $r0->{path}, qr{^/crm}, 'POSTed to the operator\'s location';
is $r0->{method}, 'POST', '... as a POST';
my %ids;
$ids{ $_->{event}{id} }++ for @all;
is scalar(grep { $_ > 1 } values %ids), 0, 'no event was sent twice';

# -- retries with back-off, in order -----------------------------------------
$crm->plan(500, 503);
$res = $t->say_visitor('v2', 'chat', 'retry me');
my $c2 = $res->{json}{conversation};
ok drained(), 'the outbox empties after retries';
my @tries = grep { ($_->{event}{conversation}{id} // '') eq $c2 } received();
is_deeply [ map { [ $_->{event}{type}, $_->{headers}{'switchboard-attempt'},
                    $_->{answered} ] } @tries[0 .. 3] ],
    [ [ 'conversation.created', 1, 500 ], [ 'conversation.created', 2, 503 ],
      [ 'conversation.created', 3, 200 ], [ 'message.created', 1, 200 ] ],
    'the first event is retried until it passes, and the next waits for it';
is $tries[0]{event}{id}, $tries[2]{event}{id}, 'each retry is the same event';
is $tries[0]{body}, $tries[2]{body}, '... with the same body';
cmp_ok $tries[1]{at} - $tries[0]{at}, '>=', 0.18, 'the first retry waits';
cmp_ok $tries[2]{at} - $tries[1]{at}, '>=', 0.36, '... the second twice as long';

# -- giving up, the admin's view, metrics, replay ----------------------------
my $before = outbox();
$crm->plan(500, 500, 500);
$res = $t->say_visitor('v3', 'chat', 'I will fail');
my $c3 = $res->{json}{conversation};
ok drained(), 'the outbox moves on past an event that gave up';
my $o = outbox();
is $o->{failed}, 1, 'GET /admin/webhooks: one failed';
is $o->{failed_attempts}, $before->{failed_attempts} + 3,
   '... failed attempts counted';
is $o->{failed_events}[0]{type}, 'conversation.created', '... which event';
is $o->{failed_events}[0]{conversation}, $c3, '... of which conversation';
is $o->{failed_events}[0]{attempts}, 3, '... after its three attempts';
is $o->{failed_events}[0]{http_status}, 500, '... the last status';
like $o->{failed_events}[0]{error}, qr/answered 500/, '... and error';
ok $o->{failed_events}[0]{failed_at}, '... and when';
is $o->{last_error}{id}, $o->{failed_events}[0]{id}, 'last_error shows it';
my $failed_id = "default/$o->{failed_events}[0]{id}";
is_deeply [ map { $_->{type} } line_of($c3) ],
    [ 'message.created', 'conversation.assigned' ],
    'the conversation\'s next events went on';

my $m = PromText::parse($t->get('/metrics')->{body});
is PromText::value($m, 'switchboard_event_webhooks_failed',
                   tenant => 'default'), 1, 'metrics: failed gauge';
is PromText::value($m, 'switchboard_event_webhook_failed_attempts_total',
                   tenant => 'default'), $o->{failed_attempts},
   'metrics: failed attempts counter';
is PromText::value($m, 'switchboard_event_webhooks_pending',
                   tenant => 'default'), 0, 'metrics: pending gauge';

# bad requests change nothing
my $dump = $t->dump_store;
$res = $t->get('/admin/webhooks?cursor=x', $t->admin);
is $res->{status}, 400, 'a bad cursor is a 400';
$res = $t->request('POST', '/admin/webhooks/replay', token => $t->admin,
                   body => '{');
is $res->{status}, 400, 'replay: malformed JSON is a 400';
is $res->{json}{error}{code}, 'malformed_json', '... said so';
$res = $t->request('POST', '/admin/webhooks/replay', token => $t->admin,
                   body => '[]');
is $res->{json}{error}{code}, 'not_an_object', 'replay: an array is refused';
$res = $t->get('/admin/webhooks/replay', $t->admin);
is $res->{status}, 405, 'GET on replay: 405';
$res = $t->request('POST', '/admin/webhooks/replay', token => $t->agent('ann'),
                   body => '{}');
is $res->{status}, 403, 'an agent cannot replay';
is $t->dump_store, $dump, 'none of them changed the store';

$res = $t->post('/admin/webhooks/replay', $t->admin, {});
is $res->{status}, 200, 'the admin replays';
is $res->{json}{replayed}, 1, '... one event';
ok drained(), 'the replayed event is sent';
my @again = grep { $_->{event}{id} eq $failed_id && $_->{answered} == 200 }
            received();
is scalar(@again), 1, 'the CRM gets the failed event, with its id';
is outbox()->{failed}, 0, 'nothing failed any more';
is $t->post('/admin/webhooks/replay', $t->admin, {})->{json}{replayed}, 0,
   'a second replay has nothing to send';

# -- message.failed: a reply WhatsApp refuses ----------------------------------
my $wa = $SbTest::JSON->encode({ object => 'whatsapp_business_account',
    entry => [ { id => 'WABA1', changes => [ { field => 'messages',
        value => { metadata => { phone_number_id => '1055' },
                   messages => [ { from => '33611', id => 'wamid.IN1',
                       timestamp => '1763780000', type => 'text',
                       text => { body => 'from WhatsApp' } } ] } } ] } ] });
is $t->request('POST', '/webhooks/whatsapp', body => $wa, headers => {
       'X-Hub-Signature-256' => 'sha256=' . hmac_sha256_hex($wa, $meta) })
     ->{status}, 200, 'a WhatsApp visitor writes';
ok drained(), 'its events are sent';
my ($wa_created) = grep { $_->{event}{type} eq 'conversation.created'
                          && $_->{event}{conversation}{channel} eq 'whatsapp' }
                   received();
my $c4 = $wa_created->{event}{conversation}{id};
my $wa_holder = $t->conv($c4)->{agent};
$provider->plan(400);
is $t->post("/agent/conversations/$c4/messages", $t->agent($wa_holder),
            { text => 'refused' })->{status}, 202, 'the reply is stored (202)';
ok $t->wait_for(sub { grep { $_->{event}{type} eq 'message.failed' }
                      received() }, 10), 'message.failed is sent';
my ($failed) = map { $_->{event} }
               grep { $_->{event}{type} eq 'message.failed' } received();
is $failed->{conversation}{id}, $c4, '... for that conversation';
is $failed->{message}{text}, 'refused', '... with the message';
is $failed->{message}{delivery}{state}, 'failed', '... failed';
is $failed->{agent}, $wa_holder, '... and its author';
ok drained(), 'the outbox empties';

# -- kill -9 of workers mid-run: every committed event, once after dedupe ----
my $from = scalar(received());
my @acked;
for my $i (1 .. 60) {
    if ($i % 12 == 0) {
        my @w = $t->worker_pids;
        kill 'KILL', $w[$i / 12 % @w];
        $t->wait_workers;
    }
    my $r = $t->say_visitor("k$i", 'chat', "burst $i");
    push @acked, "k$i" if $r->{status} == 201;
}
is scalar(@acked), 60, 'the burst was acknowledged';
ok drained(30), 'the outbox empties after the kills';
my @burst = (received())[$from .. scalar(received()) - 1];
my (%first, @dupes);
for my $r (grep { $_->{answered} == 200 } received()) {
    push @dupes, $r->{event}{id} if $first{ $r->{event}{id} }++;
}
my ($max) = sort { $b <=> $a } map { (split m{/})[1] } keys %first;
is_deeply [ sort { $a <=> $b } map { (split m{/})[1] } keys %first ],
    [ 1 .. $max ], 'every event id from 1 to the last arrived: none missing';
my %msg = map { $_->{event}{conversation}{visitor} => 1 }
          grep { $_->{event}{type} eq 'message.created' && $_->{answered} == 200 }
          @burst;
is_deeply [ grep { !$msg{$_} } @acked ], [],
   'every acknowledged message has its message.created';
diag scalar(@dupes) . ' events were sent again after a kill (deduped by id)';
my @alerts = grep { /\[(alert|emerg|crit)\]/ && !/exited on signal 9/ }
             split /\n/, $t->error_log;
is_deeply \@alerts, [], 'no alert in the error log but the kills';

# -- a filter: only the types named -----------------------------------------
{
    my $crm2 = FakeProvider->new;
    my $p2 = $crm2->port;
    my $t2 = SbTest->new(server => "switchboard_event_webhook /_crm "
                         . "message.created; location /_crm { internal; "
                         . "proxy_pass http://127.0.0.1:$p2; }",
                         http => $http)->start;
    $t2->add_agent('ann');
    $t2->available('ann');
    is $t2->say_visitor('f1', 'chat', 'only this')->{status}, 201,
       'with one type named';
    $t2->wait_for(sub { $t2->get('/admin/webhooks', $t2->admin)->{json}
                          {pending} == 0 && $crm2->requests });
    sleep 0.3;
    is_deeply [ map { $SbTest::JSON->decode($_->{body})->{type} }
                $crm2->requests ], [ 'message.created' ],
       'only that type is sent (no row for the others)';
}

# what the CRMs received, for the OpenAPI check of the `event` webhook
if (my $dir = $ENV{SB_API_RECORD}) {
    open my $fh, '>>', "$dir/events-$$.jsonl" or die "$dir: $!";
    for my $r ($crm->requests) {
        next if $r->{answered} == 401;
        print $fh $SbTest::JSON->encode({ test => $0, headers => $r->{headers},
                                          body => unpack('H*', $r->{body}) }),
                  "\n";
    }
    close $fh;
}

done_testing;
