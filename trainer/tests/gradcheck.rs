//! Finite-difference gradient checks, in f64, of the same generic code that trains in f32.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tinyrnn_trainer::cell::{CellKind, ElmanAct, GruVariant};
use tinyrnn_trainer::loss::{HeadAct, LossKind, Targets};
use tinyrnn_trainer::model::{
    initial_params, Chunk, ChunkInput, HeadSpec, InitScheme, InputSpec, LayerSpec, ModelSpec, Net,
    NetWorkspace,
};

const KINDS: [CellKind; 5] = [
    CellKind::Elman(ElmanAct::Tanh),
    CellKind::Elman(ElmanAct::Relu),
    CellKind::Lstm,
    CellKind::Gru(GruVariant::ResetAfter),
    CellKind::Gru(GruVariant::ResetBefore),
];

/// Largest allowed relative error `|a - n| / max(|a| + |n|, FLOOR)`.
const REL_TOL: f64 = 1e-5;
const FLOOR: f64 = 1e-4;
const EPS: f64 = 1e-6;

struct Case {
    kind: CellKind,
    many_to_many: bool,
    masked: bool,
    tokens: bool,
    loss: LossKind,
    /// Cross-entropy with a weight per class (`--class-weight`).
    weighted: bool,
}

fn run_case(case: &Case, seed: u64) -> f64 {
    let (b, t, f, o) = (3, 5, 3, 4);
    let input = if case.tokens {
        InputSpec::Tokens { vocab: 6, dim: 3 }
    } else {
        InputSpec::Features { size: f }
    };
    let act = match case.loss {
        LossKind::CrossEntropy => HeadAct::Softmax,
        LossKind::Bce => HeadAct::Sigmoid,
        LossKind::Mse => HeadAct::Tanh,
    };
    let spec = ModelSpec {
        input,
        layers: vec![
            LayerSpec {
                kind: case.kind,
                hidden: 5,
            },
            LayerSpec {
                kind: case.kind,
                hidden: 4,
            },
        ],
        head: Some(HeadSpec { out: o, act }),
        many_to_many: case.many_to_many,
        dropout: 0.0,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut params = initial_params(&spec, InitScheme::Fused, seed);
    // non-zero biases everywhere, weights a bit larger so every path matters
    params
        .iter_mut()
        .for_each(|p| *p = *p * 1.5 + rng.random_range(-0.3..0.3));
    let x: Vec<f64> = (0..t * b * f)
        .map(|_| rng.random_range(-1.5..1.5))
        .collect();
    let tok: Vec<u32> = (0..t * b).map(|_| rng.random_range(0..6)).collect();
    let mask: Vec<f64> = (0..t * b)
        .map(|i| {
            let (step, seq) = (i / b, i % b);
            // sequence `seq` has 5 - seq real steps, padding after them; seq 1 also has a hole
            if step >= t - seq || (seq == 1 && step == 1) {
                0.0
            } else {
                1.0
            }
        })
        .collect();
    let rows = if case.many_to_many { t * b } else { b };
    let classes: Vec<u32> = (0..rows).map(|_| rng.random_range(0..o as u32)).collect();
    let values: Vec<f64> = (0..rows * o)
        .map(|_| match case.loss {
            LossKind::Bce => f64::from(rng.random_range(0..2u8)),
            _ => rng.random_range(-0.9..0.9),
        })
        .collect();
    let class_weight = [0.5, 2.0, 1.0, 3.0];
    let targets = || match case.loss {
        LossKind::CrossEntropy if case.weighted => {
            Targets::WeightedClasses(&classes, &class_weight)
        }
        LossKind::CrossEntropy => Targets::Classes(&classes),
        _ => Targets::Values(&values),
    };
    let chunk = Chunk {
        b,
        t,
        x: if case.tokens {
            ChunkInput::Tokens(&tok)
        } else {
            ChunkInput::Dense(&x)
        },
        mask: case.masked.then_some(&mask[..]),
        targets: targets(),
    };
    let loss_of = |p: &[f64]| {
        let net = Net::<f64>::from_f64(spec.clone(), p);
        let mut ws = NetWorkspace::default();
        net.forward(&mut ws, &chunk, None, None);
        let (l, _, n) = net.loss_backward(&mut ws, &chunk, case.loss, 1.0, None);
        l / n as f64
    };
    let net = Net::<f64>::from_f64(spec.clone(), &params);
    let mut ws = NetWorkspace::default();
    net.forward(&mut ws, &chunk, None, None);
    let (_, _, n) = net.loss_backward(&mut ws, &chunk, case.loss, 0.0, None);
    let mut grads = vec![0.0; params.len()];
    net.loss_backward(&mut ws, &chunk, case.loss, 1.0 / n as f64, Some(&mut grads));
    let mut worst = 0.0f64;
    let mut p = params.clone();
    for i in 0..params.len() {
        p[i] = params[i] + EPS;
        let lp = loss_of(&p);
        p[i] = params[i] - EPS;
        let lm = loss_of(&p);
        p[i] = params[i];
        let num = (lp - lm) / (2.0 * EPS);
        let err = (grads[i] - num).abs() / (grads[i].abs() + num.abs()).max(FLOOR);
        worst = worst.max(err);
    }
    worst
}

#[test]
fn every_cell_matches_finite_differences() {
    let mut report = Vec::new();
    for kind in KINDS {
        let mut worst = 0.0f64;
        for (i, (m2m, masked, tokens, loss, weighted)) in [
            (false, false, false, LossKind::CrossEntropy, false),
            (true, false, false, LossKind::CrossEntropy, false),
            (false, true, false, LossKind::CrossEntropy, false),
            (true, true, true, LossKind::Mse, false),
            (true, false, false, LossKind::Bce, false),
            (false, true, true, LossKind::Mse, false),
            (false, false, false, LossKind::CrossEntropy, true),
            (true, true, false, LossKind::CrossEntropy, true),
        ]
        .into_iter()
        .enumerate()
        {
            let case = Case {
                kind,
                many_to_many: m2m,
                masked,
                tokens,
                loss,
                weighted,
            };
            let e = run_case(&case, 11 + i as u64);
            assert!(
                e < REL_TOL,
                "{kind:?} m2m={m2m} masked={masked} tokens={tokens} {loss:?} weighted={weighted}: max rel error {e:.3e}"
            );
            eprintln!("{kind:?} m2m={m2m} masked={masked} tokens={tokens} {loss:?} weighted={weighted}: {e:.2e}");
            worst = worst.max(e);
        }
        report.push(format!("{}: {worst:.2e}", kind.name()));
    }
    println!("gradient check max relative error: {}", report.join(", "));
}
