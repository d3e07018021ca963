#!/usr/bin/env python3
"""Golden checks for suite cases whose arrays were too large to store.

For those cases the suite keeps the seed of the inputs and statistics of TFLite's outputs
(sha256 of the bytes, mean, min, max). This regenerates the inputs exactly as the suite did
(numpy's default_rng with the recorded seed, inputs drawn in order), runs `tfl run`, and
compares: integer outputs must match the sha256 (bit for bit); float outputs must match it or
agree on mean/min/max within atol 1e-4 + rtol 1e-3.

Usage: stats.py SUITE_DIR TFL_BINARY ID_LIST_FILE
Prints one line per case and then "N passed, N failed".
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np


def draw(rng, dist, shape, dtype):
    if dist.startswith("uniform ["):  # "uniform [-1, 1)"
        lo, hi = (float(v) for v in dist[dist.index("[") + 1:dist.index(")")].split(","))
        return rng.uniform(lo, hi, size=shape).astype(dtype)
    if dist.startswith("uniform integers"):  # "uniform integers [a, b]", both ends included
        lo, hi = (int(v) for v in dist[dist.index("[") + 1:dist.index("]")].split(","))
        return rng.integers(lo, hi + 1, size=shape).astype(dtype)
    if dist.startswith("bool, P(true) = "):
        return rng.random(size=shape) < float(dist.split("=")[1])
    raise ValueError(f"cannot regenerate inputs drawn as '{dist}'")


def close(value, ref):
    return abs(value - ref) <= 1e-4 + 1e-3 * abs(ref)


def check_case(suite, tfl, ref, case, work):
    rng = np.random.default_rng(int(case["rng"].split("(")[1].rstrip(")")))
    args = [tfl, "run", os.path.join(suite, "models", ref["model"])]
    for i, (inp, dist) in enumerate(zip(ref["inputs"], case["distribution"])):
        path = os.path.join(work, f"input_{i}.npy")
        np.save(path, draw(rng, dist, inp["shape"], np.dtype(inp["dtype"])))
        args += ["--input", path]
    out = os.path.join(work, "out")
    run = subprocess.run(args + ["--output-dir", out], capture_output=True, text=True)
    if run.returncode != 0:
        return False, run.stderr.strip()
    notes = []
    ok = True
    for i, stats in enumerate(case["output_stats"]):
        y = np.load(os.path.join(out, f"output_{i}.npy"))
        if hashlib.sha256(y.tobytes()).hexdigest() == stats["sha256"]:
            notes.append(f"out{i}: identical")
            continue
        if y.dtype.kind != "f":
            ok = False
            notes.append(f"out{i}: bytes differ")
            continue
        got = (float(y.mean()), float(y.min()), float(y.max()))
        want = (stats["mean"], stats["min"], stats["max"])
        agree = all(close(g, w) for g, w in zip(got, want))
        ok = ok and agree
        notes.append(f"out{i}: mean/min/max {'agree' if agree else 'differ'} {got} vs {want}")
    return ok, "; ".join(notes)


def main():
    suite, tfl, id_file = sys.argv[1:4]
    ids = [l.split("#")[0].strip() for l in open(id_file)]
    passed = failed = 0
    for model_id in filter(None, ids):
        ref = json.load(open(os.path.join(suite, model_id, "ref.json")))
        for case in ref["cases"]:
            if case.get("stored", True):
                continue
            with tempfile.TemporaryDirectory() as work:
                try:
                    ok, note = check_case(suite, tfl, ref, case, work)
                except (ValueError, OSError) as e:
                    ok, note = False, str(e)
            print(f"{'PASS' if ok else 'FAIL'} {model_id}/{case['case']} {note}")
            passed += ok
            failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
