# tfl — top-level entry points. CMake does the building underneath.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
# Where the conformance suites live (CI and developers have them at ../shared).
TFL_SHARED ?= $(abspath ../shared)
export TFL_SHARED

BUILD_DEPS = gcc make cmake libstb-dev
TEST_DEPS = $(BUILD_DEPS) python3 python3-numpy

.PHONY: all build deps test demo clean

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

clean:
	rm -rf $(BUILD) build-*
