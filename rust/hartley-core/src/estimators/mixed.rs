//! Mutual information of discrete, continuous or mixed variables.
//!
//! W. Gao, S. Kannan, S. Oh, P. Viswanath, "Estimating mutual information for
//! discrete-continuous mixtures", NeurIPS 2017. With rho_i the max-norm
//! distance to the k-th neighbour in the joint space, sample i contributes
//! xi_i = psi(k_i) + log n - psi(n_x,i) - psi(n_y,i), where, when rho_i > 0,
//! k_i = k and n_x,i, n_y,i count the samples (i itself included) strictly
//! closer than rho_i in each marginal, and, when rho_i = 0, k_i, n_x,i and
//! n_y,i count the samples at distance 0 (i included) in the joint space and
//! in each marginal. The estimate is the mean of xi_i.
//!
//! This is the form of the authors' reference implementation. The paper's
//! displayed formula, log(n_x,i + 1) of inclusive counts, is consistent only
//! as k grows with n: at a fixed k it keeps a bias of a third of a nat on a
//! discrete-continuous pair, which the digamma of strict counts does not.

use super::digamma::digamma_int;
use super::knn::{self, KBlock, MaxNorm, NeighbourSearch};
use super::prep::{self, strictly_below, Matrix, Prep};
use crate::error::Result;
use crate::par::{par_block_sum, par_fill, Control, Threads, CHUNK};

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
    let (tree, m) = knn::build_with_marginals(joint, d, &[0..dx, dx..d], ctl)?;
    let log_n = (n as f64).ln();
    // Per point: the number of neighbours k_i and the marginal radius.
    // Half the progress for the neighbours, a quarter for each marginal.
    let (local, mut done) = par_fill(n, ctl, (1, 2), |range, out: &mut [(usize, f64)]| {
        let mut bests = KBlock::new(k, range.len());
        tree.knn_of_block::<MaxNorm>(range.start, &mut bests);
        for ((j, i), o) in range.enumerate().zip(out) {
            *o = match strictly_below(bests.worst(j)) {
                Some(r) => (k, r),
                // A k-th neighbour at distance 0: every duplicate counts.
                None => (tree.count_within::<MaxNorm>(tree.point(i), 0.0), 0.0),
            };
        }
    })?;
    let radii: Vec<f64> = local.iter().map(|l| l.1).collect();
    let pts = tree.points();
    let (cx, units) = m[0].counts(&radii, pts, d, 0..dx, ctl, (1, 4))?;
    done += units;
    let (cy, units) = m[1].counts(&radii, pts, d, dx..d, ctl, (1, 4))?;
    done += units;
    ctl.advance(n as u64 - done);
    let sum = par_block_sum(n, CHUNK, &Control::new(), |range| {
        range
            .map(|i| {
                digamma_int(local[i].0) + log_n
                    - digamma_int(cx[i] as usize)
                    - digamma_int(cy[i] as usize)
            })
            .sum()
    })?;
    Ok(sum / n as f64)
}
