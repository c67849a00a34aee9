#!/usr/bin/env bash
# Runs every check of the project on a fresh Debian machine with rustup:
# installs what it needs (rustup components and targets, QEMU), then
# fmt, clippy -D warnings (host and thumb targets), all tests (including the
# firmware under QEMU) and the no_std builds.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

step "toolchain: rustfmt, clippy, thumb targets"
rustup component add rustfmt clippy >/dev/null
rustup target add thumbv7em-none-eabihf thumbv6m-none-eabi >/dev/null

if ! command -v qemu-system-arm >/dev/null 2>&1; then
    step "installing qemu-system-arm"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-arm >/dev/null
fi
qemu-system-arm --version | head -n 1

step "cargo fmt --check"
cargo fmt --all --check
for p in firmware-example fuzz; do
    if [ -f "$p/Cargo.toml" ]; then (cd "$p" && cargo fmt --check); fi
done

step "clippy -D warnings (host workspace)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "clippy -D warnings (trainer as a library, without the runtime)"
cargo clippy -p tinyrnn-trainer --no-default-features --locked -- -D warnings

step "no_std: build and clippy the runtime for Cortex-M"
for target in thumbv7em-none-eabihf thumbv6m-none-eabi; do
    cargo build -p tinyrnn --target "$target" --release --locked
    cargo clippy -p tinyrnn --target "$target" --locked -- -D warnings
    cargo clippy -p tinyrnn --target "$target" --features alloc --locked -- -D warnings
    cargo clippy -p tinyrnn --target "$target" --no-default-features --locked -- -D warnings
    cargo clippy -p tinyrnn --target "$target" --no-default-features --features lstm --locked -- -D warnings
    cargo clippy -p tinyrnn --target "$target" --no-default-features --features lstm,integer --locked -- -D warnings
    cargo clippy -p tinyrnn --target "$target" --no-default-features --features gru,f16 --locked -- -D warnings
    cargo clippy -p tinyrnn --target "$target" --no-default-features --features elman,i8 --locked -- -D warnings
done

if [ -f firmware-example/Cargo.toml ]; then
    step "clippy -D warnings (firmware)"
    (cd firmware-example && cargo clippy --release -- -D warnings)
fi

step "rustdoc -D warnings (runtime and trainer: no broken links)"
for features in --all-features "" --no-default-features; do
  RUSTDOCFLAGS="-D warnings" cargo doc -p tinyrnn --no-deps $features --locked
done
RUSTDOCFLAGS="-D warnings" cargo doc -p tinyrnn-trainer --no-deps --locked

step "tests (release build: training tests are slow unoptimised)"
cargo test --workspace --release --locked

step "the runtime's tests again with the 16-lane (AVX-512 width) SIMD kernels"
# No AVX-512 needed: `wide` runs each 16-lane operation as two 8-lane ones.
TINYRNN_LANES=16 cargo test -p tinyrnn --release --locked

step "all checks passed"
