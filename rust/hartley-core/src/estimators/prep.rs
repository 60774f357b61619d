//! Input checks, scaling and tie-breaking jitter, shared by every estimator.

use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::error::{Error, Result};

/// A borrowed row-major matrix of `n` rows and `d` columns.
#[derive(Debug, Clone, Copy)]
pub struct Matrix<'a> {
    data: &'a [f64],
    n: usize,
    d: usize,
}

impl<'a> Matrix<'a> {
    /// Views `data` as `n` rows of `d` columns; fails unless `data.len() == n * d`.
    pub fn new(data: &'a [f64], n: usize, d: usize) -> Result<Self> {
        if n.checked_mul(d) != Some(data.len()) {
            return Err(Error::invalid(
                "data",
                format!("{} values cannot form {n} rows of {d} columns", data.len()),
            ));
        }
        Ok(Matrix { data, n, d })
    }

    /// One column per value.
    pub fn column(data: &'a [f64]) -> Self {
        Matrix {
            data,
            n: data.len(),
            d: 1,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.n
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.d
    }

    /// All values, row-major.
    pub fn data(&self) -> &'a [f64] {
        self.data
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &'a [f64] {
        &self.data[i * self.d..(i + 1) * self.d]
    }
}

/// Purposes of independent random streams drawn from one user seed.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub(crate) enum Purpose {
    Jitter = 1,
    Resample = 2,
    Permute = 3,
}

/// A random stream for `(seed, purpose, index)`: streams for different
/// purposes or indices are independent, and each is the same whatever the
/// number of threads that draws from it.
pub(crate) fn stream(seed: u64, purpose: Purpose, index: u64) -> Xoshiro256PlusPlus {
    // SplitMix64 finaliser over the three words, so nearby seeds diverge.
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((purpose as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(index.wrapping_mul(0x94D0_49BB_1331_11EB));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    Xoshiro256PlusPlus::seed_from_u64(z ^ (z >> 31))
}

/// How the columns of an estimator's input are conditioned before the
/// neighbour search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prep {
    /// Centre each column and divide it by its standard deviation.
    pub standardize: bool,
    /// Standard deviation of the Gaussian jitter added to each value, in
    /// units of its column's standard deviation (0 adds none).
    pub noise: f64,
    /// Reject columns whose values are all equal.
    pub reject_constant: bool,
}

impl Prep {
    /// Validates `noise`.
    pub fn check(&self) -> Result<()> {
        if !(self.noise.is_finite() && self.noise >= 0.0) {
            return Err(Error::invalid(
                "noise",
                format!("must be a finite number >= 0, got {}", self.noise),
            ));
        }
        Ok(())
    }
}

/// Fails with [`Error::NonFinite`] at the first NaN or infinity.
pub fn check_finite(m: Matrix<'_>, arg: &'static str) -> Result<()> {
    use rayon::prelude::*;
    // Chunks checked by a branch-free (vectorised) pass; only a chunk that
    // fails is searched for its first bad value.
    const CHUNK: usize = 1 << 14;
    let bad = m
        .data
        .par_chunks(CHUNK)
        .position_first(|c| !c.iter().fold(true, |ok, v| ok & v.is_finite()));
    let first = bad.map(|b| {
        let c = &m.data[b * CHUNK..((b + 1) * CHUNK).min(m.data.len())];
        b * CHUNK + c.iter().position(|v| !v.is_finite()).expect("a bad value")
    });
    match first {
        None => Ok(()),
        Some(at) => Err(Error::NonFinite {
            arg,
            row: at / m.d.max(1),
            col: at % m.d.max(1),
        }),
    }
}

/// Rows per block of the parallel passes over the input. Fixed, so that
/// sums and jitter streams do not depend on the number of threads.
const BLOCK_ROWS: usize = 1 << 14;

/// Per-column mean and population standard deviation (two passes, each
/// summed in fixed blocks combined in order). Values are divided by the
/// column's largest magnitude first, so that squares neither underflow nor
/// overflow at extreme scales.
pub fn column_moments(m: Matrix<'_>) -> Vec<(f64, f64)> {
    use rayon::prelude::*;
    let n = m.n.max(1) as f64;
    let blocks = m.n.div_ceil(BLOCK_ROWS);
    let block_fold =
        |init: f64, f: &(dyn Fn(&[f64], &mut [f64]) + Sync), combine: fn(f64, f64) -> f64| {
            let parts: Vec<Vec<f64>> = (0..blocks)
                .into_par_iter()
                .map(|b| {
                    let mut acc = vec![init; m.d];
                    for i in b * BLOCK_ROWS..((b + 1) * BLOCK_ROWS).min(m.n) {
                        f(m.row(i), &mut acc);
                    }
                    acc
                })
                .collect();
            let mut total = vec![init; m.d];
            for part in parts {
                total
                    .iter_mut()
                    .zip(part)
                    .for_each(|(t, p)| *t = combine(*t, p));
            }
            total
        };
    let mag = block_fold(
        0.0,
        &|row, acc| {
            acc.iter_mut()
                .zip(row)
                .for_each(|(a, v)| *a = a.max(v.abs()))
        },
        f64::max,
    );
    let unit: Vec<f64> = mag
        .iter()
        .map(|&s| if s > 0.0 { 1.0 / s } else { 1.0 })
        .collect();
    let mut mean = block_fold(
        0.0,
        &|row, acc| {
            for ((a, v), u) in acc.iter_mut().zip(row).zip(&unit) {
                *a += v * u;
            }
        },
        |a, b| a + b,
    );
    mean.iter_mut().for_each(|v| *v /= n);
    let var = block_fold(
        0.0,
        &|row, acc| {
            for (((a, v), mu), u) in acc.iter_mut().zip(row).zip(&mean).zip(&unit) {
                let c = v * u - mu;
                *a += c * c;
            }
        },
        |a, b| a + b,
    );
    mean.iter()
        .zip(var)
        .zip(&mag)
        .map(|((mu, v), &s)| {
            let s = if s > 0.0 { s } else { 1.0 };
            (mu * s, (v / n).sqrt() * s)
        })
        .collect()
}

/// Stacks the column blocks `parts` side by side into one row-major matrix,
/// after checking that they have the same number of rows and finite values,
/// and applying `prep`. The jitter of each block of rows comes from its own
/// stream of `seed`, so it is the same for any number of threads.
pub fn joint(parts: &[(Matrix<'_>, &'static str)], prep: Prep, seed: u64) -> Result<Vec<f64>> {
    prep.check()?;
    let (first, first_name) = parts[0];
    let n = first.n;
    for &(m, name) in parts {
        if m.n != n {
            return Err(Error::invalid(
                name,
                format!("has {} samples but {first_name} has {n}", m.n),
            ));
        }
        if m.d == 0 {
            return Err(Error::invalid(name, "has no columns"));
        }
        check_finite(m, name)?;
    }
    let width: usize = parts.iter().map(|(m, _)| m.d).sum();
    // (shift, scale, jitter sd) for every output column.
    let mut affine = Vec::with_capacity(width);
    for &(m, name) in parts {
        for (j, (mu, sd)) in column_moments(m).into_iter().enumerate() {
            if sd == 0.0 && prep.reject_constant {
                return Err(Error::invalid(
                    name,
                    format!("column {j} is constant; its differential entropy is -inf and information measures on it are undefined"),
                ));
            }
            let spread = if sd > 0.0 { sd } else { mu.abs().max(1.0) };
            affine.push(if prep.standardize {
                (mu, 1.0 / spread, prep.noise)
            } else {
                (0.0, 1.0, prep.noise * spread)
            });
        }
    }
    let mut out = vec![0.0; n * width];
    {
        use rayon::prelude::*;
        out.par_chunks_mut(BLOCK_ROWS * width)
            .enumerate()
            .for_each(|(b, block)| {
                let mut rng = stream(seed, Purpose::Jitter, b as u64);
                for (r, row) in block.chunks_exact_mut(width).enumerate() {
                    let i = b * BLOCK_ROWS + r;
                    let mut c = 0;
                    for (m, _) in parts {
                        for &v in m.row(i) {
                            let (shift, scale, sd) = affine[c];
                            let mut x = (v - shift) * scale;
                            if sd > 0.0 {
                                let e: f64 = StandardNormal.sample(&mut rng);
                                x += sd * e;
                            }
                            row[c] = x;
                            c += 1;
                        }
                    }
                }
            });
    }
    Ok(out)
}

/// The exponent `e` with `max |v|` in `[2^(e-1), 2^e)` (0 if all are 0).
pub fn unit_exponent<'a>(values: impl Iterator<Item = &'a f64>) -> i32 {
    let m = values.fold(0.0f64, |m, v| m.max(v.abs()));
    if m > 0.0 && m.is_finite() {
        // frexp: m = f 2^e with f in [0.5, 1).
        let bits = m.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as i32;
        if biased == 0 {
            // Subnormal: normalise first.
            unit_exponent(std::iter::once(&(m * 2f64.powi(64)))) - 64
        } else {
            biased - 1022
        }
    } else {
        0
    }
}

/// Multiplies every value by `2^e`: exact, unless results leave the
/// normal range.
pub fn scale_pow2(values: &mut [f64], e: i32) {
    // Two steps, so that 2^e itself never overflows.
    let half = e / 2;
    let (a, b) = (2f64.powi(half), 2f64.powi(e - half));
    values.iter_mut().for_each(|v| *v = *v * a * b);
}

/// Checks `k` against the number of samples an estimator sees.
pub fn check_k(k: usize, n: usize, arg_n: &'static str) -> Result<()> {
    if k == 0 {
        return Err(Error::invalid("k", "must be at least 1"));
    }
    if n == 0 {
        return Err(Error::invalid(arg_n, "is empty"));
    }
    if k >= n {
        return Err(Error::invalid(
            "k",
            format!("must be smaller than the number of samples ({n}), got {k}"),
        ));
    }
    Ok(())
}

/// Copies the rows `rows` of a row-major matrix with `width` columns.
pub fn gather_rows(data: &[f64], width: usize, rows: &[usize]) -> Vec<f64> {
    let mut out = Vec::with_capacity(rows.len() * width);
    for &r in rows {
        out.extend_from_slice(&data[r * width..(r + 1) * width]);
    }
    out
}

/// The largest float strictly below a positive `r` (0 for `r == 0`): the
/// radius of a "strictly closer than r" count, exact for every scale.
#[inline]
pub fn strictly_below(r: f64) -> Option<f64> {
    if r > 0.0 {
        Some(r.next_down())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joint_standardizes_and_rejects() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = [2.0, 2.0, 2.0, 2.0];
        let prep = Prep {
            standardize: true,
            noise: 0.0,
            reject_constant: true,
        };
        let out = joint(&[(Matrix::column(&x), "x")], prep, 0).unwrap();
        let sd = (1.25f64).sqrt();
        assert!((out[0] + 1.5 / sd).abs() < 1e-15);
        let err = joint(
            &[(Matrix::column(&x), "x"), (Matrix::column(&y), "y")],
            prep,
            0,
        );
        assert!(matches!(err, Err(Error::InvalidArgument { arg: "y", .. })));
        let bad = [1.0, f64::NAN];
        let err = joint(&[(Matrix::column(&bad), "x")], prep, 0);
        assert_eq!(
            err,
            Err(Error::NonFinite {
                arg: "x",
                row: 1,
                col: 0
            })
        );
    }

    #[test]
    fn non_finite_reports_the_first_bad_value() {
        // Bad values in several chunks of the parallel check, the first one
        // late in its chunk.
        let (n, d) = (40_000, 3);
        let mut x = vec![0.5; n * d];
        for (at, v) in [(3 * 16384 + 7, f64::NAN), (2 * 16384 - 1, f64::INFINITY)] {
            x[at] = v;
        }
        let m = Matrix::new(&x, n, d).unwrap();
        let at = 2 * 16384 - 1;
        assert_eq!(
            check_finite(m, "X"),
            Err(Error::NonFinite {
                arg: "X",
                row: at / d,
                col: at % d
            })
        );
        x[at] = f64::NEG_INFINITY;
        x[0] = f64::NAN;
        assert_eq!(
            check_finite(Matrix::new(&x, n, d).unwrap(), "X"),
            Err(Error::NonFinite {
                arg: "X",
                row: 0,
                col: 0
            })
        );
        assert_eq!(
            check_finite(Matrix::new(&x[..0], 0, d).unwrap(), "X"),
            Ok(())
        );
    }

    #[test]
    fn jitter_is_seeded() {
        let x: Vec<f64> = (0..100).map(|i| (i % 3) as f64).collect();
        let prep = Prep {
            standardize: false,
            noise: 1e-6,
            reject_constant: true,
        };
        let a = joint(&[(Matrix::column(&x), "x")], prep, 7).unwrap();
        let b = joint(&[(Matrix::column(&x), "x")], prep, 7).unwrap();
        let c = joint(&[(Matrix::column(&x), "x")], prep, 8).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().zip(&x).all(|(j, v)| (j - v).abs() < 1e-4));
    }

    #[test]
    fn strict_radius() {
        assert_eq!(strictly_below(0.0), None);
        let r = strictly_below(1.0).unwrap();
        assert!(r < 1.0 && r > 1.0 - 1e-15);
        let tiny = strictly_below(1e-300).unwrap();
        assert!(tiny < 1e-300 && tiny > 0.0);
    }
}
