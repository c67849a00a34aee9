#!/usr/bin/env python3
"""Generate ONNX Runtime single-cell goldens for tinyrnn: tests/golden/onnx/*.json

For op in {RNN tanh, RNN relu, LSTM, GRU linear_before_reset=0, GRU
linear_before_reset=1} x input size I in {1, 3, 16} x hidden size H in
{1, 7, 8, 16, 32, 64} (90 files; 8 and 16 reach the runtime's in-register SIMD
paths), a single ONNX node (opset 14) is run by onnxruntime
(CPUExecutionProvider) on 20 steps, batch 1, with nonzero initial_h/initial_c.
Weights are stored in EXACT ONNX layout and gate order (see README.md).
Every case is also checked against the float64 numpy reference in
golden_common.py (|ORT - numpy| <= 1e-5), which make_stack_golden.py reuses.

Regenerate (from the repository root):
    pip install numpy==2.4.6 onnx==1.23.2 onnxruntime==1.32.0
    python3 tests/golden/make_onnx_golden.py
Versions used: Python 3.11.7, numpy 2.4.6, onnx 1.23.2, onnxruntime 1.32.0.
Output is deterministic (fixed numpy seed per case).
"""

import os
import sys
import zlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_common import f32list, ref_gru, ref_lstm, ref_rnn, write_json  # noqa: E402

OPSET = 14
SEQ_LEN = 20
INPUT_SIZES = (1, 3, 16)
HIDDEN_SIZES = (1, 7, 8, 16, 32, 64)
TOL = 1e-5
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "onnx")

# (file prefix, ONNX op, activation, linear_before_reset, number of gates)
VARIANTS = [
    ("rnn_tanh", "RNN", "tanh", None, 1),
    ("rnn_relu", "RNN", "relu", None, 1),
    ("lstm", "LSTM", None, None, 4),
    ("gru_lbr0", "GRU", None, 0, 3),
    ("gru_lbr1", "GRU", None, 1, 3),
]


def build_model(op, activation, lbr, I, H, G):
    f = TensorProto.FLOAT
    inputs = [
        helper.make_tensor_value_info("X", f, [SEQ_LEN, 1, I]),
        helper.make_tensor_value_info("W", f, [1, G * H, I]),
        helper.make_tensor_value_info("R", f, [1, G * H, H]),
        helper.make_tensor_value_info("B", f, [1, 2 * G * H]),
        helper.make_tensor_value_info("initial_h", f, [1, 1, H]),
    ]
    node_inputs = ["X", "W", "R", "B", "", "initial_h"]  # "" = no sequence_lens
    outputs = [
        helper.make_tensor_value_info("Y", f, [SEQ_LEN, 1, 1, H]),
        helper.make_tensor_value_info("Y_h", f, [1, 1, H]),
    ]
    node_outputs = ["Y", "Y_h"]
    attrs = {"hidden_size": H}
    if op == "RNN":
        attrs["activations"] = ["Tanh" if activation == "tanh" else "Relu"]
    if op == "GRU":
        attrs["linear_before_reset"] = lbr
    if op == "LSTM":
        inputs.append(helper.make_tensor_value_info("initial_c", f, [1, 1, H]))
        node_inputs.append("initial_c")
        outputs.append(helper.make_tensor_value_info("Y_c", f, [1, 1, H]))
        node_outputs.append("Y_c")
    node = helper.make_node(op, node_inputs, node_outputs, **attrs)
    graph = helper.make_graph([node], f"{op.lower()}_cell", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def case_data(name, op, G, I, H):
    """The random weights, initial state and inputs of case `name`."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    k = 1.0 / np.sqrt(H)
    W = rng.uniform(-k, k, (G * H, I)).astype(np.float32)
    R = rng.uniform(-k, k, (G * H, H)).astype(np.float32)
    B = rng.uniform(-k, k, (2 * G * H,)).astype(np.float32)
    h0 = rng.uniform(-0.5, 0.5, (H,)).astype(np.float32)
    c0 = rng.uniform(-0.5, 0.5, (H,)).astype(np.float32) if op == "LSTM" else None
    X = rng.normal(0.0, 1.0, (SEQ_LEN, I)).astype(np.float32)
    assert np.all(B != 0) and np.all(h0 != 0)
    return W, R, B, h0, c0, X


def run_checked(name, op, activation, lbr, G, I, H, W, R, B, h0, c0, X):
    """ONNX Runtime's outputs (h after every step, final c for an LSTM) on
    these weights, checked against the float64 numpy reference; returns
    them with the largest differences from it."""
    model = build_model(op, activation, lbr, I, H, G)
    sess = ort.InferenceSession(model.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    feeds = {
        "X": X.reshape(SEQ_LEN, 1, I),
        "W": W.reshape(1, G * H, I),
        "R": R.reshape(1, G * H, H),
        "B": B.reshape(1, 2 * G * H),
        "initial_h": h0.reshape(1, 1, H),
    }
    if op == "LSTM":
        feeds["initial_c"] = c0.reshape(1, 1, H)
    outs = sess.run(None, feeds)
    Y = outs[0].reshape(SEQ_LEN, H)
    Y_h = outs[1].reshape(H)
    Y_c = outs[2].reshape(H) if op == "LSTM" else None
    assert np.array_equal(Y[-1], Y_h), name

    # Independent float64 numpy reference (ONNX layout).
    if op == "RNN":
        Yr = ref_rnn(X, W, R, B, h0, activation)
        err_c = 0.0
    elif op == "LSTM":
        Yr, cr = ref_lstm(X, W, R, B, h0, c0)
        err_c = float(np.max(np.abs(cr - Y_c)))
    else:
        Yr = ref_gru(X, W, R, B, h0, lbr)
        err_c = 0.0
    err = float(np.max(np.abs(Yr - Y)))
    assert err <= TOL and err_c <= TOL, f"{name}: numpy vs ORT max err {err} / c {err_c}"
    return Y, Y_c, err, err_c


def golden_obj(op, activation, lbr, I, H, W, R, B, h0, c0, X, Y, Y_c, extra=None):
    """The JSON object of one case (`extra` keys after linear_before_reset)."""
    return {
        "op": op,
        "activation": activation,
        "linear_before_reset": lbr,
        **(extra or {}),
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


def run_case(prefix, op, activation, lbr, G, I, H):
    name = f"{prefix}_i{I}_h{H}"
    W, R, B, h0, c0, X = case_data(name, op, G, I, H)
    Y, Y_c, err, err_c = run_checked(name, op, activation, lbr, G, I, H, W, R, B, h0, c0, X)
    obj = golden_obj(op, activation, lbr, I, H, W, R, B, h0, c0, X, Y, Y_c)
    write_json(os.path.join(OUT_DIR, name + ".json"), obj)
    return name, err, err_c, float(np.max(np.abs(Y)))


def main():
    print(f"numpy {np.__version__}, onnx {onnx.__version__}, onnxruntime {ort.__version__}")
    n = 0
    for prefix, op, activation, lbr, G in VARIANTS:
        for I in INPUT_SIZES:
            for H in HIDDEN_SIZES:
                name, err, err_c, ymax = run_case(prefix, op, activation, lbr, G, I, H)
                print(f"{name:22s} max|numpy-ORT| Y={err:.2e} c={err_c:.2e}  max|Y|={ymax:.3f}")
                n += 1
    print(f"wrote {n} files to {OUT_DIR}")


if __name__ == "__main__":
    main()
