//! Sets `cfg(tinyrnn_dsp)` on little-endian Thumb-2 targets with the DSP
//! extension (the Cortex-M4/M7 `thumbv7em-*` targets, or a `thumb*` target
//! whose enabled features list `dsp`), where the integer matrix-vector
//! product is `SMLAD`/`SXTB16` assembly (`quant::matvec::Dsp`); and
//! `cfg(tinyrnn_v6m)` on little-endian Armv6-M (`thumbv6m-*`, Cortex-M0/M0+),
//! where the tiled integer product's inner loop is assembly
//! (`quant::matvec::v6m`). Stable Rust hides Arm target features from
//! `cfg(target_feature)`, so on stable the target name decides. With
//! `TINYRNN_LANES=16` in the environment it sets `cfg(tinyrnn_lanes16)`: the
//! host's SIMD kernels then run 16 lanes, as with AVX-512.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(tinyrnn_dsp)");
    println!("cargo::rustc-check-cfg=cfg(tinyrnn_v6m)");
    println!("cargo::rustc-check-cfg=cfg(tinyrnn_lanes16)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=TINYRNN_LANES");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let arm = var("CARGO_CFG_TARGET_ARCH") == "arm";
    let little = var("CARGO_CFG_TARGET_ENDIAN") == "little";
    let dsp_feature = var("CARGO_CFG_TARGET_FEATURE")
        .split(',')
        .any(|f| f == "dsp");
    let target = var("TARGET");
    let thumb_dsp =
        target.starts_with("thumbv7em-") || (target.starts_with("thumb") && dsp_feature);
    if arm && little && thumb_dsp {
        println!("cargo::rustc-cfg=tinyrnn_dsp");
    }
    // `TINYRNN_LANES=16`: the host's SIMD kernels run 16 lanes
    // (`kernel::lanes::Wide`) without AVX-512 too, `wide` emulating each
    // 16-lane operation with two 8-lane ones: for testing those kernels on
    // machines without AVX-512.
    if var("TINYRNN_LANES") == "16" {
        println!("cargo::rustc-cfg=tinyrnn_lanes16");
    }
    // Armv6-M (Cortex-M0/M0+): the tiled integer kernel's loop in assembly
    // (`quant::matvec::v6m`).
    if arm && little && target.starts_with("thumbv6m-") {
        println!("cargo::rustc-cfg=tinyrnn_v6m");
    }
}
