//! The built-in freq10 workload (as `shared/anchors/data.py`, generated in Rust):
//! a noisy sinusoid in feature 0 whose frequency is the class, noise elsewhere.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{DataInput, DataTargets, Dataset};

/// Number of classes.
pub const CLASSES: usize = 10;

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * core::f64::consts::PI * u2).cos()
}

/// `n` sequences of `t` steps and `f` features.
pub fn generate(n: usize, t: usize, f: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = vec![0.0f32; n * t * f];
    let mut y = vec![0u32; n];
    for i in 0..n {
        let class = rng.random_range(0..CLASSES as u32);
        y[i] = class;
        let freq = 0.02 + 0.03 * class as f64;
        let phase = rng.random_range(0.0..2.0 * core::f64::consts::PI);
        for s in 0..t {
            for k in 0..f {
                let v = if k == 0 {
                    (2.0 * core::f64::consts::PI * freq * s as f64 + phase).sin()
                        + 0.3 * normal(&mut rng)
                } else {
                    0.5 * normal(&mut rng)
                };
                x[(i * t + s) * f + k] = v as f32;
            }
        }
    }
    Dataset {
        n,
        t,
        input: DataInput::Dense { f, x },
        targets: DataTargets::Classes {
            classes: CLASSES,
            y,
        },
        per_step: false,
        mask: None,
    }
}
