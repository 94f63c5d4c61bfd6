# dind-cache: one binary, build/dind-cache, with the manifests, units and journal
# catalog embedded, and its man page build/dind-cache.8. User CPPFLAGS/CFLAGS/LDFLAGS
# pass through; pkg-config finds the libraries.

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
# The vendor directories of a packaged install (debian/rules sets /usr/lib/...). The
# binary knows them: install then writes only drop-ins over the packaged units.
UNITDIR ?= $(PREFIX)/lib/systemd/system
CATALOGDIR ?= $(PREFIX)/lib/systemd/catalog
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
CC ?= cc
PKG_CONFIG ?= pkg-config
PYTHON ?= /usr/bin/python3
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.1.0)

LIBS := libsystemd libcurl jansson blkid yaml-0.1 libcrypto libmicrohttpd
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIBS))
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(LIBS))

CFLAGS ?= -O2 -g
WARNINGS := -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter -Wmissing-prototypes
ALL_CFLAGS := -std=gnu11 $(WARNINGS) -D_GNU_SOURCE -DDIND_CACHE_VERSION='"$(VERSION)"' \
	-DDIND_CACHE_UNITDIR='"$(UNITDIR)"' -DDIND_CACHE_CATALOGDIR='"$(CATALOGDIR)"' \
	-Iinstaller $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS)

# installer/ has one folder per layer (README, "Layout"). Commands (installer/cmd/) may
# print; every other folder is the library, which the unit tests link against.
ALL_SRCS := $(sort $(wildcard installer/*/*.c))
CMD_SRCS := $(wildcard installer/cmd/*.c)
LIB_SRCS := $(filter-out $(CMD_SRCS),$(ALL_SRCS))
HEADERS := $(wildcard installer/*/*.h)

# Everything under manifests/ and units/ is embedded, named by its path in the tree.
ASSETS := $(sort $(wildcard manifests/*.yaml) $(wildcard units/*))

B ?= build
LIB_OBJS := $(LIB_SRCS:installer/%.c=$(B)/obj/%.o) $(B)/obj/assets-data.o
CMD_OBJS := $(filter-out $(LIB_SRCS),$(ALL_SRCS))
CMD_OBJS := $(CMD_OBJS:installer/%.c=$(B)/obj/%.o)

UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/*/test-*.c))
TEST_CFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -O1 -g
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka)
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka)

all: $(B)/dind-cache $(B)/dind-cache.8

$(B)/dind-cache: $(CMD_OBJS) $(LIB_OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/obj/%.o: installer/%.c $(HEADERS) Makefile
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The man page, from scdoc (Debian package scdoc).
$(B)/dind-cache.8: docs/dind-cache.8.scd
	@mkdir -p $(@D)
	scdoc < $< > $@.tmp && mv $@.tmp $@

# The assets are assembled with .incbin from a list written at build time.
$(B)/assets-data.S: $(ASSETS) Makefile installer/base/assets.h
	@mkdir -p $(@D)
	{ echo '#include "base/assets-begin.S"'; \
	  for f in $(ASSETS); do echo "ASSET \"$$f\""; done; \
	  echo '#include "base/assets-end.S"'; } > $@.tmp && mv $@.tmp $@

$(B)/obj/assets-data.o: $(B)/assets-data.S installer/base/assets-begin.S installer/base/assets-end.S $(ASSETS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -c -Iinstaller -I. -o $@ $<

# Unit tests: one cmocka program per tests/unit/LAYER/test-*.c, linked with the library
# objects built again under ASan and UBSan.
$(B)/asan/%.o: installer/%.c $(HEADERS) Makefile
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -c -o $@ $<

ASAN_LIB_OBJS := $(LIB_SRCS:installer/%.c=$(B)/asan/%.o) $(B)/obj/assets-data.o

TEST_HEADERS := $(wildcard tests/unit/*/*.h)

$(B)/tests/%: tests/unit/%.c $(ASAN_LIB_OBJS) $(HEADERS) $(TEST_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) $(CMOCKA_CFLAGS) -o $@ $< $(ASAN_LIB_OBJS) \
		$(PKG_LIBS) $(CMOCKA_LIBS)

# Small programs over the library that the integration tests drive (tests/helpers/).
HELPERS := $(patsubst tests/helpers/%.c,$(B)/tests/helpers/%,$(wildcard tests/helpers/*.c))

$(B)/tests/helpers/%: tests/helpers/%.c $(LIB_OBJS) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(PKG_LIBS)

# make check: the layering checks, the unit tests, the integration tests and a fuzz smoke,
# side by side: CHECK_JOBS make jobs, of which the integration tests take one for their
# TEST_WORKERS pytest-xdist workers (README, "Tests"). The builds of the unit tests and
# the fuzz harnesses and their runs overlap the integration tests, which mostly wait on
# daemons, disks and a booted systemd. Each part's output comes whole when it ends.
CHECK_JOBS ?= 3
TEST_WORKERS ?= 4
ifneq ($(filter check,$(MAKECMDGOALS)),)
MAKEFLAGS += -j$(CHECK_JOBS) --output-sync=target
endif

check: check-layers check-function-lengths check-integration check-unit fuzz-smoke

# The folders of installer/ form a DAG and each outside library has one home: the
# allowed edges are one table, in scripts/check-layers (README, "Layout").
check-layers:
	@$(PYTHON) scripts/check-layers installer

# No function of installer/ over 80 lines (STYLE: a longer one is two functions).
check-function-lengths:
	@$(PYTHON) scripts/function-lengths --limit 80 --top 0 installer >/dev/null

check-unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

# Integration tests need root: loop devices, mounts, dockerd, systemd in namespaces. They
# run in parallel (--dist loadgroup: tests/integration/conftest.py names what may not).
check-integration: $(B)/dind-cache $(B)/dind-cache.8 $(HELPERS)
	$(PYTHON) -m pytest -ra -n $(TEST_WORKERS) --dist loadgroup tests/integration $(PYTEST_ARGS)

# make install: the binary, its man page and bash completion. `dind-cache install`
# then writes complete units to /etc/systemd/system on the node.
install: $(B)/dind-cache $(B)/dind-cache.8
	install -D -m 0755 $(B)/dind-cache $(DESTDIR)$(SBINDIR)/dind-cache
	install -D -m 0644 $(B)/dind-cache.8 $(DESTDIR)$(MANDIR)/man8/dind-cache.8
	install -D -m 0644 completion/dind-cache.bash $(DESTDIR)$(BASHCOMPDIR)/dind-cache

# make install-units: every unit under units/ in the vendor directory, naming the
# installed binary, and the journal catalog (what the Debian package ships). Nothing
# is enabled: `dind-cache install` does that on the node.
UNIT_FILES := $(wildcard units/*.service units/*.timer units/*.socket)
install-units:
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	for u in $(UNIT_FILES); do \
		sed 's|^ExecStart=/usr/local/sbin/dind-cache|ExecStart=$(SBINDIR)/dind-cache|' $$u \
			> $(DESTDIR)$(UNITDIR)/$${u##*/}.tmp && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$${u##*/}.tmp && \
		mv $(DESTDIR)$(UNITDIR)/$${u##*/}.tmp $(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; \
	done
	install -D -m 0644 units/dind-cache.catalog $(DESTDIR)$(CATALOGDIR)/dind-cache.catalog

# make deb: the Debian package (debian/), built with dpkg-buildpackage in its own
# build directory; the .deb, .buildinfo and .changes end up in build/.
deb:
	dpkg-buildpackage -us -uc -b
	@mkdir -p $(B)
	for f in ../dind-cache_$(VERSION)_*.deb ../dind-cache-dbgsym_$(VERSION)_*.deb \
		 ../dind-cache_$(VERSION)_*.buildinfo ../dind-cache_$(VERSION)_*.changes; do \
		if [ -e "$$f" ]; then mv "$$f" $(B)/ || exit 1; fi; \
	done

clean:
	rm -rf $(B)

.PHONY: all check check-layers check-function-lengths check-unit check-integration install install-units deb clean
.DELETE_ON_ERROR:
# The ASan objects are made only on the way to the unit tests: keep them anyway.
.SECONDARY: $(ASAN_LIB_OBJS)

# Fuzzing: one libFuzzer harness per parser of outside input (tests/fuzz/fuzz-NAME.c, seeds
# in tests/fuzz/corpus/NAME/), linked with the library objects built again with clang under
# ASan and UBSan (build/fuzz/obj). `make fuzz FUZZ_SECONDS=N` runs each harness N seconds,
# growing build/fuzz/corpus/NAME/ (the checked-in seeds are read only); `make fuzz-smoke`,
# part of `make check`, runs each briefly. A crash lands in build/fuzz/artifacts/.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 2
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 $(WARNINGS) -D_GNU_SOURCE -DDIND_CACHE_VERSION='"$(VERSION)"' \
	-Iinstaller $(PKG_CFLAGS) -O1 -g $(FUZZ_SAN)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz-%.c,%,$(wildcard tests/fuzz/fuzz-*.c))
FUZZ_BINS := $(FUZZ_NAMES:%=$(B)/fuzz/fuzz-%)
FUZZ_LIB_OBJS := $(LIB_SRCS:installer/%.c=$(B)/fuzz/obj/%.o) $(B)/obj/assets-data.o
FUZZ_RUN = set -e; mkdir -p $(B)/fuzz/artifacts $(B)/fuzz/logs; for n in $(FUZZ_NAMES); do \
	  mkdir -p $(B)/fuzz/corpus/$$n; log=$(B)/fuzz/logs/$$n.log; \
	  if ! $(B)/fuzz/fuzz-$$n -max_total_time=$(1) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=$(B)/fuzz/artifacts/$$n- $(B)/fuzz/corpus/$$n tests/fuzz/corpus/$$n >$$log 2>&1; then \
	    tail -n 40 $$log >&2; echo "fuzz-$$n failed: the input is in $(B)/fuzz/artifacts/, the log $$log" >&2; exit 1; fi; \
	  echo "fuzz-$$n: $$(sed -n 's/^stat::number_of_executed_units: *//p' $$log) runs in $(1) s, nothing found"; \
	done

$(B)/fuzz/obj/%.o: installer/%.c $(HEADERS) Makefile
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

# A harness that includes a library source itself (to reach its static functions) does
# not link that source's object: FUZZ_INCLUDES_fuzz-NAME names it.
FUZZ_INCLUDES_fuzz-docker := $(B)/fuzz/obj/check/health-daemon.o
FUZZ_INCLUDES_fuzz-http := $(B)/fuzz/obj/base/http.o

$(B)/fuzz/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/fuzz.h $(FUZZ_LIB_OBJS) $(HEADERS) $(TEST_HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
		$(filter-out $(FUZZ_INCLUDES_$(@F)),$(FUZZ_LIB_OBJS)) $(PKG_LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@$(call FUZZ_RUN,$(FUZZ_SECONDS))

fuzz-smoke: $(FUZZ_BINS)
	@$(call FUZZ_RUN,$(FUZZ_SMOKE_SECONDS))

.PHONY: fuzz fuzz-build fuzz-smoke
.SECONDARY: $(FUZZ_LIB_OBJS)

# In make check, what the integration tests need is built before the unit tests' and the
# fuzz harnesses' objects: the integration tests are the longest part, so they start first.
ifneq ($(filter check,$(MAKECMDGOALS)),)
$(LIB_SRCS:installer/%.c=$(B)/asan/%.o) $(LIB_SRCS:installer/%.c=$(B)/fuzz/obj/%.o): | \
	$(B)/dind-cache $(B)/dind-cache.8 $(HELPERS)
endif
