#!/bin/sh
# Regenerates every file in firmware-example/models/ (about a minute on 2 cores):
#
#   firmware-example/models/make.sh
#
# 1. `gen data` (../gen) writes the training data of two sensor-like tasks
#    (fixed seeds) and the recorded inputs the firmware streams (NAME.input.csv,
#    held-out sequences of the same tasks):
#    - sine: noisy sine, 1 input, target = the clean value one step ahead (per step);
#    - vib16: 16-channel vibration trace, per-step class of 4 machine states.
# 2. `tinyrnn train` (fixed seed, 2 threads) trains LSTM 1x32, GRU 1x32 and
#    Elman 1x32 with a Dense(1) head on sine, and LSTM 16x64 with a
#    Dense(4, softmax) head on vib16.
# 3. `gen colmajor` re-encodes each f32 file in the ColMajor8 layout (the
#    trainer writes row-major and has no layout option): NAME.trnn.
# 4. `tinyrnn export --format f16|i8|integer` quantizes NAME.trnn, calibrated
#    on the first 256 training sequences and reported on the validation set:
#    NAME.f16.trnn, NAME.i8.trnn, NAME.integer.trnn; the reports (JSON, one per
#    line) go to quantization.jsonl.
#
# Intermediate files (data, logs, checkpoints) go to $WORK
# (default firmware-example/target/models-work). The trainer is built once
# (honours CARGO_TARGET_DIR); TINYRNN=/path/to/tinyrnn uses that binary instead.
set -eu
models=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$models/../.." && pwd)
work=${WORK:-$root/firmware-example/target/models-work}
# Run cargo from the repository root: firmware-example/.cargo/config.toml
# would otherwise make it build for the firmware's target.
cd "$root"
unset CARGO_BUILD_TARGET RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
mkdir -p "$work/train"

gen() { cargo run -q --release --manifest-path firmware-example/gen/Cargo.toml -- "$@"; }
if [ -z "${TINYRNN:-}" ]; then
  cargo build -q --release -p tinyrnn-trainer --bin tinyrnn
  TINYRNN=${CARGO_TARGET_DIR:-$root/target}/release/tinyrnn
fi
tinyrnn() { "$TINYRNN" "$@"; }

gen data "$work"

train() { # NAME TASK LAYERS HEAD EPOCHS LR
  d=$work/$2
  echo "train $1: $3 + $4 on $2, $5 epochs" >&2
  tinyrnn train --x "$d/X.npy" --y "$d/y.npy" --val-x "$d/Xval.npy" --val-y "$d/yval.npy" \
    --layers "$3" --head "$4" --epochs "$5" --lr "$6" --seed 1 --threads 2 \
    --out "$work/train/$1.trnn" --log "$work/train/$1.log.csv" --plot "$work/train/$1.png" \
    --checkpoint "$work/train/$1.ckpt" --quiet --json >"$work/train/$1.json"
  cat "$work/train/$1.json" >&2
  gen colmajor "$work/train/$1.trnn" "$models/$1.trnn"
}
train lstm1x32 sine lstm:32 dense:1 20 0.01
train gru1x32 sine gru:32 dense:1 20 0.01
train elman1x32 sine elman:32 dense:1 20 0.01
train lstm16x64 vib16 lstm:64 dense:4:softmax 20 0.005

: >"$work/quantization.jsonl"
for m in lstm1x32 gru1x32 elman1x32 lstm16x64; do
  case $m in lstm16x64) d=$work/vib16 ;; *) d=$work/sine ;; esac
  for f in f16 i8 integer; do
    tinyrnn export --model "$models/$m.trnn" --format $f --calibration "$d/Xcal.npy" \
      --x "$d/Xval.npy" --y "$d/yval.npy" --out "$models/$m.$f.trnn" --json |
      sed "s/^{/{\"name\":\"$m.$f\",/" >>"$work/quantization.jsonl"
  done
done
mv "$work/quantization.jsonl" "$models/quantization.jsonl"
cat "$models/quantization.jsonl"
ls -l "$models"
