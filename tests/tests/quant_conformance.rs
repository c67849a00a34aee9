//! tinyrnn's f16 and i8 layers against ONNX Runtime: the committed goldens
//! under `golden/quant` and `golden/quant_stack` (made by
//! `golden/make_quant_golden.py`). The script
//! quantizes the weights by the rules of `core/FORMAT.md` and runs ONNX
//! Runtime on the decoded weights; here the same f32 weights go through
//! tinyrnn's own encoder (`ModelBuilder::quantize`) and its runtime, one step
//! at a time, under every kernel and both activation paths. A weight the
//! encoder rounded to another code than the script's would move the outputs
//! by about 1e-3, a hundred times the tolerance.

use std::collections::BTreeMap;

use tinyrnn::quant::NumFormat;
use tinyrnn::{AlignedBuf, Kernel, Layer, Math, Model, ModelBuilder};
use tinyrnn_tests::{golden_files, onnx_case, read_json, stack_model};

/// Largest absolute difference allowed from ONNX Runtime's float32 output.
const TOL: f32 = 1e-5;

/// The format a golden file names (`"format": "f16"` or `"i8"`).
fn format_of(v: &serde_json::Value, name: &str) -> NumFormat {
    match v["format"].as_str() {
        Some("f16") => NumFormat::F16,
        Some("i8") => NumFormat::I8,
        other => panic!("{name}: format {other:?}"),
    }
}

/// `bytes` loaded under both kernels and both activation paths, each with
/// its label; panics unless every layer is in `format`.
fn variants<'a>(bytes: &'a AlignedBuf, format: NumFormat, name: &str) -> Vec<(String, Model<'a>)> {
    let mut out = Vec::new();
    for kernel in [Kernel::Scalar, Kernel::native()] {
        for math in [Math::Exact, Math::Fast] {
            let model = Model::from_bytes(bytes)
                .expect("quantized model loads")
                .with_kernel(kernel)
                .with_math(math);
            assert!(
                model
                    .layers()
                    .iter()
                    .all(|l| matches!(l, Layer::Quant(q) if q.format() == format)),
                "{name}: not every layer is {format:?}"
            );
            out.push((format!("{name} {kernel:?} {math:?}"), model));
        }
    }
    out
}

/// The f32 model file `f32_bytes` re-encoded by tinyrnn's encoder with
/// every layer in `format`.
fn quantized(f32_bytes: &[u8], format: NumFormat, name: &str) -> AlignedBuf {
    let f32_bytes = AlignedBuf::from_slice(f32_bytes);
    let f32_model = Model::from_bytes(&f32_bytes).expect("f32 model loads");
    let bytes = ModelBuilder::from_model(&f32_model)
        .quantize(format)
        .build()
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    AlignedBuf::from_slice(&bytes)
}

#[test]
fn f16_and_i8_layers_match_onnx_runtime_on_the_decoded_weights() {
    let files = golden_files("quant");
    assert_eq!(
        files.len(),
        40,
        "expected 5 cell kinds x 2 input sizes x 2 hidden sizes x 2 formats"
    );
    let mut worst: BTreeMap<String, f32> = BTreeMap::new();
    let mut failures = Vec::new();
    for path in &files {
        let case = onnx_case(path);
        let format = format_of(&read_json(path), &case.name);
        let bytes = quantized(&case.model, format, &case.name);
        for (label, model) in variants(&bytes, format, &case.name) {
            let err = tinyrnn_tests::case_error(&model, &case);
            assert!(!err.is_nan(), "{label}: NaN output");
            if err > TOL {
                failures.push(format!("{label}: max abs error {err:e}"));
            }
            let kind = case.name.split("_i").next().unwrap().to_string();
            let fmt = case.name.rsplit('_').next().unwrap();
            let w = worst.entry(format!("{kind} {fmt}")).or_insert(0.0);
            *w = tinyrnn_tests::worst(*w, err);
        }
    }
    for (kind, err) in &worst {
        println!("quant conformance: {kind:14} max abs error {err:.3e}");
    }
    assert!(
        failures.is_empty(),
        "cases over {TOL:e}:\n{}",
        failures.join("\n")
    );
}

/// The stacked models of `golden/stack` (Embedding inputs and Dense heads
/// included) with every layer in f16 or in i8: `golden/quant_stack`, whose
/// outputs are the float64 numpy forward on weights the script quantized
/// itself (checked there against ONNX Runtime on the whole stack).
#[test]
fn quantized_stacks_match_the_reference_on_the_decoded_weights() {
    let files = golden_files("quant_stack");
    assert_eq!(files.len(), 8, "expected 4 stacked models x 2 formats");
    let mut failures = Vec::new();
    for path in &files {
        let v = read_json(path);
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let format = format_of(&v, &name);
        let bytes = quantized(&stack_model(&v), format, &name);
        for (label, model) in variants(&bytes, format, &name) {
            let err = tinyrnn_tests::stack_error(&model, &v);
            println!("quant stack: {label} max abs error {err:.3e}");
            if err.is_nan() || err > f64::from(TOL) {
                failures.push(format!("{label}: max abs error {err:e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "cases over {TOL:e}:\n{}",
        failures.join("\n")
    );
}
