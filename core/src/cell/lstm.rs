//! LSTM without peepholes, gate order i, f, g, o:
//! `c = σ(f) ⊙ c + σ(i) ⊙ tanh(g)`, `h = σ(o) ⊙ tanh(c)`.

use crate::kernel::activation::{sigmoid, tanh};
use crate::kernel::matvec_acc;

/// An LSTM layer with weights borrowed from the model file.
#[derive(Debug, Clone, Copy)]
pub struct Lstm<'a> {
    /// Input size.
    pub input: usize,
    /// Hidden size.
    pub hidden: usize,
    /// `[4 * hidden][input]`, row-major, gate blocks i, f, g, o.
    pub w_x: &'a [f32],
    /// `[4 * hidden][hidden]`, row-major, gate blocks i, f, g, o.
    pub w_h: &'a [f32],
    /// `[4 * hidden]`: the sum of input and recurrent biases.
    pub b: &'a [f32],
}

impl Lstm<'_> {
    /// f32 words of state: `h` then `c`.
    pub const fn state_len(&self) -> usize {
        2 * self.hidden
    }

    /// f32 words of scratch a step needs: the four gate pre-activations.
    pub const fn scratch_len(&self) -> usize {
        4 * self.hidden
    }

    /// One timestep: updates `h` and `c` (each length `hidden`) from `x`.
    pub fn step(&self, x: &[f32], h: &mut [f32], c: &mut [f32], scratch: &mut [f32]) {
        let n = self.hidden;
        let gates = &mut scratch[..4 * n];
        gates.copy_from_slice(self.b);
        matvec_acc(self.w_x, x, gates);
        matvec_acc(self.w_h, h, gates);
        let (gi, rest) = gates.split_at(n);
        let (gf, rest) = rest.split_at(n);
        let (gg, go) = rest.split_at(n);
        for j in 0..n {
            let cj = sigmoid(gf[j]) * c[j] + sigmoid(gi[j]) * tanh(gg[j]);
            c[j] = cj;
            h[j] = sigmoid(go[j]) * tanh(cj);
        }
    }
}
