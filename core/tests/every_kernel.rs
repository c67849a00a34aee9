//! Every kernel (scalar and SIMD), every activation path (exact and fast) and
//! every weight layout against the committed goldens: the ONNX Runtime
//! single-cell cases and the stacked-model references under `tests/golden`,
//! all within 1e-5. The golden readers are the test crate's own, included here.

#[path = "../../tests/src/lib.rs"]
#[allow(dead_code)]
mod golden;

mod common;
use common::values;

use tinyrnn::{AlignedBuf, Kernel, Layout, Math, Model, ModelBuilder, StateVec};

/// Largest absolute difference allowed from the golden outputs.
const TOL: f32 = 1e-5;

/// The variants every golden runs under.
const VARIANTS: [(Layout, Kernel, Math); 8] = [
    (Layout::RowMajor, Kernel::Scalar, Math::Exact),
    (Layout::RowMajor, Kernel::Scalar, Math::Fast),
    (Layout::RowMajor, Kernel::Simd, Math::Exact),
    (Layout::RowMajor, Kernel::Simd, Math::Fast),
    (Layout::ColMajor8, Kernel::Scalar, Math::Exact),
    (Layout::ColMajor8, Kernel::Scalar, Math::Fast),
    (Layout::ColMajor8, Kernel::Simd, Math::Exact),
    (Layout::ColMajor8, Kernel::Simd, Math::Fast),
];

/// The JSON files of a golden subfolder of the test crate, sorted.
fn golden_files(sub: &str) -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/golden")
        .join(sub);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// Re-encodes row-major model bytes into `layout`.
fn relayout(bytes: &[u8], layout: Layout) -> AlignedBuf {
    let src = AlignedBuf::from_slice(bytes);
    let model = Model::from_bytes(&src).expect("golden model loads");
    let out = ModelBuilder::from_model(&model)
        .layout(layout)
        .build()
        .expect("re-encodes");
    AlignedBuf::from_slice(&out)
}

#[test]
fn onnx_goldens_under_every_kernel() {
    let files = golden_files("onnx");
    assert_eq!(files.len(), 90);
    for (layout, kernel, math) in VARIANTS {
        let mut worst = 0.0f32;
        for path in &files {
            let case = golden::onnx_case(path);
            let bytes = relayout(&case.model, layout);
            let model = Model::from_bytes(&bytes)
                .unwrap()
                .with_kernel(kernel)
                .with_math(math);
            let err = golden::case_error(&model, &case);
            assert!(
                err <= TOL,
                "{layout:?} {kernel:?} {math:?} {}: {err:e}",
                case.name
            );
            worst = golden::worst(worst, err);
        }
        println!("onnx goldens {layout:?} {kernel:?} {math:?}: max abs error {worst:.3e}");
    }
}

#[test]
fn stack_goldens_under_every_kernel() {
    for path in golden_files("stack") {
        let v = golden::read_json(&path);
        for (layout, kernel, math) in VARIANTS {
            let bytes = relayout(&golden::stack_model(&v), layout);
            let model = Model::from_bytes(&bytes)
                .unwrap()
                .with_kernel(kernel)
                .with_math(math);
            let err = golden::stack_error(&model, &v);
            assert!(
                err <= TOL as f64,
                "{} {layout:?} {kernel:?} {math:?}: {err:e}",
                path.display()
            );
        }
    }
}

#[test]
fn panel_layout_round_trips_to_the_same_row_major_file() {
    for path in golden_files("stack") {
        let row = golden::stack_model(&golden::read_json(&path));
        let panel = relayout(&row, Layout::ColMajor8);
        let back = relayout(&panel, Layout::RowMajor);
        assert_eq!(&back[..], &row[..], "{}", path.display());
    }
}

/// Random models of odd sizes fed edge values: every kernel, layout and
/// activation path agrees with the scalar exact row-major reference (NaN where
/// it is NaN, within 1e-5 where it is finite and at most 1 in magnitude, within
/// a relative 1e-4 beyond: ReLU cells fed 1e30 sum huge terms in other orders).
#[test]
fn random_models_with_edge_inputs_agree_across_kernels() {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut rnd = move |n: usize, s: f32| values(&mut seed, n, s);
    let edges = [
        0.0,
        1.0,
        -1.0,
        1e30,
        -1e30,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
    ];
    for (i, h) in [(1, 1), (1, 7), (3, 8), (7, 33), (2, 129)] {
        for cell in 0..5 {
            let s = 1.0 / (h as f32).sqrt();
            let mut b = ModelBuilder::new(i);
            match cell {
                0 => b.elman(
                    h,
                    tinyrnn::Activation::Tanh,
                    &rnd(h * i, s),
                    &rnd(h * h, s),
                    &rnd(h, s),
                ),
                1 => b.elman(
                    h,
                    tinyrnn::Activation::Relu,
                    &rnd(h * i, s),
                    &rnd(h * h, s),
                    &rnd(h, s),
                ),
                2 => b.lstm(h, &rnd(4 * h * i, s), &rnd(4 * h * h, s), &rnd(4 * h, s)),
                v => b.gru(
                    h,
                    if v == 3 {
                        tinyrnn::GruVariant::ResetAfter
                    } else {
                        tinyrnn::GruVariant::ResetBefore
                    },
                    &rnd(3 * h * i, s),
                    &rnd(3 * h * h, s),
                    &rnd(3 * h, s),
                    &rnd(3 * h, s),
                ),
            };
            let row = b.build().unwrap();
            let mut xs = rnd(40 * i, 2.0);
            for (k, e) in edges.iter().enumerate() {
                let at = (5 * k + 3) % xs.len();
                xs[at] = *e;
            }
            let run = |layout, kernel, math| -> Vec<f32> {
                let bytes = relayout(&row, layout);
                let model = Model::from_bytes(&bytes)
                    .unwrap()
                    .with_kernel(kernel)
                    .with_math(math);
                let mut state = StateVec::new(&model);
                let mut ys = vec![0.0; 40 * h];
                model.run_sequence(&mut state, &xs, &mut ys).unwrap();
                ys
            };
            let want = run(Layout::RowMajor, Kernel::Scalar, Math::Exact);
            for (layout, kernel, math) in VARIANTS {
                let got = run(layout, kernel, math);
                for (t, (a, b)) in got.iter().zip(&want).enumerate() {
                    let ok = if a == b {
                        true
                    } else if b.is_nan() {
                        a.is_nan()
                    } else {
                        (a - b).abs() <= if b.abs() <= 1.0 { 1e-5 } else { 1e-4 * b.abs() }
                    };
                    assert!(
                        ok,
                        "cell {cell} {i}x{h} {layout:?} {kernel:?} {math:?} output {t}: {a} vs {b}"
                    );
                }
            }
        }
    }
}

#[test]
fn column_major_tensors_start_on_cache_lines() {
    // Headers of every length modulo 64 (the metadata shifts the payload).
    let mut r = 0x1234_5678u32;
    let mut vals = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| {
                r ^= r << 13;
                r ^= r >> 17;
                r ^= r << 5;
                (r as f32 / u32::MAX as f32) - 0.5
            })
            .collect()
    };
    for meta in 0..80 {
        let mut b = ModelBuilder::new(3);
        b.layout(Layout::ColMajor8);
        b.metadata(&vec![7u8; meta]);
        b.lstm(12, &vals(4 * 12 * 3), &vals(4 * 12 * 12), &vals(4 * 12));
        b.gru(
            5,
            tinyrnn::GruVariant::ResetAfter,
            &vals(3 * 5 * 12),
            &vals(3 * 5 * 5),
            &vals(15),
            &vals(15),
        );
        b.elman(9, tinyrnn::Activation::Tanh, &vals(45), &vals(81), &vals(9));
        b.dense(2, tinyrnn::Activation::Linear, &vals(18), &vals(2));
        let bytes = AlignedBuf::from_slice(&b.build().unwrap());
        assert_eq!(
            bytes.as_ptr() as usize % 64,
            0,
            "AlignedBuf is on a cache line"
        );
        let model = Model::from_bytes(&bytes).unwrap();
        for (i, layer) in model.layers().iter().enumerate() {
            let tensors: Vec<&[f32]> = match layer {
                tinyrnn::Layer::Lstm(l) => vec![l.w_x, l.w_h, l.b],
                tinyrnn::Layer::Gru(l) => vec![l.w_x, l.w_h, l.b_x, l.b_h],
                tinyrnn::Layer::Elman(l) => vec![l.w_x, l.w_h, l.b],
                _ => vec![],
            };
            for (t, w) in tensors.iter().enumerate() {
                assert_eq!(
                    w.as_ptr() as usize % 64,
                    0,
                    "metadata {meta} B: layer {i} tensor {t} is not on a cache line"
                );
            }
        }
    }
}
