//! Matrix-vector products of the quantized formats.
//!
//! - integer: `i8` weights x `i16` activations into exact `i32` sums, a
//!   portable scalar reference ([`Portable`]), a `wide` twin ([`Simd`], 16
//!   lanes of `i16` multiplied pairwise into 8 lanes of `i32`) and on
//!   Cortex-M4/M7 an `SMLAD` one in assembly (`Dsp`, module `dsp`), on
//!   Cortex-M0/M0+ a tile loop in assembly (`V6m`, module `v6m`), all
//!   giving the same bits: integer sums do not depend on the order they are
//!   added in, and no kernel can overflow for rows of at most [`MAX_COLS`]
//!   columns. [`Scalar`] (what [`Kernel::Scalar`](crate::Kernel::Scalar)
//!   runs) is `Dsp` where the target has the DSP extension, `V6m` for tiled
//!   weights on Armv6-M (`thumbv6m-*`), else [`Portable`];
//! - i8 hybrid: `i8` weights with one `f32` scale per row, `f32` in and out;
//! - f16: IEEE half weights, widened to `f32` as they are read.
//!
//! All weight matrices are row-major `[rows][cols]` with `cols = x.len()`
//! and `rows = out.len()`; shorter weight slices leave the missing rows
//! untouched (validation guarantees they never are).

use half::f16;
use wide::{i16x16, i32x8, i8x16};

#[cfg(tinyrnn_dsp)]
#[expect(unsafe_code, reason = "the SMLAD matrix-vector kernel is `asm!`")]
pub mod dsp;
#[cfg(tinyrnn_dsp)]
pub use dsp::Dsp;
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
#[expect(unsafe_code, reason = "the hybrid kernels are `asm!`")]
mod fpu;
#[cfg(any(tinyrnn_v6m, test))]
#[cfg_attr(
    tinyrnn_v6m,
    expect(unsafe_code, reason = "the Armv6-M tile loop is `asm!`")
)]
mod v6m;

/// Most columns an integer row may have: `511 * 128 * 32768 < 2^31`, so the
/// exact sum of any `i8 x i16` row fits in an `i32`. The loader and the
/// quantizer refuse wider layers.
pub const MAX_COLS: usize = 511;

/// An integer matrix-vector kernel: `out[r] = Σ_c w[r][c] * x[c]`.
pub trait IntMatVec {
    /// Writes the exact `i32` row sums of `W x` into `out` (`w` row-major).
    fn matvec(w: &[i8], x: &[i16], out: &mut [i32]);

    /// The same with `w` in the [tiled layout](tiled_index) (tensor layout
    /// [`TILED4`]): only whole blocks of 4 rows with all their weights are
    /// written (`4 * (min(out.len(), w.len() / cols) / 4)` rows), the rest of
    /// `out` stays untouched; fewer than 4 columns are plain row-major.
    #[inline]
    fn matvec_tiled(w: &[i8], x: &[i16], out: &mut [i32]) {
        matvec_tiled_portable(w, x, out);
    }
}

/// Tensor layout code of an integer layer's `i8` weight matrix stored in
/// tiles (see [`tiled_index`]); `0` is row-major.
pub const TILED4: u8 = crate::format::layout::I8_TILED4;

/// Where the tiled layout [`TILED4`] keeps weight `(r, c)` of a
/// `[rows][cols]` matrix (`rows` a multiple of 4), and whether its byte is
/// stored minus 1 (see below). Rows go in blocks of 4, block `b` (rows
/// `4b..4b+4`) in bytes `4b * cols .. 4(b+1) * cols`. In a block the first
/// `c4 = cols - cols % 4` columns come in column pairs `(2j, 2j+1)`, 8
/// bytes each: for the row pairs `(4b, 4b+1)` then `(4b+2, 4b+3)` the 4
/// bytes `[w(r0, 2j), w(r1, 2j), w(r0, 2j+1), w(r1, 2j+1)]` (`r1 = r0 + 1`);
/// then the last `cols % 4` columns of the 4 rows, row after row.
///
/// In a tile the byte of the odd row is `w(r1, c) - 1` when the byte of
/// the even row before it (`w(r0, c)`) is negative, so that the two bytes
/// read as one little-endian `i16` are `256 * w(r1, c) + w(r0, c)`: a
/// reader adds `1` back, `w(r1, c) = byte + (byte before < 0)`. The
/// quantizer's weights (`-127..=127`) always fit; any byte reads as a
/// weight in `-128..=128`, so [`MAX_COLS`] still bounds the sums.
///
/// Returns `(index, compensated)`: `compensated` is true when the weight is
/// `w[index] + (w[index - 1] < 0)`.
pub const fn tiled_index(r: usize, c: usize, cols: usize) -> (usize, bool) {
    let (b, rr) = (r / 4, r % 4);
    let c4 = cols - cols % 4;
    let base = 4 * b * cols;
    if c >= c4 {
        return (base + 4 * c4 + rr * (cols - c4) + (c - c4), false);
    }
    let (j, cc) = (c / 2, c % 2);
    let odd = rr % 2 == 1;
    (base + 8 * j + 4 * (rr / 2) + 2 * cc + odd as usize, odd)
}

/// One column pair of a block of 4 tiled rows: `t` its 8 tile bytes (rows
/// 0-1, then rows 2-3), `x` the pair's two inputs. Each tile's odd-row byte
/// reads back as `t[1] + (t[0] < 0)` (see [`TILED4`]).
#[inline(always)]
fn tile_pair(acc: &mut [i32; 4], t: &[i8], x: &[i16]) {
    let (x0, x1) = (x[0] as i32, x[1] as i32);
    for (a, t) in acc.chunks_exact_mut(2).zip(t.chunks_exact(4)) {
        let (e0, e1) = (t[0] as i32, t[2] as i32);
        let o0 = t[1] as i32 + (e0 < 0) as i32;
        let o1 = t[3] as i32 + (e1 < 0) as i32;
        // Each sum is at most 2 * 128 * 32768 < 2^31 in magnitude.
        a[0] = a[0].wrapping_add(e0 * x0 + e1 * x1);
        a[1] = a[1].wrapping_add(o0 * x0 + o1 * x1);
    }
}

/// [`IntMatVec::matvec_tiled`] in plain Rust: the reference of the tiled
/// layout for every kernel without its own. Out of line: inlined into
/// `IntMatrix::mv` next to the row-major loop, the tile loop's register
/// allocation on the Cortex-M0 (8 low registers, `acc` spilled) followed
/// unrelated changes elsewhere in the program (64,294 instead of 63,336
/// instructions per integer LSTM 1x32 step); on its own it takes 74
/// instructions per tile pair, as it did inlined before.
#[inline(never)]
pub fn matvec_tiled_portable(w: &[i8], x: &[i16], out: &mut [i32]) {
    let cols = x.len();
    if cols < 4 {
        // No tiles: the block of 4 rows is row-major.
        return Portable::matvec(w, x, out);
    }
    let c4 = cols - cols % 4;
    let (xs, xt) = x.split_at(c4);
    let blocks = out.len().min(w.len() / cols) / 4;
    let rows = out.chunks_exact_mut(4).zip(w.chunks_exact(4 * cols));
    for (o, blk) in rows.take(blocks) {
        let (tiles, tail) = blk.split_at(4 * c4);
        let mut acc = [0i32; 4];
        for (t, x) in tiles.chunks_exact(8).zip(xs.chunks_exact(2)) {
            tile_pair(&mut acc, t, x);
        }
        if !xt.is_empty() {
            for (a, row) in acc.iter_mut().zip(tail.chunks_exact(xt.len())) {
                for (w, x) in row.iter().zip(xt) {
                    *a = a.wrapping_add(*w as i32 * *x as i32);
                }
            }
        }
        o.copy_from_slice(&acc);
    }
}

/// `w` (`[rows][cols]` row-major, `rows` a multiple of 4) in the tiled
/// layout [`TILED4`], or `None` when a weight cannot be stored there (an
/// odd-row `-128` under a negative even-row weight; the quantizer writes
/// `-127..=127` only) or the shape does not fit.
#[cfg(feature = "alloc")]
pub fn tile4(w: &[i8], rows: usize, cols: usize) -> Option<alloc::vec::Vec<i8>> {
    if !rows.is_multiple_of(4) || rows.checked_mul(cols)? != w.len() {
        return None;
    }
    let mut t = alloc::vec![0i8; w.len()];
    for r in 0..rows {
        for c in 0..cols {
            let (i, comp) = tiled_index(r, c, cols);
            let v = w[r * cols + c];
            t[i] = if comp && w[(r - 1) * cols + c] < 0 {
                v.checked_sub(1)?
            } else {
                v
            };
        }
    }
    Some(t)
}

/// The portable scalar reference kernel: one row at a time, one
/// multiply-add per column.
#[derive(Debug, Clone, Copy)]
pub struct Portable;

/// The kernel of [`Kernel::Scalar`](crate::Kernel::Scalar): on targets with
/// the DSP extension (Cortex-M4/M7, `thumbv7em-*`) the `SMLAD` assembly
/// kernel `Dsp`, on Armv6-M (Cortex-M0/M0+, `thumbv6m-*`) `V6m` for tiled
/// weights, elsewhere [`Portable`]. Bit-identical to all of them.
#[derive(Debug, Clone, Copy)]
pub struct Scalar;

/// The `wide` kernel: SSE2/AVX2/NEON/wasm SIMD on hosts; plain arrays on
/// targets without vector registers. Bit-identical to [`Scalar`].
#[derive(Debug, Clone, Copy)]
pub struct Simd;

impl IntMatVec for Scalar {
    #[inline]
    fn matvec(w: &[i8], x: &[i16], out: &mut [i32]) {
        #[cfg(tinyrnn_dsp)]
        Dsp::matvec(w, x, out);
        #[cfg(not(tinyrnn_dsp))]
        Portable::matvec(w, x, out);
    }

    #[inline]
    fn matvec_tiled(w: &[i8], x: &[i16], out: &mut [i32]) {
        #[cfg(tinyrnn_dsp)]
        Dsp::matvec_tiled(w, x, out);
        #[cfg(tinyrnn_v6m)]
        v6m::V6m::matvec_tiled(w, x, out);
        #[cfg(not(any(tinyrnn_dsp, tinyrnn_v6m)))]
        matvec_tiled_portable(w, x, out);
    }
}

impl IntMatVec for Portable {
    #[inline]
    fn matvec(w: &[i8], x: &[i16], out: &mut [i32]) {
        let cols = x.len();
        if cols == 0 {
            out.fill(0);
            return;
        }
        for (o, row) in out.iter_mut().zip(w.chunks_exact(cols)) {
            let mut acc = 0i32;
            for (w, x) in row.iter().zip(x) {
                // Cannot wrap for cols <= MAX_COLS; wrapping keeps any other
                // (invalid) size panic-free and equal to the SIMD kernel.
                acc = acc.wrapping_add(*w as i32 * *x as i32);
            }
            *o = acc;
        }
    }
}

/// Copies 16 elements of `s` (exactly 16 long) into an array.
#[inline(always)]
fn arr16<T: Copy + Default>(s: &[T]) -> [T; 16] {
    let mut a = [T::default(); 16];
    for (a, s) in a.iter_mut().zip(s) {
        *a = *s;
    }
    a
}

impl IntMatVec for Simd {
    #[inline]
    fn matvec(w: &[i8], x: &[i16], out: &mut [i32]) {
        let cols = x.len();
        if cols == 0 {
            out.fill(0);
            return;
        }
        let xt = x.chunks_exact(16).remainder();
        for (o, row) in out.iter_mut().zip(w.chunks_exact(cols)) {
            let mut acc = i32x8::ZERO;
            let wc = row.chunks_exact(16);
            let wt = wc.remainder();
            for (wv, xv) in wc.zip(x.chunks_exact(16)) {
                let wv = i16x16::from_i8x16(i8x16::new(arr16(wv)));
                let xv = i16x16::new(arr16(xv));
                // Pairwise products summed into i32 lanes (pmaddwd); |w| <= 128
                // so a pair never exceeds 2^23.
                acc += wv.dot(xv);
            }
            let mut s = acc.reduce_add();
            for (w, x) in wt.iter().zip(xt) {
                s = s.wrapping_add(*w as i32 * *x as i32);
            }
            *o = s;
        }
    }

    #[inline]
    fn matvec_tiled(w: &[i8], x: &[i16], out: &mut [i32]) {
        #[cfg(any(
            target_feature = "sse2",
            target_feature = "neon",
            target_feature = "simd128"
        ))]
        tiled_wide(w, x, out);
        // Without vector registers `wide` is plain arrays: the reference is
        // as fast, and the Cortex-M builds link what they always did.
        #[cfg(not(any(
            target_feature = "sse2",
            target_feature = "neon",
            target_feature = "simd128"
        )))]
        matvec_tiled_portable(w, x, out);
    }
}

/// Columns of `x` spread per pass of [`tiled_wide`] (8 vectors, 256 bytes
/// of stack).
#[cfg(any(
    target_feature = "sse2",
    target_feature = "neon",
    target_feature = "simd128"
))]
const SEG: usize = 64;

/// 32 tile bytes (8 columns of a block of 4 rows) as 16 little-endian `i16`:
/// lane `2k + cc` of column pair `k / 2`'s row pair `k % 2` is
/// `256 * w(r1, c) + w(r0, c)`.
#[cfg(any(
    target_feature = "sse2",
    target_feature = "neon",
    target_feature = "simd128"
))]
#[inline(always)]
fn tiles16(b: &[i8]) -> i16x16 {
    let mut a = [0i16; 16];
    for (a, b) in a.iter_mut().zip(b.chunks_exact(2)) {
        *a = i16::from_le_bytes([b[0] as u8, b[1] as u8]);
    }
    i16x16::new(a)
}

/// [`Simd`]'s tiled kernel. Each 32 tile bytes of a block (8 columns) read
/// as 16 `i16` lanes `v = 256 * w_odd + w_even` (the layout's
/// compensation); `w_even = (v << 8) >> 8` and `w_odd = (v >> 8) + (w_even
/// < 0)`, exact for every byte (`w_odd` up to 128 fits an `i16`). Both
/// multiply pairwise (`pmaddwd`) with `x` laid out as the tiles,
/// `[x0, x1, x0, x1, x2, x3, x2, x3, ..]`: the `i32` lanes then alternate
/// the rows `4b, 4b + 2` (even) and `4b + 1, 4b + 3` (odd). Integer sums
/// do not depend on the order: the same bits as [`matvec_tiled_portable`].
#[cfg(any(
    target_feature = "sse2",
    target_feature = "neon",
    target_feature = "simd128"
))]
fn tiled_wide(w: &[i8], x: &[i16], out: &mut [i32]) {
    let cols = x.len();
    if cols < 4 {
        return Simd::matvec(w, x, out);
    }
    let c4 = cols - cols % 4;
    let c8 = c4 - c4 % 8;
    let blocks = out.len().min(w.len() / cols) / 4;
    let out = &mut out[..4 * blocks];
    let w = &w[..4 * blocks * cols];
    // The columns the vectors do not cover: one last column pair pair
    // (`c4 % 8 == 4`, tiled) and the row-major tail.
    for (o, blk) in out.chunks_exact_mut(4).zip(w.chunks_exact(4 * cols)) {
        let mut acc = [0i32; 4];
        let (tiles, tail) = blk.split_at(4 * c4);
        for (t, x) in tiles[4 * c8..]
            .chunks_exact(8)
            .zip(x[c8..c4].chunks_exact(2))
        {
            tile_pair(&mut acc, t, x);
        }
        let xt = &x[c4..];
        if !xt.is_empty() {
            for (a, row) in acc.iter_mut().zip(tail.chunks_exact(xt.len())) {
                for (w, x) in row.iter().zip(xt) {
                    *a = a.wrapping_add(*w as i32 * *x as i32);
                }
            }
        }
        o.copy_from_slice(&acc);
    }
    let mut xd = [i16x16::ZERO; SEG / 8];
    for s in (0..c8).step_by(SEG) {
        let n = (c8 - s).min(SEG) / 8;
        for (d, x) in xd.iter_mut().zip(x[s..s + 8 * n].chunks_exact(8)) {
            *d = i16x16::new([
                x[0], x[1], x[0], x[1], x[2], x[3], x[2], x[3], x[4], x[5], x[4], x[5], x[6], x[7],
                x[6], x[7],
            ]);
        }
        let xd = &xd[..n];
        for (o, blk) in out.chunks_exact_mut(4).zip(w.chunks_exact(4 * cols)) {
            let (mut even, mut odd) = (i32x8::ZERO, i32x8::ZERO);
            for (t, xv) in blk[4 * s..4 * (s + 8 * n)].chunks_exact(32).zip(xd) {
                let v = tiles16(t);
                let e = (v << 8u32) >> 8u32;
                let od = (v >> 8u32) - (e >> 15u32);
                // |w| <= 128: a lane's pair never exceeds 2^23.
                even += e.dot(*xv);
                odd += od.dot(*xv);
            }
            let (e, d) = (even.to_array(), odd.to_array());
            // Wrapping as the portable kernel (rows over MAX_COLS columns).
            let sum = |a: [i32; 8], k: usize| {
                (a[k].wrapping_add(a[k + 2])).wrapping_add(a[k + 4].wrapping_add(a[k + 6]))
            };
            let r = [sum(e, 0), sum(d, 0), sum(e, 1), sum(d, 1)];
            for (o, r) in o.iter_mut().zip(r) {
                *o = o.wrapping_add(r);
            }
        }
    }
}

/// i8 hybrid: `out[r] += scale[r] * Σ_c w[r][c] * x[c]`, in `f32`.
#[inline]
pub fn matvec_i8_f32_acc(w: &[i8], scale: &[f32], x: &[f32], out: &mut [f32]) {
    matvec_i8_f32(w, scale, x, None, out);
}

/// f16 storage: `out[r] += Σ_c f32(w[r][c]) * x[c]`.
#[inline]
pub fn matvec_f16_acc(w: &[f16], x: &[f32], out: &mut [f32]) {
    matvec_f16(w, x, None, out);
}

/// i8 hybrid: `out[r] = base[r] + scale[r] * Σ_c w[r][c] * x[c]` where
/// `base` is `bias` (when it reaches row `r`) or `out` itself; rows without
/// weights or scale are left at `base[r]`.
#[inline(never)]
pub(crate) fn matvec_i8_f32(
    w: &[i8],
    scale: &[f32],
    x: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    fpu::matvec_i8(w, scale, x, bias, out);
    #[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
    hybrid_rows(w, x, bias, out, |r, row| {
        scale
            .get(r)
            .map(|s| *s * dot_portable(row, x, |w| *w as f32))
    });
}

/// f16 storage: `out[r] = base[r] + Σ_c f32(w[r][c]) * x[c]`, `base` as in
/// [`matvec_i8_f32`].
#[inline(never)]
pub(crate) fn matvec_f16(w: &[f16], x: &[f32], bias: Option<&[f32]>, out: &mut [f32]) {
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    fpu::matvec_f16(w, x, bias, out);
    #[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
    hybrid_rows(w, x, bias, out, |_, row| {
        Some(dot_portable(row, x, |w| w.to_f32()))
    });
}

/// The row loop of the hybrid kernels: `out[r] = base[r] + row(r, w_r)`
/// for the rows `w_r` of `x.len()` columns that `w` holds (and `row` gives a
/// value for), `out[r] = base[r]` for the others; `base` as in
/// [`matvec_i8_f32`].
#[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
#[inline(always)]
fn hybrid_rows<T>(
    w: &[T],
    x: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    row: impl Fn(usize, &[T]) -> Option<f32>,
) {
    let cols = x.len();
    let mut off = 0usize;
    for (r, o) in out.iter_mut().enumerate() {
        let base = match bias {
            Some(b) => b.get(r).copied().unwrap_or(*o),
            None => *o,
        };
        let end = off.saturating_add(cols);
        *o = match w
            .get(off..end)
            .filter(|_| cols != 0)
            .and_then(|w| row(r, w))
        {
            Some(v) => base + v,
            None => base,
        };
        off = end;
    }
}

/// `Σ_c w[c] x[c]` of one row (same length as `x`) in the hybrid kernels'
/// order: four accumulators over the whole groups of 4 columns, summed as
/// `(a0 + a1) + (a2 + a3)`, then the last `cols % 4` columns one by one, every product
/// rounded before it is added (the Cortex-M4F kernels in `fpu` add in the
/// same order, bit for bit), each weight widened exactly to `f32` by `f`.
#[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
#[inline(always)]
fn dot_portable<T>(row: &[T], x: &[f32], f: impl Fn(&T) -> f32) -> f32 {
    // Four accumulators, like the f32 scalar kernel, for the FPU pipeline.
    let mut acc = [0.0f32; 4];
    let rc = row.chunks_exact(4);
    let rt = rc.remainder();
    let xc = x.chunks_exact(4);
    let xt = xc.remainder();
    for (w, x) in rc.zip(xc) {
        for k in 0..4 {
            acc[k] += f(&w[k]) * x[k];
        }
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (w, x) in rt.iter().zip(xt) {
        sum += f(w) * *x;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Rng;
    use super::*;
    use std::vec::Vec;

    #[test]
    fn scalar_and_simd_give_identical_bits() {
        let mut rng = Rng::new(7);
        let mut cases = 0;
        for &cols in &[0usize, 1, 7, 15, 16, 17, 33, 64, 100, 511] {
            for &rows in &[0usize, 1, 3, 8, 33] {
                for _ in 0..40 {
                    let extreme = rng.below(4) == 0;
                    let w: Vec<i8> = (0..rows * cols)
                        .map(|_| {
                            if extreme {
                                [i8::MIN, i8::MAX][rng.below(2)]
                            } else {
                                rng.i8()
                            }
                        })
                        .collect();
                    let x: Vec<i16> = (0..cols)
                        .map(|_| {
                            if extreme {
                                [i16::MIN, i16::MAX][rng.below(2)]
                            } else {
                                rng.i16()
                            }
                        })
                        .collect();
                    let mut a = vec![1; rows];
                    let mut b = vec![2; rows];
                    let mut c = vec![3; rows];
                    Portable::matvec(&w, &x, &mut a);
                    Simd::matvec(&w, &x, &mut b);
                    Scalar::matvec(&w, &x, &mut c);
                    assert_eq!(a, b, "rows {rows} cols {cols}");
                    assert_eq!(a, c, "rows {rows} cols {cols}");
                    // And both equal the exact i64 sum (no wrap at MAX_COLS).
                    for (r, a) in a.iter().enumerate() {
                        let exact: i64 = (0..cols)
                            .map(|c| w[r * cols + c] as i64 * x[c] as i64)
                            .sum();
                        assert_eq!(*a as i64, exact);
                    }
                    cases += 1;
                }
            }
        }
        assert!(cases >= 2000);
    }

    #[test]
    fn tiled_layout_gives_the_row_major_sums() {
        let mut rng = Rng::new(17);
        let mut cases = 0;
        for &cols in &[1usize, 2, 3, 4, 5, 7, 8, 12, 16, 17, 33, 64, 65, 130, 511] {
            for &rows in &[4usize, 8, 12, 36] {
                for k in 0..12 {
                    // Quantizer weights (-127..=127), some rows all at the extremes.
                    let w: Vec<i8> = (0..rows * cols)
                        .map(|i| match (k % 3, (i / cols) % 2) {
                            (0, 1) => [-127, 127][rng.below(2)],
                            _ => (rng.below(255) as i32 - 127) as i8,
                        })
                        .collect();
                    let x: Vec<i16> = (0..cols)
                        .map(|_| match k % 4 {
                            0 => [i16::MIN, i16::MAX][rng.below(2)],
                            _ => rng.i16(),
                        })
                        .collect();
                    let t = tile4(&w, rows, cols).expect("tileable");
                    // Every weight reads back from its tile.
                    for r in 0..rows {
                        for c in 0..cols {
                            let (i, comp) = tiled_index(r, c, cols);
                            let v = t[i] as i32 + (comp && t[i - 1] < 0) as i32;
                            assert_eq!(v, w[r * cols + c] as i32, "({r}, {c}) of {rows}x{cols}");
                        }
                    }
                    let mut want = vec![0; rows];
                    Portable::matvec(&w, &x, &mut want);
                    for (name, f) in [
                        (
                            "portable",
                            Portable::matvec_tiled as fn(&[i8], &[i16], &mut [i32]),
                        ),
                        ("simd", Simd::matvec_tiled),
                        ("scalar", Scalar::matvec_tiled),
                    ] {
                        let mut got = vec![7; rows];
                        f(&t, &x, &mut got);
                        assert_eq!(got, want, "{name} {rows}x{cols}");
                    }
                    // Only whole blocks with all their weights: the rest untouched.
                    let mut short = vec![7; rows + 3];
                    Portable::matvec_tiled(&t, &x, &mut short);
                    assert_eq!(&short[..rows], &want[..]);
                    assert_eq!(&short[rows..], &[7, 7, 7]);
                    if cols >= 4 {
                        let mut part = vec![7; rows];
                        Portable::matvec_tiled(&t[..t.len() - 1], &x, &mut part);
                        assert_eq!(&part[..rows - 4], &want[..rows - 4]);
                        assert_eq!(&part[rows - 4..], &[7, 7, 7, 7]);
                    }
                    cases += 1;
                }
            }
        }
        assert!(cases >= 700);
        // An odd-row -128 under a negative even-row weight has no tile byte.
        let mut w = vec![1i8; 16];
        w[0] = -1;
        w[4] = -128;
        assert!(tile4(&w, 4, 4).is_none());
        w[0] = 0;
        assert!(tile4(&w, 4, 4).is_some());
        assert!(tile4(&w[..12], 3, 4).is_none());
    }

    #[test]
    fn tiled_bytes_read_within_the_sum_bound() {
        // Any byte reads as a weight in -128..=128: the worst tiled row at
        // MAX_COLS stays exact.
        let cols = MAX_COLS - MAX_COLS % 4;
        let t = vec![i8::MIN; 4 * cols];
        let x = vec![i16::MIN; cols];
        let mut out = [0i32; 4];
        Portable::matvec_tiled(&t, &x, &mut out);
        // Even rows read -128, odd rows -128 + 1.
        assert_eq!(out[0] as i64, cols as i64 * 128 * 32768);
        assert_eq!(out[1] as i64, cols as i64 * 127 * 32768);
        let mut simd = [0i32; 4];
        Simd::matvec_tiled(&t, &x, &mut simd);
        assert_eq!(simd, out);
        // Odd bytes 127 over negative even bytes read as 128.
        let t: Vec<i8> = (0..4 * cols).map(|i| [-128, 127][i % 2]).collect();
        let x = vec![i16::MIN; cols];
        Portable::matvec_tiled(&t, &x, &mut out);
        assert_eq!(out[1] as i64, -(cols as i64) * 128 * 32768);
        Simd::matvec_tiled(&t, &x, &mut simd);
        assert_eq!(simd, out);
    }

    /// The SIMD reading of tiles against the reference on any bytes (not
    /// only the quantizer's: odd bytes 127 over negative even ones read as
    /// 128), every column count class (pairs of column pairs, one pair
    /// left, row-major tails, more columns than one pass), whole and
    /// partial blocks, short weight slices, rows too wide to be exact.
    #[test]
    fn simd_tiled_gives_the_portable_bits_on_any_bytes() {
        let mut rng = Rng::new(31);
        let cols = [
            0usize, 1, 3, 4, 5, 6, 7, 8, 9, 11, 12, 15, 16, 17, 20, 31, 32, 36, 63, 64, 65, 68, 72,
            127, 128, 131, 200, 508, 511, 1030,
        ];
        let cases = tiled_matches_portable::<Simd>(&mut rng, &cols, &[0, 1, 4, 5, 8, 11, 16, 36]);
        assert!(cases >= 1800);
    }

    /// `K::matvec_tiled` against the reference on any bytes, for every
    /// `cols x rows` of the sets: odd bytes over negative even ones, -128
    /// everywhere, extreme and random activations; outputs longer than the
    /// matrix and weight slices one byte short of their last block; and the
    /// exact sums of the weights as read. The number of cases run.
    pub(super) fn tiled_matches_portable<K: IntMatVec>(
        rng: &mut Rng,
        col_set: &[usize],
        row_set: &[usize],
    ) -> usize {
        let mut cases = 0;
        for &cols in col_set {
            for &rows in row_set {
                for k in 0..8 {
                    let n = rows * cols;
                    let w: Vec<i8> = (0..n)
                        .map(|i| match k % 4 {
                            0 => [i8::MIN, i8::MAX][rng.below(2)],
                            1 => [i8::MIN, i8::MAX][i % 2],
                            _ => rng.i8(),
                        })
                        .collect();
                    let x: Vec<i16> = (0..cols)
                        .map(|_| match k % 3 {
                            0 => [i16::MIN, i16::MAX][rng.below(2)],
                            _ => rng.i16(),
                        })
                        .collect();
                    // Output longer than the matrix, and a weight slice one
                    // byte short of its last block.
                    for (wl, ol) in [(n, rows), (n, rows + 5), (n.saturating_sub(1), rows)] {
                        let mut want = vec![7; ol];
                        let mut got = vec![7; ol];
                        Portable::matvec_tiled(&w[..wl], &x, &mut want);
                        K::matvec_tiled(&w[..wl], &x, &mut got);
                        assert_eq!(got, want, "{rows}x{cols} w {wl} out {ol} k {k}");
                        // Over MAX_COLS (invalid) both wrap alike, without panics.
                        if cols < 4 || rows < 4 || cols > MAX_COLS {
                            continue;
                        }
                        // The exact sums of the weights as read.
                        for (r, got) in got.iter().enumerate().take(4 * (wl / cols / 4)) {
                            let exact: i64 = (0..cols)
                                .map(|c| {
                                    let (i, comp) = tiled_index(r, c, cols);
                                    let v = w[i] as i64 + (comp && w[i - 1] < 0) as i64;
                                    v * x[c] as i64
                                })
                                .sum();
                            assert_eq!(*got as i64, exact, "{rows}x{cols} row {r}");
                        }
                    }
                    cases += 1;
                }
            }
        }
        cases
    }

    #[test]
    fn worst_case_row_does_not_wrap() {
        let w = [i8::MIN; MAX_COLS];
        let x = [i16::MIN; MAX_COLS];
        let mut a = [0];
        let mut b = [0];
        Portable::matvec(&w, &x, &mut a);
        Simd::matvec(&w, &x, &mut b);
        assert_eq!(a[0] as i64, MAX_COLS as i64 * 128 * 32768);
        assert_eq!(a, b);
    }

    #[test]
    fn hybrid_and_f16_match_f32() {
        let mut rng = Rng::new(3);
        let (rows, cols) = (9, 13);
        let w: Vec<i8> = (0..rows * cols).map(|_| rng.i8()).collect();
        let s: Vec<f32> = (0..rows).map(|_| rng.f32() * 0.01).collect();
        let x: Vec<f32> = (0..cols).map(|_| rng.f32()).collect();
        let mut y = vec![0.5f32; rows];
        matvec_i8_f32_acc(&w, &s, &x, &mut y);
        let wh: Vec<f16> = w.iter().map(|w| f16::from_f32(*w as f32 / 64.0)).collect();
        let mut z = vec![0.0f32; rows];
        matvec_f16_acc(&wh, &x, &mut z);
        for r in 0..rows {
            let exact: f64 = (0..cols)
                .map(|c| w[r * cols + c] as f64 * x[c] as f64)
                .sum();
            assert!((y[r] as f64 - (0.5 + s[r] as f64 * exact)).abs() < 1e-5);
            assert!((z[r] as f64 - exact / 64.0).abs() < 1e-4);
        }
    }
}
