//! The loader: checks a model file and builds its layers in place.

use crate::bytes::as_f32;
use crate::cell::{Dense, Elman, Embedding, Gru, Lstm};
use crate::error::Error;
use crate::format::{
    self, crc32, dtype, kind, numfmt, Activation, GruVariant, HeaderView, LayerDesc, Layout,
    TensorDesc, ALIGN, CHECKSUM_LEN, MAGIC, PANEL, PREAMBLE_LEN, VERSION,
};
use crate::model::{Layer, Model, F32, QUANT};
use crate::quant;

fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl<'a> Model<'a> {
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
        if bytes[..4] != MAGIC {
            return Err(Error::BadMagic);
        }
        let version = le_u16(bytes, 4);
        if version != VERSION {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: VERSION,
            });
        }
        let header_len = le_u32(bytes, 8) as usize;
        let payload_len = le_u32(bytes, 12) as usize;
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
        let stored = le_u32(bytes, body_len);
        let computed = crc32(&bytes[..body_len]);
        if stored != computed {
            return Err(Error::ChecksumMismatch { stored, computed });
        }
        if bytes.as_ptr().align_offset(4) != 0 {
            return Err(Error::Misaligned);
        }
        let header_bytes = &bytes[PREAMBLE_LEN..PREAMBLE_LEN + header_len];
        let mut header = HeaderView::new();
        header.read(header_bytes).ok_or(Error::BadHeader)?;
        let payload = &bytes[payload_start..body_len];
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
        let mut last_recurrent = None;
        let mut prev_out: Option<usize> = None;
        for li in 0..header.layer_count() {
            let d = header.layer(li).ok_or(Error::BadHeader)?;
            let layer = build_layer(li, &d, header, payload)?;
            if let Some(expected) = prev_out {
                if layer.is_embedding() {
                    return Err(Error::EmbeddingNotFirst { layer: li });
                }
                if layer.input_size() != expected {
                    return Err(Error::LayerSizeMismatch {
                        layer: li,
                        expected,
                        found: layer.input_size(),
                    });
                }
            }
            prev_out = Some(layer.output_size());
            if let Some(off) = self.state_off.get_mut(li) {
                *off = self.recurrent_len;
            }
            self.recurrent_len = self
                .recurrent_len
                .checked_add(layer.state_len())
                .ok_or(Error::TooLarge)?;
            self.scratch_len = self.scratch_len.max(layer.scratch_len());
            if let Layer::Dense(dl) = layer {
                self.io_len = self.io_len.max(dl.out);
            }
            if let Layer::Quant(q) = layer {
                // Dense outputs, and a quantized Embedding's decoded vector.
                if QUANT && q.gates() == 0 {
                    self.io_len = self.io_len.max(q.sizes().1);
                }
            }
            if layer.is_recurrent() {
                last_recurrent = Some(li);
            }
            // Cannot fail: the header holds at most MAX_LAYERS layers.
            self.layers.push(layer).map_err(|_| Error::BadHeader)?;
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
fn tensor_bytes<'a>(payload: &'a [u8], t: &TensorDesc, i: usize) -> Result<&'a [u8], Error> {
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

/// Resolves a layer's tensors, checking count, types and shapes.
fn build_layer<'a>(
    li: usize,
    d: &LayerDesc,
    header: &HeaderView<'a>,
    payload: &'a [u8],
) -> Result<Layer<'a>, Error> {
    let known = matches!(
        d.kind,
        kind::EMBEDDING | kind::ELMAN | kind::LSTM | kind::GRU | kind::DENSE
    );
    // Cell types and number formats left out by cargo features are
    // rejected here, so their code is never referenced and not linked.
    let disabled = (d.kind == kind::ELMAN && !cfg!(feature = "elman"))
        || (d.kind == kind::LSTM && !cfg!(feature = "lstm"))
        || (d.kind == kind::GRU && !cfg!(feature = "gru"));
    if !known || disabled {
        return Err(Error::UnsupportedLayer {
            layer: li,
            code: d.kind,
        });
    }
    if d.input == 0 || d.output == 0 {
        return Err(Error::ZeroSize { layer: li });
    }
    if d.format != numfmt::F32 {
        if !quant::layer::format_enabled(d.format) {
            return Err(Error::UnsupportedFormat {
                layer: li,
                code: d.format,
            });
        }
        let first = d.first_tensor as usize;
        let ts = header
            .tensors
            .layer(first, d.tensor_count as usize)
            .ok_or(Error::BadTensorRef { layer: li })?;
        let bytes = |k: usize| match ts.get(k) {
            Some(t) => tensor_bytes(payload, &t, first + k),
            None => Err(Error::BadTensorRef { layer: li }),
        };
        return quant::layer::build(li, d, ts, bytes).map(Layer::Quant);
    }
    if !F32 {
        return Err(Error::UnsupportedFormat {
            layer: li,
            code: d.format,
        });
    }
    let (i, h) = (d.input, d.output);
    let first = d.first_tensor as usize;
    let count = d.tensor_count as usize;
    let ts = header
        .tensors
        .layer(first, count)
        .ok_or(Error::BadTensorRef { layer: li })?;
    // One layout per layer, taken from its first tensor; Dense and Embedding
    // are row-major only.
    let layout = match ts.get(0) {
        Some(t) => Layout::from_code(t.layout).ok_or(Error::UnknownTensorType { tensor: first })?,
        None => Layout::RowMajor,
    };
    // Gate blocks (0: Embedding, Dense) and tensors of each kind.
    let (gates, expect_count): (u32, usize) = match d.kind {
        kind::EMBEDDING => (0, 1),
        kind::ELMAN => (1, 3),
        kind::LSTM => (4, 3),
        kind::GRU => (3, 4),
        _ => (0, 2),
    };
    for k in 0..count {
        let t = ts.get(k).ok_or(Error::BadTensorRef { layer: li })?;
        if t.layout != layout as u8 || (gates == 0 && layout != Layout::RowMajor) {
            return Err(Error::TensorLayout {
                layer: li,
                tensor: k,
            });
        }
    }
    // Rows of one gate block: `hidden`, padded to a multiple of 8 in ColMajor8.
    let hp = match layout {
        Layout::RowMajor => h,
        Layout::ColMajor8 => {
            h.checked_add(PANEL as u32 - 1).ok_or(Error::TooLarge)? / PANEL as u32 * PANEL as u32
        }
    };
    if count != expect_count {
        return Err(Error::BadTensorRef { layer: li });
    }
    let act = Activation::from_code(d.act);
    let variant = GruVariant::from_code(d.act);
    let act_ok = match d.kind {
        kind::ELMAN => matches!(act, Some(Activation::Tanh | Activation::Relu)),
        kind::GRU => variant.is_some(),
        kind::DENSE => act.is_some(),
        _ => d.act == 0,
    };
    if !act_ok {
        return Err(Error::UnsupportedActivation {
            layer: li,
            code: d.act,
        });
    }
    // Every tensor's shape `rows x cols`: an Embedding's table `[i][h]`; a
    // Dense `W [h][i]`, `b [h]`; a recurrent layer's `W_x [g][i]`,
    // `W_h [g][h]` and biases `[g]` with `g` gate blocks of `hp` rows.
    let (rows, cols) = match (d.kind, gates) {
        (kind::EMBEDDING, _) => (i, [h, 0]),
        (_, 0) => (h, [i, 1]),
        _ => (gates.checked_mul(hp).ok_or(Error::TooLarge)?, [i, h]),
    };
    let mut w: [&'a [f32]; 4] = [&[]; 4];
    for (k, w) in w.iter_mut().enumerate().take(count) {
        let t = ts.get(k).ok_or(Error::BadTensorRef { layer: li })?;
        let shape = (rows, cols.get(k).copied().unwrap_or(1));
        if t.dtype != dtype::F32 {
            return Err(Error::TensorType {
                layer: li,
                tensor: k,
            });
        }
        if (t.rows, t.cols) != shape {
            return Err(Error::TensorShape {
                layer: li,
                tensor: k,
                expected: shape,
                found: (t.rows, t.cols),
            });
        }
        *w = as_f32(tensor_bytes(payload, &t, first + k)?).ok_or(Error::Misaligned)?;
    }
    let [w0, w1, w2, w3] = w;
    let (input, hidden) = (i as usize, h as usize);
    // The activation codes were checked above.
    let act = act.unwrap_or(Activation::Linear);
    Ok(match d.kind {
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
            variant: variant.unwrap_or(GruVariant::ResetAfter),
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
    })
}
