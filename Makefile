# tdi — build, test, demo, install. `make help` lists the targets.
#
# Build flavours share the sources: build/release (the tdi users run, -O2), build/asan
# (AddressSanitizer + UndefinedBehaviorSanitizer, what `make check` tests), build/tsan
# (ThreadSanitizer: the unit tests that run report/'s worker threads, and a tdi for the tests that
# read sources in parallel), build/fuzz (clang libFuzzer
# targets) and build/install (release, with the installed schema directory compiled in).
#
# Flags: the ones tdi needs (C11, the warnings, the stack protector, -pthread, the defines, the
# libraries' include paths) are in TDI_CFLAGS/TDI_CPPFLAGS, which a command-line CFLAGS or
# CPPFLAGS cannot drop (`make CFLAGS=-O0` only changes the optimisation). -Werror is only in the
# builds `make check` and CI use (asan, tsan, fuzz): a newer compiler's new warning must not break
# a user's plain `make`. Every object records the headers it read (-MMD -MP, build/**/*.d) and is
# rebuilt when the Makefile changes (its flags, or a build dir made by an older Makefile).

CC       ?= cc
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
DATADIR  ?= $(PREFIX)/share/tdi
MANDIR   ?= $(PREFIX)/share/man
DOCDIR   ?= $(PREFIX)/share/doc/tdi
PKGS     := libpq libxml-2.0 libisal nettle
# Only the tests link zlib and OpenSSL's libcrypto: they inflate and hash what tdi wrote with
# libraries other than the ones that wrote it.
TEST_PKGS := zlib libcrypto
# openssl and groff-base: tests compute pseudonyms independently and check the man page. perl:
# prove runs the integration suite (TAP).
DEB_PKGS := gcc make pkg-config libpq-dev libxml2-dev libxml2-utils zlib1g-dev libisal-dev libssl-dev \
            nettle-dev libunistring-dev libcmocka-dev postgresql openssl groff-base perl
# libFuzzer: clang and its compiler-rt runtime (libclang-rt-14-dev on Debian 12).
FUZZ_DEB_PKGS := clang libclang-rt-dev
# make lint: the formatter, the shell and C checkers, per-function line counts.
LINT_DEB_PKGS := clang-format shellcheck cppcheck pmccabe
BENCH_DEB_PKGS := time postgresql-contrib isal
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

SCHEMA_DIR ?= $(CURDIR)/schemas
WARN     := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
            -Wvla -Wpointer-arith -Wcast-qual -Wnull-dereference
# What every build of tdi needs; CFLAGS/CPPFLAGS/LDFLAGS (the user's) come after and add to it.
TDI_CPPFLAGS := -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
                $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
TDI_CFLAGS   := -std=c11 $(WARN) -fstack-protector-strong -pthread
SCHEMA_DEF   := -DTDI_SCHEMA_DIR='"$(SCHEMA_DIR)"'
DEPFLAGS     := -MMD -MP
CFLAGS   ?= -O2 -g
# Not libpq: common/tdi_pq.c opens it when a command first connects (dlopen, in libc since glibc
# 2.34), so the commands that never do start without its 30 libraries (issue 16). Its headers are
# still needed (PKGS' cflags), and at run time libpq.so.5 (Debian: libpq5).
# libunistring (client ids' letters and digits of any script: transform/tx_pseudo.c) has no
# pkg-config file on Debian 12.
LDLIBS   := $(shell pkg-config --libs $(filter-out libpq,$(PKGS)) 2>/dev/null || \
              echo -lxml2 -lisal -lnettle) -lunistring -pthread -lm
TEST_LDLIBS := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null || echo -lz -lcrypto) -lcmocka
# The test builds: sanitizers, -Werror, and the test hooks (docs/hacking.md, "Tests"); the
# release build never has the hooks.
ASAN     := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
            -Werror -DTDI_TEST_HOOKS
TSAN     := -O1 -g -fsanitize=thread -fno-omit-frame-pointer -Werror -DTDI_TEST_HOOKS

# ---- GLPK: the linear programs of the tables' disclosure audit (disclosure/dc_audit.c). Debian
# ships no pkg-config file for it.
DEB_PKGS += libglpk-dev
# Not linked: disclosure/dc_glpk.c opens libglpk.so.40 when a table is first audited (Debian:
# libglpk40, which libglpk-dev brings).

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
# The unit tests that run worker threads, report/'s (rpt_pipe: deflate and the schema check) and
# run/run_pool.c's readers (test_run_pool), again under ThreadSanitizer. Not test_tables: its three
# publishes are test_report's too, and its single-threaded suppression searches cost 10 s of CPU
# under TSan.
TSAN_TESTS := test_pipe test_report test_validate test_code_values test_run_pool test_run_queue
TSAN_LIB := $(LIB_SRC:%.c=build/tsan/%.o)
TSAN_BIN := $(addprefix build/tsan/tests/,$(filter $(TSAN_TESTS),$(UNIT_SRC:tests/unit/%.c=%)))
# tdi itself under ThreadSanitizer: the integration tests that read sources in parallel
# (tests/integration/test_parallel.sh, run/run_pool.c) run it when TDI_TSAN names it.
TSAN_OBJ := $(TSAN_LIB) $(CLI_SRC:%.c=build/tsan/%.o)

FUZZ_CC    ?= clang
FUZZ_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
              -Werror
FUZZ_RUNS  ?= 10000
FUZZ_SMOKE ?= 500
FUZZ_LIB   := $(LIB_SRC:%.c=build/fuzz/%.o)
FUZZ_BIN   := build/fuzz/fuzz_config build/fuzz/fuzz_crosswalk build/fuzz/fuzz_validate

# make lint (tests/lint.sh, also run by make check) checks the C of these folders and of tests/.
# Every finding fails it; LINT_STRICT=0 turns the formatting and size findings into TAP "# TODO"
# lines (for a work in progress), shellcheck and cppcheck still fail.
LINT_STRICT ?= 1
LINT_ENV := LINT_STRICT=$(LINT_STRICT) TDI_SRC_DIRS="$(LIB_DIRS) cli"

# The installed tdi differs from ./tdi only in where it looks for the schemas by default.
INSTALL_SCHEMA_DIR := $(DATADIR)/schemas
INSTALL_OBJ := $(filter-out build/release/common/tdi_config.o,$(REL_OBJ)) \
               build/install/common/tdi_config.o

.PHONY: all deps deps-fuzz deps-lint bench-deps install-packages check check-build unit \
        integration demo bench install fuzz fuzz-build man-check lint tsan format clean help FORCE
.DEFAULT_GOAL := all
# Objects reached only through pattern rules are kept, not deleted as intermediates.
.SECONDARY: $(TSAN_OBJ) $(FUZZ_LIB)

all: tdi

help:
	@echo "make            build ./tdi (CFLAGS, default -O2 -g, adds to the flags tdi needs)"
	@echo "make demo       install missing packages, build, run the pipeline on sample clinics"
	@echo "make check      install missing packages, then: make lint; unit tests under ASan/UBSan,"
	@echo "                the threaded ones again under TSan; the integration suite (TAP, prove -j2),"
	@echo "                with a short fuzzing smoke run ($(FUZZ_SMOKE) inputs per target); ends with"
	@echo "                'N passed, N failed, N skipped'"
	@echo "make unit       the unit tests only (ASan/UBSan, then TSan)"
	@echo "make integration  the integration suite only (TAP, prove -j2)"
	@echo "make lint       clang-format check, shellcheck, cppcheck, size limits (800 lines a file,"
	@echo "                100 a function); formatting and sizes fatal only with LINT_STRICT=1"
	@echo "make coverage   unit-test line coverage per folder (gcovr), checked against"
	@echo "                tests/coverage-floors.txt (make check does it too)"
	@echo "make fuzz       run each libFuzzer target for FUZZ_RUNS inputs (default $(FUZZ_RUNS))"
	@echo "make install    install tdi, its schemas and tdi(1) under PREFIX (default /usr/local),"
	@echo "                staged under DESTDIR when set"
	@echo "make bench      time tdi against the floors and a peer on 10k-2M synthetic episodes"
	@echo "                (quick: make bench BENCH_SIZES=10000,100000 BENCH_RUNS=1)"
	@echo "make man-check  the man page renders without a warning"
	@echo "make format     clang-format every C source and header"
	@echo "make clean      remove build output"

# ---- Debian packages
# Installs the packages the build, the tests and the demo need, only those missing. Targets that
# need packages install them first and only then run a sub-make (whose pkg-config flags are read
# after the install), so `make -j` never compiles while packages are still being installed. One
# apt at a time (flock), for goals given together.
deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(DEB_PKGS)"

# What `make fuzz` (and the smoke run in `make check`) needs besides.
deps-fuzz:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(FUZZ_DEB_PKGS)"

deps-lint:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(LINT_DEB_PKGS)"

# What the benchmark needs besides: GNU time (peak RSS), pgcrypto (the peer's hmac()).
bench-deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(DEB_PKGS) $(BENCH_DEB_PKGS)"

install-packages:
	@mkdir -p build; \
	flock build/.apt.lock sh -c 'missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f="\$${Status}" $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "tdi: installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi'

# ---- builds
tdi: build/release/tdi
	cp $< $@

build/release/tdi: $(REL_OBJ)
	$(CC) $(TDI_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build/asan/tdi: $(ASAN_OBJ)
	$(CC) $(TDI_CFLAGS) $(ASAN) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build/tsan/tdi: $(TSAN_OBJ)
	$(CC) $(TDI_CFLAGS) $(TSAN) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build/release/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(TDI_CPPFLAGS) $(SCHEMA_DEF) $(CPPFLAGS) $(TDI_CFLAGS) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

build/asan/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(TDI_CPPFLAGS) $(SCHEMA_DEF) $(CPPFLAGS) $(TDI_CFLAGS) $(ASAN) $(DEPFLAGS) -c -o $@ $<

build/asan/tests/%: tests/unit/%.c $(ASAN_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(TDI_CPPFLAGS) $(SCHEMA_DEF) $(CPPFLAGS) $(TDI_CFLAGS) $(ASAN) -Wno-missing-prototypes \
	  $(DEPFLAGS) -o $@ $< $(ASAN_LIB) $(LDFLAGS) $(LDLIBS) $(TEST_LDLIBS)

build/tsan/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(TDI_CPPFLAGS) $(SCHEMA_DEF) $(CPPFLAGS) $(TDI_CFLAGS) $(TSAN) $(DEPFLAGS) -c -o $@ $<

build/tsan/tests/%: tests/unit/%.c $(TSAN_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(TDI_CPPFLAGS) $(SCHEMA_DEF) $(CPPFLAGS) $(TDI_CFLAGS) $(TSAN) -Wno-missing-prototypes \
	  $(DEPFLAGS) -o $@ $< $(TSAN_LIB) $(LDFLAGS) $(LDLIBS) $(TEST_LDLIBS)

# ---- tests
# Everything `make check` runs, built in one (parallel) make.
check-build: $(UNIT_BIN) $(TSAN_BIN) build/asan/tdi build/tsan/tdi $(FUZZ_BIN)

unit: deps
	@$(MAKE) --no-print-directory $(UNIT_BIN) $(TSAN_BIN)
	@tests/run-unit.sh $(UNIT_BIN) $(TSAN_BIN)

# The threaded unit tests under ThreadSanitizer only.
tsan: deps
	@$(MAKE) --no-print-directory $(TSAN_BIN)
	@tests/run-unit.sh $(TSAN_BIN)

integration: deps
	@$(MAKE) --no-print-directory build/asan/tdi build/tsan/tdi
	@TDI=$(CURDIR)/build/asan/tdi TDI_TSAN=$(CURDIR)/build/tsan/tdi tests/run-integration.sh

lint: deps-lint
	@$(LINT_ENV) tests/lint.sh

# The README's test command: lint, unit and integration cases are summed into one closing line.
# The builds take every processor unless make was given -j already (its jobserver then shares
# them): one compiler at a time took 94 s of a clean clone's check on 2 cores, two 47 s.
check:
	@$(MAKE) --no-print-directory install-packages \
	  PACKAGES="$(DEB_PKGS) $(FUZZ_DEB_PKGS) $(LINT_DEB_PKGS)"
	@case " $(MAKEFLAGS) " in *" -j"*|*jobserver*) jobs= ;; \
	  *) jobs=-j$$(nproc 2>/dev/null || echo 2) ;; esac; \
	  $(MAKE) --no-print-directory $$jobs check-build
	@TDI_CHECK_COV='$(MAKE) --no-print-directory check-cov' \
	  TDI=$(CURDIR)/build/asan/tdi TDI_TSAN=$(CURDIR)/build/tsan/tdi TDI_FUZZ_DIR=$(CURDIR)/build/fuzz \
	  TDI_FUZZ_RUNS=$(FUZZ_SMOKE) \
	  $(LINT_ENV) tests/run-all.sh $(UNIT_BIN) $(TSAN_BIN)

# ---- fuzzing (clang libFuzzer): the config reader, the crosswalk reader, the validator
build/fuzz/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(TDI_CPPFLAGS) $(SCHEMA_DEF) $(CPPFLAGS) $(TDI_CFLAGS) $(FUZZ_FLAGS) \
	  -fsanitize=fuzzer-no-link $(DEPFLAGS) -c -o $@ $<

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(TDI_CPPFLAGS) $(SCHEMA_DEF) $(CPPFLAGS) $(TDI_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer \
	  $(DEPFLAGS) -o $@ $< $(FUZZ_LIB) $(LDFLAGS) $(LDLIBS)

fuzz-build: deps-fuzz
	@$(MAKE) --no-print-directory $(FUZZ_BIN)

fuzz: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_RUNS) $(CURDIR)/build/fuzz

# ---- install
# Rebuilt when the schema directory to compile in changes (another PREFIX or DATADIR).
build/install/schema-dir: FORCE
	@mkdir -p $(dir $@)
	@echo '$(INSTALL_SCHEMA_DIR)' | cmp -s - $@ || echo '$(INSTALL_SCHEMA_DIR)' >$@

build/install/common/tdi_config.o: common/tdi_config.c build/install/schema-dir Makefile
	@mkdir -p $(dir $@)
	$(CC) $(TDI_CPPFLAGS) -DTDI_SCHEMA_DIR='"$(INSTALL_SCHEMA_DIR)"' $(CPPFLAGS) $(TDI_CFLAGS) \
	  $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

build/install/tdi: $(INSTALL_OBJ)
	$(CC) $(TDI_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

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
	clang-format -i $(LIB_SRC) $(CLI_SRC) $(HDRS) $(UNIT_SRC) $(wildcard tests/unit/*.h \
	  tests/fuzz/*.[ch])

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

$(addsuffix /state/st_db.o,build/release build/install build/asan build/tsan build/fuzz build/cov): \
  build/gen/st_migrations.inc

# ---- the scripted libpq and `make coverage` (tests/unit/harness_pq.h, docs/hacking.md)
# Unit tests of database code link tests/unit/harness_pq.c, a scripted libpq, instead of
# common/tdi_pq.c (which opens the real one).
HPQ_TESTS   := test_pg test_extract_pq test_state test_st_copy test_run test_run_pool test_rpt_load \
               test_st_report
HPQ_OUT     := %/common/tdi_pq.o
COV         := -O0 -g --coverage -Werror -DTDI_TEST_HOOKS
COV_LIB     := $(LIB_SRC:%.c=build/cov/%.o)
COV_BIN     := $(UNIT_SRC:tests/unit/%.c=build/cov/tests/%)
# gcovr: `make coverage`'s report.
DEB_PKGS    += gcovr

.PHONY: coverage

build/asan/tests/harness_pq.o: tests/unit/harness_pq.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(TDI_CPPFLAGS) $(SCHEMA_DEF) $(CPPFLAGS) $(TDI_CFLAGS) $(ASAN) $(DEPFLAGS) -c -o $@ $<

$(HPQ_TESTS:%=build/asan/tests/%): build/asan/tests/%: tests/unit/%.c build/asan/tests/harness_pq.o \
                                  $(ASAN_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(TDI_CPPFLAGS) $(SCHEMA_DEF) $(CPPFLAGS) $(TDI_CFLAGS) $(ASAN) -Wno-missing-prototypes \
	  $(DEPFLAGS) -o $@ $< build/asan/tests/harness_pq.o $(filter-out $(HPQ_OUT),$(ASAN_LIB)) \
	  $(LDFLAGS) $(LDLIBS) $(TEST_LDLIBS)

# test_run_pool reads sources on worker threads (run/run_pool.c): under ThreadSanitizer too, with the
# harness built the same way.
build/tsan/tests/harness_pq.o: tests/unit/harness_pq.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(TDI_CPPFLAGS) $(SCHEMA_DEF) $(CPPFLAGS) $(TDI_CFLAGS) $(TSAN) $(DEPFLAGS) -c -o $@ $<

$(addprefix build/tsan/tests/,$(filter $(HPQ_TESTS),$(TSAN_TESTS))): build/tsan/tests/%: \
  tests/unit/%.c build/tsan/tests/harness_pq.o $(TSAN_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(TDI_CPPFLAGS) $(SCHEMA_DEF) $(CPPFLAGS) $(TDI_CFLAGS) $(TSAN) -Wno-missing-prototypes \
	  $(DEPFLAGS) -o $@ $< build/tsan/tests/harness_pq.o $(filter-out $(HPQ_OUT),$(TSAN_LIB)) \
	  $(LDFLAGS) $(LDLIBS) $(TEST_LDLIBS)

# Coverage: the unit tests built with gcov instrumentation (-O0, the test hooks on as in the ASan
# build), run, then line coverage per file and folder, checked against tests/coverage-floors.txt.
build/cov/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(TDI_CPPFLAGS) $(SCHEMA_DEF) $(CPPFLAGS) $(TDI_CFLAGS) $(COV) $(DEPFLAGS) -c -o $@ $<

build/cov/tests/harness_pq.o: tests/unit/harness_pq.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(TDI_CPPFLAGS) $(SCHEMA_DEF) $(CPPFLAGS) $(TDI_CFLAGS) -O0 -g -Werror $(DEPFLAGS) -c -o $@ $<

build/cov/tests/%: tests/unit/%.c $(COV_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(TDI_CPPFLAGS) $(SCHEMA_DEF) $(CPPFLAGS) $(TDI_CFLAGS) $(COV) -Wno-missing-prototypes \
	  $(DEPFLAGS) -o $@ $< $(COV_LIB) $(LDFLAGS) $(LDLIBS) $(TEST_LDLIBS)

$(HPQ_TESTS:%=build/cov/tests/%): build/cov/tests/%: tests/unit/%.c build/cov/tests/harness_pq.o \
                                 $(COV_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(TDI_CPPFLAGS) $(SCHEMA_DEF) $(CPPFLAGS) $(TDI_CFLAGS) $(COV) -Wno-missing-prototypes \
	  $(DEPFLAGS) -o $@ $< build/cov/tests/harness_pq.o $(filter-out $(HPQ_OUT),$(COV_LIB)) \
	  $(LDFLAGS) $(LDLIBS) $(TEST_LDLIBS)

# make check builds them with the rest (a prerequisite list is read where it stands: here, after
# COV_BIN is set).
check-build: $(COV_BIN)

# The unit tests again, instrumented, and the coverage floors. About 40 s on 2 cores; `make check`
# runs it before the tests (check-cov), so a folder under its floor fails the check.
coverage: deps
	@$(MAKE) --no-print-directory $(COV_BIN)
	@$(MAKE) --no-print-directory check-cov

check-cov:
	@find build/cov -name '*.gcda' -delete
	@TDI_RESULTS= tests/run-unit.sh $(COV_BIN) >build/cov/unit.log 2>&1 || \
	  { cat build/cov/unit.log; exit 1; }
	@tests/coverage.sh build/cov tests/coverage-floors.txt $(LIB_DIRS)

# ---- the receiving side (tdi load, tdi audit): the receiver's schema SQL, read at run time from
# the schema directory, and the Schematron rules are installed with the XSDs.
.PHONY: install-receiver check-cov
install: install-receiver
install-receiver: build/install/tdi
	install -d $(DESTDIR)$(INSTALL_SCHEMA_DIR)/receiver
	install -m 0644 schemas/tdi-rules.sch $(DESTDIR)$(INSTALL_SCHEMA_DIR)/
	install -m 0644 schemas/receiver/*.sql $(DESTDIR)$(INSTALL_SCHEMA_DIR)/receiver/
# ---- the workbook and the run report (tdi workbook, tdi report): libxlsxwriter writes the TDI
# form; make check reads the workbook with openpyxl and loads the report page in Chromium.
DEB_PKGS     += libxlsxwriter-dev
CHECK_DEB_PKGS := python3-openpyxl chromium
TDI_CPPFLAGS += $(shell pkg-config --cflags xlsxwriter 2>/dev/null)
# Not linked: report/rpt_xlsx.c opens libxlsxwriter.so.4 when a workbook is first written (Debian:
# libxlsxwriter4, which libxlsxwriter-dev brings).

.PHONY: deps-check install-workbook
deps-check:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(CHECK_DEB_PKGS)"
check: deps-check
install: install-workbook
install-workbook: build/install/tdi
	install -d $(DESTDIR)$(INSTALL_SCHEMA_DIR)
	install -m 0644 schemas/tdi-workbook-2022.map $(DESTDIR)$(INSTALL_SCHEMA_DIR)/

# The headers each object read, recorded when it was compiled (-MMD -MP).
-include $(shell find build -name '*.d' 2>/dev/null)

# ---- unit tests of the workbook: test_rpt_workbook reads the xlsx back with `unzip -p`.
DEB_PKGS += unzip
