//! Kraskov-Stoegbauer-Grassberger estimators of mutual information.
//!
//! A. Kraskov, H. Stoegbauer, P. Grassberger, "Estimating mutual
//! information", Phys. Rev. E 69, 066138 (2004).

use super::digamma::digamma_int;
use super::knn::{self, KBlock, Marginal, MaxNorm, NeighbourSearch, Norm};
use super::pair::{ksg_pair, Ranked, Scratch, Strips, XRanks};
use super::prep::{self, strictly_below, Matrix, Prep};
use super::resample::{
    estimate_with_interval, min_half_sample, permutation_null, Estimate, Resampling,
};
use crate::error::{Error, Result};
use crate::par::{par_block_sum, par_fill, Control, Threads, CHUNK};

/// Which of the two KSG estimators to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ksg {
    /// Algorithm 1: marginal counts strictly inside the joint k-th-neighbour
    /// distance; I = psi(k) + psi(n) - <psi(n_x + 1) + psi(n_y + 1)>.
    One,
    /// Algorithm 2: marginal counts within the per-marginal extents of the k
    /// neighbours; I = psi(k) - 1/k + psi(n) - <psi(n_x) + psi(n_y)>.
    Two,
}

/// Options shared by the KSG-family estimators.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsgOptions {
    /// Number of neighbours.
    pub k: usize,
    /// Algorithm 1 or 2.
    pub estimator: Ksg,
    /// Conditioning of the inputs.
    pub prep: Prep,
    /// Seed of the jitter.
    pub seed: u64,
}

impl KsgOptions {
    /// Algorithm 1 with the library defaults: k = 3, standardized columns,
    /// jitter of 1e-10 standard deviations.
    pub fn new(k: usize) -> Self {
        KsgOptions {
            k,
            estimator: Ksg::One,
            prep: Prep {
                standardize: true,
                noise: 1e-10,
                reject_constant: true,
            },
            seed: 0,
        }
    }
}

/// Prepares `[x | y]` for [`ksg_prepared`]: checks, scales and jitters.
pub fn prepare(x: Matrix<'_>, y: Matrix<'_>, opts: &KsgOptions) -> Result<Vec<f64>> {
    prep::joint(&[(x, "x"), (y, "y")], opts.prep, opts.seed)
}

/// KSG mutual information I(X; Y) in nats between the rows of `x` and `y`.
pub fn mutual_info(
    x: Matrix<'_>,
    y: Matrix<'_>,
    opts: &KsgOptions,
    ci: Option<Resampling>,
    threads: Threads,
    ctl: &Control,
) -> Result<Estimate> {
    let (dx, dy, k) = (x.cols(), y.cols(), opts.k);
    threads.install(|| {
        let joint = prepare(x, y, opts)?;
        prep::check_k(k, x.rows(), "x")?;
        estimate_with_interval(
            joint,
            dx + dy,
            min_half_sample(k),
            ci,
            opts.seed,
            ctl,
            |d| ksg_prepared(d, dx, dy, k, opts.estimator, ctl),
        )
    })
}

/// KSG on an already prepared joint matrix `[x | y]` (row-major, `dx + dy`
/// columns).
pub fn ksg_prepared(
    joint: Vec<f64>,
    dx: usize,
    dy: usize,
    k: usize,
    estimator: Ksg,
    ctl: &Control,
) -> Result<f64> {
    let d = dx + dy;
    let n = joint.len() / d;
    prep::check_k(k, n, "x")?;
    if dx == 1 && dy == 1 {
        // Built so that no more than about 38 bytes a sample are alive at
        // once: the joint goes as soon as y is ranked and x copied out.
        let ys = Ranked::from_fn(n, |i| joint[2 * i + 1]);
        let x: Vec<f64> = joint.iter().step_by(2).copied().collect();
        drop(joint);
        let (xr, ys) = XRanks::consume(|i| x[i], ys);
        drop(x);
        let scratch = &mut Scratch::once();
        let strips = Strips::deal(xr, ys.values(), Strips::default_width(n, k), scratch).adapt(
            ys.values(),
            k,
            scratch,
        );
        return ksg_pair(&strips, &ys, k, estimator, ctl);
    }
    let (tree, m) = knn::build_with_marginals(joint, d, &[0..dx, dx..d], ctl)?;
    ksg_with(&tree, &m[0], &m[1], dx, k, estimator, ctl)
}

/// KSG over a joint neighbour structure and the two marginal ones, which
/// callers may share between estimates (a target scored against many
/// features keeps one marginal).
pub fn ksg_with(
    tree: &knn::KdTree,
    mx: &Marginal,
    my: &Marginal,
    dx: usize,
    k: usize,
    estimator: Ksg,
    ctl: &Control,
) -> Result<f64> {
    let (n, d) = (tree.len(), tree.dim());
    // Half the progress for the neighbours, a quarter for each marginal.
    let (radii, mut done) = par_fill(n, ctl, (1, 2), |range, out: &mut [[f64; 2]]| {
        let mut bests = KBlock::new(k, range.len());
        tree.knn_of_block::<MaxNorm>(range.start, &mut bests);
        for ((j, i), o) in range.enumerate().zip(out) {
            *o = match estimator {
                // A negative radius counts nothing: n_x = n_y = 0 when the
                // k-th neighbour is a duplicate.
                Ksg::One => [strictly_below(bests.worst(j)).unwrap_or(-1.0); 2],
                Ksg::Two => {
                    let (px, py) = tree.point(i).split_at(dx);
                    let (mut ex, mut ey) = (0.0f64, 0.0f64);
                    for &p in bests.positions(j) {
                        let (qx, qy) = tree.point(p as usize).split_at(dx);
                        ex = ex.max(MaxNorm::dist(px, qx));
                        ey = ey.max(MaxNorm::dist(py, qy));
                    }
                    [ex, ey]
                }
            };
        }
    })?;
    let pts = tree.points();
    let rx: Vec<f64> = radii.iter().map(|r| r[0]).collect();
    let (cx, units) = mx.counts(&rx, pts, d, 0..dx, ctl, (1, 4))?;
    done += units;
    let ry: Vec<f64> = radii.iter().map(|r| r[1]).collect();
    drop(radii);
    let (cy, units) = my.counts(&ry, pts, d, dx..d, ctl, (1, 4))?;
    done += units;
    ctl.advance(n as u64 - done);
    // Counts include the point itself.
    let term = |c: u32| match estimator {
        Ksg::One => digamma_int(c.max(1) as usize),
        Ksg::Two => digamma_int(c as usize - 1),
    };
    let sum = par_block_sum(n, CHUNK, &Control::new(), |range| {
        range.map(|i| term(cx[i]) + term(cy[i])).sum()
    })?;
    Ok(combine(estimator, k, n, sum / n as f64))
}

/// The KSG estimate from the mean over samples of the digamma terms of the
/// marginal counts.
pub(crate) fn combine(estimator: Ksg, k: usize, n: usize, mean_terms: f64) -> f64 {
    let base = digamma_int(k) + digamma_int(n) - mean_terms;
    match estimator {
        Ksg::One => base,
        Ksg::Two => base - 1.0 / k as f64,
    }
}

/// Parses `"ksg1"` / `"ksg2"`.
pub fn parse_estimator(name: &str) -> Result<Ksg> {
    match name {
        "ksg1" => Ok(Ksg::One),
        "ksg2" => Ok(Ksg::Two),
        other => Err(Error::invalid(
            "estimator",
            format!("must be one of 'ksg1', 'ksg2', got {other:?}"),
        )),
    }
}

/// The KSG estimate of I(X; Y) and its null distribution over
/// `n_permutations` random pairings of the rows of `y` with those of `x`.
pub fn permutation_test(
    x: Matrix<'_>,
    y: Matrix<'_>,
    opts: &KsgOptions,
    n_permutations: usize,
    threads: Threads,
    ctl: &Control,
) -> Result<(f64, Vec<f64>)> {
    let (dx, dy) = (x.cols(), y.cols());
    threads.install(|| {
        let joint = prepare(x, y, opts)?;
        prep::check_k(opts.k, x.rows(), "x")?;
        permutation_null(&joint, dx, dy, n_permutations, opts.seed, ctl, |d| {
            ksg_prepared(d, dx, dy, opts.k, opts.estimator, ctl)
        })
    })
}
