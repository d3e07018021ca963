#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined) and runs them:
#   fuzz_model    any bytes as a model: load, inspect, create, allocate, invoke, signatures
#   fuzz_flexbuf  any bytes as FlexBuffers custom options
#   fuzz_npy      any bytes as a .npy file (the CLI's reader)
# Seeds are copied at run time into BUILD/corpus/ (kept between runs, never in the repo): every
# .tflite/.bin model of $TFL_SHARED/reference/models, $TFL_SHARED/reference/unit_models/models
# and tests/fixtures; the custom options of those models; the suites' small .npy files.
#
# Usage: tests/fuzz/run.sh [SECONDS]   (default 60: fuzz_model runs SECONDS, the other two
#        SECONDS/4 each). Env: TFL_SHARED, FUZZ_BUILD (default build-fuzz), FUZZ_CC (clang).
# Fuzzing runs in libFuzzer's fork mode, so it goes on after a crash. Every crash, leak,
# timeout or out-of-memory is reproduced and named by the source location the sanitizer
# reports; one input per new location is minimized into tests/fuzz/regressions/
# (<target>-<sha1>), which tests/unit/test_negative.c replays. Locations listed in
# tests/fuzz/known_issues.txt (reported, not fixed yet) count as KNOWN; any other makes the
# script fail. The last line is "fuzz: N executions in S s, N new crashes, N known".
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-60}
build=${FUZZ_BUILD:-$repo/build-fuzz}
cc=${FUZZ_CC:-clang}
shared=${TFL_SHARED:-$repo/../shared}
regressions=$repo/tests/fuzz/regressions
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

die() {
  echo "$*"
  echo "fuzz: 0 executions in 0 s, 1 new crashes, 0 known"
  exit 1
}

# The library with coverage instrumentation, then one binary per target.
build_targets() {
  cmake -S "$repo" -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link" -DTFL_SANITIZE=address,undefined \
    -DTFL_WERROR=OFF -DTFL_BUILD_TESTS=OFF -DTFL_BUILD_TOOLS=OFF >/dev/null || return 1
  cmake --build "$build" --target tfl -j 2 >"$build/build.log" 2>&1 || {
    tail -n 30 "$build/build.log"
    return 1
  }
  local inc="-I$repo/include -I$repo/src -I$repo/tests/fuzz" t
  for t in model flexbuf npy; do
    local extra=()
    [ "$t" = npy ] && extra=("$repo/tools/tfl/npy.c")
    # shellcheck disable=SC2086
    "$cc" -g -O1 -fsanitize=fuzzer $san $inc "$repo/tests/fuzz/fuzz_$t.c" "${extra[@]}" \
      "$build/libtfl.a" -lm -lpthread -o "$build/fuzz_$t" || return 1
  done
  # shellcheck disable=SC2086
  "$cc" -g -O1 -fsanitize=fuzzer-no-link $san $inc "$repo/tests/fuzz/extract_options.c" \
    "$build/libtfl.a" -lm -lpthread -o "$build/extract_options"
}

# Copies files into DIR under their content hash (duplicates collapse).
add_seeds() {
  local dir=$1 f
  shift
  for f in "$@"; do
    cp "$f" "$dir/seed-$(sha1sum "$f" | cut -c 1-16)"
  done
}

model_files() {
  local d
  for d in "$shared/reference/models" "$shared/reference/unit_models/models" "$repo/tests/fixtures"; do
    [ -d "$d" ] && find "$d" -type f \( -name '*.tflite' -o -name '*.bin' \)
  done
}

npy_files() {
  local d
  for d in "$shared/reference" "$repo/tests/fixtures/golden"; do
    [ -d "$d" ] && find "$d" -type f -name '*.npy' -size -16k | head -n 300
  done
}

make_seeds() {
  local t
  for t in model flexbuf npy; do mkdir -p "$build/corpus/$t" "$build/seeds/$t"; done
  mapfile -t models < <(model_files)
  mapfile -t npys < <(npy_files)
  add_seeds "$build/seeds/model" "${models[@]}"
  add_seeds "$build/seeds/npy" "${npys[@]}"
  "$build/extract_options" "$build/seeds/flexbuf" "${models[@]}" >/dev/null
  echo "seeds: ${#models[@]} models, $(ls "$build/seeds/flexbuf" | wc -l) custom options," \
    "${#npys[@]} .npy files"
}

executions=0
failures=0
known=0
declare -A seen_keys

# The sanitizer's verdict on one input, "<error kind> at <path>:<function>", or nothing when
# the input runs cleanly. The place is the first stack frame in a .c file of src/ or tools/:
# inline helpers in headers (quant.h) are shared by many kernels, their callers tell bugs
# apart, and a function name survives edits that move line numbers.
crash_key() { # target input
  local out kind loc
  out=$("$build/fuzz_$1" -timeout=20 -rss_limit_mb=2048 -malloc_limit_mb=512 "$2" 2>&1) && return
  kind=$(echo "$out" | grep -m1 -oE 'ERROR: [A-Za-z]+: [a-z-]+|runtime error' | sed 's/^ERROR: //')
  loc=$(echo "$out" | grep -oE "in [A-Za-z_][A-Za-z0-9_]* $repo/(src|tools)/[^: ]+\.c:" |
    head -n 1 | sed -E "s|^in ([^ ]+) $repo/([^:]+):$|\2:\1|")
  echo "${kind:-crash} at ${loc:-an unknown place}"
}

# Keys of the inputs already in tests/fuzz/regressions/ for a target (computed once).
load_regression_keys() {
  local t=$1 f
  for f in "$regressions/$t"-*; do
    [ -f "$f" ] || continue
    local key
    key=$(crash_key "$t" "$f")
    [ -n "$key" ] && seen_keys["$t $key"]=$f
  done
}

is_known() { # key -> whether its place is listed in known_issues.txt
  local loc=${1##* at }
  grep -qE "^$loc( |$)" "$repo/tests/fuzz/known_issues.txt"
}

# One finding: reproduced, deduplicated by location, minimized into tests/fuzz/regressions/.
triage() { # target artifact
  local t=$1 f=$2 key name
  key=$(crash_key "$t" "$f")
  if [ -z "$key" ]; then
    echo "note fuzz_$t: $(basename "$f") does not reproduce (a timeout under load?)"
    return
  fi
  if [ -z "${seen_keys["$t $key"]:-}" ]; then
    name=$t-$(sha1sum "$f" | cut -c 1-16)
    mkdir -p "$regressions"
    # the limits of the fuzzing run, so that an out-of-memory input stays one; timeout bounds
    # the whole minimization (max_total_time is only checked between runs)
    timeout --kill-after=10 120 "$build/fuzz_$t" -minimize_crash=1 -max_total_time=60 \
      -timeout=20 -rss_limit_mb=2048 -malloc_limit_mb=512 \
      -exact_artifact_path="$regressions/$name" "$f" >"$build/minimize.log" 2>&1
    [ -f "$regressions/$name" ] || cp "$f" "$regressions/$name"
    seen_keys["$t $key"]=$regressions/$name
  fi
  if is_known "$key"; then
    echo "KNOWN fuzz_$t: $key (reported; ${seen_keys["$t $key"]#$repo/})"
    known=$((known + 1))
  else
    echo "FAIL fuzz_$t: $key -> ${seen_keys["$t $key"]#$repo/}"
    failures=$((failures + 1))
  fi
}

# run_target NAME SECONDS EXTRA_FLAGS...: fuzzes in fork mode, so that a crash is saved and
# fuzzing goes on, then triages whatever was saved.
run_target() {
  local t=$1 secs=$2 log=$build/fuzz_$1.log art=$build/artifacts/$1
  shift 2
  rm -rf "$art"
  mkdir -p "$art"
  echo "== fuzz_$t for $secs s"
  "$build/fuzz_$t" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -malloc_limit_mb=512 \
    -artifact_prefix="$art/" "$@" "$build/corpus/$t" "$build/seeds/$t" >"$log" 2>&1
  local last runs
  last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -n 1)
  runs=$(echo "$last" | sed -E 's/^#([0-9]+):.*/\1/')
  executions=$((executions + ${runs:-0}))
  echo "${runs:-0} executions; ${last#*: }"
  local findings=("$art"/crash-* "$art"/leak-* "$art"/timeout-* "$art"/oom-*) f
  load_regression_keys "$t"
  for f in "${findings[@]}"; do
    [ -f "$f" ] && triage "$t" "$f"
  done
}

command -v "$cc" >/dev/null || die "FAIL: $cc not found (make fuzz installs clang)"
mkdir -p "$build"
build_targets || die "FAIL: could not build the fuzz targets"
make_seeds
start=$(date +%s)
run_target model "$seconds" -max_len=262144
small=$((seconds / 4 > 5 ? seconds / 4 : 5))
run_target flexbuf "$small" -max_len=65536
run_target npy "$small" -max_len=65536
echo "fuzz: $executions executions in $(($(date +%s) - start)) s, $failures new crashes," \
  "$known known"
[ "$failures" = 0 ]
