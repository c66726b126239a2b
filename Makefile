# tdi — build, test, demo. `make help` lists the targets.
#
# Two build flavours share the sources: build/release (the tdi users run, -O2) and build/asan
# (AddressSanitizer + UndefinedBehaviorSanitizer, what `make check` tests).

CC       ?= cc
PREFIX   ?= /usr/local
PKGS     := libpq libxml-2.0 zlib libcrypto
DEB_PKGS := gcc make pkg-config libpq-dev libxml2-dev libxml2-utils zlib1g-dev libssl-dev \
            libcmocka-dev postgresql openssl
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

SCHEMA_DIR ?= $(CURDIR)/schemas
WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
            -Wvla -Wpointer-arith -Wcast-qual -Wnull-dereference
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DTDI_SCHEMA_DIR='"$(SCHEMA_DIR)"' \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 $(WARN) -fstack-protector-strong
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lpq -lxml2 -lz -lcrypto)
ASAN     := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# The tested build also has the test hooks (docs/hacking.md, "Tests"); the release build never.
ASAN     += -DTDI_TEST_HOOKS

LIB_SRC  := $(sort $(wildcard common/*.c extract/*.c transform/*.c report/*.c))
CLI_SRC  := $(sort $(wildcard cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
HDRS     := $(wildcard common/*.h extract/*.h transform/*.h report/*.h cli/*.h)

REL_OBJ  := $(LIB_SRC:%.c=build/release/%.o) $(CLI_SRC:%.c=build/release/%.o)
ASAN_LIB := $(LIB_SRC:%.c=build/asan/%.o)
ASAN_OBJ := $(ASAN_LIB) $(CLI_SRC:%.c=build/asan/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/asan/tests/%)

.PHONY: all deps check unit integration demo bench install format clean help
.DEFAULT_GOAL := all

all: tdi

help:
	@echo "make            build ./tdi"
	@echo "make demo       install missing packages, build, run the pipeline on sample clinics"
	@echo "make check      install missing packages, run unit and integration tests (ASan/UBSan)"
	@echo "make format     clang-format every source file"
	@echo "make clean      remove build output"

# Installs the Debian packages the build, the tests and the demo need, only those missing.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "tdi: installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

tdi: build/release/tdi
	cp $< $@

build/release/tdi: $(REL_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build/asan/tdi: $(ASAN_OBJ)
	$(CC) $(ASAN) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build/release/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

build/asan/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ASAN) -std=c11 $(WARN) -c -o $@ $<

build/asan/tests/%: tests/unit/%.c $(ASAN_LIB) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ASAN) -std=c11 $(WARN) -Wno-missing-prototypes -o $@ $< $(ASAN_LIB) \
	  $(LDLIBS) -lcmocka

unit: deps $(UNIT_BIN) build/asan/tdi
	@tests/run-unit.sh $(UNIT_BIN)

integration: deps build/asan/tdi
	@TDI=$(CURDIR)/build/asan/tdi tests/run-integration.sh

# The README's test command. Unit and integration results are summed into one closing line.
check: deps
	@$(MAKE) --no-print-directory $(UNIT_BIN) build/asan/tdi
	@TDI=$(CURDIR)/build/asan/tdi tests/run-all.sh $(UNIT_BIN)

demo: deps
	@$(MAKE) --no-print-directory tdi
	@tests/demo.sh

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) $(UNIT_SRC) $(HDRS) tests/unit/*.h 2>/dev/null || \
	  clang-format -i $(LIB_SRC) $(CLI_SRC) $(UNIT_SRC) $(HDRS)

clean:
	rm -rf build tdi
