#!/usr/bin/env bash
# The golden tests again with the portable kernels forced (TFL_CPU=scalar): golden.sh runs
# them at the machine's best level, so together every level this machine has is covered
# (x86-64: scalar and AVX2 or AVX-512; aarch64: scalar and NEON).
# Usage: tests/scripts/golden_scalar.sh BUILD_DIR
here=$(cd "$(dirname "$0")" && pwd)
TFL_CPU=scalar exec bash "$here/golden.sh" "$@"
