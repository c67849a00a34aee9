//! Quantized layers inside a [`Model`](crate::Model): loading them from the
//! model file (format code per layer, typed tensors) and stepping them.
//!
//! Every quantized layer exchanges `f32` vectors with its neighbours and keeps
//! its recurrent state as `f32` words, like an f32 layer, so formats mix
//! freely per layer. An integer layer converts at its boundary: its input is
//! rounded to its input format, its `h` and `c` are stored as the exact `f32`
//! values of their `i16`s (so reading them back is exact), and the step in
//! between is the pure-integer [`cell`](super::cell) step. Its outputs are
//! therefore the same bits on every target and kernel.

use super::cell::{IntDense, IntElman, IntEmbedding, IntGru, IntLstm, IntMatrix};
use super::fixed::{Requant, MAX_FRAC};
use super::hybrid::{
    F16Weights, FloatDense, FloatElman, FloatEmbedding, FloatGru, FloatLstm, FloatWeights,
    I8Weights,
};
use super::matvec::{IntMatVec, Scalar, Simd, MAX_COLS};
use super::words::{f32_as_i32_mut, i32_as_i16_mut};
use super::{dequantize_slice, quantize_slice};
use crate::error::Error;
use crate::format::{dtype, kind, numfmt, Activation, GruVariant};
use crate::kernel::activation::Act;
use crate::load::{Failed, LayerSrc};
use crate::model::Layer;
use half::f16;

/// Whether the cargo features link the f16 format.
const F16: bool = cfg!(feature = "f16");
/// Whether the cargo features link the i8 hybrid format.
const I8: bool = cfg!(feature = "i8");
/// Whether the cargo features link the integer format.
const INTEGER: bool = cfg!(feature = "integer");
/// Whether the cargo features link any quantized format.
pub(crate) const ANY: bool = F16 || I8 || INTEGER;
/// Whether the cargo features link either float-math format (f16, i8).
const HYBRID: bool = F16 || I8;
/// Cell types the cargo features link (Embedding and Dense always are).
const ELMAN: bool = cfg!(feature = "elman");
const LSTM: bool = cfg!(feature = "lstm");
const GRU: bool = cfg!(feature = "gru");

/// Whether the number format `code` is a quantized one the cargo features
/// link (`f16`, `i8`, `integer`); the loader rejects the others with
/// [`Error::UnsupportedFormat`], so their code is not linked.
pub(crate) const fn format_enabled(code: u8) -> bool {
    match code {
        numfmt::F16 => F16,
        numfmt::I8 => I8,
        numfmt::INTEGER => INTEGER,
        _ => false,
    }
}

/// A layer's number format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum NumFormat {
    /// f32 weights and math.
    #[default]
    F32,
    /// IEEE half weights, f32 math.
    F16,
    /// Int8 weights with one f32 scale per row, f32 math.
    I8,
    /// Int8 weights, i16 fixed-point activations and state, i32 sums.
    Integer,
}

impl NumFormat {
    /// The code stored in the file.
    pub const fn code(self) -> u8 {
        match self {
            NumFormat::F32 => numfmt::F32,
            NumFormat::F16 => numfmt::F16,
            NumFormat::I8 => numfmt::I8,
            NumFormat::Integer => numfmt::INTEGER,
        }
    }
}

/// Weights of an f16 or i8-hybrid layer.
#[derive(Debug, Clone, Copy)]
pub enum HybridWeights<'a> {
    /// IEEE half.
    F16(F16Weights<'a>),
    /// Int8 with per-row scales.
    I8(I8Weights<'a>),
}

impl FloatWeights for HybridWeights<'_> {
    #[inline]
    fn matvec_acc(&self, x: &[f32], out: &mut [f32]) {
        match self {
            HybridWeights::F16(w) if F16 => w.matvec_acc(x, out),
            HybridWeights::I8(w) if I8 => w.matvec_acc(x, out),
            // Left out by cargo features: the loader never builds these.
            HybridWeights::F16(_) | HybridWeights::I8(_) => {}
        }
    }
    #[inline]
    fn matvec_bias(&self, b: &[f32], x: &[f32], out: &mut [f32]) {
        match self {
            HybridWeights::F16(w) if F16 => w.matvec_bias(b, x, out),
            HybridWeights::I8(w) if I8 => w.matvec_bias(b, x, out),
            HybridWeights::F16(_) | HybridWeights::I8(_) => {}
        }
    }
    fn rows(&self, from: usize, to: usize, cols: usize) -> Self {
        match self {
            HybridWeights::F16(w) => HybridWeights::F16(w.rows(from, to, cols)),
            HybridWeights::I8(w) => HybridWeights::I8(w.rows(from, to, cols)),
        }
    }
    fn row_into(&self, r: usize, out: &mut [f32]) -> bool {
        match self {
            HybridWeights::F16(w) if F16 => w.row_into(r, out),
            HybridWeights::I8(w) if I8 => w.row_into(r, out),
            HybridWeights::F16(_) | HybridWeights::I8(_) => false,
        }
    }
}

/// The fixed-point formats at an integer layer's boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fracs {
    /// Fraction bits of the input.
    pub x: u8,
    /// Fraction bits of the output (`h`, or Dense `y`).
    pub out: u8,
}

/// A quantized layer with its tensors borrowed from the model file.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum QuantLayer<'a> {
    /// f16 / i8-hybrid Elman.
    Elman(FloatElman<'a, HybridWeights<'a>>),
    /// f16 / i8-hybrid LSTM.
    Lstm(FloatLstm<'a, HybridWeights<'a>>),
    /// f16 / i8-hybrid GRU.
    Gru(FloatGru<'a, HybridWeights<'a>>),
    /// f16 / i8-hybrid Dense.
    Dense(FloatDense<'a, HybridWeights<'a>>),
    /// Integer Elman.
    IntElman(IntElman<'a>, Fracs),
    /// Integer LSTM.
    IntLstm(IntLstm<'a>, Fracs),
    /// Integer GRU.
    IntGru(IntGru<'a>, Fracs),
    /// Integer Dense.
    IntDense(IntDense<'a>, Fracs),
    /// f16 / i8-hybrid Embedding (first layer only).
    Embedding(FloatEmbedding<HybridWeights<'a>>),
    /// Integer Embedding: its vectors in `Q(frac)` (first layer only).
    IntEmbedding(IntEmbedding<'a>, u8),
}

impl QuantLayer<'_> {
    /// The layer's number format.
    pub const fn format(&self) -> NumFormat {
        const fn hybrid(w: &HybridWeights<'_>) -> NumFormat {
            match w {
                HybridWeights::F16(_) => NumFormat::F16,
                HybridWeights::I8(_) => NumFormat::I8,
            }
        }
        match self {
            QuantLayer::Elman(c) => hybrid(&c.w_x),
            QuantLayer::Lstm(c) => hybrid(&c.w_x),
            QuantLayer::Gru(c) => hybrid(&c.w_x),
            QuantLayer::Dense(d) => hybrid(&d.w),
            QuantLayer::Embedding(e) => hybrid(&e.table),
            _ => NumFormat::Integer,
        }
    }

    /// `elman`, `lstm`, `gru` or `dense`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            QuantLayer::Elman(_) | QuantLayer::IntElman(..) => "elman",
            QuantLayer::Lstm(_) | QuantLayer::IntLstm(..) => "lstm",
            QuantLayer::Gru(_) | QuantLayer::IntGru(..) => "gru",
            QuantLayer::Dense(_) | QuantLayer::IntDense(..) => "dense",
            QuantLayer::Embedding(_) | QuantLayer::IntEmbedding(..) => "embedding",
        }
    }

    /// `(input, output)` sizes.
    pub const fn sizes(&self) -> (usize, usize) {
        match self {
            QuantLayer::Elman(c) => (c.input, c.hidden),
            QuantLayer::Lstm(c) => (c.input, c.hidden),
            QuantLayer::Gru(c) => (c.input, c.hidden),
            QuantLayer::Dense(d) => (d.input, d.out),
            QuantLayer::IntElman(c, _) => (c.input, c.hidden),
            QuantLayer::IntLstm(c, _) => (c.input, c.hidden),
            QuantLayer::IntGru(c, _) => (c.input, c.hidden),
            QuantLayer::IntDense(d, _) => (d.input, d.out),
            QuantLayer::Embedding(e) => (e.vocab, e.dim),
            QuantLayer::IntEmbedding(e, _) => (e.vocab, e.dim),
        }
    }

    /// Whether this is an Embedding (token ids in, vectors out).
    pub const fn is_embedding(&self) -> bool {
        matches!(
            self,
            QuantLayer::Embedding(_) | QuantLayer::IntEmbedding(..)
        )
    }

    /// Writes the vector of `token` as `f32` into `out` (length: the
    /// vector size); `false` when this is not an Embedding, `token` is out
    /// of range or `out` has the wrong length.
    pub fn lookup_into(&self, token: usize, out: &mut [f32]) -> bool {
        match self {
            QuantLayer::Embedding(e) => e.lookup_into(token, out),
            QuantLayer::IntEmbedding(e, frac) => match e.lookup(token) {
                Some(row) if row.len() == out.len() => {
                    dequantize_slice(row, *frac, out);
                    true
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// Gate blocks (1 Elman, 4 LSTM, 3 GRU, 0 Dense and Embedding).
    pub const fn gates(&self) -> usize {
        match self {
            QuantLayer::Elman(_) | QuantLayer::IntElman(..) => 1,
            QuantLayer::Lstm(_) | QuantLayer::IntLstm(..) => 4,
            QuantLayer::Gru(_) | QuantLayer::IntGru(..) => 3,
            QuantLayer::Dense(_) | QuantLayer::IntDense(..) => 0,
            QuantLayer::Embedding(_) | QuantLayer::IntEmbedding(..) => 0,
        }
    }

    /// Whether the layer has a cell state `c` after `h` (LSTM).
    pub const fn has_cell(&self) -> bool {
        self.gates() == 4
    }

    /// f32 words of recurrent state.
    pub const fn state_len(&self) -> usize {
        let (_, h) = self.sizes();
        match self.gates() {
            0 => 0,
            4 => 2 * h,
            _ => h,
        }
    }

    /// f32 words of scratch one step needs.
    pub const fn scratch_len(&self) -> usize {
        let (i, h) = self.sizes();
        // i16 buffers of x, h, c packed two per word.
        let int16 = (i + 2 * h).div_ceil(2);
        match self {
            QuantLayer::Elman(c) => c.scratch_len(),
            QuantLayer::Lstm(c) => c.scratch_len(),
            QuantLayer::Gru(c) => c.scratch_len(),
            QuantLayer::Dense(_) | QuantLayer::Embedding(_) | QuantLayer::IntEmbedding(..) => 0,
            QuantLayer::IntElman(c, _) => c.scratch_len() + int16,
            QuantLayer::IntLstm(c, _) => c.scratch_len() + int16,
            QuantLayer::IntGru(c, _) => c.scratch_len() + int16,
            QuantLayer::IntDense(d, _) => d.scratch_len() + int16,
        }
    }

    /// One step of a recurrent layer: `state` is its `h` (then `c`); the
    /// f16 and i8 cells compute sigmoid and tanh with `A`'s functions.
    pub(crate) fn step<A: Act>(
        &self,
        x: &[f32],
        state: &mut [f32],
        scratch: &mut [f32],
        simd: bool,
    ) {
        let (_, n) = self.sizes();
        let (h, c) = state.split_at_mut(n.min(state.len()));
        // Cell types and formats left out by cargo features are never
        // built by the loader; the guards keep their code out of the link.
        match self {
            QuantLayer::Elman(cell) if HYBRID && ELMAN => cell.step_with::<A>(x, h, scratch),
            QuantLayer::Lstm(cell) if HYBRID && LSTM => cell.step_with::<A>(x, h, c, scratch),
            QuantLayer::Gru(cell) if HYBRID && GRU => cell.step_with::<A>(x, h, scratch),
            QuantLayer::Elman(_) | QuantLayer::Lstm(_) | QuantLayer::Gru(_) => {}
            QuantLayer::Dense(_) | QuantLayer::IntDense(..) => {}
            QuantLayer::Embedding(_) | QuantLayer::IntEmbedding(..) => {}
            _ if !INTEGER => {}
            _ if simd => self.int_step::<Simd>(x, h, c, scratch),
            _ => self.int_step::<Scalar>(x, h, c, scratch),
        }
    }

    fn int_step<K: IntMatVec>(&self, x: &[f32], h: &mut [f32], c: &mut [f32], scratch: &mut [f32]) {
        let (i, n) = self.sizes();
        let cell_len = self.scratch_len() - (i + 2 * n).div_ceil(2);
        let len = scratch.len();
        let (cs, buf) = f32_as_i32_mut(scratch).split_at_mut(cell_len.min(len));
        let buf = i32_as_i16_mut(buf);
        let Some((xq, rest)) = buf.split_at_mut_checked(i) else {
            return;
        };
        let Some((hq, rest)) = rest.split_at_mut_checked(n) else {
            return;
        };
        let Some(cq) = rest.get_mut(..n) else {
            return;
        };
        let f = match self {
            QuantLayer::IntElman(_, f) | QuantLayer::IntLstm(_, f) | QuantLayer::IntGru(_, f) => *f,
            _ => return,
        };
        quantize_slice(x, f.x, xq);
        quantize_slice(h, f.out, hq);
        match self {
            QuantLayer::IntElman(cell, _) if ELMAN => cell.step::<K>(xq, hq, cs),
            QuantLayer::IntLstm(cell, _) if LSTM => {
                quantize_slice(c, cell.cell_frac, cq);
                cell.step::<K>(xq, hq, cq, cs);
                dequantize_slice(cq, cell.cell_frac, c);
            }
            QuantLayer::IntGru(cell, _) if GRU => cell.step::<K>(xq, hq, cs),
            _ => {}
        }
        dequantize_slice(hq, f.out, h);
    }

    /// A Dense layer's output `y` from `x`; an f16 or i8 Dense computes its
    /// activation with `A`'s functions.
    pub(crate) fn forward<A: Act>(
        &self,
        x: &[f32],
        y: &mut [f32],
        scratch: &mut [f32],
        simd: bool,
    ) {
        match self {
            QuantLayer::Dense(d) if HYBRID => d.forward_with::<A>(x, y),
            QuantLayer::IntDense(d, f) if INTEGER => {
                let (i, n) = (d.input, d.out);
                let len = scratch.len();
                let (cs, buf) = f32_as_i32_mut(scratch).split_at_mut(d.scratch_len().min(len));
                let buf = i32_as_i16_mut(buf);
                let Some((xq, rest)) = buf.split_at_mut_checked(i) else {
                    return;
                };
                let Some(yq) = rest.get_mut(..n) else {
                    return;
                };
                quantize_slice(x, f.x, xq);
                if simd {
                    d.forward::<Simd>(xq, yq, cs);
                } else {
                    d.forward::<Scalar>(xq, yq, cs);
                }
                dequantize_slice(yq, f.out, y);
                if d.act == Activation::Softmax {
                    crate::kernel::activation::softmax(y);
                }
            }
            _ => {}
        }
    }
}

/// Builds the quantized layer `li` from its descriptor and tensors (the f32
/// formats are built by the model loader). Checks tensor count, element
/// types, shapes, alignment, and for the integer format every requantization
/// pair, every fixed-point format and the column limit [`MAX_COLS`].
/// Writes the layer to `out`.
pub(crate) const fn build<'a>(src: &LayerSrc<'_, 'a>, out: &mut Layer<'a>) -> Result<(), Failed> {
    build_quant(src, out)
}

/// A hybrid layer's weight matrix `k` of `rows x cols`: f16 (one tensor),
/// or i8 with its per-row f32 scales (tensors `k` and `k + 1`).
const fn hybrid_mat<'a>(
    src: &LayerSrc<'_, 'a>,
    f16: bool,
    k: usize,
    rows: u32,
    cols: u32,
) -> Result<HybridWeights<'a>, Failed> {
    Ok(if f16 {
        HybridWeights::F16(F16Weights(tri!(src.typed::<f16>(
            k,
            dtype::F16,
            (rows, cols)
        ))))
    } else {
        HybridWeights::I8(I8Weights {
            w: tri!(src.typed::<i8>(k, dtype::I8, (rows, cols))),
            scale: tri!(src.typed::<f32>(k + 1, dtype::F32, (rows, 1))),
        })
    })
}

/// An integer layer's weight matrix `k` of `rows x cols` with its
/// requantization pairs (tensor `k + 1`), each checked.
const fn int_mat<'a>(
    src: &LayerSrc<'_, 'a>,
    k: usize,
    rows: u32,
    cols: u32,
) -> Result<IntMatrix<'a>, Failed> {
    let rq = tri!(src.typed::<i32>(k + 1, dtype::I32, (rows, 2)));
    let mut r = 0;
    while r + 1 < rq.len() {
        if !Requant::from_pair([rq[r], rq[r + 1]]).is_valid() {
            return Err(src.fail(bad_fmt(src)));
        }
        r += 2;
    }
    Ok(IntMatrix {
        w: tri!(src.typed::<i8>(k, dtype::I8, (rows, cols))),
        rq,
        tiled: src.tiled(k),
    })
}

/// [`Error::UnsupportedFormat`] for the layer.
const fn bad_fmt(src: &LayerSrc<'_, '_>) -> Error {
    Error::UnsupportedFormat {
        layer: src.li,
        code: src.d.format,
    }
}

/// [`Error::UnsupportedActivation`] for the layer.
const fn bad_act(src: &LayerSrc<'_, '_>) -> Error {
    Error::UnsupportedActivation {
        layer: src.li,
        code: src.d.act,
    }
}

/// A fixed-point format `v` of the file (at most [`MAX_FRAC`] bits).
const fn frac(src: &LayerSrc<'_, '_>, v: i32) -> Result<u8, Failed> {
    if v < 0 || v > MAX_FRAC as i32 {
        return Err(src.fail(bad_fmt(src)));
    }
    Ok(v as u8)
}

/// The layer's activation code (`elman`: tanh or relu only).
const fn act(src: &LayerSrc<'_, '_>, elman: bool) -> Result<Activation, Failed> {
    match Activation::from_code(src.d.act) {
        Some(a @ (Activation::Tanh | Activation::Relu)) => Ok(a),
        Some(a) if !elman => Ok(a),
        _ => Err(src.fail(bad_act(src))),
    }
}

/// The GRU variant code.
const fn variant(src: &LayerSrc<'_, '_>) -> Result<GruVariant, Failed> {
    match GruVariant::from_code(src.d.act) {
        Some(v) => Ok(v),
        None => Err(src.fail(bad_act(src))),
    }
}

/// Whether the layer has `n` tensors ([`Error::BadTensorRef`] if not).
const fn expect(src: &LayerSrc<'_, '_>, n: usize) -> Result<(), Failed> {
    if src.d.tensor_count as usize == n {
        Ok(())
    } else {
        Err(src.fail(Error::BadTensorRef { layer: src.li }))
    }
}

/// [`build`], writing the layer to `out` in place (no copy of it on the
/// loader's deepest path).
const fn build_quant<'a>(src: &LayerSrc<'_, 'a>, out: &mut Layer<'a>) -> Result<(), Failed> {
    let d = &src.d;
    let (i, h) = (d.input, d.output);
    let (iu, hu) = (i as usize, h as usize);
    if !format_enabled(d.format) {
        return Err(src.fail(bad_fmt(src)));
    }
    let gates: u32 = match d.kind {
        kind::EMBEDDING => 1,
        kind::ELMAN => 1,
        kind::LSTM => 4,
        kind::GRU => 3,
        kind::DENSE => 1,
        _ => return Err(src.fail(bad_fmt(src))),
    };
    let Some(g) = gates.checked_mul(h) else {
        return Err(src.fail(Error::TooLarge));
    };
    if d.kind == kind::EMBEDDING {
        *out = Layer::Quant(tri!(build_embedding(src)));
        return Ok(());
    }
    let is_dense = d.kind == kind::DENSE;
    let (wrows, hcols) = if is_dense { (h, 0) } else { (g, h) };
    match d.format {
        numfmt::F16 | numfmt::I8 if HYBRID => {
            let f16 = d.format == numfmt::F16;
            // f16: W_x, W_h, biases. i8: W_x, s_x, W_h, s_h, biases.
            let per = if f16 { 1 } else { 2 };
            *out = Layer::Quant(match d.kind {
                kind::DENSE => {
                    tri!(expect(src, per + 1));
                    QuantLayer::Dense(FloatDense {
                        input: iu,
                        out: hu,
                        act: tri!(act(src, false)),
                        w: tri!(hybrid_mat(src, f16, 0, h, i)),
                        b: tri!(src.typed::<f32>(per, dtype::F32, (h, 1))),
                    })
                }
                kind::ELMAN if ELMAN => {
                    tri!(expect(src, 2 * per + 1));
                    QuantLayer::Elman(FloatElman {
                        input: iu,
                        hidden: hu,
                        act: tri!(act(src, true)),
                        w_x: tri!(hybrid_mat(src, f16, 0, g, i)),
                        w_h: tri!(hybrid_mat(src, f16, per, g, h)),
                        b: tri!(src.typed::<f32>(2 * per, dtype::F32, (g, 1))),
                    })
                }
                kind::LSTM if LSTM => {
                    tri!(expect(src, 2 * per + 1));
                    if d.act != 0 {
                        return Err(src.fail(bad_act(src)));
                    }
                    QuantLayer::Lstm(FloatLstm {
                        input: iu,
                        hidden: hu,
                        w_x: tri!(hybrid_mat(src, f16, 0, g, i)),
                        w_h: tri!(hybrid_mat(src, f16, per, g, h)),
                        b: tri!(src.typed::<f32>(2 * per, dtype::F32, (g, 1))),
                    })
                }
                kind::GRU if GRU => {
                    tri!(expect(src, 2 * per + 2));
                    QuantLayer::Gru(FloatGru {
                        input: iu,
                        hidden: hu,
                        variant: tri!(variant(src)),
                        w_x: tri!(hybrid_mat(src, f16, 0, g, i)),
                        w_h: tri!(hybrid_mat(src, f16, per, g, h)),
                        b_x: tri!(src.typed::<f32>(2 * per, dtype::F32, (g, 1))),
                        b_h: tri!(src.typed::<f32>(2 * per + 1, dtype::F32, (g, 1))),
                    })
                }
                // Kinds the cargo features leave out (rejected by the loader).
                _ => return Err(src.fail(bad_fmt(src))),
            });
            Ok(())
        }
        numfmt::INTEGER if INTEGER => {
            if iu > MAX_COLS || (!is_dense && hu > MAX_COLS) {
                return Err(src.fail(bad_fmt(src)));
            }
            // W_x, rq_x, [W_h, rq_h], biases, q = [x_frac, out_frac, cell_frac].
            let nb = if d.kind == kind::GRU { 2 } else { 1 };
            let nm = if is_dense { 1 } else { 2 };
            tri!(expect(src, 2 * nm + nb + 1));
            let q = tri!(src.typed::<i32>(2 * nm + nb, dtype::I32, (1, 3)));
            let [qx, qo, qc] = match q {
                [a, b, c] => [*a, *b, *c],
                _ => return Err(src.fail(bad_fmt(src))),
            };
            let fr = Fracs {
                x: tri!(frac(src, qx)),
                out: tri!(frac(src, qo)),
            };
            let cell_frac = tri!(frac(src, qc));
            let w_x = tri!(int_mat(src, 0, wrows, i));
            let b0 = tri!(src.typed::<i32>(2 * nm, dtype::I32, (wrows, 1)));
            *out = Layer::Quant(match d.kind {
                kind::DENSE => QuantLayer::IntDense(
                    IntDense {
                        input: iu,
                        out: hu,
                        act: tri!(act(src, false)),
                        w: w_x,
                        b: b0,
                    },
                    fr,
                ),
                kind::ELMAN if ELMAN => QuantLayer::IntElman(
                    IntElman {
                        input: iu,
                        hidden: hu,
                        act: tri!(act(src, true)),
                        w_x,
                        w_h: tri!(int_mat(src, 2, g, hcols)),
                        b: b0,
                    },
                    fr,
                ),
                kind::LSTM if LSTM => {
                    if d.act != 0 {
                        return Err(src.fail(bad_act(src)));
                    }
                    QuantLayer::IntLstm(
                        IntLstm {
                            input: iu,
                            hidden: hu,
                            w_x,
                            w_h: tri!(int_mat(src, 2, g, hcols)),
                            b: b0,
                            cell_frac,
                        },
                        fr,
                    )
                }
                kind::GRU if GRU => QuantLayer::IntGru(
                    IntGru {
                        input: iu,
                        hidden: hu,
                        variant: tri!(variant(src)),
                        w_x,
                        w_h: tri!(int_mat(src, 2, g, hcols)),
                        b_x: b0,
                        b_h: tri!(src.typed::<i32>(2 * nm + 1, dtype::I32, (g, 1))),
                    },
                    fr,
                ),
                // Kinds the cargo features leave out (rejected by the loader).
                _ => return Err(src.fail(bad_fmt(src))),
            });
            Ok(())
        }
        _ => Err(src.fail(bad_fmt(src))),
    }
}

/// An Embedding of `vocab = d.input` rows of `dim = d.output`:
/// - f16: the table `[vocab][dim]` as `f16`;
/// - i8: the table as `i8` and one `f32` scale per row `[vocab][1]`;
/// - integer: the table as `i16` in `Q(frac)` and `frac` as `i32` `[1][1]`.
const fn build_embedding<'a>(src: &LayerSrc<'_, 'a>) -> Result<QuantLayer<'a>, Failed> {
    let d = &src.d;
    if d.act != 0 {
        return Err(src.fail(bad_act(src)));
    }
    let shape = (d.input, d.output);
    let (vocab, dim) = (d.input as usize, d.output as usize);
    let count = match d.format {
        numfmt::F16 => 1,
        _ => 2,
    };
    tri!(expect(src, count));
    match d.format {
        numfmt::F16 if F16 => Ok(QuantLayer::Embedding(FloatEmbedding {
            vocab,
            dim,
            table: HybridWeights::F16(F16Weights(tri!(src.typed::<f16>(0, dtype::F16, shape)))),
        })),
        numfmt::I8 if I8 => {
            let w = tri!(src.typed::<i8>(0, dtype::I8, shape));
            let scale = tri!(src.typed::<f32>(1, dtype::F32, (d.input, 1)));
            Ok(QuantLayer::Embedding(FloatEmbedding {
                vocab,
                dim,
                table: HybridWeights::I8(I8Weights { w, scale }),
            }))
        }
        numfmt::INTEGER if INTEGER => {
            let table = tri!(src.typed::<i16>(0, dtype::I16, shape));
            let q = tri!(src.typed::<i32>(1, dtype::I32, (1, 1)));
            let frac = match q {
                [v] => tri!(frac(src, *v)),
                _ => return Err(src.fail(bad_fmt(src))),
            };
            Ok(QuantLayer::IntEmbedding(
                IntEmbedding { vocab, dim, table },
                frac,
            ))
        }
        _ => Err(src.fail(bad_fmt(src))),
    }
}
