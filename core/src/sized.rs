//! Compile-time-sized layers: the sizes are const generic parameters, as in
//! RTNeural's `LSTMLayerT`, and the weights are still read in place from a
//! loaded [`crate::Model`], checked against the sizes once, when the sized
//! model is made.
//!
//! A step then takes arrays, returns an array, and cannot fail: it has none of
//! the per-step work of [`Model::step`](crate::Model::step) (the checks of the
//! input, output and state lengths, the loop over the layers and its dispatch
//! on their kinds, the kernel and the activations, the copies between layers).
//! It runs the same kernels as `Model::step` with the default
//! [`Kernel::native()`](crate::Kernel::native), inlined where every size is
//! a constant, and computes the same values, bit for bit (test
//! `core/tests/sized.rs`). Measured side by side (`examples/bench_json.rs`,
//! `sized_fast`; the tables are in `core/README.md`) it took up to a third
//! less time per step than `Model::step` at 8 to 32 units on a Zen 3, and up
//! to 17% less beyond, before `Model::step` ran its 32-, 64- and 128-unit
//! LSTM and GRU steps with constant sizes too; since then, on an AVX-512
//! Xeon, the two are within about 5% of each other either way.
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
//! It is meant for hosts: sized layers take column-major weights. On a
//! microcontroller, `Model::step` with the model loaded while compiling
//! (`static_model!`) is the lean path.

use core::marker::PhantomData;

use crate::cell;
use crate::format::{GruVariant, Layout, PANEL};
use crate::kernel::activation::Act;
use crate::kernel::simd::streams;
use crate::kernel::{Backend, Math};

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
        // The layers it has first, so that the first difference is the one named.
        let stages = S::bind(layers, 0, model.math())?;
        if let Some(extra) = layers.get(S::LAYERS) {
            return Err(Error::SizedLayer {
                layer: S::LAYERS,
                expected: "the end of the model",
                found: found_name(extra),
            });
        }
        Ok(Model {
            stages,
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
        found: found_name(found),
    }
}

/// A file's layer as a sized-model error names it: its kind, and for a
/// quantized layer its number format too (sized layers are f32).
fn found_name(l: &Layer<'_>) -> &'static str {
    match l {
        Layer::Quant(_) => "a quantized layer (f16, i8 or integer; sized layers are f32)",
        l => l.kind_name(),
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

/// Checks a recurrent layer's sizes (`hidden` and `input` in the file)
/// and that it is stored column-major.
fn recurrent(
    i: usize,
    expected: (usize, usize),
    hidden: usize,
    input: usize,
    layout: Layout,
) -> Result<(), Error> {
    sizes(i, expected, (input, hidden))?;
    if layout == Layout::ColMajor8 {
        Ok(())
    } else {
        Err(Error::SizedLayout { layer: i })
    }
}

/// Checks that each tensor holds its number of values (the loader has
/// checked it; the kernels rely on it).
fn tensors<const N: usize>(i: usize, w: &[&[f32]; N], n: [usize; N]) -> Result<(), Error> {
    if w.iter().zip(n).all(|(w, n)| w.len() >= n) {
        Ok(())
    } else {
        Err(Error::BadTensorRef { layer: i })
    }
}

/// `$obj.$method::<B, A>(args)` with the native kernels `B` and the
/// activations `A` of `$math`, as `Model::step` chooses them.
macro_rules! with_math {
    ($math:expr, $($call:tt)*) => {
        crate::kernel::with_kernels!(crate::Kernel::native(), $math, $($call)*)
    };
}

/// An LSTM layer of `I` inputs and `H` units (gate order i, f, g, o).
#[derive(Debug, Clone, Copy)]
pub struct Lstm<'a, const I: usize, const H: usize> {
    cell: cell::Lstm<'a>,
    math: Math,
}

/// Scratch space of a step: `K H + P` f32 words in one run, at least the
/// `K` gate blocks of `H` units rounded up to a panel (`K HP <= K (H + 7)`,
/// so `P = 7 K`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct Scratch<const K: usize, const P: usize, const H: usize> {
    units: [[f32; K]; H],
    pad: [f32; P],
}

impl<const K: usize, const P: usize, const H: usize> Scratch<K, P, H> {
    const fn new() -> Self {
        Scratch {
            units: [[0.0; K]; H],
            pad: [0.0; P],
        }
    }

    /// All of it as one slice.
    #[expect(unsafe_code, reason = "two adjacent f32 arrays as one slice")]
    fn words(&mut self) -> &mut [f32] {
        // SAFETY: a `repr(C)` struct of two f32 arrays: its fields are laid
        // out in order with no padding between them (the second starts at
        // `4 K H` bytes, a multiple of its alignment 4), so it is `K H + P`
        // initialized, contiguous f32 values, borrowed mutably with `self`.
        unsafe { core::slice::from_raw_parts_mut((self as *mut Self).cast::<f32>(), K * H + P) }
    }
}

/// The state of an [`Lstm`]: hidden and cell values (and the scratch space
/// of a step, kept here so that a step need not clear it).
#[derive(Debug, Clone, Copy)]
pub struct LstmState<const H: usize> {
    /// Hidden state (the layer's output).
    pub h: [f32; H],
    /// Cell state.
    pub c: [f32; H],
    /// The four gate pre-activations.
    scratch: Scratch<4, 28, H>,
    /// Whether the next step sweeps large weights backward (as the sweep
    /// word of [`Model::step`](crate::Model::step)'s state).
    rev: bool,
}

impl<const H: usize> LstmState<H> {
    /// The state with these hidden and cell values.
    pub const fn new(h: [f32; H], c: [f32; H]) -> Self {
        LstmState {
            h,
            c,
            scratch: Scratch::new(),
            rev: false,
        }
    }
}

impl<const H: usize> Default for LstmState<H> {
    fn default() -> Self {
        LstmState::new([0.0; H], [0.0; H])
    }
}

/// The state of a [`Gru`]: hidden values (and, as for [`LstmState`], the
/// scratch space of a step).
#[derive(Debug, Clone, Copy)]
pub struct GruState<const H: usize> {
    /// Hidden state (the layer's output).
    pub h: [f32; H],
    /// The input and recurrent pre-activations.
    scratch: Scratch<6, 42, H>,
    /// As [`LstmState`]'s.
    rev: bool,
}

impl<const H: usize> GruState<H> {
    /// The state with these hidden values.
    pub const fn new(h: [f32; H]) -> Self {
        GruState {
            h,
            scratch: Scratch::new(),
            rev: false,
        }
    }
}

impl<const H: usize> Default for GruState<H> {
    fn default() -> Self {
        GruState::new([0.0; H])
    }
}

impl<const I: usize, const H: usize> Lstm<'_, I, H> {
    /// Rows of the weight matrices (`H` rounded up to a panel, per gate).
    const ROWS: usize = 4 * H.div_ceil(PANEL) * PANEL;
    /// Whether the host kernels stream the weights, and so alternate their
    /// direction (`Model::step`, "Sweep direction").
    const STREAMS: bool = streams(Self::ROWS, I + H);

    #[inline(always)]
    fn run<B: Backend, A: Act>(&self, x: &[f32; I], s: &mut LstmState<H>) {
        let c = &self.cell;
        // The backend's fused step inlined here, where every size is a
        // constant (20-35% fewer instructions per step than the call to
        // the cell's step, which serves every size); the cell's generic
        // step where there is none (the scalar kernels).
        let hp = H.div_ceil(PANEL) * PANEL;
        // Only a layer whose products stream alternates (a constant: the
        // others compile as if there were no direction).
        let rev = Self::STREAMS && s.rev;
        if Self::STREAMS {
            s.rev = !rev;
        }
        let (h, cs, scratch) = (&mut s.h, &mut s.c, s.scratch.words());
        if !B::lstm_step::<A>(c.layout, hp, c.w_x, c.w_h, c.b, x, h, cs, scratch, rev) {
            c.step_with::<B, A>(x, h, cs, scratch, rev);
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
        let (r, n) = (Self::ROWS, [I, H, 1]);
        recurrent(first, (I, H), l.hidden, l.input, l.layout)?;
        tensors(first, &[l.w_x, l.w_h, l.b], n.map(|k| k * r))?;
        Ok(Lstm { cell: *l, math })
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
    cell: cell::Gru<'a>,
    math: Math,
}

impl<const I: usize, const H: usize> Gru<'_, I, H> {
    /// Rows of the weight matrices (`H` rounded up to a panel, per gate).
    const ROWS: usize = 3 * H.div_ceil(PANEL) * PANEL;
    /// As [`Lstm`]'s.
    const STREAMS: bool = streams(Self::ROWS, I) || streams(Self::ROWS, H);

    #[inline(always)]
    fn run<B: Backend, A: Act>(&self, x: &[f32; I], s: &mut GruState<H>) {
        let c = &self.cell;
        // As for the LSTM: the backend's fused step inlined, the cell's
        // generic step where there is none. Not at 9-16 units: there the
        // inlined step, though 20% fewer instructions, measured 13% slower
        // than the call (GRU 1x16: 102-108 against 87-92 ns, six
        // alternating runs).
        let hp = H.div_ceil(PANEL) * PANEL;
        let rev = Self::STREAMS && s.rev;
        if Self::STREAMS {
            s.rev = !rev;
        }
        let (h, scratch) = (&mut s.h, s.scratch.words());
        if hp == 2 * PANEL
            || !B::gru_reset_after_step::<A>(
                c.layout, hp, c.w_x, c.w_h, c.b_x, c.b_h, x, h, scratch, rev,
            )
        {
            c.step_with::<B, A>(x, h, scratch, rev);
        }
    }
}

impl<'a, const I: usize, const H: usize> Stage<'a> for Gru<'a, I, H> {
    const LAYERS: usize = 1;
    type In = [f32; I];
    type Out = [f32; H];
    type State = GruState<H>;

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
        let (r, n) = (Self::ROWS, [I, H, 1, 1]);
        recurrent(first, (I, H), l.hidden, l.input, l.layout)?;
        tensors(first, &[l.w_x, l.w_h, l.b_x, l.b_h], n.map(|k| k * r))?;
        Ok(Gru { cell: *l, math })
    }

    fn new_state() -> GruState<H> {
        GruState::default()
    }

    #[inline]
    fn step(&self, x: &[f32; I], s: &mut GruState<H>) -> [f32; H] {
        with_math!(self.math, self.run(x, s));
        s.h
    }
}

/// An Elman layer of `I` inputs and `H` units (tanh or ReLU).
#[derive(Debug, Clone, Copy)]
pub struct Elman<'a, const I: usize, const H: usize> {
    cell: cell::Elman<'a>,
    math: Math,
}

/// The state of an [`Elman`] layer: hidden values (and, as for
/// [`LstmState`], the scratch space of a step).
#[derive(Debug, Clone, Copy)]
pub struct ElmanState<const H: usize> {
    /// Hidden state (the layer's output).
    pub h: [f32; H],
    /// The pre-activations.
    scratch: Scratch<1, 7, H>,
    /// As [`LstmState`]'s.
    rev: bool,
}

impl<const H: usize> ElmanState<H> {
    /// The state with these hidden values.
    pub const fn new(h: [f32; H]) -> Self {
        ElmanState {
            h,
            scratch: Scratch::new(),
            rev: false,
        }
    }
}

impl<const H: usize> Default for ElmanState<H> {
    fn default() -> Self {
        ElmanState::new([0.0; H])
    }
}

impl<const I: usize, const H: usize> Elman<'_, I, H> {
    /// Rows of the weight matrices (`H` rounded up to a panel).
    const ROWS: usize = H.div_ceil(PANEL) * PANEL;
    /// As [`Lstm`]'s.
    const STREAMS: bool = streams(Self::ROWS, I + H);

    #[inline(always)]
    fn run<B: Backend, A: Act>(&self, x: &[f32; I], s: &mut ElmanState<H>) {
        let rev = Self::STREAMS && s.rev;
        if Self::STREAMS {
            s.rev = !rev;
        }
        self.cell
            .step_with::<B, A>(x, &mut s.h, s.scratch.words(), rev);
    }
}

impl<'a, const I: usize, const H: usize> Stage<'a> for Elman<'a, I, H> {
    const LAYERS: usize = 1;
    type In = [f32; I];
    type Out = [f32; H];
    type State = ElmanState<H>;

    fn bind(layers: &[Layer<'a>], first: usize, math: Math) -> Result<Self, Error> {
        let found = layer(layers, first, "elman")?;
        let Layer::Elman(l) = found else {
            return Err(kind(first, "elman", found));
        };
        let (r, n) = (Self::ROWS, [I, H, 1]);
        recurrent(first, (I, H), l.hidden, l.input, l.layout)?;
        tensors(first, &[l.w_x, l.w_h, l.b], n.map(|k| k * r))?;
        Ok(Elman { cell: *l, math })
    }

    fn new_state() -> ElmanState<H> {
        ElmanState::default()
    }

    #[inline]
    fn step(&self, x: &[f32; I], s: &mut ElmanState<H>) -> [f32; H] {
        with_math!(self.math, self.run(x, s));
        s.h
    }
}

/// A Dense layer of `I` inputs and `O` outputs (linear, softmax, sigmoid or
/// tanh).
#[derive(Debug, Clone, Copy)]
pub struct Dense<'a, const I: usize, const O: usize> {
    cell: cell::Dense<'a>,
    math: Math,
}

impl<const I: usize, const O: usize> Dense<'_, I, O> {
    #[inline(always)]
    fn run<B: Backend, A: Act>(&self, x: &[f32; I], y: &mut [f32; O]) {
        self.cell.forward_with::<B, A>(x, y);
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
        tensors(first, &[l.w, l.b], [I * O, O])?;
        Ok(Dense { cell: *l, math })
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
