//! GRU step, gate blocks z, r, n: `h = (1 - z) n + z h_prev`, both reset variants.

use crate::float::Float;

/// Reset-after forward for `B` rows. `gx` (`[B, 3H]`, input projection plus `b_x`)
/// becomes `z, r, n`; `gh` is `W_h h_prev + b_h`; `ghn` gets its n block.
pub fn forward_step_after<T: Float>(
    gx: &mut [T],
    gh: &[T],
    h_prev: &[T],
    h_out: &mut [T],
    ghn: &mut [T],
    mask: Option<&[T]>,
    h: usize,
) {
    let g3 = 3 * h;
    for (row, (ga, gr)) in gx.chunks_exact_mut(g3).zip(gh.chunks_exact(g3)).enumerate() {
        let (zr, n) = ga.split_at_mut(2 * h);
        for (v, &a) in zr.iter_mut().zip(gr) {
            *v += a;
        }
        T::sigmoid_slice(zr);
        let r = row * h..(row + 1) * h;
        ghn[r.clone()].copy_from_slice(&gr[2 * h..]);
        for k in 0..h {
            n[k] += zr[h + k] * gr[2 * h + k];
        }
        T::tanh_slice(n);
        if mask.is_none_or(|m| m[row] > T::ZERO) {
            let hp = &h_prev[r.clone()];
            for (k, ho) in h_out[r].iter_mut().enumerate() {
                let z = zr[k];
                *ho = (T::ONE - z) * n[k] + z * hp[k];
            }
        } else {
            h_out[r.clone()].copy_from_slice(&h_prev[r]);
        }
    }
}

/// Reset-after backward: `dg` gets the gradient of the input-side pre-activations,
/// `dgh` of the recurrent side (`W_h h + b_h`), `dh_prev` the direct path.
#[expect(clippy::too_many_arguments, reason = "plain slices of one step, named")]
pub fn backward_step_after<T: Float>(
    gates: &[T],
    ghn: &[T],
    h_prev: &[T],
    dh: &[T],
    dg: &mut [T],
    dgh: &mut [T],
    dh_prev: &mut [T],
    mask: Option<&[T]>,
    h: usize,
) {
    let g3 = 3 * h;
    for (row, (ga, (d, dr_h))) in gates
        .chunks_exact(g3)
        .zip(dg.chunks_exact_mut(g3).zip(dgh.chunks_exact_mut(g3)))
        .enumerate()
    {
        let r = row * h..(row + 1) * h;
        let (dhr, hp, gn) = (
            &dh[r.start..][..h],
            &h_prev[r.start..][..h],
            &ghn[r.start..][..h],
        );
        let dp = &mut dh_prev[r.start..][..h];
        let (gz, gr, gnn) = (&ga[..h], &ga[h..2 * h], &ga[2 * h..3 * h]);
        let (dz_x, rest) = d.split_at_mut(h);
        let (dr_x, dn_x) = rest.split_at_mut(h);
        let (dz_h, rest) = dr_h.split_at_mut(h);
        let (dr_hh, dn_h) = rest.split_at_mut(h);
        let (dr_x, dn_x, dz_h, dr_hh, dn_h) = (
            &mut dr_x[..h],
            &mut dn_x[..h],
            &mut dz_h[..h],
            &mut dr_hh[..h],
            &mut dn_h[..h],
        );
        let dz_x = &mut dz_x[..h];
        for k in 0..h {
            let (z, rr, n) = (gz[k], gr[k], gnn[k]);
            let dn = dhr[k] * (T::ONE - z) * (T::ONE - n * n);
            let dz = dhr[k] * (hp[k] - n) * z * (T::ONE - z);
            let drr = dn * gn[k] * rr * (T::ONE - rr);
            dz_x[k] = dz;
            dr_x[k] = drr;
            dn_x[k] = dn;
            dz_h[k] = dz;
            dr_hh[k] = drr;
            dn_h[k] = dn * rr;
            dp[k] = dhr[k] * z;
        }
    }
    if let Some(mask) = mask {
        for (row, &m) in mask.iter().enumerate() {
            if m <= T::ZERO {
                let r = row * h..(row + 1) * h;
                dh_prev[r.clone()].copy_from_slice(&dh[r]);
                dg[row * g3..(row + 1) * g3].fill(T::ZERO);
                dgh[row * g3..(row + 1) * g3].fill(T::ZERO);
            }
        }
    }
}

/// Reset-before, first half of the forward: `z, r` into `gx`, `r * h_prev` into `rh`.
/// `gh` is `[B, 2H]`: the z and r rows of `W_h` times `h_prev`.
pub fn forward_gates_before<T: Float>(
    gx: &mut [T],
    gh: &[T],
    h_prev: &[T],
    rh: &mut [T],
    h: usize,
) {
    for (row, (ga, gr)) in gx
        .chunks_exact_mut(3 * h)
        .zip(gh.chunks_exact(2 * h))
        .enumerate()
    {
        let zr = &mut ga[..2 * h];
        for (v, &a) in zr.iter_mut().zip(gr) {
            *v += a;
        }
        T::sigmoid_slice(zr);
        for k in 0..h {
            rh[row * h + k] = zr[h + k] * h_prev[row * h + k];
        }
    }
}

/// Reset-before, second half: `n = tanh(gx_n + ghn)` with `ghn = W_hn (r * h_prev)`,
/// then the new state.
pub fn forward_step_before<T: Float>(
    gx: &mut [T],
    ghn: &[T],
    h_prev: &[T],
    h_out: &mut [T],
    mask: Option<&[T]>,
    h: usize,
) {
    for (row, ga) in gx.chunks_exact_mut(3 * h).enumerate() {
        let r = row * h..(row + 1) * h;
        let (z, n) = ga.split_at_mut(2 * h);
        let n = &mut n[..h];
        for (v, &a) in n.iter_mut().zip(&ghn[r.clone()]) {
            *v += a;
        }
        T::tanh_slice(n);
        if mask.is_none_or(|m| m[row] > T::ZERO) {
            let hp = &h_prev[r.clone()];
            for (k, ho) in h_out[r].iter_mut().enumerate() {
                *ho = (T::ONE - z[k]) * n[k] + z[k] * hp[k];
            }
        } else {
            h_out[r.clone()].copy_from_slice(&h_prev[r]);
        }
    }
}

/// Reset-before backward, first part: z and n pre-activation gradients into `dg`
/// (r is filled by [`backward_step_before_r`]), direct path into `dh_prev`.
pub fn backward_step_before_zn<T: Float>(
    gates: &[T],
    h_prev: &[T],
    dh: &[T],
    dg: &mut [T],
    dh_prev: &mut [T],
    mask: Option<&[T]>,
    h: usize,
) {
    let g3 = 3 * h;
    for (row, (ga, d)) in gates
        .chunks_exact(g3)
        .zip(dg.chunks_exact_mut(g3))
        .enumerate()
    {
        let r = row * h..(row + 1) * h;
        let (dhr, hp) = (&dh[r.clone()], &h_prev[r.clone()]);
        let dp = &mut dh_prev[r];
        for k in 0..h {
            let (z, n) = (ga[k], ga[2 * h + k]);
            d[k] = dhr[k] * (hp[k] - n) * z * (T::ONE - z);
            d[h + k] = T::ZERO;
            d[2 * h + k] = dhr[k] * (T::ONE - z) * (T::ONE - n * n);
            dp[k] = dhr[k] * z;
        }
    }
    split_masked_keep_direct(dg, dh, dh_prev, mask, h);
}

/// Like `split_masked_grad`, but real rows keep the direct path already in `dh_prev`.
fn split_masked_keep_direct<T: Float>(
    dg: &mut [T],
    dh: &[T],
    dh_prev: &mut [T],
    mask: Option<&[T]>,
    h: usize,
) {
    if let Some(mask) = mask {
        for (row, &m) in mask.iter().enumerate() {
            if m <= T::ZERO {
                let r = row * h..(row + 1) * h;
                dh_prev[r.clone()].copy_from_slice(&dh[r]);
                dg[row * 3 * h..(row + 1) * 3 * h].fill(T::ZERO);
            }
        }
    }
}

/// Reset-before backward, second part: with `drh = dn_pre x W_hn` (gradient of `r * h_prev`),
/// fills the r block of `dg` and adds `drh * r` to `dh_prev`.
pub fn backward_step_before_r<T: Float>(
    gates: &[T],
    h_prev: &[T],
    drh: &[T],
    dg: &mut [T],
    dh_prev: &mut [T],
    h: usize,
) {
    let g3 = 3 * h;
    for (row, (ga, d)) in gates
        .chunks_exact(g3)
        .zip(dg.chunks_exact_mut(g3))
        .enumerate()
    {
        for k in 0..h {
            let idx = row * h + k;
            let rr = ga[h + k];
            d[h + k] = drh[idx] * h_prev[idx] * rr * (T::ONE - rr);
            dh_prev[idx] += drh[idx] * rr;
        }
    }
}
