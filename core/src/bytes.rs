//! Viewing validated model bytes as typed slices, in place.
//!
//! The loader's only `unsafe` code.
#![expect(
    unsafe_code,
    reason = "reinterpreting aligned little-endian bytes as f32 in place"
)]

/// Element types every bit pattern of which is a valid value, aligned to
/// at most 4 bytes.
///
/// # Safety
/// Implementors must be plain old data: no padding, no invalid bit patterns,
/// and an alignment of at most 4.
pub(crate) unsafe trait Pod: Copy {}
// SAFETY: integers, f32 and IEEE half have no padding and no invalid bit
// patterns, and are aligned to at most 4 bytes.
unsafe impl Pod for i8 {}
// SAFETY: as above.
unsafe impl Pod for i16 {}
// SAFETY: as above.
unsafe impl Pod for i32 {}
// SAFETY: as above.
unsafe impl Pod for f32 {}
// SAFETY: `f16` is `repr(transparent)` over `u16`.
unsafe impl Pod for half::f16 {}

/// Bytes that start at a 4-byte aligned address: a model file being
/// loaded, or a part of it at an offset that is a multiple of 4. The only
/// ways to make one check the address ([`new`](Self::new), at run time) or
/// know it from the type ([`from_aligned`](Self::from_aligned), also while
/// compiling, where addresses cannot be read).
#[derive(Clone, Copy)]
pub(crate) struct Aligned4<'a>(&'a [u8]);

impl<'a> Aligned4<'a> {
    /// `bytes`, if they start at a 4-byte aligned address.
    pub(crate) fn new(bytes: &'a [u8]) -> Option<Self> {
        if bytes.as_ptr().align_offset(4) == 0 {
            Some(Aligned4(bytes))
        } else {
            None
        }
    }

    /// The bytes of `a`, aligned (to 16 at least) by its type.
    pub(crate) const fn from_aligned(a: &'a crate::Aligned<[u8]>) -> Self {
        Aligned4(&a.0)
    }

    /// The bytes.
    pub(crate) const fn get(self) -> &'a [u8] {
        self.0
    }

    /// The `len` bytes at `off`, if they are in range and `off` is a
    /// multiple of 4 (so they are aligned too).
    pub(crate) const fn sub(self, off: usize, len: usize) -> Option<Self> {
        if !off.is_multiple_of(4) {
            return None;
        }
        let Some((_, rest)) = self.0.split_at_checked(off) else {
            return None;
        };
        match rest.split_at_checked(len) {
            Some((part, _)) => Some(Aligned4(part)),
            None => None,
        }
    }

    /// Views the bytes as `T`s without copying, or `None` when their length
    /// is not a multiple of `T`'s size or the target is big-endian (the file
    /// is little-endian).
    pub(crate) const fn view<T: Pod>(self) -> Option<&'a [T]> {
        let size = core::mem::size_of::<T>();
        if cfg!(target_endian = "big") || !self.0.len().is_multiple_of(size) {
            return None;
        }
        // SAFETY: the bytes start at a 4-byte aligned address (the type's
        // invariant) and `T` needs at most 4 (`Pod`); `len / size` elements
        // cover bytes inside the slice; every bit pattern is a valid `T`
        // (`Pod`), stored little-endian like the target; the result
        // borrows the same bytes.
        Some(unsafe {
            core::slice::from_raw_parts(self.0.as_ptr().cast::<T>(), self.0.len() / size)
        })
    }
}

/// Bytes of a [`Block`].
#[cfg(feature = "alloc")]
pub(crate) const BLOCK: usize = 64;

/// 64 bytes at a 64-byte aligned address (a cache line; at least the
/// alignment of [`Aligned`](crate::Aligned) on every target).
#[cfg(feature = "alloc")]
#[derive(Clone, Copy)]
#[repr(C, align(64))]
pub(crate) struct Block(pub [u8; BLOCK]);

/// Views aligned blocks as one byte slice.
#[cfg(feature = "alloc")]
pub(crate) fn blocks_as_bytes(blocks: &[Block]) -> &[u8] {
    // SAFETY: `Block` is `repr(C)` around `[u8; 64]` with no padding (size 64,
    // align 64), so `blocks` covers exactly `64 * len` initialised bytes; u8 has
    // no alignment requirement; the result borrows `blocks`.
    unsafe { core::slice::from_raw_parts(blocks.as_ptr().cast::<u8>(), blocks.len() * BLOCK) }
}

/// `bytes` as [`Aligned`](crate::Aligned), if they start at an address
/// aligned as it needs.
#[cfg(feature = "alloc")]
pub(crate) fn bytes_as_aligned(bytes: &[u8]) -> Option<&crate::Aligned<[u8]>> {
    if bytes
        .as_ptr()
        .align_offset(core::mem::align_of::<crate::Aligned<[u8; 0]>>())
        != 0
    {
        return None;
    }
    let p = core::ptr::from_ref(bytes) as *const crate::Aligned<[u8]>;
    // SAFETY: `Aligned<[u8]>` is `repr(C)` around `[u8]` alone, so it has
    // the slice's layout and metadata (its length), with the alignment of
    // `Aligned` that the address has (checked); the result borrows `bytes`.
    Some(unsafe { &*p })
}
