//! LSTM without peepholes, gate order i, f, g, o:
//! `c = σ(f) ⊙ c + σ(i) ⊙ tanh(g)`, `h = σ(o) ⊙ tanh(c)`.

use crate::format::Layout;
use crate::kernel::activation::{Act, Exact};
use crate::kernel::{lstm_gates, Backend, ScalarBackend};

/// An LSTM layer with weights borrowed from the model file.
// `repr(C)`: the two sizes first, at the same place in every layer kind,
// so `Layer::input_size`/`output_size` need no per-kind branch.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Lstm<'a> {
    /// Input size.
    pub input: usize,
    /// Hidden size.
    pub hidden: usize,
    /// How the weights are stored; gate blocks are `layout.padded(hidden)` rows.
    pub layout: Layout,
    /// `[4 * hidden][input]`, gate blocks i, f, g, o (in `layout`).
    pub w_x: &'a [f32],
    /// `[4 * hidden][hidden]`, gate blocks i, f, g, o (in `layout`).
    pub w_h: &'a [f32],
    /// `[4 * hidden]`: the sum of input and recurrent biases (padded per gate in `layout`).
    pub b: &'a [f32],
}

impl Lstm<'_> {
    /// f32 words of state: `h` then `c`.
    pub const fn state_len(&self) -> usize {
        2 * self.hidden
    }

    /// f32 words of scratch a step needs: the four gate pre-activations.
    pub const fn scratch_len(&self) -> usize {
        4 * self.layout.padded(self.hidden)
    }

    /// One timestep (scalar kernels, exact activations): updates `h` and `c`
    /// (each length `hidden`) from `x` (length `input`).
    ///
    #[doc = crate::cell::step_errors!()]
    pub fn step(
        &self,
        x: &[f32],
        h: &mut [f32],
        c: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<(), crate::Error> {
        let state = [h.len(), c.len()];
        super::check_step(
            self.input,
            self.hidden,
            x,
            &state,
            scratch.len(),
            self.scratch_len(),
        )?;
        self.step_with::<ScalarBackend, Exact>(x, h, c, scratch, false);
        Ok(())
    }

    /// One timestep with the given kernels: one fused pass over `W_x` and
    /// `W_h` into the gate pre-activations, then one pass of gate math.
    /// `rev`: the direction of a streamed product
    /// ([`simd::streams`](crate::kernel::simd::streams)).
    // Not inlined into `Model::run`: one copy per (kernel, math) pair
    // instead of one per call site; one call per step.
    #[inline(never)]
    pub(crate) fn step_with<B: Backend, A: Act>(
        &self,
        x: &[f32],
        h: &mut [f32],
        c: &mut [f32],
        scratch: &mut [f32],
        rev: bool,
    ) {
        let n = self.hidden;
        let hp = self.layout.padded(n);
        if B::lstm_step::<A>(
            self.layout,
            hp,
            self.w_x,
            self.w_h,
            self.b,
            x,
            h,
            c,
            scratch,
            rev,
        ) {
            return;
        }
        let Some(gates) = scratch.get_mut(..4 * hp) else {
            return;
        };
        B::matvec2_bias(self.layout, self.w_x, x, self.w_h, h, self.b, gates);
        lstm_gates::<B::V, A>(gates, hp, n, c, h);
    }
}
