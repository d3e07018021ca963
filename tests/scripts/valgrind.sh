#!/usr/bin/env bash
# `tfl run` under valgrind memcheck on real float and quantized models of the conformance suite
# (case 1 of each; from tests/fixtures/golden when $TFL_SHARED has no suite): no invalid
# access, no use of uninitialised memory, no leak, and the run itself succeeds.
#
# Usage: TFL_VALGRIND=1 tests/scripts/valgrind.sh BUILD_DIR   (what `make valgrind` does)
# tests/run_all.sh runs every script here; without TFL_VALGRIND this one only says so, since
# memcheck takes minutes and cannot run sanitizer builds. Last line: "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [ "${TFL_VALGRIND:-0}" != 1 ]; then
  echo "(valgrind: skipped; run it with make valgrind)"
  echo "0 passed, 0 failed"
  exit 0
fi
build=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "no build dir ${1:-build}"; echo "0 passed, 1 failed"; exit 1; }
tfl=$build/tfl
shared=${TFL_SHARED:-$repo/../shared}
passed=0
failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! command -v valgrind >/dev/null; then
  echo "FAIL: valgrind is not installed (make valgrind installs it)"
  echo "0 passed, 1 failed"
  exit 1
fi

# Model ids (folders with ref.json) that tfl runs and that run in seconds under memcheck:
# float32, int8 per-tensor and per-channel, uint8, hybrid, LSTMs; one with two threads.
cases=(
  hello_world_float hello_world_int8 keyword_scrambled micro_speech_quantized person_detect
  vww_96_float kws_ref_model_float32 mobilenet_v1_0.25_128_quant trained_lstm
  trained_lstm_int8 hand_recrop
)
threaded=vww_96_float

model_dir() { # id -> its folder in the suite, else in the in-repo fixtures
  local d
  for d in "$shared/reference/$1" "$repo/tests/fixtures/golden/$1"; do
    [ -f "$d/ref.json" ] && { echo "$d"; return; }
  done
}

model_file() { # folder -> models/<ref.json "model"> beside it
  /usr/bin/python3 -c 'import json, os, sys
d = sys.argv[1]
print(os.path.join(os.path.dirname(d), "models", json.load(open(os.path.join(d, "ref.json")))["model"]))' "$1"
}

# One model under memcheck; its verdict goes to WORK/<id>.verdict (PASS, or FAIL and the
# report), since cases run in the background.
run_case() { # id dir
  local id=$1 dir=$2 model args=() i=0 log=$work/$1.log threads=1
  model=$(model_file "$dir")
  while [ -f "$dir/case1/input_$i.npy" ]; do
    args+=(--input "$dir/case1/input_$i.npy")
    i=$((i + 1))
  done
  [ "$id" = "$threaded" ] && threads=2
  valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --track-origins=yes --quiet \
    "$tfl" run "$model" "${args[@]}" --threads "$threads" --output-dir "$work/out/$id" \
    >"$log" 2>&1
  local rc=$?
  if [ "$rc" = 0 ]; then
    echo "PASS $id" >"$work/$id.verdict"
  else
    { echo "FAIL $id: exit $rc"; grep -E '==[0-9]+==|error' "$log" | head -n 30; } >"$work/$id.verdict"
  fi
}

# Cases run TFL_JOBS at a time (default: one per core) and are reported in order.
max_jobs=${TFL_JOBS:-$(nproc 2>/dev/null || echo 2)}
start=$(date +%s)
ran=()
for id in "${cases[@]}"; do
  dir=$(model_dir "$id")
  [ -n "$dir" ] || continue
  while [ "$(jobs -rp | wc -l)" -ge "$max_jobs" ]; do wait -n; done
  ran+=("$id")
  run_case "$id" "$dir" </dev/null &
done
wait
for id in "${ran[@]}"; do
  cat "$work/$id.verdict"
  if grep -q '^PASS' "$work/$id.verdict"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
[ $((passed + failed)) -gt 0 ] || { echo "FAIL: no model found"; failed=1; }
echo "valgrind: $((passed + failed)) models in $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
