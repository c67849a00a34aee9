//! The integer matrix-vector product on Cortex-M4/M7 (Armv7E-M DSP
//! extension) in `asm!`: `SXTB16` widens the even and (with `ROR #8`) the
//! odd bytes of a weight word to two `i16` each, and `SMLAD` multiplies both
//! halves with two activations and adds both products to the accumulator.
//!
//! `SXTB16 w` gives bytes 0 and 2 of a weight word, `SXTB16 w, ROR #8` bytes
//! 1 and 3, so each group of 4 activations is copied once per product (per
//! chunk of [`CHUNK`] columns, O(cols), shared by all rows) into a stack
//! buffer as the words `[x0 | x2]` and `[x1 | x3]`. The loop runs 4 rows at
//! a time (one `LDRD` of 2 activation words feeds 8 `SMLAD`s), two groups of
//! 4 columns per iteration: 5 instructions per 4 multiply-adds per row plus
//! about 1/4 per group for activations and loop. Leftover rows run one at a
//! time; the last `cols % 4` columns of every row are added in plain Rust.
//!
//! Integer sums do not depend on the order of the additions and `SMLAD`
//! wraps like `wrapping_add`, so the result is bit for bit that of
//! [`Portable`]: checked on the chip by `firmware-example`'s
//! `int_kernel_bench` (the host cannot run this module).

use super::{IntMatVec, Portable};

/// Columns per pass over the rows: the activation buffer holds `CHUNK / 2`
/// words and is aligned to its size in bytes, so that the loops end when
/// the activation pointer reaches an address aligned to [`END_MASK`]` + 1`
/// (the buffer is filled to its end), with no loop counter register.
const CHUNK: usize = 64;
/// Low address bits that are zero exactly at the end of the buffer.
const END_MASK: usize = CHUNK * 2 - 1;

/// Permuted activations: `[x0 | x2 << 16, x1 | x3 << 16]` per group of 4.
#[repr(C, align(128))]
struct XBuf([u32; CHUNK / 2]);

const _: () = assert!(core::mem::size_of::<XBuf>() == END_MASK + 1);
const _: () = assert!(core::mem::align_of::<XBuf>() == END_MASK + 1);

/// The `SMLAD`/`SXTB16` kernel (Cortex-M4/M7); bit-identical to
/// [`Portable`] for every input.
#[derive(Debug, Clone, Copy)]
pub struct Dsp;

impl IntMatVec for Dsp {
    #[inline]
    fn matvec(w: &[i8], x: &[i16], out: &mut [i32]) {
        let cols = x.len();
        if cols < 4 {
            // No whole group of 4 columns (includes `cols == 0`).
            Portable::matvec(w, x, out);
            return;
        }
        // Rows with all their weights; the rest of `out` stays untouched
        // (as with `Portable`).
        let rows = out.len().min(w.len() / cols);
        let Some(out) = out.get_mut(..rows) else {
            return;
        };
        let body = cols - cols % 4;
        let mut buf = XBuf([0; CHUNK / 2]);
        let mut c0 = 0;
        while c0 < body {
            let len = (body - c0).min(CHUNK);
            let groups = len / 4;
            let start = CHUNK / 2 - 2 * groups;
            let (Some(dst), Some(src)) = (buf.0.get_mut(start..), x.get(c0..c0 + len)) else {
                return;
            };
            for (d, s) in dst.chunks_exact_mut(2).zip(src.chunks_exact(4)) {
                d[0] = (s[0] as u16 as u32) | (s[2] as u16 as u32) << 16;
                d[1] = (s[1] as u16 as u32) | (s[3] as u16 as u32) << 16;
            }
            let xp = dst.as_ptr();
            let first = c0 == 0;
            let mut row_blocks = out.chunks_exact_mut(4);
            let mut r = 0;
            for o in &mut row_blocks {
                let mut a = if first {
                    [0; 4]
                } else {
                    [o[0], o[1], o[2], o[3]]
                };
                // SAFETY: rows r..r+4 < rows, columns c0..c0+len <= cols:
                // every byte read, (r + k) * cols + c0 + j for k < 4 and
                // j < 4 * groups, is below rows * cols <= w.len(). `xp`
                // points at 2 * groups words ending at the end of `buf`,
                // which is aligned to END_MASK + 1.
                unsafe { rows4(w.as_ptr().add(r * cols + c0), cols, xp, groups, &mut a) };
                o.copy_from_slice(&a);
                r += 4;
            }
            for o in row_blocks.into_remainder() {
                let mut a = if first { 0 } else { *o };
                // SAFETY: row r < rows, columns c0..c0+len <= cols, as above.
                unsafe { row1(w.as_ptr().add(r * cols + c0), xp, &mut a) };
                *o = a;
                r += 1;
            }
            c0 += len;
        }
        if body < cols {
            let xt = x.get(body..).unwrap_or(&[]);
            for (o, row) in out.iter_mut().zip(w.chunks_exact(cols)) {
                for (w, x) in row.get(body..).unwrap_or(&[]).iter().zip(xt) {
                    *o = o.wrapping_add(*w as i32 * *x as i32);
                }
            }
        }
    }
}

/// `a[k] += Σ_j W[k][j] x[j]` for the 4 rows at `p + k * stride`, over
/// `4 * groups` columns, `x` permuted at `xp`.
///
/// # Safety
/// `groups >= 1`; the 4 rows hold `4 * groups` readable bytes each; `xp`
/// points at `2 * groups` words that end at an address aligned to
/// `END_MASK + 1` (and no earlier such address lies in between).
#[inline(always)]
unsafe fn rows4(p: *const i8, stride: usize, xp: *const u32, groups: usize, a: &mut [i32; 4]) {
    let [mut a0, mut a1, mut a2, mut a3] = *a;
    // SAFETY: `p + 2 * stride` is the start of row 2 (caller).
    let q = unsafe { p.add(2 * stride) };
    // Rows 1 and 3 are read at [p + stride] and [q + stride] before the
    // post-incremented loads of rows 0 and 2 move p and q on. An odd group
    // count enters at the second half of the two-group body.
    // SAFETY: reads 4 * groups bytes of each row and 2 * groups words at xp
    // (caller); registers only otherwise, no stack; flags clobbered.
    unsafe {
        core::arch::asm!(
            "tst {w}, #1",
            "bne 3f",
            "2:",
            "ldrd {xa}, {xb}, [{xp}], #8",
            "ldr {w}, [{p}, {s}]",
            "sxtb16 {t}, {w}",
            "sxtb16 {w}, {w}, ror #8",
            "smlad {a1}, {t}, {xa}, {a1}",
            "smlad {a1}, {w}, {xb}, {a1}",
            "ldr {w}, [{q}, {s}]",
            "sxtb16 {t}, {w}",
            "sxtb16 {w}, {w}, ror #8",
            "smlad {a3}, {t}, {xa}, {a3}",
            "smlad {a3}, {w}, {xb}, {a3}",
            "ldr {w}, [{p}], #4",
            "sxtb16 {t}, {w}",
            "sxtb16 {w}, {w}, ror #8",
            "smlad {a0}, {t}, {xa}, {a0}",
            "smlad {a0}, {w}, {xb}, {a0}",
            "ldr {w}, [{q}], #4",
            "sxtb16 {t}, {w}",
            "sxtb16 {w}, {w}, ror #8",
            "smlad {a2}, {t}, {xa}, {a2}",
            "smlad {a2}, {w}, {xb}, {a2}",
            "3:",
            "ldrd {xa}, {xb}, [{xp}], #8",
            "ldr {w}, [{p}, {s}]",
            "sxtb16 {t}, {w}",
            "sxtb16 {w}, {w}, ror #8",
            "smlad {a1}, {t}, {xa}, {a1}",
            "smlad {a1}, {w}, {xb}, {a1}",
            "ldr {w}, [{q}, {s}]",
            "sxtb16 {t}, {w}",
            "sxtb16 {w}, {w}, ror #8",
            "smlad {a3}, {t}, {xa}, {a3}",
            "smlad {a3}, {w}, {xb}, {a3}",
            "ldr {w}, [{p}], #4",
            "sxtb16 {t}, {w}",
            "sxtb16 {w}, {w}, ror #8",
            "smlad {a0}, {t}, {xa}, {a0}",
            "smlad {a0}, {w}, {xb}, {a0}",
            "ldr {w}, [{q}], #4",
            "sxtb16 {t}, {w}",
            "sxtb16 {w}, {w}, ror #8",
            "smlad {a2}, {t}, {xa}, {a2}",
            "smlad {a2}, {w}, {xb}, {a2}",
            "tst {xp}, #{mask}",
            "bne 2b",
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            a2 = inout(reg) a2,
            a3 = inout(reg) a3,
            p = inout(reg) p => _,
            q = inout(reg) q => _,
            s = in(reg) stride,
            xp = inout(reg) xp => _,
            w = inout(reg) groups => _,
            t = out(reg) _,
            xa = out(reg) _,
            xb = out(reg) _,
            mask = const END_MASK,
            options(nostack, readonly),
        );
    }
    *a = [a0, a1, a2, a3];
}

/// `a += Σ_j w[j] x[j]` for one row at `p`, `x` permuted at `xp` (the
/// columns as in [`rows4`]).
///
/// # Safety
/// As [`rows4`], for one row; the group count is implied by `xp`.
#[inline(always)]
unsafe fn row1(p: *const i8, xp: *const u32, a: &mut i32) {
    let mut acc = *a;
    // SAFETY: reads one word of the row per group and 2 words at xp per
    // group until xp reaches the aligned end (caller); no stack; flags
    // clobbered.
    unsafe {
        core::arch::asm!(
            "2:",
            "ldrd {xa}, {xb}, [{xp}], #8",
            "ldr {w}, [{p}], #4",
            "sxtb16 {t}, {w}",
            "sxtb16 {w}, {w}, ror #8",
            "smlad {a}, {t}, {xa}, {a}",
            "smlad {a}, {w}, {xb}, {a}",
            "tst {xp}, #{mask}",
            "bne 2b",
            a = inout(reg) acc,
            p = inout(reg) p => _,
            xp = inout(reg) xp => _,
            w = out(reg) _,
            t = out(reg) _,
            xa = out(reg) _,
            xb = out(reg) _,
            mask = const END_MASK,
            options(nostack, readonly),
        );
    }
    *a = acc;
}
