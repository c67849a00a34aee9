//! Host side of the firmware build:
//! - puts `memory.x` where the linker finds it and links with cortex-m-rt's `link.x`;
//! - for every `models/*.trnn`, streams the recorded input through the same
//!   `tinyrnn` crate on the host and writes the input and the expected outputs
//!   to OUT_DIR, plus `generated.rs`, the table of models the firmware checks.
//!   Integer models also get the input in their fixed-point format and the
//!   outputs of the host's pure-integer `IntModel::step` (i16), which the
//!   firmware must reproduce bit for bit, and the hash of their outputs on
//!   the stress stream of `src/stress.rs`.
//! - for the first f32 model of each recurrent cell kind (LSTM, GRU, Elman),
//!   writes a row-major copy (`ModelBuilder::from_model` with
//!   `Layout::RowMajor`: same weights) and its host outputs, plus
//!   `rowmajor.rs`, the table of those copies: the firmware's models are
//!   column-major (`Layout::ColMajor8`), and the Cortex-M4F runs row-major
//!   recurrent layers through other kernels (`cortex_m::rowmajor_acc` for
//!   the products, then the same elementwise `asm!`).
//!
//! File names: `BASE.trnn` (f32) or `BASE.FORMAT.trnn`; the format is read
//! from the file itself. The recorded input is `models/BASE.input.csv` when
//! present (one step per line, I comma-separated numbers), else a synthetic
//! sensor trace.
use std::fmt::Write as _;
use std::{env, fs, path::Path, path::PathBuf};

use tinyrnn::quant::{quantize_slice, IntModel, NumFormat};
use tinyrnn::{AlignedBuf, Layer, Layout, Math, Model, ModelBuilder, StateVec};

#[path = "gen/src/rng.rs"]
mod rng;
#[path = "src/stress.rs"]
mod stress;

/// Models with a cargo feature of their own (a build can hold only some).
const FEATURES: [&str; 4] = ["lstm1x32", "gru1x32", "elman1x32", "lstm16x64"];
/// Number formats, each a cargo feature too: a model file is in the build
/// when its format's feature is on (and its model's, for the names above).
const FORMATS: [&str; 4] = ["f32", "f16", "i8", "integer"];
/// Steps of the synthetic input trace.
const STEPS: usize = 64;

fn recorded_input(csv: &Path, width: usize) -> Vec<f32> {
    if let Ok(text) = fs::read_to_string(csv) {
        let mut xs = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let row: Vec<f32> = line
                .split(',')
                .map(|v| {
                    v.trim()
                        .parse()
                        .unwrap_or_else(|e| panic!("{}:{}: {e}", csv.display(), n + 1))
                })
                .collect();
            assert_eq!(
                row.len(),
                width,
                "{}:{}: want {width} values",
                csv.display(),
                n + 1
            );
            xs.extend(row);
        }
        return xs;
    }
    // Two sines plus deterministic noise per channel.
    let mut noise = rng::Rng(0x5e75_0123);
    (0..STEPS * width)
        .map(|k| {
            let ph = (k / width) as f32 * 0.21 + (k % width) as f32 * 0.7;
            0.8 * ph.sin() + 0.3 * (2.9 * ph).cos() + noise.uniform(0.1)
        })
        .collect()
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn i16_bytes(v: &[i16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The model's number format (that of its recurrent and dense layers).
fn format_of(model: &Model<'_>) -> &'static str {
    let fmt = model.layers().iter().find_map(|l| match l {
        Layer::Quant(q) => Some(q.format()),
        _ => None,
    });
    match fmt {
        None | Some(NumFormat::F32) => "f32",
        Some(NumFormat::F16) => "f16",
        Some(NumFormat::I8) => "i8",
        Some(NumFormat::Integer) => "integer",
        Some(other) => panic!("number format {other:?} unknown to the firmware example"),
    }
}

/// Writes a row-major copy of the column-major f32 `model` (file stem
/// `file`) and its host outputs with both maths on input `xs` (already at
/// `x_path`) to `out`; returns the firmware's `Case` for it.
fn rowmajor_copy(
    model: &Model<'_>,
    out: &Path,
    file: &str,
    name: &str,
    xs: &[f32],
    x_path: &str,
) -> String {
    let recurrent = |m: &Model<'_>| -> Vec<Layout> {
        m.layers()
            .iter()
            .filter(|l| matches!(l, Layer::Lstm(_) | Layer::Gru(_) | Layer::Elman(_)))
            .map(Layer::layout)
            .collect()
    };
    assert!(
        recurrent(model).iter().all(|l| *l == Layout::ColMajor8),
        "{file}: the f32 model files are column-major; its row-major copy would check nothing new"
    );
    let bytes = ModelBuilder::from_model(model)
        .layout(Layout::RowMajor)
        .build()
        .unwrap_or_else(|e| panic!("{file}: row-major copy: {e}"));
    let copy = AlignedBuf::from_slice(&bytes);
    let copy = Model::from_bytes(&copy).unwrap_or_else(|e| panic!("{file}: row-major copy: {e}"));
    assert!(recurrent(&copy).iter().all(|l| *l == Layout::RowMajor));
    let (i, o) = (copy.input_size(), copy.output_size());
    let steps = xs.len() / i;
    let write = |what: &str, data: Vec<u8>| {
        let p = out.join(format!("{file}.rowmajor.{what}"));
        fs::write(&p, data).unwrap();
        p.display().to_string()
    };
    let expected = |math: Math, what: &str| {
        let m = copy.clone().with_math(math);
        let mut ys = vec![0.0f32; steps * o];
        let mut state = StateVec::new(&m);
        m.run_sequence(&mut state, xs, &mut ys)
            .unwrap_or_else(|e| panic!("{file}: row-major copy, host run: {e}"));
        write(what, f32_bytes(&ys))
    };
    let y = expected(Math::Exact, "expected.bin");
    let yf = expected(Math::Fast, "expected-fast.bin");
    let m = write("trnn", bytes);
    let inc = |p: &str| format!("tinyrnn::include_model!({p:?})");
    format!(
        "&Case {{ name: \"{name}.rowmajor\", model: {m}, input: {x}, expected: {y}, \
         expected_fast: {yf}, exact: false, input_q: &[], expected_q: &[], stress_hash: 0 }}",
        m = inc(&m),
        x = inc(x_path),
        y = inc(&y),
        yf = inc(&yf),
    )
}

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    // This script serves `firmware-example/` and `firmware-example/cortex-m0/`:
    // each has its own memory.x; the models live in `firmware-example/models/`.
    fs::copy(manifest.join("memory.x"), out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rerun-if-changed=memory.x");
    let dir = if manifest.join("models").is_dir() {
        manifest.join("models")
    } else {
        manifest.join("../models")
    };
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<String> = fs::read_dir(&dir)
        .expect("models/ folder")
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "trnn").then(|| p.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    assert!(
        !files.is_empty(),
        "no model files (*.trnn) in {}",
        dir.display()
    );
    // BASE or BASE.FORMAT: sorted by model (FEATURES first), then format.
    let base = |f: &str| f.split('.').next().unwrap_or(f).to_owned();
    files.sort_by_key(|f| {
        let b = base(f);
        let suffix = f.split_once('.').map_or("f32", |(_, s)| s);
        (
            FEATURES.iter().position(|k| *k == b).unwrap_or(usize::MAX),
            b,
            FORMATS
                .iter()
                .position(|k| *k == suffix)
                .unwrap_or(usize::MAX),
            f.clone(),
        )
    });

    let mut src = String::from(
        "// Generated by build.rs: one `run::<..>` or `run_int::<..>` per model file.\n{\n",
    );
    // The same models loaded while compiling (`tinyrnn::static_model!`).
    let mut statics = String::from(
        "// Generated by build.rs: one `run_static::<..>` or `run_int_static::<..>` per model file,\n\
         // its model a `static` loaded while compiling.\n{\n",
    );
    // The model files' bytes, one `static` each, that both tables use.
    let mut bytes_src =
        String::from("// Generated by build.rs: the bytes of every model file, 16-byte aligned.\n");
    let mut rowmajor = String::from(
        "// Generated by build.rs: one `run_rowmajor::<..>` per row-major copy (Cortex-M4F only).\n{\n",
    );
    // Recurrent cell kinds that already have a row-major copy.
    let mut copied: Vec<&str> = Vec::new();
    // The most layers of any model: the firmware's `Model` capacity.
    let mut layers = 1;
    for (index, file) in files.iter().enumerate() {
        let path = dir.join(format!("{file}.trnn"));
        println!("cargo:rerun-if-changed={}", path.display());
        let bytes = AlignedBuf::from_slice(&fs::read(&path).expect("read model"));
        let model = Model::from_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (i, o) = (model.input_size(), model.output_size());
        layers = layers.max(model.layers().len());
        let b = base(file);
        let fmt = format_of(&model);
        let name = format!("{b}.{fmt}");
        let csv = dir.join(format!("{b}.input.csv"));
        println!("cargo:rerun-if-changed={}", csv.display());
        let xs = recorded_input(&csv, i);
        let steps = xs.len() / i;
        let write = |what: &str, data: Vec<u8>| {
            let p = out.join(format!("{file}.{what}.bin"));
            fs::write(&p, data).unwrap();
            p.display().to_string()
        };
        // The host's outputs with each activation math the firmware checks.
        let expected = |math: Math, what: &str| {
            let model = model.clone().with_math(math);
            let mut ys = vec![0.0f32; steps * o];
            let mut state = StateVec::new(&model);
            model
                .run_sequence(&mut state, &xs, &mut ys)
                .unwrap_or_else(|e| panic!("{}: host run: {e}", path.display()));
            write(what, f32_bytes(&ys))
        };
        let y_path = expected(Math::Exact, "expected");
        let yf_path = expected(Math::Fast, "expected-fast");
        let x_path = write("input", f32_bytes(&xs));
        let cell = model.layers().iter().find_map(|l| match l {
            Layer::Lstm(_) => Some("lstm"),
            Layer::Gru(_) => Some("gru"),
            Layer::Elman(_) => Some("elman"),
            _ => None,
        });
        if let (Some(cell), "f32") = (cell, fmt) {
            if !copied.contains(&cell) {
                copied.push(cell);
                let case = rowmajor_copy(&model, &out, file, &name, &xs, &x_path);
                writeln!(
                    rowmajor,
                    "#[cfg(all(feature = \"{b}\", feature = \"f32\", target_abi = \"eabihf\"))]\n\
                     run_rowmajor::<{n}>({case}, ctx);",
                    n = model.state_len()
                )
                .unwrap();
            }
        }
        let integer = fmt == "integer";
        // Integer models: the pure-integer step on the host, i16 in and out.
        let (xq_path, yq_path, words, stress_hash) = if integer {
            let int = IntModel::new(&model).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let mut xq = vec![0i16; xs.len()];
            quantize_slice(&xs, int.input_frac(), &mut xq);
            let mut words = vec![0i32; int.state_len()];
            let mut yq = vec![0i16; steps * o];
            for (x, y) in xq.chunks_exact(i).zip(yq.chunks_exact_mut(o)) {
                int.step(&mut words, x, y)
                    .unwrap_or_else(|e| panic!("{}: host integer step: {e}", path.display()));
            }
            // The stress stream from zeroed words: the hash of all outputs.
            words.iter_mut().for_each(|w| *w = 0);
            let (mut x, mut y) = (vec![0i16; i], vec![0i16; o]);
            let mut gen = stress::Stress::default();
            let mut hash = stress::FNV_START;
            for _ in 0..stress::STEPS {
                gen.input(int.input_frac(), &mut x);
                int.step(&mut words, &x, &mut y)
                    .unwrap_or_else(|e| panic!("{}: host integer step: {e}", path.display()));
                hash = stress::fnv1a(hash, &y);
            }
            (
                write("input-q", i16_bytes(&xq)),
                write("expected-q", i16_bytes(&yq)),
                int.state_len(),
                hash,
            )
        } else {
            (String::new(), String::new(), 0, 0)
        };
        let fmt_cfg = format!("feature = \"{fmt}\"");
        let cfg = if FEATURES.contains(&b.as_str()) {
            format!("#[cfg(all(feature = \"{b}\", {fmt_cfg}))]")
        } else {
            format!("#[cfg({fmt_cfg})]")
        };
        writeln!(src, "{cfg}").unwrap();
        let inc = |p: &str| {
            if p.is_empty() {
                "&[]".to_owned()
            } else {
                format!("tinyrnn::include_model!({p:?})")
            }
        };
        // Float formats compare within a tolerance; integer ones bit for bit,
        // through `Model::step` (f32 boundary) and through `IntModel::step` (i16).
        let case = format!(
            "&Case {{ name: {name:?}, model: &MODEL_{index}.0, input: {x}, expected: {y}, \
             expected_fast: {yf}, exact: {integer}, input_q: {xq}, expected_q: {yq}, \
             stress_hash: {stress_hash:#010x} }}",
            x = inc(&x_path),
            y = inc(&y_path),
            yf = inc(&yf_path),
            xq = inc(&xq_path),
            yq = inc(&yq_path),
        );
        let n = model.state_len();
        writeln!(
            bytes_src,
            "{cfg}\nstatic MODEL_{index}: &tinyrnn::Aligned<[u8]> = \
             &tinyrnn::Aligned(*include_bytes!({:?}));",
            path.display().to_string()
        )
        .unwrap();
        // Loaded while compiling from the bytes above (`static_model!` on a
        // path would include the file a second time).
        let model_static = format!(
            "static MODEL: tinyrnn::Model<'static, LAYERS> = \
             tinyrnn::static_model!(bytes MODEL_{index});"
        );
        if integer {
            writeln!(src, "run_int::<{n}, {words}, {o}>({case}, ctx);").unwrap();
            writeln!(
                statics,
                "{cfg}\n{{\n    {model_static}\n    \
                 static INT: tinyrnn::quant::IntModel<'static, 'static, LAYERS> =\n        \
                 match tinyrnn::quant::IntModel::new(&MODEL) {{\n            \
                 Ok(m) => m,\n            Err(e) => panic!(\"{{}}\", e.reason()),\n        }};\n    \
                 run_int_static::<{n}, {words}, {o}>({case}, &MODEL, &INT, ctx);\n}}"
            )
            .unwrap();
        } else {
            writeln!(src, "run::<{n}, {o}>({case}, ctx);").unwrap();
            writeln!(
                statics,
                "{cfg}\n{{\n    {model_static}\n    run_static::<{n}, {o}>({case}, &MODEL, ctx);\n}}"
            )
            .unwrap();
        }
    }
    src.push_str("}\n");
    fs::write(out.join("generated.rs"), src).unwrap();
    statics.push_str("}\n");
    fs::write(out.join("static.rs"), statics).unwrap();
    fs::write(out.join("model_bytes.rs"), bytes_src).unwrap();
    fs::write(
        out.join("capacity.rs"),
        format!(
            "/// Layers of the largest model file (generated by build.rs): the capacity\n\
             /// of the firmware's `Model`, whose layer table is part of its RAM.\n\
             pub const LAYERS: usize = {layers};\n"
        ),
    )
    .unwrap();
    rowmajor.push_str("}\n");
    fs::write(out.join("rowmajor.rs"), rowmajor).unwrap();
    // The hashes of the random-requantization LSTMs (src/stress.rs), 3 inputs and 1.
    fs::write(
        out.join("requant-hashes.rs"),
        format!(
            "[{:#010x}, {:#010x}]",
            stress::random_requant_hash::<3>(),
            stress::random_requant_hash::<1>()
        ),
    )
    .unwrap();
}
