//! The compile-time-sized layers (`tinyrnn::sized`): the ONNX Runtime
//! goldens within 1e-5 under both activation paths, bit-for-bit agreement
//! with `Model::step` on random models of every benchmark size and of sizes that
//! are not a multiple of 8, and the errors for a file of another shape.

#[path = "../benches/cases/mod.rs"]
mod cases;
#[path = "../../tests/src/lib.rs"]
#[allow(dead_code)]
mod golden;

use tinyrnn::sized::{
    Dense, Elman, ElmanState, Gru, GruState, Lstm, LstmState, Model as Sized, Stage,
};
use tinyrnn::{
    Activation, AlignedBuf, Error, GruVariant, Kernel, Layout, Math, Model, ModelBuilder, StateVec,
};

/// Largest absolute difference allowed from the golden outputs.
const TOL: f32 = 1e-5;

/// A stage whose state can be set from a golden's initial `h` (and `c`).
trait Init<'a>: Stage<'a> {
    fn init(h0: &[f32], c0: Option<&[f32]>) -> Self::State;
}

impl<'a, const I: usize, const H: usize> Init<'a> for Lstm<'a, I, H> {
    fn init(h0: &[f32], c0: Option<&[f32]>) -> LstmState<H> {
        LstmState::new(
            h0.try_into().unwrap(),
            c0.expect("an LSTM golden has c0").try_into().unwrap(),
        )
    }
}

impl<'a, const I: usize, const H: usize> Init<'a> for Gru<'a, I, H> {
    fn init(h0: &[f32], _: Option<&[f32]>) -> GruState<H> {
        GruState::new(h0.try_into().unwrap())
    }
}

impl<'a, const I: usize, const H: usize> Init<'a> for Elman<'a, I, H> {
    fn init(h0: &[f32], _: Option<&[f32]>) -> ElmanState<H> {
        ElmanState::new(h0.try_into().unwrap())
    }
}

/// Runs one golden case through the sized layer `S`; the largest absolute
/// difference from ONNX Runtime's outputs.
fn golden_error<'a, S, const I: usize, const H: usize>(
    model: &Model<'a>,
    case: &golden::OnnxCase,
) -> f32
where
    S: Init<'a, In = [f32; I], Out = [f32; H]>,
{
    let net = Sized::<S>::new(model).unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let mut state = S::init(&case.h0, case.c0.as_deref());
    let mut err = 0.0f32;
    for (x, want) in case.xs.chunks_exact(I).zip(case.ys.chunks_exact(H)) {
        let y = net.step(x.try_into().unwrap(), &mut state);
        for (a, b) in y.iter().zip(want) {
            err = golden::worst(err, (a - b).abs());
        }
    }
    err
}

/// Calls `golden_error` with the sized type of `(kind, input, hidden)`
/// for every golden size (inputs 1, 3, 16; hidden 1, 7, 8, 16, 32, 64).
macro_rules! dispatch {
    ($kind:expr, $i:expr, $h:expr, $model:expr, $case:expr; $($I:literal),*; $hs:tt) => {
        match $i {
            $($I => dispatch!(@h $kind, $model, $case, $I, $h; $hs),)*
            other => panic!("no sized type for input {other}"),
        }
    };
    (@h $kind:expr, $model:expr, $case:expr, $I:literal, $h:expr; [$($H:literal),*]) => {
        match $h {
            $($H => match $kind {
                "lstm" => golden_error::<Lstm<$I, $H>, $I, $H>($model, $case),
                "gru" => golden_error::<Gru<$I, $H>, $I, $H>($model, $case),
                _ => golden_error::<Elman<$I, $H>, $I, $H>($model, $case),
            },)*
            other => panic!("no sized type for hidden {other}"),
        }
    };
}

#[test]
fn onnx_goldens_through_sized_layers() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/onnx");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        // The sized GRU is reset-after only (`lbr1`).
        .filter(|p| !p.to_string_lossy().contains("gru_lbr0"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 72);
    for math in [Math::Exact, Math::Fast] {
        let mut worst = 0.0f32;
        for path in &files {
            let case = golden::onnx_case(path);
            let row = AlignedBuf::from_slice(&case.model);
            let model = Model::from_bytes(&row).unwrap();
            let bytes = AlignedBuf::from_slice(
                &ModelBuilder::from_model(&model)
                    .layout(Layout::ColMajor8)
                    .build()
                    .unwrap(),
            );
            let model = Model::from_bytes(&bytes).unwrap().with_math(math);
            let kind = case.name.split('_').next().unwrap();
            let kind = if kind == "rnn" { "elman" } else { kind };
            let err = dispatch!(kind, case.input, case.hidden, &model, &case; 1, 3, 16; [1, 7, 8, 16, 32, 64]);
            assert!(
                err <= TOL,
                "{} {math:?}: max |err| {err:e} > {TOL:e}",
                case.name
            );
            worst = golden::worst(worst, err);
        }
        println!("onnx goldens, sized layers, {math:?}: max abs error {worst:.3e}");
    }
}

/// A random model of `cell` (`lstm`, `gru`, `elman`, `elman_relu`) at
/// `i x h`, optionally with a Dense head of `o` outputs, column-major.
fn random_model(cell: &str, i: usize, h: usize, head: Option<(usize, Activation)>) -> AlignedBuf {
    let mut r = cases::Rng(0x9E37_79B9 ^ (i * 1000 + h) as u64);
    let s = 1.5 / (h as f32).sqrt();
    let mut b = ModelBuilder::new(i);
    b.layout(Layout::ColMajor8);
    match cell {
        "lstm" => {
            b.lstm(
                h,
                &r.vec(4 * h * i, s),
                &r.vec(4 * h * h, s),
                &r.vec(4 * h, s),
            );
        }
        "gru" => {
            b.gru(
                h,
                GruVariant::ResetAfter,
                &r.vec(3 * h * i, s),
                &r.vec(3 * h * h, s),
                &r.vec(3 * h, s),
                &r.vec(3 * h, s),
            );
        }
        _ => {
            let act = if cell == "elman" {
                Activation::Tanh
            } else {
                Activation::Relu
            };
            b.elman(h, act, &r.vec(h * i, s), &r.vec(h * h, s), &r.vec(h, s));
        }
    }
    if let Some((o, act)) = head {
        b.dense(o, act, &r.vec(o * h, s), &r.vec(o, s));
    }
    AlignedBuf::from_slice(&b.build().unwrap())
}

/// The largest absolute difference between `S` and `Model::step` (SIMD
/// kernels; infinities and NaN fail) over 300 steps of random input with a few extreme values, under
/// both activation paths.
fn against_model<'a, S, const I: usize>(bytes: &'a [u8]) -> f32
where
    S: Stage<'a, In = [f32; I]>,
    S::Out: AsRef<[f32]>,
{
    let mut worst = 0.0f32;
    for math in [Math::Exact, Math::Fast] {
        let model = Model::from_bytes(bytes)
            .unwrap()
            .with_kernel(Kernel::Simd)
            .with_math(math);
        let net = Sized::<S>::new(&model).unwrap();
        let mut state = net.new_state();
        let mut reference = StateVec::new(&model);
        let mut want = vec![0.0f32; model.output_size()];
        let mut r = cases::Rng(7);
        for t in 0..300 {
            let mut x: [f32; I] = std::array::from_fn(|_| r.next() * 2.0);
            if t % 50 == 49 {
                x[0] = if t % 100 == 99 { 1e30 } else { -1e30 };
            }
            model.step(&mut reference, &x, &mut want).unwrap();
            let y = net.step(&x, &mut state);
            assert_eq!(y.as_ref().len(), want.len());
            for (a, b) in y.as_ref().iter().zip(&want) {
                assert!(a.is_finite(), "non-finite output");
                worst = golden::worst(worst, (a - b).abs());
            }
        }
    }
    worst
}

/// Agreement with `Model::step`: bit for bit (the same kernels, the same
/// order of operations).
const AGREE: f32 = 0.0;

macro_rules! agree {
    ($($cell:literal $I:literal x $H:literal => $S:ty),* $(,)?) => {
        $(
            let bytes = random_model($cell, $I, $H, None);
            let err = against_model::<$S, $I>(&bytes);
            assert!(err <= AGREE, "{} {}x{}: max |diff| {err:e}", $cell, $I, $H);
            println!("{} {}x{}: max |diff| from Model::step {err:.2e}", $cell, $I, $H);
        )*
    };
}

/// Runs [`against_model`] on a benchmark case's sized twin.
struct Agree<'b>(&'b [u8], &'b str);

impl<'a> cases::SizedRun<'a> for Agree<'a> {
    type Out = ();
    fn run<S, const I: usize>(self, _: &Model<'a>)
    where
        S: Stage<'a, In = [f32; I]>,
        S::Out: AsRef<[f32]>,
    {
        let err = against_model::<S, I>(self.0);
        assert!(err <= AGREE, "{}: max |diff| {err:e}", self.1);
        println!("{}: max |diff| from Model::step {err:.2e}", self.1);
    }
}

#[test]
fn sized_layers_agree_with_model_step() {
    // Every benchmark case (the reset-before GRU has no sized twin).
    let mut n = 0;
    for case in cases::cases() {
        let id = format!("{}_{}x{}", case.cell, case.input, case.hidden);
        let bytes = AlignedBuf::from_slice(&cases::model_bytes(&case, Layout::ColMajor8));
        let model = Model::from_bytes(&bytes).unwrap();
        n += usize::from(cases::with_sized(&case, &model, Agree(&bytes, &id)).is_some());
    }
    assert_eq!(n, 19);
    // Sizes that are not a multiple of 8, larger weights, ReLU.
    agree! {
        "lstm" 7 x 33 => Lstm<7, 33>,
        "lstm" 2 x 12 => Lstm<2, 12>,
        "lstm" 5 x 1 => Lstm<5, 1>,
        "lstm" 1 x 128 => Lstm<1, 128>,
        "gru" 7 x 33 => Gru<7, 33>,
        "gru" 3 x 20 => Gru<3, 20>,
        "gru" 16 x 64 => Gru<16, 64>,
        "elman" 7 x 129 => Elman<7, 129>,
        "elman_relu" 3 x 20 => Elman<3, 20>,
    }
}

#[test]
fn sized_stacks_agree_with_model_step() {
    // LSTM 1x32 + Dense 32 -> 1 (the benchmark case).
    let bytes = random_model("lstm", 1, 32, Some((1, Activation::Linear)));
    let err = against_model::<(Lstm<1, 32>, Dense<32, 1>), 1>(&bytes);
    assert!(err <= AGREE, "lstm+dense: {err:e}");
    // A softmax head.
    let bytes = random_model("gru", 4, 24, Some((5, Activation::Softmax)));
    let err = against_model::<(Gru<4, 24>, Dense<24, 5>), 4>(&bytes);
    assert!(err <= AGREE, "gru+softmax: {err:e}");
    // Three recurrent layers and a head.
    let mut r = cases::Rng(3);
    let mut b = ModelBuilder::new(3);
    b.layout(Layout::ColMajor8);
    b.lstm(
        16,
        &r.vec(4 * 16 * 3, 0.4),
        &r.vec(4 * 16 * 16, 0.4),
        &r.vec(64, 0.4),
    );
    b.gru(
        10,
        GruVariant::ResetAfter,
        &r.vec(3 * 10 * 16, 0.4),
        &r.vec(3 * 10 * 10, 0.4),
        &r.vec(30, 0.4),
        &r.vec(30, 0.4),
    );
    b.elman(
        9,
        Activation::Tanh,
        &r.vec(90, 0.4),
        &r.vec(81, 0.4),
        &r.vec(9, 0.4),
    );
    b.dense(2, Activation::Sigmoid, &r.vec(18, 0.4), &r.vec(2, 0.4));
    let bytes = AlignedBuf::from_slice(&b.build().unwrap());
    let err = against_model::<(Lstm<3, 16>, Gru<16, 10>, Elman<10, 9>, Dense<9, 2>), 3>(&bytes);
    assert!(err <= AGREE, "four-layer stack: {err:e}");
}

#[test]
fn a_file_of_another_shape_is_an_error_naming_the_layer() {
    let bytes = random_model("lstm", 1, 32, Some((1, Activation::Linear)));
    let model = Model::from_bytes(&bytes).unwrap();
    let err = |r: Result<(), Error>| r.unwrap_err();
    // Other sizes.
    let e = err(Sized::<(Lstm<1, 16>, Dense<16, 1>)>::new(&model).map(drop));
    assert_eq!(
        e,
        Error::SizedShape {
            layer: 0,
            expected: (1, 16),
            found: (1, 32)
        }
    );
    assert!(e.to_string().contains("layer 0"), "{e}");
    let e = err(Sized::<(Lstm<1, 32>, Dense<32, 2>)>::new(&model).map(drop));
    assert_eq!(
        e,
        Error::SizedShape {
            layer: 1,
            expected: (32, 2),
            found: (32, 1)
        }
    );
    // Another kind.
    let e = err(Sized::<(Gru<1, 32>, Dense<32, 1>)>::new(&model).map(drop));
    assert_eq!(
        e,
        Error::SizedLayer {
            layer: 0,
            expected: "gru",
            found: "lstm"
        }
    );
    // Too few layers in the sized model, then too many.
    let e = err(Sized::<Lstm<1, 32>>::new(&model).map(drop));
    assert_eq!(
        e,
        Error::SizedLayer {
            layer: 1,
            expected: "the end of the model",
            found: "dense"
        }
    );
    let e = err(Sized::<(Lstm<1, 32>, Dense<32, 1>, Dense<1, 1>)>::new(&model).map(drop));
    assert_eq!(
        e,
        Error::SizedLayer {
            layer: 2,
            expected: "dense",
            found: "the end of the model"
        }
    );
    // Row-major weights.
    let row = AlignedBuf::from_slice(
        &ModelBuilder::from_model(&model)
            .layout(Layout::RowMajor)
            .build()
            .unwrap(),
    );
    let e =
        err(Sized::<(Lstm<1, 32>, Dense<32, 1>)>::new(&Model::from_bytes(&row).unwrap()).map(drop));
    assert_eq!(e, Error::SizedLayout { layer: 0 });
    assert!(e.to_string().contains("ColMajor8"), "{e}");
    // A quantized file: the error says so (a kind name alone read "the sized
    // model has lstm here, the file has lstm").
    let mut q = ModelBuilder::from_model(&model);
    q.quantize(tinyrnn::quant::NumFormat::F16);
    let q = AlignedBuf::from_slice(&q.build().unwrap());
    let e =
        err(Sized::<(Lstm<1, 32>, Dense<32, 1>)>::new(&Model::from_bytes(&q).unwrap()).map(drop));
    assert!(
        matches!(e, Error::SizedLayer { layer: 0, expected: "lstm", found } if found.contains("quantized")),
        "{e}"
    );
    // A reset-before GRU.
    let mut r = cases::Rng(5);
    let mut b = ModelBuilder::new(2);
    b.layout(Layout::ColMajor8);
    b.gru(
        8,
        GruVariant::ResetBefore,
        &r.vec(48, 0.3),
        &r.vec(192, 0.3),
        &r.vec(24, 0.3),
        &r.vec(24, 0.3),
    );
    let before = AlignedBuf::from_slice(&b.build().unwrap());
    let e = err(Sized::<Gru<2, 8>>::new(&Model::from_bytes(&before).unwrap()).map(drop));
    assert_eq!(
        e,
        Error::SizedLayer {
            layer: 0,
            expected: "gru (reset after)",
            found: "gru (reset before)"
        }
    );
}
