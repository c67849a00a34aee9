//! Elman step: `h = act(W_x x + b + W_h h_prev)`.

use super::ElmanAct;
use crate::float::Float;

/// Forward of one step for `B` rows. `gx` holds the input projection plus bias on
/// entry and the unmasked new state on return; `h_out` gets the (masked) state.
pub fn forward_step<T: Float>(
    act: ElmanAct,
    gx: &mut [T],
    gh: &[T],
    h_prev: &[T],
    h_out: &mut [T],
    mask: Option<&[T]>,
    _hidden: usize,
) {
    for (v, &r) in gx.iter_mut().zip(gh) {
        *v += r;
    }
    match act {
        ElmanAct::Tanh => T::tanh_slice(gx),
        // `max` also maps NaN to 0, like the runtime's relu.
        ElmanAct::Relu => gx.iter_mut().for_each(|v| *v = v.max(T::ZERO)),
    }
    super::merge_masked(h_out, gx, h_prev, mask);
}

/// Backward of one step: `dg` gets the pre-activation gradient, `dh_prev` the
/// part of the gradient that skips the cell on masked rows (zero elsewhere).
pub fn backward_step<T: Float>(
    act: ElmanAct,
    h_new: &[T],
    dh: &[T],
    dg: &mut [T],
    dh_prev: &mut [T],
    mask: Option<&[T]>,
    hidden: usize,
) {
    match act {
        ElmanAct::Tanh => {
            for ((d, &y), &g) in dg.iter_mut().zip(h_new).zip(dh) {
                *d = g * (T::ONE - y * y);
            }
        }
        ElmanAct::Relu => {
            for ((d, &y), &g) in dg.iter_mut().zip(h_new).zip(dh) {
                *d = if y > T::ZERO { g } else { T::ZERO };
            }
        }
    }
    super::split_masked_grad(dg, dh, dh_prev, mask, hidden, 1);
}
