//! Two-sample measures: MMD, energy distance, Cauchy-Schwarz divergence,
//! Frechet distance and sliced Wasserstein distance.
//!
//! The kernel-sum measures add up pairwise tiles without storing them
//! (O(n) extra memory, see [`super::pairwise::inner_sum`]); the Frechet
//! distance works on d x d covariances; the sliced Wasserstein distance on
//! n x L projections.

use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::float::Float;
use super::measures::covariance;
use super::metric::{
    CosineSimilarity, EuclideanPow, KernelKind, Laplacian, Linear, Polynomial, Rbf,
};
use super::pairwise::{direct_sum, inner_diagonal_sum, inner_sum, same_width, Rows};
use super::spectrum::{cross_product, first_asymmetry, indefinite, sym_eigenvalues, sym_sqrt};
use crate::error::{Error, Result};
use crate::par::{Control, Threads};

/// `(sum over all pairs, sum over the diagonal)` of a kernel between `x`
/// and `y` (`x` with itself when `y` is `None`).
fn kernel_sums<T: Float>(
    x: Rows<'_, T>,
    y: Option<Rows<'_, T>>,
    kernel: KernelKind,
    ctl: &Control,
) -> Result<(f64, f64)> {
    let diag = |d: f64| if y.is_none() { d } else { 0.0 };
    Ok(match kernel {
        KernelKind::Linear => (
            inner_sum(x, y, &Linear, ctl)?,
            diag(inner_diagonal_sum(x, &Linear)),
        ),
        KernelKind::Cosine => (
            inner_sum(x, y, &CosineSimilarity, ctl)?,
            diag(inner_diagonal_sum(x, &CosineSimilarity)),
        ),
        KernelKind::Rbf { gamma } => {
            let k = Rbf { gamma };
            (inner_sum(x, y, &k, ctl)?, diag(inner_diagonal_sum(x, &k)))
        }
        KernelKind::Polynomial {
            gamma,
            coef0,
            degree,
        } => {
            let k = Polynomial {
                gamma,
                coef0,
                degree,
            };
            (inner_sum(x, y, &k, ctl)?, diag(inner_diagonal_sum(x, &k)))
        }
        KernelKind::Laplacian { gamma } => (
            direct_sum(x, y, &Laplacian { gamma }, ctl)?,
            diag(x.rows() as f64),
        ),
    })
}

/// The U-statistics leave out the diagonal, so each sample needs two rows.
fn check_unbiased<T: Float>(x: &Rows<'_, T>, y: &Rows<'_, T>, unbiased: bool) -> Result<()> {
    if unbiased && (x.rows() < 2 || y.rows() < 2) {
        return Err(Error::invalid(
            if x.rows() < 2 { "X" } else { "Y" },
            "needs at least 2 samples for the unbiased estimate",
        ));
    }
    Ok(())
}

/// Squared maximum mean discrepancy (Gretton et al., 2012): the unbiased
/// U-statistic (eq. 3, diagonal terms excluded) or the biased V-statistic
/// (eq. 5).
pub fn mmd<T: Float>(
    x: Rows<'_, T>,
    y: Rows<'_, T>,
    kernel: KernelKind,
    unbiased: bool,
    threads: Threads,
    ctl: &Control,
) -> Result<f64> {
    same_width(&x, &y, "Y")?;
    let (n, m) = (x.rows() as f64, y.rows() as f64);
    check_unbiased(&x, &y, unbiased)?;
    threads.install(|| {
        let (sxx, dx) = kernel_sums(x, None, kernel, ctl)?;
        let (syy, dy) = kernel_sums(y, None, kernel, ctl)?;
        let (sxy, _) = kernel_sums(x, Some(y), kernel, ctl)?;
        Ok(if unbiased {
            (sxx - dx) / (n * (n - 1.0)) + (syy - dy) / (m * (m - 1.0)) - 2.0 * sxy / (n * m)
        } else {
            sxx / (n * n) + syy / (m * m) - 2.0 * sxy / (n * m)
        })
    })
}

/// Energy distance (Szekely and Rizzo, 2004):
/// `2 E|X - Y|^a - E|X - X'|^a - E|Y - Y'|^a`, the expectations over all
/// pairs (V-statistic, as `dcor`) or over distinct pairs (U-statistic).
pub fn energy_distance<T: Float>(
    x: Rows<'_, T>,
    y: Rows<'_, T>,
    exponent: f64,
    unbiased: bool,
    threads: Threads,
    ctl: &Control,
) -> Result<f64> {
    same_width(&x, &y, "Y")?;
    if !(exponent > 0.0 && exponent < 2.0) {
        return Err(Error::invalid(
            "exponent",
            format!("must be in (0, 2), got {exponent}"),
        ));
    }
    check_unbiased(&x, &y, unbiased)?;
    let map = EuclideanPow {
        half_exponent: exponent / 2.0,
    };
    let (n, m) = (x.rows() as f64, y.rows() as f64);
    threads.install(|| {
        let sxy = inner_sum(x, Some(y), &map, ctl)?;
        let sxx = inner_sum(x, None, &map, ctl)?;
        let syy = inner_sum(y, None, &map, ctl)?;
        let (px, py) = if unbiased {
            (n * (n - 1.0), m * (m - 1.0))
        } else {
            (n * n, m * m)
        };
        Ok(2.0 * sxy / (n * m) - sxx / px - syy / py)
    })
}

/// Median Euclidean distance between distinct points of the pooled sample,
/// over at most `MEDIAN_POINTS` points taken at evenly spaced positions.
pub fn median_distance<T: Float>(x: Rows<'_, T>, y: Rows<'_, T>) -> f64 {
    const MEDIAN_POINTS: usize = 1000;
    let (n, m) = (x.rows(), y.rows());
    let total = n + m;
    let k = total.min(MEDIAN_POINTS);
    let point = |i: usize| {
        let idx = i * total / k;
        if idx < n {
            x.row(idx)
        } else {
            y.row(idx - n)
        }
    };
    let mut d: Vec<f64> = (0..k)
        .into_par_iter()
        .flat_map_iter(|i| {
            (i + 1..k).map(move |j| {
                let (a, b) = (point(i), point(j));
                a.iter()
                    .zip(b)
                    .map(|(u, v)| {
                        let t = u.to_f64() - v.to_f64();
                        t * t
                    })
                    .sum::<f64>()
                    .sqrt()
            })
        })
        .collect();
    if d.is_empty() {
        return 0.0;
    }
    let mid = d.len() / 2;
    let (_, &mut hi, _) = d.select_nth_unstable_by(mid, f64::total_cmp);
    if d.len() % 2 == 1 {
        hi
    } else {
        let lo = d[..mid].iter().fold(f64::NEG_INFINITY, |a, &v| a.max(v));
        0.5 * (lo + hi)
    }
}

/// Empirical Cauchy-Schwarz divergence with a Gaussian kernel of width
/// `sigma` (Jenssen et al., 2006; Yu et al., 2024):
/// `log(mean K_xx) + log(mean K_yy) - 2 log(mean K_xy)`.
/// Returns the divergence and the `sigma` used (the median heuristic when
/// `None`).
pub fn cs_divergence<T: Float>(
    x: Rows<'_, T>,
    y: Rows<'_, T>,
    sigma: Option<f64>,
    threads: Threads,
    ctl: &Control,
) -> Result<(f64, f64)> {
    same_width(&x, &y, "Y")?;
    if let Some(s) = sigma {
        if !(s.is_finite() && s > 0.0) {
            return Err(Error::invalid(
                "sigma",
                format!("must be a finite number > 0, got {s}"),
            ));
        }
    }
    let (n, m) = (x.rows() as f64, y.rows() as f64);
    threads.install(|| {
        let sigma = match sigma {
            Some(s) => s,
            None => {
                let s = median_distance(x, y);
                if s.is_nan() || s <= 0.0 {
                    return Err(Error::invalid(
                        "sigma",
                        "the median heuristic gives 0 (repeated points); pass sigma",
                    ));
                }
                s
            }
        };
        let k = Rbf {
            gamma: 1.0 / (2.0 * sigma * sigma),
        };
        let sxx = inner_sum(x, None, &k, ctl)? / (n * n);
        let syy = inner_sum(y, None, &k, ctl)? / (m * m);
        let sxy = inner_sum(x, Some(y), &k, ctl)? / (n * m);
        Ok((sxx.ln() + syy.ln() - 2.0 * sxy.ln(), sigma))
    })
}

fn check_square(s: &[f64], d: usize, arg: &'static str) -> Result<()> {
    if s.len() != d * d {
        return Err(Error::invalid(
            arg,
            format!("must have shape ({d}, {d}) to match the mean"),
        ));
    }
    if let Some((i, j)) = first_asymmetry(s, d, arg)? {
        return Err(Error::invalid(
            arg,
            format!("must be symmetric (entries [{i}, {j}] and [{j}, {i}] differ)"),
        ));
    }
    let ev = sym_eigenvalues(s, d)?;
    if indefinite(&ev) {
        return Err(Error::invalid(
            arg,
            format!(
                "is not positive semi-definite: smallest eigenvalue {:.6e}",
                ev[0]
            ),
        ));
    }
    Ok(())
}

/// Squared Frechet distance between `N(mu1, s1)` and `N(mu2, s2)`
/// (Dowson and Landau, 1982):
/// `|mu1 - mu2|^2 + tr s1 + tr s2 - 2 tr (s1^{1/2} s2 s1^{1/2})^{1/2}`,
/// the trace term from two symmetric eigendecompositions (real by construction, no complex residue).
pub fn frechet_from_moments(
    mu1: &[f64],
    s1: &[f64],
    mu2: &[f64],
    s2: &[f64],
    threads: Threads,
) -> Result<f64> {
    let d = mu1.len();
    if d == 0 {
        return Err(Error::invalid("mu1", "is empty"));
    }
    if mu2.len() != d {
        return Err(Error::invalid(
            "mu2",
            format!("has {} entries but mu1 has {d}", mu2.len()),
        ));
    }
    for (v, arg) in [(mu1, "mu1"), (mu2, "mu2")] {
        if let Some(pos) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                arg,
                row: pos,
                col: 0,
            });
        }
    }
    check_square(s1, d, "sigma1")?;
    check_square(s2, d, "sigma2")?;
    let r = sym_sqrt(s1, d)?;
    // M = r s2 r, symmetric PSD; tr sqrt(M) = sum sqrt(eig(M)). With r and
    // s2 symmetric, u = s2' r = s2 r and M = u' r.
    let mm = threads.install(|| {
        let u = cross_product(s2, d, &r, d, d);
        cross_product(&u, d, &r, d, d)
    });
    let ev = sym_eigenvalues(&mm, d)?;
    let tr_sqrt: f64 = ev.iter().map(|&l| l.max(0.0).sqrt()).sum();
    let dm: f64 = mu1.iter().zip(mu2).map(|(a, b)| (a - b) * (a - b)).sum();
    let tr: f64 = (0..d).map(|i| s1[i * d + i] + s2[i * d + i]).sum();
    Ok((dm + tr - 2.0 * tr_sqrt).max(0.0))
}

/// Squared Frechet distance between the Gaussians fitted to two samples
/// (means and `ddof = 1` covariances): FID on Inception features, FRD on
/// radiomic features.
pub fn frechet_distance(
    x: Rows<'_, f64>,
    y: Rows<'_, f64>,
    threads: Threads,
    ctl: &Control,
) -> Result<f64> {
    same_width(&x, &y, "Y")?;
    for (r, arg) in [(&x, "X"), (&y, "Y")] {
        if r.rows() < 2 {
            return Err(Error::invalid(
                arg,
                "needs at least 2 samples to estimate a covariance",
            ));
        }
    }
    let (m1, s1) = covariance(x, threads);
    ctl.check()?;
    let (m2, s2) = covariance(y, threads);
    ctl.check()?;
    frechet_from_moments(&m1, &s1, &m2, &s2, threads)
}

/// `n_projections` random directions, uniform on the unit sphere, as a
/// `d x L` row-major matrix (columns are the directions, as POT's).
pub fn random_projections(d: usize, n_projections: usize, seed: u64) -> Vec<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut p: Vec<f64> = (0..d * n_projections)
        .map(|_| rng.sample(StandardNormal))
        .collect();
    for l in 0..n_projections {
        let s = (0..d)
            .map(|k| p[k * n_projections + l].powi(2))
            .sum::<f64>()
            .sqrt();
        for k in 0..d {
            p[k * n_projections + l] /= s;
        }
    }
    p
}

/// `W_p^p` between the uniform distributions on sorted `u` and sorted `v`,
/// by walking the two quantile functions (exact, in units of 1/(n m)).
pub fn wasserstein_1d_pow(u: &[f64], v: &[f64], p: f64) -> f64 {
    let (n, m) = (u.len() as u128, v.len() as u128);
    let (mut i, mut j) = (0usize, 0usize);
    let (mut cu, mut cv, mut prev) = (m, n, 0u128); // cumulative mass * n m
    let mut total = 0.0;
    while i < u.len() && j < v.len() {
        let next = cu.min(cv);
        let w = (next - prev) as f64;
        let diff = (u[i] - v[j]).abs();
        total += w * if p == 2.0 {
            diff * diff
        } else if p == 1.0 {
            diff
        } else {
            diff.powf(p)
        };
        prev = next;
        if cu == next {
            i += 1;
            cu += m;
        }
        if cv == next {
            j += 1;
            cv += n;
        }
    }
    total / (n * m) as f64
}

/// Sliced Wasserstein distance of order `p` (Rabin et al., 2011; Bonneel et
/// al., 2015): `(mean_l W_p^p(X theta_l, Y theta_l))^{1/p}` over the
/// columns `theta_l` of `projections` (`d x L`, row-major).
pub fn sliced_wasserstein(
    x: Rows<'_, f64>,
    y: Rows<'_, f64>,
    projections: &[f64],
    n_projections: usize,
    p: f64,
    threads: Threads,
    ctl: &Control,
) -> Result<f64> {
    same_width(&x, &y, "Y")?;
    let d = x.cols();
    if !(p.is_finite() && p >= 1.0) {
        return Err(Error::invalid(
            "p",
            format!("must be a finite number >= 1, got {p}"),
        ));
    }
    if n_projections == 0 || projections.len() != d * n_projections {
        return Err(Error::invalid(
            "projections",
            format!("must have shape ({d}, n_projections) with n_projections >= 1"),
        ));
    }
    if let Some(pos) = projections.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            arg: "projections",
            row: pos / n_projections,
            col: pos % n_projections,
        });
    }
    let project = |r: &Rows<'_, f64>| -> Vec<f64> { project_rows(r, projections, n_projections) };
    ctl.add_total(n_projections as u64);
    threads.install(|| {
        let (px, py) = (project(&x), project(&y));
        let (n, m) = (x.rows(), y.rows());
        let costs: Vec<Option<f64>> = (0..n_projections)
            .into_par_iter()
            .map(|l| {
                if ctl.is_cancelled() {
                    return None;
                }
                let mut u: Vec<f64> = (0..n).map(|i| px[i * n_projections + l]).collect();
                let mut v: Vec<f64> = (0..m).map(|i| py[i * n_projections + l]).collect();
                u.sort_unstable_by(f64::total_cmp);
                v.sort_unstable_by(f64::total_cmp);
                ctl.advance(1);
                Some(wasserstein_1d_pow(&u, &v, p))
            })
            .collect();
        let mut total = 0.0;
        for c in costs {
            total += c.ok_or(Error::Cancelled)?;
        }
        Ok((total / n_projections as f64).powf(1.0 / p))
    })
}

/// `X P` for rows `x` (`n x d`) and `p` (`d x L`), row-major `n x L`.
fn project_rows(x: &Rows<'_, f64>, p: &[f64], l: usize) -> Vec<f64> {
    let (n, d) = (x.rows(), x.cols());
    let mut out = vec![0.0; n * l];
    out.par_chunks_mut(256 * l)
        .enumerate()
        .for_each(|(b, chunk)| {
            let rows = chunk.len() / l;
            let a = x.block(b * 256, b * 256 + rows);
            // SAFETY: `chunk` is rows x l row-major; `a` is rows x d row-major
            // and `p` is d x l row-major, so every offset is in bounds.
            unsafe {
                gemm::gemm(
                    rows,
                    l,
                    d,
                    chunk.as_mut_ptr(),
                    1,
                    l as isize,
                    false,
                    a.as_ptr(),
                    1,
                    d as isize,
                    p.as_ptr(),
                    1,
                    l as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasserstein_1d_of_unequal_sizes() {
        // u uniform on {0, 1}, v = {0.5}: W_1 = 0.5, W_2^2 = 0.25.
        assert_eq!(wasserstein_1d_pow(&[0.0, 1.0], &[0.5], 1.0), 0.5);
        assert_eq!(wasserstein_1d_pow(&[0.0, 1.0], &[0.5], 2.0), 0.25);
        // Shift by c: W_p^p = c^p.
        let u: Vec<f64> = (0..7).map(|i| i as f64).collect();
        let v: Vec<f64> = u.iter().map(|x| x + 0.5).collect();
        assert!((wasserstein_1d_pow(&u, &v, 2.0) - 0.25).abs() < 1e-15);
        // {0,1,2} vs {0, 3}: masses 1/3 and 1/2 -> pieces [0,1/3):0, [1/3,1/2):|1-0|, [1/2,2/3):|1-3|, [2/3,1):|2-3|
        let w = wasserstein_1d_pow(&[0.0, 1.0, 2.0], &[0.0, 3.0], 1.0);
        assert!((w - (1.0 / 6.0 + 2.0 / 6.0 + 1.0 / 3.0)).abs() < 1e-15);
    }

    #[test]
    fn frechet_of_gaussians_in_closed_form() {
        // Commuting covariances: tr sqrt(s1 s2) = sum sqrt(a_i b_i).
        let s1 = [4.0, 0.0, 0.0, 1.0];
        let s2 = [1.0, 0.0, 0.0, 9.0];
        let t = Threads::new(2);
        let f = frechet_from_moments(&[0.0, 0.0], &s1, &[1.0, 2.0], &s2, t).unwrap();
        let want = 5.0 + 5.0 + 10.0 - 2.0 * (2.0 + 3.0);
        assert!((f - want).abs() < 1e-12);
        assert!(frechet_from_moments(&[0.0, 0.0], &s1, &[0.0, 0.0], &s1, t).unwrap() < 1e-12);
    }
}
