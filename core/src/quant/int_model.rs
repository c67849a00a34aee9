//! A whole integer model stepped with no float operation: `i16` in, `i16`
//! out, state and scratch in caller-owned `i32` words. This is the entry for
//! chips without an FPU (Cortex-M0+); [`Model::step`](crate::Model::step) on
//! the same model gives the same values through an f32 boundary.

use super::cell::IntDense;
use super::fixed::sat16;
use super::layer::{Fracs, NumFormat, QuantLayer};
use super::matvec::{IntMatVec, Scalar, Simd};
use super::words::i32_as_i16_mut;
use crate::error::Error;
use crate::format::MAX_LAYERS;
use crate::kernel::no_unroll;
use crate::kernel::{Kernel, HAS_SIMD};
use crate::model::{Layer, Model};

/// A view of a [`Model`] whose every layer is in the integer format.
///
/// ```
/// # use tinyrnn::{Activation, ModelBuilder, Model, AlignedBuf};
/// # use tinyrnn::quant::{IntModel, NumFormat};
/// # let file = ModelBuilder::new(1)
/// #     .lstm(2, &[0.5; 8], &[0.1; 16], &[0.0; 8])
/// #     .dense(1, Activation::Linear, &[1.0, -1.0], &[0.0])
/// #     .quantize(NumFormat::Integer).calibration(&[0.5, -0.5, 1.0]).build()?;
/// # let file = AlignedBuf::from_slice(&file);
/// let model = Model::from_bytes(&file)?;
/// let int = IntModel::new(&model)?;
/// let mut words = [0i32; 64];                      // >= int.state_len()
/// let words = &mut words[..int.state_len()];
/// let x = [tinyrnn::quant::quantize_value(0.25, int.input_frac())];
/// let mut y = [0i16; 1];
/// int.step(words, &x, &mut y)?;                    // pure integer
/// let y_real = tinyrnn::quant::dequantize_value(y[0], int.output_frac());
/// # let _ = y_real;
/// # Ok::<(), tinyrnn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct IntModel<'m, 'a, const L: usize = MAX_LAYERS> {
    model: &'m Model<'a, L>,
    /// i16 values of all recurrent state.
    state16: usize,
    /// i16 values of one io buffer (the widest layer output).
    io16: usize,
    /// i32 words of scratch.
    scratch: usize,
    /// The model's input and output sizes, and whether it takes tokens.
    inputs: usize,
    outputs: usize,
    token: bool,
}

impl<'m, 'a, const L: usize> IntModel<'m, 'a, L> {
    /// Checks that every layer of `model` is integer and sizes the words.
    pub const fn new(model: &'m Model<'a, L>) -> Result<Self, Error> {
        let (mut state16, mut io16, mut scratch) = (0usize, 0usize, 0usize);
        let (mut inputs, mut outputs, mut token) = (0usize, 0usize, false);
        let layers = model.layers();
        let mut li = 0;
        while li < layers.len() {
            let Layer::Quant(q) = &layers[li] else {
                return Err(Error::UnsupportedFormat {
                    layer: li,
                    code: NumFormat::F32.code(),
                });
            };
            let (i, h) = q.sizes();
            if li == 0 {
                (inputs, token) = (i, q.is_embedding());
            }
            outputs = h;
            li += 1;
            let (state, s) = match q {
                QuantLayer::IntEmbedding(..) => {
                    // First layer only (the loader checks); its vector is
                    // the next layer's input.
                    if h > io16 {
                        io16 = h;
                    }
                    continue;
                }
                QuantLayer::IntElman(c, _) => (h, c.scratch_len()),
                QuantLayer::IntLstm(c, _) => (2 * h, c.scratch_len()),
                QuantLayer::IntGru(c, _) => (h, c.scratch_len()),
                QuantLayer::IntDense(d, _) => (0, d.scratch_len()),
                _ => {
                    return Err(Error::UnsupportedFormat {
                        layer: li - 1,
                        code: q.format().code(),
                    })
                }
            };
            state16 += state;
            if h > io16 {
                io16 = h;
            }
            if i > io16 {
                io16 = i;
            }
            if s > scratch {
                scratch = s;
            }
        }
        Ok(IntModel {
            model,
            state16,
            io16,
            scratch,
            inputs,
            outputs,
            token,
        })
    }

    /// `i32` words the caller provides to [`step`](Self::step): recurrent
    /// state (two `i16` per word), two io buffers and scratch. Zero them to
    /// start a sequence.
    pub fn state_len(&self) -> usize {
        self.state16.div_ceil(2) + 2 * self.io16.div_ceil(2) + self.scratch
    }

    /// Fraction bits of the input (`x = round(x_real * 2^frac)`); for a
    /// model with an Embedding input, those of its vectors.
    pub fn input_frac(&self) -> u8 {
        match self.model.layers().first() {
            Some(Layer::Quant(QuantLayer::IntEmbedding(_, frac))) => *frac,
            _ => self.fracs(0).map_or(0, |f| f.x),
        }
    }

    /// Fraction bits of the output. A softmax Dense outputs its logits.
    pub fn output_frac(&self) -> u8 {
        self.fracs(self.model.layers().len().saturating_sub(1))
            .map_or(0, |f| f.out)
    }

    fn fracs(&self, li: usize) -> Option<Fracs> {
        match self.model.layers().get(li)? {
            Layer::Quant(
                QuantLayer::IntElman(_, f)
                | QuantLayer::IntLstm(_, f)
                | QuantLayer::IntGru(_, f)
                | QuantLayer::IntDense(_, f),
            ) => Some(*f),
            _ => None,
        }
    }

    /// One timestep, integer only: `x` in `Q(input_frac)`, `y` in
    /// `Q(output_frac)`; `words` holds the state (see [`state_len`](Self::state_len)).
    pub fn step(&self, words: &mut [i32], x: &[i16], y: &mut [i16]) -> Result<(), Error> {
        if self.token {
            return Err(Error::WrongInputKind);
        }
        self.check(words, y)?;
        if x.len() != self.inputs {
            return Err(Error::InputLength {
                expected: self.inputs,
                found: x.len(),
            });
        }
        self.dispatch(words, 0, x, y);
        Ok(())
    }

    /// One timestep on a token id (models whose first layer is an
    /// Embedding), integer only: `y` in `Q(output_frac)`.
    pub fn step_token(&self, words: &mut [i32], token: usize, y: &mut [i16]) -> Result<(), Error> {
        let Some(Layer::Quant(QuantLayer::IntEmbedding(e, _))) = self.model.layers().first() else {
            return Err(Error::WrongInputKind);
        };
        self.check(words, y)?;
        let row = e.lookup(token).ok_or(Error::TokenOutOfRange {
            token,
            vocab: e.vocab,
        })?;
        self.dispatch(words, 1, row, y);
        Ok(())
    }

    fn check(&self, words: &[i32], y: &[i16]) -> Result<(), Error> {
        if words.len() != self.state_len() {
            return Err(Error::StateMismatch {
                expected: self.state_len(),
                found: words.len(),
            });
        }
        if y.len() != self.outputs {
            return Err(Error::OutputLength {
                expected: self.outputs,
                found: y.len(),
            });
        }
        Ok(())
    }

    fn dispatch(&self, words: &mut [i32], first: usize, x: &[i16], y: &mut [i16]) {
        // As in `Model::step`: where `wide` has no vector registers
        // (Cortex-M), `Kernel::Simd` runs the scalar path (the same bits),
        // so one copy of the cells is linked.
        match self.model.kernel() {
            Kernel::Simd if HAS_SIMD => self.run::<Simd>(words, first, x, y),
            _ => self.run::<Scalar>(words, first, x, y),
        }
    }

    /// Runs layers `first..` on `x` (in `Q(input_frac)`). A layer reads its
    /// input where the one before left it (the caller's `x`, a recurrent
    /// layer's `h` in the state, or a Dense output in an io buffer) with no
    /// copy; a last Dense layer writes `y` itself.
    fn run<K: IntMatVec>(&self, words: &mut [i32], first: usize, x: &[i16], y: &mut [i16]) {
        // Every slice below is in range by construction (`new`, and the
        // lengths checked by `step`); the checked forms keep that a no-op
        // instead of a panic should it ever not be.
        let io_words = self.io16.div_ceil(2);
        let Some((state, rest)) = words.split_at_mut_checked(self.state16.div_ceil(2)) else {
            return;
        };
        let Some((io_a, rest)) = rest.split_at_mut_checked(io_words) else {
            return;
        };
        let Some((io_b, scratch)) = rest.split_at_mut_checked(io_words) else {
            return;
        };
        let state = i32_as_i16_mut(state);
        let (mut cur, mut next) = (i32_as_i16_mut(io_a), i32_as_i16_mut(io_b));
        // The input: `x` (`None`), `cur` (`Some(None)`) or the state from
        // this offset (`Some(Some(at))`).
        let mut src: Option<Option<usize>> = None;
        let mut width = x.len();
        let mut frac = self.input_frac();
        // Offset of the next recurrent layer's state.
        let mut off = 0usize;
        let layers = self.model.layers();
        for (li, l) in layers.iter().enumerate().skip(first) {
            no_unroll();
            // Cell types left out by cargo features are never loaded.
            let (f, out, len) = match l {
                Layer::Quant(QuantLayer::IntDense(d, f)) => (*f, d.out, 0),
                Layer::Quant(QuantLayer::IntLstm(c, f)) if cfg!(feature = "lstm") => {
                    (*f, c.hidden, 2 * c.hidden)
                }
                Layer::Quant(QuantLayer::IntGru(c, f)) if cfg!(feature = "gru") => {
                    (*f, c.hidden, c.hidden)
                }
                Layer::Quant(QuantLayer::IntElman(c, f)) if cfg!(feature = "elman") => {
                    (*f, c.hidden, c.hidden)
                }
                _ => return,
            };
            let Some((done, mine)) = state.split_at_mut_checked(off) else {
                return;
            };
            let input = match src {
                None => Some(x),
                Some(None) => cur.get(..width),
                Some(Some(at)) => done.get(at..at + width),
            };
            let Some(mut input) = input else {
                return;
            };
            if f.x != frac {
                // Bring the input to this layer's format (an integer shift).
                let Some(to) = next.get_mut(..width) else {
                    return;
                };
                convert(input, to, frac, f.x);
                core::mem::swap(&mut cur, &mut next);
                input = cur.get(..width).unwrap_or(&[]);
            }
            let (h, cs) = mine.split_at_mut(out.min(mine.len()));
            match l {
                Layer::Quant(QuantLayer::IntDense(d, _)) => {
                    let last = li + 1 == layers.len();
                    let o = if last {
                        Some(&mut *y)
                    } else {
                        next.get_mut(..out)
                    };
                    let Some(o) = o else {
                        return;
                    };
                    IntDense::forward::<K>(d, input, o, scratch);
                    if last {
                        return;
                    }
                    core::mem::swap(&mut cur, &mut next);
                    src = Some(None);
                }
                Layer::Quant(QuantLayer::IntElman(c, _)) if cfg!(feature = "elman") => {
                    c.step::<K>(input, h, scratch)
                }
                Layer::Quant(QuantLayer::IntGru(c, _)) if cfg!(feature = "gru") => {
                    c.step::<K>(input, h, scratch)
                }
                Layer::Quant(QuantLayer::IntLstm(c, _)) if cfg!(feature = "lstm") => {
                    c.step::<K>(input, h, cs, scratch)
                }
                _ => return,
            }
            if len > 0 {
                src = Some(Some(off));
                off += len;
            }
            width = out;
            frac = f.out;
        }
        // A recurrent last layer: `y` is its `h`.
        let last = match src {
            None => Some(x),
            Some(None) => cur.get(..width),
            Some(Some(at)) => state.get(at..at + width),
        };
        convert(last.unwrap_or(&[]), y, frac, frac);
    }
}

/// `to[k] = from[k]` taken from `Q(a)` to `Q(b)` (a copy when `a == b`), a
/// plain element loop where a copy loop would become a call of `memcpy`.
/// The bits of [`rescale`](super::fixed::rescale) then [`sat16`] for the
/// formats a model has (`a`, `b` at most `MAX_FRAC = 15`: `i16 << 15` fits
/// an `i32`); larger ones are clamped, never a panic.
#[inline(never)]
fn convert(from: &[i16], to: &mut [i16], a: u8, b: u8) {
    let (up, down) = (b.saturating_sub(a).min(16), a.saturating_sub(b).min(16));
    let round = (1i32 << down) >> 1;
    for (t, v) in to.iter_mut().zip(from) {
        no_unroll();
        *t = sat16(((*v as i32) << up).wrapping_add(round) >> down);
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixed::rescale;
    use super::*;

    #[test]
    fn convert_is_rescale_then_saturate() {
        let xs: [i16; 12] = [
            i16::MIN,
            i16::MIN + 1,
            -12345,
            -257,
            -3,
            -1,
            0,
            1,
            2,
            255,
            12345,
            i16::MAX,
        ];
        let mut out = [0i16; 12];
        for a in 0..=15u8 {
            for b in 0..=15u8 {
                convert(&xs, &mut out, a, b);
                for (x, o) in xs.iter().zip(out) {
                    assert_eq!(o, sat16(rescale(*x as i32, a, b)), "{x} from Q{a} to Q{b}");
                }
            }
        }
    }
}
