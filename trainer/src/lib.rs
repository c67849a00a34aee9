//! Training side of tinyrnn: backpropagation through time and model export.
#![deny(missing_docs)]

pub mod cell;
pub mod float;
pub mod linalg;
pub mod loss;
pub mod model;
