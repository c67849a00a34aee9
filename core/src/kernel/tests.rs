//! One test suite over every kernel: SIMD against scalar, column-major against
//! row-major, fast activations against `libm`, on random sizes (including 1,
//! 7, 33, 129) and edge values (0, ±1, large, NaN, ±inf).

use super::activation::{
    exp_fast, sigmoid, sigmoid_fast, sigmoid_fast_lanes, tanh, tanh_fast, tanh_fast_lanes,
    EXP_FAST_MAX_REL_ERROR, SIGMOID_FAST_MAX_ABS_ERROR, TANH_FAST_MAX_ABS_ERROR,
};
use super::lanes::{F32x16, F32x8, Lanes, Vector, Wide};
use super::{scalar, simd};
use crate::format::PANEL;

/// A small reproducible generator (xorshift), uniform in [-1, 1).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
}

const SIZES: [usize; 7] = [1, 2, 7, 8, 16, 33, 129];
const EDGES: [f32; 9] = [
    0.0,
    1.0,
    -1.0,
    1e30,
    -1e30,
    f32::NAN,
    f32::INFINITY,
    f32::NEG_INFINITY,
    3.5e-39,
];

/// Row-major `[rows][cols]` into column-major with rows zero-padded to 8.
fn to_colmajor(w: &[f32], rows: usize, cols: usize) -> (Vec<f32>, usize) {
    let rp = rows.div_ceil(PANEL) * PANEL;
    let mut out = vec![0.0; rp * cols];
    for r in 0..rows {
        for k in 0..cols {
            out[k * rp + r] = w[r * cols + k];
        }
    }
    (out, rp)
}

/// Reference `W x` in f64, with the magnitude `Σ |w x|` for the tolerance.
fn reference(w: &[f32], x: &[f32], rows: usize) -> Vec<(f64, f64)> {
    let cols = x.len();
    (0..rows)
        .map(|r| {
            let row = &w[r * cols..(r + 1) * cols];
            let s = row.iter().zip(x).map(|(&a, &b)| a as f64 * b as f64).sum();
            let m = row
                .iter()
                .zip(x)
                .map(|(&a, &b)| (a as f64 * b as f64).abs())
                .sum();
            (s, m)
        })
        .collect()
}

/// Tolerance tier `abs(eps)` scaled by the sum's magnitude: the kernels sum in
/// different orders, with and without FMA.
fn close(got: f32, want: (f64, f64)) -> bool {
    let (s, m) = want;
    if s.is_nan() {
        return got.is_nan();
    }
    if s.is_infinite() || m > f32::MAX as f64 {
        // Overflow: any kernel may see inf - inf; only the NaN-ness of finite
        // references is required.
        return true;
    }
    (got as f64 - s).abs() <= 1e-6 * (1.0 + m) * 4.0
}

#[test]
fn every_matvec_kernel_matches_the_reference() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for &rows in &SIZES {
        for &cols in &SIZES {
            for edge in [None, Some(0usize), Some(3), Some(5), Some(6)] {
                let w = rng.vec(rows * cols);
                let mut x = rng.vec(cols);
                let mut h = rng.vec(cols / 2 + 1);
                if let Some(e) = edge {
                    for (i, v) in x.iter_mut().enumerate() {
                        if i % 3 == 0 {
                            *v = EDGES[(e + i) % EDGES.len()];
                        }
                    }
                    h[0] = EDGES[(e + 1) % EDGES.len()];
                }
                let wh = rng.vec(rows * h.len());
                let bias = rng.vec(rows);
                // Reference: bias + W x + W_h h.
                let rx = reference(&w, &x, rows);
                let rh = reference(&wh, &h, rows);
                let want: Vec<(f64, f64)> = (0..rows)
                    .map(|r| (bias[r] as f64 + rx[r].0 + rh[r].0, 1.0 + rx[r].1 + rh[r].1))
                    .collect();
                let check = |name: &str, got: &[f32]| {
                    for r in 0..rows {
                        assert!(
                            close(got[r], want[r]),
                            "{name} rows {rows} cols {cols} edge {edge:?} row {r}: {} vs {:?}",
                            got[r],
                            want[r]
                        );
                    }
                };
                // Row-major kernels.
                type RowMajor = fn(&[f32], &[f32], &mut [f32]);
                for (name, f) in [
                    ("scalar", scalar::matvec_acc as RowMajor),
                    ("simd", simd::matvec_acc as RowMajor),
                ] {
                    let mut out = bias.clone();
                    f(&w, &x, &mut out);
                    f(&wh, &h, &mut out);
                    check(name, &out);
                }
                // Column-major kernels, one fused pass and two single passes.
                let (pw, rp) = to_colmajor(&w, rows, cols);
                let (pwh, _) = to_colmajor(&wh, rows, h.len());
                type Panel2 = fn(&[f32], &[f32], &[f32], &[f32], &mut [f32]);
                type Panel = fn(&[f32], &[f32], &mut [f32]);
                for (name, f2, f1) in [
                    (
                        "scalar colmajor",
                        scalar::colmajor_matvec2_acc as Panel2,
                        scalar::colmajor_matvec_acc as Panel,
                    ),
                    (
                        "simd colmajor",
                        simd::colmajor_matvec2_acc as Panel2,
                        simd::colmajor_matvec_acc as Panel,
                    ),
                    (
                        "simd colmajor 8 lanes",
                        colmajor2::<F32x8> as Panel2,
                        colmajor1::<F32x8> as Panel,
                    ),
                    (
                        "simd colmajor 16 lanes",
                        colmajor2::<F32x16> as Panel2,
                        colmajor1::<F32x16> as Panel,
                    ),
                ] {
                    let mut out = bias.clone();
                    out.resize(rp, 0.0);
                    f2(&pw, &x, &pwh, &h, &mut out);
                    check(name, &out);
                    let mut out = bias.clone();
                    out.resize(rp, 0.0);
                    f1(&pw, &x, &mut out);
                    f1(&pwh, &h, &mut out);
                    check(name, &out);
                }
            }
        }
    }
}

/// The build's vector width: 16 lanes where AVX-512F is enabled or
/// `TINYRNN_LANES=16` was set while compiling (through `build.rs`), else 8.
#[test]
fn the_wide_kernels_run_the_configured_width() {
    let sixteen = cfg!(target_feature = "avx512f") || option_env!("TINYRNN_LANES") == Some("16");
    assert_eq!(<Wide as Lanes>::LANES, if sixteen { 16 } else { 8 });
}

/// `simd::colmajor_matvec2_acc` at `V`'s width (the public one runs the
/// build's width).
fn colmajor2<V: Vector>(wx: &[f32], x: &[f32], wh: &[f32], h: &[f32], out: &mut [f32]) {
    simd::colmajor_rows2_acc::<V>(wx, x, wh, h, out.len(), 0, out);
}

/// `simd::colmajor_matvec_acc` at `V`'s width.
fn colmajor1<V: Vector>(w: &[f32], x: &[f32], out: &mut [f32]) {
    simd::colmajor_rows2_acc::<V>(w, x, &[], &[], out.len(), 0, out);
}

#[test]
fn simd_dot_matches_scalar_dot() {
    let mut rng = Rng(7);
    for n in [0usize, 1, 7, 8, 15, 16, 17, 33, 129] {
        let (a, b) = (rng.vec(n), rng.vec(n));
        let want: f64 = a.iter().zip(&b).map(|(&x, &y)| x as f64 * y as f64).sum();
        assert!((simd::dot(&a, &b) as f64 - want).abs() < 1e-5, "n={n}");
        assert!((scalar::dot(&a, &b) as f64 - want).abs() < 1e-5, "n={n}");
    }
}

/// Every `stride`-th f32 bit pattern (both signs, all exponents, NaNs, ±inf),
/// plus every f32 in `[-step_lim, step_lim]` at steps of 1e-4.
fn grid(stride: u32) -> impl Iterator<Item = f32> {
    let bits = (0..=u32::MAX / stride).map(move |i| f32::from_bits(i * stride));
    let dense = (-200_000..=200_000).map(|i| i as f32 * 1e-4);
    let special = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        f32::MAX,
        f32::MIN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MIN_POSITIVE,
        7.905_311,
        -7.905_311,
        9.0,
        -9.0,
    ];
    bits.chain(dense).chain(special)
}

/// Largest error of `fast` against `exact` over `xs`; NaN must map to NaN and
/// only NaN.
fn max_error(
    xs: impl Iterator<Item = f32>,
    fast: fn(f32) -> f32,
    exact: fn(f32) -> f32,
) -> (f32, f32) {
    let mut worst = (0.0f32, 0.0f32);
    for x in xs {
        let (a, b) = (fast(x), exact(x));
        assert_eq!(a.is_nan(), b.is_nan(), "x={x:e}: fast {a}, exact {b}");
        if b.is_nan() {
            continue;
        }
        let e = (a - b).abs();
        if e > worst.0 {
            worst = (e, x);
        }
    }
    worst
}

#[test]
fn fast_activations_error_bound() {
    // Stride 997 (prime): about 4.3 million bit patterns over the whole range.
    let (et, xt) = max_error(grid(997), tanh_fast, tanh);
    let (es, xs) = max_error(grid(997), sigmoid_fast, sigmoid);
    println!("tanh_fast max abs error {et:e} at {xt:e}; sigmoid_fast {es:e} at {xs:e}");
    assert!(et <= TANH_FAST_MAX_ABS_ERROR, "tanh {et:e} at {xt:e}");
    assert!(es <= SIGMOID_FAST_MAX_ABS_ERROR, "sigmoid {es:e} at {xs:e}");
    // Saturation and the special values.
    assert_eq!(tanh_fast(0.0), 0.0);
    assert!((tanh_fast(f32::INFINITY) - 1.0).abs() <= TANH_FAST_MAX_ABS_ERROR);
    assert!((tanh_fast(f32::NEG_INFINITY) + 1.0).abs() <= TANH_FAST_MAX_ABS_ERROR);
    assert!(sigmoid_fast(f32::NEG_INFINITY).abs() <= SIGMOID_FAST_MAX_ABS_ERROR);
    assert!((sigmoid_fast(f32::INFINITY) - 1.0).abs() <= SIGMOID_FAST_MAX_ABS_ERROR);
    assert!(tanh_fast(f32::NAN).is_nan() && sigmoid_fast(f32::NAN).is_nan());
    for x in grid(1 << 20) {
        let (t, s) = (tanh_fast(x), sigmoid_fast(x));
        assert!(
            t.is_nan() || (-1.0..=1.0).contains(&t),
            "tanh_fast({x}) = {t}"
        );
        assert!(
            s.is_nan() || (0.0..=1.0).contains(&s),
            "sigmoid_fast({x}) = {s}"
        );
    }
}

/// The whole f32 range, every bit pattern; slow, run in release:
/// `cargo test -p tinyrnn --release -- --ignored exhaustive`.
#[test]
#[ignore]
fn fast_activations_error_bound_exhaustive() {
    let (et, xt) = max_error(grid(1), tanh_fast, tanh);
    let (es, xs) = max_error(grid(1), sigmoid_fast, sigmoid);
    println!("exhaustive: tanh_fast {et:e} at {xt:e}; sigmoid_fast {es:e} at {xs:e}");
    assert!(et <= TANH_FAST_MAX_ABS_ERROR && es <= SIGMOID_FAST_MAX_ABS_ERROR);
}

/// The largest relative error of [`exp_fast`] against `e^x` in f64 over
/// `xs` (every one `<= 0`), and where.
fn exp_max_error(xs: impl Iterator<Item = f32>) -> (f64, f32) {
    let mut worst = (0.0f64, 0.0f32);
    for x in xs {
        let (a, b) = (exp_fast(x), f64::from(x).exp());
        if x < -87.0 {
            assert!(a == 0.0 && b < 1.7e-38, "x={x:e}: {a:e}");
            continue;
        }
        let e = (f64::from(a) - b).abs() / b;
        if e > worst.0 {
            worst = (e, x);
        }
    }
    worst
}

#[test]
fn exp_fast_error_bound() {
    // Every 61st bit pattern of [-87, 0] (about 17 million), a dense grid
    // of [-20, 0] and the ends.
    let lo = (-87.0f32).to_bits();
    let bits = (0x8000_0000..=lo).step_by(61).map(f32::from_bits);
    let dense = (0..=2_000_000).map(|i| i as f32 * -1e-5);
    let (e, x) = exp_max_error(bits.chain(dense).chain([-87.0, -0.0, 0.0, -1e-30]));
    println!("exp_fast max relative error {e:e} at {x:e}");
    assert!(e <= f64::from(EXP_FAST_MAX_REL_ERROR), "{e:e} at {x:e}");
    assert_eq!(exp_fast(0.0), 1.0);
    assert_eq!(exp_fast(-0.0), 1.0);
    assert_eq!(exp_fast(f32::NEG_INFINITY), 0.0);
    assert_eq!(exp_fast(-88.0), 0.0);
    assert!(exp_fast(f32::NAN).is_nan());
    // Exactly the softmax of the fast step (shift, exponential, scale).
    let mut v = [1000.0, 999.0, -1000.0, f32::NEG_INFINITY];
    super::activation::softmax_with::<super::activation::Fast>(&mut v);
    let e1 = exp_fast(-1.0);
    assert_eq!(v, [1.0 / (1.0 + e1), e1 * (1.0 / (1.0 + e1)), 0.0, 0.0]);
}

/// Every bit pattern of `[-87, 0]`; slow, run in release:
/// `cargo test -p tinyrnn --release -- --ignored exhaustive`.
#[test]
#[ignore]
fn exp_fast_error_bound_exhaustive() {
    let lo = (-87.0f32).to_bits();
    let (e, x) = exp_max_error((0x8000_0000..=lo).map(f32::from_bits));
    println!("exhaustive: exp_fast max relative error {e:e} at {x:e}");
    assert!(e <= f64::from(EXP_FAST_MAX_REL_ERROR), "{e:e} at {x:e}");
}

#[test]
fn vector_activations_match_scalar_within_the_bound() {
    let xs: Vec<f32> = grid(1 << 12).collect();
    for chunk in xs.chunks_exact(8) {
        let v = F32x8::load(chunk);
        let (t, s) = (
            tanh_fast_lanes(v).to_array(),
            sigmoid_fast_lanes(v).to_array(),
        );
        for k in 0..8 {
            let (x, tt, ss) = (chunk[k], t[k], s[k]);
            assert_eq!(tt.is_nan(), x.is_nan(), "x={x}");
            assert_eq!(ss.is_nan(), x.is_nan(), "x={x}");
            if !x.is_nan() {
                assert!((tt - tanh(x)).abs() <= TANH_FAST_MAX_ABS_ERROR, "x={x}");
                assert!(
                    (ss - sigmoid(x)).abs() <= SIGMOID_FAST_MAX_ABS_ERROR,
                    "x={x}"
                );
            }
        }
        let r = v.relu().to_array();
        for k in 0..8 {
            let want = super::activation::relu(chunk[k]);
            assert!(
                r[k] == want || (r[k].is_nan() && want.is_nan()),
                "relu {}",
                chunk[k]
            );
        }
    }
}

/// The fast sigmoid folds its halvings into the coefficients; that must not
/// change a single result against `tanh_fast(x/2)/2 + 1/2` (apart from
/// |x| < 1e-18, where subnormal intermediates may differ and both give 1/2
/// within the bound), scalar and 8-wide.
#[test]
fn fast_sigmoid_is_half_tanh_bit_for_bit() {
    for x in grid(997) {
        let want = tanh_fast(x * 0.5).mul_add(0.5, 0.5);
        let got = sigmoid_fast(x);
        if x.abs() < 1e-18 {
            assert!((got - 0.5).abs() <= SIGMOID_FAST_MAX_ABS_ERROR, "x={x:e}");
        } else if want.is_nan() {
            assert!(got.is_nan(), "x={x:e}");
        } else {
            assert_eq!(got.to_bits(), want.to_bits(), "x={x:e}: {got} vs {want}");
        }
        let v = F32x8::splat(x);
        let want8 =
            tanh_fast_lanes(v * F32x8::splat(0.5)).mul_add(F32x8::splat(0.5), F32x8::splat(0.5));
        let got8 = sigmoid_fast_lanes(v);
        for (g, w) in got8.to_array().into_iter().zip(want8.to_array()) {
            if x.abs() >= 1e-18 && !w.is_nan() {
                assert_eq!(g.to_bits(), w.to_bits(), "x={x:e} (8-wide)");
            }
        }
    }
}

/// The fused LSTM step gives the same results (within float rounding of the
/// sum order) at every alignment of its recurrent weights, as the scalar
/// column-major product followed by the gate math, at 8 lanes and at 16,
/// on sizes that reach every path of both widths ([`STEP_SIZES`]).
#[test]
fn lstm_step_agrees_at_every_weight_alignment() {
    lstm_step_agrees::<F32x8>();
    lstm_step_agrees::<F32x16>();
}

/// Input x hidden sizes of the fused-step tests: the small layers (8 and
/// 16 units) in registers; tiles ending in a 16-lane tile of fewer vectors
/// or in one 8-lane panel (24, 40 units); streamed columns, forward and
/// backward (64, 72 and 100 units, above 8,192 weights in a product; 77
/// and 101 columns end in a group of fewer than 8; the GRU's 216 and 312
/// rows are an odd number of panels, so at 16 lanes its streamed products
/// end in an 8-lane pass); units fewer than the padded rows (3, 33, 100).
const STEP_SIZES: [(usize, usize); 9] = [
    (1, 3),
    (1, 8),
    (2, 16),
    (1, 24),
    (3, 33),
    (1, 40),
    (1, 64),
    (5, 72),
    (1, 100),
];

fn lstm_step_agrees<V: Vector>() {
    use super::activation::Fast;
    for (i, h) in STEP_SIZES {
        let hp = h.div_ceil(PANEL) * PANEL;
        let rows = 4 * hp;
        let mut rng = Rng(0xA5A5 + h as u64);
        let wx = rng.vec(rows * i);
        let wh = rng.vec(rows * h);
        let b = rng.vec(rows);
        let x = rng.vec(i);
        let h0 = rng.vec(h);
        let c0 = rng.vec(h);
        let mut want_h = h0.clone();
        let mut want_c = c0.clone();
        let mut scratch = vec![0.0f32; rows];
        // Reference: plain column-major products, then the scalar gate math.
        let mut g = b.clone();
        scalar::colmajor_matvec2_acc(&wx, &x, &wh, &h0, &mut g);
        for u in 0..h {
            let [gi, gf, gg, go] = [0, 1, 2, 3].map(|k| g[k * hp + u]);
            want_c[u] = sigmoid_fast(gf) * c0[u] + sigmoid_fast(gi) * tanh_fast(gg);
            want_h[u] = sigmoid_fast(go) * tanh_fast(want_c[u]);
        }
        let lanes = V::LANES;
        for (shift, rev) in (0..8).flat_map(|s| [(s, false), (s, true)]) {
            let mut store = vec![0.0f32; rows * h + 16];
            let at = store.as_ptr().align_offset(32) + shift;
            store[at..at + rows * h].copy_from_slice(&wh);
            let whs = &store[at..at + rows * h];
            let (mut hh, mut cc) = (h0.clone(), c0.clone());
            assert!(simd::lstm_step::<V, Fast>(
                hp,
                &wx,
                whs,
                &b,
                &x,
                &mut hh,
                &mut cc,
                &mut scratch,
                rev
            ));
            for u in 0..h {
                assert!(
                    (hh[u] - want_h[u]).abs() <= 1e-5,
                    "{lanes} lanes {i}x{h} shift {shift} rev {rev} h[{u}]"
                );
                assert!(
                    (cc[u] - want_c[u]).abs() <= 1e-5,
                    "{lanes} lanes {i}x{h} shift {shift} rev {rev} c[{u}]"
                );
            }
        }
    }
}

/// The fused GRU step (reset gate after the product) against the scalar
/// column-major products and gate math, at 8 lanes and at 16, on
/// [`STEP_SIZES`].
#[test]
fn gru_step_agrees_with_the_scalar_kernels() {
    gru_step_agrees::<F32x8>();
    gru_step_agrees::<F32x16>();
}

fn gru_step_agrees<V: Vector>() {
    use super::activation::Fast;
    for (i, h) in STEP_SIZES {
        let hp = h.div_ceil(PANEL) * PANEL;
        let rows = 3 * hp;
        let mut rng = Rng(0x5A5A + h as u64);
        let (wx, wh) = (rng.vec(rows * i), rng.vec(rows * h));
        let (bx, bh) = (rng.vec(rows), rng.vec(rows));
        let x = rng.vec(i);
        let h0 = rng.vec(h);
        let (mut gx, mut gh) = (bx.clone(), bh.clone());
        scalar::colmajor_matvec_acc(&wx, &x, &mut gx);
        scalar::colmajor_matvec_acc(&wh, &h0, &mut gh);
        let want: Vec<f32> = (0..h)
            .map(|u| {
                let z = sigmoid_fast(gx[u] + gh[u]);
                let r = sigmoid_fast(gx[hp + u] + gh[hp + u]);
                let n = tanh_fast(gx[2 * hp + u] + r * gh[2 * hp + u]);
                (1.0 - z) * n + z * h0[u]
            })
            .collect();
        for rev in [false, true] {
            let mut hh = h0.clone();
            let mut scratch = vec![0.0f32; 2 * rows];
            assert!(simd::gru_reset_after_step::<V, Fast>(
                hp,
                &wx,
                &wh,
                &bx,
                &bh,
                &x,
                &mut hh,
                &mut scratch,
                rev
            ));
            for u in 0..h {
                assert!(
                    (hh[u] - want[u]).abs() <= 1e-5,
                    "{} lanes {i}x{h} rev {rev} h[{u}]: {} vs {}",
                    V::LANES,
                    hh[u],
                    want[u]
                );
            }
        }
    }
}
