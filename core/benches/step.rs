//! `cargo bench -p tinyrnn`: ns per `step()` of every case (Elman, LSTM, GRU
//! both variants, at 1x8 .. 1x128 and 16x64; LSTM 1x32 + Dense 32→1), the fast
//! host path next to its scalar and exact twins and its compile-time-sized
//! twin (`sized_fast`, `tinyrnn::sized`); then the integer LSTM 1x32,
//! 16x64 and GRU 1x32, weights tiled (the encoder's) and row-major, SIMD and
//! scalar kernels (groups `int_*`). For the fastest build add
//! `RUSTFLAGS="-C target-cpu=native"` (see README.md). For one JSON line per
//! case use `examples/bench_json.rs` (`--int` for the integer models, timed in
//! alternation).

mod cases;
mod int_cases;

use std::hint::black_box;
use std::time::Duration;

use cases::{cases, inputs, model_bytes, with_sized, Case, SizedRun, VARIANTS};
use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
use int_cases::{int_model_bytes, INT_CASES, INT_VARIANTS};
use tinyrnn::sized::{Model as Sized, Stage};
use tinyrnn::{AlignedBuf, Layout, Math, Model, StateVec};

/// A group with the settings every case uses.
fn group<'a>(c: &'a mut Criterion, name: String) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20)
        .throughput(Throughput::Elements(1));
    group
}

/// One benchmark: `model.step` on the case's inputs, cycled.
fn bench_step(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, model: &Model, case: &Case) {
    let xs = inputs(case);
    let mut state = StateVec::new(model);
    let mut y = vec![0.0f32; model.output_size()];
    let mut inputs = xs.chunks_exact(case.input).cycle();
    group.bench_function(BenchmarkId::from_parameter(name), |b| {
        b.iter(|| {
            let x = inputs.next().unwrap_or(&[]);
            model.step(&mut state, black_box(x), &mut y).expect("step");
        })
    });
}

/// One benchmark of the sized twin of a case, `sized_fast`.
struct BenchSized<'g, 'c, 'k>(&'g mut BenchmarkGroup<'c, WallTime>, &'k Case);

impl<'a> SizedRun<'a> for BenchSized<'_, '_, '_> {
    type Out = ();
    fn run<S, const I: usize>(self, model: &Model<'a>)
    where
        S: Stage<'a, In = [f32; I]>,
        S::Out: AsRef<[f32]>,
    {
        let net = Sized::<S>::new(model).expect("the sized type fits the case");
        let mut state = net.new_state();
        let xs = inputs(self.1);
        let mut inputs = xs.as_chunks::<I>().0.iter().cycle();
        self.0
            .bench_function(BenchmarkId::from_parameter("sized_fast"), |b| {
                b.iter(|| {
                    let x = inputs.next().expect("inputs");
                    black_box(net.step(black_box(x), &mut state));
                })
            });
    }
}

fn step(c: &mut Criterion) {
    for case in cases() {
        let mut group = group(c, format!("{}_{}x{}", case.cell, case.input, case.hidden));
        for v in VARIANTS {
            let bytes = AlignedBuf::from_slice(&model_bytes(&case, v.layout));
            let model = Model::from_bytes(&bytes)
                .expect("loads")
                .with_kernel(v.kernel)
                .with_math(v.math);
            bench_step(&mut group, v.name, &model, &case);
        }
        // The compile-time-sized twin (`tinyrnn::sized`), fast activations.
        let bytes = AlignedBuf::from_slice(&model_bytes(&case, Layout::ColMajor8));
        let model = Model::from_bytes(&bytes)
            .expect("loads")
            .with_math(Math::Fast);
        with_sized(&case, &model, BenchSized(&mut group, &case));
        group.finish();
    }
    for case in cases() {
        let id = format!("{}_{}x{}", case.cell, case.input, case.hidden);
        if !INT_CASES.contains(&id.as_str()) {
            continue;
        }
        let mut group = group(c, format!("int_{id}"));
        let (tiled, rows) = int_model_bytes(&case);
        let (tiled, rows) = (
            AlignedBuf::from_slice(&tiled),
            AlignedBuf::from_slice(&rows),
        );
        for v in INT_VARIANTS {
            let model = Model::from_bytes(if v.tiled { &tiled } else { &rows })
                .expect("loads")
                .with_kernel(v.kernel);
            bench_step(&mut group, v.name, &model, &case);
        }
        group.finish();
    }
}

criterion_group!(benches, step);
criterion_main!(benches);
