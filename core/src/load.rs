//! The loader: checks a model file and builds its layers in place.

use crate::bytes::{Aligned4, Pod};
use crate::cell::{Dense, Elman, Embedding, Gru, Lstm};
use crate::error::Error;
use crate::format::{
    self, crc32, dtype, kind, layout, numfmt, Activation, GruVariant, HeaderView, LayerDesc,
    Layout, TensorDesc, ALIGN, CHECKSUM_LEN, MAGIC, PANEL, PREAMBLE_LEN, VERSION,
};
use crate::model::{Layer, Model, F32, QUANT};
use crate::quant;
use core::cell::Cell;

impl<'a, const L: usize> Model<'a, L> {
    /// [`from_bytes`](Self::from_bytes) into `self`, a model with no layers.
    /// A `const fn`: it also loads a model while the program is compiled
    /// ([`from_aligned`](Self::from_aligned)).
    #[inline(never)]
    pub(crate) const fn load(&mut self, file: Aligned4<'a>) -> Result<(), Error> {
        if cfg!(target_endian = "big") {
            return Err(Error::UnsupportedEndianness);
        }
        let bytes = file.get();
        if bytes.len() < PREAMBLE_LEN + CHECKSUM_LEN {
            return Err(Error::Truncated {
                needed: PREAMBLE_LEN + CHECKSUM_LEN,
                available: bytes.len(),
            });
        }
        let (Some(pre), Some((body, stored))) = (
            bytes.first_chunk::<PREAMBLE_LEN>(),
            bytes.split_last_chunk::<CHECKSUM_LEN>(),
        ) else {
            return Err(Error::BadHeader); // unreachable: the length is checked
        };
        if pre[0] != MAGIC[0] || pre[1] != MAGIC[1] || pre[2] != MAGIC[2] || pre[3] != MAGIC[3] {
            return Err(Error::BadMagic);
        }
        let version = le32(pre, 4) as u16;
        if version != VERSION {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: VERSION,
            });
        }
        let header_len = le32(pre, 8) as usize;
        let payload_len = le32(pre, 12) as usize;
        let payload_start = match PREAMBLE_LEN.checked_add(header_len) {
            Some(n) => ok_or!(n.checked_next_multiple_of(ALIGN), Error::TooLarge),
            None => return Err(Error::TooLarge),
        };
        let body_len = ok_or!(payload_start.checked_add(payload_len), Error::TooLarge);
        let total = ok_or!(body_len.checked_add(CHECKSUM_LEN), Error::TooLarge);
        if bytes.len() < total {
            return Err(Error::Truncated {
                needed: total,
                available: bytes.len(),
            });
        }
        if bytes.len() > total {
            return Err(Error::TrailingBytes {
                expected: total,
                found: bytes.len(),
            });
        }
        let stored = u32::from_le_bytes(*stored);
        let computed = crc32(body);
        if stored != computed {
            return Err(Error::ChecksumMismatch { stored, computed });
        }
        // In range: `body` is `payload_start + payload_len` bytes, and the
        // header `header_len` bytes after the preamble.
        let payload = ok_or!(file.sub(payload_start, payload_len), Error::BadHeader);
        let Some((_, after_pre)) = body.split_at_checked(PREAMBLE_LEN) else {
            return Err(Error::BadHeader);
        };
        let Some((header, after_header)) = after_pre.split_at_checked(header_len) else {
            return Err(Error::BadHeader);
        };
        // Reserved: flags 0, zero padding, a payload of whole 16-byte blocks
        // (so that a later version using them is refused, not misread).
        if pre[6] != 0 || pre[7] != 0 || !payload_len.is_multiple_of(ALIGN) {
            return Err(Error::BadHeader);
        }
        let pad_len = payload_start.saturating_sub(PREAMBLE_LEN + header_len);
        let Some((mut pad, _)) = after_header.split_at_checked(pad_len) else {
            return Err(Error::BadHeader);
        };
        while let Some((&b, rest)) = pad.split_first() {
            if b != 0 {
                return Err(Error::BadHeader);
            }
            pad = rest;
        }
        let header = ok_or!(HeaderView::parse(header), Error::BadHeader);
        self.metadata = header.metadata;
        self.fill(&header, payload)
    }

    /// Loads every layer of `header` into `self` (which has none yet).
    const fn fill(&mut self, header: &HeaderView<'a>, payload: Aligned4<'a>) -> Result<(), Error> {
        // Tensors first: bounds, alignment, types.
        let mut i = 0;
        while i < header.tensors.len() {
            let t = ok_or!(header.tensors.get(i), Error::BadHeader);
            tri!(tensor_bytes(payload, &t, i));
            i += 1;
        }
        if header.layer_count() > L {
            return Err(Error::TooManyLayers {
                found: header.layer_count(),
                capacity: L,
            });
        }
        let mut last_recurrent = None;
        let mut prev_out = 0;
        let mut li = 0;
        while li < header.layer_count() {
            let d = ok_or!(header.layer(li), Error::BadHeader);
            // Built in place, in its slot: a layer is never moved. In
            // range: at most L layers (checked above).
            if li >= L {
                return Err(Error::BadHeader);
            }
            let layer = &mut self.layers[li];
            let src = LayerSrc {
                li,
                d,
                header,
                payload,
                err: Cell::new(Error::BadHeader),
            };
            if build_layer(&src, layer).is_err() {
                return Err(src.err.get());
            }
            let (state_len, scratch_len) = (layer.state_len(), layer.scratch_len());
            if layer.streams() {
                self.sweep = true;
            }
            self.layer_count = li + 1;
            // (Not `li > 0`: the loop would be peeled, its body twice in flash.)
            let first_layer = self.layer_count == 1;
            // Sizes as the descriptor states them: every builder takes its
            // input and output sizes from it.
            let (input, output) = (d.input as usize, d.output as usize);
            if !first_layer {
                if d.kind == kind::EMBEDDING {
                    return Err(Error::EmbeddingNotFirst { layer: li });
                }
                if input != prev_out {
                    return Err(Error::LayerSizeMismatch {
                        layer: li,
                        expected: prev_out,
                        found: input,
                    });
                }
            }
            prev_out = output;
            self.state_off[li] = self.recurrent_len;
            self.recurrent_len = ok_or!(self.recurrent_len.checked_add(state_len), Error::TooLarge);
            if scratch_len > self.scratch_len {
                self.scratch_len = scratch_len;
            }
            // Dense outputs, and a quantized Embedding's decoded vector.
            if (d.kind == kind::DENSE
                || (QUANT && d.kind == kind::EMBEDDING && d.format != numfmt::F32))
                && output > self.io_len
            {
                self.io_len = output;
            }
            if matches!(d.kind, kind::ELMAN | kind::LSTM | kind::GRU) {
                last_recurrent = Some(li);
            }
            li += 1;
        }
        self.last_recurrent = ok_or!(last_recurrent, Error::NoRecurrentLayer);
        // The total must be addressable: state + scratch + two Dense buffers
        // + the sweep word.
        let total = match self.recurrent_len.checked_add(self.scratch_len) {
            Some(n) => match self.io_len.checked_mul(2) {
                Some(io) => match n.checked_add(io) {
                    Some(n) => n.checked_add(self.sweep as usize),
                    None => None,
                },
                None => None,
            },
            None => None,
        };
        match total {
            Some(n) if n.checked_mul(4).is_some() => Ok(()),
            _ => Err(Error::TooLarge),
        }
    }
}

/// The little-endian `u32` at `at` in the preamble.
const fn le32(pre: &[u8; PREAMBLE_LEN], at: usize) -> u32 {
    u32::from_le_bytes([pre[at], pre[at + 1], pre[at + 2], pre[at + 3]])
}

/// The bytes of tensor `i`, checked for type, bounds and alignment.
#[inline(never)]
pub(crate) const fn tensor_bytes<'a>(
    payload: Aligned4<'a>,
    t: &TensorDesc,
    i: usize,
) -> Result<Aligned4<'a>, Error> {
    let size = ok_or!(
        format::dtype_size(t.dtype),
        Error::UnknownTensorType { tensor: i }
    );
    let shape_ok = match Layout::from_code(t.layout) {
        Some(Layout::RowMajor) => true,
        // Whole groups of padded rows only.
        Some(Layout::ColMajor8) => (t.rows as usize).is_multiple_of(PANEL),
        // Integer weights in tiles (the layer checks its rows and format).
        None => t.layout == crate::format::layout::I8_TILED4 && t.dtype == dtype::I8,
    };
    if !shape_ok {
        return Err(Error::UnknownTensorType { tensor: i });
    }
    let off = t.offset as usize;
    if !off.is_multiple_of(ALIGN) {
        return Err(Error::TensorMisaligned { tensor: i });
    }
    let len = match (t.rows as usize).checked_mul(t.cols as usize) {
        Some(n) => n.checked_mul(size),
        None => None,
    };
    let len = ok_or!(len, Error::TensorOutOfBounds { tensor: i });
    // A multiple of 16 from the payload's aligned start: aligned too.
    Ok(ok_or!(
        payload.sub(off, len),
        Error::TensorOutOfBounds { tensor: i }
    ))
}

/// A failed check of a layer whose [`Error`] is in [`LayerSrc::err`]
/// (one word to pass up instead of the whole error).
pub(crate) struct Failed;

/// One layer being built: its index and descriptor, and where its tensors are.
pub(crate) struct LayerSrc<'h, 'a> {
    /// Layer index.
    pub li: usize,
    /// Its descriptor.
    pub d: LayerDesc,
    header: &'h HeaderView<'a>,
    payload: Aligned4<'a>,
    /// Why the layer failed to build.
    pub(crate) err: Cell<Error>,
}

impl<'a> LayerSrc<'_, 'a> {
    /// Records `e` as the reason the layer failed.
    #[inline(always)]
    pub(crate) const fn fail(&self, e: Error) -> Failed {
        self.err.replace(e);
        Failed
    }

    /// The layer's tensor `k`, checked for element type `want`, layout
    /// (unless `any_layout`: row-major, or for integer weights whole tiles
    /// of 4 rows) and `shape`; its bytes, checked for bounds and for
    /// alignment to `align` bytes.
    #[inline(never)]
    pub(crate) const fn tensor(
        &self,
        k: usize,
        want: u8,
        shape: (u32, u32),
        any_layout: bool,
    ) -> Result<Aligned4<'a>, Failed> {
        let (li, d) = (self.li, &self.d);
        let i = d.first_tensor as usize + k;
        let t = match self.header.tensors.get(i) {
            Some(t) if k < d.tensor_count as usize => t,
            _ => return Err(self.fail(Error::BadTensorRef { layer: li })),
        };
        if t.dtype != want {
            return Err(self.fail(Error::TensorType {
                layer: li,
                tensor: k,
            }));
        }
        // Integer weight matrices may be tiled (whole blocks of 4 rows).
        let tiled = t.layout == layout::I8_TILED4
            && want == dtype::I8
            && d.format == numfmt::INTEGER
            && t.rows.is_multiple_of(4);
        if !any_layout && t.layout != layout::ROW_MAJOR && !tiled {
            return Err(self.fail(Error::TensorLayout {
                layer: li,
                tensor: k,
            }));
        }
        if t.rows != shape.0 || t.cols != shape.1 {
            return Err(self.fail(Error::TensorShape {
                layer: li,
                tensor: k,
                expected: shape,
                found: (t.rows, t.cols),
            }));
        }
        match tensor_bytes(self.payload, &t, i) {
            Ok(b) => Ok(b),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The layer's tensor `k` as `T`s, checked as by [`tensor`](Self::tensor).
    pub(crate) const fn typed<T: Pod>(
        &self,
        k: usize,
        want: u8,
        shape: (u32, u32),
    ) -> Result<&'a [T], Failed> {
        let b = tri!(self.tensor(k, want, shape, false));
        match b.view::<T>() {
            Some(v) => Ok(v),
            None => Err(self.fail(Error::Misaligned)),
        }
    }

    /// Whether the layer's tensor `k` is tiled (`layout::I8_TILED4`).
    pub(crate) const fn tiled(&self, k: usize) -> bool {
        let i = self.d.first_tensor as usize + k;
        match self.header.tensors.get(i) {
            Some(t) => t.layout == layout::I8_TILED4,
            None => false,
        }
    }
}

/// Per layer kind (Embedding, Elman, LSTM, GRU, Dense): whether the cargo
/// features link it (Embedding and Dense always are), ...
const LINKED: [bool; 5] = [
    true,
    cfg!(feature = "elman"),
    cfg!(feature = "lstm"),
    cfg!(feature = "gru"),
    true,
];
/// ... its gate blocks (0: not recurrent), its f32 tensors, and the range of
/// its activation (or GRU variant) codes.
const GATES: [u8; 5] = [0, 1, 4, 3, 0];
const F32_TENSORS: [u8; 5] = [1, 3, 3, 4, 2];
const ACT: [(u8, u8); 5] = [(0, 0), (1, 2), (0, 0), (0, 1), (0, 4)];

/// Resolves a layer's tensors, checking count, types and shapes, and
/// writes the layer to `out`.
#[inline(never)]
const fn build_layer<'a>(src: &LayerSrc<'_, 'a>, out: &mut Layer<'a>) -> Result<(), Failed> {
    let (li, d) = (src.li, &src.d);
    let kd = d.kind as usize;
    // Cell types and number formats left out by cargo features are
    // rejected here, so their code is never referenced and not linked.
    if kd >= LINKED.len() || !LINKED[kd] {
        return Err(src.fail(Error::UnsupportedLayer {
            layer: li,
            code: d.kind,
        }));
    }
    if d.input == 0 || d.output == 0 {
        return Err(src.fail(Error::ZeroSize { layer: li }));
    }
    let first = d.first_tensor as usize;
    let count = d.tensor_count as usize;
    let bad_ref = Error::BadTensorRef { layer: li };
    let enabled = if d.format == numfmt::F32 {
        F32
    } else {
        quant::layer::format_enabled(d.format)
    };
    if !enabled {
        return Err(src.fail(Error::UnsupportedFormat {
            layer: li,
            code: d.format,
        }));
    }
    let tensors = &src.header.tensors;
    if !tensors.has_layer(first, count) {
        return Err(src.fail(bad_ref));
    }
    if d.format != numfmt::F32 {
        return quant::layer::build(src, out);
    }
    let (i, h) = (d.input, d.output);
    // In range: the kind is linked (checked above).
    let gates = GATES[kd] as u32;
    // One layout per layer, taken from its first tensor; Dense and Embedding
    // are row-major only.
    let layout = match tensors.get(first) {
        Some(t) if count > 0 => match Layout::from_code(t.layout) {
            Some(l) => l,
            None => return Err(src.fail(Error::UnknownTensorType { tensor: first })),
        },
        _ => Layout::RowMajor,
    };
    let mut k = 0;
    while k < count {
        let bad = match tensors.get(first + k) {
            Some(t) => {
                t.layout != layout as u8 || (gates == 0 && !matches!(layout, Layout::RowMajor))
            }
            None => return Err(src.fail(bad_ref)),
        };
        if bad {
            return Err(src.fail(Error::TensorLayout {
                layer: li,
                tensor: k,
            }));
        }
        k += 1;
    }
    // Rows of one gate block: `hidden`, padded to a multiple of 8 in
    // ColMajor8 (`None`: too large).
    let hp = match layout {
        Layout::RowMajor => Some(h),
        Layout::ColMajor8 => h.checked_next_multiple_of(PANEL as u32),
    };
    let Some(hp) = hp else {
        return Err(src.fail(Error::TooLarge));
    };
    if count != F32_TENSORS[kd] as usize {
        return Err(src.fail(bad_ref));
    }
    let (lo, hi) = ACT[kd];
    if d.act < lo || d.act > hi {
        return Err(src.fail(Error::UnsupportedActivation {
            layer: li,
            code: d.act,
        }));
    }
    // Every tensor's shape `rows x cols`: an Embedding's table `[i][h]`; a
    // Dense `W [h][i]`, `b [h]`; a recurrent layer's `W_x [g][i]`,
    // `W_h [g][h]` and biases `[g]` with `g` gate blocks of `hp` rows.
    let (rows, cols) = match (d.kind, gates) {
        (kind::EMBEDDING, _) => (Some(i), [h, 0]),
        (_, 0) => (Some(h), [i, 1]),
        _ => (gates.checked_mul(hp), [i, h]),
    };
    let Some(rows) = rows else {
        return Err(src.fail(Error::TooLarge));
    };
    let mut w: [&'a [f32]; 4] = [&[]; 4];
    tri!(f32_tensors(src, rows, cols, &mut w));
    let [w0, w1, w2, w3] = w;
    let (input, hidden) = (i as usize, h as usize);
    // The activation codes were checked above.
    let act = match Activation::from_code(d.act) {
        Some(a) => a,
        None => Activation::Linear,
    };
    *out = match d.kind {
        kind::EMBEDDING => Layer::Embedding(Embedding {
            vocab: input,
            dim: hidden,
            table: w0,
        }),
        kind::ELMAN => Layer::Elman(Elman {
            input,
            hidden,
            act,
            layout,
            w_x: w0,
            w_h: w1,
            b: w2,
        }),
        kind::LSTM => Layer::Lstm(Lstm {
            input,
            hidden,
            layout,
            w_x: w0,
            w_h: w1,
            b: w2,
        }),
        kind::GRU => Layer::Gru(Gru {
            input,
            hidden,
            variant: match GruVariant::from_code(d.act) {
                Some(v) => v,
                None => GruVariant::ResetAfter,
            },
            layout,
            w_x: w0,
            w_h: w1,
            b_x: w2,
            b_h: w3,
        }),
        _ => Layer::Dense(Dense {
            input,
            out: hidden,
            act,
            w: w0,
            b: w1,
        }),
    };
    Ok(())
}

/// The f32 tensors of `src` into `w`, each of `rows` rows and `cols[k]`
/// columns (1 beyond `cols`); a loop kept out of line and rolled.
#[inline(never)]
const fn f32_tensors<'a>(
    src: &LayerSrc<'_, 'a>,
    rows: u32,
    cols: [u32; 2],
    w: &mut [&'a [f32]; 4],
) -> Result<(), Failed> {
    let mut k = 0;
    while k < src.d.tensor_count as usize && k < w.len() {
        let shape = (rows, if k < cols.len() { cols[k] } else { 1 });
        let b = tri!(src.tensor(k, dtype::F32, shape, true));
        w[k] = match b.view::<f32>() {
            Some(v) => v,
            None => return Err(src.fail(Error::Misaligned)),
        };
        k += 1;
    }
    Ok(())
}
