//! tinyrnn: Elman RNN, LSTM and GRU networks one timestep at a time, without a
//! heap, with weights read in place from a model file (in flash on a
//! microcontroller).
//!
//! ```
//! use tinyrnn::{Activation, Model, ModelBuilder, State};
//! # let file = ModelBuilder::new(1)
//! #     .gru(2, tinyrnn::GruVariant::ResetAfter, &[0.1; 6], &[0.2; 12], &[0.0; 6], &[0.0; 6])
//! #     .dense(1, Activation::Sigmoid, &[1.0, 1.0], &[0.0])
//! #     .build()?;
//! # let file = tinyrnn::AlignedBuf::from_slice(&file);
//! // On a microcontroller: static MODEL: &[u8] = tinyrnn::include_model!("model.trnn");
//! // or, loaded while compiling (no loader code, the model in flash):
//! // static MODEL: Model<'static, 2> = tinyrnn::static_model!("model.trnn");
//! let model = Model::from_bytes(&file)?;        // validate once; weights stay in place
//! let mut state = State::<64>::new(&model)?;    // caller-owned, fixed capacity
//! let mut y = [0.0f32; 1];
//! for x in [0.1f32, 0.4, -0.2] {
//!     model.step(&mut state, &[x], &mut y)?;    // one sample per tick
//! }
//! state.reset();                                // next sequence
//! # Ok::<(), tinyrnn::Error>(())
//! ```
//!
//! The math of every cell is documented on its type in [`cell`]; the file
//! format in `FORMAT.md`.
//!
//! Features: `alloc` adds the encoder `ModelBuilder`, `AlignedBuf` and
//! `StateVec`; `std` implies `alloc`. (The documentation of a build with
//! `alloc`, as on docs.rs, links them.)
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]
#![deny(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;

/// `?` inside a `const fn` (where `?` is not allowed): the `Ok` value, or
/// return the `Err`.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Err(e),
        }
    };
}

/// The `Some` value, or return `Err($err)` (`.ok_or(err)?` in a `const fn`).
macro_rules! ok_or {
    ($e:expr, $err:expr) => {
        match $e {
            Some(v) => v,
            None => return Err($err),
        }
    };
}

/// The `Some` value, or return `None` (`?` on an `Option` in a `const fn`).
macro_rules! some {
    ($e:expr) => {
        match $e {
            Some(v) => v,
            None => return None,
        }
    };
}

mod bytes;
pub mod cell;
#[cfg(feature = "alloc")]
mod encode;
mod error;
pub mod format;
pub mod kernel;
mod load;
mod model;
pub mod quant;
pub mod sized;
mod state;

#[cfg(feature = "alloc")]
pub use encode::{AlignedBuf, ModelBuilder};
pub use error::Error;
pub use format::{crc32, Activation, GruVariant, Layout};
pub use kernel::{Kernel, Math};
pub use model::{Layer, Model};
#[cfg(feature = "alloc")]
pub use state::StateVec;
pub use state::{State, StateStorage};

/// Bytes at an aligned address: what [`include_model!`] and
/// [`static_model!`] put in flash. [`Model::from_aligned`] takes them.
///
/// 16 bytes on targets without SIMD registers (microcontrollers: no flash
/// spent on padding); 64, a cache line, where `wide` has vector registers,
/// so that the column-major tensors, which the encoder starts at multiples
/// of 64 bytes from the file's start, lie on cache lines and no 32-byte
/// load of the SIMD kernels straddles two lines (measured on x86-64: steps
/// up to 25% slower with the weights at 16 bytes past a line).
#[cfg_attr(
    not(any(
        target_feature = "sse2",
        target_feature = "neon",
        target_feature = "simd128"
    )),
    repr(C, align(16))
)]
#[cfg_attr(
    any(
        target_feature = "sse2",
        target_feature = "neon",
        target_feature = "simd128"
    ),
    repr(C, align(64))
)]
pub struct Aligned<B: ?Sized>(pub B);

/// Includes a model file as a `&'static [u8]` aligned as [`Aligned`] (16 bytes on a
/// microcontroller, 64 where there is SIMD), so
/// [`Model::from_bytes`] can use its weights in place (`include_bytes!` alone
/// guarantees no alignment).
///
/// ```ignore
/// static MODEL: &[u8] = tinyrnn::include_model!("../model.trnn");
/// ```
#[macro_export]
macro_rules! include_model {
    ($path:expr) => {{
        static ALIGNED: &$crate::Aligned<[u8]> = &$crate::Aligned(*include_bytes!($path));
        &ALIGNED.0
    }};
}

/// Includes a model file and loads it **while the program is compiled**:
/// the value of a `static` [`Model`], checked by the same loader as
/// [`Model::from_bytes`], with the same checks. A bad file is a build
/// error that names the check it failed; the program carries no loader
/// code, and the loaded model is in flash, not in RAM.
///
/// ```ignore
/// // An LSTM and its Dense head: a model of capacity 2.
/// static MODEL: tinyrnn::Model<'static, 2> = tinyrnn::static_model!("../model.trnn");
///
/// let mut state = tinyrnn::State::<256>::new(&MODEL)?;
/// MODEL.step(&mut state, &x, &mut y)?;
/// ```
///
/// [`Model::with_math`] and [`Model::with_kernel`] are `const`: to step
/// with [`Math::Fast`], write
/// `static_model!("../model.trnn").with_math(tinyrnn::Math::Fast)`.
///
/// `static_model!(bytes B)` loads bytes already in flash instead, `B` a
/// `&'static Aligned<[u8]>` (e.g. shared with an `include_model!`-style
/// table, so the file is not included twice).
///
/// The compiler checks a file of 230 KB in about 5 seconds. From about
/// 300 KB on, its guard against endless constant evaluation stops the
/// build ("constant evaluation is taking a long time"); allow it for that
/// static, `#[allow(long_running_const_eval)]`, and the build goes on
/// (about 30 seconds for 1.1 MB).
#[macro_export]
macro_rules! static_model {
    (bytes $aligned:expr) => {
        match $crate::Model::from_aligned($aligned) {
            Ok(model) => model,
            Err(e) => panic!("{}", e.reason()),
        }
    };
    ($path:expr) => {{
        static ALIGNED: &$crate::Aligned<[u8]> = &$crate::Aligned(*include_bytes!($path));
        $crate::static_model!(bytes ALIGNED)
    }};
}
