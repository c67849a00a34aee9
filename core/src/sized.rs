//! Compile-time-sized layers: the sizes are const generic parameters, as in
//! RTNeural's `LSTMLayerT`, and the weights are still read in place from a
//! loaded [`crate::Model`], checked against the sizes once, when the sized
//! model is made.
//!
//! With every size known to the compiler, a step has no run-time size
//! checks, no dispatch over layer kinds, kernels or activations, and no pass
//! through a scratch buffer: each group of at most 16 units takes its gate
//! pre-activations from one pass over the weights (one multiply-add chain
//! per gate and 8 units, in registers) and runs the gate math on them there.
//! The arithmetic is that of [`Model::step`](crate::Model::step) with
//! [`Kernel::Simd`](crate::Kernel::Simd): the same products (the bias first,
//! then the columns of `W_x` and `W_h` in order) and the same activations.
//!
//! ```no_run
//! use tinyrnn::sized::{Dense, Lstm, Model};
//! # fn demo(bytes: &[u8]) -> Result<(), tinyrnn::Error> {
//! // The file: LSTM (1 input, 32 units) then Dense (32 to 1), encoded with
//! // `Layout::ColMajor8`.
//! let model = tinyrnn::Model::from_bytes(bytes)?.with_math(tinyrnn::Math::Fast);
//! let net = Model::<(Lstm<1, 32>, Dense<32, 1>)>::new(&model)?;
//! let mut state = net.new_state();
//! for x in [0.1f32, 0.2, 0.3] {
//!     let [y] = net.step(&[x], &mut state);
//!     println!("{y}");
//! }
//! # Ok(()) }
//! ```
//!
//! A file of another shape is an error that names the layer and what
//! differs ([`Error::SizedLayer`], [`Error::SizedShape`],
//! [`Error::SizedLayout`]). The recurrent layers must be stored in
//! [`Layout::ColMajor8`] (re-encode others with
//! `ModelBuilder::from_model(&model).layout(Layout::ColMajor8)`); f32
//! layers only; GRUs with the reset gate after the recurrent product
//! (PyTorch, Keras' default); no Embedding input.
//!
//! This is a host path (`wide`'s 8 lanes); on a Cortex-M the run-time-sized
//! [`crate::Model`] runs the FPU kernels.

use core::marker::PhantomData;

use crate::format::{Activation, GruVariant, Layout, PANEL};
use crate::kernel::activation::{apply_with, Act, Exact, Fast};
use crate::kernel::lanes::{load_part, store_part, F32x8, Lanes};
use crate::kernel::{gru_cell, lstm_cell, simd, Math};
use crate::{Error, Layer};

/// A layer, or a sequence of layers, whose sizes are part of its type.
///
/// Tuples of 2 to 4 stages are stages: each one's input type must be the
/// output type of the one before, so a stack whose sizes do not chain does
/// not compile.
pub trait Stage<'a>: Sized {
    /// Layers of the model this stage stands for.
    const LAYERS: usize;
    /// What a step takes (`[f32; I]`).
    type In;
    /// What a step returns (`[f32; O]`).
    type Out;
    /// What a step carries to the next (`()` for a Dense layer).
    type State;
    /// Binds `layers[first..first + LAYERS]` (of a model stepped with
    /// `math`), checking their kinds, sizes and layouts.
    fn bind(layers: &[Layer<'a>], first: usize, math: Math) -> Result<Self, Error>;
    /// The state at the start of a sequence (all zeros).
    fn new_state() -> Self::State;
    /// One timestep.
    fn step(&self, x: &Self::In, state: &mut Self::State) -> Self::Out;
}

/// A whole model of compile-time-sized layers `S` (one [`Stage`], or a
/// tuple of them), its weights borrowed from a loaded [`crate::Model`].
#[derive(Debug, Clone, Copy)]
pub struct Model<'a, S> {
    stages: S,
    _weights: PhantomData<&'a [f32]>,
}

impl<'a, S: Stage<'a>> Model<'a, S> {
    /// Binds `model`'s layers to `S`; an error names the first layer whose
    /// kind, sizes or layout differ from `S`, or the layer count. Steps use
    /// `model`'s [`Math`].
    pub fn new<const L: usize>(model: &crate::Model<'a, L>) -> Result<Self, Error> {
        let layers = model.layers();
        if let Some(extra) = layers.get(S::LAYERS) {
            return Err(Error::SizedLayer {
                layer: S::LAYERS,
                expected: "the end of the model",
                found: extra.kind_name(),
            });
        }
        Ok(Model {
            stages: S::bind(layers, 0, model.math())?,
            _weights: PhantomData,
        })
    }

    /// The state at the start of a sequence (all zeros).
    pub fn new_state(&self) -> S::State {
        S::new_state()
    }

    /// One timestep: updates `state` from `x` and returns the model's output.
    #[inline]
    pub fn step(&self, x: &S::In, state: &mut S::State) -> S::Out {
        self.stages.step(x, state)
    }
}

/// `layers[i]`, or the error for a model that ends before it.
fn layer<'l, 'a>(
    layers: &'l [Layer<'a>],
    i: usize,
    expected: &'static str,
) -> Result<&'l Layer<'a>, Error> {
    layers.get(i).ok_or(Error::SizedLayer {
        layer: i,
        expected,
        found: "the end of the model",
    })
}

/// The error for a layer of another kind.
fn kind(i: usize, expected: &'static str, found: &Layer<'_>) -> Error {
    Error::SizedLayer {
        layer: i,
        expected,
        found: found.kind_name(),
    }
}

/// Checks a layer's (input, output) sizes.
fn sizes(i: usize, expected: (usize, usize), found: (usize, usize)) -> Result<(), Error> {
    let narrow = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    if expected == found {
        return Ok(());
    }
    Err(Error::SizedShape {
        layer: i,
        expected: (narrow(expected.0), narrow(expected.1)),
        found: (narrow(found.0), narrow(found.1)),
    })
}

/// Checks that a recurrent layer is stored column-major.
fn col_major(i: usize, layout: Layout) -> Result<(), Error> {
    if layout == Layout::ColMajor8 {
        Ok(())
    } else {
        Err(Error::SizedLayout { layer: i })
    }
}

/// The first `n` values of a tensor the loader has checked (its lengths
/// follow from the sizes just compared).
fn take(i: usize, w: &[f32], n: usize) -> Result<&[f32], Error> {
    w.get(..n).ok_or(Error::BadTensorRef { layer: i })
}

/// `$obj.$method::<A>(args)` with the activations `A` of `$math`.
macro_rules! with_math {
    ($math:expr, $obj:ident.$method:ident($($arg:expr),*)) => {
        match $math {
            Math::Fast => $obj.$method::<Fast>($($arg),*),
            Math::Exact => $obj.$method::<Exact>($($arg),*),
        }
    };
}

/// An LSTM layer of `I` inputs and `H` units (gate order i, f, g, o).
#[derive(Debug, Clone, Copy)]
pub struct Lstm<'a, const I: usize, const H: usize> {
    w_x: &'a [f32],
    w_h: &'a [f32],
    b: &'a [f32],
    math: Math,
}

/// The state of an [`Lstm`]: hidden and cell values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LstmState<const H: usize> {
    /// Hidden state (the layer's output).
    pub h: [f32; H],
    /// Cell state.
    pub c: [f32; H],
}

impl<const H: usize> Default for LstmState<H> {
    fn default() -> Self {
        LstmState {
            h: [0.0; H],
            c: [0.0; H],
        }
    }
}

/// Units a group takes at most: 2 panels of 8, so that 4 gates x 2 panels
/// are 8 multiply-add chains, and every 64-byte line of the weights a group
/// reads is read whole.
const GROUP: usize = 2;

impl<'a, const I: usize, const H: usize> Lstm<'a, I, H> {
    /// Rows of one gate block (`H` rounded up to a panel).
    const HP: usize = H.div_ceil(PANEL) * PANEL;
    /// Rows of the weight matrices.
    const ROWS: usize = 4 * Self::HP;
    /// Panels of units.
    const PANELS: usize = Self::HP / PANEL;

    /// The gate pre-activations of unit panels `u..u + NP` (`T = 4 NP`
    /// panels: gate-major), from the bias and one pass over the columns.
    #[inline(always)]
    fn preacts<const NP: usize, const T: usize>(
        &self,
        u: usize,
        x: &[f32; I],
        h: &[f32; H],
    ) -> [F32x8; T] {
        let at: [usize; T] = core::array::from_fn(|t| (t / NP) * Self::HP + (u + t % NP) * PANEL);
        let mut acc = at.map(|r| load_part(self.b, r));
        simd::panels(&mut acc, self.w_x, x, Self::ROWS, &at);
        simd::panels(&mut acc, self.w_h, h, Self::ROWS, &at);
        acc
    }

    /// The cell on unit panels `u..u + NP`.
    #[inline(always)]
    fn cells<A: Act, const NP: usize, const T: usize>(
        acc: [F32x8; T],
        u: usize,
        s: &mut LstmState<H>,
    ) {
        for j in 0..NP {
            let r = (u + j) * PANEL;
            let gates = [acc[j], acc[NP + j], acc[2 * NP + j], acc[3 * NP + j]];
            let (c1, h1) = lstm_cell::<F32x8, A>(gates, load_part(&s.c, r));
            store_part(c1, &mut s.c, r);
            store_part(h1, &mut s.h, r);
        }
    }

    #[inline(always)]
    fn run<A: Act>(&self, x: &[f32; I], s: &mut LstmState<H>) {
        if Self::PANELS <= GROUP {
            // One group: every read of `h` comes before the first write.
            if Self::PANELS == 1 {
                let acc = self.preacts::<1, 4>(0, x, &s.h);
                Self::cells::<A, 1, 4>(acc, 0, s);
            } else {
                let acc = self.preacts::<2, 8>(0, x, &s.h);
                Self::cells::<A, 2, 8>(acc, 0, s);
            }
            return;
        }
        let h0 = s.h;
        let mut u = 0;
        while u + GROUP <= Self::PANELS {
            let acc = self.preacts::<2, 8>(u, x, &h0);
            Self::cells::<A, 2, 8>(acc, u, s);
            u += GROUP;
        }
        if u < Self::PANELS {
            let acc = self.preacts::<1, 4>(u, x, &h0);
            Self::cells::<A, 1, 4>(acc, u, s);
        }
    }
}

impl<'a, const I: usize, const H: usize> Stage<'a> for Lstm<'a, I, H> {
    const LAYERS: usize = 1;
    type In = [f32; I];
    type Out = [f32; H];
    type State = LstmState<H>;

    fn bind(layers: &[Layer<'a>], first: usize, math: Math) -> Result<Self, Error> {
        let found = layer(layers, first, "lstm")?;
        let Layer::Lstm(l) = found else {
            return Err(kind(first, "lstm", found));
        };
        sizes(first, (I, H), (l.input, l.hidden))?;
        col_major(first, l.layout)?;
        Ok(Lstm {
            w_x: take(first, l.w_x, I * Self::ROWS)?,
            w_h: take(first, l.w_h, H * Self::ROWS)?,
            b: take(first, l.b, Self::ROWS)?,
            math,
        })
    }

    fn new_state() -> LstmState<H> {
        LstmState::default()
    }

    #[inline]
    fn step(&self, x: &[f32; I], s: &mut LstmState<H>) -> [f32; H] {
        with_math!(self.math, self.run(x, s));
        s.h
    }
}

/// A GRU layer of `I` inputs and `H` units, reset gate after the recurrent
/// product (gate order z, r, n).
#[derive(Debug, Clone, Copy)]
pub struct Gru<'a, const I: usize, const H: usize> {
    w_x: &'a [f32],
    w_h: &'a [f32],
    b_x: &'a [f32],
    b_h: &'a [f32],
    math: Math,
}

impl<'a, const I: usize, const H: usize> Gru<'a, I, H> {
    /// Rows of one gate block.
    const HP: usize = H.div_ceil(PANEL) * PANEL;
    /// Rows of the weight matrices.
    const ROWS: usize = 3 * Self::HP;
    /// Panels of units.
    const PANELS: usize = Self::HP / PANEL;

    /// The input and the recurrent pre-activations of unit panels `u..u +
    /// NP` (`T = 3 NP` panels each, gate-major).
    #[inline(always)]
    fn preacts<const NP: usize, const T: usize>(
        &self,
        u: usize,
        x: &[f32; I],
        h: &[f32; H],
    ) -> ([F32x8; T], [F32x8; T]) {
        let at: [usize; T] = core::array::from_fn(|t| (t / NP) * Self::HP + (u + t % NP) * PANEL);
        let mut gx = at.map(|r| load_part(self.b_x, r));
        let mut gh = at.map(|r| load_part(self.b_h, r));
        simd::panels(&mut gx, self.w_x, x, Self::ROWS, &at);
        simd::panels(&mut gh, self.w_h, h, Self::ROWS, &at);
        (gx, gh)
    }

    /// The cell on unit panels `u..u + NP`; `h0` the state before the step.
    #[inline(always)]
    fn cells<A: Act, const NP: usize, const T: usize>(
        (gx, gh): ([F32x8; T], [F32x8; T]),
        u: usize,
        h0: &[f32; H],
        h: &mut [f32; H],
    ) {
        for j in 0..NP {
            let r = (u + j) * PANEL;
            let xs = [gx[j], gx[NP + j], gx[2 * NP + j]];
            let hs = [gh[j], gh[NP + j], gh[2 * NP + j]];
            let h1 = gru_cell::<F32x8, A>(xs, hs, load_part(h0, r));
            store_part(h1, h, r);
        }
    }

    #[inline(always)]
    fn run<A: Act>(&self, x: &[f32; I], h: &mut [f32; H]) {
        let h0 = *h;
        let mut u = 0;
        while u + GROUP <= Self::PANELS {
            let acc = self.preacts::<2, 6>(u, x, &h0);
            Self::cells::<A, 2, 6>(acc, u, &h0, h);
            u += GROUP;
        }
        if u < Self::PANELS {
            let acc = self.preacts::<1, 3>(u, x, &h0);
            Self::cells::<A, 1, 3>(acc, u, &h0, h);
        }
    }
}

impl<'a, const I: usize, const H: usize> Stage<'a> for Gru<'a, I, H> {
    const LAYERS: usize = 1;
    type In = [f32; I];
    type Out = [f32; H];
    type State = [f32; H];

    fn bind(layers: &[Layer<'a>], first: usize, math: Math) -> Result<Self, Error> {
        let found = layer(layers, first, "gru")?;
        let Layer::Gru(l) = found else {
            return Err(kind(first, "gru", found));
        };
        if l.variant != GruVariant::ResetAfter {
            return Err(Error::SizedLayer {
                layer: first,
                expected: "gru (reset after)",
                found: "gru (reset before)",
            });
        }
        sizes(first, (I, H), (l.input, l.hidden))?;
        col_major(first, l.layout)?;
        Ok(Gru {
            w_x: take(first, l.w_x, I * Self::ROWS)?,
            w_h: take(first, l.w_h, H * Self::ROWS)?,
            b_x: take(first, l.b_x, Self::ROWS)?,
            b_h: take(first, l.b_h, Self::ROWS)?,
            math,
        })
    }

    fn new_state() -> [f32; H] {
        [0.0; H]
    }

    #[inline]
    fn step(&self, x: &[f32; I], h: &mut [f32; H]) -> [f32; H] {
        with_math!(self.math, self.run(x, h));
        *h
    }
}

/// An Elman layer of `I` inputs and `H` units (tanh or ReLU).
#[derive(Debug, Clone, Copy)]
pub struct Elman<'a, const I: usize, const H: usize> {
    w_x: &'a [f32],
    w_h: &'a [f32],
    b: &'a [f32],
    relu: bool,
    math: Math,
}

impl<'a, const I: usize, const H: usize> Elman<'a, I, H> {
    /// Rows of the weight matrices.
    const ROWS: usize = H.div_ceil(PANEL) * PANEL;
    /// Panels of units.
    const PANELS: usize = Self::ROWS / PANEL;

    /// Unit panels `u..u + T`: pre-activations, activation, stored to `h`.
    #[inline(always)]
    fn panels<A: Act, const T: usize>(
        &self,
        u: usize,
        x: &[f32; I],
        h0: &[f32; H],
        h: &mut [f32; H],
    ) {
        let at: [usize; T] = core::array::from_fn(|t| (u + t) * PANEL);
        let mut acc = at.map(|r| load_part(self.b, r));
        simd::panels(&mut acc, self.w_x, x, Self::ROWS, &at);
        simd::panels(&mut acc, self.w_h, h0, Self::ROWS, &at);
        for (a, r) in acc.into_iter().zip(at) {
            let v = if self.relu { a.relu() } else { A::tanh(a) };
            store_part(v, h, r);
        }
    }

    #[inline(always)]
    fn run<A: Act>(&self, x: &[f32; I], h: &mut [f32; H]) {
        let h0 = *h;
        let mut u = 0;
        while u + 8 <= Self::PANELS {
            self.panels::<A, 8>(u, x, &h0, h);
            u += 8;
        }
        if Self::PANELS - u >= 4 {
            self.panels::<A, 4>(u, x, &h0, h);
            u += 4;
        }
        if Self::PANELS - u >= 2 {
            self.panels::<A, 2>(u, x, &h0, h);
            u += 2;
        }
        if u < Self::PANELS {
            self.panels::<A, 1>(u, x, &h0, h);
        }
    }
}

impl<'a, const I: usize, const H: usize> Stage<'a> for Elman<'a, I, H> {
    const LAYERS: usize = 1;
    type In = [f32; I];
    type Out = [f32; H];
    type State = [f32; H];

    fn bind(layers: &[Layer<'a>], first: usize, math: Math) -> Result<Self, Error> {
        let found = layer(layers, first, "elman")?;
        let Layer::Elman(l) = found else {
            return Err(kind(first, "elman", found));
        };
        sizes(first, (I, H), (l.input, l.hidden))?;
        col_major(first, l.layout)?;
        Ok(Elman {
            w_x: take(first, l.w_x, I * Self::ROWS)?,
            w_h: take(first, l.w_h, H * Self::ROWS)?,
            b: take(first, l.b, Self::ROWS)?,
            relu: l.act == Activation::Relu,
            math,
        })
    }

    fn new_state() -> [f32; H] {
        [0.0; H]
    }

    #[inline]
    fn step(&self, x: &[f32; I], h: &mut [f32; H]) -> [f32; H] {
        with_math!(self.math, self.run(x, h));
        *h
    }
}

/// A Dense layer of `I` inputs and `O` outputs (linear, softmax, sigmoid or
/// tanh).
#[derive(Debug, Clone, Copy)]
pub struct Dense<'a, const I: usize, const O: usize> {
    w: &'a [f32],
    b: &'a [f32],
    act: Activation,
    math: Math,
}

impl<const I: usize, const O: usize> Dense<'_, I, O> {
    #[inline(always)]
    fn run<A: Act>(&self, x: &[f32; I], y: &mut [f32; O]) {
        for ((y, row), b) in y.iter_mut().zip(self.w.chunks_exact(I)).zip(self.b) {
            *y = b + simd::dot(row, x);
        }
        apply_with::<A>(self.act, y);
    }
}

impl<'a, const I: usize, const O: usize> Stage<'a> for Dense<'a, I, O> {
    const LAYERS: usize = 1;
    type In = [f32; I];
    type Out = [f32; O];
    type State = ();

    fn bind(layers: &[Layer<'a>], first: usize, math: Math) -> Result<Self, Error> {
        let found = layer(layers, first, "dense")?;
        let Layer::Dense(l) = found else {
            return Err(kind(first, "dense", found));
        };
        sizes(first, (I, O), (l.input, l.out))?;
        Ok(Dense {
            w: take(first, l.w, I * O)?,
            b: take(first, l.b, O)?,
            act: l.act,
            math,
        })
    }

    fn new_state() {}

    #[inline]
    fn step(&self, x: &[f32; I], _: &mut ()) -> [f32; O] {
        let mut y = [0.0; O];
        with_math!(self.math, self.run(x, &mut y));
        y
    }
}

/// Tuples of stages whose sizes chain.
macro_rules! tuple_stage {
    ($first:ident $(, $next:ident $prev:ident)+; $($i:tt),+) => {
        impl<'a, $first: Stage<'a> $(, $next: Stage<'a, In = $prev::Out>)+> Stage<'a>
            for ($first, $($next),+)
        {
            const LAYERS: usize = $first::LAYERS $(+ $next::LAYERS)+;
            type In = $first::In;
            type Out = <tuple_stage!(@last $($next)+) as Stage<'a>>::Out;
            type State = ($first::State, $($next::State),+);

            #[allow(unused_assignments, reason = "the last stage's count")]
            fn bind(layers: &[Layer<'a>], first: usize, math: Math) -> Result<Self, Error> {
                let mut at = first;
                // Tuple elements are evaluated left to right.
                Ok((
                    {
                        let s = $first::bind(layers, at, math)?;
                        at += $first::LAYERS;
                        s
                    },
                    $({
                        let s = $next::bind(layers, at, math)?;
                        at += $next::LAYERS;
                        s
                    }),+
                ))
            }

            fn new_state() -> Self::State {
                ($first::new_state(), $($next::new_state()),+)
            }

            #[inline]
            fn step(&self, x: &Self::In, s: &mut Self::State) -> Self::Out {
                tuple_stage!(@step self, s, x; $($i),+)
            }
        }
    };
    (@last $a:ident) => { $a };
    (@last $a:ident $($rest:ident)+) => { tuple_stage!(@last $($rest)+) };
    (@step $self:ident, $s:ident, $x:expr; $i:tt) => { $self.$i.step($x, &mut $s.$i) };
    (@step $self:ident, $s:ident, $x:expr; $i:tt, $($rest:tt),+) => {{
        let y = $self.$i.step($x, &mut $s.$i);
        tuple_stage!(@step $self, $s, &y; $($rest),+)
    }};
}

tuple_stage!(A, B A; 0, 1);
tuple_stage!(A, B A, C B; 0, 1, 2);
tuple_stage!(A, B A, C B, D C; 0, 1, 2, 3);
