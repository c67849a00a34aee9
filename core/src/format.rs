//! The model file: constants, the postcard header, and the checksum.
//!
//! The byte layout is specified in `FORMAT.md` next to this crate's `Cargo.toml`.
//! Everything here is plain data; validation lives in `model.rs`.

use serde::{Deserialize, Serialize};

/// The first four bytes of every model file.
pub const MAGIC: [u8; 4] = *b"TRNN";
/// The format version this build writes and reads.
pub const VERSION: u16 = 1;
/// Bytes before the header: magic, version, flags, header length, payload length.
pub const PREAMBLE_LEN: usize = 16;
/// Alignment of the payload start and of every tensor offset within it.
pub const ALIGN: usize = 16;
/// Bytes of the trailing CRC-32.
pub const CHECKSUM_LEN: usize = 4;
/// Most layers a model may have.
pub const MAX_LAYERS: usize = 16;
/// Most tensors a model may have.
pub const MAX_TENSORS: usize = 64;

/// Layer kind codes.
pub(crate) mod kind {
    pub const EMBEDDING: u8 = 0;
    pub const ELMAN: u8 = 1;
    pub const LSTM: u8 = 2;
    pub const GRU: u8 = 3;
    pub const DENSE: u8 = 4;
}

/// Element type codes of tensors.
pub(crate) mod dtype {
    pub const F32: u8 = 0;
    pub const I8: u8 = 1;
    pub const I16: u8 = 2;
    pub const I32: u8 = 3;
    pub const F16: u8 = 4;
}

/// Tensor layout codes.
pub(crate) mod layout {
    /// `rows x cols`, row after row.
    pub const ROW_MAJOR: u8 = 0;
    /// Column-major, gate blocks padded to [`PANEL`](super::PANEL) rows (see [`Layout::ColMajor8`](super::Layout::ColMajor8)).
    pub const COL_MAJOR8: u8 = 1;
}

/// [`Layout::ColMajor8`] pads every gate block to a multiple of this many rows:
/// the f32 lanes of one 256-bit vector.
pub const PANEL: usize = 8;

/// How a recurrent layer's weights are laid out in the file, chosen when the
/// model is encoded ([`ModelBuilder::layout`](crate::ModelBuilder)).
///
/// Every kernel reads every layout; the choice only changes speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
#[non_exhaustive]
pub enum Layout {
    /// Row-major `[rows][cols]` matrices, gate blocks of `hidden` rows. The
    /// format's original layout.
    #[default]
    RowMajor = 0,
    /// Column-major (`[cols][rows]`: column after column), each gate block
    /// padded with zero rows to a multiple of [`PANEL`] rows
    /// (`hidden_padded = ceil(hidden / 8) * 8`). A step reads the weights once,
    /// in order, as `out[rows] += W[:, k] * x[k]` ("axpy" form: broadcast one
    /// input, fused multiply-add into 8-wide accumulators, no horizontal sums);
    /// all gates of a layer come out of one pass over `W_x` then `W_h`. Biases
    /// (one column) are stored padded the same way.
    ColMajor8 = 1,
}

impl Layout {
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            layout::ROW_MAJOR => Some(Layout::RowMajor),
            layout::COL_MAJOR8 => Some(Layout::ColMajor8),
            _ => None,
        }
    }

    /// Rows a gate block of `hidden` units occupies in this layout.
    pub const fn padded(self, hidden: usize) -> usize {
        match self {
            Layout::RowMajor => hidden,
            Layout::ColMajor8 => hidden.div_ceil(PANEL) * PANEL,
        }
    }
}

/// Number format codes of layers.
pub(crate) mod numfmt {
    pub const F32: u8 = 0;
    /// IEEE half weights, f32 math (`quant::hybrid`).
    pub const F16: u8 = 1;
    /// Int8 weights with one f32 scale per row, f32 math (`quant::hybrid`).
    pub const I8: u8 = 2;
    /// Int8 weights, i16 activations, i32 sums (`quant::cell`).
    pub const INTEGER: u8 = 3;
}

/// Activation functions, as stored in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Activation {
    /// Identity (Dense only).
    Linear = 0,
    /// Hyperbolic tangent (Elman, Dense).
    Tanh = 1,
    /// max(0, x) (Elman).
    Relu = 2,
    /// Logistic sigmoid (Dense).
    Sigmoid = 3,
    /// Softmax over the layer's outputs (Dense).
    Softmax = 4,
}

impl Activation {
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Activation::Linear,
            1 => Activation::Tanh,
            2 => Activation::Relu,
            3 => Activation::Sigmoid,
            4 => Activation::Softmax,
            _ => return None,
        })
    }
}

/// Where the GRU applies its reset gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum GruVariant {
    /// `n = tanh(W_xn x + b_xn + W_hn (r ⊙ h) + b_hn)`: Cho 2014, Keras
    /// `reset_after=False`, ONNX `linear_before_reset=0`.
    ResetBefore = 0,
    /// `n = tanh(W_xn x + b_xn + r ⊙ (W_hn h + b_hn))`: PyTorch, Keras default,
    /// cuDNN, ONNX `linear_before_reset=1`.
    ResetAfter = 1,
}

impl GruVariant {
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(GruVariant::ResetBefore),
            1 => Some(GruVariant::ResetAfter),
            _ => None,
        }
    }
}

/// One layer as stored in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LayerDesc {
    /// Layer kind code (`kind::*`).
    pub kind: u8,
    /// Activation code for Elman/Dense, variant code for GRU, 0 otherwise.
    pub act: u8,
    /// Number format code (`numfmt::*`).
    pub format: u8,
    /// Input size (vocabulary size for Embedding).
    pub input: u32,
    /// Output size (hidden size; embedding dimension; Dense outputs).
    pub output: u32,
    /// Index of the layer's first tensor in the table.
    pub first_tensor: u16,
    /// Number of tensors the layer uses, consecutive from `first_tensor`.
    pub tensor_count: u8,
}

/// One tensor as stored in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TensorDesc {
    /// Byte offset from the payload start; a multiple of [`ALIGN`].
    pub offset: u32,
    /// Element type code (`dtype::*`).
    pub dtype: u8,
    /// Layout code (`layout::*`).
    pub layout: u8,
    /// Rows.
    pub rows: u32,
    /// Columns (1 for vectors).
    pub cols: u32,
}

/// The postcard-encoded header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Header<'a> {
    /// Layers, first to last.
    pub layers: heapless::Vec<LayerDesc, MAX_LAYERS>,
    /// Tensor table.
    pub tensors: heapless::Vec<TensorDesc, MAX_TENSORS>,
    /// Opaque bytes for the application (vocabulary, labels, provenance).
    #[serde(borrow)]
    pub metadata: &'a [u8],
}

/// Size in bytes of one element of a dtype, or `None` for an unknown code.
pub(crate) fn dtype_size(code: u8) -> Option<usize> {
    match code {
        dtype::F32 | dtype::I32 => Some(4),
        dtype::I8 => Some(1),
        dtype::I16 | dtype::F16 => Some(2),
        _ => None,
    }
}

/// Rounds `n` up to the next multiple of [`ALIGN`].
#[cfg(feature = "alloc")]
pub(crate) const fn align_up(n: usize) -> usize {
    n.div_ceil(ALIGN) * ALIGN
}

/// CRC-32 (IEEE 802.3, reflected, as zlib's `crc32`) with a 16-entry table.
pub fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 16] = {
        let mut t = [0u32; 16];
        let mut i = 0;
        while i < 16 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 4 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut crc = !0u32;
    for &b in bytes {
        crc = TABLE[((crc ^ b as u32) & 0xF) as usize] ^ (crc >> 4);
        crc = TABLE[((crc ^ (b as u32 >> 4)) & 0xF) as usize] ^ (crc >> 4);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_zlib_check_value() {
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }
}
