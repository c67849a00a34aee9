//! Fixed-point helpers of the integer path: saturation, rounding shifts,
//! Q15 products and per-row requantization of i32 accumulators.
//!
//! Conventions (used by every integer cell):
//! - a value in `Q(f)` is the integer `q` standing for `q * 2^-f`;
//! - activations, states and inputs are `i16`; products and sums are `i32`
//!   (`i64` only inside [`requantize`]);
//! - every narrowing saturates (never wraps); every right shift rounds half up
//!   (`(v + 2^(s-1)) >> s`), the same on every target.

/// Fraction bits of sigmoid/tanh inputs (gate pre-activations): Q3.12, range
/// `[-8, 8)`, resolution `2^-12`.
pub const GATE_FRAC: u8 = 12;
/// Fraction bits of sigmoid/tanh outputs and of `h` after a tanh: Q0.15, range
/// `[-1, 1)`, resolution `2^-15`.
pub const UNIT_FRAC: u8 = 15;
/// `1.0` in Q0.15 does not fit in `i16`; this is `1.0` as an `i32`.
pub const ONE_Q15: i32 = 1 << 15;
/// Largest fraction-bit count of an activation format.
pub const MAX_FRAC: u8 = 15;
/// Smallest and largest shift of a [`Requant`] (the multiplier is
/// `mult * 2^-shift`).
pub const REQUANT_SHIFT_RANGE: core::ops::RangeInclusive<i32> = 1..=62;

/// Saturates an `i32` to `i16`.
#[inline(always)]
pub fn sat16(v: i32) -> i16 {
    if v > i16::MAX as i32 {
        i16::MAX
    } else if v < i16::MIN as i32 {
        i16::MIN
    } else {
        v as i16
    }
}

/// Saturates an `i64` to `i32`.
#[inline(always)]
pub fn sat32(v: i64) -> i32 {
    if v > i32::MAX as i64 {
        i32::MAX
    } else if v < i32::MIN as i64 {
        i32::MIN
    } else {
        v as i32
    }
}

/// `v * 2^-s` rounded half up, for `s` in `0..=31` (larger `s` are treated as 31).
#[inline(always)]
pub fn shr_round(v: i32, s: u32) -> i32 {
    if s == 0 {
        return v;
    }
    let s = s.min(31);
    // In i64 so that adding the rounding constant cannot overflow.
    ((v as i64 + (1i64 << (s - 1))) >> s) as i32
}

/// Converts `v` from `Q(from)` to `Q(to)` (fraction bits up to 31), rounding
/// half up when bits are dropped and saturating to `i32` when bits are added.
#[inline(always)]
pub fn rescale(v: i32, from: u8, to: u8) -> i32 {
    if from >= to {
        shr_round(v, (from - to) as u32)
    } else {
        sat32((v as i64) << ((to - from).min(31) as u32))
    }
}

/// Product of two Q0.15 numbers (or a Q0.15 and a `Q(f)`, giving `Q(f)`),
/// rounded half up, saturated: `(a * b + 2^14) >> 15`.
#[inline(always)]
pub fn mul_q15(a: i16, b: i16) -> i16 {
    sat16(shr_round(a as i32 * b as i32, 15))
}

/// A real multiplier `mult * 2^-shift` mapping an i32 accumulator to the
/// fixed-point format of a layer's pre-activations.
///
/// The quantizer writes `mult` in `[2^30, 2^31)` (31 significant bits) or 0,
/// and `shift` in [`REQUANT_SHIFT_RANGE`]; [`requantize`] clamps other values
/// so that no input can make it panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Requant {
    /// Mantissa.
    pub mult: i32,
    /// Right shift.
    pub shift: i32,
}

impl Requant {
    /// The multiplier as the pair stored in a model file (`[mult, shift]`).
    pub const fn to_pair(self) -> [i32; 2] {
        [self.mult, self.shift]
    }

    /// From the pair stored in a model file.
    pub const fn from_pair(p: [i32; 2]) -> Self {
        Requant {
            mult: p[0],
            shift: p[1],
        }
    }

    /// Whether the pair is one the quantizer can write (checked at load time).
    pub const fn is_valid(self) -> bool {
        self.mult >= 0
            && self.shift >= *REQUANT_SHIFT_RANGE.start()
            && self.shift <= *REQUANT_SHIFT_RANGE.end()
    }
}

/// `round(acc * mult * 2^-shift)`, half up, saturated to `i32`; exact (the
/// product is formed in `i64`). Pure integer arithmetic: on a Cortex-M0+ the
/// 64-bit product is the integer helper `__aeabi_lmul`.
#[inline(always)]
pub fn requantize(acc: i32, rq: Requant) -> i32 {
    let s = rq
        .shift
        .clamp(*REQUANT_SHIFT_RANGE.start(), *REQUANT_SHIFT_RANGE.end()) as u32;
    // |acc * mult| <= 2^62 and the rounding term is <= 2^61: no i64 overflow.
    let p = acc as i64 * rq.mult as i64;
    sat32((p + (1i64 << (s - 1))) >> s)
}

/// Requantizes the accumulators `acc` row by row with the interleaved
/// `[mult, shift]` pairs `rq` (two i32 per row) and adds the result to `out`,
/// saturating. Rows without a pair are left unchanged.
#[inline]
pub fn requantize_add(acc: &[i32], rq: &[i32], out: &mut [i32]) {
    for ((o, a), p) in out.iter_mut().zip(acc).zip(rq.chunks_exact(2)) {
        let r = requantize(*a, Requant::from_pair([p[0], p[1]]));
        *o = o.saturating_add(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturation_and_rounding() {
        assert_eq!(sat16(40_000), i16::MAX);
        assert_eq!(sat16(-40_000), i16::MIN);
        assert_eq!(sat16(-5), -5);
        assert_eq!(shr_round(3, 1), 2); // 1.5 -> 2
        assert_eq!(shr_round(-3, 1), -1); // -1.5 -> -1 (half up)
        assert_eq!(shr_round(i32::MAX, 1), 1 << 30);
        assert_eq!(shr_round(i32::MIN, 40), -1); // shift capped at 31: -2^31 * 2^-31
        assert_eq!(rescale(1, 0, 15), 1 << 15);
        assert_eq!(rescale(i32::MAX, 0, 15), i32::MAX);
        assert_eq!(rescale(1 << 15, 15, 12), 1 << 12);
        assert_eq!(mul_q15(i16::MIN, i16::MIN), i16::MAX);
        assert_eq!(mul_q15(16384, 16384), 8192);
    }

    #[test]
    fn requantize_is_exact_and_saturates() {
        // 0.75 = 3 * 2^29 * 2^-31
        let rq = Requant {
            mult: 3 << 29,
            shift: 31,
        };
        assert_eq!(requantize(1000, rq), 750);
        assert_eq!(requantize(-1000, rq), -750);
        assert_eq!(requantize(1, rq), 1); // 0.75 rounds to 1
        let big = Requant {
            mult: i32::MAX,
            shift: 1,
        };
        assert_eq!(requantize(i32::MAX, big), i32::MAX);
        assert_eq!(requantize(i32::MIN, big), i32::MIN);
        // Out-of-range shifts are clamped, never panic.
        let odd = Requant {
            mult: -5,
            shift: 1000,
        };
        let _ = requantize(i32::MIN, odd);
        let odd = Requant {
            mult: i32::MIN,
            shift: -7,
        };
        let _ = requantize(i32::MIN, odd);
    }
}
