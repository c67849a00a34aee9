//! Writes seed inputs for the `load_and_step` fuzz target: valid model files of
//! every layer kind, each prefixed by the mode byte 1 ("fix the CRC").
//!
//! `cargo run -p tinyrnn-tests --example fuzz_seeds [DIR]` (default `fuzz/corpus/load_and_step`).

use tinyrnn::quant::NumFormat;
use tinyrnn::{Activation, GruVariant, ModelBuilder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/corpus/load_and_step".into());
    std::fs::create_dir_all(&dir)?;
    let w = |n: usize| {
        (0..n)
            .map(|i| ((i * 37 % 17) as f32 - 8.0) / 8.0)
            .collect::<Vec<f32>>()
    };
    let models: Vec<(&str, Vec<u8>)> = vec![
        (
            "elman",
            ModelBuilder::new(2)
                .elman(3, Activation::Tanh, &w(6), &w(9), &w(3))
                .build()?,
        ),
        (
            "lstm_dense",
            ModelBuilder::new(2)
                .lstm(2, &w(16), &w(16), &w(8))
                .dense(1, Activation::Sigmoid, &w(2), &w(1))
                .build()?,
        ),
        (
            "embed_gru_softmax",
            ModelBuilder::with_embedding(5, 2, &w(10))
                .gru(2, GruVariant::ResetAfter, &w(12), &w(12), &w(6), &w(6))
                .dense(3, Activation::Softmax, &w(6), &w(3))
                .metadata(b"vocab")
                .build()?,
        ),
        (
            "dense_gru0_elman_relu",
            ModelBuilder::new(1)
                .dense(2, Activation::Tanh, &w(2), &w(2))
                .gru(2, GruVariant::ResetBefore, &w(12), &w(12), &w(6), &w(6))
                .elman(2, Activation::Relu, &w(4), &w(4), &w(2))
                .dense(2, Activation::Linear, &w(4), &w(2))
                .dense(1, Activation::Linear, &w(2), &w(1))
                .build()?,
        ),
    ];
    // An Embedding input in every quantized format.
    let mut models = models;
    for (format, name) in [
        (NumFormat::F16, "quant_embed_f16"),
        (NumFormat::I8, "quant_embed_i8"),
        (NumFormat::Integer, "quant_embed_integer"),
    ] {
        let bytes = ModelBuilder::with_embedding(5, 2, &w(10))
            .lstm(2, &w(16), &w(16), &w(8))
            .dense(3, Activation::Linear, &w(6), &w(3))
            .quantize(format)
            .calibration_tokens(&[0, 1, 2, 3, 4, 2, 1])
            .build()?;
        models.push((name, bytes));
    }
    // Integer LSTM and GRU wide enough for the tiled weight layout (rows in
    // whole blocks of 4, at least 4 columns), and a Dense head left row-major.
    let xs: Vec<f32> = (0..40).map(|i| ((i * 7 % 11) as f32 - 5.0) / 5.0).collect();
    let bytes = ModelBuilder::new(4)
        .lstm(4, &w(64), &w(64), &w(16))
        .gru(4, GruVariant::ResetAfter, &w(48), &w(48), &w(12), &w(12))
        .dense(2, Activation::Softmax, &w(8), &w(2))
        .quantize(NumFormat::Integer)
        .calibration(&xs)
        .build()?;
    models.push(("quant_integer_tiled", bytes));
    for (name, bytes) in models {
        let mut seed = vec![1u8];
        seed.extend_from_slice(&bytes);
        std::fs::write(format!("{dir}/{name}"), seed)?;
    }
    println!("wrote seeds to {dir}");
    Ok(())
}
