//! LSTM step, gate blocks i, f, g, o:
//! `c = f c_prev + i g`, `h = o tanh(c)`.

use crate::float::Float;

/// Forward of one step for `B` rows. `gx` (`[B, 4H]`, input projection plus bias)
/// becomes the activated gates; `tc` gets `tanh(c_new)`.
#[expect(clippy::too_many_arguments, reason = "plain slices of one step, named")]
pub fn forward_step<T: Float>(
    gx: &mut [T],
    gh: &[T],
    h_prev: &[T],
    c_prev: &[T],
    h_out: &mut [T],
    c_out: &mut [T],
    tc: &mut [T],
    mask: Option<&[T]>,
    h: usize,
) {
    for (v, &r) in gx.iter_mut().zip(gh) {
        *v += r;
    }
    let g4 = 4 * h;
    for (row, gates) in gx.chunks_exact_mut(g4).enumerate() {
        let (ifg, o) = gates.split_at_mut(3 * h);
        let (i_f, g) = ifg.split_at_mut(2 * h);
        T::sigmoid_slice(i_f);
        T::tanh_slice(g);
        T::sigmoid_slice(o);
        let r = row * h..(row + 1) * h;
        let (i, f) = i_f.split_at(h);
        let keep = mask.is_none_or(|m| m[row] > T::ZERO);
        let tcr = &mut tc[r.start..][..h];
        let (i, f, g, cp) = (&i[..h], &f[..h], &g[..h], &c_prev[r.start..][..h]);
        for k in 0..h {
            tcr[k] = f[k] * cp[k] + i[k] * g[k];
        }
        if keep {
            c_out[r.clone()].copy_from_slice(tcr);
        } else {
            c_out[r.clone()].copy_from_slice(&c_prev[r.clone()]);
        }
        T::tanh_slice(tcr);
        if keep {
            for ((ho, &oo), &t) in h_out[r.clone()].iter_mut().zip(o.iter()).zip(tcr.iter()) {
                *ho = oo * t;
            }
        } else {
            h_out[r.clone()].copy_from_slice(&h_prev[r]);
        }
    }
}

/// Backward of one step. On entry `dc` holds the gradient reaching `c_t`, on
/// return the one reaching `c_{t-1}`. `dg` gets the pre-activation gradients,
/// `dh_prev` the direct path (masked rows only; the `W_h` product is added by the caller).
#[expect(clippy::too_many_arguments, reason = "plain slices of one step, named")]
pub fn backward_step<T: Float>(
    gates: &[T],
    tc: &[T],
    c_prev: &[T],
    dh: &[T],
    dc: &mut [T],
    dg: &mut [T],
    dh_prev: &mut [T],
    mask: Option<&[T]>,
    h: usize,
) {
    let g4 = 4 * h;
    for (row, (ga, d)) in gates
        .chunks_exact(g4)
        .zip(dg.chunks_exact_mut(g4))
        .enumerate()
    {
        let r = row * h..(row + 1) * h;
        if !mask.is_none_or(|m| m[row] > T::ZERO) {
            // padded step: state passes through unchanged
            d.fill(T::ZERO);
            dh_prev[r.clone()].copy_from_slice(&dh[r]);
            continue;
        }
        dh_prev[r.clone()].fill(T::ZERO);
        let (i, rest) = ga.split_at(h);
        let (f, rest) = rest.split_at(h);
        let (g, o) = rest.split_at(h);
        let (di, rest) = d.split_at_mut(h);
        let (df, rest) = rest.split_at_mut(h);
        let (dgg, dout) = rest.split_at_mut(h);
        // Exact-length slices so the loop below runs without bounds checks.
        let (i, f, g, o) = (&i[..h], &f[..h], &g[..h], &o[..h]);
        let (di, df, dgg, dout) = (&mut di[..h], &mut df[..h], &mut dgg[..h], &mut dout[..h]);
        let (dhr, tcr, cpr) = (
            &dh[r.start..][..h],
            &tc[r.start..][..h],
            &c_prev[r.start..][..h],
        );
        let dcr = &mut dc[r.start..][..h];
        for k in 0..h {
            let t = tcr[k];
            let dct = dcr[k] + dhr[k] * o[k] * (T::ONE - t * t);
            dout[k] = dhr[k] * t * o[k] * (T::ONE - o[k]);
            di[k] = dct * g[k] * i[k] * (T::ONE - i[k]);
            dgg[k] = dct * i[k] * (T::ONE - g[k] * g[k]);
            df[k] = dct * cpr[k] * f[k] * (T::ONE - f[k]);
            dcr[k] = dct * f[k];
        }
    }
}
