//! Training side of tinyrnn: backpropagation through time and model export.
