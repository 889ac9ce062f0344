# Chaos (issue 8, item 17; R13, R16, R20, R21, R24): visitors and signed
# WhatsApp webhooks against two workers while a random worker is killed
# with -9 every second and the master reloads every few seconds. Clients
# retry what was not acknowledged, as providers do. Then: every
# acknowledged message is stored once, retries are deduplicated, no agent
# is over capacity and the holders agree with the conversations, and every
# first-reply deadline that fell due fired once.
# SOAK_SECONDS sets the chaos time (20 in `make test`, 300 in `make soak`).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use List::Util qw(sum);
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);
use SbTest;

my $SECONDS  = $ENV{SOAK_SECONDS} // 20;
my $FIRST    = 2;            # first-reply timeout, seconds (R13)
my $secret   = 'soak-secret-0123456789';
my @agents   = qw(ann bob cat);
my $capacity = 6;      # room to move to: 12 conversations a class

my $t = SbTest->new(
    poll => '2s', presence => '30s',
    http => "switchboard_first_reply_timeout ${FIRST}s;",
    server => 'location = /webhooks/whatsapp { switchboard_webhook whatsapp; '
            . "switchboard_webhook_secret $secret; }");
$t->start;
for my $a (@agents) {
    $t->add_agent($a, capacity => { chat => $capacity,
                                    messaging => $capacity });
}
my $dir = $t->{prefix};

# --- the load: forked clients, each writing what was acknowledged -------

sub stopping { -e "$dir/stop" }

# Retries until a 2xx (a kill or a reload may cut a request): the
# "acknowledged" of this test is that 2xx. Returns the response or undef.
sub until_acked {
    my ($send) = @_;
    my $t0 = time;
    while (time - $t0 < 30) {
        my $res = eval { $send->() };
        return $res if $res && $res->{status} =~ /^2/;
        sleep 0.05;
    }
    return;
}

sub child (&) {
    my ($code) = @_;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    # _exit: the parent's nginx object must not be destroyed in a child
    $SIG{ALRM} = sub { POSIX::_exit(3) };
    alarm $SECONDS + 120;
    $code->();
    POSIX::_exit(0);
}

# agents: polls keep them present (R5a); they never answer, so every
# assignment's first-reply deadline falls due
my @pids;
for my $a (@agents) {
    push @pids, child {
        my $cursor = 0;
        until (stopping()) {
            my $r = eval { $t->events($a, $cursor, 4) };
            $cursor = $r->{cursor} if $r && defined $r->{cursor};
            sleep 0.05 unless $r && @{ $r->{events} // [] };
        }
    };
}
sleep 0.5;
$t->available($_) for @agents;

# visitors on chat, with an Idempotency-Key per message (R21)
for my $v (1 .. 4) {
    push @pids, child {
        open my $log, '>>', "$dir/acked-visitors-$v" or die;
        $log->autoflush(1);
        for (my $n = 1; !stopping(); $n++) {
            my $visitor = "v$v-" . ($n % 3);
            my $text = "visitor $v message $n";
            my $res = until_acked(sub {
                $t->post('/visitor/messages', $t->visitor($visitor, 'chat'),
                         { text => $text },
                         headers => { 'Idempotency-Key' => "k$v-$n" },
                         timeout => 5);
            });
            print $log "$text\n" if $res;
        }
    };
}

# WhatsApp: one message per delivery, signed; a delivery not answered 200
# is sent again, and one in five is sent again after its 200 too (a
# provider that lost the answer)
for my $w (1 .. 4) {
    push @pids, child {
        open my $log, '>>', "$dir/acked-webhooks-$w" or die;
        $log->autoflush(1);
        for (my $n = 1; !stopping(); $n++) {
            my $from = "3361$w" . ($n % 3);
            my $id = "wamid.soak.$w.$n";
            my $body = $SbTest::JSON->encode({
                object => 'whatsapp_business_account',
                entry => [ { id => 'WABA1', changes => [ {
                    field => 'messages',
                    value => { messaging_product => 'whatsapp',
                               metadata => { phone_number_id => '1055' },
                               messages => [ { from => $from, id => $id,
                                               timestamp => int time,
                                               type => 'text',
                                               text => { body => $id } } ] },
                } ] } ] });
            my $send = sub {
                $t->request('POST', '/webhooks/whatsapp', body => $body,
                            timeout => 5, headers => {
                                'X-Hub-Signature-256' =>
                                  'sha256=' . hmac_sha256_hex($body, $secret) });
            };
            my $res = until_acked($send);
            print $log "$id\n" if $res;
            until_acked($send) if $res && $n % 5 == 0;
        }
    };
}

# --- the chaos ----------------------------------------------------------

my ($kills, $reloads) = (0, 0);
my $t0 = time;
my $next_reload = $t0 + 4;
while (time - $t0 < $SECONDS) {
    sleep 1;
    my @w = $t->worker_pids;
    if (@w && kill 'KILL', $w[int rand @w]) {
        $kills++;
    }
    if (time >= $next_reload) {
        kill 'HUP', $t->master_pid;
        $reloads++;
        $next_reload = time + 3 + rand 2;
    }
}
diag("chaos: $SECONDS s, $kills workers killed, $reloads reloads");

# the clients finish what they were sending (no more kills), then stop
open my $stop, '>', "$dir/stop" or die;
close $stop;
for my $pid (@pids) {
    waitpid $pid, 0;
    is($? >> 8, 0, "client $pid ended cleanly") if $? >> 8;
}
$t->wait_workers([]);
my $quiet = time;

sleep $FIRST + 3;

# deadlines (R13, R16), once every deadline due before the load stopped
# has had time to fire: per agent log, every assignment is followed by at
# most one first-reply timeout, never before it was due, and by one as
# soon as it fell due (with a margin for a worker killed at that moment)
my ($fired, $due_unfired, $twice_fired, $early) = (0, 0, 0, 0);
for my $a (@agents) {
    my ($cursor, @events) = (0);
    while (1) {
        my $r = $t->events($a, $cursor, 3);
        last unless @{ $r->{events} // [] };
        push @events, @{ $r->{events} };
        $cursor = $r->{cursor};
    }
    my %open;      # conversation -> time of the assignment still held
    for my $e (@events) {
        my $c = $e->{conversation} // next;
        my $at = SbTest::epoch_of($e->{at});
        if ($e->{type} eq 'conversation.assigned') {
            $open{$c} = $at;
        } elsif ($e->{type} eq 'conversation.unassigned') {
            if (!defined $open{$c}) {
                $twice_fired++;
                next;
            }
            if (($e->{reason} // '') eq 'first_reply_timeout') {
                $fired++;
                $early++ if $at - $open{$c} < $FIRST - 0.005;
            }
            delete $open{$c};
        }
    }
    $due_unfired += grep { $_ < $quiet - $FIRST - 3 } values %open;
}
diag("first-reply deadlines fired: $fired");
cmp_ok($fired, '>', 0, 'first-reply deadlines fell due and fired');
is($twice_fired, 0, 'no deadline fired twice (an unassignment follows '
                    . 'each assignment at most once)');
is($early, 0, 'no deadline fired before it was due');
is($due_unfired, 0, 'every deadline that fell due fired');

# then nothing moves: with every agent unavailable a first-reply timeout
# finds nobody to move to and leaves its conversation where it is, so the
# conversations and the agents can be read one after the other
$t->available($_, 'all', 0) for @agents;
sleep $FIRST + 1;

# --- what the store says ------------------------------------------------

sub lines { map { open my $f, '<', $_ or die; chomp(my @l = <$f>); @l }
            glob "$dir/$_[0]-*" }
my @acked_visitors = lines('acked-visitors');
my @acked_webhooks = lines('acked-webhooks');
diag(sprintf 'acknowledged: %d visitor messages, %d webhook messages',
             scalar @acked_visitors, scalar @acked_webhooks);
cmp_ok(scalar @acked_visitors, '>', 10 * $SECONDS / 20,
       'visitor messages went through the chaos');
cmp_ok(scalar @acked_webhooks, '>', 10 * $SECONDS / 20,
       'webhook messages went through the chaos');

my (@convs, $after);
while (1) {
    my $page = $t->get('/admin/conversations?limit=500'
                       . ($after ? "&after=$after" : ''), $t->admin)->{json};
    push @convs, @{ $page->{conversations} };
    $after = $page->{next} or last;
}
my (%stored, %holds);
for my $c (@convs) {
    my $full = $t->conv($c->{id});
    $stored{ $_->{text} }++
      for grep { $_->{kind} eq 'visitor' } @{ $full->{thread} };
    $holds{ $c->{agent} }{ $c->{class} }++
      if ($c->{state} // '') eq 'assigned' && $c->{agent};
}

my @lost = grep { !$stored{$_} } @acked_visitors, @acked_webhooks;
is(scalar @lost, 0, 'every acknowledged message is stored (R16, R20)')
  or diag("lost: @lost[0 .. ($#lost > 9 ? 9 : $#lost)]");
my @twice = grep { $stored{$_} > 1 } keys %stored;
is(scalar @twice, 0, 'none is stored twice: Idempotency-Keys and provider '
                     . 'ids deduplicate the retries (R21)')
  or diag("twice: @twice[0 .. ($#twice > 9 ? 9 : $#twice)]");
my %sent = map { $_ => 1 } @acked_visitors, @acked_webhooks;
my @phantom = grep { !$sent{$_} } keys %stored;
is(scalar @phantom, 0, 'nothing is stored that no client had acknowledged '
                       . 'in the end') or diag("@phantom");

# capacity and holders (R4, R6): /admin/agents against the conversations
for my $a (@agents) {
    my $agent = $t->get("/admin/agents/$a", $t->admin)->{json};
    for my $class (qw(chat messaging)) {
        my $c = $agent->{classes}{$class};
        my $held = $holds{$a}{$class} // 0;
        ok($c && $c->{used} == $held && $c->{used} <= $c->{capacity},
           "$a/$class: used $held of $capacity, as the conversations say")
          or diag($SbTest::JSON->encode($agent), " held $held");
    }
}

# the kills are the test's own: any other alert is not
my @bad = grep { /\[(alert|emerg|crit)\]/ && !/exited on signal 9/ }
          split /\n/, $t->error_log;
ok(!@bad, 'no alert, crit or emerg in error.log but the kills')
  or diag(join "\n", @bad[0 .. ($#bad > 9 ? 9 : $#bad)]);
done_testing;
