//! `tinyrnn`: train, evaluate, export and inspect recurrent networks for the tinyrnn runtime.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use tinyrnn_trainer::cell::{CellKind, ElmanAct, GruVariant};
use tinyrnn_trainer::data::{self, DataTargets, Dataset};
use tinyrnn_trainer::export::TrainData;
use tinyrnn_trainer::loss::{HeadAct, LossKind};
use tinyrnn_trainer::model::{HeadSpec, InitScheme, InputSpec, LayerSpec, ModelSpec};
use tinyrnn_trainer::optim::{OptimConfig, OptimKind};
use tinyrnn_trainer::session::{self, TrainJob};
use tinyrnn_trainer::train::TrainConfig;

mod cli_runtime;

#[derive(Parser)]
#[command(
    name = "tinyrnn",
    version,
    about = "Train Elman/LSTM/GRU networks and export them for the tinyrnn runtime (microcontrollers, one step at a time)"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Train a model on .npy, CSV or text data and export a model file.
    #[command(after_help = TRAIN_EXAMPLES)]
    Train(Box<TrainArgs>),
    /// Evaluate a model file on data, computed by the runtime's step (what the device runs).
    #[command(after_help = EVAL_EXAMPLES)]
    Eval(EvalArgs),
    /// Write the model's outputs for every sequence to a .npy file (runtime step).
    #[command(after_help = PREDICT_EXAMPLES)]
    Predict(PredictArgs),
    /// Export a training checkpoint as a model file (--checkpoint), or quantize a model file
    /// to f16, i8 or integer (--model --format) and report what it costs.
    #[command(long_about = EXPORT_ABOUT)]
    Export(ExportArgs),
    /// Print layers, parameters, bytes, RAM and multiply-accumulates per step of a model file,
    /// and the declarations firmware needs for it (cargo features, static_model!, State size).
    #[command(
        after_help = "Example:\n  tinyrnn inspect --model model.trnn\n  tinyrnn inspect --model model.trnn --json | jq .ram_bytes"
    )]
    Inspect(InspectArgs),
    /// No arguments needed: build a dataset, train, export, stream a sequence through the runtime.
    #[command(
        after_help = "Writes its files (data, model, log, plot) to --out-dir and prints what it did and the commands to go on with."
    )]
    Demo(DemoArgs),
}

const TRAIN_EXAMPLES: &str = "Examples:
  # sequence classification: X (N x T x F float32), y (N integer labels)
  tinyrnn train --x X.npy --y y.npy --layers lstm:64,lstm:64 --head dense:10:softmax \\
      --epochs 5 --batch-size 32 --seed 0 --out model.trnn --val-split 0.2

  # regression on a CSV time series: predict column 'temp' 1 row after each 48-row window
  tinyrnn train --csv sensor.csv --target temp --window 48 --horizon 1 --layers gru:32 --out t.trnn

  # character model on plain text (next character at every step)
  tinyrnn train --text book.txt --window 64 --layers lstm:128 --embedding 32 --out chars.trnn

Written next to --out unless given: OUT.ckpt (checkpoint each epoch; --resume continues
from it), OUT.log.csv (per-epoch log), OUT.png (curves). The model file is checked by
running the validation set (or the first training sequences) through the runtime's step.
The loss and head default to what the targets call for: integer labels -> softmax and
cross-entropy, float targets -> linear head and mse.";

const EVAL_EXAMPLES: &str = "Examples:
  tinyrnn eval --model model.trnn --x Xval.npy --y yval.npy
  tinyrnn eval --model t.trnn --csv sensor-test.csv --json

The data is windowed as the model was trained (CSV targets, --window, --horizon and
--mask-value are
taken from the model unless given). The metrics are computed by the runtime's step, one
timestep at a time, on the model file itself.";

const PREDICT_EXAMPLES: &str = "Examples:
  tinyrnn predict --model model.trnn --x X.npy --out Y.npy
  python3 -c \"import numpy as np; print(np.load('Y.npy').argmax(-1))\"

Y.npy is float32, N x O (or N x T x O for a model with an output at every step);
softmax heads give probabilities.";

/// Where the data comes from.
#[derive(Args, Clone, Debug, Default)]
struct DataArgs {
    /// Inputs, .npy: N x T x F float (N x T float: one feature per step), or N x T
    /// integer token ids (a model with an Embedding input).
    #[arg(long, value_name = "X.npy")]
    x: Option<PathBuf>,
    /// Targets, .npy: N (or N x T) integer labels, or N x O / N x T x O float32.
    #[arg(long, value_name = "y.npy")]
    y: Option<PathBuf>,
    /// CSV time series with a header row, one row per step; columns are features
    /// (separated by commas, or semicolons or tabs as the header shows).
    #[arg(long, value_name = "FILE.csv", conflicts_with = "x")]
    csv: Option<PathBuf>,
    /// CSV target columns, comma-separated (removed from the features). Eval,
    /// predict and export take the model's own when not given.
    #[arg(long, value_delimiter = ',', value_name = "COL,..")]
    target: Vec<String>,
    /// Plain text for a character model (predicts the next character).
    #[arg(long, value_name = "FILE.txt", conflicts_with_all = ["x", "csv"])]
    text: Option<PathBuf>,
    /// Steps per window (CSV and text). Default: 32 to train; eval, predict and
    /// export take the window the model was trained with.
    #[arg(long)]
    window: Option<usize>,
    /// Rows between window starts (CSV and text).
    #[arg(long, default_value_t = 1)]
    stride: usize,
    /// CSV: predict the target this many rows after the window's last row
    /// (default 0; eval, predict and export take the model's own when not given).
    #[arg(long)]
    horizon: Option<usize>,
    /// A step whose features all equal this value (or, for token ids, whose id
    /// is this value) is padding: state kept, not scored. .npy inputs only.
    /// Eval, predict and export take the model's own when not given.
    #[arg(long, allow_negative_numbers = true, value_name = "VALUE")]
    mask_value: Option<f32>,
    /// CSV: read the target column as class labels (set from `--loss ce`, or
    /// from a model trained so).
    #[arg(skip)]
    classes: bool,
}

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Separate validation inputs (.npy); else --val-split.
    #[arg(long, value_name = "X.npy", requires = "val_y")]
    val_x: Option<PathBuf>,
    /// Separate validation targets (.npy).
    #[arg(long, value_name = "y.npy", requires = "val_x")]
    val_y: Option<PathBuf>,
    /// Use the last fraction of the sequences for validation (as Keras).
    #[arg(
        long,
        default_value_t = 0.0,
        allow_negative_numbers = true,
        conflicts_with = "val_x"
    )]
    val_split: f64,
    /// Recurrent layers, bottom first: lstm:64, gru:64 (reset-after), gru:64:before, elman:64, elman:64:relu.
    #[arg(long, default_value = "lstm:32")]
    layers: String,
    /// Head: dense:OUT[:linear|softmax|sigmoid|tanh] or none. Default fits the targets.
    #[arg(long)]
    head: Option<String>,
    /// Embedding width for token input (text).
    #[arg(long, default_value_t = 16)]
    embedding: usize,
    /// Output at every step (default: when the targets are per step).
    #[arg(long)]
    many_to_many: bool,
    /// Loss: ce (softmax cross-entropy), mse, bce. Default fits the targets: ce for
    /// integer labels, mse for float values. With --csv, ce reads the one target
    /// column as class labels (whole numbers from 0).
    #[arg(long, value_parser = ["ce", "mse", "bce"])]
    loss: Option<String>,
    /// Optimizer.
    #[arg(long, value_enum, default_value = "adam")]
    optimizer: OptimKind,
    /// Learning rate.
    #[arg(long, default_value_t = 1e-3, allow_negative_numbers = true)]
    lr: f32,
    /// SGD momentum (as Keras, 0 unless given; 0.9 is the usual choice).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    momentum: f32,
    /// Decoupled weight decay.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    weight_decay: f32,
    /// Rescale the gradient so its global L2 norm is at most this; 0 turns
    /// clipping off (Keras' default). The default stops the rare late
    /// gradient spike that wipes out an Elman layer's training, and leaves
    /// LSTM and GRU accuracy where it was.
    #[arg(long, default_value_t = tinyrnn_trainer::optim::DEFAULT_CLIP_NORM, allow_negative_numbers = true)]
    clip_norm: f32,
    /// Dropout rate on the outputs of each recurrent layer that feeds another layer
    /// or the head (a fresh mask per step; off in evaluation).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    dropout: f32,
    /// Epochs.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Sequences per optimizer step.
    #[arg(long, default_value_t = 32, value_parser = positive)]
    batch_size: usize,
    /// Seed (same seed, same machine and threads: identical model file).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// How LSTM and GRU gate weights start: per-gate draws each gate's input
    /// block Glorot-uniform and its recurrent block orthogonal; fused makes one
    /// draw over all gates, as Keras 2/3 do. Per-gate learns faster (freq10,
    /// 2 x LSTM 64, 5 epochs, 40 seeds: 0.94 against 0.86 validation accuracy).
    #[arg(long, value_enum, default_value_t = InitScheme::PerGate)]
    init: InitScheme,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Weight of each class in the cross-entropy, for imbalanced classes (Keras'
    /// class_weight): `balanced` (n / (classes x n_c) from the training labels), or
    /// CLASS:WEIGHT pairs such as 0:1,1:12 (unlisted classes weigh 1). Metrics and
    /// validation stay unweighted; eval's confusion matrix shows per-class recall.
    #[arg(long, value_name = "balanced|C:W,..")]
    class_weight: Option<String>,
    /// Names of the classes, label 0 first (e.g. walk,run,sit): recorded in the model
    /// file; inspect, eval's confusion matrix and predict's CSV show them.
    #[arg(long, value_delimiter = ',', value_name = "NAME,..")]
    class_names: Vec<String>,
    /// Standardize each input feature (mean 0, std 1 over the training sequences)
    /// while training, and write that standardization as the model file's first
    /// layer (a Dense, kept f32 in f16/i8 exports): the file then takes the raw
    /// values (ADC counts, physical units), on the device as in eval/predict. For
    /// float features whose scale is far from 1 (train says which); not for text.
    #[arg(long)]
    normalize: bool,
    /// Truncated BPTT: windows of K steps, state carried across windows.
    #[arg(long, value_name = "K")]
    tbptt: Option<usize>,
    /// Early stopping: stop after this many epochs without a strictly better validation
    /// metric (accuracy up, MAE down; training loss without validation data). The
    /// best epoch's weights are exported, whether or not training stopped early.
    #[arg(long)]
    patience: Option<usize>,
    /// Model file to write.
    #[arg(long, default_value = "model.trnn")]
    out: PathBuf,
    /// Per-epoch CSV log (default: OUT with .log.csv).
    #[arg(long)]
    log: Option<PathBuf>,
    /// PNG plot of the curves (default: OUT with .png).
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Checkpoint written each epoch (default: OUT with .ckpt).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Continue from the checkpoint (same architecture, data, loss, batch size, seed
    /// and --tbptt; the learning rate, clipping, epochs and patience may change).
    #[arg(long)]
    resume: bool,
    /// Print one JSON summary line on stdout.
    #[arg(long)]
    json: bool,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct EvalArgs {
    /// Model file.
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// Print one JSON line.
    #[arg(long)]
    json: bool,
    /// PNG of the targets and the model's outputs, row by row (float targets:
    /// the first output; the first 500 rows). Classifiers print a confusion
    /// matrix instead.
    #[arg(long, value_name = "FILE.png")]
    plot: Option<PathBuf>,
}

#[derive(Args)]
struct PredictArgs {
    /// Model file.
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// Output: .npy (float32, N x O, or N x T x O for per-step models) or .csv (a
    /// `sequence` column, `step` for per-step models, then one column per output,
    /// named after the CSV targets the model was trained on, else y0, y1, ...;
    /// softmax models add `class`, the most probable, and `class_name` when the
    /// model has class names).
    #[arg(long)]
    out: PathBuf,
}

const EXPORT_ABOUT: &str = "Three modes.

1. Checkpoint to model file (f32):
   tinyrnn export --checkpoint model.ckpt [--best] --out model.trnn

2. Post-training quantization of a model file:
   tinyrnn export --model model.trnn --format f16|i8|integer \\
       [--calibration X.npy] [--x Xval.npy --y yval.npy] --out q.trnn [--json]
   f16: half weights, f32 math. i8: int8 weights with an f32 scale per row, f32
   activations. integer: int8 weights, int16 activations and state, int32 sums,
   no float operation in the step; every layer is converted, an Embedding input
   too. `integer` streams calibration inputs through the f32 model to choose the
   fixed-point ranges: by default the first --calibration-samples training
   sequences of the data the model was trained on (`tinyrnn train` records the
   file and how it was windowed in the model), or --calibration FILE.npy (N x T x F
   float32, F = the model's input size; N x T token ids for a text model). With
   --x (and --y), or --csv/--text, both models are run by the runtime's own step
   on that evaluation set: the report gives the metric of each, the maximum output
   deviation from f32 and both sizes in bytes. Without evaluation data the
   deviation is measured on the calibration inputs (integer), or on the first
   recorded training sequences (f16, i8) when they can still be read.

3. Weight layout of an f32 model file:
   tinyrnn export --model model.trnn --layout host|device --out model.host.trnn
   host (or colmajor8): the recurrent layers column-major in panels of 8 rows
   (Layout::ColMajor8), what the host SIMD kernels, tinyrnn::sized and the
   Cortex-M4F FPU kernel read fastest (on the M4F 1.27 against 1.65
   instructions per multiply-add, firmware-example/README.md);
   device (or rowmajor): row-major, what `tinyrnn train` writes, with no row
   padding (a hidden size that is not a multiple of 8 takes no extra bytes).
   The same weights, the same metadata; both files are stepped by the runtime on
   the same inputs and the largest output difference (float rounding) is
   reported.";

#[derive(Args)]
struct ExportArgs {
    /// Checkpoint written by `tinyrnn train` (checkpoint -> f32 model file).
    #[arg(long, required_unless_present = "model", conflicts_with = "model")]
    checkpoint: Option<PathBuf>,
    /// Model file (f32) to quantize (--format) or to lay out again (--layout).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Number format of the quantized model.
    #[arg(long, value_parser = ["f16", "i8", "integer"], requires = "model")]
    format: Option<String>,
    /// Weight layout of the recurrent layers: host or colmajor8 (column-major
    /// panels: the SIMD kernels, tinyrnn::sized and the Cortex-M4F FPU kernel),
    /// device or rowmajor (row-major, what train writes, no padding).
    #[arg(long, value_parser = ["host", "device", "colmajor8", "rowmajor"], requires = "model", conflicts_with = "format")]
    layout: Option<String>,
    /// Calibration inputs for --format integer (.npy: N x T x F float32, or N x T
    /// token ids); default: the training inputs recorded in the model.
    #[arg(long, value_name = "X.npy", requires = "model")]
    calibration: Option<PathBuf>,
    /// Sequences of the calibration file used (the first ones).
    #[arg(long, default_value_t = 256)]
    calibration_samples: usize,
    /// Evaluation data for the quantization report (--x/--y, or --csv/--target).
    #[command(flatten)]
    data: DataArgs,
    /// Model file to write.
    #[arg(long)]
    out: PathBuf,
    /// Export the best-validation weights instead of the last (checkpoint mode).
    #[arg(long, conflicts_with = "model")]
    best: bool,
    /// Print one JSON summary line (quantization and layout modes).
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct InspectArgs {
    /// Model file.
    #[arg(long)]
    model: PathBuf,
    /// Print one JSON line.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct DemoArgs {
    /// Folder for the files the demo writes.
    #[arg(long, default_value = "tinyrnn-demo")]
    out_dir: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Epochs.
    #[arg(long, default_value_t = 8)]
    epochs: usize,
}

/// Parses `kind:hidden[:variant]`.
fn parse_layers(s: &str) -> Result<Vec<LayerSpec>, String> {
    s.split(',')
        .map(|item| {
            let parts: Vec<&str> = item.trim().split(':').collect();
            let hidden = parts
                .get(1)
                .and_then(|h| h.parse::<usize>().ok())
                .filter(|&h| h > 0)
                .ok_or_else(|| format!("layer '{item}': expected KIND:HIDDEN like lstm:64"))?;
            let opt = parts.get(2).copied();
            let kind = match (parts[0], opt) {
                ("lstm", None) => CellKind::Lstm,
                ("gru", None | Some("after")) => CellKind::Gru(GruVariant::ResetAfter),
                ("gru", Some("before")) | ("gru-before", None) => CellKind::Gru(GruVariant::ResetBefore),
                ("elman" | "rnn", None | Some("tanh")) => CellKind::Elman(ElmanAct::Tanh),
                ("elman" | "rnn", Some("relu")) | ("elman-relu", None) => CellKind::Elman(ElmanAct::Relu),
                _ => {
                    return Err(format!(
                        "layer '{item}': unknown kind; use lstm:H, gru:H, gru:H:before, elman:H or elman:H:relu"
                    ))
                }
            };
            Ok(LayerSpec { kind, hidden })
        })
        .collect()
}

fn parse_head(s: &str) -> Result<Option<HeadSpec>, String> {
    if s == "none" {
        return Ok(None);
    }
    let parts: Vec<&str> = s.split(':').collect();
    if parts[0] != "dense" || parts.len() < 2 || parts.len() > 3 {
        return Err(format!("head '{s}': expected dense:OUT[:ACT] or none"));
    }
    let out: usize = parts[1]
        .parse()
        .ok()
        .filter(|&o| o > 0)
        .ok_or_else(|| format!("head '{s}': OUT must be a positive number"))?;
    let act = match parts.get(2).copied().unwrap_or("linear") {
        "linear" => HeadAct::Linear,
        "softmax" => HeadAct::Softmax,
        "sigmoid" => HeadAct::Sigmoid,
        "tanh" => HeadAct::Tanh,
        a => {
            return Err(format!(
                "head '{s}': unknown activation '{a}' (linear, softmax, sigmoid, tanh)"
            ))
        }
    };
    Ok(Some(HeadSpec { out, act }))
}

impl DataArgs {
    /// Steps per CSV or text window: `--window`, or 32.
    fn window(&self) -> usize {
        self.window.unwrap_or(32)
    }

    /// CSV rows between a window's last row and its target: `--horizon`, or 0.
    fn horizon(&self) -> usize {
        self.horizon.unwrap_or(0)
    }
}

/// Loads the data named by `d`. `vocab` (from a model) fixes a text vocabulary.
/// Loaded data with the text vocabulary and CSV feature names, if any.
pub(crate) type Loaded = (Dataset, Option<Vec<char>>, Option<Vec<String>>);

fn load_data(d: &DataArgs, many_to_many: bool, vocab: Option<&[char]>) -> Result<Loaded, String> {
    if let Some(x) = &d.x {
        let ds = Dataset::from_npy(x, d.y.as_deref(), d.mask_value).map_err(|e| e.to_string())?;
        return Ok((ds, None, None));
    }
    if let (Some(_), Some(p)) = (d.mask_value, d.csv.as_ref().or(d.text.as_ref())) {
        return Err(format!(
            "{}: --mask-value marks padded steps of .npy inputs (float features, or token ids); \
             CSV and text windows have no padding",
            p.display()
        ));
    }
    if let Some(c) = &d.csv {
        let w = data::csv::CsvWindows {
            targets: d.target.clone(),
            window: d.window(),
            stride: d.stride,
            horizon: d.horizon(),
            many_to_many,
            targets_as_features: false,
            classes: d.classes,
        };
        let (ds, names) = data::csv::load(c, &w).map_err(|e| e.to_string())?;
        return Ok((ds, None, Some(names)));
    }
    if let Some(t) = &d.text {
        let (ds, v) =
            data::text::load(t, d.window(), d.stride, vocab).map_err(|e| e.to_string())?;
        return Ok((ds, Some(v), None));
    }
    Err("no data: give --x X.npy [--y y.npy], --csv FILE --target COL, or --text FILE".into())
}

/// The training inputs as recorded in the model file: `n` first sequences
/// of the file named by `d`, its path made absolute.
pub(crate) fn train_data_source(d: &DataArgs, n: usize) -> Result<Option<TrainData>, String> {
    let (kind, path) = match (&d.x, &d.csv, &d.text) {
        (Some(p), _, _) => ("npy", p),
        (_, Some(p), _) => ("csv", p),
        (_, _, Some(p)) => ("text", p),
        _ => return Ok(None),
    };
    let path = std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Some(TrainData {
        kind: kind.into(),
        path,
        target: d.target.clone(),
        window: d.window(),
        stride: d.stride,
        horizon: d.horizon(),
        mask_value: d.mask_value,
        train_sequences: n,
    }))
}

/// The data arguments that load recorded training inputs again.
pub(crate) fn data_args_of(t: &TrainData) -> DataArgs {
    let p = Some(t.path.clone());
    DataArgs {
        x: p.clone().filter(|_| t.kind == "npy"),
        y: None,
        csv: p.clone().filter(|_| t.kind == "csv"),
        target: t.target.clone(),
        text: p.filter(|_| t.kind == "text"),
        window: Some(t.window),
        stride: t.stride,
        horizon: Some(t.horizon),
        mask_value: t.mask_value,
        classes: false,
    }
}

fn threads(t: Option<usize>) -> usize {
    t.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

fn with_ext(p: &Path, ext: &str) -> PathBuf {
    p.with_extension(ext)
}

/// Parses a count of at least 1.
fn positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{s}' is not a whole number")),
    }
}

/// `--class-weight`: `balanced`, or `CLASS:WEIGHT` pairs, as one weight per
/// head output (1 where not given; `balanced` gives `n / (k n_c)` over the
/// `k` classes present in the training labels, and 1 to absent ones).
fn class_weights(
    arg: &str,
    train: &Dataset,
    outputs: usize,
    loss: LossKind,
) -> Result<Vec<f32>, String> {
    let DataTargets::Classes { y, .. } = &train.targets else {
        return Err(format!(
            "--class-weight {arg}: weights classes of a cross-entropy model, and these targets are float values"
        ));
    };
    if loss != LossKind::CrossEntropy {
        return Err(format!(
            "--class-weight {arg}: weights the cross-entropy loss (--loss ce)"
        ));
    }
    let mut w = vec![1.0f32; outputs];
    if arg == "balanced" {
        let mut count = vec![0u64; outputs];
        let rows = train.mask.as_ref().filter(|_| train.per_step);
        for (k, &c) in y.iter().enumerate() {
            if rows.is_none_or(|m| m[k] > 0.0) {
                if let Some(n) = count.get_mut(c as usize) {
                    *n += 1;
                }
            }
        }
        let present = count.iter().filter(|&&n| n > 0).count().max(1);
        let total: u64 = count.iter().sum();
        for (wk, &n) in w.iter_mut().zip(&count) {
            if n > 0 {
                *wk = (total as f64 / (present as f64 * n as f64)) as f32;
            }
        }
        return Ok(w);
    }
    for pair in arg.split(',') {
        let bad = || {
            format!(
                "--class-weight {arg}: '{pair}' is not CLASS:WEIGHT (a class from 0 to {}, a weight of 0 or more), and the list is not `balanced`",
                outputs - 1
            )
        };
        let (c, v) = pair.split_once(':').ok_or_else(bad)?;
        let c: usize = c.trim().parse().map_err(|_| bad())?;
        let v: f32 = v.trim().parse().map_err(|_| bad())?;
        if c >= outputs || !(v >= 0.0 && v.is_finite()) {
            return Err(bad());
        }
        w[c] = v;
    }
    Ok(w)
}

/// Refuses settings that would train nothing or diverge for a reason the
/// user did not mean (clap has checked the types).
fn check_settings(a: &TrainArgs) -> Result<(), String> {
    if !(a.lr > 0.0 && a.lr.is_finite()) {
        return Err(format!("--lr {} must be a positive number", a.lr));
    }
    if !(a.clip_norm >= 0.0 && a.clip_norm.is_finite()) {
        return Err(format!(
            "--clip-norm {} must be a positive number, or 0 for no clipping",
            a.clip_norm
        ));
    }
    if !(0.0..1.0).contains(&a.momentum) {
        return Err(format!("--momentum {} must be in [0, 1)", a.momentum));
    }
    if !(a.weight_decay >= 0.0 && a.weight_decay.is_finite()) {
        return Err(format!(
            "--weight-decay {} must be 0 or more",
            a.weight_decay
        ));
    }
    if !(0.0..1.0).contains(&a.val_split) {
        return Err(format!("--val-split {} must be in [0, 1)", a.val_split));
    }
    if let Some(mv) = a.data.mask_value {
        if !mv.is_finite() {
            return Err(format!(
                "--mask-value {mv}: inputs must be finite, so the padding marker must be a finite value such as 0 or -1"
            ));
        }
    }
    Ok(())
}

/// Refuses binary cross-entropy targets outside [0, 1], naming `file` and
/// the flat index in it.
fn check_bce_targets(d: &Dataset, file: &str) -> Result<(), String> {
    if let DataTargets::Values { y, .. } = &d.targets {
        if let Some(i) = y.iter().position(|v| !(0.0..=1.0).contains(v)) {
            return Err(format!(
                "{file}: target {} at flat index {i}; binary cross-entropy needs targets in [0, 1]",
                y[i]
            ));
        }
    }
    Ok(())
}

/// Checks, before any training, that `p` can be written: its folder exists
/// and is not a file.
fn check_writable(what: &str, p: &Path) -> Result<(), String> {
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!(
            "{what} {}: the folder {} does not exist",
            p.display(),
            dir.display()
        ));
    }
    if p.is_dir() {
        return Err(format!("{what} {}: is a folder, not a file", p.display()));
    }
    Ok(())
}

fn cmd_train(a: &TrainArgs) -> Result<(), String> {
    check_settings(a)?;
    let mut data_args = a.data.clone();
    data_args.classes = a.data.csv.is_some() && a.loss.as_deref() == Some("ce");
    let (mut ds, vocab, features) = load_data(&data_args, a.many_to_many, None)?;
    if a.loss.is_none() && !a.quiet {
        if let (Some(csv), DataTargets::Values { o: 1, y }) = (&a.data.csv, &ds.targets) {
            let mut seen: Vec<u32> = Vec::new();
            let labels = y.iter().all(|&v| {
                let is = data::csv::is_label(v) && v < 256.0;
                if is && !seen.contains(&(v as u32)) {
                    seen.push(v as u32);
                }
                is && seen.len() <= 32
            });
            if labels && seen.len() >= 2 {
                eprintln!(
                    "note: {}: the target column '{}' holds {} different whole numbers, trained now \
                     as values (--loss mse); if they are classes, give --loss ce",
                    csv.display(),
                    a.data.target.join(","),
                    seen.len()
                );
            }
        }
    }
    if matches!(ds.targets, DataTargets::None) {
        return Err("training needs targets: give --y (or --target for CSV)".into());
    }
    let many_to_many = a.many_to_many || ds.per_step;
    if many_to_many && !ds.per_step {
        return Err("--many-to-many needs per-step targets: integer labels N x T, or float values N x T x O (O may be 1; float N x T is read as N x O, one row per sequence)".into());
    }
    ds.per_step = many_to_many;
    let loss = match a.loss.as_deref() {
        Some("ce") => LossKind::CrossEntropy,
        Some("mse") => LossKind::Mse,
        Some("bce") => LossKind::Bce,
        _ => ds.default_loss(),
    };
    let file_name = |p: &Option<PathBuf>| {
        p.as_ref()
            .map_or_else(|| "the targets".to_string(), |p| p.display().to_string())
    };
    if let (DataTargets::Values { .. }, Some(h)) = (&ds.targets, &a.head) {
        if h.ends_with(":softmax") && a.loss.is_none() {
            return Err(format!(
                "{} holds float values; a softmax head is trained on integer class labels \
                 (save them with .astype(np.int64)), or give --loss mse/bce with another head",
                file_name(&a.data.y)
            ));
        }
    }
    if loss == LossKind::Bce {
        check_bce_targets(&ds, &file_name(&a.data.y))?;
    }
    let (train, val) = if let (Some(vx), Some(vy)) = (&a.val_x, &a.val_y) {
        let v = Dataset::from_npy(vx, Some(vy), a.data.mask_value).map_err(|e| e.to_string())?;
        if loss == LossKind::Bce {
            check_bce_targets(&v, &file_name(&a.val_y))?;
        }
        if v.is_tokens() != ds.is_tokens() {
            let kind = |tokens| {
                if tokens {
                    "integer token ids"
                } else {
                    "float features"
                }
            };
            return Err(format!(
                "{}: holds {}, the training inputs hold {}",
                vx.display(),
                kind(v.is_tokens()),
                kind(ds.is_tokens())
            ));
        }
        if v.t != ds.t || v.features() != ds.features() {
            return Err(format!(
                "{}: {} steps x {} features, the training data has {} x {}",
                vx.display(),
                v.t,
                v.features(),
                ds.t,
                ds.features()
            ));
        }
        (ds, Some(v))
    } else if a.val_split > 0.0 {
        let (t, v) = ds.split_tail(a.val_split);
        if t.n == 0 {
            return Err("--val-split leaves no training sequences".into());
        }
        let window = a.data.window();
        // rows a window spans with its targets (a text window's targets run
        // one character past it)
        let span = window + a.data.horizon() + usize::from(a.data.text.is_some());
        if (a.data.csv.is_some() || a.data.text.is_some()) && a.data.stride < span && !a.quiet {
            eprintln!(
                "note: windows of {span} rows every {} rows overlap, so the last training windows \
                 share rows with the first validation ones and the validation figures are \
                 somewhat optimistic; for an independent check give separate data \
                 (tinyrnn eval on a later stretch of the series)",
                a.data.stride
            );
        }
        (t, (v.n > 0).then_some(v))
    } else {
        (ds, None)
    };
    let width = train.target_width().unwrap_or(1);
    let head = match &a.head {
        Some(h) => parse_head(h)?,
        None => Some(HeadSpec {
            out: width,
            act: match loss {
                LossKind::CrossEntropy => HeadAct::Softmax,
                LossKind::Bce => HeadAct::Sigmoid,
                LossKind::Mse => HeadAct::Linear,
            },
        }),
    };
    let layers = parse_layers(&a.layers)?;
    let input = match &train.input {
        data::DataInput::Dense { f, .. } => InputSpec::Features { size: *f },
        data::DataInput::Tokens { vocab: v, .. } => InputSpec::Tokens {
            vocab: vocab.as_ref().map_or(*v, |vv| vv.len()),
            dim: a.embedding,
        },
    };
    let spec = ModelSpec {
        input,
        layers,
        head,
        many_to_many,
        dropout: a.dropout,
    };
    spec.validate()?;
    loss.check_head(spec.output_act())?;
    let out_size = spec.output_size();
    match (&train.targets, loss) {
        (DataTargets::Classes { classes, .. }, LossKind::CrossEntropy) => {
            let max_class = val
                .as_ref()
                .and_then(|v| v.target_width())
                .unwrap_or(0)
                .max(*classes);
            if max_class > out_size {
                return Err(format!(
                    "labels go up to {}, but the head has {out_size} outputs",
                    max_class - 1
                ));
            }
        }
        (DataTargets::Values { o, .. }, LossKind::Mse | LossKind::Bce) => {
            if *o != out_size {
                return Err(format!(
                    "targets have {o} values per row, but the model outputs {out_size}"
                ));
            }
        }
        (DataTargets::Classes { .. }, l) => {
            return Err(format!("integer labels need --loss ce, not {l:?}"))
        }
        (_, l) => return Err(format!("float targets need --loss mse or bce, not {l:?}")),
    }
    if let Some(v) = &val {
        let same = match (&train.targets, &v.targets) {
            (DataTargets::Classes { .. }, DataTargets::Classes { .. }) => true,
            (DataTargets::Values { o: a, .. }, DataTargets::Values { o: b, .. }) => a == b,
            _ => false,
        };
        if !same || v.per_step != train.per_step {
            return Err(
                "the validation targets differ in kind or width from the training targets".into(),
            );
        }
    }
    if let (InputSpec::Tokens { vocab: nv, .. }, Some(v)) = (&spec.input, &val) {
        if let data::DataInput::Tokens { vocab: vv, .. } = &v.input {
            if vv > nv {
                return Err(format!(
                    "validation tokens go up to {}, the training data's vocabulary has {nv}",
                    vv - 1
                ));
            }
        }
    }
    let cfg = TrainConfig {
        epochs: a.epochs,
        batch_size: a.batch_size,
        seed: a.seed,
        init: a.init,
        threads: threads(a.threads),
        optim: OptimConfig {
            kind: a.optimizer,
            lr: a.lr,
            momentum: if a.optimizer == OptimKind::Sgd {
                a.momentum
            } else {
                0.0
            },
            weight_decay: a.weight_decay,
            clip_norm: tinyrnn_trainer::optim::clip_norm_from_arg(a.clip_norm),
        },
        loss,
        tbptt: a.tbptt,
        patience: a.patience,
        class_weight: match &a.class_weight {
            Some(w) => Some(class_weights(w, &train, spec.output_size(), loss)?),
            None => None,
        },
    };
    let train_data = train_data_source(&a.data, train.n)?;
    let class_names = if a.class_names.is_empty() {
        None
    } else {
        let outputs = spec.output_size();
        if loss != LossKind::CrossEntropy || a.class_names.len() != outputs {
            return Err(format!(
                "--class-names gives {} names; they name the {outputs} outputs of a softmax \
                 (--loss ce) model, one per class, label 0 first",
                a.class_names.len()
            ));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(n) = a
            .class_names
            .iter()
            .find(|n| n.trim().is_empty() || !seen.insert(n.trim()))
        {
            return Err(format!(
                "--class-names: '{n}' is empty or given twice; each class needs its own name"
            ));
        }
        Some(a.class_names.iter().map(|n| n.trim().to_string()).collect())
    };
    let log = a.log.clone().unwrap_or_else(|| with_ext(&a.out, "log.csv"));
    let plot = a.plot.clone().unwrap_or_else(|| with_ext(&a.out, "png"));
    let checkpoint = a
        .checkpoint
        .clone()
        .unwrap_or_else(|| with_ext(&a.out, "ckpt"));
    for (what, p) in [
        ("--out", &a.out),
        ("--log", &log),
        ("--plot", &plot),
        ("--checkpoint", &checkpoint),
    ] {
        check_writable(what, p)?;
    }
    if !plot
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"))
    {
        return Err(format!(
            "--plot {}: the plot is a PNG image; give a path ending in .png",
            plot.display()
        ));
    }
    let progress = !a.quiet;
    if a.normalize && train.is_tokens() {
        return Err(
            "--normalize standardizes float features; token (text) input has none to scale".into(),
        );
    }
    if progress && !a.normalize {
        let far = data::badly_scaled(&train);
        if let Some(&(i, m, s)) = far.first() {
            let name = features
                .as_ref()
                .and_then(|f| f.get(i))
                .map_or(format!("feature {i}"), |n| format!("feature {i} ('{n}')"));
            eprintln!(
                "note: {name} has mean {m:.4} and standard deviation {s:.4} over the training \
                 sequences{}; gates saturate on inputs far from [-1, 1] and training may stall. \
                 --normalize trains on standardized inputs and writes the standardization as \
                 the model file's first layer, so the file still takes the raw values",
                if far.len() > 1 {
                    format!(" ({} features in all are scaled so)", far.len())
                } else {
                    String::new()
                }
            );
        }
    }
    if let (true, Some(w)) = (progress, &cfg.class_weight) {
        let list: Vec<String> = w
            .iter()
            .enumerate()
            .map(|(k, v)| format!("{k}: {v:.3}"))
            .collect();
        eprintln!("class weights: {}", list.join(", "));
    }
    if progress {
        eprintln!(
            "training {} on {} sequences x {} steps ({} validation), {} parameters, {} threads",
            a.layers,
            train.n,
            train.t,
            val.as_ref().map_or(0, |v| v.n),
            spec.layout().total,
            cfg.threads
        );
    }
    let job = TrainJob {
        spec,
        cfg,
        train,
        val,
        out: a.out.clone(),
        log: Some(log),
        plot: Some(plot),
        checkpoint,
        resume: a.resume,
        vocab,
        features,
        progress,
        train_data,
        normalize: a.normalize,
        class_names,
    };
    let summary = session::run(job)?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string(&summary).expect("summary serialises")
        );
    } else if progress {
        eprintln!(
            "wrote {} ({} bytes, {} parameters), median {:.2} s/epoch",
            summary.model, summary.model_bytes, summary.params, summary.sec_per_epoch
        );
    }
    Ok(())
}

/// Makes a closed output pipe (`tinyrnn inspect --model m.trnn | head`) end
/// the program quietly, as it ends other command-line tools, instead of
/// panicking in `println!` (Rust ignores SIGPIPE unless told otherwise).
#[cfg(unix)]
fn quiet_on_closed_pipe() {
    // SAFETY: restores the default disposition of one signal, at start-up,
    // before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn quiet_on_closed_pipe() {}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    let res = match &cli.cmd {
        Cmd::Train(a) => cmd_train(a),
        Cmd::Eval(a) => cli_runtime::eval(&a.model, &a.data, a.json, a.plot.as_deref(), load_data),
        Cmd::Predict(a) => cli_runtime::predict(&a.model, &a.data, &a.out, load_data),
        Cmd::Export(a) => match (&a.checkpoint, &a.model) {
            (Some(c), _) => cli_runtime::export(c, &a.out, a.best),
            (None, Some(m)) if a.layout.is_some() => {
                cli_runtime::export_layout(m, a.layout.as_deref().unwrap_or("host"), &a.out, a.json)
            }
            (None, Some(_)) if a.format.is_none() => {
                Err("export --model needs --format f16|i8|integer (quantize) or --layout host|device (lay out again)".into())
            }
            (None, Some(m)) => cli_runtime::export_quantized(
                &cli_runtime::QuantJob {
                    model: m,
                    format: a.format.as_deref().unwrap_or("f16"),
                    calibration: a.calibration.as_deref(),
                    calibration_samples: a.calibration_samples,
                    data: &a.data,
                    out: &a.out,
                    json: a.json,
                },
                load_data,
            ),
            (None, None) => Err("export needs --checkpoint or --model".into()),
        },
        Cmd::Inspect(a) => cli_runtime::inspect(&a.model, a.json),
        Cmd::Demo(a) => cli_runtime::demo(&a.out_dir, threads(a.threads), a.epochs),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
