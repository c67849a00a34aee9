"""Summarises freq10_side_by_side.sh's JSON lines as a Markdown table.

usage: python3 trainer/benches/freq10_table.py RUNS.jsonl   (or JSON lines on stdin)

One row per cell and thread count: seconds per epoch of PyTorch, Keras and tinyrnn
(medians of epochs 2-5, seed 0), tinyrnn's speed-up over the faster of the two,
validation accuracy after the last epoch at seed 0, and whether tinyrnn meets the
issue's goal on each (faster than both; accuracy at least the better of the two).
Extra tinyrnn seeds (SEEDS=...) and Keras seeds (KERAS_SEEDS=...) are listed with
their mean.
"""
import json
import sys


def ranges(xs):
    """[0, 1, 2, 5, 7, 8] as "0-2, 5, 7-8"."""
    out, start = [], None
    for i, x in enumerate(xs):
        if start is None:
            start = x
        if i + 1 == len(xs) or xs[i + 1] != x + 1:
            out.append(str(start) if start == x else f"{start}-{x}")
            start = None
    return ", ".join(out)


def main():
    src = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    runs = [json.loads(line) for line in src if line.strip().startswith("{")]
    seed0 = {}
    seeds = {}
    for r in runs:
        who = r.get("anchor") or r.get("impl")
        cell = {"rnn": "elman"}.get(r["cell"], r["cell"])
        key = (cell, r["threads"])
        seed = r.get("seed", 0)
        if seed == 0:
            seed0[(who,) + key] = r
        seeds.setdefault((who,) + key, {})[seed] = r["val_acc"]
    cells = []
    for who, cell, th in seed0:
        if (cell, th) not in cells:
            cells.append((cell, th))

    def fmt(x, spec):
        return "-" if x is None else format(x, spec)

    print("| cell | threads | PyTorch s | Keras s | tinyrnn s | speed-up | PyTorch acc | Keras acc | tinyrnn acc | faster | accuracy |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for cell, th in cells:
        get = lambda who: seed0.get((who, cell, th))
        t, k, o = get("pytorch"), get("keras"), get("tinyrnn")
        sec = lambda r: r and r["sec_per_epoch_median"]
        acc = lambda r: r and r["val_acc"]
        others = [r for r in (t, k) if r]
        best_s = min((sec(r) for r in others), default=None)
        best_a = max((acc(r) for r in others), default=None)
        speed = best_s / sec(o) if (o and best_s) else None
        faster = "-" if speed is None else ("yes" if speed > 1 else "no")
        # accuracy counts whole validation sequences: compare at 1e-6
        enough = "-" if (o is None or best_a is None) else ("yes" if acc(o) >= best_a - 1e-6 else "no")
        print(
            f"| {cell} | {th} | {fmt(sec(t), '.3f')} | {fmt(sec(k), '.3f')} | {fmt(sec(o), '.3f')} "
            f"| {fmt(speed, '.2f')}x | {fmt(acc(t), '.4f')} | {fmt(acc(k), '.4f')} | {fmt(acc(o), '.4f')} "
            f"| {faster} | {enough} |"
        )
    inits = sorted({r["init"] for r in runs if r.get("impl") == "tinyrnn" and "init" in r})
    if inits:
        print()
        print(f"tinyrnn's initialisation: {', '.join(inits)}")
    many = {k: v for k, v in seeds.items() if len(v) > 1}
    if many:
        print()
        print("| framework | cell | threads | seeds | validation accuracy | mean |")
        print("|---|---|---|---|---|---|")
        for (who, cell, th), v in sorted(many.items()):
            accs = [v[s] for s in sorted(v)]
            print(
                f"| {who} | {cell} | {th} | {ranges(sorted(v))} | "
                + " ".join(f"{a:.3f}" for a in accs)
                + f" | {sum(accs) / len(accs):.3f} |"
            )


if __name__ == "__main__":
    main()
