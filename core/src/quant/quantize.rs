//! Post-training quantization of f32 weights (needs the `alloc` feature).
//!
//! Weights: symmetric, one scale per output row, `scale = max|w_row| / 127`,
//! `q = round(w / scale)` in `-127..=127`. Activations: power-of-two
//! fixed-point formats chosen from calibration ranges by
//! [`frac_for_max_abs`]. The integer layers fold each row's weight scale and
//! the input and pre-activation formats into one [`Requant`].
//!
//! Bad input gives an error or a documented fallback, never a silent garbage
//! model:
//! - NaN or ±inf in weights or biases: [`QuantError::NonFinite`];
//! - an all-zero row: scale 1.0 (int8) / multiplier 0 (integer); exact;
//! - a huge outlier that rounds more than half of its row's other nonzero
//!   weights to zero: [`QuantError::RowCrushed`] (such a row needs a wider
//!   format; keep that layer f32 or f16);
//! - a multiplier too large for the integer path (`>= 2^30`, weights about
//!   2^17 times larger than their inputs' range): [`QuantError::Unrepresentable`];
//!   a multiplier below `2^-32` (the row cannot move the output by one unit)
//!   becomes 0;
//! - a calibration range that is NaN or infinite: [`QuantError::BadRange`];
//!   a zero range gives the finest format, Q0.15; a range beyond 32767 gives
//!   Q15.0 and values beyond it saturate;
//! - biases beyond the `i32` range of the pre-activation format saturate
//!   (the pre-activation saturates at `i16` anyway);
//! - integer layers wider than [`MAX_COLS`] inputs or hidden units:
//!   [`QuantError::TooWide`].

use super::cell::{IntDense, IntElman, IntEmbedding, IntGru, IntLstm, IntMatrix};
use super::fixed::{sat32, Requant, GATE_FRAC, MAX_FRAC, REQUANT_SHIFT_RANGE, UNIT_FRAC};
use super::hybrid::I8Weights;
use super::matvec::MAX_COLS;
use super::quantize_value;
use crate::format::{Activation, GruVariant};
use alloc::vec::Vec;
use half::f16;

/// Why a tensor could not be quantized.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum QuantError {
    /// A weight or bias is NaN or infinite.
    NonFinite {
        /// Which tensor.
        what: &'static str,
        /// Element index.
        index: usize,
    },
    /// An outlier crushes most of its row to zero.
    RowCrushed {
        /// Which tensor.
        what: &'static str,
        /// Row.
        row: usize,
        /// Nonzero weights that quantize to 0.
        zeroed: usize,
        /// Nonzero weights in the row.
        nonzero: usize,
    },
    /// A row's requantization multiplier does not fit the integer format.
    Unrepresentable {
        /// Which tensor.
        what: &'static str,
        /// Row.
        row: usize,
        /// The real multiplier.
        multiplier: f64,
    },
    /// A calibration range is NaN or infinite.
    BadRange {
        /// Which range.
        what: &'static str,
    },
    /// A slice has the wrong length for the stated sizes.
    Shape {
        /// Which tensor.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        found: usize,
    },
    /// An integer layer has more than [`MAX_COLS`] inputs or hidden units.
    TooWide {
        /// Columns of the widest matrix.
        cols: usize,
        /// [`MAX_COLS`].
        max: usize,
    },
}

impl core::fmt::Display for QuantError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            QuantError::NonFinite { what, index } => {
                write!(f, "{what}[{index}] is NaN or infinite")
            }
            QuantError::RowCrushed {
                what,
                row,
                zeroed,
                nonzero,
            } => write!(
                f,
                "{what} row {row}: an outlier rounds {zeroed} of its {nonzero} nonzero weights to 0 in int8; keep this layer in f32 or f16"
            ),
            QuantError::Unrepresentable {
                what,
                row,
                multiplier,
            } => write!(
                f,
                "{what} row {row}: requantization multiplier {multiplier:e} is too large for the integer format"
            ),
            QuantError::BadRange { what } => write!(f, "calibration range of {what} is NaN or infinite"),
            QuantError::Shape {
                what,
                expected,
                found,
            } => write!(f, "{what}: expected {expected} values, found {found}"),
            QuantError::TooWide { cols, max } => write!(
                f,
                "integer layers take at most {max} inputs and hidden units (i32 sums), found {cols}"
            ),
        }
    }
}

impl core::error::Error for QuantError {}

fn check_len(what: &'static str, v: &[f32], expected: usize) -> Result<(), QuantError> {
    if v.len() != expected {
        return Err(QuantError::Shape {
            what,
            expected,
            found: v.len(),
        });
    }
    if let Some(index) = v.iter().position(|x| !x.is_finite()) {
        return Err(QuantError::NonFinite { what, index });
    }
    Ok(())
}

/// The finest power-of-two format `Q(f)`, `f` in `0..=15`, that holds
/// `±max_abs` in an `i16` (see the module docs for the fallbacks).
pub fn frac_for_max_abs(what: &'static str, max_abs: f32) -> Result<u8, QuantError> {
    if !max_abs.is_finite() {
        return Err(QuantError::BadRange { what });
    }
    let m = max_abs.abs();
    let mut f = MAX_FRAC;
    while f > 0 && m * (1u32 << f) as f32 > i16::MAX as f32 {
        f -= 1;
    }
    Ok(f)
}

/// The multiplier `m >= 0` as a [`Requant`], or `None` if `m >= 2^30`.
pub fn requant_from_real(m: f64) -> Option<Requant> {
    if !m.is_finite() || m < 0.0 {
        return None;
    }
    let (lo, hi) = (*REQUANT_SHIFT_RANGE.start(), *REQUANT_SHIFT_RANGE.end());
    if m < libm::ldexp(1.0, -32) {
        return Some(Requant { mult: 0, shift: lo });
    }
    // m = mant * 2^e with mant in [0.5, 1): 31 significant bits at shift 31 - e.
    let (_, e) = libm::frexp(m);
    let mut shift = (31 - e).clamp(lo, hi);
    loop {
        let mult = libm::round(libm::ldexp(m, shift));
        if mult < 2147483648.0 {
            return Some(Requant {
                mult: mult as i32,
                shift,
            });
        }
        if shift == lo {
            return None;
        }
        shift -= 1;
    }
}

/// Int8 weights with one scale per row (the i8 hybrid format, and the first
/// half of the integer format).
#[derive(Debug, Clone, PartialEq)]
pub struct I8Rows {
    /// `[rows][cols]`.
    pub w: Vec<i8>,
    /// `[rows]`, `W[r][c] ≈ scale[r] * w[r][c]`.
    pub scale: Vec<f32>,
}

impl I8Rows {
    /// Borrowed, for the hybrid cells.
    pub fn view(&self) -> I8Weights<'_> {
        I8Weights {
            w: &self.w,
            scale: &self.scale,
        }
    }
}

/// Quantizes `w` (`rows x cols`, row-major) to int8 with per-row scales.
pub fn quantize_rows(
    what: &'static str,
    w: &[f32],
    rows: usize,
    cols: usize,
) -> Result<I8Rows, QuantError> {
    check_len(what, w, rows * cols)?;
    let mut q = Vec::with_capacity(w.len());
    let mut scale = Vec::with_capacity(rows);
    for r in 0..rows {
        let row = &w[r * cols..(r + 1) * cols];
        let max = row.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        if max == 0.0 {
            q.extend(core::iter::repeat_n(0i8, cols));
            scale.push(1.0);
            continue;
        }
        let s = max / 127.0;
        let (mut zeroed, mut nonzero) = (0, 0);
        for x in row {
            let v = libm::roundf(*x / s).clamp(-127.0, 127.0) as i8;
            if *x != 0.0 {
                nonzero += 1;
                zeroed += usize::from(v == 0);
            }
            q.push(v);
        }
        if nonzero >= 4 && 2 * zeroed > nonzero {
            return Err(QuantError::RowCrushed {
                what,
                row: r,
                zeroed,
                nonzero,
            });
        }
        scale.push(s);
    }
    Ok(I8Rows { w: q, scale })
}

/// `w` as IEEE half (values beyond ±65504 become ±inf, which the loader
/// refuses; use this only on finite, f16-sized weights).
pub fn to_f16(what: &'static str, w: &[f32]) -> Result<Vec<f16>, QuantError> {
    check_len(what, w, w.len())?;
    let v: Vec<f16> = w.iter().map(|x| f16::from_f32(*x)).collect();
    if let Some(index) = v.iter().position(|x| !x.is_finite()) {
        return Err(QuantError::NonFinite { what, index });
    }
    Ok(v)
}

/// An integer matrix: int8 weights and the `[mult, shift]` pair per row that
/// maps its sums from input format `Q(in_frac)` to `Q(pre_frac)`.
#[derive(Debug, Clone, PartialEq)]
pub struct IntRows {
    /// `[rows][cols]`.
    pub w: Vec<i8>,
    /// `[rows][2]`.
    pub rq: Vec<i32>,
}

impl IntRows {
    /// Borrowed, for the integer cells.
    pub fn view(&self) -> IntMatrix<'_> {
        IntMatrix {
            w: &self.w,
            rq: &self.rq,
            tiled: false,
        }
    }
}

/// Quantizes `w` for the integer path (see [`IntRows`]).
pub fn quantize_int_rows(
    what: &'static str,
    w: &[f32],
    rows: usize,
    cols: usize,
    in_frac: u8,
    pre_frac: u8,
) -> Result<IntRows, QuantError> {
    if cols > MAX_COLS {
        return Err(QuantError::TooWide {
            cols,
            max: MAX_COLS,
        });
    }
    let q = quantize_rows(what, w, rows, cols)?;
    let mut rq = Vec::with_capacity(2 * rows);
    for (row, s) in q.scale.iter().enumerate() {
        let all_zero = q.w[row * cols..(row + 1) * cols].iter().all(|v| *v == 0);
        let m = if all_zero {
            0.0
        } else {
            libm::ldexp(*s as f64, pre_frac as i32 - in_frac as i32)
        };
        let r = requant_from_real(m).ok_or(QuantError::Unrepresentable {
            what,
            row,
            multiplier: m,
        })?;
        rq.extend_from_slice(&r.to_pair());
    }
    Ok(IntRows { w: q.w, rq })
}

/// Biases in `Q(frac)` as `i32` (saturated).
pub fn quantize_bias(what: &'static str, b: &[f32], frac: u8) -> Result<Vec<i32>, QuantError> {
    check_len(what, b, b.len())?;
    Ok(b.iter()
        .map(|x| sat32(libm::round(libm::ldexp(*x as f64, frac as i32)) as i64))
        .collect())
}

/// The pre-activation format of an activation whose output is `Q(out_frac)`:
/// Q3.12 in front of sigmoid and tanh, the output format otherwise.
pub fn pre_frac(act: Activation, out_frac: u8) -> u8 {
    match act {
        Activation::Sigmoid | Activation::Tanh => GATE_FRAC,
        _ => out_frac,
    }
}

/// The output format of an activation (`Q0.15` after sigmoid and tanh).
pub fn out_frac(act: Activation, calibrated: u8) -> u8 {
    match act {
        Activation::Sigmoid | Activation::Tanh => UNIT_FRAC,
        _ => calibrated,
    }
}

/// An integer Elman layer, owned.
#[derive(Debug, Clone, PartialEq)]
pub struct IntElmanParams {
    /// Input size.
    pub input: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Tanh or relu.
    pub act: Activation,
    /// `W_x`.
    pub w_x: IntRows,
    /// `W_h`.
    pub w_h: IntRows,
    /// Bias in the pre-activation format.
    pub b: Vec<i32>,
    /// The format of `h` (15 for tanh).
    pub h_frac: u8,
}

impl IntElmanParams {
    /// Quantizes an f32 Elman layer whose inputs are `Q(x_frac)`; `h_max_abs`
    /// (calibrated) sets the format of `h` for relu and is ignored for tanh.
    #[expect(
        clippy::too_many_arguments,
        reason = "one argument per tensor and range of the layer"
    )]
    pub fn new(
        input: usize,
        hidden: usize,
        act: Activation,
        w_x: &[f32],
        w_h: &[f32],
        b: &[f32],
        x_frac: u8,
        h_max_abs: f32,
    ) -> Result<Self, QuantError> {
        let act = if act == Activation::Relu {
            Activation::Relu
        } else {
            Activation::Tanh
        };
        let h_frac = out_frac(act, frac_for_max_abs("elman h", h_max_abs)?);
        let pre = pre_frac(act, h_frac);
        check_len("elman b", b, hidden)?;
        Ok(IntElmanParams {
            input,
            hidden,
            act,
            w_x: quantize_int_rows("elman W_x", w_x, hidden, input, x_frac, pre)?,
            w_h: quantize_int_rows("elman W_h", w_h, hidden, hidden, h_frac, pre)?,
            b: quantize_bias("elman b", b, pre)?,
            h_frac,
        })
    }

    /// Borrowed cell.
    pub fn view(&self) -> IntElman<'_> {
        IntElman {
            input: self.input,
            hidden: self.hidden,
            act: self.act,
            w_x: self.w_x.view(),
            w_h: self.w_h.view(),
            b: &self.b,
        }
    }
}

/// An integer LSTM layer, owned.
#[derive(Debug, Clone, PartialEq)]
pub struct IntLstmParams {
    /// Input size.
    pub input: usize,
    /// Hidden size.
    pub hidden: usize,
    /// `W_x`.
    pub w_x: IntRows,
    /// `W_h`.
    pub w_h: IntRows,
    /// Bias in Q3.12.
    pub b: Vec<i32>,
    /// Fraction bits of the cell state.
    pub cell_frac: u8,
}

impl IntLstmParams {
    /// Quantizes an f32 LSTM layer whose inputs are `Q(x_frac)`; `c_max_abs`
    /// is the calibrated range of the cell state.
    pub fn new(
        input: usize,
        hidden: usize,
        w_x: &[f32],
        w_h: &[f32],
        b: &[f32],
        x_frac: u8,
        c_max_abs: f32,
    ) -> Result<Self, QuantError> {
        check_len("lstm b", b, 4 * hidden)?;
        Ok(IntLstmParams {
            input,
            hidden,
            w_x: quantize_int_rows("lstm W_x", w_x, 4 * hidden, input, x_frac, GATE_FRAC)?,
            w_h: quantize_int_rows("lstm W_h", w_h, 4 * hidden, hidden, UNIT_FRAC, GATE_FRAC)?,
            b: quantize_bias("lstm b", b, GATE_FRAC)?,
            cell_frac: frac_for_max_abs("lstm c", c_max_abs)?,
        })
    }

    /// Borrowed cell.
    pub fn view(&self) -> IntLstm<'_> {
        IntLstm {
            input: self.input,
            hidden: self.hidden,
            w_x: self.w_x.view(),
            w_h: self.w_h.view(),
            b: &self.b,
            cell_frac: self.cell_frac,
        }
    }
}

/// An integer GRU layer, owned.
#[derive(Debug, Clone, PartialEq)]
pub struct IntGruParams {
    /// Input size.
    pub input: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Where the reset gate applies.
    pub variant: GruVariant,
    /// `W_x`.
    pub w_x: IntRows,
    /// `W_h`.
    pub w_h: IntRows,
    /// Input biases in Q3.12.
    pub b_x: Vec<i32>,
    /// Recurrent biases in Q3.12.
    pub b_h: Vec<i32>,
}

impl IntGruParams {
    /// Quantizes an f32 GRU layer whose inputs are `Q(x_frac)`.
    #[expect(
        clippy::too_many_arguments,
        reason = "one argument per tensor and range of the layer"
    )]
    pub fn new(
        input: usize,
        hidden: usize,
        variant: GruVariant,
        w_x: &[f32],
        w_h: &[f32],
        b_x: &[f32],
        b_h: &[f32],
        x_frac: u8,
    ) -> Result<Self, QuantError> {
        check_len("gru b_x", b_x, 3 * hidden)?;
        check_len("gru b_h", b_h, 3 * hidden)?;
        Ok(IntGruParams {
            input,
            hidden,
            variant,
            w_x: quantize_int_rows("gru W_x", w_x, 3 * hidden, input, x_frac, GATE_FRAC)?,
            w_h: quantize_int_rows("gru W_h", w_h, 3 * hidden, hidden, UNIT_FRAC, GATE_FRAC)?,
            b_x: quantize_bias("gru b_x", b_x, GATE_FRAC)?,
            b_h: quantize_bias("gru b_h", b_h, GATE_FRAC)?,
        })
    }

    /// Borrowed cell.
    pub fn view(&self) -> IntGru<'_> {
        IntGru {
            input: self.input,
            hidden: self.hidden,
            variant: self.variant,
            w_x: self.w_x.view(),
            w_h: self.w_h.view(),
            b_x: &self.b_x,
            b_h: &self.b_h,
        }
    }
}

/// An integer Dense layer, owned.
#[derive(Debug, Clone, PartialEq)]
pub struct IntDenseParams {
    /// Input size.
    pub input: usize,
    /// Output size.
    pub out: usize,
    /// The activation.
    pub act: Activation,
    /// `W`.
    pub w: IntRows,
    /// Bias in the pre-activation format.
    pub b: Vec<i32>,
    /// The format of `y` (15 after sigmoid/tanh; calibrated otherwise).
    pub y_frac: u8,
}

impl IntDenseParams {
    /// Quantizes an f32 Dense layer whose inputs are `Q(x_frac)`; `y_max_abs`
    /// (calibrated pre-activation range: logits for softmax) sets the output
    /// format of linear, relu and softmax.
    pub fn new(
        input: usize,
        out: usize,
        act: Activation,
        w: &[f32],
        b: &[f32],
        x_frac: u8,
        y_max_abs: f32,
    ) -> Result<Self, QuantError> {
        let y_frac = out_frac(act, frac_for_max_abs("dense y", y_max_abs)?);
        let pre = pre_frac(act, y_frac);
        check_len("dense b", b, out)?;
        Ok(IntDenseParams {
            input,
            out,
            act,
            w: quantize_int_rows("dense W", w, out, input, x_frac, pre)?,
            b: quantize_bias("dense b", b, pre)?,
            y_frac,
        })
    }

    /// Borrowed layer.
    pub fn view(&self) -> IntDense<'_> {
        IntDense {
            input: self.input,
            out: self.out,
            act: self.act,
            w: self.w.view(),
            b: &self.b,
        }
    }
}

/// An integer Embedding, owned: the table in the finest format that holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct IntEmbeddingParams {
    /// Vocabulary size.
    pub vocab: usize,
    /// Vector size.
    pub dim: usize,
    /// `[vocab][dim]` in `Q(frac)`.
    pub table: Vec<i16>,
    /// The format of the vectors.
    pub frac: u8,
}

impl IntEmbeddingParams {
    /// Quantizes an f32 table.
    pub fn new(vocab: usize, dim: usize, table: &[f32]) -> Result<Self, QuantError> {
        check_len("embedding table", table, vocab * dim)?;
        let max = table.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let frac = frac_for_max_abs("embedding table", max)?;
        Ok(IntEmbeddingParams {
            vocab,
            dim,
            table: table.iter().map(|x| quantize_value(*x, frac)).collect(),
            frac,
        })
    }

    /// Borrowed layer.
    pub fn view(&self) -> IntEmbedding<'_> {
        IntEmbedding {
            vocab: self.vocab,
            dim: self.dim,
            table: &self.table,
        }
    }
}
