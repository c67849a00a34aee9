//! Matrix-vector products of the quantized formats.
//!
//! - integer: `i8` weights x `i16` activations into exact `i32` sums, a
//!   portable scalar reference ([`Portable`]), a `wide` twin ([`Simd`], 16
//!   lanes of `i16` multiplied pairwise into 8 lanes of `i32`) and on
//!   Cortex-M4/M7 an `SMLAD` one in assembly (`Dsp`, module `dsp`), all
//!   giving the same bits: integer sums do not depend on the order they are
//!   added in, and no kernel can overflow for rows of at most [`MAX_COLS`]
//!   columns. [`Scalar`] (what [`Kernel::Scalar`](crate::Kernel::Scalar)
//!   runs) is `Dsp` where the target has the DSP extension, else [`Portable`];
//! - i8 hybrid: `i8` weights with one `f32` scale per row, `f32` in and out;
//! - f16: IEEE half weights, widened to `f32` as they are read.
//!
//! All weight matrices are row-major `[rows][cols]` with `cols = x.len()`
//! and `rows = out.len()`; shorter weight slices leave the missing rows
//! untouched (validation guarantees they never are).

use half::f16;
use wide::{i16x16, i32x8, i8x16};

#[cfg(tinyrnn_dsp)]
#[expect(unsafe_code, reason = "the SMLAD matrix-vector kernel is `asm!`")]
pub mod dsp;
#[cfg(tinyrnn_dsp)]
pub use dsp::Dsp;

/// Most columns an integer row may have: `511 * 128 * 32768 < 2^31`, so the
/// exact sum of any `i8 x i16` row fits in an `i32`. The loader and the
/// quantizer refuse wider layers.
pub const MAX_COLS: usize = 511;

/// An integer matrix-vector kernel: `out[r] = Σ_c w[r][c] * x[c]`.
pub trait IntMatVec {
    /// Writes the exact `i32` row sums of `W x` into `out`.
    fn matvec(w: &[i8], x: &[i16], out: &mut [i32]);
}

/// The portable scalar reference kernel: one row at a time, one
/// multiply-add per column.
#[derive(Debug, Clone, Copy)]
pub struct Portable;

/// The kernel of [`Kernel::Scalar`](crate::Kernel::Scalar): on targets with
/// the DSP extension (Cortex-M4/M7, `thumbv7em-*`) the `SMLAD` assembly
/// kernel `Dsp`, elsewhere [`Portable`]. Bit-identical to both.
#[derive(Debug, Clone, Copy)]
pub struct Scalar;

/// The `wide` kernel: SSE2/AVX2/NEON/wasm SIMD on hosts; plain arrays on
/// targets without vector registers. Bit-identical to [`Scalar`].
#[derive(Debug, Clone, Copy)]
pub struct Simd;

impl IntMatVec for Scalar {
    #[inline]
    fn matvec(w: &[i8], x: &[i16], out: &mut [i32]) {
        #[cfg(tinyrnn_dsp)]
        Dsp::matvec(w, x, out);
        #[cfg(not(tinyrnn_dsp))]
        Portable::matvec(w, x, out);
    }
}

impl IntMatVec for Portable {
    #[inline]
    fn matvec(w: &[i8], x: &[i16], out: &mut [i32]) {
        let cols = x.len();
        if cols == 0 {
            out.fill(0);
            return;
        }
        for (o, row) in out.iter_mut().zip(w.chunks_exact(cols)) {
            let mut acc = 0i32;
            for (w, x) in row.iter().zip(x) {
                // Cannot wrap for cols <= MAX_COLS; wrapping keeps any other
                // (invalid) size panic-free and equal to the SIMD kernel.
                acc = acc.wrapping_add(*w as i32 * *x as i32);
            }
            *o = acc;
        }
    }
}

/// Copies 16 elements of `s` (exactly 16 long) into an array.
#[inline(always)]
fn arr16<T: Copy + Default>(s: &[T]) -> [T; 16] {
    let mut a = [T::default(); 16];
    for (a, s) in a.iter_mut().zip(s) {
        *a = *s;
    }
    a
}

impl IntMatVec for Simd {
    #[inline]
    fn matvec(w: &[i8], x: &[i16], out: &mut [i32]) {
        let cols = x.len();
        if cols == 0 {
            out.fill(0);
            return;
        }
        let xt = x.chunks_exact(16).remainder();
        for (o, row) in out.iter_mut().zip(w.chunks_exact(cols)) {
            let mut acc = i32x8::ZERO;
            let wc = row.chunks_exact(16);
            let wt = wc.remainder();
            for (wv, xv) in wc.zip(x.chunks_exact(16)) {
                let wv = i16x16::from_i8x16(i8x16::new(arr16(wv)));
                let xv = i16x16::new(arr16(xv));
                // Pairwise products summed into i32 lanes (pmaddwd); |w| <= 128
                // so a pair never exceeds 2^23.
                acc += wv.dot(xv);
            }
            let mut s = acc.reduce_add();
            for (w, x) in wt.iter().zip(xt) {
                s = s.wrapping_add(*w as i32 * *x as i32);
            }
            *o = s;
        }
    }
}

/// i8 hybrid: `out[r] += scale[r] * Σ_c w[r][c] * x[c]`, in `f32`.
#[inline]
pub fn matvec_i8_f32_acc(w: &[i8], scale: &[f32], x: &[f32], out: &mut [f32]) {
    let cols = x.len();
    if cols == 0 {
        return;
    }
    for ((o, row), s) in out.iter_mut().zip(w.chunks_exact(cols)).zip(scale) {
        // Four accumulators, like the f32 scalar kernel, for the FPU pipeline.
        let mut acc = [0.0f32; 4];
        let rc = row.chunks_exact(4);
        let rt = rc.remainder();
        let xc = x.chunks_exact(4);
        let xt = xc.remainder();
        for (w, x) in rc.zip(xc) {
            for k in 0..4 {
                acc[k] += w[k] as f32 * x[k];
            }
        }
        let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for (w, x) in rt.iter().zip(xt) {
            sum += *w as f32 * *x;
        }
        *o += *s * sum;
    }
}

/// f16 storage: `out[r] += Σ_c f32(w[r][c]) * x[c]`.
#[inline]
pub fn matvec_f16_acc(w: &[f16], x: &[f32], out: &mut [f32]) {
    let cols = x.len();
    if cols == 0 {
        return;
    }
    for (o, row) in out.iter_mut().zip(w.chunks_exact(cols)) {
        let mut acc = [0.0f32; 4];
        let rc = row.chunks_exact(4);
        let rt = rc.remainder();
        let xc = x.chunks_exact(4);
        let xt = xc.remainder();
        for (w, x) in rc.zip(xc) {
            for k in 0..4 {
                acc[k] += w[k].to_f32() * x[k];
            }
        }
        let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for (w, x) in rt.iter().zip(xt) {
            sum += w.to_f32() * *x;
        }
        *o += sum;
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Rng;
    use super::*;
    use std::vec::Vec;

    #[test]
    fn scalar_and_simd_give_identical_bits() {
        let mut rng = Rng::new(7);
        let mut cases = 0;
        for &cols in &[0usize, 1, 7, 15, 16, 17, 33, 64, 100, 511] {
            for &rows in &[0usize, 1, 3, 8, 33] {
                for _ in 0..40 {
                    let extreme = rng.below(4) == 0;
                    let w: Vec<i8> = (0..rows * cols)
                        .map(|_| {
                            if extreme {
                                [i8::MIN, i8::MAX][rng.below(2)]
                            } else {
                                rng.i8()
                            }
                        })
                        .collect();
                    let x: Vec<i16> = (0..cols)
                        .map(|_| {
                            if extreme {
                                [i16::MIN, i16::MAX][rng.below(2)]
                            } else {
                                rng.i16()
                            }
                        })
                        .collect();
                    let mut a = vec![1; rows];
                    let mut b = vec![2; rows];
                    let mut c = vec![3; rows];
                    Portable::matvec(&w, &x, &mut a);
                    Simd::matvec(&w, &x, &mut b);
                    Scalar::matvec(&w, &x, &mut c);
                    assert_eq!(a, b, "rows {rows} cols {cols}");
                    assert_eq!(a, c, "rows {rows} cols {cols}");
                    // And both equal the exact i64 sum (no wrap at MAX_COLS).
                    for (r, a) in a.iter().enumerate() {
                        let exact: i64 = (0..cols)
                            .map(|c| w[r * cols + c] as i64 * x[c] as i64)
                            .sum();
                        assert_eq!(*a as i64, exact);
                    }
                    cases += 1;
                }
            }
        }
        assert!(cases >= 2000);
    }

    #[test]
    fn worst_case_row_does_not_wrap() {
        let w = [i8::MIN; MAX_COLS];
        let x = [i16::MIN; MAX_COLS];
        let mut a = [0];
        let mut b = [0];
        Portable::matvec(&w, &x, &mut a);
        Simd::matvec(&w, &x, &mut b);
        assert_eq!(a[0] as i64, MAX_COLS as i64 * 128 * 32768);
        assert_eq!(a, b);
    }

    #[test]
    fn hybrid_and_f16_match_f32() {
        let mut rng = Rng::new(3);
        let (rows, cols) = (9, 13);
        let w: Vec<i8> = (0..rows * cols).map(|_| rng.i8()).collect();
        let s: Vec<f32> = (0..rows).map(|_| rng.f32() * 0.01).collect();
        let x: Vec<f32> = (0..cols).map(|_| rng.f32()).collect();
        let mut y = vec![0.5f32; rows];
        matvec_i8_f32_acc(&w, &s, &x, &mut y);
        let wh: Vec<f16> = w.iter().map(|w| f16::from_f32(*w as f32 / 64.0)).collect();
        let mut z = vec![0.0f32; rows];
        matvec_f16_acc(&wh, &x, &mut z);
        for r in 0..rows {
            let exact: f64 = (0..cols)
                .map(|c| w[r * cols + c] as f64 * x[c] as f64)
                .sum();
            assert!((y[r] as f64 - (0.5 + s[r] as f64 * exact)).abs() < 1e-5);
            assert!((z[r] as f64 - exact / 64.0).abs() < 1e-4);
        }
    }
}
