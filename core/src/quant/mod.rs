//! Quantized number formats: the math of `f16` storage, the `i8` hybrid and
//! the full-integer path (see the number formats table of the design).
//!
//! | format | weights | activations / state | accumulate | cells |
//! |---|---|---|---|---|
//! | f16 | IEEE half | f32 | f32 | [`hybrid`] with [`F16Weights`] |
//! | i8 hybrid | i8, f32 scale per row | f32 | f32 | [`hybrid`] with [`I8Weights`] |
//! | integer | i8, requant per row | i16 fixed point, LSTM cell i16 with a power-of-two scale | i32 | [`cell`] |
//!
//! The integer step is pure integer arithmetic (no float operation, so no
//! soft-float call on a Cortex-M0+), and gives the same bits on every target
//! and with either matrix kernel ([`Scalar`], [`Simd`]). Its sigmoid and tanh
//! ([`act`]) are table-driven with a measured maximum error of 1 unit of
//! `2^-15`. Only the boundary ([`quantize_slice`], [`dequantize_slice`])
//! uses floats.
//!
//! The quantizer (`quantize`, feature `alloc`) turns f32 weights and
//! calibration ranges into these formats.
//!
//! Using it:
//! - export: `ModelBuilder::...` as for f32, then
//!   `.quantize(NumFormat::F16 | I8 | Integer)`
//!   and, for `Integer`, `.calibration(xs)`
//!   (inputs back to back; the f32 model runs on them to choose every
//!   layer's fixed-point formats); `build()` validates as always. To quantize
//!   a trained file: `ModelBuilder::from_model(&model).quantize(..)`.
//! - run: [`Model::step`](crate::Model::step) on any format (f32 in and
//!   out; integer layers convert exactly at their boundary and are
//!   bit-identical on every kernel and target); or, with no float operation
//!   at all (Cortex-M0+), [`IntModel::step`] on `i16` in `Q(input_frac)` and
//!   out in `Q(output_frac)`, state in caller-owned `i32` words.
//! - An Embedding input is quantized too (f16 table; i8 table with a
//!   scale per token; integer: i16 table in `Q(frac)`); the integer
//!   calibration of such a model takes token ids
//!   (`ModelBuilder::calibration_tokens`),
//!   and [`IntModel::step_token`] steps it without a float operation.

pub mod act;
pub mod cell;
#[cfg(feature = "alloc")]
pub(crate) mod encode;
pub mod fixed;
pub mod hybrid;
mod int_model;
pub mod layer;
pub mod matvec;
#[cfg(feature = "alloc")]
pub mod quantize;
#[cfg(all(test, feature = "alloc"))]
mod tests;
#[cfg(test)]
mod testutil;
mod words;

pub use cell::{IntDense, IntElman, IntEmbedding, IntGru, IntLstm, IntMatrix};
pub use fixed::Requant;
pub use hybrid::{F16Weights, FloatWeights, I8Weights};
pub use int_model::IntModel;
pub use layer::{NumFormat, QuantLayer};
pub use matvec::{IntMatVec, Scalar, Simd, MAX_COLS};

/// `x` in `Q(frac)`: rounded to nearest with ties up (as the integer
/// shifts round), saturated to `i16`; NaN gives 0. (Boundary code: uses floats.)
pub fn quantize_value(x: f32, frac: u8) -> i16 {
    if x.is_nan() {
        return 0;
    }
    // Exact: the product is a power-of-two scaling, and + 0.5 is exact below 2^23.
    let v = libm::floorf(x * (1u32 << frac.min(31)) as f32 + 0.5);
    // `as` saturates from float to int; then saturate to i16.
    fixed::sat16(v as i32)
}

/// The `f32` value of `q` in `Q(frac)`. (Boundary code: uses floats.)
pub fn dequantize_value(q: i16, frac: u8) -> f32 {
    q as f32 / (1u32 << frac.min(31)) as f32
}

/// Quantizes `x` into `out` element by element (see [`quantize_value`]).
pub fn quantize_slice(x: &[f32], frac: u8, out: &mut [i16]) {
    for (o, x) in out.iter_mut().zip(x) {
        *o = quantize_value(*x, frac);
    }
}

/// Dequantizes `q` into `out` element by element.
pub fn dequantize_slice(q: &[i16], frac: u8, out: &mut [f32]) {
    for (o, q) in out.iter_mut().zip(q) {
        *o = dequantize_value(*q, frac);
    }
}
