//! The integer matrix-vector product on Cortex-M4/M7 (Armv7E-M DSP
//! extension) in `asm!`: `SXTB16` widens the even and (with `ROR #8`) the
//! odd bytes of a weight word to two `i16` each, and `SMLAD` multiplies both
//! halves with two activations and adds both products to the accumulator.
//!
//! `SXTB16 w` gives bytes 0 and 2 of a weight word, `SXTB16 w, ROR #8` bytes
//! 1 and 3. Row-major weights run one row at a time (`rows`, [`dot`]): per
//! 4 columns one word of weights and two words of activations read in
//! place, `PKHBT`/`PKHTB` pair the widened weights as the activations are,
//! two `SMLAD` (11 instructions per 4 multiply-adds; the encoder tiles every
//! matrix with whole blocks of 4 rows, so row-major ones are the few others,
//! e.g. a one-output Dense head, and files written before tiles); the last
//! `cols % 4` columns one `SMLABB` each. No buffer, no copy of `x`.
//!
//! Tiled weights ([`TILED4`](super::TILED4), what the encoder writes) take
//! `tiled`: 4 rows at a time, 4 instructions per 4 multiply-adds in the loop
//! (`LDRD` of two tile words, then per word `SMLALD`, `SXTB16`, `SMLAD`)
//! plus one `LDRD` of 4 activations (copied as they are, per chunk of
//! [`CHUNK`] columns, into an aligned stack buffer) per 16; the loop over
//! the blocks of 4 rows is in the same `asm!`.
//!
//! Integer sums do not depend on the order of the additions and `SMLAD`
//! wraps like `wrapping_add`, so the result is bit for bit that of
//! [`Portable`](super::Portable): checked on the chip by `firmware-example`'s
//! `int_kernel_bench` (the host cannot run this module).

use super::super::cell::row2;
use super::IntMatVec;
use crate::kernel::no_unroll;
use core::mem::MaybeUninit;

/// Columns per pass over the rows: the activation buffer holds `CHUNK / 2`
/// words and is aligned to its size in bytes, so that the loops end when
/// the activation pointer reaches an address aligned to [`END_MASK`]` + 1`
/// (the buffer is filled to its end), with no loop counter register.
const CHUNK: usize = 64;
/// Low address bits that are zero exactly at the end of the buffer.
const END_MASK: usize = CHUNK * 2 - 1;

/// Activations of one chunk for the tiled kernel, `i16` pairs as they are.
#[repr(C, align(128))]
struct XBuf([MaybeUninit<u32>; CHUNK / 2]);

const _: () = assert!(core::mem::size_of::<XBuf>() == END_MASK + 1);
const _: () = assert!(core::mem::align_of::<XBuf>() == END_MASK + 1);

/// The `SMLAD`/`SXTB16` kernel (Cortex-M4/M7); bit-identical to
/// [`Portable`](super::Portable) for every input.
#[derive(Debug, Clone, Copy)]
pub struct Dsp;

impl IntMatVec for Dsp {
    #[inline]
    fn matvec_tiled(w: &[i8], x: &[i16], out: &mut [i32]) {
        tiled(w, x, out);
    }

    #[inline]
    fn matvec(w: &[i8], x: &[i16], out: &mut [i32]) {
        rows(w, x, out);
    }
}

/// [`IntMatVec::matvec`] on the DSP extension, one row at a time: per
/// group of 4 columns one word of weights and two of activations (`LDR`
/// reads the `i16` pairs at any even address), `SXTB16` twice and `PKHBT`
/// / `PKHTB` to pair the weights as the activations are, two `SMLAD`; then
/// the last `cols % 4` columns one `SMLABB` each ([`dot`]). No buffer and
/// no copy of `x`: row-major matrices are the few the encoder does not
/// tile (a Dense head of fewer than 4 outputs, fewer than 4 columns, older
/// files).
#[inline(never)]
fn rows(w: &[i8], x: &[i16], out: &mut [i32]) {
    let cols = x.len();
    // Rows with all their weights; the rest of `out` stays untouched (as
    // with `Portable`). No column: every row is the empty sum.
    let rows = match w.len().checked_div(cols) {
        Some(r) => r.min(out.len()),
        None => out.len(),
    };
    if let [x0] = x {
        // One input (a 1 x H layer's W_x): one multiply per row.
        let x0 = *x0 as i32;
        for (o, w) in out.iter_mut().zip(w) {
            no_unroll();
            *o = *w as i32 * x0;
        }
        return;
    }
    let mut p = w.as_ptr();
    for o in out.iter_mut().take(rows) {
        // SAFETY: row `r < rows` is the `cols` bytes at `p = w + r * cols`,
        // inside `w`; `x` holds `cols` i16.
        *o = unsafe { dot(p, x.as_ptr(), cols / 4, cols % 4, 0) };
        p = p.wrapping_add(cols);
    }
}

/// `acc + Σ_j w[j] x[j]` over `4 * groups + tail` columns, `w` at `p`, `x`
/// at `xp`, wrapping: `groups` times 4 columns (`SXTB16`, `PKHBT`/`PKHTB`,
/// two `SMLAD`), then `tail` columns one `SMLABB` each.
///
/// # Safety
/// `4 * groups + tail` readable bytes at `p` and as many `i16` at `xp`
/// (`xp` even, any other alignment: single-word `LDR` may be unaligned on
/// Armv7E-M). Out of line: one copy for the row-major rows and the tiled
/// kernel's last columns.
#[inline(never)]
unsafe fn dot(p: *const i8, xp: *const i16, groups: usize, tail: usize, acc: i32) -> i32 {
    let mut acc = acc;
    // SAFETY: reads the bytes and i16 above (caller); no stack; flags
    // clobbered.
    unsafe {
        core::arch::asm!(
            "cmp {n}, #0",
            "beq 3f",
            "2:",
            "ldr {w}, [{p}], #4",
            "ldr {xa}, [{xp}], #4",
            "ldr {xb}, [{xp}], #4",
            "sxtb16 {t}, {w}",
            "sxtb16 {w}, {w}, ror #8",
            "pkhbt {u}, {t}, {w}, lsl #16",
            "pkhtb {t}, {w}, {t}, asr #16",
            "smlad {a}, {u}, {xa}, {a}",
            "smlad {a}, {t}, {xb}, {a}",
            "subs {n}, {n}, #1",
            "bne 2b",
            "3:",
            "cmp {k}, #0",
            "beq 5f",
            "4:",
            "ldrsb {w}, [{p}], #1",
            "ldrsh {t}, [{xp}], #2",
            "smlabb {a}, {w}, {t}, {a}",
            "subs {k}, {k}, #1",
            "bne 4b",
            "5:",
            a = inout(reg) acc,
            p = inout(reg) p => _,
            xp = inout(reg) xp => _,
            n = inout(reg) groups => _,
            k = inout(reg) tail => _,
            w = out(reg) _,
            t = out(reg) _,
            u = out(reg) _,
            xa = out(reg) _,
            xb = out(reg) _,
            options(nostack, readonly),
        );
    }
    acc
}

/// [`IntMatVec::matvec_tiled`] on the DSP extension: per block of 4 rows
/// and column pair, one `LDRD` of the two tile words; per tile
/// `SMLALD` of the word as two `i16` (`256 * w(r1, c) + w(r0, c)` each)
/// into a 64-bit sum `A`, and `SXTB16` + `SMLAD` of its even bytes into
/// `B` (`Σ w(r0, c) x[c]`): row `r0` is `B`, row `r1` is `(A - B) >> 8`,
/// exact (`|A| < 2^40`). 4 instructions per 4 multiply-adds.
#[inline]
fn tiled(w: &[i8], x: &[i16], out: &mut [i32]) {
    let cols = x.len();
    if cols < 4 {
        // Row-major (no tiles).
        return Dsp::matvec(w, x, out);
    }
    if !(w.as_ptr() as usize).is_multiple_of(4) {
        // LDRD needs word-aligned tiles (a model file's tensors are 16-aligned,
        // so this is never a loaded model's matrix).
        return tiled_unaligned(w, x, out);
    }
    let c4 = cols - cols % 4;
    let blocks = out.len().min(w.len() / cols) / 4;
    if blocks == 0 {
        return;
    }
    let Some(out) = out.get_mut(..4 * blocks) else {
        return;
    };
    let mut buf = XBuf([MaybeUninit::uninit(); CHUNK / 2]);
    let mut c0 = 0;
    while c0 < c4 {
        let len = (c4 - c0).min(CHUNK);
        let start = CHUNK / 2 - len / 2;
        let (Some(dst), Some(src)) = (buf.0.get_mut(start..), x.get(c0..c0 + len)) else {
            return;
        };
        // SAFETY: `dst` holds len / 2 words ending at the aligned end of
        // `buf`, `src` len i16 (the same bytes); distinct objects.
        let xp = unsafe { copy_x(src.as_ptr(), dst.as_mut_ptr().cast::<u32>()) };
        // SAFETY: blocks >= 1; block b's tiles of columns c0..c0 + len
        // are the bytes 4 * (b * cols + c0) .. + 4 * len, below
        // 4 * blocks * cols <= w.len(); `out` holds 4 * blocks words;
        // `xp` points at len / 2 words ending at the end of `buf`,
        // aligned to END_MASK + 1.
        unsafe {
            let p = w.as_ptr().wrapping_add(4 * c0);
            tiles4(p, cols, xp, len, blocks, out.as_mut_ptr(), c0);
        }
        c0 += len;
    }
    if c4 < cols {
        // The last `n` columns of each block: 4 rows of `n` bytes, row-major.
        let n = cols - c4;
        let xt = x.as_ptr().wrapping_add(c4);
        for (b, o) in out.iter_mut().enumerate() {
            // Row `b` of the blocks is row `b % 4` of block `b / 4`.
            let p = w
                .as_ptr()
                .wrapping_add((b / 4) * 4 * cols + 4 * c4 + (b % 4) * n);
            // SAFETY: `out` holds 4 * blocks rows; row b's tail is the n
            // bytes at p, inside its block (4 * cols bytes, below
            // 4 * blocks * cols <= w.len()); `x` holds c4 + n i16.
            *o = unsafe { dot(p, xt, 0, n, *o) };
        }
    }
}

/// [`tiled`] on a matrix not word-aligned (only a caller's own bytes, never
/// a loaded model's): one weight at a time through [`tiled_index`](super::tiled_index), small
/// rather than fast, the same exact wrapping sums as
/// [`matvec_tiled_portable`](super::matvec_tiled_portable). `cols >= 4`.
#[cold]
#[inline(never)]
fn tiled_unaligned(w: &[i8], x: &[i16], out: &mut [i32]) {
    let cols = x.len();
    let rows = 4 * (out.len().min(w.len() / cols) / 4);
    for (r, o) in out.iter_mut().take(rows).enumerate() {
        let mut acc = 0i32;
        for (c, x) in x.iter().enumerate() {
            no_unroll();
            let (i, compensated) = super::tiled_index(r, c, cols);
            let mut v = w.get(i).copied().unwrap_or(0) as i32;
            if compensated && w.get(i.wrapping_sub(1)).is_some_and(|b| *b < 0) {
                v += 1;
            }
            acc = acc.wrapping_add(v * *x as i32);
        }
        *o = acc;
    }
}

/// One column pair of a block in [`tiles4_asm`]: the tile words of row
/// pairs 0 and 1 with the activation pair `$x`.
macro_rules! tile_pair {
    ($x:literal) => {
        concat!(
            "ldrd {w0}, {w1}, [{p}], #8\n",
            "smlald {a0l}, {a0h}, {w0}, {",
            $x,
            "}\n",
            "sxtb16 {w0}, {w0}\n",
            "smlad {b0}, {w0}, {",
            $x,
            "}, {b0}\n",
            "smlald {a1l}, {a1h}, {w1}, {",
            $x,
            "}\n",
            "sxtb16 {w1}, {w1}\n",
            "smlad {b1}, {w1}, {",
            $x,
            "}, {b1}\n",
        )
    };
}

/// The `asm!` of [`tiles4`]: writes the 4 row sums of a block (`{b0}`,
/// `{a0l}`, `{b1}`, `{a1l}`) at `{xp}`, or adds them there when `$add` is
/// not 0, advancing `{xp}` by 16.
macro_rules! tiles4_asm {
    ($add:ident, $p:ident, $xp:ident, $end:ident, $delta:ident, $out:ident) => {
        core::arch::asm!(
            "sub sp, sp, #24",
            "str {xa}, [sp, #16]",
            "str {b0}, [sp]",
            "str {b1}, [sp, #4]",
            "str {a0l}, [sp, #8]",
            "str {a1l}, [sp, #12]",
            "1:",
            "movs {b0}, #0",
            "movs {b1}, #0",
            "umull {a0l}, {a0h}, {b0}, {b0}",
            "umull {a1l}, {a1h}, {b0}, {b0}",
            "ldr {xp}, [sp, #8]",
            "tst {xp}, #8",
            "bne 3f",
            "2:",
            "ldrd {xa}, {xb}, [{xp}], #8",
            tile_pair!("xa"),
            tile_pair!("xb"),
            "3:",
            "ldrd {xa}, {xb}, [{xp}], #8",
            tile_pair!("xa"),
            tile_pair!("xb"),
            "tst {xp}, #{mask}",
            "bne 2b",
            // Odd rows: bits 8..40 of the 64-bit A - B (SMLAL by -1).
            "mov {xa}, #-1",
            "smlal {a0l}, {a0h}, {b0}, {xa}",
            "lsrs {a0l}, {a0l}, #8",
            "orr {a0l}, {a0l}, {a0h}, lsl #24",
            "smlal {a1l}, {a1h}, {b1}, {xa}",
            "lsrs {a1l}, {a1l}, #8",
            "orr {a1l}, {a1l}, {a1h}, lsl #24",
            "ldr {xp}, [sp]",
            "ldr {xa}, [sp, #16]",
            "cmp {xa}, #0",
            "beq 4f",
            "ldrd {w0}, {w1}, [{xp}]",
            "add {b0}, {b0}, {w0}",
            "add {a0l}, {a0l}, {w1}",
            "ldrd {w0}, {w1}, [{xp}, #8]",
            "add {b1}, {b1}, {w0}",
            "add {a1l}, {a1l}, {w1}",
            "4:",
            "strd {b0}, {a0l}, [{xp}], #16",
            "strd {b1}, {a1l}, [{xp}, #-8]",
            "str {xp}, [sp]",
            "ldr {xa}, [sp, #12]",
            "add {p}, {p}, {xa}",
            "ldr {xa}, [sp, #4]",
            "cmp {xp}, {xa}",
            "bne 1b",
            "add sp, sp, #24",
            b0 = inout(reg) $out => _,
            b1 = inout(reg) $end => _,
            a0l = inout(reg) $xp => _,
            a1l = inout(reg) $delta => _,
            p = inout(reg) $p => _,
            a0h = out(reg) _,
            a1h = out(reg) _,
            xp = out(reg) _,
            w0 = out(reg) _,
            w1 = out(reg) _,
            xa = inout(reg) $add => _,
            xb = out(reg) _,
            mask = const END_MASK,
        );
    };
}

/// `out[r] = Σ_j W[r][j] x[j]` (`add == 0`) or `out[r] += ...` for the
/// `4 * blocks` rows of a tiled matrix of `cols` columns, over the `len`
/// columns (a multiple of 4) whose tiles start at `p` in the first block,
/// `x` at `xp` (plain `i16` pairs); the loop over the blocks is one `asm!`
/// (its loop state on the stack, all 12 free registers in the inner loop).
///
/// # Safety
/// `blocks >= 1`; `len >= 4`; block `b`'s tiles of these columns are the
/// `4 * len` readable bytes at `p + 4 * b * cols`; `out` points at
/// `4 * blocks` writable words; `xp` points at `len / 2` words that end at
/// an address aligned to `END_MASK + 1` (and no earlier such address lies
/// in between).
#[inline(always)]
unsafe fn tiles4(
    p: *const i8,
    cols: usize,
    xp: *const u32,
    len: usize,
    blocks: usize,
    out: *mut i32,
    add: usize,
) {
    // After a block p has moved on by 4 * len; the next block starts 4 * cols on.
    let delta = (4 * cols).wrapping_sub(4 * len);
    // The loop over the blocks ends when the output pointer reaches this.
    let end = out.wrapping_add(4 * blocks);
    // SAFETY: reads 4 * len bytes of each block, len / 2 words at xp and
    // writes (reads) 4 * blocks words at out (caller); pushes 24 bytes
    // below sp and restores sp; flags and the Q flag clobbered.
    unsafe {
        tiles4_asm!(add, p, xp, end, delta, out);
    }
}

/// Copies the `i16` at `src` into the words from `dst` to the next address
/// aligned to `END_MASK + 1` (a word loop in `asm!`, where a Rust loop would
/// become a call of `memcpy`); returns `dst`.
///
/// # Safety
/// `dst` is word-aligned, below such an address by at least one word, and
/// writable up to it; `src` (even) readable for as many bytes.
#[inline(always)]
unsafe fn copy_x(src: *const i16, dst: *mut u32) -> *const u32 {
    // SAFETY: as the caller guarantees; single-word LDR may be unaligned.
    unsafe {
        core::arch::asm!(
            "2:",
            "ldr {t}, [{s}], #4",
            "str {t}, [{d}], #4",
            "tst {d}, #{mask}",
            "bne 2b",
            s = inout(reg) src => _,
            d = inout(reg) dst => _,
            t = out(reg) _,
            mask = const END_MASK,
            options(nostack),
        );
    }
    dst
}

/// The rows of `rows2` (`wx = None`: the `W x` sums in `out`) or of
/// `rows_x1` (`wx = Some((w, x0))`) on a Cortex-M4/M7: one copy for both.
#[inline(never)]
pub(crate) fn rows_dsp(
    out: &mut [i32],
    acc: &[i32],
    b: &[i32],
    wx: Option<(&[i8], i32)>,
    p: &[i32],
    q: &[i32],
) {
    let mut n = out.len().min(acc.len()).min(b.len());
    n = n.min(p.len() / 2).min(q.len() / 2);
    if let Some((w, _)) = wx {
        n = n.min(w.len());
    }
    let mut i = 0;
    while i < n {
        // SAFETY: rows i..n are in range of every slice (n is the least
        // length, in rows); the assembly reads and writes only those rows,
        // each at most once, and returns how many it left (at least 0).
        let left = unsafe {
            let (o, a, bp) = (
                out.as_mut_ptr().add(i),
                acc.as_ptr().add(i),
                b.as_ptr().add(i),
            );
            let (pp, qp) = (p.as_ptr().add(2 * i), q.as_ptr().add(2 * i));
            match wx {
                Some((w, x0)) => rows_x1_asm(o, a, bp, w.as_ptr().add(i), x0, pp, qp, n - i),
                None => rows2_asm(o, a, bp, pp, qp, n - i),
            }
        };
        i = n - left;
        if i < n {
            // Row i has a shift with no short path: the general one.
            let s = match (wx, out.get(i)) {
                (Some((w, x0)), _) => w.get(i).map_or(0, |w| *w as i32 * x0),
                (None, Some(o)) => *o,
                (None, None) => 0,
            };
            let (Some(a), Some(bv)) = (acc.get(i), b.get(i)) else {
                return;
            };
            let v = row2(
                s,
                *a,
                *bv,
                p.get(2 * i..).unwrap_or(&[]),
                q.get(2 * i..).unwrap_or(&[]),
            );
            if let Some(o) = out.get_mut(i) {
                *o = v;
            }
            i += 1;
        }
    }
}

// One row of the assembly loops below (t0 = the `W x` sum): for each of the
// two sums, `u = shift - 33`, leave if `u > 29` (unsigned), else
// `h = SMMUL(sum, mult) >> u` and the row's term `h - (h >> 1)`
// (`= (h + 1) >> 1`, `|h| <= 2^30`), added to the bias with `QADD`: the
// bits of `requant` and `saturating_add`. The count of rows left comes
// back, the row that made the loop leave included.
macro_rules! rows_asm_tail {
    () => {
        concat!(
            "ldrd {t1}, {t2}, [{p}], #8\n",
            "sub {t2}, {t2}, #33\n",
            "cmp {t2}, #29\n",
            "bhi 3f\n",
            "smmul {t0}, {t0}, {t1}\n",
            "ldr {t1}, [{b}], #4\n",
            "asr {t0}, {t0}, {t2}\n",
            "sub {t0}, {t0}, {t0}, asr #1\n",
            "qadd {t1}, {t1}, {t0}\n",
            "ldrd {t0}, {t2}, [{q}], #8\n",
            "ldr {t3}, [{a}], #4\n",
            "sub {t2}, {t2}, #33\n",
            "cmp {t2}, #29\n",
            "bhi 3f\n",
            "smmul {t0}, {t3}, {t0}\n",
            "asr {t0}, {t0}, {t2}\n",
            "sub {t0}, {t0}, {t0}, asr #1\n",
            "qadd {t1}, {t1}, {t0}\n",
            "str {t1}, [{o}], #4\n",
            "subs {n}, {n}, #1\n",
            "bne 2b\n",
            "3:\n",
        )
    };
}

/// `n >= 1` rows of `rows_x1`; returns the rows left.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn rows_x1_asm(
    o: *mut i32,
    a: *const i32,
    b: *const i32,
    w: *const i8,
    x0: i32,
    p: *const i32,
    q: *const i32,
    n: usize,
) -> usize {
    let left;
    unsafe {
        core::arch::asm!(
            "2:",
            "ldrsb {t0}, [{w}], #1",
            "mul {t0}, {t0}, {x0}",
            rows_asm_tail!(),
            o = inout(reg) o => _,
            a = inout(reg) a => _,
            b = inout(reg) b => _,
            w = inout(reg) w => _,
            x0 = in(reg) x0,
            p = inout(reg) p => _,
            q = inout(reg) q => _,
            n = inout(reg) n => left,
            t0 = out(reg) _,
            t1 = out(reg) _,
            t2 = out(reg) _,
            t3 = out(reg) _,
            options(nostack),
        );
    }
    left
}

/// `n >= 1` rows of `rows2`; returns the rows left.
#[inline(always)]
unsafe fn rows2_asm(
    o: *mut i32,
    a: *const i32,
    b: *const i32,
    p: *const i32,
    q: *const i32,
    n: usize,
) -> usize {
    let left;
    unsafe {
        core::arch::asm!(
            "2:",
            "ldr {t0}, [{o}]",
            rows_asm_tail!(),
            o = inout(reg) o => _,
            a = inout(reg) a => _,
            b = inout(reg) b => _,
            p = inout(reg) p => _,
            q = inout(reg) q => _,
            n = inout(reg) n => left,
            t0 = out(reg) _,
            t1 = out(reg) _,
            t2 = out(reg) _,
            t3 = out(reg) _,
            options(nostack),
        );
    }
    left
}
