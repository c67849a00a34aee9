//! A small deterministic random generator for the quantization tests.

/// xorshift64*: reproducible, no dependency.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub(crate) fn i8(&mut self) -> i8 {
        (self.next_u64() >> 56) as i8
    }
    pub(crate) fn i16(&mut self) -> i16 {
        (self.next_u64() >> 48) as i16
    }
    /// Uniform in `[-1, 1)`.
    pub(crate) fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    pub(crate) fn vec(&mut self, n: usize, scale: f32) -> std::vec::Vec<f32> {
        (0..n).map(|_| self.f32() * scale).collect()
    }
}
