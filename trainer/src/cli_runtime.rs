//! Commands that run the exported file through the `tinyrnn` runtime:
//! eval, predict, export, inspect and the demo.

use std::path::{Path, PathBuf};

use tinyrnn::quant::NumFormat;
use tinyrnn::{Layer, Model, ModelBuilder, State};
use tinyrnn_trainer::checkpoint;
use tinyrnn_trainer::data::{self, DataTargets, Dataset};
use tinyrnn_trainer::export::{self, Metadata};
use tinyrnn_trainer::loss::{argmax, HeadAct, LossKind};
use tinyrnn_trainer::model::{HeadSpec, InitScheme, InputSpec, LayerSpec, ModelSpec, Net};
use tinyrnn_trainer::optim::OptimConfig;
use tinyrnn_trainer::report;
use tinyrnn_trainer::session::{self, TrainJob};
use tinyrnn_trainer::train::TrainConfig;

use crate::DataArgs;

type Loader = fn(&DataArgs, bool, Option<&[char]>) -> Result<crate::Loaded, String>;

fn read_model(path: &Path) -> Result<tinyrnn::AlignedBuf, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    Ok(export::load(&bytes))
}

fn open<'a>(path: &Path, buf: &'a [u8]) -> Result<(Model<'a>, Metadata), String> {
    let model = Model::from_bytes(buf)
        .map_err(|e| format!("{}: not a valid model file: {e}", path.display()))?;
    let meta = export::read_metadata(&model).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((model, meta))
}

/// The data `d` names, for error messages: its inputs file (and targets file).
pub(crate) fn data_label(d: &DataArgs) -> String {
    match (&d.x, &d.y, &d.csv, &d.text) {
        (Some(x), Some(y), _, _) => format!("{} / {}", x.display(), y.display()),
        (Some(p), None, _, _) | (_, _, Some(p), _) | (_, _, _, Some(p)) => p.display().to_string(),
        _ => "the data".into(),
    }
}

/// Loads `d` for the model described by `meta`. Settings the model records
/// from its training (CSV target columns, the window, the padding marker)
/// apply unless given; CSV columns must be the ones it was trained on.
fn load_for_model(d: &DataArgs, meta: &Metadata, load: Loader) -> Result<Dataset, String> {
    let mut d = d.clone();
    let recorded = meta.train_data.as_ref();
    let mut taken = Vec::new();
    if d.window.is_none() && (d.csv.is_some() || d.text.is_some()) {
        // Steps per sequence it was trained on: the window for CSV and text.
        let w = meta.seq_len;
        d.window = Some(w);
        taken.push(format!("--window {w}"));
    }
    if let Some(t) = recorded {
        if d.csv.is_some() && d.horizon.is_none() && t.kind == "csv" && t.horizon != 0 {
            d.horizon = Some(t.horizon);
            taken.push(format!("--horizon {}", t.horizon));
        }
        if d.x.is_some() && d.mask_value.is_none() && t.mask_value.is_some() {
            d.mask_value = t.mask_value;
            taken.push(format!("--mask-value={}", t.mask_value.unwrap_or(0.0)));
        }
        // (only where the file has those columns: a file of inputs alone is
        // fine for predict)
        let has_columns =
            |p: &Path| data::csv::header(p).is_some_and(|h| t.target.iter().all(|c| h.contains(c)));
        if d.target.is_empty() && !t.target.is_empty() && d.csv.as_deref().is_some_and(has_columns)
        {
            d.target = t.target.clone();
            taken.push(format!("--target {}", t.target.join(",")));
        }
    }
    if !taken.is_empty() {
        eprintln!("as the model was trained: {}", taken.join(" "));
    }
    d.classes = d.csv.is_some() && meta.loss == LossKind::CrossEntropy;
    let (mut ds, _, names) = load(&d, meta.spec.many_to_many, meta.vocab.as_deref())?;
    let label = data_label(&d);
    if let (Some(names), Some(trained)) = (&names, &meta.features) {
        if names != trained {
            let after = if d.target.is_empty() {
                String::new()
            } else {
                format!(" (after --target {})", d.target.join(","))
            };
            return Err(format!(
                "{label}: feature columns {}{after}, the model was trained on {}",
                names.join(","),
                trained.join(",")
            ));
        }
    }
    if ds.per_step != meta.spec.many_to_many && !matches!(ds.targets, DataTargets::None) {
        return Err(format!(
            "{label}: the model outputs {} but the targets are {}",
            if meta.spec.many_to_many {
                "every step"
            } else {
                "after the last step"
            },
            if ds.per_step {
                "per step"
            } else {
                "per sequence"
            }
        ));
    }
    ds.per_step = meta.spec.many_to_many;
    Ok(ds)
}

/// `tinyrnn eval`.
pub fn eval(
    model_path: &Path,
    d: &DataArgs,
    json: bool,
    plot: Option<&Path>,
    load: Loader,
) -> Result<(), String> {
    if let Some(p) = plot {
        if !p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")) {
            return Err(format!(
                "--plot {}: the plot is a PNG image; give a path ending in .png",
                p.display()
            ));
        }
    }
    let buf = read_model(model_path)?;
    let (model, meta) = open(model_path, &buf)?;
    let ds = load_for_model(d, &meta, load)?;
    if matches!(ds.targets, DataTargets::None) {
        return Err("eval needs targets (--y, or --target for CSV)".into());
    }
    if plot.is_some() && !matches!(ds.targets, DataTargets::Values { .. }) {
        return Err(
            "--plot draws float targets against the model's outputs; this model predicts \
             classes, and eval prints their confusion matrix instead"
                .into(),
        );
    }
    let (out, stats) =
        export::run_runtime(&model, &meta, &ds).map_err(|e| format!("{}: {e}", data_label(d)))?;
    let s = stats.expect("targets present");
    let metric = meta.loss.metric_name();
    let confusion = confusion(&ds, &out, model.output_size());
    if let (Some(p), DataTargets::Values { o, y }) = (plot, &ds.targets) {
        let first = |v: &[f32]| v.iter().step_by((*o).max(1)).copied().collect::<Vec<f32>>();
        let name = meta
            .train_data
            .as_ref()
            .and_then(|t| t.target.first().cloned())
            .unwrap_or_else(|| "output 0".into());
        let rows = if ds.per_step {
            "row (sequence by sequence, step by step)"
        } else {
            "sequence (its last step)"
        };
        report::write_prediction_plot(p, &name, rows, &first(y), &first(&out))
            .map_err(|e| format!("{}: plot not written: {e}", p.display()))?;
    }
    if json {
        let mut line = serde_json::json!({"model": model_path.display().to_string(), "sequences": ds.n, "loss": s.loss, metric: s.metric, "rows": s.rows, "computed_by": "tinyrnn runtime step"});
        if let Some(c) = confusion.as_ref().filter(|c| c.len() <= CONFUSION_JSON_MAX) {
            line["confusion"] = serde_json::json!(c);
        }
        println!("{line}");
    } else {
        println!(
            "{} sequences: loss {:.4}, {metric} {:.4} (runtime step, one timestep at a time)",
            ds.n, s.loss, s.metric
        );
        if let (Some(n), Some(_)) = (&meta.class_names, &confusion) {
            println!("classes: {}", numbered(n));
        }
        match confusion {
            Some(c) if c.len() <= CONFUSION_TEXT_MAX => print!("{}", confusion_table(&c)),
            Some(c) => println!(
                "({} classes: the confusion matrix is in --json up to {CONFUSION_JSON_MAX})",
                c.len()
            ),
            None => {}
        }
        if let Some(p) = plot {
            println!("wrote {}", p.display());
        }
    }
    Ok(())
}

/// Most classes whose confusion matrix `eval` prints as a table.
const CONFUSION_TEXT_MAX: usize = 20;
/// Most classes whose confusion matrix `eval --json` includes.
const CONFUSION_JSON_MAX: usize = 256;

/// For class labels: `m[true][predicted]` counts over the scored rows (the
/// last step of each sequence, or every real step of a per-step model),
/// the prediction being the largest output. `None` for float targets.
fn confusion(ds: &Dataset, out: &[f32], o: usize) -> Option<Vec<Vec<u64>>> {
    let DataTargets::Classes { y, .. } = &ds.targets else {
        return None;
    };
    let mut m = vec![vec![0u64; o]; o];
    for (k, (row, &truth)) in out.chunks_exact(o.max(1)).zip(y).enumerate() {
        let padded = ds.per_step && ds.mask.as_ref().is_some_and(|w| w[k] == 0.0);
        if padded || truth as usize >= o {
            continue;
        }
        let best = argmax(row);
        m[truth as usize][best] += 1;
    }
    Some(m)
}

/// The confusion matrix as text: true classes down, predicted across, then
/// each class's count, recall and precision.
fn confusion_table(m: &[Vec<u64>]) -> String {
    let n = m.len();
    let width = m
        .iter()
        .flatten()
        .max()
        .map_or(1, |v| v.to_string().len())
        .max(n.to_string().len())
        .max(3);
    let mut t = format!("confusion (true class down, predicted across):\n{:>6}", "");
    for j in 0..n {
        t.push_str(&format!(" {j:>width$}"));
    }
    t.push_str("   count  recall  precision\n");
    for (i, row) in m.iter().enumerate() {
        t.push_str(&format!("{i:>6}"));
        for v in row {
            t.push_str(&format!(" {v:>width$}"));
        }
        let count: u64 = row.iter().sum();
        let predicted: u64 = m.iter().map(|r| r[i]).sum();
        let ratio = |a: u64, b: u64| {
            if b == 0 {
                "     -".to_string()
            } else {
                format!("{:>6.3}", a as f64 / b as f64)
            }
        };
        t.push_str(&format!(
            "  {count:>6}  {}     {}\n",
            ratio(row[i], count),
            ratio(row[i], predicted)
        ));
    }
    t
}

/// `tinyrnn predict`.
pub fn predict(model_path: &Path, d: &DataArgs, out: &Path, load: Loader) -> Result<(), String> {
    let ext = out
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let as_csv = match ext.as_deref() {
        Some("csv") => true,
        Some("npy") => false,
        _ => {
            return Err(format!(
                "--out {}: give a path ending in .npy (float32 array) or .csv (a table)",
                out.display()
            ))
        }
    };
    let buf = read_model(model_path)?;
    let (model, meta) = open(model_path, &buf)?;
    let ds = load_for_model(d, &meta, load)?;
    let (y, _) =
        export::run_runtime(&model, &meta, &ds).map_err(|e| format!("{}: {e}", data_label(d)))?;
    let o = model.output_size();
    let shape: Vec<usize> = if meta.spec.many_to_many {
        vec![ds.n, ds.t, o]
    } else {
        vec![ds.n, o]
    };
    if as_csv {
        let text = predictions_csv(&meta, &y, &shape);
        checkpoint::write_atomic(out, text.as_bytes())
            .map_err(|e| format!("{}: {e}", out.display()))?;
    } else {
        data::npy::write_f32(out, &shape, &y).map_err(|e| e.to_string())?;
    }
    eprintln!("wrote {} {:?}", out.display(), shape);
    Ok(())
}

/// `s` as one CSV field: quoted (inner quotes doubled) if it holds a comma,
/// a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `predict --out FILE.csv`: one row per sequence (`sequence`, then one
/// column per output) or, for per-step models, per sequence and step
/// (`sequence,step,...`). The outputs are named after the CSV target
/// columns the model was trained on when there are as many (a CSV label
/// column `activity` gives `activity_0`, `activity_1`, ... for its class
/// probabilities), else `y0`, `y1`, ...; a softmax model adds `class`, the
/// most probable one.
fn predictions_csv(meta: &Metadata, y: &[f32], shape: &[usize]) -> String {
    let o = shape.last().copied().unwrap_or(1).max(1);
    let per_step = shape.len() == 3;
    let softmax = meta.spec.output_act() == HeadAct::Softmax;
    let names: Vec<String> = match (&meta.class_names, &meta.train_data) {
        (Some(n), _) if n.len() == o => n.clone(),
        (_, Some(t)) if t.target.len() == o => t.target.clone(),
        // class probabilities of a CSV label column: `activity_0`, ...
        (_, Some(t)) if softmax && t.target.len() == 1 => {
            (0..o).map(|k| format!("{}_{k}", t.target[0])).collect()
        }
        _ => (0..o).map(|k| format!("y{k}")).collect(),
    };
    let mut text = String::from(if per_step {
        "sequence,step"
    } else {
        "sequence"
    });
    for n in &names {
        text.push(',');
        text.push_str(&csv_field(n));
    }
    let class_names = meta
        .class_names
        .as_ref()
        .filter(|n| softmax && n.len() == o);
    if softmax {
        text.push_str(",class");
    }
    if class_names.is_some() {
        text.push_str(",class_name");
    }
    text.push('\n');
    let t = if per_step { shape[1].max(1) } else { 1 };
    for (r, row) in y.chunks_exact(o).enumerate() {
        text.push_str(&(r / t).to_string());
        if per_step {
            text.push_str(&format!(",{}", r % t));
        }
        for v in row {
            text.push_str(&format!(",{v}"));
        }
        if softmax {
            let best = argmax(row);
            text.push_str(&format!(",{best}"));
            if let Some(n) = class_names {
                text.push_str(&format!(",{}", csv_field(&n[best])));
            }
        }
        text.push('\n');
    }
    text
}

/// `tinyrnn export`.
pub fn export(ckpt_path: &Path, out: &Path, best: bool) -> Result<(), String> {
    let ck = checkpoint::load(ckpt_path)?;
    let (params, epoch) = match (&ck.best, best) {
        (Some((_, p, e)), true) => (p.clone(), *e),
        _ => (ck.params.clone(), ck.epoch),
    };
    let record = ck.history.iter().find(|r| r.epoch == epoch);
    let net = Net::<f32>::from_params(ck.spec.clone(), params)
        .map_err(|e| format!("{}: {e}", ckpt_path.display()))?;
    let meta = Metadata {
        producer: "tinyrnn-trainer".into(),
        spec: ck.spec.clone(),
        loss: ck.cfg.loss,
        vocab: ck.vocab.clone(),
        features: ck.features.clone(),
        seq_len: ck.seq_len,
        val_metric: record.and_then(|r| r.val_metric),
        epochs: epoch,
        train_data: ck.train_data.clone(),
        input_norm: ck.input_norm.clone(),
        class_names: ck.class_names.clone(),
    };
    let bytes = export::encode(&net, &meta).map_err(|e| e.to_string())?;
    checkpoint::write_atomic(out, &bytes).map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "wrote {} ({} bytes) from {} (the weights of epoch {epoch}{})",
        out.display(),
        bytes.len(),
        ckpt_path.display(),
        if best && epoch != ck.epoch {
            format!(", the best of {}", ck.epoch)
        } else {
            String::new()
        }
    );
    Ok(())
}

/// An integer model takes its inputs as `i16` fixed point (`Q(f)`, `f >=
/// 0`), so raw values beyond ±32,767 cannot reach it: an error naming the
/// largest, and what to do, rather than a model whose first layer sees its
/// inputs clipped.
fn integer_inputs_fit(path: &Path, cal: &Dataset, normalized: bool) -> Result<(), String> {
    let data::DataInput::Dense { f, x } = &cal.input else {
        return Ok(());
    };
    let Some((k, v)) = x
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
    else {
        return Ok(());
    };
    if v.abs() <= f32::from(i16::MAX) {
        return Ok(());
    }
    let f = (*f).max(1);
    let (seq, rest) = (k / f / cal.t.max(1), k % (f * cal.t.max(1)));
    Err(format!(
        "{}: the calibration inputs reach {v} (sequence {seq}, step {}, feature {}), beyond \
         the ±32767 that an integer model's 16-bit inputs hold{}; scale the inputs on the \
         device before quantizing them and train on the scaled data, or export f16 or i8",
        path.display(),
        rest / f,
        rest % f,
        if normalized {
            " (this model standardizes raw inputs in its first layer, which the integer \
             format cannot do for values this large)"
        } else {
            ""
        }
    ))
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

/// Class names with their labels: `0 walk, 1 run, 2 sit`.
fn numbered(names: &[String]) -> String {
    let list: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    list.join(", ")
}

/// What a trained model's outputs are, in words: how many, what kind, of
/// which CSV target, and after which step they are the prediction.
fn output_meaning(m: &Metadata, o: usize) -> String {
    let target = m
        .train_data
        .as_ref()
        .map(|t| t.target.join(", "))
        .filter(|t| !t.is_empty());
    let of = target.map_or(String::new(), |t| format!(" of {t}"));
    let names = m
        .class_names
        .as_ref()
        .map_or(String::new(), |n| format!(": {}", numbered(n)));
    let what = match m.spec.output_act() {
        HeadAct::Softmax => {
            format!("{o} class probabilities{of} (softmax; the class is the largest){names}")
        }
        HeadAct::Sigmoid => format!(
            "{o} {}{of} (sigmoid)",
            if o == 1 {
                "probability"
            } else {
                "probabilities"
            }
        ),
        HeadAct::Tanh => format!("{o} {}{of} (tanh, in -1..1)", plural(o, "value")),
        HeadAct::Linear => format!("{o} {}{of}", plural(o, "value")),
    };
    let when = if m.spec.many_to_many {
        "a prediction at every step".to_string()
    } else {
        format!(
            "written at every step, trained as the prediction after {} steps",
            m.seq_len
        )
    };
    format!("{what}; {when}")
}

/// `tinyrnn inspect`.
pub fn inspect(model_path: &Path, json: bool) -> Result<(), String> {
    let buf = read_model(model_path)?;
    let model = Model::from_bytes(&buf)
        .map_err(|e| format!("{}: not a valid model file: {e}", model_path.display()))?;
    let meta = export::read_metadata(&model).ok();
    let ram = model.state_len() * 4;
    let fw = Firmware::of(&model);
    if json {
        let layers: Vec<_> = model
            .layers()
            .iter()
            .map(|l| serde_json::json!({"kind": l.kind_name(), "format": layer_format(l), "input": l.input_size(), "output": l.output_size(), "params": l.param_count(), "macs_per_step": l.macs_per_step()}))
            .collect();
        println!(
            "{}",
            serde_json::json!({"model": model_path.display().to_string(), "layers": layers, "params": model.param_count(), "bytes": buf.len(),
                "ram_bytes": ram, "recurrent_state_bytes": model.recurrent_state_len() * 4, "macs_per_step": model.macs_per_step(),
                "firmware": {"layers": fw.layers, "state_words": fw.state_words, "int_words": fw.int_words, "cargo_features": fw.features},
                "sized_type": sized_type(&model),
                "trained": meta.as_ref().map(|m| serde_json::json!({
                    "epochs": m.epochs, "loss": format!("{:?}", m.loss), "steps_per_sequence": m.seq_len,
                    "metric": m.loss.metric_name(), "val_metric": m.val_metric,
                    "vocabulary": m.vocab.as_ref().map(|v| v.iter().collect::<String>()),
                    "features": m.features, "train_data": m.train_data, "input_norm": m.input_norm,
                    "class_names": m.class_names,
                    "output": output_meaning(m, model.output_size())}))})
        );
        return Ok(());
    }
    println!("{}", model_path.display());
    println!(
        "  {:<10} {:<8} {:>7} {:>7} {:>10} {:>12}",
        "layer", "format", "input", "output", "params", "MACs/step"
    );
    for l in model.layers() {
        println!(
            "  {:<10} {:<8} {:>7} {:>7} {:>10} {:>12}",
            l.kind_name(),
            layer_format(l),
            l.input_size(),
            l.output_size(),
            l.param_count(),
            l.macs_per_step()
        );
    }
    println!("  parameters:      {}", model.param_count());
    println!("  model bytes:     {}", buf.len());
    println!(
        "  RAM per stream:  {} bytes (state {} + scratch {}, 4-byte words)",
        ram,
        model.recurrent_state_len() * 4,
        ram - model.recurrent_state_len() * 4
    );
    println!("  MACs per step:   {}", model.macs_per_step());
    let names = meta.as_ref().and_then(|m| m.features.as_ref());
    println!(
        "  input:           {}",
        if model.is_token_input() {
            "token index".to_string()
        } else if let Some(n) = names.filter(|n| n.len() == model.input_size()) {
            format!("{} floats per step: {}", model.input_size(), n.join(", "))
        } else {
            format!("{} floats per step", model.input_size())
        }
    );
    if let Some(m) = &meta {
        println!(
            "  output:          {}",
            output_meaning(m, model.output_size())
        );
    }
    if let Some(m) = meta {
        println!(
            "  trained:         {} epochs, loss {:?}, {} steps per sequence{}",
            m.epochs,
            m.loss,
            m.seq_len,
            m.val_metric.map_or(String::new(), |v| format!(
                ", validation {} {v:.4}",
                m.loss.metric_name()
            ))
        );
        if let Some(v) = m.vocab {
            println!("  vocabulary:      {} characters", v.len());
        }
        if let Some(n) = m.input_norm {
            let list = |v: &[f32]| {
                let s: Vec<String> = v.iter().map(|x| format!("{x:.4}")).collect();
                s.join(", ")
            };
            println!(
                "  normalization:   the first layer (dense) computes (x - mean) / std; feed raw values (mean [{}], std [{}])",
                list(&n.mean),
                list(&n.std)
            );
        }
    }
    let file = model_path
        .file_name()
        .map_or_else(|| "model.trnn".into(), |f| f.to_string_lossy());
    println!("  in firmware (the model loaded while compiling; see firmware-example/README.md):");
    println!(
        "    tinyrnn = {{ version = \"0.1\", default-features = false, features = {:?} }}",
        fw.features
    );
    println!(
        "    static MODEL: tinyrnn::Model<'static, {}> = tinyrnn::static_model!({file:?});",
        fw.layers
    );
    println!(
        "    let mut state = tinyrnn::State::<{}>::new(&MODEL)?;",
        fw.state_words
    );
    if let Some(w) = fw.int_words {
        println!(
            "    // or without float: tinyrnn::quant::IntModel::new(&MODEL) and [i32; {w}] words"
        );
    }
    if let Some(t) = sized_type(&model) {
        let mut names: Vec<&str> = ["Dense", "Elman", "Gru", "Lstm"]
            .into_iter()
            .filter(|n| t.contains(&format!("{n}<")))
            .collect();
        names.push("Model as Sized");
        println!("  on a host, sized while compiling (tinyrnn::sized; see core/README.md):");
        println!("    use tinyrnn::sized::{{{}}};", names.join(", "));
        println!("    let net = Sized::<{t}>::new(&model)?;");
        if model
            .layers()
            .iter()
            .any(|l| l.is_recurrent() && l.layout() != tinyrnn::Layout::ColMajor8)
        {
            println!(
                "    // first lay it out for a host: tinyrnn export --model {} --layout host --out HOST.trnn",
                model_path.display()
            );
        }
        println!(
            "    // build it with RUSTFLAGS=\"-C target-cpu=native\" (AVX2; 16 lanes where the CPU has AVX-512)"
        );
    }
    Ok(())
}

/// The error for a model file with a quantized layer, naming the first one
/// ("layer 0 (lstm) `is` i8") and ending with `what` to do.
fn f32_only(path: &Path, model: &Model<'_>, is: &str, what: &str) -> Result<(), String> {
    match model
        .layers()
        .iter()
        .enumerate()
        .find(|(_, l)| matches!(l, Layer::Quant(_)))
    {
        Some((i, l)) => Err(format!(
            "{}: layer {i} ({}) {is} {}; {what}",
            path.display(),
            l.kind_name(),
            layer_format(l)
        )),
        None => Ok(()),
    }
}

/// `tinyrnn export --model --layout`: the same f32 model with its recurrent
/// layers in `layout` (`host` or `device`), checked by stepping both files.
pub fn export_layout(path: &Path, layout: &str, out: &Path, json: bool) -> Result<(), String> {
    let to = match layout {
        "host" | "colmajor8" => tinyrnn::Layout::ColMajor8,
        "device" | "rowmajor" => tinyrnn::Layout::RowMajor,
        l => return Err(format!("--layout {l}: use host or device")),
    };
    let buf = read_model(path)?;
    let model = Model::from_bytes(&buf)
        .map_err(|e| format!("{}: not a valid model file: {e}", path.display()))?;
    f32_only(
        path,
        &model,
        "is",
        "--layout applies to f32 model files (quantized layers keep their own layout)",
    )?;
    let bytes = ModelBuilder::from_model(&model)
        .layout(to)
        .build()
        .map_err(|e| format!("{}: cannot be encoded again: {e}", path.display()))?;
    let new_buf = export::load(&bytes);
    let new =
        Model::from_bytes(&new_buf).map_err(|e| format!("re-encoded model does not load: {e}"))?;
    // Both step the same inputs: 4 sequences of 64 steps.
    let mut worst = 0.0f32;
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..4 {
        let (mut s1, mut s2) = (tinyrnn::StateVec::new(&model), tinyrnn::StateVec::new(&new));
        let (mut y1, mut y2) = (
            vec![0.0f32; model.output_size()],
            vec![0.0f32; new.output_size()],
        );
        for _ in 0..64 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            if model.is_token_input() {
                let t = (rng % model.input_size() as u64) as usize;
                model
                    .step_token(&mut s1, t, &mut y1)
                    .map_err(|e| e.to_string())?;
                new.step_token(&mut s2, t, &mut y2)
                    .map_err(|e| e.to_string())?;
            } else {
                let x: Vec<f32> = (0..model.input_size())
                    .map(|k| ((rng >> (k % 48)) & 0xffff) as f32 / 32768.0 - 1.0)
                    .collect();
                model
                    .step(&mut s1, &x, &mut y1)
                    .map_err(|e| e.to_string())?;
                new.step(&mut s2, &x, &mut y2).map_err(|e| e.to_string())?;
            }
            for (a, b) in y1.iter().zip(&y2) {
                let d = if a.is_nan() || b.is_nan() {
                    if a.is_nan() && b.is_nan() {
                        0.0
                    } else {
                        f32::INFINITY
                    }
                } else {
                    (a - b).abs()
                };
                worst = worst.max(d);
            }
        }
    }
    if worst > 1e-5 {
        return Err(format!(
            "the re-encoded model's outputs differ from {}'s by {worst:e} (more than float rounding); not written",
            path.display()
        ));
    }
    checkpoint::write_atomic(out, &bytes).map_err(|e| format!("{}: {e}", out.display()))?;
    if json {
        println!(
            "{}",
            serde_json::json!({"model": out.display().to_string(), "layout": layout, "bytes": bytes.len(), "from_bytes": buf.len(), "max_output_difference": worst})
        );
    } else {
        println!(
            "{} -> {}: recurrent layers {} ({} bytes, was {}); outputs agree within {worst:.1e} over 4 x 64 steps",
            path.display(),
            out.display(),
            if to == tinyrnn::Layout::ColMajor8 {
                "column-major (host: SIMD kernels, tinyrnn::sized)"
            } else {
                "row-major (device)"
            },
            bytes.len(),
            buf.len()
        );
    }
    Ok(())
}

/// The `tinyrnn::sized` type of `model` (`(Lstm<1, 32>, Dense<32, 1>)`,
/// names from `tinyrnn::sized`),
/// if it has one: f32 layers, no Embedding, GRUs with the reset gate after
/// the product. Tuples hold up to four stages, so longer stacks nest.
fn sized_type(model: &Model<'_>) -> Option<String> {
    let types = model
        .layers()
        .iter()
        .map(|l| {
            let name = match l {
                Layer::Lstm(_) => "Lstm",
                Layer::Gru(g) if g.variant == tinyrnn::GruVariant::ResetAfter => "Gru",
                Layer::Elman(_) => "Elman",
                Layer::Dense(_) => "Dense",
                _ => return None,
            };
            Some(format!("{name}<{}, {}>", l.input_size(), l.output_size()))
        })
        .collect::<Option<Vec<_>>>()?;
    fn nest(t: &[String]) -> String {
        match t {
            [one] => one.clone(),
            _ if t.len() <= 4 => format!("({})", t.join(", ")),
            _ => format!("({}, {})", t[..3].join(", "), nest(&t[3..])),
        }
    }
    (!types.is_empty()).then(|| nest(&types))
}

/// What firmware declares for a model: its `Model` capacity, `State` size,
/// `IntModel` words (integer models) and the runtime's cargo features.
struct Firmware {
    layers: usize,
    state_words: usize,
    int_words: Option<usize>,
    features: Vec<&'static str>,
}

impl Firmware {
    fn of(model: &Model<'_>) -> Self {
        let mut features: Vec<&'static str> = Vec::new();
        for l in model.layers() {
            // The cell's feature is its kind name (Embedding and Dense
            // need none).
            let cell = l.is_recurrent().then(|| l.kind_name());
            for f in cell.into_iter().chain([layer_format(l)]) {
                if !features.contains(&f) {
                    features.push(f);
                }
            }
        }
        Firmware {
            layers: model.layers().len(),
            state_words: model.state_len(),
            int_words: tinyrnn::quant::IntModel::new(model)
                .ok()
                .map(|m| m.state_len()),
            features,
        }
    }
}

/// The demo's recurrent layer (two of them).
const DEMO_LAYER: LayerSpec = LayerSpec {
    kind: tinyrnn_trainer::cell::CellKind::Gru(tinyrnn_trainer::cell::GruVariant::ResetAfter),
    hidden: 32,
};

/// Words of the fixed-size, heap-free state the demo streams with.
const DEMO_STATE_WORDS: usize = 4096;

/// `tinyrnn demo`.
pub fn demo(dir: &Path, threads: usize, epochs: usize) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    let (n, t, f) = (4096, 50, 8);
    println!("tinyrnn demo");
    println!("1. data: freq10, {n} sequences x {t} steps x {f} features; a noisy sine in feature 0 whose");
    println!("   frequency (10 choices) is the class, noise in the others. Last 20% held out.");
    let all = data::freq10::generate(n, t, f, 7);
    // Saved, so that `eval`/`export` can use the same data and the model
    // records where its training inputs are (integer calibration).
    let (data::DataInput::Dense { x: all_x, .. }, DataTargets::Classes { y: all_y, .. }) =
        (&all.input, &all.targets)
    else {
        unreachable!("freq10 is dense with classes")
    };
    let (x_path, y_path) = (dir.join("X.npy"), dir.join("y.npy"));
    data::npy::write_f32(&x_path, &[n, t, f], all_x)
        .map_err(|e| format!("{}: {e}", x_path.display()))?;
    let labels: Vec<i64> = all_y.iter().map(|v| i64::from(*v)).collect();
    data::npy::write_i64(&y_path, &[n], &labels)
        .map_err(|e| format!("{}: {e}", y_path.display()))?;
    let (train, val) = all.split_tail(0.2);
    let recorded = DataArgs {
        x: Some(x_path.clone()),
        ..DataArgs::default()
    };
    let train_data = crate::train_data_source(&recorded, train.n)?;
    let spec = ModelSpec {
        input: InputSpec::Features { size: f },
        layers: vec![DEMO_LAYER; 2],
        head: Some(HeadSpec {
            out: 10,
            act: HeadAct::Softmax,
        }),
        many_to_many: false,
        dropout: 0.0,
    };
    println!("2. model: GRU(32) -> GRU(32) -> Dense(10, softmax), {} parameters; Adam 1e-3, gradient norm clipped at 5, batch 32, {epochs} epochs, {threads} threads", spec.layout().total);
    let out = dir.join("model.trnn");
    let job = TrainJob {
        spec,
        cfg: TrainConfig {
            epochs,
            batch_size: 32,
            seed: 0,
            init: InitScheme::default(),
            threads,
            optim: OptimConfig::default(),
            loss: LossKind::CrossEntropy,
            tbptt: None,
            patience: None,
            class_weight: None,
        },
        train,
        val: Some(val.clone()),
        out: out.clone(),
        log: Some(dir.join("train.log.csv")),
        plot: Some(dir.join("train.png")),
        checkpoint: dir.join("model.ckpt"),
        resume: false,
        vocab: None,
        features: None,
        train_data,
        progress: true,
        normalize: false,
        class_names: None,
    };
    let s = session::run(job)?;
    println!(
        "3. trained: validation accuracy {:.3} (trainer), {:.3} (runtime step on the exported file); {:.2} s/epoch",
        s.val_metric.unwrap_or(f64::NAN),
        s.runtime_val_metric.unwrap_or(f64::NAN),
        s.sec_per_epoch
    );
    // 4. stream one held-out sequence through the runtime, one step at a time
    let buf = read_model(&out)?;
    let (model, _) = open(&out, &buf)?;
    let mut state =
        State::<DEMO_STATE_WORDS>::new(&model).map_err(|e| format!("runtime state: {e}"))?;
    let (data::DataInput::Dense { x, .. }, DataTargets::Classes { y, .. }) =
        (&val.input, &val.targets)
    else {
        unreachable!("freq10 is dense with classes")
    };
    let seq = 0;
    let mut probs = vec![0.0f32; model.output_size()];
    println!(
        "4. streaming held-out sequence #{seq} (true class {}) through tinyrnn::Model::step, {} bytes of state, no heap:",
        y[seq],
        model.state_len() * 4
    );
    for step in 0..t {
        let xt = &x[(seq * t + step) * f..(seq * t + step + 1) * f];
        model
            .step(&mut state, xt, &mut probs)
            .map_err(|e| format!("step: {e}"))?;
        if (step + 1) % 10 == 0 {
            let k = argmax(&probs);
            println!(
                "   step {:>2}: x[0] = {:+.3}  ->  class {k} (p = {:.3})",
                step + 1,
                xt[0],
                probs[k]
            );
        }
    }
    let k = argmax(&probs);
    println!(
        "   final: class {k}, true class {} ({})",
        y[seq],
        if k as u32 == y[seq] {
            "correct"
        } else {
            "wrong"
        }
    );
    println!("5. files in {}:", dir.display());
    for (name, what) in [
        (
            "model.trnn",
            "model file for the runtime (static_model! on a device)",
        ),
        (
            "model.ckpt",
            "training checkpoint (tinyrnn export / train --resume)",
        ),
        ("train.log.csv", "per-epoch loss and accuracy"),
        (
            "X.npy, y.npy",
            "the dataset (the last 20% held out), for tinyrnn eval / export",
        ),
        (
            "train.png",
            "curves: loss left, accuracy right; blue train, orange validation",
        ),
    ] {
        println!("   {:<14} {what}", name);
    }
    println!(
        "6. on a device: {} parameters, {} bytes of model, {} bytes of RAM per stream, {} multiply-adds per step",
        model.param_count(),
        buf.len(),
        model.state_len() * 4,
        model.macs_per_step()
    );
    println!("   next: tinyrnn inspect --model {}", out.display());
    println!(
        "         tinyrnn export --model {} --format integer --out {}",
        out.display(),
        dir.join("model.integer.trnn").display()
    );
    Ok(())
}

/// What `tinyrnn export --model` quantizes and how it reports.
pub struct QuantJob<'a> {
    /// f32 model file.
    pub model: &'a Path,
    /// "f16", "i8" or "integer".
    pub format: &'a str,
    /// Calibration inputs (.npy, N x T x F).
    pub calibration: Option<&'a Path>,
    /// Sequences of the calibration file used.
    pub calibration_samples: usize,
    /// Evaluation data (may be empty).
    pub data: &'a DataArgs,
    /// Quantized model file to write.
    pub out: &'a Path,
    /// One JSON line.
    pub json: bool,
}

fn format_name(f: NumFormat) -> &'static str {
    match f {
        NumFormat::F32 => "f32",
        NumFormat::F16 => "f16",
        NumFormat::I8 => "i8",
        NumFormat::Integer => "integer",
        _ => "other",
    }
}

fn layer_format(l: &Layer<'_>) -> &'static str {
    match l {
        Layer::Quant(q) => format_name(q.format()),
        _ => "f32",
    }
}

/// What calibration inputs of `model` must look like.
fn calibration_shape(model: &Model<'_>) -> String {
    if model.is_token_input() {
        format!(
            "expected calibration token ids of shape N x T (integers below the vocabulary size {})",
            model.input_size()
        )
    } else {
        format!(
            "expected calibration inputs of shape N x T x {} float32 (the model's input size)",
            model.input_size()
        )
    }
}

/// The first `samples` sequences of `ds` (read from `path`) as calibration
/// inputs of `model`: vectors whose width is the model's input size, or
/// token ids below its vocabulary size.
fn calibration_subset(
    path: &Path,
    ds: Dataset,
    model: &Model<'_>,
    samples: usize,
) -> Result<Dataset, String> {
    let expected = calibration_shape(model);
    let fits = match &ds.input {
        data::DataInput::Dense { f, .. } => !model.is_token_input() && *f == model.input_size(),
        data::DataInput::Tokens { x, .. } if model.is_token_input() => {
            if let Some(i) = x.iter().position(|t| *t as usize >= model.input_size()) {
                return Err(format!(
                    "{}: token id {} at index {i} is beyond the vocabulary; {expected}",
                    path.display(),
                    x[i]
                ));
            }
            true
        }
        data::DataInput::Tokens { .. } => false,
    };
    if !fits {
        let kind = match &ds.input {
            data::DataInput::Dense { f, .. } => format!("{} x {} x {f} float32", ds.n, ds.t),
            data::DataInput::Tokens { .. } => format!("{} x {} token ids", ds.n, ds.t),
        };
        return Err(format!("{}: {kind}; {expected}", path.display()));
    }
    let n = ds.n.min(samples.max(1));
    if n == 0 || ds.t == 0 {
        return Err(format!("{}: no sequences; {expected}", path.display()));
    }
    Ok(ds.subset(&(0..n).collect::<Vec<_>>()))
}

/// Reads calibration inputs from an .npy file: the first `samples` sequences.
fn read_calibration(path: &Path, model: &Model<'_>, samples: usize) -> Result<Dataset, String> {
    let expected = calibration_shape(model);
    let ds = Dataset::from_npy(path, None, None).map_err(|e| format!("{e}; {expected}"))?;
    calibration_subset(path, ds, model, samples)
}

/// The default calibration inputs: the first `samples` training sequences
/// of the data the model was trained on, as its metadata records them.
fn recorded_calibration(
    model_path: &Path,
    model: &Model<'_>,
    meta: &Metadata,
    samples: usize,
    load: Loader,
) -> Result<(PathBuf, Dataset), String> {
    let Some(src) = &meta.train_data else {
        return Err(format!(
            "--format integer needs calibration inputs to choose the fixed-point ranges, and {} does not record its training data (a file written with ModelBuilder, or by an older version): give --calibration FILE.npy, a sample of the training inputs; {}",
            model_path.display(),
            calibration_shape(model)
        ));
    };
    let mut args = crate::data_args_of(src);
    args.classes = args.csv.is_some() && meta.loss == LossKind::CrossEntropy;
    let (ds, _, _) = load(&args, meta.spec.many_to_many, meta.vocab.as_deref())
        .map_err(|e| {
            format!(
                "{}: cannot read the training inputs recorded in {} for calibration ({e}); give --calibration FILE.npy instead",
                src.path.display(),
                model_path.display()
            )
        })?;
    let n = samples.min(src.train_sequences.max(1));
    Ok((
        src.path.clone(),
        calibration_subset(&src.path, ds, model, n)?,
    ))
}

/// `tinyrnn export --model`: post-training quantization with a report.
pub fn export_quantized(job: &QuantJob<'_>, load: Loader) -> Result<(), String> {
    let fmt = match job.format {
        "f16" => NumFormat::F16,
        "i8" => NumFormat::I8,
        "integer" => NumFormat::Integer,
        f => return Err(format!("--format {f}: use f16, i8 or integer")),
    };
    let path = job.model;
    let buf = read_model(path)?;
    let (model, meta) = open(path, &buf)?;
    f32_only(path, &model, "is already", "quantize the f32 model file")?;
    let has_data = job.data.x.is_some() || job.data.csv.is_some() || job.data.text.is_some();
    let eval = if has_data {
        Some(load_for_model(job.data, &meta, load)?)
    } else {
        None
    };
    let calibration = match (job.calibration, fmt) {
        (Some(c), _) => Some((
            c.to_path_buf(),
            read_calibration(c, &model, job.calibration_samples)?,
        )),
        (None, NumFormat::Integer) => {
            let (p, ds) = recorded_calibration(path, &model, &meta, job.calibration_samples, load)?;
            if !job.json {
                println!(
                    "calibrating on the first {} training sequences of {} (recorded in the model)",
                    ds.n,
                    p.display()
                );
            }
            Some((p, ds))
        }
        (None, _) => None,
    };
    if let (NumFormat::Integer, Some((p, cal))) = (fmt, &calibration) {
        integer_inputs_fit(p, cal, meta.input_norm.is_some())?;
    }
    let mut b = ModelBuilder::from_model(&model);
    b.quantize(fmt);
    // A `--normalize` model's first layer is its input standardization. In
    // f16 its bias (`-mean / std`, hundreds for inputs far from zero) would
    // be rounded by up to 1/8 of a standard deviation, so it stays f32 (in
    // i8 it would come out the same: one weight per row, f32 biases).
    if meta.input_norm.is_some() && fmt != NumFormat::Integer {
        b.keep_f32(0);
    }
    if let Some((_, cal)) = &calibration {
        match &cal.input {
            data::DataInput::Dense { x, .. } => b.calibration(&x[..]),
            data::DataInput::Tokens { x, .. } => {
                b.calibration_tokens(&x.iter().map(|t| *t as usize).collect::<Vec<_>>())
            }
        };
    }
    let bytes = b.build().map_err(|e| match e {
        tinyrnn::Error::Quantization { layer } => {
            let kind = model.layers().get(layer).map_or("?", |l| l.kind_name());
            let cal = calibration
                .as_ref()
                .map_or(String::new(), |(c, _)| format!(
                    " or the ranges the calibration inputs {} give it",
                    c.display()
                ));
            format!(
                "{}: layer {layer} ({kind}) cannot be quantized to {}: its weights{cal} hold values the format cannot represent ({}); expected finite weights and calibration data of a sane range",
                path.display(),
                job.format,
                if fmt == NumFormat::F16 {
                    "NaN, inf, or beyond f16's +-65504"
                } else {
                    "NaN, inf, or an outlier that would round most of its row to 0 in int8"
                }
            )
        }
        e => format!("{}: quantizing to {}: {e}", path.display(), job.format),
    })?;
    let qbuf = export::load(&bytes);
    let qmodel =
        Model::from_bytes(&qbuf).map_err(|e| format!("quantized model does not load: {e}"))?;
    // Both models through the runtime's step.
    let (set, ds) = match (&eval, &calibration) {
        (Some(ds), _) => ("evaluation data", Some(ds.clone())),
        (None, Some((_, cal))) => {
            let mut ds = cal.clone();
            ds.per_step = meta.spec.many_to_many;
            ("calibration inputs", Some(ds))
        }
        // f16 and i8 need no calibration; measure on the recorded training
        // inputs if they can still be read.
        (None, None) => {
            match recorded_calibration(path, &model, &meta, job.calibration_samples, load) {
                Ok((_, mut ds)) => {
                    ds.per_step = meta.spec.many_to_many;
                    ("first training sequences", Some(ds))
                }
                Err(_) => ("none", None),
            }
        }
    };
    let mut report = serde_json::json!({
        "model": path.display().to_string(), "out": job.out.display().to_string(),
        "format": job.format, "f32_bytes": buf.len(), "bytes": bytes.len(),
        "measured_on": set, "computed_by": "tinyrnn runtime step",
    });
    let metric = meta.loss.metric_name();
    if let Some(ds) = &ds {
        let label = match (&eval, &calibration, &meta.train_data) {
            (Some(_), _, _) => data_label(job.data),
            (None, Some((p, _)), _) | (None, None, Some(crate::TrainData { path: p, .. })) => {
                p.display().to_string()
            }
            (None, None, None) => "the measuring data".into(),
        };
        let on = |e: export::ExportError| format!("{label}: {e}");
        let (y32, s32) = export::run_runtime(&model, &meta, ds).map_err(on)?;
        let (yq, sq) = export::run_runtime(&qmodel, &meta, ds).map_err(on)?;
        let dev = y32
            .iter()
            .zip(&yq)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        report["sequences"] = ds.n.into();
        report["max_deviation"] = (dev as f64).into();
        if let (Some(a), Some(b)) = (s32, sq) {
            report["metric"] = metric.into();
            report["f32_metric"] = a.metric.into();
            report["metric_q"] = b.metric.into();
            report["f32_loss"] = a.loss.into();
            report["loss_q"] = b.loss.into();
            if meta.loss == LossKind::Mse {
                report["f32_rmse"] = a.loss.sqrt().into();
                report["rmse_q"] = b.loss.sqrt().into();
            }
        }
    }
    checkpoint::write_atomic(job.out, &bytes).map_err(|e| format!("{}: {e}", job.out.display()))?;
    if job.json {
        println!("{report}");
        return Ok(());
    }
    println!(
        "wrote {} ({}, {} bytes; f32 {} bytes, {:.1}%)",
        job.out.display(),
        job.format,
        bytes.len(),
        buf.len(),
        100.0 * bytes.len() as f64 / buf.len() as f64
    );
    if let Some(d) = report["max_deviation"].as_f64() {
        println!(
            "  max output deviation from f32: {d:.3e} on {} sequences of the {set} (runtime step)",
            report["sequences"]
        );
    }
    if let (Some(a), Some(b)) = (report["f32_metric"].as_f64(), report["metric_q"].as_f64()) {
        println!(
            "  {metric} on the {set}: f32 {a:.4}, {} {b:.4} (change {:+.4})",
            job.format,
            b - a
        );
    }
    if let (Some(a), Some(b)) = (report["f32_rmse"].as_f64(), report["rmse_q"].as_f64()) {
        println!(
            "  rmse on the {set}: f32 {a:.4}, {} {b:.4} ({:+.2}%)",
            job.format,
            100.0 * (b - a) / a
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tinyrnn_trainer::cell::CellKind;
    use tinyrnn_trainer::data::TrainData;

    fn meta(target: &[&str], act: HeadAct, class_names: Option<&[&str]>) -> Metadata {
        let out = class_names.map_or(target.len(), <[&str]>::len);
        Metadata {
            producer: "tinyrnn-trainer".into(),
            spec: ModelSpec {
                input: InputSpec::Features { size: 1 },
                layers: vec![LayerSpec {
                    kind: CellKind::Lstm,
                    hidden: 2,
                }],
                head: Some(HeadSpec { out, act }),
                many_to_many: false,
                dropout: 0.0,
            },
            loss: LossKind::Mse,
            vocab: None,
            features: None,
            seq_len: 4,
            val_metric: None,
            epochs: 1,
            train_data: Some(TrainData {
                kind: "csv".into(),
                path: PathBuf::from("/data/x.csv"),
                target: target.iter().map(|s| s.to_string()).collect(),
                window: 4,
                stride: 1,
                horizon: 0,
                mask_value: None,
                train_sequences: 1,
            }),
            input_norm: None,
            class_names: class_names.map(|n| n.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn predictions_csv_quotes_every_name_that_needs_it() {
        // Output names from CSV target columns, one holding a quote and a comma.
        let m = meta(&["temp", "say \"hi\", ok"], HeadAct::Linear, None);
        let text = predictions_csv(&m, &[1.0, 2.0], &[1, 2]);
        assert_eq!(text, "sequence,temp,\"say \"\"hi\"\", ok\"\n0,1,2\n");
        // Class names, in the header and in the class_name column, once each.
        let m = meta(&["label"], HeadAct::Softmax, Some(&["a,b", "c"]));
        let text = predictions_csv(&m, &[0.75, 0.25], &[1, 2]);
        assert_eq!(
            text,
            "sequence,\"a,b\",c,class,class_name\n0,0.75,0.25,0,\"a,b\"\n"
        );
    }
}
