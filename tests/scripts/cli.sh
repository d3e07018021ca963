#!/usr/bin/env bash
# Tests of the tfl command-line tool: help, argument errors, inspect and run, and their error
# paths (exit codes, and that error messages are one line). bench, label and inspect's
# --tensors/--plan/--json are tested in tools.sh.
# Usage: tests/scripts/cli.sh BUILD_DIR      Prints "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "no build dir ${1:-build}"; echo "0 passed, 1 failed"; exit 1; }
tfl=$build/tfl
py=/usr/bin/python3
fx=$repo/tests/fixtures/golden
add_model=$fx/models/java_testdata/add.bin                      # ADD, float32 [1,8,8,3]
dyn_model=$fx/models/java_testdata/add_unknown_dimensions.bin   # float32 [1,1,3,3], signature [1,-1,3,3]
multi_model=$fx/models/tflite_testdata/multi_add.bin           # 4 inputs, 2 outputs
sig_model=$fx/models/java_testdata/mul_add_signature_def.bin
custom_model=$fx/models/testdata/model_invoking_error.tflite    # custom op fake-op-double
broken_model=$fx/models/tflite_testdata/test_model_broken.bin
add_in=$fx/java_testdata__add/case1/input_0.npy
add_ref=$fx/java_testdata__add/case1/output_0.npy
int8_in=$fx/tflite_testdata__add_quantized_int8/case1/input_0.npy  # int8 [1,8,8,3]
small_in=$fx/hello_world_float/case1/input_0.npy                    # float32 [1,1]

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$here/lib/harness.sh"
require_tfl

# --- help and argument handling --------------------------------------------------------------
begin "tfl --help"
run "$tfl" --help
expect_rc 0
for c in inspect run bench label; do expect_in out "  $c "; done
end

begin "tfl with no arguments"
run "$tfl"
expect_usage_error "no command"
end

begin "unknown command"
run "$tfl" frobnicate
expect_usage_error "frobnicate"
end

begin "unknown top-level flag"
run "$tfl" --frobnicate
expect_usage_error "--frobnicate"
end

begin "tfl --version"
run "$tfl" --version
expect_rc 0; expect_in out "tfl "
end

begin "tfl run --help documents every flag"
run "$tfl" run --help
expect_rc 0
for flag in --input --output-dir --threads --help; do expect_in out "$flag"; done
end

begin "tfl inspect --help documents every flag"
run "$tfl" inspect --help
expect_rc 0; expect_in out "usage: tfl inspect"
for flag in --json --tensors --plan --help; do expect_in out "$flag"; done
end

begin "run: unknown flag"
run "$tfl" run "$add_model" --input "$add_in" --output-dir "$tmp/o" --bogus
expect_usage_error "--bogus"
end

begin "inspect: unknown flag"
run "$tfl" inspect --bogus "$add_model"
expect_usage_error "--bogus"
end

begin "run: flag without its value"
run "$tfl" run "$add_model" --output-dir "$tmp/o" --input
expect_usage_error "--input"
end

begin "run: bad --threads"
run "$tfl" run "$add_model" --input "$add_in" --output-dir "$tmp/o" --threads 0
expect_usage_error "--threads"
run "$tfl" run "$add_model" --input "$add_in" --output-dir "$tmp/o" --threads=two
expect_usage_error "--threads"
end

begin "run: --output-dir (or --dump-tensors) is required"
run "$tfl" run "$add_model" --input "$add_in"
expect_usage_error "--output-dir or --dump-tensors"
end

begin "run: no model"
run "$tfl" run --output-dir "$tmp/o"
expect_usage_error "model"
end

begin "inspect: two models"
run "$tfl" inspect "$add_model" "$add_model"
expect_usage_error "unexpected argument"
end

# --- inspect ---------------------------------------------------------------------------------
begin "inspect: float model"
run "$tfl" inspect "$add_model"
expect_rc 0
expect_in out "schema version: 3"
expect_in out "subgraphs: 1"
expect_in out "inputs: 1"
expect_in out "float32 [1,8,8,3]"
expect_in out "outputs: 1"
expect_in out "ADD"
expect_in out "arena: "
end

begin "inspect: quantized input shows scale and zero point"
# (whether tfl can run this model yet does not matter here)
run "$tfl" inspect "$fx/models/tflite_micro/hello_world_int8.tflite"
expect_in out "int8 [1,1] shape_signature [-1,1] scale 0.0244801156 zero_point -128"
expect_in out "FULLY_CONNECTED                      3"
end

begin "inspect: dynamic input shows its shape signature"
run "$tfl" inspect "$dyn_model"
expect_rc 0; expect_in out "[1,1,3,3] shape_signature [1,-1,3,3]"
end

begin "inspect: signatures"
run "$tfl" inspect "$sig_model"
expect_rc 0; expect_in out "signatures: "; expect_in out "\"mul_add\""
end

begin "inspect: unsupported custom op is listed, exit 1"
run "$tfl" inspect "$custom_model"
expect_rc 1
expect_in out "fake-op-double"
expect_in out "unsupported ops: fake-op-double"
expect_in out "inputs: 1"
expect_lines err 1
end

begin "inspect: control bytes in an op name are escaped"
"$py" -c "import sys; d = open(sys.argv[1], 'rb').read(); open(sys.argv[2], 'wb').write(d.replace(b'fake-op-double', b'fake\x01op\x1bdouble'))" "$custom_model" "$tmp/hostile.tflite"
run "$tfl" inspect "$tmp/hostile.tflite"
expect_rc 1
expect_in out 'unsupported ops: fake\x01op\x1bdouble'
if LC_ALL=C grep -q $'[\x01\x1b]' "$tmp/out"; then problem "raw control bytes in the output"; fi
end

begin "inspect: broken model"
run "$tfl" inspect "$broken_model"
expect_error_line "$broken_model"
end

begin "inspect: missing file"
run "$tfl" inspect "$tmp/nope.tflite"
expect_error_line "$tmp/nope.tflite"
end

begin "inspect: truncated model"
head -c 300 "$add_model" >"$tmp/truncated.tflite"
run "$tfl" inspect "$tmp/truncated.tflite"
expect_error_line "truncated.tflite"
end

# --- run ---------------------------------------------------------------------------------------
begin "run: float model, output matches TFLite"
run "$tfl" run "$add_model" --input "$add_in" --output-dir "$tmp/add"
expect_rc 0
expect_close "$tmp/add/output_0.npy" "$add_ref"
end

begin "run: --input=FILE, --threads 2, nested output dir is created"
run "$tfl" run "$add_model" --input="$add_in" --threads 2 --output-dir "$tmp/a/b/c"
expect_rc 0
expect_py "np.load('$tmp/a/b/c/output_0.npy').shape == (1, 8, 8, 3)"
end

begin "run: several inputs and outputs"
args=()
for i in 0 1 2 3; do args+=(--input "$fx/tflite_testdata__multi_add/case1/input_$i.npy"); done
run "$tfl" run "$multi_model" "${args[@]}" --output-dir "$tmp/multi"
expect_rc 0
for i in 0 1; do
  expect_close "$tmp/multi/output_$i.npy" "$fx/tflite_testdata__multi_add/case1/output_$i.npy"
done
end

begin "run: --dump-tensors writes every tensor, the intermediate one included"
mdir=$fx/tflite_testdata__multi_add/case1
run "$tfl" run "$multi_model" "${args[@]}" --dump-tensors "$tmp/dump"
expect_rc 0
expect_lines_file() { [ "$(wc -l <"$1")" = "$2" ] || problem "$1 has $(wc -l <"$1") lines, expected $2"; }
expect_lines_file "$tmp/dump/tensors.txt" 7
expect_py "open('$tmp/dump/tensors.txt').read().split('\\n')[4].split('\\t') == ['4', 'tensor_4.npy', 'float32', '[1,8,8,3]', '\"i\"']"
# the inputs are a, b, c, d; i = b + c, x = a + i, y = i + d (the model's own graph)
expect_py "np.array_equal(np.load('$tmp/dump/tensor_4.npy'), np.load('$mdir/input_1.npy') + np.load('$mdir/input_2.npy'))"
expect_close "$tmp/dump/tensor_5.npy" "$mdir/output_0.npy"
expect_close "$tmp/dump/tensor_6.npy" "$mdir/output_1.npy"
expect_py "np.array_equal(np.load('$tmp/dump/tensor_0.npy'), np.load('$mdir/input_0.npy'))"
end

begin "run: input resized within its shape signature"
npy "$tmp/dyn.npy" "np.arange(18, dtype=np.float32).reshape(1, 2, 3, 3)"
run "$tfl" run "$dyn_model" --input "$tmp/dyn.npy" --output-dir "$tmp/dyn"
expect_rc 0
expect_py "np.load('$tmp/dyn/output_0.npy').shape == (1, 2, 3, 3)"
end

begin "run: shape outside the shape signature"
npy "$tmp/dyn_bad.npy" "np.zeros((2, 1, 3, 3), np.float32)"
run "$tfl" run "$dyn_model" --input "$tmp/dyn_bad.npy" --output-dir "$tmp/o"
expect_error_line "input 0"
expect_in err "[2,1,3,3]"
expect_in err "[1,1,3,3]"
end

begin "run: wrong dtype"
run "$tfl" run "$add_model" --input "$int8_in" --output-dir "$tmp/o"
expect_error_line "input 0"
expect_in err "int8"
expect_in err "float32"
end

begin "run: wrong shape (no shape signature)"
run "$tfl" run "$add_model" --input "$small_in" --output-dir "$tmp/o"
expect_error_line "input 0"
expect_in err "[1,1]"
expect_in err "[1,8,8,3]"
end

begin "run: missing input file"
run "$tfl" run "$add_model" --input "$tmp/missing.npy" --output-dir "$tmp/o"
expect_error_line "$tmp/missing.npy"
end

begin "run: too few and too many inputs"
run "$tfl" run "$add_model" --output-dir "$tmp/o"
expect_error_line "1 input"
run "$tfl" run "$add_model" --input "$add_in" --input "$add_in" --output-dir "$tmp/o"
expect_error_line "1 input"
end

begin "run: malformed .npy files"
printf 'hello, world\n' >"$tmp/garbage.npy"
head -c 100 "$add_in" >"$tmp/short.npy"
npy "$tmp/fortran.npy" "np.asfortranarray(np.zeros((1, 8, 8, 3), np.float32))"
npy "$tmp/big.npy" "np.zeros((1, 8, 8, 3), '>f4')"
for f in garbage short fortran big; do
  run "$tfl" run "$add_model" --input "$tmp/$f.npy" --output-dir "$tmp/o"
  expect_error_line "$tmp/$f.npy"
done
end

begin "run: broken model"
run "$tfl" run "$broken_model" --input "$add_in" --output-dir "$tmp/o"
expect_error_line "$broken_model"
end

begin "run: unsupported op"
npy "$tmp/u8.npy" "np.zeros((1, 3), np.uint8)"
run "$tfl" run "$custom_model" --input "$tmp/u8.npy" --output-dir "$tmp/o"
expect_error_line "fake-op-double"
end

begin "run: output dir is a file"
: >"$tmp/file"
run "$tfl" run "$add_model" --input "$add_in" --output-dir "$tmp/file"
expect_error_line "$tmp/file"
end

summary
