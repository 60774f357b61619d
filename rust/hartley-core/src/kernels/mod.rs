//! Pairwise kernels and the measures built on them.
//!
//! * [`metric`]: metrics and kernels as small types behind two traits, one
//!   for maps of inner products (run on a blocked matrix product) and one
//!   for coordinate-wise metrics.
//! * [`pairwise`]: blocked, parallel pairwise matrices and O(n)-memory
//!   pairwise sums; [`distances`] and [`kernels`] dispatch on names.
//! * [`codes`]: Hamming and Jaccard distances of packed binary codes.
//! * [`spectrum`]: symmetric eigenvalues of Gram matrices (the smaller of
//!   the n x n and d x d problems for linear kernels), Renyi entropies and
//!   Hill numbers of spectra.
//! * [`sbr`]: eigenvalues of large dense symmetric matrices by two-stage
//!   tridiagonalisation (dense to band, band to tridiagonal).
//! * [`sterf`]: eigenvalues of symmetric tridiagonal matrices (root-free
//!   QL/QR).
//! * [`measures`]: Vendi score, matrix entropy, nuclear norm, effective
//!   rank, diffusion spectral entropy.
//! * [`twosample`]: MMD, energy distance, Cauchy-Schwarz divergence,
//!   Frechet distance, sliced Wasserstein distance.
//! * [`vexp`]: a vectorised single-precision exponential for the RBF kernel.

pub mod codes;
pub mod float;
pub mod measures;
pub mod metric;
pub mod pairwise;
pub mod sbr;
pub mod spectrum;
pub mod sterf;
pub mod twosample;
pub mod vexp;

pub use float::Float;
pub use metric::{DistanceKind, KernelKind};
pub use pairwise::Rows;

use crate::error::Result;
use crate::par::{Control, Threads};
use metric::{
    Chebyshev, CosineDistance, CosineSimilarity, Euclidean, Laplacian, Linear, Manhattan,
    Polynomial, Rbf, SqEuclidean,
};
use pairwise::{direct_pairwise, inner_pairwise};

/// The `n x m` distance matrix between the rows of `x` and `y` (of `x` with
/// itself when `y` is `None`), row-major, in the input's precision.
pub fn distances<T: Float>(
    x: Rows<'_, T>,
    y: Option<Rows<'_, T>>,
    metric: DistanceKind,
    threads: Threads,
    ctl: &Control,
) -> Result<Vec<T>> {
    match metric {
        DistanceKind::Euclidean => inner_pairwise(x, y, &Euclidean, threads, ctl),
        DistanceKind::SqEuclidean => inner_pairwise(x, y, &SqEuclidean, threads, ctl),
        DistanceKind::Cosine => inner_pairwise(x, y, &CosineDistance, threads, ctl),
        DistanceKind::Manhattan => direct_pairwise(x, y, &Manhattan, threads, ctl),
        DistanceKind::Chebyshev => direct_pairwise(x, y, &Chebyshev, threads, ctl),
    }
}

/// The `n x m` kernel matrix between the rows of `x` and `y` (of `x` with
/// itself when `y` is `None`), row-major, in the input's precision.
pub fn kernels<T: Float>(
    x: Rows<'_, T>,
    y: Option<Rows<'_, T>>,
    kernel: KernelKind,
    threads: Threads,
    ctl: &Control,
) -> Result<Vec<T>> {
    match kernel {
        KernelKind::Linear => inner_pairwise(x, y, &Linear, threads, ctl),
        KernelKind::Cosine => inner_pairwise(x, y, &CosineSimilarity, threads, ctl),
        KernelKind::Rbf { gamma } => inner_pairwise(x, y, &Rbf { gamma }, threads, ctl),
        KernelKind::Laplacian { gamma } => {
            direct_pairwise(x, y, &Laplacian { gamma }, threads, ctl)
        }
        KernelKind::Polynomial {
            gamma,
            coef0,
            degree,
        } => inner_pairwise(
            x,
            y,
            &Polynomial {
                gamma,
                coef0,
                degree,
            },
            threads,
            ctl,
        ),
    }
}
