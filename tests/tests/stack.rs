//! Stacked models (Embedding, Elman, LSTM, GRU, Dense heads) against the numpy
//! float64 reference in `golden/stack` (made by `golden/make_stack_golden.py`,
//! itself checked against ONNX Runtime).

use tinyrnn::{AlignedBuf, Model};
use tinyrnn_tests::{golden_files, read_json, stack_model};

const TOL: f64 = 1e-5;

#[test]
fn stacked_models_match_numpy_reference() {
    let files = golden_files("stack");
    assert_eq!(files.len(), 4);
    for path in &files {
        let v = read_json(path);
        let bytes = AlignedBuf::from_slice(&stack_model(&v));
        let model = Model::from_bytes(&bytes).expect("loads");
        let err = tinyrnn_tests::stack_error(&model, &v);
        println!(
            "{}: max abs error {err:.3e}",
            path.file_name().unwrap().to_string_lossy()
        );
        assert!(err <= TOL, "{}: max abs error {err:e}", path.display());
    }
}
