//! Activation functions: exact ones computed with `libm` (so the host runs
//! exactly the math the microcontroller runs), and fast rational
//! approximations with a measured error bound, for one lane or eight.

use crate::format::Activation;
use crate::kernel::lanes::Lanes;
use crate::kernel::no_unroll;

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

/// [`TANH_P`] scaled for [`sigmoid_fast_lanes`]: `P'[k] = P[k] / 4^(k+1)`, exact in f32.
const SIGMOID_P: [f32; 7] = {
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
/// [`TANH_Q`] scaled for [`sigmoid_fast_lanes`]: `Q'[k] = Q[k] / 4^k`, exact in f32.
const SIGMOID_Q: [f32; 4] = {
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
    let (p, q) = rational(
        x.clamp_keep_nan(-2.0 * TANH_CLAMP, 2.0 * TANH_CLAMP),
        &SIGMOID_P,
        &SIGMOID_Q,
    );
    p.div(q) + V::splat(0.5)
}

/// The Cortex-M4F fast activations' table (`kernel::cortex_m::tanh_fast`):
/// [`TANH_P`] (7), [`TANH_Q`] (4), the clamp `C`, `-C`, `C * C`, what is added
/// to the quotient (0 for tanh), and a 0. The FPU evaluates `x P(x²) / Q(x²)`
/// by Horner's scheme in fused multiply-adds (where the portable path uses
/// Estrin's scheme), so the two differ by float rounding; both are within
/// the error bounds (test `m4_sequence_is_within_the_bounds`).
#[cfg(any(test, all(target_arch = "arm", target_abi = "eabihf")))]
pub(crate) const M4_TANH: [f32; 16] = m4_table(&TANH_P, &TANH_Q, TANH_CLAMP, 0.0);
/// As [`M4_TANH`] for the sigmoid: the coefficients of [`sigmoid_fast_lanes`],
/// clamp `2C`, plus 1/2.
#[cfg(any(test, all(target_arch = "arm", target_abi = "eabihf")))]
pub(crate) const M4_SIGMOID: [f32; 16] = m4_table(&SIGMOID_P, &SIGMOID_Q, 2.0 * TANH_CLAMP, 0.5);
/// [`M4_TANH`] then [`M4_SIGMOID`], adjacent (the FPU code steps from one to
/// the other with a load's write-back).
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
pub(crate) static M4_TABLES: [[f32; 16]; 2] = [M4_TANH, M4_SIGMOID];

#[cfg(any(test, all(target_arch = "arm", target_abi = "eabihf")))]
const fn m4_table(p: &[f32; 7], q: &[f32; 4], clamp: f32, add: f32) -> [f32; 16] {
    let mut t = [0.0; 16];
    let mut k = 0;
    while k < 7 {
        t[k] = p[k];
        k += 1;
    }
    while k < 11 {
        t[k] = q[k - 7];
        k += 1;
    }
    t[11] = clamp;
    t[12] = -clamp;
    t[13] = clamp * clamp;
    t[14] = add;
    t
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
    /// Whether these are the fast approximations (the Cortex-M4F step has
    /// its own code for them).
    #[cfg_attr(
        not(all(target_arch = "arm", target_abi = "eabihf")),
        expect(dead_code, reason = "read by the Cortex-M4F backend only")
    )]
    const FAST: bool;
    /// Logistic sigmoid.
    fn sigmoid<V: Lanes>(x: V) -> V;
    /// Hyperbolic tangent.
    fn tanh<V: Lanes>(x: V) -> V;
    /// `e^x` for `x <= 0` (softmax's shifted inputs).
    fn exp(x: f32) -> f32;
}

/// `libm` activations.
pub(crate) struct Exact;
/// Rational approximations.
pub(crate) struct Fast;

impl Act for Exact {
    const FAST: bool = false;
    #[inline(always)]
    fn sigmoid<V: Lanes>(x: V) -> V {
        x.map(sigmoid)
    }
    #[inline(always)]
    fn tanh<V: Lanes>(x: V) -> V {
        x.map(tanh)
    }
    #[inline(always)]
    fn exp(x: f32) -> f32 {
        libm::expf(x)
    }
}

impl Act for Fast {
    const FAST: bool = true;
    #[inline(always)]
    fn sigmoid<V: Lanes>(x: V) -> V {
        sigmoid_fast_lanes(x)
    }
    #[inline(always)]
    fn tanh<V: Lanes>(x: V) -> V {
        tanh_fast_lanes(x)
    }
    #[inline(always)]
    fn exp(x: f32) -> f32 {
        exp_fast(x)
    }
}

/// Bound on the relative error of `exp_fast` (`Math::Fast`'s softmax exponential) against the exact `e^x`
/// (computed in f64) for `-87 <= x <= 0`. Measured: 2.54e-7 (at x =
/// -26.69) over every f32 of `[-87, 0]` (test
/// `exp_fast_error_bound_exhaustive`, release); the default test checks the
/// bound on 19 million points.
pub const EXP_FAST_MAX_REL_ERROR: f32 = 3.0e-7;

/// `ln 2` split for the range reduction: `LN2_HI` has 9 significant bits,
/// so `k * LN2_HI` is exact for `|k| < 2^15` and `x - k * LN2_HI` loses
/// nothing.
const LN2_HI: f32 = 0.693_359_4;
/// `ln 2 - LN2_HI`.
const LN2_LO: f32 = -2.121_944_4e-4;

/// `e^x` for `x <= 0` (what softmax passes it), the exponential of
/// [`Math::Fast`](super::Math::Fast): `x = k ln 2 + r` with `k` the nearest
/// integer to `x / ln 2` and `|r| <= ln(2) / 2`, `e^r` by its Taylor
/// polynomial of degree 6, times `2^k` built in the exponent bits. Plain
/// multiplies and adds (no fused ones), so host and chip compute it bit for
/// bit alike. Within [`EXP_FAST_MAX_REL_ERROR`] of `e^x` for `-87 <= x <=
/// 0`; below -87 (where `e^x < 1.7e-38`) it returns 0; NaN stays NaN.
/// Positive `x` are outside its domain (up to 88 it is still within the
/// bound; beyond, wrong).
#[inline(always)]
pub(crate) fn exp_fast(x: f32) -> f32 {
    if x < -87.0 {
        return 0.0;
    }
    // Round to nearest by the 1.5 * 2^23 trick (exact for |t| < 2^22).
    const ROUND: f32 = 12_582_912.0;
    let kf = (x * core::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    let p = 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    // -126 <= k <= 127 here: a normal power of two (NaN converts to 0).
    let k = kf as i32;
    p * f32::from_bits(((k + 127) as u32) << 23)
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
    softmax_with::<Exact>(v);
}

/// Softmax in place with `A`'s exponential.
pub(crate) fn softmax_with<A: Act>(v: &mut [f32]) {
    // NaN is skipped, as by `f32::max` (no `fmaxf` call on a microcontroller).
    // Each loop one copy of its body on a Cortex-M (code size).
    let mut max = f32::NEG_INFINITY;
    for &x in v.iter() {
        no_unroll();
        if x > max {
            max = x;
        }
    }
    let mut sum = 0.0;
    for x in v.iter_mut() {
        no_unroll();
        *x = A::exp(*x - max);
        sum += *x;
    }
    let inv = 1.0 / sum;
    for x in v.iter_mut() {
        no_unroll();
        *x *= inv;
    }
}

/// Applies `act` to every element of `v` in place (exact functions).
pub fn apply(act: Activation, v: &mut [f32]) {
    apply_with::<Exact>(act, v);
}

/// Applies `act` to every element of `v` in place, sigmoid and tanh from `A`.
/// Inlined, so that a linear layer (the usual regression head) costs a
/// comparison, not a call.
#[inline(always)]
pub(crate) fn apply_with<A: Act>(act: Activation, v: &mut [f32]) {
    if act != Activation::Linear {
        apply_nonlinear::<A>(act, v);
    }
}

/// [`apply_with`] for the other activations.
fn apply_nonlinear<A: Act>(act: Activation, v: &mut [f32]) {
    // The fast ones on a Cortex-M4F: its FPU sequence over the slice.
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    if A::FAST && matches!(act, Activation::Tanh | Activation::Sigmoid) {
        crate::kernel::cortex_m::act_fast(act == Activation::Sigmoid, None, v);
        return;
    }
    match act {
        Activation::Linear => {}
        Activation::Tanh => v.iter_mut().for_each(|x| *x = A::tanh(*x)),
        Activation::Relu => v.iter_mut().for_each(|x| {
            no_unroll();
            *x = relu(*x);
        }),
        Activation::Sigmoid => v.iter_mut().for_each(|x| *x = A::sigmoid(*x)),
        Activation::Softmax => softmax_with::<A>(v),
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

    /// The Cortex-M4F sequence (`kernel::cortex_m`) step by step on the
    /// host: `y = x²`; beyond the clamp (`y > C²`) `x = ±C`, `y = C²`; Horner
    /// in fused multiply-adds; `x P / Q`, plus the table's addend.
    fn m4_model(x: f32, t: &[f32; 16]) -> f32 {
        let mut y = x * x;
        let mut x = x;
        if y > t[13] {
            x = if x > 0.0 { t[11] } else { t[12] };
            y = t[13];
        }
        let mut p = t[6];
        for k in (0..6).rev() {
            p = p.mul_add(y, t[k]);
        }
        let mut q = t[10];
        for k in (7..10).rev() {
            q = q.mul_add(y, t[k]);
        }
        (p * x) / q + t[14]
    }

    #[test]
    fn m4_sequence_is_within_the_bounds() {
        let (mut et, mut es) = (0.0f32, 0.0f32);
        // Every 997th bit pattern (all signs, exponents, NaNs), and a dense
        // grid of [-20, 20].
        let bits = (0..=u32::MAX / 997).map(|i| f32::from_bits(i * 997));
        let dense = (-2_000_000..=2_000_000).map(|i| i as f32 * 1e-5);
        for x in bits
            .chain(dense)
            .chain([f32::INFINITY, f32::NEG_INFINITY, 7.905_311, -15.810_622])
        {
            let (t, s) = (m4_model(x, &M4_TANH), m4_model(x, &M4_SIGMOID));
            if x.is_nan() {
                assert!(t.is_nan() && s.is_nan());
                continue;
            }
            assert!(
                (-1.0..=1.0).contains(&t) && (0.0..=1.0).contains(&s),
                "x={x:e}: {t} {s}"
            );
            et = et.max((t - tanh(x)).abs());
            es = es.max((s - sigmoid(x)).abs());
            // Near the portable path (its rounding differs: Estrin, not fused).
            assert!(
                (t - tanh_fast(x)).abs() <= TANH_FAST_MAX_ABS_ERROR,
                "x={x:e}"
            );
            assert!(
                (s - sigmoid_fast(x)).abs() <= SIGMOID_FAST_MAX_ABS_ERROR,
                "x={x:e}"
            );
        }
        println!("m4 sequence: tanh max abs error {et:e}, sigmoid {es:e}");
        assert!(et <= TANH_FAST_MAX_ABS_ERROR, "tanh {et:e}");
        assert!(es <= SIGMOID_FAST_MAX_ABS_ERROR, "sigmoid {es:e}");
        assert_eq!(m4_model(0.0, &M4_TANH), 0.0);
        assert_eq!(m4_model(0.0, &M4_SIGMOID), 0.5);
    }

    #[test]
    fn softmax_is_stable_for_large_inputs() {
        let mut v = [1000.0, 1000.0, -1000.0];
        softmax(&mut v);
        assert!((v[0] - 0.5).abs() < 1e-6 && (v[1] - 0.5).abs() < 1e-6 && v[2] == 0.0);
    }
}
