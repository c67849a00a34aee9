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
//!
//! The firmware builds in `FW_TARGET_DIR` when set, else in `firmware-m4`
//! (and `firmware-m0`) under the host build's `target/tmp/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Models the firmware checks (`firmware-example/models/BASE[.FORMAT].trnn`).
const MODELS: [&str; 4] = ["lstm1x32", "gru1x32", "elman1x32", "lstm16x64"];
/// Every number format; each model file of a format is a cargo feature.
const FORMATS: [&str; 4] = ["f32", "f16", "i8", "integer"];

fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware-example")
}

/// Where the firmware project in `dir` builds (see the module docs).
fn target_dir(dir: &Path) -> PathBuf {
    let m0 = dir.ends_with("cortex-m0");
    match std::env::var_os("FW_TARGET_DIR") {
        Some(fw) => PathBuf::from(fw),
        // Never inside `firmware-example/`: cargo lists a package's files to
        // fingerprint its build script, and a listing that meets the other
        // firmware's build writing there (rustc's temporary directories come
        // and go) fails the build.
        None => Path::new(env!("CARGO_TARGET_TMPDIR")).join(if m0 {
            "firmware-m0"
        } else {
            "firmware-m4"
        }),
    }
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
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("CARGO_TARGET_DIR", target_dir(dir));
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

/// Builds binary `bin` of the firmware project in `dir` for `target` (with
/// `features` instead of the default ones when given) and returns the ELF's path.
fn build(dir: &Path, target: &str, features: Option<&str>, bin: &str) -> PathBuf {
    let mut cmd = cargo(dir);
    cmd.args(["build", "--release", "--target", target, "--bin", bin]);
    if let Some(f) = features {
        cmd.args(["--no-default-features", "--features", f]);
    }
    let out = cmd.output().expect("cargo runs");
    assert!(
        out.status.success(),
        "building firmware-example for {target} failed (is the rustup target installed? \
         `rustup target add {target}`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target_dir(dir).join(format!("{target}/release/{bin}"))
}

/// Runs `elf` on QEMU `machine` with a time limit; returns (exit code, stdout+stderr).
fn run_qemu(machine: &str, elf: &Path) -> (Option<i32>, String) {
    run_qemu_with(machine, elf, None)
}

/// [`run_qemu`] with the semihosting command line `append` (QEMU `-append`).
fn run_qemu_with(machine: &str, elf: &Path, append: Option<&str>) -> (Option<i32>, String) {
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
        .args(append.map(|a| ["-append", a]).into_iter().flatten())
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

/// Checks the exit status, the `ok` lines of every model file of `formats`
/// (two per file: both activation maths for a float format; `IntModel::step`
/// and `Model::step` for the integer one; and the same two for the model
/// loaded while compiling, `/static`), two per row-major copy of the f32
/// models in `rowmajor` (both maths), the summary line and no `FAIL`.
fn assert_all_ok(
    machine: &str,
    formats: &[&str],
    rowmajor: &[&str],
    code: Option<i32>,
    text: &str,
) {
    println!("--- firmware on {machine}, formats {formats:?} ---\n{text}");
    assert_eq!(
        code,
        Some(0),
        "firmware on {machine} exited {code:?}:\n{text}"
    );
    for name in MODELS {
        for fmt in formats {
            let second = if *fmt == "integer" { "f32-io" } else { "fast" };
            // Loaded at start-up, and loaded while compiling (`static_model!`).
            for prefix in [
                format!("ok {name}.{fmt}: "),
                format!("ok {name}.{fmt}/{second}: "),
                format!("ok {name}.{fmt}/static: "),
                format!("ok {name}.{fmt}/static/{second}: "),
            ] {
                assert!(
                    text.lines().any(|l| l.starts_with(&prefix)),
                    "no `{prefix}...` line from the firmware on {machine}:\n{text}"
                );
            }
        }
    }
    if formats.contains(&"integer") {
        for inputs in ["3in", "1in"] {
            let prefix = format!("ok requant/{inputs}: ");
            assert!(
                text.lines().any(|l| l.starts_with(&prefix)),
                "no `{prefix}...` line (random requantization pairs) on {machine}:\n{text}"
            );
        }
        for name in MODELS {
            for prefix in [
                format!("ok {name}.integer/stress: "),
                format!("ok {name}.integer/static/stress: "),
            ] {
                assert!(
                    text.lines().any(|l| l.starts_with(&prefix)),
                    "no `{prefix}...` line (IntModel on the stress stream) from the firmware on {machine}:\n{text}"
                );
            }
        }
        assert!(
            text.lines().any(|l| l.starts_with("ok ")
                && l.contains("IntModel::step")
                && l.contains("bit-exact")),
            "no bit-exact IntModel line on {machine}:\n{text}"
        );
    }
    for name in rowmajor {
        for prefix in [
            format!("ok {name}.f32.rowmajor: "),
            format!("ok {name}.f32.rowmajor/fast: "),
        ] {
            assert!(
                text.lines().any(|l| l.starts_with(&prefix)),
                "no `{prefix}...` line (row-major copy) from the firmware on {machine}:\n{text}"
            );
        }
    }
    // Each model file twice: loaded at start-up and while compiling.
    let n = 2 * MODELS.len() * formats.len() + rowmajor.len();
    assert!(
        text.lines()
            .any(|l| l.trim() == format!("ok: all {n} models match the host")),
        "no summary line for {n} models from the firmware on {machine}:\n{text}"
    );
    assert!(!text.contains("FAIL"), "a FAIL line on {machine}:\n{text}");
}

/// `--features` for every model in `formats` (both activation maths).
fn features(formats: &[&str]) -> String {
    let mut f: Vec<&str> = MODELS.to_vec();
    f.extend(formats);
    f.push("exact-math");
    f.join(",")
}

/// `--features` for every model in `formats`, without libm's activations.
fn features_lean(formats: &[&str]) -> String {
    let mut f: Vec<&str> = MODELS.to_vec();
    f.extend(formats);
    f.join(",")
}

/// An ELF32 little-endian file, read as far as its section headers.
struct Elf32<'a> {
    bytes: &'a [u8],
}

impl<'a> Elf32<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        assert_eq!(
            &bytes[..6],
            b"\x7fELF\x01\x01",
            "not a little-endian ELF32 file"
        );
        Elf32 { bytes }
    }
    fn u16_at(&self, o: usize) -> usize {
        u16::from_le_bytes([self.bytes[o], self.bytes[o + 1]]) as usize
    }
    fn u32_at(&self, o: usize) -> usize {
        u32::from_le_bytes(self.bytes[o..o + 4].try_into().unwrap()) as usize
    }
    /// The offset of section header `i`.
    fn section(&self, i: usize) -> usize {
        self.u32_at(0x20) + i * self.u16_at(0x2e)
    }
    /// The offsets of all section headers.
    fn sections(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.u16_at(0x30)).map(|i| self.section(i))
    }
    /// The NUL-terminated string at `at`.
    fn str_at(&self, at: usize) -> &'a [u8] {
        self.bytes[at..].split(|&b| b == 0).next().unwrap_or(&[])
    }
}

/// The names in an ELF32 little-endian file's symbol table.
fn elf32_symbols(elf: &[u8]) -> Vec<String> {
    let elf = Elf32::new(elf);
    let mut names = Vec::new();
    // SHT_SYMTAB = 2
    for sh in elf.sections().filter(|&sh| elf.u32_at(sh + 4) == 2) {
        let (off, size, link, entsize) = (
            elf.u32_at(sh + 16),
            elf.u32_at(sh + 20),
            elf.u32_at(sh + 24),
            elf.u32_at(sh + 36),
        );
        let strtab = elf.u32_at(elf.section(link) + 16);
        for s in (off..off + size).step_by(entsize) {
            let name = elf.str_at(strtab + elf.u32_at(s));
            names.push(String::from_utf8_lossy(name).into_owned());
        }
    }
    names
}

/// The size in bytes of section `name` in an ELF32 little-endian file (0 if
/// it has none).
fn elf32_section_size(elf: &[u8], name: &str) -> usize {
    let elf = Elf32::new(elf);
    let names = elf.u32_at(elf.section(elf.u16_at(0x32)) + 16);
    let found = elf
        .sections()
        .find(|&sh| elf.str_at(names + elf.u32_at(sh)) == name.as_bytes());
    found.map_or(0, |sh| elf.u32_at(sh + 20))
}

/// A software floating-point routine (compiler-builtins' `__aeabi_f*`,
/// `__aeabi_d*`, `__aeabi_i2f`-style conversions, `__addsf3`-style names) or
/// anything from `libm`.
fn is_soft_float(name: &str) -> bool {
    if let Some(rest) = name.strip_prefix("__aeabi_") {
        return rest.starts_with(['f', 'd', 'h']) || rest.contains("2f") || rest.contains("2d");
    }
    if name.starts_with("__") && ["sf", "df", "hf"].iter().any(|t| name.contains(t)) {
        return true;
    }
    name.contains("4libm")
}

#[test]
fn firmware_matches_host_on_qemu_cortex_m4f() {
    require_qemu();
    let elf = build(
        &firmware_dir(),
        "thumbv7em-none-eabihf",
        None,
        "tinyrnn-firmware-example",
    );
    let (code, text) = run_qemu("mps2-an386", &elf);
    // A row-major copy of the first f32 model of each cell kind (build.rs).
    assert_all_ok(
        "mps2-an386",
        &FORMATS,
        &["lstm1x32", "gru1x32", "elman1x32"],
        code,
        &text,
    );
    assert!(
        text.lines().any(|l| l.starts_with("ok kernels: ")),
        "no kernel check line:\n{text}"
    );
}

/// The runtime's Cortex-M4F `asm!` kernels, each against its portable twin
/// on the chip (`kernel_bench`): every run must exit 0 with its `ok` line.
#[test]
fn firmware_kernels_match_portable_on_qemu_cortex_m4f() {
    require_qemu();
    let elf = build(
        &firmware_dir(),
        "thumbv7em-none-eabihf",
        None,
        "kernel_bench",
    );
    for variant in [
        "panel16",
        "rowfma",
        "sigmoid_m4",
        "tanh_m4",
        "lstm_gates",
        "gru_gates",
    ] {
        let (code, text) = run_qemu_with("mps2-an386", &elf, Some(&format!("kbench 1 {variant}")));
        println!("--- kernel_bench {variant} ---\n{text}");
        assert_eq!(
            code,
            Some(0),
            "kernel_bench {variant} exited {code:?}:\n{text}"
        );
        let prefix = format!("kbench {variant} k=1 ok ");
        assert!(
            text.lines().any(|l| l.starts_with(&prefix)),
            "no `{prefix}...` line from kernel_bench:\n{text}"
        );
        assert!(
            !text.contains("FAIL"),
            "a FAIL line from kernel_bench {variant}:\n{text}"
        );
    }
}

/// All Cortex-M0 builds in one test: they share the project's target folder.
#[test]
fn firmware_matches_host_on_qemu_cortex_m0_without_fpu() {
    require_qemu();
    let dir = firmware_dir().join("cortex-m0");
    let target = "thumbv6m-none-eabi";
    // The default build: integer and i8 models.
    let elf = build(&dir, target, None, "tinyrnn-firmware-example");
    let (code, text) = run_qemu("microbit", &elf);
    assert_all_ok("microbit", &["i8", "integer"], &[], code, &text);
    // The f32 models (they do not fit in the same 256 KiB of flash).
    let elf = build(
        &dir,
        target,
        Some(&features(&["f32"])),
        "tinyrnn-firmware-example",
    );
    let (code, text) = run_qemu("microbit", &elf);
    assert_all_ok("microbit", &["f32"], &[], code, &text);

    // Load + IntModel::step of every integer model, nothing else: no
    // soft-float routine may be linked, so none can be called.
    let elf = build(
        &dir,
        target,
        Some(&features_lean(&["integer"])),
        "size_probe",
    );
    let symbols = elf32_symbols(&std::fs::read(&elf).expect("read size_probe ELF"));
    assert!(
        // (`IntModel` or, generic over the model's capacity, `IntModel$LT$..`)
        symbols.iter().any(|s| s.contains("IntModel")),
        "IntModel is not in {} (symbols: {})",
        elf.display(),
        symbols.len()
    );
    assert!(
        symbols.iter().any(|s| s.starts_with("__aeabi_")),
        "no compiler-builtins routine seen in {}: is the symbol table read right?",
        elf.display()
    );
    let float: Vec<&String> = symbols.iter().filter(|s| is_soft_float(s)).collect();
    assert!(
        float.is_empty(),
        "the integer-only Cortex-M0 build links soft-float routines: {float:?}"
    );
    // The checker would see them in a build that uses floats.
    let elf = build(&dir, target, Some(&features(&["f32"])), "size_probe");
    let symbols = elf32_symbols(&std::fs::read(&elf).expect("read size_probe ELF"));
    assert!(
        symbols.iter().any(|s| is_soft_float(s)),
        "no soft-float routine found in the f32 Cortex-M0 build: the check above proves nothing"
    );
}

/// The runtime's code for a one-cell-type model on the Cortex-M4F, with the
/// model loaded while compiling (`static_model!`, no loader linked) and the
/// fast activations only, is at most 6 KiB of flash: the `.text` of
/// `size_probe` (a few steps, no printing) built with one model, less the
/// same built with none. Checked for the largest build of each number format
/// (`firmware-example/cost.sh` measures every one).
#[test]
fn static_runtime_code_fits_6_kib_on_cortex_m4f() {
    let dir = firmware_dir();
    let target = "thumbv7em-none-eabihf";
    let text = |features: &str| {
        let elf = build(&dir, target, Some(features), "size_probe");
        let bytes = std::fs::read(&elf).expect("read size_probe ELF");
        // No panic or formatting machinery behind `step`: a bounds check the
        // compiler cannot remove links `core::panicking` (and the formatting
        // that a printing panic handler pulls in).
        let linked: Vec<String> = elf32_symbols(&bytes)
            .into_iter()
            .filter(|s| s.contains("panicking") || s.contains("4core3fmt"))
            .collect();
        assert!(
            linked.is_empty(),
            "size_probe {features}: panic or fmt code linked: {linked:?}"
        );
        elf32_section_size(&bytes, ".text")
    };
    let base = text("");
    assert!(base > 0, "no .text in the model-less size probe");
    for (model, format) in [
        ("gru1x32", "f32"),
        ("gru1x32", "f16"),
        ("gru1x32", "i8"),
        ("lstm1x32", "integer"),
    ] {
        let code = text(&format!("{model},{format},static-model")) - base;
        eprintln!("{model}.{format}: runtime code {code} B (model loaded while compiling)");
        // The probe must hold the runtime at all: a cell alone is over 1 KiB.
        assert!(
            code > 1024,
            "{model}.{format}: {code} B of code: the size probe did not link the runtime"
        );
        assert!(
            code <= 6 * 1024,
            "{model}.{format}: the runtime's code is {code} B, over 6 KiB"
        );
    }
}
