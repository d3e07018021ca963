# A tiny test harness for the CLI test scripts (sourced, not run: run_all.sh only runs
# tests/scripts/*.sh). Each test is: begin NAME; run CMD...; expect_*...; end. A test
# passes when none of its expectations failed; `summary` prints "N passed, N failed".
# Needs $tmp (a scratch directory) and $py (python3 with numpy).
passed=0
failed=0
skipped=0
name=""
problems=""
skip_reason=""

begin() {
  name=$1
  problems=""
  skip_reason=""
}
problem() { problems="$problems; $*"; }
skip() { skip_reason=$*; } # the test counts as skipped (unless something already failed)
run() {
  "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}
expect_rc() { [ "$rc" = "$1" ] || problem "exit $rc, expected $1 ($(head -c 200 "$tmp/err"))"; }
expect_in() { # out|err TEXT
  grep -qF -- "$2" "$tmp/$1" || problem "std$1 lacks '$2'"
}
expect_lines() { # out|err N
  local n
  n=$(wc -l <"$tmp/$1")
  [ "$n" = "$2" ] || problem "std$1 has $n lines, expected $2"
}
expect_error_line() { # the usual failure: exit 1, exactly one line on stderr mentioning TEXT
  expect_rc 1
  expect_lines err 1
  [ $# -gt 0 ] && expect_in err "$1"
  [ -s "$tmp/out" ] && problem "stdout not empty"
}
expect_usage_error() { # exit 2, an error line mentioning TEXT and the usage line
  expect_rc 2
  expect_lines err 2
  [ $# -gt 0 ] && expect_in err "$1"
  expect_in err "usage: tfl"
}
expect_py() { # a Python expression over numpy (np) that must be true
  "$py" -c "import numpy as np, sys; sys.exit(0 if ($1) else 1)" 2>/dev/null ||
    problem "not true: $1"
}
expect_close() { # OUT.npy REF.npy: same dtype and shape, values within float tolerance
  expect_py "np.load('$1').dtype == np.load('$2').dtype and np.allclose(np.load('$1'), np.load('$2'), atol=1e-5, rtol=1e-4)"
}
end() {
  if [ -n "$problems" ]; then
    echo "FAIL $name${problems}"
    failed=$((failed + 1))
  elif [ -n "$skip_reason" ]; then
    echo "SKIP $name: $skip_reason"
    skipped=$((skipped + 1))
  else
    passed=$((passed + 1))
  fi
}
npy() { # FILE PYTHON-EXPR: writes the array with numpy
  "$py" -c "import numpy as np; np.save('$1', $2)"
}
require_tfl() { # stops the script, counting one failure, when $tfl was not built
  if [ ! -x "$tfl" ]; then
    echo "FAIL: $tfl is not built"
    echo "0 passed, 1 failed"
    exit 1
  fi
}
summary() {
  if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
  else
    echo "$passed passed, $failed failed"
  fi
  [ "$failed" = 0 ]
}
