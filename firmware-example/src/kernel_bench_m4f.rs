//! The body of `kernel_bench` (see `src/bin/kernel_bench.rs`): Cortex-M4F
//! only, as its kernels use the FPU's `vfma`.

use core::hint::black_box;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};

#[path = "markers.rs"]
mod markers;
use markers::{bench_start, bench_stop};

#[path = "cmdline.rs"]
mod cmdline;
use cmdline::cmdline;
use tinyrnn::kernel::cortex_m as m4;

const ROWS: usize = 256;
const COLS: usize = 64;
const PANEL: usize = 8;

static mut W: [f32; ROWS * COLS] = [0.0; ROWS * COLS];
static mut WP: [f32; ROWS * COLS] = [0.0; ROWS * COLS];

/// Four rows at a time over row-major weights.
#[inline(never)]
fn rows4(w: &[f32], x: &[f32], out: &mut [f32]) {
    let cols = x.len();
    for (o, rows) in out.chunks_exact_mut(4).zip(w.chunks_exact(4 * cols)) {
        let (r0, rest) = rows.split_at(cols);
        let (r1, rest) = rest.split_at(cols);
        let (r2, r3) = rest.split_at(cols);
        let mut a = [0.0f32; 4];
        for ((((&xc, &w0), &w1), &w2), &w3) in x.iter().zip(r0).zip(r1).zip(r2).zip(r3) {
            a[0] += w0 * xc;
            a[1] += w1 * xc;
            a[2] += w2 * xc;
            a[3] += w3 * xc;
        }
        for (o, a) in o.iter_mut().zip(a) {
            *o += a;
        }
    }
}

/// Weights packed `[rows / 8][cols][8]`: one column of eight rows is contiguous.
#[inline(never)]
fn panel8(wp: &[f32], x: &[f32], out: &mut [f32]) {
    let cols = x.len();
    for (o, panel) in out
        .chunks_exact_mut(PANEL)
        .zip(wp.chunks_exact(PANEL * cols))
    {
        let mut a = [0.0f32; PANEL];
        for (&xc, w) in x.iter().zip(panel.chunks_exact(PANEL)) {
            for k in 0..PANEL {
                a[k] += w[k] * xc;
            }
        }
        for (o, a) in o.iter_mut().zip(a) {
            *o += a;
        }
    }
}

/// As [`panel8`], the column loop in assembly: `vldmia` loads the eight
/// weights of a column in one instruction and `vfma.f32` (fused, one rounding)
/// accumulates; two columns per iteration. `cols` must be even and non-zero.
#[inline(never)]
fn panel8fma(wp: &[f32], x: &[f32], out: &mut [f32]) {
    let cols = x.len();
    assert!(cols.is_multiple_of(2) && cols > 0 && wp.len() >= out.len() / PANEL * PANEL * cols);
    for (o, panel) in out
        .chunks_exact_mut(PANEL)
        .zip(wp.chunks_exact(PANEL * cols))
    {
        // SAFETY: reads `cols` floats from `x` and `8 * cols` from `panel`
        // (lengths checked above), reads and writes the 8 floats of `o`; the FPU
        // registers it uses are saved and restored (s0-s1, s8-s15 are caller-saved
        // but not declared as clobbers, so they are pushed too).
        unsafe {
            core::arch::asm!(
                "vpush {{d0-d7}}",
                "vpush {{d8-d11}}",
                "vldmia {o}, {{s16-s23}}",
                "2:",
                "vldmia {x}!, {{s0-s1}}",
                "vldmia {w}!, {{s8-s15}}",
                "vfma.f32 s16, s8, s0",
                "vfma.f32 s17, s9, s0",
                "vfma.f32 s18, s10, s0",
                "vfma.f32 s19, s11, s0",
                "vfma.f32 s20, s12, s0",
                "vfma.f32 s21, s13, s0",
                "vfma.f32 s22, s14, s0",
                "vfma.f32 s23, s15, s0",
                "vldmia {w}!, {{s8-s15}}",
                "vfma.f32 s16, s8, s1",
                "vfma.f32 s17, s9, s1",
                "vfma.f32 s18, s10, s1",
                "vfma.f32 s19, s11, s1",
                "vfma.f32 s20, s12, s1",
                "vfma.f32 s21, s13, s1",
                "vfma.f32 s22, s14, s1",
                "vfma.f32 s23, s15, s1",
                "subs {n}, {n}, #2",
                "bne 2b",
                "vstmia {o}, {{s16-s23}}",
                "vpop {{d8-d11}}",
                "vpop {{d0-d7}}",
                o = in(reg) o.as_mut_ptr(),
                x = inout(reg) x.as_ptr() => _,
                w = inout(reg) panel.as_ptr() => _,
                n = inout(reg) cols => _,
                options(nostack),
            );
        }
    }
}

/// `e^x` from `2^(x log2 e)`: round to the nearest integer with the 1.5 * 2^23
/// trick (no branch), the integer goes to the exponent bits, the fraction in
/// [-0.5, 0.5] through 2^f's degree-6 Taylor polynomial (truncation error about 1.2e-7).
#[inline(always)]
fn fast_exp(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23
    let t = (x * core::f32::consts::LOG2_E).clamp(-126.0, 126.0);
    let m = t + ROUND;
    let i = m.to_bits() as i32 - ROUND.to_bits() as i32;
    let f = t - (m - ROUND);
    const C: [f32; 6] = [
        core::f32::consts::LN_2,
        0.2402265,
        0.05550411,
        0.009618129,
        0.001333356,
        0.0001540353,
    ];
    let p = 1.0 + f * (C[0] + f * (C[1] + f * (C[2] + f * (C[3] + f * (C[4] + f * C[5])))));
    f32::from_bits((p.to_bits() as i32 + (i << 23)) as u32)
}

#[inline(always)]
fn sigmoid_fast(x: f32) -> f32 {
    1.0 / (1.0 + fast_exp(-x))
}

#[inline(always)]
fn tanh_fast(x: f32) -> f32 {
    1.0 - 2.0 / (fast_exp(2.0 * x) + 1.0)
}

#[inline(always)]
fn sigmoid_libm(x: f32) -> f32 {
    tinyrnn::kernel::activation::sigmoid(x)
}

/// Applies `f` to every element (not inlined, so each variant is one loop).
#[inline(never)]
fn map(v: &mut [f32], f: impl Fn(f32) -> f32) {
    for x in v {
        *x = f(*x);
    }
}

/// Largest absolute difference of `fast` from `exact` on a dense grid of [-20, 20].
fn max_err(fast: impl Fn(f32) -> f32, exact: impl Fn(f32) -> f32) -> f32 {
    let mut worst = 0.0f32;
    let mut x = -20.0f32;
    while x <= 20.0 {
        worst = worst.max((fast(x) - exact(x)).abs());
        x += 1.0 / 512.0;
    }
    worst
}

/// f32 unit roundoff, 2^-24.
const U: f32 = 1.0 / 16_777_216.0;

/// Gate pre-activations the elementwise kernels must handle like the
/// portable code: zeros, tiny values, both sides of the tanh clamp (7.905)
/// and of the sigmoid clamp (15.81), far beyond them, ±inf and NaN.
const EDGES: [f32; 20] = [
    0.0,
    -0.0,
    1e-30,
    -1e-30,
    7.9,
    -7.9,
    7.91,
    -7.91,
    15.8,
    -15.8,
    15.82,
    -15.82,
    100.0,
    -100.0,
    1e30,
    -1e30,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
    3.0,
];

/// xorshift32 state for the gate checks.
struct Rng(u32);

impl Rng {
    /// Uniform in `[-span, span)`.
    fn uniform(&mut self, span: f32) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        ((self.0 >> 8) as f32 / (1u32 << 23) as f32 - 1.0) * span
    }
    /// A gate pre-activation: one of [`EDGES`] one time in four, else uniform in [-20, 20).
    fn gate(&mut self) -> f32 {
        let u = self.uniform(1.0);
        if u < -0.5 {
            EDGES[((u + 1.0) * 2.0 * EDGES.len() as f32) as usize % EDGES.len()]
        } else {
            self.uniform(20.0)
        }
    }
}

/// The widest `|tanh(y) - tanh(x)|` over `|y - x| <= d` (tanh is monotonic;
/// libm's tanh, so one rounding each).
fn tanh_spread(x: f32, d: f32) -> f32 {
    use tinyrnn::kernel::activation::tanh;
    let t = tanh(x);
    (tanh(x + d) - t).abs().max((t - tanh(x - d)).abs())
}

/// Whether `got` agrees with the portable `want` within `tol` (NaN exactly
/// where the portable code gives NaN); tracks the largest difference and
/// the largest difference over its bound.
fn agree(got: f32, want: f32, tol: f32, worst: &mut f32, ratio: &mut f32) -> bool {
    if want.is_nan() || got.is_nan() {
        return want.is_nan() && got.is_nan();
    }
    let d = (got - want).abs();
    *worst = worst.max(d);
    *ratio = ratio.max(d / tol);
    d <= tol
}

/// `tinyrnn::kernel::cortex_m::lstm_gates` (`lstm` true) or `gru_gates`
/// against the portable step's elementwise code with `Math::Fast` (the
/// cell's formula with `tinyrnn::kernel::activation::{sigmoid_fast,
/// tanh_fast}`, unfused as the scalar cell computes it), on random and edge
/// pre-activations (`EDGES`), 1 to 64 units, gate blocks of `hp = n` and
/// `n + 3` rows (the 3 padding rows NaN: read by mistake, they show). Each
/// activation of either is within its documented bound of libm (`S`, `T`),
/// so the outputs may differ by the propagated bounds plus float rounding:
/// - LSTM: `c' = σ(f) c + σ(i) tanh(g)` within `2S (|c| + 1) + 2T + 6u (|c| + 1)`,
///   `h' = σ(o) tanh(c')` within `2S + 2T + spread + 4u`, `spread` the
///   widest change of the exact tanh over `c'` ± its bound;
/// - GRU: `n = tanh(x_n + r h_n)` whose argument is within `d = 2S |h_n| +
///   3u (|r h_n| + |arg|)`, `h' = (1 - z) n + z h` within `2S (1 + |h|) + 2T +
///   spread + 8u (1 + |h|)`;
///
/// with `u = 2^-24`. NaN must come out exactly where the portable code gives
/// NaN. Prints one line; returns whether every unit agreed.
fn check_gates(variant: &str, k: u32, lstm: bool) -> bool {
    use tinyrnn::kernel::activation::{
        sigmoid_fast, tanh_fast, SIGMOID_FAST_MAX_ABS_ERROR as S, TANH_FAST_MAX_ABS_ERROR as T,
    };
    const MAXN: usize = 64;
    const MAXP: usize = MAXN + 3;
    let mut rng = Rng(0x2545_F491);
    // Gate blocks the kernel reads: i, f, g, o; or x_z, x_r, x_n, h_z, h_r, h_n.
    let blocks = if lstm { 4 } else { 6 };
    let (mut units, mut edges, mut bad) = (0u32, 0u32, 0u32);
    let (mut worst_c, mut worst_h, mut ratio) = (0.0f32, 0.0f32, 0.0f32);
    for n in [1usize, 2, 3, 7, 8, 9, 32, 64] {
        for hp in [n, n + 3] {
            for _round in 0..6 {
                let mut g = [f32::NAN; 6 * MAXP];
                for blk in 0..6 {
                    for j in 0..n {
                        let v = rng.gate();
                        if blk < blocks {
                            edges += EDGES.iter().any(|e| e.to_bits() == v.to_bits()) as u32;
                        }
                        g[blk * hp + j] = v;
                    }
                }
                let g = &g[..6 * hp];
                // State: mostly moderate, some large |c| (a long-running cell), zeros.
                let mut c0 = [0.0f32; MAXN];
                let mut h0 = [0.0f32; MAXN];
                for (c, h) in c0.iter_mut().zip(&mut h0).take(n) {
                    let u = rng.uniform(1.0);
                    *c = if u < -0.8 {
                        rng.uniform(1000.0)
                    } else if u > 0.9 {
                        0.0
                    } else {
                        rng.uniform(4.0)
                    };
                    *h = rng.uniform(1.0);
                }
                // The kernel, with guards past the end that must stay untouched.
                let (mut c, mut h) = ([7.0f32; MAXN + 1], [7.0f32; MAXN + 1]);
                c[..n].copy_from_slice(&c0[..n]);
                h[..n].copy_from_slice(&h0[..n]);
                if lstm {
                    m4::lstm_gates(&g[..4 * hp], hp, &mut c[..n], &mut h[..n]);
                } else {
                    m4::gru_gates(&g[..3 * hp], &g[3 * hp..], hp, &mut h[..n]);
                }
                if c[n] != 7.0 || h[n] != 7.0 {
                    hprintln!("kbench {} FAIL: wrote past {} units", variant, n);
                    bad += 1;
                }
                for j in 0..n {
                    units += 1;
                    let ok = if lstm {
                        let (i, f, gg, o) = (g[j], g[hp + j], g[2 * hp + j], g[3 * hp + j]);
                        let c1 = sigmoid_fast(f) * c0[j] + sigmoid_fast(i) * tanh_fast(gg);
                        let h1 = sigmoid_fast(o) * tanh_fast(c1);
                        let a = c0[j].abs() + 1.0;
                        let tol_c = 2.0 * S * a + 2.0 * T + 6.0 * U * a;
                        let tol_h = 2.0 * S + 2.0 * T + tanh_spread(c1, tol_c) + 4.0 * U;
                        let ok_c = agree(c[j], c1, tol_c, &mut worst_c, &mut ratio);
                        agree(h[j], h1, tol_h, &mut worst_h, &mut ratio) && ok_c
                    } else {
                        let x = |b: usize| g[b * hp + j];
                        let z = sigmoid_fast(x(0) + x(3));
                        let r = sigmoid_fast(x(1) + x(4));
                        let arg = r * x(5) + x(2);
                        let cand = tanh_fast(arg);
                        let h1 = (1.0 - z) * cand + z * h0[j];
                        let d = if arg.is_finite() {
                            2.0 * S * x(5).abs() + 3.0 * U * ((r * x(5)).abs() + arg.abs())
                        } else {
                            0.0
                        };
                        let a = 1.0 + h0[j].abs();
                        let tol = 2.0 * S * a + 2.0 * T + tanh_spread(arg, d) + 8.0 * U * a;
                        agree(h[j], h1, tol, &mut worst_h, &mut ratio)
                    };
                    if !ok {
                        if bad < 3 {
                            let mut pre = [0.0f32; 6];
                            for (b, p) in pre.iter_mut().enumerate().take(blocks) {
                                *p = g[b * hp + j];
                            }
                            hprintln!(
                                "kbench {} FAIL unit {} of {} (hp {}): pre-activations {:?}, state c {} h {} -> asm c {} h {} (c: LSTM only)",
                                variant,
                                j,
                                n,
                                hp,
                                &pre[..blocks],
                                c0[j],
                                h0[j],
                                c[j],
                                h[j]
                            );
                        }
                        bad += 1;
                    }
                }
            }
        }
    }
    let ok = bad == 0;
    let verdict = if ok { "ok" } else { "FAIL" };
    if lstm {
        hprintln!(
            "kbench {} k={} {} m4 vs portable fast: {} units ({} edge pre-activations, NaN where portable NaN): max |diff| e9 c {} h {}, largest diff/bound {}%",
            variant,
            k,
            verdict,
            units,
            edges,
            (worst_c * 1e9) as u32,
            (worst_h * 1e9) as u32,
            (ratio * 100.0) as u32
        );
    } else {
        hprintln!(
            "kbench {} k={} {} m4 vs portable fast: {} units ({} edge pre-activations, NaN where portable NaN): max |diff| e9 h {}, largest diff/bound {}%",
            variant,
            k,
            verdict,
            units,
            edges,
            (worst_h * 1e9) as u32,
            (ratio * 100.0) as u32
        );
    }
    ok
}

/// The runtime's Cortex-M4F fast activations against `libm` on [-20, 20]
/// (steps of 1/512) and at ±inf, ±0 and NaN; prints one line, returns
/// whether both are within the documented bounds.
fn check_m4(variant: &str, k: u32) -> bool {
    use tinyrnn::kernel::activation::{
        sigmoid, tanh, SIGMOID_FAST_MAX_ABS_ERROR, TANH_FAST_MAX_ABS_ERROR,
    };
    let (mut es, mut et, mut ok) = (0.0f32, 0.0f32, true);
    let mut j = 0i32;
    while j <= 20 * 1024 {
        let mut xs = [0.0f32; 64];
        for (i, x) in xs.iter_mut().enumerate() {
            *x = (j + i as i32 - 10 * 1024) as f32 / 512.0;
        }
        if j == 0 {
            xs[..5].copy_from_slice(&[f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, f32::NAN]);
        }
        let (mut s, mut t) = (xs, xs);
        m4::act_fast(true, None, &mut s);
        m4::act_fast(false, Some(&xs), &mut t);
        for ((&x, &s), &t) in xs.iter().zip(&s).zip(&t) {
            if x.is_nan() {
                ok &= s.is_nan() && t.is_nan();
                continue;
            }
            es = es.max((s - sigmoid(x)).abs());
            et = et.max((t - tanh(x)).abs());
        }
        j += 64;
    }
    ok &= es <= SIGMOID_FAST_MAX_ABS_ERROR && et <= TANH_FAST_MAX_ABS_ERROR;
    hprintln!(
        "kbench {} k={} {} m4 max abs err e9: sigmoid {} (bound {}) tanh {} (bound {}), NaN stays NaN",
        variant,
        k,
        if ok { "ok" } else { "FAIL" },
        (es * 1e9) as u32,
        (SIGMOID_FAST_MAX_ABS_ERROR * 1e9) as u32,
        (et * 1e9) as u32,
        (TANH_FAST_MAX_ABS_ERROR * 1e9) as u32
    );
    ok
}

#[entry]
fn main() -> ! {
    let mut buf = [0u8; 128];
    let line = cmdline(&mut buf);
    let mut words = line
        .split_ascii_whitespace()
        .skip_while(|w| *w != "kbench")
        .skip(1);
    let k: u32 = words.next().and_then(|w| w.parse().ok()).unwrap_or(4);
    let variant = words.next().unwrap_or("portable");
    // SAFETY: single-threaded start-up; the only references to W and WP.
    let (w, wp) = unsafe {
        (
            &mut *core::ptr::addr_of_mut!(W),
            &mut *core::ptr::addr_of_mut!(WP),
        )
    };
    let mut s = 0x1234_5678u32;
    for v in w.iter_mut() {
        s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *v = (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
    }
    for r in 0..ROWS {
        for c in 0..COLS {
            if variant == "panel16" {
                wp[c * ROWS + r] = w[r * COLS + c];
            } else {
                wp[(r / PANEL) * COLS * PANEL + c * PANEL + r % PANEL] = w[r * COLS + c];
            }
        }
    }
    let x: [f32; COLS] = core::array::from_fn(|i| i as f32 * 0.01 - 0.3);
    let mut y = [0.0f32; ROWS];
    let (w, wp) = (black_box(&w[..]), black_box(&wp[..]));
    if variant == "lstm_gates" || variant == "gru_gates" {
        // 64 units (hp = 64: an LSTM or GRU of 64 hidden units) per call.
        let lstm = variant == "lstm_gates";
        let mut rng = Rng(0x1234_5678);
        let mut g = [0.0f32; 6 * 64];
        for v in g.iter_mut() {
            *v = rng.uniform(8.0);
        }
        let (mut c, mut h) = ([0.0f32; 64], [0.0f32; 64]);
        let g = black_box(&g[..]);
        bench_start();
        for _ in 0..k {
            if lstm {
                m4::lstm_gates(&g[..4 * 64], 64, &mut c, &mut h);
            } else {
                m4::gru_gates(&g[..3 * 64], &g[3 * 64..], 64, &mut h);
            }
            black_box((&mut c, &mut h));
        }
        bench_stop();
        let ok = check_gates(variant, k, lstm);
        debug::exit(if ok {
            debug::EXIT_SUCCESS
        } else {
            debug::EXIT_FAILURE
        });
    }
    if variant.starts_with("sigmoid") || variant.starts_with("tanh") {
        let mut v = [0.0f32; ROWS];
        bench_start();
        for _ in 0..k {
            for (j, v) in v.iter_mut().enumerate() {
                *v = j as f32 / 16.0 - 8.0;
            }
            match variant {
                "sigmoid_fast" => map(&mut v, sigmoid_fast),
                "tanh_fast" => map(&mut v, tanh_fast),
                "tanh_libm" => map(&mut v, tinyrnn::kernel::activation::tanh),
                "sigmoid_m4" => m4::act_fast(true, None, &mut v),
                "tanh_m4" => m4::act_fast(false, None, &mut v),
                _ => map(&mut v, sigmoid_libm),
            }
            black_box(&mut v);
        }
        bench_stop();
        if variant.ends_with("_m4") {
            let ok = check_m4(variant, k);
            debug::exit(if ok {
                debug::EXIT_SUCCESS
            } else {
                debug::EXIT_FAILURE
            });
        }
        let (es, et) = (
            max_err(sigmoid_fast, sigmoid_libm),
            max_err(tanh_fast, tinyrnn::kernel::activation::tanh),
        );
        hprintln!(
            "kbench {} k={} exp2 candidate max abs err e9 vs libm: sigmoid {} tanh {}",
            variant,
            k,
            (es * 1e9) as u32,
            (et * 1e9) as u32
        );
        debug::exit(debug::EXIT_SUCCESS);
    }
    bench_start();
    for _ in 0..k {
        match variant {
            "rows4" => rows4(w, &x, &mut y),
            "panel8" => panel8(wp, &x, &mut y),
            "panel8fma" => panel8fma(wp, &x, &mut y),
            "panel16" => m4::colmajor_rows2_acc(wp, &x, &[], &[], ROWS, 0, &mut y),
            "rowfma" => m4::rowmajor_acc(w, &x, &mut y),
            "portable" => tinyrnn::kernel::matvec_acc(w, &x, &mut y),
            _ => panic!("unknown variant"),
        }
        black_box(&mut y);
    }
    bench_stop();
    // All variants must agree (within rounding) with the reference.
    let mut r = [0.0f32; ROWS];
    for _ in 0..k {
        tinyrnn::kernel::matvec_acc(w, &x, &mut r);
    }
    let worst = y
        .iter()
        .zip(&r)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    // The runtime's row-major kernel also at column counts that are not a
    // multiple of its 8-column step (its one-by-one tail), 1 to 3 rows.
    let mut tails_ok = true;
    if variant == "rowfma" {
        for cols in 1..=19 {
            for rows in 1..=3 {
                let (mut a, mut b) = ([0.5f32; 3], [0.5f32; 3]);
                m4::rowmajor_acc(&w[..rows * cols], &x[..cols], &mut a[..rows]);
                tinyrnn::kernel::matvec_acc(&w[..rows * cols], &x[..cols], &mut b[..rows]);
                tails_ok &= a.iter().zip(&b).all(|(p, q)| (p - q).abs() <= 1e-5);
            }
        }
    }
    let ok = worst < 1e-3 && tails_ok;
    hprintln!(
        "kbench {} k={} {} max_diff_e9={} against the portable matvec_acc{}",
        variant,
        k,
        if ok { "ok" } else { "FAIL" },
        (worst * 1e9) as u32,
        if tails_ok {
            ""
        } else {
            ", column tails differ"
        }
    );
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
