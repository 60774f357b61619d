//! Spectra of Gram matrices, and the entropies and Hill numbers of spectra.
//!
//! Symmetric eigenproblems are solved by faer. For a linear kernel the
//! nonzero eigenvalues of `X X'` (n x n) and `X' X` (d x d) coincide, so
//! the smaller problem is solved: 384 x 384 for 20,000 embeddings of
//! dimension 384, instead of 20,000 x 20,000. Eigenvalues alone of large
//! matrices (kernel matrices of thousands of points) go through the
//! two-stage reduction of [`super::sbr`], several times faster than faer's
//! one-stage reduction there.

use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::evd::{self, ComputeEigenvectors};
use faer::{Mat, MatRef, Par};
use rayon::prelude::*;

use super::metric::{KernelKind, Linear};
use super::pairwise::{inner_pairwise, Rows};
use crate::error::{Error, Result};
use crate::par::{Control, Threads};

/// Columns of `X' X` computed by one task (the split is fixed, so results
/// do not depend on the thread count).
const GRAM_COLS: usize = 32;

/// The number of parts the symmetric eigensolver splits its work into.
/// It is fixed, not taken from the thread count, so that the partial sums
/// it adds, and hence the eigenvalues to the last bit, do not depend on
/// `n_jobs`; the parts run on the calling thread pool, in parallel when it
/// has threads to spare.
const EIGEN_PARTS: usize = 4;

/// Eigenvalues (ascending) and, if `vectors`, eigenvectors of the symmetric
/// `n x n` row-major matrix `a` (its lower triangle is read).
fn sym_evd(
    a: &[f64],
    n: usize,
    vectors: bool,
    what: &'static str,
) -> Result<(Vec<f64>, Option<Mat<f64>>)> {
    assert_eq!(a.len(), n * n);
    let view = MatRef::from_row_major_slice(a, n, n);
    let par = Par::rayon(EIGEN_PARTS);
    let compute = if vectors {
        ComputeEigenvectors::Yes
    } else {
        ComputeEigenvectors::No
    };
    let mut s = Diag::<f64>::zeros(n);
    let mut u = vectors.then(|| Mat::<f64>::zeros(n, n));
    let mut buf = MemBuffer::new(evd::self_adjoint_evd_scratch::<f64>(
        n,
        compute,
        par,
        Default::default(),
    ));
    evd::self_adjoint_evd(
        view,
        s.as_mut(),
        u.as_mut().map(|u| u.as_mut()),
        par,
        MemStack::new(&mut buf),
        Default::default(),
    )
    .map_err(|_| Error::invalid(what, "the symmetric eigensolver did not converge"))?;
    Ok((s.column_vector().iter().copied().collect(), u))
}

/// Size from which eigenvalues alone are computed by the two-stage
/// reduction of [`super::sbr`]. Below it faer's one-stage reduction is
/// faster: the matrix (32 MB at n = 2,048) still largely fits in the
/// last-level cache, so its matrix-vector products are not yet limited by
/// memory, while the bulge chase and the tridiagonal QR iteration cost
/// the same at every size. Measured on 2 threads (AMD EPYC): one-stage /
/// two-stage time 0.76 at n = 1,536, 0.98 at 2,048, 1.13 at 2,400, 1.63
/// at 2,800.
pub const TWO_STAGE_MIN: usize = 2048;

/// Ascending eigenvalues of the symmetric `n x n` row-major matrix `a`
/// (its lower triangle is read).
pub fn sym_eigenvalues(a: &[f64], n: usize) -> Result<Vec<f64>> {
    sym_eigenvalues_with(a, n, &Control::new())
}

/// [`sym_eigenvalues`], interruptible through `ctl`.
pub fn sym_eigenvalues_with(a: &[f64], n: usize, ctl: &Control) -> Result<Vec<f64>> {
    if n < TWO_STAGE_MIN {
        return Ok(sym_evd(a, n, false, "K")?.0);
    }
    sym_eigenvalues_owned(a.to_vec(), n, ctl)
}

/// [`sym_eigenvalues_with`] of a matrix the caller gives up, which is
/// overwritten instead of copied (at n = 20,000, 3.2 GB).
pub fn sym_eigenvalues_owned(mut a: Vec<f64>, n: usize, ctl: &Control) -> Result<Vec<f64>> {
    assert_eq!(a.len(), n * n);
    if n < TWO_STAGE_MIN {
        return Ok(sym_evd(&a, n, false, "K")?.0);
    }
    mirror_lower(&mut a, n);
    ctl.check()?;
    super::sbr::sym_eigenvalues_two_stage(&mut a, n, super::sbr::BAND, ctl)
}

/// Copies the lower triangle of the row-major `n x n` matrix `a` onto its
/// upper triangle, so that `a` read column-major has the same lower
/// triangle. Square tiles keep both the rows read and the columns written
/// in cache.
fn mirror_lower(a: &mut [f64], n: usize) {
    const T: usize = 64;
    for bi in (0..n).step_by(T) {
        for bj in (0..=bi).step_by(T) {
            for i in bi..(bi + T).min(n) {
                for j in bj..(bj + T).min(i) {
                    a[j * n + i] = a[i * n + j];
                }
            }
        }
    }
}

/// The symmetric square root `V diag(sqrt(max(l, 0))) V'` of the
/// symmetric `n x n` row-major matrix `a`, row-major.
pub fn sym_sqrt(a: &[f64], n: usize) -> Result<Vec<f64>> {
    let (s, u) = sym_evd(a, n, true, "cov")?;
    let u = u.expect("eigenvectors were requested");
    let root: Vec<f64> = s.iter().map(|l| l.max(0.0).sqrt()).collect();
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let v: f64 = (0..n).map(|k| u[(i, k)] * root[k] * u[(j, k)]).sum();
            out[i * n + j] = v;
            out[j * n + i] = v;
        }
    }
    Ok(out)
}

/// `A' B` for row-major `a` (`n x p`) and `b` (`n x q`): a `p x q` row-major
/// matrix, computed in fixed blocks of columns in parallel.
pub fn cross_product(a: &[f64], p: usize, b: &[f64], q: usize, n: usize) -> Vec<f64> {
    assert_eq!(a.len(), n * p);
    assert_eq!(b.len(), n * q);
    let mut out = vec![0.0; p * q];
    if n == 0 || p == 0 || q == 0 {
        return out;
    }
    // Column block [c0, c1) of the output is a strided p x w block of it;
    // tasks get disjoint column ranges of every row, so split by rows of the
    // transpose: compute into a private buffer and copy.
    let blocks: Vec<(usize, Vec<f64>)> = (0..q.div_ceil(GRAM_COLS))
        .into_par_iter()
        .map(|bj| {
            let c0 = bj * GRAM_COLS;
            let w = GRAM_COLS.min(q - c0);
            let mut tile = vec![0.0; p * w];
            // SAFETY: `tile` is p x w row-major (row stride w); the left
            // factor A' reads a[k * p + i] (i < p, k < n) and the right
            // factor reads b[k * q + c0 + j] (j < w, c0 + w <= q): all
            // offsets are inside `a` and `b`, whose lengths were asserted.
            unsafe {
                gemm::gemm(
                    p,
                    w,
                    n,
                    tile.as_mut_ptr(),
                    1,
                    w as isize,
                    false,
                    a.as_ptr(),
                    p as isize,
                    1,
                    b.as_ptr().add(c0),
                    1,
                    q as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
            (c0, tile)
        })
        .collect();
    for (c0, tile) in blocks {
        let w = tile.len() / p;
        for i in 0..p {
            out[i * q + c0..i * q + c0 + w].copy_from_slice(&tile[i * w..(i + 1) * w]);
        }
    }
    out
}

/// Rows scaled to unit Euclidean norm (zero rows stay zero).
pub fn unit_rows(x: Rows<'_, f64>) -> Vec<f64> {
    let d = x.cols();
    let mut out = x.data().to_vec();
    out.par_chunks_mut(d).for_each(|r| {
        let s = r.iter().map(|v| v * v).sum::<f64>().sqrt();
        if s > 0.0 {
            r.iter_mut().for_each(|v| *v /= s);
        }
    });
    out
}

/// Columns centred on their means.
pub fn centred(x: Rows<'_, f64>) -> Vec<f64> {
    let (n, d) = (x.rows(), x.cols());
    let mut mean = vec![0.0; d];
    for i in 0..n {
        for (m, v) in mean.iter_mut().zip(x.row(i)) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut out = x.data().to_vec();
    out.par_chunks_mut(d).for_each(|r| {
        r.iter_mut().zip(&mean).for_each(|(v, m)| *v -= m);
    });
    out
}

/// Eigenvalues (ascending) of the linear Gram matrix `X X'`, through the
/// smaller of `X X'` and `X' X`; only `min(n, d)` of them, the rest of the
/// spectrum of `X X'` being zero.
pub fn linear_gram_eigenvalues(
    x: Rows<'_, f64>,
    threads: Threads,
    ctl: &Control,
) -> Result<Vec<f64>> {
    let (n, d) = (x.rows(), x.cols());
    let g = if d <= n {
        threads.install(|| cross_product(x.data(), d, x.data(), d, n))
    } else {
        inner_pairwise(x, None, &Linear, threads, ctl)?
    };
    ctl.check()?;
    sym_eigenvalues_owned(g, n.min(d), ctl)
}

/// Eigenvalues of the kernel matrix of `x` under `kernel` (linear and
/// cosine kernels through the smaller eigenproblem).
pub fn kernel_eigenvalues(
    x: Rows<'_, f64>,
    kernel: KernelKind,
    threads: Threads,
    ctl: &Control,
) -> Result<Vec<f64>> {
    match kernel {
        KernelKind::Linear => linear_gram_eigenvalues(x, threads, ctl),
        KernelKind::Cosine => {
            let u = threads.install(|| unit_rows(x));
            let ur = Rows::new(&u, x.rows(), x.cols(), "X")?;
            linear_gram_eigenvalues(ur, threads, ctl)
        }
        other => {
            let k = super::kernels(x, None, other, threads, ctl)?;
            ctl.check()?;
            sym_eigenvalues_owned(k, x.rows(), ctl)
        }
    }
}

/// Checks a precomputed kernel matrix (square, finite, symmetric) and
/// returns its eigenvalues, failing if it is not positive semi-definite:
/// eigenvalues below `-PSD_TOL * max(|lambda|)` are not round-off.
pub fn precomputed_eigenvalues(
    k: &[f64],
    n: usize,
    m: usize,
    arg: &'static str,
    ctl: &Control,
) -> Result<Vec<f64>> {
    if n != m {
        return Err(Error::invalid(
            arg,
            format!("must be a square matrix, got shape ({n}, {m})"),
        ));
    }
    if n == 0 {
        return Err(Error::invalid(arg, "is empty (0 samples)"));
    }
    if let Some((i, j)) = first_asymmetry(k, n, arg)? {
        return Err(Error::invalid(
            arg,
            format!(
                "must be symmetric; K[{i}, {j}] = {} but K[{j}, {i}] = {}",
                k[i * n + j],
                k[j * n + i]
            ),
        ));
    }
    let ev = sym_eigenvalues_with(k, n, ctl)?;
    if indefinite(&ev) {
        return Err(Error::invalid(
            arg,
            format!(
                "is not positive semi-definite: smallest eigenvalue {:.6e} (largest {:.6e})",
                ev[0],
                ev[n - 1]
            ),
        ));
    }
    Ok(ev)
}

/// Relative asymmetry tolerated in a precomputed kernel matrix.
pub const SYM_TOL: f64 = 1e-6;
/// Relative negative eigenvalue tolerated in a precomputed kernel matrix
/// (round-off of a kernel computed in single precision stays below it).
pub const PSD_TOL: f64 = 1e-6;

/// Checks that the `n x n` row-major matrix `k` is finite, and returns its
/// first pair `(i, j)`, `j < i`, whose mirrored entries differ by more than
/// [`SYM_TOL`] times its largest magnitude, if there is one.
pub(crate) fn first_asymmetry(
    k: &[f64],
    n: usize,
    arg: &'static str,
) -> Result<Option<(usize, usize)>> {
    if let Some(pos) = k.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            arg,
            row: pos / n,
            col: pos % n,
        });
    }
    let scale = k.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    for i in 0..n {
        for j in 0..i {
            if (k[i * n + j] - k[j * n + i]).abs() > SYM_TOL * scale {
                return Ok(Some((i, j)));
            }
        }
    }
    Ok(None)
}

/// Whether the smallest of the ascending eigenvalues `ev` is negative
/// beyond round-off: below `-PSD_TOL` times the largest magnitude.
pub(crate) fn indefinite(ev: &[f64]) -> bool {
    let top = ev.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    ev[0] < -PSD_TOL * top
}

/// The probability vector of a spectrum: eigenvalues at or below
/// `tol * max` (round-off, including negative ones) set to zero, the rest
/// divided by their sum. `tol = None` is `size * eps`.
pub fn spectrum_distribution(ev: &[f64], tol: Option<f64>, size: usize) -> Vec<f64> {
    let top = ev.iter().fold(0.0f64, |a, &v| a.max(v));
    if top <= 0.0 {
        return vec![];
    }
    let tol = tol.unwrap_or(size.max(1) as f64 * f64::EPSILON);
    let cut = tol * top;
    let kept: Vec<f64> = ev.iter().copied().filter(|&v| v > cut).collect();
    let s: f64 = kept.iter().sum();
    kept.into_iter().map(|v| v / s).collect()
}

/// Renyi entropy of order `q` in nats of a probability vector with no
/// zeros: `log(sum p^q) / (1 - q)`, with the exact limits `log(count)` at
/// `q = 0`, Shannon's `-sum p log p` at `q = 1` and `-log max p` at
/// `q = inf`. Computed without cancellation near `q = 1` and without
/// underflow at large `q`.
pub fn renyi_entropy(p: &[f64], q: f64) -> f64 {
    if p.is_empty() {
        return 0.0;
    }
    let pmax = p.iter().fold(0.0f64, |a, &v| a.max(v));
    if q == 0.0 {
        (p.len() as f64).ln()
    } else if q == 1.0 {
        -p.iter().map(|&v| v * v.ln()).sum::<f64>()
    } else if q.is_infinite() {
        -pmax.ln()
    } else if (q - 1.0).abs() < 0.5 {
        // log sum p^q = log(1 + sum p (p^(q-1) - 1)), each term by expm1.
        let s: f64 = p.iter().map(|&v| v * ((q - 1.0) * v.ln()).exp_m1()).sum();
        s.ln_1p() / (1.0 - q)
    } else {
        // log sum p^q = q log pmax + log sum (p / pmax)^q.
        let s: f64 = p.iter().map(|&v| (q * (v / pmax).ln()).exp()).sum();
        (q * pmax.ln() + s.ln()) / (1.0 - q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renyi_limits_are_continuous() {
        let p = [0.5, 0.25, 0.125, 0.125];
        let h1 = renyi_entropy(&p, 1.0);
        assert!((h1 - 1.75 * std::f64::consts::LN_2).abs() < 1e-15);
        assert!((renyi_entropy(&p, 1.0 + 1e-9) - h1).abs() < 1e-8);
        assert!((renyi_entropy(&p, 1.0 - 1e-9) - h1).abs() < 1e-8);
        assert!((renyi_entropy(&p, 1e-12) - 4f64.ln()).abs() < 1e-10);
        assert_eq!(renyi_entropy(&p, f64::INFINITY), 2f64.ln());
        assert!((renyi_entropy(&p, 1e6) - 2f64.ln()).abs() < 1e-5);
        let h2 = -(p.iter().map(|v| v * v).sum::<f64>()).ln();
        assert!((renyi_entropy(&p, 2.0) - h2).abs() < 1e-14);
    }

    #[test]
    fn eigenvalues_and_square_root() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
        let a = [2.0, 1.0, 1.0, 2.0];
        let ev = sym_eigenvalues(&a, 2).unwrap();
        assert!((ev[0] - 1.0).abs() < 1e-14 && (ev[1] - 3.0).abs() < 1e-14);
        let r = sym_sqrt(&a, 2).unwrap();
        let sq = [
            r[0] * r[0] + r[1] * r[2],
            r[0] * r[1] + r[1] * r[3],
            r[2] * r[0] + r[3] * r[2],
            r[2] * r[1] + r[3] * r[3],
        ];
        for (x, y) in sq.iter().zip(a) {
            assert!((x - y).abs() < 1e-13);
        }
    }

    #[test]
    fn cross_product_matches_naive() {
        let (n, p, q) = (50, 40, 37);
        let a: Vec<f64> = (0..n * p).map(|i| (i as f64 * 0.3).sin()).collect();
        let b: Vec<f64> = (0..n * q).map(|i| (i as f64 * 0.7).cos()).collect();
        let g = cross_product(&a, p, &b, q, n);
        for i in 0..p {
            for j in 0..q {
                let want: f64 = (0..n).map(|k| a[k * p + i] * b[k * q + j]).sum();
                assert!((g[i * q + j] - want).abs() < 1e-10);
            }
        }
    }
}
