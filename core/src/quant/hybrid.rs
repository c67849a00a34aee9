//! The float cells over compressed weights: `f16` storage and the `i8`
//! hybrid (int8 weights, one `f32` scale per row). Activations, state and
//! accumulation are `f32`; sigmoid and tanh follow the model's
//! [`Math`](crate::Math) as in the f32 cells (the `libm` ones for
//! `Math::Exact`, the rational approximations for `Math::Fast`, on a
//! Cortex-M4F the same FPU sequences as the f32 cells), so these cells
//! differ from the f32 cells only by the weights' rounding (and the order of
//! the sums). The public `step`/`forward` methods compute with the exact
//! functions.
//!
//! One generic cell per kind serves both formats through [`FloatWeights`].

use super::matvec::{matvec_f16, matvec_i8_f32};
use crate::cell::{check_forward, check_step};
use crate::format::{Activation, GruVariant};
use crate::kernel::activation::{apply_with, relu, Act, Exact};
use crate::kernel::{copy, gru_gates, lstm_gates, no_unroll};
use half::f16;

/// A row-major weight matrix whose rows can be multiplied into `f32`.
pub trait FloatWeights: Copy {
    /// `out[r] += Σ_c W[r][c] x[c]` for `cols = x.len()`, `rows = out.len()`.
    fn matvec_acc(&self, x: &[f32], out: &mut [f32]);
    /// `out[r] = b[r] + Σ_c W[r][c] x[c]` (where `b` reaches; `out[r]`
    /// itself where it does not), the sums as in
    /// [`matvec_acc`](Self::matvec_acc).
    fn matvec_bias(&self, b: &[f32], x: &[f32], out: &mut [f32]) {
        copy(b, out);
        self.matvec_acc(x, out);
    }
    /// The rows `from..to` of a matrix of `cols` columns (empty if out of range).
    fn rows(&self, from: usize, to: usize, cols: usize) -> Self;
    /// Writes row `r` (of `out.len()` columns) as `f32`; `false` if out of range.
    fn row_into(&self, r: usize, out: &mut [f32]) -> bool;
}

/// IEEE half weights.
#[derive(Debug, Clone, Copy)]
pub struct F16Weights<'a>(pub &'a [f16]);

/// Int8 weights with one `f32` scale per row: `W[r][c] = scale[r] * w[r][c]`.
#[derive(Debug, Clone, Copy)]
pub struct I8Weights<'a> {
    /// `[rows][cols]`.
    pub w: &'a [i8],
    /// `[rows]`.
    pub scale: &'a [f32],
}

impl FloatWeights for F16Weights<'_> {
    #[inline]
    fn matvec_acc(&self, x: &[f32], out: &mut [f32]) {
        matvec_f16(self.0, x, None, out);
    }
    #[inline]
    fn matvec_bias(&self, b: &[f32], x: &[f32], out: &mut [f32]) {
        matvec_f16(self.0, x, Some(b), out);
    }
    fn rows(&self, from: usize, to: usize, cols: usize) -> Self {
        F16Weights(self.0.get(from * cols..to * cols).unwrap_or(&[]))
    }
    fn row_into(&self, r: usize, out: &mut [f32]) -> bool {
        let cols = out.len();
        let Some(row) = r.checked_mul(cols).and_then(|s| self.0.get(s..s + cols)) else {
            return false;
        };
        for (o, w) in out.iter_mut().zip(row) {
            *o = w.to_f32();
        }
        true
    }
}

impl FloatWeights for I8Weights<'_> {
    #[inline]
    fn matvec_acc(&self, x: &[f32], out: &mut [f32]) {
        matvec_i8_f32(self.w, self.scale, x, None, out);
    }
    #[inline]
    fn matvec_bias(&self, b: &[f32], x: &[f32], out: &mut [f32]) {
        matvec_i8_f32(self.w, self.scale, x, Some(b), out);
    }
    fn rows(&self, from: usize, to: usize, cols: usize) -> Self {
        I8Weights {
            w: self.w.get(from * cols..to * cols).unwrap_or(&[]),
            scale: self.scale.get(from..to).unwrap_or(&[]),
        }
    }
    fn row_into(&self, r: usize, out: &mut [f32]) -> bool {
        let cols = out.len();
        let (Some(row), Some(s)) = (
            r.checked_mul(cols).and_then(|s| self.w.get(s..s + cols)),
            self.scale.get(r),
        ) else {
            return false;
        };
        for (o, w) in out.iter_mut().zip(row) {
            *o = *s * *w as f32;
        }
        true
    }
}

/// Elman over compressed weights: `h = act(W_x x + W_h h + b)`.
#[derive(Debug, Clone, Copy)]
pub struct FloatElman<'a, W> {
    /// Input size.
    pub input: usize,
    /// Hidden size.
    pub hidden: usize,
    /// `Tanh` or `Relu`.
    pub act: Activation,
    /// `[H][I]`.
    pub w_x: W,
    /// `[H][H]`.
    pub w_h: W,
    /// `[H]`.
    pub b: &'a [f32],
}

impl<W: FloatWeights> FloatElman<'_, W> {
    /// f32 words of scratch a step needs.
    pub const fn scratch_len(&self) -> usize {
        self.hidden
    }

    /// One timestep (exact activations): updates `h` from `x`.
    ///
    #[doc = crate::cell::step_errors!()]
    pub fn step(&self, x: &[f32], h: &mut [f32], scratch: &mut [f32]) -> Result<(), crate::Error> {
        check_step(
            self.input,
            self.hidden,
            x,
            &[h.len()],
            scratch.len(),
            self.scratch_len(),
        )?;
        self.step_with::<Exact>(x, h, scratch);
        Ok(())
    }

    /// One timestep with `A`'s activations.
    pub(crate) fn step_with<A: Act>(&self, x: &[f32], h: &mut [f32], scratch: &mut [f32]) {
        let Some(a) = scratch.get_mut(..self.hidden) else {
            return;
        };
        self.w_x.matvec_bias(self.b, x, a);
        self.w_h.matvec_acc(h, a);
        if self.act == Activation::Relu {
            for (h, a) in h.iter_mut().zip(a.iter()) {
                no_unroll();
                *h = relu(*a);
            }
            return;
        }
        // The f32 cells' FPU sequence for the fast tanh.
        #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
        if A::FAST {
            crate::kernel::cortex_m::act_fast(false, Some(a), h);
            return;
        }
        for (h, a) in h.iter_mut().zip(a.iter()) {
            *h = A::tanh(*a);
        }
    }
}

/// LSTM over compressed weights (gate order i, f, g, o).
#[derive(Debug, Clone, Copy)]
pub struct FloatLstm<'a, W> {
    /// Input size.
    pub input: usize,
    /// Hidden size.
    pub hidden: usize,
    /// `[4H][I]`.
    pub w_x: W,
    /// `[4H][H]`.
    pub w_h: W,
    /// `[4H]`.
    pub b: &'a [f32],
}

impl<W: FloatWeights> FloatLstm<'_, W> {
    /// f32 words of scratch a step needs.
    pub const fn scratch_len(&self) -> usize {
        4 * self.hidden
    }

    /// One timestep (exact activations): updates `h` and `c` from `x`.
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
        check_step(
            self.input,
            self.hidden,
            x,
            &state,
            scratch.len(),
            self.scratch_len(),
        )?;
        self.step_with::<Exact>(x, h, c, scratch);
        Ok(())
    }

    /// One timestep with `A`'s activations.
    pub(crate) fn step_with<A: Act>(
        &self,
        x: &[f32],
        h: &mut [f32],
        c: &mut [f32],
        scratch: &mut [f32],
    ) {
        let n = self.hidden;
        let Some(g) = scratch.get_mut(..4 * n) else {
            return;
        };
        self.w_x.matvec_bias(self.b, x, g);
        self.w_h.matvec_acc(h, g);
        lstm_gates::<f32, A>(g, n, n, c, h);
    }
}

/// GRU over compressed weights (gate order z, r, n), both variants.
#[derive(Debug, Clone, Copy)]
pub struct FloatGru<'a, W> {
    /// Input size.
    pub input: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Where the reset gate applies.
    pub variant: GruVariant,
    /// `[3H][I]`.
    pub w_x: W,
    /// `[3H][H]`.
    pub w_h: W,
    /// `[3H]` input biases.
    pub b_x: &'a [f32],
    /// `[3H]` recurrent biases.
    pub b_h: &'a [f32],
}

impl<W: FloatWeights> FloatGru<'_, W> {
    /// f32 words of scratch a step needs.
    pub const fn scratch_len(&self) -> usize {
        6 * self.hidden + self.hidden
    }

    /// One timestep (exact activations): updates `h` from `x`.
    ///
    #[doc = crate::cell::step_errors!()]
    pub fn step(&self, x: &[f32], h: &mut [f32], scratch: &mut [f32]) -> Result<(), crate::Error> {
        check_step(
            self.input,
            self.hidden,
            x,
            &[h.len()],
            scratch.len(),
            self.scratch_len(),
        )?;
        self.step_with::<Exact>(x, h, scratch);
        Ok(())
    }

    /// One timestep with `A`'s activations.
    pub(crate) fn step_with<A: Act>(&self, x: &[f32], h: &mut [f32], scratch: &mut [f32]) {
        let n = self.hidden;
        let (Some(s), Some(h)) = (scratch.get_mut(..7 * n), h.get_mut(..n)) else {
            return;
        };
        // Checked splits: with `7 * n` possibly wrapping, the compiler cannot
        // prove `6 n <= 7 n`, and the plain ones linked a panic into the step.
        let Some((g, rh)) = s.split_at_mut_checked(6 * n) else {
            return;
        };
        let Some((gx, gh)) = g.split_at_mut_checked(3 * n) else {
            return;
        };
        self.w_x.matvec_bias(self.b_x, x, gx);
        match self.variant {
            GruVariant::ResetAfter => {
                self.w_h.matvec_bias(self.b_h, h, gh);
                gru_gates::<f32, A>(gx, gh, n, n, h);
            }
            GruVariant::ResetBefore => {
                // Gate by gate over slices (the activations' own loops),
                // each loop one copy of its body on Arm (code size).
                let Some((gh_zr, gh_n)) = gh.split_at_mut_checked(2 * n) else {
                    return;
                };
                let (b_zr, b_n) = self.b_h.split_at(self.b_h.len().min(2 * n));
                self.w_h.rows(0, 2 * n, n).matvec_bias(b_zr, h, gh_zr);
                for (g, x) in gh_zr.iter_mut().zip(gx.iter()) {
                    no_unroll();
                    *g += *x;
                }
                apply_with::<A>(Activation::Sigmoid, gh_zr);
                let Some((z, r)) = gh_zr.split_at_checked(n) else {
                    return;
                };
                for ((rh, r), h) in rh.iter_mut().zip(r).zip(h.iter()) {
                    no_unroll();
                    *rh = *r * *h;
                }
                self.w_h.rows(2 * n, 3 * n, n).matvec_bias(b_n, rh, gh_n);
                for (g, x) in gh_n.iter_mut().zip(gx.get(2 * n..).unwrap_or(&[])) {
                    no_unroll();
                    *g += *x;
                }
                apply_with::<A>(Activation::Tanh, gh_n);
                for ((h, z), cand) in h.iter_mut().zip(z).zip(gh_n.iter()) {
                    no_unroll();
                    *h = (1.0 - *z) * *cand + *z * *h;
                }
            }
        }
    }
}

/// Dense over compressed weights: `y = act(W x + b)`.
#[derive(Debug, Clone, Copy)]
pub struct FloatDense<'a, W> {
    /// Input size.
    pub input: usize,
    /// Output size.
    pub out: usize,
    /// The activation.
    pub act: Activation,
    /// `[out][input]`.
    pub w: W,
    /// `[out]`.
    pub b: &'a [f32],
}

impl<W: FloatWeights> FloatDense<'_, W> {
    /// Computes `y` (length `out`) from `x` (exact activations).
    ///
    #[doc = crate::cell::forward_errors!()]
    pub fn forward(&self, x: &[f32], y: &mut [f32]) -> Result<(), crate::Error> {
        check_forward(self.input, self.out, x, y)?;
        self.forward_with::<Exact>(x, y);
        Ok(())
    }

    /// Computes `y` (length `out`) from `x` with `A`'s activations.
    pub(crate) fn forward_with<A: Act>(&self, x: &[f32], y: &mut [f32]) {
        self.w.matvec_bias(self.b, x, y);
        apply_with::<A>(self.act, y);
    }
}

/// Embedding over compressed weights.
#[derive(Debug, Clone, Copy)]
pub struct FloatEmbedding<W> {
    /// Vocabulary size (rows).
    pub vocab: usize,
    /// Vector size (columns).
    pub dim: usize,
    /// `[vocab][dim]`.
    pub table: W,
}

impl<W: FloatWeights> FloatEmbedding<W> {
    /// Writes the vector of `token` into `out` (length `dim`); `false` when
    /// `token >= vocab`.
    pub fn lookup_into(&self, token: usize, out: &mut [f32]) -> bool {
        token < self.vocab && out.len() == self.dim && self.table.row_into(token, out)
    }
}
