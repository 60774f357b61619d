//! Pairwise kernels and kernel measures against naive double-precision
//! oracles and closed forms.

use hartley_core::kernels::measures::{self, Source};
use hartley_core::kernels::metric::{Chebyshev, Euclidean, Linear, Manhattan, Rbf};
use hartley_core::kernels::pairwise::{direct_pairwise, direct_sum, inner_pairwise, inner_sum};
use hartley_core::kernels::{distances, kernels, twosample, DistanceKind, KernelKind, Rows};
use hartley_core::{Control, Error, Threads};

fn data(n: usize, d: usize, seed: u64) -> Vec<f64> {
    // A small deterministic generator: no dependence on rand's streams.
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n * d)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

fn naive_l2(x: &[f64], y: &[f64], d: usize) -> Vec<f64> {
    let (n, m) = (x.len() / d, y.len() / d);
    let mut out = vec![0.0; n * m];
    for i in 0..n {
        for j in 0..m {
            let s: f64 = (0..d).map(|k| (x[i * d + k] - y[j * d + k]).powi(2)).sum();
            out[i * m + j] = s.sqrt();
        }
    }
    out
}

#[test]
fn blocked_distances_match_naive_across_tiles_and_threads() {
    // 600 rows: three row blocks of the mirror pass and a partial one.
    let (n, m, d) = (600, 301, 19);
    let x = data(n, d, 1);
    let y = data(m, d, 2);
    let xr = Rows::new(&x, n, d, "X").unwrap();
    let yr = Rows::new(&y, m, d, "Y").unwrap();
    let ctl = Control::new();
    let want = naive_l2(&x, &y, d);
    let got = distances(xr, Some(yr), DistanceKind::Euclidean, Threads::new(2), &ctl).unwrap();
    for (a, b) in got.iter().zip(&want) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    let want_self = naive_l2(&x, &x, d);
    let one = inner_pairwise(xr, None, &Euclidean, Threads::new(1), &ctl).unwrap();
    let three = inner_pairwise(xr, None, &Euclidean, Threads::new(3), &ctl).unwrap();
    assert_eq!(one, three);
    for i in 0..n {
        assert_eq!(one[i * n + i], 0.0);
        for j in 0..n {
            assert_eq!(
                one[i * n + j],
                one[j * n + i],
                "not symmetric at ({i}, {j})"
            );
            assert!((one[i * n + j] - want_self[i * n + j]).abs() < 1e-12);
        }
    }
}

#[test]
fn float32_tiles_agree_with_double_precision() {
    let (n, d) = (300, 33);
    let x = data(n, d, 3);
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let xr = Rows::new(&x32, n, d, "X").unwrap();
    let k = kernels(
        xr,
        None,
        KernelKind::Rbf { gamma: 0.1 },
        Threads::new(2),
        &Control::new(),
    )
    .unwrap();
    let want = naive_l2(&x, &x, d);
    for (a, w) in k.iter().zip(&want) {
        let e = (-0.1 * w * w).exp();
        assert!((*a as f64 - e).abs() < 1e-6 * e.max(1e-30) + 1e-7);
    }
}

#[test]
fn blockwise_sums_match_the_full_matrix() {
    let (n, m, d) = (530, 270, 7);
    let x = data(n, d, 4);
    let y = data(m, d, 5);
    let xr = Rows::new(&x, n, d, "X").unwrap();
    let yr = Rows::new(&y, m, d, "Y").unwrap();
    let ctl = Control::new();
    let k = Rbf { gamma: 0.3 };
    for (other, mm) in [(None, n), (Some(yr), m)] {
        let full = Threads::new(2)
            .install(|| inner_pairwise(xr, other, &k, Threads::new(2), &ctl))
            .unwrap();
        let want: f64 = full.iter().sum();
        let got = Threads::new(2)
            .install(|| inner_sum(xr, other, &k, &ctl))
            .unwrap();
        assert!(
            (got - want).abs() < 1e-9 * want,
            "{got} vs {want} ({mm} columns)"
        );
    }
}

#[test]
fn vendi_score_closed_forms() {
    let n = 9;
    let mut eye = vec![0.0; n * n];
    for i in 0..n {
        eye[i * n + i] = 1.0;
    }
    let ctl = Control::new();
    let t = Threads::new(2);
    for q in [0.0, 0.5, 1.0, 2.0, f64::INFINITY] {
        let v = measures::vendi_score(Source::Kernel(&eye, n, n), q, None, t, &ctl).unwrap();
        assert!((v - n as f64).abs() < 1e-9, "q = {q}: {v}");
        let ones = vec![1.0; n * n];
        let v = measures::vendi_score(Source::Kernel(&ones, n, n), q, None, t, &ctl).unwrap();
        assert!((v - 1.0).abs() < 1e-9, "q = {q}: {v}");
        // Orthogonal rows through the d x d path (cosine kernel).
        let xr = Rows::new(&eye, n, n, "X").unwrap();
        let v =
            measures::vendi_score(Source::Data(xr, KernelKind::Cosine), q, None, t, &ctl).unwrap();
        assert!((v - n as f64).abs() < 1e-9);
    }
    let bad = measures::vendi_score(Source::Kernel(&eye, n, n), -1.0, None, t, &ctl);
    assert!(bad.is_err());
}

#[test]
fn two_sample_closed_forms() {
    let (n, d) = (400, 3);
    let x = data(n, d, 6);
    let shifted: Vec<f64> = x.iter().map(|v| v + 1.0).collect();
    let xr = Rows::new(&x, n, d, "X").unwrap();
    let sr = Rows::new(&shifted, n, d, "Y").unwrap();
    let t = Threads::new(2);
    let ctl = Control::new();
    // Frechet: same covariance, mean shift of 1 in each of 3 coordinates.
    let f = twosample::frechet_distance(xr, sr, t, &ctl).unwrap();
    assert!((f - 3.0).abs() < 1e-9, "{f}");
    // MMD (V-statistic) of a sample with itself.
    let m = twosample::mmd(xr, xr, KernelKind::Rbf { gamma: 0.5 }, false, t, &ctl).unwrap();
    assert!(m.abs() < 1e-12);
    // Linear-kernel MMD is the squared distance between the means.
    let m = twosample::mmd(xr, sr, KernelKind::Linear, false, t, &ctl).unwrap();
    assert!((m - 3.0).abs() < 1e-9, "{m}");
    // Sliced Wasserstein of a translate: |shift . theta| averaged in quadrature.
    let p = twosample::random_projections(d, 64, 0);
    let sw = twosample::sliced_wasserstein(xr, sr, &p, 64, 2.0, t, &ctl).unwrap();
    let want = ((0..64)
        .map(|l| (0..d).map(|k| p[k * 64 + l]).sum::<f64>().powi(2))
        .sum::<f64>()
        / 64.0)
        .sqrt();
    assert!((sw - want).abs() < 1e-9, "{sw} vs {want}");
}

#[test]
fn direct_matrices_and_sums_match_naive_over_partial_blocks() {
    // 300 and 260 rows: one full block and a partial one of both drivers.
    let (n, m, d) = (300, 260, 5);
    let (x, y) = (data(n, d, 7), data(m, d, 8));
    let xr = Rows::new(&x, n, d, "X").unwrap();
    let yr = Rows::new(&y, m, d, "Y").unwrap();
    let ctl = Control::new();
    let naive = |a: &[f64], b: &[f64]| -> f64 { a.iter().zip(b).map(|(u, v)| (u - v).abs()).sum() };
    for (other, rows) in [(None, &x), (Some(yr), &y)] {
        let mm = rows.len() / d;
        let full = direct_pairwise(xr, other, &Manhattan, Threads::new(2), &ctl).unwrap();
        assert_eq!(full.len(), n * mm);
        for i in 0..n {
            for j in 0..mm {
                let want = naive(&x[i * d..(i + 1) * d], &rows[j * d..(j + 1) * d]);
                assert!((full[i * mm + j] - want).abs() < 1e-12);
            }
        }
        let want: f64 = full.iter().sum();
        let got = Threads::new(2)
            .install(|| direct_sum(xr, other, &Manhattan, &ctl))
            .unwrap();
        assert!((got - want).abs() < 1e-9 * want, "{got} vs {want}");
        let one = Threads::new(1)
            .install(|| direct_sum(xr, other, &Manhattan, &ctl))
            .unwrap();
        assert_eq!(one, got, "the sum depends on the thread count");
    }
}

#[test]
fn progress_is_counted_to_the_end() {
    let (n, d) = (600, 3);
    let x = data(n, d, 9);
    let xr = Rows::new(&x, n, d, "X").unwrap();
    let ctl = Control::new();
    inner_pairwise(xr, None, &Linear, Threads::new(2), &ctl).unwrap();
    direct_pairwise(xr, None, &Chebyshev, Threads::new(2), &ctl).unwrap();
    inner_sum(xr, None, &Linear, &ctl).unwrap();
    direct_sum(xr, None, &Chebyshev, &ctl).unwrap();
    let (done, total) = ctl.progress();
    assert_eq!(total, 4 * n as u64);
    assert_eq!(done, total);
}

#[test]
fn cancelled_calls_and_mismatched_widths_fail() {
    let x = data(40, 4, 10);
    let y = data(30, 3, 11);
    let xr = Rows::new(&x, 40, 4, "X").unwrap();
    let yr = Rows::new(&y, 30, 3, "Y").unwrap();
    let ctl = Control::new();
    let t = Threads::new(2);
    let wrong = [
        inner_pairwise(xr, Some(yr), &Linear, t, &ctl).err(),
        direct_pairwise(xr, Some(yr), &Manhattan, t, &ctl).err(),
        inner_sum(xr, Some(yr), &Linear, &ctl).err(),
        direct_sum(xr, Some(yr), &Manhattan, &ctl).err(),
    ];
    for e in wrong {
        assert!(
            matches!(e, Some(Error::InvalidArgument { arg: "Y", .. })),
            "{e:?}"
        );
    }
    ctl.cancel();
    let cancelled = [
        inner_pairwise(xr, None, &Linear, t, &ctl).err(),
        direct_pairwise(xr, None, &Manhattan, t, &ctl).err(),
        inner_sum(xr, None, &Linear, &ctl).err(),
        direct_sum(xr, None, &Manhattan, &ctl).err(),
    ];
    for e in cancelled {
        assert!(matches!(e, Some(Error::Cancelled)), "{e:?}");
    }
}
