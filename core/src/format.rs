//! The model file: constants, the postcard header, and the checksum.
//!
//! The byte layout is specified in `FORMAT.md` next to this crate's `Cargo.toml`.
//! Everything here is plain data; validation lives in `model.rs`.

#[cfg(feature = "alloc")]
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
    /// An integer layer's `i8` weights in tiles of 2 x 2 (see `quant::matvec::tiled_index`).
    pub const I8_TILED4: u8 = 2;
}

/// [`Layout::ColMajor8`] pads every gate block to a multiple of this many rows:
/// the f32 lanes of one 256-bit vector.
pub const PANEL: usize = 8;

/// How a recurrent layer's weights are laid out in the file, chosen when the
/// model is encoded (`ModelBuilder::layout`, feature `alloc`).
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
    pub(crate) const fn from_code(code: u8) -> Option<Self> {
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
    pub(crate) const fn from_code(code: u8) -> Option<Self> {
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
    pub(crate) const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(GruVariant::ResetBefore),
            1 => Some(GruVariant::ResetAfter),
            _ => None,
        }
    }
}

/// One layer as stored in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "alloc", derive(Serialize, Deserialize))]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "alloc", derive(Serialize, Deserialize))]
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

/// The postcard-encoded header, as the encoder writes it.
#[cfg(feature = "alloc")]
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

/// Most tensors one layer may use (the largest layer, an integer GRU, uses 7).
pub(crate) const MAX_LAYER_TENSORS: usize = 8;

/// A reader of the postcard wire format, for the subset the header uses:
/// raw `u8`, and LEB128 varints for `u16`, `u32` and `usize` (lengths),
/// with postcard's own limits (at most `ceil(bits / 7)` bytes, no bits
/// beyond the type in the last one). The loader reads the header with it in
/// place, without materialising the tensor table: less flash and stack
/// than a generic deserializer, and the same answers (tested against
/// `postcard` itself).
#[derive(Clone, Copy)]
struct Wire<'a> {
    bytes: &'a [u8],
    pos: usize,
}

/// The fields of a layer entry and of a tensor entry: the width in bits of
/// each (8: a raw byte; 16, 32: a varint).
const LAYER_FIELDS: [u8; 7] = [8, 8, 8, 32, 32, 16, 8];
const TENSOR_FIELDS: [u8; 5] = [32, 8, 8, 32, 32];

impl Wire<'_> {
    /// A raw byte (`bits` 8), or a varint of an unsigned type of `bits`
    /// bits. A `usize` beyond `u32::MAX` (a 64-bit host's length) is
    /// refused: no length or count that large can be valid in a header.
    #[inline(never)]
    const fn varint(&mut self, bits: u32) -> Option<u32> {
        let mut out = 0u64;
        let mut shift = 0;
        loop {
            if self.pos >= self.bytes.len() {
                return None;
            }
            let b = self.bytes[self.pos];
            self.pos += 1;
            if bits == 8 {
                return Some(b as u32);
            }
            // `shift` < `bits` <= 64 here.
            out |= ((b & 0x7F) as u64).wrapping_shl(shift);
            shift += 7;
            if b & 0x80 == 0 {
                if out > u32::MAX as u64 {
                    return None;
                }
                let v = out as u32;
                return match v.checked_shr(bits) {
                    Some(hi) if hi != 0 => None,
                    _ => Some(v),
                };
            }
            if shift >= bits {
                return None;
            }
        }
    }

    #[cfg(test)]
    fn u16(&mut self) -> Option<u16> {
        self.varint(16).map(|v| v as u16)
    }

    #[cfg(test)]
    fn u32(&mut self) -> Option<u32> {
        self.varint(32)
    }

    /// A sequence or byte-string length (postcard: a `usize` varint).
    const fn len(&mut self) -> Option<usize> {
        Some(some!(self.varint(usize::BITS)) as usize)
    }

    /// The fields of one layer entry (`tensor`: tensor entry).
    #[inline(never)]
    const fn entry(&mut self, tensor: bool) -> Option<[u32; 7]> {
        let spec: &[u8] = if tensor {
            &TENSOR_FIELDS
        } else {
            &LAYER_FIELDS
        };
        let mut f = [0; 7];
        let mut k = 0;
        while k < spec.len() {
            f[k] = some!(self.varint(spec[k] as u32));
            k += 1;
        }
        Some(f)
    }

    const fn layer(&mut self) -> Option<LayerDesc> {
        let f = some!(self.entry(false));
        // Each field was read within its type's range.
        Some(LayerDesc {
            kind: f[0] as u8,
            act: f[1] as u8,
            format: f[2] as u8,
            input: f[3],
            output: f[4],
            first_tensor: f[5] as u16,
            tensor_count: f[6] as u8,
        })
    }

    const fn tensor(&mut self) -> Option<TensorDesc> {
        let f = some!(self.entry(true));
        Some(TensorDesc {
            offset: f[0],
            dtype: f[1] as u8,
            layout: f[2] as u8,
            rows: f[3],
            cols: f[4],
        })
    }

    /// Reads `n` layer entries (`tensor`: tensor entries), each field checked.
    #[inline(never)]
    const fn skip(&mut self, n: usize, tensor: bool) -> Option<()> {
        let mut k = 0;
        let spec: &[u8] = if tensor {
            &TENSOR_FIELDS
        } else {
            &LAYER_FIELDS
        };
        // Field by field, keeping none (no entry on the stack: this is the
        // loader's deepest path).
        let fields = n.saturating_mul(spec.len());
        while k < fields {
            some!(self.varint(spec[k % spec.len()] as u32));
            k += 1;
        }
        Some(())
    }

    /// A sequence of at most `max` layer entries (`tensor`: tensor
    /// entries), each checked: where the first starts, and their number.
    const fn entries(&mut self, max: usize, tensor: bool) -> Option<(usize, usize)> {
        let n = some!(self.len());
        let at = self.pos;
        if n > max {
            return None;
        }
        some!(self.skip(n, tensor));
        Some((at, n))
    }
}

/// The tensor table, read in place from the header bytes.
#[derive(Clone, Copy)]
pub(crate) struct TensorTable<'a> {
    bytes: &'a [u8],
    /// Where the first entry starts in `bytes`.
    at: usize,
    len: usize,
}

impl TensorTable<'_> {
    /// Number of tensors.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Entry `i`, read past the `i` entries before it (the loader is cold
    /// code: no table of entry starts to fill and keep on the stack).
    #[inline(never)]
    pub const fn get(&self, i: usize) -> Option<TensorDesc> {
        let mut w = Wire {
            bytes: self.bytes,
            pos: self.at,
        };
        if i >= self.len {
            return None;
        }
        some!(w.skip(i, true));
        w.tensor()
    }

    /// Whether the entries `first..first + count` of one layer (at most
    /// [`MAX_LAYER_TENSORS`]) are all in the table.
    pub const fn has_layer(&self, first: usize, count: usize) -> bool {
        count <= MAX_LAYER_TENSORS
            && match first.checked_add(count) {
                Some(end) => end <= self.len,
                None => false,
            }
    }
}

/// The header as the loader reads it: checked whole, layers and tensors
/// read in place when asked for (a few words: the loader's stack).
pub(crate) struct HeaderView<'a> {
    bytes: &'a [u8],
    /// Where the first layer entry starts in `bytes`.
    layers_at: usize,
    /// Number of layers.
    layers: usize,
    /// Tensor table.
    pub tensors: TensorTable<'a>,
    /// Opaque bytes for the application.
    pub metadata: &'a [u8],
}

impl<'a> HeaderView<'a> {
    /// Reads the whole of `bytes` as a header; `None` if it is not one
    /// (corrupt, bytes left over, or more than [`MAX_LAYERS`] layers or
    /// [`MAX_TENSORS`] tensors).
    #[inline(always)]
    pub const fn parse(bytes: &'a [u8]) -> Option<Self> {
        let mut w = Wire { bytes, pos: 0 };
        let (layers_at, layers) = some!(w.entries(MAX_LAYERS, false));
        let (at, len) = some!(w.entries(MAX_TENSORS, true));
        let n = some!(w.len());
        // The metadata: all the `n` bytes left.
        let Some((_, metadata)) = bytes.split_at_checked(w.pos) else {
            return None;
        };
        if metadata.len() != n {
            return None;
        }
        Some(HeaderView {
            bytes,
            layers_at,
            layers,
            tensors: TensorTable { bytes, at, len },
            metadata,
        })
    }

    /// Number of layers.
    pub const fn layer_count(&self) -> usize {
        self.layers
    }

    /// Layer `i` (`None` beyond the last).
    #[inline(never)]
    pub const fn layer(&self, i: usize) -> Option<LayerDesc> {
        let mut w = Wire {
            bytes: self.bytes,
            pos: self.layers_at,
        };
        if i >= self.layers {
            return None;
        }
        some!(w.skip(i, false));
        w.layer()
    }
}

/// Size in bytes of one element of a dtype, or `None` for an unknown code.
pub(crate) const fn dtype_size(code: u8) -> Option<usize> {
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
#[inline(never)]
pub const fn crc32(bytes: &[u8]) -> u32 {
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
    let mut i = 0;
    while i < bytes.len() {
        // The byte's two nibbles, low first, above a stop bit (a loop the
        // compiler keeps rolled: flash matters more than speed here).
        let mut x = bytes[i] as u32 | 0x100;
        while x != 1 {
            crc = TABLE[((crc ^ x) & 0xF) as usize] ^ (crc >> 4);
            x >>= 4;
        }
        i += 1;
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator.
    #[cfg(feature = "alloc")]
    fn next(s: &mut u64) -> u64 {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        *s
    }

    /// The in-place reader gives what postcard gives, on valid headers of
    /// every size, on each of their truncations, and on random byte edits
    /// (values, lengths, varint continuation bits).
    #[cfg(feature = "alloc")]
    #[test]
    fn header_reader_agrees_with_postcard() {
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        let mut checked = 0;
        let mut ok = 0;
        for case in 0..3000 {
            let n_layers = (next(&mut s) % 18) as usize;
            let n_tensors = (next(&mut s) % 66) as usize;
            let big = |s: &mut u64| match next(s) % 4 {
                0 => (next(s) % 200) as u32,
                1 => (next(s) % 70_000) as u32,
                2 => u32::MAX - (next(s) % 3) as u32,
                _ => next(s) as u32,
            };
            let meta: alloc::vec::Vec<u8> = (0..next(&mut s) % 300).map(|i| i as u8).collect();
            let mut h = Header {
                layers: heapless::Vec::new(),
                tensors: heapless::Vec::new(),
                metadata: &meta,
            };
            for _ in 0..n_layers.min(MAX_LAYERS) {
                let _ = h.layers.push(LayerDesc {
                    kind: next(&mut s) as u8,
                    act: next(&mut s) as u8,
                    format: next(&mut s) as u8,
                    input: big(&mut s),
                    output: big(&mut s),
                    first_tensor: next(&mut s) as u16,
                    tensor_count: next(&mut s) as u8,
                });
            }
            for _ in 0..n_tensors.min(MAX_TENSORS) {
                let _ = h.tensors.push(TensorDesc {
                    offset: big(&mut s),
                    dtype: next(&mut s) as u8,
                    layout: next(&mut s) as u8,
                    rows: big(&mut s),
                    cols: big(&mut s),
                });
            }
            let bytes = postcard::to_allocvec(&h).unwrap();
            let mut variants = alloc::vec![bytes.clone()];
            // truncations and extensions
            variants.push(bytes[..bytes.len() - 1].to_vec());
            variants.push(bytes[..(next(&mut s) as usize) % bytes.len()].to_vec());
            let mut longer = bytes.clone();
            longer.push(0);
            variants.push(longer);
            // random edits, biased to the start where the lengths are
            for _ in 0..8 {
                let mut e = bytes.clone();
                for _ in 0..1 + next(&mut s) % 3 {
                    let at = if next(&mut s).is_multiple_of(2) {
                        (next(&mut s) as usize) % e.len().min(24)
                    } else {
                        (next(&mut s) as usize) % e.len()
                    };
                    e[at] = match next(&mut s) % 4 {
                        0 => e[at] ^ 0x80,
                        1 => 0xFF,
                        2 => next(&mut s) as u8 & 0x7F,
                        _ => next(&mut s) as u8,
                    };
                }
                variants.push(e);
            }
            for v in &variants {
                let want: Option<Header<'_>> = postcard::take_from_bytes::<Header<'_>>(v)
                    .ok()
                    .filter(|(_, rest)| rest.is_empty())
                    .map(|(h, _)| h);
                let got = HeaderView::parse(v);
                assert_eq!(got.is_some(), want.is_some(), "case {case}: {v:02x?}");
                if let (Some(g), Some(w)) = (got, want) {
                    assert_eq!(g.layer_count(), w.layers.len());
                    for (i, l) in w.layers.iter().enumerate() {
                        assert_eq!(g.layer(i), Some(*l));
                    }
                    assert_eq!(g.layer(w.layers.len()), None);
                    assert_eq!(g.metadata, w.metadata);
                    assert_eq!(g.tensors.len(), w.tensors.len());
                    for (i, t) in w.tensors.iter().enumerate() {
                        assert_eq!(g.tensors.get(i), Some(*t));
                    }
                    assert_eq!(g.tensors.get(w.tensors.len()), None);
                    ok += 1;
                }
                checked += 1;
            }
        }
        // Both outcomes are exercised.
        assert!(ok > 3000 && checked - ok > 10_000, "{ok} of {checked}");
    }

    /// Varints at postcard's limits: the longest forms, and one bit beyond.
    #[test]
    fn varint_limits() {
        let read = |b: &[u8]| Wire { bytes: b, pos: 0 }.u32();
        assert_eq!(read(&[0x7F]), Some(127));
        assert_eq!(read(&[0xFF, 0xFF, 0xFF, 0xFF, 0x0F]), Some(u32::MAX));
        assert_eq!(read(&[0xFF, 0xFF, 0xFF, 0xFF, 0x1F]), None);
        assert_eq!(read(&[0x80, 0x80, 0x80, 0x80, 0x80]), None);
        assert_eq!(read(&[0x80]), None);
        let read16 = |b: &[u8]| Wire { bytes: b, pos: 0 }.u16();
        assert_eq!(read16(&[0xFF, 0xFF, 0x03]), Some(u16::MAX));
        assert_eq!(read16(&[0xFF, 0xFF, 0x04]), None);
    }

    #[test]
    fn crc32_matches_zlib_check_value() {
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }
}
