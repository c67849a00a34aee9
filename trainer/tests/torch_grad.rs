//! Loss and every gradient against PyTorch autograd (float64), from the goldens in
//! `tests/golden/torch_grad/*.json` (made by `tests/golden/make_torch_grad_golden.py`).
//!
//! PyTorch layout: `weight_ih_l{k}` `[G, I]`, `weight_hh_l{k}` `[G, H]`, two biases;
//! gate order LSTM i,f,g,o (same as ours), GRU r,z,n (ours z,r,n). Biases are
//! summed except GRU's, which keeps both (reset-after).

use std::path::PathBuf;

use serde_json::Value;
use tinyrnn_trainer::cell::{self, CellKind, ElmanAct, GruVariant};
use tinyrnn_trainer::loss::{HeadAct, LossKind, Targets};
use tinyrnn_trainer::model::{
    Chunk, ChunkInput, HeadSpec, InputSpec, LayerSpec, ModelSpec, Net, NetWorkspace,
};

/// Relative tolerance, with an absolute floor for values near zero.
const REL_TOL: f64 = 1e-4;
const ABS_FLOOR: f64 = 1e-9;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/torch_grad")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// Reorders GRU gate blocks r,z,n (PyTorch) to z,r,n (ours), or back (the swap is its own inverse).
fn swap_rz(v: &[f64], h: usize, cols: usize) -> Vec<f64> {
    let blk = h * cols;
    let mut out = v.to_vec();
    out[..blk].copy_from_slice(&v[blk..2 * blk]);
    out[blk..2 * blk].copy_from_slice(&v[..blk]);
    out
}

struct Report {
    name: String,
    max_rel: f64,
}

fn check_file(path: &std::path::Path) -> Report {
    let g: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let name = path.file_stem().unwrap().to_string_lossy().to_string();
    let cell_name = g["cell"].as_str().unwrap();
    let kind = match cell_name {
        "lstm" => CellKind::Lstm,
        "gru" => CellKind::Gru(GruVariant::ResetAfter),
        "rnn_tanh" => CellKind::Elman(ElmanAct::Tanh),
        c => panic!("{name}: unknown cell {c}"),
    };
    let u = |k: &str| g[k].as_u64().unwrap() as usize;
    let (nl, i_sz, h, o, b, t) = (
        u("num_layers"),
        u("input_size"),
        u("hidden_size"),
        u("output_size"),
        u("batch"),
        u("seq_len"),
    );
    let m2m = g["many_to_many"].as_bool().unwrap();
    let loss_kind = match g["loss_kind"].as_str().unwrap() {
        "cross_entropy" => LossKind::CrossEntropy,
        "mse" => LossKind::Mse,
        l => panic!("{name}: unknown loss {l}"),
    };
    let spec = ModelSpec {
        input: InputSpec::Features { size: i_sz },
        layers: vec![LayerSpec { kind, hidden: h }; nl],
        head: Some(HeadSpec {
            out: o,
            act: if loss_kind == LossKind::CrossEntropy {
                HeadAct::Softmax
            } else {
                HeadAct::Linear
            },
        }),
        many_to_many: m2m,
        dropout: 0.0,
    };
    let layout = spec.layout();
    let shapes = spec.shapes();
    let p = &g["params"];
    let gr = &g["grads"];
    let is_gru = matches!(kind, CellKind::Gru(_));
    // PyTorch -> ours
    let mut params = vec![0.0f64; layout.total];
    for (l, (shape, range)) in shapes.iter().zip(&layout.layers).enumerate() {
        let mut w_x = floats(&p[format!("weight_ih_l{l}")]);
        let mut w_h = floats(&p[format!("weight_hh_l{l}")]);
        let mut b_i = floats(&p[format!("bias_ih_l{l}")]);
        let mut b_h = floats(&p[format!("bias_hh_l{l}")]);
        if is_gru {
            w_x = swap_rz(&w_x, h, shape.input);
            w_h = swap_rz(&w_h, h, h);
            b_i = swap_rz(&b_i, h, 1);
            b_h = swap_rz(&b_h, h, 1);
        }
        let dst = &mut params[range.clone()];
        let (gx, rest) = dst.split_at_mut(w_x.len());
        let (gh, rest) = rest.split_at_mut(w_h.len());
        gx.copy_from_slice(&w_x);
        gh.copy_from_slice(&w_h);
        if is_gru {
            rest[..b_i.len()].copy_from_slice(&b_i);
            rest[b_i.len()..].copy_from_slice(&b_h);
        } else {
            for (d, (a, c)) in rest.iter_mut().zip(b_i.iter().zip(&b_h)) {
                *d = a + c;
            }
        }
    }
    params[layout.head_w.clone()].copy_from_slice(&floats(&p["head.weight"]));
    params[layout.head_b.clone()].copy_from_slice(&floats(&p["head.bias"]));
    // data: batch-first -> time-major
    let x = floats(&g["x"]);
    let mut x_tm = vec![0.0; x.len()];
    for bi in 0..b {
        for s in 0..t {
            for k in 0..i_sz {
                x_tm[(s * b + bi) * i_sz + k] = x[(bi * t + s) * i_sz + k];
            }
        }
    }
    let classes: Vec<u32>;
    let mut values = Vec::new();
    let targets = if loss_kind == LossKind::CrossEntropy {
        classes = g["y"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        Targets::Classes(&classes[..])
    } else {
        let y = floats(&g["y"]);
        values.resize(y.len(), 0.0);
        for bi in 0..b {
            for s in 0..t {
                for k in 0..o {
                    values[(s * b + bi) * o + k] = y[(bi * t + s) * o + k];
                }
            }
        }
        Targets::Values(&values[..])
    };
    let chunk = Chunk {
        b,
        t,
        x: ChunkInput::Dense(&x_tm),
        mask: None,
        targets,
    };
    let net = Net::<f64>::from_f64(spec.clone(), &params);
    let mut ws = NetWorkspace::default();
    net.forward(&mut ws, &chunk, None, None);
    let rows = if m2m { b * t } else { b };
    let mut grads = vec![0.0; layout.total];
    let (loss_sum, _, n) = net.loss_backward(
        &mut ws,
        &chunk,
        loss_kind,
        1.0 / rows as f64,
        Some(&mut grads),
    );
    assert_eq!(n, rows);
    let mut worst = 0.0f64;
    let mut cmp = |what: &str, ours: f64, theirs: f64| {
        let err = (ours - theirs).abs();
        assert!(
            err <= REL_TOL * theirs.abs() + ABS_FLOOR,
            "{name}: {what}: ours {ours:.10e}, PyTorch {theirs:.10e}"
        );
        worst = worst.max(err / theirs.abs().max(1e-6));
    };
    cmp("loss", loss_sum / n as f64, g["loss"].as_f64().unwrap());
    // outputs (logits), batch-first in the golden
    let outs = floats(&g["outputs"]);
    for bi in 0..b {
        for s in 0..(if m2m { t } else { 1 }) {
            for k in 0..o {
                let ours = ws.z[((if m2m { s * b } else { 0 }) + bi) * o + k];
                let theirs = outs[(bi * if m2m { t } else { 1 } + s) * o + k];
                cmp("output", ours, theirs);
            }
        }
    }
    // gradients, ours -> PyTorch layout
    for (l, (shape, range)) in shapes.iter().zip(&layout.layers).enumerate() {
        let gparts = cell::split_params(shape, &grads[range.clone()]);
        let mut w_x = gparts.w_x.to_vec();
        let mut w_h = gparts.w_h.to_vec();
        let mut b_x = gparts.b.to_vec();
        let mut b_h = if is_gru {
            gparts.b_h.to_vec()
        } else {
            b_x.clone()
        };
        if is_gru {
            w_x = swap_rz(&w_x, h, shape.input);
            w_h = swap_rz(&w_h, h, h);
            b_x = swap_rz(&b_x, h, 1);
            b_h = swap_rz(&b_h, h, 1);
        }
        for (key, ours) in [
            (format!("weight_ih_l{l}"), w_x),
            (format!("weight_hh_l{l}"), w_h),
            (format!("bias_ih_l{l}"), b_x),
            (format!("bias_hh_l{l}"), b_h),
        ] {
            let theirs = floats(&gr[&key]);
            assert_eq!(ours.len(), theirs.len(), "{name}: {key} length");
            for (i, (a, c)) in ours.iter().zip(&theirs).enumerate() {
                cmp(&format!("grad {key}[{i}]"), *a, *c);
            }
        }
    }
    for (key, range) in [
        ("head.weight", layout.head_w.clone()),
        ("head.bias", layout.head_b.clone()),
    ] {
        for (i, (a, c)) in grads[range].iter().zip(&floats(&gr[key])).enumerate() {
            cmp(&format!("grad {key}[{i}]"), *a, *c);
        }
    }
    Report {
        name,
        max_rel: worst,
    }
}

#[test]
fn gradients_match_pytorch_autograd() {
    let dir = golden_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        panic!("{}: golden folder missing", dir.display());
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    // the five cases torch_grad.py writes (LSTM, LSTM x 2, LSTM with a
    // per-step MSE loss, GRU, Elman): a missing one must not pass unnoticed
    assert_eq!(files.len(), 5, "goldens in {}: {files:?}", dir.display());
    let reports: Vec<Report> = files.iter().map(|f| check_file(f)).collect();
    let line: Vec<String> = reports
        .iter()
        .map(|r| format!("{} {:.1e}", r.name, r.max_rel))
        .collect();
    println!(
        "PyTorch gradient check, max relative error: {}",
        line.join(", ")
    );
}
