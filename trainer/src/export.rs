//! Export through the runtime's encoder, and evaluation through the runtime's `step`
//! (what the device will compute), plus the metadata stored in the model file.

use serde::{Deserialize, Serialize};
use tinyrnn::{Activation, AlignedBuf, Model, ModelBuilder, StateVec};

use crate::cell::{self, CellKind, ElmanAct, GruVariant};
use crate::data::{DataInput, DataTargets, Dataset};
use crate::loss::{self, HeadAct, LossKind, Targets};
use crate::model::{InputSpec, ModelSpec, Net};
use crate::train::PassStats;

/// What the trainer stores in the model file's metadata (JSON).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Metadata {
    /// Always "tinyrnn-trainer".
    pub producer: String,
    /// Architecture as trained.
    pub spec: ModelSpec,
    /// Loss it was trained with.
    pub loss: LossKind,
    /// Character vocabulary of a text model (token i is `vocab[i]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocab: Option<Vec<char>>,
    /// Feature column names (CSV input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
    /// Steps per training sequence.
    pub seq_len: usize,
    /// Validation metric as computed by the trainer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_metric: Option<f64>,
    /// Epochs trained.
    pub epochs: usize,
    /// Where the training inputs came from (`export --format integer`
    /// calibrates on them by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_data: Option<TrainData>,
    /// The standardization the network was trained behind (`train
    /// --normalize`). [`encode`] writes it as the file's first layer (a
    /// diagonal Dense), so the model file takes raw inputs; it is recorded
    /// here to say what that layer is, not to be applied again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_norm: Option<InputNorm>,
    /// Names of the classes a softmax head predicts (`train --class-names`),
    /// by label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_names: Option<Vec<String>>,
}

pub use crate::data::{InputNorm, TrainData};

/// An export or runtime failure.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The runtime refused the model or a step.
    #[error("runtime: {0}")]
    Runtime(tinyrnn::Error),
    /// The model file has no trainer metadata.
    #[error("the model file has no tinyrnn-trainer metadata ({0})")]
    Metadata(String),
    /// Data does not fit the model.
    #[error("{0}")]
    Mismatch(String),
}

impl From<tinyrnn::Error> for ExportError {
    fn from(e: tinyrnn::Error) -> Self {
        ExportError::Runtime(e)
    }
}

fn head_act(a: HeadAct) -> Activation {
    match a {
        HeadAct::Linear => Activation::Linear,
        HeadAct::Softmax => Activation::Softmax,
        HeadAct::Sigmoid => Activation::Sigmoid,
        HeadAct::Tanh => Activation::Tanh,
    }
}

/// Encodes `net` as a tinyrnn model file with `meta` as metadata; with
/// `meta.input_norm`, the file starts with that standardization as a Dense
/// layer ([`InputNorm::dense`]), so it takes the raw inputs.
pub fn encode(net: &Net<f32>, meta: &Metadata) -> Result<Vec<u8>, ExportError> {
    let lay = net.layout();
    let p = &net.params;
    let mut b = match (&net.spec.input, &meta.input_norm) {
        (InputSpec::Features { size }, None) => ModelBuilder::new(*size),
        (InputSpec::Features { size }, Some(norm)) => {
            let size = *size;
            if norm.mean.len() != size || norm.std.len() != size {
                return Err(ExportError::Mismatch(format!(
                    "input normalization for {} features, the model takes {size}",
                    norm.mean.len()
                )));
            }
            let (w, bias) = norm.dense();
            let mut b = ModelBuilder::new(size);
            b.dense(size, Activation::Linear, &w, &bias);
            b
        }
        (InputSpec::Tokens { vocab, dim }, None) => {
            ModelBuilder::with_embedding(*vocab, *dim, &p[lay.embedding.clone()])
        }
        (InputSpec::Tokens { .. }, Some(_)) => {
            return Err(ExportError::Mismatch(
                "input normalization applies to float features, not tokens".into(),
            ))
        }
    };
    for (shape, range) in net.shapes().iter().zip(&lay.layers) {
        let lp = cell::split_params(shape, &p[range.clone()]);
        let h = shape.hidden;
        match shape.kind {
            CellKind::Elman(act) => {
                let a = match act {
                    ElmanAct::Tanh => Activation::Tanh,
                    ElmanAct::Relu => Activation::Relu,
                };
                b.elman(h, a, lp.w_x, lp.w_h, lp.b);
            }
            CellKind::Lstm => {
                b.lstm(h, lp.w_x, lp.w_h, lp.b);
            }
            CellKind::Gru(GruVariant::ResetAfter) => {
                b.gru(
                    h,
                    tinyrnn::GruVariant::ResetAfter,
                    lp.w_x,
                    lp.w_h,
                    lp.b,
                    lp.b_h,
                );
            }
            CellKind::Gru(GruVariant::ResetBefore) => {
                let zeros = vec![0.0f32; 3 * h];
                b.gru(
                    h,
                    tinyrnn::GruVariant::ResetBefore,
                    lp.w_x,
                    lp.w_h,
                    lp.b,
                    &zeros,
                );
            }
        }
    }
    if let Some(head) = net.spec.head {
        b.dense(
            head.out,
            head_act(head.act),
            &p[lay.head_w.clone()],
            &p[lay.head_b.clone()],
        );
    }
    let json = serde_json::to_vec(meta).expect("metadata serialises");
    b.metadata(&json);
    Ok(b.build()?)
}

/// Reads the trainer metadata of a loaded model.
pub fn read_metadata(model: &Model<'_>) -> Result<Metadata, ExportError> {
    serde_json::from_slice(model.metadata()).map_err(|e| ExportError::Metadata(e.to_string()))
}

/// Loads model bytes (copied into an aligned buffer).
pub fn load(bytes: &[u8]) -> AlignedBuf {
    AlignedBuf::from_slice(bytes)
}

/// Streams every sequence of `data` through the runtime's `step` (or `skip` on
/// padded steps), one timestep at a time. Returns the outputs (`[N, O]` or
/// `[N, T, O]`) and, when `data` has targets, loss and metric.
pub fn run_runtime(
    model: &Model<'_>,
    meta: &Metadata,
    data: &Dataset,
) -> Result<(Vec<f32>, Option<PassStats>), ExportError> {
    let o = model.output_size();
    let per_step = meta.spec.many_to_many;
    match (&data.input, model.is_token_input()) {
        (DataInput::Dense { f, .. }, false) if *f == model.input_size() => {}
        (DataInput::Tokens { vocab, .. }, true) => {
            if let InputSpec::Tokens { vocab: mv, .. } = meta.spec.input {
                if *vocab > mv {
                    return Err(ExportError::Mismatch(format!(
                        "data has token ids up to {}, the model's vocabulary has {mv}",
                        vocab - 1
                    )));
                }
            }
        }
        (DataInput::Dense { f, .. }, false) => {
            return Err(ExportError::Mismatch(format!(
                "data has {f} features per step, the model expects {}",
                model.input_size()
            )))
        }
        _ => {
            return Err(ExportError::Mismatch(
                "data input kind (tokens vs features) does not match the model".into(),
            ))
        }
    }
    match (&data.targets, meta.loss) {
        (DataTargets::Classes { classes, .. }, LossKind::CrossEntropy) if *classes > o => {
            return Err(ExportError::Mismatch(format!(
                "labels go up to {}, the model has {o} outputs",
                classes - 1
            )))
        }
        (DataTargets::Classes { .. }, LossKind::CrossEntropy) | (DataTargets::None, _) => {}
        (DataTargets::Values { o: w, .. }, LossKind::Mse | LossKind::Bce) if *w != o => {
            return Err(ExportError::Mismatch(format!(
                "targets have {w} values per row, the model outputs {o}"
            )))
        }
        (DataTargets::Values { .. }, LossKind::Mse | LossKind::Bce) => {}
        (DataTargets::Classes { .. }, _) => {
            return Err(ExportError::Mismatch(
                "integer labels given, but the model was trained on float targets".into(),
            ))
        }
        (DataTargets::Values { .. }, _) => {
            return Err(ExportError::Mismatch(
                "float targets given, but the model was trained on class labels".into(),
            ))
        }
    }
    let t = data.t;
    let rows_per_seq = if per_step { t } else { 1 };
    let mut out = vec![0.0f32; data.n * rows_per_seq * o];
    let mut state = StateVec::new(model);
    let mut y = vec![0.0f32; o];
    // A bar on stderr for runs of more than a few seconds (hidden when
    // stderr is not a terminal).
    let bar = (data.n * t > PROGRESS_STEPS).then(|| {
        let b = indicatif::ProgressBar::new(data.n as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "runtime step [{bar:30}] {pos}/{len} sequences ({elapsed}, {eta} left)",
        ) {
            b.set_style(style.progress_chars("=> "));
        }
        b
    });
    for s in 0..data.n {
        if let Some(b) = bar.as_ref().filter(|_| s % 64 == 0) {
            b.set_position(s as u64);
        }
        state.reset();
        for step in 0..t {
            let real = data.mask.as_ref().is_none_or(|m| m[s * t + step] > 0.0);
            if !real {
                model.skip(&mut state, &mut y)?;
            } else {
                match &data.input {
                    DataInput::Dense { f, x } => model.step(
                        &mut state,
                        &x[(s * t + step) * f..(s * t + step + 1) * f],
                        &mut y,
                    )?,
                    DataInput::Tokens { x, .. } => {
                        model.step_token(&mut state, x[s * t + step] as usize, &mut y)?
                    }
                }
            }
            if per_step {
                out[(s * t + step) * o..(s * t + step + 1) * o].copy_from_slice(&y);
            }
        }
        if !per_step {
            out[s * o..(s + 1) * o].copy_from_slice(&y);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let stats = score(meta, data, &out, o);
    Ok((out, stats))
}

/// Steps above which [`run_runtime`] shows a progress bar (a few seconds).
const PROGRESS_STEPS: usize = 4_000_000;

/// Loss and metric of activated outputs against the data's targets.
pub fn score(meta: &Metadata, data: &Dataset, out: &[f32], o: usize) -> Option<PassStats> {
    let act = meta.spec.output_act();
    // Pre-activations recovered from the outputs, enough for the loss.
    let z: Vec<f32> = match act {
        HeadAct::Softmax => out.iter().map(|&p| p.max(1e-30).ln()).collect(),
        HeadAct::Sigmoid => out
            .iter()
            .map(|&p| {
                let p = p.clamp(1e-7, 1.0 - 1e-7);
                (p / (1.0 - p)).ln()
            })
            .collect(),
        _ => out.to_vec(),
    };
    let weight = if meta.spec.many_to_many {
        data.mask.as_deref()
    } else {
        None
    };
    let targets = match &data.targets {
        DataTargets::Classes { y, .. } => Targets::Classes(y),
        DataTargets::Values { y, .. } => Targets::Values(y),
        DataTargets::None => return None,
    };
    let (l, m, c) = loss::loss_rows(meta.loss, act, &z, out, o, &targets, weight, 1.0, None);
    let r = c.max(1) as f64;
    Some(PassStats {
        loss: l / r,
        metric: m / r,
        rows: c,
    })
}
