# tfl — top-level entry points. CMake does the building underneath.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
# Where the conformance suites live (CI and developers have them at ../shared).
TFL_SHARED ?= $(abspath ../shared)
export TFL_SHARED

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

demo: build
	@$(BUILD)/tfl label --model demo/mobilenet_v2_1.0_224_quant.tflite \
	  --image demo/grace_hopper.bmp --labels demo/labels.txt --top 5

# Regenerates docs/OPS.md from the kernel registrations.
.PHONY: docs
docs: build
	@$(BUILD)/tfl_opsdoc > docs/OPS.md

clean:
	rm -rf $(BUILD) build-*

# Cross-compiles for aarch64 and runs the unit and golden tests under qemu-user.
AARCH64_BUILD ?= build-aarch64
.PHONY: test-aarch64
test-aarch64:
	@./scripts/deps.sh $(TEST_DEPS) gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
	@cmake -S . -B $(AARCH64_BUILD) -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
	  -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(AARCH64_BUILD) -j $(JOBS)
	@TFL_EXEC="qemu-aarch64 -L /usr/aarch64-linux-gnu" TFL_SCRIPTS="golden" \
	  tests/run_all.sh $(AARCH64_BUILD)
