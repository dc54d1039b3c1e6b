# Kiln's two commands (see README.md):
#   make demo   install what is missing, build, compile examples/lenet to a
#               static binary and run it
#   make test   install what is missing, build, run the whole test suite
#               (but the long tests)
#   make test-long  the long tests: the torchvision examples (ctest -L long)
# and `make` (build the driver at build/bin/kiln), `make install PREFIX=...`.

BUILD   ?= build
PREFIX  ?= /usr/local
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
KILN    := $(BUILD)/bin/kiln

.PHONY: all deps build demo test test-long install bench clean

all: build

deps:
	@tools/install-deps.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	examples/lenet/run_demo.sh $(KILN)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -LE long

test-long: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L long

# BENCH_ARGS: options of bench/run_benchmarks.sh, e.g. BENCH_ARGS=--quick
bench: build
	bench/run_benchmarks.sh $(KILN) $(BENCH_ARGS)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD)
