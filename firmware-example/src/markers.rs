//! The markers the instruction counter (`../shared/tools/insncount`, see
//! `cost.sh`) starts and ends a counted region at: entering `bench_start`
//! starts one, entering `bench_stop` ends it.

use core::sync::atomic::{AtomicU32, Ordering};

/// Marker: the instruction counter starts a region when this is entered.
#[no_mangle]
#[inline(never)]
pub extern "C" fn bench_start() {
    static STARTS: AtomicU32 = AtomicU32::new(0);
    // load + store, not fetch_add: thumbv6m (Cortex-M0) has no atomic read-modify-write.
    STARTS.store(
        STARTS.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Relaxed,
    );
}

/// Marker: the instruction counter ends a region when this is entered
/// (a different body from `bench_start`, so the linker cannot merge them).
#[no_mangle]
#[inline(never)]
pub extern "C" fn bench_stop() {
    static STOPS: AtomicU32 = AtomicU32::new(0);
    STOPS.store(STOPS.load(Ordering::Relaxed) ^ 0x5A5A, Ordering::Relaxed);
}
