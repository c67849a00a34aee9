//! Shared helpers for tinyrnn's end-to-end and cross-implementation tests:
//! reading the committed golden files and turning them into tinyrnn models.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tinyrnn::{Activation, GruVariant, Model, ModelBuilder, StateVec};

/// The worse of a running largest error `acc` and a new error `d`, where a
/// NaN is the worst of all and stays: `f32::max` returns the other argument
/// when one is NaN, so a NaN output would leave the running error at 0.
pub fn worst<T: PartialOrd + Copy>(acc: T, d: T) -> T {
    #[allow(clippy::eq_op)] // `d != d`: d is NaN
    let nan = d != d;
    if nan || d > acc {
        d
    } else {
        acc
    }
}

/// The folder holding the committed golden data.
pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden")
}

/// Reads and parses one JSON golden file; panics with the path on failure.
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The JSON files of a golden subfolder, sorted by name.
pub fn golden_files(sub: &str) -> Vec<PathBuf> {
    let dir = golden_dir().join(sub);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// A float array field as f32 (golden float32 data round-trips exactly).
pub fn f32s(v: &Value, key: &str) -> Vec<f32> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("field {key} is not an array"))
        .iter()
        .map(|x| {
            x.as_f64()
                .unwrap_or_else(|| panic!("field {key} holds a non-number")) as f32
        })
        .collect()
}

/// A float array field as f64.
pub fn f64s(v: &Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("field {key} is not an array"))
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// An unsigned integer field.
pub fn usize_of(v: &Value, key: &str) -> usize {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("field {key} is not an unsigned integer")) as usize
}

/// Reorders the gate blocks (`rows_per_gate * cols` elements each) of `w`:
/// output block `k` is input block `order[k]`.
pub fn reorder_gates(w: &[f32], rows_per_gate: usize, cols: usize, order: &[usize]) -> Vec<f32> {
    let block = rows_per_gate * cols;
    order
        .iter()
        .flat_map(|&g| w[g * block..(g + 1) * block].iter().copied())
        .collect()
}

/// Element-wise sum of two equally long slices.
pub fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// One ONNX single-cell golden case converted to tinyrnn: the model file, and
/// what the test needs to run it.
pub struct OnnxCase {
    /// File stem, e.g. `lstm_i3_h7`.
    pub name: String,
    /// Encoded tinyrnn model (one recurrent layer).
    pub model: Vec<u8>,
    /// Input size.
    pub input: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Initial h.
    pub h0: Vec<f32>,
    /// Initial c (LSTM).
    pub c0: Option<Vec<f32>>,
    /// Inputs `[T][I]`.
    pub xs: Vec<f32>,
    /// ONNX Runtime's h after each step, `[T][H]`.
    pub ys: Vec<f32>,
    /// ONNX Runtime's final c (LSTM).
    pub yc: Option<Vec<f32>>,
}

/// Converts an ONNX golden case (ONNX layout: LSTM gates i,o,f,c; GRU z,r,h;
/// `B` = input bias then recurrent bias) into a tinyrnn model.
pub fn onnx_case(path: &Path) -> OnnxCase {
    let v = read_json(path);
    let (i, h) = (usize_of(&v, "input_size"), usize_of(&v, "hidden_size"));
    let (w, r, b) = (f32s(&v, "W"), f32s(&v, "R"), f32s(&v, "B"));
    let mut builder = ModelBuilder::new(i);
    match v["op"].as_str().expect("op") {
        "RNN" => {
            let act = match v["activation"].as_str() {
                Some("tanh") => Activation::Tanh,
                Some("relu") => Activation::Relu,
                other => panic!("{}: RNN activation {other:?}", path.display()),
            };
            builder.elman(h, act, &w, &r, &add(&b[..h], &b[h..]));
        }
        "LSTM" => {
            // ONNX i, o, f, c -> tinyrnn i, f, g, o.
            let order = [0, 2, 3, 1];
            let bias = add(&b[..4 * h], &b[4 * h..]);
            builder.lstm(
                h,
                &reorder_gates(&w, h, i, &order),
                &reorder_gates(&r, h, h, &order),
                &reorder_gates(&bias, h, 1, &order),
            );
        }
        "GRU" => {
            let variant = match v["linear_before_reset"].as_u64() {
                Some(0) => GruVariant::ResetBefore,
                Some(1) => GruVariant::ResetAfter,
                other => panic!("{}: linear_before_reset {other:?}", path.display()),
            };
            // ONNX z, r, h is tinyrnn's z, r, n.
            builder.gru(h, variant, &w, &r, &b[..3 * h], &b[3 * h..]);
        }
        op => panic!("{}: unknown op {op}", path.display()),
    }
    let model = builder
        .build()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let opt = |key: &str| (!v[key].is_null()).then(|| f32s(&v, key));
    OnnxCase {
        name: path.file_stem().unwrap().to_string_lossy().into_owned(),
        model,
        input: i,
        hidden: h,
        h0: f32s(&v, "initial_h"),
        c0: opt("initial_c"),
        xs: f32s(&v, "X"),
        ys: f32s(&v, "Y"),
        yc: opt("Y_c"),
    }
}

/// Streams `case`'s inputs through `model` (a single layer, started from the
/// case's initial state) one step at a time and returns the largest absolute
/// difference from the expected `h` after every step and, for an LSTM, the
/// final `c` (NaN if any output is NaN). Panics if the case's input and
/// output counts do not fit its sizes, or if a step fails.
pub fn case_error(model: &Model<'_>, case: &OnnxCase) -> f32 {
    let steps = case.xs.len() / case.input;
    assert!(
        steps > 0 && case.xs.len() == steps * case.input && case.ys.len() == steps * case.hidden,
        "{}: {} input and {} output values for input {} and hidden {}",
        case.name,
        case.xs.len(),
        case.ys.len(),
        case.input,
        case.hidden
    );
    let mut state = StateVec::new(model);
    model
        .set_layer_state(&mut state, 0, &case.h0, case.c0.as_deref())
        .unwrap_or_else(|e| panic!("{}: initial state: {e}", case.name));
    let mut y = vec![0.0f32; case.hidden];
    let mut err = 0.0f32;
    for (x, want) in case
        .xs
        .chunks_exact(case.input)
        .zip(case.ys.chunks_exact(case.hidden))
    {
        model
            .step(&mut state, x, &mut y)
            .unwrap_or_else(|e| panic!("{}: step: {e}", case.name));
        for (a, b) in y.iter().zip(want) {
            err = worst(err, (a - b).abs());
        }
    }
    if let Some(yc) = &case.yc {
        let (_, c) = model.layer_state(&state, 0).expect("the state has layer 0");
        for (a, b) in c.expect("an LSTM has c").iter().zip(yc) {
            err = worst(err, (a - b).abs());
        }
    }
    err
}

/// Streams a stack golden file's `inputs` (token ids or vectors) through
/// `model` from a zeroed state and returns the largest absolute difference
/// from its `outputs` after every step (NaN if any output is NaN). Panics if
/// the output count does not fit `seq_len`, or if a step fails.
pub fn stack_error(model: &Model<'_>, v: &Value) -> f64 {
    let steps = usize_of(v, "seq_len");
    let want = f64s(v, "outputs");
    let o = model.output_size();
    assert_eq!(want.len(), steps * o, "outputs for {steps} steps of {o}");
    let xs = if model.is_token_input() {
        Vec::new()
    } else {
        f32s(v, "inputs")
    };
    let mut state = StateVec::new(model);
    let mut y = vec![0.0f32; o];
    let mut err = 0.0f64;
    for t in 0..steps {
        if model.is_token_input() {
            let token = v["inputs"][t].as_u64().expect("token") as usize;
            model.step_token(&mut state, token, &mut y).expect("step");
        } else {
            let i = model.input_size();
            model
                .step(&mut state, &xs[t * i..(t + 1) * i], &mut y)
                .expect("step");
        }
        for (a, b) in y.iter().zip(&want[t * o..(t + 1) * o]) {
            err = worst(err, (f64::from(*a) - b).abs());
        }
    }
    err
}

/// Builds a tinyrnn model from a stack golden file's `layers` (tinyrnn layout).
pub fn stack_model(v: &Value) -> Vec<u8> {
    let layers = v["layers"].as_array().expect("layers");
    let act = |l: &Value| match l["activation"].as_str().expect("activation") {
        "linear" => Activation::Linear,
        "tanh" => Activation::Tanh,
        "relu" => Activation::Relu,
        "sigmoid" => Activation::Sigmoid,
        "softmax" => Activation::Softmax,
        a => panic!("unknown activation {a}"),
    };
    let mut builder = match layers[0]["kind"].as_str() {
        Some("embedding") => ModelBuilder::with_embedding(
            usize_of(&layers[0], "vocab"),
            usize_of(&layers[0], "dim"),
            &f32s(&layers[0], "table"),
        ),
        _ => ModelBuilder::new(usize_of(v, "input_size")),
    };
    for l in layers {
        match l["kind"].as_str().expect("kind") {
            "embedding" => {}
            "elman" => {
                builder.elman(
                    usize_of(l, "hidden"),
                    act(l),
                    &f32s(l, "w_x"),
                    &f32s(l, "w_h"),
                    &f32s(l, "b"),
                );
            }
            "lstm" => {
                builder.lstm(
                    usize_of(l, "hidden"),
                    &f32s(l, "w_x"),
                    &f32s(l, "w_h"),
                    &f32s(l, "b"),
                );
            }
            "gru" => {
                let variant = match l["variant"].as_str() {
                    Some("reset_before") => GruVariant::ResetBefore,
                    Some("reset_after") => GruVariant::ResetAfter,
                    other => panic!("GRU variant {other:?}"),
                };
                builder.gru(
                    usize_of(l, "hidden"),
                    variant,
                    &f32s(l, "w_x"),
                    &f32s(l, "w_h"),
                    &f32s(l, "b_x"),
                    &f32s(l, "b_h"),
                );
            }
            "dense" => {
                builder.dense(usize_of(l, "out"), act(l), &f32s(l, "w"), &f32s(l, "b"));
            }
            k => panic!("unknown layer kind {k}"),
        }
    }
    builder.build().expect("stack model builds")
}
