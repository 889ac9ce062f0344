# switchboard_metrics (issue 9, item 2): known traffic, then exact counts
# on every scrape, whichever worker answers; a killed worker loses none;
# the whole answer read by a strict exposition parser (t/lib/PromText.pm).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes ();
use Digest::SHA qw(hmac_sha256_hex);
use PromText;
use SbTest;

my $secret = 'metrics-secret-0123456789';
my $t = SbTest->new(server => 'location = /metrics { switchboard_metrics; '
                            . 'allow 127.0.0.1; deny all; } '
                            . 'location = /webhooks/whatsapp { '
                            . 'switchboard_webhook whatsapp; '
                            . "switchboard_webhook_secret $secret; }");
$t->start;
$t->add_agent('ann', capacity => { chat => 1 });
$t->available('ann');

# chat: two visitors (the second waits: ann holds one chat), a replay
my $c1 = $t->say_visitor('v1', 'chat', 'one', headers => {
    'Idempotency-Key' => 'k1' })->{json}{conversation};
is($t->say_visitor('v1', 'chat', 'one', headers => {
    'Idempotency-Key' => 'k1' })->{status}, 200, 'a replay');
$t->say_visitor('v1', 'chat', 'two');
$t->say_visitor('v2', 'chat', 'waits');
is($t->post("/agent/conversations/$c1/messages", $t->agent('ann'),
            { text => 'hi' })->{status}, 201, 'an agent message');
is($t->post('/agent/conversations/c999/messages', $t->agent('ann'),
            { text => 'x' })->{status}, 404, 'a refusal in the store');

# WhatsApp: a delivery of two, the same again, a bad signature, a bad id
sub wa {
    my ($from, @ids) = @_;
    return $SbTest::JSON->encode({ object => 'whatsapp_business_account',
        entry => [ { id => '1', changes => [ { field => 'messages',
            value => { metadata => { phone_number_id => '1055' },
                       messages => [ map { { from => $from, id => $_,
                           type => 'text', text => { body => $_ } } }
                           @ids ] } } ] } ] });
}
sub hook {
    my ($body, $sig) = @_;
    return $t->request('POST', '/webhooks/whatsapp', body => $body,
        headers => { 'X-Hub-Signature-256' => $sig
                     // 'sha256=' . hmac_sha256_hex($body, $secret) });
}
my $two = wa('33611', 'wamid.1', 'wamid.2');
is(hook($two)->{status}, 200, 'a delivery of two');
is(hook($two)->{status}, 200, 'the same again');
is(hook($two, 'sha256=' . '0' x 64)->{status}, 403, 'a bad signature');
is(hook(wa('a b/c', 'wamid.3'))->{status}, 400, 'a bad sender id');

# polls held now: a visitor's, then two of an agent's, on any worker
my $vcursor = $t->get('/visitor/events?cursor=0',
                      $t->visitor('v2', 'chat'))->{json}{cursor};
my @held = ($t->send_request('GET', "/visitor/events?cursor=$vcursor",
                             token => $t->visitor('v2', 'chat')));
my $cursor = 0;
while (1) {
    my $r = $t->events('ann', $cursor, 1);
    last unless @{ $r->{events} };
    $cursor = $r->{cursor};
}
push @held, map { $t->send_request('GET', "/agent/events?cursor=$cursor",
                                   token => $t->agent('ann')) } 1 .. 2;
Time::HiRes::sleep(0.3);

sub scrape {
    my $r = $t->get('/metrics');
    is($r->{status}, 200, 'scrape: 200') or diag $r->{body};
    like($r->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4},
         '... in the text format');
    my $fam = eval { PromText::parse($r->{body}) };
    ok($fam, '... which the strict parser reads') or diag $@;
    return $fam || {};
}
my $m = scrape();
my %want = (
    'switchboard_messages_total{channel=chat,author=visitor}' => 3,
    'switchboard_messages_total{channel=chat,author=agent}' => 1,
    'switchboard_messages_total{channel=whatsapp,author=visitor}' => 2,
    'switchboard_webhooks_total{channel=whatsapp,result=received}' => 4,
    'switchboard_webhooks_total{channel=whatsapp,result=bad_signature}' => 1,
    'switchboard_webhooks_total{channel=whatsapp,result=refused}' => 1,
    'switchboard_webhook_duplicates_total{channel=whatsapp}' => 2,
    # the replay goes through the write path too, and stores nothing
    'switchboard_commands_total{command=visitor_message,result=committed}' => 4,
    'switchboard_commands_total{command=agent_message,result=committed}' => 1,
    'switchboard_commands_total{command=agent_message,result=unknown_conversation}' => 1,
    'switchboard_commands_total{command=webhook,result=committed}' => 2,
    'switchboard_polls_held{kind=agent}' => 2,
    'switchboard_polls_held{kind=visitor}' => 1,
    'switchboard_queue_length{tenant=default,group=default,class=chat}' => 1,
    'switchboard_conversations{tenant=default,state=queued}' => 1,
    'switchboard_conversations{tenant=default,state=assigned}' => 2,
    'switchboard_agents{tenant=default,class=chat,status=orange}' => 1,
    'switchboard_agents{tenant=default,class=messaging,status=green}' => 1,
    'switchboard_store_size_bytes' => 256 << 20,
);
sub series {
    my ($m, $s) = @_;
    my ($name, $l) = $s =~ /^(\w+)(?:\{(.*)\})?$/;
    return PromText::value($m, $name, map { split /=/ } split /,/, $l // '');
}
sub check_all {
    my ($m, $when) = @_;
    for my $s (sort keys %want) {
        is(series($m, $s), $want{$s}, "$when: $s = $want{$s}");
    }
    # every command of every batch is in one result or another
    my $commands = 0;
    $commands += $_->[2] for @{ $m->{switchboard_commands_total}{samples} };
    is(PromText::value($m, 'switchboard_commit_batch_size_sum') + 0,
       $commands, "$when: the batch sizes add up to the commands counted");
}
check_all($m, 'first scrape');
cmp_ok(series($m, 'switchboard_queue_oldest_wait_seconds{tenant=default,'
                  . 'group=default,class=chat}'), '>', 0,
       'the queue has an oldest wait');
is(series($m, 'switchboard_deadlines_pending{kind=reply}'), 1,
   "the WhatsApp conversation's first-reply deadline is pending");
cmp_ok(series($m, 'switchboard_store_used_bytes'), '>', 0,
       'the store has pages in use');

# every worker answers the same (the counters are shared), and a worker
# killed takes none with it (its held polls are let go: the gauge says so)
my %bodies;
for (1 .. 8) {
    my $r = $t->get('/metrics');
    # what moves by itself: the wait, and the disk's free bytes (and the
    # room and fill ratio read from them: issue 20)
    (my $counters = $r->{body})
      =~ s/^switchboard_(queue_oldest|store_disk_free|store_room|store_fill).*\n//mg;
    $bodies{$counters}++;
}
is(scalar keys %bodies, 1, 'eight scrapes, one answer');
my $head = $t->request('HEAD', '/metrics');
is($head->{status}, 200, 'HEAD: 200');
is($head->{body}, '', 'HEAD: no body');
is($t->post('/metrics', undef, {})->{status}, 405, 'POST: 405');
$t->read_response($_, 3) for @held;
$want{'switchboard_polls_held{kind=agent}'} = 0;
$want{'switchboard_polls_held{kind=visitor}'} = 0;
my @w = $t->worker_pids;
kill 'KILL', $w[0];
$t->wait_workers([ $w[0] ]);
check_all(scrape(), 'after kill -9 of a worker');

# the parser is strict: it refuses what the format does not allow
my %bad = (
    'a sample without TYPE' => "x 1\n",
    'a series twice' => "# TYPE x_total counter\nx_total{a=\"1\"} 1\n"
                        . "x_total{a=\"1\"} 2\n",
    'a counter not named _total' => "# TYPE x counter\nx 1\n",
    'an unquoted label value' => "# TYPE x_total counter\nx_total{a=b} 1\n",
    'no final newline' => "# TYPE x_total counter\nx_total 1",
    'a bucket count going down' => "# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
        . "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
);
for my $what (sort keys %bad) {
    ok(!eval { PromText::parse($bad{$what}); 1 }, "the parser refuses $what");
}

is($t->request('POST', '/metrics')->{status}, 405, 'POST: 405');
my @bad = grep { /\[(alert|emerg|crit)\]/ && !/exited on signal 9/ }
          split /\n/, $t->error_log;
ok(!@bad, 'no alert, crit or emerg but the kill') or diag "@bad";
done_testing;
