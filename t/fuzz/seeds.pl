#!/usr/bin/env perl
# Seed corpora from the suite's own traffic: reads what SB_FUZZ_RECORD
# wrote (requests and store dumps) and writes one file per seed under
# OUT/<corpus>/, named by its SHA-1 (the Makefile then keeps the ones that
# add coverage). Usage: seeds.pl RECORD_DIR OUT_DIR
use strict;
use warnings;
use Digest::SHA qw(sha1_hex);
use File::Path qw(make_path);
use JSON::PP;
use MIME::Base64 qw(decode_base64);

my ($rec, $out) = @ARGV;
die "usage: $0 RECORD_DIR OUT_DIR\n" unless $rec && $out;
my $JSON = JSON::PP->new;

sub seed {
    my ($corpus, $bytes) = @_;
    make_path("$out/$corpus");
    my $f = "$out/$corpus/" . sha1_hex($bytes);
    return if -e $f;
    open my $fh, '>:raw', $f or die "$f: $!";
    print $fh $bytes;
    close $fh;
}

sub b64url { my $s = shift; $s =~ tr{-_}{+/}; decode_base64($s) }

# the command of a request, as t/fuzz/body.c numbers them
my @commands = (
    [ POST => qr{^/visitor/messages$} ],
    [ POST => qr{^/agent/conversations/[^/]+/messages$} ],
    [ PUT  => qr{^/agent/availability$} ],
    [ POST => qr{^/agent/conversations/[^/]+/snooze$} ],
    [ POST => qr{^/agent/conversations/[^/]+/transfer$} ],
    [ PUT  => qr{^/agent/conversations/[^/]+/tags$} ],
    [ PUT  => qr{^/admin/agents/[^/]+$} ],
    [ PUT  => qr{^/admin/groups/[^/]+$} ],
    [ PUT  => qr{^/admin/canned/[^/]+$} ],
    [ POST => qr{^/agent/conversations/[^/]+/end$} ],
    [ POST => qr{^/agent/conversations/[^/]+/block$} ],
);
my %webhook = ('x-hub-signature-256' => 'webhook_meta',
               'x-twitter-webhooks-signature' => 'webhook_x',
               'x-twilio-signature' => 'webhook_sms');

for my $file (glob "$rec/requests-*.jsonl") {
    open my $fh, '<', $file or die "$file: $!";
    while (my $line = <$fh>) {
        my $r = eval { $JSON->decode($line) } or next;
        my $body = defined $r->{body} ? pack('H*', $r->{body}) : undef;
        my ($path, $query) = split /\?/, $r->{path}, 2;

        if (defined(my $t = $r->{token})) {
            seed(jwt => "\x01$t");
            my ($h, $p) = split /\./, $t;
            seed(jwt => "\x00" . b64url($h) . "\n" . b64url($p))
              if defined $p;
        }
        seed(args => $_) for grep { length } split m{/}, $path;
        if (defined $query) {
            seed(args => $_) for map { (split /=/, $_, 2)[1] // $_ }
                                 split /&/, $query;
        }
        next unless defined $body && length $body;

        my %headers = map { lc($_) => $r->{headers}{$_} }
                      keys %{ $r->{headers} || {} };
        my ($hook) = grep { exists $headers{$_} } keys %webhook;
        if ($hook) {
            seed($webhook{$hook} => "\n$body");
            seed($webhook{$hook} => "$headers{$hook}\n$body");
        }
        seed(json => $body) if $body =~ /^\s*[\[{]/;
        for my $i (0 .. $#commands) {
            my ($method, $re) = @{ $commands[$i] };
            next unless $r->{method} eq $method && $path =~ $re;
            seed(body => chr($i) . chr($_) . $body) for 0, 7;
        }
        seed(time => $1) while $body =~ /"(\d{4}-[^"]{5,40})"/g;
    }
}

# the store's records, as the suite left them
my %records = map { $_ => 1 }
  qw(conv thread handlers agent event idem ledger block canned group hook);
for my $file (glob "$rec/store-*.dump") {
    open my $fh, '<', $file or die "$file: $!";
    my ($db, $key);
    while (my $line = <$fh>) {
        chomp $line;
        if ($line =~ /^database=(\S+)/) { $db = $1; $key = undef; next }
        next unless $db && $records{$db} && $line =~ /^ ([0-9a-f]*)$/;
        if (defined $key) {
            seed(records => pack('H*', $1));
            $key = undef;
        } else {
            $key = $1;
        }
    }
}
