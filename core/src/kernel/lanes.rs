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
        s.first().copied().unwrap_or(0.0)
    }
    #[inline(always)]
    fn store(self, s: &mut [f32]) {
        if let Some(d) = s.first_mut() {
            *d = self;
        }
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

/// The host's 8-lane vector (one AVX register, two SSE/NEON registers).
pub(crate) type F32x8 = wide::f32x8;

/// The host's 16-lane vector (one AVX-512 register; two AVX registers where
/// `wide` emulates it). The fused LSTM/GRU steps and the column-major
/// products use it where AVX-512F is enabled ([`Wide`]); on every machine
/// the kernel tests run it too.
pub(crate) type F32x16 = wide::f32x16;

/// A vector the SIMD kernels are written for ([`F32x8`] or [`F32x16`]).
pub(crate) trait Vector: Lanes {
    /// Reads `LANES` values from `p` (no alignment needed).
    ///
    /// # Safety
    /// `p..p + LANES` must be readable `f32` values.
    #[expect(unsafe_code, reason = "the caller vouches for the read")]
    unsafe fn read(p: *const f32) -> Self;
}

/// [`Lanes`] and [`Vector`] for the `wide` vector `$v` of `$n` lanes.
macro_rules! wide_lanes {
    ($v:ident, $n:literal) => {
        impl Lanes for $v {
            const LANES: usize = $n;
            #[inline(always)]
            fn splat(v: f32) -> Self {
                $v::splat(v)
            }
            #[inline(always)]
            fn load(s: &[f32]) -> Self {
                let a: [f32; $n] = s.try_into().unwrap_or([0.0; $n]);
                $v::new(a)
            }
            #[inline(always)]
            fn store(self, s: &mut [f32]) {
                if let Ok(a) = <&mut [f32; $n]>::try_from(s) {
                    *a = self.to_array();
                }
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                $v::mul_add(self, a, b)
            }
            #[inline(always)]
            fn div(self, rhs: Self) -> Self {
                self / rhs
            }
            #[inline(always)]
            fn map(self, f: fn(f32) -> f32) -> Self {
                $v::new(self.to_array().map(f))
            }
            #[inline(always)]
            fn clamp_keep_nan(self, lo: f32, hi: f32) -> Self {
                // The constant first: x86 `min`/`max` (SSE to AVX-512)
                // return their second operand when either is NaN, NEON's
                // propagate NaN, and wide's array fallback returns the
                // second operand unless the first compares greater.
                $v::splat(hi).fast_min($v::splat(lo).fast_max(self))
            }
            #[inline(always)]
            fn relu(self) -> Self {
                // Same operand order as above: NaN stays NaN.
                $v::splat(0.0).fast_max(self)
            }
        }

        impl Vector for $v {
            #[inline(always)]
            #[expect(unsafe_code, reason = "an unaligned read the caller vouches for")]
            unsafe fn read(p: *const f32) -> Self {
                // SAFETY: the caller guarantees `$n` readable values at `p`.
                $v::new(unsafe { p.cast::<[f32; $n]>().read_unaligned() })
            }
        }
    };
}

wide_lanes!(F32x8, 8);
wide_lanes!(F32x16, 16);

/// The vector of the host's column-major products and fused LSTM/GRU
/// steps: [`F32x16`] where AVX-512F is enabled (`-C target-cpu=native` on a
/// CPU that has it), or where the build sets `TINYRNN_LANES=16` (so that
/// the whole test suite can run the 16-lane kernels on any machine); else
/// [`F32x8`] (one AVX register, two SSE/NEON ones).
#[cfg(any(target_feature = "avx512f", tinyrnn_lanes16))]
pub(crate) type Wide = F32x16;
/// See the other definition.
#[cfg(not(any(target_feature = "avx512f", tinyrnn_lanes16)))]
pub(crate) type Wide = F32x8;

/// `V::LANES` values from `s[at..]`, zero-padded past the end of `s`.
#[inline(always)]
pub(crate) fn load_part<V: Lanes>(s: &[f32], at: usize) -> V {
    match s.get(at..at + V::LANES) {
        Some(v) => V::load(v),
        None => {
            let mut t = [0.0f32; 16];
            for (t, s) in t.iter_mut().zip(s.get(at..).unwrap_or(&[])) {
                *t = *s;
            }
            V::load(t.get(..V::LANES).unwrap_or(&[]))
        }
    }
}

/// Writes the lanes of `v` to `s[at..]`, as far as `s` reaches.
#[inline(always)]
pub(crate) fn store_part<V: Lanes>(v: V, s: &mut [f32], at: usize) {
    match s.get_mut(at..at + V::LANES) {
        Some(d) => v.store(d),
        None => {
            let mut t = [0.0f32; 16];
            v.store(t.get_mut(..V::LANES).unwrap_or(&mut []));
            for (d, t) in s.get_mut(at..).unwrap_or(&mut []).iter_mut().zip(t) {
                *d = t;
            }
        }
    }
}

/// Runs `f` over lane groups of `n` elements: `ins` are read, `io` are read and
/// then overwritten with `f`'s results. Every slice must hold at least `n`
/// elements (shorter slices make the call do nothing). A last group shorter than
/// `V::LANES` goes through a zero-padded copy ([`load_part`], [`store_part`]).
/// Written with checked accessors only, so no panic path (and no formatting
/// code) is linked into a step.
#[inline(always)]
pub(crate) fn zip_map<V: Lanes, const NI: usize, const NO: usize>(
    n: usize,
    ins: [&[f32]; NI],
    mut io: [&mut [f32]; NO],
    f: impl Fn([V; NI], [V; NO]) -> [V; NO],
) {
    if ins.iter().any(|s| s.len() < n) || io.iter().any(|s| s.len() < n) {
        return;
    }
    let lanes = V::LANES;
    let load = |s: &[f32], j: usize| s.get(j..j + lanes).map_or(V::splat(0.0), V::load);
    let full = n - n % lanes;
    let mut j = 0;
    while j < full {
        let a = core::array::from_fn(|k| load(ins[k], j));
        let b = core::array::from_fn(|k| load(io[k], j));
        for (s, v) in io.iter_mut().zip(f(a, b)) {
            if let Some(s) = s.get_mut(j..j + lanes) {
                v.store(s);
            }
        }
        j += lanes;
    }
    if j < n {
        // The last, partial group: only the first `n` values of each slice.
        let part = |s: &[f32]| load_part(s.get(..n).unwrap_or(&[]), j);
        let a = core::array::from_fn(|k| part(ins[k]));
        let b = core::array::from_fn(|k| part(io[k]));
        for (s, v) in io.iter_mut().zip(f(a, b)) {
            store_part(v, s.get_mut(..n).unwrap_or(&mut []), j);
        }
    }
}
