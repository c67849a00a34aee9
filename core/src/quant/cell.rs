//! The integer cells: Elman, LSTM, GRU (both variants), Dense and Embedding,
//! one timestep on plain slices, with no float operation anywhere.
//!
//! Formats (see [`fixed`](super::fixed)):
//! - input `x`: `i16` in the layer's input format `Q(x_frac)` (the previous
//!   layer's output format; the first layer's is chosen by the quantizer);
//! - weights: `i8`, one scale per row, folded with the input and output
//!   formats into one `Requant` per row, stored as
//!   interleaved `[mult, shift]` `i32` pairs (`rq_x` for `W_x`, `rq_h` for `W_h`);
//! - gate pre-activations: `i32` sums of the requantized products and the
//!   bias (already in the pre-activation format), saturated to `i16`: Q3.12
//!   ([`GATE_FRAC`]) in front of sigmoid/tanh; the output format in front of
//!   relu and linear;
//! - `h`: Q0.15 after a tanh (Elman tanh, LSTM, GRU); Elman relu keeps `h` in
//!   its own calibrated format;
//! - LSTM cell state `c`: `i16` with the power-of-two scale `2^-cell_frac`
//!   (as TFLite and CMSIS-NN), updated as `c = f ⊙ c + i ⊙ g` with one
//!   rounding per product and one saturation.
//!
//! Every cell is generic over the [`IntMatVec`] kernel; all kernels give the
//! same bits. Scratch is `i32`: `2 * gates * hidden` words (Dense: `2 * out`).
//! A scratch or state shorter than documented makes the step do nothing
//! (validation makes that impossible in a loaded model); nothing panics.

use super::act::{sigmoid_q15, tanh_q15};
use super::fixed::{requantize, sat16, Requant, GATE_FRAC, ONE_Q15};
use super::matvec::IntMatVec;
use crate::format::{Activation, GruVariant};
use crate::kernel::no_unroll;

/// One integer weight matrix with its per-row requantization.
#[derive(Debug, Clone, Copy)]
pub struct IntMatrix<'a> {
    /// `[rows][cols]`, row-major.
    pub w: &'a [i8],
    /// `[rows][2]`: `[mult, shift]` per row.
    pub rq: &'a [i32],
    /// `w` is in the tiled layout [`TILED4`](super::matvec::TILED4) (rows a
    /// multiple of 4), not row-major.
    pub tiled: bool,
}

impl IntMatrix<'_> {
    /// `out = W x` (exact sums) with the kernel for this matrix's layout.
    /// Out of line: one call site per product.
    #[inline(never)]
    fn mv<K: IntMatVec>(&self, x: &[i16], out: &mut [i32]) {
        if self.tiled {
            K::matvec_tiled(self.w, x, out);
        } else {
            K::matvec(self.w, x, out);
        }
    }

    /// `out[r] = sat(b[r] + requantize(Σ_c w[r][c] x[c], rq[r]))`: the row
    /// sums go straight into `out`, then each is replaced in place. Out of
    /// line: one copy for every Dense and GRU product.
    #[inline(never)]
    fn bias_plus<K: IntMatVec>(&self, b: &[i32], x: &[i16], out: &mut [i32]) {
        self.mv::<K>(x, out);
        for ((o, b), p) in out.iter_mut().zip(b).zip(self.rq.chunks_exact(2)) {
            *o = b.saturating_add(requant(*o, p[0], p[1]));
        }
    }

    /// `out[r] = sat(sat(b[r] + requantize(W x)[r]) + requantize(V h)[r])`
    /// for `self = W` and `v = V` with their own requantizations (the sums
    /// of `W x` go into `out`, those of `V h` into `acc`, at least
    /// `out.len()` words); one pass over the rows after both products.
    #[inline(always)]
    fn bias_plus2<K: IntMatVec>(
        &self,
        v: &IntMatrix<'_>,
        b: &[i32],
        x: &[i16],
        h: &[i16],
        acc: &mut [i32],
        out: &mut [i32],
    ) {
        let Some(acc) = acc.get_mut(..out.len()) else {
            return;
        };
        v.mv::<K>(h, acc);
        if let [x0] = x {
            // One input (a 1 x H layer): the products of W x inline, exact
            // like every kernel's.
            rows_x1(out, acc, b, self.w, *x0 as i32, self.rq, v.rq);
        } else {
            self.mv::<K>(x, out);
            rows2(out, acc, b, self.rq, v.rq);
        }
    }

    /// The rows `from..to` (of `cols` columns) of this matrix.
    #[inline(always)]
    fn rows(&self, from: usize, to: usize, cols: usize) -> Self {
        let w = from.checked_mul(cols).zip(to.checked_mul(cols));
        let rq = from.checked_mul(2).zip(to.checked_mul(2));
        // A tiled matrix's blocks of 4 rows are whole in any slice from and
        // to multiples of 4 (the GRU's gate blocks, `H % 4 == 0` when tiled).
        IntMatrix {
            w: w.and_then(|(a, b)| self.w.get(a..b)).unwrap_or(&[]),
            rq: rq.and_then(|(a, b)| self.rq.get(a..b)).unwrap_or(&[]),
            tiled: self.tiled,
        }
    }
}

/// Splits `n`-word blocks off the front of `s`: `None` if `s` is too short.
#[inline(always)]
fn blocks<const K: usize>(s: &mut [i32], n: usize) -> Option<[&mut [i32]; K]> {
    let mut rest = s;
    let mut out: [&mut [i32]; K] = core::array::from_fn(|_| <&mut [i32]>::default());
    for o in out.iter_mut() {
        let (a, r) = core::mem::take(&mut rest).split_at_mut_checked(n)?;
        *o = a;
        rest = r;
    }
    Some(out)
}

/// `out[r] = sat(sat(b[r] + requantize(out[r], p[r])) + requantize(acc[r], q[r]))`.
/// Not inlined: on its own the loop keeps every pointer in a register.
#[cfg(not(tinyrnn_dsp))]
#[inline(never)]
fn rows2(out: &mut [i32], acc: &[i32], b: &[i32], p: &[i32], q: &[i32]) {
    let rows = out.iter_mut().zip(acc).zip(b);
    for (((o, a), b), (p, q)) in rows.zip(p.chunks_exact(2).zip(q.chunks_exact(2))) {
        let s = b.saturating_add(requant(*o, p[0], p[1]));
        *o = s.saturating_add(requant(*a, q[0], q[1]));
    }
}

/// [`rows2`] with the sums of a one-column `W x` formed here: `w[r] * x0`.
#[cfg(not(tinyrnn_dsp))]
#[inline(never)]
fn rows_x1(out: &mut [i32], acc: &[i32], b: &[i32], w: &[i8], x0: i32, p: &[i32], q: &[i32]) {
    let rows = out.iter_mut().zip(acc).zip(b).zip(w);
    for ((((o, a), b), w), (p, q)) in rows.zip(p.chunks_exact(2).zip(q.chunks_exact(2))) {
        let s = b.saturating_add(requant(*w as i32 * x0, p[0], p[1]));
        *o = s.saturating_add(requant(*a, q[0], q[1]));
    }
}

/// One row of [`rows2`]: `sat(sat(b + requantize(s, p)) + requantize(a, q))`
/// for the row's `[mult, shift]` pairs `p` and `q` (the assembly rows'
/// fallback; the portable loops keep their own body, which compiles to
/// fewer instructions on a Cortex-M0).
#[cfg(tinyrnn_dsp)]
#[inline(always)]
pub(super) fn row2(s: i32, a: i32, b: i32, p: &[i32], q: &[i32]) -> i32 {
    let (Some(&[pm, ps]), Some(&[qm, qs])) = (p.get(..2), q.get(..2)) else {
        return b;
    };
    // Rare rows: the general requantization (the same bits as `requant`).
    b.saturating_add(requant_other(s, pm, ps))
        .saturating_add(requant_other(a, qm, qs))
}

/// [`rows2`] on a Cortex-M4/M7: the rows in assembly (`SMMUL`, `QADD`) as
/// long as both shifts of a row have [`requant`]'s short path, any other
/// row in Rust; the same bits as the portable loop.
#[cfg(tinyrnn_dsp)]
#[inline(always)]
fn rows2(out: &mut [i32], acc: &[i32], b: &[i32], p: &[i32], q: &[i32]) {
    super::matvec::dsp::rows_dsp(out, acc, b, None, p, q);
}

/// [`rows_x1`] on a Cortex-M4/M7, as [`rows2`].
#[cfg(tinyrnn_dsp)]
#[inline(always)]
fn rows_x1(out: &mut [i32], acc: &[i32], b: &[i32], w: &[i8], x0: i32, p: &[i32], q: &[i32]) {
    super::matvec::dsp::rows_dsp(out, acc, b, Some((w, x0)), p, q);
}

/// [`requantize`] of `acc` by `[mult, shift]`, with a short exact path
/// for the shifts the quantizer writes for gate and output layers
/// (`33..=62`): there `(p + 2^(s-1)) >> s = ((p >> (s-1)) + 1) >> 1` and
/// `p >> (s-1) = (p >> 32) >> (s-33)` for `p = acc * mult` (`|p| <= 2^62`,
/// so the high word fits in 31 bits and the result needs no saturation).
/// On a Cortex-M that is `SMMUL`, two shifts and an add instead of a 64-bit
/// rounding shift. Other shifts take [`requantize`]; the same bits either way
/// (`tests::fast_requant_is_requantize`).
#[inline(always)]
fn requant(acc: i32, mult: i32, shift: i32) -> i32 {
    let s = shift.wrapping_sub(33) as u32;
    if s <= 29 {
        let hi = ((acc as i64 * mult as i64) >> 32) as i32;
        ((hi >> s) + 1) >> 1
    } else {
        requant_other(acc, mult, shift)
    }
}

/// [`requantize`] out of line, for the shifts [`requant`] has no short path for.
#[cold]
#[inline(never)]
fn requant_other(acc: i32, mult: i32, shift: i32) -> i32 {
    requantize(acc, Requant { mult, shift })
}

/// `(v + 2^(s-1)) >> s`, rounded half up like [`shr_round`](super::fixed::shr_round),
/// in `i32`: exact for `|v| <= 2^30` and `1 <= s <= 30` (the products of
/// Q0.15 values the cells round), where the rounding term cannot overflow.
#[inline(always)]
fn shr_round30(v: i32, s: u32) -> i32 {
    (v + (1 << (s - 1))) >> s
}

/// The cell state `c` from `Q(cf)` (`cf <= 15`) to Q3.12, as
/// [`rescale`](super::fixed::rescale) does it, with no branch: `c * 2^15`
/// rounded by `>> (cf + 3)`. For `cf > 12` that is the rounding shift by
/// `cf - 12`; for `cf <= 12` the low `15` bits are zero, so the shift is the
/// exact `c << (12 - cf)` and the rounding term (below `2^(cf + 3)`) drops
/// out. `|c * 2^15| <= 2^30`: no overflow.
#[inline(always)]
fn cell_to_gate(c: i16, cf: u32) -> i32 {
    const _: () = assert!(GATE_FRAC == 12);
    (((c as i32) << 15) + (1 << (cf + 2))) >> (cf + 3)
}

/// `mul_q15`: `sat16((a * b + 2^14) >> 15)` (`|a * b| <= 2^30`).
#[inline(always)]
fn mul_q15(a: i16, b: i16) -> i16 {
    sat16(shr_round30(a as i32 * b as i32, 15))
}

/// Integer Elman layer: `h = act(W_x x + W_h h + b)`.
#[derive(Debug, Clone, Copy)]
pub struct IntElman<'a> {
    /// Input size.
    pub input: usize,
    /// Hidden size.
    pub hidden: usize,
    /// `Tanh` (h in Q0.15) or `Relu` (h in `Q(h_frac)`, requantized straight into it).
    pub act: Activation,
    /// `[H][I]` with its requantization.
    pub w_x: IntMatrix<'a>,
    /// `[H][H]` with its requantization.
    pub w_h: IntMatrix<'a>,
    /// `[H]` in the pre-activation format.
    pub b: &'a [i32],
}

impl IntElman<'_> {
    /// `i32` words of scratch a step needs.
    pub const fn scratch_len(&self) -> usize {
        2 * self.hidden
    }

    /// One timestep: updates `h` (length `hidden`) from `x` (length `input`).
    ///
    /// The slices' lengths are not checked here: [`IntModel`](super::IntModel)
    /// checks them once per call. With other lengths the step stops short
    /// (writing nothing, or not every value).
    pub fn step<K: IntMatVec>(&self, x: &[i16], h: &mut [i16], scratch: &mut [i32]) {
        let Some([pre, acc]) = blocks::<2>(scratch, self.hidden) else {
            return;
        };
        self.w_x.bias_plus2::<K>(&self.w_h, self.b, x, h, acc, pre);
        // Tanh or relu (the loader accepts no other).
        for (h, p) in h.iter_mut().zip(pre.iter()) {
            *h = activate(self.act, sat16(*p));
        }
    }
}

/// Integer LSTM layer (gate order i, f, g, o): `c = σ(f) ⊙ c + σ(i) ⊙ tanh(g)`,
/// `h = σ(o) ⊙ tanh(c)`; `h` in Q0.15, `c` in `Q(cell_frac)`.
#[derive(Debug, Clone, Copy)]
pub struct IntLstm<'a> {
    /// Input size.
    pub input: usize,
    /// Hidden size.
    pub hidden: usize,
    /// `[4H][I]` with its requantization to Q3.12.
    pub w_x: IntMatrix<'a>,
    /// `[4H][H]` with its requantization to Q3.12.
    pub w_h: IntMatrix<'a>,
    /// `[4H]` in Q3.12.
    pub b: &'a [i32],
    /// Fraction bits of the cell state (`0..=15`).
    pub cell_frac: u8,
}

impl IntLstm<'_> {
    /// `i32` words of scratch a step needs.
    pub const fn scratch_len(&self) -> usize {
        8 * self.hidden
    }

    /// One timestep: updates `h` and `c` (each length `hidden`) from `x`.
    ///
    /// The slices' lengths are not checked here: [`IntModel`](super::IntModel)
    /// checks them once per call. With other lengths the step stops short
    /// (writing nothing, or not every value).
    pub fn step<K: IntMatVec>(&self, x: &[i16], h: &mut [i16], c: &mut [i16], scratch: &mut [i32]) {
        let n = self.hidden;
        let Some(pre_len) = n.checked_mul(4) else {
            return;
        };
        let Some([pre, acc]) = blocks::<2>(scratch, pre_len) else {
            return;
        };
        self.w_x.bias_plus2::<K>(&self.w_h, self.b, x, h, acc, pre);
        let Some([pi, pf, pg, po]) = blocks::<4>(pre, n) else {
            return;
        };
        lstm_cells(pi, pf, pg, po, h, c, self.cell_frac.min(15) as u32);
    }
}

/// The LSTM's elementwise part from the gate pre-activations (Q3.12 in
/// `i32`): updates `c` and `h`. Two passes (`c`, then `h` from the new `c`),
/// each loop with few enough pointers to keep them and its constants in
/// registers. Not inlined, so the loops have the registers to themselves.
#[inline(never)]
fn lstm_cells(
    pi: &[i32],
    pf: &[i32],
    pg: &[i32],
    po: &[i32],
    h: &mut [i16],
    c: &mut [i16],
    cf: u32,
) {
    let gates = pi.iter().zip(pf.iter()).zip(pg.iter());
    for (((pi, pf), pg), c) in gates.zip(c.iter_mut()) {
        let i = sigmoid_q15(sat16(*pi)) as i32;
        let f = sigmoid_q15(sat16(*pf)) as i32;
        let g = tanh_q15(sat16(*pg)) as i32;
        // f * c: Q0.15 x Q(cf) -> Q(cf) after >> 15; i * g: Q0.30 -> Q(cf)
        // (both products are at most 2^30 in magnitude, 30 - cf >= 15).
        let fc = shr_round30(f * *c as i32, 15);
        let ig = shr_round30(i * g, 30 - cf);
        *c = sat16(fc + ig);
    }
    for ((po, h), c) in po.iter().zip(h.iter_mut()).zip(c.iter()) {
        no_unroll();
        let o = sigmoid_q15(sat16(*po));
        let tc = tanh_q15(sat16(cell_to_gate(*c, cf)));
        *h = mul_q15(o, tc);
    }
}

/// Integer GRU layer (gate order z, r, n), `h' = (1 − z) ⊙ n + z ⊙ h`, `h` in
/// Q0.15, either placement of the reset gate.
#[derive(Debug, Clone, Copy)]
pub struct IntGru<'a> {
    /// Input size.
    pub input: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Where the reset gate applies.
    pub variant: GruVariant,
    /// `[3H][I]` with its requantization to Q3.12.
    pub w_x: IntMatrix<'a>,
    /// `[3H][H]` with its requantization to Q3.12.
    pub w_h: IntMatrix<'a>,
    /// `[3H]` input biases in Q3.12.
    pub b_x: &'a [i32],
    /// `[3H]` recurrent biases in Q3.12.
    pub b_h: &'a [i32],
}

impl IntGru<'_> {
    /// `i32` words of scratch a step needs.
    pub const fn scratch_len(&self) -> usize {
        10 * self.hidden
    }

    /// One timestep: updates `h` (length `hidden`) from `x`.
    ///
    /// The slices' lengths are not checked here: [`IntModel`](super::IntModel)
    /// checks them once per call. With other lengths the step stops short
    /// (writing nothing, or not every value).
    pub fn step<K: IntMatVec>(&self, x: &[i16], h: &mut [i16], scratch: &mut [i32]) {
        let n = self.hidden;
        let (Some(g3), Some(h)) = (n.checked_mul(3), h.get_mut(..n)) else {
            return;
        };
        let Some((head, tail)) = g3
            .checked_mul(3)
            .and_then(|m| scratch.split_at_mut_checked(m))
        else {
            return;
        };
        let (Some([gx, gh, _]), Some(h_old)) = (blocks::<3>(head, g3), tail.get_mut(..n)) else {
            return;
        };
        self.w_x.bias_plus::<K>(self.b_x, x, gx);
        let Some([gx_z, gx_r, gx_n]) = blocks::<3>(gx, n) else {
            return;
        };
        match self.variant {
            GruVariant::ResetAfter => {
                self.w_h.bias_plus::<K>(self.b_h, h, gh);
                let Some([gh_z, gh_r, gh_n]) = blocks::<3>(gh, n) else {
                    return;
                };
                let x_parts = gx_z.iter().zip(gx_r.iter()).zip(gx_n.iter());
                let h_parts = gh_z.iter().zip(gh_r.iter()).zip(gh_n.iter());
                for (((xz, xr), xn), (((hz, hr), hn), h)) in x_parts.zip(h_parts.zip(h.iter_mut()))
                {
                    no_unroll();
                    let z = sigmoid_q15(sat16(xz.saturating_add(*hz)));
                    let r = sigmoid_q15(sat16(xr.saturating_add(*hr)));
                    // r ⊙ (W_hn h + b_hn): Q0.15 x Q3.12 -> Q3.12.
                    let rh = shr_round30(r as i32 * sat16(*hn) as i32, 15);
                    let cand = tanh_q15(sat16(xn.saturating_add(rh)));
                    *h = blend(z, cand, *h);
                }
            }
            GruVariant::ResetBefore => {
                let Some([gh_z, gh_r, gh_n]) = blocks::<3>(gh, n) else {
                    return;
                };
                let Some(zr) = n.checked_mul(2) else {
                    return;
                };
                let b_h = |from: usize, to: usize| self.b_h.get(from..to).unwrap_or(&[]);
                self.w_h.rows(0, n, n).bias_plus::<K>(b_h(0, n), h, gh_z);
                self.w_h.rows(n, zr, n).bias_plus::<K>(b_h(n, zr), h, gh_r);
                // Keep h, and put r ⊙ h in its place as the input of W_hn.
                let x_parts = gx_z.iter().zip(gx_r.iter());
                let h_parts = gh_z.iter_mut().zip(gh_r.iter());
                for (((xz, xr), (hz, hr)), (h, old)) in
                    x_parts.zip(h_parts).zip(h.iter_mut().zip(h_old.iter_mut()))
                {
                    no_unroll();
                    *old = *h as i32;
                    let z = sigmoid_q15(sat16(xz.saturating_add(*hz)));
                    let r = sigmoid_q15(sat16(xr.saturating_add(*hr)));
                    *hz = z as i32;
                    *h = mul_q15(r, *h);
                }
                self.w_h
                    .rows(zr, g3, n)
                    .bias_plus::<K>(b_h(zr, g3), h, gh_n);
                let parts = gh_z.iter().zip(gx_n.iter()).zip(gh_n.iter());
                for (((z, xn), hn), (h, old)) in parts.zip(h.iter_mut().zip(h_old.iter())) {
                    no_unroll();
                    let cand = tanh_q15(sat16(xn.saturating_add(*hn)));
                    *h = blend(*z as i16, cand, *old as i16);
                }
            }
        }
    }
}

/// `(1 − z) n + z h` with `z`, `n`, `h` in Q0.15: one rounding, saturated.
#[inline(always)]
fn blend(z: i16, n: i16, h: i16) -> i16 {
    let z = z as i32;
    // |(1 - z) n| + |z h| <= 2^15 * 2^15 = 2^30: no overflow.
    sat16(shr_round30((ONE_Q15 - z) * n as i32 + z * h as i32, 15))
}

/// A Dense or Elman activation of one pre-activation (Q3.12 in front of
/// sigmoid and tanh, giving Q0.15). Out of line, one copy for every layer
/// (a loop over a layer's units would otherwise be copied per activation).
#[inline(never)]
fn activate(act: Activation, p: i16) -> i16 {
    match act {
        Activation::Sigmoid => sigmoid_q15(p),
        Activation::Tanh => tanh_q15(p),
        Activation::Relu => p.max(0),
        Activation::Linear | Activation::Softmax => p,
    }
}

/// Integer Dense layer: `y = act(W x + b)`.
///
/// Sigmoid and tanh: pre-activations in Q3.12, `y` in Q0.15. Linear and relu:
/// requantized straight into the output format. Softmax: `y` holds the
/// logits in the output format (softmax is monotone: the arg-max is the
/// same); the float boundary ([`dequantize_slice`](super::dequantize_slice) and
/// [`crate::kernel::activation::softmax`]) turns them into probabilities.
#[derive(Debug, Clone, Copy)]
pub struct IntDense<'a> {
    /// Input size.
    pub input: usize,
    /// Output size.
    pub out: usize,
    /// The activation.
    pub act: Activation,
    /// `[out][input]` with its requantization.
    pub w: IntMatrix<'a>,
    /// `[out]` in the pre-activation format.
    pub b: &'a [i32],
}

impl IntDense<'_> {
    /// `i32` words of scratch a forward pass needs.
    pub const fn scratch_len(&self) -> usize {
        2 * self.out
    }

    /// Computes `y` (length `out`) from `x` (length `input`).
    ///
    /// The slices' lengths are not checked here: [`IntModel`](super::IntModel)
    /// checks them once per call. With other lengths the step stops short
    /// (writing nothing, or not every value).
    pub fn forward<K: IntMatVec>(&self, x: &[i16], y: &mut [i16], scratch: &mut [i32]) {
        let Some([pre]) = blocks::<1>(scratch, self.out) else {
            return;
        };
        self.w.bias_plus::<K>(self.b, x, pre);
        for (y, p) in y.iter_mut().zip(pre.iter()) {
            *y = activate(self.act, sat16(*p));
        }
    }
}

/// Integer Embedding: the table holds every vector already in the output format.
#[derive(Debug, Clone, Copy)]
pub struct IntEmbedding<'a> {
    /// Vocabulary size (rows).
    pub vocab: usize,
    /// Vector size (columns).
    pub dim: usize,
    /// `[vocab][dim]` in the layer's output format.
    pub table: &'a [i16],
}

impl<'a> IntEmbedding<'a> {
    /// The vector of `token`, or `None` when `token >= vocab`.
    pub fn lookup(&self, token: usize) -> Option<&'a [i16]> {
        if token >= self.vocab {
            return None;
        }
        let start = token.checked_mul(self.dim)?;
        self.table.get(start..start.checked_add(self.dim)?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixed::{rescale, shr_round};
    use super::super::testutil::Rng;
    use super::*;

    #[test]
    fn fast_requant_is_requantize() {
        let mut rng = Rng::new(11);
        let accs = [
            i32::MIN,
            i32::MIN + 1,
            -1 << 24,
            -3,
            -1,
            0,
            1,
            2,
            1 << 24,
            i32::MAX,
        ];
        let mults = [i32::MIN, -1, 0, 1, 1 << 30, (1 << 30) + 12345, i32::MAX];
        let mut n = 0;
        for shift in -3..=70 {
            for &m in &mults {
                for &a in &accs {
                    let want = requantize(a, Requant { mult: m, shift });
                    assert_eq!(requant(a, m, shift), want, "{a} * {m} >> {shift}");
                    n += 1;
                }
            }
            for _ in 0..2000 {
                let a = rng.next_u64() as i32 >> rng.below(32);
                let m = (1 << 30) | (rng.next_u64() as i32 & 0x3FFF_FFFF);
                let want = requantize(a, Requant { mult: m, shift });
                assert_eq!(requant(a, m, shift), want, "{a} * {m} >> {shift}");
                n += 1;
            }
        }
        assert!(n > 100_000);
    }

    #[test]
    fn i32_rounding_shifts_match_the_general_ones() {
        let mut rng = Rng::new(12);
        for _ in 0..200_000 {
            // Products of two i16 (at most 2^30), as the cells form them.
            let (a, b) = (rng.i16() as i32, rng.i16() as i32);
            let v = a * b;
            let s = 1 + rng.below(30) as u32;
            assert_eq!(shr_round30(v, s), shr_round(v, s), "{v} >> {s}");
            let (a, b) = (a as i16, b as i16);
            assert_eq!(mul_q15(a, b), super::super::fixed::mul_q15(a, b));
        }
        for (a, b) in [
            (i16::MIN, i16::MIN),
            (i16::MIN, i16::MAX),
            (i16::MAX, i16::MAX),
        ] {
            assert_eq!(mul_q15(a, b), super::super::fixed::mul_q15(a, b));
            assert_eq!(
                shr_round30(a as i32 * b as i32, 15),
                shr_round(a as i32 * b as i32, 15)
            );
        }
        // The LSTM cell state to Q3.12, every i16 and cell format.
        for cf in 0..=15u32 {
            for c in i16::MIN..=i16::MAX {
                assert_eq!(cell_to_gate(c, cf), rescale(c as i32, cf as u8, GATE_FRAC));
            }
        }
    }
}
