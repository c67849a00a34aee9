#!/usr/bin/env bash
# freq10 (issue 4 item 8) side by side: tinyrnn-trainer, and PyTorch / Keras when
# they are importable, interleaved per cell and thread count so that they share
# the machine's conditions. One JSON line per run on stdout.
#
# At the end, a Markdown summary (trainer/benches/freq10_table.py) goes to stderr:
# speed-ups over the faster of PyTorch and Keras, seed-0 accuracies, and whether
# each goal holds.
#
# usage: trainer/benches/freq10_side_by_side.sh [EPOCHS] [CELLS] [THREADS]
#   defaults: 5 "lstm gru rnn" "1 2"
# SEEDS="0 1 2 3 4" also trains tinyrnn with those seeds at the first thread
# count (accuracy spread; the anchors' scripts fix their seed at 0).
# KERAS_SEEDS="1 2 3 4" also trains Keras with those seeds at the first thread
# count, through a copy of the anchor script whose set_random_seed(0) takes
# the seed instead (the copy's JSON line gains a "seed" key).
# INIT=fused and CLIP=0 train tinyrnn with Keras 3's fused initialisation and
# without gradient clipping (defaults: per-gate, 5), as `tinyrnn train --init
# --clip-norm` do.
set -euo pipefail
cd "$(dirname "$0")/../.."
epochs=${1:-5}
cells=${2:-"lstm gru rnn"}
threads=${3:-"1 2"}
seeds=${SEEDS:-0}
keras_seeds=${KERAS_SEEDS:-}
init=${INIT:-per-gate}
clip=${CLIP:-5}
first_th=${threads%% *}
anchors=${ANCHORS:-../shared/anchors}
data=${DATA:-$(mktemp -d)/freq10}
python3 "$anchors/data.py" "$data" >/dev/null
cargo build --release -q -p tinyrnn-trainer --example freq10
bin=${CARGO_TARGET_DIR:-target}/release/examples/freq10
have_torch=$(python3 -c 'import torch' 2>/dev/null && echo 1 || echo 0)
have_keras=$(python3 -c 'import tensorflow' 2>/dev/null && echo 1 || echo 0)
if [ "$have_keras" = 1 ] && [ -n "$keras_seeds" ]; then
    keras_seeded=$(mktemp --suffix=.py)
    sed -e 's/tf.keras.utils.set_random_seed(0)/tf.keras.utils.set_random_seed(int(os.environ["SEED"]))/' \
        -e 's/"threads": threads,/"threads": threads, "seed": int(os.environ["SEED"]),/' \
        "$anchors/keras_train.py" > "$keras_seeded"
    grep -q 'os.environ\["SEED"\]' "$keras_seeded" || { echo "keras_train.py changed: cannot seed it" >&2; exit 1; }
fi
run_all() {
    for cell in $cells; do
        ours=$cell
        [ "$cell" = rnn ] && ours=elman
        for th in $threads; do
            if [ "$have_torch" = 1 ]; then
                python3 "$anchors/torch_train.py" "$data" "$cell" 64 2 "$epochs" "$th" 2>/dev/null | tail -n 1
            fi
            if [ "$have_keras" = 1 ]; then
                python3 "$anchors/keras_train.py" "$data" "$cell" 64 "$epochs" "$th" 2>/dev/null | tail -n 1
            fi
            if [ "$have_keras" = 1 ] && [ "$th" = "$first_th" ]; then
                for seed in $keras_seeds; do
                    SEED=$seed python3 "$keras_seeded" "$data" "$cell" 64 "$epochs" "$th" 2>/dev/null | tail -n 1
                done
            fi
            if [ "$th" = "$first_th" ]; then
                for seed in $seeds; do
                    "$bin" "$data" "$ours" "$th" "$epochs" "$seed" "$clip" "$init"
                done
            else
                "$bin" "$data" "$ours" "$th" "$epochs" 0 "$clip" "$init"
            fi
        done
    done
}
runs=$(mktemp --suffix=.jsonl)
run_all | tee "$runs"
python3 trainer/benches/freq10_table.py "$runs" >&2
