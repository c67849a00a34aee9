//! Masks, truncated BPTT, early stopping and determinism at the library level.

use tinyrnn_trainer::cell::{CellKind, ElmanAct, GruVariant};
use tinyrnn_trainer::data::{freq10, DataInput, Dataset};
use tinyrnn_trainer::loss::{HeadAct, LossKind, Targets};
use tinyrnn_trainer::model::{
    initial_params, Chunk, ChunkInput, HeadSpec, InitScheme, InputSpec, LayerSpec, ModelSpec, Net,
    NetWorkspace,
};
use tinyrnn_trainer::optim::OptimConfig;
use tinyrnn_trainer::train::{TrainConfig, Trainer};

fn spec(kind: CellKind, f: usize) -> ModelSpec {
    ModelSpec {
        input: InputSpec::Features { size: f },
        layers: vec![LayerSpec { kind, hidden: 6 }, LayerSpec { kind, hidden: 5 }],
        head: Some(HeadSpec {
            out: 3,
            act: HeadAct::Softmax,
        }),
        many_to_many: false,
        dropout: 0.0,
    }
}

#[test]
fn padded_steps_keep_the_state_like_a_shorter_sequence() {
    let (f, t_short, t_long) = (2, 4, 7);
    for kind in [
        CellKind::Elman(ElmanAct::Tanh),
        CellKind::Lstm,
        CellKind::Gru(GruVariant::ResetAfter),
        CellKind::Gru(GruVariant::ResetBefore),
    ] {
        let net = Net::<f64>::init(spec(kind, f), 5);
        let x: Vec<f64> = (0..t_long * f)
            .map(|i| ((i * 7 % 11) as f64 - 5.0) / 5.0)
            .collect();
        let classes = [1u32];
        let run = |t: usize, mask: Option<&[f64]>| {
            let mut ws = NetWorkspace::default();
            let chunk = Chunk {
                b: 1,
                t,
                x: ChunkInput::Dense(&x[..t * f]),
                mask,
                targets: Targets::Classes(&classes),
            };
            net.forward(&mut ws, &chunk, None, None);
            ws.y.clone()
        };
        let short = run(t_short, None);
        let mask: Vec<f64> = (0..t_long)
            .map(|s| if s < t_short { 1.0 } else { 0.0 })
            .collect();
        let padded = run(t_long, Some(&mask));
        for (a, b) in short.iter().zip(&padded) {
            assert!((a - b).abs() < 1e-14, "{kind:?}: {short:?} vs {padded:?}");
        }
    }
}

fn small_data() -> (Dataset, Dataset) {
    let ds = freq10::generate(96, 12, 3, 1);
    // three classes only, so the head of 3 fits
    let ds = match ds.targets {
        tinyrnn_trainer::data::DataTargets::Classes { ref y, .. } => Dataset {
            targets: tinyrnn_trainer::data::DataTargets::Classes {
                classes: 3,
                y: y.iter().map(|v| v % 3).collect(),
            },
            ..ds.clone()
        },
        _ => unreachable!(),
    };
    ds.split_tail(0.25)
}

fn cfg(threads: usize, tbptt: Option<usize>) -> TrainConfig {
    TrainConfig {
        epochs: 2,
        batch_size: 16,
        seed: 3,
        init: InitScheme::default(),
        threads,
        optim: OptimConfig::default(),
        loss: LossKind::CrossEntropy,
        tbptt,
        patience: None,
        class_weight: None,
    }
}

#[test]
fn tbptt_window_of_the_whole_sequence_is_full_bptt_and_shorter_windows_train() {
    let (train, val) = small_data();
    let f = train.features();
    let run = |tbptt: Option<usize>| {
        let mut tr = Trainer::new(Net::init(spec(CellKind::Lstm, f), 3), cfg(1, tbptt));
        for _ in 0..2 {
            tr.train_epoch(&train, &mut |_, _, _, _| {}).unwrap();
        }
        (tr.net.params.clone(), tr.evaluate(&val, None))
    };
    let (full, _) = run(None);
    let (same, _) = run(Some(12));
    assert_eq!(full, same);
    let (short, stats) = run(Some(5));
    assert_ne!(full, short);
    assert!(stats.loss.is_finite());
}

#[test]
fn tbptt_windows_end_at_the_last_step_so_a_final_loss_reaches_back_k_steps() {
    // Inputs only at steps 4..8 of 12, the loss after the last step: with
    // windows of 8 ending at step 12 the input weights learn; windows of 8
    // from step 0 ([0, 8), [8, 12)) would leave them unchanged.
    let (n, t) = (16, 12);
    let x: Vec<f32> = (0..n * t)
        .map(|i| {
            let (s, step) = (i / t, i % t);
            if (4..8).contains(&step) {
                if s % 2 == 0 {
                    1.0
                } else {
                    -1.0
                }
            } else {
                0.0
            }
        })
        .collect();
    let data = Dataset {
        n,
        t,
        input: DataInput::Dense { f: 1, x },
        targets: tinyrnn_trainer::data::DataTargets::Classes {
            classes: 2,
            y: (0..n as u32).map(|s| s % 2).collect(),
        },
        per_step: false,
        mask: None,
    };
    let spec = ModelSpec {
        input: InputSpec::Features { size: 1 },
        layers: vec![LayerSpec {
            kind: CellKind::Elman(ElmanAct::Tanh),
            hidden: 4,
        }],
        head: Some(HeadSpec {
            out: 2,
            act: HeadAct::Softmax,
        }),
        many_to_many: false,
        dropout: 0.0,
    };
    let w_x_change = |k: usize| {
        let net = Net::init(spec.clone(), 1);
        let before = net.params[..4].to_vec();
        let mut c = cfg(1, Some(k));
        c.batch_size = n;
        let mut tr = Trainer::new(net, c);
        tr.train_epoch(&data, &mut |_, _, _, _| {}).unwrap();
        tr.net.params[..4]
            .iter()
            .zip(&before)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max)
    };
    assert!(w_x_change(8) > 1e-4, "{}", w_x_change(8));
    assert!(w_x_change(12) > 1e-4);
    // a window of 4 ([8, 12) last) cannot reach the inputs
    assert_eq!(w_x_change(4), 0.0);
}

#[test]
fn same_seed_same_parameters_and_data_parallel_matches_serial_closely() {
    let (train, _) = small_data();
    let f = train.features();
    let run = |threads: usize| {
        let mut tr = Trainer::new(
            Net::init(spec(CellKind::Gru(GruVariant::ResetAfter), f), 3),
            cfg(threads, None),
        );
        tr.train_epoch(&train, &mut |_, _, _, _| {}).unwrap();
        tr.net.params.clone()
    };
    assert_eq!(run(2), run(2));
    let (a, b) = (run(1), run(2));
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "1 vs 2 threads differ by {worst}");
}

#[test]
fn dropout_and_token_input_train_without_error() {
    let ds = freq10::generate(40, 10, 1, 2);
    let DataInput::Dense { x, .. } = &ds.input else {
        unreachable!()
    };
    let tokens: Vec<u32> = x
        .iter()
        .map(|v| ((v + 2.0).clamp(0.0, 3.99) as u32).min(3))
        .collect();
    let ds = Dataset {
        input: DataInput::Tokens {
            vocab: 4,
            x: tokens,
        },
        ..ds
    };
    let spec = ModelSpec {
        input: InputSpec::Tokens { vocab: 4, dim: 3 },
        layers: vec![
            LayerSpec {
                kind: CellKind::Elman(ElmanAct::Relu),
                hidden: 8,
            },
            LayerSpec {
                kind: CellKind::Lstm,
                hidden: 8,
            },
        ],
        head: Some(HeadSpec {
            out: 10,
            act: HeadAct::Softmax,
        }),
        many_to_many: false,
        dropout: 0.3,
    };
    let mut tr = Trainer::new(Net::init(spec, 1), cfg(2, None));
    let s = tr.train_epoch(&ds, &mut |_, _, _, _| {}).unwrap();
    assert!(s.loss.is_finite() && s.rows == 40);
}

#[test]
fn validation_split_takes_the_tail_like_keras() {
    // Keras: the first floor(n * (1 - frac)) sequences train, the rest validate.
    for (n, frac, train_n) in [
        (4096, 0.2, 3276),
        (10, 0.33, 6),
        (96, 0.25, 72),
        (5, 0.0, 5),
    ] {
        let ds = freq10::generate(n, 2, 1, 0);
        let (train, val) = ds.split_tail(frac);
        assert_eq!(
            (train.n, val.n),
            (train_n, n - train_n),
            "n {n}, split {frac}"
        );
        // the validation part is the tail, in order
        let pick = |d: &Dataset, i: usize| match &d.input {
            DataInput::Dense { x, .. } => x[i * 2..(i + 1) * 2].to_vec(),
            DataInput::Tokens { .. } => unreachable!(),
        };
        if val.n > 0 {
            assert_eq!(pick(&val, 0), pick(&ds, train_n));
            assert_eq!(pick(&val, val.n - 1), pick(&ds, n - 1));
        }
    }
}

/// `W^T W` of a row-major `rows x cols` block, against the identity.
fn gram_error(w: &[f64], rows: usize, cols: usize) -> f64 {
    let mut worst = 0.0f64;
    for a in 0..cols {
        for b in 0..cols {
            let dot: f64 = (0..rows).map(|r| w[r * cols + a] * w[r * cols + b]).sum();
            let want = if a == b { 1.0 } else { 0.0 };
            worst = worst.max((dot - want).abs());
        }
    }
    worst
}

#[test]
fn per_gate_init_gives_every_gate_its_own_glorot_and_orthogonal_draw() {
    let (f, h) = (3, 8);
    for kind in [
        CellKind::Lstm,
        CellKind::Gru(GruVariant::ResetAfter),
        CellKind::Gru(GruVariant::ResetBefore),
    ] {
        let gates = kind.gates();
        let spec = ModelSpec {
            input: InputSpec::Features { size: f },
            layers: vec![LayerSpec { kind, hidden: h }],
            head: None,
            many_to_many: true,
            dropout: 0.0,
        };
        let layer = spec.layout().layers[0].clone();
        let (per, fused) = (
            initial_params(&spec, InitScheme::PerGate, 4)[layer.clone()].to_vec(),
            initial_params(&spec, InitScheme::Fused, 4)[layer].to_vec(),
        );
        let (wx, wh) = (gates * h * f, gates * h * h);
        let per_limit = (6.0 / (f + h) as f64).sqrt();
        let fused_limit = (6.0 / (f + gates * h) as f64).sqrt();
        for g in 0..gates {
            let block = &per[g * h * f..(g + 1) * h * f];
            assert!(block.iter().all(|v| v.abs() <= per_limit), "{kind:?}");
            assert!(
                block.iter().any(|v| v.abs() > fused_limit),
                "{kind:?} gate {g}: fused scale"
            );
            let rec = &per[wx + g * h * h..wx + (g + 1) * h * h];
            assert!(
                gram_error(rec, h, h) < 1e-12,
                "{kind:?} gate {g} not orthogonal"
            );
            assert!(
                gram_error(&fused[wx + g * h * h..wx + (g + 1) * h * h], h, h) > 0.1,
                "{kind:?} gate {g}: a fused draw's block is not orthogonal on its own"
            );
        }
        assert!(fused[..wx].iter().all(|v| v.abs() <= fused_limit));
        // The fused recurrent kernel [G*H, H] has orthonormal columns as a whole.
        assert!(
            gram_error(&fused[wx..wx + wh], gates * h, h) < 1e-12,
            "{kind:?}"
        );
        // Both leave the biases at Keras' values.
        let forget = if kind == CellKind::Lstm {
            h..2 * h
        } else {
            0..0
        };
        for p in [&per, &fused] {
            for (i, v) in p[wx + wh..wx + wh + gates * h].iter().enumerate() {
                assert_eq!(*v, if forget.contains(&i) { 1.0 } else { 0.0 });
            }
        }
    }
    // An Elman layer has one gate: the schemes draw the same weights.
    let elman = spec(CellKind::Elman(ElmanAct::Tanh), 3);
    assert_eq!(
        initial_params(&elman, InitScheme::PerGate, 9),
        initial_params(&elman, InitScheme::Fused, 9)
    );
}
