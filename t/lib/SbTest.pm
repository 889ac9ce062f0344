# Test harness: a real nginx (master + workers) with the freshly built
# module and a fresh LMDB directory in a temporary prefix; HTTP on loopback.
package SbTest;

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(time sleep);

use lib dirname(abs_path(__FILE__));
use Switchboard::Token qw(mint);

our $JSON = JSON::PP->new->canonical->utf8;

binmode Test::More->builder->$_, ':encoding(UTF-8)'
  for qw(output failure_output todo_output);

our $ROOT = abs_path(dirname(abs_path(__FILE__)) . '/../..');
# `make test-debug` runs the suite with error_log at debug (issue 19):
# Debian's nginx is built --with-debug, and operators switch it on
our $LOG_LEVEL = $ENV{SB_ERROR_LOG_LEVEL} || 'info';

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1)
      or die "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# new(http => 'extra http-level directives', server => 'extra server ...',
#     workers => 2, events => 'use poll;', log_level => 'debug')
sub new {
    my ($class, %o) = @_;
    my $self = bless { workers => 2, poll => '2s', presence => '6s', %o },
                     $class;
    $self->{module} = $ENV{SB_MODULE}
      || "$ROOT/build/nginx/objs/ngx_http_switchboard_module.so";
    die "module not built: $self->{module}\n" unless -f $self->{module};
    $self->{prefix} = tempdir('sb-test-XXXXXX', TMPDIR => 1,
                              CLEANUP => !$ENV{SB_KEEP});
    chmod 0755, $self->{prefix};    # workers run as nobody when root
    make_path("$self->{prefix}/logs", "$self->{prefix}/conf");
    $self->{port} = free_port();
    $self->{secret} = 'test-secret-' . join('', map { int rand 10 } 1 .. 20);
    $self->write_file('jwt.secret', $self->{secret} . "\n");
    $self->write_conf;
    return $self;
}

sub write_file {
    my ($self, $name, $content) = @_;
    open my $fh, '>', "$self->{prefix}/$name" or die "$name: $!";
    print $fh $content;
    close $fh;
    # secrets are their reader's only: nginx -t warns of others (issue 19)
    chmod 0600, "$self->{prefix}/$name" if $name =~ /\.(secret|token|key)$/;
}

sub conf_text {
    my ($self) = @_;
    my $p = $self->{prefix};
    my $http = $self->{http} // '';
    my $server = $self->{server} // '';
    my $listen = $self->{listen} ? " $self->{listen}" : '';
    my $events = $self->{events} // '';
    my $level = $self->{log_level} // $LOG_LEVEL;
    # a binary upgrade (USR2) execs nginx with only the env nginx.conf
    # names: an ASan build needs its runtime preloaded there too
    my $env = join '', map { "env $_;\n" }
                       grep { exists $ENV{$_} }
                       qw(LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS);
    my $store = $self->{store} // "switchboard_store $p/store size=256m;";
    return <<"CONF";
${env}daemon on;
master_process on;
worker_processes $self->{workers};
error_log $p/logs/error.log $level;
pid $p/logs/nginx.pid;
load_module $self->{module};
events { worker_connections 1024; $events }
http {
    log_format sb '\$pid \$request_method \$uri \$status';
    access_log $p/logs/access.log sb;
    client_body_temp_path $p/body;
    client_body_buffer_size 8k;
    $store
    switchboard_jwt_secret $p/jwt.secret;
    switchboard_poll_timeout $self->{poll};
    switchboard_presence_timeout $self->{presence};
    $http
    server {
        listen 127.0.0.1:$self->{port} reuseport$listen;
        location /agent/ { switchboard_agent_api; }
        location /visitor/ { switchboard_visitor_api; }
        location /admin/ { switchboard_admin_api; }
        $server
    }
}
CONF
}

sub write_conf {
    my ($self) = @_;
    $self->write_file('conf/nginx.conf', $self->conf_text);
}

# nginx by its full path: a binary upgrade (USR2) execs it again
sub nginx_cmd {
    my ($self, @args) = @_;
    return (-x '/usr/sbin/nginx' ? '/usr/sbin/nginx' : 'nginx',
            '-p', $self->{prefix}, '-c', "$self->{prefix}/conf/nginx.conf",
            @args);
}

# nginx -t: returns (exit code, output)
sub test_conf {
    my ($self) = @_;
    my $cmd = join ' ', map { "'$_'" } $self->nginx_cmd('-t');
    my $out = `$cmd 2>&1`;
    return ($? >> 8, $out);
}

sub start {
    my ($self) = @_;
    system($self->nginx_cmd) == 0 or die "nginx failed to start:\n"
      . $self->error_log;
    $self->wait_port;
    $self->{running} = 1;
    $self->wait_workers;
    # kept: at global destruction the temp prefix (and its pid file) may
    # be gone before this object, and the master must still be stopped
    $self->{master} = $self->master_pid;
    return $self;
}

sub wait_port {
    my ($self) = @_;
    for (1 .. 200) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $self->{port});
        return if $s;
        sleep 0.025;
    }
    die "nginx does not listen on $self->{port}\n" . $self->error_log;
}

sub master_pid {
    my ($self) = @_;
    open my $fh, '<', "$self->{prefix}/logs/nginx.pid" or return;
    my $pid = <$fh> // return;      # empty while nginx writes it
    chomp $pid;
    return $pid;
}

sub worker_pids {
    my ($self) = @_;
    my $master = $self->master_pid or return ();
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        my ($pid, $comm, $ppid) = $line =~ /^(\d+) \((.*?)\) \S+ (\d+)/
          or next;
        next unless $ppid == $master;
        open my $cl, '<', "/proc/$pid/cmdline" or next;
        my $cmd = <$cl> // '';
        push @pids, $pid if $cmd =~ /worker process/
                            && $cmd !~ /shutting down/;
    }
    return sort { $a <=> $b } @pids;
}

sub wait_workers {
    my ($self, $exclude) = @_;
    my %old = map { $_ => 1 } @{ $exclude || [] };
    for (1 .. 400) {
        my @w = grep { !$old{$_} } $self->worker_pids;
        return @w if @w >= $self->{workers};
        sleep 0.025;
    }
    die "workers did not start\n" . $self->error_log;
}

sub stop {
    my ($self) = @_;
    my $pid = $self->master_pid // $self->{master};
    return unless $self->{running} || ($pid && kill 0, $pid);
    kill 'QUIT', $pid if $pid;
    for (1 .. 400) {
        last unless $pid && kill 0, $pid;
        sleep 0.025;
    }
    kill 'KILL', $pid if $pid && kill 0, $pid;
    $self->{running} = 0;
}

sub reload {
    my ($self) = @_;
    my @old = $self->worker_pids;
    kill 'HUP', $self->master_pid;
    return $self->wait_workers(\@old);
}

# A reload, and its old workers gone: until then one of them may still
# take a request with the old configuration.
sub reload_settled {
    my ($self) = @_;
    my @old = $self->worker_pids;
    $self->reload;
    for (1 .. 400) {
        return 1 unless grep { kill 0, $_ } @old;
        sleep 0.05;
    }
    return 0;
}

sub error_log {
    my ($self) = @_;
    open my $fh, '<', "$self->{prefix}/logs/error.log" or return '';
    local $/;
    return <$fh>;
}

sub access_log {
    my ($self) = @_;
    open my $fh, '<', "$self->{prefix}/logs/access.log" or return ();
    return <$fh>;
}

# Like nginx's own suite: a test file fails on any [alert] or [emerg].
sub check_log {
    my ($self) = @_;
    my @bad = grep { /\[(alert|emerg|crit)\]/ } split /\n/, $self->error_log;
    ok(!@bad, 'no alert, crit or emerg in error.log')
      or diag(join "\n", @bad[0 .. ($#bad > 9 ? 9 : $#bad)]);
}

# A master left by a test that died still goes (its pid file tells).
sub DESTROY {
    my ($self) = @_;
    local ($?, $@);
    $self->stop;
    $self->record_store;
}

# --- fuzz seeds ---------------------------------------------------------
# With SB_FUZZ_RECORD=dir, every request the suite sends and every store
# it leaves are written there; t/fuzz/seeds.pl makes the fuzz targets'
# seed corpora of them (their payloads are the suite's real ones).

sub record_request {
    my ($self, $method, $path, $token, $headers, $body) = @_;
    my $dir = $ENV{SB_FUZZ_RECORD} or return;
    open my $fh, '>>', "$dir/requests-$$.jsonl" or die "$dir: $!";
    print $fh $JSON->encode({ method => $method, path => $path,
                              token => $token, headers => $headers,
                              body => defined $body ? unpack('H*', $body)
                                                    : undef }), "\n";
    close $fh;
}

sub record_store {
    my ($self) = @_;
    my $dir = $ENV{SB_FUZZ_RECORD} or return;
    return unless -f "$self->{prefix}/store/data.mdb";
    my $n = ++$self->{recorded};
    system("mdb_dump -a '$self->{prefix}/store' > '$dir/store-$$-$n.dump' "
           . "2>/dev/null");
}

# --- answers for the OpenAPI check ---------------------------------------
# With SB_API_RECORD=dir, every answer the suite reads (with the request
# that asked for it) is written there; t/openapi/check.mjs validates each
# against the operation the OpenAPI document gives for its path.

sub record_answer {
    my ($req, $res) = @_;
    my $dir = $ENV{SB_API_RECORD};
    my ($method, $path, $headers, $body) = @$req;
    return unless $res->{status};
    open my $fh, '>>', "$dir/answers-$$.jsonl" or die "$dir: $!";
    print $fh $JSON->encode({
        test => $0, method => $method, path => $path,
        request_type => defined $body
          ? $headers->{'Content-Type'} // 'application/json' : undef,
        request => defined $body ? unpack('H*', $body) : undef,
        status => $res->{status} + 0, type => $res->{headers}{'content-type'},
        body => unpack('H*', $res->{body}) }),
      "\n";
    close $fh;
}

# --- tokens -------------------------------------------------------------

sub token {
    my ($self, $sub, $role, %c) = @_;
    return mint($self->{secret}, sub => $sub, role => $role, %c);
}

sub admin   { $_[0]->token('root', 'admin') }
sub agent   { $_[0]->token($_[1], 'agent') }
sub visitor { $_[0]->token($_[1], 'visitor', chn => $_[2] // 'chat') }

# --- HTTP ---------------------------------------------------------------

sub raw_request {
    my ($self, $method, $path, %o) = @_;
    my $body = $o{body};
    $body = $JSON->encode($body) if ref $body;
    utf8::encode($body) if defined $body && utf8::is_utf8($body);
    my $h = $o{headers} || {};
    $self->record_request($method, $path, $o{token}, $h, $body)
      if $ENV{SB_FUZZ_RECORD};
    my $req = "$method $path HTTP/1.1\r\nHost: " . ($o{host} // 'localhost')
            . "\r\n"
            . "Connection: close\r\n";
    $req .= "Authorization: Bearer $o{token}\r\n" if defined $o{token};
    $req .= "$_: $h->{$_}\r\n" for sort keys %$h;
    if (defined $body) {
        $req .= $o{chunked} ? "Transfer-Encoding: chunked\r\n"
              : exists $h->{'Content-Length'} ? ''
              : "Content-Length: " . length($body) . "\r\n";
        $req .= "Content-Type: application/json\r\n";
    }
    $req .= "\r\n";
    if (defined $body && $o{chunked}) {
        $req .= sprintf("%x\r\n%s\r\n", length($_), $_)
          for grep { length } ($body =~ /(.{1,4000})/gs);
        $req .= "0\r\n\r\n";
    } elsif (defined $body) {
        $req .= $body;
    }
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->{port})
      or die "connect: $!";
    binmode $s;
    print $s $req;
    ${*$s}{sb_request} = [$method, $path, $h, $body] if $ENV{SB_API_RECORD};
    return $s;
}

# Sends now, reads later: parallel long-polls without forking.
sub send_request { my $self = shift; return $self->raw_request(@_) }

# A JSON POST of which only the first $sent bytes of the body go now: the
# socket, to print the rest on (it keeps a worker busy across a reload).
sub slow_post {
    my ($self, $path, $token, $body, $sent) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->{port}) or die $!;
    print $s "POST $path HTTP/1.1\r\nHost: localhost\r\n"
           . "Authorization: Bearer $token\r\n"
           . "Content-Type: application/json\r\nConnection: close\r\n"
           . 'Content-Length: ' . length($body) . "\r\n\r\n"
           . substr($body, 0, $sent);
    return $s;
}

sub read_response {
    my ($self, $s, $timeout) = @_;
    $timeout //= 10;
    my $sel = IO::Select->new($s);
    my $buf = '';
    my $deadline = time + $timeout;
    while (1) {
        my $left = $deadline - time;
        last if $left <= 0;
        last unless $sel->can_read($left);
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
    }
    my $req = ${*$s}{sb_request};
    close $s;
    my $res = parse_response($buf);
    record_answer($req, $res) if $req;
    return $res;
}

sub parse_response {
    my ($buf) = @_;
    my ($head, $body) = split /\r\n\r\n/, $buf, 2;
    return { status => 0, body => '', raw => $buf } unless defined $head;
    my ($status) = $head =~ m{^HTTP/1\.\d (\d+)};
    my %h;
    for (split /\r\n/, $head) {
        $h{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
    }
    my $res = { status => $status // 0, headers => \%h, body => $body // '' };
    if (($h{'content-type'} // '') =~ /json/ && length $res->{body}) {
        $res->{json} = eval { $JSON->decode($res->{body}) };
    }
    return $res;
}

# With $t->{track} set, each request keeps the store's dump from before
# it in $t->{before}, so a test can check that a refusal changed nothing.
sub request {
    my ($self, $method, $path, %o) = @_;
    $self->{before} = $self->dump_store if $self->{track};
    my $t0 = time;
    my $res = $self->read_response($self->raw_request($method, $path, %o),
                                   $o{timeout});
    $res->{elapsed} = time - $t0;
    return $res;
}

sub get  { my ($s, $p, $t, %o) = @_; $s->request('GET', $p, token => $t, %o) }
sub del  { my ($s, $p, $t, %o) = @_; $s->request('DELETE', $p, token => $t, %o) }
sub post { my ($s, $p, $t, $b, %o) = @_;
           $s->request('POST', $p, token => $t, body => $b, %o) }
sub put  { my ($s, $p, $t, $b, %o) = @_;
           $s->request('PUT', $p, token => $t, body => $b, %o) }

# --- domain helpers -----------------------------------------------------

sub add_agent {
    my ($self, $id, %o) = @_;
    my $res = $self->put("/admin/agents/$id", $self->admin,
                         { name => $o{name} // ucfirst($id),
                           groups => $o{groups} // ['default'],
                           ($o{capacity} ? (capacity => $o{capacity}) : ()) });
    die "add_agent $id: $res->{status} $res->{body}"
      unless $res->{status} =~ /^20[01]$/;
    return $res->{json};
}

sub available {
    my ($self, $agent, $class, $on) = @_;
    return $self->put('/agent/availability', $self->agent($agent),
                      { class => $class // 'all',
                        available => ($on // 1) ? JSON::PP::true
                                                : JSON::PP::false });
}

sub say_visitor {
    my ($self, $visitor, $channel, $text, %o) = @_;
    return $self->post('/visitor/messages',
                       $self->visitor($visitor, $channel),
                       { text => $text }, %o);
}

sub me {
    my ($self, $agent) = @_;
    return $self->get('/agent/me', $self->agent($agent))->{json};
}

# Collects an agent's events until one matches or time runs out.
sub events {
    my ($self, $agent, $cursor, $timeout) = @_;
    my $res = $self->get("/agent/events?cursor=" . ($cursor // 0),
                         $self->agent($agent), timeout => $timeout);
    return $res->{json} // { cursor => $cursor, events => [] };
}

# "2026-11-22T02:24:49.123Z" -> epoch seconds with fraction
sub epoch_of {
    my ($s) = @_;
    require Time::Local;
    my ($y, $mo, $d, $h, $mi, $sec, $frac) =
      $s =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(\.\d+)?Z$/ or return;
    return Time::Local::timegm($sec, $mi, $h, $d, $mo - 1, $y) + ($frac // 0);
}

sub rfc3339 {
    my ($epoch) = @_;
    require POSIX;
    return POSIX::strftime('%Y-%m-%dT%H:%M:%S', gmtime int $epoch)
      . sprintf('.%03dZ', 1000 * ($epoch - int $epoch));
}

# The admin's view of a conversation with its whole thread: the pages a
# read gives (500 entries at most each) put together, oldest first.
sub conv {
    my ($self, $id) = @_;
    my $c = $self->get("/admin/conversations/$id?limit=500", $self->admin)
      ->{json};
    while ($c && defined $c->{thread_before}) {
        my $older = $self->get("/admin/conversations/$id?limit=500"
                               . "&before=$c->{thread_before}", $self->admin)
          ->{json} or last;
        unshift @{ $c->{thread} }, @{ $older->{thread} };
        $c->{thread_before} = $older->{thread_before};
    }
    return $c;
}

# Polls a condition every 20 ms; returns the elapsed seconds or undef.
sub wait_for {
    my ($self, $cond, $timeout) = @_;
    my $t0 = time;
    while (time - $t0 < ($timeout // 5)) {
        return time - $t0 if $cond->();
        sleep 0.02;
    }
    return undef;
}

sub thread_events {
    my ($self, $id) = @_;
    return map { $_->{event} // () } @{ $self->conv($id)->{thread} };
}

# The whole store, as text: "changes nothing" is "same dump".
sub dump_store {
    my ($self) = @_;
    my $out = `mdb_dump -a '$self->{prefix}/store' 2>&1`;
    return $out;
}

1;
