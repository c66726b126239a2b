# tdi — build, test, demo, install. `make help` lists the targets.
#
# Build flavours share the sources: build/release (the tdi users run, -O2), build/asan
# (AddressSanitizer + UndefinedBehaviorSanitizer, what `make check` tests), build/fuzz (clang
# libFuzzer targets) and build/install (release, with the installed schema directory compiled in).

CC       ?= cc
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
DATADIR  ?= $(PREFIX)/share/tdi
MANDIR   ?= $(PREFIX)/share/man
DOCDIR   ?= $(PREFIX)/share/doc/tdi
PKGS     := libpq libxml-2.0 zlib libcrypto
# openssl and groff-base: tests compute pseudonyms independently and check the man page.
DEB_PKGS := gcc make pkg-config libpq-dev libxml2-dev libxml2-utils zlib1g-dev libssl-dev \
            libcmocka-dev postgresql openssl groff-base
# libFuzzer: clang and its compiler-rt runtime (libclang-rt-14-dev on Debian 12).
FUZZ_DEB_PKGS := clang libclang-rt-dev
BENCH_DEB_PKGS := time postgresql-contrib
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

SCHEMA_DIR ?= $(CURDIR)/schemas
WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
            -Wvla -Wpointer-arith -Wcast-qual -Wnull-dereference
CPPFLAGS += -pthread -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DTDI_SCHEMA_DIR='"$(SCHEMA_DIR)"' \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 $(WARN) -fstack-protector-strong
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lpq -lxml2 -lz -lcrypto) -pthread -lm
ASAN     := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# The tested build also has the test hooks (docs/hacking.md, "Tests"); the release build never.
ASAN     += -DTDI_TEST_HOOKS

# ---- GLPK: the linear programs of the tables' disclosure audit (disclosure/dc_audit.c). Debian
# ships no pkg-config file for it.
DEB_PKGS += libglpk-dev
LDLIBS   += -lglpk

# The product, one folder a module, in the order data flows (docs/hacking.md, "Layout").
LIB_DIRS := common disclosure extract transform state run report
LIB_SRC  := $(sort $(wildcard $(addsuffix /*.c,$(LIB_DIRS))))
CLI_SRC  := $(sort $(wildcard cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
HDRS     := $(wildcard $(addsuffix /*.h,$(LIB_DIRS) cli))

REL_OBJ  := $(LIB_SRC:%.c=build/release/%.o) $(CLI_SRC:%.c=build/release/%.o)
ASAN_LIB := $(LIB_SRC:%.c=build/asan/%.o)
ASAN_OBJ := $(ASAN_LIB) $(CLI_SRC:%.c=build/asan/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/asan/tests/%)

FUZZ_CC    ?= clang
FUZZ_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_RUNS  ?= 10000
FUZZ_SMOKE ?= 500
FUZZ_LIB   := $(LIB_SRC:%.c=build/fuzz/%.o)
FUZZ_BIN   := build/fuzz/fuzz_config build/fuzz/fuzz_crosswalk build/fuzz/fuzz_validate

# The installed tdi differs from ./tdi only in where it looks for the schemas by default.
INSTALL_SCHEMA_DIR := $(DATADIR)/schemas
INSTALL_OBJ := $(filter-out build/release/common/tdi_config.o,$(REL_OBJ)) \
               build/install/common/tdi_config.o

.PHONY: all deps deps-fuzz bench-deps install-packages check unit integration demo bench install fuzz fuzz-build man-check \
        format clean help FORCE
.DEFAULT_GOAL := all

all: tdi

help:
	@echo "make            build ./tdi"
	@echo "make demo       install missing packages, build, run the pipeline on sample clinics"
	@echo "make check      install missing packages, run unit and integration tests (ASan/UBSan),"
	@echo "                and a short fuzzing smoke run ($(FUZZ_SMOKE) inputs per target)"
	@echo "make fuzz       run each libFuzzer target for FUZZ_RUNS inputs (default $(FUZZ_RUNS))"
	@echo "make install    install tdi, its schemas and tdi(1) under PREFIX (default /usr/local),"
	@echo "                staged under DESTDIR when set"
	@echo "make bench      time tdi against the floors and a peer on 10k-2M synthetic episodes"
	@echo "                (quick: make bench BENCH_SIZES=10000,100000 BENCH_RUNS=1)"
	@echo "make format     clang-format every source file"
	@echo "make clean      remove build output"

# Installs the Debian packages the build, the tests and the demo need, only those missing.
deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(DEB_PKGS)"

# What `make fuzz` (and the smoke run in `make check`) needs besides.
deps-fuzz:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(FUZZ_DEB_PKGS)"

# What the benchmark needs besides: GNU time (peak RSS), pgcrypto (the peer's hmac()).
bench-deps: deps
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(BENCH_DEB_PKGS)"

install-packages:
	@missing=""; for p in $(PACKAGES); do \
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
check: deps deps-fuzz
	@$(MAKE) --no-print-directory $(UNIT_BIN) build/asan/tdi $(FUZZ_BIN)
	@TDI=$(CURDIR)/build/asan/tdi TDI_FUZZ_DIR=$(CURDIR)/build/fuzz TDI_FUZZ_RUNS=$(FUZZ_SMOKE) \
	  tests/run-all.sh $(UNIT_BIN)

# ---- fuzzing (clang libFuzzer): the config reader, the crosswalk reader, the validator
build/fuzz/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -std=c11 $(WARN) -c -o $@ $<

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FUZZ_LIB) $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -std=c11 $(WARN) -o $@ $< $(FUZZ_LIB) \
	  $(LDLIBS)

fuzz-build: deps-fuzz
	@$(MAKE) --no-print-directory $(FUZZ_BIN)

fuzz: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_RUNS) $(CURDIR)/build/fuzz

# ---- install
# Rebuilt when the schema directory to compile in changes (another PREFIX or DATADIR).
build/install/schema-dir: FORCE
	@mkdir -p $(dir $@)
	@echo '$(INSTALL_SCHEMA_DIR)' | cmp -s - $@ || echo '$(INSTALL_SCHEMA_DIR)' >$@

build/install/common/tdi_config.o: common/tdi_config.c $(HDRS) build/install/schema-dir
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -DTDI_SCHEMA_DIR=%,$(CPPFLAGS)) -DTDI_SCHEMA_DIR='"$(INSTALL_SCHEMA_DIR)"' \
	  $(CFLAGS) -c -o $@ $<

build/install/tdi: $(INSTALL_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

install: build/install/tdi
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(INSTALL_SCHEMA_DIR) $(DESTDIR)$(MANDIR)/man1 \
	  $(DESTDIR)$(DOCDIR)/examples
	install -m 0755 build/install/tdi $(DESTDIR)$(BINDIR)/tdi
	install -m 0644 schemas/*.xsd $(DESTDIR)$(INSTALL_SCHEMA_DIR)/
	install -m 0644 docs/tdi.1 $(DESTDIR)$(MANDIR)/man1/tdi.1
	install -m 0644 README.md docs/clinic-access.md docs/operations.md $(DESTDIR)$(DOCDIR)/
	for f in tdi.service tdi.timer tdi.cron; do \
	  sed 's|/usr/local/bin/tdi|$(BINDIR)/tdi|g' docs/$$f >$(DESTDIR)$(DOCDIR)/examples/$$f && \
	  chmod 0644 $(DESTDIR)$(DOCDIR)/examples/$$f || exit 1; \
	done

# The man page renders without a warning.
man-check:
	@out=$$(groff -man -Tutf8 -ww -z docs/tdi.1 2>&1) && [ -z "$$out" ] || \
	  { echo "docs/tdi.1: $$out"; exit 1; }

demo: deps
	@$(MAKE) --no-print-directory tdi
	@tests/demo.sh

# Speed is measured here only, never in make check. BENCH_SIZES, BENCH_RUNS: tests/bench/bench.sh.
bench: bench-deps
	@$(MAKE) --no-print-directory tdi
	@tests/bench/bench.sh

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) $(UNIT_SRC) $(HDRS) tests/unit/*.h 2>/dev/null || \
	  clang-format -i $(LIB_SRC) $(CLI_SRC) $(UNIT_SRC) $(HDRS)

clean:
	rm -rf build tdi

FORCE:

# ---- the state database's schema: schemas/state/NNN-*.sql become build/gen/st_migrations.inc
# (state/st_embed.sh), which state/st_db.c includes; each flavour's st_db.o waits for it (make -j).
# The file list is a prerequisite too, so that a file added, renamed or removed regenerates it.
STATE_SQL := $(sort $(wildcard schemas/state/*.sql))

build/gen/st_sql.list: FORCE
	@mkdir -p $(dir $@)
	@echo '$(STATE_SQL)' | cmp -s - $@ || echo '$(STATE_SQL)' >$@

build/gen/st_migrations.inc: state/st_embed.sh $(STATE_SQL) build/gen/st_sql.list
	sh state/st_embed.sh $(STATE_SQL) >$@.tmp || { rm -f $@.tmp; exit 1; }
	mv $@.tmp $@

build/release/state/st_db.o build/asan/state/st_db.o build/fuzz/state/st_db.o build/cov/state/st_db.o: \
  build/gen/st_migrations.inc

# ---- the scripted libpq and `make coverage` (one block: tests/unit/harness_pq.h, docs/hacking.md)
# Unit tests of database code link tests/unit/harness_pq.c, a scripted libpq, instead of -lpq.
HPQ_TESTS   := test_pg test_extract_pq test_state test_run
LDLIBS_NOPQ := $(filter-out -lpq,$(LDLIBS))
COV         := -O0 -g --coverage -DTDI_TEST_HOOKS
COV_LIB     := $(LIB_SRC:%.c=build/cov/%.o)
COV_BIN     := $(UNIT_SRC:tests/unit/%.c=build/cov/tests/%)
# gcovr: `make coverage`'s report; installed by `make deps` with the rest (one apt-get at a time).
DEB_PKGS    += gcovr

.PHONY: coverage

build/asan/tests/harness_pq.o: tests/unit/harness_pq.c tests/unit/harness_pq.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ASAN) -std=c11 $(WARN) -c -o $@ $<

$(HPQ_TESTS:%=build/asan/tests/%): build/asan/tests/%: tests/unit/%.c build/asan/tests/harness_pq.o \
                                  $(ASAN_LIB) $(HDRS) tests/unit/harness_pq.h
	$(CC) $(CPPFLAGS) $(ASAN) -std=c11 $(WARN) -Wno-missing-prototypes -o $@ $< \
	  build/asan/tests/harness_pq.o $(ASAN_LIB) $(LDLIBS_NOPQ) -lcmocka

# Coverage: the unit tests built with gcov instrumentation (-O0, the test hooks on as in the ASan
# build), run, then line coverage per file and folder, checked against tests/coverage-floors.txt.
build/cov/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(COV) -std=c11 $(WARN) -c -o $@ $<

build/cov/tests/harness_pq.o: tests/unit/harness_pq.c tests/unit/harness_pq.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -O0 -g -std=c11 $(WARN) -c -o $@ $<

build/cov/tests/%: tests/unit/%.c $(COV_LIB) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(COV) -std=c11 $(WARN) -Wno-missing-prototypes -o $@ $< $(COV_LIB) \
	  $(LDLIBS) -lcmocka

$(HPQ_TESTS:%=build/cov/tests/%): build/cov/tests/%: tests/unit/%.c build/cov/tests/harness_pq.o \
                                 $(COV_LIB) $(HDRS) tests/unit/harness_pq.h
	$(CC) $(CPPFLAGS) $(COV) -std=c11 $(WARN) -Wno-missing-prototypes -o $@ $< \
	  build/cov/tests/harness_pq.o $(COV_LIB) $(LDLIBS_NOPQ) -lcmocka

# About 40 s from a clean tree on 2 cores: part of `make check`, so a floor is enforced there.
check: coverage

coverage: deps
	@$(MAKE) --no-print-directory $(COV_BIN)
	@find build/cov -name '*.gcda' -delete
	@TDI_RESULTS= tests/run-unit.sh $(COV_BIN) >build/cov/unit.log 2>&1 || \
	  { cat build/cov/unit.log; exit 1; }
	@tests/coverage.sh build/cov tests/coverage-floors.txt $(LIB_DIRS)
# ---- the receiving side (tdi load, tdi audit): the receiver's schema SQL, read at run time from
# the schema directory, and the Schematron rules are installed with the XSDs.
.PHONY: install-receiver
install: install-receiver
install-receiver: build/install/tdi
	install -d $(DESTDIR)$(INSTALL_SCHEMA_DIR)/receiver
	install -m 0644 schemas/tdi-rules.sch $(DESTDIR)$(INSTALL_SCHEMA_DIR)/
	install -m 0644 schemas/receiver/*.sql $(DESTDIR)$(INSTALL_SCHEMA_DIR)/receiver/
