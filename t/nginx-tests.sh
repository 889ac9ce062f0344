#!/usr/bin/env bash
# nginx's own test suite (nginx-tests) against Debian's nginx, twice: as
# it is, and with Switchboard loaded and a store configured at http level
# (issue 19, item 3). The module must add no failure: every test that
# fails with it must fail without it too.
#
# usage: t/nginx-tests.sh MODULE.so
# The suite is public (BSD licence) and not copied here: it is taken at a
# pinned commit from $NGINX_TESTS_GIT (a clone or a bare repository),
# else from a local mirror, else cloned from GitHub. A machine that can
# reach none of them says so and stops (exit 0, or 1 with
# SB_NGINX_TESTS_REQUIRED=1): blocked, not passed.
set -euo pipefail

MODULE=$(readlink -f "${1:?usage: $0 MODULE.so}")
COMMIT=76bb761cdcaeb6cb024d605c2ef91bf8d8a602d7
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$ROOT/build/nginx-tests
SUITE=$WORK/suite-$COMMIT
JOBS=${NGINX_TESTS_JOBS:-2}

blocked() {
    echo "nginx-tests: BLOCKED: $*"
    [ "${SB_NGINX_TESTS_REQUIRED:-0}" = 1 ] && exit 1
    exit 0
}

# the suite at the pinned commit, from the first source that has it
fetch_suite() {
    local src tmp
    [ -f "$SUITE/lib/Test/Nginx.pm" ] && return 0
    mkdir -p "$WORK"
    for src in "${NGINX_TESTS_GIT:-}" /work/.mirror/nginx+nginx-tests/repo; do
        [ -n "$src" ] && [ -e "$src" ] || continue
        src=$(git -C "$src" rev-parse --absolute-git-dir 2>/dev/null) \
            || continue
        if git --git-dir="$src" cat-file -e "$COMMIT^{commit}" 2>/dev/null
        then
            rm -rf "$SUITE.tmp" && mkdir -p "$SUITE.tmp"
            git --git-dir="$src" archive "$COMMIT" | tar -x -C "$SUITE.tmp"
            mv "$SUITE.tmp" "$SUITE"
            echo "nginx-tests: $COMMIT from $src"
            return 0
        fi
    done
    tmp=$WORK/clone
    rm -rf "$tmp"
    if timeout 120 git clone -q https://github.com/nginx/nginx-tests "$tmp" \
           2>/dev/null && git -C "$tmp" cat-file -e "$COMMIT^{commit}"; then
        mkdir -p "$SUITE.tmp"
        git -C "$tmp" archive "$COMMIT" | tar -x -C "$SUITE.tmp"
        mv "$SUITE.tmp" "$SUITE"
        rm -rf "$tmp"
        echo "nginx-tests: $COMMIT from github.com"
        return 0
    fi
    rm -rf "$tmp"
    blocked "the suite at $COMMIT is not reachable here (no" \
            "NGINX_TESTS_GIT, no local mirror, github.com unreachable)"
}

# One run: prove's summary reduced to "file test" lines of failures (a
# file that died without a plan counts as "file *").
run_suite() {
    local label=$1 out=$WORK/$1.log
    echo "nginx-tests: running $label (prove -j$JOBS)"
    (cd "$SUITE" && $AS_USER env TEST_NGINX_BINARY=/usr/sbin/nginx \
        TEST_NGINX_MODULES=/usr/lib/nginx/modules \
        prove -j"$JOBS" . >"$out" 2>&1) || true
    perl -ne '
        if (/^(\S+\.t)\s+\(Wstat: (\d+).*Tests: \d+ Failed: (\d+)\)/) {
            $f = $1; print "$f *\n" if $3 == 0 && $2 != 0; next }
        if ($f && /^\s+Failed tests?:\s+(.*)/) {
            for (split /,\s*/, $1) {
                if (/^(\d+)-(\d+)$/) { print "$f $_\n" for $1 .. $2 }
                else { print "$f $_\n" } } next }
        if ($f && /^\s+Parse errors: No plan/) { print "$f *\n"; next }
        $f = undef if /^\S/ && !/^\S+\.t/;
    ' "$out" | sort -u >"$WORK/$label.failed"
    grep -aE '^(Files=|Result:)' "$out" | sed "s/^/nginx-tests: $label: /"
}

command -v prove >/dev/null || blocked "prove (perl) is not installed"
[ -x /usr/sbin/nginx ] || blocked "/usr/sbin/nginx is not installed"
# the suite loads every module `nginx -V` says is dynamic
for m in ngx_http_geoip_module ngx_http_image_filter_module \
         ngx_http_perl_module ngx_http_xslt_filter_module ngx_mail_module \
         ngx_stream_module ngx_stream_geoip_module; do
    [ -f "/usr/lib/nginx/modules/$m.so" ] \
        || blocked "/usr/lib/nginx/modules/$m.so is missing (make test-nginx" \
                   "installs Debian's libnginx-mod-* packages)"
done
fetch_suite

# The suite is written for an unprivileged user: as root, nginx's workers
# run as nobody and cannot read the tests' own files. It runs as nobody.
AS_USER=
if [ "$(id -u)" = 0 ]; then
    AS_USER="runuser -u nobody --"
    chmod -R a+rX "$SUITE"
fi

STORE=$WORK/store
rm -rf "$STORE" && mkdir -p "$STORE"
chmod 0777 "$STORE"                      # nginx-tests' workers run as nobody
head -c 32 /dev/urandom | base64 >"$WORK/jwt.secret"
chmod 0600 "$WORK/jwt.secret"              # its reader's only
[ -n "$AS_USER" ] && chown nobody "$WORK/jwt.secret"

unset TEST_NGINX_GLOBALS TEST_NGINX_GLOBALS_HTTP
run_suite plain

export TEST_NGINX_GLOBALS="load_module $MODULE;"
export TEST_NGINX_GLOBALS_HTTP="switchboard_store $STORE size=64m; switchboard_jwt_secret $WORK/jwt.secret;"
run_suite module

added=$(comm -13 "$WORK/plain.failed" "$WORK/module.failed")
echo "nginx-tests: $(wc -l <"$WORK/plain.failed") failures without the" \
     "module, $(wc -l <"$WORK/module.failed") with it"
if [ -n "$added" ]; then
    echo "nginx-tests: failures the module adds:"
    echo "$added" | sed 's/^/  /'
    for f in $(echo "$added" | cut -d' ' -f1 | sort -u); do
        echo "--- $f"
        grep -a -A3 "^$f" "$WORK/module.log" | head -20 || true
    done
    exit 1
fi
echo "nginx-tests: the module adds no failure"
