#!/usr/bin/python3
"""Compares tfl's outputs with the reference outputs of a suite laid out like
../shared/reference (used for the in-repo fixtures in tests/fixtures/golden/).

usage: compare.py SUITE_DIR RESULTS_DIR [--only ID[,ID...]]

For every SUITE_DIR/<model_id>/ref.json case with reference outputs, reads
SUITE_DIR/<model_id>/<case>/output_<i>.npy and RESULTS_DIR/<model_id>/<case>/output_<i>.npy
and applies the suite's tolerance policy (see the suite README), per output from ref.json
"tolerance":
  quantized  |cand - ref| <= max_lsb in integer units (0 unless ref.json says otherwise)
  exact      equal (integer outputs without quantization); bool outputs are always exact
  float      |cand - ref| <= atol + rtol * |ref| (defaults 1e-4 / 1e-3); NaN must be NaN
             and infinities must match exactly
dtype and shape must match exactly. Prints one line per case and "N passed, N failed";
exit status 0 only if nothing failed.
"""
import json
import os
import sys

import numpy as np


def compare(ref, cand, tol):
    """-> (ok, description)"""
    if cand.dtype != ref.dtype:
        return False, 'dtype %s, expected %s' % (cand.dtype, ref.dtype)
    if cand.shape != ref.shape:
        return False, 'shape %s, expected %s' % (list(cand.shape), list(ref.shape))
    kind = tol.get('kind', 'float')
    if ref.dtype == np.bool_ or kind == 'exact':
        n = int(np.count_nonzero(cand != ref))
        return n == 0, '%d differ' % n
    if kind == 'quantized':
        diff = np.abs(cand.astype(np.int64) - ref.astype(np.int64))
        worst = int(diff.max()) if diff.size else 0
        return worst <= tol.get('max_lsb', 0), 'max_lsb=%d' % worst
    r = ref.astype(np.float64)
    c = cand.astype(np.float64)
    same = (c == r) | (np.isnan(c) & np.isnan(r))
    with np.errstate(invalid='ignore'):
        diff = np.where(same, 0.0, np.abs(c - r))
    diff = np.where(np.isnan(diff), np.inf, diff)
    limit = tol.get('atol', 1e-4) + tol.get('rtol', 1e-3) * np.where(np.isfinite(r), np.abs(r), 0)
    worst = float(diff.max()) if diff.size else 0.0
    return bool(np.all(diff <= limit)), 'max_abs=%.3g' % worst


def check_case(suite, results, model_id, ref, case):
    """-> (ok, line)"""
    label = '%s/%s' % (model_id, case['case'])
    tols = ref.get('tolerance') or []
    notes, ok_all = [], True
    for i in range(len(case.get('output_shapes') or [])):
        cand_path = os.path.join(results, model_id, case['case'], 'output_%d.npy' % i)
        if not os.path.exists(cand_path):
            ok_all = False
            notes.append('out%d: missing' % i)
            continue
        try:
            cand = np.load(cand_path, allow_pickle=False)
        except (OSError, ValueError) as e:
            ok_all = False
            notes.append('out%d: unreadable (%s)' % (i, e))
            continue
        ref_out = np.load(os.path.join(suite, model_id, case['case'], 'output_%d.npy' % i),
                          allow_pickle=False)
        ok, what = compare(ref_out, cand, tols[i] if i < len(tols) else {})
        ok_all = ok_all and ok
        notes.append('out%d: %s' % (i, what))
    return ok_all, '%s %s  [%s]' % ('PASS' if ok_all else 'FAIL', label, '; '.join(notes))


def main():
    args = sys.argv[1:]
    only = None
    if '--only' in args:
        k = args.index('--only')
        if k + 1 >= len(args):
            sys.exit(__doc__)
        only = set(args[k + 1].split(','))
        del args[k:k + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    suite, results = args
    passed = failed = 0
    for model_id in sorted(os.listdir(suite)):
        ref_path = os.path.join(suite, model_id, 'ref.json')
        if not os.path.isfile(ref_path) or (only is not None and model_id not in only):
            continue
        with open(ref_path, encoding='utf-8') as f:
            ref = json.load(f)
        for case in ref.get('cases') or []:
            if case.get('reference') is None:
                continue
            ok, line = check_case(suite, results, model_id, ref, case)
            print(line)
            passed += ok
            failed += not ok
    print('%d passed, %d failed' % (passed, failed))
    sys.exit(0 if failed == 0 else 1)


if __name__ == '__main__':
    main()
