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

/// `out[r] += Σ_k W[r][k] x[k]` for `W` in [`Layout::ColMajor8`](crate::format::Layout::ColMajor8)
/// (see [`scalar::colmajor_matvec_acc`](super::scalar::colmajor_matvec_acc)).
#[inline]
pub fn colmajor_matvec_acc(w: &[f32], x: &[f32], out: &mut [f32]) {
    colmajor_matvec2_acc(w, x, &[], &[], out);
}

/// `out += W_x x + W_h h`, both [`Layout::ColMajor8`](crate::format::Layout::ColMajor8),
/// in one pass: tiles of up to [`TILE`] vectors of rows, each accumulated in
/// registers over all of `x` then all of `h` (broadcast one input, fused
/// multiply-add of one contiguous piece of its column), stored once.
#[inline]
pub fn colmajor_matvec2_acc(wx: &[f32], x: &[f32], wh: &[f32], h: &[f32], out: &mut [f32]) {
    colmajor_rows2_acc(wx, x, wh, h, out.len(), 0, out);
}

/// Rows `r0..r0 + out.len()` of a column-major `W` of `rows` rows:
/// `out += W[r0..][..out.len()] x` (one gate block of a layer).
#[inline]
pub fn colmajor_rows_acc(w: &[f32], rows: usize, r0: usize, x: &[f32], out: &mut [f32]) {
    colmajor_rows2_acc(w, x, &[], &[], rows, r0, out);
}

/// [`colmajor_matvec2_acc`] for rows `r0..r0 + out.len()` of `rows`.
#[inline]
fn colmajor_rows2_acc(
    wx: &[f32],
    x: &[f32],
    wh: &[f32],
    h: &[f32],
    rows: usize,
    r0: usize,
    out: &mut [f32],
) {
    let (out, _) = out.as_chunks_mut::<PANEL>();
    let mut rest = out;
    let mut r = r0;
    while rest.len() >= TILE {
        let (o, tail) = rest.split_at_mut(TILE);
        tile::<TILE>(r, rows, wx, x, wh, h, o);
        (rest, r) = (tail, r + TILE * PANEL);
    }
    if rest.len() >= 4 {
        let (o, tail) = rest.split_at_mut(4);
        tile::<4>(r, rows, wx, x, wh, h, o);
        (rest, r) = (tail, r + 4 * PANEL);
    }
    if rest.len() >= 2 {
        let (o, tail) = rest.split_at_mut(2);
        tile::<2>(r, rows, wx, x, wh, h, o);
        (rest, r) = (tail, r + 2 * PANEL);
    }
    if !rest.is_empty() {
        tile::<1>(r, rows, wx, x, wh, h, rest);
    }
}

/// Rows `r0..r0 + 8T` of [`colmajor_rows2_acc`], `o` their `T` outputs.
#[inline(always)]
fn tile<const T: usize>(
    r0: usize,
    rows: usize,
    wx: &[f32],
    x: &[f32],
    wh: &[f32],
    h: &[f32],
    o: &mut [[f32; PANEL]],
) {
    let mut acc: [F32x8; T] =
        core::array::from_fn(|t| F32x8::new(o.get(t).copied().unwrap_or_default()));
    accumulate(&mut acc, r0, rows, wx, x);
    accumulate(&mut acc, r0, rows, wh, h);
    for (o, a) in o.iter_mut().zip(acc) {
        *o = a.to_array();
    }
}

/// `acc[t] += W[r0 + 8t..r0 + 8t + 8][..] · x` for `t < T`, `W` column-major
/// with `rows` rows.
#[inline(always)]
fn accumulate<const T: usize>(acc: &mut [F32x8; T], r0: usize, rows: usize, w: &[f32], x: &[f32]) {
    if rows < r0 + T * PANEL {
        return;
    }
    for (col, &xk) in w.chunks_exact(rows).zip(x) {
        let (v, _) = col[r0..r0 + T * PANEL].as_chunks::<PANEL>();
        let xv = F32x8::splat(xk);
        for (a, v) in acc.iter_mut().zip(v) {
            *a = F32x8::new(*v).mul_add(xv, *a);
        }
    }
}
