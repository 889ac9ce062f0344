# Beyond one machine (issue 12): a front of plain nginx (conf/cluster/
# front.conf, as shipped, addresses and paths swapped for the test's) and
# three nodes (conf/cluster/node.conf), each with its own store and two
# workers, on loopback. 30 tenants spread by consistent hashing; a node
# killed and restarted; a tenant moved with sb-tenant while another
# tenant's traffic goes on; sb-tenant's refusals.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(hmac_sha256_hex sha256);
use POSIX qw(_exit);
use Time::HiRes qw(time sleep);
use SbTest;
use FakeProvider;
use Cluster;

# the answers here are the front's and the cluster's, not one module's
# API under test: the OpenAPI check reads the other tests' answers
delete $ENV{SB_API_RECORD};

my $ROOT = $SbTest::ROOT;
my $tool = "$ROOT/build/sb-tenant";
my $jwt = 'cluster-jwt-' . join('', map { int rand 10 } 1 .. 24);
my $meta = 'meta-app-secret-0123456789';
my $provider = FakeProvider->new;       # WhatsApp's send API, every node's
my $pp = $provider->port;

sub slurp { Cluster::slurp(@_) }

# sb-tenant, never under the sanitizer's preload (it is not built with it)
sub tool {
    my $cmd = join ' ', map { "'$_'" } @_;
    my $out = `env -u LD_PRELOAD '$tool' $cmd 2>&1`;
    return ($? >> 8, $out);
}

# -- three nodes (conf/cluster/node.conf) and the front (front.conf) --------
my $extra = 'switchboard_poll_timeout 2s; switchboard_presence_timeout 60s; '
          . 'switchboard_deliver_backoff 1s; switchboard_deliver_attempts 40;';
my $deliver = "switchboard_deliver whatsapp /_wa; location /_wa { internal; "
            . "proxy_pass http://127.0.0.1:$pp; }";
my @nodes = Cluster::nodes(jwt => $jwt, meta => $meta, http => $extra,
                           server => $deliver);
my $f = Cluster::front(\@nodes, jwt => $jwt);
my $fp = $f->{prefix};
my ($code, $out) = $f->test_conf;
is $code, 0, 'conf/cluster/front.conf passes nginx -t (plain nginx)'
  or diag $out;
unlike Cluster::slurp("$fp/conf/nginx.conf"),
       qr/load_module|switchboard_(?!node|tenant|nodes)\w+ /,
   '... and loads no Switchboard';
$f->start;

# a reload, and its old workers gone: until then one of them may still
# take a request with the old configuration (the README's procedure says
# to wait for them too)
sub reload_settled {
    my ($t) = @_;
    ok($t->reload_settled, 'the old workers are gone');
}

sub host { "$_[0].sb.test" }
sub admin   { $f->token('root', 'admin', tnt => $_[0]) }
sub agent   { $f->token($_[1] // 'ann', 'agent', tnt => $_[0]) }
sub visitor { $f->token($_[1], 'visitor', tnt => $_[0], chn => 'chat') }
sub req {
    my ($tenant, $method, $path, %o) = @_;
    return $f->request($method, $path, host => host($tenant), %o);
}
# each tenant its own WhatsApp number (an account belongs to one tenant)
sub wa_body {
    my ($tenant, $from, $id, $text) = @_;
    my ($n) = $tenant =~ /(\d+)$/;
    return $SbTest::JSON->encode({ object => 'whatsapp_business_account',
        entry => [ { id => 'WABA1', changes => [ { field => 'messages',
            value => { metadata => { phone_number_id => '10' . ($n // 0) },
                       messages => [ { from => $from, id => $id,
                           timestamp => '1763780000', type => 'text',
                           text => { body => $text } } ] } } ] } ] });
}
sub wa {
    my ($tenant, $from, $id, $text) = @_;
    my $body = wa_body($tenant, $from, $id, $text);
    return req($tenant, 'POST', '/webhooks/whatsapp', body => $body,
               headers => { 'X-Hub-Signature-256' => 'sha256='
                                . hmac_sha256_hex($body, $meta) });
}
sub node_of { my ($r) = @_; ($r->{headers}{'x-node'} // '') =~ /^n(\d)$/ ? $1 : 0 }
sub listed {
    my ($n) = @_;
    my ($c, $o) = tool('list', "$nodes[$n - 1]{prefix}/store");
    return sort split /\n/, $o;
}

# -- 30 tenants, every kind of request, each tenant on one node --------------
my @tenants = map { sprintf 't%02d', $_ } 1 .. 30;
my (%home, @bad);
for my $tn (@tenants) {
    my @r = (
        req($tn, 'PUT', '/admin/agents/ann', token => admin($tn),
            body => { name => 'Ann', groups => ['default'] }),
        req($tn, 'PUT', '/agent/availability', token => agent($tn),
            body => { class => 'all', available => JSON::PP::true }),
        req($tn, 'POST', '/visitor/messages', token => visitor($tn, 'v1'),
            body => { text => "hello from $tn" }),
        req($tn, 'GET', '/agent/events?cursor=0', token => agent($tn)),
        wa($tn, '33611', "wamid.$tn.1", "whatsapp to $tn"),
        req($tn, 'GET', '/admin/stats', token => admin($tn)),
    );
    my %nodes = map { node_of($_) => 1 } @r;
    push @bad, "$tn: " . join(' ', map { "$_->{status}/n" . node_of($_) } @r)
      if keys %nodes != 1 || grep { $_->{status} !~ /^20[01]$/ } @r;
    $home{$tn} = node_of($r[0]);
}
is_deeply \@bad, [], 'each tenant: admin, availability, visitor message, '
   . 'poll, signed webhook and stats all answered, by one node';
my %count;
$count{ $home{$_} }++ for @tenants;
is scalar(keys %count), 3, 'the hash spreads the 30 tenants over the '
   . 'three nodes (' . join(', ', map { "n$_: $count{$_}" } sort keys %count)
   . ')';
for my $n (1 .. 3) {
    is_deeply [ listed($n) ], [ sort grep { $home{$_} == $n } @tenants ],
       "node ${n}'s store holds its tenants and no other";
}

# -- a node killed: only its tenants fail, cleanly -----------------------------
my @procs = ($nodes[1]->master_pid, $nodes[1]->worker_pids);
kill 'KILL', @procs;
$f->wait_for(sub { !grep { kill 0, $_ } @procs }, 5);
$nodes[1]{running} = 0;
my (@down, @up_bad);
for my $tn (@tenants) {
    my $r = req($tn, 'GET', '/admin/stats', token => admin($tn));
    if ($home{$tn} == 2) {
        push @down, $tn if $r->{status} == 502
            && ($r->{json}{error}{code} // '') eq 'node_unavailable';
    } else {
        push @up_bad, $tn if $r->{status} != 200;
    }
}
is scalar(@down), $count{2}, "node 2 killed (kill -9): its $count{2} tenants get "
   . 'the front\'s JSON 502 (node_unavailable)';
is_deeply \@up_bad, [], '... and every other tenant is served';
$nodes[1]->start;
my @back = grep {
    my $r = req($_, 'GET', '/admin/conversations', token => admin($_));
    $r->{status} == 200 && @{ $r->{json}{conversations} } == 2
} grep { $home{$_} == 2 } @tenants;
is scalar(@back), $count{2}, 'restarted: its tenants are back with both '
   . 'conversations each';
my $r2 = req((grep { $home{$_} == 2 } @tenants)[0], 'POST', '/visitor/messages',
             token => visitor((grep { $home{$_} == 2 } @tenants)[0], 'v1'),
             body => { text => 'after the restart' });
is $r2->{status}, 201, '... and take new messages';

# -- moving a tenant -----------------------------------------------------------
my ($m) = grep { $home{$_} == 1 } @tenants;               # moved: n1 -> n3
my ($other) = grep { $home{$_} == 1 && $_ ne $m } @tenants;
my ($src, $dst) = ($nodes[0], $nodes[2]);
diag "moving $m from node 1 to node 3; $other keeps writing to node 1";

# its state: a snooze pending, a queue, an undelivered reply, a held poll
is req($m, 'PUT', '/admin/agents/ann', token => admin($m),
       body => { name => 'Ann', groups => ['default'],
                 capacity => { chat => 1 } })->{status}, 200,
   "$m: ann takes one chat at a time";
my ($chat) = map { $_->{id} } grep { $_->{channel} eq 'chat' }
    @{ req($m, 'GET', '/admin/conversations', token => admin($m))
         ->{json}{conversations} };
my ($wconv) = map { $_->{id} } grep { $_->{channel} eq 'whatsapp' }
    @{ req($m, 'GET', '/admin/conversations', token => admin($m))
         ->{json}{conversations} };
$provider->plan((503) x 1000);
is req($m, 'POST', "/agent/conversations/$wconv/messages", token => agent($m),
       body => { text => 'your order ships today' })->{status}, 202,
   'a WhatsApp reply is stored; the provider refuses it for now';
my $until = SbTest::rfc3339(time + 15);
is req($m, 'POST', "/agent/conversations/$chat/snooze", token => agent($m),
       body => { until => $until })->{status}, 200,
   'the chat is snoozed for 15 s';
is req($m, 'POST', '/visitor/messages', token => visitor($m, 'v2'),
       body => { text => 'me too' })->{status}, 201, 'v2 writes (assigned)';
is req($m, 'POST', '/visitor/messages', token => visitor($m, 'v3'),
       body => { text => 'and me' })->{status}, 201, 'v3 writes (queued)';
my $me = req($m, 'GET', '/agent/me', token => agent($m))->{json};
my $cursor = $me->{events_cursor};
ok $cursor > 0, "ann's log is at $cursor";
my $poll = $f->send_request('GET', "/agent/events?cursor=$cursor",
                            host => host($m), token => agent($m));

# another tenant of the same node writes all along
my $acked = "$fp/acked";
my $writer = fork // die;
if ($writer == 0) {
    my ($ok, $other_status) = (0, '');
    for my $i (1 .. 400) {
        my $r = req($other, 'POST', '/visitor/messages',
                    token => visitor($other, 'w1'),
                    body => { text => "during the move $i" },
                    headers => { 'Idempotency-Key' => "move-$i" });
        $r->{status} == 201 ? $ok++ : ($other_status .= " $r->{status}");
        last if -e "$acked.stop";
        sleep 0.01;
    }
    open my $fh, '>', $acked; print $fh "$ok$other_status\n"; close $fh;
    _exit(0);
}

# 1. pause it on the source
my ($ec, $eo) = tool('export', "$src->{prefix}/store", $m, "$fp/early.sbt");
like $eo, qr/is not paused here/, 'sb-tenant exports no tenant that is '
   . 'not paused';
my $r = req($m, 'POST', '/admin/pause', token => admin($m));
is $r->{status}, 403, "the tenant's own admin cannot pause it (issue 19)";
is $r->{json}{error}{code}, 'operator_only', '... operator_only';
# the node's operator, on the node's own /operator/ location
$r = $src->request('POST', '/operator/pause', host => host($m),
                   token => admin($m));
is $r->{status}, 200, 'POST /operator/pause on the node';
is_deeply $r->{json}, { tenant => $m, paused => JSON::PP::true },
   '... says so';
$r = req($m, 'GET', '/admin/stats', token => admin($m));
is $r->{status}, 503, 'paused: a read answers 503'
  or diag "$r->{status} n" . node_of($r) . " $r->{body}";
is $r->{json}{error}{code}, 'tenant_paused', '... tenant_paused';
is $r->{headers}{'retry-after'}, 10, '... with Retry-After';
$r = req($m, 'POST', '/visitor/messages', token => visitor($m, 'v9'),
         body => { text => 'now?' });
is $r->{status}, 503, '... a command too';
is $r->{headers}{'retry-after'}, 10, '... with Retry-After';
$r = wa($m, '33699', "wamid.$m.paused", 'now?');
is $r->{status}, 503, '... and a provider\'s webhook (it retries)';
my $held = $f->read_response($poll, 5);
is $held->{status}, 200, 'the held poll was answered at its timeout';
is scalar(@{ $held->{json}{events} }), 0, '... with no event';
is $held->{json}{cursor}, $cursor, '... and its cursor';

# 2. export (it waits for a reply in flight to be answered)
my $file = "$fp/$m.sbt";
for (1 .. 50) {
    ($ec, $eo) = tool('export', "$src->{prefix}/store", $m, $file);
    last if $ec == 0 || $eo !~ /in flight/;
    sleep 0.2;
}
is $ec, 0, 'exported' or diag $eo;
like $eo, qr/exported tenant \Q$m\E: \d+ rows/, '... and says how many rows';

# 3. import into the target, whose workers then arm its deadlines
my ($ic, $io) = tool('import', "$dst->{prefix}/store", $m, $file);
is $ic, 0, 'imported into node 3' or diag $io;
reload_settled($dst);

# 4. pin it in the front
open my $pins, '>>', "$fp/pins.map" or die;
print $pins "$m switchboard_node3;\n";
close $pins;
reload_settled($f);

# 5. drop it from the source (its pause with it)
my ($dc, $do) = tool('drop', "$src->{prefix}/store", $m);
is $dc, 0, 'dropped from node 1' or diag $do;
$f->write_file("acked.stop", '');
waitpid $writer, 0;
my ($n_ok, $failures) = split / /, slurp($acked), 2;
chomp $n_ok;
is $failures // '', '', "$other wrote all along: $n_ok messages, none "
   . 'refused';
my ($oc) = grep { $_->{visitor} eq 'w1' }
    @{ req($other, 'GET', '/admin/conversations', token => admin($other))
         ->{json}{conversations} };
my $thread = req($other, 'GET', "/admin/conversations/$oc->{id}?limit=500",
                 token => admin($other))->{json}{thread};
is scalar(grep { ($_->{text} // '') =~ /^during the move/ } @$thread), $n_ok,
   '... every acknowledged one stored';

# after the move: everything is on node 3, nothing on node 1
$r = req($m, 'GET', '/admin/conversations', token => admin($m));
is node_of($r), 3, 'the tenant is served by node 3'
  or diag "$r->{status} n" . node_of($r) . " $r->{body}";
is scalar(@{ $r->{json}{conversations} }), 4, '... with its 4 conversations';
my %state = map { $_->{visitor} => $_->{state} } @{ $r->{json}{conversations} };
is $state{v3}, 'queued', '... v3 still queued';
is $state{v1}, 'snoozed', '... v1 still snoozed';
ok !(grep { $_ eq $m } listed(1)), 'node 1 holds no row of the tenant';
like((tool('export', "$src->{prefix}/store", $m, "$fp/none"))[1],
     qr/no row of tenant/, '... as sb-tenant says');
# issue 19: a late request straight to the old node is not stranded there
$r = $src->request('POST', '/visitor/messages', host => host($m),
                   token => visitor($m, 'v9'), body => { text => 'late' });
is $r->{status}, 421, 'a late request to the old node: 421';
is $r->{json}{error}{code}, 'tenant_moved', '... tenant_moved (its tombstone)';
is $src->request('GET', '/admin/stats', host => host($m),
                 token => admin($m))->{status}, 421, '... a read too';
is((stat $file)[2] & 0777, 0600, 'the export file is 0600');

# the poll resumes from its cursor, without a gap or a repeat
is req($m, 'POST', '/visitor/messages', token => visitor($m, 'v2'),
       body => { text => 'still there?' })->{status}, 201,
   'v2 writes again';
my $ev = req($m, 'GET', "/agent/events?cursor=$cursor", token => agent($m))
           ->{json};
is $ev->{events}[0]{seq}, $cursor + 1, 'the poll resumes at the next event';
is $ev->{events}[0]{message}{text}, 'still there?', '... the new message';

# the undelivered reply goes out once, from node 3
$provider->plan();
ok $f->wait_for(sub {
        grep { $_->{answered} == 200 && $_->{body} =~ /ships today/ }
        $provider->requests }, 15), 'the pending reply is delivered';
sleep 2.5;
is scalar(grep { $_->{answered} == 200 && $_->{body} =~ /ships today/ }
          $provider->requests), 1, '... once';

# the snooze fires once, on node 3
my $left = SbTest::epoch_of($until) - time;
sleep $left + 1.5 if $left > -1.5;
my $conv = req($m, 'GET', "/admin/conversations/$chat", token => admin($m))
             ->{json};
is scalar(grep { ($_->{event} // '') eq 'woke' } @{ $conv->{thread} }), 1,
   'the snooze fired once';
isnt $conv->{state}, 'snoozed', '... and the conversation woke, on node 3';
ok !(grep { /\[(alert|emerg|crit)\]/ } split /\n/, $src->error_log),
   "node 1's error log has no alert";

# -- sb-tenant's refusals -------------------------------------------------------
my $store3 = "$dst->{prefix}/store";
($ic, $io) = tool('import', $store3, $m, $file);
is $ic, 1, 'an import over existing rows is refused';
like $io, qr/already holds rows of tenant "\Q$m\E"/, '... said so';
($ic, $io) = tool('import', $store3, 'someone', $file);
like $io, qr/holds tenant "\Q$m\E", not the one named/, 'the wrong tenant';
$f->write_file('junk.sbt', "not an export at all, but long enough to read "
                           . "x" x 80);
($ic, $io) = tool('import', $store3, 'junk', "$fp/junk.sbt");
like $io, qr/not a tenant export/, 'a file of something else';
my $bytes = slurp($file);
substr($bytes, 40, 1) ^= "\x01";
$f->write_file('damaged.sbt', $bytes);
($ic, $io) = tool('import', $store3, $m, "$fp/damaged.sbt");
like $io, qr/checksum does not match/, 'a damaged file';
($ic, $io) = tool('import', "$fp/nostore", $m, $file);
like $io, qr/no store at/, 'a path with no store';
($ic, $io) = tool('export', $store3, '../x', "$fp/x");
like $io, qr/not a tenant id/, 'a tenant id that is not one';

# a file with a row of another tenant inside (checksum right): one write
# transaction, so not even the rows before it are kept
sub u32 { pack 'V', $_[0] }
my $rows = join '', map {
    my ($db, $k, $v) = @$_;
    chr($db) . u32(length $k) . $k . u32(length $v) . $v
} [ 0, "fresh\0#conv\0", pack('Q>', 7) ], [ 0, "other\0#conv\0", pack('Q>', 9) ];
my $body = "SBTENANT\x01" . u32(5) . 'fresh' . $rows . "\xff" . pack('Q<', 2);
$f->write_file('mixed.sbt', $body . sha256($body));
($ic, $io) = tool('import', $store3, 'fresh', "$fp/mixed.sbt");
is $ic, 1, 'a file with a row of another tenant is refused';
like $io, qr/nothing imported/, '... nothing imported';
like((tool('export', $store3, 'fresh', "$fp/fresh.sbt"))[1],
     qr/no row of tenant "fresh"/, '... not even the rows before it');
($ic, $io) = tool('frobnicate');
is $ic, 2, 'an unknown command prints the usage';

done_testing;
