//! Explicit SIMD kernels through `wide` (`f32x8`: one AVX register, two
//! SSE/NEON registers; plain arrays where the target has no SIMD, which is why
//! Cortex-M runs [`scalar`](super::scalar) instead).
//!
//! The column-major products and the fused LSTM/GRU steps are written for
//! either vector width, `V` = `f32x8` or `f32x16` (the backend uses
//! `lanes::Wide`: 16 lanes where AVX-512F is enabled). Rows are padded to
//! panels of 8 in the file ([`PANEL`]), so with 16 lanes a block of rows
//! whose count is an odd number of panels ends in one 8-lane panel.
//!
//! Each function computes what its twin in `scalar` computes; the shared tests
//! in `kernel::tests` hold them to it.

use crate::format::PANEL;
use crate::kernel::activation::Act;
use crate::kernel::lanes::{load_part, store_part, F32x8, Lanes, Vector, Wide};

/// Accumulator chains one pass keeps in flight: enough independent
/// multiply-adds to cover the FMA latency on two pipes.
const TILE: usize = 8;

/// Dot product (row-major kernels): two 8-wide accumulators, then a
/// horizontal sum. Extra elements of the longer slice are ignored.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [F32x8::splat(0.0); 2];
    let mut ca = a.chunks_exact(16);
    let mut cb = b.chunks_exact(16);
    for (x, y) in (&mut ca).zip(&mut cb) {
        acc[0] = F32x8::load(&x[..8]).mul_add(F32x8::load(&y[..8]), acc[0]);
        acc[1] = F32x8::load(&x[8..]).mul_add(F32x8::load(&y[8..]), acc[1]);
    }
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let mut ca = ra.chunks_exact(8);
    let mut cb = rb.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        acc[0] = F32x8::load(x).mul_add(F32x8::load(y), acc[0]);
    }
    let mut s = (acc[0] + acc[1]).reduce_add();
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        s += x * y;
    }
    s
}

/// `out[r] += Σ_c w[r * cols + c] * x[c]` for a row-major `out.len() x x.len()` matrix.
#[inline]
pub fn matvec_acc(w: &[f32], x: &[f32], out: &mut [f32]) {
    let cols = x.len();
    if cols == 0 {
        return;
    }
    for (o, row) in out.iter_mut().zip(w.chunks_exact(cols)) {
        *o += dot(row, x);
    }
}

/// `out[r] += Σ_k W[r][k] x[k]` for `W` in [`Layout::ColMajor8`](crate::format::Layout::ColMajor8)
/// (see [`scalar::colmajor_matvec_acc`](super::scalar::colmajor_matvec_acc)),
/// 16 lanes at a time where AVX-512F is enabled, else 8.
#[inline]
pub fn colmajor_matvec_acc(w: &[f32], x: &[f32], out: &mut [f32]) {
    colmajor_rows2_acc::<Wide>(w, x, &[], &[], out.len(), 0, out);
}

/// `out += W_x x + W_h h`, both [`Layout::ColMajor8`](crate::format::Layout::ColMajor8),
/// in one pass: tiles of up to `TILE` vectors of rows, each accumulated in
/// registers over all of `x` then all of `h` (broadcast one input, fused
/// multiply-add of one contiguous piece of its column), stored once.
#[inline]
pub fn colmajor_matvec2_acc(wx: &[f32], x: &[f32], wh: &[f32], h: &[f32], out: &mut [f32]) {
    colmajor_rows2_acc::<Wide>(wx, x, wh, h, out.len(), 0, out);
}

/// Rows `r0..r0 + out.len()` of a column-major `W` of `rows` rows:
/// `out += W[r0..][..out.len()] x` (one gate block of a layer).
#[inline]
pub fn colmajor_rows_acc(w: &[f32], rows: usize, r0: usize, x: &[f32], out: &mut [f32]) {
    colmajor_rows2_acc::<Wide>(w, x, &[], &[], rows, r0, out);
}

/// [`colmajor_matvec2_acc`] for rows `r0..r0 + out.len()` of `rows` (whole
/// panels of 8; a last partial panel of `out` is left as it is), `V` lanes
/// at a time.
#[inline]
pub(crate) fn colmajor_rows2_acc<V: Vector>(
    wx: &[f32],
    x: &[f32],
    wh: &[f32],
    h: &[f32],
    rows: usize,
    r0: usize,
    out: &mut [f32],
) {
    let n = out.len() / PANEL * PANEL;
    let l = V::LANES;
    let mut o = 0;
    while n - o >= TILE * l {
        tile::<V, TILE>(o, r0, rows, wx, x, wh, h, out);
        o += TILE * l;
    }
    if n - o >= 4 * l {
        tile::<V, 4>(o, r0, rows, wx, x, wh, h, out);
        o += 4 * l;
    }
    if n - o >= 2 * l {
        tile::<V, 2>(o, r0, rows, wx, x, wh, h, out);
        o += 2 * l;
    }
    if n - o >= l {
        tile::<V, 1>(o, r0, rows, wx, x, wh, h, out);
        o += l;
    }
    if n - o >= PANEL {
        // 16 lanes, an odd number of panels: the last one.
        tile::<F32x8, 1>(o, r0, rows, wx, x, wh, h, out);
    }
}

/// Rows `r0 + o..r0 + o + T V::LANES` of [`colmajor_rows2_acc`], into
/// `out[o..]` (nothing if `out` is shorter).
#[inline(always)]
#[expect(
    clippy::too_many_arguments,
    reason = "two matrices, their inputs, the tile"
)]
fn tile<V: Vector, const T: usize>(
    o: usize,
    r0: usize,
    rows: usize,
    wx: &[f32],
    x: &[f32],
    wh: &[f32],
    h: &[f32],
    out: &mut [f32],
) {
    let Some(out) = out.get_mut(o..o + T * V::LANES) else {
        return;
    };
    // `out` in place of the bias: the tile accumulates onto it.
    let [acc] = tile_acc::<V, T, 1>(out, wx, x, wh, h, rows, r0 + o, false);
    for (a, o) in acc.iter().zip(out.chunks_exact_mut(V::LANES)) {
        a.store(o);
    }
}

/// Whether `w` holds `v.len()` columns of `rows` values (column-major).
#[inline(always)]
fn fits(w: &[f32], v: &[f32], rows: usize) -> bool {
    v.len().checked_mul(rows).is_some_and(|n| n <= w.len())
}

/// `out[r] = b[r] + Σ_k W_x[k][r] x[k] + Σ_k W_h[k][r] h[k]` for `r < rows`,
/// both matrices [`Layout::ColMajor8`](crate::format::Layout::ColMajor8) with
/// `rows` rows (a multiple of 8): the bias goes straight into the
/// accumulators, tiles of 8 vectors of rows keep 8 multiply-add chains in
/// registers over every column, a last tile of fewer vectors splits the
/// columns over more accumulator sets so that it too has about 8 chains in
/// flight. Where the weights outgrow the L1 data cache ([`streams`]) it
/// alternates direction with `rev`: at 16 lanes in tiles of 4 vectors
/// ([`swept_tiles`]), the last tile and the last column first when `rev` is
/// set; at 8 lanes in whole columns ([`stream_columns`]), the last column
/// first when `rev` is set. Returns `false`, writing nothing, if the slices
/// do not fit together.
#[inline(always)]
#[expect(
    clippy::too_many_arguments,
    reason = "two matrices, their inputs, the bias, the direction"
)]
pub(crate) fn bias_matvec2<V: Vector>(
    out: &mut [f32],
    b: &[f32],
    wx: &[f32],
    x: &[f32],
    wh: &[f32],
    h: &[f32],
    rows: usize,
    rev: bool,
) -> bool {
    if !rows.is_multiple_of(PANEL)
        || out.len() < rows
        || b.len() < rows
        || !fits(wx, x, rows)
        || !fits(wh, h, rows)
    {
        return false;
    }
    if streams(rows, x.len() + h.len()) {
        if V::LANES == 16 {
            swept_tiles::<V>(out, b, wx, x, wh, h, rows, rev);
            return true;
        }
        let Some(out) = out.get_mut(..rows) else {
            return false;
        };
        out.copy_from_slice(&b[..rows]);
        if rev {
            stream_columns::<V>(out, wh, h, true);
            stream_columns::<V>(out, wx, x, true);
        } else {
            stream_columns::<V>(out, wx, x, false);
            stream_columns::<V>(out, wh, h, false);
        }
        return true;
    }
    let l = V::LANES;
    let nv = rows / l;
    let mut v = 0;
    while v + 8 <= nv {
        bias_tile::<V, 8, 1>(v * l, out, b, wx, x, wh, h, rows, false);
        v += 8;
    }
    while nv - v >= 4 {
        bias_tile::<V, 4, 2>(v * l, out, b, wx, x, wh, h, rows, false);
        v += 4;
    }
    last_tiles::<V>(v, out, b, wx, x, wh, h, rows);
    true
}

/// The rows of [`bias_matvec2`] from vector `v` on, fewer than 4 vectors:
/// tiles of 2 and 1 vectors, then with 16 lanes and an odd number of panels
/// the last panel at 8 lanes.
#[inline(always)]
#[expect(
    clippy::too_many_arguments,
    reason = "two matrices, their inputs, the bias, where to start"
)]
fn last_tiles<V: Vector>(
    mut v: usize,
    out: &mut [f32],
    b: &[f32],
    wx: &[f32],
    x: &[f32],
    wh: &[f32],
    h: &[f32],
    rows: usize,
) {
    let l = V::LANES;
    let nv = rows / l;
    if nv.saturating_sub(v) >= 2 {
        bias_tile::<V, 2, 4>(v * l, out, b, wx, x, wh, h, rows, false);
        v += 2;
    }
    if nv > v {
        bias_tile::<V, 1, 4>(v * l, out, b, wx, x, wh, h, rows, false);
    }
    if rows % l >= PANEL {
        // 16 lanes, an odd number of panels: the last one.
        bias_tile::<F32x8, 1, 4>(nv * l, out, b, wx, x, wh, h, rows, false);
    }
}

/// Vectors of rows per tile of [`swept_tiles`].
const SWEPT_TILE: usize = 4;

/// [`bias_matvec2`] for weights beyond the L1 data cache, at 16 lanes:
/// tiles of [`SWEPT_TILE`] vectors of rows, each accumulated in registers
/// over all of `x` then all of `h` (as [`bias_tile`] does), the tiles
/// from the first to the last; with `rev`, the tiles from the last to the
/// first and in each the columns from the last of `h` to the first of `x`,
/// so that a step starts on the weights the step before read last (still
/// in L1). Rows beyond the last whole tile ([`bias_tile`] of 2 and 1
/// vectors, an 8-lane panel) come last, or first with `rev`. The caller
/// has checked the slices as [`bias_matvec2`] does.
///
/// On an AVX-512 Xeon (48 KB L1, 2 MB L2) against [`stream_columns`]
/// (which [`bias_matvec2`] uses at 8 lanes), `sized` steps, medians of
/// per-round ratios: LSTM 1x64 1.14x as fast, 1x128 1.12x, 16x64 1.10x, GRU
/// 1x128 1.06x, Elman 1x128 1.23x, GRU 1x64 and 16x64 level (core README,
/// "Fast host build"); tiles of 4 vectors ran 0-6% faster than tiles of 8
/// (16 lost at the GRU's 12-vector products).
#[inline(always)]
#[expect(
    clippy::too_many_arguments,
    reason = "two matrices, their inputs, the bias, the direction"
)]
fn swept_tiles<V: Vector>(
    out: &mut [f32],
    b: &[f32],
    wx: &[f32],
    x: &[f32],
    wh: &[f32],
    h: &[f32],
    rows: usize,
    rev: bool,
) {
    const T: usize = SWEPT_TILE;
    let l = V::LANES;
    let nv = rows / l;
    let tiles = nv / T;
    let rest = |out: &mut [f32]| last_tiles::<V>(tiles * T, out, b, wx, x, wh, h, rows);
    if rev {
        rest(out);
    }
    for i in 0..tiles {
        let t = if rev { tiles - 1 - i } else { i };
        bias_tile::<V, T, 1>(t * T * l, out, b, wx, x, wh, h, rows, rev);
    }
    if !rev {
        rest(out);
    }
}

/// Whether [`bias_matvec2`] streams a product of `rows` rows and `cols`
/// columns (over both of its matrices), sweeping it forward and backward on
/// alternate steps (at 8 lanes column by column, at 16 in [`swept_tiles`])
/// instead of tiling its rows forward: from about where the weights outgrow
/// a 32 KB L1 data cache.
///
/// Streamed weights come from L2. A step that sweeps them in the same order
/// as the step before starts on the columns read longest ago, which the L1
/// cache no longer holds; sweeping every other step in reverse
/// ([`Model::step`](crate::Model::step) keeps the direction in the state's
/// last word) starts on the columns the last step read most recently, still
/// in L1. On a Zen 3 (32 KB L1), `sized` steps against forward sweeps
/// only (and GRU 1x64 and every Elman layer tiled): Elman 1x128 1.24x as
/// fast, GRU 1x64 1.17x, LSTM 1x64 1.12x, 16x64 layers 1.08-1.09x, 128-unit
/// LSTM and GRU layers 1.05x (core README, "Fast host build").
pub(crate) const fn streams(rows: usize, cols: usize) -> bool {
    rows.saturating_mul(cols) > STREAM_ABOVE
}

/// Weights (f32 values, 32 KB) beyond which [`bias_matvec2`] streams.
const STREAM_ABOVE: usize = 8 * 1024;

/// `out += W v` for the column-major `w` (`out.len()` rows, a multiple of
/// 8), eight columns at a time: each vector of `out` is loaded, takes eight
/// multiply-adds (one per column, each column read sequentially) and is
/// stored, so the weights stream through in eight sequential runs while
/// `out` stays in L1. The groups of eight columns go from the first to the
/// last, or with `rev` from the last to the first (a last group of fewer
/// columns is then first). With 16 lanes and an odd number of panels, the
/// last panel's rows take a second pass of their own. Does nothing unless
/// `w` holds `v.len()` columns and `out.len()` is a multiple of 8.
#[inline(always)]
fn stream_columns<V: Vector>(out: &mut [f32], w: &[f32], v: &[f32], rev: bool) {
    let rows = out.len();
    if !fits(w, v, rows) || !rows.is_multiple_of(PANEL) {
        return;
    }
    let main = rows / V::LANES * V::LANES;
    let Some((head, tail)) = out.split_at_mut_checked(main) else {
        return;
    };
    stream_rows::<V>(head, 0, rows, w, v, rev);
    stream_rows::<F32x8>(tail, main, rows, w, v, rev);
}

/// [`stream_columns`] for rows `r0..r0 + out.len()` of `rows` (`out.len()`
/// a multiple of `V::LANES`; the caller has checked that `w` holds
/// `v.len()` columns of `rows` values).
#[inline(always)]
#[expect(
    unsafe_code,
    reason = "unchecked reads after one up-front bounds check"
)]
fn stream_rows<V: Vector>(
    out: &mut [f32],
    r0: usize,
    rows: usize,
    w: &[f32],
    v: &[f32],
    rev: bool,
) {
    let l = V::LANES;
    if !fits(w, v, rows) || r0 + out.len() > rows || !out.len().is_multiple_of(l) {
        return;
    }
    let wp = w.as_ptr();
    // SAFETY (every read below): vector `p < out.len() / l` of column `k <
    // v.len()` is `w[k * rows + r0 + l p..][..l]`, inside `w` because
    // `r0 + l p + l <= r0 + out.len() <= rows` and `v.len() * rows <=
    // w.len()` (checked above).
    let load = |k: usize, p: usize| -> V { unsafe { V::read(wp.add(k * rows + r0 + p * l)) } };
    let (groups, rest) = v.as_chunks::<8>();
    let k_rest = groups.len() * 8;
    let rest_columns = |out: &mut [f32]| {
        for (j, &xk) in rest.iter().enumerate() {
            let xv = V::splat(xk);
            for (p, o) in out.chunks_exact_mut(l).enumerate() {
                load(k_rest + j, p).mul_add(xv, V::load(o)).store(o);
            }
        }
    };
    if rev {
        rest_columns(out);
    }
    // One loop for both directions: the group's body as a closure called
    // from a forward and a reversed loop measured 1.4x slower (sized GRU
    // 1x64, every step reversed), as it was compiled.
    let n = groups.len();
    for i in 0..n {
        let g = if rev { n - 1 - i } else { i };
        let Some(xs) = groups.get(g) else {
            break;
        };
        let k0 = g * 8;
        let xv = xs.map(V::splat);
        for (p, o) in out.chunks_exact_mut(l).enumerate() {
            let mut a = V::load(o);
            let mut b = load(k0, p) * xv[0];
            for j in (2..8).step_by(2) {
                a = load(k0 + j - 1, p).mul_add(xv[j - 1], a);
                b = load(k0 + j, p).mul_add(xv[j], b);
            }
            a = load(k0 + 7, p).mul_add(xv[7], a);
            (a + b).store(o);
        }
    }
    if !rev {
        rest_columns(out);
    }
}

/// Rows `r0..r0 + T V::LANES` of [`bias_matvec2`], columns spread over `S`
/// accumulator sets (with `back` from the last to the first, see
/// [`tile_acc`]). The caller has checked that `out` and `b` hold `rows`
/// values and the matrices `x.len()` and `h.len()` columns of `rows`.
#[inline(always)]
#[expect(
    clippy::too_many_arguments,
    reason = "two matrices, their inputs, the bias, the direction"
)]
fn bias_tile<V: Vector, const T: usize, const S: usize>(
    r0: usize,
    out: &mut [f32],
    b: &[f32],
    wx: &[f32],
    x: &[f32],
    wh: &[f32],
    h: &[f32],
    rows: usize,
    back: bool,
) {
    let n = T * V::LANES;
    let Some(bias) = b.get(r0..r0 + n) else {
        return;
    };
    let acc = tile_acc::<V, T, S>(bias, wx, x, wh, h, rows, r0, back);
    let Some(out) = out.get_mut(r0..r0 + n) else {
        return;
    };
    for (t, o) in out.chunks_exact_mut(V::LANES).enumerate() {
        let mut v = acc[0][t];
        for a in &acc[1..] {
            v = v + a[t];
        }
        v.store(o);
    }
}

/// `b + W_x x + W_h h` for rows `r0..r0 + T V::LANES` of matrices of `rows`
/// rows (`bias` the tile's rows of `b`) in `S` accumulator sets, each in
/// `T` registers: the bias in the first, the columns spread over the sets
/// (see [`columns`]); their sum is the result. With `back`, the columns from
/// the last of `h` to the first of `x`, all into the first set.
#[inline(always)]
#[expect(
    clippy::too_many_arguments,
    reason = "two matrices, their inputs, the bias, where, the direction"
)]
fn tile_acc<V: Vector, const T: usize, const S: usize>(
    bias: &[f32],
    wx: &[f32],
    x: &[f32],
    wh: &[f32],
    h: &[f32],
    rows: usize,
    r0: usize,
    back: bool,
) -> [[V; T]; S] {
    let mut acc = [[V::splat(0.0); T]; S];
    for (a, b) in acc[0].iter_mut().zip(bias.chunks_exact(V::LANES)) {
        *a = V::load(b);
    }
    if back {
        columns::<V, T, S>(&mut acc, r0, rows, wh, h, true);
        columns::<V, T, S>(&mut acc, r0, rows, wx, x, true);
    } else {
        columns::<V, T, S>(&mut acc, r0, rows, wx, x, false);
        columns::<V, T, S>(&mut acc, r0, rows, wh, h, false);
    }
    acc
}

/// `acc[k % S][t] += W[k][r0 + t L..r0 + t L + L] v[k]` (`L` = `V::LANES`)
/// for every column `k` of the column-major `w` (`rows` rows), the last
/// `v.len() % S` columns into set 0; with `back`, every column into set 0,
/// from the last column to the first. Does nothing unless `w` holds
/// `v.len()` columns and `r0 + T L <= rows`.
///
/// The `unsafe` reads: with checked slicing the compiler kept a bounds check,
/// a select and a division per column in this loop (steps 2-4x slower,
/// measured); the bounds are checked once, before the loop.
#[inline(always)]
#[expect(
    unsafe_code,
    reason = "unchecked reads after one up-front bounds check"
)]
fn columns<V: Vector, const T: usize, const S: usize>(
    acc: &mut [[V; T]; S],
    r0: usize,
    rows: usize,
    w: &[f32],
    v: &[f32],
    back: bool,
) {
    let (n, l) = (v.len(), V::LANES);
    if !fits(w, v, rows) || r0 + T * l > rows {
        return;
    }
    let (wp, vp) = (w.as_ptr(), v.as_ptr());
    // SAFETY (every read below): column `k < n` is `w[k * rows..(k + 1) *
    // rows]`, inside `w` because `n * rows <= w.len()`; the tile reads
    // `r0..r0 + T l` of it, inside because `r0 + T l <= rows`; `v[k]` is read
    // only for `k < n`.
    // Column `k` into one accumulator set.
    let column = |k: usize, a: &mut [V; T]| {
        let xv = V::splat(unsafe { *vp.add(k) });
        for (t, a) in a.iter_mut().enumerate() {
            *a = unsafe { V::read(wp.add(k * rows + r0 + t * l)) }.mul_add(xv, *a);
        }
    };
    if back {
        for k in (0..n).rev() {
            column(k, &mut acc[0]);
        }
        return;
    }
    let mut k = 0;
    while k + S <= n {
        for (s, a) in acc.iter_mut().enumerate() {
            column(k + s, a);
        }
        k += S;
    }
    while k < n {
        column(k, &mut acc[0]);
        k += 1;
    }
}

/// One whole LSTM step (gate order i, f, g, o) on [`Layout::ColMajor8`](crate::format::Layout::ColMajor8)
/// weights of gate blocks `hp` rows each: all gate pre-activations in one
/// pass ([`bias_matvec2`], into `scratch`, at least `4 hp` words), then the
/// gate math a vector of units at a time, updating `h` and `c` in place.
/// `rev` is the direction of a streamed product ([`streams`]). Returns
/// `false`, touching nothing, if the slices do not fit together.
#[inline(always)]
#[expect(clippy::too_many_arguments, reason = "one layer's slices")]
pub(crate) fn lstm_step<V: Vector, A: Act>(
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
    match hp {
        PANEL => return lstm_small::<F32x8, A, 1, 4>(wx, wh, b, x, h, c),
        16 if V::LANES == 16 => return lstm_small::<V, A, 1, 4>(wx, wh, b, x, h, c),
        16 => return lstm_small::<F32x8, A, 2, 8>(wx, wh, b, x, h, c),
        _ => {}
    }
    let n = h.len();
    if n > hp || c.len() != n || !bias_matvec2::<V>(scratch, b, wx, x, wh, h, 4 * hp, rev) {
        return false;
    }
    if hp.is_multiple_of(V::LANES) {
        super::lstm_gates::<V, A>(scratch, hp, n, c, h);
    } else {
        super::lstm_gates::<F32x8, A>(scratch, hp, n, c, h);
    }
    true
}

/// [`lstm_step`] for gate blocks of `NP` vectors (at most 16 units), `T = 4
/// NP` vectors in all: the pre-activations stay in registers (bias, then
/// every column of `W_x` and of `W_h` in order) and the gate math runs on
/// them there, with no pass through the scratch buffer.
#[inline(always)]
fn lstm_small<V: Vector, A: Act, const NP: usize, const T: usize>(
    wx: &[f32],
    wh: &[f32],
    b: &[f32],
    x: &[f32],
    h: &mut [f32],
    c: &mut [f32],
) -> bool {
    let (n, l) = (h.len(), V::LANES);
    if T != 4 * NP || n > NP * l || c.len() != n {
        return false;
    }
    let Some(acc) = small_preacts::<V, T>(b, wx, x, wh, h) else {
        return false;
    };
    for u in 0..NP {
        let gates = [acc[u], acc[NP + u], acc[2 * NP + u], acc[3 * NP + u]];
        let (c1, h1) = super::lstm_cell::<V, A>(gates, load_part(c, u * l));
        store_part(c1, c, u * l);
        store_part(h1, h, u * l);
    }
    true
}

/// The pre-activations `b + W_x x + W_h h` of a layer of `T` vectors of
/// rows (both matrices [`Layout::ColMajor8`](crate::format::Layout::ColMajor8)),
/// in `T` registers; `None` if the slices do not fit together.
#[inline(always)]
fn small_preacts<V: Vector, const T: usize>(
    b: &[f32],
    wx: &[f32],
    x: &[f32],
    wh: &[f32],
    h: &[f32],
) -> Option<[V; T]> {
    let rows = T * V::LANES;
    let bias = b.get(..rows)?;
    if !fits(wx, x, rows) || !fits(wh, h, rows) {
        return None;
    }
    // Up to 4 vectors (8 units at 8 lanes): the columns alternate between
    // two sets of accumulators, so each multiply-add chain is half as long.
    // A step of a small layer waits on the one before it (the next step
    // reads the new `h`), so its time is this latency more than its
    // instruction count: GRU 1x8 (sized) 42.7-45.5 against 48.4-55.2 ns,
    // six alternating runs; no difference at 6 panels (GRU 1x16).
    Some(if T <= 4 {
        let [a, b] = tile_acc::<V, T, 2>(bias, wx, x, wh, h, rows, 0, false);
        core::array::from_fn(|t| a[t] + b[t])
    } else {
        let [a] = tile_acc::<V, T, 1>(bias, wx, x, wh, h, rows, 0, false);
        a
    })
}

/// One whole GRU step, reset gate after the recurrent product (gate order z,
/// r, n), on [`Layout::ColMajor8`](crate::format::Layout::ColMajor8) weights,
/// as [`lstm_step`] does it: the input and the recurrent pre-activations
/// (each with its bias) into `scratch` (at least `6 hp` words), then the gate
/// math (`false`, touching nothing, if the slices do not fit together); `rev`
/// as there.
/// With the weights on cache lines (the encoder's placement) this measured
/// 2-5% faster than the cell's generic step (two products, then the gate
/// math) at 32 and 64 units too, where the generic step had been the faster
/// with weights 16 bytes past a line.
#[inline(always)]
#[expect(clippy::too_many_arguments, reason = "one layer's slices")]
pub(crate) fn gru_reset_after_step<V: Vector, A: Act>(
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
    match hp {
        PANEL => return gru_small::<F32x8, A, 1, 3>(wx, wh, bx, bh, x, h),
        16 if V::LANES == 16 => return gru_small::<V, A, 1, 3>(wx, wh, bx, bh, x, h),
        16 => return gru_small::<F32x8, A, 2, 6>(wx, wh, bx, bh, x, h),
        _ => {}
    }
    let n = h.len();
    let rows = 3 * hp;
    let Some((gx, gh)) = scratch.split_at_mut_checked(rows) else {
        return false;
    };
    if n > hp
        || !bias_matvec2::<V>(gx, bx, wx, x, &[], &[], rows, rev)
        || !bias_matvec2::<V>(gh, bh, wh, h, &[], &[], rows, rev)
    {
        return false;
    }
    if hp.is_multiple_of(V::LANES) {
        super::gru_gates::<V, A>(gx, gh, hp, n, h);
    } else {
        super::gru_gates::<F32x8, A>(gx, gh, hp, n, h);
    }
    true
}

/// [`gru_reset_after_step`] for gate blocks of `NP` vectors, `T = 3 NP`
/// vectors per matrix, as [`lstm_small`] does it: the input and the
/// recurrent pre-activations in registers, the gate math on them there.
#[inline(always)]
fn gru_small<V: Vector, A: Act, const NP: usize, const T: usize>(
    wx: &[f32],
    wh: &[f32],
    bx: &[f32],
    bh: &[f32],
    x: &[f32],
    h: &mut [f32],
) -> bool {
    let l = V::LANES;
    if T != 3 * NP || h.len() > NP * l {
        return false;
    }
    let (Some(gx), Some(gh)) = (
        small_preacts::<V, T>(bx, wx, x, &[], &[]),
        small_preacts::<V, T>(bh, wh, h, &[], &[]),
    ) else {
        return false;
    };
    for u in 0..NP {
        let xs = [gx[u], gx[NP + u], gx[2 * NP + u]];
        let hs = [gh[u], gh[NP + u], gh[2 * NP + u]];
        let h1 = super::gru_cell::<V, A>(xs, hs, load_part(h, u * l));
        store_part(h1, h, u * l);
    }
    true
}
