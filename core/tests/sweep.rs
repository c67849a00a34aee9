//! The sweep word: large f32 Elman, LSTM and GRU layers are swept forward and backward
//! on alternate steps by the host's SIMD kernels, and the state's last word
//! records which way the next step goes (`Model::step`, "Sweep direction").
#![cfg(feature = "alloc")]

use tinyrnn::sized::{Elman, Gru, Lstm, Model as Sized};
use tinyrnn::{
    Activation, AlignedBuf, GruVariant, Kernel, Layout, Math, Model, ModelBuilder, StateStorage,
    StateVec,
};

mod common;

/// `n` values uniform in [-s, s) from the odd seed `seed | 1`.
fn vec(seed: u64, n: usize, s: f32) -> Vec<f32> {
    common::values(&mut (seed | 1), n, s)
}

fn gru(input: usize, hidden: usize, layout: Layout) -> AlignedBuf {
    let s = 1.0 / (hidden as f32).sqrt();
    let g = 3 * hidden;
    let mut b = ModelBuilder::new(input);
    b.layout(layout).gru(
        hidden,
        GruVariant::ResetAfter,
        &vec(1, g * input, s),
        &vec(2, g * hidden, s),
        &vec(3, g, s),
        &vec(4, g, s),
    );
    AlignedBuf::from_slice(&b.build().unwrap())
}

fn lstm(input: usize, hidden: usize, layout: Layout) -> AlignedBuf {
    let s = 1.0 / (hidden as f32).sqrt();
    let g = 4 * hidden;
    let mut b = ModelBuilder::new(input);
    b.layout(layout).lstm(
        hidden,
        &vec(5, g * input, s),
        &vec(6, g * hidden, s),
        &vec(7, g, s),
    );
    AlignedBuf::from_slice(&b.build().unwrap())
}

fn elman(input: usize, hidden: usize, layout: Layout) -> AlignedBuf {
    let s = 1.0 / (hidden as f32).sqrt();
    let mut b = ModelBuilder::new(input);
    b.layout(layout).elman(
        hidden,
        Activation::Tanh,
        &vec(8, hidden * input, s),
        &vec(9, hidden * hidden, s),
        &vec(10, hidden, s),
    );
    AlignedBuf::from_slice(&b.build().unwrap())
}

/// Words of a state besides recurrent state and scratch (no Dense layers
/// here, so no io buffers): 1 with the sweep word, else 0.
fn extra_words(model: &Model<'_>, scratch: usize) -> usize {
    model.state_len() - model.recurrent_state_len() - scratch
}

#[test]
fn only_layers_whose_weights_stream_add_the_word() {
    // GRU: 3 gate blocks; 192 x 64 = 12,288 weights stream, 96 x 32 do not.
    let big = gru(1, 64, Layout::ColMajor8);
    let small = gru(1, 32, Layout::ColMajor8);
    let rowmajor = gru(1, 64, Layout::RowMajor);
    // LSTM 1x40: 160 x 41 = 6,560 weights, tiled; 1x48: 192 x 49 = 9,408.
    let lstm40 = lstm(1, 40, Layout::ColMajor8);
    let lstm48 = lstm(1, 48, Layout::ColMajor8);
    // Elman: 1 gate block; 128 x 129 = 16,512 weights stream, 64 x 80 do not.
    let elman128 = elman(1, 128, Layout::ColMajor8);
    let elman64 = elman(16, 64, Layout::ColMajor8);
    for (bytes, scratch, word, name) in [
        (&big, 6 * 64, 1, "gru 1x64"),
        (&small, 6 * 32, 0, "gru 1x32"),
        (&rowmajor, 6 * 64, 0, "gru 1x64 row-major"),
        (&lstm40, 4 * 40, 0, "lstm 1x40"),
        (&lstm48, 4 * 48, 1, "lstm 1x48"),
        (&elman128, 128, 1, "elman 1x128"),
        (&elman64, 64, 0, "elman 16x64"),
    ] {
        let model = Model::from_bytes(bytes).unwrap();
        assert_eq!(extra_words(&model, scratch), word, "{name}");
    }
}

/// Runs `steps` steps of `model` from a reset state; with `forward_only`
/// the sweep word is cleared before each step, so every step sweeps
/// forward. Returns every output and the final state.
fn run(model: &Model<'_>, xs: &[f32], forward_only: bool) -> (Vec<f32>, StateVec) {
    let mut state = StateVec::new(model);
    let mut out = Vec::new();
    let mut y = vec![0.0; model.output_size()];
    for x in xs.chunks(model.input_size()) {
        if forward_only {
            if let Some(w) = state.words_mut().last_mut() {
                *w = 0.0;
            }
        }
        model.step(&mut state, x, &mut y).unwrap();
        out.extend_from_slice(&y);
    }
    (out, state)
}

#[test]
fn steps_alternate_direction_and_stay_within_the_reference() {
    for (name, bytes, input) in [
        ("gru 1x64", gru(1, 64, Layout::ColMajor8), 1),
        ("gru 16x64", gru(16, 64, Layout::ColMajor8), 16),
        ("lstm 1x64", lstm(1, 64, Layout::ColMajor8), 1),
        ("lstm 3x100", lstm(3, 100, Layout::ColMajor8), 3),
        ("elman 1x128", elman(1, 128, Layout::ColMajor8), 1),
        ("elman 5x100", elman(5, 100, Layout::ColMajor8), 5),
    ] {
        let steps = 24;
        let xs = vec(9, steps * input, 1.0);
        let model = Model::from_bytes(&bytes).unwrap().with_math(Math::Fast);
        let scalar = model.clone().with_kernel(Kernel::Scalar);
        let (want, _) = run(&scalar, &xs, false);
        let (got, state) = run(&model, &xs, false);
        let (fwd, _) = run(&model, &xs, true);
        let worst = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, |m, d| if d.is_nan() { f32::NAN } else { m.max(d) });
        assert!(worst <= 1e-5, "{name}: {worst:e} from the scalar kernel");
        if Kernel::native() != Kernel::Simd {
            continue;
        }
        // 24 steps: the word went 0, 1, 0, ... and is 0 again.
        assert_eq!(state.words().last(), Some(&0.0), "{name}");
        // Backward sweeps sum in another order: the last bits differ.
        assert_ne!(got, fwd, "{name}: no step swept backward");
    }
}

#[test]
fn a_copied_state_steps_on_as_the_original_and_a_fault_leaves_the_word() {
    let bytes = gru(1, 64, Layout::ColMajor8);
    let model = Model::from_bytes(&bytes).unwrap().with_math(Math::Fast);
    let xs = vec(11, 20, 1.0);
    let mut state = StateVec::new(&model);
    let mut y = [0.0; 64];
    for x in &xs[..7] {
        model.step(&mut state, &[*x], &mut y).unwrap();
    }
    // A step that fails changes nothing, the word included.
    let before = state.clone();
    assert!(model.step(&mut state, &[0.5], &mut [0.0; 3]).is_err());
    assert!(model.step(&mut state, &[0.5, 0.5], &mut y).is_err());
    assert_eq!(state, before);
    let mut copy = state.clone();
    let (mut a, mut b) = ([0.0; 64], [0.0; 64]);
    for x in &xs[7..] {
        model.step(&mut state, &[*x], &mut a).unwrap();
        model.step(&mut copy, &[*x], &mut b).unwrap();
        assert_eq!(a.map(f32::to_bits), b.map(f32::to_bits));
    }
    // A reset state starts forward again.
    copy.reset();
    assert_eq!(copy.words().last(), Some(&0.0));
}

#[test]
fn sized_layers_alternate_as_model_step_does() {
    let steps = 15;
    let xs = vec(13, steps, 1.0);
    let g = gru(1, 64, Layout::ColMajor8);
    let l = lstm(1, 64, Layout::ColMajor8);
    let gm = Model::from_bytes(&g).unwrap().with_math(Math::Fast);
    let lm = Model::from_bytes(&l).unwrap().with_math(Math::Fast);
    let (want_g, _) = run(&gm, &xs, false);
    let (want_l, _) = run(&lm, &xs, false);
    let e = elman(1, 128, Layout::ColMajor8);
    let em = Model::from_bytes(&e).unwrap().with_math(Math::Fast);
    let (want_e, _) = run(&em, &xs, false);
    let gs = Sized::<Gru<1, 64>>::new(&gm).unwrap();
    let ls = Sized::<Lstm<1, 64>>::new(&lm).unwrap();
    let es = Sized::<Elman<1, 128>>::new(&em).unwrap();
    let (mut sg, mut sl, mut se) = (gs.new_state(), ls.new_state(), es.new_state());
    let (mut got_g, mut got_l, mut got_e) = (Vec::new(), Vec::new(), Vec::new());
    for x in &xs {
        got_g.extend(gs.step(&[*x], &mut sg));
        got_l.extend(ls.step(&[*x], &mut sl));
        got_e.extend(es.step(&[*x], &mut se));
    }
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&got_g), bits(&want_g));
    assert_eq!(bits(&got_l), bits(&want_l));
    assert_eq!(bits(&got_e), bits(&want_e));
}
