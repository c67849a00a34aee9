#!/usr/bin/env python3
"""tinyrnn's bench_json and RTNeural's harness (build.sh), side by side.

Runs, in rotating order, ROUNDS rounds of: bench_json --only sized_fast,
bench_json --only simd_fast (Model::step), bench_eigen and bench_xsimd, on
the LSTM, GRU (reset after) and LSTM + Dense cases. Prints a Markdown table
of the medians over the rounds (ns per step), RTNeural's faster backend per
case, the ratio RTNeural / tinyrnn (above 1: tinyrnn is faster) for the
sized model and for Model::step, with the median of the per-round ratios in
brackets, and the geometric means of the ratios. --json also writes every
run's JSON line to FILE.

usage: side_by_side.py [--rounds N] [--bench-json BIN] [--rtneural DIR] [--json FILE] [CASE ...]
  BIN  default target/release/examples/bench_json (build it with
       RUSTFLAGS="-C target-cpu=native" cargo build --release -p tinyrnn --example bench_json)
  DIR  where build.sh put bench_eigen and bench_xsimd (default target/rtneural)
  CASE filters as bench_json's (lstm_1x32, gru, ...)
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
from collections import defaultdict

CELLS = ("lstm", "gru_reset_after", "lstm+dense")
RTN = ("rtneural_eigen", "rtneural_xsimd")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--bench-json", default="target/release/examples/bench_json")
    ap.add_argument("--rtneural", default="target/rtneural")
    ap.add_argument("--json")
    ap.add_argument("cases", nargs="*")
    a = ap.parse_args()
    runs = [
        ("sized_fast", [a.bench_json, "--only", "sized_fast"]),
        ("simd_fast", [a.bench_json, "--only", "simd_fast"]),
        ("rtneural_eigen", [f"{a.rtneural}/bench_eigen"]),
        ("rtneural_xsimd", [f"{a.rtneural}/bench_xsimd"]),
    ]
    hints = {
        a.bench_json: 'RUSTFLAGS="-C target-cpu=native" cargo build --release -p tinyrnn --example bench_json',
        f"{a.rtneural}/bench_eigen": "RTNEURAL_DIR=... core/benches/rtneural/build.sh",
        f"{a.rtneural}/bench_xsimd": "RTNEURAL_DIR=... core/benches/rtneural/build.sh",
    }
    missing = [f"{path} (build it with: {how})" for path, how in hints.items() if not os.access(path, os.X_OK)]
    if missing:
        sys.exit("side_by_side.py: no such program: " + "; ".join(missing))
    t = defaultdict(list)
    order = []
    log = open(a.json, "w") if a.json else None
    for r in range(a.rounds):
        k = r % len(runs)
        for name, cmd in runs[k:] + runs[:k]:
            out = subprocess.run(cmd + a.cases, capture_output=True, text=True, check=True).stdout
            for line in out.splitlines():
                d = json.loads(line)
                if d["cell"] not in CELLS:
                    continue
                case = f'{d["cell"]} {d["input"]}x{d["hidden"]}'
                if case not in order:
                    order.append(case)
                t[(case, name)].append(d["ns_per_step"])
                if log:
                    log.write(json.dumps({**d, "variant": name, "round": r}) + "\n")
    med = lambda v: statistics.median(v)
    gs, gm = [], []
    print(f"{a.rounds} rounds; ns per step, medians; ratio = RTNeural's faster backend / tinyrnn")
    print()
    print("| case | `sized` | `Model::step` | RTNeural Eigen | RTNeural xsimd | ratio `sized` | ratio `Model::step` |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for case in order:
        m = {n: med(t[(case, n)]) for n, _ in runs}
        best = min(m[n] for n in RTN)
        per_round = lambda ours: med(
            [min(e, x) / s for e, x, s in zip(t[(case, RTN[0])], t[(case, RTN[1])], t[(case, ours)])]
        )
        gs.append(best / m["sized_fast"])
        gm.append(best / m["simd_fast"])
        print(
            f"| {case} | {m['sized_fast']:,.1f} | {m['simd_fast']:,.1f} | {m[RTN[0]]:,.1f} | {m[RTN[1]]:,.1f} "
            f"| {gs[-1]:.2f} ({per_round('sized_fast'):.2f}) | {gm[-1]:.2f} ({per_round('simd_fast'):.2f}) |"
        )
    geo = lambda v: math.exp(sum(map(math.log, v)) / len(v))
    print(f"| geometric mean | | | | | {geo(gs):.2f} | {geo(gm):.2f} |")


if __name__ == "__main__":
    main()
