# conf/samples/ and sb-sign (issue 9, item 6): each provider's example
# payload, signed by sb-sign for the location's secret, is taken (200) and
# stored; sent again, it is a duplicate; a wrong secret is a 403.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SbTest;

my $secret = 'samples-secret-0123456789';
my $url = 'https://sb.example.com/webhooks/sms';
my %channel = (whatsapp => 'whatsapp', messenger => 'messenger',
               instagram => 'instagram', 'facebook-comment' => 'facebook',
               'x-dm' => 'twitter', 'twilio-sms' => 'sms');
my $t = SbTest->new(server => join "\n        ", map {
    "location = /webhooks/$_ { switchboard_webhook $_; "
    . "switchboard_webhook_secret file:hook.secret; "
    . ($_ eq 'sms' ? "switchboard_public_url $url; " : '') . '}'
} sort values %channel);
$t->write_file('hook.secret', "$secret\n");
$t->start;
$t->add_agent('ann', capacity => { messaging => 10 });
$t->available('ann');

my $samples = "$SbTest::ROOT/conf/samples";
my $sign = "$SbTest::ROOT/build/sb-sign";
sub signed {
    my ($file, $key) = @_;
    my $provider = $file =~ /^x-/ ? 'x' : $file =~ /^twilio/ ? 'twilio'
                                                              : 'meta';
    my $ext = $provider eq 'twilio' ? 'form' : 'json';
    my $header = `'$sign' --provider $provider --secret '$key' --url '$url' '$samples/$file.$ext'`;
    chomp $header;
    my ($name, $value) = split /: /, $header, 2;
    open my $fh, '<:raw', "$samples/$file.$ext" or die "$file: $!";
    my $body = do { local $/; <$fh> };
    return $t->request('POST', "/webhooks/$channel{$file}", body => $body,
                       headers => { $name => $value,
                           $ext eq 'form' ? ('Content-Type' =>
                               'application/x-www-form-urlencoded') : () });
}

my $stored = 0;
for my $file (sort keys %channel) {
    my $r = signed($file, $secret);
    is($r->{status}, 200, "$file: signed by sb-sign, taken") or diag $r->{body};
    my $n = @{ $t->get('/admin/conversations', $t->admin)->{json}
                 {conversations} };
    is($n, ++$stored, "$file: a conversation on $channel{$file}");
    $r = signed($file, $secret);
    is($r->{status}, 200, "$file: sent again, 200");
    is(scalar @{ $t->get('/admin/conversations', $t->admin)->{json}
                   {conversations} }, $stored, '... and not stored twice');
    is(signed($file, 'not-the-secret-0123')->{status}, 403,
       "$file: signed with another secret, 403");
}
$t->check_log;
done_testing;
