//! Loads a committed model file and streams a sequence through it one step at
//! a time, as firmware would, printing each output next to the reference.
//!
//! `cargo run --release -p tinyrnn-tests --example stream`
//!
//! The model (`tests/models/lstm_dense_linear.trnn`, LSTM(4 -> 16) + Dense(1))
//! holds the weights of `golden/stack/lstm_dense_linear.json`; the reference
//! outputs are that file's numpy float64 results. `--write` regenerates the model.

use tinyrnn::{AlignedBuf, Model, State};
use tinyrnn_tests::{f32s, f64s, golden_dir, read_json, stack_model};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let golden = read_json(&golden_dir().join("stack/lstm_dense_linear.json"));
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/lstm_dense_linear.trnn");
    if std::env::args().any(|a| a == "--write") {
        std::fs::write(&path, stack_model(&golden))?;
        println!("wrote {}", path.display());
    }
    let bytes = AlignedBuf::from_slice(&std::fs::read(&path)?);
    let model = Model::from_bytes(&bytes)?;
    println!(
        "{}: {} bytes, {} parameters, {} MACs/step, state {} f32 words",
        path.display(),
        bytes.len(),
        model.param_count(),
        model.macs_per_step(),
        model.state_len()
    );
    for (i, l) in model.layers().iter().enumerate() {
        println!(
            "  layer {i}: {:9} {} -> {}",
            l.kind_name(),
            l.input_size(),
            l.output_size()
        );
    }
    let xs = f32s(&golden, "inputs");
    let want = f64s(&golden, "outputs");
    let mut state = State::<128>::new(&model)?;
    let mut y = [0.0f32];
    let mut worst = 0.0f64;
    println!("step  output        reference     |diff|");
    for (t, x) in xs.chunks_exact(model.input_size()).enumerate() {
        model.step(&mut state, x, &mut y)?;
        let d = (y[0] as f64 - want[t]).abs();
        worst = worst.max(d);
        println!("{t:4}  {:+.7}  {:+.7}  {d:.1e}", y[0], want[t]);
    }
    println!(
        "max |diff| = {worst:.2e} over {} steps",
        xs.len() / model.input_size()
    );
    if worst > 1e-5 {
        return Err(format!("outputs differ from the reference by {worst:e}").into());
    }
    Ok(())
}
