//! The integer matrix-vector kernels on the Cortex-M4: the DSP one (`SMLAD`
//! assembly, `tinyrnn::quant::matvec::Dsp`) against the portable reference
//! (`Portable`) and `wide`'s (`Simd`, plain arrays here), which must all give
//! the same bits. Semihosting command line:
//!
//! - `ikbench check`: both kernels on many random shapes (columns 1..=16,
//!   31..=33, 63..=65, 127..=129, 255..=257, 511; rows 1..=9, 16, 33, 128),
//!   weights and activations uniform or only the extremes (-128/127,
//!   -32768/32767), weight rows starting at every byte offset mod 4 and
//!   activations at every `i16` offset mod 2, fewer weight rows than outputs
//!   (the rows past them must stay untouched); prints the number of cases
//!   and exits non-zero on the first mismatch;
//! - `ikbench K KERNEL RxC`: K products of an R x C matrix (`dsp`,
//!   `portable` or `simd`) between `bench_start` and `bench_stop`, for
//!   `../shared/tools/insncount` (per product: `(R(2K) - R(K)) / K`).
//!
//! ```text
//! qemu-system-arm -machine mps2-an386 -nographic -semihosting-config enable=on,target=native \
//!   -kernel int_kernel_bench -append "ikbench check"
//! ../shared/tools/insncount/count.sh int_kernel_bench ikbench 64 dsp 128x33
//! ```
#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};

#[path = "../markers.rs"]
mod markers;
use markers::{bench_start, bench_stop};

#[path = "../cmdline.rs"]
mod cmdline;
use cmdline::cmdline;
use tinyrnn::quant::matvec::{matvec_tiled_portable, Dsp, IntMatVec, Portable, Simd};
use tinyrnn::quant::MAX_COLS;

/// Largest matrix: 128 rows of 257 columns, plus 3 bytes of offset.
const W_BYTES: usize = 128 * 257 + 4;
static mut W: [i8; W_BYTES] = [0; W_BYTES];

/// xorshift32: deterministic test data.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        let mut s = self.0;
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        self.0 = s;
        s
    }
    /// A weight: uniform, or (extreme) only -128 and 127.
    fn i8(&mut self, extreme: bool) -> i8 {
        let v = self.next();
        match (extreme, v & 1) {
            (true, 0) => i8::MIN,
            (true, _) => i8::MAX,
            _ => (v >> 8) as i8,
        }
    }
    /// An activation: uniform, or (extreme) only -32768 and 32767.
    fn i16(&mut self, extreme: bool) -> i16 {
        let v = self.next();
        match (extreme, v & 1) {
            (true, 0) => i16::MIN,
            (true, _) => i16::MAX,
            _ => (v >> 8) as i16,
        }
    }
}

/// Not inlined, so that each kernel is one call in the measured loop.
#[inline(never)]
fn run_dsp(w: &[i8], x: &[i16], out: &mut [i32]) {
    Dsp::matvec(w, x, out);
}

/// The same bytes read as a tiled matrix (`matvec::TILED4`).
#[inline(never)]
fn run_dsp_tiled(w: &[i8], x: &[i16], out: &mut [i32]) {
    Dsp::matvec_tiled(w, x, out);
}

#[inline(never)]
fn run_portable_tiled(w: &[i8], x: &[i16], out: &mut [i32]) {
    matvec_tiled_portable(w, x, out);
}

#[inline(never)]
fn run_portable(w: &[i8], x: &[i16], out: &mut [i32]) {
    Portable::matvec(w, x, out);
}

/// `wide`'s kernel, which on a chip without vector registers is plain arrays
/// (a type parameter of the cells; `Kernel::Simd` runs the DSP kernel here).
#[inline(never)]
fn run_simd(w: &[i8], x: &[i16], out: &mut [i32]) {
    Simd::matvec(w, x, out);
}

/// Both kernels on one shape; `Err` describes the first difference.
fn check_one(w: &mut [i8], rng: &mut Rng, case: u32, rows: usize, cols: usize) -> Result<(), ()> {
    let extreme = case.is_multiple_of(3);
    let w_off = (case as usize / 3) % 4;
    let x_off = (case as usize / 12) % 2;
    // Every third case has one weight row fewer than outputs.
    let short = usize::from(case % 3 == 1 && rows > 1);
    let w = &mut w[w_off..w_off + (rows - short) * cols];
    for v in w.iter_mut() {
        *v = rng.i8(extreme);
    }
    let mut xs = [0i16; MAX_COLS + 1];
    for v in xs.iter_mut() {
        *v = rng.i16(extreme);
    }
    let x = &xs[x_off..x_off + cols];
    // `Err` with the first row where the DSP kernel's `got` differs from the
    // portable `want`.
    let same = |layout: &str, got: &[i32], want: &[i32]| {
        let Some(r) = got.iter().zip(want).position(|(a, b)| a != b) else {
            return Ok(());
        };
        hprintln!(
            "FAIL ikbench: {}{}x{} (case {}, w offset {}, x offset {}, extreme {}): row {} dsp {} portable {}",
            layout,
            rows,
            cols,
            case,
            w_off,
            x_off,
            extreme,
            r,
            got[r],
            want[r]
        );
        Err(())
    };
    let mut a = [0x5555_5555i32; 128];
    let mut b = [0x5555_5555i32; 128];
    let mut c = [0x5555_5555i32; 128];
    let (a, b, c) = (&mut a[..rows], &mut b[..rows], &mut c[..rows]);
    run_dsp(w, x, a);
    run_portable(w, x, b);
    run_simd(w, x, c);
    // The same bytes as a tiled matrix: the DSP kernel against the reference.
    let mut d = [0x5555_5555i32; 128];
    let mut e = [0x5555_5555i32; 128];
    let (d, e) = (&mut d[..rows], &mut e[..rows]);
    run_dsp_tiled(w, x, d);
    run_portable_tiled(w, x, e);
    same("tiled ", d, e)?;
    if b != c {
        hprintln!(
            "FAIL ikbench: {}x{} (case {}): Simd differs from Portable",
            rows,
            cols,
            case
        );
        return Err(());
    }
    same("", a, b)?;
    // The reference is exact: no wrap for cols <= MAX_COLS.
    let exact: i64 = w[..cols]
        .iter()
        .zip(x)
        .map(|(w, x)| *w as i64 * *x as i64)
        .sum();
    if b[0] as i64 != exact {
        hprintln!(
            "FAIL ikbench: {}x{}: portable {} exact {}",
            rows,
            cols,
            b[0],
            exact
        );
        return Err(());
    }
    Ok(())
}

fn check(w: &mut [i8]) -> bool {
    let mut rng = Rng(0x1234_5678);
    let cols_list = [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 31, 32, 33, 63, 64, 65, 127, 128,
        129, 255, 256, 257, 511,
    ];
    let rows_list = [1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 33, 128];
    let mut cases = 0u32;
    for &cols in &cols_list {
        for &rows in &rows_list {
            if rows * cols + 4 > w.len() {
                continue;
            }
            for _ in 0..24 {
                if check_one(w, &mut rng, cases, rows, cols).is_err() {
                    return false;
                }
                cases += 1;
            }
        }
    }
    hprintln!(
        "ok ikbench: Dsp (SMLAD), Portable and Simd give identical i32 sums, and Dsp and Portable on the tiled layout, in {} cases ({} shapes, rows 1..=128, cols 1..=511, extremes, unaligned rows)",
        cases,
        cases / 24
    );
    true
}

/// `RxC` -> (R, C).
fn shape(s: &str) -> Option<(usize, usize)> {
    let (r, c) = s.split_once('x')?;
    Some((r.parse().ok()?, c.parse().ok()?))
}

fn bench(w: &mut [i8], k: u32, kernel: &str, rows: usize, cols: usize) -> bool {
    if rows == 0 || cols == 0 || cols > MAX_COLS || rows > 256 || rows * cols > w.len() {
        hprintln!("FAIL ikbench: shape {}x{} out of range", rows, cols);
        return false;
    }
    let mut rng = Rng(0x00C0_FFEE);
    let w = &mut w[..rows * cols];
    for v in w.iter_mut() {
        *v = rng.i8(false);
    }
    let mut x = [0i16; MAX_COLS];
    for v in x.iter_mut() {
        *v = rng.i16(false);
    }
    let x = &x[..cols];
    let mut y = [0i32; 256];
    let y = &mut y[..rows];
    let (w, x) = (black_box(&*w), black_box(x));
    bench_start();
    for _ in 0..k {
        match kernel {
            "portable" => run_portable(w, x, y),
            "dsp-tiled" => run_dsp_tiled(w, x, y),
            "portable-tiled" => run_portable_tiled(w, x, y),
            "simd" => run_simd(w, x, y),
            _ => run_dsp(w, x, y),
        }
        black_box(&mut *y);
    }
    bench_stop();
    let mut r = [0i32; 256];
    if kernel.ends_with("tiled") {
        run_portable_tiled(w, x, &mut r[..rows]);
    } else {
        run_portable(w, x, &mut r[..rows]);
    }
    let same = *y == r[..rows];
    hprintln!(
        "ikbench {} k={} {}x{} same_as_portable={}",
        kernel,
        k,
        rows,
        cols,
        same
    );
    same
}

#[entry]
fn main() -> ! {
    let mut buf = [0u8; 128];
    let line = cmdline(&mut buf);
    let mut words = line
        .split_ascii_whitespace()
        .skip_while(|w| *w != "ikbench")
        .skip(1);
    // SAFETY: single-threaded start-up; the only reference to W.
    let w = unsafe { &mut *core::ptr::addr_of_mut!(W) };
    let ok = match words.next() {
        None | Some("check") => check(w),
        Some(k) => {
            let k: u32 = k.parse().unwrap_or(4);
            let kernel = words.next().unwrap_or("dsp");
            let (rows, cols) = words.next().and_then(shape).unwrap_or((128, 33));
            bench(w, k, kernel, rows, cols)
        }
    };
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    hprintln!("FAIL ikbench: panic");
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
