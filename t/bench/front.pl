#!/usr/bin/env perl
# `make bench-cluster` (issue 12): the front's own cost. Three nodes and
# the front (conf/cluster/, as t/cluster.t runs them) on loopback; the
# same load sent to a tenant's node directly and through the front, in
# interleaved rounds: GET /health (a read, the front's cost shows) and
# visitor messages (durable commits, what a tenant does).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib", $FindBin::Bin;
use Cwd qw(abs_path);
use SbTest;
use Cluster;
use Load qw(wrk median);

$| = 1;
my ($module) = map { abs_path($_) } @ARGV;
die "usage: front.pl MODULE.so\n" unless $module;
$ENV{SB_MODULE} = $module;
my $seconds = $ENV{BENCH_SECONDS} // 5;
my $rounds  = $ENV{BENCH_ROUNDS} // 3;
my $conns   = $ENV{BENCH_CONNECTIONS} // 64;
my $jwt = 'bench-cluster-jwt-' . join('', map { int rand 10 } 1 .. 20);

chomp(my $cores = `nproc`);
print "3 nodes (2 workers each) + the front (2 workers) + wrk on $cores "
    . "cores, loopback; wrk -t2 -c$conns, $rounds rounds of ${seconds}s, "
    . "medians\n";

my @nodes = Cluster::nodes(jwt => $jwt, quiet => 1,
                           http => 'switchboard_presence_timeout 3600s;');
my $f = Cluster::front(\@nodes, jwt => $jwt, quiet => 1);
$f->start;

# a tenant, and the node the front sends it to
my $host = 't01.sb.test';
my $r = $f->request('PUT', '/admin/agents/ann', host => $host,
                    token => $f->token('root', 'admin', tnt => 't01'),
                    body => { name => 'Ann' });
die "setup: $r->{status} $r->{body}\n" unless $r->{status} =~ /^20/;
my ($n) = ($r->{headers}{'x-node'} // '') =~ /(\d)/ or die "no X-Node\n";
my $node = $nodes[$n - 1];

my $script = "$f->{prefix}/visitor.lua";
my $token = $f->token('v1', 'visitor', tnt => 't01', chn => 'chat');
open my $fh, '>', $script or die $!;
print $fh <<"LUA";
function request()
  return wrk.format("POST", "/visitor/messages",
    { ["Host"] = "$host", ["Authorization"] = "Bearer $token",
      ["Content-Type"] = "application/json" },
    '{"text":"Hello, where is my order?"}')
end
LUA
close $fh;

my %rps;
for my $round (1 .. $rounds) {
    for my $via ([ direct => $node->{port} ], [ front => $f->{port} ]) {
        my ($name, $port) = @$via;
        my $h = wrk(connections => $conns, seconds => $seconds, port => $port,
                    path => "/health -H 'Host: $host'");
        push @{ $rps{"health $name"} }, $h->{rps};
        my $v = wrk(connections => $conns, seconds => $seconds, port => $port,
                    path => '/visitor/messages', script => $script);
        warn "non-2xx: $v->{non2xx}\n" if $v->{non2xx};
        push @{ $rps{"visitor $name"} }, $v->{rps};
    }
}
for my $what ('health', 'visitor') {
    my ($d, $fr) = map { median(@{ $rps{"$what $_"} }) } qw(direct front);
    printf "  %-34s direct %8.0f/s  through the front %8.0f/s  ratio %.2f\n",
           $what eq 'health' ? 'GET /health (a read)'
                             : 'visitor messages (durable)', $d, $fr,
           $d ? $fr / $d : 0;
}
$f->stop;
$_->stop for @nodes;
