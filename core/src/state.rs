//! Per-stream state, owned by the caller.

use crate::error::Error;
use crate::model::Model;

/// Storage for one stream's state: recurrent state plus step scratch, as f32 words.
///
/// [`State`] (fixed capacity, no heap) and, with the `alloc` feature,
/// `StateVec` implement it; so can a caller's own buffer type.
pub trait StateStorage {
    /// The words in use.
    fn words(&self) -> &[f32];
    /// The words in use, mutably.
    fn words_mut(&mut self) -> &mut [f32];
}

/// One stream's state with a capacity of `N` f32 words fixed at compile time.
///
/// Plain data: copy it to save a stream, assign it back to restore. A model that
/// needs more than `N` words is refused by [`State::new`], never at step time.
///
/// ```
/// # fn demo(model: &tinyrnn::Model) -> Result<(), tinyrnn::Error> {
/// let mut state = tinyrnn::State::<256>::new(model)?;
/// let mut y = [0.0f32; 1];
/// model.step(&mut state, &[0.5], &mut y)?;
/// state.reset();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct State<const N: usize> {
    words: [f32; N],
    len: usize,
}

impl<const N: usize> State<N> {
    /// A zeroed state for `model`, or [`Error::StateTooSmall`] if `N` is too small.
    pub fn new<const L: usize>(model: &Model<'_, L>) -> Result<Self, Error> {
        let needed = model.state_len();
        if needed > N {
            return Err(Error::StateTooSmall {
                needed,
                capacity: N,
            });
        }
        Ok(State {
            words: [0.0; N],
            len: needed,
        })
    }

    /// Zeroes the state (the start of a new sequence).
    pub fn reset(&mut self) {
        self.words.fill(0.0);
    }

    /// The capacity `N`.
    pub const fn capacity(&self) -> usize {
        N
    }
}

impl<const N: usize> StateStorage for State<N> {
    // `len <= N` (`new` checks it): the clamping forms keep the step free
    // of panic paths instead of relying on that.
    fn words(&self) -> &[f32] {
        self.words.get(..self.len).unwrap_or(&[])
    }
    fn words_mut(&mut self) -> &mut [f32] {
        self.words.get_mut(..self.len).unwrap_or(&mut [])
    }
}

/// A heap-allocated state sized at run time (host use).
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, PartialEq)]
pub struct StateVec {
    words: alloc::vec::Vec<f32>,
}

#[cfg(feature = "alloc")]
impl StateVec {
    /// A zeroed state for `model`.
    pub fn new<const L: usize>(model: &Model<'_, L>) -> Self {
        StateVec {
            words: alloc::vec![0.0; model.state_len()],
        }
    }

    /// Zeroes the state.
    pub fn reset(&mut self) {
        self.words.fill(0.0);
    }
}

#[cfg(feature = "alloc")]
impl StateStorage for StateVec {
    fn words(&self) -> &[f32] {
        &self.words
    }
    fn words_mut(&mut self) -> &mut [f32] {
        &mut self.words
    }
}
