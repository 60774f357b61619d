//! k-nearest-neighbour estimators of entropy, mutual information and
//! divergences, and the neighbour search they rest on.

pub mod cmi;
pub mod compat;
pub mod digamma;
pub mod entropy;
pub mod kl;
pub mod knn;
pub mod ksg;
pub mod mixed;
pub mod pair;
pub mod prep;
pub mod resample;
pub mod transfer;
