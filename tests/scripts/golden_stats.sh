#!/usr/bin/env bash
# Golden checks for the suite's cases that store only output statistics (tests/golden/stats.py).
# Usage: tests/scripts/golden_stats.sh BUILD_DIR. Needs $TFL_SHARED; without it, prints 0/0.
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-build}" && pwd)
suite=${TFL_SHARED:-$repo/../shared}/reference/unit_models
if [ ! -d "$suite" ]; then
  echo "no suite at $suite: nothing to check"
  echo "0 passed, 0 failed"
  exit 0
fi
exec /usr/bin/python3 "$repo/tests/golden/stats.py" "$suite" "$build/tfl" "$repo/tests/golden/expected_stats.txt"
