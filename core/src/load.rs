//! The loader: checks a model file and builds its layers in place.

use crate::bytes::as_f32;
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
    #[inline(never)]
    pub(crate) fn load(&mut self, bytes: &'a [u8]) -> Result<(), Error> {
        if cfg!(target_endian = "big") {
            return Err(Error::UnsupportedEndianness);
        }
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
        let le = |at: usize| u32::from_le_bytes([pre[at], pre[at + 1], pre[at + 2], pre[at + 3]]);
        if pre[..4] != MAGIC {
            return Err(Error::BadMagic);
        }
        let version = le(4) as u16;
        if version != VERSION {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: VERSION,
            });
        }
        let header_len = le(8) as usize;
        let payload_len = le(12) as usize;
        let payload_start = PREAMBLE_LEN
            .checked_add(header_len)
            .and_then(|n| n.checked_add(ALIGN - 1))
            .map(|n| n / ALIGN * ALIGN)
            .ok_or(Error::TooLarge)?;
        let body_len = payload_start
            .checked_add(payload_len)
            .ok_or(Error::TooLarge)?;
        let total = body_len.checked_add(CHECKSUM_LEN).ok_or(Error::TooLarge)?;
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
        if bytes.as_ptr().align_offset(4) != 0 {
            return Err(Error::Misaligned);
        }
        // In range: `body` is `payload_start + payload_len` bytes.
        let (pre_payload, payload) = body
            .split_at_checked(payload_start)
            .ok_or(Error::BadHeader)?;
        let header = pre_payload
            .get(PREAMBLE_LEN..PREAMBLE_LEN + header_len)
            .and_then(HeaderView::parse)
            .ok_or(Error::BadHeader)?;
        self.metadata = header.metadata;
        self.fill(&header, payload)
    }

    /// Loads every layer of `header` into `self` (which has none yet).
    fn fill(&mut self, header: &HeaderView<'a>, payload: &'a [u8]) -> Result<(), Error> {
        // Tensors first: bounds, alignment, types.
        for i in 0..header.tensors.len() {
            let t = header.tensors.get(i).ok_or(Error::BadHeader)?;
            tensor_bytes(payload, &t, i)?;
        }
        if header.layer_count() > L {
            return Err(Error::TooManyLayers {
                found: header.layer_count(),
                capacity: L,
            });
        }
        let mut last_recurrent = None;
        let mut prev_out = 0;
        for li in 0..header.layer_count() {
            let d = header.layer(li).ok_or(Error::BadHeader)?;
            // Built in place, in its slot: a layer is never moved. Cannot
            // fail: at most L layers (checked above).
            let empty = Layer::Embedding(Embedding {
                vocab: 0,
                dim: 0,
                table: &[],
            });
            self.layers.push(empty).map_err(|_| Error::BadHeader)?;
            let layer = self.layers.last_mut().ok_or(Error::BadHeader)?;
            let src = LayerSrc {
                li,
                d,
                header,
                payload,
                err: Cell::new(Error::BadHeader),
            };
            build_layer(&src, layer).map_err(|Failed| src.err.get())?;
            let (state_len, scratch_len) = (layer.state_len(), layer.scratch_len());
            // (Not `li > 0`: the loop would be peeled, its body twice in flash.)
            let first_layer = self.layers.len() == 1;
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
            if let Some(off) = self.state_off.get_mut(li) {
                *off = self.recurrent_len;
            }
            self.recurrent_len = self
                .recurrent_len
                .checked_add(state_len)
                .ok_or(Error::TooLarge)?;
            self.scratch_len = self.scratch_len.max(scratch_len);
            // Dense outputs, and a quantized Embedding's decoded vector.
            if d.kind == kind::DENSE
                || (QUANT && d.kind == kind::EMBEDDING && d.format != numfmt::F32)
            {
                self.io_len = self.io_len.max(output);
            }
            if matches!(d.kind, kind::ELMAN | kind::LSTM | kind::GRU) {
                last_recurrent = Some(li);
            }
        }
        self.last_recurrent = last_recurrent.ok_or(Error::NoRecurrentLayer)?;
        // The total must be addressable: state + scratch + two Dense buffers.
        self.recurrent_len
            .checked_add(self.scratch_len)
            .and_then(|n| n.checked_add(self.io_len.checked_mul(2)?))
            .and_then(|n| n.checked_mul(4))
            .ok_or(Error::TooLarge)?;
        Ok(())
    }
}

/// The bytes of tensor `i`, checked for type, bounds and alignment.
#[inline(never)]
pub(crate) fn tensor_bytes<'a>(
    payload: &'a [u8],
    t: &TensorDesc,
    i: usize,
) -> Result<&'a [u8], Error> {
    let size = format::dtype_size(t.dtype).ok_or(Error::UnknownTensorType { tensor: i })?;
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
    let len = (t.rows as usize)
        .checked_mul(t.cols as usize)
        .and_then(|n| n.checked_mul(size))
        .ok_or(Error::TensorOutOfBounds { tensor: i })?;
    let end = off
        .checked_add(len)
        .ok_or(Error::TensorOutOfBounds { tensor: i })?;
    payload
        .get(off..end)
        .ok_or(Error::TensorOutOfBounds { tensor: i })
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
    payload: &'a [u8],
    /// Why the layer failed to build.
    pub(crate) err: Cell<Error>,
}

impl<'a> LayerSrc<'_, 'a> {
    /// Records `e` as the reason the layer failed.
    #[inline(always)]
    pub(crate) fn fail(&self, e: Error) -> Failed {
        self.err.set(e);
        Failed
    }

    /// The layer's tensor `k`, checked for element type `want`, layout
    /// (unless `any_layout`: row-major, or for integer weights whole tiles
    /// of 4 rows) and `shape`; its bytes, checked for bounds and for
    /// alignment to `align` bytes.
    #[inline(never)]
    pub(crate) fn tensor(
        &self,
        k: usize,
        want: u8,
        shape: (u32, u32),
        any_layout: bool,
    ) -> Result<&'a [u8], Failed> {
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
        if (t.rows, t.cols) != shape {
            return Err(self.fail(Error::TensorShape {
                layer: li,
                tensor: k,
                expected: shape,
                found: (t.rows, t.cols),
            }));
        }
        tensor_bytes(self.payload, &t, i).map_err(|e| self.fail(e))
    }

    /// Whether the layer's tensor `k` is tiled (`layout::I8_TILED4`).
    pub(crate) fn tiled(&self, k: usize) -> bool {
        let i = self.d.first_tensor as usize + k;
        self.header
            .tensors
            .get(i)
            .is_some_and(|t| t.layout == layout::I8_TILED4)
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
fn build_layer<'a>(src: &LayerSrc<'_, 'a>, out: &mut Layer<'a>) -> Result<(), Failed> {
    let (li, d) = (src.li, &src.d);
    let kd = d.kind as usize;
    // Cell types and number formats left out by cargo features are
    // rejected here, so their code is never referenced and not linked.
    if LINKED.get(kd) != Some(&true) {
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
    let gates = u32::from(GATES.get(kd).copied().unwrap_or(0));
    // One layout per layer, taken from its first tensor; Dense and Embedding
    // are row-major only.
    let layout = match tensors.get(first).filter(|_| count > 0) {
        Some(t) => match Layout::from_code(t.layout) {
            Some(l) => l,
            None => return Err(src.fail(Error::UnknownTensorType { tensor: first })),
        },
        None => Layout::RowMajor,
    };
    for k in 0..count {
        let bad = match tensors.get(first + k) {
            Some(t) => t.layout != layout as u8 || (gates == 0 && layout != Layout::RowMajor),
            None => return Err(src.fail(bad_ref)),
        };
        if bad {
            return Err(src.fail(Error::TensorLayout {
                layer: li,
                tensor: k,
            }));
        }
    }
    // Rows of one gate block: `hidden`, padded to a multiple of 8 in
    // ColMajor8 (`None`: too large).
    let hp = match layout {
        Layout::RowMajor => Some(h),
        Layout::ColMajor8 => h
            .checked_add(PANEL as u32 - 1)
            .map(|n| n / PANEL as u32 * PANEL as u32),
    };
    let Some(hp) = hp else {
        return Err(src.fail(Error::TooLarge));
    };
    if Some(&(count as u8)) != F32_TENSORS.get(kd) {
        return Err(src.fail(bad_ref));
    }
    let (lo, hi) = ACT.get(kd).copied().unwrap_or((1, 0));
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
    f32_tensors(src, rows, cols, &mut w)?;
    let [w0, w1, w2, w3] = w;
    let (input, hidden) = (i as usize, h as usize);
    // The activation codes were checked above.
    let act = Activation::from_code(d.act).unwrap_or(Activation::Linear);
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
            variant: GruVariant::from_code(d.act).unwrap_or(GruVariant::ResetAfter),
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
fn f32_tensors<'a>(
    src: &LayerSrc<'_, 'a>,
    rows: u32,
    cols: [u32; 2],
    w: &mut [&'a [f32]; 4],
) -> Result<(), Failed> {
    for k in 0..src.d.tensor_count as usize {
        let shape = (rows, cols.get(k).copied().unwrap_or(1));
        let b = src.tensor(k, dtype::F32, shape, true)?;
        if let Some(w) = w.get_mut(k) {
            *w = as_f32(b).ok_or_else(|| src.fail(Error::Misaligned))?;
        }
    }
    Ok(())
}
