//! Tests of the two-stage symmetric eigensolver against faer's one-stage one.
use super::*;
use crate::par::Threads;
use faer::linalg::evd::{self, ComputeEigenvectors};
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// A symmetric column-major matrix with N(0, 1) entries.
fn random_symmetric(n: usize, seed: u64) -> Vec<f64> {
    let mut r = rng(seed);
    let mut a = vec![0.0; n * n];
    for j in 0..n {
        for i in j..n {
            let v: f64 = r.sample(StandardNormal);
            a[j * n + i] = v;
            a[i * n + j] = v;
        }
    }
    a
}

/// A random orthogonal matrix (product of `n` random reflectors).
fn random_orthogonal(n: usize, seed: u64) -> Mat<f64> {
    let mut r = rng(seed);
    let mut q = Mat::<f64>::identity(n, n);
    for _ in 0..n.min(8) {
        let v: Vec<f64> = (0..n).map(|_| r.sample(StandardNormal)).collect();
        let vv = dot(&v, &v);
        for j in 0..n {
            let s: f64 = (0..n).map(|i| v[i] * q[(i, j)]).sum::<f64>() * 2.0 / vv;
            for i in 0..n {
                q[(i, j)] -= s * v[i];
            }
        }
    }
    q
}

/// `Q diag(lambda) Q'`, column-major.
fn with_spectrum(lambda: &[f64], seed: u64) -> Vec<f64> {
    let n = lambda.len();
    let q = random_orthogonal(n, seed);
    let mut a = vec![0.0; n * n];
    for j in 0..n {
        for i in 0..n {
            a[j * n + i] = (0..n).map(|k| q[(i, k)] * lambda[k] * q[(j, k)]).sum();
        }
    }
    a
}

fn reference(a: &[f64], n: usize) -> Vec<f64> {
    let view = MatRef::from_column_major_slice(a, n, n);
    let mut s = Diag::<f64>::zeros(n);
    let mut buf = MemBuffer::new(evd::self_adjoint_evd_scratch::<f64>(
        n,
        ComputeEigenvectors::No,
        Par::Seq,
        Default::default(),
    ));
    evd::self_adjoint_evd(
        view,
        s.as_mut(),
        None,
        Par::Seq,
        MemStack::new(&mut buf),
        Default::default(),
    )
    .unwrap();
    s.column_vector().iter().copied().collect()
}

fn two_stage(a: &[f64], n: usize, band: usize) -> Vec<f64> {
    let mut w = a.to_vec();
    sym_eigenvalues_two_stage(&mut w, n, band, &Control::new()).unwrap()
}

fn frobenius(a: &[f64]) -> f64 {
    a.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// Both solvers are backward stable: each returns the exact eigenvalues
/// of `A + E` with `|E|_2 <= c n eps |A|_2`, so by Weyl's inequality
/// each eigenvalue moves by at most that much. For n <= 300, `n eps` is
/// below 7e-14: 1e-12 `|A|_F` (>= `|A|_2`) leaves room for the constants
/// and fails on any wrong reflector, which moves eigenvalues by O(|A|).
fn assert_close(got: &[f64], want: &[f64], a: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    let tol = 1e-12 * frobenius(a).max(f64::MIN_POSITIVE);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol,
            "{what}: eigenvalue {i}: {g} vs {w} (tol {tol:e})"
        );
    }
}

#[test]
fn random_matrices_match_one_stage() {
    for &n in &[1, 2, 3, 4, 5, 7, 31, 32, 33, 34, 65, 100, 129, 300] {
        let a = random_symmetric(n, n as u64);
        let want = reference(&a, n);
        for &band in &[1, 2, 3, 8, BAND, 64] {
            let got = two_stage(&a, n, band);
            assert_close(&got, &want, &a, &format!("n = {n}, band = {band}"));
        }
    }
}

#[test]
fn only_the_lower_triangle_is_read() {
    let n = 90;
    let a = random_symmetric(n, 7);
    let mut b = a.clone();
    for j in 0..n {
        for i in 0..j {
            b[j * n + i] = f64::NAN;
        }
    }
    assert_close(&two_stage(&b, n, 8), &reference(&a, n), &a, "lower");
}

#[test]
fn known_and_repeated_spectra() {
    let n = 150;
    let distinct: Vec<f64> = (0..n).map(|i| (i as f64 - 40.0) / 7.0).collect();
    // Clusters of equal eigenvalues, a zero block and a tight cluster.
    let repeated: Vec<f64> = (0..n)
        .map(|i| match i % 5 {
            0 | 1 => 3.0,
            2 => 0.0,
            3 => -1.0,
            _ => 1.0 + 1e-10 * i as f64,
        })
        .collect();
    for (lambda, seed) in [(distinct, 1), (repeated, 2)] {
        let a = with_spectrum(&lambda, seed);
        let mut want = lambda.clone();
        want.sort_by(f64::total_cmp);
        for &band in &[4, BAND] {
            assert_close(&two_stage(&a, n, band), &want, &a, "known spectrum");
        }
    }
}

#[test]
fn rank_deficient_gram_matrices() {
    // RBF kernel of points on a line: PSD, numerically of low rank, most
    // eigenvalues round-off around 0.
    let n = 200;
    let mut r = rng(3);
    let x: Vec<f64> = (0..n).map(|_| r.sample::<f64, _>(StandardNormal)).collect();
    let mut a = vec![0.0; n * n];
    for j in 0..n {
        for i in 0..n {
            a[j * n + i] = (-(x[i] - x[j]).powi(2) / 8.0).exp();
        }
    }
    let want = reference(&a, n);
    assert_close(&two_stage(&a, n, BAND), &want, &a, "rbf");
    // A linear Gram matrix of rank 5.
    let y: Vec<f64> = (0..n * 5).map(|_| r.sample(StandardNormal)).collect();
    for j in 0..n {
        for i in 0..n {
            a[j * n + i] = (0..5).map(|k| y[i * 5 + k] * y[j * 5 + k]).sum();
        }
    }
    let got = two_stage(&a, n, BAND);
    assert_close(&got, &reference(&a, n), &a, "rank 5");
    let tiny = got
        .iter()
        .filter(|v| v.abs() < 1e-12 * frobenius(&a))
        .count();
    assert_eq!(tiny, n - 5);
}

#[test]
fn tridiagonal_and_diagonal_inputs() {
    let n = 120;
    let mut a = vec![0.0; n * n];
    for i in 0..n {
        a[i * n + i] = 2.0;
        if i + 1 < n {
            a[i * n + i + 1] = -1.0;
            a[(i + 1) * n + i] = -1.0;
        }
    }
    // The second-difference matrix: 2 - 2 cos(k pi / (n + 1)).
    let mut want: Vec<f64> = (1..=n)
        .map(|k| 2.0 - 2.0 * (k as f64 * std::f64::consts::PI / (n + 1) as f64).cos())
        .collect();
    want.sort_by(f64::total_cmp);
    assert_close(&two_stage(&a, n, BAND), &want, &a, "tridiagonal");
    // Diagonal, with zeros off the diagonal everywhere (every reflector
    // is the identity) and repeated values.
    let mut d = vec![0.0; n * n];
    for i in 0..n {
        d[i * n + i] = (i % 7) as f64 - 3.0;
    }
    let mut want: Vec<f64> = (0..n).map(|i| (i % 7) as f64 - 3.0).collect();
    want.sort_by(f64::total_cmp);
    assert_eq!(two_stage(&d, n, BAND), want);
    // Zero matrix, and a decoupled tridiagonal (zero off-diagonals).
    assert_eq!(two_stage(&vec![0.0; n * n], n, 8), vec![0.0; n]);
    let e: Vec<f64> = (0..n - 1)
        .map(|i| if i % 10 == 9 { 0.0 } else { 0.5 })
        .collect();
    let dd: Vec<f64> = (0..n).map(|i| (i / 10) as f64).collect();
    let mut t = vec![0.0; n * n];
    for i in 0..n {
        t[i * n + i] = dd[i];
        if i + 1 < n {
            t[i * n + i + 1] = e[i];
            t[(i + 1) * n + i] = e[i];
        }
    }
    assert_close(
        &tridiagonal_eigenvalues(&dd, &e).unwrap(),
        &reference(&t, n),
        &t,
        "split tridiagonal",
    );
}

#[test]
fn identical_for_every_thread_count() {
    // Several tiles of the first stage, many groups of sweeps chased by
    // concurrent threads (narrow bands make short windows, so the
    // threads follow each other closely).
    for (n, band) in [(700, BAND), (400, 3), (333, 2)] {
        let a = random_symmetric(n, 11);
        let runs: Vec<Vec<f64>> = [1, 2, 3, 4]
            .iter()
            .map(|&t| Threads::new(t).install(|| two_stage(&a, n, band)))
            .collect();
        for r in &runs[1..] {
            assert_eq!(&runs[0], r, "n = {n}, band = {band}");
        }
        let want = reference(&a, n);
        assert_close(&runs[0], &want, &a, "threads");
    }
}

#[test]
fn cancellation_stops_the_reduction() {
    let n = 100;
    let mut a = random_symmetric(n, 5);
    let ctl = Control::new();
    ctl.cancel();
    assert!(matches!(
        sym_eigenvalues_two_stage(&mut a, n, 8, &ctl),
        Err(Error::Cancelled)
    ));
}
