#!/usr/bin/env bash
# Tests of the tools people reach for: tfl bench, tfl label and tfl inspect --tensors, --plan
# and --json (inspect's basics and tfl run are in cli.sh).
#
# Usage: tests/scripts/tools.sh BUILD_DIR     Prints "N passed, N failed[, N skipped]".
#   TFL_SHARED  the shared data folder (default: ../shared next to the repository). With its
#               conformance suite, label is checked on every classifier + image case of the
#               suite (input bytes and top-1), bench's profile and inspect --plan on real
#               models. Cases whose model needs ops tfl does not have yet count as skipped.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "no build dir ${1:-build}"; echo "0 passed, 1 failed"; exit 1; }
tfl=$build/tfl
py=/usr/bin/python3
fx=$repo/tests/fixtures/golden
add_model=$fx/models/java_testdata/add.bin                     # float32 [1,8,8,3] -> 3 * x
dyn_model=$fx/models/java_testdata/add_unknown_dimensions.bin  # float32, signature [1,-1,3,3]
multi_model=$fx/models/tflite_testdata/multi_add.bin          # 4 inputs
add_in=$fx/java_testdata__add/case1/input_0.npy
shared=${TFL_SHARED:-$repo/../shared}
suite=$shared/reference
demo=$repo/demo

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$here/lib/harness.sh"
require_tfl
have_suite=0
[ -f "$suite/README.md" ] && have_suite=1

# Whether the last command failed because tfl lacks a kernel (or a kernel variant) so far.
unsupported() { grep -qiE "unsupported|not supported" "$tmp/err"; }

# A Python check over the JSON object on the last command's stdout, bound to `d`.
expect_json() {
  "$py" -c "import json, sys; d = json.load(open('$tmp/out')); sys.exit(0 if ($1) else 1)" \
    2>/dev/null || problem "JSON: not true: $1"
}

# --- help and flags ---------------------------------------------------------------------------
help_flags() { # COMMAND FLAG...: --help mentions every flag
  local cmd=$1
  shift
  begin "tfl $cmd --help documents every flag"
  run "$tfl" "$cmd" --help
  expect_rc 0
  expect_in out "usage: tfl $cmd"
  for flag in "$@" --help; do expect_in out "$flag"; done
  end
}
help_flags bench --threads --warmup --runs --min-secs --profile --json --input
help_flags label --model --image --labels --top --mean --std --threads --runs --save-input
help_flags inspect --json --tensors --plan

usage_error() { # NAME EXPECTED-TEXT ARGS...: exit 2, one error line and the usage line
  begin "$1"
  local text=$2
  shift 2
  run "$tfl" "$@"
  expect_usage_error "$text"
  end
}
usage_error "bench: unknown flag" "--bogus" bench "$add_model" --bogus
usage_error "bench: no model" "no model" bench --runs 3
usage_error "bench: --runs 0" "--runs" bench "$add_model" --runs 0
usage_error "bench: --warmup not a number" "--warmup" bench "$add_model" --warmup many
usage_error "bench: negative --min-secs" "--min-secs" bench "$add_model" --min-secs -1
usage_error "bench: --min-secs not a number" "--min-secs" bench "$add_model" --min-secs=1s
usage_error "bench: --profile takes no value" "--profile" bench "$add_model" --profile=yes
usage_error "bench: --threads without a value" "--threads" bench "$add_model" --threads
usage_error "label: unknown flag" "--bogus" label --model "$add_model" --image x.bmp --bogus
usage_error "label: --model is required" "--model" label --image x.bmp
usage_error "label: --image is required" "--image" label --model "$add_model"
usage_error "label: --top 0" "--top" label --model "$add_model" --image x.bmp --top 0
usage_error "label: --std 0" "--std" label --model "$add_model" --image x.bmp --std 0
usage_error "label: --mean not a number" "--mean" label --model "$add_model" --image x.bmp --mean x
usage_error "label: positional argument" "unexpected argument" label --model "$add_model" x.bmp
usage_error "inspect: unknown flag" "--bogus" inspect "$add_model" --bogus

# --- bench ------------------------------------------------------------------------------------
begin "bench: text report"
run "$tfl" bench "$add_model" --runs 3 --warmup 2
expect_rc 0
for text in "model: $add_model" "cpu: " "threads: 1" \
  "input 0: \"input\" float32 [1,8,8,3], random U(-1,1)" "init: " "first inference: " \
  "warm-up: 2 runs, average " "inference: 3 runs, median " " mean " " min " " max " " std " \
  "arena: " "peak resident memory: "; do
  expect_in out "$text"
done
[ -s "$tmp/err" ] && problem "stderr not empty (progress must only go to a terminal)"
end

begin "bench --json: one object with every documented field"
run "$tfl" bench "$add_model" --runs 4 --json
expect_rc 0
expect_json "set(d) >= {'model', 'cpu', 'threads', 'inputs', 'init_us', 'load_us', 'create_us', 'allocate_us', 'first_inference_us', 'warmup_runs', 'warmup_avg_us', 'runs', 'inference_us', 'arena_bytes', 'peak_rss_kb', 'macs'}"
expect_json "'profile' not in d and d['cpu'] in ('scalar', 'avx2', 'avx512', 'avx512vnni', 'neon', 'neondot') and d['threads'] == 1 and d['runs'] == 4"
expect_json "set(d['inference_us']) == {'median', 'mean', 'min', 'max', 'std'}"
expect_json "d['inference_us']['min'] <= d['inference_us']['median'] <= d['inference_us']['max']"
expect_json "d['inference_us']['min'] <= d['inference_us']['mean'] <= d['inference_us']['max']"
expect_json "abs(d['init_us'] - d['load_us'] - d['create_us'] - d['allocate_us']) < 0.01"
expect_json "d['arena_bytes'] > 0 and d['peak_rss_kb'] > 0 and d['warmup_runs'] == 1"
expect_json "d['inputs'] == [{'index': 0, 'name': 'input', 'type': 'float32', 'shape': [1, 8, 8, 3], 'source': 'random U(-1,1)'}]"
end

begin "bench --json --warmup 0: no warm-up average"
run "$tfl" bench "$add_model" --runs 1 --warmup 0 --json
expect_rc 0
expect_json "d['warmup_runs'] == 0 and d['warmup_avg_us'] is None and d['runs'] == 1"
end

begin "bench --input: .npy inputs instead of random data"
run "$tfl" bench "$add_model" --runs 2 --input "$add_in" --json
expect_rc 0
expect_json "d['inputs'][0]['source'] == 'file' and d['inputs'][0]['file'] == '$add_in'"
end

begin "bench --input resizes a dynamic input"
npy "$tmp/dyn.npy" "np.ones((1, 5, 3, 3), np.float32)"
run "$tfl" bench "$dyn_model" --runs 2 --input "$tmp/dyn.npy" --json
expect_rc 0
expect_json "d['inputs'][0]['shape'] == [1, 5, 3, 3]"
end

begin "bench --min-secs keeps running past --runs"
run "$tfl" bench "$add_model" --runs 1 --min-secs 0.02 --json
expect_rc 0
expect_json "d['runs'] > 1"
end

begin "bench: errors are one line"
run "$tfl" bench "$tmp/missing.tflite"
expect_error_line "$tmp/missing.tflite"
run "$tfl" bench "$multi_model" --input "$add_in"
expect_error_line "4 inputs"
run "$tfl" bench "$fx/models/testdata/model_invoking_error.tflite"
expect_error_line "fake-op-double"
end

# The profile's per-op times must add up to the measured inference time (within 10%): on a
# real model from the suite, or on a fixture given an input large enough to time.
begin "bench --profile: per-op times add up to the inference time"
if [ $have_suite = 1 ]; then
  run "$tfl" bench "$suite/models/mlcommons/vww_96_float.tflite" --runs 20 --profile --json
else
  npy "$tmp/big.npy" "np.ones((1, 20000, 3, 3), np.float32)"
  run "$tfl" bench "$dyn_model" --runs 20 --profile --json --input "$tmp/big.npy"
fi
expect_rc 0
expect_json "d['profile']['runs'] == d['runs'] == 20"
expect_json "abs(d['profile']['total_us'] - d['inference_us']['mean']) <= 0.1 * d['inference_us']['mean']"
expect_json "abs(sum(n['time_us'] for n in d['profile']['nodes']) - d['profile']['total_us']) < 0.01 * d['profile']['total_us'] + 0.01"
expect_json "abs(sum(t['time_us'] for t in d['profile']['op_types']) - d['profile']['total_us']) < 0.01 * d['profile']['total_us'] + 0.01"
expect_json "abs(sum(n['percent'] for n in d['profile']['nodes']) - 100) < 0.1"
expect_json "[n['node'] for n in d['profile']['nodes']] == list(range(len(d['profile']['nodes'])))"
end

begin "bench --profile: run order, top ops, summary by op type"
run "$tfl" bench "$add_model" --runs 2 --profile
expect_rc 0
for text in "run order:" "top 2 ops by time:" "summary by op type:" "cdf %" "ops total: "; do
  expect_in out "$text"
done
expect_py "sum(1 for l in open('$tmp/out') if l.split()[1:2] == ['ADD']) == 4"
expect_in out "  ADD                                     2"
end

begin "bench --profile: folded ops show as folded and take no time"
if [ $have_suite = 1 ]; then
  # float16 weights: its DEQUANTIZE ops run once, at allocation
  run "$tfl" bench "$suite/models/mediapipe/face_detection_short_range.tflite" --runs 2 --profile --json
  expect_rc 0
  expect_json "any(n['folded'] for n in d['profile']['nodes'])"
  expect_json "all(n['time_us'] == 0 for n in d['profile']['nodes'] if n['folded'])"
  expect_json "all(t['op'] != 'DEQUANTIZE' for t in d['profile']['op_types'])"
  run "$tfl" bench "$suite/models/mediapipe/face_detection_short_range.tflite" --runs 1 --profile
  expect_in out "DEQUANTIZE                         folded"
else
  skip "needs the conformance suite (TFL_SHARED)"
fi
end

# --- label: fixtures ------------------------------------------------------------------------
# add.bin computes 3 * x on a [1,8,8,3] image, so the best class is the brightest pixel
# channel. Images are written here: an 8x8 BMP and the same picture as a PNG.
"$py" - "$tmp" <<'EOF'
import struct, sys, zlib
import numpy as np
tmp = sys.argv[1]
img = np.full((8, 8, 3), 40, np.uint8)
img[3, 5] = (10, 250, 20)   # class (3*8+5)*3+1 = 88 is the brightest
img[6, 1] = (200, 0, 0)     # class (6*8+1)*3+0 = 147 next
np.save(tmp + '/img_pixels.npy', img)
rows = b''.join(img[y, :, ::-1].tobytes() for y in range(7, -1, -1))  # bottom-up BGR
bmp = struct.pack('<2sIHHI', b'BM', 54 + len(rows), 0, 0, 54)
bmp += struct.pack('<IiiHHIIiiII', 40, 8, 8, 1, 24, 0, len(rows), 2835, 2835, 0, 0)
open(tmp + '/img.bmp', 'wb').write(bmp + rows)
def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
raw = b''.join(b'\0' + img[y].tobytes() for y in range(8))
png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 8, 8, 8, 2, 0, 0, 0))
png += chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
open(tmp + '/img.png', 'wb').write(png)
open(tmp + '/img.rgb', 'wb').write(img.tobytes())
open(tmp + '/labels192.txt', 'w').write(''.join('class%d\n' % i for i in range(192)))
open(tmp + '/labels193.txt', 'w').write('background\r\n' + ''.join('class%d\r\n' % i for i in range(192)))
open(tmp + '/labels191.txt', 'w').write(''.join('class%d\n' % i for i in range(1, 192)))
open(tmp + '/labels5.txt', 'w').write('a\nb\nc\nd\ne')
EOF

label_fixture() { # NAME IMAGE LABELS EXPECTED-TOP-LINE
  begin "label: $1"
  run "$tfl" label --model "$add_model" --image "$tmp/$2" ${3:+--labels "$tmp/$3"} --top 2
  expect_rc 0
  expect_lines out 3
  expect_in out "average time: "
  [ "$(sed -n 2p "$tmp/out" | cut -d' ' -f2-)" = "$4" ] ||
    problem "top line '$(sed -n 2p "$tmp/out")', expected '...: $4'"
  end
}
label_fixture "BMP, no labels" img.bmp "" "88"
label_fixture "PNG" img.png "" "88"
label_fixture "raw .rgb" img.rgb "" "88"
label_fixture "labels, one per class" img.bmp labels192.txt "88 class88"
label_fixture "labels with a leading background line (CRLF)" img.bmp labels193.txt "88 class88"
label_fixture "labels without the model's background class" img.bmp labels191.txt "88 class88"

begin "label: scores, order and --top"
run "$tfl" label --model "$add_model" --image "$tmp/img.bmp" --top 3 --runs 2
expect_rc 0
expect_lines out 4
# float input (x - 127.5) / 127.5, times 3
expect_in out "2.882353: 88"
expect_in out "1.705882: 147"
expect_in out "-2.058824: "
end

begin "label: --save-input holds the preprocessed image (float, --mean/--std)"
run "$tfl" label --model "$add_model" --image "$tmp/img.bmp" --mean 0 --std 255 --save-input "$tmp/in.npy"
expect_rc 0
expect_py "np.array_equal(np.load('$tmp/in.npy'), (np.load('$tmp/img_pixels.npy')[None].astype(np.float32) / np.float32(255)))"
end

begin "label: a labels file of another length still works, with a warning"
run "$tfl" label --model "$add_model" --image "$tmp/img.bmp" --labels "$tmp/labels5.txt" --top 1
expect_rc 0
expect_in out ": 88"
expect_lines err 1
expect_in err "warning"
end

begin "label: errors are one line"
run "$tfl" label --model "$add_model" --image "$tmp/missing.bmp"
expect_error_line "$tmp/missing.bmp"
run "$tfl" label --model "$add_model" --image "$tmp/labels192.txt"
expect_error_line "cannot decode"
head -c 100 "$tmp/img.rgb" >"$tmp/bad.rgb"
run "$tfl" label --model "$add_model" --image "$tmp/bad.rgb"
expect_error_line "square"
run "$tfl" label --model "$multi_model" --image "$tmp/img.bmp"
expect_error_line "4 inputs"
run "$tfl" label --model "$add_model" --image "$tmp/img.bmp" --labels "$tmp/missing.txt"
expect_error_line "$tmp/missing.txt"
run "$tfl" label --model "$add_model" --image "$tmp/img.bmp" --labels "$tmp"
expect_error_line "not a regular file"
run "$tfl" label --model "$tmp/missing.tflite" --image "$tmp/img.bmp"
expect_error_line "$tmp/missing.tflite"
end

# --- label: the bundled demo and the suite's classifiers ---------------------------------------
# The case's top-1 line "SCORE: INDEX[ LABEL]" must have the expected index.
expect_top1() {
  local got
  got=$(sed -n 2p "$tmp/out" | awk '{print $2}')
  [ "$got" = "$1" ] || problem "top-1 is '$got', expected $1"
}

begin "label: the bundled demo model finds the military uniform"
run "$tfl" label --model "$demo/mobilenet_v2_1.0_224_quant.tflite" --image "$demo/grace_hopper.bmp" \
  --labels "$demo/labels.txt" --top 5
if [ "$rc" != 0 ] && unsupported; then
  skip "the model's ops are not supported yet: $(head -c 160 "$tmp/err")"
else
  expect_rc 0
  expect_lines out 6
  expect_in out ": 653 military uniform"
  expect_top1 653
fi
end

# Every classifier case of the suite fed from an image: MODEL IMAGE MEAN STD TOP1 INPUT ID.
# Float models say in the case's preprocess string how pixels were scaled; person_detect's
# cases 1-2 feed raw BMP bytes as int8 (label feeds pixel - 128, which is its case 3).
list_label_cases() {
  "$py" - "$suite" <<'EOF'
import glob, json, os, sys
suite = sys.argv[1]
for ref in sorted(glob.glob(os.path.join(suite, '*', 'ref.json'))):
    d = json.load(open(ref))
    cases = d.get('cases', [])
    for c in cases.values() if isinstance(cases, dict) else cases:
        desc, pre = c.get('input_desc', ''), c.get('preprocess', '')
        if not c.get('top5') or not desc.startswith('image '):
            continue
        if 'reinterpreted as int8' in pre:
            continue
        if 'x/255' in pre:
            mean, std = 0, 255
        elif 'x as float' in pre:
            mean, std = 0, 1
        else:  # (x-127.5)/127.5, and quantized inputs, where mean and std do not apply
            mean, std = 127.5, 127.5
        model_dir = os.path.dirname(ref)
        print('\t'.join(str(v) for v in (
            os.path.join(suite, 'models', d['model']), os.path.join(suite, 'models', desc[6:]),
            mean, std, c['top5'][0]['index'], os.path.join(model_dir, c['case'], 'input_0.npy'),
            os.path.basename(model_dir) + '/' + c['case'])))
EOF
}

if [ $have_suite = 1 ]; then
  n_cases=0
  while IFS=$'\t' read -r model image mean std top1 ref_input id; do
    n_cases=$((n_cases + 1))
    begin "label: $id ($(basename "$image"))"
    run "$tfl" label --model "$model" --image "$image" --mean "$mean" --std "$std" \
      --save-input "$tmp/label_in.npy"
    # The image reaches the model exactly as the suite prepared it, run or not.
    expect_py "(lambda a, b: a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b))(np.load('$tmp/label_in.npy'), np.load('$ref_input'))"
    if [ "$rc" != 0 ] && unsupported; then
      skip "the model's ops are not supported yet: $(head -c 160 "$tmp/err")"
    else
      expect_rc 0
      expect_top1 "$top1"
    fi
    end
  done < <(list_label_cases)
  begin "label: the suite has classifier + image cases"
  [ "$n_cases" -ge 20 ] || problem "found only $n_cases cases"
  end
fi

# --- inspect --tensors, --plan, --json --------------------------------------------------------
begin "inspect --tensors: every tensor with type, shape, bytes and constness"
run "$tfl" inspect "$add_model" --tensors
expect_rc 0
expect_in out "tensors: 3 in subgraph 0"
expect_py "sum(1 for l in open('$tmp/out') if l.split()[:1] in (['0'], ['1'], ['2'])) == 3"
expect_py "['1', 'float32', '[1,8,8,3]', '768', 'no', '-', '\"input\"'] in [l.split() for l in open('$tmp/out')]"
end

begin "inspect --plan: storage, offsets, lifetimes and lower bounds"
run "$tfl" inspect "$add_model" --plan
expect_rc 0
for text in "memory plan of subgraph 0" "offset" "lifetime" "largest live pair: " \
  "largest live set: " "arena: "; do
  expect_in out "$text"
done
expect_py "['1536', '768', '1..end', 'arena', '2', '\"output\"'] in [l.split() for l in open('$tmp/out')]"
expect_in out "largest live set: 2304 bytes at node 1"
end

begin "inspect --json --tensors --plan: one object, consistent figures"
run "$tfl" inspect "$add_model" --json --tensors --plan
expect_rc 0
expect_json "d['runnable'] and d['error'] is None and d['tensor_count'] == len(d['tensors']) == 3"
expect_json "d['inputs'][0]['shape'] == [1, 8, 8, 3] and d['ops'][0]['name'] == 'ADD' and d['ops'][0]['count'] == 2"
expect_json "d['plan']['arena_bytes'] == d['arena_bytes'] > 0"
expect_json "all(t['offset'] is not None and t['offset'] + t['bytes'] <= d['arena_bytes'] for t in d['plan']['tensors'] if t['storage'] == 'arena')"
expect_json "d['plan']['largest_live_pair_bytes'] <= d['plan']['largest_live_set_bytes'] <= d['arena_bytes']"
end

begin "inspect --json on a model tfl cannot run: still one object, and exit 1"
run "$tfl" inspect "$fx/models/testdata/model_invoking_error.tflite" --json --plan
expect_rc 1
expect_lines err 1
expect_json "not d['runnable'] and 'fake-op-double' in d['error'] and d['plan'] is None and d['arena_bytes'] is None"
end

begin "inspect --tensors: blockwise int4 weights show their block size and scales tensor"
bw_dir=$suite/unit_models/models/litert_testdata
if [ -f "$bw_dir/qwen_fc_blockwise_quantized.tflite" ]; then
  run "$tfl" inspect "$bw_dir/qwen_fc_blockwise_quantized.tflite" --tensors
  expect_rc 0
  expect_py "[l.split()[:11] for l in open('$tmp/out') if l.split()[:2] == ['1', 'int4']] == [['1', 'int4', '[1024,1024]', '524288', 'yes', 'blockwise', '(block', '32,', 'scales', 'tensor', '3)']]"
  expect_py "['3', 'float16', '[1024,32]', '65536', 'yes', '-'] in [l.split()[:6] for l in open('$tmp/out')]"
  run "$tfl" inspect "$bw_dir/qwen_fc_blockwise_quantized.tflite" --tensors --json
  expect_rc 0
  expect_json "d['tensors'][1]['quantization'] == {'kind': 'blockwise', 'scale': [], 'zero_point': [], 'axis': 0, 'block_size': 32, 'scales_tensor': 3, 'zero_points_tensor': None}"
  expect_json "all(t['quantization'] is None for t in d['tensors'] if t['index'] != 1)"
  # a blockwise tensor with zero points (tfl cannot run that model: exit 1)
  run "$tfl" inspect "$bw_dir/blockwise_quantized.tflite" --tensors
  expect_rc 1
  expect_in out "blockwise (block 32, scales tensor 0, zero points tensor 1)"
else
  skip "the conformance suite (TFL_SHARED) is needed"
fi
end

begin "inspect --json: per-tensor quantization has kind affine"
run "$tfl" inspect "$fx/models/tflite_micro/hello_world_int8.tflite" --json
expect_json "d['inputs'][0]['quantization']['kind'] == 'affine' and d['inputs'][0]['quantization']['zero_point'] == [-128] and 'block_size' not in d['inputs'][0]['quantization']"
end

# No arena can be smaller than the two largest tensors alive at the same time; the planner
# should stay close to that on a real network.
begin "inspect --plan: MobileNet v2's arena is near the largest live pair"
mobilenets=("$demo/mobilenet_v2_1.0_224_quant.tflite" # uint8, once tfl has the kernels
  "$shared/reference-torch/models/torch/mobilenet_v2.tflite")      # float32
checked=""
for m in "${mobilenets[@]}"; do
  [ -f "$m" ] || continue
  run "$tfl" inspect "$m" --plan --json
  [ "$rc" != 0 ] && unsupported && continue
  expect_rc 0
  expect_json "d['arena_bytes'] <= 1.5 * d['plan']['largest_live_pair_bytes']"
  checked=$m
  break
done
[ -z "$checked" ] && skip "no MobileNet v2 that tfl can allocate yet (the float one needs TFL_SHARED)"
end


# docs/OPS.md is generated from the kernel registrations (`make docs`): it must be current.
begin "docs/OPS.md matches the kernels (make docs)"
if [ -x "$build/tfl_opsdoc" ]; then
  run "$build/tfl_opsdoc"
  expect_rc 0
  cmp -s "$tmp/out" "$repo/docs/OPS.md" || problem "docs/OPS.md is stale: run make docs"
else
  skip "no tfl_opsdoc in $build"
fi
end
summary
