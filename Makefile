# tfl — top-level entry points. CMake does the building underneath.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
# Where the conformance suites live (CI and developers have them at ../shared). Left unset
# when there is no such folder, so that a lone clone runs its in-repo fixtures only.
TFL_SHARED ?= $(wildcard $(abspath ../shared))
ifneq ($(TFL_SHARED),)
export TFL_SHARED
endif

BUILD_DEPS = gcc make cmake libstb-dev
TEST_DEPS = $(BUILD_DEPS) python3 python3-numpy

.PHONY: all build test demo clean

all: build

build:
	@./scripts/deps.sh $(BUILD_DEPS)
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test:
	@./scripts/deps.sh $(TEST_DEPS)
	@$(MAKE) --no-print-directory build
	@tests/run_all.sh $(BUILD)

# Builds only the tool, so the demo does not depend on every test compiling.
demo:
	@./scripts/deps.sh $(BUILD_DEPS)
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target tfl_cli
	@$(BUILD)/tfl label --model demo/mobilenet_v2_1.0_224_quant.tflite \
	  --image demo/grace_hopper.bmp --labels demo/labels.txt --top 5

# Regenerates docs/OPS.md from the kernel registrations.
.PHONY: docs
docs: build
	@$(BUILD)/tfl_opsdoc > docs/OPS.md

clean:
	rm -rf $(BUILD) build-*

# Cross-compiles for aarch64 and runs the unit and golden tests under qemu-user. Its "max" CPU
# has NEON and the dot-product extension, so golden runs at the best level (neondot: the
# SDOT/UDOT int8 GEMM), golden_neon with the plain NEON kernels and golden_scalar with the
# portable ones. CI keeps the first two (2 cores, from a clean build: about 6 minutes; each
# golden script takes about 2 of them).
AARCH64_BUILD ?= build-aarch64
AARCH64_SCRIPTS ?= golden golden_neon golden_scalar
.PHONY: test-aarch64
test-aarch64:
	@./scripts/deps.sh $(TEST_DEPS) gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
	@cmake -S . -B $(AARCH64_BUILD) -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
	  -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(AARCH64_BUILD) -j $(JOBS)
	@TFL_EXEC="qemu-aarch64 -cpu max -L /usr/aarch64-linux-gnu" TFL_SCRIPTS="$(AARCH64_SCRIPTS)" \
	  tests/run_all.sh $(AARCH64_BUILD)

# --- hardening: sanitizers, fuzzing, memcheck ---------------------------------------------
ASAN_BUILD ?= build-asan
ASAN_SKIP_SCRIPTS ?=
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
TSAN_TESTS = test_concurrency test_threadpool test_interpreter test_binary test_batch_matmul \
  test_blockwise test_activations
SANITIZER_ENV = ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
.PHONY: test-asan test-tsan fuzz valgrind

# The whole suite on an AddressSanitizer + UndefinedBehaviorSanitizer build (ASAN_SKIP_SCRIPTS
# leaves tests/scripts/ out by name; CI skips golden_scalar there for time). tests/scripts/
# readme.sh links the README example with plain `cc`; an instrumented libtfl.a needs the
# sanitizer runtimes at link time, so a `cc` that adds them comes first in PATH.
test-asan:
	@./scripts/deps.sh $(TEST_DEPS)
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DTFL_SANITIZE=address,undefined $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@mkdir -p $(ASAN_BUILD)/bin
	@printf '#!/bin/sh\nexec /usr/bin/cc -fsanitize=address,undefined "$$@"\n' >$(ASAN_BUILD)/bin/cc
	@chmod +x $(ASAN_BUILD)/bin/cc
	@PATH="$(abspath $(ASAN_BUILD))/bin:$$PATH" $(SANITIZER_ENV) \
	  TFL_SKIP_SCRIPTS="$(ASAN_SKIP_SCRIPTS)" tests/run_all.sh $(ASAN_BUILD)

# The threaded tests (shared models, cancel from another thread, the pool) under
# ThreadSanitizer; no scripts.
test-tsan:
	@./scripts/deps.sh $(BUILD_DEPS)
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTFL_SANITIZE=thread \
	  -DTFL_BUILD_TOOLS=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(TSAN_BUILD) -j $(JOBS) --target $(TSAN_TESTS)
	@$(SANITIZER_ENV) TFL_SCRIPTS=none tests/run_all.sh $(TSAN_BUILD)

# libFuzzer on models, FlexBuffers and .npy files (tests/fuzz/run.sh): FUZZ_SECONDS for
# models, a quarter of it for each of the others.
fuzz:
	@./scripts/deps.sh $(BUILD_DEPS) clang libclang-rt-14-dev
	@FUZZ_BUILD=$(abspath $(FUZZ_BUILD)) tests/fuzz/run.sh $(FUZZ_SECONDS)

# `tfl run` under valgrind memcheck on a handful of real float and quantized models.
valgrind:
	@./scripts/deps.sh $(TEST_DEPS) valgrind
	@$(MAKE) --no-print-directory build
	@TFL_VALGRIND=1 bash tests/scripts/valgrind.sh $(BUILD)
