//! The integer stress stream, shared by the firmware and `build.rs` (which
//! includes this file): [`STEPS`] steps of i16 input in four kinds of 256-step
//! segments, repeating: any i16 value, a constant extreme (`i16::MAX` or
//! `i16::MIN`, switching every 1024 steps), extremes alternating every step,
//! and values in +-1.0 of the input format. Both sides stream it through
//! `IntModel::step` from zeroed words and hash the outputs ([`fnv1a`]); the
//! hashes must be equal. Integer arithmetic only (no float on the chip).

/// Steps of the stress stream.
pub const STEPS: u32 = 2048;

/// A deterministic generator of the stream (xorshift32).
pub struct Stress {
    rng: u32,
    t: u32,
}

impl Default for Stress {
    fn default() -> Self {
        Stress {
            rng: 0x2545_f491,
            t: 0,
        }
    }
}

impl Stress {
    fn next(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }

    /// The next step's input into `x`, for an input format with `frac` fraction bits.
    pub fn input(&mut self, frac: u8, x: &mut [i16]) {
        let one = 1i32 << frac.min(14);
        let t = self.t;
        for v in x.iter_mut() {
            let r = (self.next() >> 16) as i32;
            *v = match (t / 256) % 4 {
                0 => r as u16 as i16,
                1 if (t / 1024).is_multiple_of(2) => i16::MAX,
                1 => i16::MIN,
                2 if t.is_multiple_of(2) => i16::MAX,
                2 => i16::MIN,
                _ => (r % (2 * one + 1) - one) as i16,
            };
        }
        self.t += 1;
    }
}

/// FNV-1a over the little-endian bytes of `y`, continuing from `h`
/// (start with [`FNV_START`]).
pub fn fnv1a(mut h: u32, y: &[i16]) -> u32 {
    for v in y {
        for b in v.to_le_bytes() {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
    }
    h
}

/// The FNV-1a offset basis.
pub const FNV_START: u32 = 0x811c_9dc5;
