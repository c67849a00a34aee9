//! The layers: one file per kind. Each takes validated weight slices, so its
//! step cannot fail; sizes come from the slices themselves.

pub mod dense;
pub mod elman;
pub mod embedding;
pub mod gru;
pub mod lstm;

pub use dense::Dense;
pub use elman::Elman;
pub use embedding::Embedding;
pub use gru::Gru;
pub use lstm::Lstm;
