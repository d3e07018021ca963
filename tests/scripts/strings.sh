#!/usr/bin/env bash
# `tfl run` with string tensors: .npy inputs of dtype 'S' (bytes) and 'U' (unicode, passed as
# UTF-8), string outputs written as 'S' as wide as their longest string, on the string models
# of tests/fixtures/strings. Expected outputs follow from each graph (see
# tests/unit/test_string_models.c).
# Usage: tests/scripts/strings.sh BUILD_DIR      Prints "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "no build dir ${1:-build}"; echo "0 passed, 1 failed"; exit 1; }
tfl=$build/tfl
py=/usr/bin/python3
fx=$repo/tests/fixtures/strings

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$here/lib/harness.sh"
require_tfl

begin "run: GATHER of 'U' strings by int64 indices, 'S' output"
npy "$tmp/words.npy" "np.array(['zero', 'one', 'two', 'three', 'f\u00fcnf', '', 'six', 'seven', 'eight', 'nine'])"
npy "$tmp/idx.npy" "np.array([4, 0, 5], dtype=np.int64)"
run "$tfl" run "$fx/gather_string.tflite" --input "$tmp/words.npy" --input "$tmp/idx.npy" \
  --output-dir "$tmp/gather"
expect_rc 0
expect_py "np.load('$tmp/gather/output_0.npy').dtype == np.dtype('S5')"
expect_py "np.load('$tmp/gather/output_0.npy').tolist() == ['f\u00fcnf'.encode(), b'zero', b'']"
end

begin "run: RESHAPE of 'S' strings keeps their order and bytes"
npy "$tmp/grid.npy" "np.array([(b'%d' % i) * (i % 4) for i in range(384)]).reshape(2, 8, 8, 3)"
run "$tfl" run "$fx/string.bin" --input "$tmp/grid.npy" --output-dir "$tmp/reshape"
expect_rc 0
expect_py "(np.load('$tmp/reshape/output_0.npy') == np.load('$tmp/grid.npy').reshape(2, 4, 4, 12)).all()"
end

begin "run: a string scalar"
npy "$tmp/scalar.npy" "np.array(b'hello')"
run "$tfl" run "$fx/string_scalar.bin" --input "$tmp/scalar.npy" --output-dir "$tmp/scalar"
expect_rc 0
expect_py "np.load('$tmp/scalar/output_0.npy').tolist() == [b'hello']"
end

begin "run: a resized string input that is also the output"
npy "$tmp/rows.npy" "np.array([['a', 'b', 'c'], ['dd', '', 'ff']])"
run "$tfl" run "$fx/string_input_model_with_signature.bin" --input "$tmp/rows.npy" \
  --output-dir "$tmp/sig"
expect_rc 0
expect_py "np.load('$tmp/sig/output_0.npy').tolist() == [[b'a', b'b', b'c'], [b'dd', b'', b'ff']]"
end

begin "run: WHILE forwards a string next to int32 outputs"
npy "$tmp/n.npy" "np.array([4], dtype=np.int32)"
npy "$tmp/s.npy" "np.array(['inc'])"
run "$tfl" run "$fx/while_op_with_forwarding_input.bin" --input "$tmp/n.npy" --input "$tmp/s.npy" \
  --output-dir "$tmp/while"
expect_rc 0
expect_py "int(np.load('$tmp/while/output_0.npy')) == 4 and int(np.load('$tmp/while/output_1.npy')) == 5"
expect_py "np.load('$tmp/while/output_2.npy').tolist() == [b'inc']"
end

begin "run: ADD of strings loads but fails to run, as in TFLite"
npy "$tmp/one.npy" "np.array([b'x'])"
run "$tfl" run "$fx/tensor_string_data_type.bin" --input "$tmp/one.npy" --input "$tmp/one.npy" \
  --output-dir "$tmp/add"
expect_error_line "string inputs are not supported"
end

begin "run: a numeric array for a string input"
npy "$tmp/f.npy" "np.zeros((1, 3), dtype=np.float32)"
run "$tfl" run "$fx/string_input_model.bin" --input "$tmp/f.npy" --output-dir "$tmp/bad"
expect_error_line "expects string"
end

begin "run: unicode that UTF-8 cannot hold"
"$py" -c "import numpy as np; a = np.array(['ab']); a.view(np.uint32)[0] = 0xd800; np.save('$tmp/surrogate.npy', a)"
run "$tfl" run "$fx/string_scalar.bin" --input "$tmp/surrogate.npy" --output-dir "$tmp/bad"
expect_error_line "not a Unicode scalar value"
end

summary
