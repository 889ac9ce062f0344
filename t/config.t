# Directives: nginx -t reports bad ones with file and line; custom slot
# classes and the store's size and sync options take effect.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SbTest;

my @bad = (
    [ 'switchboard_slot_class voice 2 phone;', qr/unknown channel "phone"/ ],
    [ "switchboard_slot_class chat 3 chat;\n"
      . '    switchboard_slot_class web 3 chat;',
      qr/channel "chat" is already in a slot class/ ],
    [ 'switchboard_slot_class chat -1 chat;', qr/invalid capacity/ ],
    [ 'switchboard_slot_class all 1 chat;', qr/invalid slot class name/ ],
    [ 'switchboard_slot_class chat 1;', qr/needs at least one channel/ ],
    [ '', qr/must be shorter than/, poll => '10s' ],
    # issue 11: a stream's beats must come often enough to keep presence
    [ 'switchboard_stream_heartbeat 3s;',
      qr/switchboard_stream_heartbeat must be above 0 and at most half/ ],
    [ 'switchboard_stream_heartbeat 0;',
      qr/switchboard_stream_heartbeat must be above 0/ ],
    [ 'switchboard_stream_buffer 100;',
      qr/switchboard_stream_buffer must be at least 1k/ ],
    [ '', qr/invalid value/, poll => 'soon' ],
    [ 'switchboard_group "bad group";', qr/invalid switchboard_group/ ],
    [ 'switchboard_snooze_presets 3h soon;',
      qr/invalid snooze preset "soon"/ ],
    [ 'switchboard_auto_close pager 7d;', qr/unknown channel "pager"/ ],
    [ 'switchboard_auto_close mobile never;',
      qr/invalid auto-close time "never"/ ],
    [ "switchboard_auto_close sms 1d;\n    switchboard_auto_close sms off;",
      qr/is duplicate for this channel/ ],
    [ 'switchboard_first_reply_timeout 5 minutes;',
      qr/invalid number of arguments/ ],
    [ 'switchboard_reply_timeout 12x;', qr/invalid value/ ],
    [ 'switchboard_snooze_max -1d;', qr/invalid value/ ],
    [ 'switchboard_sticky maybe;', qr/invalid value "maybe"/ ],
    [ 'switchboard_capabilities chat canned teleport;',
      qr/unknown capability "teleport"/ ],
    [ 'switchboard_capabilities fax canned;', qr/unknown channel "fax"/ ],
    [ "switchboard_capabilities chat none;\n"
      . "    switchboard_capabilities chat tags;",
      qr/is duplicate for this channel/ ],
    [ 'switchboard_max_text 0;', qr/switchboard_max_text must be 1 to 64k/ ],
    [ 'switchboard_max_text lots;', qr/invalid value/ ],
    [ 'switchboard_deliver_attempts 0;',
      qr/switchboard_deliver_attempts must be at least 1/ ],
    [ 'switchboard_deliver_backoff soon;', qr/invalid value/ ],
    [ 'switchboard_dedupe_window forever;', qr/invalid value/ ],
    # issue 9: a literal tenant is checked by nginx -t
    [ 'switchboard_tenant "acme corp";', qr/invalid switchboard_tenant "acme corp"/ ],
    # issue 9: two keys (the new and the old), not three
    [ "switchboard_jwt_secret PREFIX/jwt.secret;\n"
      . '    switchboard_jwt_secret PREFIX/jwt.secret;',
      qr/is given more than twice/ ],
);
for my $case (@bad) {
    my ($http, $re, %o) = @$case;
    my $t = SbTest->new(%o);
    ($t->{http} = $http) =~ s/PREFIX/$t->{prefix}/g;
    $t->write_conf;
    my ($code, $out) = $t->test_conf;
    isnt($code, 0, "nginx -t refuses: $http");
    like($out, $re, '... and says why');
    like($out, qr{nginx\.conf:\d+}, '... with file and line');
}

# every example in conf/ is a valid server {} include, as written: its
# provider hosts are resolved at run time (a variable and a resolver), so
# nginx -t needs no network; its secrets are files, made here
for my $example (glob "$SbTest::ROOT/conf/*-*.conf") {
    my $t = SbTest->new;
    open my $fh, '<', $example or die "$example: $!";
    (my $text = do { local $/; <$fh> })
      =~ s{/etc/nginx/switchboard/}{$t->{prefix}/secrets/}g;
    mkdir "$t->{prefix}/secrets";
    $t->write_file("secrets/$_", "a-secret-$_\n")
      for $text =~ m{secrets/([\w.-]+)}g;
    $t->write_file('example.conf', $text);
    $t->{server} = "include $t->{prefix}/example.conf;";
    $t->write_conf;
    my ($code, $out) = $t->test_conf;
    is($code, 0, "conf/" . ($example =~ s{.*/}{}r) . " passes nginx -t")
        or diag $out;
}

# issue 19: every example that proxies to a provider or a CRM verifies
# its certificate
for my $example (glob "$SbTest::ROOT/conf/*-*.conf") {
    open my $fh, '<', $example or die "$example: $!";
    my $text = do { local $/; <$fh> };
    my $proxies = () = $text =~ /^\s*proxy_pass /mg;
    my $verified = () = $text =~ /^\s*proxy_ssl_verify on;/mg;
    my $trusted = () = $text =~ m{^\s*proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates\.crt;}mg;
    is($verified, $proxies, ($example =~ s{.*/}{}r)
       . ": each of its $proxies proxy_pass verifies TLS");
    is($trusted, $proxies, '... against the system CAs');
}

# issue 19: a secret others can read is said at nginx -t
{
    my $t = SbTest->new(server => 'location = /w { switchboard_webhook '
                                . 'whatsapp; switchboard_webhook_secret '
                                . 'file:open.secret; }');
    $t->write_file('open.secret', "a-secret-anyone-reads\n");
    chmod 0644, "$t->{prefix}/open.secret";
    my ($code, $out) = $t->test_conf;
    is($code, 0, 'a secret file of mode 644 is taken');
    like($out, qr/secret file ".*open\.secret" can be read by its group or others \(mode 644\): chmod 600 it/,
         '... with a warning');
    chmod 0600, "$t->{prefix}/open.secret";
    ($code, $out) = $t->test_conf;
    unlike($out, qr/can be read by/, 'mode 600: no warning');
    chmod 0640, "$t->{prefix}/jwt.secret";
    ($code, $out) = $t->test_conf;
    like($out, qr/secret file ".*jwt\.secret" can be read by its group/,
         'the JWT key too');
}

for my $store ('switchboard_store PREFIX/s size=1k;',
               'switchboard_store PREFIX/s sync=maybe;',
               # issue 20: the reserve is a size, below half the map
               'switchboard_store PREFIX/s reserve=lots;',
               'switchboard_store PREFIX/s size=4m reserve=2m;')
{
    my $t = SbTest->new;
    (my $s = $store) =~ s/PREFIX/$t->{prefix}/;
    $t->{store} = $s;
    $t->write_conf;
    my ($code, $out) = $t->test_conf;
    isnt($code, 0, "nginx -t refuses $store");
    like($out, qr{nginx\.conf:\d+}, '... with file and line');
}

for my $case (
    [ 'location = /w { switchboard_webhook fax; }',
      qr/switchboard_webhook takes whatsapp, messenger, instagram, facebook, twitter or sms/ ],
    [ 'location = /w { switchboard_webhook whatsapp; }',
      qr/needs "switchboard_store" and its "switchboard_webhook_secret"/ ],
    [ 'location = /w { switchboard_webhook sms; switchboard_webhook_secret s; }',
      qr/switchboard_webhook sms location needs "switchboard_public_url"/ ],
    [ 'switchboard_deliver chat /_deliver/chat;',
      qr/switchboard_deliver takes a third-party channel, not "chat"/ ],
    [ 'switchboard_deliver sms _deliver;',
      qr/needs a location URI starting with "\/"/ ],
    [ 'switchboard_deliver sms /a; switchboard_deliver sms /b;',
      qr/is duplicate for this channel/ ],
    [ 'location = /w { switchboard_webhook sms; '
      . 'switchboard_webhook_secret file:missing.secret; }',
      qr/open\(\) ".*missing.secret" failed/ ],
    # issue 9: a placeholder left from an example, inline or in its file
    [ 'location = /w { switchboard_webhook whatsapp; '
      . 'switchboard_webhook_secret "<app secret>"; }',
      qr/"<app secret>" is a placeholder/ ],
    [ 'location = /w { switchboard_webhook whatsapp; '
      . 'switchboard_webhook_secret file:placeholder.secret; }',
      qr/"<auth token>" is a placeholder/ ],
    [ 'location = /w { switchboard_webhook whatsapp; switchboard_webhook_secret s; '
      . 'switchboard_verify_token "<verify token>"; }',
      qr/"<verify token>" is a placeholder/ ],
    [ 'location /x { switchboard_deliver sms /a; }',
      qr/"switchboard_deliver" directive is not allowed here/ ],
    # issue 8, R1: a provider's messages would have no slot class to go to
    [ 'location = /w { switchboard_webhook whatsapp; '
      . 'switchboard_webhook_secret s; }',
      qr/switchboard_webhook whatsapp location needs a "switchboard_slot_class" that takes whatsapp/,
      'switchboard_slot_class chat 3 chat; switchboard_slot_class app 2 mobile;' ],
) {
    my $t = SbTest->new(server => $case->[0], http => $case->[2] // '');
    $t->write_file('placeholder.secret', "<auth token>\n");
    my ($code, $out) = $t->test_conf;
    isnt($code, 0, "nginx -t refuses: $case->[0]");
    like($out, $case->[1], '... and says why');
    like($out, qr{nginx\.conf:\d+}, '... with file and line');
}

{
    my $t = SbTest->new(store => '');
    my ($code, $out) = $t->test_conf;
    isnt($code, 0, 'API locations without a store are refused');
    like($out, qr/need "switchboard_store"/, '... and it says so');
}

{
    my $t = SbTest->new;
    (my $conf = $t->conf_text) =~ s{/jwt\.secret}{/nope};
    $t->write_file('conf/nginx.conf', $conf);
    my ($code, $out) = $t->test_conf;
    isnt($code, 0, 'a missing secret file is refused');
    like($out, qr{open\(\) ".*/nope" failed}, '... naming the file');
    like($out, qr{nginx\.conf:\d+}, '... with file and line');
}

# custom classes: web chat gets 1 slot; sms joins a "text" class with 2
my $t = SbTest->new(http => "switchboard_slot_class chat 1 chat;\n"
                          . "    switchboard_slot_class mobile 2 mobile;\n"
                          . "    switchboard_slot_class text 2 sms whatsapp;",
                    store => undef);
$t->{store} = "switchboard_store $t->{prefix}/store size=32m sync=off;";
$t->write_conf;
my ($code, $out) = $t->test_conf;
is($code, 0, 'custom classes pass nginx -t') or diag $out;
$t->start;
$t->add_agent('ann');
my $me = $t->available('ann')->{json};
is_deeply([ sort keys %{ $me->{classes} } ], [qw(chat mobile text)],
          'the configured classes are the ones shown');
is($me->{classes}{chat}{capacity}, 1, 'chat capacity from the directive');
$t->say_visitor('v1', 'chat', 'a');
my $c2 = $t->say_visitor('v2', 'chat', 'b')->{json}{conversation};
is($t->get("/admin/conversations/$c2", $t->admin)->{json}{state}, 'queued',
   'the second chat waits: capacity 1');
$t->stop;
$t->check_log;
done_testing;
