//! The estimators against brute-force implementations of the papers'
//! definitions, and against closed-form values.

use hartley_core::estimators::cmi;
use hartley_core::estimators::digamma::digamma_int as psi;
use hartley_core::estimators::entropy::{self, EntropyOptions, Metric};
use hartley_core::estimators::kl::{self, KlOptions};
use hartley_core::estimators::ksg::{self, Ksg, KsgOptions};
use hartley_core::estimators::mixed::{self, MixedOptions};
use hartley_core::estimators::prep::{Matrix, Prep};
use hartley_core::{Control, Threads};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

fn normals(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n).map(|_| StandardNormal.sample(&mut rng)).collect()
}

fn cheb(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

/// KSG exactly as Kraskov et al. define it, by brute force over all pairs.
fn ksg_oracle(x: &[Vec<f64>], y: &[Vec<f64>], k: usize, alg: Ksg) -> f64 {
    let n = x.len();
    let mut acc = 0.0;
    for i in 0..n {
        let mut joint: Vec<(f64, usize)> = (0..n)
            .filter(|&j| j != i)
            .map(|j| (cheb(&x[i], &x[j]).max(cheb(&y[i], &y[j])), j))
            .collect();
        joint.sort_by(|a, b| a.0.total_cmp(&b.0));
        match alg {
            Ksg::One => {
                let eps = joint[k - 1].0;
                let nx = (0..n)
                    .filter(|&j| j != i && cheb(&x[i], &x[j]) < eps)
                    .count();
                let ny = (0..n)
                    .filter(|&j| j != i && cheb(&y[i], &y[j]) < eps)
                    .count();
                acc += psi(nx + 1) + psi(ny + 1);
            }
            Ksg::Two => {
                let ex = joint[..k]
                    .iter()
                    .map(|&(_, j)| cheb(&x[i], &x[j]))
                    .fold(0.0, f64::max);
                let ey = joint[..k]
                    .iter()
                    .map(|&(_, j)| cheb(&y[i], &y[j]))
                    .fold(0.0, f64::max);
                let nx = (0..n)
                    .filter(|&j| j != i && cheb(&x[i], &x[j]) <= ex)
                    .count();
                let ny = (0..n)
                    .filter(|&j| j != i && cheb(&y[i], &y[j]) <= ey)
                    .count();
                acc += psi(nx) + psi(ny);
            }
        }
    }
    let base = psi(k) + psi(n) - acc / n as f64;
    match alg {
        Ksg::One => base,
        Ksg::Two => base - 1.0 / k as f64,
    }
}

fn rows(data: &[f64], d: usize) -> Vec<Vec<f64>> {
    data.chunks_exact(d).map(<[f64]>::to_vec).collect()
}

fn raw(k: usize, estimator: Ksg) -> KsgOptions {
    KsgOptions {
        k,
        estimator,
        prep: Prep {
            standardize: false,
            noise: 0.0,
            reject_constant: true,
        },
        seed: 0,
    }
}

#[test]
fn ksg_matches_the_definition() {
    for &(n, dx, dy, k) in &[
        (300, 1, 1, 3),
        (257, 2, 1, 4),
        (200, 2, 3, 1),
        (150, 3, 3, 7),
    ] {
        let x = normals(n * dx, 1);
        let e = normals(n * dy, 2);
        let y: Vec<f64> = (0..n * dy).map(|i| 0.7 * x[(i / dy) * dx] + e[i]).collect();
        for alg in [Ksg::One, Ksg::Two] {
            let want = ksg_oracle(&rows(&x, dx), &rows(&y, dy), k, alg);
            let got = ksg::mutual_info(
                Matrix::new(&x, n, dx).unwrap(),
                Matrix::new(&y, n, dy).unwrap(),
                &raw(k, alg),
                None,
                Threads::new(2),
                &Control::new(),
            )
            .unwrap()
            .value;
            assert!(
                (got - want).abs() < 1e-12,
                "{alg:?} n={n} dx={dx} dy={dy}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn strict_counts_are_exact_at_any_scale() {
    // Points a constant apart: with an absolute offset like 1e-15 the strict
    // count would change with the scale; with the next float below it does not.
    for scale in [1e-300, 1e-12, 1.0, 1e12, 1e300] {
        let n = 64;
        let x: Vec<f64> = (0..n).map(|i| i as f64 * scale).collect();
        let y: Vec<f64> = (0..n).map(|i| ((i * 37) % n) as f64 * scale).collect();
        let got = ksg::mutual_info(
            Matrix::column(&x),
            Matrix::column(&y),
            &raw(3, Ksg::One),
            None,
            Threads::new(1),
            &Control::new(),
        )
        .unwrap()
        .value;
        let want = ksg_oracle(&rows(&x, 1), &rows(&y, 1), 3, Ksg::One);
        assert!((got - want).abs() < 1e-12, "scale {scale}: {got} vs {want}");
    }
}

#[test]
fn results_do_not_depend_on_threads() {
    let n = 20_000;
    let x = normals(n * 2, 3);
    let y: Vec<f64> = x
        .iter()
        .zip(normals(n * 2, 4))
        .map(|(a, b)| a + b)
        .collect();
    let run = |t| {
        ksg::mutual_info(
            Matrix::new(&x, n, 2).unwrap(),
            Matrix::new(&y, n, 2).unwrap(),
            &KsgOptions::new(3),
            None,
            Threads::new(t),
            &Control::new(),
        )
        .unwrap()
        .value
    };
    let one = run(1);
    assert_eq!(one.to_bits(), run(2).to_bits());
    assert_eq!(one.to_bits(), run(3).to_bits());
}

#[test]
fn gaussian_mutual_information() {
    // KSG is nearly unbiased on Gaussians at this n; the standard deviation
    // of the estimate is about 0.01 nats at n = 20,000.
    let n = 20_000;
    for rho in [0.0f64, 0.5, 0.9] {
        let x = normals(n, 5);
        let e = normals(n, 6);
        let y: Vec<f64> = x
            .iter()
            .zip(&e)
            .map(|(a, b)| rho * a + (1.0 - rho * rho).sqrt() * b)
            .collect();
        let truth = -0.5 * (1.0 - rho * rho).ln();
        let got = ksg::mutual_info(
            Matrix::column(&x),
            Matrix::column(&y),
            &KsgOptions::new(3),
            None,
            Threads::all(),
            &Control::new(),
        )
        .unwrap()
        .value;
        assert!((got - truth).abs() < 0.03, "rho {rho}: {got} vs {truth}");
    }
}

#[test]
fn gaussian_entropy_both_norms() {
    for d in [1usize, 3] {
        let n = 20_000;
        let x = normals(n * d, 7);
        let truth = 0.5 * d as f64 * (2.0 * std::f64::consts::PI * std::f64::consts::E).ln();
        for metric in [Metric::Euclidean, Metric::Chebyshev] {
            let opts = EntropyOptions {
                k: 3,
                metric,
                noise: 0.0,
                seed: 0,
            };
            let got = entropy::entropy(
                Matrix::new(&x, n, d).unwrap(),
                &opts,
                None,
                Threads::all(),
                &Control::new(),
            )
            .unwrap()
            .value;
            assert!(
                (got - truth).abs() < 0.04 * d as f64,
                "d {d} {metric:?}: {got} vs {truth}"
            );
        }
    }
}

#[test]
fn cmi_with_independent_condition_is_mi() {
    let n = 10_000;
    let x = normals(n, 8);
    let y: Vec<f64> = x
        .iter()
        .zip(normals(n, 9))
        .map(|(a, b)| 0.8 * a + 0.6 * b)
        .collect();
    let z = normals(n, 10);
    let got = cmi::conditional_mutual_info(
        Matrix::column(&x),
        Matrix::column(&y),
        Matrix::column(&z),
        &KsgOptions::new(3),
        None,
        Threads::all(),
        &Control::new(),
    )
    .unwrap()
    .value;
    let truth = -0.5 * (1.0f64 - 0.64).ln();
    assert!((got - truth).abs() < 0.05, "{got} vs {truth}");
}

#[test]
fn kl_between_gaussians() {
    let n = 20_000;
    let x = normals(n, 11);
    let y: Vec<f64> = normals(n, 12).iter().map(|v| v + 1.0).collect();
    let opts = KlOptions {
        k: 5,
        noise: 0.0,
        seed: 0,
    };
    let got = kl::kl_divergence(
        Matrix::column(&x),
        Matrix::column(&y),
        &opts,
        Threads::all(),
        &Control::new(),
    )
    .unwrap();
    assert!((got - 0.5).abs() < 0.05, "{got}");
}

#[test]
fn mixed_on_identical_discrete_variables_is_their_entropy() {
    let n = 4000;
    let labels: Vec<f64> = (0..n).map(|i| ((i * 7919) % 4) as f64).collect();
    let opts = MixedOptions {
        k: 3,
        noise: 0.0,
        seed: 0,
    };
    let got = mixed::mutual_info_mixed(
        Matrix::column(&labels),
        Matrix::column(&labels),
        &opts,
        Threads::all(),
        &Control::new(),
    )
    .unwrap();
    // Every point has ~n/4 exact duplicates: k_i = n/4 - 1 and the estimate is
    // psi(n/4 - 1) + log n - 2 log(n/4), close to log 4.
    assert!((got - 4f64.ln()).abs() < 0.01, "{got}");
}

#[test]
fn cancellation_stops_the_work() {
    let n = 50_000;
    let x = normals(n, 13);
    let ctl = Control::new();
    ctl.cancel();
    let err = ksg::mutual_info(
        Matrix::column(&x),
        Matrix::column(&x),
        &KsgOptions::new(3),
        None,
        Threads::all(),
        &ctl,
    );
    assert_eq!(err.unwrap_err(), hartley_core::Error::Cancelled);
}
