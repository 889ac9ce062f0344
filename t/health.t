# switchboard_health (issue 9, item 3): 200 with the store's usage while a
# read works and the file is the one mapped, from either worker, without a
# token; 503 with the reason once data.mdb is removed or replaced under
# nginx; 405 for other methods; nginx -t refuses it without a store.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Copy qw(copy);
use SbTest;

my $t = SbTest->new(server => 'location = /health { switchboard_health; }');
$t->start;

my $r = $t->get('/health');
is($r->{status}, 200, 'healthy: 200');
is($r->{json}{status}, 'ok', 'status ok');
cmp_ok($r->{json}{store}{map_bytes}, '==', 256 << 20,
       'the map size configured');
cmp_ok($r->{json}{store}{used_bytes}, '>', 0, 'pages in use');
ok((grep { $_ == $r->{json}{pid} } $t->worker_pids), 'a worker answered');
my $head = $t->request('HEAD', '/health');
is($head->{status}, 200, 'HEAD: 200');
my $post = $t->post('/health', undef, {});
is($post->{status}, 405, 'POST: 405');
is($post->{json}{error}{code}, 'method_not_allowed', '... as JSON');

# the file replaced under nginx: every worker says so
my $store = "$t->{prefix}/store";
copy("$store/data.mdb", "$store/data.copy") or die "copy: $!";
rename "$store/data.copy", "$store/data.mdb" or die "rename: $!";
for (1 .. 4) {
    my $r = $t->get('/health');
    is($r->{status}, 503, 'data.mdb replaced: 503');
    like($r->{json}{reason} // '', qr/not the file nginx has open/,
         '... saying the file was replaced');
}
unlink "$store/data.mdb";
$r = $t->get('/health');
is($r->{status}, 503, 'data.mdb removed: 503');
like($r->{json}{reason} // '', qr/No such file/, '... saying it is gone');
like($t->error_log, qr/switchboard: unhealthy: .*data\.mdb/,
     'the error log says why');

# without a store, nginx -t refuses the directive
my $bare = SbTest->new;
$bare->write_file('conf/nginx.conf', <<"CONF");
pid $bare->{prefix}/logs/nginx.pid;
error_log $bare->{prefix}/logs/error.log;
load_module $bare->{module};
events { }
http {
    server {
        listen 127.0.0.1:$bare->{port};
        location = /health { switchboard_health; }
    }
}
CONF
my ($code, $out) = $bare->test_conf;
isnt($code, 0, 'nginx -t fails without switchboard_store');
like($out, qr/switchboard_health needs "switchboard_store"/, '... and says why')
  or diag $out;

done_testing;
