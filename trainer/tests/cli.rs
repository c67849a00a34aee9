//! The `tinyrnn` binary as scripts use it.

mod common;
use common::Scratch;

use std::path::Path;
use std::process::Command;

use tinyrnn_trainer::data::{freq10, npy, DataInput, DataTargets};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tinyrnn"))
}

fn tmp(name: &str) -> Scratch {
    Scratch::new("cli", name)
}

/// Writes a small freq10 set as X.npy / y.npy.
fn write_freq10(dir: &Path, n: usize, t: usize, f: usize) {
    let ds = freq10::generate(n, t, f, 3);
    let (DataInput::Dense { x, .. }, DataTargets::Classes { y, .. }) = (&ds.input, &ds.targets)
    else {
        unreachable!()
    };
    npy::write_f32(&dir.join("X.npy"), &[n, t, f], x).unwrap();
    let y: Vec<i64> = y.iter().map(|&v| v as i64).collect();
    npy::write_i64(&dir.join("y.npy"), &[n], &y).unwrap();
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "command failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `cmd` run to success, its standard output parsed as one JSON line.
fn run_json(cmd: &mut Command) -> serde_json::Value {
    let out = run_ok(cmd);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("not one JSON line ({e}): {out}"))
}

fn run_err(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "expected failure");
    String::from_utf8(out.stderr).unwrap()
}

fn train_cmd(d: &Path, out: &str, epochs: usize) -> Command {
    let mut c = bin();
    c.args(["train", "--x"])
        .arg(d.join("X.npy"))
        .arg("--y")
        .arg(d.join("y.npy"))
        .args([
            "--layers",
            "lstm:8,gru:8",
            "--head",
            "dense:10:softmax",
            "--epochs",
        ])
        .arg(epochs.to_string())
        .args([
            "--batch-size",
            "32",
            "--seed",
            "0",
            "--val-split",
            "0.2",
            "--json",
            "--threads",
            "2",
            "--out",
        ])
        .arg(d.join(out));
    c
}

#[test]
fn scripted_train_eval_predict_inspect_export() {
    let d = tmp("flow");
    write_freq10(&d, 160, 12, 3);
    let line = run_ok(&mut train_cmd(&d, "a.trnn", 2));
    let v: serde_json::Value = serde_json::from_str(line.trim()).expect("one JSON line");
    for k in [
        "val_metric",
        "runtime_val_metric",
        "sec_per_epoch",
        "params",
        "model_bytes",
    ] {
        assert!(!v[k].is_null(), "missing {k} in {line}");
    }
    assert_eq!(
        v["val_metric"], v["runtime_val_metric"],
        "runtime step agrees with the trainer"
    );
    // same seed, same model file
    run_ok(&mut train_cmd(&d, "b.trnn", 2));
    assert_eq!(
        std::fs::read(d.join("a.trnn")).unwrap(),
        std::fs::read(d.join("b.trnn")).unwrap()
    );
    // log, plot, checkpoint
    let log = std::fs::read_to_string(d.join("a.log.csv")).unwrap();
    assert_eq!(log.lines().count(), 3, "{log}");
    assert!(log.starts_with("epoch,loss,accuracy,val_loss,val_accuracy,seconds"));
    assert!(std::fs::metadata(d.join("a.png")).unwrap().len() > 1000);
    // resume: one epoch, then resume to two == two straight
    run_ok(&mut train_cmd(&d, "c.trnn", 1));
    run_ok(train_cmd(&d, "c.trnn", 2).arg("--resume"));
    assert_eq!(
        std::fs::read(d.join("a.trnn")).unwrap(),
        std::fs::read(d.join("c.trnn")).unwrap()
    );
    // eval through the runtime
    let e = run_ok(
        bin()
            .args(["eval", "--json", "--model"])
            .arg(d.join("a.trnn"))
            .arg("--x")
            .arg(d.join("X.npy"))
            .arg("--y")
            .arg(d.join("y.npy")),
    );
    let ev: serde_json::Value = serde_json::from_str(e.trim()).unwrap();
    assert!(ev["accuracy"].as_f64().unwrap() >= 0.0);
    // predict
    run_ok(
        bin()
            .args(["predict", "--model"])
            .arg(d.join("a.trnn"))
            .arg("--x")
            .arg(d.join("X.npy"))
            .arg("--out")
            .arg(d.join("Y.npy")),
    );
    let y = npy::read(&d.join("Y.npy")).unwrap();
    assert_eq!(y.shape, vec![160, 10]);
    // the same as a table: a row per sequence, the values, the argmax
    let predict = |out: &str| {
        let mut c = bin();
        c.args(["predict", "--model"])
            .arg(d.join("a.trnn"))
            .arg("--x")
            .arg(d.join("X.npy"))
            .arg("--out")
            .arg(d.join(out));
        c
    };
    run_ok(&mut predict("Y.csv"));
    let table = std::fs::read_to_string(d.join("Y.csv")).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 161);
    assert_eq!(lines[0], "sequence,y0,y1,y2,y3,y4,y5,y6,y7,y8,y9,class");
    let row: Vec<f32> = lines[1].split(',').map(|v| v.parse().unwrap()).collect();
    let npy::NpyData::Float(yv) = &y.data else {
        panic!("predict writes float32")
    };
    assert_eq!(row[1..11], yv[..10]);
    let best = (0..10).fold(0, |b, k| if yv[k] > yv[b] { k } else { b });
    assert_eq!(row[11], best as f32);
    let e = run_err(&mut predict("Y.txt"));
    assert!(
        e.contains("give a path ending in .npy (float32 array) or .csv"),
        "{e}"
    );
    // inspect
    let i = run_ok(bin().args(["inspect", "--model"]).arg(d.join("a.trnn")));
    assert!(
        i.contains("lstm") && i.contains("gru") && i.contains("MACs per step"),
        "{i}"
    );
    // What firmware declares for it: capacity, state size, cargo features.
    let buf = tinyrnn::AlignedBuf::from_slice(&std::fs::read(d.join("a.trnn")).unwrap());
    let m = tinyrnn::Model::from_bytes(&buf).unwrap();
    for want in [
        format!(
            "static MODEL: tinyrnn::Model<'static, {}> = tinyrnn::static_model!(\"a.trnn\");",
            m.layers().len()
        ),
        format!("tinyrnn::State::<{}>::new(&MODEL)", m.state_len()),
        r#"features = ["lstm", "f32", "gru"]"#.to_string(),
    ] {
        assert!(i.contains(&want), "no `{want}` in:\n{i}");
    }
    // The compile-time-sized type it prints runs the model laid out for a
    // host (`export --layout host`, as it says), as `Model::step` does;
    // `--layout device` gives back the file `train` wrote.
    let want = "Sized::<(Lstm<3, 8>, Gru<8, 8>, Dense<8, 10>)>::new(&model)?;";
    assert!(i.contains(want), "no `{want}` in:\n{i}");
    assert!(i.contains("--layout host"), "{i}");
    for (from, layout, to) in [("a.trnn", "host", "h.trnn"), ("h.trnn", "device", "d.trnn")] {
        let line = run_ok(
            bin()
                .args(["export", "--json", "--model"])
                .arg(d.join(from))
                .args(["--layout", layout, "--out"])
                .arg(d.join(to)),
        );
        let v: serde_json::Value = serde_json::from_str(line.trim()).expect("one JSON line");
        assert!(
            v["max_output_difference"].as_f64().unwrap() <= 1e-5,
            "{line}"
        );
    }
    assert_eq!(
        std::fs::read(d.join("a.trnn")).unwrap(),
        std::fs::read(d.join("d.trnn")).unwrap()
    );
    let e = run_err(
        bin()
            .args(["export", "--model"])
            .arg(d.join("a.trnn"))
            .arg("--out")
            .arg(d.join("x.trnn")),
    );
    assert!(e.contains("--format") && e.contains("--layout"), "{e}");
    let i3 = run_ok(bin().args(["inspect", "--model"]).arg(d.join("h.trnn")));
    assert!(i3.contains(want) && !i3.contains("--layout host"), "{i3}");
    let host = tinyrnn::AlignedBuf::from_slice(&std::fs::read(d.join("h.trnn")).unwrap());
    let host = tinyrnn::Model::from_bytes(&host).unwrap();
    use tinyrnn::sized::{Dense, Gru, Lstm, Model as Sized};
    let net = Sized::<(Lstm<3, 8>, Gru<8, 8>, Dense<8, 10>)>::new(&host).unwrap();
    let (mut s1, mut s2) = (net.new_state(), tinyrnn::StateVec::new(&host));
    let mut y = [0.0f32; 10];
    for t in 0..12 {
        let x = [t as f32 * 0.1, -0.3, 0.7];
        host.step(&mut s2, &x, &mut y).unwrap();
        assert_eq!(net.step(&x, &mut s1), y, "step {t}");
    }
    // export from the checkpoint
    run_ok(
        bin()
            .args(["export", "--checkpoint"])
            .arg(d.join("a.ckpt"))
            .arg("--out")
            .arg(d.join("e.trnn")),
    );
    let i2 = run_ok(
        bin()
            .args(["inspect", "--json", "--model"])
            .arg(d.join("e.trnn")),
    );
    assert!(i2.contains("\"params\""));
}

#[test]
fn bad_input_is_named_with_file_and_position() {
    let d = tmp("bad");
    write_freq10(&d, 20, 5, 2);
    // NaN in X
    let mut x = vec![0.5f32; 20 * 5 * 2];
    x[(3 * 5 + 2) * 2 + 1] = f32::NAN;
    npy::write_f32(&d.join("nan.npy"), &[20, 5, 2], &x).unwrap();
    let e = run_err(
        bin()
            .args(["train", "--x"])
            .arg(d.join("nan.npy"))
            .arg("--y")
            .arg(d.join("y.npy")),
    );
    assert!(e.contains("nan.npy") && e.contains("[3, 2, 1]"), "{e}");
    // wrong row count in y
    npy::write_i64(&d.join("y3.npy"), &[3], &[0, 1, 2]).unwrap();
    let e = run_err(
        bin()
            .args(["train", "--x"])
            .arg(d.join("X.npy"))
            .arg("--y")
            .arg(d.join("y3.npy")),
    );
    assert!(
        e.contains("y3.npy") && e.contains("expected 20 rows"),
        "{e}"
    );
    // empty file
    std::fs::write(d.join("empty.npy"), b"").unwrap();
    let e = run_err(
        bin()
            .args(["train", "--x"])
            .arg(d.join("empty.npy"))
            .arg("--y")
            .arg(d.join("y.npy")),
    );
    assert!(e.contains("empty.npy") && e.contains("empty"), "{e}");
    // labels beyond the head
    let e = run_err(
        bin()
            .args(["train", "--head", "dense:3:softmax", "--x"])
            .arg(d.join("X.npy"))
            .arg("--y")
            .arg(d.join("y.npy")),
    );
    assert!(e.contains("head has 3 outputs"), "{e}");
    // CSV: ragged row, unknown column, not a number; training on `contents`
    // with target `target` fails with this message
    let csv_err = |name: &str, contents: &str, target: &str| {
        std::fs::write(d.join(name), contents).unwrap();
        run_err(
            bin()
                .args(["train", "--target", target, "--window", "1", "--csv"])
                .arg(d.join(name)),
        )
    };
    let e = csv_err("r.csv", "a,b,c\n1,2,3\n4,5\n", "c");
    assert!(e.contains("r.csv") && e.contains("row 3"), "{e}");
    let e = csv_err("u.csv", "a,b,c\n1,2,3\n4,5,6\n", "zz");
    assert!(
        e.contains("u.csv") && e.contains("unknown --target column 'zz'"),
        "{e}"
    );
    let e = csv_err("n.csv", "a,b\n1,2\nx,3\n", "b");
    assert!(e.contains("row 3, column 'a'"), "{e}");
    // semicolon-separated files (a spreadsheet's export where the decimal
    // separator is a comma) are read as such, and a decimal comma is named
    let e = csv_err("semi.csv", "a;b\n1,5;2\n3;4\n", "b");
    assert!(
        e.contains("row 2, column 'a': '1,5' is not a number (a decimal comma?"),
        "{e}"
    );
    std::fs::write(d.join("semi.csv"), "a;b\n1.5;2\n3;4\n5;6\n").unwrap();
    run_ok(
        bin()
            .args(["train", "--target", "b", "--window", "1", "--epochs", "1"])
            .args(["--quiet", "--out"])
            .arg(d.join("semi.trnn"))
            .arg("--csv")
            .arg(d.join("semi.csv")),
    );
    // labels beyond the model's outputs at eval time
    run_ok(
        bin()
            .args([
                "train", "--epochs", "1", "--layers", "gru:4", "--quiet", "--x",
            ])
            .arg(d.join("X.npy"))
            .arg("--y")
            .arg(d.join("y.npy"))
            .arg("--out")
            .arg(d.join("m.trnn")),
    );
    npy::write_i64(&d.join("big.npy"), &[20], &[99; 20]).unwrap();
    let e = run_err(
        bin()
            .args(["eval", "--model"])
            .arg(d.join("m.trnn"))
            .arg("--x")
            .arg(d.join("X.npy"))
            .arg("--y")
            .arg(d.join("big.npy")),
    );
    assert!(e.contains("labels go up to 99"), "{e}");
    // not a model file
    let e = run_err(bin().args(["inspect", "--model"]).arg(d.join("X.npy")));
    assert!(
        e.contains("X.npy") && e.contains("not a valid model file"),
        "{e}"
    );
}

#[test]
fn csv_and_text_models_train_and_evaluate_through_the_runtime() {
    let d = tmp("csvtext");
    let mut csv = String::from("t,temp,load\n");
    for i in 0..200 {
        let x = i as f32 * 0.1;
        csv.push_str(&format!("{x},{},{}\n", x.sin(), (x * 0.5).cos()));
    }
    std::fs::write(d.join("s.csv"), csv).unwrap();
    let line = run_ok(
        bin()
            .args([
                "train",
                "--target",
                "load",
                "--window",
                "10",
                "--stride",
                "2",
                "--layers",
                "gru:8:before",
            ])
            .args([
                "--epochs",
                "2",
                "--val-split",
                "0.2",
                "--json",
                "--quiet",
                "--csv",
            ])
            .arg(d.join("s.csv"))
            .arg("--out")
            .arg(d.join("s.trnn")),
    );
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(v["metric_name"], "mae");
    assert!(
        (v["val_metric"].as_f64().unwrap() - v["runtime_val_metric"].as_f64().unwrap()).abs()
            < 1e-4
    );
    let text = "hello tiny world. ".repeat(30);
    std::fs::write(d.join("t.txt"), text).unwrap();
    let line = run_ok(
        bin()
            .args([
                "train", "--window", "16", "--stride", "4", "--layers", "lstm:16", "--epochs", "2",
                "--json", "--quiet",
            ])
            .args([
                "--dropout",
                "0.1",
                "--tbptt",
                "8",
                "--clip-norm",
                "1",
                "--text",
            ])
            .arg(d.join("t.txt"))
            .arg("--out")
            .arg(d.join("t.trnn")),
    );
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert!(v["runtime_val_metric"].as_f64().is_some());
    let e = run_ok(
        bin()
            .args(["eval", "--window", "16", "--stride", "4", "--model"])
            .arg(d.join("t.trnn"))
            .arg("--text")
            .arg(d.join("t.txt")),
    );
    assert!(e.contains("accuracy"), "{e}");
}

#[test]
fn diverging_loss_stops_with_a_message_and_keeps_the_last_good_checkpoint() {
    let d = tmp("nan");
    write_freq10(&d, 64, 8, 2);
    run_ok(&mut train_cmd(&d, "m.trnn", 1));
    let e = run_err(
        train_cmd(&d, "m.trnn", 3)
            .args(["--resume", "--optimizer", "sgd", "--lr", "3e38"])
            .arg("--quiet"),
    );
    assert!(
        e.contains("loss became") && e.contains("last good checkpoint (epoch"),
        "{e}"
    );
    let named: usize = e
        .split("last good checkpoint (epoch ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .and_then(|s| s.parse().ok())
        .expect("epoch named");
    let ck = tinyrnn_trainer::checkpoint::load(&d.join("m.ckpt")).unwrap();
    assert_eq!(ck.epoch, named);
    assert!(named < 3);
    assert!(ck.params.iter().all(|p| p.is_finite()));
}

#[test]
fn early_stopping_restores_the_best_weights() {
    let d = tmp("early");
    write_freq10(&d, 64, 8, 2);
    // a learning rate so small nothing improves: stops after `patience` flat epochs
    let line = run_ok(train_cmd(&d, "p.trnn", 10).args(["--patience", "2", "--lr", "1e-12"]));
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(v["epochs"], 3, "{line}");
    assert!(
        v["stopped"]
            .as_str()
            .unwrap()
            .contains("restored the weights of epoch 1"),
        "{line}"
    );
}

/// `train`, quietly, with `args`: one epoch of `gru:4` unless they say otherwise.
fn quick_train(args: &[&str], out: &Path) -> Command {
    let mut c = bin();
    c.args(["train", "--quiet"]).args(args);
    if !args.contains(&"--layers") {
        c.args(["--layers", "gru:4"]);
    }
    if !args.contains(&"--epochs") {
        c.args(["--epochs", "1"]);
    }
    c.arg("--out").arg(out);
    c
}

#[test]
fn mistakes_are_refused_before_training_with_what_was_wrong() {
    let d = tmp("mistakes");
    write_freq10(&d, 24, 6, 2);
    let p = |f: &str| d.join(f).display().to_string();
    // token ids for validation of a float-feature model (used to panic)
    npy::write_i64(&d.join("tok.npy"), &[24, 6], &[1; 24 * 6]).unwrap();
    let e = run_err(&mut quick_train(
        &[
            "--x",
            &p("X.npy"),
            "--y",
            &p("y.npy"),
            "--val-x",
            &p("tok.npy"),
            "--val-y",
            &p("y.npy"),
        ],
        &d.join("m.trnn"),
    ));
    assert!(
        e.contains("tok.npy: holds integer token ids, the training inputs hold float features"),
        "{e}"
    );
    // a stray huge label (used to size a head of billions of outputs)
    let mut y = vec![1i64; 24];
    y[5] = 3_000_000_000;
    npy::write_i64(&d.join("ybig.npy"), &[24], &y).unwrap();
    let e = run_err(&mut quick_train(
        &["--x", &p("X.npy"), "--y", &p("ybig.npy")],
        &d.join("m.trnn"),
    ));
    assert!(
        e.contains("ybig.npy: label 3000000000 at index 5; expected class indices below 65536"),
        "{e}"
    );
    // NaN in N x T float inputs (one feature per step)
    let mut x = vec![0.5f32; 24 * 6];
    x[2 * 6 + 4] = f32::NAN;
    npy::write_f32(&d.join("x2.npy"), &[24, 6], &x).unwrap();
    let e = run_err(&mut quick_train(
        &["--x", &p("x2.npy"), "--y", &p("y.npy")],
        &d.join("m.trnn"),
    ));
    assert!(e.contains("x2.npy: value NaN at index [2, 4]"), "{e}");
    // BCE targets outside [0, 1]
    npy::write_f32(&d.join("yr.npy"), &[24], &[2.5; 24]).unwrap();
    let e = run_err(&mut quick_train(
        &["--x", &p("X.npy"), "--y", &p("yr.npy"), "--loss", "bce"],
        &d.join("m.trnn"),
    ));
    assert!(
        e.contains("target 2.5 at flat index 0") && e.contains("[0, 1]"),
        "{e}"
    );
    // a folder that does not exist: refused before the first epoch, no files
    let e = run_err(&mut quick_train(
        &["--x", &p("X.npy"), "--y", &p("y.npy")],
        &d.join("nowhere").join("m.trnn"),
    ));
    assert!(e.contains("--out") && e.contains("does not exist"), "{e}");
    let e = run_err(
        quick_train(&["--x", &p("X.npy"), "--y", &p("y.npy")], &d.join("m.trnn"))
            .args(["--plot", &p("m.svg")]),
    );
    assert!(e.contains("give a path ending in .png"), "{e}");
    assert!(!d.join("m.ckpt").exists());
    // negative numbers are values, then checked
    let e = run_err(
        quick_train(&["--x", &p("X.npy"), "--y", &p("y.npy")], &d.join("m.trnn"))
            .args(["--lr", "-1"]),
    );
    assert!(e.contains("--lr -1 must be a positive number"), "{e}");
    let e = run_err(
        quick_train(&["--x", &p("X.npy"), "--y", &p("y.npy")], &d.join("m.trnn"))
            .args(["--clip-norm", "-1"]),
    );
    assert!(
        e.contains("--clip-norm -1 must be a positive number, or 0 for no clipping"),
        "{e}"
    );
    // divergence in the first epoch: one message (with progress output on,
    // where it used to be printed twice), and no checkpoint claimed
    let out = bin()
        .args([
            "train",
            "--layers",
            "gru:4",
            "--epochs",
            "3",
            "--batch-size",
            "4",
        ])
        .args(["--optimizer", "sgd", "--lr", "3e38"])
        .args([
            "--x",
            &p("X.npy"),
            "--y",
            &p("y.npy"),
            "--out",
            &p("m.trnn"),
        ])
        .output()
        .unwrap();
    let e = String::from_utf8(out.stderr).unwrap();
    assert_eq!(e.matches("loss became").count(), 1, "{e}");
    assert!(
        e.contains("no epoch had completed, so there is no checkpoint"),
        "{e}"
    );
}

#[test]
fn resume_refuses_other_settings_and_eval_reads_data_as_trained() {
    let d = tmp("resume-eval");
    write_freq10(&d, 24, 6, 2);
    let p = |f: &str| d.join(f).display().to_string();
    run_ok(&mut quick_train(
        &["--x", &p("X.npy"), "--y", &p("y.npy")],
        &d.join("r.trnn"),
    ));
    let e = run_err(&mut quick_train(
        &[
            "--x",
            &p("X.npy"),
            "--y",
            &p("y.npy"),
            "--resume",
            "--layers",
            "lstm:4",
            "--seed",
            "5",
            "--epochs",
            "2",
        ],
        &d.join("r.trnn"),
    ));
    assert!(
        e.contains("layers: gru:4 vs lstm:4") && e.contains("seed: 0 vs 5"),
        "{e}"
    );
    // CSV: eval takes the recorded target and window, and refuses other columns
    let mut csv = String::from("a,b,c\n");
    for i in 0..60 {
        let x = i as f32 * 0.3;
        csv.push_str(&format!("{},{},{}\n", x.sin(), x.cos(), (x * 0.7).sin()));
    }
    std::fs::write(d.join("s.csv"), &csv).unwrap();
    let swapped: String = csv
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{},{}\n", f[1], f[0], f[2])
        })
        .collect();
    std::fs::write(d.join("swapped.csv"), swapped).unwrap();
    run_ok(
        quick_train(&["--csv", &p("s.csv")], &d.join("s.trnn")).args([
            "--target",
            "c",
            "--window",
            "7",
            "--horizon",
            "2",
        ]),
    );
    let out = bin()
        .args([
            "eval",
            "--json",
            "--model",
            &p("s.trnn"),
            "--csv",
            &p("s.csv"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--window 7 --horizon 2 --target c"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sequences"], 60 - 7 - 2 + 1);
    // CSV windows have no padding to mark
    let e = run_err(
        quick_train(&["--csv", &p("s.csv")], &d.join("s2.trnn")).args([
            "--target",
            "c",
            "--mask-value",
            "-1",
        ]),
    );
    assert!(e.contains("CSV and text windows have no padding"), "{e}");
    let e = run_err(bin().args(["eval", "--model", &p("s.trnn"), "--csv", &p("swapped.csv")]));
    assert!(
        e.contains("feature columns b,a (after --target c), the model was trained on a,b"),
        "{e}"
    );
    // a closed pipe ends inspect quietly
    let mut child = bin()
        .args(["inspect", "--model", &p("s.trnn")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A sensor log in physical units: a pressure in Pa near 101,325 that moves
/// by a few hundred, and a temperature near 20 °C; the target is a delayed,
/// temperature-weighted pressure anomaly of order 1.
fn write_sensor_csv(path: &Path, rows: usize) {
    let mut csv = String::from("pressure_pa,temp_c,y\n");
    let p = |t: f64| 101_325.0 + 400.0 * (0.07 * t + 0.3 * (0.01 * t).sin()).sin();
    for t in 0..rows {
        let t = t as f64;
        let temp = 20.0 + 5.0 * (0.013 * t).sin();
        let y = if t >= 4.0 {
            (p(t - 4.0) - 101_325.0) / 400.0 * temp / 20.0
        } else {
            0.0
        };
        csv.push_str(&format!("{:.2},{temp:.3},{y:.5}\n", p(t)));
    }
    std::fs::write(path, csv).unwrap();
}

#[test]
fn normalize_trains_on_raw_sensor_units_and_the_file_takes_them_raw() {
    let d = tmp("normalize");
    let p = |f: &str| d.join(f).display().to_string();
    write_sensor_csv(&d.join("s.csv"), 2400);
    let train = |out: &str, extra: &[&str]| {
        let mut c = bin();
        c.args([
            "train",
            "--csv",
            &p("s.csv"),
            "--target",
            "y",
            "--window",
            "24",
        ])
        .args(["--stride", "4", "--layers", "lstm:12", "--epochs", "10"])
        .args(["--val-split", "0.2", "--json", "--out", &p(out)])
        .args(extra);
        c
    };
    // Without --normalize, train points at it, naming the column.
    let out = train("raw.trnn", &[]).output().unwrap();
    assert!(out.status.success());
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(
        note.contains("feature 0 ('pressure_pa') has mean 101") && note.contains("--normalize"),
        "{note}"
    );
    let raw: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let norm = run_json(&mut train("n.trnn", &["--normalize", "--quiet"]));
    let (mae_raw, mae) = (
        raw["val_metric"].as_f64().unwrap(),
        norm["val_metric"].as_f64().unwrap(),
    );
    // Saturated gates learn next to nothing; standardized inputs learn
    // (measured: validation MAE 0.63 against 0.07).
    assert!(mae < 0.3 * mae_raw, "{mae} vs {mae_raw}");
    // The runtime, fed the raw CSV values, agrees with the trainer.
    assert!(
        (mae - norm["runtime_val_metric"].as_f64().unwrap()).abs() < 1e-4,
        "{norm}"
    );
    let e = run_json(bin().args([
        "eval",
        "--json",
        "--model",
        &p("n.trnn"),
        "--csv",
        &p("s.csv"),
    ]));
    assert!(e["mae"].as_f64().is_some_and(|v| v < 0.3 * mae_raw), "{e}");
    // the picture of it: targets and outputs, a PNG
    run_ok(
        bin()
            .args(["eval", "--model", &p("n.trnn"), "--csv", &p("s.csv")])
            .args(["--plot", &p("eval.png")]),
    );
    let png = std::fs::read(d.join("eval.png")).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{}",
        png.len()
    );
    // The file starts with the standardization, and says so.
    let i = run_json(bin().args(["inspect", "--json", "--model", &p("n.trnn")]));
    assert_eq!(i["layers"][0]["kind"], "dense");
    assert_eq!(i["layers"][0]["input"], 2);
    let mean = i["trained"]["input_norm"]["mean"][0].as_f64().unwrap();
    assert!((mean - 101_325.0).abs() < 30.0, "{i}");
    // f16 and i8 keep that layer f32 and stay close; integer is refused.
    for format in ["f16", "i8"] {
        let q = p(&format!("n.{format}.trnn"));
        let r = run_json(
            bin()
                .args([
                    "export",
                    "--json",
                    "--model",
                    &p("n.trnn"),
                    "--format",
                    format,
                ])
                .args(["--out", &q]),
        );
        assert!(r["max_deviation"].as_f64().is_some_and(|v| v < 0.05), "{r}");
        let i = run_json(bin().args(["inspect", "--json", "--model", &q]));
        assert_eq!(i["layers"][0]["format"], "f32", "{i}");
        assert_eq!(i["layers"][1]["format"], format, "{i}");
    }
    let e = run_err(
        bin()
            .args(["export", "--model", &p("n.trnn"), "--format", "integer"])
            .args(["--out", &p("n.int.trnn")]),
    );
    assert!(
        e.contains("beyond the ±32767") && e.contains("(sequence "),
        "{e}"
    );
    // Resuming must keep the choice; text has nothing to standardize.
    let e = run_err(&mut train("n.trnn", &["--resume"]));
    assert!(e.contains("--normalize: on vs off"), "{e}");
    std::fs::write(d.join("t.txt"), "abcabcabd ".repeat(20)).unwrap();
    let e = run_err(&mut quick_train(
        &["--text", &p("t.txt"), "--window", "5", "--normalize"],
        &d.join("t.trnn"),
    ));
    assert!(e.contains("token (text) input has none to scale"), "{e}");
}

#[test]
fn a_csv_label_column_trains_a_classifier_with_loss_ce() {
    let d = tmp("csv-classes");
    let p = |f: &str| d.join(f).display().to_string();
    // accelerometer-like rows; the label (0, 1, 2) sets the frequency of `ax`
    let mut csv = String::from("ax;ay;activity\n");
    for seg in 0..48usize {
        let label = (seg * 7 + seg / 5) % 3;
        let f = [0.05f32, 0.15, 0.3][label];
        for t in 0..40usize {
            let ax = (2.0 * std::f32::consts::PI * f * t as f32).sin();
            let ay = ((seg * 40 + t) as f32 * 0.37).sin() * 0.3;
            csv.push_str(&format!("{ax:.4};{ay:.4};{label}\n"));
        }
    }
    std::fs::write(d.join("act.csv"), &csv).unwrap();
    let train = |out: &str, extra: &[&str]| {
        let mut c = bin();
        c.args(["train", "--csv", &p("act.csv"), "--target", "activity"])
            .args(["--window", "20", "--stride", "10", "--layers", "gru:12"])
            .args(["--epochs", "25", "--lr", "0.01", "--val-split", "0.2"])
            .args(["--json", "--out", &p(out)])
            .args(extra);
        c
    };
    // Without --loss the whole numbers are trained as values, with a note.
    let out = train("v.trnn", &[]).output().unwrap();
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(
        note.contains("'activity' holds 3 different whole numbers") && note.contains("--loss ce"),
        "{note}"
    );
    let v = run_json(&mut train("c.trnn", &["--loss", "ce", "--quiet"]));
    assert_eq!(v["metric_name"], "accuracy");
    // (measured: 1.0 here and in eval below; chance is 1/3)
    let acc = v["val_metric"].as_f64().unwrap();
    assert!(acc > 0.9, "{v}");
    assert!(
        (acc - v["runtime_val_metric"].as_f64().unwrap()).abs() < 1e-9,
        "{v}"
    );
    // eval and predict read the column as labels again, from the model
    let e = run_json(
        bin()
            .args([
                "eval",
                "--json",
                "--model",
                &p("c.trnn"),
                "--csv",
                &p("act.csv"),
            ])
            .args(["--stride", "10"]),
    );
    assert!(e["accuracy"].as_f64().is_some_and(|a| a > 0.9), "{e}");
    // with its confusion matrix, whose diagonal is the accuracy
    let m: Vec<Vec<u64>> = serde_json::from_value(e["confusion"].clone()).unwrap();
    let total: u64 = m.iter().flatten().sum();
    let right: u64 = (0..3).map(|k| m[k][k]).sum();
    assert_eq!(
        (m.len(), total),
        (3, e["sequences"].as_u64().unwrap()),
        "{e}"
    );
    let acc_m = right as f64 / total as f64;
    assert!(
        (acc_m - e["accuracy"].as_f64().unwrap()).abs() < 1e-9,
        "{e}"
    );
    let text = run_ok(bin().args(["eval", "--model", &p("c.trnn"), "--csv", &p("act.csv")]));
    let e = run_err(
        bin()
            .args(["eval", "--model", &p("c.trnn"), "--csv", &p("act.csv")])
            .args(["--plot", &p("c.png")]),
    );
    assert!(e.contains("prints their confusion matrix instead"), "{e}");
    assert!(
        text.contains("confusion (true class down, predicted across)") && text.contains("recall"),
        "{text}"
    );
    run_ok(
        bin()
            .args(["predict", "--model", &p("c.trnn"), "--csv", &p("act.csv")])
            .args(["--out", &p("pred.csv")]),
    );
    let table = std::fs::read_to_string(d.join("pred.csv")).unwrap();
    assert!(
        table.starts_with("sequence,activity_0,activity_1,activity_2,class\n"),
        "{}",
        &table[..80.min(table.len())]
    );
    // inspect says what goes in and what comes out
    let i = run_ok(bin().args(["inspect", "--model", &p("c.trnn")]));
    assert!(
        i.contains("input:           2 floats per step: ax, ay")
            && i.contains("output:          3 class probabilities of activity (softmax"),
        "{i}"
    );
    // quantized exports measure on the recorded training rows, as labels
    for format in ["i8", "integer"] {
        let r = run_json(
            bin()
                .args([
                    "export",
                    "--json",
                    "--model",
                    &p("c.trnn"),
                    "--format",
                    format,
                ])
                .args(["--out", &p(&format!("c.{format}.trnn"))]),
        );
        assert_eq!(r["metric"], "accuracy", "{r}");
        assert!(r["metric_q"].as_f64().is_some_and(|a| a > 0.9), "{r}");
    }
    // class names travel in the file to inspect, eval and predict
    run_ok(&mut train(
        "n.trnn",
        &["--loss", "ce", "--quiet", "--class-names", "walk,run,sit"],
    ));
    let i = run_ok(bin().args(["inspect", "--model", &p("n.trnn")]));
    assert!(
        i.contains("(softmax; the class is the largest): 0 walk, 1 run, 2 sit"),
        "{i}"
    );
    let text = run_ok(bin().args(["eval", "--model", &p("n.trnn"), "--csv", &p("act.csv")]));
    assert!(text.contains("classes: 0 walk, 1 run, 2 sit"), "{text}");
    run_ok(
        bin()
            .args(["predict", "--model", &p("n.trnn"), "--csv", &p("act.csv")])
            .args(["--out", &p("named.csv")]),
    );
    let table = std::fs::read_to_string(d.join("named.csv")).unwrap();
    let mut lines = table.lines();
    assert_eq!(lines.next(), Some("sequence,walk,run,sit,class,class_name"));
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let names = ["walk", "run", "sit"];
    assert_eq!(row[5], names[row[4].parse::<usize>().unwrap()], "{row:?}");
    // predict needs no label column
    let inputs: String = csv
        .lines()
        .map(|l| l.rsplit_once(';').map_or(l, |(a, _)| a).to_string() + "\n")
        .collect();
    std::fs::write(d.join("inputs.csv"), inputs).unwrap();
    run_ok(
        bin()
            .args([
                "predict",
                "--model",
                &p("n.trnn"),
                "--csv",
                &p("inputs.csv"),
            ])
            .args(["--out", &p("from_inputs.csv")]),
    );
    assert_eq!(
        std::fs::read_to_string(d.join("from_inputs.csv")).unwrap(),
        table,
        "the same predictions without the label column"
    );
    let e = run_err(&mut train(
        "n2.trnn",
        &["--loss", "ce", "--class-names", "walk,run"],
    ));
    assert!(
        e.contains("--class-names gives 2 names; they name the 3 outputs"),
        "{e}"
    );
    // a label that is not a whole number is named with its row
    std::fs::write(d.join("bad.csv"), csv.replacen(";1\n", ";1.5\n", 1)).unwrap();
    let e = run_err(
        bin()
            .args(["train", "--csv", &p("bad.csv"), "--target", "activity"])
            .args(["--loss", "ce", "--window", "20", "--out", &p("b.trnn")]),
    );
    assert!(
        e.contains("column 'activity': 1.5 is not a class label") && e.contains("row "),
        "{e}"
    );
}

/// The minority class's recall in `eval --json`'s confusion matrix.
fn recall_of(eval: &serde_json::Value, class: usize) -> f64 {
    let m: Vec<Vec<u64>> = serde_json::from_value(eval["confusion"].clone()).unwrap();
    m[class][class] as f64 / m[class].iter().sum::<u64>().max(1) as f64
}

#[test]
fn class_weights_lift_the_recall_of_a_rare_class() {
    use rand::{Rng, SeedableRng};
    let d = tmp("class-weight");
    let p = |f: &str| d.join(f).display().to_string();
    // 2000 sequences of 30 steps x 2 features; 6% are class 1, which carries
    // a bump of +1 in feature 0 over steps 10..20 under unit noise.
    let (n, t) = (2000usize, 30usize);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let y: Vec<i64> = (0..n)
        .map(|_| i64::from(rng.random::<f32>() < 0.06))
        .collect();
    let mut x = Vec::with_capacity(n * t * 2);
    for &label in &y {
        for step in 0..t {
            let noise = |r: &mut rand_chacha::ChaCha8Rng| {
                // (sum of 4 uniforms: roughly normal, std 1)
                (0..4).map(|_| r.random::<f32>() - 0.5).sum::<f32>() * 1.732
            };
            let bump = if label == 1 && (10..20).contains(&step) {
                1.0
            } else {
                0.0
            };
            x.push(noise(&mut rng) + bump);
            x.push(noise(&mut rng));
        }
    }
    npy::write_f32(&d.join("X.npy"), &[n, t, 2], &x).unwrap();
    npy::write_i64(&d.join("y.npy"), &[n], &y).unwrap();
    let cut = 1400;
    npy::write_f32(&d.join("Xv.npy"), &[n - cut, t, 2], &x[cut * t * 2..]).unwrap();
    npy::write_i64(&d.join("yv.npy"), &[n - cut], &y[cut..]).unwrap();
    let recall = |extra: &[&str]| {
        run_ok(
            bin()
                .args([
                    "train",
                    "--x",
                    &p("X.npy"),
                    "--y",
                    &p("y.npy"),
                    "--layers",
                    "gru:16",
                ])
                .args([
                    "--epochs",
                    "10",
                    "--val-split",
                    "0.3",
                    "--quiet",
                    "--out",
                    &p("m.trnn"),
                ])
                .args(extra),
        );
        let e = run_json(
            bin()
                .args(["eval", "--json", "--model", &p("m.trnn")])
                .args(["--x", &p("Xv.npy"), "--y", &p("yv.npy")]),
        );
        recall_of(&e, 1)
    };
    let (plain, balanced) = (recall(&[]), recall(&["--class-weight", "balanced"]));
    // (measured: 0.15 unweighted against 0.85 balanced)
    assert!(
        balanced > plain + 0.2,
        "recall of class 1: {plain} unweighted, {balanced} balanced"
    );
    // what is refused, and how
    let e = run_err(
        bin()
            .args([
                "train",
                "--x",
                &p("X.npy"),
                "--y",
                &p("y.npy"),
                "--epochs",
                "1",
            ])
            .args(["--class-weight", "0:1,2:3", "--out", &p("b.trnn")]),
    );
    assert!(
        e.contains("'2:3' is not CLASS:WEIGHT (a class from 0 to 1"),
        "{e}"
    );
    let yf: Vec<f32> = y.iter().map(|&v| v as f32).collect();
    npy::write_f32(&d.join("yf.npy"), &[n, 1], &yf).unwrap();
    let e = run_err(
        bin()
            .args([
                "train",
                "--x",
                &p("X.npy"),
                "--y",
                &p("yf.npy"),
                "--epochs",
                "1",
            ])
            .args(["--class-weight", "balanced", "--out", &p("b.trnn")]),
    );
    assert!(e.contains("these targets are float values"), "{e}");
}
