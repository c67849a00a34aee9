//! Builds `firmware-example/` and runs it under QEMU with semihosting: for the
//! Cortex-M4F (`thumbv7em-none-eabihf`, `-machine mps2-an386`) and for the
//! Cortex-M0 without FPU (`firmware-example/cortex-m0`, `thumbv6m-none-eabi`,
//! `-machine microbit`). Every model must load and match the outputs the host
//! computed with the same crate (the firmware's build.rs computes them), and the
//! firmware must exit 0.
//!
//! Needs `qemu-system-arm` (Debian: `apt-get install qemu-system-arm`) and the
//! rustup targets `thumbv7em-none-eabihf` and `thumbv6m-none-eabi`; without them
//! the tests fail with a message saying so (never skipped: CI installs them).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Models the firmware checks (one `ok NAME:` line each).
const MODELS: [&str; 4] = ["lstm1x32", "gru1x32", "elman1x32", "lstm16x64"];

fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware-example")
}

fn cargo(dir: &Path) -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    // The firmware is its own cargo project with its own target dir and
    // `.cargo/config.toml` (target, linker script): run cargo from there, and
    // keep the host build's settings out of it.
    c.current_dir(dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    c
}

fn require_qemu() {
    let found = Command::new("qemu-system-arm").arg("--version").output();
    assert!(
        matches!(&found, Ok(o) if o.status.success()),
        "qemu-system-arm is not installed (Debian: `apt-get install -y qemu-system-arm`); \
         this test runs the firmware on an emulated Cortex-M4F and is not skipped without it"
    );
}

/// Builds the firmware project in `dir` for `target` and returns the ELF's path.
fn build(dir: &Path, target: &str) -> PathBuf {
    let out = cargo(dir)
        .args(["build", "--release", "--target", target])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "building firmware-example for {target} failed (is the rustup target installed? \
         `rustup target add {target}`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join(format!("target/{target}/release/tinyrnn-firmware-example"))
}

/// Runs `elf` on QEMU `machine` with a time limit; returns (exit code, stdout+stderr).
fn run_qemu(machine: &str, elf: &Path) -> (Option<i32>, String) {
    let mut child = Command::new("qemu-system-arm")
        .args([
            "-machine",
            machine,
            "-nographic",
            "-monitor",
            "none",
            "-serial",
            "none",
        ])
        .args(["-semihosting-config", "enable=on,target=native", "-kernel"])
        .arg(elf)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("qemu-system-arm starts");
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for qemu") {
            break s;
        }
        if started.elapsed() > Duration::from_secs(120) {
            child.kill().ok();
            let out = child.wait_with_output().expect("qemu output");
            panic!(
                "firmware did not exit within 120 s on {machine}; output so far:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().expect("qemu output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (status.code(), text)
}

fn assert_all_ok(machine: &str, code: Option<i32>, text: &str) {
    println!("--- firmware on {machine} ---\n{text}");
    assert_eq!(
        code,
        Some(0),
        "firmware on {machine} exited {code:?}:\n{text}"
    );
    // One line per model and activation math (libm, and the fast approximations).
    for name in MODELS {
        for prefix in [format!("ok {name}: "), format!("ok {name}/fast: ")] {
            assert!(
                text.lines().any(|l| l.starts_with(&prefix)),
                "no `{prefix}...` line from the firmware on {machine}:\n{text}"
            );
        }
    }
    assert!(
        text.lines()
            .any(|l| l.trim() == format!("ok: all {} models match the host", MODELS.len())),
        "no summary line from the firmware on {machine}:\n{text}"
    );
    assert!(!text.contains("FAIL"), "a FAIL line on {machine}:\n{text}");
}

#[test]
fn firmware_matches_host_on_qemu_cortex_m4f() {
    require_qemu();
    let elf = build(&firmware_dir(), "thumbv7em-none-eabihf");
    let (code, text) = run_qemu("mps2-an386", &elf);
    assert_all_ok("mps2-an386", code, &text);
}

#[test]
fn firmware_matches_host_on_qemu_cortex_m0_without_fpu() {
    require_qemu();
    let elf = build(&firmware_dir().join("cortex-m0"), "thumbv6m-none-eabi");
    let (code, text) = run_qemu("microbit", &elf);
    assert_all_ok("microbit", code, &text);
}
