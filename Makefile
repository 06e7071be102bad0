# leadedge: a thin wrapper over CMake, so that a fresh Debian 12 machine needs only
#
#     make run      build and start the server with config/leadedge.yaml
#     make test     build, check formatting, run every test through ctest
#
# Other targets: deps, deps-bench, build (default), bench, format, format-check, clean, help.
# Variables:     SANITIZE=1 (ASan+UBSan build in build-asan), CONFIG=..., CTEST_ARGS=...,
#                BENCH_SECONDS / ROUNDS / BENCH_TARGETS (see bench/run.sh).
#
# The real build lives in CMakeLists.txt; nothing here compiles anything itself.

SHELL := /bin/bash
.DEFAULT_GOAL := build
.DELETE_ON_ERROR:
MAKEFLAGS += --no-print-directory

# Debian packages needed to build and test (libmaxmind-db-writer-perl generates the .mmdb test
# fixtures; nodejs runs tracker.js's tests and minifier; chromium is the browser of the end-to-end
# test). EXTRA_PACKAGES adds more from the command line. The npm packages (package.json,
# pinned by package-lock.json) are installed by scripts/deps-js.sh.
PACKAGES := gcc make cmake pkg-config \
            libuv1-dev libhttp-parser-dev libevent-dev libssl-dev \
            libmsgpack-dev libyaml-dev libcmocka-dev libjansson-dev \
            libmaxminddb-dev libpcre2-dev libunistring-dev uap-core zlib1g-dev \
            libmaxmind-db-writer-perl \
            python3 clang-format ca-certificates nodejs chromium
EXTRA_PACKAGES ?=
# The benchmark adds a load generator and the baseline server (taskset is in util-linux).
BENCH_PACKAGES := wrk nginx-light util-linux python3-ua-parser

NPROC := $(shell nproc 2>/dev/null || echo 2)
# Under `make -jN` CMake's own make joins our jobserver; otherwise it gets -j$(NPROC).
BUILD_JOBS = $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(NPROC))
CMAKE ?= cmake
CTEST ?= ctest
CTEST_JOBS ?= 2
CTEST_ARGS ?=
CONFIG ?= config/leadedge.yaml

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
  BUILD_DIR := build-asan
  CMAKE_FLAGS := -DCMAKE_BUILD_TYPE=Debug -DLE_SANITIZE=ON
else
  BUILD_DIR := build
  CMAKE_FLAGS := -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLE_SANITIZE=OFF
endif
BENCH_DIR := build-bench
BENCH_CMAKE_FLAGS := -DCMAKE_BUILD_TYPE=Release -DLE_SANITIZE=OFF -DLE_WERROR=ON

# Sanitizer behaviour for tests (ignored by a normal build); set them in the environment to
# override. Leak detection is on: a leak fails the test. Children (the server started by the
# integration tests) inherit them.
ASAN_OPTIONS ?= halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1
UBSAN_OPTIONS ?= halt_on_error=1:print_stacktrace=1
LSAN_OPTIONS ?=
export ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS

# $(call cmake_build,DIR,FLAGS): configure DIR when it has no cache yet or FLAGS changed since
# the last configure (a stamp file remembers them); otherwise `cmake --build` alone, which
# re-runs CMake by itself when a CMakeLists.txt changed.
define cmake_build
	@stamp='$(1)/.make-cmake-flags'; want='$(2)'; \
	if [ ! -f '$(1)/CMakeCache.txt' ] || [ "$$(cat "$$stamp" 2>/dev/null)" != "$$want" ]; then \
	    echo "$(CMAKE) -S . -B $(1) $(2)"; \
	    $(CMAKE) -S . -B '$(1)' $(2) && printf '%s\n' "$$want" > "$$stamp"; \
	fi
	+$(CMAKE) --build '$(1)' $(BUILD_JOBS)
endef

.PHONY: all build deps deps-bench run test format format-check bench clean help

all: build

deps:
	@bash scripts/deps.sh $(PACKAGES) $(EXTRA_PACKAGES)
	@bash scripts/deps-js.sh

deps-bench:
	@bash scripts/deps.sh $(PACKAGES) $(EXTRA_PACKAGES) $(BENCH_PACKAGES)
	@bash scripts/deps-js.sh

build: deps
	$(call cmake_build,$(BUILD_DIR),$(CMAKE_FLAGS))

# leadedge with the default config, beside the demo site and the demo CRM receiver
# (examples/README.md); Ctrl-C stops all three.
run: build
	exec bash scripts/run-demo.sh ./$(BUILD_DIR)/server/leadedge $(CONFIG)

test: build format-check
	$(CTEST) --test-dir $(BUILD_DIR) --output-on-failure --no-tests=error --timeout 600 \
	    -j$(CTEST_JOBS) $(CTEST_ARGS)

format-check: deps
	@bash scripts/format.sh check

format: deps
	@bash scripts/format.sh fix

# The pixel benchmark against nginx, then the micro benchmarks, each beside its baseline.
bench: deps-bench
	$(call cmake_build,$(BENCH_DIR),$(BENCH_CMAKE_FLAGS))
	LEADEDGE_BIN=$(BENCH_DIR)/server/leadedge bash bench/run.sh
	@echo; echo "== enrichment: User-Agent parsing (uap-core) =="
	taskset -c 0 $(BENCH_DIR)/bench/ua_bench
	@echo; echo "== enrichment: MMDB lookups =="
	taskset -c 0 $(BENCH_DIR)/bench/mmdb_bench
	@echo; echo "== event log: append and replay =="
	taskset -c 0 $(BENCH_DIR)/bench/evlog_bench
	@echo; echo "== scoring: memory per visitor, apply, start-up replay, snapshots =="
	@# two CPUs, as a server has at start-up: the replay reads and decodes on the second
	taskset -c 0,1 $(BENCH_DIR)/bench/score_bench

clean:
	rm -rf build build-asan build-bench

help:
	@sed -n '1,/^$$/p' Makefile | sed 's/^# \{0,1\}//'
