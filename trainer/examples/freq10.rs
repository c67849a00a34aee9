//! freq10 benchmark (issue 4 item 8): two recurrent layers of 64, Dense(10, softmax),
//! batch 32, Adam 1e-3, 5 epochs, the last 20% for validation.
//!
//! usage: cargo run --release -p tinyrnn-trainer --example freq10 -- DATA_DIR [CELLS] [THREADS] [EPOCHS] [SEED] [CLIP_NORM] [INIT]
//! DATA_DIR holds X.npy / y.npy from `python shared/anchors/data.py DATA_DIR`
//! (or `-` for the built-in generator). CELLS like `lstm,gru,elman`, THREADS like `1,2`;
//! CLIP_NORM bounds the gradient's global norm as `tinyrnn train --clip-norm` does (default 5;
//! 0 for none, as Keras); INIT is `per-gate` (default) or `fused` (Keras 2/3's draw), as
//! `tinyrnn train --init`.
//! Prints one JSON line per cell and thread count.

use std::path::Path;
use std::time::Instant;

use clap::ValueEnum;
use tinyrnn_trainer::cell::{CellKind, ElmanAct, GruVariant};
use tinyrnn_trainer::data::{freq10, Dataset};
use tinyrnn_trainer::loss::{HeadAct, LossKind};
use tinyrnn_trainer::model::{HeadSpec, InitScheme, InputSpec, LayerSpec, ModelSpec, Net};
use tinyrnn_trainer::optim::{clip_norm_from_arg, OptimConfig};
use tinyrnn_trainer::train::{TrainConfig, Trainer};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).map(String::as_str).unwrap_or("-");
    let cells = args.get(2).map(String::as_str).unwrap_or("lstm,gru,elman");
    let threads = args.get(3).map(String::as_str).unwrap_or("1,2");
    let epochs: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(5);
    let seed: u64 = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(0);
    let clip_norm = match args.get(6).map(|s| s.parse::<f32>()) {
        None => OptimConfig::default().clip_norm,
        Some(Ok(c)) if c >= 0.0 => clip_norm_from_arg(c),
        Some(_) => panic!("CLIP_NORM must be a number >= 0"),
    };
    let init = match args.get(7) {
        None => InitScheme::default(),
        Some(s) => InitScheme::from_str(s, false).unwrap_or_else(|e| panic!("INIT: {e}")),
    };
    let data = if dir == "-" {
        freq10::generate(4096, 50, 8, 0)
    } else {
        let d = Path::new(dir);
        Dataset::from_npy(&d.join("X.npy"), Some(&d.join("y.npy")), None).unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(1)
        })
    };
    let (train, val) = data.split_tail(0.2);
    for cell in cells.split(',') {
        let kind = match cell {
            "lstm" => CellKind::Lstm,
            "gru" => CellKind::Gru(GruVariant::ResetAfter),
            "gru-before" => CellKind::Gru(GruVariant::ResetBefore),
            "elman" | "rnn" => CellKind::Elman(ElmanAct::Tanh),
            other => panic!("unknown cell {other}"),
        };
        for th in threads.split(',') {
            let th: usize = th.parse().expect("thread count");
            let spec = ModelSpec {
                input: InputSpec::Features {
                    size: train.features(),
                },
                layers: vec![
                    LayerSpec { kind, hidden: 64 },
                    LayerSpec { kind, hidden: 64 },
                ],
                head: Some(HeadSpec {
                    out: 10,
                    act: HeadAct::Softmax,
                }),
                many_to_many: false,
                dropout: 0.0,
            };
            let cfg = TrainConfig {
                epochs,
                batch_size: 32,
                seed,
                init,
                threads: th,
                optim: OptimConfig {
                    clip_norm,
                    ..OptimConfig::default()
                },
                loss: LossKind::CrossEntropy,
                tbptt: None,
                patience: None,
                class_weight: None,
            };
            let mut tr = Trainer::new(Net::init_with(spec, init, seed), cfg);
            let mut times = Vec::new();
            for _ in 0..epochs {
                let t0 = Instant::now();
                tr.train_epoch(&train, &mut |_, _, _, _| {})
                    .expect("training diverged");
                times.push(t0.elapsed().as_secs_f64());
            }
            let v = tr.evaluate(&val, None);
            let mut sorted = if times.len() > 1 {
                times[1..].to_vec()
            } else {
                times.clone()
            };
            sorted.sort_by(f64::total_cmp);
            let median = sorted[sorted.len() / 2];
            println!(
                "{{\"impl\":\"tinyrnn\",\"cell\":\"{cell}\",\"hidden\":64,\"layers\":2,\"threads\":{th},\"seed\":{seed},\"init\":\"{}\",\"epochs\":{epochs},\"sec_per_epoch_median\":{median:.4},\"sec_per_epoch\":{times:?},\"val_acc\":{:.4},\"val_loss\":{:.4},\"train_seqs\":{}}}",
                init.to_possible_value().expect("named").get_name(),
                v.metric,
                v.loss,
                train.n
            );
        }
    }
}
