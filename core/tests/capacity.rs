//! `Model<'_, L>`: a model type sized to its layers. The same file steps to the
//! same bits at any capacity that holds it, a smaller capacity is refused
//! with `Error::TooManyLayers`, and the value shrinks with `L`.
#![cfg(all(feature = "quant", feature = "alloc"))]

mod common;

use common::values;
use tinyrnn::quant::{IntModel, NumFormat};
use tinyrnn::{Activation, AlignedBuf, Error, Model, ModelBuilder, State};

/// LSTM 3 -> 8, then Dense 8 -> 2 (two layers).
fn builder() -> ModelBuilder {
    let mut s = 0x0bad_cafe_1234_5678u64;
    let mut b = ModelBuilder::new(3);
    b.lstm(
        8,
        &values(&mut s, 32 * 3, 0.6),
        &values(&mut s, 32 * 8, 0.5),
        &values(&mut s, 32, 0.3),
    );
    b.dense(
        2,
        Activation::Tanh,
        &values(&mut s, 2 * 8, 0.7),
        &values(&mut s, 2, 0.1),
    );
    b
}

fn stream<const L: usize>(model: &Model<'_, L>) -> Vec<f32> {
    let mut state = State::<128>::new(model).unwrap();
    let mut s = 7u64;
    let xs = values(&mut s, 3 * 20, 1.0);
    let mut out = Vec::new();
    for x in xs.chunks_exact(3) {
        let mut y = [0.0f32; 2];
        model.step(&mut state, x, &mut y).unwrap();
        out.extend_from_slice(&y);
    }
    out
}

#[test]
fn a_model_sized_to_its_layers_steps_like_the_default_one() {
    let file = AlignedBuf::from_slice(&builder().build().unwrap());
    let full = Model::from_bytes(&file).unwrap();
    let two = Model::<2>::from_bytes_with_capacity(&file).unwrap();
    let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
    assert_eq!(bits(stream(&two)), bits(stream(&full)));
    assert_eq!(two.layers().len(), 2);
    assert!(core::mem::size_of::<Model<'_, 2>>() < core::mem::size_of::<Model<'_>>() / 4);
}

#[test]
fn a_capacity_below_the_layer_count_is_refused() {
    let file = AlignedBuf::from_slice(&builder().build().unwrap());
    let err = Model::<1>::from_bytes_with_capacity(&file).unwrap_err();
    assert_eq!(
        err,
        Error::TooManyLayers {
            found: 2,
            capacity: 1
        }
    );
    assert!(err.to_string().contains("2 layers"), "{err}");
}

#[test]
fn an_integer_model_of_small_capacity_steps_like_the_default_one() {
    let mut s = 99u64;
    let calib = values(&mut s, 3 * 64, 1.0);
    let file = builder()
        .quantize(NumFormat::Integer)
        .calibration(&calib)
        .build()
        .unwrap();
    let file = AlignedBuf::from_slice(&file);
    let (full, two) = (
        Model::from_bytes(&file).unwrap(),
        Model::<2>::from_bytes_with_capacity(&file).unwrap(),
    );
    let (a, b) = (IntModel::new(&full).unwrap(), IntModel::new(&two).unwrap());
    assert_eq!(a.state_len(), b.state_len());
    let (mut wa, mut wb) = (vec![0i32; a.state_len()], vec![0i32; b.state_len()]);
    for t in 0..20i16 {
        let x = [t * 300 - 3000, 1000 - t * 90, 77 * t];
        let (mut ya, mut yb) = ([0i16; 2], [0i16; 2]);
        a.step(&mut wa, &x, &mut ya).unwrap();
        b.step(&mut wb, &x, &mut yb).unwrap();
        assert_eq!(ya, yb, "step {t}");
    }
}
