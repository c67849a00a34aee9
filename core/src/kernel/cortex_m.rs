//! Cortex-M4F/M7 (Armv7E-M with single-precision FPU, `thumbv7em-none-eabihf`)
//! matrix-vector kernel in `asm!`, the twin of
//! [`scalar::colmajor_rows2_acc`](super::scalar::colmajor_rows2_acc) for
//! [`Layout::ColMajor8`](crate::format::Layout::ColMajor8).
//!
//! Per column of an 8-row panel: one `vldmia` of the 8 weights, one `vldmia`
//! of the input (post-increment), 8 fused `vfma.f32` into accumulators kept in
//! `s16`-`s23`, the column stride add and the loop count: about 1.4
//! instructions per multiply-add, against about 2.4 for the portable loop
//! (measured in `firmware-example`, `kernel_bench`). `vfma` rounds once per
//! multiply-add where the portable twin rounds twice, so results agree within
//! float rounding, not bit for bit (the firmware checks both on the chip).

use crate::format::PANEL;

/// `out += W_x[r0..][..out.len()] x + W_h[r0..][..out.len()] h` for
/// column-major `W_x` and `W_h` of `rows` rows each, 8 rows at a time; the
/// same as the portable twin (rows past the last whole group of 8, columns
/// past the shorter of a matrix and its input are ignored).
#[inline(never)]
pub fn colmajor_rows2_acc(
    wx: &[f32],
    x: &[f32],
    wh: &[f32],
    h: &[f32],
    rows: usize,
    r0: usize,
    out: &mut [f32],
) {
    if rows == 0 {
        return;
    }
    let nx = (wx.len() / rows).min(x.len());
    let nh = (wh.len() / rows).min(h.len());
    let stride = rows * 4;
    for (p, o) in out.chunks_exact_mut(PANEL).enumerate() {
        let Ok(o) = <&mut [f32; PANEL]>::try_from(o) else {
            return;
        };
        let r = r0 + p * PANEL;
        if r + PANEL > rows {
            return;
        }
        // Columns k < n read w[k * rows + r ..][..8], the last one ending at
        // (n - 1) * rows + r + 8 <= n * rows <= w.len(): in bounds.
        let (wx, wh) = (wx.get(r..).unwrap_or(&[]), wh.get(r..).unwrap_or(&[]));
        let next = [h.as_ptr() as usize, wh.as_ptr() as usize, nh];
        // SAFETY: reads `nx` floats of `x` and `nh` of `h` (both at most their
        // lengths), 8 floats per column at `stride` apart from `wx`/`wh`
        // offset by `r` (in bounds, see above; an empty matrix is never read
        // since its count is 0), the 3 words of `next`, and reads and writes
        // the 8 floats of `o`. FPU registers used are declared as clobbers;
        // no stack use; flags are clobbered (no `preserves_flags`).
        unsafe {
            core::arch::asm!(
                "vldmia {o}, {{s16-s23}}",
                "cmp {n}, #0",
                "beq 3f",
                "2:",
                "vldmia {x}!, {{s0}}",
                "vldmia {w}, {{s8-s15}}",
                "add {w}, {w}, {stride}",
                "vfma.f32 s16, s8, s0",
                "vfma.f32 s17, s9, s0",
                "vfma.f32 s18, s10, s0",
                "vfma.f32 s19, s11, s0",
                "vfma.f32 s20, s12, s0",
                "vfma.f32 s21, s13, s0",
                "vfma.f32 s22, s14, s0",
                "vfma.f32 s23, s15, s0",
                "subs {n}, {n}, #1",
                "bne 2b",
                "3:",
                "ldr {x}, [{next}]",
                "ldr {w}, [{next}, #4]",
                "ldr {n}, [{next}, #8]",
                "cmp {n}, #0",
                "beq 5f",
                "4:",
                "vldmia {x}!, {{s0}}",
                "vldmia {w}, {{s8-s15}}",
                "add {w}, {w}, {stride}",
                "vfma.f32 s16, s8, s0",
                "vfma.f32 s17, s9, s0",
                "vfma.f32 s18, s10, s0",
                "vfma.f32 s19, s11, s0",
                "vfma.f32 s20, s12, s0",
                "vfma.f32 s21, s13, s0",
                "vfma.f32 s22, s14, s0",
                "vfma.f32 s23, s15, s0",
                "subs {n}, {n}, #1",
                "bne 4b",
                "5:",
                "vstmia {o}, {{s16-s23}}",
                o = in(reg) o.as_mut_ptr(),
                next = in(reg) next.as_ptr(),
                stride = in(reg) stride,
                x = inout(reg) x.as_ptr() => _,
                w = inout(reg) wx.as_ptr() => _,
                n = inout(reg) nx => _,
                out("s0") _,
                out("s8") _, out("s9") _, out("s10") _, out("s11") _,
                out("s12") _, out("s13") _, out("s14") _, out("s15") _,
                out("s16") _, out("s17") _, out("s18") _, out("s19") _,
                out("s20") _, out("s21") _, out("s22") _, out("s23") _,
                options(nostack),
            );
        }
    }
}
