//! A network: optional embedding, a stack of recurrent layers, optional Dense head.
//! Parameters live in one flat vector (what the optimizer updates), tensors are
//! ranges of it.

use core::ops::Range;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::cell::{self, CellKind, ElmanAct, GruVariant, RecurrentShape};
use crate::float::Float;
use crate::linalg::{add_col_sums, matmul, MatRef};
use crate::loss::{self, HeadAct, LossKind, Targets};

/// What one timestep of input is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputSpec {
    /// A vector of `size` floats.
    Features {
        /// Features per step.
        size: usize,
    },
    /// A token index looked up in an embedding table.
    Tokens {
        /// Number of distinct tokens.
        vocab: usize,
        /// Embedding width.
        dim: usize,
    },
}

/// One recurrent layer of the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerSpec {
    /// Cell kind.
    pub kind: CellKind,
    /// Hidden size.
    pub hidden: usize,
}

/// The Dense head.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadSpec {
    /// Output size.
    pub out: usize,
    /// Activation.
    pub act: HeadAct,
}

impl std::fmt::Display for LayerSpec {
    /// The `--layers` form: `lstm:64`, `gru:64`, `gru:64:before`, `elman:64:relu`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, variant) = match self.kind {
            CellKind::Lstm => ("lstm", ""),
            CellKind::Gru(GruVariant::ResetAfter) => ("gru", ""),
            CellKind::Gru(GruVariant::ResetBefore) => ("gru", ":before"),
            CellKind::Elman(ElmanAct::Tanh) => ("elman", ""),
            CellKind::Elman(ElmanAct::Relu) => ("elman", ":relu"),
        };
        write!(f, "{kind}:{}{variant}", self.hidden)
    }
}

impl std::fmt::Display for HeadSpec {
    /// The `--head` form: `dense:10:softmax`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let act = match self.act {
            HeadAct::Linear => "linear",
            HeadAct::Softmax => "softmax",
            HeadAct::Sigmoid => "sigmoid",
            HeadAct::Tanh => "tanh",
        };
        write!(f, "dense:{}:{act}", self.out)
    }
}

impl std::fmt::Display for InputSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputSpec::Features { size } => write!(f, "{size} features per step"),
            InputSpec::Tokens { vocab, dim } => {
                write!(f, "token ids (vocabulary {vocab}, embedding {dim})")
            }
        }
    }
}

impl ModelSpec {
    /// What differs between two architectures, one line per part, in the
    /// command line's terms (`layers: lstm:64 vs gru:64`).
    pub fn differences(&self, other: &ModelSpec) -> Vec<String> {
        let layers = |s: &ModelSpec| {
            s.layers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let head = |s: &ModelSpec| s.head.map_or_else(|| "none".into(), |h| h.to_string());
        let mut d = Vec::new();
        let mut add = |what: &str, a: String, b: String| {
            if a != b {
                d.push(format!("{what}: {a} vs {b}"));
            }
        };
        add("input", self.input.to_string(), other.input.to_string());
        add("layers", layers(self), layers(other));
        add("head", head(self), head(other));
        add(
            "output",
            self.output_kind().into(),
            other.output_kind().into(),
        );
        add(
            "dropout",
            self.dropout.to_string(),
            other.dropout.to_string(),
        );
        d
    }

    fn output_kind(&self) -> &'static str {
        if self.many_to_many {
            "every step"
        } else {
            "last step"
        }
    }
}

/// Architecture of a network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Input per step.
    pub input: InputSpec,
    /// Recurrent layers, bottom first (at least one).
    pub layers: Vec<LayerSpec>,
    /// Dense head on top (if any).
    pub head: Option<HeadSpec>,
    /// Output at every step (true) or only after the last step (false).
    pub many_to_many: bool,
    /// Dropout rate on the input of every layer above the first and of the head.
    pub dropout: f32,
}

/// Where each tensor sits in the flat parameter vector.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Embedding table `[vocab][dim]` (empty range without one).
    pub embedding: Range<usize>,
    /// All parameters of each recurrent layer (`W_x`, `W_h`, `b`, `b_h`).
    pub layers: Vec<Range<usize>>,
    /// Head weights `[O][H]`.
    pub head_w: Range<usize>,
    /// Head bias `[O]`.
    pub head_b: Range<usize>,
    /// Total parameter count.
    pub total: usize,
}

impl ModelSpec {
    /// Size of the vector entering the first recurrent layer per step.
    pub fn step_input_size(&self) -> usize {
        match self.input {
            InputSpec::Features { size } => size,
            InputSpec::Tokens { dim, .. } => dim,
        }
    }

    /// Shapes of the recurrent layers.
    pub fn shapes(&self) -> Vec<RecurrentShape> {
        let mut input = self.step_input_size();
        self.layers
            .iter()
            .map(|l| {
                let s = RecurrentShape {
                    kind: l.kind,
                    input,
                    hidden: l.hidden,
                };
                input = l.hidden;
                s
            })
            .collect()
    }

    /// Width of the top recurrent layer.
    pub fn top_hidden(&self) -> usize {
        self.layers.last().map_or(0, |l| l.hidden)
    }

    /// Outputs per row.
    pub fn output_size(&self) -> usize {
        self.head.map_or(self.top_hidden(), |h| h.out)
    }

    /// Activation of the output.
    pub fn output_act(&self) -> HeadAct {
        self.head.map_or(HeadAct::Linear, |h| h.act)
    }

    /// Checks sizes; returns a message on a bad spec.
    pub fn validate(&self) -> Result<(), String> {
        if self.layers.is_empty() {
            return Err("the model needs at least one recurrent layer".into());
        }
        if self.step_input_size() == 0 {
            return Err("input size must be at least 1".into());
        }
        if let InputSpec::Tokens { vocab: 0, .. } = self.input {
            return Err("vocabulary is empty".into());
        }
        if self.layers.iter().any(|l| l.hidden == 0) {
            return Err("hidden sizes must be at least 1".into());
        }
        if self.head.is_some_and(|h| h.out == 0) {
            return Err("head output size must be at least 1".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout must be in [0, 1), got {}", self.dropout));
        }
        Ok(())
    }

    /// Flat parameter layout.
    pub fn layout(&self) -> Layout {
        let mut at = 0;
        let mut take = |n: usize| {
            let r = at..at + n;
            at += n;
            r
        };
        let embedding = match self.input {
            InputSpec::Tokens { vocab, dim } => take(vocab * dim),
            InputSpec::Features { .. } => take(0),
        };
        let layers = self
            .shapes()
            .iter()
            .map(|s| take(s.param_count()))
            .collect();
        let (o, h) = (self.head.map_or(0, |h| h.out), self.top_hidden());
        let head_w = take(o * h);
        let head_b = take(o);
        Layout {
            embedding,
            layers,
            head_w,
            head_b,
            total: at,
        }
    }
}

/// Input of one chunk, time-major.
#[derive(Clone, Copy)]
pub enum ChunkInput<'a, T> {
    /// `[T*B, F]` floats.
    Dense(&'a [T]),
    /// `[T*B]` token indices.
    Tokens(&'a [u32]),
}

/// A chunk of `b` sequences of `t` steps, time-major (row `step * b + seq`).
pub struct Chunk<'a, T> {
    /// Sequences.
    pub b: usize,
    /// Steps.
    pub t: usize,
    /// Inputs.
    pub x: ChunkInput<'a, T>,
    /// `[T*B]` 1 for real steps, 0 for padding.
    pub mask: Option<&'a [T]>,
    /// Targets: `[B]` rows (many-to-one) or `[T*B]` rows (many-to-many).
    pub targets: Targets<'a, T>,
}

/// Recurrent state of one layer: `h` `[B, H]` and (LSTM) `c`.
#[derive(Clone, Debug, Default)]
pub struct LayerState<T> {
    /// Hidden state.
    pub h: Vec<T>,
    /// Cell state (LSTM) or empty.
    pub c: Vec<T>,
}

/// Buffers for one chunk, reused across batches.
#[derive(Default)]
pub struct NetWorkspace<T> {
    layers: Vec<cell::Workspace<T>>,
    /// Embedded tokens `[T*B, dim]`.
    emb: Vec<T>,
    /// Per layer: dropped-out input (layers above the first) when training with dropout.
    dropped: Vec<Vec<T>>,
    /// Per layer (and the head, last): dropout multipliers; empty when not in use.
    drop_mask: Vec<Vec<T>>,
    head_in: Vec<T>,
    /// Head pre-activations `[rows, O]`.
    pub z: Vec<T>,
    /// Outputs `[rows, O]`.
    pub y: Vec<T>,
    dz: Vec<T>,
    dhead_in: Vec<T>,
    dout: Vec<Vec<T>>,
    demb: Vec<T>,
    rows: usize,
    b: usize,
    t: usize,
}

/// A network with parameters of element type `T`.
#[derive(Clone, Debug)]
pub struct Net<T> {
    /// Architecture.
    pub spec: ModelSpec,
    /// All parameters, see [`Layout`].
    pub params: Vec<T>,
    layout: Layout,
    shapes: Vec<RecurrentShape>,
}

fn resize<T: Float>(v: &mut Vec<T>, n: usize) {
    if v.len() != n {
        v.clear();
        v.resize(n, T::ZERO);
    }
}

/// How a recurrent layer's gate weights are drawn at initialisation. Both draw
/// Glorot-uniform input weights, orthogonal recurrent weights, zero biases with
/// the LSTM forget gate at 1, a Glorot-uniform Dense head and a uniform(-0.05,
/// 0.05) embedding; they differ in what one draw covers when a layer has
/// several gates (LSTM 4, GRU 3; an Elman layer has one, so both give it the
/// same weights).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum InitScheme {
    /// Each gate on its own, as Keras 1 did with its separate per-gate
    /// matrices: each gate's `[H, F]` input block Glorot-uniform with fans
    /// (F, H), each gate's `[H, H]` recurrent block orthogonal, so every
    /// gate's recurrence starts norm-preserving (singular values all 1).
    #[default]
    PerGate,
    /// Keras 2 and 3: one Glorot-uniform draw over the fused `[G*H, F]` input
    /// kernel (fans F and G*H, so half the per-gate limit for an LSTM) and
    /// one orthogonal draw over the fused `[G*H, H]` recurrent kernel (so a
    /// gate's block has singular values of root mean square 1/sqrt(G), not all 1).
    Fused,
}

impl InitScheme {
    /// What checkpoints written before the scheme was recorded used.
    pub fn before_recorded() -> Self {
        InitScheme::Fused
    }
}

/// Initial parameters drawn with `scheme` from `seed`, as f64.
pub fn initial_params(spec: &ModelSpec, scheme: InitScheme, seed: u64) -> Vec<f64> {
    let layout = spec.layout();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut p = vec![0.0f64; layout.total];
    let glorot = |rng: &mut ChaCha8Rng, w: &mut [f64], fan_in: usize, fan_out: usize| {
        let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
        w.iter_mut()
            .for_each(|v| *v = rng.random_range(-limit..limit));
    };
    // Embedding: uniform(-0.05, 0.05) like Keras.
    p[layout.embedding.clone()]
        .iter_mut()
        .for_each(|v| *v = rng.random_range(-0.05..0.05));
    for (shape, range) in spec.shapes().iter().zip(&layout.layers) {
        let g = shape.g();
        let h = shape.hidden;
        let wx_len = g * shape.input;
        let slice = &mut p[range.clone()];
        let (w_x, rest) = slice.split_at_mut(wx_len);
        let (w_h, rest) = rest.split_at_mut(g * h);
        match scheme {
            InitScheme::PerGate => {
                // Rows are gate-major: gate k owns rows k*H..(k+1)*H of both kernels.
                for gate in w_x.chunks_mut(h * shape.input) {
                    glorot(&mut rng, gate, shape.input, h);
                }
                for gate in w_h.chunks_mut(h * h) {
                    orthogonal_columns(&mut rng, gate, h, h);
                }
            }
            InitScheme::Fused => {
                glorot(&mut rng, w_x, shape.input, g);
                orthogonal_columns(&mut rng, w_h, g, h);
            }
        }
        if shape.kind == CellKind::Lstm {
            rest[h..2 * h].fill(1.0);
        }
    }
    if let Some(head) = spec.head {
        glorot(
            &mut rng,
            &mut p[layout.head_w.clone()],
            spec.top_hidden(),
            head.out,
        );
    }
    p
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box-Muller
    let u1: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * core::f64::consts::PI * u2).cos()
}

/// Fills `w` (`rows x cols` row-major) with a random matrix whose columns are
/// orthonormal when `rows >= cols` (else whose rows are): Keras' `Orthogonal`
/// for the recurrent kernel `[H][G]` is the transpose of this `[G][H]`.
fn orthogonal_columns(rng: &mut ChaCha8Rng, w: &mut [f64], rows: usize, cols: usize) {
    let (n, len) = if rows >= cols {
        (cols, rows)
    } else {
        (rows, cols)
    };
    // n vectors of length len, Gram-Schmidt (twice for stability)
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|_| (0..len).map(|_| normal(rng)).collect())
        .collect();
    for i in 0..n {
        for _ in 0..2 {
            for j in 0..i {
                let (done, rest) = v.split_at_mut(i);
                let (vi, vj) = (&mut rest[0], &done[j]);
                let d: f64 = vi.iter().zip(vj.iter()).map(|(a, b)| a * b).sum();
                vi.iter_mut().zip(vj.iter()).for_each(|(a, b)| *a -= d * b);
            }
        }
        let norm = v[i].iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-300);
        v[i].iter_mut().for_each(|x| *x /= norm);
    }
    for r in 0..rows {
        for c in 0..cols {
            w[r * cols + c] = if rows >= cols { v[c][r] } else { v[r][c] };
        }
    }
}

/// Splits `p` into consecutive mutable pieces of the given lengths.
fn split_lengths<'a, T>(mut p: &'a mut [T], lens: &[usize]) -> Vec<&'a mut [T]> {
    let mut out = Vec::with_capacity(lens.len());
    for &n in lens {
        let (a, b) = p.split_at_mut(n);
        out.push(a);
        p = b;
    }
    out
}

impl<T: Float> Net<T> {
    /// A network with the given parameters (converted from f64).
    ///
    /// # Panics
    /// If `params` does not have the layout's length.
    pub fn from_f64(spec: ModelSpec, params: &[f64]) -> Self {
        let layout = spec.layout();
        assert_eq!(params.len(), layout.total, "parameter count");
        let shapes = spec.shapes();
        Net {
            spec,
            params: params.iter().map(|&v| T::from_f64(v)).collect(),
            layout,
            shapes,
        }
    }

    /// A network with the given parameters; errors if the count does not fit the spec.
    pub fn from_params(spec: ModelSpec, params: Vec<T>) -> Result<Self, String> {
        spec.validate()?;
        let layout = spec.layout();
        if params.len() != layout.total {
            return Err(format!(
                "{} parameters, the model needs {}",
                params.len(),
                layout.total
            ));
        }
        let shapes = spec.shapes();
        Ok(Net {
            spec,
            params,
            layout,
            shapes,
        })
    }

    /// A network initialised with the default [`InitScheme`] from `seed`.
    pub fn init(spec: ModelSpec, seed: u64) -> Self {
        Self::init_with(spec, InitScheme::default(), seed)
    }

    /// A network initialised with `scheme` from `seed`.
    pub fn init_with(spec: ModelSpec, scheme: InitScheme, seed: u64) -> Self {
        let p = initial_params(&spec, scheme, seed);
        Self::from_f64(spec, &p)
    }

    /// Parameter layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Recurrent layer shapes.
    pub fn shapes(&self) -> &[RecurrentShape] {
        &self.shapes
    }

    /// Runs the network over a chunk; outputs land in `ws.y` (`ws.z` before the head activation).
    /// With `dropout_rng`, dropout is applied (training). `init` gives initial states.
    pub fn forward(
        &self,
        ws: &mut NetWorkspace<T>,
        chunk: &Chunk<'_, T>,
        dropout_rng: Option<&mut ChaCha8Rng>,
        init: Option<&[LayerState<T>]>,
    ) {
        let (b, t) = (chunk.b, chunk.t);
        let nl = self.shapes.len();
        ws.layers.resize_with(nl, Default::default);
        ws.dropped.resize_with(nl, Vec::new);
        ws.drop_mask.resize_with(nl + 1, Vec::new);
        ws.dout.resize_with(nl, Vec::new);
        ws.b = b;
        ws.t = t;
        let rate = self.spec.dropout;
        let mut rng = if rate > 0.0 { dropout_rng } else { None };
        if let (ChunkInput::Tokens(tok), InputSpec::Tokens { dim, .. }) =
            (chunk.x, &self.spec.input)
        {
            let table = &self.params[self.layout.embedding.clone()];
            resize(&mut ws.emb, t * b * dim);
            for (row, &tk) in ws.emb.chunks_exact_mut(*dim).zip(tok) {
                let tk = tk as usize;
                row.copy_from_slice(&table[tk * dim..(tk + 1) * dim]);
            }
        }
        for l in 0..nl {
            let shape = &self.shapes[l];
            let (before, after) = ws.layers.split_at_mut(l);
            // input of this layer
            if l > 0 {
                let prev = before[l - 1].outputs();
                if let Some(rng) = rng.as_deref_mut() {
                    make_dropout(&mut ws.drop_mask[l], prev.len(), rate, rng);
                    let d = &mut ws.dropped[l];
                    resize(d, prev.len());
                    for ((o, &v), &m) in d.iter_mut().zip(prev).zip(&ws.drop_mask[l]) {
                        *o = v * m;
                    }
                } else {
                    ws.drop_mask[l].clear();
                }
            }
            let x: &[T] = if l == 0 {
                match chunk.x {
                    ChunkInput::Dense(x) => x,
                    ChunkInput::Tokens(_) => &ws.emb,
                }
            } else if ws.drop_mask[l].is_empty() {
                before[l - 1].outputs()
            } else {
                &ws.dropped[l]
            };
            let p = cell::split_params(shape, &self.params[self.layout.layers[l].clone()]);
            let st = init.map(|s| (&s[l].h[..], &s[l].c[..]));
            cell::forward(shape, &p, &mut after[0], x, b, t, chunk.mask, st);
        }
        // head
        let top = ws.layers[nl - 1].outputs();
        let h = self.spec.top_hidden();
        let head_rows = if self.spec.many_to_many { t * b } else { b };
        let src = &top[top.len() - head_rows * h..];
        resize(&mut ws.head_in, head_rows * h);
        ws.head_in.copy_from_slice(src);
        if let Some(rng) = rng {
            make_dropout(&mut ws.drop_mask[nl], head_rows * h, rate, rng);
            for (v, &m) in ws.head_in.iter_mut().zip(&ws.drop_mask[nl]) {
                *v *= m;
            }
        } else {
            ws.drop_mask[nl].clear();
        }
        ws.rows = head_rows;
        match self.spec.head {
            Some(head) => {
                resize(&mut ws.z, head_rows * head.out);
                matmul(
                    &mut ws.z,
                    MatRef::row_major(&ws.head_in, head_rows, h),
                    MatRef::row_major(&self.params[self.layout.head_w.clone()], head.out, h).t(),
                    false,
                );
                let bias = &self.params[self.layout.head_b.clone()];
                for row in ws.z.chunks_exact_mut(head.out) {
                    for (v, &bb) in row.iter_mut().zip(bias) {
                        *v += bb;
                    }
                }
                resize(&mut ws.y, ws.z.len());
                ws.y.copy_from_slice(&ws.z);
                loss::activate(head.act, &mut ws.y, head.out);
            }
            None => {
                resize(&mut ws.z, ws.head_in.len());
                ws.z.copy_from_slice(&ws.head_in);
                resize(&mut ws.y, ws.z.len());
                ws.y.copy_from_slice(&ws.z);
            }
        }
    }

    /// Final recurrent state of every layer after [`Net::forward`] (for truncated BPTT).
    pub fn final_states(&self, ws: &NetWorkspace<T>) -> Vec<LayerState<T>> {
        ws.layers
            .iter()
            .map(|l| {
                let (h, c) = l.final_state();
                LayerState {
                    h: h.to_vec(),
                    c: c.to_vec(),
                }
            })
            .collect()
    }

    /// Loss over a chunk after [`Net::forward`]; with `grads`, backpropagates and adds
    /// `scale` times the gradient. Returns (loss sum, metric sum, counted rows).
    pub fn loss_backward(
        &self,
        ws: &mut NetWorkspace<T>,
        chunk: &Chunk<'_, T>,
        loss_kind: LossKind,
        scale: T,
        grads: Option<&mut [T]>,
    ) -> (f64, f64, usize) {
        let o = self.spec.output_size();
        let weight = if self.spec.many_to_many {
            chunk.mask
        } else {
            None
        };
        let act = self.spec.output_act();
        let Some(grads) = grads else {
            return loss::loss_rows(
                loss_kind,
                act,
                &ws.z,
                &ws.y,
                o,
                &chunk.targets,
                weight,
                scale,
                None,
            );
        };
        resize(&mut ws.dz, ws.z.len());
        let res = loss::loss_rows(
            loss_kind,
            act,
            &ws.z,
            &ws.y,
            o,
            &chunk.targets,
            weight,
            scale,
            Some(&mut ws.dz),
        );
        self.backward(ws, chunk, grads);
        res
    }

    /// Backpropagation from `ws.dz` (gradient at the head pre-activations).
    fn backward(&self, ws: &mut NetWorkspace<T>, chunk: &Chunk<'_, T>, grads: &mut [T]) {
        let (b, t) = (ws.b, ws.t);
        let nl = self.shapes.len();
        let h = self.spec.top_hidden();
        let rows = ws.rows;
        let lay = &self.layout;
        let mut lens = vec![lay.embedding.len()];
        lens.extend(lay.layers.iter().map(|r| r.len()));
        lens.push(lay.head_w.len());
        lens.push(lay.head_b.len());
        let mut parts = split_lengths(&mut grads[..lay.total], &lens);
        let g_head_b = parts.pop().unwrap_or_default();
        let g_head_w = parts.pop().unwrap_or_default();
        // head
        resize(&mut ws.dhead_in, rows * h);
        match self.spec.head {
            Some(head) => {
                let dz = MatRef::row_major(&ws.dz, rows, head.out);
                matmul(
                    g_head_w,
                    dz.t(),
                    MatRef::row_major(&ws.head_in, rows, h),
                    true,
                );
                add_col_sums(g_head_b, &ws.dz, rows, head.out);
                matmul(
                    &mut ws.dhead_in,
                    dz,
                    MatRef::row_major(&self.params[lay.head_w.clone()], head.out, h),
                    false,
                );
            }
            None => ws.dhead_in.copy_from_slice(&ws.dz),
        }
        if !ws.drop_mask[nl].is_empty() {
            for (d, &m) in ws.dhead_in.iter_mut().zip(&ws.drop_mask[nl]) {
                *d *= m;
            }
        }
        for l in 0..nl {
            resize(&mut ws.dout[l], t * b * self.shapes[l].hidden);
        }
        {
            let top = &mut ws.dout[nl - 1];
            if self.spec.many_to_many {
                top.copy_from_slice(&ws.dhead_in);
            } else {
                top.fill(T::ZERO);
                let n = top.len();
                top[n - b * h..].copy_from_slice(&ws.dhead_in);
            }
        }
        let has_tokens = matches!(chunk.x, ChunkInput::Tokens(_));
        for l in (0..nl).rev() {
            let shape = &self.shapes[l];
            let (lay_before, lay_after) = ws.layers.split_at_mut(l);
            let (dout_before, dout_after) = ws.dout.split_at_mut(l);
            let x: &[T] = if l == 0 {
                match chunk.x {
                    ChunkInput::Dense(x) => x,
                    ChunkInput::Tokens(_) => &ws.emb,
                }
            } else if ws.drop_mask[l].is_empty() {
                lay_before[l - 1].outputs()
            } else {
                &ws.dropped[l]
            };
            let dx: Option<&mut [T]> = if l > 0 {
                Some(&mut dout_before[l - 1][..])
            } else if has_tokens {
                resize(&mut ws.demb, t * b * shape.input);
                Some(&mut ws.demb[..])
            } else {
                None
            };
            let p = cell::split_params(shape, &self.params[lay.layers[l].clone()]);
            let mut g = cell::split_grads(shape, &mut parts[l + 1][..]);
            cell::backward(
                shape,
                &p,
                &mut lay_after[0],
                x,
                chunk.mask,
                &dout_after[0],
                &mut g,
                dx,
            );
            if l > 0 && !ws.drop_mask[l].is_empty() {
                for (d, &m) in dout_before[l - 1].iter_mut().zip(&ws.drop_mask[l]) {
                    *d *= m;
                }
            }
        }
        if let (ChunkInput::Tokens(tok), InputSpec::Tokens { dim, .. }) =
            (chunk.x, &self.spec.input)
        {
            let g_emb = &mut parts[0];
            for (row, &tk) in ws.demb.chunks_exact(*dim).zip(tok) {
                let tk = tk as usize;
                for (g, &d) in g_emb[tk * dim..(tk + 1) * dim].iter_mut().zip(row) {
                    *g += d;
                }
            }
        }
    }
}

fn make_dropout<T: Float>(mask: &mut Vec<T>, n: usize, rate: f32, rng: &mut ChaCha8Rng) {
    resize(mask, n);
    let keep = T::from_f64(1.0 / (1.0 - rate as f64));
    for m in mask.iter_mut() {
        *m = if rng.random::<f32>() < rate {
            T::ZERO
        } else {
            keep
        };
    }
}
