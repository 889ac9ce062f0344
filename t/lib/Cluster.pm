# A Switchboard cluster on loopback (issue 12), from the shipped
# conf/cluster/ files with only addresses and paths swapped: nodes
# (node.conf) and a front (front.conf, plain nginx). For t/cluster.t and
# the front's benchmark.
package Cluster;
use strict;
use warnings;
use File::Copy qw(copy);
use SbTest;

sub slurp { open my $fh, '<', $_[0] or die "$_[0]: $!"; local $/; <$fh> }

# node.conf for node n of test object t; http and server: lines added
sub node_conf {
    my ($t, $n, %o) = @_;
    my $p = $t->{prefix};
    my $text = slurp("$SbTest::ROOT/conf/cluster/node.conf");
    $text =~ s{modules/ngx_http_switchboard_module\.so}{$t->{module}};
    $text =~ s{/var/lib/switchboard}{$p/store};
    $text =~ s{/etc/nginx/switchboard/}{$p/secrets/}g;
    $text =~ s{/var/log/nginx/switchboard\.}{$p/logs/}g;
    $text =~ s{/run/switchboard-node\.pid}{$p/logs/nginx.pid};
    $text =~ s{sync=on}{sync=$o{sync}} if $o{sync};
    my $server = "add_header X-Node n$n always; " . ($o{server} // '');
    $text =~ s{(\n\s*)listen 8080;}{$1listen 127.0.0.1:$t->{port};$1$server};
    my $http = "client_body_temp_path $p/body; " . ($o{http} // '');
    $text =~ s{(switchboard_tenant \$switchboard_host_tenant;)}{$1\n    $http};
    $text =~ s{access_log \S+;}{access_log off;} if $o{quiet};
    return $text;
}

# n nodes sharing one JWT key (and the Meta secret given), started
sub nodes {
    my (%o) = @_;
    my @nodes;
    for my $n (1 .. $o{n} // 3) {
        my $t = SbTest->new;
        $t->{secret} = $o{jwt};
        mkdir "$t->{prefix}/secrets";
        $t->write_file('secrets/jwt.secret', "$o{jwt}\n");
        $t->write_file('secrets/meta-app.secret', ($o{meta} // 'x' x 20) . "\n");
        $t->write_file('secrets/meta-verify.token', "verify-me\n");
        $t->write_file('conf/nginx.conf', node_conf($t, $n, %o));
        $t->start;
        push @nodes, $t;
    }
    return @nodes;
}

# front.conf in front of the nodes, its pins in PREFIX/pins.map
sub front_conf {
    my ($f, $nodes, %o) = @_;
    my $fp = $f->{prefix};
    my $text = slurp("$SbTest::ROOT/conf/cluster/front.conf");
    $text =~ s{worker_processes auto;}{worker_processes 2;};
    $text =~ s{/var/log/nginx/switchboard-front\.}{$fp/logs/}g;
    $text =~ s{/run/switchboard-front\.pid}{$fp/logs/nginx.pid};
    $text =~ s{/etc/nginx/switchboard/pins\.map}{$fp/pins.map};
    $text =~ s{10\.0\.0\.(\d):8080}{127.0.0.1:$nodes->[$1 - 1]{port}}g;
    $text =~ s{listen 80;}{listen 127.0.0.1:$f->{port};};
    $text =~ s{(http \{)}{$1\n    client_body_temp_path $fp/body;\n    proxy_temp_path $fp/proxy;};
    $text =~ s{access_log \S+;}{access_log off;} if $o{quiet};
    return $text;
}

sub front {
    my ($nodes, %o) = @_;
    my $f = SbTest->new(workers => 2);
    $f->{secret} = $o{jwt};
    copy("$SbTest::ROOT/conf/cluster/pins.map", "$f->{prefix}/pins.map")
      or die $!;
    $f->write_file('conf/nginx.conf', front_conf($f, $nodes, %o));
    return $f;
}

1;
