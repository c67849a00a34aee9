//! The tiled integer matrix-vector product on Cortex-M0/M0+ (Armv6-M, no
//! DSP extension): the loop over the tiles in assembly, with the four row
//! sums of a block in the high registers `r8`-`r11` (`ADD` reaches them in
//! one instruction) and the low ones free for the weights, activations and
//! products.
//!
//! A tile word of two rows `(r0, r1)` and two columns is the two
//! little-endian `i16` `h = 256 * w(r1, c) + w(r0, c)` (the layout's
//! compensation, see [`TILED4`](super::TILED4)). `SXTB` gives `e = w(r0,
//! c)`, `SXTH` (or `ASRS #16` for the upper half) gives `h`, and then
//! `w(r1, c) * x = (h * x - e * x) >> 8`, exact for every byte: `|h * x| <=
//! 2^30` and `h * x - e * x = 256 * w(r1, c) * x` with `|w(r1, c)| <= 128`.
//! Per column pair of a block of 4 rows: one `LDM` of the two tile words,
//! one `LDM` of the two activations (from a buffer of `i32`, [`CHUNK`]
//! columns per pass over the blocks) and 8 instructions per 2
//! multiply-adds; two column pairs per loop round.
//!
//! Integer sums do not depend on the order of the additions and the
//! assembly wraps like `wrapping_add`, so the result is bit for bit that of
//! [`Portable`](super::Portable). The host cannot run the assembly: it runs
//! [`pass_model`], the same arithmetic and passes in Rust, against the
//! reference (tests below); the firmware's QEMU test checks the chip.

use super::IntMatVec;
use crate::kernel::no_unroll;

/// Columns of `x` per pass over the blocks of rows: the activation buffer
/// holds `CHUNK` `i32` (256 bytes of stack).
const CHUNK: usize = 64;

/// The Armv6-M kernel; bit-identical to [`Portable`](super::Portable).
#[derive(Debug, Clone, Copy)]
pub struct V6m;

impl IntMatVec for V6m {
    #[inline]
    fn matvec(w: &[i8], x: &[i16], out: &mut [i32]) {
        super::Portable::matvec(w, x, out);
    }

    #[inline]
    fn matvec_tiled(w: &[i8], x: &[i16], out: &mut [i32]) {
        #[cfg(tinyrnn_v6m)]
        tiled_asm(w, x, out);
        #[cfg(not(tinyrnn_v6m))]
        tiled(w, x, out, pass_model);
    }
}

/// [`tiled`] with the assembly passes. Out of line: one copy (the copy of
/// `x`, the passes and the row-major tail) for every call site.
#[cfg(tinyrnn_v6m)]
#[inline(never)]
fn tiled_asm(w: &[i8], x: &[i16], out: &mut [i32]) {
    tiled(w, x, out, pass_asm);
}

/// One pass over the blocks: `w` from the first tile of the pass's columns
/// in block 0 (block `b` then starts `4 * b * cols` bytes on), `x` the
/// pass's activations (a multiple of 4, widened to `i32`), `out` 4 rows per
/// block; adds the pass's sums to `out` when `add`, else writes them.
type Pass = fn(w: &[i8], x: &[i32], out: &mut [i32], cols: usize, add: bool);

/// [`IntMatVec::matvec_tiled`] with the passes of `pass` over the tiled
/// columns, [`CHUNK`] at a time, then the last `cols % 4` columns in Rust.
#[inline(always)]
fn tiled(w: &[i8], x: &[i16], out: &mut [i32], pass: Pass) {
    let cols = x.len();
    // `LDM` reads words (the host's model any bytes).
    let aligned = cfg!(not(tinyrnn_v6m)) || (w.as_ptr() as usize).is_multiple_of(4);
    if cols < 4 || !aligned {
        // No tiles, or (never for a loaded model, whose tensors are
        // 16-aligned) tiles `LDM` cannot read.
        return super::matvec_tiled_portable(w, x, out);
    }
    let c4 = cols - cols % 4;
    let blocks = out.len().min(w.len() / cols) / 4;
    let Some(out) = out.get_mut(..4 * blocks) else {
        return;
    };
    if blocks == 0 {
        return;
    }
    let mut buf = [0i32; CHUNK];
    let mut c0 = 0;
    while c0 < c4 {
        let len = (c4 - c0).min(CHUNK);
        let (Some(xb), Some(xs), Some(wp)) =
            (buf.get_mut(..len), x.get(c0..c0 + len), w.get(4 * c0..))
        else {
            return;
        };
        for (d, s) in xb.iter_mut().zip(xs) {
            no_unroll();
            *d = *s as i32;
        }
        pass(wp, xb, out, cols, c0 != 0);
        c0 += len;
    }
    let n = cols - c4;
    if n != 0 {
        let xt = &x[c4..];
        for (o, blk) in out.chunks_exact_mut(4).zip(w.chunks_exact(4 * cols)) {
            // The last `n` columns of the block's 4 rows, row after row.
            for (a, row) in o.iter_mut().zip(blk[4 * c4..].chunks_exact(n)) {
                for (w, x) in row.iter().zip(xt) {
                    no_unroll();
                    *a = a.wrapping_add(*w as i32 * *x as i32);
                }
            }
        }
    }
}

/// The pass of [`tiled`] in Rust, the arithmetic of the assembly step by
/// step (the host's stand-in for [`pass_asm`], which it tests).
#[cfg_attr(tinyrnn_v6m, allow(dead_code))]
fn pass_model(w: &[i8], x: &[i32], out: &mut [i32], cols: usize, add: bool) {
    for (b, o) in out.chunks_exact_mut(4).enumerate() {
        let mut acc = [0i32; 4];
        let blk = &w[4 * b * cols..];
        for (t, x) in blk.chunks_exact(8).zip(x.chunks_exact(2)) {
            for (k, a) in acc.chunks_exact_mut(2).enumerate() {
                let word = u32::from_le_bytes([
                    t[4 * k] as u8,
                    t[4 * k + 1] as u8,
                    t[4 * k + 2] as u8,
                    t[4 * k + 3] as u8,
                ]) as i32;
                // SXTB, SXTH; ASRS #16, SXTB.
                let halves = [(word as i8 as i32, word as i16 as i32), {
                    let h = word >> 16;
                    (h as i8 as i32, h)
                }];
                for ((e, h), x) in halves.into_iter().zip(x) {
                    let (pe, ph) = (e.wrapping_mul(*x), h.wrapping_mul(*x));
                    a[0] = a[0].wrapping_add(pe);
                    a[1] = a[1].wrapping_add(ph.wrapping_sub(pe) >> 8);
                }
            }
        }
        for (o, a) in o.iter_mut().zip(acc) {
            *o = if add { o.wrapping_add(a) } else { a };
        }
    }
}

/// What the assembly reads: see [`pass_asm`].
#[cfg(tinyrnn_v6m)]
#[repr(C)]
struct Job {
    /// The pass's first tile of block 0.
    w: *const i8,
    /// The activations, `i32`.
    x: *const i32,
    /// One past the last activation (`x` + a multiple of 4).
    x_end: *const i32,
    /// Row 0 of the next block; advanced by the assembly.
    out: *mut i32,
    /// One past the last row.
    out_end: *mut i32,
    /// Bytes from the end of a block's tiles of the pass to the next block's.
    skip: usize,
    /// Non-zero: add to `out`.
    add: u32,
}

/// The pass of [`tiled`] in assembly ([`tiles`]).
#[cfg(tinyrnn_v6m)]
fn pass_asm(w: &[i8], x: &[i32], out: &mut [i32], cols: usize, add: bool) {
    let len = x.len();
    let blocks = out.len() / 4;
    if blocks == 0 || len == 0 || !len.is_multiple_of(4) || len > cols {
        return;
    }
    // Block b's tiles of the pass are the 4 * len bytes 4 * b * cols on.
    if w.len() < 4 * (blocks - 1) * cols + 4 * len {
        return;
    }
    let mut job = Job {
        w: w.as_ptr(),
        x: x.as_ptr(),
        x_end: x.as_ptr().wrapping_add(len),
        out: out.as_mut_ptr(),
        out_end: out.as_mut_ptr().wrapping_add(4 * blocks),
        skip: 4 * (cols - len),
        add: add as u32,
    };
    // SAFETY: w is word-aligned (checked by `tiled`, and 4 * cols, 4 * len
    // keep it so) and holds every block's 4 * len bytes (checked above);
    // x holds len (a non-zero multiple of 4) aligned i32; out holds
    // 4 * blocks i32, blocks >= 1; `job` is exclusively borrowed.
    unsafe { tiles(&mut job) };
}

/// One column pair of two rows: tile word `t`, activations `x0`, `x1`, sums
/// `a` (even row) and `b` (odd row); clobbers `t`, `r6`, `r7`.
#[cfg(tinyrnn_v6m)]
#[rustfmt::skip]
macro_rules! word {
    ($t:literal, $a:literal, $b:literal) => {
        concat!(
            "sxtb r6, ", $t, "\n",
            "sxth r7, ", $t, "\n",
            "muls r6, r2, r6\n",
            "muls r7, r2, r7\n",
            "subs r7, r7, r6\n",
            "asrs r7, r7, #8\n",
            "add ", $a, ", r6\n",
            "add ", $b, ", r7\n",
            "asrs ", $t, ", ", $t, ", #16\n",
            "sxtb r6, ", $t, "\n",
            "muls r6, r3, r6\n",
            "muls ", $t, ", r3, ", $t, "\n",
            "subs ", $t, ", ", $t, ", r6\n",
            "asrs ", $t, ", ", $t, ", #8\n",
            "add ", $a, ", r6\n",
            "add ", $b, ", ", $t, "\n",
        )
    };
}

/// One column pair of a block of 4 rows.
#[cfg(tinyrnn_v6m)]
macro_rules! pair {
    () => {
        concat!(
            "ldm r1!, {{r2, r3}}\n",
            "ldm r0!, {{r4, r5}}\n",
            word!("r4", "r8", "r9"),
            word!("r5", "r10", "r11"),
        )
    };
}

/// Runs a [`Job`]: for every block, the sums of its 4 rows over the pass's
/// columns (in `r8`-`r11`) written to (or added to) `out`.
///
/// # Safety
///
/// As [`pass_asm`] checks: `w` word-aligned with every block's tiles,
/// `x..x_end` a non-zero multiple of 4 aligned `i32`, `out..out_end` a
/// non-zero multiple of 4 `i32`.
#[cfg(tinyrnn_v6m)]
#[unsafe(naked)]
unsafe extern "C" fn tiles(job: *mut Job) {
    core::arch::naked_asm!(
        "push {{r4, r5, r6, r7, lr}}",
        "mov r4, r8",
        "mov r5, r9",
        "mov r6, r10",
        "mov r7, r11",
        "push {{r0, r4, r5, r6, r7}}",
        "ldr r1, [r0, #8]",
        "mov r12, r1",
        "ldr r0, [r0, #0]",
        // A block: r0 its first tile of the pass, [sp] the job.
        "1:",
        "movs r4, #0",
        "mov r8, r4",
        "mov r9, r4",
        "mov r10, r4",
        "mov r11, r4",
        "ldr r1, [sp]",
        "ldr r1, [r1, #4]",
        "2:",
        pair!(),
        pair!(),
        "cmp r1, r12",
        "bne 2b",
        "ldr r7, [sp]",
        "ldr r6, [r7, #12]",
        "ldr r5, [r7, #24]",
        "cmp r5, #0",
        "beq 3f",
        "ldm r6!, {{r2, r3, r4, r5}}",
        "subs r6, #16",
        "add r8, r2",
        "add r9, r3",
        "add r10, r4",
        "add r11, r5",
        "3:",
        "mov r2, r8",
        "mov r3, r9",
        "mov r4, r10",
        "mov r5, r11",
        "stm r6!, {{r2, r3, r4, r5}}",
        "str r6, [r7, #12]",
        "ldr r5, [r7, #20]",
        "adds r0, r0, r5",
        "ldr r5, [r7, #16]",
        "cmp r6, r5",
        "bne 1b",
        "pop {{r0, r4, r5, r6, r7}}",
        "mov r8, r4",
        "mov r9, r5",
        "mov r10, r6",
        "mov r11, r7",
        "pop {{r4, r5, r6, r7, pc}}",
    );
}

#[cfg(test)]
mod tests {
    use super::super::super::testutil::Rng;
    use super::super::{tile4, Portable};
    use super::*;
    use std::vec::Vec;

    /// The passes of the Armv6-M kernel (as the host runs them) against the
    /// reference on any bytes: odd bytes 127 over negative even ones (read
    /// as 128), -128 everywhere, every column class (one or several passes,
    /// row-major tails), short outputs and weight slices.
    #[test]
    fn v6m_passes_give_the_portable_bits_on_any_bytes() {
        let mut rng = Rng::new(41);
        let cols = [
            0usize, 1, 3, 4, 5, 7, 8, 12, 16, 17, 31, 32, 36, 63, 64, 65, 68, 127, 128, 131, 200,
            511,
        ];
        let cases = super::super::tests::tiled_matches_portable::<V6m>(
            &mut rng,
            &cols,
            &[0, 1, 4, 5, 8, 12, 36],
        );
        assert!(cases >= 1200);
        // Quantizer weights through tile4, as a model file holds them.
        let (rows, cols) = (12, 70);
        let w: Vec<i8> = (0..rows * cols)
            .map(|_| (rng.below(255) as i32 - 127) as i8)
            .collect();
        let x: Vec<i16> = (0..cols).map(|_| rng.i16()).collect();
        let t = tile4(&w, rows, cols).expect("tileable");
        let (mut want, mut got) = (vec![0; rows], vec![1; rows]);
        Portable::matvec(&w, &x, &mut want);
        V6m::matvec_tiled(&t, &x, &mut got);
        assert_eq!(got, want);
    }
}
