# A provider's send API for the tests (R22), or a CRM receiving the event
# webhooks: a real HTTP server in a child process that records every
# request and answers from a plan of statuses; check => sub { (headers,
# body) -> a status that overrides the plan, or undef } runs on each.
package FakeProvider;

use strict;
use warnings;
use IO::Socket::INET;
use JSON::PP;
use File::Temp qw(tempdir);
use POSIX qw(_exit);
use Time::HiRes qw(time);

my $JSON = JSON::PP->new->canonical->utf8;

# new(check => sub, delay => seconds): listening at once; ->port,
# ->plan(503, 503), ->requests. It answers one request at a time (delay:
# that long each); the others wait, connected, in the listen queue.
sub new {
    my ($class, %o) = @_;
    my $self = bless { dir => tempdir('sb-provider-XXXXXX', TMPDIR => 1,
                                      CLEANUP => 1), %o }, $class;
    my $srv = IO::Socket::INET->new(Listen => 256, LocalAddr => '127.0.0.1',
                                    LocalPort => 0, ReuseAddr => 1)
      or die "fake provider: $!";
    $self->{port} = $srv->sockport;
    $self->plan();
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $self->serve($srv);
        _exit(0);
    }
    close $srv;
    $self->{pid} = $pid;
    return $self;
}

sub port { $_[0]->{port} }

# The statuses of the next answers, in order; 200 once they run out.
sub plan {
    my ($self, @statuses) = @_;
    open my $fh, '>', "$self->{dir}/plan.tmp" or die $!;
    print $fh join("\n", @statuses), "\n";
    close $fh;
    rename "$self->{dir}/plan.tmp", "$self->{dir}/plan" or die $!;
}

sub requests {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/requests" or return ();
    return map { $JSON->decode($_) } <$fh>;
}

sub next_status {
    my ($self) = @_;
    local $/ = "\n";
    open my $fh, '<', "$self->{dir}/plan" or return 200;
    my @plan = grep { /\d/ } <$fh>;
    close $fh;
    my $status = @plan ? shift @plan : 200;
    chomp $status;
    $self->plan(map { chomp; $_ } @plan);
    return $status;
}

sub serve {
    my ($self, $srv) = @_;
    my $n = 0;
    while (my $c = $srv->accept) {
        local $/ = "\r\n";
        my $line = <$c> // next;
        my ($method, $path) = split / /, $line;
        my %h;
        while (my $l = <$c>) {
            last if $l eq "\r\n";
            $l =~ s/\r\n$//;
            my ($k, $v) = split /:\s*/, $l, 2;
            $h{lc $k} = $v;
        }
        my $body = '';
        read($c, $body, $h{'content-length'}) if $h{'content-length'};
        my $refused = $self->{check} ? $self->{check}->(\%h, $body) : undef;
        my $status = $refused // $self->next_status;
        select undef, undef, undef, $self->{delay} if $self->{delay};
        $n++;
        open my $log, '>>', "$self->{dir}/requests" or die $!;
        print $log $JSON->encode({ method => $method, path => $path,
                                   headers => \%h, body => $body,
                                   answered => $status + 0, at => time }), "\n";
        close $log;
        # one answer names the id the way each provider does
        my $out = $status == 200
            ? $JSON->encode({ messages => [ { id => "wamid.OUT$n" } ],
                              message_id => "m_OUT$n", sid => "SMOUT$n",
                              id => "OUT$n",
                              data => { dm_event_id => "OUT$n" } })
            : '{"error":{"message":"try later"}}';
        print $c "HTTP/1.1 $status X\r\nContent-Type: application/json\r\n"
               . "Content-Length: " . length($out) . "\r\n"
               . "Connection: close\r\n\r\n$out";
        close $c;
    }
}

# Connections from nginx established to the provider now: the one being
# answered and those waiting in its listen queue.
sub connected {
    my ($self) = @_;
    my @lines = grep { /\S/ }
        `ss -Htn state established dst 127.0.0.1:$self->{port} 2>/dev/null`;
    return scalar @lines;
}

sub DESTROY {
    my ($self) = @_;
    local $?;                   # the child's status is not the test's
    kill 'TERM', $self->{pid} if $self->{pid};
    waitpid $self->{pid}, 0 if $self->{pid};
}

1;
