# An EventSource for the tests (R24): a raw HTTP/1.1 reader that takes the
# chunked body apart and the Server-Sent Events frames out of it.
package SseClient;

use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Time::HiRes qw(time);

my $JSON = JSON::PP->new->utf8;

# connect(port, path, token, %o): last_event_id, rcvbuf (bytes), headers
sub connect {
    my ($class, $port, $path, $token, %o) = @_;
    # the receive buffer is set before connecting, so the window follows it
    my $s = IO::Socket::INET->new(Proto => 'tcp') or die "socket: $!";
    setsockopt($s, SOL_SOCKET, SO_RCVBUF, $o{rcvbuf}) if $o{rcvbuf};
    $s->connect(Socket::pack_sockaddr_in($port, Socket::inet_aton('127.0.0.1')))
      or die "connect: $!";
    binmode $s;
    my $req = "GET $path HTTP/1.1\r\nHost: localhost\r\n"
            . "Accept: text/event-stream\r\n"
            . (defined $token ? "Authorization: Bearer $token\r\n" : '')
            . (defined $o{last_event_id}
               ? "Last-Event-ID: $o{last_event_id}\r\n" : '')
            . "\r\n";
    print $s $req;
    return bless { s => $s, raw => '', body => '', frames => [],
                   comments => [], head => undef, eof => 0,
                   sel => IO::Select->new($s) }, $class;
}

# Reads what has come, for up to $timeout seconds or until $until->($self)
# holds; returns the number of new frames.
sub pump {
    my ($self, $timeout, $until) = @_;
    my $deadline = time + $timeout;
    my $before = @{ $self->{frames} };
    while (!$self->{eof}) {
        last if $until && $until->($self);
        my $left = $deadline - time;
        last if $left <= 0;
        next unless $self->{sel}->can_read($left);
        my $n = sysread($self->{s}, $self->{raw}, 65536, length $self->{raw});
        $self->{eof} = 1 unless $n;
        $self->parse;
    }
    return @{ $self->{frames} } - $before;
}

sub parse {
    my ($self) = @_;
    if (!defined $self->{head}) {
        return unless $self->{raw} =~ s/^(.*?)\r\n\r\n//s;
        my $head = $1;
        my ($status) = $head =~ m{^HTTP/1\.\d (\d+)};
        my %h;
        $h{lc $1} = $2 while $head =~ /^([^:\r\n]+):\s*([^\r\n]*)/mg;
        $self->{head} = { status => $status, headers => \%h };
        $self->{chunked} = ($h{'transfer-encoding'} // '') =~ /chunked/i;
    }
    if ($self->{chunked}) {
        while ($self->{raw} =~ /^([0-9a-fA-F]+)\r\n/) {
            my $len = hex $1;
            my $need = length($1) + 2 + $len + 2;
            last if length $self->{raw} < $need;
            $self->{body} .= substr($self->{raw}, length($1) + 2, $len);
            substr($self->{raw}, 0, $need) = '';
            $self->{last_chunk} = 1 if $len == 0;
        }
    } else {
        $self->{body} .= $self->{raw};
        $self->{raw} = '';
    }
    while ($self->{body} =~ s/^(.*?)\n\n//s) {
        my $block = $1;
        my %f;
        for my $line (split /\n/, $block) {
            if ($line =~ /^:\s?(.*)$/) {
                push @{ $self->{comments} }, $1;
            } elsif ($line =~ /^(\w+): ?(.*)$/) {
                $f{$1} .= (defined $f{$1} && $1 eq 'data' ? "\n" : '') . $2;
            }
        }
        next unless exists $f{data};
        $f{json} = eval { $JSON->decode($f{data}) };
        push @{ $self->{frames} }, \%f;
    }
}

sub status   { $_[0]->{head} ? $_[0]->{head}{status} : undef }
sub header   { $_[0]->{head} ? $_[0]->{head}{headers}{ lc $_[1] } : undef }
sub frames   { @{ $_[0]->{frames} } }
sub comments { @{ $_[0]->{comments} } }
sub eof      { $_[0]->{eof} }
sub ended_cleanly { $_[0]->{last_chunk} ? 1 : 0 }
sub last_id  { my @f = $_[0]->frames; @f ? $f[-1]{id} : undef }
sub close    { CORE::close($_[0]->{s}) }

1;
