"""Keras on freq10 with either initialisation of the recurrent layers' gates.

The anchor script (../shared/anchors/keras_train.py) with two knobs, to show that
the per-gate initialisation tinyrnn-trainer uses by default helps Keras as much:

  fused     Keras 3's own: one Glorot-uniform draw over the whole [F, G*H] input
            kernel and one orthogonal draw over the whole [H, G*H] recurrent kernel.
  per-gate  each gate's [F, H] input block Glorot-uniform with its own fans, each
            gate's [H, H] recurrent block orthogonal (Keras 1's separate matrices).

Biases stay Keras' (zeros, LSTM forget gate 1).
usage: python keras_init.py DATA_DIR CELL INIT SEED [EPOCHS] [THREADS]
Prints one JSON line.
"""
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import tensorflow as tf
from tensorflow.keras.layers import GRU, LSTM, Dense, Input, SimpleRNN
from tensorflow.keras.models import Sequential

data, cell, init, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
epochs = int(sys.argv[5]) if len(sys.argv) > 5 else 5
threads = int(sys.argv[6]) if len(sys.argv) > 6 else 1
if init not in ("fused", "per-gate"):
    sys.exit(f"INIT is fused or per-gate, not {init!r}")
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(threads)
tf.keras.utils.set_random_seed(seed)
x = np.load(f"{data}/X.npy")
y = tf.keras.utils.to_categorical(np.load(f"{data}/y.npy"), 10)
split = int(len(x) * 0.8)
hidden = 64
Layer = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}[cell]


class PerGate(tf.keras.initializers.Initializer):
    """Draws a [rows, G*H] kernel as G blocks of [rows, H], each from `kind` with its own seed
    (an unseeded Keras 3 initializer gives the same values at every call)."""

    def __init__(self, kind):
        self.kind = kind

    def __call__(self, shape, dtype=None, **kwargs):
        rows, cols = shape
        blocks = [self.kind(seed=int(np.random.randint(2**31)))((rows, hidden), dtype=dtype)
                  for _ in range(cols // hidden)]
        return tf.concat(blocks, axis=1)


def layer(**kw):
    if init == "per-gate":
        kw["kernel_initializer"] = PerGate(tf.keras.initializers.GlorotUniform)
        kw["recurrent_initializer"] = PerGate(tf.keras.initializers.Orthogonal)
    return Layer(hidden, **kw)


model = Sequential([Input(shape=x.shape[1:]), layer(return_sequences=True), layer(), Dense(10, activation="softmax")])
if init == "per-gate":  # check: every gate's recurrent block is orthogonal, and no two are equal
    for lay in model.layers[:2]:
        u = lay.get_weights()[1]
        blocks = [u[:, i * hidden:(i + 1) * hidden] for i in range(u.shape[1] // hidden)]
        assert all(np.allclose(b.T @ b, np.eye(hidden), atol=1e-5) for b in blocks)
        assert all(not np.allclose(blocks[0], b) for b in blocks[1:])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
times = []


class Timer(tf.keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        times.append(time.perf_counter() - self.t0)


model.fit(x[:split], y[:split], epochs=epochs, batch_size=32, verbose=0, callbacks=[Timer()])
_, acc = model.evaluate(x[split:], y[split:], verbose=0)
print(json.dumps({"anchor": "keras", "version": tf.__version__, "cell": cell, "init": init, "seed": seed,
                  "hidden": hidden, "layers": 2, "threads": threads, "epochs": epochs,
                  "sec_per_epoch_median": statistics.median(times[1:] if epochs > 1 else times),
                  "val_acc": float(acc), "train_seqs": split}))
