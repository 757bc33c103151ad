# keel: the commands a developer and CI need. `make help` lists them.
#
#   make run    install what is missing, build, start one member on
#               127.0.0.1:2379 with data in ./default.keel
#   make test   install what is missing, build, run every test CI runs
#   make chaos  three runs of the chaos test (root; tests/chaos/README.md)

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
CTEST_JOBS ?= $(JOBS)
FUZZ_S     ?= 60
SEEDS      ?= 1..1000

.PHONY: help deps configure build install fuzz-build test test-asan lint run cluster sim sweep fuzz bench bench-compare recovery-bench chaos clean

help:
	@grep -E '^#   make' Makefile | sed 's/^#   //'
	@echo "make deps | build | install [PREFIX=/usr/local DESTDIR=] | test-asan | lint | cluster | sweep | fuzz | bench | bench-compare | recovery-bench | chaos | clean"

deps:
	@ci/install-deps

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

configure: deps $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# The binaries, the systemd unit and /etc/default/keel (packaging/README.md).
PREFIX ?= /usr/local
install: configure
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --build $(BUILD) -j $(JOBS) --target keel keelctl keelutl
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)

lint:
	ci/lint-determinism
	ci/lint-deps
	ci/lint-coroutines

test: build fuzz-build
	ci/lint-determinism
	ci/lint-deps
	ci/lint-coroutines
	cd $(BUILD) && ctest --output-on-failure -j $(CTEST_JOBS) --timeout 900
	cd $(FUZZ_BUILD) && ctest --output-on-failure -j $(CTEST_JOBS) -L fuzz

# The libFuzzer targets in their own clang build (only the libraries they
# need are built).
fuzz-build: deps
	CC=clang-16 CXX=clang++-16 cmake -S . -B $(FUZZ_BUILD) -G Ninja \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEEL_FUZZ=ON >/dev/null
	cmake --build $(FUZZ_BUILD) --target keel_fuzz_targets -j $(JOBS)

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEEL_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(CTEST_JOBS) -LE 'integration|chaos' --timeout 1800

# Starts one member on 127.0.0.1:2379 (data in ./default.keel).
run: build
	ci/run-member

# Three members on loopback: clients 2379/22379/32379, peers 2380/22380/32380.
cluster: build
	ci/run-cluster

# Real faults on three real members in network namespaces (needs root):
# CHAOS_RUNS runs in a row, each CHAOS_DURATION seconds under CHAOS_FAULTS
# faults; CHAOS_SEED repeats a run.
CHAOS_RUNS ?= 3
chaos: configure
	cmake --build $(BUILD) -j $(JOBS) --target keel keel-check keel-chaos-client
	cd $(BUILD) && CHAOS_RUNS=$(CHAOS_RUNS) $(if $(CHAOS_SEED),CHAOS_SEED=$(CHAOS_SEED)) \
	  ctest -L chaos --verbose

# A quick look at the simulator.
sim: build
	$(BUILD)/sim/keel-sim --scenario disk --seeds 1..20

# Long seed sweeps, outside `make test`: make sweep SEEDS=1..1000
sweep: build
	ci/sweep $(SEEDS)

# Each fuzz target for FUZZ_S seconds: make fuzz FUZZ_S=600
fuzz: fuzz-build
	ci/run-fuzz $(FUZZ_BUILD) $(FUZZ_S)

bench: build
	ci/run-bench $(BUILD)

bench-compare: build
	ci/bench-compare $(BUILD)

# A member restarting on a 1 GiB WAL: keel, then etcd 3.4 for reference.
recovery-bench: build
	ci/recovery-bench $(BUILD) --system keel
	ci/recovery-bench $(BUILD) --system etcd

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
