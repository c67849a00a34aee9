"""Plots freq10 LSTM validation accuracy per seed, fused against per-gate initialisation.

Reads the JSON lines of results/freq10_init_seeds.jsonl (one run per line: impl,
kernels, cell, threads, init, seed, val_acc; made with examples/freq10.rs and
keras_init.py, see trainer/README.md) and writes results/freq10_init_seeds.png.
usage: python3 init_plot.py [RESULTS.jsonl] [OUT.png]   (needs matplotlib)
"""
import json
import os
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "results", "freq10_init_seeds.jsonl")
out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "results", "freq10_init_seeds.png")
runs = [json.loads(line) for line in open(src) if line.strip()]

groups = [
    ("tinyrnn\nAVX-512, 1 thread", "tinyrnn", "avx512", 1),
    ("tinyrnn\nAVX-512, 2 threads", "tinyrnn", "avx512", 2),
    ("tinyrnn\nAVX2, 1 thread", "tinyrnn", "avx2", 1),
    ("Keras 3\n1 thread", "keras", "tensorflow", 1),
]
colors = {"fused": "#d62728", "per-gate": "#1f77b4"}
fig, ax = plt.subplots(figsize=(9, 5.4), dpi=110)
for gi, (label, impl, kernels, threads) in enumerate(groups):
    for k, init in enumerate(("fused", "per-gate")):
        acc = [r["val_acc"] for r in runs if (r["impl"], r["kernels"], r["cell"], r["threads"], r["init"])
               == (impl, kernels, "lstm", threads, init)]
        if not acc:
            continue
        x0 = gi * 3 + k
        # deterministic spread of the points across the column
        xs = [x0 + ((i * 0.618) % 1.0 - 0.5) * 0.5 for i in range(len(acc))]
        ax.scatter(xs, acc, s=14, color=colors[init], alpha=0.7,
                   label=f"{init} initialisation" if gi == 0 else None)
        m = statistics.mean(acc)
        ax.plot([x0 - 0.35, x0 + 0.35], [m, m], color="black", lw=2,
                label="mean over the seeds" if (gi, k) == (0, 0) else None)
        ax.annotate(f"{m:.3f}\n(n={len(acc)})", (x0, 0.62), ha="center", fontsize=8)
ax.axhline(0.9427, color="gray", ls="--", lw=1, label="the Keras anchor's figure (seed 0): 0.943")
ax.set_xticks([gi * 3 + 0.5 for gi in range(len(groups))])
ax.set_xticklabels([g[0] for g in groups], fontsize=9)
ax.set_ylim(0.6, 1.0)
ax.set_ylabel("validation accuracy after 5 epochs")
ax.set_title("freq10, 2 x LSTM(64), batch 32, Adam 1e-3: one point per seed, bar = mean", fontsize=10)
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8, frameon=False)
ax.grid(axis="y", alpha=0.3)
fig.tight_layout()
fig.savefig(out)
print(out)
