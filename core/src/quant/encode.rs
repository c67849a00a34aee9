//! Encoding quantized layers (feature `alloc`): from the f32 tensors given to
//! [`ModelBuilder`](crate::ModelBuilder) to the typed tensors of the file, and
//! the calibration run that chooses the integer formats.

use super::fixed::UNIT_FRAC;
use super::layer::NumFormat;
use super::matvec::{tile4, TILED4};
use super::quantize::*;
use crate::format::{dtype, kind, Activation};
use crate::model::{Layer, Model};
use crate::StateVec;
use alloc::vec;
use alloc::vec::Vec;

/// One encoded tensor: element type code, shape, little-endian bytes.
pub(crate) struct EncTensor {
    pub dtype: u8,
    pub rows: u32,
    pub cols: u32,
    /// Tensor layout code: 0 row-major, or [`TILED4`] for tiled weights.
    pub layout: u8,
    pub bytes: Vec<u8>,
}

/// Calibrated ranges of one layer (max |value| seen).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ranges {
    /// The layer's input.
    pub x: f32,
    /// Its output before the activation (Dense) or `h` (Elman relu).
    pub out: f32,
    /// The LSTM cell state.
    pub c: f32,
}

fn t_f32(rows: usize, cols: usize, v: &[f32]) -> EncTensor {
    EncTensor {
        dtype: dtype::F32,
        rows: rows as u32,
        cols: cols as u32,
        layout: 0,
        bytes: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

fn t_i32(rows: usize, cols: usize, v: &[i32]) -> EncTensor {
    EncTensor {
        dtype: dtype::I32,
        rows: rows as u32,
        cols: cols as u32,
        layout: 0,
        bytes: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

fn t_i8(rows: usize, cols: usize, v: &[i8]) -> EncTensor {
    EncTensor {
        dtype: dtype::I8,
        rows: rows as u32,
        cols: cols as u32,
        layout: 0,
        bytes: v.iter().map(|x| *x as u8).collect(),
    }
}

/// An integer layer's weight matrix: tiled ([`TILED4`], what the Cortex-M4
/// kernel reads fastest) when its rows come in whole blocks of 4 and it has
/// at least 4 columns, else row-major.
fn t_i8_weights(rows: usize, cols: usize, w: &[i8]) -> EncTensor {
    match tile4(w, rows, cols).filter(|_| cols >= 4) {
        Some(t) => EncTensor {
            layout: TILED4,
            ..t_i8(rows, cols, &t)
        },
        None => t_i8(rows, cols, w),
    }
}

/// The tensors of one layer in `format`. `t` are the layer's f32 tensors as
/// `(rows, cols, data)` in the builder's order (weights, then biases).
pub(crate) fn layer_tensors(
    kind_code: u8,
    act: u8,
    format: NumFormat,
    input: usize,
    output: usize,
    t: &[(u32, u32, &[f32])],
    r: Ranges,
) -> Result<Vec<EncTensor>, QuantError> {
    if kind_code == kind::EMBEDDING {
        return embedding_tensors(format, input, output, t);
    }
    let gates = match kind_code {
        kind::LSTM => 4,
        kind::GRU => 3,
        _ => 1,
    };
    let g = gates * output;
    let dense = kind_code == kind::DENSE;
    let (wrows, n_mats) = if dense { (output, 1) } else { (g, 2) };
    let cols = |k: usize| if k == 0 { input } else { output };
    let mut out = Vec::new();
    match format {
        NumFormat::F16 => {
            for (k, (rows, c, data)) in t.iter().enumerate() {
                if k < n_mats {
                    let h = to_f16("weights", data)?;
                    out.push(EncTensor {
                        dtype: dtype::F16,
                        rows: *rows,
                        cols: *c,
                        layout: 0,
                        bytes: h.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect(),
                    });
                } else {
                    out.push(t_f32(*rows as usize, *c as usize, data));
                }
            }
        }
        NumFormat::I8 => {
            for (k, (rows, c, data)) in t.iter().enumerate() {
                if k < n_mats {
                    let q = quantize_rows("weights", data, *rows as usize, *c as usize)?;
                    out.push(t_i8(*rows as usize, *c as usize, &q.w));
                    out.push(t_f32(*rows as usize, 1, &q.scale));
                } else {
                    out.push(t_f32(*rows as usize, *c as usize, data));
                }
            }
        }
        NumFormat::Integer | NumFormat::F32 => {
            let a = Activation::from_code(act).unwrap_or(Activation::Tanh);
            let x_frac = frac_for_max_abs("layer input", r.x)?;
            let (out_frac, pre) = match kind_code {
                kind::DENSE => {
                    let o = out_frac(a, frac_for_max_abs("dense output", r.out)?);
                    (o, pre_frac(a, o))
                }
                kind::ELMAN if a == Activation::Relu => {
                    let o = frac_for_max_abs("elman h", r.out)?;
                    (o, o)
                }
                _ => (UNIT_FRAC, super::fixed::GATE_FRAC),
            };
            let cell_frac = if kind_code == kind::LSTM {
                frac_for_max_abs("lstm c", r.c)?
            } else {
                0
            };
            let in_fracs = [x_frac, out_frac];
            for (k, (_, _, data)) in t.iter().enumerate().take(n_mats) {
                let m = quantize_int_rows("weights", data, wrows, cols(k), in_fracs[k], pre)?;
                out.push(t_i8_weights(wrows, cols(k), &m.w));
                out.push(t_i32(wrows, 2, &m.rq));
            }
            for (_, _, data) in t.iter().skip(n_mats) {
                out.push(t_i32(wrows, 1, &quantize_bias("bias", data, pre)?));
            }
            out.push(t_i32(
                1,
                3,
                &[x_frac as i32, out_frac as i32, cell_frac as i32],
            ));
        }
    }
    Ok(out)
}

/// An Embedding's tensors: f16 table; i8 table + one f32 scale per row;
/// integer: i16 table in the finest `Q(frac)` that holds it + `frac`.
fn embedding_tensors(
    format: NumFormat,
    vocab: usize,
    dim: usize,
    t: &[(u32, u32, &[f32])],
) -> Result<Vec<EncTensor>, QuantError> {
    let Some((_, _, table)) = t.first() else {
        return Err(QuantError::Shape {
            what: "embedding table",
            expected: vocab * dim,
            found: 0,
        });
    };
    Ok(match format {
        NumFormat::F16 => {
            let h = to_f16("embedding table", table)?;
            vec![EncTensor {
                dtype: dtype::F16,
                rows: vocab as u32,
                cols: dim as u32,
                layout: 0,
                bytes: h.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect(),
            }]
        }
        NumFormat::I8 => {
            let q = quantize_rows("embedding table", table, vocab, dim)?;
            vec![t_i8(vocab, dim, &q.w), t_f32(vocab, 1, &q.scale)]
        }
        NumFormat::Integer | NumFormat::F32 => {
            let e = IntEmbeddingParams::new(vocab, dim, table)?;
            vec![
                EncTensor {
                    dtype: dtype::I16,
                    rows: vocab as u32,
                    cols: dim as u32,
                    layout: 0,
                    bytes: e.table.iter().flat_map(|x| x.to_le_bytes()).collect(),
                },
                t_i32(1, 1, &[e.frac as i32]),
            ]
        }
    })
}

/// Calibration inputs: vectors back to back, or token ids.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Calibration<'c> {
    /// Vector inputs back to back.
    Vectors(&'c [f32]),
    /// Token ids (models with an Embedding input).
    Tokens(&'c [usize]),
}

/// Runs the f32 model over the calibration inputs and returns each layer's
/// ranges. NaN or infinite inputs, and tokens out of range, are refused.
pub(crate) fn calibrate(
    model: &Model<'_>,
    data: Calibration<'_>,
) -> Result<Vec<Ranges>, QuantError> {
    let i = model.input_size();
    let steps = match data {
        Calibration::Vectors(xs) => {
            if let Some(index) = xs.iter().position(|x| !x.is_finite()) {
                return Err(QuantError::NonFinite {
                    what: "calibration data",
                    index,
                });
            }
            if model.is_token_input() || i == 0 || xs.is_empty() || !xs.len().is_multiple_of(i) {
                return Err(QuantError::Shape {
                    what: "calibration data (vector inputs, a whole number of steps)",
                    expected: i,
                    found: xs.len(),
                });
            }
            xs.len() / i
        }
        Calibration::Tokens(ts) => {
            if !model.is_token_input() || ts.is_empty() {
                return Err(QuantError::Shape {
                    what: "calibration tokens (for a model with an Embedding input)",
                    expected: 1,
                    found: ts.len(),
                });
            }
            if let Some(index) = ts.iter().position(|t| *t >= i) {
                return Err(QuantError::Shape {
                    what: "calibration token id (below the vocabulary size)",
                    expected: i,
                    found: ts[index],
                });
            }
            ts.len()
        }
    };
    let layers = model.layers();
    let mut r = vec![Ranges::default(); layers.len()];
    let mut s = StateVec::new(model);
    let mut y = vec![0.0; model.output_size()];
    let amax = |m: f32, v: &[f32]| v.iter().fold(m, |m, x| m.max(x.abs()));
    // The layer after an Embedding sees at most the table's largest value,
    // whichever tokens the calibration holds.
    if let (Some(Layer::Embedding(e)), Some(next)) = (layers.first(), r.get_mut(1)) {
        next.x = amax(0.0, e.table);
    }
    for t in 0..steps {
        // Cannot fail: sizes come from the model, tokens were checked. A
        // token model's input to layer 1 is its Embedding row, whose range
        // the whole table already bounds (above).
        let (mut input, first): (Vec<f32>, usize) = match data {
            Calibration::Vectors(xs) => {
                let x = &xs[t * i..(t + 1) * i];
                let _ = model.step(&mut s, x, &mut y);
                (x.to_vec(), 0)
            }
            Calibration::Tokens(ts) => {
                let _ = model.step_token(&mut s, ts[t], &mut y);
                let row = match layers.first() {
                    Some(Layer::Embedding(e)) => e.lookup(ts[t]),
                    _ => None,
                };
                (row.unwrap_or(&[]).to_vec(), 1)
            }
        };
        for (li, l) in layers.iter().enumerate().skip(first) {
            r[li].x = amax(r[li].x, &input);
            match l {
                Layer::Dense(d) => {
                    let mut pre: Vec<f32> = d.b.to_vec();
                    crate::kernel::scalar::matvec_acc(d.w, &input, &mut pre);
                    r[li].out = amax(r[li].out, &pre);
                    crate::kernel::activation::apply(d.act, &mut pre);
                    input = pre;
                }
                _ => {
                    if let Ok((h, c)) = model.layer_state(&s, li) {
                        r[li].out = amax(r[li].out, h);
                        r[li].c = amax(r[li].c, c.unwrap_or(&[]));
                        input = h.to_vec();
                    }
                }
            }
        }
    }
    Ok(r)
}
