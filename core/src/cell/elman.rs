//! Elman (simple) RNN: `h = act(W_x x + W_h h + b)`.

use crate::format::{Activation, Layout};
use crate::kernel::activation::{Act, Exact};
use crate::kernel::lanes::{zip_map, Lanes};
use crate::kernel::{Backend, ScalarBackend};

/// An Elman layer with weights borrowed from the model file.
// `repr(C)`: the two sizes first, at the same place in every layer kind,
// so `Layer::input_size`/`output_size` need no per-kind branch.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Elman<'a> {
    /// Input size.
    pub input: usize,
    /// Hidden size.
    pub hidden: usize,
    /// `Tanh` or `Relu`.
    pub act: Activation,
    /// How the weights are stored; `layout.padded(hidden)` rows.
    pub layout: Layout,
    /// `[hidden][input]` (in `layout`).
    pub w_x: &'a [f32],
    /// `[hidden][hidden]` (in `layout`).
    pub w_h: &'a [f32],
    /// `[hidden]` (padded in `layout`).
    pub b: &'a [f32],
}

impl Elman<'_> {
    /// f32 words of state: `h`.
    pub const fn state_len(&self) -> usize {
        self.hidden
    }

    /// f32 words of scratch a step needs.
    pub const fn scratch_len(&self) -> usize {
        self.layout.padded(self.hidden)
    }

    /// One timestep (scalar kernels, exact activations): updates `h` (length
    /// `hidden`) from `x` (length `input`).
    ///
    #[doc = crate::cell::step_errors!()]
    pub fn step(&self, x: &[f32], h: &mut [f32], scratch: &mut [f32]) -> Result<(), crate::Error> {
        super::check_step(
            self.input,
            self.hidden,
            x,
            &[h.len()],
            scratch.len(),
            self.scratch_len(),
        )?;
        self.step_with::<ScalarBackend, Exact>(x, h, scratch, false);
        Ok(())
    }

    /// One timestep with the given kernels; `rev`: the direction of a
    /// streamed product ([`simd::streams`](crate::kernel::simd::streams)).
    // Not inlined into `Model::run`: one copy per (kernel, math) pair
    // instead of one per call site; one call per step.
    #[inline(never)]
    pub(crate) fn step_with<B: Backend, A: Act>(
        &self,
        x: &[f32],
        h: &mut [f32],
        scratch: &mut [f32],
        rev: bool,
    ) {
        let Some(a) = scratch.get_mut(..self.layout.padded(self.hidden)) else {
            return;
        };
        B::matvec2_bias_swept(self.layout, self.w_x, x, self.w_h, h, self.b, a, rev);
        let n = self.hidden;
        if self.act == Activation::Relu {
            zip_map::<B::V, 1, 1>(n, [a], [h], |[a], _| [a.relu()]);
        } else {
            B::tanh_into::<A>(n, a, h);
        }
    }
}
