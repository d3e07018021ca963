#!/usr/bin/env bash
# The golden tests with the plain NEON kernels forced (TFL_CPU=neon) on an aarch64 build whose
# best level is the dot-product one (neondot picks other int8 GEMM kernels than neon). golden.sh
# covers the best level and golden_scalar.sh the portable kernels; elsewhere this is skipped.
# Usage: tests/scripts/golden_neon.sh BUILD_DIR
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "no build dir ${1:-build}"; echo "0 passed, 1 failed"; exit 1; }
read -r -a exec_prefix <<<"${TFL_EXEC:-}"
level=$("${exec_prefix[@]}" "$build/tfl" bench "$here/../fixtures/add.bin" --runs 1 --warmup 0 --json 2>/dev/null |
  sed -nE 's/.*"cpu": *"([a-z0-9]+)".*/\1/p')
if [ "$level" != neondot ]; then
  echo "golden_neon: best level '${level:-unknown}' is not neondot: skipped"
  echo "0 passed, 0 failed, 1 skipped"
  exit 0
fi
TFL_CPU=neon exec bash "$here/golden.sh" "$@"
