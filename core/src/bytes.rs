//! Viewing validated model bytes as typed slices, in place.
//!
//! This is the crate's only `unsafe` code outside architecture kernels.
#![expect(
    unsafe_code,
    reason = "reinterpreting aligned little-endian bytes as f32 in place"
)]

/// Views `bytes` as `f32`s without copying, or `None` when the pointer is not
/// 4-byte aligned, the length is not a multiple of 4, or the target is big-endian.
pub(crate) fn as_f32(bytes: &[u8]) -> Option<&[f32]> {
    if cfg!(target_endian = "big") {
        return None;
    }
    if bytes.as_ptr().align_offset(core::mem::align_of::<f32>()) != 0
        || !bytes.len().is_multiple_of(4)
    {
        return None;
    }
    // SAFETY: the pointer is aligned for f32 and the length covers exactly
    // `len / 4` elements inside `bytes`; every bit pattern is a valid f32; the
    // target is little-endian, the byte order the file stores; the returned
    // slice borrows `bytes`, so it cannot outlive it.
    Some(unsafe { core::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), bytes.len() / 4) })
}

/// Sixteen bytes at a 16-byte aligned address.
#[cfg(feature = "alloc")]
#[derive(Clone, Copy)]
#[repr(C, align(16))]
pub(crate) struct Block(pub [u8; 16]);

/// Views aligned blocks as one byte slice.
#[cfg(feature = "alloc")]
pub(crate) fn blocks_as_bytes(blocks: &[Block]) -> &[u8] {
    // SAFETY: `Block` is `repr(C)` around `[u8; 16]` with no padding (size 16,
    // align 16), so `blocks` covers exactly `16 * len` initialised bytes; u8 has
    // no alignment requirement; the result borrows `blocks`.
    unsafe { core::slice::from_raw_parts(blocks.as_ptr().cast::<u8>(), blocks.len() * 16) }
}
