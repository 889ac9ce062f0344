# Switchboard: build the dynamic module against Debian's nginx, run the
# default config, test, and benchmark. `make run` and `make test` are the
# two commands the README starts with.

SHELL       := /bin/bash
NGX_SRC     ?= /usr/share/nginx/src
BUILD       := build
NGX_BUILD   := $(BUILD)/nginx
MODULE      := $(NGX_BUILD)/objs/ngx_http_switchboard_module.so
DEB_PKGS    := nginx nginx-dev libjansson-dev liblmdb-dev lmdb-utils libssl-dev gcc make perl
BENCH_PKGS  := wrk libnginx-mod-nchan
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SOURCES     := $(shell find src/core src/nginx -name '*.[ch]') config
CORE_SRCS   := $(shell find src/core -name '*.c' | sort)
UNIT_TESTS  := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(wildcard t/unit/*.c))
SB_TOKEN    := $(BUILD)/sb-token
comma       := ,
SAN_FLAGS   := --with-cc-opt="-fsanitize=address$(comma)undefined -fno-omit-frame-pointer" --with-ld-opt="-fsanitize=address$(comma)undefined"
CFLAGS_CORE := -std=gnu11 -g -O1 -Wall -Wextra -Wno-unused-parameter -Werror -Isrc/core

.PHONY: all deps run test test-asan unit bench clean

all: $(MODULE) $(SB_TOKEN)

$(SB_TOKEN): src/tools/sb-token.c | deps
	@mkdir -p $(BUILD)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $< -lcrypto

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

run: $(MODULE) $(SB_TOKEN)
	@mkdir -p var/logs var/store var/body
	@[ -f var/jwt.secret ] || head -c 32 /dev/urandom | base64 > var/jwt.secret
	@echo "Switchboard on http://127.0.0.1:8080 (Ctrl-C stops it); logs in var/logs"
	@echo "mint a token:  TOKEN=\$$($(SB_TOKEN) --secret var/jwt.secret --sub root --role admin)"
	@echo "then try:      curl -H \"Authorization: Bearer \$$TOKEN\" http://127.0.0.1:8080/admin/groups/default"
	@echo "the README walks through a 5-minute tour"
	nginx -p $(CURDIR)/var/ -c $(CURDIR)/conf/switchboard.conf \
	    -g "daemon off; load_module $(CURDIR)/$(MODULE);"

$(BUILD)/unit/%: t/unit/%.c $(CORE_SRCS) t/unit/tap.h t/unit/core.h | deps
	@mkdir -p $(BUILD)/unit
	$(CC) $(CFLAGS_CORE) -It/unit -o $@ $< $(CORE_SRCS) -llmdb -ljansson -lcrypto

unit: $(UNIT_TESTS)
	prove --exec '' $(UNIT_TESTS)

test: $(MODULE) $(SB_TOKEN) unit
	SB_MODULE=$(CURDIR)/$(MODULE) prove -r t

# The same suite against an ASan + UBSan build of the module; nginx gets
# the runtime preloaded, and any sanitizer report fails the run (and is
# printed: the reports directory is writable by the unprivileged workers).
ASAN_REPORTS := $(CURDIR)/build/asan/reports
test-asan:
	$(MAKE) BUILD=build/asan SANITIZE=1 build/asan/nginx/objs/ngx_http_switchboard_module.so
	@rm -rf $(ASAN_REPORTS) && mkdir -p $(ASAN_REPORTS) && chmod 1777 $(ASAN_REPORTS)
	@status=0; \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=$(ASAN_REPORTS)/report \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$(ASAN_REPORTS)/report \
	LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	SB_MODULE=$(CURDIR)/build/asan/nginx/objs/ngx_http_switchboard_module.so \
	    prove -r t || status=$$?; \
	if ls $(ASAN_REPORTS)/report.* >/dev/null 2>&1; then \
	    cat $(ASAN_REPORTS)/report.*; exit 1; fi; \
	exit $$status

BENCH_TOOLS := $(BUILD)/bench/core $(BUILD)/bench/latency $(BUILD)/bench/polls

$(BUILD)/bench/core: t/bench/core.c $(CORE_SRCS) | deps
	@mkdir -p $(BUILD)/bench
	$(CC) $(CFLAGS_CORE) -O2 -o $@ $< $(CORE_SRCS) -llmdb -ljansson -lcrypto

$(BUILD)/bench/%: t/bench/%.c
	@mkdir -p $(BUILD)/bench
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $<

# About seven minutes; prints figures and ratios, never fails on a figure.
bench: $(MODULE) $(BENCH_TOOLS)
	@$(MAKE) -s deps EXTRA_PKGS="$(BENCH_PKGS)"
	perl t/bench/run.pl $(CURDIR)/$(MODULE) $(CURDIR)/$(BUILD)/bench

clean:
	rm -rf $(BUILD)
