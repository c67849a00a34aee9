//! Host side of the firmware example, used by `models/make.sh`:
//!
//! ```text
//! gen data DIR        # the training data (.npy) and the recorded inputs (models/*.input.csv)
//! gen colmajor IN OUT # re-encodes an f32 model file in the ColMajor8 layout
//! ```
//!
//! Two small sensor-like tasks, deterministic (fixed seeds):
//! - `sine` (input width 1): a noisy sine of random amplitude, frequency and
//!   phase; the target at every step is the clean value one step ahead
//!   (per-step regression). For the LSTM, GRU and Elman 1x32 models.
//! - `vib16` (input width 16): a 16-channel vibration trace (think four
//!   3-axis accelerometers plus four other sensors) whose dominant frequency
//!   says which of 4 machine states it is in; per-step class label. For the
//!   LSTM 16x64 model.
//!
//! `DIR/{sine,vib16}/` gets `X.npy` (N x T x F float32), `y.npy` (targets),
//! `Xcal.npy` (the first 256 training sequences, for integer calibration),
//! `Xval.npy`/`yval.npy` (held-out sequences). The recorded inputs the
//! firmware streams are one further held-out sequence of each task.

use std::fs;
use std::path::{Path, PathBuf};

mod rng;

use rng::Rng;
use tinyrnn::{AlignedBuf, Layout, Model, ModelBuilder};

/// Steps per training sequence.
const T: usize = 64;
/// Steps of the recorded input the firmware streams.
const T_REC: usize = 64;
/// Models that stream the `sine` trace.
const SINE_MODELS: [&str; 3] = ["lstm1x32", "gru1x32", "elman1x32"];

/// A `.npy` file (format 1.0, C order) of little-endian `descr` values.
fn write_npy(path: &Path, descr: &str, shape: &[usize], body: Vec<u8>) {
    let dims = shape
        .iter()
        .map(|d| format!("{d},"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}");
    // Magic (6) + version (2) + length (2) + header + '\n', padded to 64 bytes.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend(body);
    fs::write(path, out).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn f32_npy(path: &Path, shape: &[usize], v: &[f32]) {
    assert_eq!(shape.iter().product::<usize>(), v.len());
    write_npy(
        path,
        "<f4",
        shape,
        v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    );
}

fn i64_npy(path: &Path, shape: &[usize], v: &[i64]) {
    assert_eq!(shape.iter().product::<usize>(), v.len());
    write_npy(
        path,
        "<i8",
        shape,
        v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    );
}

/// Approximately normal noise with standard deviation `sd` (sum of 4 uniforms).
fn noise(rng: &mut Rng, sd: f32) -> f32 {
    // Var of U(-1,1) is 1/3; four of them: 4/3.
    let s: f32 = (0..4).map(|_| rng.uniform(1.0)).sum();
    s * sd / (4.0f32 / 3.0).sqrt()
}

/// One `sine` sequence of `t` steps: inputs (t) and targets (t).
fn sine_seq(rng: &mut Rng, t: usize) -> (Vec<f32>, Vec<f32>) {
    let amp = 1.0 + rng.uniform(0.5);
    let freq = 0.05 + rng.uniform(0.03);
    let phase = std::f32::consts::PI * (1.0 + rng.uniform(1.0));
    let clean = |k: usize| amp * (std::f32::consts::TAU * freq * k as f32 + phase).sin();
    let x = (0..t).map(|k| clean(k) + noise(rng, 0.1)).collect();
    let y = (0..t).map(|k| clean(k + 1)).collect();
    (x, y)
}

/// Dominant frequency (cycles per step) of each `vib16` class.
const VIB_FREQ: [f32; 4] = [0.03, 0.06, 0.10, 0.15];

/// One `vib16` sequence of `t` steps of class `class`: inputs (t x 16).
fn vib_seq(rng: &mut Rng, t: usize, class: usize) -> Vec<f32> {
    let f = VIB_FREQ[class] * (1.0 + rng.uniform(0.08));
    let ch: Vec<(f32, f32, f32)> = (0..16)
        .map(|_| {
            let gain = 0.2 + 0.8 * (0.5 + 0.5 * rng.uniform(1.0));
            let phase = std::f32::consts::PI * rng.uniform(1.0);
            let offset = rng.uniform(0.5); // gravity / bias per channel
            (gain, phase, offset)
        })
        .collect();
    let mut x = Vec::with_capacity(t * 16);
    for k in 0..t {
        for &(gain, phase, offset) in &ch {
            let s = gain * (std::f32::consts::TAU * f * k as f32 + phase).sin();
            x.push(offset + s + noise(rng, 0.25));
        }
    }
    x
}

/// Writes one recorded input: one step per line, values comma-separated.
fn write_csv(path: &Path, xs: &[f32], width: usize, what: &str) {
    let mut s = format!("# {what}\n");
    for row in xs.chunks_exact(width) {
        let line: Vec<String> = row.iter().map(|v| format!("{v}")).collect();
        s.push_str(&line.join(","));
        s.push('\n');
    }
    fs::write(path, s).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn data(dir: &Path, models: &Path) {
    // sine: 1024 training + 256 validation sequences, then the recorded one.
    let (n, nval) = (1024, 256);
    let d = dir.join("sine");
    fs::create_dir_all(&d).unwrap();
    let mut rng = Rng(0x5e11_0001);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..n + nval {
        let (a, b) = sine_seq(&mut rng, T);
        x.extend(a);
        y.extend(b);
    }
    let cut = n * T;
    f32_npy(&d.join("X.npy"), &[n, T, 1], &x[..cut]);
    f32_npy(&d.join("y.npy"), &[n, T, 1], &y[..cut]);
    f32_npy(&d.join("Xcal.npy"), &[256, T, 1], &x[..256 * T]);
    f32_npy(&d.join("Xval.npy"), &[nval, T, 1], &x[cut..]);
    f32_npy(&d.join("yval.npy"), &[nval, T, 1], &y[cut..]);
    let (rec, _) = sine_seq(&mut rng, T_REC);
    for m in SINE_MODELS {
        write_csv(
            &models.join(format!("{m}.input.csv")),
            &rec,
            1,
            "sine task: a held-out noisy sine (gen data), one step per line",
        );
    }

    // vib16: 2048 training + 256 validation sequences, classes about in turn.
    let (n, nval) = (2048, 256);
    let d = dir.join("vib16");
    fs::create_dir_all(&d).unwrap();
    let mut rng = Rng(0x0716_0002);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for s in 0..n + nval {
        let class = (s + (rng.next_u64() as usize % 2)) % 4;
        x.extend(vib_seq(&mut rng, T, class));
        y.extend(std::iter::repeat_n(class as i64, T));
    }
    let cut = n * T;
    f32_npy(&d.join("X.npy"), &[n, T, 16], &x[..cut * 16]);
    i64_npy(&d.join("y.npy"), &[n, T], &y[..cut]);
    f32_npy(&d.join("Xcal.npy"), &[256, T, 16], &x[..256 * T * 16]);
    f32_npy(&d.join("Xval.npy"), &[nval, T, 16], &x[cut * 16..]);
    i64_npy(&d.join("yval.npy"), &[nval, T], &y[cut..]);
    // The recorded trace: half a sequence of class 1, then half of class 3
    // (a change of machine state while streaming).
    let mut rec = vib_seq(&mut rng, T_REC / 2, 1);
    rec.extend(vib_seq(&mut rng, T_REC - T_REC / 2, 3));
    write_csv(
        &models.join("lstm16x64.input.csv"),
        &rec,
        16,
        "vib16 task: held-out 16-channel trace, class 1 then class 3 (gen data), one step per line",
    );
}

fn colmajor(src: &Path, dst: &Path) {
    let bytes =
        AlignedBuf::from_slice(&fs::read(src).unwrap_or_else(|e| panic!("{}: {e}", src.display())));
    let model = Model::from_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    let out = ModelBuilder::from_model(&model)
        .layout(Layout::ColMajor8)
        .build()
        .unwrap_or_else(|e| panic!("{}: re-encoding: {e}", src.display()));
    fs::write(dst, &out).unwrap_or_else(|e| panic!("{}: {e}", dst.display()));
    println!(
        "{}: ColMajor8, {} -> {} bytes",
        dst.display(),
        bytes.len(),
        out.len()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let models: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["data", dir] => data(Path::new(dir), &models),
        ["colmajor", src, dst] => colmajor(Path::new(src), Path::new(dst)),
        _ => {
            eprintln!("usage: gen data DIR | gen colmajor IN.trnn OUT.trnn   (see models/make.sh)");
            std::process::exit(2);
        }
    }
}
