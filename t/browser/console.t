# The agents' console (issue 10) in a real Chromium: a real nginx with the
# module and two workers serves src/console/ as conf/switchboard.conf
# does, and t/browser/seed_story.mjs plays the seeds' story through it.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SbTest;
use FakeProvider;

my $root = $SbTest::ROOT;
plan skip_all => 'chromium or the browser tests\' npm packages are missing: '
               . 'make test installs them'
  unless -x '/usr/bin/chromium' && -d "$root/t/browser/node_modules";

# the default config's console location, pointed at the repo
open my $fh, '<', "$root/conf/switchboard.conf" or die $!;
my ($console) = do { local $/; <$fh> }
  =~ /(location \/console\/ \{.*?\n        \})/s
  or BAIL_OUT('conf/switchboard.conf serves no /console/');
$console =~ s{alias \.\./src/console/}{alias $root/src/console/};

my $meta = 'meta-app-secret-console';
my $provider = FakeProvider->new;
my $provider_port = $provider->port;
my $t = SbTest->new(presence => '60s',
                    http => 'switchboard_first_reply_timeout 4s;',
                    server => "$console\n"
  . "location = /webhooks/whatsapp { switchboard_webhook whatsapp; "
  . "switchboard_webhook_secret $meta; }\n"
  # WhatsApp's send API: a real HTTP server that takes the reply and
  # names it wamid.OUT1 (its statuses then come by the webhook)
  . "switchboard_deliver whatsapp /_deliver/whatsapp;\n"
  . "location /_deliver/whatsapp { internal; "
  . "proxy_pass http://127.0.0.1:$provider_port; }")->start;
my $admin = $t->admin;
$t->add_agent('ann', name => 'Ann', capacity => { messaging => 1 });
$t->add_agent('bob', name => 'Bob');
$t->add_agent('carl', name => 'Carl');
$t->put('/admin/canned/hello', $admin,
        { title => 'Hello', text => 'Hello {{visitor}}, {{agent}} here' });

my $shots = "$root/build/browser";
my $out = `env -u LD_PRELOAD SB_BASE=http://127.0.0.1:$t->{port} SB_JWT_SECRET='$t->{secret}' SB_META_SECRET='$meta' SB_SHOTS='$shots' node '$root/t/browser/seed_story.mjs' 2>&1`;
my $rc = $? >> 8;
my $seen = 0;
for (split /\n/, $out) {
    if (/^(not )?ok - (.*)$/) {
        ok(!$1, $2);
        $seen++;
    } else {
        diag $_;
    }
}
cmp_ok($seen, '>=', 30, 'the story ran its steps');
is($rc, 0, 'the browser story passed');
ok(-s "$shots/2-whatsapp-orange.png", "screenshots in $shots");
$t->check_log;
done_testing;
