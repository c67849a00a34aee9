//! Activation functions, computed with `libm` so the host runs exactly the
//! math the microcontroller runs.

use crate::format::Activation;

/// Logistic sigmoid `1 / (1 + e^-x)`; saturates to exactly 0 and 1, keeps NaN.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + libm::expf(-x))
}

/// Hyperbolic tangent.
#[inline]
pub fn tanh(x: f32) -> f32 {
    libm::tanhf(x)
}

/// `max(0, x)`; NaN stays NaN.
#[inline]
pub fn relu(x: f32) -> f32 {
    if x < 0.0 {
        0.0
    } else {
        x
    }
}

/// Softmax in place, shifted by the maximum so it cannot overflow.
pub fn softmax(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = libm::expf(*x - max);
        sum += *x;
    }
    let inv = 1.0 / sum;
    for x in v.iter_mut() {
        *x *= inv;
    }
}

/// Applies `act` to every element of `v` in place.
pub fn apply(act: Activation, v: &mut [f32]) {
    match act {
        Activation::Linear => {}
        Activation::Tanh => v.iter_mut().for_each(|x| *x = tanh(*x)),
        Activation::Relu => v.iter_mut().for_each(|x| *x = relu(*x)),
        Activation::Sigmoid => v.iter_mut().for_each(|x| *x = sigmoid(*x)),
        Activation::Softmax => softmax(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_saturates_and_keeps_nan() {
        assert_eq!(sigmoid(f32::INFINITY), 1.0);
        assert_eq!(sigmoid(f32::NEG_INFINITY), 0.0);
        assert_eq!(sigmoid(0.0), 0.5);
        assert!(sigmoid(f32::NAN).is_nan());
    }

    #[test]
    fn softmax_is_stable_for_large_inputs() {
        let mut v = [1000.0, 1000.0, -1000.0];
        softmax(&mut v);
        assert!((v[0] - 0.5).abs() < 1e-6 && (v[1] - 0.5).abs() < 1e-6 && v[2] == 0.0);
    }
}
