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
import zlib

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_common import f32list, ref_gru, ref_lstm, ref_rnn, write_json  # noqa: E402
from make_onnx_golden import SEQ_LEN, VARIANTS, build_model  # noqa: E402

INPUT_SIZES = (1, 3)
HIDDEN_SIZES = (7, 32)
FORMATS = ("f16", "i8")
TOL = 1e-5
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
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    k = 1.0 / np.sqrt(H)
    W = rng.uniform(-k, k, (G * H, I)).astype(np.float32)
    R = rng.uniform(-k, k, (G * H, H)).astype(np.float32)
    B = rng.uniform(-k, k, (2 * G * H,)).astype(np.float32)
    h0 = rng.uniform(-0.5, 0.5, (H,)).astype(np.float32)
    c0 = rng.uniform(-0.5, 0.5, (H,)).astype(np.float32) if op == "LSTM" else None
    X = rng.normal(0.0, 1.0, (SEQ_LEN, I)).astype(np.float32)
    Wd, Rd = decode(W, fmt), decode(R, fmt)
    # The formats do change the weights, so the goldens are not f32's (a
    # one-column W_x, I = 1, is exact in i8: q = +-127, s = |w| / 127).
    assert not np.array_equal(Rd, R), name

    model = build_model(op, activation, lbr, I, H, G)
    sess = ort.InferenceSession(model.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    feeds = {
        "X": X.reshape(SEQ_LEN, 1, I),
        "W": Wd.reshape(1, G * H, I),
        "R": Rd.reshape(1, G * H, H),
        "B": B.reshape(1, 2 * G * H),
        "initial_h": h0.reshape(1, 1, H),
    }
    if op == "LSTM":
        feeds["initial_c"] = c0.reshape(1, 1, H)
    outs = sess.run(None, feeds)
    Y = outs[0].reshape(SEQ_LEN, H)
    Y_c = outs[2].reshape(H) if op == "LSTM" else None

    if op == "RNN":
        Yr = ref_rnn(X, Wd, Rd, B, h0, activation)
        err_c = 0.0
    elif op == "LSTM":
        Yr, cr = ref_lstm(X, Wd, Rd, B, h0, c0)
        err_c = float(np.max(np.abs(cr - Y_c)))
    else:
        Yr = ref_gru(X, Wd, Rd, B, h0, lbr)
        err_c = 0.0
    err = float(np.max(np.abs(Yr - Y)))
    assert err <= TOL and err_c <= TOL, f"{name}: numpy vs ORT max err {err} / c {err_c}"

    obj = {
        "op": op,
        "activation": activation,
        "linear_before_reset": lbr,
        "format": fmt,
        "input_size": I,
        "hidden_size": H,
        "seq_len": SEQ_LEN,
        "W": f32list(W),
        "R": f32list(R),
        "B": f32list(B),
        "initial_h": f32list(h0),
        "initial_c": f32list(c0) if c0 is not None else None,
        "X": f32list(X),
        "Y": f32list(Y),
        "Y_c": f32list(Y_c) if Y_c is not None else None,
    }
    write_json(os.path.join(OUT_DIR, name + ".json"), obj)
    # How far the format moved the outputs from f32's (run on the f32 weights).
    feeds["W"], feeds["R"] = W.reshape(1, G * H, I), R.reshape(1, G * H, H)
    y32 = sess.run(None, feeds)[0].reshape(SEQ_LEN, H)
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
