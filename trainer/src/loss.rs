//! Losses and metrics on the head's output rows.

use serde::{Deserialize, Serialize};

use crate::float::Float;

/// Activation of the Dense head.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadAct {
    /// Identity.
    Linear,
    /// Softmax over the outputs.
    Softmax,
    /// Logistic sigmoid per output.
    Sigmoid,
    /// Hyperbolic tangent per output.
    Tanh,
}

/// Training loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Softmax cross-entropy with integer labels (needs a softmax head).
    CrossEntropy,
    /// Mean squared error over the outputs.
    Mse,
    /// Binary cross-entropy per output (needs a sigmoid head).
    Bce,
}

impl LossKind {
    /// Name of the metric reported next to this loss.
    pub fn metric_name(self) -> &'static str {
        match self {
            LossKind::CrossEntropy | LossKind::Bce => "accuracy",
            LossKind::Mse => "mae",
        }
    }

    /// Whether a larger metric is better.
    pub fn metric_higher_is_better(self) -> bool {
        !matches!(self, LossKind::Mse)
    }

    /// Checks that the head activation suits the loss.
    pub fn check_head(self, act: HeadAct) -> Result<(), String> {
        match (self, act) {
            (LossKind::CrossEntropy, HeadAct::Softmax) => Ok(()),
            (LossKind::CrossEntropy, a) => Err(format!(
                "cross-entropy needs a softmax head, got {a:?}; use --head dense:K:softmax"
            )),
            (LossKind::Bce, HeadAct::Sigmoid) => Ok(()),
            (LossKind::Bce, a) => Err(format!(
                "binary cross-entropy needs a sigmoid head, got {a:?}; use --head dense:K:sigmoid"
            )),
            (LossKind::Mse, HeadAct::Softmax) => {
                Err("mse with a softmax head is not supported".into())
            }
            (LossKind::Mse, _) => Ok(()),
        }
    }
}

/// Targets of the output rows of one chunk.
pub enum Targets<'a, T> {
    /// One class index per row.
    Classes(&'a [u32]),
    /// One class index per row, and a weight per class (Keras'
    /// `class_weight`): a row's cross-entropy and its gradient are scaled by
    /// the weight of its label; the metric is not.
    WeightedClasses(&'a [u32], &'a [T]),
    /// `O` values per row.
    Values(&'a [T]),
}

/// Applies the head activation in place to `rows` rows of `o` values.
pub fn activate<T: Float>(act: HeadAct, z: &mut [T], o: usize) {
    match act {
        HeadAct::Linear => {}
        HeadAct::Tanh => T::tanh_slice(z),
        HeadAct::Sigmoid => T::sigmoid_slice(z),
        HeadAct::Softmax => {
            for row in z.chunks_exact_mut(o) {
                let m = row.iter().fold(row[0], |a, &b| a.max(b));
                row.iter_mut().for_each(|v| *v -= m);
                T::exp_slice(row);
                let s = row.iter().fold(T::ZERO, |a, &b| a + b);
                let inv = T::ONE / s;
                row.iter_mut().for_each(|v| *v *= inv);
            }
        }
    }
}

/// Loss and metric sums over the rows, plus (when `dz` is given) the gradient
/// with respect to the head's pre-activations times `scale`.
///
/// `z` are pre-activations, `y` activated outputs (`[rows, o]`); rows whose
/// `weight` is 0 (padding) are skipped. Returns (loss sum, metric sum, counted rows).
#[expect(clippy::too_many_arguments, reason = "plain slices of one step, named")]
pub fn loss_rows<T: Float>(
    kind: LossKind,
    act: HeadAct,
    z: &[T],
    y: &[T],
    o: usize,
    targets: &Targets<'_, T>,
    weight: Option<&[T]>,
    scale: T,
    mut dz: Option<&mut [T]>,
) -> (f64, f64, usize) {
    let rows = y.len() / o;
    let (mut loss, mut metric, mut counted) = (0.0f64, 0.0f64, 0usize);
    for r in 0..rows {
        let zr = &z[r * o..(r + 1) * o];
        let yr = &y[r * o..(r + 1) * o];
        let active = weight.is_none_or(|w| w[r] > T::ZERO);
        if !active {
            if let Some(dz) = dz.as_deref_mut() {
                dz[r * o..(r + 1) * o].fill(T::ZERO);
            }
            continue;
        }
        counted += 1;
        match (kind, targets) {
            (LossKind::CrossEntropy, Targets::Classes(c) | Targets::WeightedClasses(c, _)) => {
                let label = c[r] as usize;
                let cw = match targets {
                    Targets::WeightedClasses(_, w) => w.get(label).copied().unwrap_or(T::ONE),
                    _ => T::ONE,
                };
                let m = zr.iter().fold(zr[0], |a, &b| a.max(b)).to_f64();
                let lse = m + zr.iter().map(|v| (v.to_f64() - m).exp()).sum::<f64>().ln();
                loss += cw.to_f64() * (lse - zr[label].to_f64());
                let arg = argmax(yr);
                if arg == label {
                    metric += 1.0;
                }
                if let Some(dz) = dz.as_deref_mut() {
                    let s = scale * cw;
                    for (k, d) in dz[r * o..(r + 1) * o].iter_mut().enumerate() {
                        let t = if k == label { T::ONE } else { T::ZERO };
                        *d = (yr[k] - t) * s;
                    }
                }
            }
            (LossKind::Bce, Targets::Values(t)) => {
                let tr = &t[r * o..(r + 1) * o];
                let inv_o = 1.0 / o as f64;
                for k in 0..o {
                    let (zk, tk) = (zr[k].to_f64(), tr[k].to_f64());
                    loss += (zk.max(0.0) - zk * tk + (-zk.abs()).exp().ln_1p()) * inv_o;
                    if (yr[k].to_f64() > 0.5) == (tk > 0.5) {
                        metric += inv_o;
                    }
                }
                if let Some(dz) = dz.as_deref_mut() {
                    let s = scale / T::from_f64(o as f64);
                    for k in 0..o {
                        dz[r * o + k] = (yr[k] - tr[k]) * s;
                    }
                }
            }
            (LossKind::Mse, Targets::Values(t)) => {
                let tr = &t[r * o..(r + 1) * o];
                let inv_o = 1.0 / o as f64;
                for k in 0..o {
                    let e = (yr[k] - tr[k]).to_f64();
                    loss += e * e * inv_o;
                    metric += e.abs() * inv_o;
                }
                if let Some(dz) = dz.as_deref_mut() {
                    let s = scale * T::from_f64(2.0 / o as f64);
                    for k in 0..o {
                        let dy = (yr[k] - tr[k]) * s;
                        dz[r * o + k] = match act {
                            HeadAct::Linear => dy,
                            HeadAct::Tanh => dy * (T::ONE - yr[k] * yr[k]),
                            HeadAct::Sigmoid => dy * yr[k] * (T::ONE - yr[k]),
                            HeadAct::Softmax => unreachable!("rejected by check_head"),
                        };
                    }
                }
            }
            _ => unreachable!("targets are checked against the loss when the data is loaded"),
        }
    }
    (loss, metric, counted)
}

/// Index of the largest value (first on ties).
pub fn argmax<T: Float>(v: &[T]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}
