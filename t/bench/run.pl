#!/usr/bin/env perl
# `make bench`: Switchboard beside nginx's own `return 204` and Nchan in one
# run, then the core, commit latency, pending deadlines and held polls.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib", $FindBin::Bin;
use Cwd qw(abs_path);
use IPC::Open2;
use Time::HiRes qw(sleep);
use SbTest;
use Load qw(webhook_body hook_script write_hooks visitor_script
            nchan_script wrk median);

$| = 1;
my ($module, $tools) = map { abs_path($_) } @ARGV;
die "usage: run.pl MODULE.so TOOLS_DIR\n" unless $module && -d $tools;
$ENV{SB_MODULE} = $module;

my $seconds  = $ENV{BENCH_SECONDS} // 8;
my $rounds   = $ENV{BENCH_ROUNDS} // 3;
my $conns    = $ENV{BENCH_CONNECTIONS} // 256;
my $pending  = $ENV{BENCH_DEADLINES} // 1_000_000;
my $polls    = $ENV{BENCH_POLLS} // 20_000;
my $bodies   = $ENV{BENCH_BODIES} // 320_000;    # per wrk thread and round
my $senders  = 2000;
my $secret   = 'bench-meta-app-secret';
my $nchan_so = '/usr/lib/nginx/modules/ngx_nchan_module.so';
# descriptors: as many as the hard limit lets a worker have
chomp(my $nofile = `sh -c 'ulimit -Hn'`);
$nofile = 65536 if $nofile !~ /^\d+$/ || $nofile > 65536;
my $webhook  = "location = /webhooks/whatsapp { switchboard_webhook "
             . "whatsapp; switchboard_webhook_secret $secret; }";

# --- the machine ----------------------------------------------------------

chomp(my $cores = `nproc`);
my ($cpu) = `grep -m1 'model name' /proc/cpuinfo` =~ /:\s*(.*)/;
my ($mem) = `grep MemTotal /proc/meminfo` =~ /(\d+)/;
my ($fs) = (split ' ', (`df -T /tmp | tail -1`))[1];
chomp(my $kernel = `uname -r`);
(my $nginx = `nginx -v 2>&1`) =~ s/.*version: //s;
chomp $nginx;
printf "machine: %s cores, %s, %.0f GiB, kernel %s, /tmp on %s; %s\n",
       $cores, $cpu // '?', $mem / 1048576, $kernel, $fs // '?', $nginx;
print "nginx 2 workers; wrk -t2 -c$conns, $rounds rounds of ${seconds}s "
    . "interleaved, medians; wrk shares the cores\n\n";

# A benchmark nginx: quiet logs, room for connections, a store that holds
# the run; sync=on (durable) unless BENCH_SYNC says otherwise.
sub server {
    my (%o) = @_;
    my $t = SbTest->new(workers => 2, poll => $o{poll} // '30s',
                        presence => '3600s', server => $o{server} // '');
    $t->{module} = $o{module} if $o{module};
    $t->{store} = "switchboard_store " . ($o{store} // "$t->{prefix}/store")
                . " size=8g sync=" . ($ENV{BENCH_SYNC} // 'on') . ';';
    (my $conf = $t->conf_text) =~ s/access_log \S+ sb;/access_log off;/;
    $conf =~ s/error_log (\S+) info;/error_log $1 warn;/;
    my $max = $o{connections} // 4096;
    $conf =~ s/worker_connections 1024;/worker_connections $max;/;
    $conf =~ s/^daemon on;/daemon on;\nworker_rlimit_nofile $nofile;/m;
    $conf =~ s/^load_module/load_module $nchan_so;\nload_module/m
      if $o{nchan};
    $t->write_file('conf/nginx.conf', $conf);
    return $t->start;
}

sub tool { my $name = shift; return "$tools/$name" }

# --- 1. the core, no nginx ------------------------------------------------

my $scratch = SbTest->new(workers => 1)->{prefix};
mkdir "$scratch/core";
my $core = `${\ tool('core')} $scratch/core`;
die "core bench failed\n" if $?;
print $core;
my ($route_ratio) = $core =~ m{1,000 agents / 10 agents throughput: ([\d.]+)};
print "\n";

# --- 2. commit latency, idle server ----------------------------------------

my $nchan = -f $nchan_so;
my $main = server(nchan => $nchan, server => join "\n", $webhook,
    'location = /204 { return 204; }',
    'location ~ ^/nchan/pub/(\w+)$ { nchan_publisher; '
    . 'nchan_channel_id $1; nchan_message_buffer_length 10; }');
$main->add_agent('lat', capacity => { chat => 1000 });
$main->available('lat');
my $lat = join ' ', tool('latency'), $main->{port}, $main->agent('lat'),
                   $main->visitor('v-lat', 'chat'), 500, $main->{prefix};
$lat = `$lat`;
print $lat;
my ($lat_ratio) = $lat =~ /O_DSYNC p50: ([\d.]+)/;
# the probe agent steps away: the load below is ingestion and queueing
$main->available('lat', 'all', 0);
print "\n";

# --- 3. throughput, side by side ---------------------------------------------

my $p = $main->{prefix};
print "signing ", 2 * $rounds * $bodies, " webhook bodies...\n";
for my $r (1 .. $rounds) {
    write_hooks("$p/hooks-$r-$_.lua", $r, $_, $bodies, $senders, $secret)
      for 0, 1;
}
hook_script("$p/webhook.lua", "$p/hooks", '/webhooks/whatsapp');
my $hook_size = length webhook_body('R1T0N1', 33600000);
nchan_script("$p/nchan.lua", 'x' x $hook_size, 1000);
visitor_script("$p/visitor.lua", '{"text":"Hello, where is my order? 📦"}',
               map { $main->visitor("bench-$_", 'chat') } 1 .. $senders);

# BENCH_BASELINE=/path/to/another/module.so: the same visitor and webhook
# load on that build too, interleaved, to compare two versions in one run
my $base;
if (my $so = $ENV{BENCH_BASELINE}) {
    $base = server(module => abs_path($so), server => $webhook);
    hook_script("$base->{prefix}/webhook.lua", "$p/hooks",
                '/webhooks/whatsapp');
    visitor_script("$base->{prefix}/visitor.lua",
                   '{"text":"Hello, where is my order? 📦"}',
                   map { $base->visitor("bench-$_", 'chat') } 1 .. $senders);
}

my %runs;
sub measure {
    my ($label, $t, %o) = @_;
    my $r = wrk(connections => $conns, seconds => $seconds,
                port => $t->{port}, %o);
    push @{ $runs{$label} }, $r;
    printf "  %-52s %8.0f req/s  p50 %-8s p99 %-8s%s%s\n", $label, $r->{rps},
      $r->{p50} // '?', $r->{p99} // '?',
      $r->{non2xx} ? "  $r->{non2xx} non-2xx!" : '',
      $r->{errors} ? "  socket errors: $r->{errors}" : '';
    warn "  (ids repeated: $r->{sent} sent by one thread, $bodies signed)\n"
      if ($r->{sent} // 0) > $bodies;
}
sub rate { median(map { $_->{rps} } @{ $runs{ $_[0] } }) }

my ($R204, $RNCHAN, $RVIS, $RHOOK) = ('nginx return 204',
    'Nchan publish, 1000 channels, memory',
    "Switchboard visitor messages ($senders visitors)",
    'Switchboard signed WhatsApp webhooks');
my ($BVIS, $BHOOK) = ('baseline visitor messages', 'baseline signed webhooks');
for my $r (1 .. $rounds) {
    print "round $r\n";
    measure($R204, $main, path => '/204');
    measure($RNCHAN, $main, path => '/nchan/pub/0', script => "$p/nchan.lua")
      if $nchan;
    # with a baseline, each load runs on the two builds back to back, and
    # every other round the baseline goes first: what the host does
    # meanwhile then falls on both builds alike
    my @vis = ([$RVIS, $main, "$p/visitor.lua"]);
    my @hook = ([$RHOOK, $main, "$p/webhook.lua"]);
    if ($base) {
        push @vis, [$BVIS, $base, "$base->{prefix}/visitor.lua"];
        push @hook, [$BHOOK, $base, "$base->{prefix}/webhook.lua"];
        @$_ = reverse @$_ for $r % 2 ? () : (\@vis, \@hook);
    }
    measure($_->[0], $_->[1], path => '/visitor/messages',
            script => $_->[2]) for @vis;
    measure($_->[0], $_->[1], path => '/webhooks/whatsapp',
            script => $_->[2], arg => $r) for @hook;
}
$main->stop;
if ($base) {
    $base->stop;
    printf "\nbaseline %s: visitor messages %.0f req/s, webhooks %.0f req/s\n",
      $ENV{BENCH_BASELINE}, rate($BVIS), rate($BHOOK);
    # the pair of one round ran back to back: the median of the rounds'
    # ratios compares the builds, the ratio of medians mixes rounds
    for ([visitor => $RVIS, $BVIS], [webhooks => $RHOOK, $BHOOK]) {
        my ($what, $now, $then) = @$_;
        my $by = per_round($now, $then);
        printf "  this build / baseline, %-8s by round %s: median %.2f "
             . "(ratio of medians %.2f)\n", $what, $by,
          median(split ' ', $by), rate($now) / (rate($then) || 1);
    }
}

my %fig = (r204 => rate($R204), nchan => $nchan ? rate($RNCHAN) : 0,
           visitor => rate($RVIS), webhook => rate($RHOOK));
print "\nmedians (req/s): ",
      join(', ', map { "$_ $fig{$_}" } qw(r204 nchan visitor webhook)), "\n";
for my $k (qw(webhook visitor)) {
    printf "  %-8s / Nchan publish %.2f (target >= 0.5), / return 204 %.2f "
         . "(target >= 0.25)\n", $k, $fig{$k} / ($fig{nchan} || 1),
         $fig{$k} / ($fig{r204} || 1);
}
# the same ratios round by round: the machine drifts within a run
sub per_round {
    my ($num, $den) = @_;
    return join ' ', map {
        sprintf '%.2f', $runs{$num}[$_]{rps} / ($runs{$den}[$_]{rps} || 1)
    } 0 .. $#{ $runs{$num} };
}
printf "  round by round: webhook / Nchan %s, visitor / Nchan %s\n",
       per_round($RHOOK, $RNCHAN), per_round($RVIS, $RNCHAN) if $nchan;
printf "  round by round: webhook / 204 %s, visitor / 204 %s\n",
       per_round($RHOOK, $R204), per_round($RVIS, $R204);
print "\n";

# --- 4. webhooks with 1,000,000 pending deadlines, against none -------------

print "filling two stores of $pending conversations (snoozed a day / "
    . "ended)...\n";
my %store;
for my $kind (qw(pending ended)) {
    $store{$kind} = "$scratch/$kind";
    mkdir $store{$kind};
    system("${\ tool('core')} $store{$kind} $kind $pending") == 0
      or die "filling the $kind store failed\n";
}
my %srv = map { $_ => server(store => $store{$_}, server => $webhook) }
          qw(pending ended);
hook_script("$_->{prefix}/webhook.lua", "$p/hooks", '/webhooks/whatsapp')
  for values %srv;
for my $r (1 .. $rounds) {
    print "round $r\n";
    # each round swaps which store goes first: the host's drift within a
    # round then falls on both sides alike
    for my $kind ($r % 2 ? qw(pending ended) : qw(ended pending)) {
        measure("webhooks, $pending conversations, $kind", $srv{$kind},
                path => '/webhooks/whatsapp',
                script => "$srv{$kind}{prefix}/webhook.lua", arg => $r);
    }
}
$_->stop for values %srv;
my $dl_ratio = rate("webhooks, $pending conversations, pending")
             / (rate("webhooks, $pending conversations, ended") || 1);
printf "\nwith %d pending deadlines / with none: %.2f (target >= 0.95)\n\n",
       $pending, $dl_ratio;

# --- 5. memory of held polls --------------------------------------------------

my $held = server(connections => $nofile, poll => '300s');
$held->add_agent('mem');
sub rss {
    my $sum = 0;
    for my $pid ($held->worker_pids) {
        open my $f, '<', "/proc/$pid/status" or next;
        /^VmRSS:\s+(\d+)/ and $sum += $1 * 1024 while <$f>;
    }
    return $sum;
}
# each process holds at most 10,000 (the descriptors' hard limit here)
sub hold {
    my ($n) = @_;
    my @procs;
    for (my $left = $n; $left > 0; $left -= 10000) {
        my $k = $left < 10000 ? $left : 10000;
        my $pid = open2(my $out, my $in, tool('polls'), $held->{port},
                        $held->agent('mem'), $k);
        my $line = <$out> // '';
        die "polls: $line\n" unless $line =~ /^held/;
        push @procs, [$pid, $in];
    }
    return @procs;
}
sub release { for (@_) { print { $_->[1] } "\n"; close $_->[1]; waitpid $_->[0], 0 } }

release(hold(2000));                 # first polls: pools and tables exist
sleep 1;
my $before = rss();
my @procs = hold($polls);
sleep 2;
my $after = rss();
release(@procs);
$held->stop;
my $per_poll = ($after - $before) / $polls;
printf "%d held polls: workers' RSS %.1f MB -> %.1f MB, %.0f bytes per "
     . "poll (target <= 4096)\n", $polls, $before / 1e6, $after / 1e6,
     $per_poll;

# --- summary ----------------------------------------------------------------

print "\nsummary\n";
printf "  %-46s %s\n", @$_ for
  ['webhooks / Nchan publish', sprintf('%.2f', $fig{webhook} / ($fig{nchan} || 1))],
  ['webhooks / return 204', sprintf('%.2f', $fig{webhook} / ($fig{r204} || 1))],
  ['visitor messages / Nchan publish', sprintf('%.2f', $fig{visitor} / ($fig{nchan} || 1))],
  ['visitor messages / return 204', sprintf('%.2f', $fig{visitor} / ($fig{r204} || 1))],
  ['poll answer p50 / 4 KB O_DSYNC p50', $lat_ratio // '?'],
  ["webhooks with $pending pending deadlines / none", sprintf('%.2f', $dl_ratio)],
  ['bytes per held poll', sprintf('%.0f', $per_poll)],
  ['core routing, 1,000 agents / 10', $route_ratio // '?'];
