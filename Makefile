# provision - plain GNU make build (see README.md).
#
#   make                 build ./provision
#   make check           install missing Debian packages, then every test,
#                        plain and under AddressSanitizer + UBSan, the
#                        concurrent ones under ThreadSanitizer, the fuzzers
#   make example         the README's main job: a dry run of the example
#   make SANITIZE=address,undefined test   one sanitized run (build-san/)
#   make SANITIZE=thread test              ThreadSanitizer (build-tsan/)
#   make install PREFIX=/usr/local DESTDIR=...

VERSION   := 0.1.0
PKG_CONFIG ?= pkg-config
CC        ?= cc
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man

PKGS      := libcurl libcjson libconfig ldns openssl libpsl libxml-2.0 libarchive gmime-3.0
WARN      := -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes \
             -Wwrite-strings -Wshadow -Wformat=2
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -pthread \
             $(WARN) $(CFLAGS) -Iinclude -Isrc \
             -DPROVISION_VERSION='"$(VERSION)"' \
             $(shell $(PKG_CONFIG) --cflags $(PKGS))
LIBS       = $(shell $(PKG_CONFIG) --libs $(PKGS)) -pthread
ifdef DEVELOPER
ALL_CFLAGS += -Werror
endif

BUILD     ?= build
ifdef SANITIZE
BUILD     := $(if $(filter thread,$(SANITIZE)),build-tsan,build-san)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all \
              -fno-omit-frame-pointer
LDFLAGS   += -fsanitize=$(SANITIZE)
endif

# src/ holds the core (configuration, records, planner, render, resolver,
# HTTP, apply); src/spf/, src/check/, src/smtp/ and src/report/ the SPF
# engine and the commands; providers/ one file per provider.
CORE_SRC  := $(filter-out src/main.c,$(wildcard src/*.c src/*/*.c)) \
             $(wildcard providers/*.c)
HEADERS   := $(wildcard include/provision/*.h src/*.h src/*/*.h providers/*.h)
CORE_OBJ  := $(CORE_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ  := $(BUILD)/src/main.o
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
HELPER_SRC := $(wildcard tests/helpers/*.c)
HELPER_BIN := $(HELPER_SRC:tests/helpers/%.c=$(BUILD)/tests/%)
BIN       := $(BUILD)/provision

.PHONY: all clean install test check unit e2e example deps fuzz fuzz-long tsan
all: $(BIN) provision

provision: $(BIN)
ifndef SANITIZE
	@cp $(BIN) $@
endif

$(BIN): $(CORE_OBJ) $(MAIN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags cmocka) $(LDFLAGS) \
		-o $@ $< $(CORE_OBJ) $(LIBS) $(shell $(PKG_CONFIG) --libs cmocka)

$(BUILD)/tests/%: tests/helpers/%.c $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(CORE_OBJ) $(LIBS)

deps:
	@sh scripts/install-deps.sh

unit: $(UNIT_BIN)
	@sh tests/run-unit.sh $(UNIT_BIN)

e2e: $(BIN) $(HELPER_BIN)
	@PROVISION=$(abspath $(BIN)) BUILD=$(abspath $(BUILD)) SANITIZED=$(if $(SANITIZE),1,) \
		sh tests/run-e2e.sh

test: unit e2e

# ThreadSanitizer over the tests that run many domains at once (the
# whole e2e suite passes under it too: make SANITIZE=thread e2e, ~7 min).
TSAN_E2E := concurrent.sh dns_concurrent.sh apply_concurrent.sh
tsan:
	TSAN_OPTIONS="halt_on_error=1 $(TSAN_OPTIONS)" E2E_ONLY="$(TSAN_E2E)" \
		$(MAKE) SANITIZE=thread e2e

# Everything, as CI runs it: plain build, then sanitized build.
check: deps
	$(MAKE) all
	$(MAKE) test
	$(MAKE) SANITIZE=address,undefined test
	$(MAKE) tsan
	$(MAKE) fuzz

# libFuzzer targets (tests/fuzz/fuzz_*.c, one per parser; each file's
# header says what it feeds and asserts), built with clang into build-fuzz/
# and run a bounded number of inputs (FUZZ_*_RUNS, picked so that the whole
# `make fuzz` takes about a minute on two cores) by tests/fuzz/run.sh on a
# copy of their seed corpus tests/fuzz/corpus-NAME/. A crash fails the
# make; its input is kept in build-fuzz/artifacts/ and printed as a C
# string. `make fuzz-long` runs each FUZZ_LONG_RUNS inputs.
FUZZ_CC     ?= clang
FUZZ_RUNS   ?= 50000
FUZZ_DMARC_RUNS ?= 50000
FUZZ_TXT_RUNS ?= 50000
FUZZ_DKIM_DMARC_RUNS ?= 200000
FUZZ_CONFIG_RUNS ?= 10000
FUZZ_ZONEFILE_RUNS ?= 10000
FUZZ_CLOUDFLARE_RUNS ?= 200000
FUZZ_GODADDY_RUNS ?= 200000
FUZZ_ROUTE53_RUNS ?= 200000
FUZZ_LONG_RUNS ?= 1000000
FUZZ_BUILD  := build-fuzz
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
FUZZ_CFLAGS  = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 \
               $(FUZZ_SAN) -Iinclude -Isrc -Iproviders \
               -DPROVISION_VERSION='"$(VERSION)"' \
               $(shell $(PKG_CONFIG) --cflags $(PKGS))
FUZZ_OBJ    := $(CORE_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_NAMES  := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
.SECONDARY: $(FUZZ_OBJ)

$(FUZZ_BUILD)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Wall -Wextra -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_OBJ) $(LIBS)

FUZZ_RUN = @sh tests/fuzz/run.sh $(FUZZ_BUILD)/fuzz_$(1) tests/fuzz/$(2) $(3) $(4)
fuzz: $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
	$(call FUZZ_RUN,spf,corpus,$(FUZZ_RUNS),512)
	$(call FUZZ_RUN,dmarc_report,corpus-dmarc,$(FUZZ_DMARC_RUNS),8192)
	$(call FUZZ_RUN,txt,corpus-txt,$(FUZZ_TXT_RUNS),1024)
	$(call FUZZ_RUN,dkim_dmarc,corpus-dkim-dmarc,$(FUZZ_DKIM_DMARC_RUNS),1024)
	$(call FUZZ_RUN,config,corpus-config,$(FUZZ_CONFIG_RUNS),4096)
	$(call FUZZ_RUN,zonefile,corpus-zonefile,$(FUZZ_ZONEFILE_RUNS),8192)
	$(call FUZZ_RUN,cloudflare,corpus-cloudflare,$(FUZZ_CLOUDFLARE_RUNS),4096)
	$(call FUZZ_RUN,godaddy,corpus-godaddy,$(FUZZ_GODADDY_RUNS),4096)
	$(call FUZZ_RUN,route53,corpus-route53,$(FUZZ_ROUTE53_RUNS),8192)

fuzz-long:
	$(MAKE) fuzz $(foreach v,RUNS DMARC_RUNS TXT_RUNS DKIM_DMARC_RUNS CONFIG_RUNS \
		ZONEFILE_RUNS CLOUDFLARE_RUNS GODADDY_RUNS ROUTE53_RUNS,FUZZ_$(v)=$(FUZZ_LONG_RUNS))

example: deps
	$(MAKE) all
	@sh scripts/example.sh

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/provision
	install -m 0644 provision.1 $(DESTDIR)$(MANDIR)/man1/provision.1

clean:
	rm -rf build build-san build-fuzz provision
