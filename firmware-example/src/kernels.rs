//! On the chip: the Cortex-M4F `asm!` column-major kernel
//! (`tinyrnn::kernel::cortex_m`) against its portable twin
//! (`tinyrnn::kernel::scalar`), on random data of odd and even sizes. They
//! agree within float rounding (`vfma` rounds once per multiply-add, the
//! portable loop twice), bounded here by `n * 2^-22 * Σ|w x|` per output.

use cortex_m_semihosting::hprintln;
use tinyrnn::kernel::{cortex_m, scalar};

const MAX_ROWS: usize = 264;
const MAX_COLS: usize = 65;

const N: usize = MAX_ROWS * MAX_COLS;

/// The random weights of both matrices: `W_x` is the start of the buffer,
/// `W_h` its end, and where they overlap both read the same values, which
/// is fine for comparing two kernels. One buffer (69 KB) rather than two, so
/// that the image links on a board with 128 KB of RAM.
static mut W: [f32; N] = [0.0; N];

/// xorshift32, values in [-1, 1).
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        (self.0 >> 8) as f32 / (1u32 << 23) as f32 - 1.0
    }
}

/// Runs both kernels over a grid of shapes; prints one `ok`/`FAIL` line, returns success.
pub fn check() -> bool {
    // SAFETY: single-threaded; the only reference to W.
    let w = unsafe { &mut *core::ptr::addr_of_mut!(W) };
    let mut rng = Rng(0x9E37_79B9);
    for v in w.iter_mut() {
        *v = rng.next();
    }
    let w = &*w;
    let mut x = [0.0f32; MAX_COLS];
    let mut h = [0.0f32; MAX_COLS];
    for v in x.iter_mut().chain(h.iter_mut()) {
        *v = rng.next() * 4.0;
    }
    let (mut cases, mut worst) = (0u32, 0.0f32);
    for rows in [8usize, 16, 40, 128, 256, 264] {
        for (nx, nh) in [
            (0usize, 0usize),
            (1, 0),
            (0, 1),
            (1, 32),
            (7, 33),
            (16, 64),
            (65, 65),
        ] {
            for r0 in [0usize, 8, 32] {
                let n_out = (rows.saturating_sub(r0)).min(rows / 2 + 3);
                let (wx, wh) = (&w[..rows * nx], &w[N - rows * nh..]);
                let mut a = [0.0f32; MAX_ROWS];
                let mut b = [0.0f32; MAX_ROWS];
                for (i, (a, b)) in a.iter_mut().zip(&mut b).enumerate() {
                    *a = i as f32 * 0.01;
                    *b = *a;
                }
                scalar::colmajor_rows2_acc(wx, &x[..nx], wh, &h[..nh], rows, r0, &mut a[..n_out]);
                cortex_m::colmajor_rows2_acc(wx, &x[..nx], wh, &h[..nh], rows, r0, &mut b[..n_out]);
                for (r, (&p, &q)) in a.iter().zip(&b).enumerate() {
                    let absum: f32 = (0..nx)
                        .map(|k| (wx.get(k * rows + r0 + r).unwrap_or(&0.0) * x[k]).abs())
                        .chain(
                            (0..nh)
                                .map(|k| (wh.get(k * rows + r0 + r).unwrap_or(&0.0) * h[k]).abs()),
                        )
                        .sum::<f32>()
                        + (r as f32 * 0.01);
                    let tol = (nx + nh + 1) as f32 * absum * (1.0 / (1u32 << 22) as f32);
                    let d = (p - q).abs();
                    worst = worst.max(d);
                    if d > tol || p.is_nan() != q.is_nan() {
                        hprintln!(
                            "FAIL kernels: rows {} r0 {} x {} h {} row {}: portable {} asm {}",
                            rows,
                            r0,
                            nx,
                            nh,
                            r,
                            p,
                            q
                        );
                        return false;
                    }
                }
                cases += 1;
            }
        }
    }
    hprintln!(
        "ok kernels: cortex_m::colmajor_rows2_acc (asm, vfma) matches the portable scalar twin in {} shapes (max |diff| {} e-9)",
        cases,
        (worst * 1e9) as u32
    );
    true
}
