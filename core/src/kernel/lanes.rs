//! `Lanes`: one f32, or a SIMD vector of them, so the elementwise gate math of
//! every cell is written once and runs scalar (the reference, Cortex-M) or
//! vectorized (host).

use core::ops::{Add, Mul, Sub};

/// A value holding `LANES` f32 lanes with the arithmetic the gate math needs.
pub(crate) trait Lanes:
    Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self>
{
    /// Lanes per value.
    const LANES: usize;
    /// Every lane `v`.
    fn splat(v: f32) -> Self;
    /// Reads `LANES` values; `s.len()` must be `LANES`.
    fn load(s: &[f32]) -> Self;
    /// Writes `LANES` values; `s.len()` must be `LANES`.
    fn store(self, s: &mut [f32]);
    /// `self * a + b`, fused where the target has FMA.
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// `self / rhs`.
    fn div(self, rhs: Self) -> Self;
    /// `f` on every lane (the exact `libm` path).
    fn map(self, f: fn(f32) -> f32) -> Self;
    /// Clamps to `[lo, hi]`; NaN lanes stay NaN.
    fn clamp_keep_nan(self, lo: f32, hi: f32) -> Self;
    /// `max(0, x)`; NaN lanes stay NaN.
    fn relu(self) -> Self;
}

impl Lanes for f32 {
    const LANES: usize = 1;
    #[inline(always)]
    fn splat(v: f32) -> Self {
        v
    }
    #[inline(always)]
    fn load(s: &[f32]) -> Self {
        s[0]
    }
    #[inline(always)]
    fn store(self, s: &mut [f32]) {
        s[0] = self;
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        self * a + b
    }
    #[inline(always)]
    fn div(self, rhs: Self) -> Self {
        self / rhs
    }
    #[inline(always)]
    fn map(self, f: fn(f32) -> f32) -> Self {
        f(self)
    }
    #[inline(always)]
    fn clamp_keep_nan(self, lo: f32, hi: f32) -> Self {
        if self < lo {
            lo
        } else if self > hi {
            hi
        } else {
            self
        }
    }
    #[inline(always)]
    fn relu(self) -> Self {
        crate::kernel::activation::relu(self)
    }
}

/// The host's vector: 8 lanes (one AVX register, two SSE/NEON registers).
pub(crate) type F32x8 = wide::f32x8;

impl Lanes for F32x8 {
    const LANES: usize = 8;
    #[inline(always)]
    fn splat(v: f32) -> Self {
        F32x8::splat(v)
    }
    #[inline(always)]
    fn load(s: &[f32]) -> Self {
        let a: [f32; 8] = s.try_into().unwrap_or([0.0; 8]);
        F32x8::new(a)
    }
    #[inline(always)]
    fn store(self, s: &mut [f32]) {
        if let Ok(a) = <&mut [f32; 8]>::try_from(s) {
            *a = self.to_array();
        }
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        F32x8::mul_add(self, a, b)
    }
    #[inline(always)]
    fn div(self, rhs: Self) -> Self {
        self / rhs
    }
    #[inline(always)]
    fn map(self, f: fn(f32) -> f32) -> Self {
        F32x8::new(self.to_array().map(f))
    }
    #[inline(always)]
    fn clamp_keep_nan(self, lo: f32, hi: f32) -> Self {
        // The constant first: x86 `min`/`max` return their second operand when
        // either is NaN, NEON's propagate NaN, and wide's array fallback
        // returns the second operand unless the first compares greater.
        F32x8::splat(hi).fast_min(F32x8::splat(lo).fast_max(self))
    }
    #[inline(always)]
    fn relu(self) -> Self {
        // Same operand order as above: NaN stays NaN.
        F32x8::splat(0.0).fast_max(self)
    }
}

/// Runs `f` over lane groups of `n` elements: `ins` are read, `io` are read and
/// then overwritten with `f`'s results. Every slice must hold at least `n`
/// elements (shorter slices make the call do nothing). A last group shorter than
/// `V::LANES` goes through a zero-padded copy.
#[inline(always)]
pub(crate) fn zip_map<V: Lanes, const NI: usize, const NO: usize>(
    n: usize,
    ins: [&[f32]; NI],
    io: [&mut [f32]; NO],
    f: impl Fn([V; NI], [V; NO]) -> [V; NO],
) {
    if ins.iter().any(|s| s.len() < n) || io.iter().any(|s| s.len() < n) {
        return;
    }
    let ins = ins.map(|s| &s[..n]);
    let mut io = io.map(|s| &mut s[..n]);
    let full = n - n % V::LANES;
    let mut j = 0;
    while j < full {
        let a = ins.map(|s| V::load(&s[j..j + V::LANES]));
        let b = core::array::from_fn(|k| V::load(&io[k][j..j + V::LANES]));
        let r = f(a, b);
        for (s, v) in io.iter_mut().zip(r) {
            v.store(&mut s[j..j + V::LANES]);
        }
        j += V::LANES;
    }
    if j < n {
        let tail = n - j;
        let pad = |s: &[f32]| {
            let mut t = [0.0f32; 16];
            t[..tail].copy_from_slice(&s[j..]);
            V::load(&t[..V::LANES])
        };
        let a = ins.map(pad);
        let b = core::array::from_fn(|k| pad(io[k]));
        let r = f(a, b);
        for (s, v) in io.iter_mut().zip(r) {
            let mut t = [0.0f32; 16];
            v.store(&mut t[..V::LANES]);
            s[j..].copy_from_slice(&t[..tail]);
        }
    }
}
