//! Training side of tinyrnn: backpropagation through time and model export.
#![deny(missing_docs)]

pub mod cell;
pub mod checkpoint;
pub mod data;
#[cfg(feature = "runtime")]
pub mod export;
pub mod float;
pub mod linalg;
pub mod loss;
pub mod model;
pub mod optim;
pub mod report;
pub mod session;
pub mod train;
