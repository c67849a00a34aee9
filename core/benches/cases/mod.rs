//! The benchmark cases shared by `benches/step.rs` and `examples/bench_json.rs`:
//! random weights uniform(±1/√H), random inputs, as the RTNeural comparison
//! was measured.

#![allow(dead_code, reason = "each user takes what it needs")]

use tinyrnn::sized::{Dense, Elman, Gru, Lstm, Stage};
use tinyrnn::{Activation, GruVariant, Kernel, Layout, Math, Model, ModelBuilder};

/// One model to time.
pub struct Case {
    /// `elman`, `lstm`, `gru_reset_after`, `gru_reset_before`, `lstm+dense`.
    pub cell: &'static str,
    /// Input size.
    pub input: usize,
    /// Hidden size.
    pub hidden: usize,
}

/// How a case runs.
#[derive(Clone, Copy)]
pub struct Variant {
    /// Short name: `simd_fast` (the fast path), `scalar_exact` (the reference).
    pub name: &'static str,
    /// Weight layout in the file.
    pub layout: Layout,
    /// Kernel.
    pub kernel: Kernel,
    /// Activations.
    pub math: Math,
}

/// The fast host path and its scalar twin.
pub const VARIANTS: [Variant; 4] = [
    Variant {
        name: "simd_fast",
        layout: Layout::ColMajor8,
        kernel: Kernel::Simd,
        math: Math::Fast,
    },
    Variant {
        name: "simd_exact",
        layout: Layout::ColMajor8,
        kernel: Kernel::Simd,
        math: Math::Exact,
    },
    Variant {
        name: "scalar_fast_colmajor8",
        layout: Layout::ColMajor8,
        kernel: Kernel::Scalar,
        math: Math::Fast,
    },
    Variant {
        name: "scalar_exact",
        layout: Layout::RowMajor,
        kernel: Kernel::Scalar,
        math: Math::Exact,
    },
];

/// Every case of the issue: four cells at six sizes, and LSTM 1x32 + Dense 32→1.
pub fn cases() -> Vec<Case> {
    let sizes = [(1, 8), (1, 16), (1, 32), (1, 64), (1, 128), (16, 64)];
    let mut v = Vec::new();
    for cell in ["lstm", "gru_reset_after", "gru_reset_before", "elman"] {
        for &(input, hidden) in &sizes {
            v.push(Case {
                cell,
                input,
                hidden,
            });
        }
    }
    v.push(Case {
        cell: "lstm+dense",
        input: 1,
        hidden: 32,
    });
    v
}

/// xorshift, uniform in [-1, 1).
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    pub fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.next() * scale).collect()
    }
}

/// The model file of `case` in `layout`.
pub fn model_bytes(case: &Case, layout: Layout) -> Vec<u8> {
    let (i, h) = (case.input, case.hidden);
    let s = 1.0 / (h as f32).sqrt();
    let mut r = Rng(0x2545_F491_4F6C_DD1D ^ (i * 1000 + h) as u64);
    let mut b = ModelBuilder::new(i);
    b.layout(layout);
    match case.cell {
        "lstm" | "lstm+dense" => {
            b.lstm(
                h,
                &r.vec(4 * h * i, s),
                &r.vec(4 * h * h, s),
                &r.vec(4 * h, s),
            );
        }
        "gru_reset_after" | "gru_reset_before" => {
            let v = if case.cell == "gru_reset_after" {
                GruVariant::ResetAfter
            } else {
                GruVariant::ResetBefore
            };
            b.gru(
                h,
                v,
                &r.vec(3 * h * i, s),
                &r.vec(3 * h * h, s),
                &r.vec(3 * h, s),
                &r.vec(3 * h, s),
            );
        }
        _ => {
            b.elman(
                h,
                Activation::Tanh,
                &r.vec(h * i, s),
                &r.vec(h * h, s),
                &r.vec(h, s),
            );
        }
    }
    if case.cell == "lstm+dense" {
        b.dense(1, Activation::Linear, &r.vec(h, s), &r.vec(1, s));
    }
    b.build().expect("benchmark model encodes")
}

/// 256 random input vectors of `case`, back to back.
pub fn inputs(case: &Case) -> Vec<f32> {
    Rng(99).vec(256 * case.input, 1.0)
}

/// What to do with the compile-time-sized twin of a case
/// (`tinyrnn::sized`): `run` is called with its type.
pub trait SizedRun<'a> {
    /// What `run` returns.
    type Out;
    /// Runs the sized model `S` (of `I` inputs) bound to `model`.
    fn run<S, const I: usize>(self, model: &Model<'a>) -> Self::Out
    where
        S: Stage<'a, In = [f32; I]>,
        S::Out: AsRef<[f32]>;
}

/// Calls `f.run` with the sized type of `case`; `None` for a case without
/// one (the reset-before GRU).
pub fn with_sized<'a, F: SizedRun<'a>>(case: &Case, model: &Model<'a>, f: F) -> Option<F::Out> {
    macro_rules! sized {
        ($($cell:literal $i:literal x $h:literal => $S:ty),* $(,)?) => {
            match (case.cell, case.input, case.hidden) {
                $(($cell, $i, $h) => Some(f.run::<$S, $i>(model)),)*
                _ => None,
            }
        };
    }
    sized! {
        "lstm" 1 x 8 => Lstm<1, 8>,
        "lstm" 1 x 16 => Lstm<1, 16>,
        "lstm" 1 x 32 => Lstm<1, 32>,
        "lstm" 1 x 64 => Lstm<1, 64>,
        "lstm" 1 x 128 => Lstm<1, 128>,
        "lstm" 16 x 64 => Lstm<16, 64>,
        "gru_reset_after" 1 x 8 => Gru<1, 8>,
        "gru_reset_after" 1 x 16 => Gru<1, 16>,
        "gru_reset_after" 1 x 32 => Gru<1, 32>,
        "gru_reset_after" 1 x 64 => Gru<1, 64>,
        "gru_reset_after" 1 x 128 => Gru<1, 128>,
        "gru_reset_after" 16 x 64 => Gru<16, 64>,
        "elman" 1 x 8 => Elman<1, 8>,
        "elman" 1 x 16 => Elman<1, 16>,
        "elman" 1 x 32 => Elman<1, 32>,
        "elman" 1 x 64 => Elman<1, 64>,
        "elman" 1 x 128 => Elman<1, 128>,
        "elman" 16 x 64 => Elman<16, 64>,
        "lstm+dense" 1 x 32 => (Lstm<1, 32>, Dense<32, 1>),
    }
}
