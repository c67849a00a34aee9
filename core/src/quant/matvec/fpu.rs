//! The matrix-vector products of the i8 hybrid and f16 formats on the
//! Cortex-M4F (`thumbv7em-none-eabihf`) in `asm!`, one loop over the rows
//! and for each row over the columns: per 4 columns one word of weights (two
//! for f16) and one `vldmia` of 4 inputs; `SXTB` (`ASR` for the top byte)
//! widens each int8, two `vmov`s move the four to the FPU and `vcvt`
//! converts them (f16: `vcvtb`/`vcvtt` widen the halves of a word, exactly);
//! four `vmla.f32`, one per accumulator. Then `(a0 + a1) + (a2 + a3)`, the
//! last `cols % 4` columns one by one into the sum, and `out[r] = base[r] +
//! scale[r] * sum` (f16: `base[r] + sum`). The rows of a matrix are
//! contiguous, so the weight pointer runs on from row to row; the input's
//! start and the two column counts wait in `s12`-`s14`.
//!
//! `vmla.f32` rounds the product before it adds it, as the portable code
//! (`dot_portable` in the parent module) does, and the sums are added in its
//! order, so the results are bit for bit the portable ones (checked on the
//! chip by `firmware-example`, whose outputs must match the host's). No
//! stack, no call; about 4.5 instructions per multiply-add for i8 and 3.5
//! for f16, plus about 20 per row.

use crate::kernel::copy;
use half::f16;

/// The rows the kernels compute (`x.len()` columns, at most `out.len()`,
/// as many as `w` holds whole and `scale` covers) and where their base
/// values come from: `bias` when it reaches every row of `out` (the other
/// rows of `out` get theirs here), else `out` itself (after a copy of the
/// part `bias` covers).
#[inline(always)]
fn plan(
    w_len: usize,
    scale_len: usize,
    x: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) -> (usize, *const f32) {
    let cols = x.len();
    let rows = w_len
        .checked_div(cols)
        .unwrap_or(0)
        .min(scale_len)
        .min(out.len());
    let src = match bias {
        Some(b) if b.len() >= out.len() => {
            copy(
                b.get(rows..).unwrap_or(&[]),
                out.get_mut(rows..).unwrap_or(&mut []),
            );
            b.as_ptr()
        }
        Some(b) => {
            copy(b, out);
            out.as_mut_ptr().cast_const()
        }
        None => out.as_mut_ptr().cast_const(),
    };
    (rows, src)
}

/// The row loop of both kernels, around what differs between them: `group`
/// loads 4 inputs into `s4`-`s7` and widens the next 4 weights into
/// `s0`-`s3`; `one` loads one weight into `{a}` and widens `s0` (after
/// `vmov s0, {a}`), for the last `cols % 4` columns; `finish` turns `s0`
/// (the row's base value) and `s8` (its sum) into the output in `s0`.
/// `operands` are the kernel's own (its weights' and scales' registers);
/// the shared ones follow, from `rows: (w, x, src, out, rows)`: the weights,
/// the input, the base values, the output and the row count.
macro_rules! rows_asm {
    (
        group: [$($group:literal),* $(,)?],
        one: [$load_one:literal, $widen_one:literal],
        finish: [$($finish:literal),* $(,)?],
        operands: [$($operands:tt)*],
        rows: ($w:expr, $x:expr, $src:expr, $out:expr, $rows:expr) $(,)?
    ) => {
        core::arch::asm!(
            "vmov s12, {px}",
            "vmov s13, {g}",
            "vmov s14, {b}",
            "1:",
            "vmov {px}, s12",
            "movs {a}, #0",
            "vmov s8, s9, {a}, {a}",
            "vmov s10, s11, {a}, {a}",
            "vmov {g}, s13",
            "cmp {g}, #0",
            "beq 3f",
            "2:",
            $($group,)*
            "vmla.f32 s8, s0, s4",
            "vmla.f32 s9, s1, s5",
            "vmla.f32 s10, s2, s6",
            "vmla.f32 s11, s3, s7",
            "subs {g}, {g}, #1",
            "bne 2b",
            "3:",
            "vadd.f32 s8, s8, s9",
            "vadd.f32 s10, s10, s11",
            "vadd.f32 s8, s8, s10",
            "vmov {g}, s14",
            "cmp {g}, #0",
            "beq 5f",
            "4:",
            $load_one,
            "vldmia {px}!, {{s4}}",
            "vmov s0, {a}",
            $widen_one,
            "vmla.f32 s8, s0, s4",
            "subs {g}, {g}, #1",
            "bne 4b",
            "5:",
            "vldmia {src}!, {{s0}}",
            $($finish,)*
            "vstmia {out}!, {{s0}}",
            "subs {rows}, {rows}, #1",
            "bne 1b",
            $($operands)*
            pw = inout(reg) $w.as_ptr() => _,
            px = inout(reg) $x.as_ptr() => _,
            g = inout(reg) $x.len() / 4 => _,
            b = inout(reg) $x.len() % 4 => _,
            src = inout(reg) $src => _,
            out = inout(reg) $out.as_mut_ptr() => _,
            rows = inout(reg) $rows => _,
            a = out(reg) _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            out("s12") _, out("s13") _, out("s14") _,
            options(nostack),
        )
    };
}

/// `out[r] = base[r] + scale[r] * Σ_c w[r][c] x[c]`, `base` as in
/// [`matvec_i8_f32`](super::matvec_i8_f32).
#[inline(always)]
pub(super) fn matvec_i8(w: &[i8], scale: &[f32], x: &[f32], bias: Option<&[f32]>, out: &mut [f32]) {
    let (rows, src) = plan(w.len(), scale.len(), x, bias, out);
    if rows == 0 {
        return;
    }
    // SAFETY: for each of the `rows` rows (`rows * cols <= w.len()`, `rows`
    // at most `scale.len()` and `out.len()`, and the length of `bias` when
    // `src` is in it) reads `cols` bytes of `w` (word loads for the whole
    // groups of 4, unaligned loads being allowed on Armv7-M, then single
    // bytes), the `cols` floats of `x`, one float at `src` and one of
    // `scale`, and writes one float of `out` (`src` may be `out` itself:
    // each float is read before it is written). FPU registers are declared
    // as clobbers; flags are clobbered; no stack use.
    unsafe {
        rows_asm!(
            group: [
                "ldr {w}, [{pw}], #4",
                "vldmia {px}!, {{s4-s7}}",
                "sxtb {a}, {w}",
                "sxtb {b}, {w}, ror #8",
                "vmov s0, s1, {a}, {b}",
                "sxtb {a}, {w}, ror #16",
                "asrs {b}, {w}, #24",
                "vmov s2, s3, {a}, {b}",
                "vcvt.f32.s32 s0, s0",
                "vcvt.f32.s32 s1, s1",
                "vcvt.f32.s32 s2, s2",
                "vcvt.f32.s32 s3, s3",
            ],
            one: ["ldrsb {a}, [{pw}], #1", "vcvt.f32.s32 s0, s0"],
            finish: ["vldmia {sc}!, {{s1}}", "vmla.f32 s0, s1, s8"],
            operands: [
                sc = inout(reg) scale.as_ptr() => _,
                w = out(reg) _,
            ],
            rows: (w, x, src, out, rows),
        );
    }
}

/// `out[r] = base[r] + Σ_c f32(w[r][c]) x[c]`, `base` as in
/// [`matvec_i8_f32`](super::matvec_i8_f32).
#[inline(always)]
pub(super) fn matvec_f16(w: &[f16], x: &[f32], bias: Option<&[f32]>, out: &mut [f32]) {
    let (rows, src) = plan(w.len(), usize::MAX, x, bias, out);
    if rows == 0 {
        return;
    }
    // SAFETY: as in `matvec_i8`, with `cols` halves of `w` per row (two
    // word loads per whole group of 4, then single halves) and no scale.
    unsafe {
        rows_asm!(
            group: [
                "ldr {a}, [{pw}], #4",
                "ldr {b}, [{pw}], #4",
                "vldmia {px}!, {{s4-s7}}",
                "vmov s0, s1, {a}, {b}",
                "vcvtt.f32.f16 s3, s1",
                "vcvtb.f32.f16 s2, s1",
                "vcvtt.f32.f16 s1, s0",
                "vcvtb.f32.f16 s0, s0",
            ],
            one: ["ldrh {a}, [{pw}], #2", "vcvtb.f32.f16 s0, s0"],
            finish: ["vadd.f32 s0, s0, s8"],
            operands: [],
            rows: (w, x, src, out, rows),
        );
    }
}
