#!/usr/bin/env python3
"""Generate quantized-layer goldens for tinyrnn: tests/golden/quant/*.json

tinyrnn's f16 and i8 ("hybrid") layers store their weight matrices in 16 or
8 bits and compute in f32 on the decoded weights (core/FORMAT.md, "Quantized
layers"); biases stay f32. This script quantizes random f32 weights by the
rules FORMAT.md and core/src/quant/quantize.rs state, independently of the
Rust encoder:

* f16: IEEE half, round to nearest even (numpy's float16 conversion);
* i8: one scale per output row, `s = max|w_row| / 127` (in f32), `q =
  round(w / s)` (in f32, halves away from zero) in -127..=127, and the layer
  computes with `W[r][c] = s[r] * q[r][c]`;

then runs ONNX Runtime on the decoded weights. The Rust test
(tests/tests/quant_conformance.rs) quantizes the f32 weights stored here with
tinyrnn's own encoder (`ModelBuilder::quantize`) and must match ONNX
Runtime's outputs within 1e-5: a weight that the encoder rounds to another
code than this script moves the outputs by about its step, `s` (1e-3 here),
so the test checks the encoder's quantization as well as the runtime's math.

For op in {RNN tanh, RNN relu, LSTM, GRU linear_before_reset=0, GRU
linear_before_reset=1} x I in {1, 3} x H in {7, 32} x format in {f16, i8}
(40 files), one ONNX node (opset 14), 20 steps, batch 1, nonzero initial
state, as make_onnx_golden.py. The JSON has that script's keys (f32 weights
in ONNX layout) plus "format"; every case is also checked against the
float64 numpy reference on the decoded weights (<= 1e-5).

Regenerate (from the repository root):
    pip install numpy==2.4.6 onnx==1.23.2 onnxruntime==1.32.0
    python3 tests/golden/make_quant_golden.py
Output is deterministic (fixed numpy seed per case).
"""

import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_common import write_json  # noqa: E402
from make_onnx_golden import VARIANTS, case_data, golden_obj, run_checked  # noqa: E402

INPUT_SIZES = (1, 3)
HIDDEN_SIZES = (7, 32)
FORMATS = ("f16", "i8")
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "quant")


def round_half_away(v):
    """Rounds float32 values to integers, halves away from zero (C's roundf)."""
    t = np.trunc(v)
    frac = np.abs(v - t)  # exact: |v| < 2^23
    return t + np.sign(v) * (frac >= np.float32(0.5))


def decode_i8(w):
    """The i8 layer's weights `s[r] * q[r][c]` (f32), quantized row by row."""
    w = w.astype(np.float32)
    out = np.empty_like(w)
    for r, row in enumerate(w):
        s = np.float32(np.max(np.abs(row))) / np.float32(127.0)
        assert s > 0, "a zero row"
        q = np.clip(round_half_away((row / s).astype(np.float32)), -127, 127)
        out[r] = (q.astype(np.float32) * s).astype(np.float32)
    return out


def decode(w, fmt):
    if fmt == "f16":
        return w.astype(np.float16).astype(np.float32)
    return decode_i8(w)


def run_case(prefix, op, activation, lbr, G, I, H, fmt):
    name = f"{prefix}_i{I}_h{H}_{fmt}"
    W, R, B, h0, c0, X = case_data(name, op, G, I, H)
    Wd, Rd = decode(W, fmt), decode(R, fmt)
    # The formats do change the weights, so the goldens are not f32's (a
    # one-column W_x, I = 1, is exact in i8: q = +-127, s = |w| / 127).
    assert not np.array_equal(Rd, R), name
    Y, Y_c, err, err_c = run_checked(name, op, activation, lbr, G, I, H, Wd, Rd, B, h0, c0, X)
    # The f32 weights are stored: the test quantizes them itself.
    obj = golden_obj(op, activation, lbr, I, H, W, R, B, h0, c0, X, Y, Y_c, {"format": fmt})
    write_json(os.path.join(OUT_DIR, name + ".json"), obj)
    # How far the format moved the outputs from the f32 weights' outputs.
    y32, _, _, _ = run_checked(name, op, activation, lbr, G, I, H, W, R, B, h0, c0, X)
    return name, err, err_c, float(np.max(np.abs(Y - y32)))


def main():
    print(f"numpy {np.__version__}, onnx {onnx.__version__}, onnxruntime {ort.__version__}")
    os.makedirs(OUT_DIR, exist_ok=True)
    n = 0
    for prefix, op, activation, lbr, G in VARIANTS:
        for I in INPUT_SIZES:
            for H in HIDDEN_SIZES:
                for fmt in FORMATS:
                    name, err, err_c, moved = run_case(prefix, op, activation, lbr, G, I, H, fmt)
                    print(f"{name:26s} max|numpy-ORT| Y={err:.2e} c={err_c:.2e}  "
                          f"max|Y - Y(f32 weights)|={moved:.2e}")
                    n += 1
    print(f"wrote {n} files to {OUT_DIR}")


if __name__ == "__main__":
    main()
