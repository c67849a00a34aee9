//! Explicit SIMD kernels through `wide` (`f32x8`: one AVX register, two
//! SSE/NEON registers; plain arrays where the target has no SIMD, which is why
//! Cortex-M runs [`scalar`](super::scalar) instead).
//!
//! Each function computes what its twin in `scalar` computes; the shared tests
//! in `kernel::tests` hold them to it.

use crate::format::PANEL;
use crate::kernel::lanes::{F32x8, Lanes};

/// Accumulator chains one pass keeps in flight: enough independent
/// multiply-adds to cover the FMA latency on two pipes.
const TILE: usize = 8;

/// Dot product (row-major kernels): two 8-wide accumulators, then a
/// horizontal sum. Extra elements of the longer slice are ignored.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [F32x8::splat(0.0); 2];
    let mut ca = a.chunks_exact(16);
    let mut cb = b.chunks_exact(16);
    for (x, y) in (&mut ca).zip(&mut cb) {
        acc[0] = F32x8::load(&x[..8]).mul_add(F32x8::load(&y[..8]), acc[0]);
        acc[1] = F32x8::load(&x[8..]).mul_add(F32x8::load(&y[8..]), acc[1]);
    }
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let mut ca = ra.chunks_exact(8);
    let mut cb = rb.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        acc[0] = F32x8::load(x).mul_add(F32x8::load(y), acc[0]);
    }
    let mut s = (acc[0] + acc[1]).reduce_add();
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        s += x * y;
    }
    s
}

/// `out[r] += Σ_c w[r * cols + c] * x[c]` for a row-major `out.len() x x.len()` matrix.
#[inline]
pub fn matvec_acc(w: &[f32], x: &[f32], out: &mut [f32]) {
    let cols = x.len();
    if cols == 0 {
        return;
    }
    for (o, row) in out.iter_mut().zip(w.chunks_exact(cols)) {
        *o += dot(row, x);
    }
}

/// `out[r] += Σ_k W[r][k] x[k]` for `W` in [`Layout::Panel8`](crate::format::Layout::Panel8)
/// (see [`scalar::panel_matvec_acc`](super::scalar::panel_matvec_acc)).
#[inline]
pub fn panel_matvec_acc(w: &[f32], x: &[f32], out: &mut [f32]) {
    panel_matvec2_acc(w, x, &[], &[], out);
}

/// `out += W_x x + W_h h`, both [`Layout::Panel8`](crate::format::Layout::Panel8),
/// in one pass: tiles of up to [`TILE`] panels, each accumulated in registers
/// over all of `x` then all of `h` (broadcast one input, fused multiply-add
/// into every panel's accumulator), stored once.
#[inline]
pub fn panel_matvec2_acc(wx: &[f32], x: &[f32], wh: &[f32], h: &[f32], out: &mut [f32]) {
    let (lx, lh) = (x.len() * PANEL, h.len() * PANEL);
    let panels = out.len() / PANEL;
    if wx.len() < panels * lx || wh.len() < panels * lh {
        return;
    }
    let mut p = 0;
    while p + TILE <= panels {
        tile::<TILE>(p, wx, x, wh, h, out);
        p += TILE;
    }
    if p + 4 <= panels {
        tile::<4>(p, wx, x, wh, h, out);
        p += 4;
    }
    if p + 2 <= panels {
        tile::<2>(p, wx, x, wh, h, out);
        p += 2;
    }
    if p < panels {
        tile::<1>(p, wx, x, wh, h, out);
    }
}

/// Panels `p..p + T` of [`panel_matvec2_acc`].
#[inline(always)]
fn tile<const T: usize>(p: usize, wx: &[f32], x: &[f32], wh: &[f32], h: &[f32], out: &mut [f32]) {
    let Some(o) = out.get_mut(p * PANEL..(p + T) * PANEL) else {
        return;
    };
    let mut acc: [F32x8; T] = core::array::from_fn(|t| F32x8::load(&o[t * PANEL..][..PANEL]));
    accumulate(&mut acc, p, wx, x);
    accumulate(&mut acc, p, wh, h);
    for (t, a) in acc.iter().enumerate() {
        a.store(&mut o[t * PANEL..][..PANEL]);
    }
}

/// `acc[t] += panel(p + t) · x` for `t < T`.
#[inline(always)]
fn accumulate<const T: usize>(acc: &mut [F32x8; T], p: usize, w: &[f32], x: &[f32]) {
    let len = x.len() * PANEL;
    if len == 0 {
        return;
    }
    let Some(w) = w.get(p * len..(p + T) * len) else {
        return;
    };
    let mut cols: [_; T] = core::array::from_fn(|t| w[t * len..(t + 1) * len].chunks_exact(PANEL));
    for &xk in x {
        let xv = F32x8::splat(xk);
        for (a, c) in acc.iter_mut().zip(cols.iter_mut()) {
            if let Some(wk) = c.next() {
                *a = F32x8::load(wk).mul_add(xv, *a);
            }
        }
    }
}
