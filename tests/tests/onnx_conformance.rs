//! Every tinyrnn cell against ONNX Runtime: the committed goldens under
//! `golden/onnx` (made by `golden/make_onnx_golden.py`) streamed one step at a time.

use std::collections::BTreeMap;

use tinyrnn::{AlignedBuf, Model};
use tinyrnn_tests::{golden_files, onnx_case};

/// Largest absolute difference allowed from ONNX Runtime's float32 output.
const TOL: f32 = 1e-5;

#[test]
fn every_cell_matches_onnx_runtime_within_1e_5() {
    let files = golden_files("onnx");
    assert_eq!(
        files.len(),
        90,
        "expected 5 cell kinds x 3 input sizes x 6 hidden sizes"
    );
    let mut worst: BTreeMap<String, f32> = BTreeMap::new();
    let mut failures = Vec::new();
    for path in &files {
        let case = onnx_case(path);
        let bytes = AlignedBuf::from_slice(&case.model);
        let model = Model::from_bytes(&bytes).expect("model loads");
        let err = tinyrnn_tests::case_error(&model, &case);
        assert!(!err.is_nan(), "{}: NaN output", case.name);
        if err > TOL {
            failures.push(format!("{}: max abs error {err:e}", case.name));
        }
        let kind = case.name.split("_i").next().unwrap().to_string();
        let w = worst.entry(kind).or_insert(0.0);
        *w = tinyrnn_tests::worst(*w, err);
    }
    for (kind, err) in &worst {
        println!("onnx conformance: {kind:10} max abs error {err:.3e}");
    }
    assert!(
        failures.is_empty(),
        "cases over {TOL:e}:\n{}",
        failures.join("\n")
    );
}
