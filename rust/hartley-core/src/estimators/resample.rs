//! Uncertainty for k-nearest-neighbour estimators: confidence intervals by
//! half-sampling, and permutation tests.
//!
//! Bootstrap resamples repeat rows, and repeated rows sit at distance zero
//! from each other, which breaks every neighbour-distance estimator. The
//! intervals here use the delete-d jackknife instead (J. Shao, C. F. J. Wu,
//! "A general theory for jackknife variance estimation", Ann. Statist. 17,
//! 1989), with d = n / 2: each replicate is the estimator on a random half of
//! the rows drawn without replacement, so no row repeats. Its variance
//! estimate is v = (m / d) * Var(theta_b) with m = n - d retained rows, and
//! the interval is the normal one, value -/+ z_{(1+c)/2} sqrt(v).

use rand::seq::SliceRandom;

use super::prep::{gather_rows, stream, Purpose};
use crate::error::{Error, Result};
use crate::par::{par_map, Control};

/// What was asked for: how many half-samples, and the confidence level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resampling {
    /// Number of half-samples (at least 2).
    pub n_resamples: usize,
    /// Confidence level in (0, 1).
    pub confidence: f64,
}

impl Resampling {
    /// Validates the fields.
    pub fn check(&self) -> Result<()> {
        if self.n_resamples < 2 {
            return Err(Error::invalid(
                "n_resamples",
                format!("must be at least 2, got {}", self.n_resamples),
            ));
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(Error::invalid(
                "ci",
                format!(
                    "must be a confidence level strictly between 0 and 1, got {}",
                    self.confidence
                ),
            ));
        }
        Ok(())
    }
}

/// An estimate, with its confidence interval when one was asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The estimate on all the data.
    pub value: f64,
    /// The interval, if requested.
    pub interval: Option<Interval>,
}

/// A confidence interval and the standard error behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// Standard error of the estimate.
    pub stderr: f64,
}

/// The smallest half-sample worth estimating on with `k` neighbours: below
/// about ten rows, half-samples repeat one another and the interval
/// collapses.
pub fn min_half_sample(k: usize) -> usize {
    (k + 1).max(10)
}

/// Runs `est` on all rows of `data` (row-major, `width` columns) and, when
/// `ci` is given, on half-samples of them to form the interval. `min_rows` is
/// the smallest sample `est` accepts (k + 1 for most estimators).
pub fn estimate_with_interval(
    data: Vec<f64>,
    width: usize,
    min_rows: usize,
    ci: Option<Resampling>,
    seed: u64,
    ctl: &Control,
    est: impl Fn(Vec<f64>) -> Result<f64> + Sync,
) -> Result<Estimate> {
    let n = data.len() / width;
    let Some(rs) = ci else {
        ctl.add_total(n as u64);
        return Ok(Estimate {
            value: est(data)?,
            interval: None,
        });
    };
    rs.check()?;
    let m = n / 2;
    if m < min_rows {
        return Err(Error::invalid(
            "ci",
            format!(
                "half-sample intervals need at least {} samples, got {n}",
                2 * min_rows
            ),
        ));
    }
    ctl.add_total((n + rs.n_resamples * m) as u64);
    let value = est(data.clone())?;
    let reps = par_map(rs.n_resamples, ctl, |b| {
        let mut rows: Vec<usize> = (0..n).collect();
        let mut rng = stream(seed, Purpose::Resample, b as u64);
        rows.partial_shuffle(&mut rng, m);
        rows.truncate(m);
        rows.sort_unstable();
        est(gather_rows(&data, width, &rows))
    })?;
    let b = reps.len() as f64;
    let mean = reps.iter().sum::<f64>() / b;
    let var = reps.iter().map(|t| (t - mean) * (t - mean)).sum::<f64>() / (b - 1.0);
    let d = (n - m) as f64;
    let stderr = (var * m as f64 / d).sqrt();
    let z = normal_quantile(0.5 + rs.confidence / 2.0);
    Ok(Estimate {
        value,
        interval: Some(Interval {
            low: value - z * stderr,
            high: value + z * stderr,
            stderr,
        }),
    })
}

/// The estimate on `[x | y]` and its null distribution under independence:
/// `est` on copies whose y rows are permuted (x rows stay in place).
pub fn permutation_null(
    data: &[f64],
    dx: usize,
    dy: usize,
    n_permutations: usize,
    seed: u64,
    ctl: &Control,
    est: impl Fn(Vec<f64>) -> Result<f64> + Sync,
) -> Result<(f64, Vec<f64>)> {
    if n_permutations == 0 {
        return Err(Error::invalid("n_permutations", "must be at least 1"));
    }
    let w = dx + dy;
    let n = data.len() / w;
    ctl.add_total((n * (n_permutations + 1)) as u64);
    let value = est(data.to_vec())?;
    let null = par_map(n_permutations, ctl, |b| {
        let mut perm: Vec<usize> = (0..n).collect();
        perm.shuffle(&mut stream(seed, Purpose::Permute, b as u64));
        let mut copy = data.to_vec();
        for (i, &j) in perm.iter().enumerate() {
            copy[i * w + dx..(i + 1) * w].copy_from_slice(&data[j * w + dx..(j + 1) * w]);
        }
        est(copy)
    })?;
    Ok((value, null))
}

/// Permutation p-value with the +1 correction of B. Phipson and G. K. Smyth,
/// "Permutation p-values should never be zero" (2010).
pub fn p_value(observed: f64, null: &[f64]) -> f64 {
    let exceed = null.iter().filter(|&&t| t >= observed).count();
    (1 + exceed) as f64 / (1 + null.len()) as f64
}

/// Quantile function of the standard normal distribution (P. J. Acklam's
/// rational approximation, relative error below 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return if p == 0.0 {
            f64::NEG_INFINITY
        } else if p == 1.0 {
            f64::INFINITY
        } else {
            f64::NAN
        };
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-7);
        assert!((normal_quantile(0.5)).abs() < 1e-9);
        assert!((normal_quantile(0.001) + 3.090_232_306_167_813).abs() < 1e-6);
        assert!(normal_quantile(1.5).is_nan());
    }

    #[test]
    fn p_values() {
        assert_eq!(p_value(1.0, &[0.0, 0.5, 2.0]), 0.5);
        assert_eq!(p_value(5.0, &[0.0; 9]), 0.1);
    }

    #[test]
    fn half_sampling_of_a_mean_matches_its_standard_error() {
        // For the mean of n values the delete-n/2 jackknife is unbiased for
        // sigma^2 / n.
        let n = 4000;
        let data: Vec<f64> = (0..n)
            .map(|i| ((i * 7919) % 1000) as f64 / 1000.0)
            .collect();
        let ctl = Control::new();
        let est = |d: Vec<f64>| Ok(d.iter().sum::<f64>() / d.len() as f64);
        let rs = Resampling {
            n_resamples: 400,
            confidence: 0.95,
        };
        let e = estimate_with_interval(data.clone(), 1, 2, Some(rs), 3, &ctl, est).unwrap();
        let iv = e.interval.unwrap();
        let mean = e.value;
        let sd = (data.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64).sqrt();
        let want = sd / (n as f64).sqrt();
        assert!(
            (iv.stderr / want - 1.0).abs() < 0.15,
            "{} vs {}",
            iv.stderr,
            want
        );
    }
}
