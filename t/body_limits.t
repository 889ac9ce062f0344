# Bodies limited while they are read (issue 8, items 6 and 15; R26): a
# chunked upload over client_max_body_size is refused as soon as it goes
# over, before the rest arrives and before it reaches the disk, and
# nginx's own error answers in Switchboard's locations are JSON.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Socket::INET;
use IO::Select;
use File::Find;
use Time::HiRes qw(time sleep);
use SbTest;

my $t = SbTest->new(server => 'location = /webhooks/whatsapp { '
    . 'switchboard_webhook whatsapp; switchboard_webhook_secret s3cret; '
    . 'client_max_body_size 64k; } '
    # as conf/switchboard.conf does it
    . 'error_page 400 408 411 413 414 494 500 501 503 /_switchboard/error; '
    . 'location = /_switchboard/error { internal; switchboard_error_json; } '
    . 'location /static/ { return 200 "static"; }')->start;
$t->{track} = 1;

# Opens a connection and sends the request head (chunked), nothing more.
sub open_chunked {
    my ($path, %h) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $t->{port}) or die "connect: $!";
    binmode $s;
    print $s "POST $path HTTP/1.1\r\nHost: localhost\r\n"
           . "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
           . join('', map { "$_: $h{$_}\r\n" } sort keys %h) . "\r\n";
    return $s;
}
# The answer, if one comes within $timeout seconds (the socket stays open).
sub answer_within {
    my ($s, $timeout) = @_;
    my $sel = IO::Select->new($s);
    my $buf = '';
    my $deadline = time + $timeout;
    while ((my $left = $deadline - time) > 0) {
        last unless $sel->can_read($left);
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
        last if $buf =~ /\r\n\r\n/ && $buf =~ /\}\s*$/;
    }
    return SbTest::parse_response($buf);
}
# files under client_body_temp_path
sub temp_files {
    my $n = 0;
    find(sub { $n++ if -f }, "$t->{prefix}/body") if -d "$t->{prefix}/body";
    return $n;
}

my $before = $t->dump_store;

# --- one chunk that declares 20 MB: refused on its size line -----------------
my $s = open_chunked('/webhooks/whatsapp');
print $s sprintf("%x\r\n", 20 * 1024 * 1024), 'x' x 1000;
my $t0 = time;
my $r = answer_within($s, 5);
is($r->{status}, 413, 'a 20 MB chunk to a 64 KB webhook: 413 at once');
is($r->{json}{error}{code}, 'body_too_large', 'as JSON, with our code');
cmp_ok(time - $t0, '<', 2, 'without waiting for the 20 MB');
close $s;

# --- small chunks: refused when they go over, the rest never sent ------------
$s = open_chunked('/webhooks/whatsapp');
print $s sprintf("%x\r\n%s\r\n", 1024, 'y' x 1024) for 1 .. 70;
$r = answer_within($s, 5);
is($r->{status}, 413, '70 chunks of 1 KB: 413 once over 64 KB, before '
   . 'the end of the body');
is($r->{json}{error}{code}, 'body_too_large', 'JSON again');
close $s;
is(temp_files(), 0, 'no body was left in client_body_temp');

# --- the visitor API (client_max_body_size 1m by default) ---------------------
$s = open_chunked('/visitor/messages',
                  Authorization => 'Bearer ' . $t->visitor('v1', 'chat'));
print $s sprintf("%x\r\n", 2 * 1024 * 1024), 'z' x 4000;
$r = answer_within($s, 5);
is($r->{status}, 413, 'a 2 MB chunk to the visitor API: 413 while reading');
is($r->{json}{error}{code}, 'body_too_large', 'as JSON');
close $s;

# --- a Content-Length over the limit: refused before reading ------------------
$s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->{port});
print $s "POST /webhooks/whatsapp HTTP/1.1\r\nHost: localhost\r\n"
       . "Content-Length: 20000000\r\n\r\n";
$r = answer_within($s, 5);
is($r->{status}, 413, 'Content-Length: 20 MB: 413 before any byte of it');
is($r->{json}{error}{code}, 'body_too_large', 'as JSON');
close $s;

# --- item 15: nginx's own errors in our locations are JSON --------------------
$s = open_chunked('/webhooks/whatsapp');
print $s "zz\r\nhello\r\n0\r\n\r\n";
$r = answer_within($s, 5);
is($r->{status}, 400, 'a broken chunk size: 400');
is($r->{json}{error}{code}, 'bad_request', 'as JSON, not nginx\'s HTML page');
like($r->{headers}{'content-type'}, qr{^application/json}, 'application/json');
close $s;

# --- errors raised before a location is chosen: the server's error_page ----------
sub raw {
    my ($bytes) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $t->{port}) or die;
    binmode $s;
    print $s $bytes;
    my $r = answer_within($s, 5);
    close $s;
    return $r;
}
$r = raw("POST /visitor/messages HTTP/1.1\r\nHost: localhost\r\n"
         . "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
         . "0\r\n\r\n");
is($r->{status}, 400, 'Content-Length beside Transfer-Encoding: 400');
is($r->{json}{error}{code}, 'bad_request', 'as JSON through error_page');
$r = raw("GET /agent/me%00x HTTP/1.1\r\nHost: localhost\r\n\r\n");
is($r->{status}, 400, '%00 in the path: 400');
is($r->{json}{error}{code}, 'bad_request', 'as JSON');
$r = raw("GARBAGE\r\n\r\n");
is($r->{status}, 400, 'a malformed request line: 400');
is($r->{json}{error}{code}, 'bad_request', 'as JSON');
$r = raw("GET /_switchboard/error HTTP/1.1\r\nHost: localhost\r\n\r\n");
is($r->{status}, 404, 'the error location is internal: 404 from outside');
$r = raw("GET /static/x HTTP/1.1\r\nHost: localhost\r\n\r\n");
is($r->{body}, 'static', 'other locations are left alone');

is($t->dump_store, $before, 'R26: none of these stored anything');
$t->check_log;
done_testing;
