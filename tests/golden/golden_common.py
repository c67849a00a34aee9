"""Shared helpers for the tinyrnn golden-data generators (make_onnx_golden.py,
make_stack_golden.py).

Contains the float64 numpy reference implementations of the ONNX RNN / LSTM /
GRU cells in EXACT ONNX layout (checked against onnxruntime by
make_onnx_golden.py) and compact-JSON writing helpers.
"""

import json
import os

import numpy as np


# --------------------------------------------------------------------------
# JSON helpers
# --------------------------------------------------------------------------

def f32list(a):
    """Flatten (row-major) and return Python floats whose shortest repr
    round-trips to the same float32 value (json writes them with repr)."""
    a = np.asarray(a, dtype=np.float32).reshape(-1)
    # str(np.float32) is the shortest decimal that round-trips in float32.
    out = [float(str(v)) for v in a]
    assert np.array_equal(np.array(out, dtype=np.float32), a), "float32 round-trip failed"
    return out


def f64list(a):
    """Flatten (row-major) float64 values; json writes them with repr, i.e.
    full float64 round-trip precision."""
    return [float(v) for v in np.asarray(a, dtype=np.float64).reshape(-1)]


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(obj, fh, separators=(",", ":"), allow_nan=False)
        fh.write("\n")


# --------------------------------------------------------------------------
# numpy float64 reference cells, ONNX layout (num_directions dropped)
#   W [G*H, I], R [G*H, H], B [2*G*H] = Wb then Rb
#   RNN G=1; LSTM gates i,o,f,c; GRU gates z,r,h
# --------------------------------------------------------------------------

def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def ref_rnn(X, W, R, B, h0, activation):
    """X [T, I]. Returns Y [T, H]."""
    X, W, R, B, h = (np.asarray(a, np.float64) for a in (X, W, R, B, h0))
    H = R.shape[1]
    Wb, Rb = B[:H], B[H:]
    f = np.tanh if activation == "tanh" else (lambda v: np.maximum(v, 0.0))
    ys = []
    for x in X:
        h = f(W @ x + Wb + R @ h + Rb)
        ys.append(h)
    return np.array(ys)


def ref_lstm(X, W, R, B, h0, c0):
    """ONNX LSTM without peepholes. X [T, I]. Returns (Y [T, H], c_T [H])."""
    X, W, R, B, h, c = (np.asarray(a, np.float64) for a in (X, W, R, B, h0, c0))
    H = R.shape[1]
    Wb, Rb = B[:4 * H], B[4 * H:]
    ys = []
    for x in X:
        g = W @ x + Wb + R @ h + Rb
        i = sigmoid(g[0:H])
        o = sigmoid(g[H:2 * H])
        f = sigmoid(g[2 * H:3 * H])
        cc = np.tanh(g[3 * H:4 * H])
        c = f * c + i * cc
        h = o * np.tanh(c)
        ys.append(h)
    return np.array(ys), c


def ref_gru(X, W, R, B, h0, linear_before_reset):
    """ONNX GRU. X [T, I]. Returns Y [T, H]."""
    X, W, R, B, h = (np.asarray(a, np.float64) for a in (X, W, R, B, h0))
    H = R.shape[1]
    Wb, Rb = B[:3 * H], B[3 * H:]
    Wz, Wr, Wh = W[0:H], W[H:2 * H], W[2 * H:3 * H]
    Rz, Rr, Rh = R[0:H], R[H:2 * H], R[2 * H:3 * H]
    Wbz, Wbr, Wbh = Wb[0:H], Wb[H:2 * H], Wb[2 * H:3 * H]
    Rbz, Rbr, Rbh = Rb[0:H], Rb[H:2 * H], Rb[2 * H:3 * H]
    ys = []
    for x in X:
        z = sigmoid(Wz @ x + Wbz + Rz @ h + Rbz)
        r = sigmoid(Wr @ x + Wbr + Rr @ h + Rbr)
        if linear_before_reset:
            n = np.tanh(Wh @ x + Wbh + r * (Rh @ h + Rbh))
        else:
            n = np.tanh(Wh @ x + Wbh + Rh @ (r * h) + Rbh)
        h = (1.0 - z) * n + z * h
        ys.append(h)
    return np.array(ys)
