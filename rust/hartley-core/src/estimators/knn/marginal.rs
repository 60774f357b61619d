//! Range counts in the marginal spaces of an estimator: sorted values for
//! one coordinate, a neighbour structure for several.

use rayon::prelude::*;

use super::{build, MaxNorm, NeighbourSearch, Search};

/// Every `BLOCK`-th sorted value is copied into a small index that stays in
/// cache, so a search touches the large array in one short block only.
const BLOCK: usize = 64;

/// Sorted values of one coordinate, answering max-norm range counts by a
/// two-level binary search.
#[derive(Debug)]
pub struct Sorted1d {
    values: Vec<f64>,
    sample: Vec<f64>,
}

impl Sorted1d {
    /// Sorts `values` (taking ownership to sort in place).
    pub fn new(mut values: Vec<f64>) -> Self {
        values.par_sort_unstable_by(f64::total_cmp);
        let sample = values.iter().step_by(BLOCK).copied().collect();
        Sorted1d { values, sample }
    }

    /// First index whose value fails the predicate `holds`, which must hold
    /// on a (possibly empty) prefix of the sorted values and nowhere after.
    #[inline]
    fn boundary(&self, holds: impl Fn(f64) -> bool) -> usize {
        let t = self.sample.partition_point(|&v| holds(v));
        let lo = if t == 0 { return 0 } else { (t - 1) * BLOCK + 1 };
        let hi = (t * BLOCK).min(self.values.len());
        lo + self.values[lo..hi].partition_point(|&v| holds(v))
    }

    /// Number of values `v` with `|v - q| <= r`, computed so that it agrees
    /// exactly with evaluating that inequality in floating point: `q - v`
    /// and `v - q` are monotone in `v`, so both ends are found by binary
    /// search on the same expressions a direct scan would evaluate.
    #[inline]
    pub fn count_within(&self, q: f64, r: f64) -> usize {
        let lo = self.boundary(|v| q - v > r);
        let hi = self.boundary(|v| v - q <= r);
        hi.saturating_sub(lo)
    }

    /// The values, ascending.
    pub fn values(&self) -> &[f64] {
        &self.values
    }
}

/// Answers max-norm range counts over a contiguous range of the columns of a
/// point set: sorted values for one column, a neighbour structure otherwise.
#[derive(Debug)]
pub enum Marginal {
    /// A single coordinate.
    OneD(Sorted1d),
    /// Several coordinates.
    Multi(Search),
}

impl Marginal {
    /// Builds the structure over columns `cols` of `points` (row-major,
    /// `stride` columns per row).
    pub fn new(points: &[f64], stride: usize, cols: std::ops::Range<usize>) -> Self {
        let width = cols.len();
        let n = points.len() / stride;
        let mut sub = Vec::with_capacity(n * width);
        for row in points.chunks_exact(stride) {
            sub.extend_from_slice(&row[cols.clone()]);
        }
        if width == 1 {
            Marginal::OneD(Sorted1d::new(sub))
        } else {
            Marginal::Multi(build(sub, width))
        }
    }

    /// Number of points within max-norm distance `r` of `q` (inclusive,
    /// counting a point equal to `q`).
    #[inline]
    pub fn count_within(&self, q: &[f64], r: f64) -> usize {
        match self {
            Marginal::OneD(s) => s.count_within(q[0], r),
            Marginal::Multi(s) => s.count_within::<MaxNorm>(q, r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_counts_match_scan() {
        let v: Vec<f64> = (0..1000u64).map(|i| ((i * 7919) % 1009) as f64 / 1009.0).collect();
        let s = Sorted1d::new(v.clone());
        for (i, &q) in v.iter().enumerate().chain([(5, &-1.0), (7, &2.0)]) {
            let r = (i % 17) as f64 * 0.003 + if i % 5 == 0 { 0.2 } else { 0.0 };
            let direct = v.iter().filter(|&&x| (x - q).abs() <= r).count();
            assert_eq!(s.count_within(q, r), direct);
        }
    }
}
