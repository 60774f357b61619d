//! k-nearest-neighbour estimator of the Kullback-Leibler divergence.
//!
//! Q. Wang, S. R. Kulkarni, S. Verdu, "Divergence estimation for
//! multidimensional densities via k-nearest-neighbor distances", IEEE Trans.
//! Inf. Theory 55(5), 2392-2405 (2009), eq. 5:
//! D(P || Q) = (d / n) sum_i log(nu_k(i) / rho_k(i)) + log(m / (n - 1)), with
//! rho_k(i) the Euclidean distance from x_i to its k-th neighbour among the
//! other x, and nu_k(i) to its k-th neighbour among the m samples y.

use super::knn::{self, Euclidean, KBlock, NeighbourSearch, Norm};
use super::prep::{self, Matrix, Prep};
use crate::error::{Error, Result};
use crate::par::{par_chunk_sum, Control, Threads};

/// Options of [`kl_divergence`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KlOptions {
    /// Number of neighbours.
    pub k: usize,
    /// Jitter, in units of each column's standard deviation.
    pub noise: f64,
    /// Seed of the jitter.
    pub seed: u64,
}

/// D(P || Q) in nats from samples `x ~ P` and `y ~ Q`.
pub fn kl_divergence(
    x: Matrix<'_>,
    y: Matrix<'_>,
    opts: &KlOptions,
    threads: Threads,
    ctl: &Control,
) -> Result<f64> {
    threads.install(|| kl_in_pool(x, y, opts, ctl))
}

fn kl_in_pool(x: Matrix<'_>, y: Matrix<'_>, opts: &KlOptions, ctl: &Control) -> Result<f64> {
    if x.cols() != y.cols() {
        return Err(Error::invalid(
            "y",
            format!("has {} dimensions but x has {}", y.cols(), x.cols()),
        ));
    }
    prep::check_k(opts.k, x.rows(), "x")?;
    if y.rows() < opts.k {
        return Err(Error::invalid(
            "k",
            format!(
                "must be at most the number of samples in y ({}), got {}",
                y.rows(),
                opts.k
            ),
        ));
    }
    let prep = Prep {
        standardize: false,
        noise: opts.noise,
        reject_constant: true,
    };
    let mut px = prep::joint(&[(x, "x")], prep, opts.seed)?;
    let mut py = prep::joint(&[(y, "y")], prep, opts.seed.wrapping_add(1))?;
    // The estimate is invariant to a common scale; an exact power-of-two
    // scale keeps squared distances clear of overflow and underflow.
    let e = prep::unit_exponent(px.iter().chain(py.iter()));
    prep::scale_pow2(&mut px, -e);
    prep::scale_pow2(&mut py, -e);
    let (n, m, d, k) = (x.rows(), y.rows(), x.cols(), opts.k);
    ctl.add_total(n as u64);
    let sum = {
        let tx = knn::build(px, d, ctl)?;
        let ty = knn::build(py, d, ctl)?;
        par_chunk_sum(n, ctl, |range| {
            let mut own = KBlock::new(k, range.len());
            tx.knn_of_block::<Euclidean>(range.start, &mut own);
            let mut other = KBlock::new(k, range.len());
            ty.knn_of_other::<Euclidean>(&tx, range.start, &mut other);
            (0..own.len())
                .map(|j| {
                    let rho = Euclidean::expand(own.worst(j));
                    let nu = Euclidean::expand(other.worst(j));
                    nu.ln() - rho.ln()
                })
                .sum::<f64>()
        })
    }?;
    if !sum.is_finite() {
        return Err(Error::invalid(
            "x",
            "has repeated points (or points repeated in y), so a neighbour distance is 0; keep noise > 0 to break ties",
        ));
    }
    Ok(d as f64 * sum / n as f64 + (m as f64 / (n as f64 - 1.0)).ln())
}
