//! The one error type of the crate.

use core::fmt;

/// Everything that can go wrong when loading a model or stepping it.
///
/// Loading (`Model::from_bytes`) checks the whole file once; after that, a step
/// can only fail on what the caller passes in (slice lengths, a state whose
/// length is another model's, a token out of range).
// A word-sized tag: an `Error` moves as aligned words (no `memcpy` call
// on a microcontroller for its odd-sized, byte-offset payload).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Error {
    /// The bytes end before the model does: `needed` bytes, only `available` present.
    Truncated {
        /// Bytes the file says it has (or the minimum for a preamble).
        needed: usize,
        /// Bytes actually given.
        available: usize,
    },
    /// More bytes follow the checksum than the file declares.
    TrailingBytes {
        /// Length the file declares.
        expected: usize,
        /// Length given.
        found: usize,
    },
    /// The first four bytes are not `TRNN`: this is not a tinyrnn model file.
    BadMagic,
    /// The file's format version is one this build cannot read.
    UnsupportedVersion {
        /// Version in the file.
        found: u16,
        /// Version this build reads.
        supported: u16,
    },
    /// The stored CRC-32 does not match the bytes: the file is corrupted.
    ChecksumMismatch {
        /// Checksum stored in the file.
        stored: u32,
        /// Checksum of the bytes as given.
        computed: u32,
    },
    /// The model bytes do not start at a 4-byte aligned address, so weights cannot
    /// be used in place. Use `include_model!` or `AlignedBuf`.
    Misaligned,
    /// This target is big-endian; model files store little-endian weights.
    UnsupportedEndianness,
    /// The postcard header could not be decoded (corrupt, or more layers/tensors
    /// than this build's limits `MAX_LAYERS` / `MAX_TENSORS`).
    BadHeader,
    /// The file has more layers than the [`Model`](crate::Model) type holds:
    /// its layer capacity `L` (`Model<'_, L>`, default `MAX_LAYERS`) is too small.
    TooManyLayers {
        /// Layers in the file.
        found: usize,
        /// Layers the model type holds.
        capacity: usize,
    },
    /// A tensor lies (partly) outside the payload.
    TensorOutOfBounds {
        /// Index in the tensor table.
        tensor: usize,
    },
    /// A tensor's offset is not a multiple of 16.
    TensorMisaligned {
        /// Index in the tensor table.
        tensor: usize,
    },
    /// A tensor's element type or layout code is unknown.
    UnknownTensorType {
        /// Index in the tensor table.
        tensor: usize,
    },
    /// The model has no layers, or no recurrent layer.
    NoRecurrentLayer,
    /// A layer kind code this build does not know.
    UnsupportedLayer {
        /// Layer index.
        layer: usize,
        /// The kind code found.
        code: u8,
    },
    /// A number format this build does not support for this layer (its cargo
    /// feature is off), or one the model type does not run
    /// ([`IntModel`](crate::quant::IntModel) runs integer layers only).
    UnsupportedFormat {
        /// Layer index.
        layer: usize,
        /// The format code found.
        code: u8,
    },
    /// An activation (or GRU variant) code that does not fit this layer kind.
    UnsupportedActivation {
        /// Layer index.
        layer: usize,
        /// The activation code found.
        code: u8,
    },
    /// A layer refers to tensors outside the table, or to the wrong number of them.
    BadTensorRef {
        /// Layer index.
        layer: usize,
    },
    /// A tensor's shape is not what the layer needs.
    TensorShape {
        /// Layer index.
        layer: usize,
        /// Which of the layer's tensors (0-based).
        tensor: usize,
        /// Shape the layer needs (rows, cols).
        expected: (u32, u32),
        /// Shape in the file.
        found: (u32, u32),
    },
    /// A tensor's element type does not match the layer's number format.
    TensorType {
        /// Layer index.
        layer: usize,
        /// Which of the layer's tensors (0-based).
        tensor: usize,
    },
    /// A tensor's layout is one its layer does not accept (Dense and Embedding
    /// are row-major only), or differs from the layout of the layer's first tensor.
    TensorLayout {
        /// Layer index.
        layer: usize,
        /// Which of the layer's tensors (0-based).
        tensor: usize,
    },
    /// A layer has a zero size.
    ZeroSize {
        /// Layer index.
        layer: usize,
    },
    /// A size does not fit this target's arithmetic.
    TooLarge,
    /// A layer's input size differs from the previous layer's output size.
    LayerSizeMismatch {
        /// Layer index.
        layer: usize,
        /// Output size of the layer before.
        expected: usize,
        /// Input size this layer declares.
        found: usize,
    },
    /// An Embedding layer appears after the first position.
    EmbeddingNotFirst {
        /// Layer index.
        layer: usize,
    },
    /// The state's fixed capacity is smaller than the model needs.
    StateTooSmall {
        /// Words (f32) the model needs.
        needed: usize,
        /// Words the state can hold.
        capacity: usize,
    },
    /// The state has another length than the model's state: it was made for
    /// a model of another shape. (A state is plain words; one made for
    /// another model of the same length is not told apart.)
    StateMismatch {
        /// Words this model needs.
        expected: usize,
        /// Words the state holds.
        found: usize,
    },
    /// The input slice has the wrong length.
    InputLength {
        /// Length the model takes.
        expected: usize,
        /// Length given.
        found: usize,
    },
    /// The output slice has the wrong length.
    OutputLength {
        /// Length the model writes.
        expected: usize,
        /// Length given.
        found: usize,
    },
    /// A token id is not below the vocabulary size.
    TokenOutOfRange {
        /// The token given.
        token: usize,
        /// The vocabulary size.
        vocab: usize,
    },
    /// `step` was called on a token model or `step_token` on a vector model.
    WrongInputKind,
    /// A layer index that the model does not have (or that has no state).
    NoSuchLayer {
        /// Layer index given.
        layer: usize,
    },
    /// Encoder only: a layer's weights or the calibration data cannot be
    /// quantized (`tinyrnn::quant::quantize` names each reason: NaN, an
    /// outlier, an unrepresentable scale, calibration of the wrong shape).
    Quantization {
        /// Layer index (0 for the calibration run).
        layer: usize,
    },
    /// A compile-time-sized model ([`crate::sized`]) expects another layer
    /// kind at this index (or the model ends before, or goes on after, it).
    SizedLayer {
        /// Layer index.
        layer: usize,
        /// What the sized model has there (`lstm`, `gru`, ..., or "the end of the model").
        expected: &'static str,
        /// What the file has there.
        found: &'static str,
    },
    /// A compile-time-sized layer ([`crate::sized`]) has other sizes than
    /// the file's layer.
    SizedShape {
        /// Layer index.
        layer: usize,
        /// (input, output) sizes of the sized layer.
        expected: (u32, u32),
        /// (input, output) sizes in the file.
        found: (u32, u32),
    },
    /// A compile-time-sized recurrent layer ([`crate::sized`]) reads
    /// [`Layout::ColMajor8`](crate::Layout::ColMajor8) weights; the file's
    /// layer is row-major.
    SizedLayout {
        /// Layer index.
        layer: usize,
    },
    /// Encoder only: a weight slice given to `ModelBuilder` has the wrong length.
    WeightLength {
        /// Layer index.
        layer: usize,
        /// Which tensor of the layer (0-based).
        tensor: usize,
        /// Length the layer needs.
        expected: usize,
        /// Length given.
        found: usize,
    },
}

impl Error {
    /// What went wrong, in words, without the numbers (a `const fn`: it is
    /// the message of the build error when [`static_model!`](crate::static_model)
    /// rejects a file; `Display` gives the full message with the numbers).
    pub const fn reason(&self) -> &'static str {
        match self {
            Error::Truncated { .. } => "model file truncated: fewer bytes than it declares",
            Error::TrailingBytes { .. } => "model file has bytes after its declared end",
            Error::BadMagic => "not a tinyrnn model file (magic is not \"TRNN\")",
            Error::UnsupportedVersion { .. } => "model format version not supported by this build",
            Error::ChecksumMismatch { .. } => "model file is corrupted (CRC-32 mismatch)",
            Error::Misaligned => "model bytes are not 4-byte aligned",
            Error::UnsupportedEndianness => "big-endian targets cannot read model weights in place",
            Error::BadHeader => "model header could not be decoded",
            Error::TooManyLayers { .. } => {
                "the model has more layers than the Model type holds (a larger L in Model<'_, L>)"
            }
            Error::TensorOutOfBounds { .. } => "a tensor lies outside the model payload",
            Error::TensorMisaligned { .. } => "a tensor offset is not a multiple of 16",
            Error::UnknownTensorType { .. } => "a tensor has an unknown element type or layout",
            Error::NoRecurrentLayer => "model has no recurrent layer",
            Error::UnsupportedLayer { .. } => {
                "a layer kind is unknown or not enabled by this build's cargo features"
            }
            Error::UnsupportedFormat { .. } => {
                "a layer's number format is not enabled by this build's cargo features, or invalid"
            }
            Error::UnsupportedActivation { .. } => {
                "a layer's activation or variant code is invalid"
            }
            Error::BadTensorRef { .. } => "a layer refers to tensors outside the table, or too few",
            Error::TensorShape { .. } => "a tensor's shape does not match its layer",
            Error::TensorType { .. } => "a tensor's element type does not match its layer",
            Error::TensorLayout { .. } => "a tensor's layout is not accepted for its layer",
            Error::ZeroSize { .. } => "a layer has a zero size",
            Error::TooLarge => "model sizes overflow this target's arithmetic",
            Error::LayerSizeMismatch { .. } => {
                "a layer's input size differs from the output size of the layer before"
            }
            Error::EmbeddingNotFirst { .. } => "an Embedding layer is not the first layer",
            Error::StateTooSmall { .. } => "state capacity too small for the model",
            Error::StateMismatch { .. } => "state was made for another model",
            Error::InputLength { .. } => "input has the wrong length",
            Error::OutputLength { .. } => "output has the wrong length",
            Error::TokenOutOfRange { .. } => "token is out of range for the vocabulary",
            Error::WrongInputKind => {
                "wrong input kind (step_token for token models, step otherwise)"
            }
            Error::NoSuchLayer { .. } => "layer does not exist or has no state",
            Error::Quantization { .. } => "weights or calibration data cannot be quantized",
            Error::SizedLayer { .. } => "a layer's kind differs from the sized model's",
            Error::SizedShape { .. } => "a layer's sizes differ from the sized model's",
            Error::SizedLayout { .. } => "a sized recurrent layer needs Layout::ColMajor8 weights",
            Error::WeightLength { .. } => "a weight slice has the wrong length",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { needed, available } => {
                write!(f, "model file truncated: needs {needed} bytes, got {available}")
            }
            Error::TrailingBytes { expected, found } => write!(
                f,
                "model file has trailing bytes: declares {expected} bytes, got {found}"
            ),
            Error::BadMagic => write!(f, "not a tinyrnn model file (magic is not \"TRNN\")"),
            Error::UnsupportedVersion { found, supported } => write!(
                f,
                "model format version {found} is not supported (this build reads version {supported})"
            ),
            Error::ChecksumMismatch { stored, computed } => write!(
                f,
                "model file is corrupted: stored CRC-32 {stored:#010x}, computed {computed:#010x}"
            ),
            Error::Misaligned => write!(
                f,
                "model bytes are not 4-byte aligned; load them with include_model! or AlignedBuf"
            ),
            Error::UnsupportedEndianness => {
                write!(f, "big-endian targets cannot use little-endian model weights in place")
            }
            Error::TooManyLayers { found, capacity } => write!(
                f,
                "the model has {found} layers but this Model type holds at most {capacity} (choose a larger L in Model<'_, L>)"
            ),
            Error::BadHeader => write!(
                f,
                "model header could not be decoded (corrupt, or exceeds this build's layer/tensor limits)"
            ),
            Error::TensorOutOfBounds { tensor } => {
                write!(f, "tensor {tensor} lies outside the model payload")
            }
            Error::TensorMisaligned { tensor } => {
                write!(f, "tensor {tensor} offset is not a multiple of 16")
            }
            Error::UnknownTensorType { tensor } => {
                write!(f, "tensor {tensor} has an unknown element type or layout")
            }
            Error::NoRecurrentLayer => write!(f, "model has no recurrent layer"),
            Error::UnsupportedLayer { layer, code } => write!(
                f,
                "layer {layer}: layer kind code {code} is unknown or not enabled by this build's cargo features"
            ),
            Error::UnsupportedFormat { layer, code } => write!(
                f,
                "layer {layer}: number format code {code} is not enabled by this build's cargo features, or not one this model type runs (IntModel runs integer layers only)"
            ),
            Error::UnsupportedActivation { layer, code } => write!(
                f,
                "layer {layer}: activation/variant code {code} is not valid for this layer kind"
            ),
            Error::BadTensorRef { layer } => write!(
                f,
                "layer {layer}: refers to tensors outside the table or to the wrong number of them"
            ),
            Error::TensorShape { layer, tensor, expected, found } => write!(
                f,
                "layer {layer}, tensor {tensor}: shape {}x{} expected, found {}x{}",
                expected.0, expected.1, found.0, found.1
            ),
            Error::TensorType { layer, tensor } => write!(
                f,
                "layer {layer}, tensor {tensor}: element type does not match the layer's number format"
            ),
            Error::TensorLayout { layer, tensor } => write!(
                f,
                "layer {layer}, tensor {tensor}: layout not accepted for this layer, or mixed within it"
            ),
            Error::ZeroSize { layer } => write!(f, "layer {layer}: a size is zero"),
            Error::TooLarge => write!(f, "model sizes overflow this target's arithmetic"),
            Error::LayerSizeMismatch { layer, expected, found } => write!(
                f,
                "layer {layer}: takes input of size {found} but the layer before gives {expected}"
            ),
            Error::EmbeddingNotFirst { layer } => {
                write!(f, "layer {layer}: an Embedding layer must be the first layer")
            }
            Error::StateTooSmall { needed, capacity } => write!(
                f,
                "state capacity too small: model needs {needed} f32 words, state holds {capacity}"
            ),
            Error::StateMismatch { expected, found } => write!(
                f,
                "state was made for another model: needs {expected} words, has {found}"
            ),
            Error::InputLength { expected, found } => {
                write!(f, "input has length {found}, model takes {expected}")
            }
            Error::OutputLength { expected, found } => {
                write!(f, "output has length {found}, model writes {expected}")
            }
            Error::TokenOutOfRange { token, vocab } => {
                write!(f, "token {token} is out of range for vocabulary size {vocab}")
            }
            Error::WrongInputKind => write!(
                f,
                "wrong input kind: use step_token for models with an Embedding input, step otherwise"
            ),
            Error::NoSuchLayer { layer } => {
                write!(f, "layer {layer} does not exist or has no state")
            }
            Error::Quantization { layer } => write!(
                f,
                "layer {layer}: weights or calibration data cannot be quantized"
            ),
            Error::WeightLength { layer, tensor, expected, found } => write!(
                f,
                "layer {layer}, tensor {tensor}: {found} weights given, {expected} expected"
            ),
            Error::SizedLayer { layer, expected, found } => write!(
                f,
                "layer {layer}: the sized model has {expected} here, the file has {found}"
            ),
            Error::SizedShape { layer, expected, found } => write!(
                f,
                "layer {layer}: the sized layer is {}x{} (input x output), the file's is {}x{}",
                expected.0, expected.1, found.0, found.1
            ),
            Error::SizedLayout { layer } => write!(
                f,
                "layer {layer} is stored row-major; sized layers read Layout::ColMajor8 weights \
                 (re-encode with ModelBuilder::from_model(&model).layout(Layout::ColMajor8))"
            ),
        }
    }
}

impl core::error::Error for Error {}
