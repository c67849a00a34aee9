//! Cortex-M4F/M7 (Armv7E-M with single-precision FPU, `thumbv7em-none-eabihf`)
//! kernels in `asm!`: the column-major matrix-vector product, twin of
//! [`scalar::colmajor_rows2_acc`](super::scalar::colmajor_rows2_acc) for
//! [`Layout::ColMajor8`](crate::format::Layout::ColMajor8), and the LSTM's
//! elementwise part with the fast activations ([`lstm_gates`]).
//!
//! Matrix-vector product: 16 rows at a time (two panels), their accumulators
//! in `s16`-`s31` for all columns of `W_x` and `W_h`, started from the bias
//! (or the output itself). Four columns per iteration: one `vldmia` of 4
//! inputs, then per column two `vldmia` of 8 weights, 16 fused `vfma.f32` and
//! the column stride add: about 1.23 instructions per multiply-add, against
//! about 2.4 for the portable loop (measured in `firmware-example`,
//! `kernel_bench`). A last group of 8 rows goes through a one-column 8-row
//! loop. `vfma` rounds once per multiply-add where the portable twin rounds
//! twice, so results agree within float rounding, not bit for bit (the
//! firmware checks both on the chip).

/// `out[..] = src[..] + W_x[r0..] x + W_h[r0..] h`, 16 rows per panel,
/// `panels` panels, then 8 rows more if `p[5]` is not 0: the column loops
/// of [`colmajor_bias_rows2`].
///
/// # Safety
/// `src` and `out` hold `16 * panels` floats, plus 8 with `p[5] != 0` (they
/// may be the same buffer, nothing else may alias `out`); `p` is `[x, nx,
/// wh - wx (bytes), h, nh, half]` where `x`/`h` hold `nx`/`nh` floats and
/// for every column `k` below its count, those rows' floats at `wx + 4 * k *
/// rows` (and at `wh`) are readable.
#[inline(never)]
unsafe fn panels16(
    src: *const f32,
    out: *mut f32,
    panels: usize,
    wx: *const f32,
    rows: usize,
    p: &[usize; 6],
) {
    // SAFETY: the caller's contract; FPU registers and `lr` (the column
    // subroutines' return address) are declared as clobbers; no stack use.
    unsafe {
        core::arch::asm!(
            "cmp {np}, #0",
            "beq 10f",
            "2:",
            "vldmia {s}!, {{s16-s31}}",
            "ldr {xp}, [{p}]",
            "ldr {n}, [{p}, #4]",
            "mov {w}, {wx}",
            "bl 5f",
            "ldr {w}, [{p}, #8]",
            "ldr {xp}, [{p}, #12]",
            "ldr {n}, [{p}, #16]",
            "add {w}, {w}, {wx}",
            "bl 5f",
            "vstmia {o}!, {{s16-s31}}",
            "add {wx}, {wx}, #64",
            "subs {np}, {np}, #1",
            "bne 2b",
            // The last 8 rows, one column at a time.
            "10:",
            "ldr {n}, [{p}, #20]",
            "cmp {n}, #0",
            "beq 9f",
            "vldmia {s}, {{s16-s23}}",
            "ldr {xp}, [{p}]",
            "ldr {n}, [{p}, #4]",
            "mov {w}, {wx}",
            "bl 15f",
            "ldr {w}, [{p}, #8]",
            "ldr {xp}, [{p}, #12]",
            "ldr {n}, [{p}, #16]",
            "add {w}, {w}, {wx}",
            "bl 15f",
            "vstmia {o}, {{s16-s23}}",
            "b 9f",
            // Columns: `n` from `xp` and `w` (column stride `stride + 32`),
            // four at a time, then the last 0..3 one by one.
            "5:",
            "subs {n}, {n}, #4",
            "blo 7f",
            "6:",
            "vldmia {xp}!, {{s0-s3}}",
            "vldmia {w}!, {{s8-s15}}",
            "vfma.f32 s16, s8, s0", "vfma.f32 s17, s9, s0", "vfma.f32 s18, s10, s0", "vfma.f32 s19, s11, s0",
            "vfma.f32 s20, s12, s0", "vfma.f32 s21, s13, s0", "vfma.f32 s22, s14, s0", "vfma.f32 s23, s15, s0",
            "vldmia {w}, {{s8-s15}}",
            "add {w}, {w}, {stride}",
            "vfma.f32 s24, s8, s0", "vfma.f32 s25, s9, s0", "vfma.f32 s26, s10, s0", "vfma.f32 s27, s11, s0",
            "vfma.f32 s28, s12, s0", "vfma.f32 s29, s13, s0", "vfma.f32 s30, s14, s0", "vfma.f32 s31, s15, s0",
            "vldmia {w}!, {{s8-s15}}",
            "vfma.f32 s16, s8, s1", "vfma.f32 s17, s9, s1", "vfma.f32 s18, s10, s1", "vfma.f32 s19, s11, s1",
            "vfma.f32 s20, s12, s1", "vfma.f32 s21, s13, s1", "vfma.f32 s22, s14, s1", "vfma.f32 s23, s15, s1",
            "vldmia {w}, {{s8-s15}}",
            "add {w}, {w}, {stride}",
            "vfma.f32 s24, s8, s1", "vfma.f32 s25, s9, s1", "vfma.f32 s26, s10, s1", "vfma.f32 s27, s11, s1",
            "vfma.f32 s28, s12, s1", "vfma.f32 s29, s13, s1", "vfma.f32 s30, s14, s1", "vfma.f32 s31, s15, s1",
            "vldmia {w}!, {{s8-s15}}",
            "vfma.f32 s16, s8, s2", "vfma.f32 s17, s9, s2", "vfma.f32 s18, s10, s2", "vfma.f32 s19, s11, s2",
            "vfma.f32 s20, s12, s2", "vfma.f32 s21, s13, s2", "vfma.f32 s22, s14, s2", "vfma.f32 s23, s15, s2",
            "vldmia {w}, {{s8-s15}}",
            "add {w}, {w}, {stride}",
            "vfma.f32 s24, s8, s2", "vfma.f32 s25, s9, s2", "vfma.f32 s26, s10, s2", "vfma.f32 s27, s11, s2",
            "vfma.f32 s28, s12, s2", "vfma.f32 s29, s13, s2", "vfma.f32 s30, s14, s2", "vfma.f32 s31, s15, s2",
            "vldmia {w}!, {{s8-s15}}",
            "vfma.f32 s16, s8, s3", "vfma.f32 s17, s9, s3", "vfma.f32 s18, s10, s3", "vfma.f32 s19, s11, s3",
            "vfma.f32 s20, s12, s3", "vfma.f32 s21, s13, s3", "vfma.f32 s22, s14, s3", "vfma.f32 s23, s15, s3",
            "vldmia {w}, {{s8-s15}}",
            "add {w}, {w}, {stride}",
            "vfma.f32 s24, s8, s3", "vfma.f32 s25, s9, s3", "vfma.f32 s26, s10, s3", "vfma.f32 s27, s11, s3",
            "vfma.f32 s28, s12, s3", "vfma.f32 s29, s13, s3", "vfma.f32 s30, s14, s3", "vfma.f32 s31, s15, s3",
            "subs {n}, {n}, #4",
            "bhs 6b",
            "7:",
            "adds {n}, {n}, #4",
            "beq 8f",
            "3:",
            "vldmia {xp}!, {{s0}}",
            "vldmia {w}!, {{s8-s15}}",
            "vfma.f32 s16, s8, s0", "vfma.f32 s17, s9, s0", "vfma.f32 s18, s10, s0", "vfma.f32 s19, s11, s0",
            "vfma.f32 s20, s12, s0", "vfma.f32 s21, s13, s0", "vfma.f32 s22, s14, s0", "vfma.f32 s23, s15, s0",
            "vldmia {w}, {{s8-s15}}",
            "add {w}, {w}, {stride}",
            "vfma.f32 s24, s8, s0", "vfma.f32 s25, s9, s0", "vfma.f32 s26, s10, s0", "vfma.f32 s27, s11, s0",
            "vfma.f32 s28, s12, s0", "vfma.f32 s29, s13, s0", "vfma.f32 s30, s14, s0", "vfma.f32 s31, s15, s0",
            "subs {n}, {n}, #1",
            "bne 3b",
            "8:",
            "bx lr",
            // 8 rows: `n` columns one by one (the same column stride).
            "15:",
            "cmp {n}, #0",
            "beq 18f",
            "16:",
            "vldmia {xp}!, {{s0}}",
            "vldmia {w}!, {{s8-s15}}",
            "vfma.f32 s16, s8, s0", "vfma.f32 s17, s9, s0", "vfma.f32 s18, s10, s0", "vfma.f32 s19, s11, s0",
            "vfma.f32 s20, s12, s0", "vfma.f32 s21, s13, s0", "vfma.f32 s22, s14, s0", "vfma.f32 s23, s15, s0",
            "add {w}, {w}, {stride}",
            "subs {n}, {n}, #1",
            "bne 16b",
            "18:",
            "bx lr",
            "9:",
            s = inout(reg) src => _,
            o = inout(reg) out => _,
            np = inout(reg) panels => _,
            wx = inout(reg) wx => _,
            stride = in(reg) (rows * 4).wrapping_sub(32),
            p = in(reg) p.as_ptr(),
            xp = out(reg) _,
            w = out(reg) _,
            n = out(reg) _,
            out("lr") _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            out("s12") _, out("s13") _, out("s14") _, out("s15") _,
            out("s16") _, out("s17") _, out("s18") _, out("s19") _,
            out("s20") _, out("s21") _, out("s22") _, out("s23") _,
            out("s24") _, out("s25") _, out("s26") _, out("s27") _,
            out("s28") _, out("s29") _, out("s30") _, out("s31") _,
            options(nostack),
        );
    }
}

/// `out = b + W_x[r0..][..out.len()] x + W_h[r0..][..out.len()] h` for
/// column-major `W_x` and `W_h` of `rows` rows each (`b` as long as `out`;
/// `None` accumulates onto `out`): the same as the portable twin after
/// copying `b` (rows past the last whole group of 8 only get `b`, columns
/// past the shorter of a matrix and its input are ignored).
#[inline(never)]
#[expect(clippy::too_many_arguments, reason = "two matrices and their inputs")]
pub fn colmajor_bias_rows2(
    b: Option<&[f32]>,
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
    let len = match b {
        Some(b) if b.len() < out.len() => return,
        _ => out.len(),
    };
    // Whole 16-row panels inside the matrix, then one of 8 if it fits.
    let fit = len.min(rows.saturating_sub(r0));
    let (panels, half) = (fit / 16, fit % 16 / 8);
    let nx = (wx.len() / rows).min(x.len());
    let nh = (wh.len() / rows).min(h.len());
    let (wxr, whr) = (wx.get(r0..).unwrap_or(&[]), wh.get(r0..).unwrap_or(&[]));
    let p = [
        x.as_ptr() as usize,
        nx,
        (whr.as_ptr() as usize).wrapping_sub(wxr.as_ptr() as usize),
        h.as_ptr() as usize,
        nh,
        half,
    ];
    let src = b.map_or(out.as_ptr(), <[f32]>::as_ptr);
    // SAFETY: `src` and `out` hold `len >= 16 * panels + 8 * half` floats;
    // column `k < nx` of `W_x` from row `r0` reads `wx[k * rows + r0 ..][..16
    // * panels + 8 * half]`, ending at most at `(nx - 1) * rows + rows <=
    // wx.len()` since `r0 + 16 * panels + 8 * half <= rows` (the same for
    // `W_h`); an empty matrix is never read since its count is 0.
    unsafe { panels16(src, out.as_mut_ptr(), panels, wxr.as_ptr(), rows, &p) };
    // Rows past the last whole group of 8 (never in a loaded model): the bias.
    let done = 16 * panels + 8 * half;
    if let (Some(b), Some(rest)) = (b, out.get_mut(done..)) {
        copy(b.get(done..).unwrap_or(&[]), rest);
    }
}

/// `out += W_x[r0..][..out.len()] x + W_h[r0..][..out.len()] h` for
/// column-major `W_x` and `W_h` of `rows` rows each: 16 rows at a time (see
/// [`colmajor_bias_rows2`]), then 8; the same as the portable twin (rows past
/// the last whole group of 8, columns past the shorter of a matrix and its
/// input are ignored).
#[inline]
pub fn colmajor_rows2_acc(
    wx: &[f32],
    x: &[f32],
    wh: &[f32],
    h: &[f32],
    rows: usize,
    r0: usize,
    out: &mut [f32],
) {
    colmajor_bias_rows2(None, wx, x, wh, h, rows, r0, out);
}

/// The clamp-free part of a fast activation (see [`lstm_gates`]): with `x`
/// in `s0`, `y = x²` in `s1` and the table in `s2`-`s16`, `x P(y)` in `s2`
/// and `Q(y)` in `s9` by Horner's scheme in fused multiply-adds.
macro_rules! horner {
    () => {
        concat!(
            "vfma.f32 s7, s8, s1\n",
            "vfma.f32 s6, s7, s1\n",
            "vfma.f32 s5, s6, s1\n",
            "vfma.f32 s4, s5, s1\n",
            "vfma.f32 s3, s4, s1\n",
            "vfma.f32 s2, s3, s1\n",
            "vfma.f32 s11, s12, s1\n",
            "vfma.f32 s10, s11, s1\n",
            "vfma.f32 s9, s10, s1\n",
            "vmul.f32 s2, s2, s0\n",
        )
    };
}

/// `y = x²` and the branch to the clamp when `y > C²` (`s15`); NaN stays.
macro_rules! square_and_test {
    ($clamp:literal) => {
        concat!(
            "vmul.f32 s1, s0, s0\n",
            "vcmp.f32 s1, s15\n",
            "vmrs APSR_nzcv, fpscr\n",
            "bgt ",
            $clamp,
            "\n",
        )
    };
}

/// Out of line: `x = ±C` (`s13`, `s14`), `y = C²`, back to `$back`.
macro_rules! clamp {
    ($label:literal, $back:literal) => {
        concat!(
            $label,
            ":\n",
            "vcmp.f32 s0, #0\n",
            "vmrs APSR_nzcv, fpscr\n",
            "ite gt\n",
            "vmovgt.f32 s0, s13\n",
            "vmovle.f32 s0, s14\n",
            "vmov.f32 s1, s15\n",
            "b ",
            $back,
            "\n",
        )
    };
}

/// The LSTM's elementwise part with the fast activations, for `j < n`
/// (`n` the length of `c` and `h`, at most `hp`): `c[j] = σ(f) c[j] +
/// σ(i) tanh(g)`, `h[j] = σ(o) tanh(c[j])`, the gate pre-activations `i, f,
/// g, o` in blocks of `hp` in `gates`. Each activation is the rational
/// function of the portable fast path (the coefficients and clamp of
/// `activation::M4_TABLES`), evaluated by Horner's scheme in fused
/// multiply-adds and one `vdiv`, its coefficients reloaded by one `vldmia`
/// per value (the multiply-adds overwrite them); past the clamp (`x² > C²`;
/// NaN stays on the main path and stays NaN) a branch to out-of-line code
/// sets `x = ±C`. Within the error bounds of the portable path (test
/// `m4_sequence_is_within_the_bounds` runs the same steps on the host), not
/// bit for bit. About 95 instructions per unit. Does nothing if the slices
/// are too short.
#[inline(never)]
pub fn lstm_gates(gates: &[f32], hp: usize, c: &mut [f32], h: &mut [f32]) {
    let n = c.len();
    if n == 0 || n != h.len() || n > hp || gates.len() / 4 < hp {
        return;
    }
    let gi = gates.as_ptr();
    // SAFETY: reads `n <= hp` floats from each of the four gate blocks
    // (`4 * hp <= gates.len()`) and the 32 floats of the tables; reads and
    // writes `n` floats of `c` and of `h`. FPU registers are declared as
    // clobbers; flags are clobbered; no stack use.
    unsafe {
        core::arch::asm!(
            "2:",
            // tanh(g) -> s20; `t` at the tanh table, then at the sigmoid one.
            "vldmia {pg}!, {{s0}}",
            "vldmia {t}!, {{s2-s17}}",
            square_and_test!("40f"),
            "30:",
            horner!(),
            "vdiv.f32 s20, s2, s9",
            // σ(i) -> s18, σ(f) -> s19, σ(o) -> s21.
            "vldmia {pi}!, {{s0}}",
            "vldmia {t}, {{s2-s16}}",
            square_and_test!("41f"),
            "31:",
            horner!(),
            "vdiv.f32 s18, s2, s9",
            "vadd.f32 s18, s18, s16",
            "vldmia {pf}!, {{s0}}",
            "vldmia {t}, {{s2-s16}}",
            square_and_test!("42f"),
            "32:",
            horner!(),
            "vdiv.f32 s19, s2, s9",
            "vadd.f32 s19, s19, s16",
            "vldmia {po}!, {{s0}}",
            "vldmia {t}, {{s2-s16}}",
            square_and_test!("43f"),
            "33:",
            horner!(),
            "vdiv.f32 s21, s2, s9",
            "vadd.f32 s21, s21, s16",
            // c = σ(f) c + σ(i) tanh(g), in s0 for its tanh.
            "vldr s0, [{cp}]",
            "vmul.f32 s0, s0, s19",
            "vfma.f32 s0, s18, s20",
            "vstmia {cp}!, {{s0}}",
            // h = σ(o) tanh(c); `t` back at the tanh table.
            "vldmdb {t}!, {{s2-s17}}",
            square_and_test!("44f"),
            "34:",
            horner!(),
            "vdiv.f32 s22, s2, s9",
            "vmul.f32 s22, s22, s21",
            "vstmia {ph}!, {{s22}}",
            "subs {n}, {n}, #1",
            "bne 2b",
            "b 9f",
            clamp!("40", "30b"),
            clamp!("41", "31b"),
            clamp!("42", "32b"),
            clamp!("43", "33b"),
            clamp!("44", "34b"),
            "9:",
            t = inout(reg) super::activation::M4_TABLES.as_ptr() => _,
            pi = inout(reg) gi => _,
            pf = inout(reg) gi.wrapping_add(hp) => _,
            pg = inout(reg) gi.wrapping_add(2 * hp) => _,
            po = inout(reg) gi.wrapping_add(3 * hp) => _,
            cp = inout(reg) c.as_mut_ptr() => _,
            ph = inout(reg) h.as_mut_ptr() => _,
            n = inout(reg) n => _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            out("s12") _, out("s13") _, out("s14") _, out("s15") _,
            out("s16") _, out("s17") _, out("s18") _, out("s19") _,
            out("s20") _, out("s21") _, out("s22") _,
            options(nostack),
        );
    }
}

/// `dst[j] = tanh(src[j])` (or the sigmoid) with the fast activations, for
/// `j` below the shorter length; `src` `None` works in place. The same
/// sequence as [`lstm_gates`] (within the same error bounds); the tanh adds
/// the table's 0, so -0 gives +0. About 20 instructions per value.
#[inline(never)]
pub fn act_fast(sigmoid: bool, src: Option<&[f32]>, dst: &mut [f32]) {
    let n = src.map_or(dst.len(), |s| s.len().min(dst.len()));
    if n == 0 {
        return;
    }
    let from = src.map_or(dst.as_ptr(), <[f32]>::as_ptr);
    let table = &super::activation::M4_TABLES[usize::from(sigmoid)];
    // SAFETY: reads `n` floats from `from` (`src`, or `dst` itself: each is
    // read before it is written) and the 16 of `table`, writes `n` floats of
    // `dst`. FPU registers are declared as clobbers; flags are clobbered;
    // no stack use.
    unsafe {
        core::arch::asm!(
            "2:",
            "vldmia {src}!, {{s0}}",
            "vldmia {t}, {{s2-s16}}",
            square_and_test!("40f"),
            "30:",
            horner!(),
            "vdiv.f32 s0, s2, s9",
            "vadd.f32 s0, s0, s16",
            "vstmia {dst}!, {{s0}}",
            "subs {n}, {n}, #1",
            "bne 2b",
            "b 9f",
            clamp!("40", "30b"),
            "9:",
            t = in(reg) table.as_ptr(),
            src = inout(reg) from => _,
            dst = inout(reg) dst.as_mut_ptr() => _,
            n = inout(reg) n => _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            out("s12") _, out("s13") _, out("s14") _, out("s15") _,
            out("s16") _,
            options(nostack),
        );
    }
}

/// The GRU's elementwise part (reset gate after the recurrent product) with
/// the fast activations, for `j < n` (`n` the length of `h`, at most `hp`):
/// `z = σ(x_z + h_z)`, `r = σ(x_r + h_r)`, `n = tanh(x_n + r h_n)`,
/// `h[j] = (1 - z) n + z h[j]`, the pre-activations `x_z, x_r, x_n` in
/// blocks of `hp` in `gx`, `h_z, h_r, h_n` likewise in `gh`. The
/// activations as in [`lstm_gates`]. Does nothing if the slices are too
/// short.
#[inline(never)]
pub fn gru_gates(gx: &[f32], gh: &[f32], hp: usize, h: &mut [f32]) {
    let n = h.len();
    if n == 0 || n > hp || gx.len() / 3 < hp || gh.len() / 3 < hp {
        return;
    }
    let (p, q) = (gx.as_ptr(), gh.as_ptr());
    // SAFETY: reads `n <= hp` floats from each of the three blocks of `gx`
    // and of `gh` (`3 * hp <= len`) and the 32 floats of the tables; reads
    // and writes `n` floats of `h`. FPU registers are declared as clobbers;
    // flags are clobbered; no stack use.
    unsafe {
        core::arch::asm!(
            "vmov.f32 s23, #1.0",
            "2:",
            // r -> s19, z -> s18 (`t` at the sigmoid table).
            "vldmia {xr}!, {{s0}}",
            "vldmia {hr}!, {{s1}}",
            "vadd.f32 s0, s0, s1",
            "vldmia {t}, {{s2-s16}}",
            square_and_test!("41f"),
            "31:",
            horner!(),
            "vdiv.f32 s19, s2, s9",
            "vadd.f32 s19, s19, s16",
            "vldmia {xz}!, {{s0}}",
            "vldmia {hz}!, {{s1}}",
            "vadd.f32 s0, s0, s1",
            "vldmia {t}, {{s2-s16}}",
            square_and_test!("40f"),
            "30:",
            horner!(),
            "vdiv.f32 s18, s2, s9",
            "vadd.f32 s18, s18, s16",
            // tanh(x_n + r h_n) -> s20 (the tanh table below the sigmoid one).
            "vldmia {xn}!, {{s0}}",
            "vldmia {hn}!, {{s1}}",
            "vfma.f32 s0, s19, s1",
            "vldmdb {t}!, {{s2-s17}}",
            square_and_test!("42f"),
            "32:",
            horner!(),
            "vdiv.f32 s20, s2, s9",
            "add {t}, {t}, #64",
            // h = (1 - z) n + z h.
            "vldr s21, [{h}]",
            "vsub.f32 s22, s23, s18",
            "vmul.f32 s22, s22, s20",
            "vfma.f32 s22, s18, s21",
            "vstmia {h}!, {{s22}}",
            "subs {n}, {n}, #1",
            "bne 2b",
            "b 9f",
            clamp!("40", "30b"),
            clamp!("41", "31b"),
            clamp!("42", "32b"),
            "9:",
            t = inout(reg) super::activation::M4_TABLES[1].as_ptr() => _,
            xz = inout(reg) p => _,
            xr = inout(reg) p.wrapping_add(hp) => _,
            xn = inout(reg) p.wrapping_add(2 * hp) => _,
            hz = inout(reg) q => _,
            hr = inout(reg) q.wrapping_add(hp) => _,
            hn = inout(reg) q.wrapping_add(2 * hp) => _,
            h = inout(reg) h.as_mut_ptr() => _,
            n = inout(reg) n => _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            out("s12") _, out("s13") _, out("s14") _, out("s15") _,
            out("s16") _, out("s17") _, out("s18") _, out("s19") _,
            out("s20") _, out("s21") _, out("s22") _, out("s23") _,
            options(nostack),
        );
    }
}

/// `dst[j] = src[j]` for `j` below the shorter length: one word per
/// iteration (the runtime's only copy loop on this target, instead of a
/// `memcpy` a plain loop would become).
#[inline(never)]
pub fn copy(src: &[f32], dst: &mut [f32]) {
    let n = src.len().min(dst.len());
    if n == 0 {
        return;
    }
    // SAFETY: reads `n` words of `src`, writes `n` words of `dst`; no stack
    // use; flags are clobbered.
    unsafe {
        core::arch::asm!(
            "2:",
            "ldr {t}, [{s}], #4",
            "str {t}, [{d}], #4",
            "subs {n}, {n}, #1",
            "bne 2b",
            s = inout(reg) src.as_ptr() => _,
            d = inout(reg) dst.as_mut_ptr() => _,
            n = inout(reg) n => _,
            t = out(reg) _,
            options(nostack),
        );
    }
}

/// `out[r] += Σ_c w[r * cols + c] x[c]` for a row-major `w` with `cols =
/// x.len()` (the twin of [`scalar::matvec_acc`](super::scalar::matvec_acc);
/// rows past `w.len() / cols` are left alone): [`rowmajor_bias`] without a
/// bias.
#[inline]
pub fn rowmajor_acc(w: &[f32], x: &[f32], out: &mut [f32]) {
    rowmajor_bias(None, w, x, out);
}

/// `out[r] = b[r] + Σ_c w[r * cols + c] x[c]` for a row-major `w` with
/// `cols = x.len()` (`None` for `b` accumulates onto `out`; rows past `w.len()
/// / cols` or past `b` are left alone): per row one accumulator started from
/// `b[r]` (or `out[r]`), 8 columns per iteration (one `vldmia` of the inputs,
/// one of the weights, 8 `vfma`), then one by one.
#[inline(never)]
pub fn rowmajor_bias(b: Option<&[f32]>, w: &[f32], x: &[f32], out: &mut [f32]) {
    let cols = x.len();
    let rows = out
        .len()
        .min(w.len().checked_div(cols).unwrap_or(usize::MAX));
    let rows = b.map_or(rows, |b| rows.min(b.len()));
    // Nothing to add without columns, unless a bias is to be copied.
    if rows == 0 || (cols == 0 && b.is_none()) {
        return;
    }
    let src = b.map_or(out.as_ptr(), <[f32]>::as_ptr);
    // SAFETY: reads `rows * cols <= w.len()` floats of `w` in order, `cols`
    // floats of `x` per row, `rows` floats of `src` (`b`, or `out` itself,
    // each read before it is written), writes `rows <= out.len()` floats of
    // `out`. FPU registers are declared as clobbers; no stack use.
    unsafe {
        core::arch::asm!(
            "2:",
            "vldmia {s}!, {{s16}}",
            "mov {xp}, {x}",
            "subs {n}, {cols}, #8",
            "blo 4f",
            "3:",
            "vldmia {xp}!, {{s0-s7}}",
            "vldmia {w}!, {{s8-s15}}",
            "vfma.f32 s16, s0, s8",
            "vfma.f32 s16, s1, s9",
            "vfma.f32 s16, s2, s10",
            "vfma.f32 s16, s3, s11",
            "vfma.f32 s16, s4, s12",
            "vfma.f32 s16, s5, s13",
            "vfma.f32 s16, s6, s14",
            "vfma.f32 s16, s7, s15",
            "subs {n}, {n}, #8",
            "bhs 3b",
            "4:",
            "adds {n}, {n}, #8",
            "beq 6f",
            "5:",
            "vldmia {xp}!, {{s0}}",
            "vldmia {w}!, {{s8}}",
            "vfma.f32 s16, s0, s8",
            "subs {n}, {n}, #1",
            "bne 5b",
            "6:",
            "vstmia {o}!, {{s16}}",
            "subs {rows}, {rows}, #1",
            "bne 2b",
            s = inout(reg) src => _,
            o = inout(reg) out.as_mut_ptr() => _,
            w = inout(reg) w.as_ptr() => _,
            x = in(reg) x.as_ptr(),
            cols = in(reg) cols,
            rows = inout(reg) rows => _,
            xp = out(reg) _,
            n = out(reg) _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            out("s12") _, out("s13") _, out("s14") _, out("s15") _,
            out("s16") _,
            options(nostack),
        );
    }
}
