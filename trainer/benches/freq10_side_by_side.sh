#!/usr/bin/env bash
# freq10 (issue 4 item 8) side by side: tinyrnn-trainer, and PyTorch / Keras when
# they are importable, interleaved per cell and thread count so that they share
# the machine's conditions. One JSON line per run on stdout.
#
# usage: trainer/benches/freq10_side_by_side.sh [EPOCHS] [CELLS] [THREADS]
#   defaults: 5 "lstm gru rnn" "1 2"
# SEEDS="0 1 2 3 4" also trains tinyrnn with those seeds at the first thread
# count (accuracy spread; the anchors' scripts fix their seed at 0).
set -euo pipefail
cd "$(dirname "$0")/../.."
epochs=${1:-5}
cells=${2:-"lstm gru rnn"}
threads=${3:-"1 2"}
seeds=${SEEDS:-0}
first_th=${threads%% *}
anchors=${ANCHORS:-../shared/anchors}
data=${DATA:-$(mktemp -d)/freq10}
python3 "$anchors/data.py" "$data" >/dev/null
cargo build --release -q -p tinyrnn-trainer --example freq10
bin=${CARGO_TARGET_DIR:-target}/release/examples/freq10
have_torch=$(python3 -c 'import torch' 2>/dev/null && echo 1 || echo 0)
have_keras=$(python3 -c 'import tensorflow' 2>/dev/null && echo 1 || echo 0)
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
        if [ "$th" = "$first_th" ]; then
            for seed in $seeds; do
                "$bin" "$data" "$ours" "$th" "$epochs" "$seed"
            done
        else
            "$bin" "$data" "$ours" "$th" "$epochs" 0
        fi
    done
done
