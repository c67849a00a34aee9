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
//! twins. Any other argument filters cases by a part of `cell_IxH` (`lstm`, `gru`,
//! `lstm_1x32`, ...).

#[path = "../benches/cases/mod.rs"]
mod cases;

use std::hint::black_box;
use std::time::Instant;

use cases::{cases, inputs, model_bytes, VARIANTS};
use tinyrnn::{AlignedBuf, Model, StateVec};

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
    let filter: Vec<&String> = args
        .iter()
        .filter(|a| !a.starts_with("--") && a.parse::<usize>().is_err())
        .collect();
    for case in cases() {
        let id = format!("{}_{}x{}", case.cell, case.input, case.hidden);
        if !filter.is_empty() && !filter.iter().any(|f| id.contains(f.as_str())) {
            continue;
        }
        for v in VARIANTS.iter().filter(|v| all || v.name == "simd_fast") {
            let bytes = AlignedBuf::from_slice(&model_bytes(&case, v.layout));
            let model = Model::from_bytes(&bytes)
                .expect("loads")
                .with_kernel(v.kernel)
                .with_math(v.math);
            let xs = inputs(&case);
            let mut state = StateVec::new(&model);
            let mut y = vec![0.0f32; model.output_size()];
            // (wall ns, thread CPU ns) of `steps` steps.
            let mut run2 = |steps: usize| {
                let c = thread_cpu_nanos();
                let t = Instant::now();
                for (x, _) in xs.chunks_exact(case.input).cycle().zip(0..steps) {
                    model.step(&mut state, black_box(x), &mut y).expect("step");
                }
                black_box(&y);
                let wall = t.elapsed().as_nanos() as f64;
                (wall, thread_cpu_nanos().zip(c).map(|(b, a)| b - a))
            };
            if let Some(n) = fixed {
                run2(n);
                continue;
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
            let (median, min) = (ns[RUNS / 2], ns[0]);
            let mut cpu: Vec<f64> = per_step.iter().filter_map(|r| r.1).collect();
            cpu.sort_by(f64::total_cmp);
            let cpu = cpu
                .get(cpu.len() / 2)
                .map_or(String::new(), |c| format!(",\"cpu_ns_per_step\":{c:.1}"));
            println!(
                "{{\"cell\":\"{}\",\"input\":{},\"hidden\":{},\"variant\":\"{}\",\"ns_per_step\":{:.1},\"min_ns_per_step\":{:.1}{}}}",
                case.cell, case.input, case.hidden, v.name, median, min, cpu
            );
        }
    }
}
