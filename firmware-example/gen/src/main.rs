//! Host side of the firmware example.
//!
//! ```text
//! cargo run --manifest-path firmware-example/gen/Cargo.toml -- synth
//! ```
//!
//! writes the four stand-in models (deterministic random weights, PyTorch's
//! init scale) to `firmware-example/models/NAME.trnn`, until the `tinyrnn`
//! trainer writes trained ones there. The recorded input and the expected
//! outputs are made by the firmware's `build.rs` from whatever model files are
//! in that folder.

use std::fs;
use std::path::{Path, PathBuf};

mod rng;

use rng::Rng;
use tinyrnn::{Activation, AlignedBuf, GruVariant, Layout, Model, ModelBuilder};

/// Models the firmware knows by name (each has a cargo feature there).
const NAMES: [&str; 4] = ["lstm1x32", "gru1x32", "elman1x32", "lstm16x64"];

/// A stand-in model with PyTorch's default init scale, U(-1/sqrt(H), 1/sqrt(H)).
fn synth(name: &str) -> Vec<u8> {
    let mut rng = Rng(0x7177_0000 ^ name.len() as u64 ^ u64::from(name.as_bytes()[0]) << 8);
    let (input, hidden) = match name {
        "lstm16x64" => (16, 64),
        _ => (1, 32),
    };
    let a = 1.0 / (hidden as f32).sqrt();
    let mut b = ModelBuilder::new(input);
    // Column-major: the layout the Cortex-M4F `asm!` kernel (and the host's
    // SIMD one) reads fastest.
    b.layout(Layout::ColMajor8);
    match name {
        "lstm1x32" | "lstm16x64" => {
            let g = 4 * hidden;
            b.lstm(
                hidden,
                &rng.vec(g * input, a),
                &rng.vec(g * hidden, a),
                &rng.vec(g, a),
            );
        }
        "gru1x32" => {
            let g = 3 * hidden;
            b.gru(
                hidden,
                GruVariant::ResetAfter,
                &rng.vec(g * input, a),
                &rng.vec(g * hidden, a),
                &rng.vec(g, a),
                &rng.vec(g, a),
            );
        }
        "elman1x32" => {
            b.elman(
                hidden,
                Activation::Tanh,
                &rng.vec(hidden * input, a),
                &rng.vec(hidden * hidden, a),
                &rng.vec(hidden, a),
            );
        }
        _ => unreachable!("unknown model {name}"),
    }
    // The 1 x H models end in a Dense(H -> 1) head; 16x64 is the bare LSTM (as
    // CMSIS-NN's reference figure is), so its output is h.
    if input == 1 {
        b.dense(1, Activation::Linear, &rng.vec(hidden, a), &rng.vec(1, a));
    }
    b.metadata(format!("tinyrnn firmware-example stand-in {name}, gen synth").as_bytes());
    b.build().expect("stand-in model builds")
}

fn main() {
    if std::env::args().nth(1).as_deref() != Some("synth") {
        eprintln!("usage: gen synth   (writes the stand-in models to firmware-example/models/)");
        std::process::exit(2);
    }
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    fs::create_dir_all(&dir).unwrap();
    for name in NAMES {
        let bytes = synth(name);
        let aligned = AlignedBuf::from_slice(&bytes);
        let model = Model::from_bytes(&aligned).expect("stand-in model loads");
        println!(
            "{name}: {} -> {}, {} params, {} MACs/step, {} state words, file {} bytes",
            model.input_size(),
            model.output_size(),
            model.param_count(),
            model.macs_per_step(),
            model.state_len(),
            bytes.len()
        );
        fs::write(dir.join(format!("{name}.trnn")), bytes).unwrap();
    }
}
