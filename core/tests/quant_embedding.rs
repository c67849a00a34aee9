//! An Embedding input in every number format: the quantized table loads,
//! `step_token` decodes it, the outputs stay close to the f32 model, and the
//! integer model gives the same bits through `Model::step_token` (either
//! kernel) and through the float-free `IntModel::step_token`.
#![cfg(all(feature = "quant", feature = "alloc"))]

mod common;

use common::{max_dev, values};
use tinyrnn::quant::{dequantize_value, IntModel, NumFormat};
use tinyrnn::{Activation, AlignedBuf, Error, GruVariant, Kernel, Model, ModelBuilder, StateVec};

const VOCAB: usize = 11;
const DIM: usize = 5;

/// Embedding(11 x 5) -> LSTM 6 -> GRU 4 -> Dense 3 with `head`.
fn builder(head: Activation) -> ModelBuilder {
    let mut s = 0x1234_5678_9abc_def1u64;
    let mut table = values(&mut s, VOCAB * DIM, 0.9);
    // An all-zero row (a padding token) must survive every format.
    table[..DIM].fill(0.0);
    let mut b = ModelBuilder::with_embedding(VOCAB, DIM, &table);
    b.lstm(
        6,
        &values(&mut s, 24 * DIM, 0.6),
        &values(&mut s, 24 * 6, 0.5),
        &values(&mut s, 24, 0.3),
    );
    b.gru(
        4,
        GruVariant::ResetAfter,
        &values(&mut s, 12 * 6, 0.6),
        &values(&mut s, 12 * 4, 0.5),
        &values(&mut s, 12, 0.3),
        &values(&mut s, 12, 0.3),
    );
    b.dense(3, head, &values(&mut s, 12, 0.8), &values(&mut s, 3, 0.2));
    b
}

fn tokens(n: usize, seed: u64) -> Vec<usize> {
    let mut s = seed;
    values(&mut s, n, 1.0)
        .iter()
        .map(|v| ((v + 1.0) * 0.5 * VOCAB as f32) as usize % VOCAB)
        .collect()
}

fn run(model: &Model<'_>, toks: &[usize]) -> Vec<f32> {
    let mut s = StateVec::new(model);
    let mut y = [0.0f32; 3];
    let mut out = Vec::new();
    for t in toks {
        model.step_token(&mut s, *t, &mut y).expect("steps");
        out.extend_from_slice(&y);
    }
    out
}

#[test]
fn every_format_runs_an_embedding_input() {
    let f32_file = AlignedBuf::from_slice(&builder(Activation::Softmax).build().unwrap());
    let f32_model = Model::from_bytes(&f32_file).unwrap();
    let toks = tokens(300, 99);
    let want = run(&f32_model, &toks);
    // (format, bound on the softmax outputs' deviation, smaller file)
    for (format, bound) in [
        (NumFormat::F16, 2e-4),
        (NumFormat::I8, 5e-3),
        (NumFormat::Integer, 5e-3),
    ] {
        let mut b = builder(Activation::Softmax);
        b.quantize(format).calibration_tokens(&tokens(200, 7));
        let file = AlignedBuf::from_slice(&b.build().unwrap());
        assert!(file.len() < f32_file.len(), "{format:?} file not smaller");
        let model = Model::from_bytes(&file).unwrap();
        assert!(model.is_token_input());
        let first = &model.layers()[0];
        assert!(first.is_embedding());
        assert_eq!(first.kind_name(), "embedding");
        assert_eq!((first.input_size(), first.output_size()), (VOCAB, DIM));
        assert_eq!(first.param_count(), VOCAB * DIM);
        assert!(
            matches!(first, tinyrnn::Layer::Quant(q) if q.format() == format),
            "{format:?}: first layer not quantized"
        );
        let got = run(&model, &toks);
        let dev = max_dev(&got, &want);
        eprintln!(
            "{format:?}: {} bytes (f32 {}), max deviation {dev:.2e}",
            file.len(),
            f32_file.len()
        );
        assert!(dev <= bound, "{format:?}: deviation {dev} > {bound}");
        // Errors stay errors.
        let mut s = StateVec::new(&model);
        let mut y = [0.0f32; 3];
        assert_eq!(
            model.step_token(&mut s, VOCAB, &mut y),
            Err(Error::TokenOutOfRange {
                token: VOCAB,
                vocab: VOCAB
            })
        );
        assert_eq!(
            model.step(&mut s, &[0.0; DIM], &mut y),
            Err(Error::WrongInputKind)
        );
    }
}

#[test]
fn integer_embedding_is_bit_exact_on_every_path() {
    let mut b = builder(Activation::Linear);
    b.quantize(NumFormat::Integer)
        .calibration_tokens(&tokens(200, 7));
    let file = AlignedBuf::from_slice(&b.build().unwrap());
    let toks = tokens(2000, 5);
    let scalar = Model::from_bytes(&file)
        .unwrap()
        .with_kernel(Kernel::Scalar);
    let simd = Model::from_bytes(&file).unwrap().with_kernel(Kernel::Simd);
    let a = run(&scalar, &toks);
    let b = run(&simd, &toks);
    assert!(a.iter().zip(&b).all(|(a, b)| a.to_bits() == b.to_bits()));
    for model in [&scalar, &simd] {
        let int = IntModel::new(model).unwrap();
        let mut words = vec![0i32; int.state_len()];
        let mut y = [0i16; 3];
        for (t, tok) in toks.iter().enumerate() {
            int.step_token(&mut words, *tok, &mut y).unwrap();
            for (k, q) in y.iter().enumerate() {
                let v = dequantize_value(*q, int.output_frac());
                assert_eq!(v.to_bits(), a[3 * t + k].to_bits(), "step {t} output {k}");
            }
        }
        assert_eq!(
            int.step_token(&mut words, VOCAB + 3, &mut y),
            Err(Error::TokenOutOfRange {
                token: VOCAB + 3,
                vocab: VOCAB
            })
        );
        assert_eq!(
            int.step(&mut words, &[0; DIM], &mut y),
            Err(Error::WrongInputKind)
        );
    }
}

#[test]
fn integer_embedding_needs_token_calibration() {
    let mut b = builder(Activation::Linear);
    b.quantize(NumFormat::Integer);
    assert!(matches!(b.build(), Err(Error::Quantization { .. })));
    // Vector calibration data does not fit a token model either.
    b.calibration(&[0.5; 20]);
    assert!(matches!(b.build(), Err(Error::Quantization { .. })));
    // Nor do token ids beyond the vocabulary.
    b.calibration_tokens(&[1, 2, VOCAB]);
    assert!(matches!(b.build(), Err(Error::Quantization { .. })));
}
