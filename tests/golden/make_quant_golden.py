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

It also writes tests/golden/quant_stack/*.json: make_stack_golden.py's four
stacked models (Embedding inputs and Dense heads included; fresh weights per
model and format) with every weight matrix and the Embedding table in f16 or
i8, the expected outputs being the float64 numpy forward in tinyrnn's layout
on the decoded weights, checked against ONNX Runtime on the decoded stack.

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
from golden_common import f32list, f64list, write_json  # noqa: E402
from make_onnx_golden import VARIANTS, case_data, golden_obj, run_checked  # noqa: E402
import make_stack_golden as stack  # noqa: E402

INPUT_SIZES = (1, 3)
HIDDEN_SIZES = (7, 32)
FORMATS = ("f16", "i8")
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "quant")
STACK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "quant_stack")


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


def run_stack(name, cfg, fmt):
    """One of make_stack_golden.py's stacked models (Embedding and Dense
    layers included) with every weight matrix in `fmt`: the expected outputs
    are the float64 numpy forward in tinyrnn's layout on the decoded weights,
    checked against ONNX Runtime running the decoded stack as one graph."""
    rng = np.random.default_rng(zlib.crc32(f"{name}_{fmt}".encode()))
    in_size = cfg.get("input_size")
    vocab = cfg.get("vocab")
    layers = stack.make_layers(rng, cfg["layers"], in_size, vocab)
    if in_size is None:
        inputs = rng.integers(0, vocab, stack.SEQ_LEN)
    else:
        inputs = rng.normal(0.0, 1.0, (stack.SEQ_LEN, in_size)).astype(np.float32)
    # Row-wise formats: the same rows in ONNX's layout as in tinyrnn's
    # (only the LSTM's gate blocks are permuted), so either can be decoded.
    decoded = [{k: (decode(v, fmt) if k in ("table", "w", "W", "R") else v)
                for k, v in L.items()} for L in layers]
    y = stack.forward_tinyrnn_layout([stack.to_tinyrnn(L) for L in decoded], inputs, in_size)
    err = float(np.max(np.abs(y - stack.forward_ort(decoded, inputs, in_size))))
    assert err <= 1e-5, f"{name} {fmt}: numpy vs ORT max err {err}"
    y32 = stack.forward_tinyrnn_layout([stack.to_tinyrnn(L) for L in layers], inputs, in_size)
    out_layers = [{k: (f32list(v) if isinstance(v, np.ndarray) else v) for k, v in
                   stack.to_tinyrnn(L).items()} for L in layers]
    obj = {
        "format": fmt,
        "input_size": in_size,
        "seq_len": stack.SEQ_LEN,
        "layers": out_layers,
        "inputs": [int(t) for t in inputs] if in_size is None else f32list(inputs),
        "outputs": f64list(y),
    }
    write_json(os.path.join(STACK_DIR, f"{name}_{fmt}.json"), obj)
    print(f"{name + '_' + fmt:36s} max|numpy-ORT|={err:.2e}  "
          f"max|Y - Y(f32 weights)|={float(np.max(np.abs(y - y32))):.2e}")


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
    os.makedirs(STACK_DIR, exist_ok=True)
    for name, cfg in stack.MODELS.items():
        for fmt in FORMATS:
            run_stack(name, cfg, fmt)
    print(f"wrote {len(stack.MODELS) * len(FORMATS)} files to {STACK_DIR}")


if __name__ == "__main__":
    main()
