//! Spectral measures of one sample: Vendi score, matrix-based Renyi
//! entropy and mutual information, matrix nuclear norm, effective rank,
//! diffusion spectral entropy and mutual information.
//!
//! Every measure reads the eigenvalues of a positive semi-definite kernel
//! matrix `K`, normalised to a probability vector `p = lambda / sum lambda`
//! (that is, `K / tr K`; for kernels with a unit diagonal, `K / n`, the
//! normalisation of the Vendi score and of Sanchez Giraldo et al.).

use super::metric::{KernelKind, Rbf};
use super::pairwise::{inner_pairwise, Rows};
use super::spectrum::{
    centred, cross_product, kernel_eigenvalues, linear_gram_eigenvalues, precomputed_eigenvalues,
    renyi_entropy, spectrum_distribution, sym_eigenvalues_owned, unit_rows,
};
use crate::error::{Error, Result};
use crate::par::{Control, Threads};

/// Where a kernel matrix comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// Rows of data and the kernel to apply to them.
    Data(Rows<'a, f64>, KernelKind),
    /// A precomputed `n x m` kernel matrix (checked to be square, symmetric
    /// and positive semi-definite), row-major.
    Kernel(&'a [f64], usize, usize),
}

impl Source<'_> {
    /// Number of items.
    pub fn len(&self) -> usize {
        match self {
            Source::Data(x, _) => x.rows(),
            Source::Kernel(_, n, _) => *n,
        }
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The eigenvalues of the kernel matrix (only the possibly nonzero ones
    /// for a linear kernel), and the size that sets the round-off level.
    pub fn eigenvalues(&self, threads: Threads, ctl: &Control) -> Result<(Vec<f64>, usize)> {
        match *self {
            Source::Data(x, kernel) => Ok((
                kernel_eigenvalues(x, kernel, threads, ctl)?,
                x.rows().max(x.cols()),
            )),
            Source::Kernel(k, n, m) => Ok((precomputed_eigenvalues(k, n, m, "K", ctl)?, n)),
        }
    }

    /// The full `n x n` kernel matrix.
    pub fn matrix(&self, arg: &'static str, threads: Threads, ctl: &Control) -> Result<Vec<f64>> {
        match *self {
            Source::Data(x, kernel) => super::kernels(x, None, kernel, threads, ctl),
            Source::Kernel(k, n, m) => {
                precomputed_eigenvalues(k, n, m, arg, ctl)?;
                Ok(k.to_vec())
            }
        }
    }
}

fn check_order(q: f64, arg: &'static str) -> Result<()> {
    if q.is_nan() || q < 0.0 {
        return Err(Error::invalid(arg, format!("must be in [0, inf], got {q}")));
    }
    Ok(())
}

fn check_tol(tol: Option<f64>) -> Result<()> {
    match tol {
        Some(t) if !(t.is_finite() && (0.0..1.0).contains(&t)) => Err(Error::invalid(
            "tol",
            format!("must be a finite number in [0, 1), got {t}"),
        )),
        _ => Ok(()),
    }
}

/// Renyi entropy of order `q` (nats) of the normalised spectrum of `src`.
pub fn spectral_entropy(
    src: Source<'_>,
    q: f64,
    tol: Option<f64>,
    arg_q: &'static str,
    threads: Threads,
    ctl: &Control,
) -> Result<f64> {
    check_order(q, arg_q)?;
    check_tol(tol)?;
    let (ev, size) = src.eigenvalues(threads, ctl)?;
    let p = spectrum_distribution(&ev, tol, size);
    Ok(renyi_entropy(&p, q))
}

/// Vendi score of order `q` (Friedman and Dieng, 2023; Pasarkar and Dieng,
/// 2024): `exp(H_q(p))`, the Hill number of the normalised spectrum.
pub fn vendi_score(
    src: Source<'_>,
    q: f64,
    tol: Option<f64>,
    threads: Threads,
    ctl: &Control,
) -> Result<f64> {
    Ok(spectral_entropy(src, q, tol, "q", threads, ctl)?.exp())
}

/// Matrix-based Renyi entropy of order `alpha` of the Hadamard product of
/// two kernel matrices (Sanchez Giraldo, Rao and Principe, 2015, eq. 11):
/// the joint entropy of two views of the same `n` items.
pub fn joint_entropy(
    a: Source<'_>,
    b: Source<'_>,
    alpha: f64,
    tol: Option<f64>,
    threads: Threads,
    ctl: &Control,
) -> Result<f64> {
    check_order(alpha, "alpha")?;
    check_tol(tol)?;
    if a.len() != b.len() {
        return Err(Error::invalid(
            "Y",
            format!("has {} samples but X has {}", b.len(), a.len()),
        ));
    }
    let n = a.len();
    let mut ka = a.matrix("K", threads, ctl)?;
    let kb = b.matrix("KY", threads, ctl)?;
    ka.iter_mut().zip(&kb).for_each(|(u, v)| *u *= v);
    ctl.check()?;
    let ev = sym_eigenvalues_owned(ka, n, ctl)?;
    let p = spectrum_distribution(&ev, tol, n);
    Ok(renyi_entropy(&p, alpha))
}

/// Effective rank of Roy and Vetterli (2007): `exp(H(p))` with `p` the
/// singular values of `X` divided by their sum (columns centred first
/// when `center`).
pub fn effective_rank(
    x: Rows<'_, f64>,
    center: bool,
    tol: Option<f64>,
    threads: Threads,
    ctl: &Control,
) -> Result<f64> {
    check_tol(tol)?;
    let data;
    let x = if center {
        data = centred(x);
        Rows::new(&data, x.rows(), x.cols(), "X")?
    } else {
        x
    };
    let ev = linear_gram_eigenvalues(x, threads, ctl)?;
    let sv: Vec<f64> = ev.iter().map(|&l| l.max(0.0).sqrt()).collect();
    // Round-off on a squared singular value is relative to the largest;
    // the cut applies to the eigenvalues, then singular values are summed.
    let size = x.rows().max(x.cols());
    let top = ev.iter().fold(0.0f64, |a, &v| a.max(v));
    let cut = tol.unwrap_or(size as f64 * f64::EPSILON) * top;
    let kept: Vec<f64> = sv
        .iter()
        .zip(&ev)
        .filter(|(_, &l)| l > cut && l > 0.0)
        .map(|(&s, _)| s)
        .collect();
    let total: f64 = kept.iter().sum();
    if total <= 0.0 {
        return Ok(0.0);
    }
    let p: Vec<f64> = kept.iter().map(|s| s / total).collect();
    Ok(renyi_entropy(&p, 1.0).exp())
}

/// Nuclear norm of `X` (sum of singular values), or its L_{1,2}
/// approximation: the sum of the `min(n, d)` largest column norms (Li et
/// al., 2024). With `normalize`, columns are centred and rows scaled to
/// unit norm first, as in that paper.
pub fn nuclear_norm(
    x: Rows<'_, f64>,
    approx: bool,
    normalize: bool,
    threads: Threads,
    ctl: &Control,
) -> Result<f64> {
    let (n, d) = (x.rows(), x.cols());
    let data;
    let x = if normalize {
        let c = centred(x);
        let cr = Rows::new(&c, n, d, "X")?;
        data = unit_rows(cr);
        Rows::new(&data, n, d, "X")?
    } else {
        x
    };
    if approx {
        let mut norms = vec![0.0; d];
        for i in 0..n {
            for (s, v) in norms.iter_mut().zip(x.row(i)) {
                *s += v * v;
            }
        }
        let mut norms: Vec<f64> = norms.into_iter().map(f64::sqrt).collect();
        norms.sort_by(|a, b| b.total_cmp(a));
        return Ok(norms.iter().take(n.min(d)).sum());
    }
    let ev = linear_gram_eigenvalues(x, threads, ctl)?;
    Ok(ev.iter().map(|&l| l.max(0.0).sqrt()).sum())
}

/// Eigenvalues of the diffusion operator of `x`: the Gaussian affinity
/// `G = exp(-|x_i - x_j|^2 / (2 sigma^2))` normalised to
/// `D^{-1/2} G D^{-1/2}` (the same spectrum as the random walk `D^{-1} G`).
fn diffusion_eigenvalues(
    x: Rows<'_, f64>,
    sigma: f64,
    threads: Threads,
    ctl: &Control,
) -> Result<Vec<f64>> {
    let n = x.rows();
    let gamma = 1.0 / (2.0 * sigma * sigma);
    let mut g = inner_pairwise(x, None, &Rbf { gamma }, threads, ctl)?;
    let deg: Vec<f64> = g.chunks(n).map(|r| r.iter().sum::<f64>().sqrt()).collect();
    for i in 0..n {
        for j in 0..n {
            g[i * n + j] /= deg[i] * deg[j];
        }
    }
    ctl.check()?;
    sym_eigenvalues_owned(g, n, ctl)
}

/// Shannon entropy (nats) of `|lambda|^t / sum |lambda|^t`.
fn powered_entropy(ev: &[f64], t: u32) -> f64 {
    let w: Vec<f64> = ev.iter().map(|l| l.abs().powi(t as i32)).collect();
    let s: f64 = w.iter().sum();
    if s <= 0.0 {
        return 0.0;
    }
    let p: Vec<f64> = w.into_iter().filter(|&v| v > 0.0).map(|v| v / s).collect();
    renyi_entropy(&p, 1.0)
}

fn check_diffusion(sigma: f64, t: u32) -> Result<()> {
    if !(sigma.is_finite() && sigma > 0.0) {
        return Err(Error::invalid(
            "sigma",
            format!("must be a finite number > 0, got {sigma}"),
        ));
    }
    if t == 0 {
        return Err(Error::invalid("t", "must be at least 1, got 0"));
    }
    Ok(())
}

/// Diffusion spectral entropy (Liao et al., 2023), in nats.
pub fn diffusion_spectral_entropy(
    x: Rows<'_, f64>,
    sigma: f64,
    t: u32,
    threads: Threads,
    ctl: &Control,
) -> Result<f64> {
    check_diffusion(sigma, t)?;
    let ev = diffusion_eigenvalues(x, sigma, threads, ctl)?;
    Ok(powered_entropy(&ev, t))
}

/// Diffusion spectral mutual information between `x` and discrete
/// `labels` (Liao et al., 2023): `DSE(X) - sum_c p(c) DSE(X | label = c)`.
pub fn diffusion_spectral_mutual_info(
    x: Rows<'_, f64>,
    labels: &[i64],
    sigma: f64,
    t: u32,
    threads: Threads,
    ctl: &Control,
) -> Result<f64> {
    check_diffusion(sigma, t)?;
    let (n, d) = (x.rows(), x.cols());
    if labels.len() != n {
        return Err(Error::invalid(
            "labels",
            format!("has {} values but X has {n} samples", labels.len()),
        ));
    }
    let total = diffusion_spectral_entropy(x, sigma, t, threads, ctl)?;
    let mut classes: Vec<i64> = labels.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let mut conditional = 0.0;
    for c in classes {
        let rows: Vec<usize> = (0..n).filter(|&i| labels[i] == c).collect();
        let mut sub = Vec::with_capacity(rows.len() * d);
        for &i in &rows {
            sub.extend_from_slice(x.row(i));
        }
        let sr = Rows::new(&sub, rows.len(), d, "X")?;
        let h = diffusion_spectral_entropy(sr, sigma, t, threads, ctl)?;
        conditional += rows.len() as f64 / n as f64 * h;
    }
    Ok(total - conditional)
}

/// `X' X / (n - 1)` of centred columns and the column means: the sample
/// covariance (`ddof = 1`, as `numpy.cov`).
pub fn covariance(x: Rows<'_, f64>, threads: Threads) -> (Vec<f64>, Vec<f64>) {
    let (n, d) = (x.rows(), x.cols());
    let c = centred(x);
    let mean: Vec<f64> = (0..d).map(|j| x.row(0)[j] - c[j]).collect();
    let mut s = threads.install(|| cross_product(&c, d, &c, d, n));
    let scale = 1.0 / (n as f64 - 1.0);
    s.iter_mut().for_each(|v| *v *= scale);
    (mean, s)
}
