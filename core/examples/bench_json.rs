//! Prints one JSON line per benchmark case: nanoseconds per `step()` (median
//! of several timed runs), so runs can be compared side by side with other
//! libraries.
//!
//! ```text
//! RUSTFLAGS="-C target-cpu=native" cargo run -p tinyrnn --release --example bench_json
//! RUSTFLAGS="-C target-cpu=native" cargo run -p tinyrnn --release --example bench_json -- --all
//! ```
//!
//! By default only the fast host path (`simd_fast`: ColMajor8 weights, SIMD
//! kernels, fast activations) is printed; `--all` adds its scalar and exact
//! twins, `--only VARIANT` times that variant alone (`simd_fast`, `sized_fast`,
//! `scalar_exact`, ...). Any other argument filters cases by a part of
//! `cell_IxH` (`lstm`, `gru`, `lstm_1x32`, ...). `--steps N` runs N steps of
//! each chosen case and variant once, untimed, for counting instructions:
//!
//! ```text
//! valgrind --tool=callgrind target/release/examples/bench_json --steps 4000 --only sized_fast lstm_1x32
//! ```
//!
//! `--sweep` times `Model::step` on the cases whose weights stream (the
//! 64- and 128-unit layers), sweeping as it does (forward and backward on
//! alternate steps) against forward only, in alternating runs in one
//! process:
//!
//! ```text
//! RUSTFLAGS="-C target-cpu=native" cargo run -p tinyrnn --release --example bench_json -- --sweep
//! ```
//!
//! `--int` times the integer models instead (LSTM 1x32, 16x64, GRU 1x32
//! unless filtered): the encoder's tiled weights and their row-major twin,
//! each with the SIMD and the scalar kernel, in alternating runs (a shared
//! machine drifts); `ratio` is the median of the per-run ratios to
//! `int_rowmajor_simd`.
//!
//! ```text
//! cargo run -p tinyrnn --release --example bench_json -- --int
//! ```

#[path = "../benches/cases/mod.rs"]
mod cases;
#[path = "../benches/int_cases/mod.rs"]
mod int_cases;

use std::hint::black_box;
use std::time::Instant;

use cases::{cases, inputs, model_bytes, with_sized, Case, SizedRun, VARIANTS};
use int_cases::{int_model_bytes, INT_CASES, INT_VARIANTS};
use tinyrnn::sized::{Model as Sized, Stage};
use tinyrnn::{AlignedBuf, Layout, Math, Model, ModelBuilder, StateVec};

/// Nanoseconds of CPU time this thread has run (Linux
/// `CLOCK_THREAD_CPUTIME_ID`): unlike the wall clock it stops while other
/// processes have the core, so it stays meaningful on a busy machine. `None`
/// elsewhere.
#[cfg(target_os = "linux")]
fn thread_cpu_nanos() -> Option<f64> {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec (two 64-bit fields on the
    // 64-bit Linux targets this is compiled for).
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then_some(ts.sec as f64 * 1e9 + ts.nsec as f64)
}
#[cfg(not(target_os = "linux"))]
fn thread_cpu_nanos() -> Option<f64> {
    None
}

/// Timed runs per case; the median is reported, and the minimum (the run
/// least disturbed by other processes on a shared machine).
const RUNS: usize = 101;
/// Target duration of one run: short, so that on a busy machine some runs
/// fit between other processes' time slices.
const RUN_NANOS: f64 = 1e6;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = args.iter().any(|a| a == "--all");
    // `--steps N`: run N steps once per case, untimed (for callgrind/perf).
    let fixed: Option<usize> = args
        .iter()
        .position(|a| a == "--steps")
        .and_then(|i| args.get(i + 1)?.parse().ok());
    // `--only VARIANT`: time that variant alone (`simd_fast`, `sized_fast`,
    // ...), e.g. to count one path's instructions per step under callgrind.
    let only: Option<&String> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1));
    let filter: Vec<&String> = args
        .iter()
        .filter(|a| !a.starts_with("--") && a.parse::<usize>().is_err() && Some(*a) != only)
        .collect();
    let wanted = |name: &str| only.is_none_or(|o| o == name);
    if args.iter().any(|a| a == "--int") {
        for case in cases() {
            let id = format!("{}_{}x{}", case.cell, case.input, case.hidden);
            let chosen = if filter.is_empty() {
                INT_CASES.contains(&id.as_str())
            } else {
                filter.iter().any(|f| id.contains(f.as_str()))
            };
            if chosen {
                time_int(&case);
            }
        }
        return;
    }
    if args.iter().any(|a| a == "--sweep") {
        for case in cases() {
            let id = format!("{}_{}x{}", case.cell, case.input, case.hidden);
            if filter.is_empty() || filter.iter().any(|f| id.contains(f.as_str())) {
                time_sweep(&case);
            }
        }
        return;
    }
    for case in cases() {
        let id = format!("{}_{}x{}", case.cell, case.input, case.hidden);
        if !filter.is_empty() && !filter.iter().any(|f| id.contains(f.as_str())) {
            continue;
        }
        let xs = inputs(&case);
        for v in VARIANTS
            .iter()
            .filter(|v| (all || only.is_some() || v.name == "simd_fast") && wanted(v.name))
        {
            let bytes = AlignedBuf::from_slice(&model_bytes(&case, v.layout));
            let model = Model::from_bytes(&bytes)
                .expect("loads")
                .with_kernel(v.kernel)
                .with_math(v.math);
            let mut state = StateVec::new(&model);
            let mut y = vec![0.0f32; model.output_size()];
            let t = time(fixed, &xs, case.input, |x| {
                model.step(&mut state, black_box(x), &mut y).expect("step");
                black_box(&y);
            });
            report(&case, v.name, t);
        }
        // The compile-time-sized path (`tinyrnn::sized`), fast activations.
        if !wanted("sized_fast") {
            continue;
        }
        let bytes = AlignedBuf::from_slice(&model_bytes(&case, Layout::ColMajor8));
        let model = Model::from_bytes(&bytes)
            .expect("loads")
            .with_math(Math::Fast);
        report(&case, "sized_fast", time_sized(&case, &model, &xs, fixed));
    }
}

/// Nanoseconds per step of a run: (wall median, wall minimum, thread CPU
/// median); `None` under `--steps`.
type Timing = Option<(f64, f64, Option<f64>)>;

/// Times `step` over the inputs `xs` (`input` values each, cycled): after
/// calibration, `RUNS` runs of about `RUN_NANOS`; with `fixed`, `fixed`
/// steps once, untimed (for callgrind/perf).
fn time(fixed: Option<usize>, xs: &[f32], input: usize, mut step: impl FnMut(&[f32])) -> Timing {
    // (wall ns, thread CPU ns) of `steps` steps.
    let mut run2 = |steps: usize| {
        let c = thread_cpu_nanos();
        let t = Instant::now();
        for (x, _) in xs.chunks_exact(input).cycle().zip(0..steps) {
            step(x);
        }
        let wall = t.elapsed().as_nanos() as f64;
        (wall, thread_cpu_nanos().zip(c).map(|(b, a)| b - a))
    };
    if let Some(n) = fixed {
        run2(n);
        return None;
    }
    // Calibrate: steps for about RUN_NANOS, after a warm-up.
    let mut steps = 100;
    let mut t = run2(steps).0;
    while t < RUN_NANOS / 4.0 {
        steps *= 4;
        t = run2(steps).0;
    }
    let steps = ((steps as f64) * RUN_NANOS / t).max(1.0) as usize;
    let per_step: Vec<(f64, Option<f64>)> = (0..RUNS)
        .map(|_| run2(steps))
        .map(|(w, c)| (w / steps as f64, c.map(|c| c / steps as f64)))
        .collect();
    let mut ns: Vec<f64> = per_step.iter().map(|r| r.0).collect();
    ns.sort_by(f64::total_cmp);
    let mut cpu: Vec<f64> = per_step.iter().filter_map(|r| r.1).collect();
    cpu.sort_by(f64::total_cmp);
    Some((ns[RUNS / 2], ns[0], cpu.get(cpu.len() / 2).copied()))
}

/// `--sweep`: `Model::step` (ColMajor8, SIMD, fast activations) with the
/// sweep direction alternating as it does (see `Model::step`), and with the
/// state's sweep word cleared before every step, so that every step sweeps
/// forward; 21 alternating pairs of timed runs in this one process. Prints
/// both medians and the median of the per-pair ratios (forward-only /
/// alternating). Cases whose state has no sweep word are skipped.
fn time_sweep(case: &Case) {
    use tinyrnn::StateStorage;
    let bytes = AlignedBuf::from_slice(&model_bytes(case, Layout::ColMajor8));
    let model = Model::from_bytes(&bytes)
        .expect("loads")
        .with_math(Math::Fast);
    let xs = inputs(case);
    let mut state = StateVec::new(&model);
    let mut y = vec![0.0f32; model.output_size()];
    // The word exists if the state is one longer than its parts.
    let parts = {
        let mut plain = ModelBuilder::from_model(&model);
        plain.layout(Layout::RowMajor);
        let plain = AlignedBuf::from_slice(&plain.build().expect("re-encodes"));
        Model::from_bytes(&plain).expect("loads").state_len()
    };
    if model.state_len() == parts {
        return;
    }
    let mut timed = |forward_only: bool| {
        let t = time(None, &xs, case.input, |x| {
            if forward_only {
                if let Some(w) = state.words_mut().last_mut() {
                    *w = 0.0;
                }
            }
            model.step(&mut state, black_box(x), &mut y).expect("step");
            black_box(&y);
        });
        t.map_or(f64::NAN, |t| t.0)
    };
    let (mut fwd, mut alt, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..21 {
        let (f, a) = (timed(true), timed(false));
        fwd.push(f);
        alt.push(a);
        ratio.push(f / a);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "{{\"cell\":\"{}\",\"input\":{},\"hidden\":{},\"forward_only_ns\":{:.1},\"alternating_ns\":{:.1},\"ratio\":{:.3}}}",
        case.cell,
        case.input,
        case.hidden,
        median(&mut fwd),
        median(&mut alt),
        median(&mut ratio)
    );
}

/// Prints one JSON line (nothing for an untimed run).
fn report(case: &Case, variant: &str, t: Timing) {
    let Some((median, min, cpu)) = t else {
        return;
    };
    let cpu = cpu.map_or(String::new(), |c| format!(",\"cpu_ns_per_step\":{c:.1}"));
    println!(
        "{{\"cell\":\"{}\",\"input\":{},\"hidden\":{},\"variant\":\"{}\",\"ns_per_step\":{:.1},\"min_ns_per_step\":{:.1}{}}}",
        case.cell, case.input, case.hidden, variant, median, min, cpu
    );
}

/// Times the sized twin of `case` (`tinyrnn::sized`); `None` for a case
/// without one (reset-before GRU) or an untimed run.
fn time_sized(case: &Case, model: &Model<'_>, xs: &[f32], fixed: Option<usize>) -> Timing {
    struct Time<'x>(&'x [f32], Option<usize>);
    impl<'a> SizedRun<'a> for Time<'_> {
        type Out = Timing;
        fn run<S, const I: usize>(self, model: &Model<'a>) -> Timing
        where
            S: Stage<'a, In = [f32; I]>,
            S::Out: AsRef<[f32]>,
        {
            let net = Sized::<S>::new(model).expect("the sized type fits the case");
            let mut state = net.new_state();
            time(self.1, self.0, I, |x| {
                let x: &[f32; I] = x.try_into().expect("input size");
                black_box(net.step(black_box(x), &mut state));
            })
        }
    }
    with_sized(case, model, Time(xs, fixed)).flatten()
}

/// The integer variants of `case` timed in alternating runs (each run of
/// every variant in turn, the first variant of each round rotating).
fn time_int(case: &Case) {
    let (tiled, rows) = int_model_bytes(case);
    let (tiled, rows) = (
        AlignedBuf::from_slice(&tiled),
        AlignedBuf::from_slice(&rows),
    );
    let models: Vec<Model> = INT_VARIANTS
        .iter()
        .map(|v| {
            Model::from_bytes(if v.tiled { &tiled } else { &rows })
                .expect("loads")
                .with_kernel(v.kernel)
        })
        .collect();
    let xs = inputs(case);
    let mut states: Vec<StateVec> = models.iter().map(StateVec::new).collect();
    let mut ys: Vec<Vec<f32>> = models.iter().map(|m| vec![0.0; m.output_size()]).collect();
    // (wall ns, thread CPU ns) per step of `steps` steps of variant `v`.
    let mut run = |v: usize, steps: usize| {
        let (m, s, y) = (&models[v], &mut states[v], &mut ys[v]);
        let c = thread_cpu_nanos();
        let t = Instant::now();
        for (x, _) in xs.chunks_exact(case.input).cycle().zip(0..steps) {
            m.step(s, black_box(x), y).expect("step");
        }
        black_box(&y);
        let wall = t.elapsed().as_nanos() as f64 / steps as f64;
        let cpu = thread_cpu_nanos()
            .zip(c)
            .map(|(b, a)| (b - a) / steps as f64);
        (wall, cpu)
    };
    let n = models.len();
    // Steps per run: about RUN_NANOS of the slowest variant, after a warm-up.
    let slowest = (0..n).map(|v| run(v, 1000).0).fold(0.0, f64::max);
    let steps = ((RUN_NANOS / slowest) as usize).max(1);
    let mut t: Vec<Vec<(f64, Option<f64>)>> = vec![Vec::new(); n];
    for round in 0..RUNS {
        for j in 0..n {
            let v = (round + j) % n;
            t[v].push(run(v, steps));
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    };
    for (v, var) in INT_VARIANTS.iter().enumerate() {
        let wall = median(t[v].iter().map(|r| r.0).collect()).unwrap_or(0.0);
        let min = t[v].iter().map(|r| r.0).fold(f64::INFINITY, f64::min);
        let ratio = median(t[v].iter().zip(&t[0]).map(|(a, b)| a.0 / b.0).collect());
        let cpu = median(t[v].iter().filter_map(|r| r.1).collect())
            .map_or(String::new(), |c| format!(",\"cpu_ns_per_step\":{c:.1}"));
        println!(
            "{{\"cell\":\"{}\",\"input\":{},\"hidden\":{},\"variant\":\"{}\",\"ns_per_step\":{:.1},\"min_ns_per_step\":{:.1},\"ratio\":{:.3}{}}}",
            case.cell, case.input, case.hidden, var.name, wall, min, ratio.unwrap_or(0.0), cpu
        );
    }
    // Every variant stepped the same inputs from the same start: same bits.
    let same = ys.iter().all(|y| {
        y.iter()
            .zip(&ys[0])
            .all(|(a, b)| a.to_bits() == b.to_bits())
    });
    assert!(same, "{}: integer variants differ", case.cell);
}
