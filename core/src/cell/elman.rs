//! Elman (simple) RNN: `h = act(W_x x + W_h h + b)`.

use crate::format::Activation;
use crate::kernel::{activation, matvec_acc};

/// An Elman layer with weights borrowed from the model file.
#[derive(Debug, Clone, Copy)]
pub struct Elman<'a> {
    /// Input size.
    pub input: usize,
    /// Hidden size.
    pub hidden: usize,
    /// `Tanh` or `Relu`.
    pub act: Activation,
    /// `[hidden][input]`, row-major.
    pub w_x: &'a [f32],
    /// `[hidden][hidden]`, row-major.
    pub w_h: &'a [f32],
    /// `[hidden]`.
    pub b: &'a [f32],
}

impl Elman<'_> {
    /// f32 words of state: `h`.
    pub const fn state_len(&self) -> usize {
        self.hidden
    }

    /// f32 words of scratch a step needs.
    pub const fn scratch_len(&self) -> usize {
        self.hidden
    }

    /// One timestep: updates `h` (length `hidden`) from `x` (length `input`).
    pub fn step(&self, x: &[f32], h: &mut [f32], scratch: &mut [f32]) {
        let a = &mut scratch[..self.hidden];
        a.copy_from_slice(self.b);
        matvec_acc(self.w_x, x, a);
        matvec_acc(self.w_h, h, a);
        activation::apply(self.act, a);
        h.copy_from_slice(a);
    }
}
