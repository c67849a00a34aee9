//! Helpers shared by the integration tests (each uses part of them).
#![allow(dead_code, reason = "each test file uses part of the helpers")]

/// Deterministic values in `[-scale, scale)` (xorshift from `seed`).
pub fn values(seed: &mut u64, n: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            ((*seed >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// The largest absolute difference between `a` and `b`, element by element.
pub fn max_dev(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}
