//! GRU, gate order z, r, n, with `h' = (1 − z) ⊙ n + z ⊙ h` and both
//! placements of the reset gate (see [`GruVariant`]).

use crate::format::{GruVariant, Layout};
use crate::kernel::activation::{Act, Exact};
use crate::kernel::lanes::{zip_map, Lanes};
use crate::kernel::{gru_gates, Backend, ScalarBackend};

/// A GRU layer with weights borrowed from the model file.
// `repr(C)`: the two sizes first, at the same place in every layer kind,
// so `Layer::input_size`/`output_size` need no per-kind branch.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Gru<'a> {
    /// Input size.
    pub input: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Where the reset gate applies.
    pub variant: GruVariant,
    /// How the weights are stored; gate blocks are `layout.padded(hidden)` rows.
    pub layout: Layout,
    /// `[3 * hidden][input]`, gate blocks z, r, n (in `layout`).
    pub w_x: &'a [f32],
    /// `[3 * hidden][hidden]`, gate blocks z, r, n (in `layout`).
    pub w_h: &'a [f32],
    /// `[3 * hidden]`, input biases (padded per gate in `layout`).
    pub b_x: &'a [f32],
    /// `[3 * hidden]`, recurrent biases (padded per gate in `layout`).
    pub b_h: &'a [f32],
}

impl Gru<'_> {
    /// f32 words of state: `h`.
    pub const fn state_len(&self) -> usize {
        self.hidden
    }

    /// f32 words of scratch a step needs: input and recurrent pre-activations.
    pub const fn scratch_len(&self) -> usize {
        6 * self.layout.padded(self.hidden)
    }

    /// One timestep (scalar kernels, exact activations): updates `h` (length
    /// `hidden`) from `x`.
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

    /// One timestep with the given kernels.
    /// `rev`: the direction of a streamed product
    /// ([`simd::streams`](crate::kernel::simd::streams)).
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
        let n = self.hidden;
        let hp = self.layout.padded(n);
        if self.variant == GruVariant::ResetAfter
            && B::gru_reset_after_step::<A>(
                self.layout,
                hp,
                self.w_x,
                self.w_h,
                self.b_x,
                self.b_h,
                x,
                h,
                scratch,
                rev,
            )
        {
            return;
        }
        let Some(scratch) = scratch.get_mut(..6 * hp) else {
            return;
        };
        let Some((gx, gh)) = scratch.split_at_mut_checked(3 * hp) else {
            return;
        };
        B::matvec_bias(self.layout, self.w_x, x, self.b_x, gx);
        let Some((gx_z, rest)) = gx.split_at_checked(hp) else {
            return;
        };
        let Some((gx_r, gx_n)) = rest.split_at_checked(hp) else {
            return;
        };
        let one = B::V::splat(1.0);
        match self.variant {
            GruVariant::ResetAfter => {
                B::matvec_bias(self.layout, self.w_h, h, self.b_h, gh);
                gru_gates::<B::V, A>(gx, gh, hp, n, h);
            }
            GruVariant::ResetBefore => {
                // z and r from the full state; then n from the reset state r ⊙ h.
                for (g, b) in gh.iter_mut().zip(self.b_h) {
                    *g = *b;
                }
                let Some((gh_zr, gh_n)) = gh.split_at_mut_checked(2 * hp) else {
                    return;
                };
                B::matvec_rows(self.layout, self.w_h, 3 * hp, 0, h, gh_zr);
                // Reuse the z/r slots: z in gh_z, r ⊙ h in gh_r.
                let Some((gh_z, gh_r)) = gh_zr.split_at_mut_checked(hp) else {
                    return;
                };
                zip_map::<B::V, 3, 2>(n, [gx_z, gx_r, h], [gh_z, gh_r], |[xz, xr, h], [hz, hr]| {
                    [A::sigmoid(xz + hz), A::sigmoid(xr + hr) * h]
                });
                B::matvec_rows(
                    self.layout,
                    self.w_h,
                    3 * hp,
                    2 * hp,
                    gh_r.get(..n).unwrap_or(&[]),
                    gh_n,
                );
                zip_map::<B::V, 3, 1>(n, [gh_z, gx_n, gh_n], [h], |[z, xn, hn], [h]| {
                    let cand = A::tanh(xn + hn);
                    [(one - z) * cand + z * h]
                });
            }
        }
    }
}
