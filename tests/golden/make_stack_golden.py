#!/usr/bin/env python3
"""Generate stacked-model goldens for tinyrnn: tests/golden/stack/*.json

Four stacked models (30 steps, zero initial states), weights written in
tinyrnn's OWN layout (the layout of its encoder API, see README.md):
  embed_lstm_gru_softmax.json        Embedding(11,5) -> LSTM(8) -> GRU reset_after(6) -> Dense(4, softmax)
  elman_relu_lstm_gru0_sigmoid.json  in 3 -> Elman relu(7) -> LSTM(5) -> GRU reset_before(4) -> Dense(2, sigmoid)
  elman_tanh_dense_tanh.json         in 2 -> Elman tanh(9) -> Dense(3, tanh)
  lstm_dense_linear.json             in 4 -> LSTM(16) -> Dense(1, linear)

The expected outputs come from the float64 numpy reference cells in
golden_common.py (ONNX layout; checked against onnxruntime by
make_onnx_golden.py). Each model is additionally checked (a) against a second,
independent float64 numpy forward pass written directly in tinyrnn's layout
from the converted weights (catches gate-reordering mistakes), and (b) against
onnxruntime running the whole stack as one ONNX graph (opset 14).
All weights / inputs are float32 values (written with float32 round-trip
precision); outputs are float64 (written with full float64 precision).

Regenerate (from the repository root):
    pip install numpy==2.4.6 onnx==1.23.2 onnxruntime==1.32.0
    python3 tests/golden/make_stack_golden.py
Versions used: Python 3.11.7, numpy 2.4.6, onnx 1.23.2, onnxruntime 1.32.0.
Output is deterministic (fixed numpy seed per model).
"""

import os
import sys
import zlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_common import (f32list, f64list, ref_gru, ref_lstm, ref_rnn,  # noqa: E402
                           sigmoid, write_json)

OPSET = 14
SEQ_LEN = 30
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stack")

MODELS = {
    "embed_lstm_gru_softmax": dict(
        vocab=11,
        layers=[("embedding", 5), ("lstm", 8), ("gru", 6, "reset_after"),
                ("dense", 4, "softmax")]),
    "elman_relu_lstm_gru0_sigmoid": dict(
        input_size=3,
        layers=[("elman", 7, "relu"), ("lstm", 5), ("gru", 4, "reset_before"),
                ("dense", 2, "sigmoid")]),
    "elman_tanh_dense_tanh": dict(
        input_size=2,
        layers=[("elman", 9, "tanh"), ("dense", 3, "tanh")]),
    "lstm_dense_linear": dict(
        input_size=4,
        layers=[("lstm", 16), ("dense", 1, "linear")]),
}


# Weights / biases are uniform(-S/sqrt(fan), S/sqrt(fan)) with S = 2: large
# enough that a swapped gate block or the wrong GRU variant changes the outputs
# by > 0.03 (checked when this was written), small enough not to saturate.
WEIGHT_SCALE = 2.0


def u(rng, k, shape):
    k = WEIGHT_SCALE * k
    return rng.uniform(-k, k, shape).astype(np.float32)


# --------------------------------------------------------------------------
# parameter generation (ONNX layout, float32)
# --------------------------------------------------------------------------

def make_layers(rng, spec, in_size, vocab):
    """Returns a list of dicts with ONNX-layout float32 params."""
    layers = []
    I = in_size
    for entry in spec:
        kind = entry[0]
        if kind == "embedding":
            dim = entry[1]
            layers.append(dict(kind=kind, vocab=vocab, dim=dim,
                               table=rng.normal(0.0, 1.0, (vocab, dim)).astype(np.float32)))
            I = dim
            continue
        if kind == "dense":
            O, act = entry[1], entry[2]
            k = 1.0 / np.sqrt(I)
            layers.append(dict(kind=kind, out=O, activation=act, inp=I,
                               w=u(rng, k, (O, I)), b=u(rng, k, (O,))))
            I = O
            continue
        H = entry[1]
        k = 1.0 / np.sqrt(H)
        G = {"elman": 1, "lstm": 4, "gru": 3}[kind]
        W = u(rng, k, (G * H, I))
        R = u(rng, k, (G * H, H))
        if kind == "gru":
            B = u(rng, k, (2 * G * H,))  # separate input / recurrent biases
        else:
            # tinyrnn has a single bias for Elman and LSTM: use Rb = 0 so the
            # ONNX-layout reference sees exactly the float32 bias that is written.
            B = np.concatenate([u(rng, k, (G * H,)), np.zeros(G * H, np.float32)])
        d = dict(kind=kind, hidden=H, inp=I, W=W, R=R, B=B)
        if kind == "elman":
            d["activation"] = entry[2]
        if kind == "gru":
            d["variant"] = entry[2]
        layers.append(d)
        I = H
    return layers


# --------------------------------------------------------------------------
# reference 1: ONNX-layout float64 numpy cells (golden_common)
# --------------------------------------------------------------------------

def dense_act(v, act):
    if act == "linear":
        return v
    if act == "tanh":
        return np.tanh(v)
    if act == "sigmoid":
        return sigmoid(v)
    if act == "softmax":
        e = np.exp(v - np.max(v, axis=-1, keepdims=True))
        return e / np.sum(e, axis=-1, keepdims=True)
    raise ValueError(act)


def forward_onnx_layout(layers, inputs):
    x = inputs
    for L in layers:
        kind = L["kind"]
        if kind == "embedding":
            x = L["table"].astype(np.float64)[x]
        elif kind == "dense":
            x = dense_act(x @ L["w"].astype(np.float64).T + L["b"].astype(np.float64),
                          L["activation"])
        else:
            h0 = np.zeros(L["hidden"])
            if kind == "elman":
                x = ref_rnn(x, L["W"], L["R"], L["B"], h0, L["activation"])
            elif kind == "lstm":
                x, _ = ref_lstm(x, L["W"], L["R"], L["B"], h0, h0)
            else:
                x = ref_gru(x, L["W"], L["R"], L["B"], h0, L["variant"] == "reset_after")
    return x


# --------------------------------------------------------------------------
# conversion to tinyrnn layout
# --------------------------------------------------------------------------

def to_tinyrnn(L):
    kind = L["kind"]
    if kind == "embedding":
        return {"kind": kind, "vocab": L["vocab"], "dim": L["dim"], "table": L["table"]}
    if kind == "dense":
        return {"kind": kind, "out": L["out"], "activation": L["activation"],
                "w": L["w"], "b": L["b"]}
    H = L["hidden"]
    W, R, B = L["W"], L["R"], L["B"]
    if kind == "elman":
        assert not np.any(B[H:])
        return {"kind": kind, "hidden": H, "activation": L["activation"],
                "w_x": W, "w_h": R, "b": B[:H]}
    if kind == "lstm":
        # ONNX gate blocks i,o,f,c  ->  tinyrnn i,f,g,o
        blk = lambda M, g: M[g * H:(g + 1) * H]  # noqa: E731
        order = [0, 2, 3, 1]
        assert not np.any(B[4 * H:])
        return {"kind": kind, "hidden": H,
                "w_x": np.concatenate([blk(W, g) for g in order]),
                "w_h": np.concatenate([blk(R, g) for g in order]),
                "b": np.concatenate([blk(B[:4 * H], g) for g in order])}
    if kind == "gru":
        # ONNX gate blocks z,r,h  ->  tinyrnn z,r,n (same order)
        return {"kind": kind, "hidden": H, "variant": L["variant"],
                "w_x": W, "w_h": R, "b_x": B[:3 * H], "b_h": B[3 * H:]}
    raise ValueError(kind)


# --------------------------------------------------------------------------
# reference 2: independent step-by-step forward in tinyrnn layout
# --------------------------------------------------------------------------

def forward_tinyrnn_layout(tl, inputs, in_size):
    f64 = lambda a: np.asarray(a, np.float64)  # noqa: E731
    states = []
    for L in tl:
        if L["kind"] in ("elman", "gru"):
            states.append([np.zeros(L["hidden"])])
        elif L["kind"] == "lstm":
            states.append([np.zeros(L["hidden"]), np.zeros(L["hidden"])])
        else:
            states.append(None)
    outs = []
    for t in range(len(inputs)):
        x = inputs[t]
        for L, st in zip(tl, states):
            k = L["kind"]
            if k == "embedding":
                x = f64(L["table"]).reshape(L["vocab"], L["dim"])[int(x)]
            elif k == "dense":
                w = f64(L["w"]).reshape(L["out"], -1)
                x = dense_act(w @ x + f64(L["b"]), L["activation"])
            elif k == "elman":
                H = L["hidden"]
                a = f64(L["w_x"]).reshape(H, -1) @ x + f64(L["w_h"]).reshape(H, H) @ st[0] + f64(L["b"])
                st[0] = np.tanh(a) if L["activation"] == "tanh" else np.maximum(a, 0.0)
                x = st[0]
            elif k == "lstm":
                H = L["hidden"]
                a = f64(L["w_x"]).reshape(4 * H, -1) @ x + f64(L["w_h"]).reshape(4 * H, H) @ st[0] + f64(L["b"])
                i, f, g, o = (a[j * H:(j + 1) * H] for j in range(4))
                c = sigmoid(f) * st[1] + sigmoid(i) * np.tanh(g)
                h = sigmoid(o) * np.tanh(c)
                st[0], st[1] = h, c
                x = h
            elif k == "gru":
                H = L["hidden"]
                h = st[0]
                wx = f64(L["w_x"]).reshape(3 * H, -1)
                wh = f64(L["w_h"]).reshape(3 * H, H)
                bx, bh = f64(L["b_x"]), f64(L["b_h"])
                gx = wx @ x + bx
                z = sigmoid(gx[0:H] + wh[0:H] @ h + bh[0:H])
                r = sigmoid(gx[H:2 * H] + wh[H:2 * H] @ h + bh[H:2 * H])
                if L["variant"] == "reset_after":
                    n = np.tanh(gx[2 * H:] + r * (wh[2 * H:] @ h + bh[2 * H:]))
                else:
                    n = np.tanh(gx[2 * H:] + wh[2 * H:] @ (r * h) + bh[2 * H:])
                st[0] = (1.0 - z) * n + z * h
                x = st[0]
        outs.append(x)
    return np.array(outs)


# --------------------------------------------------------------------------
# reference 3: onnxruntime on the whole stack as one graph
# --------------------------------------------------------------------------

def forward_ort(layers, inputs, in_size):
    nodes, inits = [], []
    T = SEQ_LEN
    if in_size is None:
        graph_in = helper.make_tensor_value_info("tokens", TensorProto.INT64, [T])
        feed = {"tokens": np.asarray(inputs, np.int64)}
        cur = "tokens"
    else:
        graph_in = helper.make_tensor_value_info("X", TensorProto.FLOAT, [T, 1, in_size])
        feed = {"X": np.asarray(inputs, np.float32).reshape(T, 1, in_size)}
        cur = "X"
    inits.append(numpy_helper.from_array(np.array([1], np.int64), "axis1"))

    def add(op, ins, outs, **kw):
        nodes.append(helper.make_node(op, ins, outs, **kw))

    for n, L in enumerate(layers):
        p = f"l{n}_"
        kind = L["kind"]
        if kind == "embedding":
            inits.append(numpy_helper.from_array(L["table"], p + "table"))
            add("Gather", [p + "table", cur], [p + "g"], axis=0)      # [T, dim]
            add("Unsqueeze", [p + "g", "axis1"], [p + "out"])        # [T, 1, dim]
        elif kind == "dense":
            inits.append(numpy_helper.from_array(np.ascontiguousarray(L["w"].T), p + "wt"))
            inits.append(numpy_helper.from_array(L["b"], p + "b"))
            add("MatMul", [cur, p + "wt"], [p + "mm"])
            act = L["activation"]
            add("Add", [p + "mm", p + "b"], [p + ("out" if act == "linear" else "pre")])
            if act == "softmax":
                add("Softmax", [p + "pre"], [p + "out"], axis=-1)
            elif act == "sigmoid":
                add("Sigmoid", [p + "pre"], [p + "out"])
            elif act == "tanh":
                add("Tanh", [p + "pre"], [p + "out"])
        else:
            H = L["hidden"]
            inits.append(numpy_helper.from_array(L["W"][None], p + "W"))
            inits.append(numpy_helper.from_array(L["R"][None], p + "R"))
            inits.append(numpy_helper.from_array(L["B"][None], p + "B"))
            attrs = {"hidden_size": H}
            op = {"elman": "RNN", "lstm": "LSTM", "gru": "GRU"}[kind]
            if kind == "elman":
                attrs["activations"] = ["Tanh" if L["activation"] == "tanh" else "Relu"]
            if kind == "gru":
                attrs["linear_before_reset"] = 1 if L["variant"] == "reset_after" else 0
            add(op, [cur, p + "W", p + "R", p + "B"], [p + "Y"], **attrs)  # [T,1,1,H]
            add("Squeeze", [p + "Y", "axis1"], [p + "out"])                # [T,1,H]
        cur = p + "out"
    add("Identity", [cur], ["out"])
    O = layers[-1]["out"]
    graph = helper.make_graph(nodes, "stack", [graph_in],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [T, 1, O])],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feed)[0].reshape(T, O)


# --------------------------------------------------------------------------

def make_model(name, cfg):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    in_size = cfg.get("input_size")
    vocab = cfg.get("vocab")
    layers = make_layers(rng, cfg["layers"], in_size, vocab)
    if in_size is None:
        inputs = rng.integers(0, vocab, SEQ_LEN)
    else:
        inputs = rng.normal(0.0, 1.0, (SEQ_LEN, in_size)).astype(np.float32)

    y_ref = forward_onnx_layout(layers, inputs)
    tl = [to_tinyrnn(L) for L in layers]
    y_tiny = forward_tinyrnn_layout(tl, inputs, in_size)
    y_ort = forward_ort(layers, inputs, in_size)
    e_tiny = float(np.max(np.abs(y_ref - y_tiny)))
    e_ort = float(np.max(np.abs(y_ref - y_ort)))
    assert e_tiny <= 1e-12, f"{name}: tinyrnn-layout reference differs by {e_tiny}"
    assert e_ort <= 1e-5, f"{name}: ORT differs by {e_ort}"

    out_layers = []
    for L in tl:
        o = {}
        for key, v in L.items():
            o[key] = f32list(v) if isinstance(v, np.ndarray) else v
        out_layers.append(o)
    obj = {
        "input_size": in_size,
        "seq_len": SEQ_LEN,
        "layers": out_layers,
        "inputs": [int(t) for t in inputs] if in_size is None else f32list(inputs),
        "outputs": f64list(y_ref),
    }
    write_json(os.path.join(OUT_DIR, name + ".json"), obj)
    print(f"{name:30s} |ref-tinylayout|={e_tiny:.1e} |ref-ORT|={e_ort:.1e} "
          f"out range [{y_ref.min():.3f}, {y_ref.max():.3f}]")


def main():
    print(f"numpy {np.__version__}, onnx {onnx.__version__}, onnxruntime {ort.__version__}")
    for name, cfg in MODELS.items():
        make_model(name, cfg)


if __name__ == "__main__":
    main()
