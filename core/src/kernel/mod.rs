//! Numeric kernels: matrix-vector products and activations.
//!
//! Every cell is written in terms of these few functions, so a faster kernel
//! (SIMD, DSP) replaces one function here and all cells get it.

pub mod activation;
mod scalar;

pub use scalar::{dot, matvec_acc};
