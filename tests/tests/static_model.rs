//! Models loaded while compiling (`static_model!`, `Model::from_aligned` in a
//! `static`) against the same files loaded at run time (`Model::from_bytes`):
//! same layers, same state size, the same output bits at every step, for
//! every number format; and an integer `IntModel` built in a `static` too.

use tinyrnn::quant::{quantize_value, IntModel};
use tinyrnn::{AlignedBuf, Model, State};

/// The firmware example's committed model files.
macro_rules! models {
    ($($name:ident = $file:literal;)*) => {
        $(static $name: Model<'static, 2> =
            tinyrnn::static_model!(concat!("../../firmware-example/models/", $file));)*
        const CASES: &[(&str, &Model<'static, 2>)] = &[$(($file, &$name)),*];
    };
}

models! {
    LSTM_F32 = "lstm1x32.trnn";
    LSTM_F16 = "lstm1x32.f16.trnn";
    LSTM_I8 = "lstm1x32.i8.trnn";
    LSTM_INT = "lstm1x32.integer.trnn";
    GRU_F32 = "gru1x32.trnn";
    GRU_INT = "gru1x32.integer.trnn";
    ELMAN_F32 = "elman1x32.trnn";
    ELMAN_INT = "elman1x32.integer.trnn";
}

fn file(name: &str) -> AlignedBuf {
    let path = format!(
        "{}/../firmware-example/models/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    AlignedBuf::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

/// A deterministic input stream in [-1, 1).
fn inputs(n: usize) -> Vec<f32> {
    let mut s = 0x2545_f491_u32;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

#[test]
fn static_models_step_as_loaded_ones() {
    for &(name, stat) in CASES {
        let buf = file(name);
        let run = Model::<2>::from_bytes_with_capacity(&buf).unwrap();
        assert_eq!(stat.layers().len(), run.layers().len(), "{name}");
        assert_eq!(stat.state_len(), run.state_len(), "{name}");
        assert_eq!(stat.input_size(), run.input_size(), "{name}");
        assert_eq!(stat.param_count(), run.param_count(), "{name}");
        for (a, b) in stat.layers().iter().zip(run.layers()) {
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{name}");
        }
        let (i, o) = (run.input_size(), run.output_size());
        let xs = inputs(200 * i);
        let mut s1 = State::<4096>::new(stat).unwrap();
        let mut s2 = State::<4096>::new(&run).unwrap();
        let (mut y1, mut y2) = (vec![0.0f32; o], vec![0.0f32; o]);
        for (t, x) in xs.chunks_exact(i).enumerate() {
            stat.step(&mut s1, x, &mut y1).unwrap();
            run.step(&mut s2, x, &mut y2).unwrap();
            let (b1, b2): (Vec<u32>, Vec<u32>) = (
                y1.iter().map(|v| v.to_bits()).collect(),
                y2.iter().map(|v| v.to_bits()).collect(),
            );
            assert_eq!(b1, b2, "{name}: step {t}");
        }
        assert!(y1.iter().all(|v| v.is_finite()), "{name}");
    }
}

/// An integer model's `IntModel`, itself a `static`.
static INT: IntModel<'static, 'static, 2> = match IntModel::new(&LSTM_INT) {
    Ok(m) => m,
    Err(e) => panic!("{}", e.reason()),
};

#[test]
fn static_int_model_steps_as_a_loaded_one() {
    let buf = file("lstm1x32.integer.trnn");
    let model = Model::<2>::from_bytes_with_capacity(&buf).unwrap();
    let run = IntModel::new(&model).unwrap();
    assert_eq!(INT.state_len(), run.state_len());
    let (mut w1, mut w2) = (vec![0i32; INT.state_len()], vec![0i32; run.state_len()]);
    let (mut y1, mut y2) = ([0i16; 1], [0i16; 1]);
    for (t, x) in inputs(200).into_iter().enumerate() {
        let x = [quantize_value(x, INT.input_frac())];
        INT.step(&mut w1, &x, &mut y1).unwrap();
        run.step(&mut w2, &x, &mut y2).unwrap();
        assert_eq!(y1, y2, "step {t}");
    }
}
