# Switchboard: build the dynamic module against Debian's nginx, run the
# default config, test, and benchmark. `make run` and `make test` are the
# two commands the README starts with.

SHELL       := /bin/bash
NGX_SRC     ?= /usr/share/nginx/src
BUILD       := build
NGX_BUILD   := $(BUILD)/nginx
MODULE      := $(NGX_BUILD)/objs/ngx_http_switchboard_module.so
DEB_PKGS    := nginx nginx-dev libjansson-dev liblmdb-dev lmdb-utils libssl-dev gcc make perl curl ca-certificates
BENCH_PKGS  := wrk libnginx-mod-nchan
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SOURCES     := $(shell find src/core src/nginx -name '*.[ch]') config
CORE_SRCS   := $(shell find src/core -name '*.c' | sort)
UNIT_TESTS  := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(wildcard t/unit/*.c))
SB_TOKEN    := $(BUILD)/sb-token
SB_SIGN     := $(BUILD)/sb-sign
SB_TENANT   := $(BUILD)/sb-tenant
comma       := ,
SAN_FLAGS   := --with-cc-opt="-fsanitize=address$(comma)undefined -fno-omit-frame-pointer" --with-ld-opt="-fsanitize=address$(comma)undefined"
CFLAGS_CORE := -std=gnu11 -g -O1 -Wall -Wextra -Wno-unused-parameter -Werror -Isrc/core

.PHONY: all deps openapi-deps browser-deps run test test-asan test-nginx unit bench bench-cluster soak deb test-deb fuzz fuzz-build fuzz-seeds clean

all: $(MODULE) $(SB_TOKEN) $(SB_SIGN) $(SB_TENANT)

$(SB_TOKEN): src/tools/sb-token.c | deps
	@mkdir -p $(BUILD)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $< -lcrypto

$(SB_SIGN): src/tools/sb-sign.c | deps
	@mkdir -p $(BUILD)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $< -lcrypto

# moves a tenant between nodes' stores (issue 12): linked with the core
$(SB_TENANT): src/tools/sb-tenant.c $(CORE_SRCS) | deps
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_CORE) -O2 -o $@ $< $(CORE_SRCS) -llmdb -lcrypto

# Installs only what is missing (apt-get, with sudo when not root).
deps:
	@missing=$$(for p in $(DEB_PKGS) $(EXTRA_PKGS); do \
	    dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing: $$missing"; \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(NGX_BUILD)/objs/Makefile: config | deps
	rm -rf $(NGX_BUILD) && mkdir -p $(BUILD)
	cp -r $(NGX_SRC) $(NGX_BUILD)
	cd $(NGX_BUILD) && . ./conf_flags && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" --add-dynamic-module=$(CURDIR) \
	    $(if $(SANITIZE),$(SAN_FLAGS)) \
	    > configure.log 2>&1 || { tail -30 configure.log; exit 1; }

$(MODULE): $(NGX_BUILD)/objs/Makefile $(SOURCES)
	$(MAKE) -s -C $(NGX_BUILD) -f objs/Makefile modules

# Once nginx answers, a demo agent is put in the directory and the
# console's sign-in links are printed (the token in the fragment).
CONSOLE := http://127.0.0.1:8080/console/\#token=
run: $(MODULE) $(SB_TOKEN)
	@mkdir -p var/logs var/store var/body
	@[ -f var/jwt.secret ] || head -c 32 /dev/urandom | base64 > var/jwt.secret
	@echo "Switchboard on http://127.0.0.1:8080 (Ctrl-C stops it); logs in var/logs"
	@( for _ in $$(seq 100); do curl -s -o /dev/null http://127.0.0.1:8080/health && break; sleep 0.1; done; \
	   admin=$$($(SB_TOKEN) --secret var/jwt.secret --sub root --role admin --ttl 43200); \
	   curl -s -o /dev/null -X PUT -H "Authorization: Bearer $$admin" \
	       -H 'Content-Type: application/json' -d '{"name":"Demo Agent"}' \
	       http://127.0.0.1:8080/admin/agents/demo; \
	   echo "console, as the demo agent: $(CONSOLE)$$($(SB_TOKEN) --secret var/jwt.secret --sub demo --role agent --ttl 43200)"; \
	   echo "console, as the admin:      $(CONSOLE)$$admin" ) &
	@echo "mint a token:  TOKEN=\$$($(SB_TOKEN) --secret var/jwt.secret --sub root --role admin)"
	@echo "then try:      curl -H \"Authorization: Bearer \$$TOKEN\" http://127.0.0.1:8080/admin/groups/default"
	@echo "the README walks through a 5-minute tour"
	nginx -p $(CURDIR)/var/ -c $(CURDIR)/conf/switchboard.conf \
	    -g "daemon off; load_module $(CURDIR)/$(MODULE);"

$(BUILD)/unit/%: t/unit/%.c $(CORE_SRCS) t/unit/tap.h t/unit/core.h t/unit/seed_config.h | deps
	@mkdir -p $(BUILD)/unit
	$(CC) $(CFLAGS_CORE) -It/unit -o $@ $< $(CORE_SRCS) -llmdb -ljansson -lcrypto

unit: $(UNIT_TESTS)
	prove --exec '' $(UNIT_TESTS)

# The OpenAPI checker (t/openapi/): Node.js from Debian when the machine
# has none, its npm packages at the versions package-lock.json pins.
openapi-deps:
	@command -v node >/dev/null || $(MAKE) -s deps EXTRA_PKGS=nodejs
	@command -v npm >/dev/null || $(MAKE) -s deps EXTRA_PKGS=npm
	@[ t/openapi/node_modules/.package-lock.json -nt t/openapi/package-lock.json ] \
	    || (cd t/openapi && npm ci --no-audit --no-fund --loglevel=error)

# The browser tests (t/browser/): Debian's chromium and an emoji font,
# puppeteer-core at the version package-lock.json pins (no browser download).
browser-deps: openapi-deps
	@$(MAKE) -s deps EXTRA_PKGS="chromium fonts-noto-color-emoji"
	@[ t/browser/node_modules/.package-lock.json -nt t/browser/package-lock.json ] \
	    || (cd t/browser && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)

# The suite records every answer it reads; the checker then validates
# doc/openapi.yaml and each answer against its operation.
API_RECORD := $(BUILD)/api-record
test: $(MODULE) $(SB_TOKEN) $(SB_SIGN) $(SB_TENANT) unit openapi-deps browser-deps
	@rm -rf $(API_RECORD) && mkdir -p $(API_RECORD)
	SB_MODULE=$(CURDIR)/$(MODULE) SB_API_RECORD=$(CURDIR)/$(API_RECORD) prove -r t
	node t/openapi/check.mjs doc/openapi.yaml $(API_RECORD) src

# The same suite against an ASan + UBSan build of the module, with
# error_log at debug (Debian's nginx is built --with-debug, and its debug
# lines read what our events carry, issue 19); nginx gets the runtime
# preloaded, and any sanitizer report fails the run (and is printed: the
# reports directory is writable by the unprivileged workers).
ASAN_REPORTS := $(CURDIR)/build/asan/reports
test-asan:
	$(MAKE) BUILD=build/asan SANITIZE=1 build/asan/nginx/objs/ngx_http_switchboard_module.so
	@rm -rf $(ASAN_REPORTS) && mkdir -p $(ASAN_REPORTS) && chmod 1777 $(ASAN_REPORTS)
	@status=0; \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=$(ASAN_REPORTS)/report \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$(ASAN_REPORTS)/report \
	LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	SB_ERROR_LOG_LEVEL=debug \
	SB_MODULE=$(CURDIR)/build/asan/nginx/objs/ngx_http_switchboard_module.so \
	    prove -r t || status=$$?; \
	if ls $(ASAN_REPORTS)/report.* >/dev/null 2>&1; then \
	    cat $(ASAN_REPORTS)/report.*; exit 1; fi; \
	exit $$status

# nginx's own test suite (nginx-tests, taken at a pinned commit) run twice
# against Debian's nginx, without and with the module and a store: the
# module must add no failure (t/nginx-tests.sh). The suite loads every
# module `nginx -V` names as dynamic, so Debian's packages of them come
# first.
NGINX_TEST_PKGS := libnginx-mod-http-geoip libnginx-mod-http-image-filter \
                   libnginx-mod-http-perl libnginx-mod-http-xslt-filter \
                   libnginx-mod-mail libnginx-mod-stream libnginx-mod-stream-geoip
test-nginx: $(MODULE)
	@$(MAKE) -s deps EXTRA_PKGS="$(NGINX_TEST_PKGS)"
	bash t/nginx-tests.sh $(MODULE)

BENCH_TOOLS := $(BUILD)/bench/core $(BUILD)/bench/latency $(BUILD)/bench/polls

$(BUILD)/bench/core: t/bench/core.c $(CORE_SRCS) | deps
	@mkdir -p $(BUILD)/bench
	$(CC) $(CFLAGS_CORE) -O2 -o $@ $< $(CORE_SRCS) -llmdb -ljansson -lcrypto

$(BUILD)/bench/%: t/bench/%.c
	@mkdir -p $(BUILD)/bench
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $<

# The Debian package (debian/): built with dpkg-buildpackage and dh_nginx
# against Debian's nginx; the .deb lands in build/deb/. `make test-deb`
# installs it into the system nginx, tries it, and purges it (root).
DEB_VERSION := $(shell dpkg-parsechangelog -S Version 2>/dev/null)
DEB_FILE    := build/deb/libnginx-mod-http-switchboard_$(DEB_VERSION)_$(shell dpkg --print-architecture).deb
deb:
	@$(MAKE) -s deps EXTRA_PKGS="debhelper dpkg-dev"
	dpkg-buildpackage -us -uc -b
	@mkdir -p build/deb
	mv ../libnginx-mod-http-switchboard*_$(DEB_VERSION)_* build/deb/
	@echo "built $(DEB_FILE)"

test-deb: deb
	@$(MAKE) -s deps EXTRA_PKGS=curl
	bash t/package.sh $(CURDIR)/$(DEB_FILE)

# The chaos test of the suite (t/soak.t, 20 s there) for SOAK_SECONDS, then
# the store's level under steady traffic and retention (t/store_level.t,
# 24 s there) for as long.
SOAK_SECONDS ?= 300
soak: $(MODULE) $(SB_TOKEN)
	SOAK_SECONDS=$(SOAK_SECONDS) SB_MODULE=$(CURDIR)/$(MODULE) prove -v t/soak.t
	LEVEL_SECONDS=$(SOAK_SECONDS) SB_MODULE=$(CURDIR)/$(MODULE) prove -v t/store_level.t

# About seven minutes; prints figures and ratios, never fails on a figure.
bench: $(MODULE) $(BENCH_TOOLS)
	@$(MAKE) -s deps EXTRA_PKGS="$(BENCH_PKGS)"
	perl t/bench/run.pl $(CURDIR)/$(MODULE) $(CURDIR)/$(BUILD)/bench

# the cluster's front (issue 12): three nodes and the front on loopback,
# the same load direct and through the front
bench-cluster: $(MODULE)
	@$(MAKE) -s deps EXTRA_PKGS="$(BENCH_PKGS)"
	perl t/bench/front.pl $(CURDIR)/$(MODULE)

# Fuzzing (t/fuzz/): libFuzzer targets built with Debian's clang, ASan and
# UBSan, over the core compiled once with coverage. `make fuzz` runs each
# target FUZZ_SECONDS (or FUZZ_RUNS inputs, whichever ends first; other
# libFuzzer flags in FUZZ_FLAGS) on its committed seeds plus a working
# corpus in build/fuzz/corpus; `make fuzz-seeds` remakes the seeds.
FUZZ        := $(BUILD)/fuzz
FUZZ_CC     := clang
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) -Wall -Werror -Isrc/core
FUZZ_OBJS   := $(patsubst src/core/%.c,$(FUZZ)/core/%.o,$(CORE_SRCS))
FUZZ_META   := whatsapp messenger instagram facebook
FUZZ_PLAIN  := jwt body json time args records
FUZZ_HOOKS  := $(addprefix webhook_,$(FUZZ_META) x sms)
FUZZ_NAMES  := $(FUZZ_PLAIN) $(FUZZ_HOOKS)
FUZZ_BINS   := $(addprefix $(FUZZ)/,$(FUZZ_NAMES))
FUZZ_SECONDS ?= 60
FUZZ_RUNS   ?= -1
FUZZ_FLAGS  ?=
FUZZ_PKGS   := clang libclang-rt-14-dev
channel_of   = $(if $(filter x,$1),SB_CH_TWITTER,SB_CH_$(shell echo $1 | tr a-z A-Z))

$(FUZZ)/core/%.o: src/core/%.c $(shell find src/core -name '*.h')
	@mkdir -p $(dir $@)
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(addprefix $(FUZZ)/,$(FUZZ_PLAIN)): $(FUZZ)/%: t/fuzz/%.c t/fuzz/fuzz.h t/unit/seed_config.h $(FUZZ_OBJS)
	@echo "  fuzz target $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) -llmdb -ljansson -lcrypto

$(addprefix $(FUZZ)/,$(FUZZ_HOOKS)): $(FUZZ)/webhook_%: t/fuzz/webhook.c t/fuzz/fuzz.h t/unit/seed_config.h $(FUZZ_OBJS)
	@echo "  fuzz target $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -DSB_FUZZ_CHANNEL=$(call channel_of,$*) -o $@ $< $(FUZZ_OBJS) -llmdb -ljansson -lcrypto

fuzz-build:
	@$(MAKE) -s deps EXTRA_PKGS="$(FUZZ_PKGS)"
	@$(MAKE) $(FUZZ_BINS)

# Each target in turn; a finding stops the run with its crash file.
fuzz: fuzz-build
	@for t in $(FUZZ_NAMES); do \
	    mkdir -p $(FUZZ)/corpus/$$t; \
	    seeds=t/fuzz/seeds/$$t; \
	    case $$t in webhook_whatsapp|webhook_messenger|webhook_instagram|webhook_facebook) \
	        seeds=t/fuzz/seeds/webhook_meta;; esac; \
	    $(FUZZ)/$$t -max_total_time=$(FUZZ_SECONDS) -runs=$(FUZZ_RUNS) $(FUZZ_FLAGS) -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ)/crash-$$t- \
	        $(FUZZ)/corpus/$$t $$seeds > $(FUZZ)/$$t.log 2>&1 \
	        || { tail -60 $(FUZZ)/$$t.log; exit 1; }; \
	    printf '%-18s %12s runs in %4s s, %6s exec/s, no finding\n' $$t \
	        $$(sed -n 's/^stat::number_of_executed_units: *//p' $(FUZZ)/$$t.log) \
	        $$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' $(FUZZ)/$$t.log) \
	        $$(sed -n 's/^stat::average_exec_per_sec: *//p' $(FUZZ)/$$t.log); \
	done

# The seeds again from the suite's requests and stores: recorded, then
# merged so that only inputs adding coverage are kept.
fuzz-seeds: fuzz-build $(MODULE)
	rm -rf $(FUZZ)/record $(FUZZ)/raw && mkdir -p $(FUZZ)/record && chmod 777 $(FUZZ)/record
	SB_FUZZ_RECORD=$(CURDIR)/$(FUZZ)/record SB_MODULE=$(CURDIR)/$(MODULE) prove -r t >/dev/null || true
	perl t/fuzz/seeds.pl $(FUZZ)/record $(FUZZ)/raw
	@for t in $(FUZZ_NAMES); do \
	    raw=$(FUZZ)/raw/$$t; seeds=t/fuzz/seeds/$$t; \
	    case $$t in webhook_whatsapp|webhook_messenger|webhook_instagram|webhook_facebook) \
	        raw=$(FUZZ)/raw/webhook_meta; seeds=t/fuzz/seeds/webhook_meta;; esac; \
	    mkdir -p $$seeds; \
	    $(FUZZ)/$$t -merge=1 $$seeds $$raw > $(FUZZ)/$$t.merge.log 2>&1 \
	        || { tail -30 $(FUZZ)/$$t.merge.log; exit 1; }; \
	    echo "$$t: $$(ls $$seeds | wc -l) seeds"; \
	done

clean:
	rm -rf $(BUILD)
