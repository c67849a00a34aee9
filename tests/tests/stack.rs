//! Stacked models (Embedding, Elman, LSTM, GRU, Dense heads) against the numpy
//! float64 reference in `golden/stack` (made by `golden/make_stack_golden.py`,
//! itself checked against ONNX Runtime).

use tinyrnn::{AlignedBuf, Model, StateVec};
use tinyrnn_tests::{f32s, f64s, golden_files, read_json, stack_model, usize_of};

const TOL: f64 = 1e-5;

#[test]
fn stacked_models_match_numpy_reference() {
    let files = golden_files("stack");
    assert_eq!(files.len(), 4);
    for path in &files {
        let v = read_json(path);
        let bytes = AlignedBuf::from_slice(&stack_model(&v));
        let model = Model::from_bytes(&bytes).expect("loads");
        let steps = usize_of(&v, "seq_len");
        let want = f64s(&v, "outputs");
        let o = model.output_size();
        assert_eq!(want.len(), steps * o);
        let mut state = StateVec::new(&model);
        let mut y = vec![0.0f32; o];
        let mut err = 0.0f64;
        for t in 0..steps {
            if model.is_token_input() {
                let token = v["inputs"][t].as_u64().expect("token") as usize;
                model.step_token(&mut state, token, &mut y).expect("step");
            } else {
                let i = model.input_size();
                let xs = f32s(&v, "inputs");
                model
                    .step(&mut state, &xs[t * i..(t + 1) * i], &mut y)
                    .expect("step");
            }
            for (a, b) in y.iter().zip(&want[t * o..(t + 1) * o]) {
                err = tinyrnn_tests::worst(err, (*a as f64 - b).abs());
            }
        }
        println!(
            "{}: max abs error {err:.3e}",
            path.file_name().unwrap().to_string_lossy()
        );
        assert!(err <= TOL, "{}: max abs error {err:e}", path.display());
    }
}
