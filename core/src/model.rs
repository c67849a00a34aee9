//! `Model`: a validated, zero-copy view of a model file, and the streaming step.

use crate::bytes::Aligned4;
use crate::cell::{Dense, Elman, Embedding, Gru, Lstm};
use crate::error::Error;
use crate::format::{GruVariant, Layout, MAX_LAYERS};
use crate::kernel::activation::Act;
use crate::kernel::{Backend, Kernel, Math, HAS_SIMD};
use crate::quant::{self, layer::QuantLayer};
use crate::state::StateStorage;

/// Whether the cargo features link any quantized format: without one the
/// loader never builds a [`Layer::Quant`], and these guards keep the code
/// for it out of the link.
pub(crate) const QUANT: bool = quant::layer::ANY;
/// Whether f32 layers are linked: with feature `f32`, or when no quantized
/// format is (so `features = ["lstm"]` is an f32 LSTM build, and
/// `features = ["lstm", "integer"]` an integer-only one).
pub(crate) const F32: bool = cfg!(feature = "f32") || !QUANT;

/// One layer of a loaded model, with its weights borrowed from the model bytes.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Layer<'a> {
    /// Token id to vector.
    Embedding(Embedding<'a>),
    /// Elman RNN.
    Elman(Elman<'a>),
    /// LSTM.
    Lstm(Lstm<'a>),
    /// GRU.
    Gru(Gru<'a>),
    /// Dense (fully connected).
    Dense(Dense<'a>),
    /// A layer in a quantized number format (f16, i8 hybrid or integer).
    Quant(QuantLayer<'a>),
}

impl Layer<'_> {
    /// A short name of the layer kind: `embedding`, `elman`, `lstm`, `gru` or `dense`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Layer::Embedding(_) => "embedding",
            Layer::Elman(_) => "elman",
            Layer::Lstm(_) => "lstm",
            Layer::Gru(_) => "gru",
            Layer::Dense(_) => "dense",
            Layer::Quant(q) => q.kind_name(),
        }
    }

    /// Input size (vocabulary size for an Embedding).
    // Inlined into callers in other crates on the host (the step checks the
    // input's length with it: measured 31 instructions fewer per step);
    // firmware builds use LTO, where the hint only grew the code.
    #[cfg_attr(not(target_arch = "arm"), inline)]
    pub const fn input_size(&self) -> usize {
        match self {
            Layer::Embedding(e) => e.vocab,
            Layer::Elman(c) => c.input,
            Layer::Lstm(c) => c.input,
            Layer::Gru(c) => c.input,
            Layer::Dense(d) => d.input,
            Layer::Quant(q) => q.sizes().0,
        }
    }

    /// Output size.
    // As `input_size`.
    #[cfg_attr(not(target_arch = "arm"), inline)]
    pub const fn output_size(&self) -> usize {
        match self {
            Layer::Embedding(e) => e.dim,
            Layer::Elman(c) => c.hidden,
            Layer::Lstm(c) => c.hidden,
            Layer::Gru(c) => c.hidden,
            Layer::Dense(d) => d.out,
            Layer::Quant(q) => q.sizes().1,
        }
    }

    /// Whether the layer is an Embedding (in any number format).
    pub const fn is_embedding(&self) -> bool {
        match self {
            Layer::Embedding(_) => true,
            Layer::Quant(q) => q.is_embedding(),
            _ => false,
        }
    }

    /// Whether the layer carries state from step to step.
    pub const fn is_recurrent(&self) -> bool {
        match self {
            Layer::Quant(q) if QUANT => q.gates() > 0,
            Layer::Quant(_) => false,
            _ => matches!(self, Layer::Elman(_) | Layer::Lstm(_) | Layer::Gru(_)),
        }
    }

    /// f32 words of recurrent state (h, and c for LSTM).
    pub const fn state_len(&self) -> usize {
        match self {
            Layer::Elman(c) => c.state_len(),
            Layer::Lstm(c) => c.state_len(),
            Layer::Gru(c) => c.state_len(),
            Layer::Quant(q) if QUANT => q.state_len(),
            Layer::Quant(_) => 0,
            Layer::Embedding(_) | Layer::Dense(_) => 0,
        }
    }

    /// f32 words of scratch one step of this layer needs.
    pub(crate) const fn scratch_len(&self) -> usize {
        match self {
            Layer::Elman(c) => c.scratch_len(),
            Layer::Lstm(c) => c.scratch_len(),
            Layer::Gru(c) => c.scratch_len(),
            Layer::Quant(q) if QUANT => q.scratch_len(),
            Layer::Quant(_) => 0,
            Layer::Embedding(_) | Layer::Dense(_) => 0,
        }
    }

    /// Gate blocks of a recurrent layer (1 Elman, 4 LSTM, 3 GRU; 0 otherwise).
    const fn gates(&self) -> usize {
        match self {
            Layer::Elman(_) => 1,
            Layer::Lstm(_) => 4,
            Layer::Gru(_) => 3,
            Layer::Quant(q) if QUANT => q.gates(),
            Layer::Quant(_) => 0,
            Layer::Embedding(_) | Layer::Dense(_) => 0,
        }
    }

    /// Whether the host's SIMD kernels stream this layer's weights (an f32
    /// Elman, LSTM or reset-after GRU in [`Layout::ColMajor8`] with a
    /// product of more than 8,192 weights, padded rows counted), sweeping
    /// them forward and backward on alternate steps (see [`Model::step`]).
    pub(crate) const fn streams(&self) -> bool {
        use crate::kernel::simd::streams;
        match self {
            Layer::Lstm(c) if matches!(c.layout, Layout::ColMajor8) => {
                let rows = 4usize.saturating_mul(c.layout.padded(c.hidden));
                streams(rows, c.input.saturating_add(c.hidden))
            }
            Layer::Gru(c)
                if matches!(c.layout, Layout::ColMajor8)
                    && matches!(c.variant, GruVariant::ResetAfter) =>
            {
                let rows = 3usize.saturating_mul(c.layout.padded(c.hidden));
                streams(rows, c.input) || streams(rows, c.hidden)
            }
            Layer::Elman(c) if matches!(c.layout, Layout::ColMajor8) => {
                streams(c.layout.padded(c.hidden), c.input.saturating_add(c.hidden))
            }
            _ => false,
        }
    }

    /// Number of weights and biases (without any layout padding).
    pub fn param_count(&self) -> usize {
        let (i, h) = (self.input_size(), self.output_size());
        match self {
            Layer::Embedding(e) => e.table.len(),
            Layer::Gru(_) => 3 * h * (i + h + 2),
            Layer::Elman(_) | Layer::Lstm(_) => self.gates() * h * (i + h + 1),
            Layer::Dense(d) => d.w.len() + d.b.len(),
            Layer::Quant(q) if q.is_embedding() => i * h,
            Layer::Quant(q) => match q.gates() {
                0 => h * (i + 1),
                3 => 3 * h * (i + h + 2),
                g => g * h * (i + h + 1),
            },
        }
    }

    /// Multiply-accumulates of one step (without any layout padding).
    pub fn macs_per_step(&self) -> usize {
        let (i, h) = (self.input_size(), self.output_size());
        match self {
            Layer::Embedding(_) => 0,
            Layer::Quant(q) if q.is_embedding() => 0,
            Layer::Elman(_) | Layer::Lstm(_) | Layer::Gru(_) => self.gates() * h * (i + h),
            Layer::Dense(d) => d.w.len(),
            Layer::Quant(q) => match q.gates() {
                0 => h * i,
                g => g * h * (i + h),
            },
        }
    }

    /// How the layer's weights are stored (Embedding and Dense: row-major).
    pub fn layout(&self) -> Layout {
        match self {
            Layer::Elman(c) => c.layout,
            Layer::Lstm(c) => c.layout,
            Layer::Gru(c) => c.layout,
            Layer::Embedding(_) | Layer::Dense(_) | Layer::Quant(_) => Layout::RowMajor,
        }
    }
}

/// Where a layer's input comes from during a step.
#[derive(Clone, Copy)]
enum Src<'x> {
    /// The caller's input, or an embedding row.
    Ext(&'x [f32]),
    /// The `h` of an earlier recurrent layer, at this offset in the state words.
    State { off: usize, len: usize },
    /// One of the two Dense ping-pong buffers.
    Io { second: bool, len: usize },
}

/// A validated model whose weights stay where the bytes are (flash, or a buffer).
///
/// Loading checks everything once; afterwards `step` cannot fail on the weights.
/// The model holds no per-stream state: one model serves any number of
/// [`State`](crate::State)s. It does hold two choices that apply to every
/// stream: which [`Kernel`] and which [`Math`] a step runs
/// ([`with_kernel`](Self::with_kernel), [`with_math`](Self::with_math)).
///
/// `L` is how many layers the model holds (default [`MAX_LAYERS`], 16): its
/// layer table is part of the value, about 80 bytes per layer on a 32-bit
/// chip. Firmware that knows its model can size it to fit, e.g.
/// `Model::<2>::from_bytes_with_capacity` for an LSTM and a Dense head; a
/// file with more layers is rejected with [`Error::TooManyLayers`].
#[derive(Debug, Clone)]
pub struct Model<'a, const L: usize = MAX_LAYERS> {
    /// The layers, in `layers[..layer_count]` (an array, not a
    /// `heapless::Vec`: the loader fills it in a `const fn`).
    pub(crate) layers: [Layer<'a>; L],
    pub(crate) layer_count: usize,
    pub(crate) kernel: Kernel,
    pub(crate) math: Math,
    pub(crate) state_off: [usize; L],
    pub(crate) metadata: &'a [u8],
    pub(crate) recurrent_len: usize,
    pub(crate) scratch_len: usize,
    pub(crate) io_len: usize,
    pub(crate) last_recurrent: usize,
    /// Whether the state ends in the sweep word (see [`Layer::streams`]).
    pub(crate) sweep: bool,
}

impl<'a> Model<'a> {
    /// Validates a model file and borrows its weights in place.
    ///
    /// Checks, in order: alignment (4 bytes), preamble, magic, version, length,
    /// CRC-32, the reserved fields (flags, padding), header, every tensor's
    /// bounds and alignment, every layer's kind, format, activation, tensor
    /// shapes and its size against the layer before (the full list is in
    /// `FORMAT.md`). Never panics, whatever the bytes.
    #[inline(always)]
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, Error> {
        Self::from_bytes_with_capacity(bytes)
    }
}

impl<'a, const L: usize> Model<'a, L> {
    /// [`from_bytes`](Model::from_bytes) into a model type that holds at most
    /// `L` layers (`Model::<2>::from_bytes_with_capacity(bytes)`): a file
    /// with more is rejected with [`Error::TooManyLayers`].
    // Inlined: the model is built in the caller's frame (out of line it
    // was built, then copied, all the same: measured 28 B larger).
    #[inline(always)]
    pub fn from_bytes_with_capacity(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut out = Ok(Self::EMPTY);
        if let Ok(m) = &mut out {
            let loaded = match Aligned4::new(bytes) {
                Some(bytes) => m.load(bytes),
                None => Err(Error::Misaligned),
            };
            if let Err(e) = loaded {
                out = Err(e);
            }
        }
        out
    }

    /// [`from_bytes_with_capacity`](Self::from_bytes_with_capacity) as a
    /// `const fn`, for bytes whose type guarantees their alignment: it can
    /// load a model while the program is compiled, into a `static`, which
    /// is what [`static_model!`](crate::static_model) does. The same loader
    /// with the same checks runs, in the compiler.
    ///
    /// ```
    /// # use tinyrnn::{Aligned, Model};
    /// // A file that is not a model: refused, by the same checks as from_bytes.
    /// static BYTES: &Aligned<[u8]> = &Aligned([0u8; 32]);
    /// const LOADED: Result<Model<'static, 2>, tinyrnn::Error> = Model::from_aligned(BYTES);
    /// assert_eq!(LOADED.err(), Some(tinyrnn::Error::BadMagic));
    /// ```
    pub const fn from_aligned(bytes: &'a crate::Aligned<[u8]>) -> Result<Self, Error> {
        let mut m = Self::EMPTY;
        match m.load(Aligned4::from_aligned(bytes)) {
            Ok(()) => Ok(m),
            Err(e) => Err(e),
        }
    }

    /// A model with no layers, that the loader fills.
    const EMPTY: Self = Model {
        layers: [Layer::Embedding(Embedding {
            vocab: 0,
            dim: 0,
            table: &[],
        }); L],
        layer_count: 0,
        kernel: Kernel::native(),
        math: Math::Exact,
        state_off: [0; L],
        metadata: &[],
        recurrent_len: 0,
        scratch_len: 0,
        io_len: 0,
        last_recurrent: 0,
        sweep: false,
    };

    /// The same model, stepping with `kernel` (default [`Kernel::native`]).
    pub const fn with_kernel(mut self, kernel: Kernel) -> Self {
        self.kernel = kernel;
        self
    }

    /// The same model, computing sigmoid and tanh with `math` (default
    /// [`Math::Exact`]; without the `exact-math` feature the step always
    /// uses [`Math::Fast`], see [`math`](Self::math)).
    pub const fn with_math(mut self, math: Math) -> Self {
        self.math = math;
        self
    }

    /// The kernel a step runs.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// The activation functions a step computes: always [`Math::Fast`]
    /// when the crate is built without the `exact-math` feature.
    pub fn math(&self) -> Math {
        if cfg!(feature = "exact-math") {
            self.math
        } else {
            Math::Fast
        }
    }

    /// The layers, first to last.
    pub const fn layers(&self) -> &[Layer<'a>] {
        match self.layers.split_at_checked(self.layer_count) {
            Some((layers, _)) => layers,
            None => &[],
        }
    }

    /// The application's opaque metadata bytes stored in the file.
    pub fn metadata(&self) -> &'a [u8] {
        self.metadata
    }

    /// Whether the model takes token ids (its first layer is an Embedding).
    pub fn is_token_input(&self) -> bool {
        self.layers().first().is_some_and(Layer::is_embedding)
    }

    /// Length of the input vector of [`step`](Self::step); for a token model the
    /// vocabulary size.
    pub fn input_size(&self) -> usize {
        self.layers().first().map_or(0, |l| l.input_size())
    }

    /// Length of the output vector.
    pub fn output_size(&self) -> usize {
        self.layers().last().map_or(0, |l| l.output_size())
    }

    /// f32 words a state for this model holds: recurrent state plus scratch,
    /// and for a model with an f32 Elman, LSTM or reset-after GRU layer in
    /// [`Layout::ColMajor8`](crate::Layout::ColMajor8) with more than 8,192
    /// weights in one product, one last word that records which way the
    /// host's SIMD kernels sweep those weights next (they alternate, see
    /// [`Model::step`]). Use it to size [`State`](crate::State).
    pub fn state_len(&self) -> usize {
        self.recurrent_len + self.scratch_len + 2 * self.io_len + self.sweep as usize
    }

    /// f32 words of recurrent state alone (what carries from step to step).
    pub fn recurrent_state_len(&self) -> usize {
        self.recurrent_len
    }

    /// Total weights and biases.
    pub fn param_count(&self) -> usize {
        self.layers().iter().map(Layer::param_count).sum()
    }

    /// Multiply-accumulates of one step.
    pub fn macs_per_step(&self) -> usize {
        self.layers().iter().map(Layer::macs_per_step).sum()
    }

    /// One timestep on a vector input: updates `state`, writes the output to `y`.
    ///
    /// The input is not checked for NaN or infinity: f32, f16 and i8 layers
    /// carry a NaN through to the output, while an integer layer quantizes
    /// its input (NaN to 0, ±inf to its range's ends), as
    /// [`quant::quantize_value`](crate::quant::quantize_value) does.
    ///
    /// # Errors
    ///
    /// [`Error::WrongInputKind`] on a model with an Embedding input (use
    /// [`step_token`](Self::step_token)), [`Error::InputLength`] and
    /// [`Error::OutputLength`] for slices of other lengths,
    /// [`Error::StateMismatch`] for a state of another length than this
    /// model's; the state is unchanged then.
    ///
    /// # Sweep direction
    ///
    /// An f32 Elman, LSTM or reset-after GRU layer in
    /// [`Layout::ColMajor8`](crate::Layout::ColMajor8) whose weights outgrow
    /// the L1 cache (more than 8,192 in one product, padded rows counted) is
    /// swept by the host's SIMD kernels from its first column to its last on
    /// one step and back on the next, so that each step starts on the
    /// weights the step before read last, still in L1 (measured up to 1.17x
    /// as fast; core README, "Fast host build"). The state's last word says
    /// which way the next step goes (`0.0`: forward; a reset state starts
    /// forward). The sums then run in another order, so outputs may differ
    /// in their last bits from a forward-only sweep (within the same 1e-5 of
    /// the ONNX Runtime goldens); a copied state steps on exactly as the
    /// original would. The scalar kernels ignore the word; on a target
    /// without SIMD (a Cortex-M) it is never read or written.
    pub fn step<S: StateStorage + ?Sized>(
        &self,
        state: &mut S,
        x: &[f32],
        y: &mut [f32],
    ) -> Result<(), Error> {
        let words = state.words_mut();
        if HAS_SIMD && self.step_one(words, x, y) {
            return Ok(());
        }
        if self.is_token_input() {
            return Err(Error::WrongInputKind);
        }
        if x.len() != self.input_size() {
            return Err(Error::InputLength {
                expected: self.input_size(),
                found: x.len(),
            });
        }
        self.run(words, 0, Src::Ext(x), y)
    }

    /// [`step`](Self::step) for a model of one f32 recurrent layer,
    /// optionally followed by an f32 Dense head (the usual streaming
    /// models), on hosts, with the fewest checks: `false`, touching nothing,
    /// for any other model or any size that does not fit (the general path
    /// then runs, or reports the error). With the head, LSTM 1x32 + Dense
    /// 32 to 1 measured 1.075x as fast as through the general path (an
    /// AVX-512 Xeon, `bench_json`, median of 8 alternating rounds' ratios);
    /// the values are the general path's, bit for bit (the same calls).
    #[inline(always)]
    fn step_one(&self, words: &mut [f32], x: &[f32], y: &mut [f32]) -> bool {
        let (layer, head) = match self.layers() {
            [layer] => (layer, None),
            [layer, Layer::Dense(d)] if F32 => (layer, Some(d)),
            _ => return false,
        };
        let (input, hidden) = match layer {
            Layer::Lstm(c) => (c.input, c.hidden),
            Layer::Gru(c) => (c.input, c.hidden),
            Layer::Elman(c) => (c.input, c.hidden),
            _ => return false,
        };
        let out = head.map_or(hidden, |d| d.out);
        if x.len() != input
            || y.len() != out
            || head.is_some_and(|d| d.input != hidden)
            || words.len() != self.state_len()
        {
            return false;
        }
        crate::kernel::with_kernels!(
            self.kernel,
            self.math(),
            self.one_with(layer, head, hidden, words, x, y)
        );
        true
    }

    /// The step of [`step_one`](Self::step_one) with kernels `B` and
    /// activations `A`.
    #[inline(always)]
    fn one_with<B: Backend, A: Act>(
        &self,
        layer: &Layer<'_>,
        head: Option<&Dense<'_>>,
        hidden: usize,
        words: &mut [f32],
        x: &[f32],
        y: &mut [f32],
    ) {
        let rev = self.sweep(words);
        let (states, scratch) = split(words, self.recurrent_len);
        step_f32_cell::<B, A>(layer, x, states, prefix(scratch, self.scratch_len), rev);
        let h = prefix(states, hidden);
        match head {
            Some(d) => d.forward_with::<B, A>(h, y),
            None => crate::kernel::copy(h, y),
        }
    }

    /// The direction of this step's sweep over large layers' weights (see
    /// [`step`](Self::step)): `true` (backward) if the state's last word is
    /// nonzero; the word is set for the next step. `false`, touching
    /// nothing, for a model without the word, or where there is no SIMD
    /// kernel. `words` is the whole state, of [`state_len`](Self::state_len).
    #[inline(always)]
    fn sweep(&self, words: &mut [f32]) -> bool {
        if !(HAS_SIMD && self.sweep) {
            return false;
        }
        let Some(word) = words.last_mut() else {
            return false;
        };
        let rev = *word != 0.0;
        *word = if rev { 0.0 } else { 1.0 };
        rev
    }

    /// One timestep on a token input (models whose first layer is an Embedding).
    pub fn step_token<S: StateStorage + ?Sized>(
        &self,
        state: &mut S,
        token: usize,
        y: &mut [f32],
    ) -> Result<(), Error> {
        match self.layers().first() {
            Some(Layer::Embedding(e)) => {
                let row = e.lookup(token).ok_or(Error::TokenOutOfRange {
                    token,
                    vocab: e.vocab,
                })?;
                self.run(state.words_mut(), 1, Src::Ext(row), y)
            }
            Some(Layer::Quant(q)) if q.is_embedding() => {
                // The vector is decoded into the first io buffer.
                let (vocab, dim) = q.sizes();
                let words = state.words_mut();
                self.check_state(words.len())?;
                let io = self.recurrent_len + self.scratch_len;
                let ok = words
                    .get_mut(io..io + dim)
                    .is_some_and(|row| q.lookup_into(token, row));
                if !ok {
                    return Err(Error::TokenOutOfRange { token, vocab });
                }
                let src = Src::Io {
                    second: false,
                    len: dim,
                };
                self.run(words, 1, src, y)
            }
            _ => Err(Error::WrongInputKind),
        }
    }

    /// A masked timestep (the sample is missing): the state is left untouched and
    /// `y` is computed from it, as Keras' `Masking` does.
    pub fn skip<S: StateStorage + ?Sized>(
        &self,
        state: &mut S,
        y: &mut [f32],
    ) -> Result<(), Error> {
        let li = self.last_recurrent;
        let src = Src::State {
            off: self.state_off[li],
            len: self.layers().get(li).map_or(0, Layer::output_size),
        };
        self.run(state.words_mut(), li + 1, src, y)
    }

    /// A timestep whose sample may be missing: `Some(x)` steps, `None` skips.
    pub fn step_masked<S: StateStorage + ?Sized>(
        &self,
        state: &mut S,
        x: Option<&[f32]>,
        y: &mut [f32],
    ) -> Result<(), Error> {
        match x {
            Some(x) => self.step(state, x, y),
            None => self.skip(state, y),
        }
    }

    /// Streams a whole sequence: `xs` holds `T` inputs back to back, `ys` receives
    /// `T` outputs back to back. The state carries over from and into `state`.
    pub fn run_sequence<S: StateStorage + ?Sized>(
        &self,
        state: &mut S,
        xs: &[f32],
        ys: &mut [f32],
    ) -> Result<(), Error> {
        let (i, o) = (self.input_size(), self.output_size());
        if self.is_token_input() {
            return Err(Error::WrongInputKind);
        }
        if i == 0 || !xs.len().is_multiple_of(i) {
            return Err(Error::InputLength {
                expected: i,
                found: xs.len(),
            });
        }
        let steps = xs.len() / i;
        if ys.len() != steps * o {
            return Err(Error::OutputLength {
                expected: steps * o,
                found: ys.len(),
            });
        }
        for (x, y) in xs.chunks_exact(i).zip(ys.chunks_exact_mut(o)) {
            self.step(state, x, y)?;
        }
        Ok(())
    }

    /// The recurrent state of layer `layer`: `(h, c)`, `c` only for LSTM.
    pub fn layer_state<'s, S: StateStorage + ?Sized>(
        &self,
        state: &'s S,
        layer: usize,
    ) -> Result<(&'s [f32], Option<&'s [f32]>), Error> {
        let (off, l) = self.state_slot(layer)?;
        let words = state.words();
        self.check_state(words.len())?;
        let n = l.output_size();
        let h = &words[off..off + n];
        let has_c = has_cell_state(l);
        let c = has_c.then(|| &words[off + n..off + 2 * n]);
        Ok((h, c))
    }

    /// Sets the recurrent state of layer `layer` (for LSTM also `c`; `None` leaves it).
    ///
    /// # Errors
    ///
    /// Checked before anything is written, so on an error the state is as it was:
    /// [`Error::NoSuchLayer`] for a layer the model does not have or that has no
    /// state (Dense, Embedding); [`Error::StateMismatch`] for a state of another
    /// model; [`Error::InputLength`] unless `h` has the layer's `hidden` values,
    /// and for `c` unless it has `hidden` values (LSTM) or is `None` (`expected: 0`
    /// for the layers without a cell state).
    pub fn set_layer_state<S: StateStorage + ?Sized>(
        &self,
        state: &mut S,
        layer: usize,
        h: &[f32],
        c: Option<&[f32]>,
    ) -> Result<(), Error> {
        let (off, l) = self.state_slot(layer)?;
        let n = l.output_size();
        let words = state.words_mut();
        self.check_state(words.len())?;
        let has_c = has_cell_state(l);
        let length = |expected: usize, found: usize| {
            if expected == found {
                Ok(())
            } else {
                Err(Error::InputLength { expected, found })
            }
        };
        length(n, h.len())?;
        if let Some(c) = c {
            length(if has_c { n } else { 0 }, c.len())?;
        }
        words[off..off + n].copy_from_slice(h);
        if let Some(c) = c.filter(|_| has_c) {
            words[off + n..off + 2 * n].copy_from_slice(c);
        }
        Ok(())
    }

    fn state_slot(&self, layer: usize) -> Result<(usize, &Layer<'a>), Error> {
        match self.layers().get(layer) {
            Some(l) if l.is_recurrent() => Ok((self.state_off[layer], l)),
            _ => Err(Error::NoSuchLayer { layer }),
        }
    }

    fn check_state(&self, found: usize) -> Result<(), Error> {
        if found != self.state_len() {
            return Err(Error::StateMismatch {
                expected: self.state_len(),
                found,
            });
        }
        Ok(())
    }

    /// Runs layers `first..` on `src` with the model's kernel and math.
    fn run(
        &self,
        words: &mut [f32],
        first: usize,
        src: Src<'_>,
        y: &mut [f32],
    ) -> Result<(), Error> {
        crate::kernel::with_kernels!(
            self.kernel,
            self.math(),
            self.run_with(words, first, src, y)
        )
    }

    /// Runs layers `first..` on `src`, writing the last layer's output to `y`.
    #[inline(always)]
    fn run_with<B: Backend, A: Act>(
        &self,
        words: &mut [f32],
        first: usize,
        src: Src<'_>,
        y: &mut [f32],
    ) -> Result<(), Error> {
        self.check_state(words.len())?;
        if y.len() != self.output_size() {
            return Err(Error::OutputLength {
                expected: self.output_size(),
                found: y.len(),
            });
        }
        // Every split and prefix below is in range by construction (the
        // loader sized `words`, checked above); the clamping forms keep the
        // step free of panic paths instead of relying on that.
        let rev = self.sweep(words);
        let (states, scratch) = split(words, self.recurrent_len);
        let (gates, io) = split(scratch, self.scratch_len);
        let (io_a, io_b) = split(io, self.io_len);
        let mut src = src;
        let last = self.layer_count.saturating_sub(1);
        // One copy of the loop body in flash, also when a small capacity
        // `L` bounds the loop to a few layers (it would be unrolled): the
        // offsets are read through a slice of unknown length.
        let state_off: &[usize] = core::hint::black_box(&self.state_off);
        for (li, layer) in self.layers().iter().enumerate().skip(first) {
            let off = state_off.get(li).copied().unwrap_or(0);
            // The input, resolved once for every kind: the caller's, an
            // earlier layer's `h` (below `off`: the loader lays the states
            // out in layer order), or the io buffer `rd` a Dense layer wrote;
            // a Dense layer here writes into the other one, `wr`.
            let into_b = !matches!(src, Src::Io { second: true, .. });
            let (rd, wr): (&[f32], &mut [f32]) = if into_b { (io_a, io_b) } else { (io_b, io_a) };
            let (lower, upper) = split(states, off);
            let x = match src {
                Src::Ext(x) => Some(x),
                Src::State { off, len } => lower.get(off..off.saturating_add(len)),
                Src::Io { len, .. } => rd.get(..len),
            }
            .unwrap_or(&[]);
            match layer {
                Layer::Embedding(_) => {}
                Layer::Elman(_) | Layer::Lstm(_) | Layer::Gru(_) => {
                    step_f32_cell::<B, A>(layer, x, upper, gates, rev);
                }
                Layer::Dense(d) if F32 => {
                    // Into `y` for the last layer.
                    let to = if li == last {
                        &mut *y
                    } else {
                        prefix(wr, d.out)
                    };
                    d.forward_with::<B, A>(x, to);
                    if li == last {
                        return Ok(());
                    }
                    src = Src::Io {
                        second: into_b,
                        len: d.out,
                    };
                    continue;
                }
                Layer::Quant(q) if q.is_embedding() => {}
                Layer::Quant(q) if QUANT && q.gates() == 0 => {
                    let simd = HAS_SIMD && self.kernel == Kernel::Simd;
                    let out = q.sizes().1;
                    let to = if li == last { &mut *y } else { prefix(wr, out) };
                    q.forward::<A>(x, to, gates, simd);
                    if li == last {
                        return Ok(());
                    }
                    src = Src::Io {
                        second: into_b,
                        len: out,
                    };
                    continue;
                }
                Layer::Quant(q) if QUANT => {
                    let simd = HAS_SIMD && self.kernel == Kernel::Simd;
                    q.step::<A>(x, prefix(upper, q.state_len()), gates, simd);
                }
                // Left out by cargo features: the loader never builds these.
                Layer::Dense(_) | Layer::Quant(_) => {}
            }
            src = Src::State {
                off,
                len: layer.output_size(),
            };
        }
        crate::kernel::copy(resolve(src, states, io_a, io_b), y);
        Ok(())
    }
}

/// One step of the f32 recurrent `layer` (Elman, LSTM or GRU) on `x`, with
/// its state at the start of `state` (`h`, then `c` for an LSTM) and its
/// scratch `gates`, sweeping large weights backward if `rev` (see
/// [`Model::step`]). Nothing for any other layer, or for a cell type the
/// cargo features leave out (the loader never builds those).
#[inline(always)]
fn step_f32_cell<B: Backend, A: Act>(
    layer: &Layer<'_>,
    x: &[f32],
    state: &mut [f32],
    gates: &mut [f32],
    rev: bool,
) {
    match layer {
        Layer::Elman(c) if F32 && cfg!(feature = "elman") => {
            c.step_with::<B, A>(x, prefix(state, c.hidden), gates, rev);
        }
        Layer::Lstm(c) if F32 && cfg!(feature = "lstm") => {
            let (h, rest) = split(state, c.hidden);
            c.step_with::<B, A>(x, h, prefix(rest, c.hidden), gates, rev);
        }
        Layer::Gru(c) if F32 && cfg!(feature = "gru") => {
            c.step_with::<B, A>(x, prefix(state, c.hidden), gates, rev);
        }
        _ => {}
    }
}

/// `s` split at `at` (all of `s` and nothing when `at` is beyond it).
#[inline(always)]
fn split(s: &mut [f32], at: usize) -> (&mut [f32], &mut [f32]) {
    let at = at.min(s.len());
    s.split_at_mut(at)
}

/// The first `n` elements of `s` (all of it when shorter).
#[inline(always)]
fn prefix(s: &mut [f32], n: usize) -> &mut [f32] {
    let n = n.min(s.len());
    &mut s[..n]
}

fn resolve<'x>(src: Src<'x>, states: &'x [f32], io_a: &'x [f32], io_b: &'x [f32]) -> &'x [f32] {
    match src {
        Src::Ext(x) => x,
        Src::State { off, len } => states.get(off..off.saturating_add(len)).unwrap_or(&[]),
        Src::Io { second: false, len } => io_a.get(..len).unwrap_or(&[]),
        Src::Io { second: true, len } => io_b.get(..len).unwrap_or(&[]),
    }
}

/// Whether layer `l` keeps a cell state `c` after its `h` (LSTM).
fn has_cell_state(l: &Layer<'_>) -> bool {
    matches!(l, Layer::Lstm(_)) || matches!(l, Layer::Quant(q) if q.has_cell())
}
