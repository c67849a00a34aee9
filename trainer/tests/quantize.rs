//! `tinyrnn export --model --format`: post-training quantization end to end
//! (train a tiny model, quantize to every format, evaluate with the runtime).

mod common;
use common::Scratch;

use std::path::{Path, PathBuf};
use std::process::Command;

use tinyrnn_trainer::data::{freq10, npy, DataInput, DataTargets};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tinyrnn"))
}

fn tmp(name: &str) -> Scratch {
    Scratch::new("quant", name)
}

/// `tinyrnn export --model MODEL --format FORMAT`, to be completed by the caller.
fn export(model: &Path, format: &str) -> Command {
    let mut c = bin();
    c.args(["export", "--model"])
        .arg(model)
        .args(["--format", format]);
    c
}

/// `tinyrnn inspect` names `format` for every layer of `model`.
fn assert_every_layer_is(model: &Path, format: &str) {
    let i: serde_json::Value = serde_json::from_str(
        run_ok(bin().args(["inspect", "--json", "--model"]).arg(model)).trim(),
    )
    .unwrap();
    for l in i["layers"].as_array().unwrap() {
        assert_eq!(l["format"], format, "{i}");
    }
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn run_ok(cmd: &mut Command) -> String {
    let (ok, out, err) = run(cmd);
    assert!(ok, "command failed: {out}\n{err}");
    out
}

fn run_err(cmd: &mut Command) -> String {
    let (ok, out, err) = run(cmd);
    assert!(!ok, "expected failure, got {out}");
    err
}

/// Trains LSTM(8) -> GRU(8) -> Elman(8) -> Dense(10) for 2 epochs on a small freq10.
fn trained(d: &Path) -> PathBuf {
    let (n, t, f) = (400, 20, 4);
    let ds = freq10::generate(n, t, f, 5);
    let (DataInput::Dense { x, .. }, DataTargets::Classes { y, .. }) = (&ds.input, &ds.targets)
    else {
        unreachable!()
    };
    npy::write_f32(&d.join("X.npy"), &[n, t, f], x).unwrap();
    let y: Vec<i64> = y.iter().map(|&v| v as i64).collect();
    npy::write_i64(&d.join("y.npy"), &[n], &y).unwrap();
    let model = d.join("model.trnn");
    run_ok(
        bin()
            .args(["train", "--x"])
            .arg(d.join("X.npy"))
            .arg("--y")
            .arg(d.join("y.npy"))
            .args([
                "--layers",
                "lstm:8,gru:8,elman:8",
                "--head",
                "dense:10:softmax",
            ])
            .args([
                "--epochs",
                "2",
                "--threads",
                "1",
                "--lr",
                "0.01",
                "--quiet",
                "--out",
            ])
            .arg(&model),
    );
    model
}

fn quantize(d: &Path, model: &Path, format: &str) -> serde_json::Value {
    let out = d.join(format!("{format}.trnn"));
    let line = run_ok(
        export(model, format)
            .args(["--calibration"])
            .arg(d.join("X.npy"))
            .arg("--x")
            .arg(d.join("X.npy"))
            .arg("--y")
            .arg(d.join("y.npy"))
            .arg("--out")
            .arg(&out)
            .arg("--json"),
    );
    serde_json::from_str(line.trim()).unwrap()
}

#[test]
fn every_format_stays_close_to_f32() {
    let d = tmp("formats");
    let model = trained(&d);
    // (format, max accuracy loss in points on 400 sequences, max output deviation)
    for (format, points, dev) in [
        ("f16", 0.5, 0.01),
        ("i8", 2.0, 0.08),
        ("integer", 3.0, 0.15),
    ] {
        let r = quantize(&d, &model, format);
        let (a, b) = (
            r["f32_metric"].as_f64().unwrap(),
            r["metric_q"].as_f64().unwrap(),
        );
        assert!(
            (a - b) * 100.0 <= points,
            "{format}: accuracy {b} vs f32 {a}: {r}"
        );
        let m = r["max_deviation"].as_f64().unwrap();
        assert!(m <= dev, "{format}: max deviation {m}: {r}");
        assert!(
            r["bytes"].as_u64().unwrap() < r["f32_bytes"].as_u64().unwrap(),
            "{r}"
        );
        // eval runs the quantized file and agrees with the export report
        let out = d.join(format!("{format}.trnn"));
        let e: serde_json::Value = serde_json::from_str(
            run_ok(
                bin()
                    .args(["eval", "--model"])
                    .arg(&out)
                    .arg("--x")
                    .arg(d.join("X.npy"))
                    .arg("--y")
                    .arg(d.join("y.npy"))
                    .arg("--json"),
            )
            .trim(),
        )
        .unwrap();
        assert_eq!(e["accuracy"].as_f64(), Some(b), "{e}");
        assert_every_layer_is(&out, format);
    }
}

#[test]
fn bad_quantization_input_is_named() {
    let d = tmp("bad");
    let model = trained(&d);
    let q = d.join("q.trnn");
    // integer without calibration, when the recorded training inputs are gone
    std::fs::rename(d.join("X.npy"), d.join("X.moved.npy")).unwrap();
    let e = run_err(export(&model, "integer").args(["--out"]).arg(&q));
    assert!(
        e.contains("X.npy") && e.contains("recorded") && e.contains("--calibration"),
        "{e}"
    );
    std::fs::rename(d.join("X.moved.npy"), d.join("X.npy")).unwrap();
    // wrong feature count
    npy::write_f32(&d.join("wide.npy"), &[3, 5, 7], &[0.5; 105]).unwrap();
    let e = run_err(
        export(&model, "integer")
            .args(["--calibration"])
            .arg(d.join("wide.npy"))
            .arg("--out")
            .arg(&q),
    );
    assert!(e.contains("wide.npy") && e.contains("N x T x 4"), "{e}");
    // NaN in the calibration data
    let mut x = vec![0.5f32; 3 * 5 * 4];
    x[17] = f32::NAN;
    npy::write_f32(&d.join("nan.npy"), &[3, 5, 4], &x).unwrap();
    let e = run_err(
        export(&model, "integer")
            .args(["--calibration"])
            .arg(d.join("nan.npy"))
            .arg("--out")
            .arg(&q),
    );
    assert!(e.contains("nan.npy") && e.contains("finite"), "{e}");
    assert!(!q.exists(), "no file written on error");
    // a quantized model cannot be quantized again
    quantize(&d, &model, "i8");
    let e = run_err(
        bin()
            .args(["export", "--model"])
            .arg(d.join("i8.trnn"))
            .args(["--format", "f16", "--out"])
            .arg(&q),
    );
    assert!(e.contains("already i8"), "{e}");
}

#[test]
fn outlier_weights_are_refused_with_their_layer() {
    use tinyrnn_trainer::cell::CellKind;
    use tinyrnn_trainer::export::{encode, Metadata};
    use tinyrnn_trainer::loss::{HeadAct, LossKind};
    use tinyrnn_trainer::model::{HeadSpec, InputSpec, LayerSpec, ModelSpec, Net};
    let d = tmp("outlier");
    let spec = ModelSpec {
        input: InputSpec::Features { size: 4 },
        layers: vec![LayerSpec {
            kind: CellKind::Lstm,
            hidden: 8,
        }],
        head: Some(HeadSpec {
            out: 3,
            act: HeadAct::Softmax,
        }),
        many_to_many: false,
        dropout: 0.0,
    };
    let n = spec.layout().total;
    // Small weights with an outlier every 7th: most of each row rounds to 0 in int8.
    let params: Vec<f32> = (0..n)
        .map(|i| {
            if i % 7 == 0 {
                1e6
            } else {
                0.01 * (i as f32).sin()
            }
        })
        .collect();
    let net = Net::<f32>::from_params(spec.clone(), params).unwrap();
    let meta = Metadata {
        producer: "tinyrnn-trainer".into(),
        spec,
        loss: LossKind::CrossEntropy,
        vocab: None,
        features: None,
        seq_len: 5,
        val_metric: None,
        epochs: 0,
        train_data: None,
        input_norm: None,
        class_names: None,
    };
    let model = d.join("outlier.trnn");
    std::fs::write(&model, encode(&net, &meta).unwrap()).unwrap();
    let q = d.join("q.trnn");
    let e = run_err(export(&model, "i8").args(["--out"]).arg(&q));
    assert!(
        e.contains("outlier.trnn") && e.contains("layer 0 (lstm)"),
        "{e}"
    );
    assert!(!q.exists());
    assert!(e.contains("outlier"), "{e}");
}

#[test]
fn integer_calibrates_on_the_recorded_training_inputs_by_default() {
    let d = tmp("default-cal");
    let model = trained(&d);
    let q = d.join("q.trnn");
    let out = run_ok(export(&model, "integer").args(["--out"]).arg(&q));
    assert!(
        out.contains("calibrating on the first 256 training sequences of") && out.contains("X.npy"),
        "{out}"
    );
    // The same file as with the same sequences given explicitly.
    let explicit = d.join("explicit.trnn");
    run_ok(
        export(&model, "integer")
            .args(["--calibration"])
            .arg(d.join("X.npy"))
            .arg("--out")
            .arg(&explicit),
    );
    assert_eq!(
        std::fs::read(&q).unwrap(),
        std::fs::read(&explicit).unwrap()
    );
}

#[test]
fn text_models_quantize_in_every_format() {
    let d = tmp("text");
    let text: String = (0..60)
        .map(|i| ["the cat sat on the mat. ", "a dog ran to the cat! "][i % 2])
        .collect();
    std::fs::write(d.join("t.txt"), &text).unwrap();
    let model = d.join("char.trnn");
    run_ok(
        bin()
            .args(["train", "--text"])
            .arg(d.join("t.txt"))
            .args(["--window", "12", "--stride", "3", "--layers", "gru:16"])
            .args(["--embedding", "6", "--epochs", "2", "--threads", "1"])
            .args(["--quiet", "--out"])
            .arg(&model),
    );
    for format in ["f16", "i8", "integer"] {
        let out = d.join(format!("{format}.trnn"));
        let r: serde_json::Value = serde_json::from_str(
            run_ok(
                export(&model, format)
                    .args(["--text"])
                    .arg(d.join("t.txt"))
                    .args(["--window", "12", "--stride", "3", "--json", "--out"])
                    .arg(&out),
            )
            .trim(),
        )
        .unwrap();
        let (a, b) = (
            r["f32_metric"].as_f64().unwrap(),
            r["metric_q"].as_f64().unwrap(),
        );
        assert!((a - b).abs() <= 0.05, "{format}: {r}");
        assert!(r["max_deviation"].as_f64().unwrap() < 0.1, "{format}: {r}");
        assert_every_layer_is(&out, format);
    }
}

#[test]
fn the_demo_model_quantizes_without_arguments() {
    let d = tmp("demo");
    let out = run_ok(
        bin()
            .args(["demo", "--epochs", "1", "--threads", "1", "--out-dir"])
            .arg(&d),
    );
    assert!(
        out.contains("X.npy, y.npy") && out.contains("--format integer"),
        "{out}"
    );
    let model = d.join("model.trnn");
    let q = d.join("model.integer.trnn");
    let out = run_ok(export(&model, "integer").arg("--out").arg(&q));
    assert!(
        out.contains("calibrating on the first 256 training sequences of") && out.contains("X.npy"),
        "{out}"
    );
    let e: serde_json::Value = serde_json::from_str(
        run_ok(
            bin()
                .args(["eval", "--json", "--model"])
                .arg(&q)
                .arg("--x")
                .arg(d.join("X.npy"))
                .arg("--y")
                .arg(d.join("y.npy")),
        )
        .trim(),
    )
    .unwrap();
    assert!(e["accuracy"].as_f64().is_some(), "{e}");
}
