//! Frenzel-Pompe estimator of conditional mutual information.
//!
//! S. Frenzel, B. Pompe, "Partial mutual information for coupling analysis of
//! multivariate time series", Phys. Rev. Lett. 99, 204101 (2007):
//! I(X; Y | Z) = psi(k) - <psi(n_xz + 1) + psi(n_yz + 1) - psi(n_z + 1)>, the
//! counts taken strictly inside the joint k-th-neighbour max-norm distance.

use super::digamma::digamma_int;
use super::knn::{self, KBlock, MaxNorm, NeighbourSearch};
use super::ksg::KsgOptions;
use super::prep::{self, strictly_below, Matrix};
use super::resample::{estimate_with_interval, min_half_sample, Estimate, Resampling};
use crate::error::Result;
use crate::par::{par_block_sum, par_fill, Control, Threads, CHUNK};

/// Prepares the joint matrix `[x | z | y]`, the layout [`cmi_prepared`]
/// expects: every marginal it needs is a contiguous range of columns.
pub fn prepare(x: Matrix<'_>, y: Matrix<'_>, z: Matrix<'_>, opts: &KsgOptions) -> Result<Vec<f64>> {
    prep::joint(&[(x, "x"), (z, "z"), (y, "y")], opts.prep, opts.seed)
}

/// Conditional mutual information I(X; Y | Z) in nats.
pub fn conditional_mutual_info(
    x: Matrix<'_>,
    y: Matrix<'_>,
    z: Matrix<'_>,
    opts: &KsgOptions,
    ci: Option<Resampling>,
    threads: Threads,
    ctl: &Control,
) -> Result<Estimate> {
    let (dx, dz, dy, k) = (x.cols(), z.cols(), y.cols(), opts.k);
    threads.install(|| {
        let joint = prepare(x, y, z, opts)?;
        prep::check_k(k, x.rows(), "x")?;
        estimate_with_interval(
            joint,
            dx + dz + dy,
            min_half_sample(k),
            ci,
            opts.seed,
            ctl,
            |d| cmi_prepared(d, dx, dz, dy, k, ctl),
        )
    })
}

/// Frenzel-Pompe on a prepared `[x | z | y]` matrix.
pub fn cmi_prepared(
    joint: Vec<f64>,
    dx: usize,
    dz: usize,
    dy: usize,
    k: usize,
    ctl: &Control,
) -> Result<f64> {
    let d = dx + dz + dy;
    let n = joint.len() / d;
    prep::check_k(k, n, "x")?;
    let (tree, m) = knn::build_with_marginals(joint, d, &[0..dx + dz, dx..d, dx..dx + dz], ctl)?;
    // Half the progress for the neighbours, the rest over the marginals.
    let (radii, mut done) = par_fill(n, ctl, (1, 2), |range, out: &mut [f64]| {
        let mut bests = KBlock::new(k, range.len());
        tree.knn_of_block::<MaxNorm>(range.start, &mut bests);
        for (j, o) in out.iter_mut().enumerate() {
            // A negative radius counts nothing: every count is 0 when the
            // k-th neighbour is a duplicate.
            *o = strictly_below(bests.worst(j)).unwrap_or(-1.0);
        }
    })?;
    let pts = tree.points();
    let mut counts = Vec::with_capacity(3);
    for (marginal, cols) in m.iter().zip([0..dx + dz, dx..d, dx..dx + dz]) {
        let (c, units) = marginal.counts(&radii, pts, d, cols, ctl, (1, 6))?;
        done += units;
        counts.push(c);
    }
    ctl.advance(n as u64 - done);
    // Counts include the point itself.
    let term = |c: u32| digamma_int(c.max(1) as usize);
    let sum = par_block_sum(n, CHUNK, &Control::new(), |range| {
        range
            .map(|i| term(counts[0][i]) + term(counts[1][i]) - term(counts[2][i]))
            .sum()
    })?;
    Ok(digamma_int(k) - sum / n as f64)
}
