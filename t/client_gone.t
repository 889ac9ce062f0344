# Clients that leave while their command is in a batch in flight (issue 8,
# item 8; R26): the request stays alive until its commit is answered, the
# answer to a closed connection fails quietly, nothing is finalized twice
# or after it was freed (run under `make test-asan` to prove the last).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_LINGER);
use Digest::SHA qw(hmac_sha256_hex);
use Time::HiRes qw(sleep);
use SbTest;

my $t = SbTest->new(server => 'location = /webhooks/whatsapp { '
    . 'switchboard_webhook whatsapp; switchboard_webhook_secret s3cret; }')
    ->start;
$t->add_agent('ann', capacity => { chat => 1000, messaging => 1000 });
$t->available('ann');

# Sends a whole request and goes: a plain close, or a reset (SO_LINGER 0).
sub send_and_go {
    my ($req, $reset) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $t->{port}) or die "connect: $!";
    binmode $s;
    print $s $req;
    setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0)) if $reset;
    close $s;
}
sub visitor_post {
    my ($i) = @_;
    my $body = qq({"text":"gone $i"});
    return "POST /visitor/messages HTTP/1.1\r\nHost: localhost\r\n"
         . 'Authorization: Bearer ' . $t->visitor("gone$i", 'chat') . "\r\n"
         . "Content-Type: application/json\r\n"
         . 'Content-Length: ' . length($body) . "\r\n\r\n$body";
}
sub webhook_post {
    my ($i) = @_;
    my $body = '{"object":"whatsapp_business_account","entry":[{"id":"1",'
      . '"changes":[{"field":"messages","value":{"messaging_product":'
      . '"whatsapp","metadata":{"phone_number_id":"1055"},"messages":[{'
      . '"from":"3360000' . sprintf('%04d', $i) . '","id":"wamid.GONE' . $i
      . '","timestamp":"1","type":"text","text":{"body":"gone"}}]}}]}]}';
    return "POST /webhooks/whatsapp HTTP/1.1\r\nHost: localhost\r\n"
         . 'X-Hub-Signature-256: sha256=' . hmac_sha256_hex($body, 's3cret')
         . "\r\nContent-Type: application/json\r\n"
         . 'Content-Length: ' . length($body) . "\r\n\r\n$body";
}

my @w = $t->worker_pids;
for my $i (1 .. 150) {
    send_and_go(visitor_post($i), $i % 2);
    send_and_go(webhook_post($i), $i % 3 == 0);
}
sleep 1;

is_deeply([ $t->worker_pids ], \@w, 'the same workers: none crashed');
unlike($t->error_log, qr/exited on signal|AddressSanitizer|runtime error/,
       'no crash and no sanitizer report');
my @lines = grep { m{ (/visitor/messages|/webhooks/whatsapp) } }
            $t->access_log;
is(scalar @lines, 300, 'each of the 300 requests was finalized once '
   . '(one access log line each)');

# what committed is whole and the server goes on as before
my $r = $t->say_visitor('after', 'chat', 'still here');
is($r->{status}, 201, 'a new request is answered');
my $stored = grep { $_->{visitor} =~ /^gone\d+$/ }
             @{ $t->get('/admin/conversations?limit=500', $t->admin)->{json}
                {conversations} };
cmp_ok($stored, '<=', 150, "the visitors' messages that reached a commit "
       . "are stored once each ($stored)");

$t->stop;
$t->check_log;
done_testing;
