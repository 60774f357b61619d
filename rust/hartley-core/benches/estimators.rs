//! Criterion benches of the estimator kernels: KSG on 1-D and 5-D pairs,
//! Kozachenko-Leonenko entropy.
#![allow(missing_docs)] // criterion_group! generates an undocumented function

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hartley_core::estimators::entropy::{self, EntropyOptions, Metric};
use hartley_core::estimators::ksg::{self, KsgOptions};
use hartley_core::estimators::prep::Matrix;
use hartley_core::{Control, Threads};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

fn gaussian(n: usize, d: usize, seed: u64) -> Vec<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n * d)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("ksg");
    group.sample_size(10);
    for &(n, d) in &[(100_000usize, 1usize), (20_000, 5)] {
        let x = gaussian(n, d, 1);
        let noise = gaussian(n, d, 2);
        let y: Vec<f64> = x.iter().zip(&noise).map(|(a, e)| a + e).collect();
        group.bench_with_input(BenchmarkId::new(format!("{d}d"), n), &n, |b, _| {
            b.iter(|| {
                let opts = KsgOptions::new(3);
                let mx = Matrix::new(&x, n, d).unwrap();
                let my = Matrix::new(&y, n, d).unwrap();
                ksg::mutual_info(mx, my, &opts, None, Threads::all(), &Control::new()).unwrap()
            })
        });
    }
    group.finish();
    let x = gaussian(50_000, 3, 3);
    c.bench_function("kl_entropy_3d_50k", |b| {
        b.iter(|| {
            let opts = EntropyOptions {
                k: 3,
                metric: Metric::Euclidean,
                noise: 1e-10,
                seed: 0,
            };
            let m = Matrix::new(&x, 50_000, 3).unwrap();
            entropy::entropy(m, &opts, None, Threads::all(), &Control::new()).unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
