//! Shared helpers for tinyrnn's end-to-end and cross-implementation tests.
