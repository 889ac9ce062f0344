#!/usr/bin/env bash
# The Debian package on this machine (issue 9, item 1), as a new user
# installs it: apt-get install ./the.deb, a config in /etc/nginx/conf.d/,
# Debian's own nginx -t, the system nginx started on a loopback port, one
# authenticated round trip, then nginx stopped and the package purged.
# Usage: t/package.sh path/to/libnginx-mod-http-switchboard_*.deb (root)
set -euo pipefail
deb=$1
port=18089
conf=/etc/nginx/conf.d/switchboard-test.conf
secret=/etc/nginx/switchboard-test.jwt
pid=/run/nginx.pid                 # as Debian's nginx.conf says
doc=/usr/share/switchboard/openapi.yaml
fail() { echo "not ok - $*"; exit 1; }
ok() { echo "ok - $*"; }
cleanup() {
    [ -f "$pid" ] && nginx -s quit 2>/dev/null || true
    rm -f "$conf" "$secret"
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq \
        libnginx-mod-http-switchboard >/dev/null 2>&1 || true
    rm -rf /var/lib/switchboard-test
}
if [ -f "$pid" ] && kill -0 "$(cat "$pid")" 2>/dev/null; then
    echo "Bail out! the system nginx is running already; stop it first"
    exit 1
fi
trap cleanup EXIT

DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null \
    || fail "apt-get install $deb"
ok "apt-get install ./$(basename "$deb")"
[ -f /usr/lib/nginx/modules/ngx_http_switchboard_module.so ] \
    || fail "the module is not in /usr/lib/nginx/modules"
[ -L /etc/nginx/modules-enabled/50-mod-http-switchboard.conf ] \
    || fail "the module is not enabled in /etc/nginx/modules-enabled"
ok "module installed and enabled by the maintainer scripts"
dpkg -s libnginx-mod-http-switchboard | grep -q '^Depends:.*nginx-abi-' \
    || fail "no nginx ABI dependency"
ok "depends on the nginx ABI it was built against"
[ -x /usr/bin/sb-token ] || fail "no sb-token"
[ -x /usr/bin/sb-tenant ] || fail "no sb-tenant"
[ -f /usr/share/doc/libnginx-mod-http-switchboard/examples/switchboard-site.conf ] \
    || fail "no example configuration"
[ -f /usr/share/doc/libnginx-mod-http-switchboard/examples/cluster/front.conf ] \
    || fail "no cluster example"
usage=$(sb-tenant 2>&1 || true)       # no arguments: the usage, exit 2
grep -q 'usage: sb-tenant list' <<<"$usage" || fail "sb-tenant does not run"
ok "sb-token, sb-tenant and the example configurations installed"

head -c 32 /dev/urandom | base64 > "$secret"
chmod 600 "$secret"          # root's: the master reads it
cat > "$conf" <<CONF
switchboard_store /var/lib/switchboard-test size=64m;
# Switchboard adds nine variables; with Debian's other modules the
# default hash (1024) is too small to be optimal and nginx warns
variables_hash_max_size 2048;
switchboard_jwt_secret $secret;
server {
    listen 127.0.0.1:$port;
    location /admin/ { switchboard_admin_api; }
    location /agent/ { switchboard_agent_api; }
    location = /health { switchboard_health; allow 127.0.0.1; deny all; }
    location = /openapi.yaml {
        alias /usr/share/switchboard/openapi.yaml;
        types { } default_type application/yaml;
    }
    location /console/ { alias /usr/share/switchboard/console/; }
}
CONF
nginx -t >/dev/null 2>&1 || { nginx -t; fail "nginx -t"; }
ok "Debian's nginx -t takes the configuration"

# the system nginx, with its own nginx.conf (default site and all)
nginx || fail "the system nginx did not start"
for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$port/health" && break
    sleep 0.1
done
admin=$(sb-token --secret "$secret" --sub root --role admin)
code=$(curl -s -o /tmp/sb-pkg.json -w '%{http_code}' -X PUT \
    -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d '{"name":"Ann","groups":["default"]}' \
    "http://127.0.0.1:$port/admin/agents/ann")
[ "$code" = 201 ] || [ "$code" = 200 ] || fail "PUT /admin/agents/ann: $code $(cat /tmp/sb-pkg.json)"
agent=$(sb-token --secret "$secret" --sub ann --role agent)
curl -s -H "Authorization: Bearer $agent" "http://127.0.0.1:$port/agent/me" \
    | grep -q '"id":"ann"' || fail "GET /agent/me"
ok "an authenticated round trip: the admin makes ann, ann reads herself"
curl -s "http://127.0.0.1:$port/health" | grep -q '"status":"ok"' \
    || fail "health"
ok "health answers ok"
curl -s "http://127.0.0.1:$port/openapi.yaml" | cmp -s - "$doc" \
    || fail "the OpenAPI description is not served as installed"
ok "the OpenAPI description is installed and served"
curl -s "http://127.0.0.1:$port/console/" | grep -q 'src="js/app.js"' \
    || fail "the console's page is not served"
[ "$(curl -s -o /dev/null -w '%{content_type}' "http://127.0.0.1:$port/console/js/app.js")" \
    = application/javascript ] || fail "the console's scripts are not served as JavaScript"
ok "the console is installed and served by Debian's nginx (its mime.types)"

nginx -s quit
for _ in $(seq 50); do [ -f "$pid" ] || break; sleep 0.1; done
[ -f "$pid" ] && fail "nginx did not stop"
rm -f "$conf"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq \
    libnginx-mod-http-switchboard >/dev/null || fail "purge"
[ -e /etc/nginx/modules-enabled/50-mod-http-switchboard.conf ] \
    && fail "the module is still enabled after purge"
[ -e /usr/lib/nginx/modules/ngx_http_switchboard_module.so ] \
    && fail "the module is still there after purge"
ok "stopped and purged: nothing left enabled"
echo "1..10"
