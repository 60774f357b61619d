//! Binary codes: popcount kernels with run-time SIMD dispatch, exhaustive
//! scans with top-k selection, binarisation, pairwise code distances, and
//! the binary index with its file format.

pub mod binarize;
pub mod index;
pub mod io;
pub mod pairwise;
pub mod popcount;
pub mod rerank;
pub mod scan;
pub mod store;
pub mod topk;
