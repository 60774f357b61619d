//! Kozachenko-Leonenko differential entropy.
//!
//! L. F. Kozachenko, N. N. Leonenko, "Sample estimate of the entropy of a
//! random vector", Problems Inform. Transmission 23 (1987); in the k-th
//! neighbour form of Kraskov et al. (2004), eq. 20:
//! H = psi(n) - psi(k) + log V_d + (d / n) sum_i log eps_i, with eps_i the
//! distance from point i to its k-th neighbour and V_d the volume of the unit
//! ball of the norm.

use super::digamma::digamma_int;
use super::knn::{self, Euclidean, KBlock, MaxNorm, NeighbourSearch, Norm};
use super::prep::{self, Matrix, Prep};
use super::resample::{estimate_with_interval, min_half_sample, Estimate, Resampling};
use crate::error::{Error, Result};
use crate::par::{par_chunk_sum, Control, Threads};

/// The norm that measures neighbour distances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// L2.
    Euclidean,
    /// L-infinity.
    Chebyshev,
}

impl Metric {
    /// Parses `"euclidean"` / `"chebyshev"`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "euclidean" => Ok(Metric::Euclidean),
            "chebyshev" => Ok(Metric::Chebyshev),
            other => Err(Error::invalid(
                "metric",
                format!("must be one of 'euclidean', 'chebyshev', got {other:?}"),
            )),
        }
    }

    /// Natural log of the volume of the unit ball in `d` dimensions.
    pub fn log_unit_ball(self, d: usize) -> f64 {
        match self {
            Metric::Chebyshev => d as f64 * std::f64::consts::LN_2,
            Metric::Euclidean => {
                0.5 * d as f64 * std::f64::consts::PI.ln() - ln_gamma_half_plus_one(d)
            }
        }
    }
}

/// ln Gamma(d/2 + 1), exact by the recurrence from Gamma(1) or Gamma(1/2).
fn ln_gamma_half_plus_one(d: usize) -> f64 {
    // Gamma(x + 1) = x Gamma(x), descending from x = d/2 to 1 or 1/2.
    let mut acc = if d.is_multiple_of(2) {
        0.0
    } else {
        0.5 * std::f64::consts::PI.ln()
    };
    let mut x = d as f64 / 2.0;
    while x > 0.25 {
        acc += x.ln();
        x -= 1.0;
    }
    acc
}

/// Options of [`entropy`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EntropyOptions {
    /// Number of neighbours.
    pub k: usize,
    /// Norm of the neighbour distances.
    pub metric: Metric,
    /// Jitter, in units of each column's standard deviation.
    pub noise: f64,
    /// Seed of the jitter.
    pub seed: u64,
}

/// Prepares `x` for [`entropy_prepared`]: checks and jitters (no scaling,
/// since entropy is not scale invariant).
pub fn prepare(x: Matrix<'_>, opts: &EntropyOptions) -> Result<Vec<f64>> {
    let prep = Prep {
        standardize: false,
        noise: opts.noise,
        reject_constant: true,
    };
    prep::joint(&[(x, "x")], prep, opts.seed)
}

/// Differential entropy of the rows of `x`, in nats.
pub fn entropy(
    x: Matrix<'_>,
    opts: &EntropyOptions,
    ci: Option<Resampling>,
    threads: Threads,
    ctl: &Control,
) -> Result<Estimate> {
    let d = x.cols();
    threads.install(|| {
        let data = prepare(x, opts)?;
        prep::check_k(opts.k, x.rows(), "x")?;
        estimate_with_interval(data, d, min_half_sample(opts.k), ci, opts.seed, ctl, |s| {
            entropy_prepared(s, d, opts.k, opts.metric, ctl)
        })
    })
}

/// [`entropy`] on prepared data.
pub fn entropy_prepared(
    data: Vec<f64>,
    d: usize,
    k: usize,
    metric: Metric,
    ctl: &Control,
) -> Result<f64> {
    let n = data.len() / d;
    prep::check_k(k, n, "x")?;
    // H(2^-e X) = H(X) - d e log 2 exactly, and the scaled data keeps squared
    // distances clear of overflow and underflow at extreme magnitudes.
    let mut data = data;
    let e = prep::unit_exponent(data.iter());
    prep::scale_pow2(&mut data, -e);
    let mean_log = match metric {
        Metric::Euclidean => mean_log_kth::<Euclidean>(data, d, k, ctl)?,
        Metric::Chebyshev => mean_log_kth::<MaxNorm>(data, d, k, ctl)?,
    };
    if !mean_log.is_finite() {
        return Err(Error::invalid(
            "x",
            "has repeated points (a k-th neighbour at distance 0), so the entropy is -inf; keep noise > 0 to break ties",
        ));
    }
    Ok(digamma_int(n) - digamma_int(k)
        + metric.log_unit_ball(d)
        + d as f64 * (mean_log + e as f64 * std::f64::consts::LN_2))
}

/// Mean over points of the log distance to the k-th neighbour under `N`.
pub(crate) fn mean_log_kth<N: Norm>(
    data: Vec<f64>,
    d: usize,
    k: usize,
    ctl: &Control,
) -> Result<f64> {
    let n = data.len() / d;
    let tree = knn::build(data, d, ctl)?;
    let sum = par_chunk_sum(n, ctl, |range| {
        let mut bests = KBlock::new(k, range.len());
        tree.knn_of_block::<N>(range.start, &mut bests);
        (0..bests.len())
            .map(|j| N::expand(bests.worst(j)).ln())
            .sum()
    })?;
    Ok(sum / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_ball_volumes() {
        let pi = std::f64::consts::PI;
        let cases = [(1, 2.0), (2, pi), (3, 4.0 / 3.0 * pi), (4, pi * pi / 2.0)];
        for (d, v) in cases {
            assert!((Metric::Euclidean.log_unit_ball(d) - f64::ln(v)).abs() < 1e-14);
        }
        assert!((Metric::Chebyshev.log_unit_ball(3) - 8f64.ln()).abs() < 1e-15);
    }
}
