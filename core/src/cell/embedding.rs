//! Embedding: a token id selects one row of a table, `x_t = E[token_t]`.

/// An Embedding layer with its table borrowed from the model file.
// `repr(C)`: the two sizes first, at the same place in every layer kind,
// so `Layer::input_size`/`output_size` need no per-kind branch.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Embedding<'a> {
    /// Vocabulary size (rows).
    pub vocab: usize,
    /// Vector size (columns).
    pub dim: usize,
    /// `[vocab][dim]`, row-major.
    pub table: &'a [f32],
}

impl<'a> Embedding<'a> {
    /// The vector of `token`, or `None` when `token >= vocab`.
    pub fn lookup(&self, token: usize) -> Option<&'a [f32]> {
        let start = token.checked_mul(self.dim)?;
        if token >= self.vocab {
            return None;
        }
        self.table.get(start..start + self.dim)
    }
}
