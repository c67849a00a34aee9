//! tinyrnn on a Cortex-M4F (QEMU `mps2-an386`) or Cortex-M0 (QEMU `microbit`).
//!
//! For every model in `models/` (table made by `build.rs`) the firmware loads
//! the model file from flash, streams the recorded input one sample per step,
//! and compares each output with the one the host computed with the same
//! `tinyrnn` crate. It prints one `ok ...` line per model over semihosting and
//! exits 0, or prints `FAIL ...` and exits non-zero (so does a panic or a fault).
//!
//! Models are named `BASE.FORMAT` (`lstm1x32.f32`, `lstm1x32.integer`, ...).
//! A float model (f32, f16, i8) is checked twice through `Model::step`: with
//! `Math::Exact` (libm activations; lines `ok NAME: ...`) and with `Math::Fast`
//! (the runtime's approximations; lines `ok NAME/fast: ...`), each against the
//! host's outputs with the same math, within a relative 1e-5. An integer model
//! is checked bit for bit: through `tinyrnn::quant::IntModel::step`, i16 in and
//! out with no float operation (`ok NAME: ...`), and through `Model::step`, f32
//! in and out (`ok NAME/f32-io: ...`); then `IntModel::step` streams 2048 steps
//! of random and extreme input (`stress.rs`) and the hash of its outputs must
//! equal the host's (`ok NAME/stress: ...`).
//!
//! On a Cortex-M4F, the first f32 model of each recurrent cell kind is also
//! checked in a row-major copy made by `build.rs` (`ok NAME.rowmajor: ...`,
//! `ok NAME.rowmajor/fast: ...`): the model files are column-major, and
//! row-major recurrent layers run other kernels on this chip.
//!
//! With the semihosting command line `bench K [fast]` (QEMU `-append "bench K"`)
//! it instead runs K steps per model between the markers `bench_start` and
//! `bench_stop`, for `../shared/tools/insncount` (see `cost.sh`); integer
//! models run `IntModel::step` there.
#![no_std]
#![no_main]

#[cfg(target_abi = "eabihf")]
mod kernels;
mod markers;
mod stack;
mod stress;

use cortex_m_rt::{entry, exception, ExceptionFrame};
use cortex_m_semihosting::{debug, heprintln, hprintln};
use markers::{bench_start, bench_stop};
use tinyrnn::quant::IntModel;
use tinyrnn::{Layer, Layout, Math, Model, State};

// `LAYERS`: the layers of the largest model file, the capacity of every
// `Model` here (its layer table is part of the RAM the model takes).
include!(concat!(env!("OUT_DIR"), "/capacity.rs"));
// `MODEL_0`, `MODEL_1`, ...: the bytes of the model files (build.rs).
include!(concat!(env!("OUT_DIR"), "/model_bytes.rs"));

/// Float formats: `|got - want| <= REL_TOL * max(|want|, ABS_FLOOR)`.
const REL_TOL: f32 = 1e-5;
/// Below this magnitude the tolerance stops shrinking (an absolute floor of 1e-6).
const ABS_FLOOR: f32 = 0.1;

/// What one model needs: its file, the recorded input and the host's outputs,
/// all included 16-aligned by `tinyrnn::include_model!`.
#[allow(
    dead_code,
    reason = "the i16 fields are unused in a build without integer models"
)]
struct Case {
    name: &'static str,
    model: &'static [u8],
    /// T x I f32, little-endian.
    input: &'static [u8],
    /// T x O f32, little-endian, with `Math::Exact` (libm activations).
    expected: &'static [u8],
    /// The same with `Math::Fast` (the runtime's approximate activations).
    expected_fast: &'static [u8],
    /// Bit-identical comparison (integer formats) instead of the float tolerance.
    exact: bool,
    /// Integer models: the input in `Q(input_frac)`, T x I i16 little-endian
    /// (quantized on the host); empty for float models.
    input_q: &'static [u8],
    /// Integer models: the host's `IntModel::step` outputs, T x O i16; empty otherwise.
    expected_q: &'static [u8],
    /// Integer models: the hash of the host's outputs on the stress stream (`stress.rs`).
    stress_hash: u32,
}

enum Mode {
    /// Check every model with both activation maths.
    Check,
    /// `steps` steps per model between the markers, with `math`.
    Bench { steps: u32, math: Math },
}

struct Ctx {
    mode: Mode,
    failures: u32,
    models: u32,
}

/// Views little-endian f32 data included by `include_model!` (16-aligned) in place.
fn f32s(bytes: &'static [u8]) -> &'static [f32] {
    assert!((bytes.as_ptr() as usize).is_multiple_of(4) && bytes.len().is_multiple_of(4));
    // SAFETY: aligned for f32 and a whole number of f32s (checked above); every
    // bit pattern is a valid f32; Cortex-M is little-endian, as the files are;
    // the data is 'static and never written.
    unsafe { core::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), bytes.len() / 4) }
}

/// Views little-endian i16 data included by `include_model!` (16-aligned) in place.
fn i16s(bytes: &'static [u8]) -> &'static [i16] {
    assert!((bytes.as_ptr() as usize).is_multiple_of(2) && bytes.len().is_multiple_of(2));
    // SAFETY: aligned for i16 and a whole number of i16s (checked above); every
    // bit pattern is a valid i16; Cortex-M is little-endian, as the files are;
    // the data is 'static and never written.
    unsafe { core::slice::from_raw_parts(bytes.as_ptr().cast::<i16>(), bytes.len() / 2) }
}

/// Distance between two floats in units in the last place (same sign assumed).
fn ulps(a: f32, b: f32) -> u32 {
    let (a, b) = (a.to_bits() as i32, b.to_bits() as i32);
    a.wrapping_sub(b).unsigned_abs()
}

/// Loads the model of `case` (counting it), with the stack the load took;
/// `None` after printing a `FAIL` line.
fn load(case: &Case, ctx: &mut Ctx) -> Option<(Model<'static, LAYERS>, usize)> {
    ctx.models += 1;
    let painted = stack::paint();
    match Model::<LAYERS>::from_bytes_with_capacity(case.model) {
        Ok(m) => Some((m, painted.used().0)),
        Err(e) => {
            hprintln!("FAIL {}: model does not load: {}", case.name, e);
            ctx.failures += 1;
            None
        }
    }
}

/// Loads, streams and checks (or benchmarks) one float model; `N` state
/// words (`O`, the model's output size, sizes the size probe's buffer).
#[inline(never)]
#[allow(dead_code, reason = "unused in a build with only integer models")]
fn run<const N: usize, const O: usize>(case: &Case, ctx: &mut Ctx) {
    let Some((model, load_stack)) = load(case, ctx) else {
        return;
    };
    match ctx.mode {
        Mode::Bench { math, .. } => {
            let label = if math == Math::Fast { "/fast" } else { "" };
            stream::<N>(case, model.with_math(math), ctx, load_stack, label);
        }
        Mode::Check => {
            if cfg!(feature = "exact-math") {
                stream::<N>(case, model.clone(), ctx, load_stack, "");
            }
            stream::<N>(case, model.with_math(Math::Fast), ctx, load_stack, "/fast");
        }
    }
}

/// A row-major copy of a column-major f32 model (`build.rs`; Cortex-M4F only):
/// checked as [`run`] after checking that its recurrent layers are row-major,
/// so the step runs the row-major kernels (`cortex_m::rowmajor_acc`, then
/// with `Math::Fast` the same elementwise `asm!` as the column-major files).
#[inline(never)]
#[allow(dead_code, reason = "unused in a build without f32 models")]
fn run_rowmajor<const N: usize>(case: &Case, ctx: &mut Ctx) {
    let Some((model, load_stack)) = load(case, ctx) else {
        return;
    };
    let recurrent = model
        .layers()
        .iter()
        .filter(|l| matches!(l, Layer::Lstm(_) | Layer::Gru(_) | Layer::Elman(_)));
    if recurrent.clone().count() == 0 || recurrent.clone().any(|l| l.layout() != Layout::RowMajor) {
        hprintln!("FAIL {}: recurrent layers not row-major", case.name);
        ctx.failures += 1;
        return;
    }
    if cfg!(feature = "exact-math") {
        stream::<N>(case, model.clone(), ctx, load_stack, "");
    }
    stream::<N>(case, model.with_math(Math::Fast), ctx, load_stack, "/fast");
}

/// An integer model: `N` words of `Model::step` state, `W` words for
/// `IntModel::step` (`O` as in [`run`]).
#[inline(never)]
#[allow(dead_code, reason = "unused in a build without integer models")]
fn run_int<const N: usize, const W: usize, const O: usize>(case: &Case, ctx: &mut Ctx) {
    let Some((model, load_stack)) = load(case, ctx) else {
        return;
    };
    let int = match IntModel::new(&model) {
        Ok(m) => m,
        Err(e) => {
            hprintln!("FAIL {}: not an integer model: {}", case.name, e);
            ctx.failures += 1;
            return;
        }
    };
    stream_int::<W>(case, &model, &int, ctx, load_stack, "");
    if let Mode::Check = ctx.mode {
        stream::<N>(case, model, ctx, load_stack, "/f32-io");
    }
}

/// [`run`] for the same model loaded while compiling (`static_model!`,
/// table `static.rs` made by `build.rs`): checked against the same host
/// outputs (check mode only; the step code is the same).
#[inline(never)]
#[allow(dead_code, reason = "unused in a build with only integer models")]
fn run_static<const N: usize, const O: usize>(
    case: &Case,
    model: &'static Model<'static, LAYERS>,
    ctx: &mut Ctx,
) {
    if let Mode::Check = ctx.mode {
        ctx.models += 1;
        if cfg!(feature = "exact-math") {
            stream::<N>(case, model.clone(), ctx, 0, "/static");
        }
        stream::<N>(
            case,
            model.clone().with_math(Math::Fast),
            ctx,
            0,
            "/static/fast",
        );
    }
}

/// [`run_int`] for the same model, and its `IntModel`, built while compiling.
#[inline(never)]
#[allow(dead_code, reason = "unused in a build without integer models")]
fn run_int_static<const N: usize, const W: usize, const O: usize>(
    case: &Case,
    model: &'static Model<'static, LAYERS>,
    int: &'static IntModel<'static, 'static, LAYERS>,
    ctx: &mut Ctx,
) {
    if let Mode::Check = ctx.mode {
        ctx.models += 1;
        stream_int::<W>(case, model, int, ctx, 0, "/static");
        stream::<N>(case, model.clone(), ctx, 0, "/static/f32-io");
    }
}

/// Streams the recorded input (i16) through `IntModel::step`: pure integer,
/// checked bit for bit against the host's `IntModel::step`, or benchmarked.
#[inline(never)]
#[allow(dead_code, reason = "unused in a build without integer models")]
fn stream_int<const W: usize>(
    case: &Case,
    model: &Model<'_, LAYERS>,
    int: &IntModel<'_, '_, LAYERS>,
    ctx: &mut Ctx,
    load_stack: usize,
    label: &str,
) {
    let mut buf = [0i32; W];
    let Some(words) = buf.get_mut(..int.state_len()) else {
        hprintln!(
            "FAIL {}{}: IntModel needs {} words",
            case.name,
            label,
            int.state_len()
        );
        ctx.failures += 1;
        return;
    };
    let (xs, want) = (i16s(case.input_q), i16s(case.expected_q));
    let (i, o) = (model.input_size(), model.output_size());
    let steps = xs.len() / i;
    if o > 64 || want.len() != steps * o {
        hprintln!(
            "FAIL {}{}: expected outputs do not match the model's sizes",
            case.name,
            label
        );
        ctx.failures += 1;
        return;
    }
    let mut y_buf = [0i16; 64];
    let y = &mut y_buf[..o];
    let state_bytes = core::mem::size_of_val(words);
    match ctx.mode {
        Mode::Bench { steps: k, .. } => {
            let painted = stack::paint();
            let mut errors = 0u32;
            let mut done = 0u32;
            bench_start();
            'outer: loop {
                for x in xs.chunks_exact(i) {
                    if done == k {
                        break 'outer;
                    }
                    errors += int.step(words, x, y).is_err() as u32;
                    done += 1;
                }
            }
            bench_stop();
            let (step_stack, full) = painted.used();
            ctx.failures += errors;
            hprintln!(
                "bench {}{}: steps={} errors={} state_bytes={} model_bytes={} step_stack_bytes={}{} load_stack_bytes={} stack_top_offset={}",
                case.name,
                    label,
                k,
                errors,
                state_bytes,
                core::mem::size_of::<Model<'_, LAYERS>>()
                    + core::mem::size_of::<IntModel<'_, '_, LAYERS>>(),
                step_stack,
                if full { "+" } else { "" },
                load_stack,
                stack::stack_top() - painted.top(),
            );
        }
        Mode::Check => {
            let painted = stack::paint();
            let mut bad = 0u32;
            let mut worst = 0u32;
            for (t, (x, want)) in xs.chunks_exact(i).zip(want.chunks_exact(o)).enumerate() {
                if let Err(e) = int.step(words, x, y) {
                    hprintln!("FAIL {}{}: step {}: {}", case.name, label, t, e);
                    bad += 1;
                    break;
                }
                for (j, (&g, &w)) in y.iter().zip(want).enumerate() {
                    worst = worst.max((g as i32 - w as i32).unsigned_abs());
                    if g != w {
                        if bad < 5 {
                            hprintln!(
                                "FAIL {}{}: step {} output {}: got {} want {} (i16, Q{})",
                                case.name,
                                label,
                                t,
                                j,
                                g,
                                w,
                                int.output_frac()
                            );
                        }
                        bad += 1;
                    }
                }
            }
            let (step_stack, _) = painted.used();
            // The stress stream from zeroed words: random, extreme and
            // alternating input; the outputs' hash must equal the host's.
            words.iter_mut().for_each(|w| *w = 0);
            let mut x_buf = [0i16; 64];
            let x = &mut x_buf[..i.min(64)];
            let mut gen = stress::Stress::default();
            let mut hash = stress::FNV_START;
            let (mut lo, mut hi) = (i16::MAX, i16::MIN);
            let mut errors = 0u32;
            for _ in 0..stress::STEPS {
                gen.input(int.input_frac(), x);
                errors += int.step(words, x, y).is_err() as u32;
                hash = stress::fnv1a(hash, y);
                for &v in y.iter() {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
            if errors == 0 && hash == case.stress_hash {
                hprintln!(
                    "ok {}{}/stress: {} steps of random, constant-extreme, alternating-extreme and in-range i16 input: output hash {:#010x} matches the host (outputs {}..{})",
                    case.name,
                    label,
                    stress::STEPS,
                    hash,
                    lo,
                    hi
                );
            } else {
                hprintln!(
                    "FAIL {}{}/stress: output hash {:#010x}, host {:#010x}, {} step errors",
                    case.name,
                    label,
                    hash,
                    case.stress_hash,
                    errors
                );
                ctx.failures += 1;
            }
            if bad == 0 {
                hprintln!(
                    "ok {}{}: {} steps x {} in -> {} out match the host (IntModel::step, i16 Q{} -> Q{}, bit-exact); words {} B, stack: load {} B, step {} B",
                    case.name,
                    label,
                    steps,
                    i,
                    o,
                    int.input_frac(),
                    int.output_frac(),
                    state_bytes,
                    load_stack,
                    step_stack,
                );
            } else {
                hprintln!(
                    "FAIL {}{}: {} outputs differ (largest by {})",
                    case.name,
                    label,
                    bad,
                    worst
                );
                ctx.failures += 1;
            }
        }
    }
}

/// Streams the recorded input through `model` (with its math), checking or
/// benchmarking; `label` is appended to the model's name in what it prints.
#[inline(never)]
fn stream<const N: usize>(
    case: &Case,
    model: Model<'_, LAYERS>,
    ctx: &mut Ctx,
    load_stack: usize,
    label: &str,
) {
    let fast = model.math() == Math::Fast;
    let mut state = match State::<N>::new(&model) {
        Ok(s) => s,
        Err(e) => {
            hprintln!("FAIL {}{}: {}", case.name, label, e);
            ctx.failures += 1;
            return;
        }
    };
    let want = if fast {
        case.expected_fast
    } else {
        case.expected
    };
    let (xs, want) = (f32s(case.input), f32s(want));
    let (i, o) = (model.input_size(), model.output_size());
    let steps = xs.len() / i;
    if o > 64 || want.len() != steps * o {
        hprintln!(
            "FAIL {}: expected outputs do not match the model's sizes",
            case.name
        );
        ctx.failures += 1;
        return;
    }
    let mut y_buf = [0.0f32; 64];
    let y = &mut y_buf[..o];
    match ctx.mode {
        Mode::Bench { steps: k, .. } => {
            let painted = stack::paint();
            let mut errors = 0u32;
            let mut done = 0u32;
            bench_start();
            'outer: loop {
                for x in xs.chunks_exact(i) {
                    if done == k {
                        break 'outer;
                    }
                    errors += model.step(&mut state, x, y).is_err() as u32;
                    done += 1;
                }
            }
            bench_stop();
            let (step_stack, full) = painted.used();
            ctx.failures += errors;
            hprintln!(
                "bench {}{}: steps={} errors={} state_bytes={} model_bytes={} step_stack_bytes={}{} load_stack_bytes={} stack_top_offset={}",
                case.name,
                label,
                k,
                errors,
                model.state_len() * 4,
                core::mem::size_of::<Model<'_, LAYERS>>(),
                step_stack,
                if full { "+" } else { "" },
                load_stack,
                stack::stack_top() - painted.top(),
            );
        }
        Mode::Check => {
            let painted = stack::paint();
            let mut worst_ulps = 0u32;
            let mut worst_err = 0.0f32;
            let mut bad = 0u32;
            for (t, (x, want)) in xs.chunks_exact(i).zip(want.chunks_exact(o)).enumerate() {
                if let Err(e) = model.step(&mut state, x, y) {
                    hprintln!("FAIL {}{}: step {}: {}", case.name, label, t, e);
                    bad += 1;
                    break;
                }
                for (j, (&g, &w)) in y.iter().zip(want).enumerate() {
                    let err = (g - w).abs();
                    let ok = if case.exact {
                        g.to_bits() == w.to_bits()
                    } else {
                        err <= REL_TOL * w.abs().max(ABS_FLOOR)
                    };
                    worst_ulps = worst_ulps.max(ulps(g, w));
                    if err > worst_err {
                        worst_err = err;
                    }
                    if !ok {
                        if bad < 5 {
                            hprintln!(
                                "FAIL {}{}: step {} output {}: got {:#010x} want {:#010x} (f32 bits)",
                                case.name,
                                label,
                                t,
                                j,
                                g.to_bits(),
                                w.to_bits()
                            );
                        }
                        bad += 1;
                    }
                }
            }
            let (step_stack, _) = painted.used();
            if bad == 0 {
                hprintln!(
                    "ok {}{}: {} steps x {} in -> {} out match the host ({}; max |err| {} e-9, {} ulp); state {} B, stack: load {} B, step {} B",
                    case.name,
                    label,
                    steps,
                    i,
                    o,
                    if case.exact { "bit-exact" } else { "rel 1e-5" },
                    (worst_err * 1e9) as u32,
                    worst_ulps,
                    model.state_len() * 4,
                    load_stack,
                    step_stack,
                );
            } else {
                hprintln!(
                    "FAIL {}{}: {} outputs out of tolerance",
                    case.name,
                    label,
                    bad
                );
                ctx.failures += 1;
            }
        }
    }
}

/// Integer LSTMs with random requantization pairs over the whole valid range
/// (`stress::random_requant_hash`): the same hash as the host's.
#[cfg(feature = "integer")]
fn check_random_requant(ctx: &mut Ctx) {
    const HOST: [u32; 2] = include!(concat!(env!("OUT_DIR"), "/requant-hashes.rs"));
    let got = [
        stress::random_requant_hash::<3>(),
        stress::random_requant_hash::<1>(),
    ];
    for ((inputs, got), want) in [3, 1].iter().zip(got).zip(HOST) {
        if got == want {
            hprintln!(
                "ok requant/{}in: integer LSTM with random [mult, shift] pairs (shift 1..=62), {} steps: h/c hash {:#010x} matches the host",
                inputs,
                stress::STEPS,
                got
            );
        } else {
            hprintln!(
                "FAIL requant/{}in: h/c hash {:#010x}, host {:#010x}",
                inputs,
                got,
                want
            );
            ctx.failures += 1;
        }
    }
}

/// Runs every model in `models/` (those whose feature is enabled; table made by `build.rs`).
fn run_all(ctx: &mut Ctx) {
    include!(concat!(env!("OUT_DIR"), "/generated.rs"));
}

/// The same models loaded while compiling (`static_model!`; table made by `build.rs`).
fn run_static_all(ctx: &mut Ctx) {
    include!(concat!(env!("OUT_DIR"), "/static.rs"));
}

/// The row-major copies of `build.rs` (Cortex-M4F builds with f32 models):
/// one per recurrent cell kind.
#[allow(
    unused_variables,
    reason = "a build without those f32 models or without an FPU has no copy"
)]
fn run_rowmajor_copies(ctx: &mut Ctx) {
    include!(concat!(env!("OUT_DIR"), "/rowmajor.rs"));
}

/// The mode from the semihosting command line: `bench K [fast]` anywhere in it, else check.
fn mode() -> Mode {
    let mut buf = [0u8; 128];
    let mut block = [buf.as_mut_ptr() as usize, buf.len() - 1];
    // SAFETY: SYS_GET_CMDLINE writes at most block[1] bytes into `buf` and the
    // length back into `block`, both live for the call.
    let rc = unsafe { get_cmdline(&mut block) };
    if rc != 0 {
        return Mode::Check;
    }
    let line = core::str::from_utf8(&buf[..block_len(&block).min(buf.len())]).unwrap_or("");
    let mut words = line.split_ascii_whitespace();
    while let Some(w) = words.next() {
        if w == "bench" {
            if let Some(Ok(k)) = words.next().map(str::parse::<u32>) {
                let math = match words.next() {
                    Some("fast") => Math::Fast,
                    _ => Math::Exact,
                };
                return Mode::Bench { steps: k, math };
            }
        }
    }
    Mode::Check
}

/// SYS_GET_CMDLINE: the host writes the command line into `block[0]` (a
/// buffer of `block[1]` bytes) and its length into `block[1]`.
///
/// # Safety
/// `block[0]` must point to at least `block[1]` writable bytes.
unsafe fn get_cmdline(block: &mut [usize; 2]) -> usize {
    // SAFETY: as the caller promises; `block` lives for the call.
    unsafe { cortex_m_semihosting::syscall(cortex_m_semihosting::nr::GET_CMDLINE, block) }
}

/// The length the host wrote (read volatile: the write happened behind the compiler's back).
fn block_len(block: &[usize; 2]) -> usize {
    // SAFETY: a plain read of an initialised, aligned local.
    unsafe { core::ptr::read_volatile(&block[1]) }
}

#[entry]
fn main() -> ! {
    let mut ctx = Ctx {
        mode: mode(),
        failures: 0,
        models: 0,
    };
    if let Mode::Check = ctx.mode {
        #[cfg(target_abi = "eabihf")]
        if !kernels::check() {
            ctx.failures += 1;
        }
    }
    run_all(&mut ctx);
    if let Mode::Check = ctx.mode {
        run_static_all(&mut ctx);
        run_rowmajor_copies(&mut ctx);
    }
    #[cfg(feature = "integer")]
    if let Mode::Check = ctx.mode {
        check_random_requant(&mut ctx);
    }
    if ctx.failures == 0 && ctx.models > 0 {
        if let Mode::Check = ctx.mode {
            hprintln!("ok: all {} models match the host", ctx.models);
        }
        debug::exit(debug::EXIT_SUCCESS);
    } else {
        hprintln!("FAIL: {} of {} models", ctx.failures, ctx.models);
        debug::exit(debug::EXIT_FAILURE);
    }
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    heprintln!("FAIL panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    heprintln!("FAIL hard fault at pc {:#010x}", frame.pc());
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
