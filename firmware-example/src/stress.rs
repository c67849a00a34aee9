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

/// Units of the random-requantization LSTMs of [`random_requant_hash`].
const RQ_H: usize = 8;
/// Their gate rows.
const RQ_G: usize = 4 * RQ_H;

/// An integer LSTM of `I` inputs and 8 units whose weights, biases and
/// `[mult, shift]` pairs are random over the whole valid range (mult
/// `0..2^31` of every magnitude, shift `1..=62`), streamed through
/// [`STEPS`] steps of the stress input from a zero state: the hash of every
/// `h` and `c`. Trained models only produce shifts of 33 and more; this
/// drives the other requantization paths (short shifts, saturation) on the
/// kernel each target runs. `I = 1` takes the one-column path. `W_h` is
/// read as tiled (`tinyrnn::quant::matvec::TILED4`; any bytes are valid
/// tiles), word-aligned, so the Cortex-M4 runs its tiled `SMLALD` kernel
/// against the host's portable reading of the same bytes.
#[cfg_attr(
    not(feature = "integer"),
    allow(dead_code, reason = "checked only in builds with integer models")
)]
pub fn random_requant_hash<const I: usize>() -> u32 {
    use tinyrnn::quant::{IntLstm, IntMatrix, Scalar};
    let mut g = Stress {
        rng: 0x1357_9bdf ^ I as u32,
        t: 0,
    };
    /// Word-aligned (the tiled kernel's `LDRD`).
    #[repr(C, align(4))]
    struct Aligned<T>(T);
    let mut wx = [[0i8; I]; RQ_G];
    let mut wh = Aligned([[0i8; RQ_H]; RQ_G]);
    for w in wx.iter_mut().flatten().chain(wh.0.iter_mut().flatten()) {
        *w = g.next() as i8;
    }
    let mut rq = [[0i32; 2 * RQ_G]; 2];
    for p in rq.iter_mut().flat_map(|m| m.chunks_exact_mut(2)) {
        let r = g.next();
        p[0] = ((g.next() >> 1) >> (r % 31)) as i32;
        p[1] = 1 + ((r >> 8) % 62) as i32;
    }
    let mut b = [0i32; RQ_G];
    for v in b.iter_mut() {
        let r = g.next();
        *v = (g.next() as i32) >> (r % 32);
    }
    let cell = IntLstm {
        input: I,
        hidden: RQ_H,
        w_x: IntMatrix {
            w: wx.as_flattened(),
            rq: &rq[0],
            tiled: false,
        },
        w_h: IntMatrix {
            w: wh.0.as_flattened(),
            rq: &rq[1],
            tiled: true,
        },
        b: &b,
        cell_frac: 11,
    };
    let (mut h, mut c, mut x) = ([0i16; RQ_H], [0i16; RQ_H], [0i16; I]);
    let mut scratch = [0i32; 8 * RQ_H];
    let mut hash = FNV_START;
    for _ in 0..STEPS {
        g.input(12, &mut x);
        cell.step::<Scalar>(&x, &mut h, &mut c, &mut scratch);
        hash = fnv1a(fnv1a(hash, &h), &c);
    }
    hash
}
