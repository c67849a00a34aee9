//! Recurrent layers over whole sequences: forward and backpropagation through time.
//!
//! Data layout is time-major: step `t`, batch row `b` of a `[T*B, D]` buffer is
//! row `t * B + b`. The input projections of all steps are one matrix product
//! (`[T*B, I] x [I, G]`), each step adds one `[B, H] x [H, G]` product, and the
//! weight gradients are again one product each over all steps.
//!
//! The per-step elementwise math of each cell lives in its own module
//! ([`elman`], [`lstm`], [`gru`]).

pub mod elman;
pub mod gru;
pub mod lstm;

use serde::{Deserialize, Serialize};

use crate::float::Float;
use crate::linalg::{add_col_sums, matmul, matmul_ld, MatRef};

/// Activation of an Elman layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElmanAct {
    /// Hyperbolic tangent (Keras SimpleRNN default).
    Tanh,
    /// Rectified linear.
    Relu,
}

/// Where the reset gate of a GRU is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GruVariant {
    /// `n = tanh(W_xn x + b_n + W_hn (r * h))` (Cho 2014, Keras `reset_after=False`).
    ResetBefore,
    /// `n = tanh(W_xn x + b_xn + r * (W_hn h + b_hn))` (PyTorch, Keras default).
    ResetAfter,
}

/// The kind of a recurrent layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellKind {
    /// `h = act(W_x x + W_h h + b)`.
    Elman(ElmanAct),
    /// LSTM, gate blocks i, f, g, o.
    Lstm,
    /// GRU, gate blocks z, r, n, `h' = (1 - z) n + z h`.
    Gru(GruVariant),
}

impl CellKind {
    /// Number of gate blocks of `H` rows in `W_x` / `W_h`.
    pub fn gates(self) -> usize {
        match self {
            CellKind::Elman(_) => 1,
            CellKind::Lstm => 4,
            CellKind::Gru(_) => 3,
        }
    }

    /// Whether the layer has a separate recurrent bias `b_h` (GRU reset-after).
    pub fn has_recurrent_bias(self) -> bool {
        matches!(self, CellKind::Gru(GruVariant::ResetAfter))
    }

    /// Whether the layer carries a cell state besides `h` (LSTM).
    pub fn has_cell_state(self) -> bool {
        matches!(self, CellKind::Lstm)
    }

    /// Short name as used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            CellKind::Elman(ElmanAct::Tanh) => "elman",
            CellKind::Elman(ElmanAct::Relu) => "elman-relu",
            CellKind::Lstm => "lstm",
            CellKind::Gru(GruVariant::ResetAfter) => "gru",
            CellKind::Gru(GruVariant::ResetBefore) => "gru-before",
        }
    }
}

/// Shape of one recurrent layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecurrentShape {
    /// Cell kind.
    pub kind: CellKind,
    /// Input size per step.
    pub input: usize,
    /// Hidden size.
    pub hidden: usize,
}

impl RecurrentShape {
    /// Rows of the stacked gate matrices (`gates * hidden`).
    pub fn g(&self) -> usize {
        self.kind.gates() * self.hidden
    }

    /// Parameter count: `W_x`, `W_h`, `b` and (GRU reset-after) `b_h`.
    pub fn param_count(&self) -> usize {
        let g = self.g();
        g * self.input + g * self.hidden + g + if self.kind.has_recurrent_bias() { g } else { 0 }
    }
}

/// Borrowed parameters (or gradients) of one recurrent layer.
pub struct Params<'a, T> {
    /// `[G][I]` row-major.
    pub w_x: &'a [T],
    /// `[G][H]` row-major.
    pub w_h: &'a [T],
    /// `[G]` input bias.
    pub b: &'a [T],
    /// `[G]` recurrent bias (GRU reset-after only, else empty).
    pub b_h: &'a [T],
}

/// Mutable parameter gradients of one recurrent layer (same layout as [`Params`]).
pub struct Grads<'a, T> {
    /// `[G][I]`.
    pub w_x: &'a mut [T],
    /// `[G][H]`.
    pub w_h: &'a mut [T],
    /// `[G]`.
    pub b: &'a mut [T],
    /// `[G]` or empty.
    pub b_h: &'a mut [T],
}

/// Splits a flat parameter slice of one layer into its tensors.
pub fn split_params<'a, T>(shape: &RecurrentShape, p: &'a [T]) -> Params<'a, T> {
    let g = shape.g();
    let (w_x, rest) = p.split_at(g * shape.input);
    let (w_h, rest) = rest.split_at(g * shape.hidden);
    let (b, b_h) = rest.split_at(g);
    Params { w_x, w_h, b, b_h }
}

/// Splits a flat gradient slice of one layer into its tensors.
pub fn split_grads<'a, T>(shape: &RecurrentShape, p: &'a mut [T]) -> Grads<'a, T> {
    let g = shape.g();
    let (w_x, rest) = p.split_at_mut(g * shape.input);
    let (w_h, rest) = rest.split_at_mut(g * shape.hidden);
    let (b, b_h) = rest.split_at_mut(g);
    Grads { w_x, w_h, b, b_h }
}

/// Buffers of one layer for one chunk of `B` sequences of `T` steps, reused across batches.
#[derive(Default)]
pub struct Workspace<T> {
    b: usize,
    t: usize,
    /// `[T*B, G]`: input projections, then the activated gates.
    gx: Vec<T>,
    /// `[(T+1)*B, H]`: initial state, then the output of every step.
    pub h: Vec<T>,
    /// LSTM cell state `[(T+1)*B, H]`.
    pub c: Vec<T>,
    /// Per-step extra: LSTM `tanh(c_new)`, GRU reset-after `W_hn h + b_hn`, GRU reset-before `r * h`.
    aux: Vec<T>,
    /// `[B, G]` recurrent product of one step.
    gh: Vec<T>,
    /// `[T*B, G]` gradient of the input-side pre-activations.
    dg: Vec<T>,
    /// `[T*B, G]` gradient of the recurrent-side pre-activations (GRU reset-after).
    dgh: Vec<T>,
    /// `[B, H]` gradient reaching `h_t`.
    dh: Vec<T>,
    /// `[B, H]` gradient reaching `h_{t-1}`.
    dh_prev: Vec<T>,
    /// `[B, H]` LSTM gradient reaching `c_t`.
    dc: Vec<T>,
    /// `[B, H]` scratch.
    tmp: Vec<T>,
    /// `[H, G]`: `W_h` transposed, so that the per-step products read it
    /// column by column as gemm's kernels want, without packing it each step.
    w_ht: Vec<T>,
}

fn resize<T: Float>(v: &mut Vec<T>, n: usize) {
    if v.len() != n {
        v.clear();
        v.resize(n, T::ZERO);
    }
}

impl<T: Float> Workspace<T> {
    fn prepare(&mut self, shape: &RecurrentShape, b: usize, t: usize) {
        let (h, g) = (shape.hidden, shape.g());
        self.b = b;
        self.t = t;
        resize(&mut self.gx, t * b * g);
        resize(&mut self.h, (t + 1) * b * h);
        let cell = if shape.kind.has_cell_state() {
            (t + 1) * b * h
        } else {
            0
        };
        resize(&mut self.c, cell);
        resize(&mut self.aux, t * b * h);
        resize(&mut self.gh, b * g);
        resize(&mut self.dg, t * b * g);
        let dgh = if shape.kind.has_recurrent_bias() {
            t * b * g
        } else {
            0
        };
        resize(&mut self.dgh, dgh);
        resize(&mut self.dh, b * h);
        resize(&mut self.dh_prev, b * h);
        resize(&mut self.dc, b * h);
        resize(&mut self.tmp, b * h);
        resize(&mut self.w_ht, g * h);
    }

    /// Outputs of all steps, `[T*B, H]`.
    pub fn outputs(&self) -> &[T] {
        let bh = self.h.len() / (self.t + 1);
        &self.h[bh..]
    }

    /// Final state: `h` `[B, H]` and (LSTM) `c` `[B, H]` (empty otherwise).
    pub fn final_state(&self) -> (&[T], &[T]) {
        let bh = self.h.len() / (self.t + 1);
        let c = if self.c.is_empty() {
            &self.c[..]
        } else {
            &self.c[self.t * bh..]
        };
        (&self.h[self.t * bh..], c)
    }
}

/// The body of [`forward`].
#[expect(clippy::too_many_arguments, reason = "plain slices of one step, named")]
#[inline(always)]
fn forward_body<T: Float>(
    shape: &RecurrentShape,
    p: &Params<'_, T>,
    ws: &mut Workspace<T>,
    x: &[T],
    b: usize,
    t: usize,
    mask: Option<&[T]>,
    init: Option<(&[T], &[T])>,
) {
    ws.prepare(shape, b, t);
    let (i_sz, h_sz, g) = (shape.input, shape.hidden, shape.g());
    let bh = b * h_sz;
    // All input projections in one product, then the input bias.
    matmul(
        &mut ws.gx,
        MatRef::row_major(x, t * b, i_sz),
        MatRef::row_major(p.w_x, g, i_sz).t(),
        false,
    );
    for row in ws.gx.chunks_exact_mut(g) {
        for (v, &bias) in row.iter_mut().zip(p.b) {
            *v += bias;
        }
    }
    match init {
        Some((h0, c0)) => {
            ws.h[..bh].copy_from_slice(h0);
            if shape.kind.has_cell_state() {
                ws.c[..bh].copy_from_slice(c0);
            }
        }
        None => {
            ws.h[..bh].fill(T::ZERO);
            if shape.kind.has_cell_state() {
                ws.c[..bh].fill(T::ZERO);
            }
        }
    }
    for (i, row) in p.w_h.chunks_exact(h_sz).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            ws.w_ht[j * g + i] = v;
        }
    }
    // `W_h^T` as `[H, G]`: the same values as `MatRef::row_major(p.w_h, g, h_sz).t()`.
    let w_ht = MatRef::row_major(&ws.w_ht, h_sz, g);
    for step in 0..t {
        let m = mask.map(|m| &m[step * b..(step + 1) * b]);
        let gx = &mut ws.gx[step * b * g..(step + 1) * b * g];
        let (h_before, h_after) = ws.h.split_at_mut((step + 1) * bh);
        let h_prev = &h_before[step * bh..];
        let h_out = &mut h_after[..bh];
        let aux = &mut ws.aux[step * bh..(step + 1) * bh];
        match shape.kind {
            CellKind::Elman(act) => {
                matmul(&mut ws.gh, MatRef::row_major(h_prev, b, h_sz), w_ht, false);
                elman::forward_step(act, gx, &ws.gh, h_prev, h_out, m, h_sz);
            }
            CellKind::Lstm => {
                matmul(&mut ws.gh, MatRef::row_major(h_prev, b, h_sz), w_ht, false);
                let (c_before, c_after) = ws.c.split_at_mut((step + 1) * bh);
                let c_prev = &c_before[step * bh..];
                let c_out = &mut c_after[..bh];
                lstm::forward_step(gx, &ws.gh, h_prev, c_prev, h_out, c_out, aux, m, h_sz);
            }
            CellKind::Gru(GruVariant::ResetAfter) => {
                matmul(&mut ws.gh, MatRef::row_major(h_prev, b, h_sz), w_ht, false);
                for row in ws.gh.chunks_exact_mut(g) {
                    for (v, &bias) in row.iter_mut().zip(p.b_h) {
                        *v += bias;
                    }
                }
                gru::forward_step_after(gx, &ws.gh, h_prev, h_out, aux, m, h_sz);
            }
            CellKind::Gru(GruVariant::ResetBefore) => {
                let w_zr_t = MatRef::strided(&ws.w_ht, h_sz, 2 * h_sz, g);
                let w_n_t = MatRef::strided(&ws.w_ht[2 * h_sz..], h_sz, h_sz, g);
                let gh = &mut ws.gh[..b * 2 * h_sz];
                matmul(gh, MatRef::row_major(h_prev, b, h_sz), w_zr_t, false);
                // z, r and r * h into aux.
                gru::forward_gates_before(gx, gh, h_prev, aux, h_sz);
                let ghn = &mut ws.tmp;
                matmul(ghn, MatRef::row_major(aux, b, h_sz), w_n_t, false);
                gru::forward_step_before(gx, ghn, h_prev, h_out, m, h_sz);
            }
        }
    }
}

/// The body of [`backward`].
#[expect(clippy::too_many_arguments, reason = "plain slices of one step, named")]
#[inline(always)]
fn backward_body<T: Float>(
    shape: &RecurrentShape,
    p: &Params<'_, T>,
    ws: &mut Workspace<T>,
    x: &[T],
    mask: Option<&[T]>,
    dout: &[T],
    grads: &mut Grads<'_, T>,
    dx: Option<&mut [T]>,
) {
    let (b, t) = (ws.b, ws.t);
    let (i_sz, h_sz, g) = (shape.input, shape.hidden, shape.g());
    let bh = b * h_sz;
    let tb = t * b;
    ws.dh_prev.fill(T::ZERO);
    ws.dc.fill(T::ZERO);
    let w_h = MatRef::row_major(p.w_h, g, h_sz);
    for step in (0..t).rev() {
        let m = mask.map(|m| &m[step * b..(step + 1) * b]);
        // dh = dout_t + gradient from step t+1
        for ((d, &o), &n) in ws
            .dh
            .iter_mut()
            .zip(&dout[step * bh..(step + 1) * bh])
            .zip(&ws.dh_prev)
        {
            *d = o + n;
        }
        let gates = &ws.gx[step * b * g..(step + 1) * b * g];
        let dg = &mut ws.dg[step * b * g..(step + 1) * b * g];
        let h_prev = &ws.h[step * bh..(step + 1) * bh];
        let aux = &ws.aux[step * bh..(step + 1) * bh];
        match shape.kind {
            CellKind::Elman(act) => {
                elman::backward_step(act, gates, &ws.dh, dg, &mut ws.dh_prev, m, h_sz);
                matmul(&mut ws.dh_prev, MatRef::row_major(dg, b, g), w_h, true);
            }
            CellKind::Lstm => {
                let c_prev = &ws.c[step * bh..(step + 1) * bh];
                lstm::backward_step(
                    gates,
                    aux,
                    c_prev,
                    &ws.dh,
                    &mut ws.dc,
                    dg,
                    &mut ws.dh_prev,
                    m,
                    h_sz,
                );
                matmul(&mut ws.dh_prev, MatRef::row_major(dg, b, g), w_h, true);
            }
            CellKind::Gru(GruVariant::ResetAfter) => {
                let dgh = &mut ws.dgh[step * b * g..(step + 1) * b * g];
                gru::backward_step_after(
                    gates,
                    aux,
                    h_prev,
                    &ws.dh,
                    dg,
                    dgh,
                    &mut ws.dh_prev,
                    m,
                    h_sz,
                );
                matmul(&mut ws.dh_prev, MatRef::row_major(dgh, b, g), w_h, true);
            }
            CellKind::Gru(GruVariant::ResetBefore) => {
                let w_zr = MatRef::row_major(&p.w_h[..2 * h_sz * h_sz], 2 * h_sz, h_sz);
                let w_n = MatRef::row_major(&p.w_h[2 * h_sz * h_sz..], h_sz, h_sz);
                // dz, dn pre-activations and the direct path; dr needs d(r*h) first.
                gru::backward_step_before_zn(gates, h_prev, &ws.dh, dg, &mut ws.dh_prev, m, h_sz);
                // d(r*h) = dn_pre x W_hn
                matmul(
                    &mut ws.tmp,
                    MatRef::strided(&dg[2 * h_sz..], b, h_sz, g),
                    w_n,
                    false,
                );
                gru::backward_step_before_r(gates, h_prev, &ws.tmp, dg, &mut ws.dh_prev, h_sz);
                matmul(
                    &mut ws.dh_prev,
                    MatRef::strided(dg, b, 2 * h_sz, g),
                    w_zr,
                    true,
                );
            }
        }
        if shape.kind.has_cell_state() {
            // dc now holds the gradient reaching c_{t-1}; nothing else to do.
        }
    }
    // Weight gradients over all steps at once.
    let dg_all = MatRef::row_major(&ws.dg[..tb * g], tb, g);
    matmul(grads.w_x, dg_all.t(), MatRef::row_major(x, tb, i_sz), true);
    add_col_sums(grads.b, &ws.dg, tb, g);
    let h_prev_all = MatRef::row_major(&ws.h[..tb * h_sz], tb, h_sz);
    match shape.kind {
        CellKind::Gru(GruVariant::ResetAfter) => {
            matmul(
                grads.w_h,
                MatRef::row_major(&ws.dgh, tb, g).t(),
                h_prev_all,
                true,
            );
            add_col_sums(grads.b_h, &ws.dgh, tb, g);
        }
        CellKind::Gru(GruVariant::ResetBefore) => {
            let (g_zr, g_n) = grads.w_h.split_at_mut(2 * h_sz * h_sz);
            matmul(
                g_zr,
                MatRef::strided(&ws.dg, tb, 2 * h_sz, g).t(),
                h_prev_all,
                true,
            );
            matmul(
                g_n,
                MatRef::strided(&ws.dg[2 * h_sz..], tb, h_sz, g).t(),
                MatRef::row_major(&ws.aux, tb, h_sz),
                true,
            );
        }
        _ => matmul(grads.w_h, dg_all.t(), h_prev_all, true),
    }
    if let Some(dx) = dx {
        matmul_ld(dx, i_sz, dg_all, MatRef::row_major(p.w_x, g, i_sz), false);
    }
}

/// `out = m * new + (1 - m) * prev` per row (`out = new` without a mask).
pub(crate) fn merge_masked<T: Float>(out: &mut [T], new: &[T], prev: &[T], mask: Option<&[T]>) {
    match mask {
        None => out.copy_from_slice(new),
        Some(mask) => {
            let hidden = out.len() / mask.len().max(1);
            for (row, &m) in mask.iter().enumerate() {
                let r = row * hidden..(row + 1) * hidden;
                if m > T::ZERO {
                    out[r.clone()].copy_from_slice(&new[r]);
                } else {
                    out[r.clone()].copy_from_slice(&prev[r]);
                }
            }
        }
    }
}

/// Masking in backward: on masked rows the gate gradients `dg` (`[B, gates*H]`)
/// are zeroed and the state gradient `dh` passes straight to `dh_prev`;
/// on real rows `dh_prev` starts at zero.
pub(crate) fn split_masked_grad<T: Float>(
    dg: &mut [T],
    dh: &[T],
    dh_prev: &mut [T],
    mask: Option<&[T]>,
    hidden: usize,
    gates: usize,
) {
    match mask {
        None => dh_prev.fill(T::ZERO),
        Some(mask) => {
            let g = gates * hidden;
            for (row, &m) in mask.iter().enumerate() {
                let r = row * hidden..(row + 1) * hidden;
                if m > T::ZERO {
                    dh_prev[r].fill(T::ZERO);
                } else {
                    dh_prev[r.clone()].copy_from_slice(&dh[r]);
                    dg[row * g..(row + 1) * g].fill(T::ZERO);
                }
            }
        }
    }
}

/// Defines `pub fn NAME` to run `BODY` with the same arguments, through a
/// copy compiled with AVX-512F enabled where the CPU has it. The copy performs
/// the same operations in the same order per element (Rust never contracts
/// `a * b + c` into a fused multiply-add), so its results are the same bit for
/// bit, 16 lanes wide instead of the baseline's 4. The matrix products are
/// gemm's, which picks its kernels itself.
macro_rules! with_avx512_copy {
    ($(#[$doc:meta])* pub fn $name:ident($($arg:ident: $ty:ty),* $(,)?) => $body:ident) => {
        $(#[$doc])*
        #[expect(clippy::too_many_arguments, reason = "plain slices of one step, named")]
        pub fn $name<T: Float>($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                #[expect(clippy::too_many_arguments, reason = "the same arguments")]
                fn avx512<T: Float>($($arg: $ty),*) {
                    $body($($arg),*)
                }
                if std::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has the feature `avx512` was compiled for (checked just above).
                    unsafe { avx512($($arg),*) };
                    return;
                }
            }
            $body($($arg),*)
        }
    };
}

with_avx512_copy! {
    /// Runs a layer forward over `x` (`[T*B, I]`), starting from `init` (`h`, `c`; zeros if `None`).
    /// `mask` (`[T*B]`, 1 = real step, 0 = padding) keeps the state on padded steps.
    /// Runs wide where the CPU allows (see `with_avx512_copy!`).
    pub fn forward(
        shape: &RecurrentShape,
        p: &Params<'_, T>,
        ws: &mut Workspace<T>,
        x: &[T],
        b: usize,
        t: usize,
        mask: Option<&[T]>,
        init: Option<(&[T], &[T])>,
    ) => forward_body
}

with_avx512_copy! {
    /// Backpropagation through time for a layer whose [`forward`] left `ws` filled.
    ///
    /// `dout` (`[T*B, H]`) is the loss gradient with respect to each step's output;
    /// it is consumed (used as scratch). Parameter gradients are added into `grads`;
    /// when `dx` is given, the gradient with respect to the input (`[T*B, I]`) is written there.
    /// Runs wide where the CPU allows (see `with_avx512_copy!`).
    pub fn backward(
        shape: &RecurrentShape,
        p: &Params<'_, T>,
        ws: &mut Workspace<T>,
        x: &[T],
        mask: Option<&[T]>,
        dout: &[T],
        grads: &mut Grads<'_, T>,
        dx: Option<&mut [T]>,
    ) => backward_body
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dispatched layer (AVX-512 copy where the CPU has it) against the
    /// body compiled for the baseline target: bit for bit, forward and
    /// backward, every cell kind, with a mask and an odd batch.
    #[test]
    fn wide_copy_gives_the_same_bits_as_the_baseline() {
        let (b, t, input, hidden) = (5usize, 7usize, 3usize, 19usize);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        };
        for kind in [
            CellKind::Elman(ElmanAct::Tanh),
            CellKind::Elman(ElmanAct::Relu),
            CellKind::Lstm,
            CellKind::Gru(GruVariant::ResetAfter),
            CellKind::Gru(GruVariant::ResetBefore),
        ] {
            let shape = RecurrentShape {
                kind,
                input,
                hidden,
            };
            let params: Vec<f32> = (0..shape.param_count()).map(|_| next()).collect();
            let x: Vec<f32> = (0..t * b * input).map(|_| 2.0 * next()).collect();
            let dout: Vec<f32> = (0..t * b * hidden).map(|_| next()).collect();
            // the last row's last two steps are padding
            let mut mask = vec![1.0f32; t * b];
            mask[(t - 1) * b + b - 1] = 0.0;
            mask[(t - 2) * b + b - 1] = 0.0;
            let p = split_params(&shape, &params);
            let run = |wide: bool| {
                let mut ws = Workspace::default();
                let mut g = vec![0.0f32; params.len()];
                let mut dx = vec![0.0f32; t * b * input];
                let mut grads = split_grads(&shape, &mut g);
                if wide {
                    forward(&shape, &p, &mut ws, &x, b, t, Some(&mask), None);
                    backward(
                        &shape,
                        &p,
                        &mut ws,
                        &x,
                        Some(&mask),
                        &dout,
                        &mut grads,
                        Some(&mut dx),
                    );
                } else {
                    forward_body(&shape, &p, &mut ws, &x, b, t, Some(&mask), None);
                    backward_body(
                        &shape,
                        &p,
                        &mut ws,
                        &x,
                        Some(&mask),
                        &dout,
                        &mut grads,
                        Some(&mut dx),
                    );
                }
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                (bits(&ws.h), bits(&g), bits(&dx))
            };
            assert!(run(true) == run(false), "{kind:?}: the wide copy differs");
        }
    }
}
