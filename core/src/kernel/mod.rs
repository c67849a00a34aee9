//! Numeric kernels: matrix-vector products and activations.
//!
//! Every cell is written once in terms of a `Backend` (how matrices are
//! multiplied, how many lanes the elementwise math takes) and an `Act`
//! (exact or fast sigmoid/tanh); a step picks both
//! from the model's [`Kernel`] and [`Math`] once, so the hot loops carry no
//! run-time choice.

pub mod activation;
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
#[expect(unsafe_code, reason = "the FPU kernels are `asm!`")]
pub mod cortex_m;
pub(crate) mod lanes;
pub mod scalar;
pub mod simd;
#[cfg(test)]
mod tests;

pub use scalar::{dot, matvec_acc};

use crate::format::Layout;
use activation::Act;
use lanes::{load_part, store_part, zip_map, F32x8, Lanes, Wide};

/// The [`Kernel::Scalar`] column-major kernel: `asm!` with fused
/// multiply-adds on a Cortex-M4F/M7, the portable loop elsewhere.
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
use cortex_m::colmajor_rows2_acc as scalar_colmajor;
/// The [`Kernel::Scalar`] row-major kernel: `asm!` with fused multiply-adds
/// on a Cortex-M4F/M7, the portable loop elsewhere.
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
use cortex_m::rowmajor_acc as scalar_rowmajor;
#[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
use scalar::colmajor_rows2_acc as scalar_colmajor;
#[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
use scalar::matvec_acc as scalar_rowmajor;

/// Which matrix and elementwise kernels a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Plain scalar loops: the reference, and the Cortex-M path (on a
    /// Cortex-M4F/M7 the matrix products, and with [`Math::Fast`] the
    /// elementwise part of LSTM and GRU (reset after) steps and the tanh and
    /// sigmoid of Elman and Dense layers, are the `asm!` code in `cortex_m`,
    /// within float rounding of the portable loops).
    Scalar,
    /// Explicit SIMD through `wide`: 8 lanes (AVX2, or two 4-lane SSE/NEON
    /// registers); 16 (`f32x16`) in the column-major products and the fused
    /// LSTM/GRU steps where AVX-512F is enabled. On targets without SIMD
    /// (Cortex-M) this runs the scalar kernels, which are faster there.
    Simd,
}

impl Kernel {
    /// The faster kernel for the target this crate was built for.
    pub const fn native() -> Self {
        if HAS_SIMD {
            Kernel::Simd
        } else {
            Kernel::Scalar
        }
    }
}

impl Default for Kernel {
    fn default() -> Self {
        Kernel::native()
    }
}

/// Which sigmoid, tanh and (for softmax) exponential a step computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Math {
    /// `libm`: the reference, identical on host and device.
    #[default]
    Exact,
    /// Rational approximations, vectorized (on a Cortex-M4F/M7: one FPU
    /// sequence per value, see `cortex_m::lstm_gates`), with the error bounds
    /// [`activation::TANH_FAST_MAX_ABS_ERROR`] and
    /// [`activation::SIGMOID_FAST_MAX_ABS_ERROR`]; softmax's exponential
    /// by a polynomial within [`activation::EXP_FAST_MAX_REL_ERROR`]
    /// (the same on host and device, bit for bit).
    Fast,
}

/// Whether `wide` has real vector registers on this target.
pub(crate) const HAS_SIMD: bool = cfg!(any(
    target_feature = "sse2",
    target_feature = "neon",
    target_feature = "simd128"
));

/// `$obj.$method::<B, A>(args)` with the kernels `B` of `$kernel` (the SIMD
/// ones only where `wide` has vector registers) and the activations `A` of
/// `$math`: a step's one run-time choice of code, made once, for
/// `Model::step` and the sized layers alike.
macro_rules! with_kernels {
    ($kernel:expr, $math:expr, $obj:ident.$method:ident($($arg:expr),*)) => {{
        use $crate::kernel::activation::{Exact, Fast};
        use $crate::kernel::{Kernel, Math, ScalarBackend, SimdBackend, HAS_SIMD};
        match ($kernel, $math) {
            (Kernel::Simd, Math::Exact) if HAS_SIMD => {
                $obj.$method::<SimdBackend, Exact>($($arg),*)
            }
            (Kernel::Simd, Math::Fast) if HAS_SIMD => {
                $obj.$method::<SimdBackend, Fast>($($arg),*)
            }
            (_, Math::Exact) => $obj.$method::<ScalarBackend, Exact>($($arg),*),
            (_, Math::Fast) => $obj.$method::<ScalarBackend, Fast>($($arg),*),
        }
    }};
}
pub(crate) use with_kernels;

/// How a cell multiplies its matrices, and how wide its elementwise math is.
pub(crate) trait Backend {
    /// The lane type of the elementwise gate math.
    type V: Lanes;
    /// `out += W x`, `W` of `out.len()` rows in `layout`.
    fn matvec(layout: Layout, w: &[f32], x: &[f32], out: &mut [f32]);
    /// `out += W_x x + W_h h`, both of `out.len()` rows in `layout`.
    fn matvec2(layout: Layout, wx: &[f32], x: &[f32], wh: &[f32], h: &[f32], out: &mut [f32]);
    /// `out += W[r0..r0 + out.len()] x` for `W` of `rows` rows in `layout`.
    fn matvec_rows(layout: Layout, w: &[f32], rows: usize, r0: usize, x: &[f32], out: &mut [f32]);
    /// `out = b + W x` (`out` as [`matvec`](Self::matvec); `b` copied as far
    /// as both reach).
    #[inline(always)]
    fn matvec_bias(layout: Layout, w: &[f32], x: &[f32], b: &[f32], out: &mut [f32]) {
        copy(b, out);
        Self::matvec(layout, w, x, out);
    }
    /// `out = b + W_x x + W_h h` (as [`matvec2`](Self::matvec2) after
    /// copying `b`).
    #[inline(always)]
    fn matvec2_bias(
        layout: Layout,
        wx: &[f32],
        x: &[f32],
        wh: &[f32],
        h: &[f32],
        b: &[f32],
        out: &mut [f32],
    ) {
        copy(b, out);
        Self::matvec2(layout, wx, x, wh, h, out);
    }
    /// [`matvec2_bias`](Self::matvec2_bias), where the backend streams
    /// weights that outgrow L1 ([`simd::streams`]) in the direction `rev`;
    /// the others ignore `rev`.
    #[inline(always)]
    #[expect(
        clippy::too_many_arguments,
        reason = "two matrices, their inputs, the bias, the direction"
    )]
    fn matvec2_bias_swept(
        layout: Layout,
        wx: &[f32],
        x: &[f32],
        wh: &[f32],
        h: &[f32],
        b: &[f32],
        out: &mut [f32],
        _rev: bool,
    ) {
        Self::matvec2_bias(layout, wx, x, wh, h, b, out);
    }
    /// `dst[j] = tanh(src[j])` for `j < n` with `A`'s tanh (both slices at
    /// least `n` long, else nothing happens).
    #[inline(always)]
    fn tanh_into<A: Act>(n: usize, src: &[f32], dst: &mut [f32]) {
        zip_map::<Self::V, 1, 1>(n, [src], [dst], |[a], _| [A::tanh(a)]);
    }
    /// A whole LSTM step in one fused pass (see [`simd::lstm_step`]) where
    /// this backend has one for `layout`; `false`, touching nothing,
    /// otherwise (the cell then runs its generic step). `rev`: the direction
    /// of a streamed product (see [`simd::streams`]); the sums' order, so the
    /// last bits of the result, may depend on it.
    #[inline(always)]
    #[expect(clippy::too_many_arguments, reason = "one layer's slices")]
    fn lstm_step<A: Act>(
        _layout: Layout,
        _hp: usize,
        _wx: &[f32],
        _wh: &[f32],
        _b: &[f32],
        _x: &[f32],
        _h: &mut [f32],
        _c: &mut [f32],
        _scratch: &mut [f32],
        _rev: bool,
    ) -> bool {
        false
    }
    /// A whole GRU step (reset gate after the recurrent product) in one
    /// fused pass, as [`lstm_step`](Self::lstm_step).
    #[inline(always)]
    #[expect(clippy::too_many_arguments, reason = "one layer's slices")]
    fn gru_reset_after_step<A: Act>(
        _layout: Layout,
        _hp: usize,
        _wx: &[f32],
        _wh: &[f32],
        _bx: &[f32],
        _bh: &[f32],
        _x: &[f32],
        _h: &mut [f32],
        _scratch: &mut [f32],
        _rev: bool,
    ) -> bool {
        false
    }
}

/// The LSTM's elementwise part for `n` units: `gates` holds the
/// pre-activations in four blocks i, f, g, o of `stride` (at least `n`)
/// values each; `c` and `h` (at least `n` each) are updated in place:
/// `c = σ(f) ⊙ c + σ(i) ⊙ tanh(g)`, `h = σ(o) ⊙ tanh(c)`. `V` lanes at a time
/// (on a Cortex-M4F/M7 with the fast activations: one `asm!` loop, the same
/// for every number format). Does nothing if the slices are too short.
#[inline(always)]
pub(crate) fn lstm_gates<V: Lanes, A: Act>(
    gates: &[f32],
    stride: usize,
    n: usize,
    c: &mut [f32],
    h: &mut [f32],
) {
    let (Some(c), Some(h)) = (c.get_mut(..n), h.get_mut(..n)) else {
        return;
    };
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    if A::FAST {
        cortex_m::lstm_gates(gates, stride, c, h);
        return;
    }
    let Some((gi, rest)) = gates.split_at_checked(stride) else {
        return;
    };
    let Some((gf, rest)) = rest.split_at_checked(stride) else {
        return;
    };
    let Some((gg, go)) = rest.split_at_checked(stride) else {
        return;
    };
    // Lane groups loaded and stored one by one (`zip_map`'s arrays of
    // lanes measured slower here on x86-64).
    let mut j = 0;
    while j < n {
        let (i, f) = (load_part::<V>(gi, j), load_part::<V>(gf, j));
        let (g, o) = (load_part::<V>(gg, j), load_part::<V>(go, j));
        let (c1, h1) = lstm_cell::<V, A>([i, f, g, o], load_part::<V>(c, j));
        store_part(c1, c, j);
        store_part(h1, h, j);
        j += V::LANES;
    }
}

/// The GRU's elementwise part (reset gate after the recurrent product) for
/// `n` units: `gx` holds the input pre-activations z, r, n and `gh` the
/// recurrent ones, three blocks of `stride` (at least `n`) values each,
/// each with its bias; `h` (at least `n`) is updated in place: `z = σ(x_z +
/// h_z)`, `r = σ(x_r + h_r)`, `h = (1 - z) ⊙ tanh(x_n + r ⊙ h_n) + z ⊙ h`.
/// As [`lstm_gates`], `V` lanes at a time or the `asm!` loop.
#[inline(always)]
pub(crate) fn gru_gates<V: Lanes, A: Act>(
    gx: &[f32],
    gh: &[f32],
    stride: usize,
    n: usize,
    h: &mut [f32],
) {
    let Some(h) = h.get_mut(..n) else {
        return;
    };
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    if A::FAST {
        cortex_m::gru_gates(gx, gh, stride, h);
        return;
    }
    let (Some((xz, rest)), Some((hz, hrest))) =
        (gx.split_at_checked(stride), gh.split_at_checked(stride))
    else {
        return;
    };
    let (Some((xr, xn)), Some((hr, hn))) = (
        rest.split_at_checked(stride),
        hrest.split_at_checked(stride),
    ) else {
        return;
    };
    let mut j = 0;
    while j < n {
        let x = [load_part(xz, j), load_part(xr, j), load_part(xn, j)];
        let r = [load_part(hz, j), load_part(hr, j), load_part(hn, j)];
        let h1 = gru_cell::<V, A>(x, r, load_part::<V>(h, j));
        store_part(h1, h, j);
        j += V::LANES;
    }
}

/// The LSTM cell on one group of lanes: pre-activations `[i, f, g, o]` and
/// the cell state `c` in, the new `(c, h)` out.
#[inline(always)]
pub(crate) fn lstm_cell<V: Lanes, A: Act>([i, f, g, o]: [V; 4], c: V) -> (V, V) {
    let c1 = A::sigmoid(f) * c + A::sigmoid(i) * A::tanh(g);
    (c1, A::sigmoid(o) * A::tanh(c1))
}

/// The GRU cell (reset gate after the recurrent product) on one group of
/// lanes: input pre-activations `[z, r, n]`, recurrent ones likewise, the
/// state `h` in; the new `h` out.
#[inline(always)]
pub(crate) fn gru_cell<V: Lanes, A: Act>([xz, xr, xn]: [V; 3], [hz, hr, hn]: [V; 3], h: V) -> V {
    let z = A::sigmoid(xz + hz);
    let r = A::sigmoid(xr + hr);
    let cand = A::tanh(r.mul_add(hn, xn));
    (V::splat(1.0) - z) * cand + z * h
}

/// Keeps the loop it is in one copy of its body on Arm, for code size: an
/// empty `asm!` statement (no instruction), which LLVM's Arm unrolling
/// heuristics count as a call (it unrolls small loops 4 times by default),
/// and which may touch memory, so the loop is not turned into a
/// `memset`/`memcpy` call either. For loops that run rarely or over few
/// elements. Nothing elsewhere. Used by the f32 and the integer code alike.
#[inline(always)]
#[allow(unsafe_code, reason = "an empty asm! statement")]
pub(crate) fn no_unroll() {
    #[cfg(target_arch = "arm")]
    // SAFETY: no instruction.
    unsafe {
        core::arch::asm!("", options(nostack, preserves_flags));
    }
}

/// `out[i] = b[i]` as far as both reach (on a Cortex-M4F/M7 a small `asm!`
/// loop: no `memcpy` linked for it).
#[inline(always)]
pub(crate) fn copy(b: &[f32], out: &mut [f32]) {
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    cortex_m::copy(b, out);
    #[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
    for (o, b) in out.iter_mut().zip(b) {
        *o = *b;
    }
}

/// Returns `$call` with `$hp` a constant and `$h` a reference to an array
/// where the layer has one of the hidden sizes `$n` (unpadded: `$hp` equal to
/// `$h.len()`): the fused step inlined there runs with constant sizes, as
/// the `sized` layers' do (its tiles and loops resolved while compiling).
/// On an AVX-512 Xeon, `Model::step` against the general kernel, medians of
/// per-round ratios, two runs of 6 alternating rounds: LSTM 1x32 1.12-1.13x
/// as fast, 1x64 1.07-1.08x, 16x64 1.06-1.08x, 1x128 1.02-1.05x; GRU 1x32
/// 1.18-1.21x, 1x64 1.12-1.15x, 16x64 1.07-1.09x, 1x128 1.04-1.05x; the 8-
/// and 16-unit layers (in registers already) level. Other sizes take the
/// general kernel. Host SIMD code only: on targets without SIMD the
/// [`SimdBackend`] is never instantiated.
macro_rules! fixed_hidden {
    ([$($n:literal),*], $hp:ident, $h:ident, $call:block) => {
        match ($hp, $h.len()) {
            $(($n, $n) => {
                if let Ok($h) = <&mut [f32; $n]>::try_from(&mut *$h) {
                    let $hp: usize = $n;
                    return $call;
                }
            })*
            _ => {}
        }
    };
}

/// [`Kernel::Scalar`].
pub(crate) struct ScalarBackend;
/// [`Kernel::Simd`].
pub(crate) struct SimdBackend;

impl Backend for ScalarBackend {
    type V = f32;
    #[inline(always)]
    fn matvec(layout: Layout, w: &[f32], x: &[f32], out: &mut [f32]) {
        match layout {
            Layout::RowMajor => scalar_rowmajor(w, x, out),
            Layout::ColMajor8 => scalar_colmajor(w, x, &[], &[], out.len(), 0, out),
        }
    }
    #[inline(always)]
    fn matvec2(layout: Layout, wx: &[f32], x: &[f32], wh: &[f32], h: &[f32], out: &mut [f32]) {
        match layout {
            Layout::RowMajor => {
                scalar_rowmajor(wx, x, out);
                scalar_rowmajor(wh, h, out);
            }
            Layout::ColMajor8 => scalar_colmajor(wx, x, wh, h, out.len(), 0, out),
        }
    }
    #[inline(always)]
    fn matvec_rows(layout: Layout, w: &[f32], rows: usize, r0: usize, x: &[f32], out: &mut [f32]) {
        match layout {
            Layout::RowMajor => {
                let w = w.get(r0 * x.len()..).unwrap_or(&[]);
                scalar_rowmajor(w, x, out);
            }
            Layout::ColMajor8 => scalar_colmajor(w, x, &[], &[], rows, r0, out),
        }
    }
    // On a Cortex-M4F/M7 the `asm!` kernel starts its accumulators from the
    // bias: no copy pass.
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    #[inline(always)]
    fn matvec_bias(layout: Layout, w: &[f32], x: &[f32], b: &[f32], out: &mut [f32]) {
        match layout {
            Layout::RowMajor => cortex_m::rowmajor_bias(Some(b), w, x, out),
            Layout::ColMajor8 => Self::matvec2_bias(layout, w, x, &[], &[], b, out),
        }
    }
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    #[inline(always)]
    fn tanh_into<A: Act>(n: usize, src: &[f32], dst: &mut [f32]) {
        if !A::FAST {
            zip_map::<f32, 1, 1>(n, [src], [dst], |[a], _| [A::tanh(a)]);
        } else if let (Some(src), Some(dst)) = (src.get(..n), dst.get_mut(..n)) {
            cortex_m::act_fast(false, Some(src), dst);
        }
    }
    // A Cortex-M4F/M7 LSTM step with the fast activations: gates from the
    // bias kernel, then the elementwise part in one `asm!` loop.
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    #[inline(always)]
    fn lstm_step<A: Act>(
        layout: Layout,
        hp: usize,
        wx: &[f32],
        wh: &[f32],
        b: &[f32],
        x: &[f32],
        h: &mut [f32],
        c: &mut [f32],
        scratch: &mut [f32],
        _rev: bool,
    ) -> bool {
        if !A::FAST {
            return false;
        }
        // Every layout (the generic step's fast path is then never linked);
        // too short a scratch does nothing, as in the generic step.
        if let Some(gates) = scratch.get_mut(..4 * hp) {
            Self::matvec2_bias(layout, wx, x, wh, h, b, gates);
            cortex_m::lstm_gates(gates, hp, c, h);
        }
        true
    }
    // The GRU (reset after) likewise.
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    #[inline(always)]
    fn gru_reset_after_step<A: Act>(
        layout: Layout,
        hp: usize,
        wx: &[f32],
        wh: &[f32],
        bx: &[f32],
        bh: &[f32],
        x: &[f32],
        h: &mut [f32],
        scratch: &mut [f32],
        _rev: bool,
    ) -> bool {
        if !A::FAST {
            return false;
        }
        if let Some((gx, gh)) = scratch
            .get_mut(..6 * hp)
            .and_then(|s| s.split_at_mut_checked(3 * hp))
        {
            Self::matvec_bias(layout, wx, x, bx, gx);
            Self::matvec_bias(layout, wh, h, bh, gh);
            cortex_m::gru_gates(gx, gh, hp, h);
        }
        true
    }
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    #[inline(always)]
    fn matvec2_bias(
        layout: Layout,
        wx: &[f32],
        x: &[f32],
        wh: &[f32],
        h: &[f32],
        b: &[f32],
        out: &mut [f32],
    ) {
        // Both kernels start from the bias (a bias shorter than `out`,
        // which the loader never lets through, leaves rows untouched).
        match layout {
            Layout::RowMajor => {
                cortex_m::rowmajor_bias(Some(b), wx, x, out);
                scalar_rowmajor(wh, h, out);
            }
            Layout::ColMajor8 => {
                cortex_m::colmajor_bias_rows2(Some(b), wx, x, wh, h, out.len(), 0, out)
            }
        }
    }
}

impl Backend for SimdBackend {
    type V = F32x8;
    #[inline(always)]
    fn matvec2_bias_swept(
        layout: Layout,
        wx: &[f32],
        x: &[f32],
        wh: &[f32],
        h: &[f32],
        b: &[f32],
        out: &mut [f32],
        rev: bool,
    ) {
        // Small products keep the tiles of `matvec2_bias` (and its sums).
        let streamed = layout == Layout::ColMajor8
            && simd::streams(out.len(), x.len() + h.len())
            && simd::bias_matvec2::<Wide>(out, b, wx, x, wh, h, out.len(), rev);
        if !streamed {
            Self::matvec2_bias(layout, wx, x, wh, h, b, out);
        }
    }
    #[inline(always)]
    fn matvec(layout: Layout, w: &[f32], x: &[f32], out: &mut [f32]) {
        match layout {
            Layout::RowMajor => simd::matvec_acc(w, x, out),
            Layout::ColMajor8 => simd::colmajor_matvec_acc(w, x, out),
        }
    }
    #[inline(always)]
    fn matvec2(layout: Layout, wx: &[f32], x: &[f32], wh: &[f32], h: &[f32], out: &mut [f32]) {
        match layout {
            Layout::RowMajor => {
                simd::matvec_acc(wx, x, out);
                simd::matvec_acc(wh, h, out);
            }
            Layout::ColMajor8 => simd::colmajor_matvec2_acc(wx, x, wh, h, out),
        }
    }
    #[inline(always)]
    fn matvec_rows(layout: Layout, w: &[f32], rows: usize, r0: usize, x: &[f32], out: &mut [f32]) {
        match layout {
            Layout::RowMajor => {
                let w = w.get(r0 * x.len()..).unwrap_or(&[]);
                simd::matvec_acc(w, x, out);
            }
            Layout::ColMajor8 => simd::colmajor_rows_acc(w, rows, r0, x, out),
        }
    }
    #[inline(always)]
    fn lstm_step<A: Act>(
        layout: Layout,
        hp: usize,
        wx: &[f32],
        wh: &[f32],
        b: &[f32],
        x: &[f32],
        h: &mut [f32],
        c: &mut [f32],
        scratch: &mut [f32],
        rev: bool,
    ) -> bool {
        if layout != Layout::ColMajor8 {
            return false;
        }
        fixed_hidden!([32, 64, 128], hp, h, {
            simd::lstm_step::<Wide, A>(hp, wx, wh, b, x, h, c, scratch, rev)
        });
        simd::lstm_step::<Wide, A>(hp, wx, wh, b, x, h, c, scratch, rev)
    }
    #[inline(always)]
    fn gru_reset_after_step<A: Act>(
        layout: Layout,
        hp: usize,
        wx: &[f32],
        wh: &[f32],
        bx: &[f32],
        bh: &[f32],
        x: &[f32],
        h: &mut [f32],
        scratch: &mut [f32],
        rev: bool,
    ) -> bool {
        if layout != Layout::ColMajor8 {
            return false;
        }
        fixed_hidden!([32, 64, 128], hp, h, {
            simd::gru_reset_after_step::<Wide, A>(hp, wx, wh, bx, bh, x, h, scratch, rev)
        });
        simd::gru_reset_after_step::<Wide, A>(hp, wx, wh, bx, bh, x, h, scratch, rev)
    }
}
