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
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# The test binaries run TFL_JOBS at a time (default: one per core) and are reported in order.
max_jobs=${TFL_JOBS:-$(nproc 2>/dev/null || echo 2)}

# Adds up the last "N passed, N failed" line of one test's output (LOG, exit status RC).
tally() { # name log rc
  local name=$1 log=$2 rc=$3
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

# Runs a command into logs/NAME.log and logs/NAME.rc (in the background, from run_tests).
run_into() { # name, then the command
  local name=$1
  shift
  "$@" >"$logs/$name.log" 2>&1
  echo $? >"$logs/$name.rc"
}

# TFL_EXEC runs binaries built for another machine, e.g. "qemu-aarch64 -L /usr/aarch64-linux-gnu";
# TFL_SCRIPTS limits which tests/scripts/*.sh run (space-separated names, default all);
# TFL_SKIP_SCRIPTS leaves some out.
read -r -a exec_prefix <<<"${TFL_EXEC:-}"
names=()
for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  while [ "$(jobs -rp | wc -l)" -ge "$max_jobs" ]; do wait -n; done
  names+=("$(basename "$t")")
  run_into "${names[-1]}" "${exec_prefix[@]}" "$t" &
done
wait
for name in "${names[@]}"; do
  tally "$name" "$logs/$name.log" "$(cat "$logs/$name.rc")"
done
# The scripts one after another: the golden ones run their models in parallel themselves.
for s in "$here"/scripts/*.sh; do
  if [ -n "${TFL_SCRIPTS:-}" ] && [[ " $TFL_SCRIPTS " != *" $(basename "$s" .sh) "* ]]; then continue; fi
  [[ " ${TFL_SKIP_SCRIPTS:-} " == *" $(basename "$s" .sh) "* ]] && continue
  [ -f "$s" ] || continue
  name=$(basename "$s" .sh)
  run_into "$name" bash "$s" "$build"
  tally "$name" "$logs/$name.log" "$(cat "$logs/$name.rc")"
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
