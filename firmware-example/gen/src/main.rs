//! Host side of the firmware example.
//!
//! ```text
//! cargo run --manifest-path firmware-example/gen/Cargo.toml -- synth    # stand-in models + expectations
//! cargo run --manifest-path firmware-example/gen/Cargo.toml -- expect   # expectations for the .trnn files there
//! ```
//!
//! `synth` writes the four stand-in models (deterministic random weights) to
//! `firmware-example/models/NAME.trnn`, then does what `expect` does.
//! `expect` reads each `models/NAME.trnn` (whoever wrote it: this program or the
//! `tinyrnn` trainer), streams a recorded input one sample per step through the
//! same `tinyrnn` crate the firmware runs, and writes
//! `NAME.input.bin` (T x I f32, little-endian), `NAME.expected.bin` (T x O f32)
//! and `models/generated.rs`, the table the firmware includes.
//! If `models/NAME.input.csv` exists (one step per line, I comma-separated
//! numbers) it is the recorded input; otherwise a synthetic sensor trace is used.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use tinyrnn::{Activation, AlignedBuf, GruVariant, Model, ModelBuilder, StateVec};

/// Models the firmware knows by name (each has a cargo feature there).
const NAMES: [&str; 4] = ["lstm1x32", "gru1x32", "elman1x32", "lstm16x64"];
/// Steps of the synthetic input trace.
const STEPS: usize = 64;

/// SplitMix64: a tiny, fixed, dependency-free generator so the files are reproducible.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [-a, a).
    fn uniform(&mut self, a: f32) -> f32 {
        let u = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        (2.0 * u - 1.0) * a
    }
    fn vec(&mut self, n: usize, a: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(a)).collect()
    }
}

/// A stand-in model with PyTorch's default init scale, U(-1/sqrt(H), 1/sqrt(H)).
fn synth(name: &str) -> Vec<u8> {
    let mut rng = Rng(0x7177_0000 ^ name.len() as u64 ^ u64::from(name.as_bytes()[0]) << 8);
    let (input, hidden) = match name {
        "lstm16x64" => (16, 64),
        _ => (1, 32),
    };
    let a = 1.0 / (hidden as f32).sqrt();
    let mut b = ModelBuilder::new(input);
    match name {
        "lstm1x32" | "lstm16x64" => {
            let g = 4 * hidden;
            b.lstm(
                hidden,
                &rng.vec(g * input, a),
                &rng.vec(g * hidden, a),
                &rng.vec(g, a),
            );
        }
        "gru1x32" => {
            let g = 3 * hidden;
            b.gru(
                hidden,
                GruVariant::ResetAfter,
                &rng.vec(g * input, a),
                &rng.vec(g * hidden, a),
                &rng.vec(g, a),
                &rng.vec(g, a),
            );
        }
        "elman1x32" => {
            b.elman(
                hidden,
                Activation::Tanh,
                &rng.vec(hidden * input, a),
                &rng.vec(hidden * hidden, a),
                &rng.vec(hidden, a),
            );
        }
        _ => unreachable!("unknown model {name}"),
    }
    // The 1 x H models end in a Dense(H -> 1) head; 16x64 is the bare LSTM (as
    // CMSIS-NN's reference figure is), so its output is h.
    if input == 1 {
        b.dense(1, Activation::Linear, &rng.vec(hidden, a), &rng.vec(1, a));
    }
    b.metadata(format!("tinyrnn firmware-example stand-in {name}, gen synth").as_bytes());
    b.build().expect("stand-in model builds")
}

/// The recorded input: `models/NAME.input.csv` if present, else a synthetic
/// sensor trace (two sines plus deterministic noise per channel).
fn recorded_input(dir: &Path, name: &str, width: usize) -> Vec<f32> {
    let csv = dir.join(format!("{name}.input.csv"));
    if let Ok(text) = fs::read_to_string(&csv) {
        let mut xs = Vec::new();
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let row: Vec<f32> = line
                .split(',')
                .map(|v| v.trim().parse().unwrap_or_else(|e| panic!("{}:{}: {e}", csv.display(), n + 1)))
                .collect();
            assert_eq!(row.len(), width, "{}:{}: expected {width} values", csv.display(), n + 1);
            xs.extend(row);
        }
        return xs;
    }
    let mut rng = Rng(0x5e75_0123);
    let mut xs = Vec::with_capacity(STEPS * width);
    for t in 0..STEPS {
        for ch in 0..width {
            let ph = t as f32 * 0.21 + ch as f32 * 0.7;
            xs.push(0.8 * ph.sin() + 0.3 * (2.9 * ph).cos() + rng.uniform(0.1));
        }
    }
    xs
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Streams the recorded input through `models/NAME.trnn`, writes its
/// input/expected files, and returns the entry for `generated.rs`.
fn expect(dir: &Path, name: &str) -> String {
    let path = dir.join(format!("{name}.trnn"));
    let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let bytes = AlignedBuf::from_slice(&bytes);
    let model = Model::from_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (i, o) = (model.input_size(), model.output_size());
    let xs = recorded_input(dir, name, i);
    let steps = xs.len() / i;
    let mut ys = vec![0.0f32; steps * o];
    let mut state = StateVec::new(&model);
    model.run_sequence(&mut state, &xs, &mut ys).expect("host step");
    fs::write(dir.join(format!("{name}.input.bin")), f32_bytes(&xs)).unwrap();
    fs::write(dir.join(format!("{name}.expected.bin")), f32_bytes(&ys)).unwrap();
    let kinds: Vec<&str> = model.layers().iter().map(|l| l.kind_name()).collect();
    println!(
        "{name}: {} -> {o}, layers {kinds:?}, {} params, {} MACs/step, {} state words, {steps} steps, file {} bytes",
        i,
        model.param_count(),
        model.macs_per_step(),
        model.state_len(),
        bytes.len()
    );
    // Float formats compare within a tolerance; an integer model (once the
    // format exists) bit for bit. Every layer of these files is f32.
    let exact = false;
    let cfg = if NAMES.contains(&name) {
        format!("#[cfg(feature = \"{name}\")]\n")
    } else {
        String::new()
    };
    let f = |ext: &str| format!("concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/models/{name}.{ext}\")");
    format!(
        "{cfg}run::<{words}>(
    &Case {{
        name: \"{name}\",
        model: tinyrnn::include_model!({m}),
        input: tinyrnn::include_model!({x}),
        expected: tinyrnn::include_model!({y}),
        exact: {exact},
    }},
    ctx,
);\n",
        words = model.state_len(),
        m = f("trnn"),
        x = f("input.bin"),
        y = f("expected.bin"),
    )
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    fs::create_dir_all(&dir).unwrap();
    match mode.as_str() {
        "synth" => {
            for name in NAMES {
                fs::write(dir.join(format!("{name}.trnn")), synth(name)).unwrap();
            }
        }
        "expect" => {}
        _ => {
            eprintln!("usage: gen synth | gen expect");
            std::process::exit(2);
        }
    }
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "trnn").then(|| p.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort_by_key(|n| (NAMES.iter().position(|k| k == n).unwrap_or(usize::MAX), n.clone()));
    let mut src = String::from(
        "// Generated by `cargo run --manifest-path firmware-example/gen/Cargo.toml -- expect`.\n\
         // Do not edit: one `run::<STATE_WORDS>` call per model file in this folder.\n{\n",
    );
    for name in &names {
        write!(src, "{}", expect(&dir, name)).unwrap();
    }
    src.push_str("}\n");
    fs::write(dir.join("generated.rs"), src).unwrap();
}
