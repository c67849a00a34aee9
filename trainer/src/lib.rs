//! Training side of tinyrnn: backpropagation through time and model export.
#![deny(missing_docs)]

pub mod cell;
pub mod data;
pub mod float;
pub mod linalg;
pub mod loss;
pub mod model;
pub mod optim;
pub mod train;
