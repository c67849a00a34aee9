//! GRU, gate order z, r, n, with `h' = (1 − z) ⊙ n + z ⊙ h` and both
//! placements of the reset gate (see [`GruVariant`]).

use crate::format::GruVariant;
use crate::kernel::activation::{sigmoid, tanh};
use crate::kernel::matvec_acc;

/// A GRU layer with weights borrowed from the model file.
#[derive(Debug, Clone, Copy)]
pub struct Gru<'a> {
    /// Input size.
    pub input: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Where the reset gate applies.
    pub variant: GruVariant,
    /// `[3 * hidden][input]`, row-major, gate blocks z, r, n.
    pub w_x: &'a [f32],
    /// `[3 * hidden][hidden]`, row-major, gate blocks z, r, n.
    pub w_h: &'a [f32],
    /// `[3 * hidden]`, input biases.
    pub b_x: &'a [f32],
    /// `[3 * hidden]`, recurrent biases.
    pub b_h: &'a [f32],
}

impl Gru<'_> {
    /// f32 words of state: `h`.
    pub const fn state_len(&self) -> usize {
        self.hidden
    }

    /// f32 words of scratch a step needs: input and recurrent pre-activations.
    pub const fn scratch_len(&self) -> usize {
        6 * self.hidden
    }

    /// One timestep: updates `h` (length `hidden`) from `x`.
    pub fn step(&self, x: &[f32], h: &mut [f32], scratch: &mut [f32]) {
        let n = self.hidden;
        let (gx, rest) = scratch.split_at_mut(3 * n);
        let gh = &mut rest[..3 * n];
        gx.copy_from_slice(self.b_x);
        matvec_acc(self.w_x, x, gx);
        gh.copy_from_slice(self.b_h);
        match self.variant {
            GruVariant::ResetAfter => {
                matvec_acc(self.w_h, h, gh);
                for j in 0..n {
                    let z = sigmoid(gx[j] + gh[j]);
                    let r = sigmoid(gx[n + j] + gh[n + j]);
                    let cand = tanh(gx[2 * n + j] + r * gh[2 * n + j]);
                    h[j] = (1.0 - z) * cand + z * h[j];
                }
            }
            GruVariant::ResetBefore => {
                // z and r from the full state; then n from the reset state r ⊙ h.
                let (gh_zr, gh_n) = gh.split_at_mut(2 * n);
                matvec_acc(&self.w_h[..2 * n * n], h, gh_zr);
                // Reuse the z/r slots of gh: z in gh_zr[..n], r ⊙ h in gh_zr[n..].
                for j in 0..n {
                    gh_zr[j] = sigmoid(gx[j] + gh_zr[j]);
                    let r = sigmoid(gx[n + j] + gh_zr[n + j]);
                    gh_zr[n + j] = r * h[j];
                }
                let (z, rh) = gh_zr.split_at(n);
                matvec_acc(&self.w_h[2 * n * n..], rh, gh_n);
                for j in 0..n {
                    let cand = tanh(gx[2 * n + j] + gh_n[j]);
                    h[j] = (1.0 - z[j]) * cand + z[j] * h[j];
                }
            }
        }
    }
}
