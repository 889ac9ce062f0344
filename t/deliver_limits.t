# Issue 19, item 7 (R22, event webhooks): deliveries and event POSTs in
# flight are capped per worker (switchboard_deliver_concurrency); what is
# over the cap stays due and goes as slots free, oldest first. Before,
# one FIRE after an outage claimed up to 512 jobs, each a connection to
# the provider at once.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use Time::HiRes qw(time sleep);
use SbTest;
use FakeProvider;

my $provider = FakeProvider->new(delay => 0.15);
my $crm = FakeProvider->new(delay => 0.05);
my ($pp, $cp) = ($provider->port, $crm->port);
my $secret = 'meta-app-secret-limits';
my $t = SbTest->new(
    presence => '60s',
    http => 'switchboard_deliver_concurrency 2; '
          . 'switchboard_event_webhook_secret crm-secret-0123456789abcdef;',
    server => "location = /webhooks/whatsapp { switchboard_webhook whatsapp; "
            . "switchboard_webhook_secret $secret; }\n"
            . "switchboard_deliver whatsapp /_deliver/whatsapp;\n"
            . "location /_deliver/whatsapp { internal; "
            . "proxy_pass http://127.0.0.1:$pp; proxy_read_timeout 30s; }\n"
            . "switchboard_event_webhook /_crm message.created;\n"
            . "location /_crm { internal; proxy_pass http://127.0.0.1:$cp; "
            . "proxy_read_timeout 30s; }")->start;
$t->add_agent('ann', capacity => { messaging => 20 });
$t->available('ann');

sub whatsapp {
    my ($from) = @_;
    my $body = $SbTest::JSON->encode({ object => 'whatsapp_business_account',
        entry => [ { id => 'W', changes => [ { field => 'messages', value => {
            metadata => { phone_number_id => '1055' },
            messages => [ { from => $from, id => "in.$from", timestamp => '1',
                            type => 'text', text => { body => 'hi' } } ] } } ] } ] });
    return $t->request('POST', '/webhooks/whatsapp', body => $body,
        headers => { 'X-Hub-Signature-256' => 'sha256='
                                               . hmac_sha256_hex($body, $secret) });
}

# twelve visitors, and a reply to each: twelve deliveries due at once
my $n = 12;
for (1 .. $n) {
    my $r = whatsapp("3360$_");
    die "whatsapp: $r->{body}" unless ($r->{json}{stored} // 0) == 1;
}
my @convs = map { $_->{id} } sort { $a->{visitor} cmp $b->{visitor} }
            grep { $_->{channel} eq 'whatsapp' }
            @{ $t->get('/admin/conversations', $t->admin)->{json}{conversations} };
is(scalar @convs, $n, "$n WhatsApp conversations");
my $ann = $t->agent('ann');
my @replies;
for my $i (0 .. $#convs) {
    my $r = $t->post("/agent/conversations/$convs[$i]/messages", $ann,
                     { text => "reply $i" });
    push @replies, [$convs[$i], $r->{json}{message}{seq}];
}

# while they go: never more than 2 per worker at the provider, nor at the CRM
my ($max_p, $max_c) = (0, 0);
my $sent = sub {
    scalar grep { my ($c, $s) = @$_;
                  my ($m) = grep { $_->{seq} == $s }
                            @{ $t->get("/admin/conversations/$c?limit=10",
                                       $t->admin)->{json}{thread} };
                  ($m->{delivery}{state} // '') eq 'sent' } @replies;
};
my $t0 = time;
while (time - $t0 < 30) {
    my ($p, $c) = ($provider->connected, $crm->connected);
    $max_p = $p if $p > $max_p;
    $max_c = $c if $c > $max_c;
    last if $sent->() == $n;
    sleep 0.03;
}
is($sent->(), $n, "all $n replies delivered, in " . sprintf('%.1f s', time - $t0));
cmp_ok($max_p, '<=', 4, "at most 2 deliveries in flight per worker "
       . "(seen: $max_p at once, for 2 workers)");
cmp_ok($max_p, '>=', 1, '... and some in flight');
ok($t->wait_for(sub { scalar(() = $crm->requests) >= 2 * $n }, 20),
   'the message.created events all reach the CRM');
cmp_ok($max_c, '<=', 4, "at most 2 event POSTs in flight per worker "
       . "(seen: $max_c at once)");

# oldest first: a reply reaches the provider no later than the cap allows
my @order = map { $_->{body} =~ /reply (\d+)/ ? $1 : () } $provider->requests;
is(scalar @order, $n, 'the provider got each reply once');
my $late = grep { $order[$_] > $_ + 4 } 0 .. $#order;
is($late, 0, 'in the order they were due, give or take the slots in flight')
  or diag "@order";

# nginx -t
my $bad = SbTest->new(http => 'switchboard_deliver_concurrency 0;');
my ($code, $out) = $bad->test_conf;
isnt($code, 0, 'nginx -t refuses a concurrency of 0');
like($out, qr/switchboard_deliver_concurrency must be 1-4096/, '... and says why');

$t->stop;
$t->check_log;
done_testing;
