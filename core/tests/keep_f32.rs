//! `ModelBuilder::keep_f32`: one layer stays f32 while the rest is quantized.
//! The case it is for: an input standardization `(x - mean) / std` written
//! as a diagonal Dense layer in front of the network, on raw inputs far from
//! zero, whose bias f16 cannot hold closely enough.
#![cfg(all(feature = "quant", feature = "alloc"))]

mod common;

use common::{max_dev, values};
use tinyrnn::quant::NumFormat;
use tinyrnn::{Activation, AlignedBuf, Error, Layer, Model, ModelBuilder, StateVec};

const MEAN: [f32; 3] = [1013.0, -250.0, 40.0];
const STD: [f32; 3] = [2.5, 4.0, 0.5];

/// Standardization (Dense 3 -> 3, diagonal) -> LSTM 8 -> Dense 1.
fn builder() -> ModelBuilder {
    let mut s = 0x0bad_cafe_1234_5678u64;
    let mut w = [0.0f32; 9];
    let mut b = [0.0f32; 3];
    for j in 0..3 {
        w[j * 3 + j] = 1.0 / STD[j];
        b[j] = -MEAN[j] / STD[j];
    }
    let mut m = ModelBuilder::new(3);
    m.dense(3, Activation::Linear, &w, &b);
    m.lstm(
        8,
        &values(&mut s, 32 * 3, 0.7),
        &values(&mut s, 32 * 8, 0.5),
        &values(&mut s, 32, 0.3),
    );
    m.dense(1, Activation::Linear, &values(&mut s, 8, 0.8), &[0.1]);
    m
}

/// Raw inputs: each feature within 2 standard deviations of its mean.
fn inputs(steps: usize) -> Vec<f32> {
    let mut s = 77u64;
    values(&mut s, steps * 3, 2.0)
        .iter()
        .enumerate()
        .map(|(k, v)| MEAN[k % 3] + v * STD[k % 3])
        .collect()
}

fn run(file: &[u8], xs: &[f32]) -> Vec<f32> {
    let file = AlignedBuf::from_slice(file);
    let model = Model::from_bytes(&file).expect("loads");
    let mut s = StateVec::new(&model);
    let mut y = [0.0f32];
    xs.chunks_exact(3)
        .map(|x| {
            model.step(&mut s, x, &mut y).expect("steps");
            y[0]
        })
        .collect()
}

#[test]
fn a_kept_layer_stays_f32_and_keeps_the_outputs_close() {
    let xs = inputs(40);
    let f32_out = run(&builder().build().unwrap(), &xs);
    for format in [NumFormat::F16, NumFormat::I8] {
        let kept = builder().quantize(format).keep_f32(0).build().unwrap();
        let whole = builder().quantize(format).build().unwrap();
        let buf = AlignedBuf::from_slice(&kept);
        let model = Model::from_bytes(&buf).unwrap();
        assert!(matches!(model.layers()[0], Layer::Dense(_)), "{format:?}");
        assert!(matches!(model.layers()[1], Layer::Quant(_)), "{format:?}");
        assert!(matches!(model.layers()[2], Layer::Quant(_)), "{format:?}");
        let (dev_kept, dev_whole) = (
            max_dev(&f32_out, &run(&kept, &xs)),
            max_dev(&f32_out, &run(&whole, &xs)),
        );
        // The recurrent and head layers' own rounding only (measured:
        // 1.7e-4 in f16, 1.9e-3 in i8).
        assert!(dev_kept < 0.01, "{format:?}: {dev_kept}");
        if format == NumFormat::F16 {
            // f16 holds the bias -1013 / 2.5 = -405.2 to within 0.125, an
            // eighth of a standard deviation (measured: 2.0e-2, 123x). In i8
            // the diagonal layer comes out the same either way: each row's
            // one weight is its scale times 127, and biases stay f32.
            assert!(dev_whole > 20.0 * dev_kept, "{dev_whole} vs {dev_kept}");
        }
    }
}

#[test]
fn an_integer_model_cannot_keep_a_layer_in_f32() {
    let calib = inputs(30);
    let err = builder()
        .quantize(NumFormat::Integer)
        .calibration(&calib)
        .keep_f32(0)
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        Error::UnsupportedFormat {
            layer: 0,
            code: NumFormat::F32.code()
        }
    );
    assert_eq!(
        builder().keep_f32(3).build().unwrap_err(),
        Error::NoSuchLayer { layer: 3 }
    );
}
