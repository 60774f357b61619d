//! Frenzel-Pompe estimator of conditional mutual information.
//!
//! S. Frenzel, B. Pompe, "Partial mutual information for coupling analysis of
//! multivariate time series", Phys. Rev. Lett. 99, 204101 (2007):
//! I(X; Y | Z) = psi(k) - <psi(n_xz + 1) + psi(n_yz + 1) - psi(n_z + 1)>, the
//! counts taken strictly inside the joint k-th-neighbour max-norm distance.

use super::digamma::digamma_int;
use super::knn::{self, Hint, KBest, MaxNorm, NeighbourSearch};
use super::ksg::KsgOptions;
use super::prep::{self, strictly_below, Matrix};
use super::resample::{estimate_with_interval, min_half_sample, Estimate, Resampling};
use crate::error::Result;
use crate::par::{par_chunk_sum, Control, Threads};

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
    let (tree, m) = knn::build_with_marginals(joint, d, &[0..dx + dz, dx..d, dx..dx + dz]);
    let (mxz, mzy, mz) = (&m[0], &m[1], &m[2]);
    let sum = par_chunk_sum(n, ctl, |range| {
        let mut bests = vec![KBest::new(k); range.len()];
        tree.knn_of_block::<MaxNorm>(range.start, &mut bests);
        let mut h = [Hint::default(); 3];
        let mut s = 0.0;
        for (i, best) in range.zip(&bests) {
            let p = tree.point(i);
            s += match strictly_below(best.worst()) {
                Some(r) => {
                    let nxz = mxz.count_near(&p[..dx + dz], r, &mut h[0]) - 1;
                    let nzy = mzy.count_near(&p[dx..], r, &mut h[1]) - 1;
                    let nz = mz.count_near(&p[dx..dx + dz], r, &mut h[2]) - 1;
                    digamma_int(nxz + 1) + digamma_int(nzy + 1) - digamma_int(nz + 1)
                }
                None => digamma_int(1),
            };
        }
        s
    })?;
    Ok(digamma_int(k) - sum / n as f64)
}
