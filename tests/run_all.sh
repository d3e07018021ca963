#!/usr/bin/env bash
# Runs every test binary and the golden suites, and prints one line: N passed, N failed.
# Usage: tests/run_all.sh BUILD_DIR
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
# Tests find in-repo fixtures through this, wherever they are run from.
export TFL_SOURCE_DIR=${TFL_SOURCE_DIR:-$(cd "$here/.." && pwd)}
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

tally() { # name, then the command; its last "N passed, N failed" line is added up
  local name=$1
  shift
  "$@" >"$log" 2>&1
  local rc=$?
  local line
  line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  if [ -z "$line" ]; then
    echo "FAIL $name: no summary line (exit $rc)"
    tail -n 20 "$log"
    failed=$((failed + 1))
    return
  fi
  local p f
  p=$(echo "$line" | sed -E 's/^([A-Za-z]+: )?([0-9]+) passed.*/\2/')
  f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
  if [ "$f" != 0 ] || [ "$rc" != 0 ]; then
    grep -E 'FAIL' "$log" | head -n 40
    [ "$f" = 0 ] && f=1
  fi
  echo "$name: $p passed, $f failed"
  passed=$((passed + p))
  failed=$((failed + f))
}

# TFL_EXEC runs binaries built for another machine, e.g. "qemu-aarch64 -L /usr/aarch64-linux-gnu";
# TFL_SCRIPTS limits which tests/scripts/*.sh run (space-separated names, default all).
read -r -a exec_prefix <<<"${TFL_EXEC:-}"
for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  tally "$(basename "$t")" "${exec_prefix[@]}" "$t"
done
for s in "$here"/scripts/*.sh; do
  if [ -n "${TFL_SCRIPTS:-}" ] && [[ " $TFL_SCRIPTS " != *" $(basename "$s" .sh) "* ]]; then continue; fi
  [ -f "$s" ] || continue
  tally "$(basename "$s" .sh)" bash "$s" "$build"
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
