//! Typed views of validated model bytes and of state words for the quantized
//! formats: `i8`, `i16`, `i32`, `f16` in place, and `i32`/`i16` views of the
//! caller's `f32` state words (integer layers keep their scratch there).
#![expect(
    unsafe_code,
    reason = "reinterpreting aligned plain-old-data slices in place"
)]

use half::f16;

/// Element types every bit pattern of which is a valid value.
///
/// # Safety
/// Implementors must be plain old data: no padding, no invalid bit patterns.
pub(crate) unsafe trait Pod: Copy {}
// SAFETY: integers and IEEE half have no padding and no invalid bit patterns.
unsafe impl Pod for i8 {}
// SAFETY: as above.
unsafe impl Pod for i16 {}
// SAFETY: as above.
unsafe impl Pod for i32 {}
// SAFETY: `f16` is `repr(transparent)` over `u16`.
unsafe impl Pod for f16 {}

/// Views `bytes` as `T`s without copying, or `None` when the pointer is not
/// aligned for `T`, the length is not a multiple of its size, or the target is
/// big-endian (the file is little-endian).
pub(crate) fn bytes_as<T: Pod>(bytes: &[u8]) -> Option<&[T]> {
    let size = core::mem::size_of::<T>();
    if cfg!(target_endian = "big")
        || bytes.as_ptr().align_offset(core::mem::align_of::<T>()) != 0
        || !bytes.len().is_multiple_of(size)
    {
        return None;
    }
    // SAFETY: aligned for T, exactly `len / size` elements inside `bytes`,
    // every bit pattern is a valid T (Pod), little-endian like the file; the
    // result borrows `bytes`.
    Some(unsafe { core::slice::from_raw_parts(bytes.as_ptr().cast::<T>(), bytes.len() / size) })
}

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
