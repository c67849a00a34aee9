//! Portable scalar kernels: the reference, and the Cortex-M path.

use crate::format::PANEL;

/// Dot product of two equally long slices, with four independent accumulators
/// so the FPU pipeline stays busy. Extra elements of the longer slice are ignored.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; 4];
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    for (x, y) in (&mut ca).zip(&mut cb) {
        acc[0] += x[0] * y[0];
        acc[1] += x[1] * y[1];
        acc[2] += x[2] * y[2];
        acc[3] += x[3] * y[3];
    }
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        acc[0] += x * y;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// `out[r] += Σ_c w[r * cols + c] * x[c]` for a row-major `out.len() x x.len()` matrix.
///
/// `w` must hold at least `out.len() * x.len()` elements (checked by model
/// validation; extra elements are ignored).
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

/// `out[r] += Σ_k W[r][k] x[k]` for `W` in [`Layout::ColMajor8`](crate::format::Layout::ColMajor8):
/// column-major, `out.len()` rows (a multiple of 8), `x.len()` columns.
///
/// Works on 8 rows at a time: 8 accumulators stay in registers (Cortex-M4F
/// has 32 single registers) while the columns stream by: 9 loads per 8
/// multiply-adds, where a row-major dot product needs 16. Rows past the last
/// whole group of 8 and weights past `out.len() * x.len()` are ignored.
#[inline]
pub fn colmajor_matvec_acc(w: &[f32], x: &[f32], out: &mut [f32]) {
    colmajor_matvec2_acc(w, x, &[], &[], out);
}

/// `out += W_x x + W_h h` in one pass over both [`Layout::ColMajor8`](crate::format::Layout::ColMajor8)
/// matrices (each of `out.len()` rows), accumulators kept across both.
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
pub fn colmajor_rows2_acc(
    wx: &[f32],
    x: &[f32],
    wh: &[f32],
    h: &[f32],
    rows: usize,
    r0: usize,
    out: &mut [f32],
) {
    if rows == 0 {
        return;
    }
    for (p, o) in out.chunks_exact_mut(PANEL).enumerate() {
        let Ok(o) = <&mut [f32; PANEL]>::try_from(o) else {
            return;
        };
        let mut acc = *o;
        colmajor_acc(&mut acc, r0 + p * PANEL, rows, wx, x);
        colmajor_acc(&mut acc, r0 + p * PANEL, rows, wh, h);
        *o = acc;
    }
}

/// `acc[r] += Σ_k w[k * rows + r0 + r] x[k]`.
#[inline(always)]
fn colmajor_acc(acc: &mut [f32; PANEL], r0: usize, rows: usize, w: &[f32], x: &[f32]) {
    for (col, &xk) in w.chunks_exact(rows).zip(x) {
        let Some(wk) = col.get(r0..r0 + PANEL) else {
            return;
        };
        for (a, &w) in acc.iter_mut().zip(wk) {
            *a += w * xk;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_handles_remainders() {
        for n in [0usize, 1, 3, 4, 5, 7, 8, 33] {
            let a: [f32; 40] = core::array::from_fn(|i| i as f32 * 0.5 - 3.0);
            let b: [f32; 40] = core::array::from_fn(|i| 1.0 - i as f32 * 0.25);
            let want: f64 = (0..n).map(|i| a[i] as f64 * b[i] as f64).sum();
            assert!((dot(&a[..n], &b[..n]) as f64 - want).abs() < 1e-3, "n={n}");
        }
    }

    #[test]
    fn matvec_accumulates() {
        let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let x = [1.0, -1.0];
        let mut out = [10.0, 20.0, 30.0];
        matvec_acc(&w, &x, &mut out);
        assert_eq!(out, [9.0, 19.0, 29.0]);
    }
}
