//! The scalar type the training math is generic over.
//!
//! Training runs in `f32`; the finite-difference gradient checks run the very
//! same code in `f64`. The only per-type difference is how `exp`, `tanh` and
//! the sigmoid are evaluated over slices: `f64` uses the exact library
//! functions, `f32` a branch-free polynomial that the compiler vectorises
//! (tested against the library in `tests` below, max error stated there).

use core::fmt::Debug;
use core::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// A floating-point element type of the training math (`f32` or `f64`).
pub trait Float:
    Copy
    + Send
    + Sync
    + Default
    + Debug
    + PartialOrd
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// Converts from `f64` (rounding).
    fn from_f64(v: f64) -> Self;
    /// Converts to `f64` (exact).
    fn to_f64(self) -> f64;
    /// Natural exponential.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Larger of the two (NaN-ignoring like `f32::max`).
    fn max(self, other: Self) -> Self;
    /// Whether the value is neither NaN nor infinite.
    fn is_finite(self) -> bool;
    /// In place: `x = tanh(x)`.
    fn tanh_slice(x: &mut [Self]);
    /// In place: `x = 1 / (1 + exp(-x))`.
    fn sigmoid_slice(x: &mut [Self]);
    /// In place: `x = exp(x)`.
    fn exp_slice(x: &mut [Self]);
}

impl Float for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    fn from_f64(v: f64) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn exp(self) -> Self {
        f64::exp(self)
    }
    fn ln(self) -> Self {
        f64::ln(self)
    }
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    fn max(self, other: Self) -> Self {
        f64::max(self, other)
    }
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
    fn tanh_slice(x: &mut [Self]) {
        x.iter_mut().for_each(|v| *v = v.tanh());
    }
    fn sigmoid_slice(x: &mut [Self]) {
        x.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp()));
    }
    fn exp_slice(x: &mut [Self]) {
        x.iter_mut().for_each(|v| *v = v.exp());
    }
}

/// Branch-free `exp` for `f32`: range reduction by ln 2 and a degree-6
/// polynomial (Cephes `expf` coefficients). Inputs are clamped to
/// [-87.3, 88.3]; relative error about 2 ulp inside that range.
#[inline(always)]
fn fast_expf(x: f32) -> f32 {
    const LOG2E: f32 = core::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    /// Adding and subtracting 1.5 * 2^23 rounds to the nearest integer.
    const ROUND_MAGIC: f32 = 12_582_912.0;
    /// 2^23: integers added to it sit in the low mantissa bits.
    const EXP_MAGIC: f32 = 8_388_608.0;
    // max/min rather than clamp: same result, and it vectorises.
    #[expect(clippy::manual_clamp, reason = "clamp does not vectorise here")]
    let x = x.max(-87.3).min(88.3);
    let n = (x * LOG2E + ROUND_MAGIC) - ROUND_MAGIC;
    let r = x - n * LN2_HI - n * LN2_LO;
    let r2 = r * r;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5e-1;
    let e = p * r2 + r + 1.0;
    // 2^n through the bits: adding 2^23 + 127 leaves n + 127 in the low mantissa
    // bits (n is an integer in [-126, 127] here), which vectorises unlike `as i32`.
    let biased = (n + (EXP_MAGIC + 127.0)).to_bits() - EXP_MAGIC.to_bits();
    let scale = f32::from_bits(biased << 23);
    e * scale
}

impl Float for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn exp(self) -> Self {
        f32::exp(self)
    }
    fn ln(self) -> Self {
        f32::ln(self)
    }
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    fn max(self, other: Self) -> Self {
        f32::max(self, other)
    }
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
    fn tanh_slice(x: &mut [Self]) {
        dispatch_f32(x, Kernel::Tanh)
    }
    fn sigmoid_slice(x: &mut [Self]) {
        dispatch_f32(x, Kernel::Sigmoid)
    }
    fn exp_slice(x: &mut [Self]) {
        dispatch_f32(x, Kernel::Exp)
    }
}

#[inline(always)]
fn tanh_kernel(x: &mut [f32]) {
    // tanh(x) = sign(x) (1 - e) / (1 + e), e = exp(-2|x|)
    x.iter_mut().for_each(|v| {
        let a = v.abs();
        let e = fast_expf(-2.0 * a);
        let t = (1.0 - e) / (1.0 + e);
        *v = t.copysign(*v);
    });
}

#[inline(always)]
fn sigmoid_kernel(x: &mut [f32]) {
    x.iter_mut().for_each(|v| *v = 1.0 / (1.0 + fast_expf(-*v)));
}

#[inline(always)]
fn exp_kernel(x: &mut [f32]) {
    x.iter_mut().for_each(|v| *v = fast_expf(*v));
}

/// The elementwise kernels with a fast path.
#[derive(Clone, Copy)]
enum Kernel {
    Tanh,
    Sigmoid,
    Exp,
}

#[inline(always)]
fn run_kernel(x: &mut [f32], k: Kernel) {
    match k {
        Kernel::Tanh => tanh_kernel(x),
        Kernel::Sigmoid => sigmoid_kernel(x),
        Kernel::Exp => exp_kernel(x),
    }
}

/// Runs the kernel compiled for AVX-512F (16 lanes) or AVX2 + FMA (8) when the CPU
/// has them, else for the baseline (4): the same operations per element, so the
/// same results.
#[inline(always)]
fn dispatch_f32(x: &mut [f32], k: Kernel) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        fn avx2(x: &mut [f32], k: Kernel) {
            run_kernel(x, k)
        }
        #[target_feature(enable = "avx512f")]
        fn avx512(x: &mut [f32], k: Kernel) {
            run_kernel(x, k)
        }
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports the feature `avx512` was compiled for (checked just above).
            unsafe { avx512(x, k) };
            return;
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports the features `avx2` was compiled for (checked just above).
            unsafe { avx2(x, k) };
            return;
        }
    }
    run_kernel(x, k)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Absolute error bound of the f32 activations over [-20, 20].
    const ACT_ABS_TOL: f64 = 2e-7;

    #[test]
    fn fast_f32_activations_match_libm_on_a_dense_grid() {
        let grid: Vec<f32> = (-200_000..=200_000).map(|i| i as f32 * 1e-4).collect();
        let mut t = grid.clone();
        f32::tanh_slice(&mut t);
        let mut s = grid.clone();
        f32::sigmoid_slice(&mut s);
        let mut worst_t = 0.0f64;
        let mut worst_s = 0.0f64;
        for ((&x, &tv), &sv) in grid.iter().zip(&t).zip(&s) {
            let x = x as f64;
            worst_t = worst_t.max((tv as f64 - x.tanh()).abs());
            worst_s = worst_s.max((sv as f64 - 1.0 / (1.0 + (-x).exp())).abs());
        }
        assert!(worst_t < ACT_ABS_TOL, "tanh max abs error {worst_t}");
        assert!(worst_s < ACT_ABS_TOL, "sigmoid max abs error {worst_s}");
    }

    /// The dispatched kernels (a wide copy where the CPU has one) against the
    /// baseline build of the same code: bit for bit over a grid, the edges and
    /// a length that leaves a tail.
    #[test]
    fn wide_kernels_give_the_same_bits_as_the_baseline() {
        let mut grid: Vec<f32> = (-100_003..=100_003).map(|i| i as f32 * 1.7e-4).collect();
        grid.extend([f32::INFINITY, f32::NEG_INFINITY, 100.0, -100.0, 0.0, -0.0]);
        for k in [Kernel::Tanh, Kernel::Sigmoid, Kernel::Exp] {
            let mut wide = grid.clone();
            dispatch_f32(&mut wide, k);
            let mut base = grid.clone();
            run_kernel(&mut base, k);
            assert!(
                wide.iter()
                    .zip(&base)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "a wide kernel differs from the baseline"
            );
        }
    }

    #[test]
    fn fast_expf_relative_error_and_edges() {
        let mut worst = 0.0f64;
        for i in -8000..=8000 {
            let x = i as f32 * 0.01;
            let got = fast_expf(x) as f64;
            let want = (x as f64).exp();
            worst = worst.max(((got - want) / want).abs());
        }
        assert!(worst < 1e-6, "exp rel error {worst}");
        let mut e = [f32::INFINITY, f32::NEG_INFINITY, 1000.0, -1000.0];
        f32::exp_slice(&mut e);
        assert!(e[0].is_finite() && e[0] > 1e38);
        assert!(e[1] >= 0.0 && e[1] < 1e-37);
        let mut t = [f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0];
        f32::tanh_slice(&mut t);
        assert_eq!(t, [1.0, -1.0, 0.0, -0.0]);
    }
}
