//! The layers: one file per kind. Each takes validated weight slices (the
//! loader's checks), so its step cannot fail on the weights. Their public
//! `step`/`forward` are the scalar reference (exact activations) and check
//! the lengths of what they are given; [`crate::Model`] runs the fast
//! kernels after checking the lengths once per call.

pub mod dense;
pub mod elman;
pub mod embedding;
pub mod gru;
pub mod lstm;

use crate::Error;

pub use dense::Dense;
pub use elman::Elman;
pub use embedding::Embedding;
pub use gru::Gru;
pub use lstm::Lstm;

/// The `# Errors` section of every recurrent layer's public `step`.
macro_rules! step_errors {
    () => {
        "# Errors\n\n\
         [`Error::InputLength`](crate::Error::InputLength) unless `x` has `input` \
         values, [`Error::StateMismatch`](crate::Error::StateMismatch) unless each \
         state slice (`h`, and `c` of an LSTM) has `hidden`, and \
         [`Error::StateTooSmall`](crate::Error::StateTooSmall) if `scratch` is \
         shorter than [`scratch_len`](Self::scratch_len); nothing is written then."
    };
}
pub(crate) use step_errors;

/// The `# Errors` section of every Dense layer's public `forward`.
macro_rules! forward_errors {
    () => {
        "# Errors\n\n\
         [`Error::InputLength`](crate::Error::InputLength) unless `x` has `input` \
         values, [`Error::OutputLength`](crate::Error::OutputLength) unless `y` \
         has `out`; nothing is written then."
    };
}
pub(crate) use forward_errors;

/// The checks of a layer's public step: `x` of `input` values
/// ([`Error::InputLength`]), each state slice of `hidden`
/// ([`Error::StateMismatch`]), `scratch` of at least `needed` words
/// ([`Error::StateTooSmall`]).
pub(crate) fn check_step(
    input: usize,
    hidden: usize,
    x: &[f32],
    state: &[usize],
    scratch: usize,
    needed: usize,
) -> Result<(), Error> {
    if x.len() != input {
        return Err(Error::InputLength {
            expected: input,
            found: x.len(),
        });
    }
    if let Some(&found) = state.iter().find(|&&n| n != hidden) {
        return Err(Error::StateMismatch {
            expected: hidden,
            found,
        });
    }
    if scratch < needed {
        return Err(Error::StateTooSmall {
            needed,
            capacity: scratch,
        });
    }
    Ok(())
}

/// The checks of a Dense layer's public forward: `x` of `input` values,
/// `y` of `out`.
pub(crate) fn check_forward(input: usize, out: usize, x: &[f32], y: &[f32]) -> Result<(), Error> {
    if x.len() != input {
        return Err(Error::InputLength {
            expected: input,
            found: x.len(),
        });
    }
    if y.len() != out {
        return Err(Error::OutputLength {
            expected: out,
            found: y.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Activation, Layout};

    #[test]
    fn public_steps_refuse_slices_of_other_lengths_and_write_nothing() {
        let (w_x, w_h, b) = ([0.5f32; 4 * 2 * 3], [0.25f32; 4 * 2 * 2], [0.1f32; 4 * 2]);
        let lstm = Lstm {
            input: 3,
            hidden: 2,
            layout: Layout::RowMajor,
            w_x: &w_x,
            w_h: &w_h,
            b: &b,
        };
        let (mut h, mut c, mut s) = ([7.0f32; 2], [7.0f32; 2], [0.0f32; 8]);
        assert_eq!(
            lstm.step(&[1.0; 2], &mut h, &mut c, &mut s),
            Err(Error::InputLength {
                expected: 3,
                found: 2
            })
        );
        assert_eq!(
            lstm.step(&[1.0; 3], &mut h, &mut c[..1], &mut s),
            Err(Error::StateMismatch {
                expected: 2,
                found: 1
            })
        );
        assert_eq!(
            lstm.step(&[1.0; 3], &mut h, &mut c, &mut s[..7]),
            Err(Error::StateTooSmall {
                needed: 8,
                capacity: 7
            })
        );
        assert_eq!((h, c), ([7.0; 2], [7.0; 2]), "nothing written");
        assert_eq!(lstm.step(&[1.0; 3], &mut h, &mut c, &mut s), Ok(()));
        assert_ne!(h, [7.0; 2]);

        let w = [0.5f32; 2 * 4];
        let dense = Dense {
            input: 4,
            out: 2,
            act: Activation::Linear,
            w: &w,
            b: &[0.0; 2],
        };
        let mut y = [9.0f32; 3];
        assert_eq!(
            dense.forward(&[1.0; 2], &mut y[..2]),
            Err(Error::InputLength {
                expected: 4,
                found: 2
            })
        );
        assert_eq!(
            dense.forward(&[1.0; 4], &mut y),
            Err(Error::OutputLength {
                expected: 2,
                found: 3
            })
        );
        assert_eq!(y, [9.0; 3]);
        assert_eq!(dense.forward(&[1.0; 4], &mut y[..2]), Ok(()));
        assert_eq!(y, [2.0, 2.0, 9.0]);
    }
}
