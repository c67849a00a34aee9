//! `i32`/`i16` views of the caller's `f32` state words (integer layers keep
//! their scratch there).
#![expect(unsafe_code, reason = "reinterpreting state words in place")]

/// The `f32` words as `i32` words (same size and alignment).
pub(crate) fn f32_as_i32_mut(w: &mut [f32]) -> &mut [i32] {
    // SAFETY: f32 and i32 have the same size and alignment, every bit pattern
    // of either is valid, and the result mutably borrows `w` exclusively.
    unsafe { core::slice::from_raw_parts_mut(w.as_mut_ptr().cast::<i32>(), w.len()) }
}

/// The `i32` words as twice as many `i16`s.
pub(crate) fn i32_as_i16_mut(w: &mut [i32]) -> &mut [i16] {
    // SAFETY: i16 needs less alignment than i32, `2 * len` i16 cover exactly
    // the same bytes, every bit pattern is valid, and the result mutably
    // borrows `w` exclusively.
    unsafe { core::slice::from_raw_parts_mut(w.as_mut_ptr().cast::<i16>(), 2 * w.len()) }
}
