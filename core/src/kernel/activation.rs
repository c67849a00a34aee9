//! Activation functions: exact ones computed with `libm` (so the host runs
//! exactly the math the microcontroller runs), and fast rational
//! approximations with a measured error bound, for one lane or eight.

use crate::format::Activation;
use crate::kernel::lanes::Lanes;

/// Bound on the absolute error of [`tanh_fast`] against `libm::tanhf` over
/// the whole f32 range. Measured: 4.17e-7 (at x = 2.853) over all 2^32
/// inputs (test `fast_activations_error_bound_exhaustive`, release, scalar
/// path); the default test checks the bound on 4.7 million points, scalar and
/// 8-wide (whose FMAs round differently).
pub const TANH_FAST_MAX_ABS_ERROR: f32 = 6.0e-7;
/// Bound on the absolute error of [`sigmoid_fast`] against the exact
/// [`sigmoid`]. Measured: 2.98e-7 (at x = 5.841) over all 2^32 inputs.
pub const SIGMOID_FAST_MAX_ABS_ERROR: f32 = 3.5e-7;

/// Beyond this magnitude the rational tanh is clamped; tanh(±7.905) rounds
/// to ±1 in f32 within the stated error.
const TANH_CLAMP: f32 = 7.905_311;

/// Numerator coefficients of [`tanh_fast_lanes`], of `x`, `x³`, ... `x¹³`
/// (the minimax fit Eigen uses for float).
const TANH_P: [f32; 7] = [
    4.893_524_6e-3,
    6.372_619_3e-4,
    1.485_722_4e-5,
    5.122_297e-8,
    -8.604_672e-11,
    2.000_188e-13,
    -2.760_768_5e-16,
];
/// Denominator coefficients of [`tanh_fast_lanes`], of `1`, `x²`, `x⁴`, `x⁶`.
const TANH_Q: [f32; 4] = [4.893_525e-3, 2.268_434_6e-3, 1.185_347_1e-4, 1.198_258_4e-6];

/// `(x P(x²), Q(x²))` for `x` already clamped, coefficients `p` and `q`,
/// by Estrin's scheme in `y = x²`: four dependent steps instead of Horner's
/// six, so a step's chain of gate activations is shorter.
#[inline(always)]
fn rational<V: Lanes>(x: V, p: &[f32; 7], q: &[f32; 4]) -> (V, V) {
    let s = V::splat;
    let y = x * x;
    let y2 = y * y;
    let y4 = y2 * y2;
    let p01 = y.mul_add(s(p[1]), s(p[0]));
    let p23 = y.mul_add(s(p[3]), s(p[2]));
    let p45 = y.mul_add(s(p[5]), s(p[4]));
    let p03 = y2.mul_add(p23, p01);
    let p46 = y2.mul_add(s(p[6]), p45);
    let num = x * y4.mul_add(p46, p03);
    let q01 = y.mul_add(s(q[1]), s(q[0]));
    let q23 = y.mul_add(s(q[3]), s(q[2]));
    (num, y2.mul_add(q23, q01))
}

/// `tanh(x)` as the rational function `x P(x²) / Q(x²)` of degrees 13 and 6
/// ([`TANH_P`], [`TANH_Q`]) on `[-7.905, 7.905]`, clamped outside. Exactly ±1
/// only at the clamp, 0 at 0; NaN in gives NaN out; ±inf gives ±1 (to within
/// [`TANH_FAST_MAX_ABS_ERROR`]).
#[inline(always)]
pub(crate) fn tanh_fast_lanes<V: Lanes>(x: V) -> V {
    let (p, q) = rational(x.clamp_keep_nan(-TANH_CLAMP, TANH_CLAMP), &TANH_P, &TANH_Q);
    p.div(q)
}

/// `σ(x) = 1/2 + tanh(x/2)/2`, with the halvings folded into the
/// coefficients: for `u = 2t`, `t P(t²) / (2 Q(t²)) = u P'(u²) / Q'(u²)`
/// where `P'` and `Q'` are [`TANH_P`] and [`TANH_Q`] scaled by powers of two.
/// Every intermediate is the one of `tanh_fast(x/2)` times an exact power of
/// two, so the result is bit for bit `tanh_fast(x/2).mul_add(0.5, 0.5)`
/// (except where an intermediate is subnormal, for |x| < 1e-18, where both
/// round to 1/2), two multiplies fewer. Error half of tanh's; exactly 0 and 1
/// only far out; NaN stays NaN.
#[inline(always)]
pub(crate) fn sigmoid_fast_lanes<V: Lanes>(x: V) -> V {
    // P'[k] = P[k] / 4^(k+1), Q'[k] = Q[k] / 4^k: exact in f32.
    const P: [f32; 7] = {
        let mut p = TANH_P;
        let mut k = 0;
        let mut scale = 0.25;
        while k < 7 {
            p[k] *= scale;
            scale *= 0.25;
            k += 1;
        }
        p
    };
    const Q: [f32; 4] = {
        let mut q = TANH_Q;
        let mut k = 0;
        let mut scale = 1.0;
        while k < 4 {
            q[k] *= scale;
            scale *= 0.25;
            k += 1;
        }
        q
    };
    let (p, q) = rational(
        x.clamp_keep_nan(-2.0 * TANH_CLAMP, 2.0 * TANH_CLAMP),
        &P,
        &Q,
    );
    p.div(q) + V::splat(0.5)
}

/// Fast `tanh` of one value (see [`TANH_FAST_MAX_ABS_ERROR`]).
#[inline]
pub fn tanh_fast(x: f32) -> f32 {
    tanh_fast_lanes(x)
}

/// Fast sigmoid of one value (see [`SIGMOID_FAST_MAX_ABS_ERROR`]).
#[inline]
pub fn sigmoid_fast(x: f32) -> f32 {
    sigmoid_fast_lanes(x)
}

/// Which sigmoid and tanh a kernel uses, as a type (no run-time branch).
pub(crate) trait Act {
    /// Logistic sigmoid.
    fn sigmoid<V: Lanes>(x: V) -> V;
    /// Hyperbolic tangent.
    fn tanh<V: Lanes>(x: V) -> V;
}

/// `libm` activations.
pub(crate) struct Exact;
/// Rational approximations.
pub(crate) struct Fast;

impl Act for Exact {
    #[inline(always)]
    fn sigmoid<V: Lanes>(x: V) -> V {
        x.map(sigmoid)
    }
    #[inline(always)]
    fn tanh<V: Lanes>(x: V) -> V {
        x.map(tanh)
    }
}

impl Act for Fast {
    #[inline(always)]
    fn sigmoid<V: Lanes>(x: V) -> V {
        sigmoid_fast_lanes(x)
    }
    #[inline(always)]
    fn tanh<V: Lanes>(x: V) -> V {
        tanh_fast_lanes(x)
    }
}

/// Logistic sigmoid `1 / (1 + e^-x)`; saturates to exactly 0 and 1, keeps NaN.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + libm::expf(-x))
}

/// Hyperbolic tangent.
#[inline]
pub fn tanh(x: f32) -> f32 {
    libm::tanhf(x)
}

/// `max(0, x)`; NaN stays NaN.
#[inline]
pub fn relu(x: f32) -> f32 {
    if x < 0.0 {
        0.0
    } else {
        x
    }
}

/// Softmax in place, shifted by the maximum so it cannot overflow.
pub fn softmax(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = libm::expf(*x - max);
        sum += *x;
    }
    let inv = 1.0 / sum;
    for x in v.iter_mut() {
        *x *= inv;
    }
}

/// Applies `act` to every element of `v` in place (exact functions).
pub fn apply(act: Activation, v: &mut [f32]) {
    apply_with::<Exact>(act, v);
}

/// Applies `act` to every element of `v` in place, sigmoid and tanh from `A`.
pub(crate) fn apply_with<A: Act>(act: Activation, v: &mut [f32]) {
    match act {
        Activation::Linear => {}
        Activation::Tanh => v.iter_mut().for_each(|x| *x = A::tanh(*x)),
        Activation::Relu => v.iter_mut().for_each(|x| *x = relu(*x)),
        Activation::Sigmoid => v.iter_mut().for_each(|x| *x = A::sigmoid(*x)),
        Activation::Softmax => softmax(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_saturates_and_keeps_nan() {
        assert_eq!(sigmoid(f32::INFINITY), 1.0);
        assert_eq!(sigmoid(f32::NEG_INFINITY), 0.0);
        assert_eq!(sigmoid(0.0), 0.5);
        assert!(sigmoid(f32::NAN).is_nan());
    }

    #[test]
    fn softmax_is_stable_for_large_inputs() {
        let mut v = [1000.0, 1000.0, -1000.0];
        softmax(&mut v);
        assert!((v[0] - 0.5).abs() < 1e-6 && (v[1] - 0.5).abs() < 1e-6 && v[2] == 0.0);
    }
}
