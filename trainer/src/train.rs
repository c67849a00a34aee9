//! The training loop: shuffled mini-batches split into one chunk per thread,
//! gradients summed in a fixed order (so a seed gives the same model), then
//! one optimizer step.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::{ChunkBuf, Dataset};
use crate::loss::{LossKind, Targets};
use crate::model::{InitScheme, LayerState, Net, NetWorkspace};
use crate::optim::{OptimConfig, Optimizer};

/// Settings of a training run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Sequences per optimizer step.
    pub batch_size: usize,
    /// Seed of initialisation, shuffling and dropout.
    pub seed: u64,
    /// How the initial gate weights are drawn (like `seed`, used by whoever
    /// initialises the network, e.g. `Net::init_with(spec, cfg.init, cfg.seed)`).
    #[serde(default = "InitScheme::before_recorded")]
    pub init: InitScheme,
    /// Worker threads (chunks per batch).
    pub threads: usize,
    /// Optimizer.
    pub optim: OptimConfig,
    /// Loss.
    pub loss: LossKind,
    /// Truncated BPTT window (steps), state carried across windows. Windows
    /// end at the last step (the first takes `T mod K` steps), so a
    /// many-to-one loss reaches back `K` steps; with per-step targets each
    /// window is one optimizer step on its own rows.
    pub tbptt: Option<usize>,
    /// Stop after this many epochs without validation improvement, restoring the best weights.
    pub patience: Option<usize>,
    /// Cross-entropy weight of each class label (Keras' `class_weight`), for
    /// imbalanced classes: training rows count with their label's weight;
    /// the metric and the validation figures are unweighted.
    #[serde(default)]
    pub class_weight: Option<Vec<f32>>,
}

/// A training failure.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The loss, a gradient or a parameter became NaN or infinite.
    #[error("loss became {loss} at epoch {epoch}, batch {batch} (or the weights overflowed); lower the learning rate (--lr) or clip gradients (--clip-norm)")]
    NonFinite {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch.
        batch: usize,
        /// The value.
        loss: f64,
    },
}

struct Worker {
    ws: NetWorkspace<f32>,
    grads: Vec<f32>,
    buf: ChunkBuf,
    states: Option<Vec<LayerState<f32>>>,
    rng: ChaCha8Rng,
    out: (f64, f64, usize),
}

/// Loss and metric averages of a pass.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct PassStats {
    /// Mean loss per counted row.
    pub loss: f64,
    /// Mean metric per counted row.
    pub metric: f64,
    /// Rows counted.
    pub rows: usize,
}

/// Network, optimizer and the per-thread buffers.
pub struct Trainer {
    /// The network being trained.
    pub net: Net<f32>,
    /// Its optimizer.
    pub optim: Optimizer,
    /// Settings.
    pub cfg: TrainConfig,
    /// Epochs completed.
    pub epoch: usize,
    workers: Vec<Worker>,
    pool: Option<rayon::ThreadPool>,
}

fn run<F: Fn(&mut Worker, usize) + Sync + Send>(
    pool: &Option<rayon::ThreadPool>,
    workers: &mut [Worker],
    f: F,
) {
    match pool {
        Some(pool) if workers.len() > 1 => pool.install(|| {
            workers
                .par_iter_mut()
                .enumerate()
                .for_each(|(i, w)| f(w, i));
        }),
        _ => workers.iter_mut().enumerate().for_each(|(i, w)| f(w, i)),
    }
}

/// `h` and `v` hashed into one seed (SplitMix64's finaliser), so that no two
/// different `(seed, epoch, batch, window, chunk)` give the same stream in
/// practice (bit fields ORed together used to overlap).
fn mix(h: u64, v: u64) -> u64 {
    let mut z = (h ^ v.wrapping_mul(0xD6E8_FEB8_6659_FD93)).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn split_even(len: usize, parts: usize) -> Vec<(usize, usize)> {
    let parts = parts.clamp(1, len.max(1));
    let (q, r) = (len / parts, len % parts);
    let mut at = 0;
    (0..parts)
        .map(|i| {
            let n = q + usize::from(i < r);
            let s = (at, at + n);
            at += n;
            s
        })
        .collect()
}

impl Trainer {
    /// A trainer for `net`.
    pub fn new(net: Net<f32>, cfg: TrainConfig) -> Self {
        let n = net.params.len();
        let threads = cfg.threads.max(1);
        let workers = (0..threads)
            .map(|_| Worker {
                ws: NetWorkspace::default(),
                grads: vec![0.0; n],
                buf: ChunkBuf::default(),
                states: None,
                rng: ChaCha8Rng::seed_from_u64(0),
                out: (0.0, 0.0, 0),
            })
            .collect();
        let pool = (threads > 1).then(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("cannot start worker threads")
        });
        Trainer {
            optim: Optimizer::new(cfg.optim.clone(), n),
            net,
            cfg,
            epoch: 0,
            workers,
            pool,
        }
    }

    /// One epoch over `data`; `on_batch(done, total, mean loss, mean metric)` after each step.
    pub fn train_epoch(
        &mut self,
        data: &Dataset,
        on_batch: &mut dyn FnMut(usize, usize, f64, f64),
    ) -> Result<PassStats, TrainError> {
        let epoch = self.epoch;
        let mut order: Vec<usize> = (0..data.n).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(self.cfg.seed ^ (0x5EED_0000 + epoch as u64));
        order.shuffle(&mut rng);
        let bs = self.cfg.batch_size.max(1);
        let n_batches = data.n.div_ceil(bs);
        let (mut loss_sum, mut metric_sum, mut rows) = (0.0f64, 0.0f64, 0usize);
        let window = self.cfg.tbptt.unwrap_or(data.t).clamp(1, data.t);
        let loss_kind = self.cfg.loss;
        for (bi, batch) in order.chunks(bs).enumerate() {
            let parts = split_even(batch.len(), self.workers.len());
            let np = parts.len();
            for w in &mut self.workers[..np] {
                w.states = None;
            }
            let mut t0 = 0;
            while t0 < data.t {
                // Windows end at the last step, so the one that carries a
                // many-to-one loss is a whole window; a shorter first window
                // takes the remainder (`T mod K` steps).
                let t1 = if t0 == 0 && !data.t.is_multiple_of(window) {
                    data.t % window
                } else {
                    t0 + window
                };
                let last = t1 == data.t;
                let with_loss = data.per_step || last;
                let mut count = 0;
                for (w, &(a, b)) in self.workers.iter_mut().zip(&parts) {
                    data.fill_chunk(&batch[a..b], t0, t1, &mut w.buf);
                    count += w.buf.rows_counted(data.per_step);
                }
                let scale = 1.0 / count.max(1) as f32;
                let net = &self.net;
                let seed = self.cfg.seed;
                let class_weight = self.cfg.class_weight.as_deref();
                run(&self.pool, &mut self.workers[..np], |w, i| {
                    // Dropout masks: one stream per (seed, epoch, batch, window, chunk).
                    w.rng = ChaCha8Rng::seed_from_u64(
                        [epoch, bi, t0, i]
                            .iter()
                            .fold(seed, |h, &v| mix(h, v as u64)),
                    );
                    let mut chunk = w.buf.chunk();
                    if let (Some(cw), Targets::Classes(c)) = (class_weight, &chunk.targets) {
                        chunk.targets = Targets::WeightedClasses(c, cw);
                    }
                    net.forward(&mut w.ws, &chunk, Some(&mut w.rng), w.states.as_deref());
                    if !last {
                        w.states = Some(net.final_states(&w.ws));
                    }
                    if with_loss {
                        w.grads.fill(0.0);
                        w.out = net.loss_backward(
                            &mut w.ws,
                            &chunk,
                            loss_kind,
                            scale,
                            Some(&mut w.grads),
                        );
                    }
                });
                if with_loss {
                    let (mut l, mut m, mut c) = (0.0, 0.0, 0);
                    for w in &self.workers[..np] {
                        l += w.out.0;
                        m += w.out.1;
                        c += w.out.2;
                    }
                    if !l.is_finite() {
                        return Err(TrainError::NonFinite {
                            epoch: epoch + 1,
                            batch: bi + 1,
                            loss: l,
                        });
                    }
                    loss_sum += l;
                    metric_sum += m;
                    rows += c;
                    let (first, rest) = self.workers.split_at_mut(1);
                    let g = &mut first[0].grads;
                    for w in &rest[..np - 1] {
                        for (a, &b) in g.iter_mut().zip(&w.grads) {
                            *a += b;
                        }
                    }
                    let norm = self.optim.step(&mut self.net.params, g);
                    if !norm.is_finite() || !self.net.params.iter().all(|p| p.is_finite()) {
                        return Err(TrainError::NonFinite {
                            epoch: epoch + 1,
                            batch: bi + 1,
                            loss: if norm.is_finite() {
                                f64::INFINITY
                            } else {
                                norm as f64
                            },
                        });
                    }
                }
                t0 = t1;
            }
            let r = rows.max(1) as f64;
            on_batch(bi + 1, n_batches, loss_sum / r, metric_sum / r);
        }
        self.epoch += 1;
        let r = rows.max(1) as f64;
        Ok(PassStats {
            loss: loss_sum / r,
            metric: metric_sum / r,
            rows,
        })
    }

    /// Runs the network over `data` without training: loss and metric, and when
    /// `outputs` is given, every output row (batch-major: `[N, O]` or `[N, T, O]`).
    pub fn evaluate(&mut self, data: &Dataset, mut outputs: Option<&mut Vec<f32>>) -> PassStats {
        let bs = 256usize;
        let o = self.net.spec.output_size();
        let per_step = self.net.spec.many_to_many;
        if let Some(out) = outputs.as_deref_mut() {
            out.clear();
            out.resize(data.n * if per_step { data.t } else { 1 } * o, 0.0);
        }
        let has_targets = !matches!(data.targets, crate::data::DataTargets::None);
        let loss_kind = self.cfg.loss;
        let (mut l, mut m, mut c) = (0.0, 0.0, 0);
        let idx: Vec<usize> = (0..data.n).collect();
        for (bi, batch) in idx.chunks(bs).enumerate() {
            let parts = split_even(batch.len(), self.workers.len());
            let np = parts.len();
            for (w, &(a, b)) in self.workers.iter_mut().zip(&parts) {
                data.fill_chunk(&batch[a..b], 0, data.t, &mut w.buf);
            }
            let net = &self.net;
            run(&self.pool, &mut self.workers[..np], |w, _| {
                let chunk = w.buf.chunk();
                net.forward(&mut w.ws, &chunk, None, None);
                w.out = if has_targets {
                    net.loss_backward(&mut w.ws, &chunk, loss_kind, 1.0, None)
                } else {
                    (0.0, 0.0, 0)
                };
            });
            for (w, &(a, b)) in self.workers[..np].iter().zip(&parts) {
                l += w.out.0;
                m += w.out.1;
                c += w.out.2;
                if let Some(out) = outputs.as_deref_mut() {
                    let nb = b - a;
                    for j in 0..nb {
                        let seq = bi * bs + a + j;
                        if per_step {
                            for s in 0..data.t {
                                let src = &w.ws.y[(s * nb + j) * o..(s * nb + j + 1) * o];
                                out[(seq * data.t + s) * o..(seq * data.t + s + 1) * o]
                                    .copy_from_slice(src);
                            }
                        } else {
                            out[seq * o..(seq + 1) * o]
                                .copy_from_slice(&w.ws.y[j * o..(j + 1) * o]);
                        }
                    }
                }
            }
        }
        let r = c.max(1) as f64;
        PassStats {
            loss: l / r,
            metric: m / r,
            rows: c,
        }
    }
}
