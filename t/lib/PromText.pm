# A strict reader of Prometheus' text exposition format (0.0.4), for the
# tests: every line must be a HELP, a TYPE or a sample of the family
# declared just before; names, label names and escapes as the format says;
# no series twice; counters end in _total; histograms have cumulative
# buckets with increasing `le`, a +Inf bucket equal to _count, and _sum.
# parse($text) returns { family => { type, help, samples => [[name,
# {labels}, value]] } } or dies with the line that is wrong.
package PromText;

use strict;
use warnings;

my $NAME  = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
my $LABEL = qr/[a-zA-Z_][a-zA-Z0-9_]*/;
my $VALUE = qr/[-+]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|Inf|NaN)/;

sub labels {
    my ($s, $line) = @_;
    my %l;
    return \%l if $s eq '';
    while (length $s) {
        $s =~ s/^($LABEL)="((?:[^"\\\n]|\\[\\"n])*)"//
          or die "bad label in: $line\n";
        my ($k, $v) = ($1, $2);
        die "label $k twice in: $line\n" if exists $l{$k};
        $v =~ s/\\(.)/$1 eq 'n' ? "\n" : $1/ge;
        $l{$k} = $v;
        last if $s eq '';
        $s =~ s/^,// or die "bad label list in: $line\n";
    }
    return \%l;
}

sub family_of {
    my ($name, $fam) = @_;
    return $name if $fam->{$name};
    for my $suffix (qw(_bucket _sum _count)) {
        (my $base = $name) =~ s/\Q$suffix\E$// or next;
        return $base if $fam->{$base}
                        && $fam->{$base}{type} =~ /^(histogram|summary)$/;
    }
    return;
}

sub parse {
    my ($text) = @_;
    die "the text must end with a newline\n" unless $text =~ /\n\z/;
    my (%fam, %seen, $current, %closed);
    for my $line (split /\n/, $text) {
        next if $line eq '';
        if ($line =~ /^# HELP ($NAME) (.*)$/) {
            die "HELP twice for $1\n" if defined $fam{$1}{help};
            die "HELP for $1 after its samples\n" if $closed{$1};
            $fam{$1}{help} = $2;
            next;
        }
        if ($line =~ /^# TYPE ($NAME) (counter|gauge|histogram|summary|untyped)$/) {
            die "TYPE twice for $1\n" if defined $fam{$1}{type};
            die "TYPE for $1 after its samples\n" if $fam{$1}{samples};
            $fam{$1}{type} = $2;
            $closed{$current} = 1 if defined $current && $current ne $1;
            $current = $1;
            next;
        }
        die "a comment that is not HELP or TYPE: $line\n" if $line =~ /^#/;
        $line =~ /^($NAME)(?:\{(.*)\})? ($VALUE)(?: -?[0-9]+)?$/
          or die "not a sample: $line\n";
        my ($name, $labels, $value) = ($1, labels($2 // '', $line), $3);
        my $f = family_of($name, \%fam) or die "no TYPE for: $line\n";
        die "samples of $f are not together: $line\n"
          if $closed{$f} || (defined $current && $current ne $f);
        my $key = join "\0", $name, map { "$_=$labels->{$_}" }
                                      sort keys %$labels;
        die "the same series twice: $line\n" if $seen{$key}++;
        push @{ $fam{$f}{samples} }, [ $name, $labels, $value ];
    }
    for my $f (keys %fam) {
        my $type = $fam{$f}{type} // die "HELP without TYPE for $f\n";
        die "a counter not named _total: $f\n"
          if $type eq 'counter' && $f !~ /_total$/;
        check_histogram($f, $fam{$f}) if $type eq 'histogram';
    }
    return \%fam;
}

sub check_histogram {
    my ($f, $fam) = @_;
    my (%buckets, %sum, %count);
    for my $s (@{ $fam->{samples} || [] }) {
        my ($name, $l, $v) = @$s;
        my $series = join "\0", map { "$_=$l->{$_}" }
                                grep { $_ ne 'le' } sort keys %$l;
        if ($name eq "${f}_bucket") {
            defined $l->{le} or die "$f: a bucket without le\n";
            push @{ $buckets{$series} }, [ $l->{le}, $v ];
        } elsif ($name eq "${f}_sum") {
            $sum{$series} = $v;
        } elsif ($name eq "${f}_count") {
            $count{$series} = $v;
        } else {
            die "$f: $name is not a histogram's sample\n";
        }
    }
    for my $series (keys %buckets) {
        my @b = @{ $buckets{$series} };
        my ($prev_le, $prev_v) = (-9**9**9, 0);
        for my $b (@b) {
            my $le = $b->[0] eq '+Inf' ? 9**9**9 : $b->[0];
            die "$f: le not increasing\n" unless $le > $prev_le;
            die "$f: buckets not cumulative\n" unless $b->[1] >= $prev_v;
            ($prev_le, $prev_v) = ($le, $b->[1]);
        }
        die "$f: no +Inf bucket\n" unless $b[-1][0] eq '+Inf';
        die "$f: no _sum\n" unless defined $sum{$series};
        die "$f: _count is not the +Inf bucket\n"
          unless defined $count{$series} && $count{$series} == $b[-1][1];
    }
}

# the value of one series, or undef
sub value {
    my ($fam, $name, %labels) = @_;
    my $f = $name;
    $f =~ s/_(bucket|sum|count)$// unless $fam->{$f};
    for my $s (@{ $fam->{$f}{samples} || [] }) {
        next unless $s->[0] eq $name;
        next if grep { ($s->[1]{$_} // '') ne $labels{$_} } keys %labels;
        next if keys %{ $s->[1] } != keys %labels;
        return $s->[2];
    }
    return;
}

1;
