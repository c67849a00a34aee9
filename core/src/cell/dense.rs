//! Fully connected layer: `y = act(W x + b)`.

use crate::format::{Activation, Layout};
use crate::kernel::activation::{apply_with, Act, Exact};
use crate::kernel::{Backend, ScalarBackend};

/// A Dense layer with weights borrowed from the model file.
// `repr(C)`: the two sizes first, at the same place in every layer kind,
// so `Layer::input_size`/`output_size` need no per-kind branch.
#[repr(C)]
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
    /// Computes `y` (length `out`) from `x` (length `input`), scalar and exact.
    ///
    #[doc = crate::cell::forward_errors!()]
    pub fn forward(&self, x: &[f32], y: &mut [f32]) -> Result<(), crate::Error> {
        super::check_forward(self.input, self.out, x, y)?;
        self.forward_with::<ScalarBackend, Exact>(x, y);
        Ok(())
    }

    /// Computes `y` with the given kernels.
    #[inline]
    pub(crate) fn forward_with<B: Backend, A: Act>(&self, x: &[f32], y: &mut [f32]) {
        B::matvec_bias(Layout::RowMajor, self.w, x, self.b, y);
        apply_with::<A>(self.act, y);
    }
}
