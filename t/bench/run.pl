#!/usr/bin/env perl
# Side-by-side benchmark on one nginx: wrk against Switchboard's durable
# POST /visitor/messages, nginx's own `return 204` and Nchan's publisher,
# then the latency from a visitor message to the agent's poll answer.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use SbTest;
use Time::HiRes qw(time sleep);
use POSIX qw(floor);

$| = 1;

use Cwd qw(abs_path);
my $module = abs_path(shift // die "usage: run.pl MODULE.so [CORE-BENCH]\n");
my $deadlines = shift;
$ENV{SB_MODULE} = $module;
my $duration = $ENV{BENCH_SECONDS} // 10;
my $conns = $ENV{BENCH_CONNECTIONS} // 64;
my $visitors = $ENV{BENCH_VISITORS} // 2000;
my $nchan = -f '/usr/lib/nginx/modules/ngx_nchan_module.so'
  ? 'load_module /usr/lib/nginx/modules/ngx_nchan_module.so;' : '';

my $t = SbTest->new(
    workers => 2, poll => '30s', presence => '90s',
    server => join("\n",
        'location = /204 { return 204; }',
        $nchan ? ('location = /nchan/pub { nchan_publisher; '
                  . 'nchan_channel_id bench; nchan_message_buffer_length 10; }',
                  'location = /nchan/sub { nchan_subscriber; '
                  . 'nchan_channel_id bench; }') : ()),
);
# signed WhatsApp webhooks, each a distinct message (R20, R21)
my $meta_secret = 'bench-meta-app-secret';
$t->{server} .= "\nlocation = /webhooks/whatsapp { switchboard_webhook "
              . "whatsapp; switchboard_webhook_secret $meta_secret; }";
# durable store: sync=on (the default), a map large enough for the run
$t->{store} = "switchboard_store $t->{prefix}/store size=4g sync=" . ($ENV{BENCH_SYNC} // "on") . ";";
(my $conf = $t->conf_text) =~ s/^load_module/$nchan\nload_module/m;
$conf =~ s/access_log \S+ sb;/access_log off;/;
$conf =~ s/error_log (\S+) info;/error_log $1 warn;/;
$t->write_file('conf/nginx.conf', $conf);
$t->start;

# one token per visitor: wrk's Lua script cycles through them
my $lua = "$t->{prefix}/visitor.lua";
open my $fh, '>', $lua or die;
print $fh "local tokens = {\n";
print $fh '"', $t->visitor("bench-$_", 'chat'), "\",\n" for 1 .. $visitors;
print $fh <<'LUA';
}
local i = 0
request = function()
  i = i + 1
  local tok = tokens[(i % #tokens) + 1]
  return wrk.format("POST", "/visitor/messages",
    { ["Authorization"] = "Bearer " .. tok,
      ["Content-Type"] = "application/json" },
    '{"text":"Hello, where is my order? 📦"}')
end
LUA
close $fh;

# pre-signed webhook bodies, each thread walking its own half (distinct
# message ids: the dedupe path would be cheaper and flatter the figure)
use Digest::SHA qw(hmac_sha256_hex);
my $hooks = $ENV{BENCH_WEBHOOKS} // 100000;
my $hook_lua = "$t->{prefix}/webhook.lua";
open $fh, '>', $hook_lua or die;
# Lua caps the constants of one function: the table is filled by chunks
print $fh "local hooks = {}\n";
for my $i (1 .. $hooks) {
    print $fh ";(function() local h = hooks\n" if $i % 10000 == 1;
    my $body = '{"object":"whatsapp_business_account","entry":[{"id":"W",'
      . '"changes":[{"field":"messages","value":{"messaging_product":'
      . '"whatsapp","metadata":{"phone_number_id":"1055"},"messages":[{'
      . '"from":"' . (33600000 + $i % $visitors) . '","id":"wamid.B' . $i
      . '","timestamp":"1763780000","type":"text","text":{"body":'
      . '"Hello, where is my order?"}}]}}]}]}';
    (my $lua_body = $body) =~ s/"/\\"/g;
    print $fh "h[#h+1] = {\"$lua_body\",\"sha256=",
              hmac_sha256_hex($body, $meta_secret), "\"}\n";
    print $fh "end)()\n" if $i % 10000 == 0 || $i == $hooks;
}
print $fh <<'LUA';
local n = 0
local threads = 0
setup = function(thread)
  thread:set("id", threads)
  threads = threads + 1
end
request = function()
  local k = (n * 2 + id) % #hooks + 1
  n = n + 1
  return wrk.format("POST", "/webhooks/whatsapp",
    { ["X-Hub-Signature-256"] = hooks[k][2],
      ["Content-Type"] = "application/json" }, hooks[k][1])
end
LUA
close $fh;

open $fh, '>', "$t->{prefix}/post.lua" or die;
print $fh 'wrk.method = "POST"; wrk.body = "{\"text\":\"hello\"}"', "\n";
close $fh;

sub wrk {
    my ($label, $path, $script) = @_;
    my $url = "http://127.0.0.1:$t->{port}$path";
    my $cmd = "wrk -t2 -c$conns -d${duration}s --latency "
            . ($script ? "-s $script " : '') . "$url 2>&1";
    my $out = `$cmd`;
    my ($rps) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my ($p50) = $out =~ /50%\s+([\d.]+\w+)/;
    my ($p99) = $out =~ /99%\s+([\d.]+\w+)/;
    my ($non2xx) = $out =~ /Non-2xx or 3xx responses: (\d+)/;
    printf "%-44s %10.0f req/s   p50 %-9s p99 %-9s%s\n", $label, $rps // 0,
      $p50 // '?', $p99 // '?', $non2xx ? "  ($non2xx non-2xx!)" : '';
    return $rps // 0;
}

chomp(my $ncpu = `nproc`);
print "machine: $ncpu cores, ",
      (`grep -m1 'model name' /proc/cpuinfo` =~ /:\s*(.*)/)[0], "\n";
print "wrk -t2 -c$conns -d${duration}s, nginx with 2 workers, same run\n\n";

# latency first, on an empty store: visitor message -> agent's poll
$t->add_agent('lat', capacity => { chat => 1000 });
$t->available('lat');
my $cursor = $t->events('lat', 0, 1)->{cursor} // 0;
my @lat;
for my $i (1 .. 200) {
    my $poll = $t->send_request('GET', "/agent/events?cursor=$cursor",
                                token => $t->agent('lat'));
    sleep 0.01;
    my $t0 = time;
    $t->raw_request('POST', '/visitor/messages',
                    token => $t->visitor("lat-$i", 'chat'),
                    body => { text => "ping $i" });
    my $res = $t->read_response($poll, 5);
    push @lat, time - $t0;
    $cursor = $res->{json}{cursor} // $cursor;
}
@lat = sort { $a <=> $b } @lat;
printf "\nvisitor message -> agent poll answer (200 samples, durable commit):"
     . " p50 %.2f ms, p99 %.2f ms\n", 1000 * $lat[floor(@lat * 0.5)],
       1000 * $lat[floor(@lat * 0.99)];
# the probe agent steps away: the load below measures ingestion + queueing
$t->available('lat', 'all', 0);

my $r204 = wrk('nginx return 204', '/204');
my $rpub = $nchan ? wrk('Nchan publish (memory)', '/nchan/pub',
                        "$t->{prefix}/post.lua") : 0;
my $rsb = wrk("Switchboard POST /visitor/messages ($visitors visitors)",
              '/visitor/messages', $lua);

my $rwh = wrk('Switchboard signed WhatsApp webhook', '/webhooks/whatsapp',
              $hook_lua);

printf "\nSwitchboard / return 204: %.2f\n", $rsb / ($r204 || 1);
printf "Switchboard / Nchan publish: %.2f\n", $rsb / $rpub if $rpub;
printf "webhook / return 204: %.2f\n", $rwh / ($r204 || 1);
printf "webhook / Nchan publish: %.2f\n", $rwh / $rpub if $rpub;

$t->stop;

exit 0 unless $deadlines;

# the deadline machinery on the core, then the same message load with
# 100,000 deadlines pending in the store (due in a day) versus none
my $pending = $ENV{BENCH_DEADLINES} // 100000;
print "\n";
my $scratch = "$t->{prefix}/core-bench";
mkdir $scratch;
print for `$deadlines $scratch`;

my $t2 = SbTest->new(workers => 2, poll => '30s', presence => '90s');
$t2->{secret} = $t->{secret};              # the same visitors' tokens
$t2->write_file('jwt.secret', "$t->{secret}\n");
$t->stop;
mkdir "$t2->{prefix}/store";
print "  filling a store with $pending pending deadlines...\n";
system("$deadlines $t2->{prefix}/store pending $pending > /dev/null") == 0
  or die "deadline fill failed\n";
$t2->{store} = "switchboard_store $t2->{prefix}/store size=4g sync=on;";
($conf = $t2->conf_text) =~ s/access_log \S+ sb;/access_log off;/;
$t2->write_file('conf/nginx.conf', $conf);
$t2->start;
$t = $t2;
my $with = wrk("Switchboard POST /visitor/messages, $pending pending",
               '/visitor/messages', $lua);
printf "with %d pending deadlines / with none: %.2f\n", $pending,
       $with / ($rsb || 1);
$t2->stop;
