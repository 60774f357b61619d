//! hartley-core: information-theoretic estimators and the retrieval
//! primitives they rest on, in pure Rust.
//!
//! The Python package `hartley` is a thin binding over this crate. Every
//! routine takes its parallelism as a [`par::Threads`] value and a
//! [`par::Control`] block through which the caller can cancel it and watch
//! its progress; results never depend on the number of threads.

pub mod bits;
pub mod error;
pub mod estimators;
pub mod hnsw;
pub mod kernels;
pub mod par;
pub mod simd;

pub use error::{Error, Result};
pub use par::{Control, Threads};
