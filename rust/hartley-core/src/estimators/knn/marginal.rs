//! Range counts in the marginal spaces of an estimator: sorted values for
//! one coordinate, a neighbour structure for several.

use super::{build, KdTree, MaxNorm, NeighbourSearch};
use crate::error::Result;
use crate::par::{par_fill, Control};

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
    /// Sorts `values` (taking ownership to sort in place) by a radix sort,
    /// several times faster than a comparison sort on large inputs.
    pub fn new(mut values: Vec<f64>) -> Self {
        radsort::sort(&mut values);
        let sample = values.iter().step_by(BLOCK).copied().collect();
        Sorted1d { values, sample }
    }

    /// Wraps values already in ascending order.
    pub fn presorted(values: Vec<f64>) -> Self {
        debug_assert!(values.windows(2).all(|w| w[0] <= w[1]));
        let sample = values.iter().step_by(BLOCK).copied().collect();
        Sorted1d { values, sample }
    }

    /// First index whose value fails the predicate `holds`, which must hold
    /// on a (possibly empty) prefix of the sorted values and nowhere after.
    #[inline]
    fn boundary(&self, holds: impl Fn(f64) -> bool) -> usize {
        let t = self.sample.partition_point(|&v| holds(v));
        let lo = if t == 0 {
            return 0;
        } else {
            (t - 1) * BLOCK + 1
        };
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

    /// [`Sorted1d::count_within`], with both searches starting from the
    /// ends found for the previous query (`hint`, updated): queries issued
    /// in spatial order then cost a few steps instead of a full search.
    #[inline]
    pub fn count_near(&self, q: f64, r: f64, hint: &mut Hint) -> usize {
        let lo = self.boundary_from(hint.0[0], |v| q - v > r);
        let hi = self.boundary_from(hint.0[1], |v| v - q <= r);
        hint.0 = [lo, hi];
        hi.saturating_sub(lo)
    }

    /// [`Sorted1d::count_within`] for a `q` known to sit at index `at` of
    /// the sorted values: both ends are found by searching out from `at`,
    /// in memory near `at` only.
    #[inline(always)]
    pub fn count_from(&self, at: usize, q: f64, r: f64) -> usize {
        let lo = self.boundary_from(at, |v| q - v > r);
        let hi = self.boundary_from(at, |v| v - q <= r);
        hi.saturating_sub(lo)
    }

    /// [`Sorted1d::boundary`] by a search outwards from `start`, for
    /// boundaries that usually lie a few hundred values away.
    ///
    /// The cached index (every [`BLOCK`]-th value) is compared [`WINDOW`]
    /// entries at a time, outwards from `start`'s block, until a window
    /// holds the boundary's block; the values of that block are then
    /// counted by one branch-free pass over [`BLOCK`] values. Both passes
    /// vectorise, so a search costs a few well-predicted branches instead of
    /// a binary search's unpredictable ones. Boundaries more than
    /// [`WINDOWS`] windows away are found by galloping over the index.
    #[inline(always)]
    fn boundary_from(&self, start: usize, holds: impl Fn(f64) -> bool) -> usize {
        let (v, s) = (&self.values[..], &self.sample[..]);
        let n = v.len();
        let h = start.min(n);
        // The entries of `w` that hold: a prefix of `w`, so its length.
        let run = |w: &[f64]| w.iter().map(|&x| holds(x) as usize).sum::<usize>();
        let window = |w: &[f64]| {
            let w: &[f64; WINDOW] = w.try_into().expect("a whole window");
            w.iter().map(|&x| holds(x) as usize).sum::<usize>()
        };
        // For a boundary known to lie in lo..=hi, with every value below lo
        // holding and hi - lo < BLOCK: the values that hold among the BLOCK
        // ending at hi place it.
        let finish = |lo: usize, hi: usize| {
            if hi >= BLOCK {
                let w: &[f64; BLOCK] = v[hi - BLOCK..hi].try_into().expect("a whole block");
                hi - BLOCK + w.iter().map(|&x| holds(x) as usize).sum::<usize>()
            } else {
                lo + run(&v[lo..hi])
            }
        };
        if h < n && holds(v[h]) {
            // The boundary lies after h: find the first block start that
            // fails (s.len() if none), searching from the block after h's.
            let mut t = h / BLOCK + 1;
            let mut fails = None;
            for _ in 0..WINDOWS {
                if t + WINDOW > s.len() {
                    fails = Some(t + run(&s[t.min(s.len())..]));
                    break;
                }
                let c = window(&s[t..t + WINDOW]);
                if c < WINDOW {
                    fails = Some(t + c);
                    break;
                }
                t += WINDOW;
            }
            let f = fails.unwrap_or_else(|| t + gallop(&s[t..], 0, |&x| holds(x)));
            finish((h + 1).max((f - 1) * BLOCK + 1), (f * BLOCK).min(n))
        } else {
            // The boundary lies at or before h: count the block starts
            // before h that hold.
            if h == 0 {
                return 0;
            }
            let mut e = (h - 1) / BLOCK + 1;
            let mut holding = None;
            for _ in 0..WINDOWS {
                if e < WINDOW {
                    holding = Some(run(&s[..e]));
                    break;
                }
                let c = window(&s[e - WINDOW..e]);
                if c > 0 {
                    holding = Some(e - WINDOW + c);
                    break;
                }
                e -= WINDOW;
            }
            let t = match holding.unwrap_or_else(|| gallop(&s[..e], e, |&x| holds(x))) {
                0 => return 0,
                c => c - 1,
            };
            finish(t * BLOCK + 1, ((t + 1) * BLOCK).min(h))
        }
    }

    /// The values, ascending.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The values, ascending, taken out.
    pub fn into_values(self) -> Vec<f64> {
        self.values
    }
}

/// Copies the columns `cols` of `points` (row-major, `stride` columns).
fn columns(points: &[f64], stride: usize, cols: std::ops::Range<usize>) -> Vec<f64> {
    let mut sub = Vec::with_capacity(points.len() / stride * cols.len());
    for row in points.chunks_exact(stride) {
        sub.extend_from_slice(&row[cols.clone()]);
    }
    sub
}

/// Builds the neighbour structure over `joint` (row-major, `dim` columns),
/// then the marginal structures over the column ranges `marginals` of its
/// points in the joint structure's order: row `i` of every marginal is the
/// point at position `i` of the joint one, which [`Marginal::counts`] relies
/// on. The marginals are built one after the other, which bounds the extra
/// memory to one copy of their columns.
pub fn build_with_marginals(
    joint: Vec<f64>,
    dim: usize,
    marginals: &[std::ops::Range<usize>],
    ctl: &Control,
) -> Result<(KdTree, Vec<Marginal>)> {
    let tree = build(joint, dim, ctl)?;
    let mut m = Vec::with_capacity(marginals.len());
    for c in marginals {
        // On millions of points each build takes a second or more: a
        // cancellation is honoured between them.
        ctl.check()?;
        m.push(Marginal::from_columns(
            columns(tree.points(), dim, c.clone()),
            c.len(),
            ctl,
        )?);
    }
    ctl.check()?;
    Ok((tree, m))
}

/// First index of `v` whose element fails `holds`, which must hold on a
/// (possibly empty) prefix of `v` and nowhere after: an exponential search
/// from `start`, then a binary search in the bracket found, so the cost grows
/// with the log of the distance from `start` to the answer.
#[inline]
fn gallop<T>(v: &[T], start: usize, holds: impl Fn(&T) -> bool) -> usize {
    let n = v.len();
    let h = start.min(n);
    if h < n && holds(&v[h]) {
        // The boundary lies after h.
        let (mut lo, mut step) = (h + 1, 1);
        loop {
            let probe = lo + step - 1;
            if probe >= n {
                return lo + v[lo..].partition_point(&holds);
            }
            if !holds(&v[probe]) {
                return lo + v[lo..probe].partition_point(&holds);
            }
            lo = probe + 1;
            step *= 2;
        }
    }
    // The boundary lies at or before h.
    let (mut hi, mut step) = (h, 1);
    loop {
        if hi < step {
            return v[..hi].partition_point(&holds);
        }
        let probe = hi - step;
        if holds(&v[probe]) {
            return probe + 1 + v[probe + 1..hi].partition_point(&holds);
        }
        hi = probe;
        step *= 2;
    }
}

/// Index entries [`Sorted1d::boundary_from`] compares at once.
const WINDOW: usize = 8;

/// Windows [`Sorted1d::boundary_from`] steps through before it gallops.
const WINDOWS: usize = 4;

/// Where the last search of a [`Sorted1d`] ended, to start the next one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hint([usize; 2]);

/// Answers max-norm range counts over a contiguous range of the columns of a
/// point set: sorted values for one column, a neighbour structure otherwise.
#[derive(Debug)]
pub enum Marginal {
    /// A single coordinate.
    OneD(Sorted1d),
    /// Several coordinates.
    Multi(Box<KdTree>),
}

impl Marginal {
    /// Builds the structure over `sub`, row-major with `width` columns;
    /// stops with [`crate::error::Error::Cancelled`] soon after `ctl` is
    /// cancelled.
    pub fn from_columns(sub: Vec<f64>, width: usize, ctl: &Control) -> Result<Self> {
        Ok(if width == 1 {
            Marginal::OneD(Sorted1d::new(sub))
        } else {
            Marginal::Multi(Box::new(build(sub, width, ctl)?))
        })
    }

    /// For every row `i` of the points this marginal was built from, the
    /// number of rows within max-norm distance `radii[i]` of it, itself
    /// included (none for a negative radius). `points` holds those rows
    /// (row-major, `stride` columns, this marginal's being `cols`).
    ///
    /// A tree answers in the order of its own leaves, which keeps each leaf
    /// of queries together (see `KdTree::count_block`); sorted values
    /// search from where the last query ended. Advances `ctl` by the fraction
    /// `share` of the rows; returns the counts and the units advanced.
    pub fn counts(
        &self,
        radii: &[f64],
        points: &[f64],
        stride: usize,
        cols: std::ops::Range<usize>,
        ctl: &Control,
        share: (u64, u64),
    ) -> Result<(Vec<u32>, u64)> {
        let n = radii.len();
        match self {
            Marginal::OneD(s) => par_fill(n, ctl, share, |range, out| {
                let mut hint = Hint::default();
                for (i, c) in range.zip(out) {
                    let r = radii[i];
                    *c = if r >= 0.0 {
                        s.count_near(points[i * stride + cols.start], r, &mut hint) as u32
                    } else {
                        0
                    };
                }
            }),
            Marginal::Multi(t) => {
                let own: Vec<f64> = (0..n).map(|p| radii[t.original_index(p)]).collect();
                let (by_leaf, units) = par_fill(n, ctl, share, |range, out| {
                    t.count_block::<MaxNorm>(range.start, &own[range], out)
                })?;
                let mut c = vec![0u32; n];
                for (p, &v) in by_leaf.iter().enumerate() {
                    c[t.original_index(p)] = v;
                }
                Ok((c, units))
            }
        }
    }

    /// Number of points within max-norm distance `r` of `q` (inclusive,
    /// counting a point equal to `q`), for queries issued in spatial order: a
    /// single coordinate searches from where `hint` says the last query ended.
    #[inline]
    pub fn count_near(&self, q: &[f64], r: f64, hint: &mut Hint) -> usize {
        match self {
            Marginal::OneD(s) => s.count_near(q[0], r, hint),
            Marginal::Multi(s) => s.count_within::<MaxNorm>(q, r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_far_from_the_start_match_scan() {
        // Boundaries from next to the query to past the windowed phase of
        // `boundary_from` (and past the ends), on values with long runs of
        // ties, in arrays shorter than one block, than one window of blocks,
        // and longer than all the windows.
        for n in [5u64, 60, 64, 65, 700, 5000, 20000] {
            let v: Vec<f64> = (0..n).map(|i| ((i * 7919) % 4001 / 3) as f64).collect();
            let s = Sorted1d::new(v.clone());
            let mut hint = Hint::default();
            for (i, &q) in v.iter().enumerate().step_by(n as usize / 50 + 1) {
                for r in [0.0, 0.5, 3.0, 40.0, 300.0, 700.0, 2000.0] {
                    let direct = v.iter().filter(|&&x| (x - q).abs() <= r).count();
                    let at = s.values().partition_point(|&x| x < q) + i % 3;
                    let at = at.min(s.values().partition_point(|&x| x <= q) - 1);
                    assert_eq!(s.count_from(at, q, r), direct, "n {n} q {q} r {r}");
                    assert_eq!(s.count_near(q, r, &mut hint), direct, "n {n} q {q} r {r}");
                    assert_eq!(s.count_within(q, r), direct);
                }
            }
        }
    }

    #[test]
    fn sorted_counts_match_scan() {
        let v: Vec<f64> = (0..1000u64)
            .map(|i| ((i * 7919) % 1009) as f64 / 1009.0)
            .collect();
        let s = Sorted1d::new(v.clone());
        let mut hint = Hint::default();
        for (i, &q) in v.iter().enumerate().chain([(5, &-1.0), (7, &2.0)]) {
            let r = (i % 17) as f64 * 0.003 + if i % 5 == 0 { 0.2 } else { 0.0 };
            let direct = v.iter().filter(|&&x| (x - q).abs() <= r).count();
            assert_eq!(s.count_within(q, r), direct);
            assert_eq!(s.count_near(q, r, &mut hint), direct);
        }
    }
}
