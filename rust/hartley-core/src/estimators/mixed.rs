//! Mutual information of discrete, continuous or mixed variables.
//!
//! W. Gao, S. Kannan, S. Oh, P. Viswanath, "Estimating mutual information for
//! discrete-continuous mixtures", NeurIPS 2017, Algorithm 1. With rho_i the
//! max-norm distance to the k-th neighbour in the joint space:
//! xi_i = psi(k_i) + log n - log(n_x,i + 1) - log(n_y,i + 1), where k_i = k
//! when rho_i > 0 and the number of other points at distance 0 otherwise, and
//! n_x,i, n_y,i count the other points within rho_i (inclusive) in each
//! marginal. The estimate is the mean of xi_i.

use super::digamma::digamma_int;
use super::knn::{self, Hint, KBest, MaxNorm, NeighbourSearch};
use super::prep::{self, Matrix, Prep};
use crate::error::Result;
use crate::par::{par_chunk_sum, Control, Threads};

/// Options of [`mutual_info_mixed`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MixedOptions {
    /// Number of neighbours.
    pub k: usize,
    /// Jitter, in units of each column's standard deviation (0 keeps ties,
    /// which carry the discrete part of the distribution).
    pub noise: f64,
    /// Seed of the jitter.
    pub seed: u64,
}

/// Prepares `[x | y]` (checks and optional jitter, no scaling).
pub fn prepare(x: Matrix<'_>, y: Matrix<'_>, opts: &MixedOptions) -> Result<Vec<f64>> {
    let prep = Prep {
        standardize: false,
        noise: opts.noise,
        reject_constant: false,
    };
    prep::joint(&[(x, "x"), (y, "y")], prep, opts.seed)
}

/// Gao et al.'s mixed-pair MI in nats.
pub fn mutual_info_mixed(
    x: Matrix<'_>,
    y: Matrix<'_>,
    opts: &MixedOptions,
    threads: Threads,
    ctl: &Control,
) -> Result<f64> {
    threads.install(|| {
        let joint = prepare(x, y, opts)?;
        prep::check_k(opts.k, x.rows(), "x")?;
        mixed_prepared(joint, x.cols(), y.cols(), opts.k, ctl)
    })
}

/// [`mutual_info_mixed`] on a prepared `[x | y]` matrix.
pub fn mixed_prepared(
    joint: Vec<f64>,
    dx: usize,
    dy: usize,
    k: usize,
    ctl: &Control,
) -> Result<f64> {
    let d = dx + dy;
    let n = joint.len() / d;
    prep::check_k(k, n, "x")?;
    ctl.add_total(n as u64);
    let (tree, m) = knn::build_with_marginals(joint, d, &[0..dx, dx..d]);
    let (mx, my) = (&m[0], &m[1]);
    let log_n = (n as f64).ln();
    let sum = par_chunk_sum(n, ctl, |range| {
        let mut best = KBest::new(k);
        let (mut hx, mut hy) = (Hint::default(), Hint::default());
        let mut s = 0.0;
        for i in range {
            best.clear();
            let p = tree.point(i);
            tree.knn_of::<MaxNorm>(i, &mut best);
            let rho = best.worst();
            let k_i = if rho > 0.0 {
                k
            } else {
                tree.count_within::<MaxNorm>(p, 0.0) - 1
            };
            let nx = mx.count_near(&p[..dx], rho, &mut hx) - 1;
            let ny = my.count_near(&p[dx..], rho, &mut hy) - 1;
            s += digamma_int(k_i) + log_n - ((nx + 1) as f64).ln() - ((ny + 1) as f64).ln();
        }
        s
    })?;
    Ok(sum / n as f64)
}
