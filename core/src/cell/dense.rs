//! Fully connected layer: `y = act(W x + b)`.

use crate::format::Activation;
use crate::kernel::{activation, matvec_acc};

/// A Dense layer with weights borrowed from the model file.
#[derive(Debug, Clone, Copy)]
pub struct Dense<'a> {
    /// Input size.
    pub input: usize,
    /// Output size.
    pub out: usize,
    /// Linear, softmax, sigmoid or tanh.
    pub act: Activation,
    /// `[out][input]`, row-major.
    pub w: &'a [f32],
    /// `[out]`.
    pub b: &'a [f32],
}

impl Dense<'_> {
    /// Computes `y` (length `out`) from `x` (length `input`).
    pub fn forward(&self, x: &[f32], y: &mut [f32]) {
        y.copy_from_slice(self.b);
        matvec_acc(self.w, x, y);
        activation::apply(self.act, y);
    }
}
