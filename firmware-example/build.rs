//! Puts `memory.x` where the linker finds it and rebuilds when it or a model changes.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let target = env::var("TARGET").unwrap_or_default();
    // Cortex-M0 (thumbv6m, QEMU `microbit`: nRF51, 256K flash, 16K RAM) has its own map.
    let memory = if target.starts_with("thumbv6m") {
        "memory-microbit.x"
    } else {
        "memory.x"
    };
    fs::copy(memory, out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=memory-microbit.x");
    println!("cargo:rerun-if-changed=models");
}
