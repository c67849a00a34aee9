//! A whole training run as the CLI and the demo do it: epochs with a progress bar,
//! validation, early stopping, CSV log, plot, atomic checkpoints, resume, export
//! through the runtime and verification of the exported file with the runtime's `step`.

use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::checkpoint::{self, Checkpoint};
use crate::data::{Dataset, InputNorm};
use crate::model::{ModelSpec, Net};
use crate::report::{self, EpochRecord};
use crate::train::{TrainConfig, TrainError, Trainer};

/// Inputs of a run.
pub struct TrainJob {
    /// Architecture.
    pub spec: ModelSpec,
    /// Settings.
    pub cfg: TrainConfig,
    /// Training sequences.
    pub train: Dataset,
    /// Validation sequences.
    pub val: Option<Dataset>,
    /// Model file to write.
    pub out: PathBuf,
    /// CSV log.
    pub log: Option<PathBuf>,
    /// PNG plot.
    pub plot: Option<PathBuf>,
    /// Checkpoint file.
    pub checkpoint: PathBuf,
    /// Continue from the checkpoint if it exists.
    pub resume: bool,
    /// Text vocabulary.
    pub vocab: Option<Vec<char>>,
    /// CSV feature names.
    pub features: Option<Vec<String>>,
    /// Show progress bars and per-epoch lines on stderr.
    pub progress: bool,
    /// Where the training inputs came from (recorded in the model file).
    pub train_data: Option<crate::data::TrainData>,
    /// Standardize the float inputs for training (`--normalize`); the
    /// statistics come from `train`, and the export writes them as the model
    /// file's first layer. `train` and `val` stay raw here.
    pub normalize: bool,
    /// Names of the classes, by label (recorded in the model file).
    pub class_names: Option<Vec<String>>,
}

/// Results of a run (also the `--json` line).
#[derive(Clone, Debug, Serialize)]
pub struct TrainSummary {
    /// Epochs completed in total.
    pub epochs: usize,
    /// The epoch whose weights the model file holds (the best one after early stopping).
    pub weights_epoch: usize,
    /// Median wall seconds per epoch (this run's epochs).
    pub sec_per_epoch: f64,
    /// Final training loss.
    pub loss: f64,
    /// Final training metric.
    pub metric: f64,
    /// Metric name.
    pub metric_name: String,
    /// Validation loss (trainer's forward).
    pub val_loss: Option<f64>,
    /// Validation metric (trainer's forward).
    pub val_metric: Option<f64>,
    /// Validation metric recomputed by the runtime's `step` on the exported file.
    pub runtime_val_metric: Option<f64>,
    /// Largest |difference| between trainer and runtime outputs.
    pub runtime_max_abs_diff: Option<f64>,
    /// Parameter count.
    pub params: usize,
    /// Model file bytes.
    pub model_bytes: usize,
    /// Model file path.
    pub model: String,
    /// Why training stopped early, if it did.
    pub stopped: Option<String>,
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// The settings that a resumed run must share with its checkpoint, where they
/// differ: the architecture, the data, and what shapes the steps (loss,
/// batch size, seed, truncation). Learning rate, clipping, epochs and the
/// rest may change.
fn resume_differences(ck: &Checkpoint, job: &TrainJob, norm: Option<&InputNorm>) -> Vec<String> {
    let mut d = ck.spec.differences(&job.spec);
    let mut add = |what: &str, a: String, b: String| {
        if a != b {
            d.push(format!("{what}: {a} vs {b}"));
        }
    };
    let source = |t: &Option<crate::data::TrainData>| match t {
        None => "built-in".to_string(),
        Some(t) if t.kind == "npy" => format!(
            "{} ({} sequences, mask value {:?})",
            t.path.display(),
            t.train_sequences,
            t.mask_value
        ),
        Some(t) => format!(
            "{} ({} sequences, window {}, stride {}, horizon {}, targets {:?}, mask value {:?})",
            t.path.display(),
            t.train_sequences,
            t.window,
            t.stride,
            t.horizon,
            t.target,
            t.mask_value
        ),
    };
    add(
        "training data",
        source(&ck.train_data),
        source(&job.train_data),
    );
    add(
        "steps per sequence",
        ck.seq_len.to_string(),
        job.train.t.to_string(),
    );
    add(
        "loss",
        format!("{:?}", ck.cfg.loss),
        format!("{:?}", job.cfg.loss),
    );
    add(
        "batch size",
        ck.cfg.batch_size.to_string(),
        job.cfg.batch_size.to_string(),
    );
    add("seed", ck.cfg.seed.to_string(), job.cfg.seed.to_string());
    let on_off = |on: bool| if on { "on" } else { "off" }.to_string();
    add(
        "--normalize",
        on_off(ck.input_norm.is_some()),
        on_off(job.normalize),
    );
    if let (Some(a), Some(b)) = (&ck.input_norm, norm) {
        add(
            "--normalize statistics (mean, std)",
            format!("{:?}, {:?}", a.mean, a.std),
            format!("{:?}, {:?}", b.mean, b.std),
        );
    }
    add(
        "tbptt",
        format!("{:?}", ck.cfg.tbptt),
        format!("{:?}", job.cfg.tbptt),
    );
    d
}

/// Runs the job.
pub fn run(mut job: TrainJob) -> Result<TrainSummary, String> {
    let norm = if job.normalize {
        Some(InputNorm::of(&job.train)?)
    } else {
        None
    };
    // What the network trains and is validated on; `job.train`/`job.val`
    // stay raw for the exported file's check.
    let scaled = |d: &Dataset| norm.as_ref().map(|n| n.apply(d));
    let train_scaled = scaled(&job.train);
    let val_scaled = job.val.as_ref().and_then(scaled);
    let train = train_scaled.as_ref().unwrap_or(&job.train);
    let val = val_scaled.as_ref().or(job.val.as_ref());
    let metric_name = job.cfg.loss.metric_name().to_string();
    let higher_better = job.cfg.loss.metric_higher_is_better();
    let mut net = Net::<f32>::init_with(job.spec.clone(), job.cfg.init, job.cfg.seed);
    let mut history: Vec<EpochRecord> = Vec::new();
    let mut best: Option<(f64, Vec<f32>, usize)> = None;
    let mut since_best = 0usize;
    let mut trainer;
    if job.resume && job.checkpoint.exists() {
        let ck = checkpoint::load(&job.checkpoint)?;
        let differences = resume_differences(&ck, &job, norm.as_ref());
        if !differences.is_empty() {
            return Err(format!(
                "{}: the checkpoint was made with other settings (checkpoint vs now: {}); \
                 resume with the checkpoint's, or drop --resume to start anew",
                job.checkpoint.display(),
                differences.join("; ")
            ));
        }
        if ck.epoch > job.cfg.epochs {
            return Err(format!(
                "{}: the checkpoint has {} epochs already, --epochs {} asks for fewer; \
                 raise --epochs, or write its model with `tinyrnn export --checkpoint`",
                job.checkpoint.display(),
                ck.epoch,
                job.cfg.epochs
            ));
        }
        net.params = ck.params;
        // The weights come from the checkpoint: record how they first started.
        job.cfg.init = ck.cfg.init;
        trainer = Trainer::new(net, job.cfg.clone());
        // Keep the moments, but the settings given now (learning rate, clipping...) apply.
        if ck.optim.cfg.kind == job.cfg.optim.kind {
            trainer.optim = ck.optim;
            trainer.optim.cfg = job.cfg.optim.clone();
        } else if job.progress {
            eprintln!(
                "note: the optimizer changed from {:?} to {:?}; its moments start from zero",
                ck.optim.cfg.kind, job.cfg.optim.kind
            );
        }
        trainer.epoch = ck.epoch;
        history = ck.history;
        best = ck.best;
        since_best = ck.since_best;
        if job.progress {
            eprintln!(
                "resuming from {} after epoch {}",
                job.checkpoint.display(),
                ck.epoch
            );
        }
    } else {
        if job.resume && job.progress {
            eprintln!(
                "note: no checkpoint at {} yet; training from the start",
                job.checkpoint.display()
            );
        }
        trainer = Trainer::new(net, job.cfg.clone());
    }
    let mut times = Vec::new();
    let mut stopped = None;
    while trainer.epoch < job.cfg.epochs {
        let ep = trainer.epoch + 1;
        let bar = if job.progress {
            let b = ProgressBar::new(job.train.n.div_ceil(job.cfg.batch_size.max(1)) as u64);
            b.set_style(
                ProgressStyle::with_template(&format!(
                    "epoch {ep:>3}/{} [{{bar:30}}] {{pos}}/{{len}} {{msg}} ({{elapsed}})",
                    job.cfg.epochs
                ))
                .expect("template")
                .progress_chars("=> "),
            );
            Some(b)
        } else {
            None
        };
        let t0 = Instant::now();
        let res = trainer.train_epoch(train, &mut |done, _, loss, metric| {
            if let Some(b) = &bar {
                b.set_position(done as u64);
                if done % 8 == 0 {
                    b.set_message(format!("loss {loss:.4} {metric_name} {metric:.4}"));
                }
            }
        });
        let secs = t0.elapsed().as_secs_f64();
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        let stats = match res {
            Ok(s) => s,
            Err(e @ TrainError::NonFinite { .. }) => {
                let kept = if trainer.epoch > 0 && job.checkpoint.exists() {
                    format!(
                        "the last good checkpoint (epoch {}) is kept at {}",
                        trainer.epoch,
                        job.checkpoint.display()
                    )
                } else {
                    "no epoch had completed, so there is no checkpoint".to_string()
                };
                return Err(format!("{e}. Stopped; {kept}"));
            }
        };
        times.push(secs);
        let val = val.map(|v| trainer.evaluate(v, None));
        let rec = EpochRecord {
            epoch: ep,
            loss: stats.loss,
            metric: stats.metric,
            val_loss: val.map(|v| v.loss),
            val_metric: val.map(|v| v.metric),
            seconds: secs,
        };
        if job.progress {
            let v = match (rec.val_loss, rec.val_metric) {
                (Some(l), Some(m)) => format!("  val_loss {l:.4}  val_{metric_name} {m:.4}"),
                _ => String::new(),
            };
            eprintln!(
                "epoch {ep:>3}/{}  loss {:.4}  {metric_name} {:.4}{v}  {secs:.2}s",
                job.cfg.epochs, rec.loss, rec.metric
            );
        }
        history.push(rec.clone());
        // early stopping on the validation metric (or training loss without validation)
        let score = match rec.val_metric {
            Some(m) if higher_better => m,
            Some(m) => -m,
            None => -rec.loss,
        };
        if best.as_ref().is_none_or(|b| score > b.0) {
            best = Some((score, trainer.net.params.clone(), ep));
            since_best = 0;
        } else {
            since_best += 1;
        }
        let ck = Checkpoint {
            spec: job.spec.clone(),
            params: trainer.net.params.clone(),
            optim: trainer.optim.clone(),
            epoch: trainer.epoch,
            history: history.clone(),
            cfg: job.cfg.clone(),
            best: best.clone(),
            since_best,
            vocab: job.vocab.clone(),
            features: job.features.clone(),
            seq_len: job.train.t,
            train_data: job.train_data.clone(),
            input_norm: norm.clone(),
            class_names: job.class_names.clone(),
        };
        checkpoint::save_atomic(&job.checkpoint, &ck)
            .map_err(|e| format!("{}: cannot write checkpoint: {e}", job.checkpoint.display()))?;
        if let Some(p) = &job.log {
            report::write_csv(p, &metric_name, &history)
                .map_err(|e| format!("{}: {e}", p.display()))?;
        }
        if let Some(p) = &job.plot {
            if let Err(e) = report::write_plot(p, &metric_name, &history) {
                eprintln!("warning: {}: plot not written: {e}", p.display());
            }
        }
        if let Some(pat) = job.cfg.patience {
            if since_best >= pat {
                // (the weights are restored below, with or without stopping)
                let bep = best.as_ref().map_or(ep, |b| b.2);
                let msg = format!("early stopping after epoch {ep}: no improvement for {pat} epochs; restored the weights of epoch {bep}");
                if job.progress {
                    eprintln!("{msg}");
                }
                stopped = Some(msg);
                break;
            }
        }
    }
    // With --patience the weights are the best epoch's at the end, whether
    // training stopped early or ran all its epochs (as Keras' EarlyStopping
    // with restore_best_weights), and so is the summary.
    let kept = best.as_ref().filter(|_| job.cfg.patience.is_some());
    let reported = kept.map(|b| b.2);
    if let Some((_, params, bep)) = kept.filter(|b| b.2 != trainer.epoch) {
        trainer.net.params = params.clone();
        if job.progress && stopped.is_none() {
            eprintln!("restored the weights of epoch {bep}, the best");
        }
    }
    if job.progress && kept.is_none() {
        let clipped = job.cfg.optim.clip_norm.is_some();
        let fall = fall_warning(
            &metric_name,
            &history,
            best.as_ref(),
            higher_better,
            clipped,
        );
        if let Some(w) =
            fall.map(|w| w.replace("CHECKPOINT", &job.checkpoint.display().to_string()))
        {
            eprintln!("{w}");
        }
    }
    let last = match reported {
        Some(ep) => history.iter().find(|r| r.epoch == ep).cloned(),
        None => history.last().cloned(),
    };
    // The weights are those `last` was measured with (the last epoch's, or
    // the restored best's), so its validation figures stand; a pass runs
    // only when none were recorded (a resumed run with no epoch left and no
    // validation figures in its checkpoint).
    let final_val = val.map(|v| {
        last.as_ref()
            .and_then(|r| r.val_loss.zip(r.val_metric))
            .unwrap_or_else(|| {
                let s = trainer.evaluate(v, None);
                (s.loss, s.metric)
            })
    });
    let mut summary = TrainSummary {
        epochs: trainer.epoch,
        weights_epoch: reported.unwrap_or(trainer.epoch),
        sec_per_epoch: median(&times),
        loss: last.as_ref().map_or(f64::NAN, |r| r.loss),
        metric: last.as_ref().map_or(f64::NAN, |r| r.metric),
        metric_name: metric_name.clone(),
        val_loss: final_val.map(|v| v.0),
        val_metric: final_val.map(|v| v.1),
        runtime_val_metric: None,
        runtime_max_abs_diff: None,
        params: trainer.net.params.len(),
        model_bytes: 0,
        model: job.out.display().to_string(),
        stopped,
    };
    export_and_verify(&mut trainer, &job, norm, (train, val), &mut summary)?;
    Ok(summary)
}

/// A warning when the validation metric of the last epoch is far worse than
/// the best epoch's (accuracy 0.1 lower, or an error half as large again):
/// the model file holds the last weights, so it says how to get the best
/// (`CHECKPOINT` stands for the checkpoint's path).
fn fall_warning(
    metric: &str,
    history: &[EpochRecord],
    best: Option<&(f64, Vec<f32>, usize)>,
    higher_better: bool,
    clipped: bool,
) -> Option<String> {
    let last = history.last()?;
    let (score, _, bep) = best?;
    let now = last.val_metric?;
    let then = if higher_better { *score } else { -*score };
    let fell = if higher_better {
        then - now > 0.1
    } else {
        now > 1.5 * then && now - then > 1e-6
    };
    if !fell || *bep == last.epoch {
        return None;
    }
    let clip = if !clipped {
        "; the default --clip-norm 5 guards against the gradient spikes behind such falls (Elman layers most)"
    } else {
        ""
    };
    Some(format!(
        "warning: validation {metric} went from {then:.4} after epoch {bep} to {now:.4} after epoch {}; \
         the model file holds the last epoch's weights. `tinyrnn export --checkpoint CHECKPOINT --best \
         --out FILE` writes epoch {bep}'s, and --patience N keeps the best by itself{clip}",
        last.epoch,
    ))
}

#[cfg(feature = "runtime")]
/// `seen`: the training and validation sets as the network saw them
/// (standardized with `norm`), where `job` holds them raw.
fn export_and_verify(
    trainer: &mut Trainer,
    job: &TrainJob,
    norm: Option<InputNorm>,
    seen: (&Dataset, Option<&Dataset>),
    summary: &mut TrainSummary,
) -> Result<(), String> {
    use crate::export;
    use std::borrow::Cow;
    let meta = export::Metadata {
        producer: "tinyrnn-trainer".into(),
        spec: job.spec.clone(),
        loss: job.cfg.loss,
        vocab: job.vocab.clone(),
        features: job.features.clone(),
        seq_len: job.train.t,
        val_metric: summary.val_metric,
        epochs: summary.weights_epoch,
        train_data: job.train_data.clone(),
        input_norm: norm,
        class_names: job.class_names.clone(),
    };
    let bytes = export::encode(&trainer.net, &meta).map_err(|e| format!("export failed: {e}"))?;
    checkpoint::write_atomic(&job.out, &bytes)
        .map_err(|e| format!("{}: cannot write: {e}", job.out.display()))?;
    summary.model_bytes = bytes.len();
    // Verify: the validation set (or up to 256 training sequences) through
    // the runtime's step on the raw inputs (the file begins with the
    // standardization), and through the trainer as it saw them.
    let first = |d: &Dataset| Cow::Owned(d.subset(&(0..d.n.min(256)).collect::<Vec<_>>()));
    let (check, check_seen) = match (&job.val, seen.1) {
        (Some(raw), Some(v)) => (Cow::Borrowed(raw), Cow::Borrowed(v)),
        _ => (first(&job.train), first(seen.0)),
    };
    let buf = export::load(&bytes);
    let model = tinyrnn::Model::from_bytes(&buf)
        .map_err(|e| format!("the runtime rejects the exported file: {e}"))?;
    let (rt_out, rt_stats) =
        export::run_runtime(&model, &meta, &check).map_err(|e| e.to_string())?;
    let mut tr_out = Vec::new();
    let tr_stats = trainer.evaluate(&check_seen, Some(&mut tr_out));
    let diff = rt_out
        .iter()
        .zip(&tr_out)
        .map(|(a, b)| (a - b).abs() as f64)
        .fold(0.0, f64::max);
    summary.runtime_max_abs_diff = Some(diff);
    summary.runtime_val_metric = rt_stats.map(|s| s.metric);
    if job.progress {
        let what = if job.val.is_some() {
            "validation set"
        } else {
            "first training sequences"
        };
        eprintln!(
            "exported {} ({} bytes); runtime step on the {what}: {} {:.4} (trainer {:.4}), max |output difference| {diff:.2e}",
            job.out.display(),
            bytes.len(),
            summary.metric_name,
            rt_stats.map_or(f64::NAN, |s| s.metric),
            tr_stats.metric
        );
    }
    Ok(())
}

#[cfg(not(feature = "runtime"))]
fn export_and_verify(
    _: &mut Trainer,
    _: &TrainJob,
    _: Option<InputNorm>,
    _: (&Dataset, Option<&Dataset>),
    _: &mut TrainSummary,
) -> Result<(), String> {
    Err("built without the `runtime` feature: cannot export".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epochs(val: &[f64]) -> Vec<EpochRecord> {
        val.iter()
            .enumerate()
            .map(|(i, &v)| EpochRecord {
                epoch: i + 1,
                loss: 1.0,
                metric: 0.5,
                val_loss: Some(1.0),
                val_metric: Some(v),
                seconds: 0.1,
            })
            .collect()
    }

    #[test]
    fn a_fall_of_the_validation_metric_is_named_with_the_way_back() {
        // accuracy: 0.89 at epoch 4, 0.13 at epoch 5
        let h = epochs(&[0.5, 0.7, 0.8, 0.89, 0.13]);
        let best = (0.89, vec![], 4);
        let w = fall_warning("accuracy", &h, Some(&best), true, false).unwrap();
        assert!(
            w.contains("went from 0.8900 after epoch 4 to 0.1300 after epoch 5"),
            "{w}"
        );
        assert!(w.contains("--best") && w.contains("--clip-norm 5"), "{w}");
        assert!(!fall_warning("accuracy", &h, Some(&best), true, true)
            .unwrap()
            .contains("--clip-norm"));
        // a dip of 0.05 is noise; a best last epoch is no fall
        let h = epochs(&[0.8, 0.89, 0.84]);
        assert!(fall_warning("accuracy", &h, Some(&(0.89, vec![], 2)), true, false).is_none());
        let h = epochs(&[0.8, 0.89]);
        assert!(fall_warning("accuracy", &h, Some(&(0.89, vec![], 2)), true, false).is_none());
        // an error (lower is better; the score is its negative) half as large again
        let h = epochs(&[0.3, 0.1, 0.16]);
        let w = fall_warning("mae", &h, Some(&(-0.1, vec![], 2)), false, false).unwrap();
        assert!(
            w.contains("validation mae went from 0.1000 after epoch 2 to 0.1600"),
            "{w}"
        );
        let h = epochs(&[0.3, 0.1, 0.14]);
        assert!(fall_warning("mae", &h, Some(&(-0.1, vec![], 2)), false, false).is_none());
    }
}
