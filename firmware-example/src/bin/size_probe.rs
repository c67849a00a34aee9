//! The smallest program that loads a model and steps it: no printing, no
//! formatting, a panic handler that only spins. `cost.sh` builds it once with a
//! model feature and once without any, and the difference of the two `.text`
//! sizes is the flash the runtime's code takes for that model.
#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use tinyrnn::quant::IntModel;
use tinyrnn::{Model, State};

// `LAYERS`: the layers of the largest model file (build.rs), the probe's
// `Model` capacity, as a firmware sizes it for its own model.
include!(concat!(env!("OUT_DIR"), "/capacity.rs"));
// `MODEL_0`, `MODEL_1`, ...: the bytes of the model files (build.rs).
include!(concat!(env!("OUT_DIR"), "/model_bytes.rs"));

/// The same table entry as the main firmware's (only `model` is used here).
#[expect(dead_code, reason = "the generated table fills every field")]
struct Case {
    name: &'static str,
    model: &'static [u8],
    input: &'static [u8],
    expected: &'static [u8],
    expected_fast: &'static [u8],
    exact: bool,
    input_q: &'static [u8],
    expected_q: &'static [u8],
    stress_hash: u32,
}

/// The probe's inputs, in flash (an array filled on the stack would add
/// the probe's own stores to the measured code).
static X: [f32; 64] = [0.25; 64];
static X_INT: [i16; 64] = [64; 64];

/// Loads the model and steps it a few times on an opaque input.
#[inline(never)]
#[allow(dead_code, reason = "unused in a build with only integer models")]
fn run<const N: usize, const O: usize>(case: &Case, _: &mut ()) {
    // Bound by reference: moving the model (its layer table is about 1.2 KB)
    // or the state out of their `Result` is a copy (a memcpy call) in the
    // caller's code, not the runtime's; firmware that keeps both in place,
    // as here, links no memcpy for them.
    let loaded = Model::<LAYERS>::from_bytes_with_capacity(black_box(case.model));
    if let Ok(model) = &loaded {
        steps::<N, O>(model);
    }
}

/// The same for an integer model, stepped by `IntModel::step` (no float).
#[inline(never)]
#[allow(dead_code, reason = "unused in a build without integer models")]
fn run_int<const N: usize, const W: usize, const O: usize>(case: &Case, _: &mut ()) {
    let loaded = Model::<LAYERS>::from_bytes_with_capacity(black_box(case.model));
    let Ok(model) = &loaded else {
        return;
    };
    if let Ok(int) = IntModel::new(model) {
        int_steps::<W, O>(model, &int);
    }
}

/// [`run`] for a model loaded while compiling (feature `static-model`):
/// the model is a `static` in flash; only the state is made at run time.
#[inline(never)]
#[allow(dead_code, reason = "unused in a build with only integer models")]
fn run_static<const N: usize, const O: usize>(
    _: &Case,
    model: &'static Model<'static, LAYERS>,
    _: &mut (),
) {
    steps::<N, O>(black_box(model));
}

/// [`run_int`] for a model and an `IntModel` built while compiling.
#[inline(never)]
#[allow(dead_code, reason = "unused in a build without integer models")]
fn run_int_static<const N: usize, const W: usize, const O: usize>(
    _: &Case,
    model: &'static Model<'static, LAYERS>,
    int: &'static IntModel<'static, 'static, LAYERS>,
    _: &mut (),
) {
    int_steps::<W, O>(model, black_box(int));
}

/// A state of `N` words for `model`, and a few steps on an opaque input.
#[inline(always)]
fn steps<const N: usize, const O: usize>(model: &Model<'_, LAYERS>) {
    let mut state = State::<N>::new(model);
    let Ok(state) = &mut state else {
        return;
    };
    let x = black_box(&X);
    // The model's own output size: a caller's buffer of that size.
    let mut y = [0.0f32; O];
    let i = model.input_size().min(64);
    for _ in 0..black_box(4) {
        let _ = black_box(model.step(state, &x[..i], &mut y));
    }
    black_box(&y);
}

/// `W` words for `int`, and a few integer steps on an opaque input.
#[inline(always)]
fn int_steps<const W: usize, const O: usize>(
    model: &Model<'_, LAYERS>,
    int: &IntModel<'_, '_, LAYERS>,
) {
    let mut buf = [0i32; W];
    let Some(words) = buf.get_mut(..int.state_len()) else {
        return;
    };
    let x = black_box(&X_INT);
    let mut y = [0i16; O];
    let i = model.input_size().min(64);
    for _ in 0..black_box(4) {
        let _ = black_box(int.step(words, &x[..i], &mut y));
    }
    black_box(&y);
}

#[entry]
fn main() -> ! {
    let ctx = &mut ();
    black_box(&ctx);
    #[cfg(not(feature = "static-model"))]
    include!(concat!(env!("OUT_DIR"), "/generated.rs"));
    #[cfg(feature = "static-model")]
    include!(concat!(env!("OUT_DIR"), "/static.rs"));
    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
