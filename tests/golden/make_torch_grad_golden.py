#!/usr/bin/env python3
"""Generate PyTorch autograd gradient goldens for tinyrnn's trainer (BPTT
check): tests/golden/torch_grad/*.json

Cases (torch.float64 throughout, fixed torch.manual_seed per case, zero
initial states, batch_first=True, B=4, T=6, input 3, hidden 5, output 4):
  lstm.json          nn.LSTM(1 layer) -> last step -> nn.Linear(5,4) -> CrossEntropyLoss (mean)
  lstm2.json         nn.LSTM(num_layers=2) -> last step -> Linear -> CrossEntropyLoss
  gru.json           nn.GRU (PyTorch GRU = reset-after, gate order r,z,n) -> last step -> Linear -> CE
  rnn_tanh.json      nn.RNN(nonlinearity='tanh') -> last step -> Linear -> CE
  lstm_seq_mse.json  nn.LSTM -> Linear at every step -> MSELoss (mean over all B*T*4 elements)
Parameters and gradients are in PyTorch's own layout and gate order, flattened
row-major. The autograd gradients are cross-checked against central finite
differences of the loss for every parameter element.

Regenerate (from the repository root):
    pip install numpy==2.4.6 torch==2.15.0
    python3 tests/golden/make_torch_grad_golden.py
Versions used: Python 3.11.7, torch 2.15.0 (+cu132 wheel, run on CPU), numpy 2.4.6.
Output is deterministic (fixed seeds, CPU, float64).
"""

import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_common import ref_gru, ref_lstm, ref_rnn, write_json  # noqa: E402

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_grad")
B, T, I, H, O = 4, 6, 3, 5, 4

# name: (cell, num_layers, loss_kind, many_to_many, seed)
CASES = {
    "lstm": ("lstm", 1, "cross_entropy", False, 1001),
    "lstm2": ("lstm", 2, "cross_entropy", False, 1002),
    "gru": ("gru", 1, "cross_entropy", False, 1003),
    "rnn_tanh": ("rnn_tanh", 1, "cross_entropy", False, 1004),
    "lstm_seq_mse": ("lstm", 1, "mse", True, 1005),
}


class Model(torch.nn.Module):
    def __init__(self, cell, num_layers, many_to_many):
        super().__init__()
        if cell == "lstm":
            self.rnn = torch.nn.LSTM(I, H, num_layers=num_layers, batch_first=True)
        elif cell == "gru":
            self.rnn = torch.nn.GRU(I, H, num_layers=num_layers, batch_first=True)
        else:
            self.rnn = torch.nn.RNN(I, H, num_layers=num_layers, batch_first=True,
                                    nonlinearity="tanh")
        self.head = torch.nn.Linear(H, O)
        self.many_to_many = many_to_many

    def forward(self, x):
        seq, _ = self.rnn(x)                      # [B, T, H], zero initial states
        if self.many_to_many:
            return self.head(seq)                 # [B, T, O]
        return self.head(seq[:, -1, :])           # [B, O]


def named_params(model):
    """PyTorch names; the recurrent module's prefix 'rnn.' is dropped."""
    out = {}
    for name, p in model.named_parameters():
        out[name[4:] if name.startswith("rnn.") else name] = p
    return out


def numpy_forward(cell, num_layers, many_to_many, params, x):
    """Forward pass with golden_common's ONNX-layout numpy cells (the ones
    checked against onnxruntime), after converting PyTorch's gate order to
    ONNX's: LSTM i,f,g,o -> i,o,f,c ; GRU r,z,n -> z,r,h. Confirms the
    documented PyTorch layouts."""
    P = {k: v.detach().numpy() for k, v in params.items()}
    if cell == "lstm":
        order = [0, 3, 1, 2]
    elif cell == "gru":
        order = [1, 0, 2]
    else:
        order = [0]

    def re(a):
        return np.concatenate([a[g * H:(g + 1) * H] for g in order])

    outs = []
    for b in range(B):
        seq = x[b].detach().numpy()
        for layer in range(num_layers):
            W = re(P[f"weight_ih_l{layer}"])
            R = re(P[f"weight_hh_l{layer}"])
            Bb = np.concatenate([re(P[f"bias_ih_l{layer}"]), re(P[f"bias_hh_l{layer}"])])
            h0 = np.zeros(H)
            if cell == "lstm":
                seq, _ = ref_lstm(seq, W, R, Bb, h0, h0)
            elif cell == "gru":
                seq = ref_gru(seq, W, R, Bb, h0, 1)
            else:
                seq = ref_rnn(seq, W, R, Bb, h0, "tanh")
        y = seq @ P["head.weight"].T + P["head.bias"]
        outs.append(y if many_to_many else y[-1])
    return np.array(outs)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def make_case(name, cell, num_layers, loss_kind, many_to_many, seed):
    torch.manual_seed(seed)
    model = Model(cell, num_layers, many_to_many).double()
    x = torch.randn(B, T, I, dtype=torch.float64)
    if loss_kind == "cross_entropy":
        y = torch.randint(0, O, (B,))
        loss_fn = torch.nn.CrossEntropyLoss()    # mean over batch
    else:
        y = torch.randn(B, T, O, dtype=torch.float64)
        loss_fn = torch.nn.MSELoss()             # mean over all elements

    params = named_params(model)
    model.zero_grad()
    out = model(x)
    loss = loss_fn(out, y)
    loss.backward()
    grads = {k: p.grad.detach().clone() for k, p in params.items()}

    # Cross-check 1: forward pass vs the numpy (ONNX-layout) reference cells.
    fwd_err = float(np.max(np.abs(numpy_forward(cell, num_layers, many_to_many, params, x)
                                  - out.detach().numpy())))
    assert fwd_err < 1e-12, f"{name}: numpy forward mismatch {fwd_err}"

    # Cross-check 2: central finite differences on every parameter element.
    eps = 1e-6
    max_err = 0.0
    with torch.no_grad():
        for k, p in params.items():
            pf = p.view(-1)
            gf = grads[k].view(-1)
            for j in range(pf.numel()):
                old = pf[j].item()
                pf[j] = old + eps
                lp = loss_fn(model(x), y).item()
                pf[j] = old - eps
                lm = loss_fn(model(x), y).item()
                pf[j] = old
                fd = (lp - lm) / (2 * eps)
                max_err = max(max_err, abs(fd - gf[j].item()))
    assert max_err < 1e-8, f"{name}: finite-difference mismatch {max_err}"

    obj = {
        "cell": cell,
        "num_layers": num_layers,
        "input_size": I,
        "hidden_size": H,
        "output_size": O,
        "batch": B,
        "seq_len": T,
        "loss_kind": loss_kind,
        "many_to_many": many_to_many,
        "params": {k: flat(p) for k, p in params.items()},
        "shapes": {k: list(p.shape) for k, p in params.items()},
        "grads": {k: flat(g) for k, g in grads.items()},
        "x": flat(x),
        "y": [int(v) for v in y.tolist()] if loss_kind == "cross_entropy" else flat(y),
        "loss": float(loss.item()),
        # extra (not needed for the gradient check): head output, [B*O] or [B*T*O]
        "outputs": flat(out),
    }
    write_json(os.path.join(OUT_DIR, name + ".json"), obj)
    gnorm = sum(float((g ** 2).sum()) for g in grads.values()) ** 0.5
    print(f"{name:14s} loss={loss.item():.6f} |grad|={gnorm:.4f} max|autograd-FD|={max_err:.1e} "
          f"max|torch-numpy fwd|={fwd_err:.1e} "
          f"params={list(params)}")


def main():
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}")
    for name, args in CASES.items():
        make_case(name, *args)


if __name__ == "__main__":
    main()
