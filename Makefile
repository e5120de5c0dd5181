# provision - plain GNU make build (see README.md).
#
#   make                 build ./provision
#   make check           install missing Debian packages, then every test,
#                        plain and under AddressSanitizer + UBSan
#   make example         the README's main job: a dry run of the example
#   make SANITIZE=address,undefined test   one sanitized run
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
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
             $(WARN) $(CFLAGS) -Iinclude -Isrc \
             -DPROVISION_VERSION='"$(VERSION)"' \
             $(shell $(PKG_CONFIG) --cflags $(PKGS))
LIBS       = $(shell $(PKG_CONFIG) --libs $(PKGS))
ifdef DEVELOPER
ALL_CFLAGS += -Werror
endif

BUILD     ?= build
ifdef SANITIZE
BUILD     := build-san
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

.PHONY: all clean install test check unit e2e example deps fuzz
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

# Everything, as CI runs it: plain build, then sanitized build.
check: deps
	$(MAKE) all
	$(MAKE) test
	$(MAKE) SANITIZE=address,undefined test
	$(MAKE) fuzz

# libFuzzer targets (tests/fuzz/fuzz_*.c: the SPF engine, the DMARC report
# reader), built with clang into build-fuzz/ and run a bounded number of
# inputs (FUZZ_RUNS, FUZZ_DMARC_RUNS) by tests/fuzz/run.sh on a copy of
# their seed corpus. A crash fails the make; its input is kept in
# build-fuzz/artifacts/ and printed as a C string.
FUZZ_CC     ?= clang
FUZZ_RUNS   ?= 50000
FUZZ_DMARC_RUNS ?= 50000
FUZZ_BUILD  := build-fuzz
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
FUZZ_CFLAGS  = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 \
               $(FUZZ_SAN) -Iinclude -Isrc -DPROVISION_VERSION='"$(VERSION)"' \
               $(shell $(PKG_CONFIG) --cflags $(PKGS))
FUZZ_OBJ    := $(CORE_SRC:%.c=$(FUZZ_BUILD)/%.o)
.SECONDARY: $(FUZZ_OBJ)

$(FUZZ_BUILD)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(LIBS)

fuzz: $(FUZZ_BUILD)/fuzz_spf $(FUZZ_BUILD)/fuzz_dmarc_report
	@sh tests/fuzz/run.sh $(FUZZ_BUILD)/fuzz_spf tests/fuzz/corpus $(FUZZ_RUNS) 512
	@sh tests/fuzz/run.sh $(FUZZ_BUILD)/fuzz_dmarc_report tests/fuzz/corpus-dmarc \
		$(FUZZ_DMARC_RUNS) 8192

example: deps
	$(MAKE) all
	@sh scripts/example.sh

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/provision
	install -m 0644 provision.1 $(DESTDIR)$(MANDIR)/man1/provision.1

clean:
	rm -rf build build-san build-fuzz provision
