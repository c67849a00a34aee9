//! The encoder: builds model files (feature `alloc`). The one writer of the
//! format that `Model::from_bytes` reads.

use alloc::vec::Vec;

use crate::error::Error;
use crate::format::{
    align_up, crc32, dtype, kind, numfmt, Activation, GruVariant, Header, LayerDesc, Layout,
    TensorDesc, MAGIC, PREAMBLE_LEN, VERSION,
};
use crate::model::{Layer, Model};
use crate::quant::encode::{calibrate, layer_tensors, Calibration, Ranges};
use crate::quant::NumFormat;

#[derive(Clone)]
struct PendingTensor {
    rows: u32,
    cols: u32,
    data: Vec<f32>,
}

#[derive(Clone)]
struct PendingLayer {
    kind: u8,
    act: u8,
    input: u32,
    output: u32,
    tensors: Vec<PendingTensor>,
    /// Stays f32 when the model is quantized to f16 or i8 ([`ModelBuilder::keep_f32`]).
    keep_f32: bool,
}

/// Builds a model file layer by layer.
///
/// Weight matrices are row-major `[outputs][inputs]`; gate blocks are stacked in
/// the order each cell documents (LSTM i, f, g, o; GRU z, r, n). Mistakes (a
/// slice of the wrong length) are reported by [`build`](Self::build).
///
/// ```
/// use tinyrnn::{Activation, Model, ModelBuilder, State};
/// let (i, h) = (1, 2);
/// let bytes = ModelBuilder::new(i)
///     .lstm(h, &[0.1; 4 * 2 * 1], &[0.2; 4 * 2 * 2], &[0.0; 4 * 2])
///     .dense(1, Activation::Linear, &[1.0, -1.0], &[0.5])
///     .build()?;
/// let bytes = tinyrnn::AlignedBuf::from_slice(&bytes);
/// let model = Model::from_bytes(&bytes)?;
/// let mut state = State::<64>::new(&model)?;
/// let mut y = [0.0];
/// model.step(&mut state, &[1.0], &mut y)?;
/// # Ok::<(), tinyrnn::Error>(())
/// ```
#[derive(Clone)]
pub struct ModelBuilder {
    width: usize,
    layout: Layout,
    layers: Vec<PendingLayer>,
    metadata: Vec<u8>,
    error: Option<Error>,
    format: NumFormat,
    calibration: Vec<f32>,
    calibration_tokens: Vec<usize>,
}

impl core::fmt::Debug for ModelBuilder {
    /// The builder's settings and counts (not its weights).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ModelBuilder")
            .field("next_input", &self.width)
            .field("layout", &self.layout)
            .field("format", &self.format)
            .field("layers", &self.layers.len())
            .field("metadata_bytes", &self.metadata.len())
            .field("calibration_values", &self.calibration.len())
            .field("calibration_tokens", &self.calibration_tokens.len())
            .field("error", &self.error)
            .finish()
    }
}

impl ModelBuilder {
    /// A model whose steps take a vector of `input_size` floats.
    pub fn new(input_size: usize) -> Self {
        ModelBuilder {
            width: input_size,
            layout: Layout::RowMajor,
            layers: Vec::new(),
            metadata: Vec::new(),
            error: None,
            format: NumFormat::F32,
            calibration: Vec::new(),
            calibration_tokens: Vec::new(),
        }
    }

    /// A model whose steps take token ids: an Embedding of `vocab` rows of `dim`
    /// floats (`table` row-major) as the first layer.
    pub fn with_embedding(vocab: usize, dim: usize, table: &[f32]) -> Self {
        let mut b = ModelBuilder::new(vocab);
        b.push(kind::EMBEDDING, 0, dim, &[(vocab, dim, table)]);
        b
    }

    /// Adds an Elman layer: `w_x` `[hidden][input]`, `w_h` `[hidden][hidden]`, `b` `[hidden]`.
    /// `act` is `Tanh` or `Relu`.
    pub fn elman(
        &mut self,
        hidden: usize,
        act: Activation,
        w_x: &[f32],
        w_h: &[f32],
        b: &[f32],
    ) -> &mut Self {
        let i = self.width;
        self.push(
            kind::ELMAN,
            act as u8,
            hidden,
            &[(hidden, i, w_x), (hidden, hidden, w_h), (hidden, 1, b)],
        )
    }

    /// Adds an LSTM layer: `w_x` `[4 hidden][input]`, `w_h` `[4 hidden][hidden]`,
    /// `b` `[4 hidden]` (input plus recurrent bias), gate blocks i, f, g, o.
    pub fn lstm(&mut self, hidden: usize, w_x: &[f32], w_h: &[f32], b: &[f32]) -> &mut Self {
        let (i, g) = (self.width, 4 * hidden);
        self.push(
            kind::LSTM,
            0,
            hidden,
            &[(g, i, w_x), (g, hidden, w_h), (g, 1, b)],
        )
    }

    /// Adds a GRU layer: `w_x` `[3 hidden][input]`, `w_h` `[3 hidden][hidden]`,
    /// biases `b_x`, `b_h` `[3 hidden]`, gate blocks z, r, n.
    pub fn gru(
        &mut self,
        hidden: usize,
        variant: GruVariant,
        w_x: &[f32],
        w_h: &[f32],
        b_x: &[f32],
        b_h: &[f32],
    ) -> &mut Self {
        let (i, g) = (self.width, 3 * hidden);
        self.push(
            kind::GRU,
            variant as u8,
            hidden,
            &[(g, i, w_x), (g, hidden, w_h), (g, 1, b_x), (g, 1, b_h)],
        )
    }

    /// Adds a Dense layer: `w` `[out][input]`, `b` `[out]`.
    pub fn dense(&mut self, out: usize, act: Activation, w: &[f32], b: &[f32]) -> &mut Self {
        let i = self.width;
        self.push(kind::DENSE, act as u8, out, &[(out, i, w), (out, 1, b)])
    }

    /// Stores the recurrent layers' weights in `layout` (default
    /// [`Layout::RowMajor`]). The weights given to the layer methods are
    /// always row-major; the encoder repacks them. Dense and Embedding layers
    /// stay row-major.
    ///
    /// [`Layout::ColMajor8`] is the fast layout for the SIMD kernels on the host,
    /// and the scalar (Cortex-M) kernel reads it with fewer loads too; its
    /// cost is padding each gate block to a multiple of 8 rows.
    pub fn layout(&mut self, layout: Layout) -> &mut Self {
        self.layout = layout;
        self
    }

    /// A builder that re-encodes `model` (for example into another
    /// [`layout`](Self::layout)): same layers, weights and metadata.
    pub fn from_model<const L: usize>(model: &Model<'_, L>) -> Self {
        let mut b = match model.layers().first() {
            Some(Layer::Embedding(e)) => ModelBuilder::with_embedding(e.vocab, e.dim, e.table),
            _ => ModelBuilder::new(model.input_size()),
        };
        b.layout = model
            .layers()
            .iter()
            .map(Layer::layout)
            .find(|l| *l != Layout::RowMajor)
            .unwrap_or_default();
        for layer in model.layers() {
            match layer {
                Layer::Embedding(_) => {}
                Layer::Elman(c) => {
                    let u = |w: &[f32], cols| unpack(c.layout, w, 1, c.hidden, cols);
                    b.elman(
                        c.hidden,
                        c.act,
                        &u(c.w_x, c.input),
                        &u(c.w_h, c.hidden),
                        &u(c.b, 1),
                    );
                }
                Layer::Lstm(c) => {
                    let u = |w: &[f32], cols| unpack(c.layout, w, 4, c.hidden, cols);
                    b.lstm(
                        c.hidden,
                        &u(c.w_x, c.input),
                        &u(c.w_h, c.hidden),
                        &u(c.b, 1),
                    );
                }
                Layer::Gru(c) => {
                    let u = |w: &[f32], cols| unpack(c.layout, w, 3, c.hidden, cols);
                    b.gru(
                        c.hidden,
                        c.variant,
                        &u(c.w_x, c.input),
                        &u(c.w_h, c.hidden),
                        &u(c.b_x, 1),
                        &u(c.b_h, 1),
                    );
                }
                Layer::Dense(d) => {
                    b.dense(d.out, d.act, d.w, d.b);
                }
                // Quantized weights cannot be re-encoded as f32 exactly here.
                Layer::Quant(q) => {
                    b.error.get_or_insert(Error::UnsupportedFormat {
                        layer: b.layers.len(),
                        code: q.format().code(),
                    });
                }
            }
        }
        b.metadata(model.metadata());
        b
    }

    /// Encodes every layer in `format`. [`NumFormat::Integer`] needs
    /// [`calibration`](Self::calibration) data (or
    /// [`calibration_tokens`](Self::calibration_tokens) for a model with an
    /// Embedding input); the recurrent layers are then
    /// stored row-major whatever [`layout`](Self::layout) says.
    pub fn quantize(&mut self, format: NumFormat) -> &mut Self {
        self.format = format;
        self
    }

    /// Leaves layer `layer` (0 is the first added, an Embedding included) in
    /// f32 when the others are [quantized](Self::quantize) to f16 or i8: for
    /// a small layer whose values a coarser format would spoil, such as an
    /// input standardization `(x - mean) / std` written as a diagonal Dense
    /// layer, whose bias cancels raw inputs far from zero. The loader runs
    /// such a mix. [`build`](Self::build) refuses it for
    /// [`NumFormat::Integer`] ([`Error::UnsupportedFormat`]: an integer
    /// model has integer layers only) and an index past the last layer
    /// ([`Error::NoSuchLayer`]).
    pub fn keep_f32(&mut self, layer: usize) -> &mut Self {
        match self.layers.get_mut(layer) {
            Some(l) => l.keep_f32 = true,
            None => {
                self.error.get_or_insert(Error::NoSuchLayer { layer });
            }
        }
        self
    }

    /// Inputs (vectors back to back) that the f32 model is run on to choose
    /// the integer formats of every layer's input, output and cell state.
    pub fn calibration(&mut self, xs: &[f32]) -> &mut Self {
        self.calibration = xs.to_vec();
        self
    }

    /// Token ids that the f32 model is run on to choose the integer
    /// formats, for a model whose first layer is an Embedding.
    pub fn calibration_tokens(&mut self, tokens: &[usize]) -> &mut Self {
        self.calibration_tokens = tokens.to_vec();
        self
    }

    /// Stores opaque application bytes (vocabulary, labels, provenance) in the file.
    pub fn metadata(&mut self, bytes: &[u8]) -> &mut Self {
        self.metadata = bytes.to_vec();
        self
    }

    fn push(
        &mut self,
        kind: u8,
        act: u8,
        output: usize,
        tensors: &[(usize, usize, &[f32])],
    ) -> &mut Self {
        let layer = self.layers.len();
        let mut pending = Vec::new();
        for (k, &(rows, cols, data)) in tensors.iter().enumerate() {
            let expected = rows.saturating_mul(cols);
            if data.len() != expected && self.error.is_none() {
                self.error = Some(Error::WeightLength {
                    layer,
                    tensor: k,
                    expected,
                    found: data.len(),
                });
            }
            let (Ok(rows), Ok(cols)) = (u32::try_from(rows), u32::try_from(cols)) else {
                self.error.get_or_insert(Error::TooLarge);
                continue;
            };
            pending.push(PendingTensor {
                rows,
                cols,
                data: data.to_vec(),
            });
        }
        let (Ok(input), Ok(out)) = (u32::try_from(self.width), u32::try_from(output)) else {
            self.error.get_or_insert(Error::TooLarge);
            return self;
        };
        self.layers.push(PendingLayer {
            kind,
            act,
            input,
            output: out,
            tensors: pending,
            keep_f32: false,
        });
        self.width = output;
        self
    }

    /// Encodes the model, then validates the result with the same checks as
    /// [`Model::from_bytes`], so a file this returns always loads.
    pub fn build(&self) -> Result<Vec<u8>, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.format == NumFormat::Integer {
            if let Some(layer) = self.layers.iter().position(|l| l.keep_f32) {
                return Err(Error::UnsupportedFormat {
                    layer,
                    code: numfmt::F32,
                });
            }
        }
        match self.format {
            NumFormat::F32 => self.encode(None),
            NumFormat::Integer => {
                let file = AlignedBuf::from_slice(&self.encode(None)?);
                let model = Model::from_bytes(&file)?;
                let data = if model.is_token_input() {
                    Calibration::Tokens(&self.calibration_tokens)
                } else {
                    Calibration::Vectors(&self.calibration)
                };
                let ranges =
                    calibrate(&model, data).map_err(|_| Error::Quantization { layer: 0 })?;
                self.encode(Some(&ranges))
            }
            _ => self.encode(Some(&[])),
        }
    }

    /// Encodes the layers; with `ranges`, in `self.format`. Tensors in
    /// [`Layout::ColMajor8`] start at a multiple of [`LINE`] bytes from the
    /// start of the file (so at a cache line when the blob is, as
    /// [`AlignedBuf`] and [`crate::Aligned`] place it on hosts): the payload
    /// starts after the header, whose length depends on the offsets, so the
    /// offsets are laid out again until the payload start they assumed is
    /// the one they give (two passes in practice). The format asks for 16;
    /// the extra padding is at most 48 bytes per such tensor.
    fn encode(&self, ranges: Option<&[Ranges]>) -> Result<Vec<u8>, Error> {
        let mut start = 0;
        for _ in 0..8 {
            let (out, payload) = self.encode_at(ranges, start)?;
            if payload % LINE == start {
                return Ok(out);
            }
            start = payload % LINE;
        }
        // Not settled (never seen): the 16-byte alignment the format asks for.
        self.encode_at(ranges, start).map(|(out, _)| out)
    }

    /// [`encode`](Self::encode) with the payload assumed to start at `start`
    /// modulo [`LINE`]; the file and where its payload starts.
    fn encode_at(
        &self,
        ranges: Option<&[Ranges]>,
        start: usize,
    ) -> Result<(Vec<u8>, usize), Error> {
        // Pads the payload so that the next tensor starts at a multiple of
        // 16 bytes from the payload, and of `LINE` bytes from the file if it
        // is column-major.
        let pad = |payload: &mut Vec<u8>, layout: u8| {
            let at = if layout == crate::format::layout::COL_MAJOR8 {
                (start + payload.len()).next_multiple_of(LINE) - start
            } else {
                align_up(payload.len())
            };
            payload.resize(at, 0);
        };
        let mut header = Header {
            layers: heapless::Vec::new(),
            tensors: heapless::Vec::new(),
            metadata: &self.metadata,
        };
        let mut payload: Vec<u8> = Vec::new();
        for (li, l) in self.layers.iter().enumerate() {
            let first = u16::try_from(header.tensors.len()).map_err(|_| Error::BadHeader)?;
            if let Some(ranges) = ranges.filter(|_| !l.keep_f32) {
                let t: Vec<(u32, u32, &[f32])> = l
                    .tensors
                    .iter()
                    .map(|t| (t.rows, t.cols, &t.data[..]))
                    .collect();
                let r = ranges.get(li).copied().unwrap_or_default();
                let enc = layer_tensors(
                    l.kind,
                    l.act,
                    self.format,
                    l.input as usize,
                    l.output as usize,
                    &t,
                    r,
                )
                .map_err(|_| Error::Quantization { layer: li })?;
                for t in &enc {
                    pad(&mut payload, t.layout);
                    let offset = u32::try_from(payload.len()).map_err(|_| Error::TooLarge)?;
                    header
                        .tensors
                        .push(TensorDesc {
                            offset,
                            dtype: t.dtype,
                            layout: t.layout,
                            rows: t.rows,
                            cols: t.cols,
                        })
                        .map_err(|_| Error::BadHeader)?;
                    payload.extend_from_slice(&t.bytes);
                }
                header
                    .layers
                    .push(LayerDesc {
                        kind: l.kind,
                        act: l.act,
                        format: self.format.code(),
                        input: l.input,
                        output: l.output,
                        first_tensor: first,
                        tensor_count: enc.len() as u8,
                    })
                    .map_err(|_| Error::BadHeader)?;
                continue;
            }
            let gates = match l.kind {
                kind::ELMAN => 1,
                kind::LSTM => 4,
                kind::GRU => 3,
                _ => 0,
            };
            let layout = if gates > 0 {
                self.layout
            } else {
                Layout::RowMajor
            };
            for t in &l.tensors {
                pad(&mut payload, layout as u8);
                let offset = u32::try_from(payload.len()).map_err(|_| Error::TooLarge)?;
                let (cols, hidden) = (t.cols as usize, l.output as usize);
                let data = pack(layout, &t.data, gates, hidden, cols);
                let rows = match layout {
                    Layout::RowMajor => t.rows,
                    Layout::ColMajor8 => {
                        u32::try_from(gates * layout.padded(hidden)).map_err(|_| Error::TooLarge)?
                    }
                };
                header
                    .tensors
                    .push(TensorDesc {
                        offset,
                        dtype: dtype::F32,
                        layout: layout as u8,
                        rows,
                        cols: t.cols,
                    })
                    .map_err(|_| Error::BadHeader)?;
                for v in data.iter() {
                    payload.extend_from_slice(&v.to_le_bytes());
                }
            }
            header
                .layers
                .push(LayerDesc {
                    kind: l.kind,
                    act: l.act,
                    format: numfmt::F32,
                    input: l.input,
                    output: l.output,
                    first_tensor: first,
                    tensor_count: l.tensors.len() as u8,
                })
                .map_err(|_| Error::BadHeader)?;
        }
        payload.resize(align_up(payload.len()), 0);
        let head = postcard::to_allocvec(&header).map_err(|_| Error::BadHeader)?;
        let header_len = u32::try_from(head.len()).map_err(|_| Error::TooLarge)?;
        let payload_len = u32::try_from(payload.len()).map_err(|_| Error::TooLarge)?;
        let mut out = Vec::with_capacity(PREAMBLE_LEN + head.len() + payload.len() + 32);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&header_len.to_le_bytes());
        out.extend_from_slice(&payload_len.to_le_bytes());
        out.extend_from_slice(&head);
        out.resize(align_up(out.len()), 0);
        let payload_start = out.len();
        out.extend_from_slice(&payload);
        let crc = crc32(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        Model::from_bytes(&AlignedBuf::from_slice(&out))?;
        Ok((out, payload_start))
    }
}

/// Bytes of a cache line: where the encoder starts column-major tensors.
const LINE: usize = 64;

/// Row-major `[gates * hidden][cols]` weights in `layout`: for
/// [`Layout::ColMajor8`], each gate block padded with zero rows to a multiple of
/// [`PANEL`](crate::format::PANEL), then stored column after column.
fn pack(layout: Layout, w: &[f32], gates: usize, hidden: usize, cols: usize) -> Vec<f32> {
    match layout {
        Layout::RowMajor => w.to_vec(),
        Layout::ColMajor8 => {
            let hp = layout.padded(hidden);
            let mut out = alloc::vec![0.0; gates * hp * cols];
            for g in 0..gates {
                for j in 0..hidden {
                    let (src, r) = ((g * hidden + j) * cols, g * hp + j);
                    for (k, &v) in w[src..src + cols].iter().enumerate() {
                        out[k * gates * hp + r] = v;
                    }
                }
            }
            out
        }
    }
}

/// The inverse of [`pack`]: row-major `[gates * hidden][cols]` weights.
fn unpack(layout: Layout, w: &[f32], gates: usize, hidden: usize, cols: usize) -> Vec<f32> {
    match layout {
        Layout::RowMajor => w.to_vec(),
        Layout::ColMajor8 => {
            let hp = layout.padded(hidden);
            let mut out = alloc::vec![0.0; gates * hidden * cols];
            for g in 0..gates {
                for j in 0..hidden {
                    let (dst, r) = ((g * hidden + j) * cols, g * hp + j);
                    for (k, v) in out[dst..dst + cols].iter_mut().enumerate() {
                        *v = w[k * gates * hp + r];
                    }
                }
            }
            out
        }
    }
}

/// Heap bytes aligned to 64 (a cache line), so a model read from a file or
/// network can be loaded in place, its column-major tensors on cache lines
/// (see [`crate::Aligned`]). Derefs to `[u8]`.
#[derive(Clone)]
pub struct AlignedBuf {
    blocks: Vec<crate::bytes::Block>,
    len: usize,
}

impl AlignedBuf {
    /// Copies `bytes` into aligned storage.
    pub fn from_slice(bytes: &[u8]) -> Self {
        let n = crate::bytes::BLOCK;
        let mut blocks =
            alloc::vec![crate::bytes::Block([0; crate::bytes::BLOCK]); bytes.len().div_ceil(n)];
        for (b, chunk) in blocks.iter_mut().zip(bytes.chunks(n)) {
            b.0[..chunk.len()].copy_from_slice(chunk);
        }
        AlignedBuf {
            blocks,
            len: bytes.len(),
        }
    }

    /// The bytes as [`Aligned`](crate::Aligned), what
    /// [`Model::from_aligned`] takes.
    pub fn as_aligned(&self) -> &crate::Aligned<[u8]> {
        crate::bytes::bytes_as_aligned(&self[..])
            .unwrap_or_else(|| unreachable!("the blocks are 64-byte aligned"))
    }
}

impl core::ops::Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &crate::bytes::blocks_as_bytes(&self.blocks)[..self.len]
    }
}

impl core::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "AlignedBuf({} bytes)", self.len)
    }
}
