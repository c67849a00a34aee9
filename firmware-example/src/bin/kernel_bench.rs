//! Instruction counts of matrix-vector kernels on the Cortex-M4F, to choose the
//! runtime's kernel by measurement. Semihosting command line: `kbench K VARIANT`;
//! each run does K products `y += W x` (W 256 x 64, the recurrent matrix of an
//! LSTM with 64 units) between `bench_start` and `bench_stop`, then checks
//! the result against the portable kernel. Variants:
//! - `portable`: `tinyrnn::kernel::matvec_acc` (row-major, one row at a time;
//!   the runtime's kernel on targets without an FPU `asm!` path)
//! - `rows4`: row-major, four rows at a time (x loaded once per four MACs)
//! - `panel8`: weights packed 8 rows interleaved per column, eight accumulators
//! - `panel8fma`: as `panel8`, with the fused multiply-add `vfma.f32`
//! - `panel16`: the runtime's `tinyrnn::kernel::cortex_m::colmajor_rows2_acc`
//!   (column-major, 16 rows and 4 columns per iteration, `vfma`)
//! - `rowfma`: the runtime's `tinyrnn::kernel::m4::rowmajor_acc`
//!   (row-major, 8 columns per iteration, `vfma`; Dense layers and
//!   row-major recurrent layers)
//!
//! `lstm_gates` and `gru_gates` run the runtime's elementwise LSTM and GRU
//! (reset after) kernels (`tinyrnn::kernel::cortex_m`, fast activations)
//! K times over 64 units, then check them against the portable cell code
//! with `Math::Fast` on random and edge pre-activations, within the bounds
//! that the documented activation errors give (see `check_gates`); exit
//! status 1 beyond them.
//!
//! and activations over 256 inputs in [-8, 8] (`sigmoid_libm`, `sigmoid_fast`,
//! `tanh_libm`, `tanh_fast`): the runtime's `libm` ones against an `exp2`
//! approximation (range reduction + degree-6 polynomial + exponent bits); the
//! run prints the fast ones' largest absolute error against `libm` on a grid;
//! and the runtime's Cortex-M4F fast activations (`sigmoid_m4`, `tanh_m4`:
//! `tinyrnn::kernel::m4::act_fast` over the slice), whose run also
//! checks them against `libm` on a dense grid of [-20, 20] and at ±inf, 0 and
//! NaN, and fails (exit status 1) beyond the runtime's documented bounds.
//!
//! ```text
//! qemu-system-arm ... -kernel kernel_bench -append "kbench 8 panel8"
//! ```
//!
//! Built for another target (an M4 without FPU, `thumbv7em-none-eabi`), it
//! only says that it needs the FPU.
#![no_std]
#![no_main]

#[cfg(target_abi = "eabihf")]
#[path = "../kernel_bench_m4f.rs"]
mod m4f;

#[cfg(not(target_abi = "eabihf"))]
mod no_fpu {
    use cortex_m_rt::entry;
    use cortex_m_semihosting::{debug, hprintln};

    #[entry]
    fn main() -> ! {
        hprintln!(
            "kernel_bench measures the Cortex-M4F FPU kernels: build it for thumbv7em-none-eabihf"
        );
        debug::exit(debug::EXIT_FAILURE);
        loop {
            cortex_m::asm::wfi();
        }
    }

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        loop {
            cortex_m::asm::wfi();
        }
    }
}
