# Mints HS256 JSON Web Tokens for Switchboard (SPEC R25) with core Perl
# only; used by the test harness (the sb-token tool is src/tools/).
package Switchboard::Token;

use strict;
use warnings;
use Digest::SHA qw(hmac_sha256);
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use Exporter 'import';

our @EXPORT_OK = qw(mint read_secret);

sub b64url {
    my $s = encode_base64(shift, '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

sub read_secret {
    my ($file) = @_;
    open my $fh, '<', $file or die "cannot read $file: $!\n";
    local $/;
    my $s = <$fh>;
    $s =~ s/[\r\n]+$//;
    return $s;
}

# mint($secret, sub => 'alice', role => 'agent', ttl => 3600, tnt => …, chn => …)
# _kid => 'k' names the key in the header; _payload => '{…}' is the
# payload's JSON as written (a claim twice, say)
sub mint {
    my ($secret, %c) = @_;
    my $ttl = delete $c{ttl} // 3600;
    my $kid = delete $c{_kid};
    my $raw = delete $c{_payload};
    $c{exp} //= time + $ttl;
    my $json = JSON::PP->new->canonical;
    my $head = b64url($json->encode({ alg => 'HS256', typ => 'JWT',
                                      (defined $kid ? (kid => $kid) : ()) }));
    my $body = b64url($raw // $json->encode(\%c));
    my $sig = b64url(hmac_sha256("$head.$body", $secret));
    return "$head.$body.$sig";
}

1;
