#!/usr/bin/env bash
# Golden tests: runs `tfl run` on every case of the conformance suites and compares the
# outputs with TensorFlow Lite's using the suite's own check.py.
#
# Usage: tests/scripts/golden.sh BUILD_DIR
#   TFL_SHARED  the shared data folder (default: ../shared next to the repository), holding the
#               suites reference/ (with reference/unit_models/, which its check.py covers) and
#               reference-torch/. Without it, the in-repo fixtures in tests/fixtures/golden/ are
#               checked with tests/golden/compare.py instead.
#
# tests/golden/expected.txt lists the models that must pass ("ID") or be refused ("!ID");
# cases of every other model are counted as skipped. The last line is
# "N passed, N failed, N skipped".
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "no build dir ${1:-build}"; echo "0 passed, 1 failed"; exit 1; }
tfl=$build/tfl
# TFL_EXEC runs binaries built for another machine, e.g. "qemu-aarch64 -L /usr/aarch64-linux-gnu".
read -r -a exec_prefix <<<"${TFL_EXEC:-}"
shared=${TFL_SHARED:-$repo/../shared}
py=/usr/bin/python3
run_timeout=${TFL_GOLDEN_TIMEOUT:-300}
# Cases run TFL_JOBS at a time (default: one per core).
max_jobs=${TFL_JOBS:-$(nproc 2>/dev/null || echo 2)}
n_runs=0

passed=0
failed=0
skipped=0
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

if [ ! -x "$tfl" ]; then
  echo "FAIL: $tfl is not built"
  echo "0 passed, 1 failed"
  exit 1
fi

# --- the expected list: basenames of model ids ---------------------------------------------
declare -A must_pass must_reject seen
while read -r line; do
  line=${line%%#*}
  line=$(echo "$line" | tr -d '[:space:]')
  [ -z "$line" ] && continue
  if [ "${line:0:1}" = "!" ]; then
    must_reject[$(basename "${line:1}")]=1
  else
    must_pass[$(basename "$line")]=1
  fi
done <"$repo/tests/golden/expected.txt"

# Prints "ID DIR" for every model of a suite, recursing into sub-suites (folders with their
# own MANIFEST.tsv) with their folder name as an id prefix, as check.py does.
list_models() {
  local suite=$1 prefix=$2 d name
  for d in "$suite"/*/; do
    d=${d%/}
    name=$(basename "$d")
    [ "$name" = models ] && continue
    if [ -f "$d/ref.json" ]; then
      echo "$prefix$name $d"
    elif [ -f "$d/MANIFEST.tsv" ]; then
      list_models "$d" "$prefix$name/"
    fi
  done
}

model_file() { # MODEL_DIR -> the model path (ref.json "model" under the suite's models/)
  "$py" -c 'import json, os, sys
d = sys.argv[1]
model = json.load(open(os.path.join(d, "ref.json")))["model"]
print(os.path.join(os.path.dirname(d), "models", model))' "$1"
}

first_line() { head -n 1 "$1" | cut -c 1-200; }

# A model that must be refused: `tfl inspect` must fail cleanly (exit 1, not a crash).
check_rejected() {
  local id=$1 dir=$2 model log rc
  model=$(model_file "$dir")
  log=$results/reject.log
  timeout "$run_timeout" "${exec_prefix[@]}" "$tfl" inspect "$model" >/dev/null 2>"$log"
  rc=$?
  if [ "$rc" = 1 ] && [ "$(wc -l <"$log")" = 1 ]; then
    echo "PASS $id refused: $(first_line "$log")"
    passed=$((passed + 1))
  else
    echo "FAIL $id should be refused with one error line, got exit $rc: $(first_line "$log")"
    failed=$((failed + 1))
  fi
}

# One case into OUT_DIR; a failure is reported in one line (the checker then fails the case).
run_case() { # label log model out_dir args...
  local label=$1 log=$2 model=$3 out_dir=$4 rc
  shift 4
  timeout "$run_timeout" "${exec_prefix[@]}" "$tfl" run "$model" "$@" --output-dir "$out_dir" \
    >/dev/null 2>"$log"
  rc=$?
  [ "$rc" = 0 ] || echo "tfl run $label: exit $rc: $(first_line "$log")"
}

# Starts every case of a model into OUT/<id>/<case>/, TFL_JOBS at a time (check_suite waits).
run_cases() {
  local id=$1 dir=$2 out=$3 model case_dir case args i
  model=$(model_file "$dir")
  for case_dir in "$dir"/case*/; do
    case_dir=${case_dir%/}
    case=$(basename "$case_dir")
    [ -f "$case_dir/output_0.npy" ] || continue
    args=()
    i=0
    while [ -f "$case_dir/input_$i.npy" ]; do
      args+=(--input "$case_dir/input_$i.npy")
      i=$((i + 1))
    done
    while [ "$(jobs -rp | wc -l)" -ge "$max_jobs" ]; do wait -n; done
    n_runs=$((n_runs + 1))
    run_case "$id/$case" "$results/run-$n_runs.log" "$model" "$out/$id/$case" "${args[@]}" </dev/null &
  done
}

count_cases() { # MODEL_DIR -> cases with reference outputs
  local n=0 c
  for c in "$1"/case*/; do
    [ -f "$c/output_0.npy" ] && n=$((n + 1))
  done
  echo "$n"
}

# Adds the "N passed, N failed" line of a checker's output to the totals.
add_summary() {
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
  if [ -z "$line" ]; then
    echo "FAIL: the checker printed no summary"
    failed=$((failed + 1))
    return
  fi
  passed=$((passed + $(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')))
  failed=$((failed + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
}

# check_suite SUITE_DIR CHECKER...: runs the expected models, then the checker on them.
check_suite() {
  local suite=$1 id dir base only="" out log
  shift
  out=$results/$(basename "$suite")
  mkdir -p "$out"
  echo "== $suite"
  while read -r id dir; do
    base=$(basename "$id")
    seen[$base]=1
    if [ -n "${must_reject[$base]:-}" ]; then
      check_rejected "$id" "$dir"
    elif [ -n "${must_pass[$base]:-}" ]; then
      run_cases "$id" "$dir" "$out"
      only="$only${only:+,}$base"
    else
      skipped=$((skipped + $(count_cases "$dir")))
    fi
  done < <(list_models "$suite" "")
  wait
  [ -z "$only" ] && return
  log=$results/check.log
  "$@" "$suite" "$out" --only "$only" >"$log" 2>&1
  grep -vE '^[0-9]+ passed, [0-9]+ failed|^\([0-9]+ skipped\)$' "$log"
  add_summary "$log"
}

if [ -d "$shared/reference" ]; then
  for suite in "$shared/reference" "$shared/reference-torch"; do
    [ -f "$suite/check.py" ] && check_suite "$suite" "$py" "$suite/check.py"
  done
  for id in "${!must_pass[@]}" "${!must_reject[@]}"; do
    [ -n "${seen[$id]:-}" ] || echo "note: tests/golden/expected.txt names $id, which no suite has"
  done
else
  echo "no suites in $shared: checking the in-repo fixtures"
  check_suite "$repo/tests/fixtures/golden" "$py" "$repo/tests/golden/compare.py"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
