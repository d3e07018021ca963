#!/usr/bin/env bash
# The README's C example must be exactly examples/minimal.c, and it must compile against the
# built library and run on a real model.
# Usage: tests/scripts/readme.sh BUILD_DIR
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-build}" && pwd)
passed=0
failed=0
check() { # name, status
  if [ "$2" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $1"; fi
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The fenced block that follows the example marker.
awk '/<!-- example: examples\/minimal.c -->/ {grab = 1; next}
     grab && /^```c/ {inside = 1; next}
     inside && /^```/ {exit}
     inside {print}' "$repo/README.md" >"$work/readme.c"
cmp -s "$work/readme.c" "$repo/examples/minimal.c"
check "README example equals examples/minimal.c" $?

"${CC:-cc}" -std=c11 -Wall -Wextra -Werror -I"$repo/include" "$work/readme.c" "$build/libtfl.a" -lm -lpthread \
  -o "$work/minimal" 2>"$work/cc.log"
rc=$?
[ $rc = 0 ] || cat "$work/cc.log"
check "README example compiles" $rc

model=$repo/tests/fixtures/golden/models/tflite_micro/hello_world_float.tflite
"$work/minimal" "$model" >"$work/out.txt" 2>&1
rc=$?
grep -q "output '.*': float32\[1,1\]" "$work/out.txt" || rc=1
[ $rc = 0 ] || cat "$work/out.txt"
check "README example runs a model" $rc

"$work/minimal" "$repo/tests/fixtures/invalid_model.bin" >/dev/null 2>"$work/err.txt"
rc=$?
[ $rc = 1 ] && [ "$(wc -l <"$work/err.txt")" = 1 ]
check "README example reports a broken model in one line" $?

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
