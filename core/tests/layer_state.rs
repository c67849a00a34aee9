//! `Model::layer_state` / `set_layer_state`: every fault is an error that
//! leaves the state as it was.
#![cfg(feature = "alloc")]

use tinyrnn::{Activation, Error, GruVariant, Model, ModelBuilder, State};

/// A call of `set_layer_state` (layer, h, c) and the error it must give.
type Fault<'a> = (usize, &'a [f32], Option<&'a [f32]>, Error);

#[test]
fn set_layer_state_checks_everything_before_writing() {
    let mut b = ModelBuilder::new(1);
    b.lstm(2, &[0.1; 8], &[0.2; 16], &[0.0; 8]);
    b.gru(
        3,
        GruVariant::ResetAfter,
        &[0.1; 18],
        &[0.2; 27],
        &[0.0; 9],
        &[0.0; 9],
    );
    b.dense(1, Activation::Linear, &[0.5; 3], &[0.0]);
    let bytes = b.build().unwrap();
    let buf = tinyrnn::AlignedBuf::from_slice(&bytes);
    let model: Model<'_> = Model::from_bytes(&buf).unwrap();
    let mut state = State::<64>::new(&model).unwrap();
    model
        .set_layer_state(&mut state, 0, &[1.0, 2.0], Some(&[3.0, 4.0]))
        .unwrap();
    model
        .set_layer_state(&mut state, 1, &[5.0, 6.0, 7.0], None)
        .unwrap();
    let before = state.clone();
    let faults: [Fault<'_>; 5] = [
        // c for a GRU (no cell state): used to write h, then report NoSuchLayer
        (
            1,
            &[9.0; 3],
            Some(&[9.0; 3]),
            Error::InputLength {
                expected: 0,
                found: 3,
            },
        ),
        // c of the wrong length: used to write h first
        (
            0,
            &[9.0; 2],
            Some(&[9.0; 1]),
            Error::InputLength {
                expected: 2,
                found: 1,
            },
        ),
        (
            0,
            &[9.0; 3],
            None,
            Error::InputLength {
                expected: 2,
                found: 3,
            },
        ),
        (2, &[9.0; 1], None, Error::NoSuchLayer { layer: 2 }),
        (3, &[9.0; 1], None, Error::NoSuchLayer { layer: 3 }),
    ];
    for (layer, h, c, err) in faults {
        assert_eq!(
            model.set_layer_state(&mut state, layer, h, c),
            Err(err),
            "layer {layer}"
        );
        assert!(state == before, "layer {layer}: the state changed");
    }
    assert_eq!(
        model.layer_state(&state, 0).unwrap(),
        (&[1.0, 2.0][..], Some(&[3.0, 4.0][..]))
    );
    assert_eq!(
        model.layer_state(&state, 1).unwrap(),
        (&[5.0, 6.0, 7.0][..], None)
    );
}
