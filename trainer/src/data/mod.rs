//! Datasets: loading (`.npy`, CSV, text), validation of shapes and values, and
//! assembling time-major chunks for the model.

pub mod csv;
pub mod freq10;
pub mod npy;
pub mod text;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::loss::{LossKind, Targets};
use crate::model::{Chunk, ChunkInput};

/// A data problem, naming the file and what was wrong where.
#[derive(Debug, Clone)]
pub struct DataError {
    /// The file.
    pub path: PathBuf,
    /// What was expected and what was found (with row / index).
    pub msg: String,
}

impl DataError {
    /// New error for `path`.
    pub fn new(path: &Path, msg: impl Into<String>) -> Self {
        DataError {
            path: path.to_path_buf(),
            msg: msg.into(),
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.msg)
    }
}

impl std::error::Error for DataError {}

/// Inputs of all sequences, batch-major (`[N, T, F]` or `[N, T]`).
#[derive(Clone, Debug)]
pub enum DataInput {
    /// Float features.
    Dense {
        /// Features per step.
        f: usize,
        /// `N*T*F` values.
        x: Vec<f32>,
    },
    /// Token indices.
    Tokens {
        /// Vocabulary size.
        vocab: usize,
        /// `N*T` indices.
        x: Vec<u32>,
    },
}

/// Targets of all sequences, batch-major.
#[derive(Clone, Debug)]
pub enum DataTargets {
    /// Class indices, `N` or `N*T`.
    Classes {
        /// Number of classes (max label + 1 unless given).
        classes: usize,
        /// Labels.
        y: Vec<u32>,
    },
    /// Float targets, `N*O` or `N*T*O`.
    Values {
        /// Values per row.
        o: usize,
        /// Values.
        y: Vec<f32>,
    },
    /// No targets (prediction only).
    None,
}

/// A set of `n` sequences of `t` steps.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Sequences.
    pub n: usize,
    /// Steps per sequence.
    pub t: usize,
    /// Inputs.
    pub input: DataInput,
    /// Targets.
    pub targets: DataTargets,
    /// Whether targets are per step (many-to-many).
    pub per_step: bool,
    /// `N*T`: 1 for real steps, 0 for padding.
    pub mask: Option<Vec<f32>>,
}

/// Reusable time-major buffers of one chunk.
#[derive(Default, Clone)]
pub struct ChunkBuf {
    b: usize,
    t: usize,
    x: Vec<f32>,
    tok: Vec<u32>,
    mask: Vec<f32>,
    has_mask: bool,
    classes: Vec<u32>,
    values: Vec<f32>,
    tokens: bool,
    class_targets: bool,
}

impl ChunkBuf {
    /// The chunk view for the model.
    pub fn chunk(&self) -> Chunk<'_, f32> {
        Chunk {
            b: self.b,
            t: self.t,
            x: if self.tokens {
                ChunkInput::Tokens(&self.tok)
            } else {
                ChunkInput::Dense(&self.x)
            },
            mask: self.has_mask.then_some(&self.mask[..]),
            targets: if self.class_targets {
                Targets::Classes(&self.classes)
            } else {
                Targets::Values(&self.values)
            },
        }
    }

    /// Number of loss-bearing rows (unmasked rows for per-step targets).
    pub fn rows_counted(&self, per_step: bool) -> usize {
        if per_step && self.has_mask {
            self.mask.iter().filter(|&&m| m > 0.0).count()
        } else if per_step {
            self.b * self.t
        } else {
            self.b
        }
    }
}

impl Dataset {
    /// Features per step (or 1 for tokens).
    pub fn features(&self) -> usize {
        match &self.input {
            DataInput::Dense { f, .. } => *f,
            DataInput::Tokens { .. } => 1,
        }
    }

    /// Whether the inputs are token ids (else float features).
    pub fn is_tokens(&self) -> bool {
        matches!(self.input, DataInput::Tokens { .. })
    }

    /// Output values per row the targets need, if known.
    pub fn target_width(&self) -> Option<usize> {
        match &self.targets {
            DataTargets::Classes { classes, .. } => Some(*classes),
            DataTargets::Values { o, .. } => Some(*o),
            DataTargets::None => None,
        }
    }

    /// Loss that fits the targets by default.
    pub fn default_loss(&self) -> LossKind {
        match self.targets {
            DataTargets::Classes { .. } => LossKind::CrossEntropy,
            _ => LossKind::Mse,
        }
    }

    /// Splits off the last `frac` of the sequences as Keras' `validation_split`
    /// does: the first `floor(n * (1 - frac))` train, the rest validate
    /// (4096 at 0.2: 3276 and 820).
    pub fn split_tail(&self, frac: f64) -> (Dataset, Dataset) {
        let cut = ((self.n as f64) * (1.0 - frac)).floor().max(0.0) as usize;
        let cut = cut.min(self.n);
        let train: Vec<usize> = (0..cut).collect();
        let val: Vec<usize> = (cut..self.n).collect();
        (self.subset(&train), self.subset(&val))
    }

    /// The sequences at `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        let t = self.t;
        let pick = |v: &[f32], w: usize| -> Vec<f32> {
            idx.iter()
                .flat_map(|&i| v[i * w..(i + 1) * w].iter().copied())
                .collect()
        };
        let pick_u = |v: &[u32], w: usize| -> Vec<u32> {
            idx.iter()
                .flat_map(|&i| v[i * w..(i + 1) * w].iter().copied())
                .collect()
        };
        let steps = if self.per_step { t } else { 1 };
        Dataset {
            n: idx.len(),
            t,
            input: match &self.input {
                DataInput::Dense { f, x } => DataInput::Dense {
                    f: *f,
                    x: pick(x, t * f),
                },
                DataInput::Tokens { vocab, x } => DataInput::Tokens {
                    vocab: *vocab,
                    x: pick_u(x, t),
                },
            },
            targets: match &self.targets {
                DataTargets::Classes { classes, y } => DataTargets::Classes {
                    classes: *classes,
                    y: pick_u(y, steps),
                },
                DataTargets::Values { o, y } => DataTargets::Values {
                    o: *o,
                    y: pick(y, steps * o),
                },
                DataTargets::None => DataTargets::None,
            },
            per_step: self.per_step,
            mask: self.mask.as_ref().map(|m| pick(m, t)),
        }
    }

    /// Fills `buf` with sequences `idx`, steps `t0..t1`, time-major.
    pub fn fill_chunk(&self, idx: &[usize], t0: usize, t1: usize, buf: &mut ChunkBuf) {
        let (b, tw, t) = (idx.len(), t1 - t0, self.t);
        buf.b = b;
        buf.t = tw;
        match &self.input {
            DataInput::Dense { f, x } => {
                buf.tokens = false;
                buf.x.resize(tw * b * f, 0.0);
                for s in 0..tw {
                    for (j, &i) in idx.iter().enumerate() {
                        let src = &x[(i * t + t0 + s) * f..(i * t + t0 + s + 1) * f];
                        buf.x[(s * b + j) * f..(s * b + j + 1) * f].copy_from_slice(src);
                    }
                }
            }
            DataInput::Tokens { x, .. } => {
                buf.tokens = true;
                buf.tok.resize(tw * b, 0);
                for s in 0..tw {
                    for (j, &i) in idx.iter().enumerate() {
                        buf.tok[s * b + j] = x[i * t + t0 + s];
                    }
                }
            }
        }
        buf.has_mask = self.mask.is_some();
        if let Some(m) = &self.mask {
            buf.mask.resize(tw * b, 0.0);
            for s in 0..tw {
                for (j, &i) in idx.iter().enumerate() {
                    buf.mask[s * b + j] = m[i * t + t0 + s];
                }
            }
        }
        match &self.targets {
            DataTargets::Classes { y, .. } => {
                buf.class_targets = true;
                buf.classes.clear();
                if self.per_step {
                    for s in t0..t1 {
                        buf.classes.extend(idx.iter().map(|&i| y[i * t + s]));
                    }
                } else {
                    buf.classes.extend(idx.iter().map(|&i| y[i]));
                }
            }
            DataTargets::Values { o, y } => {
                buf.class_targets = false;
                buf.values.clear();
                if self.per_step {
                    for s in t0..t1 {
                        for &i in idx {
                            buf.values
                                .extend_from_slice(&y[(i * t + s) * o..(i * t + s + 1) * o]);
                        }
                    }
                } else {
                    for &i in idx {
                        buf.values.extend_from_slice(&y[i * o..(i + 1) * o]);
                    }
                }
            }
            DataTargets::None => {
                buf.class_targets = false;
                buf.values.clear();
            }
        }
    }

    /// Loads `X.npy` (`N x T x F` float, or `N x T` integer tokens) and optionally `y.npy`
    /// (`N` or `N x T` integers; `N x O` or `N x T x O` floats).
    /// Steps whose features all equal `mask_value` are padding.
    pub fn from_npy(
        x_path: &Path,
        y_path: Option<&Path>,
        mask_value: Option<f32>,
    ) -> Result<Dataset, DataError> {
        let xa = npy::read(x_path)?;
        let (n, t, input) = match (&xa.data, xa.shape.as_slice()) {
            (npy::NpyData::Float(_), &[_, _, 0]) => {
                return Err(DataError::new(
                    x_path,
                    "shape has 0 features per step; expected N x T x F with F >= 1",
                ));
            }
            (npy::NpyData::Float(x), &[n, t, f]) => {
                finite_features(x_path, x, t, f)?;
                (n, t, DataInput::Dense { f, x: x.clone() })
            }
            (npy::NpyData::Float(x), &[n, t]) => {
                finite_features(x_path, x, t, 1)?;
                (n, t, DataInput::Dense { f: 1, x: x.clone() })
            }
            (npy::NpyData::Int(_), s) if s.len() == 3 => {
                return Err(DataError::new(
                    x_path,
                    format!(
                        "integer values in an N x T x F array {s:?}; features must be float \
                         (save with .astype(np.float32)); integers are read only as N x T token ids"
                    ),
                ))
            }
            (npy::NpyData::Int(x), &[n, t]) => {
                if let Some(i) = x.iter().position(|&v| !(0..MAX_VOCAB as i64).contains(&v)) {
                    let expected = if x[i] < 0 {
                        "a non-negative index".to_string()
                    } else {
                        format!("token ids below {MAX_VOCAB}")
                    };
                    return Err(DataError::new(
                        x_path,
                        format!(
                            "token {} at index [{}, {}]; expected {expected}",
                            x[i],
                            i / t,
                            i % t
                        ),
                    ));
                }
                let vocab = x.iter().copied().max().unwrap_or(0) as usize + 1;
                (
                    n,
                    t,
                    DataInput::Tokens {
                        vocab,
                        x: x.iter().map(|&v| v as u32).collect(),
                    },
                )
            }
            (_, s) => {
                return Err(DataError::new(
                    x_path,
                    format!(
                    "shape {s:?}; expected N x T x F float32 features (or N x T integer tokens)"
                ),
                ))
            }
        };
        if n == 0 || t == 0 {
            return Err(DataError::new(
                x_path,
                format!("shape {:?} has no sequences or no steps", xa.shape),
            ));
        }
        let mut per_step = false;
        let targets = match y_path {
            None => DataTargets::None,
            Some(yp) => {
                let ya = npy::read(yp)?;
                if ya.shape.first() != Some(&n) {
                    return Err(DataError::new(
                        yp,
                        format!(
                            "shape {:?}; expected {n} rows to match {} (N = {n})",
                            ya.shape,
                            x_path.display()
                        ),
                    ));
                }
                match (ya.data, ya.shape.as_slice()) {
                    (npy::NpyData::Int(y), s) if s.len() <= 2 => {
                        if s.len() == 2 {
                            if s[1] != t {
                                return Err(DataError::new(
                                    yp,
                                    format!("shape {s:?}; expected N x T = {n} x {t} labels"),
                                ));
                            }
                            per_step = true;
                        }
                        if let Some(i) = y
                            .iter()
                            .position(|&v| !(0..MAX_CLASSES as i64).contains(&v))
                        {
                            let expected = if y[i] < 0 {
                                "a class index >= 0".to_string()
                            } else {
                                format!("class indices below {MAX_CLASSES}")
                            };
                            return Err(DataError::new(
                                yp,
                                format!("label {} at index {i}; expected {expected}", y[i]),
                            ));
                        }
                        let classes = y.iter().copied().max().unwrap_or(0) as usize + 1;
                        DataTargets::Classes {
                            classes,
                            y: y.iter().map(|&v| v as u32).collect(),
                        }
                    }
                    (npy::NpyData::Float(y), s) => {
                        if let Some(i) = y.iter().position(|v| !v.is_finite()) {
                            return Err(DataError::new(
                                yp,
                                format!(
                                    "value {} at flat index {i}; expected finite numbers",
                                    y[i]
                                ),
                            ));
                        }
                        let o = match s {
                            [_] => 1,
                            [_, o] => *o,
                            [_, tt, o] if *tt == t => {
                                per_step = true;
                                *o
                            }
                            _ => {
                                return Err(DataError::new(
                                    yp,
                                    format!(
                                        "shape {s:?}; expected N, N x O or N x T x O (T = {t})"
                                    ),
                                ))
                            }
                        };
                        DataTargets::Values { o, y }
                    }
                    (_, s) => {
                        return Err(DataError::new(
                            yp,
                            format!("shape {s:?}; expected N or N x T integer labels"),
                        ))
                    }
                }
            }
        };
        let mask = match (mask_value, &input) {
            (Some(mv), DataInput::Dense { f, x }) => Some(
                x.chunks_exact(*f)
                    .map(|step| {
                        if step.iter().all(|&v| v == mv) {
                            0.0
                        } else {
                            1.0
                        }
                    })
                    .collect(),
            ),
            (Some(mv), DataInput::Tokens { x, .. }) => {
                if !(mv >= 0.0 && mv.fract() == 0.0) {
                    return Err(DataError::new(
                        x_path,
                        format!(
                            "holds token ids, so the padding marker --mask-value must be a token id \
                             (a whole number >= 0), not {mv}"
                        ),
                    ));
                }
                Some(
                    x.iter()
                        .map(|&tok| if tok as f32 == mv { 0.0 } else { 1.0 })
                        .collect(),
                )
            }
            (None, _) => None,
        };
        Ok(Dataset {
            n,
            t,
            input,
            targets,
            per_step,
            mask,
        })
    }
}

/// Class labels are checked to be below this (a head of 65,536 outputs is
/// already far beyond a microcontroller), so that a stray label cannot size a
/// head of billions of outputs.
pub const MAX_CLASSES: usize = 1 << 16;

/// Token ids are checked to be below this, for the same reason (the
/// Embedding table has a row per id).
pub const MAX_VOCAB: usize = 1 << 16;

/// Errors naming the first non-finite value of `N x T x F` features.
fn finite_features(path: &Path, x: &[f32], t: usize, f: usize) -> Result<(), DataError> {
    match x.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => {
            let (s, rem) = (i / (t * f).max(1), i % (t * f).max(1));
            let at = if f == 1 {
                format!("[{s}, {rem}]")
            } else {
                format!("[{s}, {}, {}]", rem / f, rem % f)
            };
            Err(DataError::new(
                path,
                format!("value {} at index {at}; expected finite numbers", x[i]),
            ))
        }
    }
}

/// The training inputs of a model: file, how it was cut into sequences,
/// and how many of its first sequences were trained on (the rest, if any,
/// was the validation split).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct TrainData {
    /// `npy`, `csv` or `text`.
    pub kind: String,
    /// The inputs file, absolute.
    pub path: std::path::PathBuf,
    /// CSV target columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target: Vec<String>,
    /// Steps per window (CSV and text).
    pub window: usize,
    /// Rows between window starts (CSV and text).
    pub stride: usize,
    /// CSV horizon.
    pub horizon: usize,
    /// Padding marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask_value: Option<f32>,
    /// Sequences trained on (the first ones).
    pub train_sequences: usize,
}

/// Per-feature standardization of float inputs (`tinyrnn train --normalize`):
/// training sees `(x - mean) / std`, and the exported file starts with it as
/// a Dense layer ([`InputNorm::dense`]), so it takes the raw values (ADC
/// counts, physical units). A separate layer, not folded into the first
/// recurrent layer's weights: with inputs far from zero (a pressure of
/// 101,325 Pa that varies by 300) a fold leaves a large bias cancelling
/// large products, which f16 or i8 weights cannot resolve; the Dense layer
/// subtracts first and stays f32 in f16 and i8 files.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct InputNorm {
    /// Mean of each feature over the training steps.
    pub mean: Vec<f32>,
    /// Standard deviation (population) of each feature; 1 where a feature
    /// does not vary, so such a feature is only shifted.
    pub std: Vec<f32>,
}

/// Per-feature `(mean, std)` over the real (unmasked) steps, in f64; `None`
/// for token input.
fn feature_moments(ds: &Dataset) -> Option<Vec<(f64, f64)>> {
    let DataInput::Dense { f, x } = &ds.input else {
        return None;
    };
    let f = *f;
    let mut sum = vec![(0.0f64, 0.0f64); f];
    let mut count = 0usize;
    for (k, row) in x.chunks_exact(f.max(1)).enumerate() {
        if ds.mask.as_ref().is_some_and(|m| m[k] == 0.0) {
            continue;
        }
        count += 1;
        for (s, &v) in sum.iter_mut().zip(row) {
            s.0 += f64::from(v);
        }
    }
    let n = count.max(1) as f64;
    let mean: Vec<f64> = sum.iter().map(|s| s.0 / n).collect();
    for (k, row) in x.chunks_exact(f.max(1)).enumerate() {
        if ds.mask.as_ref().is_some_and(|m| m[k] == 0.0) {
            continue;
        }
        for ((s, &m), &v) in sum.iter_mut().zip(&mean).zip(row) {
            s.1 += (f64::from(v) - m).powi(2);
        }
    }
    Some(
        mean.iter()
            .zip(&sum)
            .map(|(&m, s)| (m, (s.1 / n).sqrt()))
            .collect(),
    )
}

impl InputNorm {
    /// The mean and standard deviation of each feature over the real
    /// (unmasked) steps of `ds`. A feature whose spread is below 1e-6 of its
    /// magnitude (a constant column) keeps std 1. Errors on token input.
    pub fn of(ds: &Dataset) -> Result<InputNorm, String> {
        let moments = feature_moments(ds).ok_or(
            "--normalize standardizes float features; token (text) input has none to scale",
        )?;
        let (mean, std) = moments
            .iter()
            .map(|&(m, s)| {
                let s = if s > 1e-6 * m.abs().max(1e-30) && s.is_finite() {
                    s
                } else {
                    1.0
                };
                (m as f32, s as f32)
            })
            .unzip();
        Ok(InputNorm { mean, std })
    }

    /// The standardization as a Dense layer `y = W x + b`, linear: `W` the
    /// diagonal `1 / std` (row-major `F x F`), `b = -mean / std`.
    pub fn dense(&self) -> (Vec<f32>, Vec<f32>) {
        let f = self.mean.len();
        let mut w = vec![0.0f32; f * f];
        for (j, &s) in self.std.iter().enumerate() {
            w[j * f + j] = (1.0 / f64::from(s)) as f32;
        }
        let b = self
            .mean
            .iter()
            .zip(&self.std)
            .map(|(&m, &s)| (-f64::from(m) / f64::from(s)) as f32)
            .collect();
        (w, b)
    }

    /// `ds` with every input value standardized (padded steps too; which
    /// steps are padding was fixed when the data was read).
    pub fn apply(&self, ds: &Dataset) -> Dataset {
        let mut out = ds.clone();
        if let DataInput::Dense { f, x } = &mut out.input {
            if *f == self.mean.len() {
                for row in x.chunks_exact_mut(*f) {
                    for ((v, &m), &s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                        *v = ((f64::from(*v) - f64::from(m)) / f64::from(s)) as f32;
                    }
                }
            }
        }
        out
    }
}

/// Features of `ds` whose scale is far from the gates' working range (mean
/// or standard deviation beyond 10, or a spread below 0.01), as
/// `(index, mean, std)`: what `train` points `--normalize` at.
pub fn badly_scaled(ds: &Dataset) -> Vec<(usize, f64, f64)> {
    feature_moments(ds)
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .filter(|&(_, (m, s))| m.abs() > 10.0 || s > 10.0 || (s > 0.0 && s < 0.01))
        .map(|(i, (m, s))| (i, m, s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two sequences of three steps, two features; the last step of the
    /// second is padding (value 99) and must not count.
    fn padded() -> Dataset {
        Dataset {
            n: 2,
            t: 3,
            input: DataInput::Dense {
                f: 2,
                x: vec![1.0, 5.0, 2.0, 5.0, 3.0, 5.0, 4.0, 5.0, 5.0, 5.0, 99.0, 99.0],
            },
            targets: DataTargets::None,
            per_step: false,
            mask: Some(vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.0]),
        }
    }

    #[test]
    fn input_norm_skips_padding_and_leaves_constant_features_unscaled() {
        let n = InputNorm::of(&padded()).unwrap();
        // feature 0 over the real steps: 1..=5, mean 3, population std sqrt(2)
        assert_eq!(n.mean, vec![3.0, 5.0]);
        assert!((n.std[0] - 2f32.sqrt()).abs() < 1e-6, "{n:?}");
        // feature 1 is constant: shifted, not scaled
        assert_eq!(n.std[1], 1.0);
        let DataInput::Dense { x, .. } = n.apply(&padded()).input else {
            unreachable!()
        };
        assert!((x[0] + 2.0 / 2f32.sqrt()).abs() < 1e-6);
        assert_eq!(x[1], 0.0);
        // the Dense form computes the same
        let (w, b) = n.dense();
        assert_eq!(w[1], 0.0);
        assert_eq!(w[2], 0.0);
        let y0 = w[0] * 1.0 + b[0];
        assert!((y0 - x[0]).abs() < 1e-6);
        assert!(InputNorm::of(&Dataset {
            input: DataInput::Tokens {
                vocab: 3,
                x: vec![0; 6]
            },
            ..padded()
        })
        .is_err());
    }

    #[test]
    fn badly_scaled_names_features_far_from_unit_scale() {
        let far = badly_scaled(&padded());
        // feature 1 has mean 5 and no spread: fine; feature 0 is fine too
        assert!(far.is_empty(), "{far:?}");
        let mut d = padded();
        if let DataInput::Dense { x, .. } = &mut d.input {
            for v in x.iter_mut().step_by(2) {
                *v *= 1000.0;
            }
        }
        let far = badly_scaled(&d);
        assert_eq!(far.len(), 1);
        assert_eq!(far[0].0, 0);
        assert!((far[0].1 - 3000.0).abs() < 1e-9);
    }
}
