//! KSG for a pair of scalar variables, the case of feature scoring and of
//! most time-series work, without a tree.
//!
//! The points are cut into strips of equal count along x; each strip is
//! sorted by y. A point's max-norm neighbours are found by scanning its own
//! strip outwards in y, then the strips to either side, nearest first, each
//! from a binary search on y: a strip is abandoned once its y-gap, and the
//! strips once their x-gap, reach the current k-th distance. Strips about as
//! wide as a typical k-th-neighbour distance make every query touch a few
//! dozen points. Building them costs one radix sort of x: the strips are
//! filled by walking the samples in y order (the order of y is computed
//! once, and shared by every feature scored against the same target).
//! Every point carries its rank in x and in y, so the marginal counts
//! gallop outwards from the point's own place in the sorted values, touching
//! only the neighbourhood it counts.

use super::digamma::digamma_int;
use super::knn::{KBest, Sorted1d};
use super::ksg::{combine, Ksg};
use super::prep::strictly_below;
use crate::error::Result;
use crate::par::{par_chunk_sum, Control};

/// The values of one variable in ascending order, with the rank of every
/// sample among them and the sample at every rank.
#[derive(Debug)]
pub struct Ranked {
    sorted: Sorted1d,
    /// `rank[i]`: position of sample `i` in the sorted values.
    rank: Vec<u32>,
    /// `order[r]`: the sample at position `r` (the inverse of `rank`).
    order: Vec<u32>,
}

impl Ranked {
    /// Sorts `v` by a radix sort of (value, sample) pairs; ties keep the
    /// sample order.
    pub fn new(v: &[f64]) -> Self {
        assert!(v.len() <= u32::MAX as usize, "at most 2^32 - 1 samples");
        let mut pairs: Vec<(f64, u32)> = v.iter().copied().zip(0u32..).collect();
        radsort::sort_by_key(&mut pairs, |p| p.0);
        let mut rank = vec![0u32; v.len()];
        for (r, p) in pairs.iter().enumerate() {
            rank[p.1 as usize] = r as u32;
        }
        let order = pairs.iter().map(|p| p.1).collect();
        let sorted = Sorted1d::presorted(pairs.into_iter().map(|p| p.0).collect());
        Ranked {
            sorted,
            rank,
            order,
        }
    }

    /// The sorted values.
    pub fn sorted(&self) -> &Sorted1d {
        &self.sorted
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.rank.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.rank.is_empty()
    }
}

/// The largest `k` served by the windowed search of [`Strips::kth_distance`].
const FAST_K: usize = 8;

/// The most strips the windowed search visits before handing over to the
/// exact scan.
const FAST_WINDOWS: usize = 5;

/// Points `(x, y)` in strips of `width` consecutive x-ranks, each sorted by y.
pub struct Strips {
    width: usize,
    /// The points, strip after strip.
    pts: Vec<[f64; 2]>,
    /// Rank in x and rank in y of every point of `pts`.
    ranks: Vec<[u32; 2]>,
    /// Where the y of every point of `pts` would be inserted in the strips
    /// to its left and to its right: the number of their points of lower
    /// y-rank.
    adjacent: Vec<[u32; 2]>,
    /// x-extent `(min, max)` of each strip.
    extent: Vec<(f64, f64)>,
    /// All x values, sorted.
    xs: Sorted1d,
}

impl Strips {
    /// Arranges the samples `(x[i], y[i])` in strips about `width` points
    /// wide; `ys` is the ranking of `y`.
    pub fn new(x: &[f64], y: &[f64], ys: &Ranked, width: usize) -> Self {
        let n = x.len();
        assert!(y.len() == n && ys.len() == n);
        let xr = Ranked::new(x);
        let width = width.max(1);
        let sorted_x = xr.sorted.values();
        let extent = (0..n.div_ceil(width))
            .map(|c| (sorted_x[c * width], sorted_x[((c + 1) * width).min(n) - 1]))
            .collect();
        // Walking the samples in y order and dealing each to its strip
        // leaves every strip sorted by y.
        let mut cursor: Vec<usize> = (0..n.div_ceil(width)).map(|c| c * width).collect();
        let mut pts = vec![[0.0; 2]; n];
        let mut ranks = vec![[0u32; 2]; n];
        let mut adjacent = vec![[0u32; 2]; n];
        let n_strips = cursor.len();
        for (y_rank, &i) in ys.order.iter().enumerate() {
            let x_rank = xr.rank[i as usize];
            let c = x_rank as usize / width;
            let dealt = |c: usize| cursor.get(c).map_or(0, |&at| (at - c * width) as u32);
            let slot = cursor[c];
            adjacent[slot] = [
                if c > 0 { dealt(c - 1) } else { 0 },
                if c + 1 < n_strips { dealt(c + 1) } else { 0 },
            ];
            pts[slot] = [x[i as usize], y[i as usize]];
            ranks[slot] = [x_rank, y_rank as u32];
            cursor[c] += 1;
        }
        Strips {
            width,
            pts,
            ranks,
            adjacent,
            extent,
            xs: xr.sorted,
        }
    }

    /// A strip width suited to `n` points and `k` neighbours: about
    /// `sqrt(n k)` points, which measured fastest on Gaussian pairs from
    /// independent to strongly dependent (narrower strips mean more strips
    /// to visit, wider ones longer scans).
    pub fn default_width(n: usize, k: usize) -> usize {
        ((n * k) as f64).sqrt().clamp(8.0, 8192.0) as usize
    }

    fn strip_range(&self, c: usize) -> (usize, usize) {
        (c * self.width, ((c + 1) * self.width).min(self.pts.len()))
    }

    /// Scans positions `from` upwards and `from - 1` downwards in strip
    /// `c` while the y-gap is below the current k-th distance.
    #[inline]
    fn scan(&self, c: usize, from: usize, q: [f64; 2], skip: usize, best: &mut KBest) {
        let (s, e) = self.strip_range(c);
        // Offers point j, whose y-gap to q is dy >= 0; false once the strip
        // in this direction can hold nothing closer.
        let mut visit = |j: usize, dy: f64| {
            if dy >= best.worst() {
                return false;
            }
            let d = dy.max((self.pts[j][0] - q[0]).abs());
            if d < best.worst() && j != skip {
                best.push(d, j as u32);
            }
            true
        };
        for j in from..e {
            if !visit(j, self.pts[j][1] - q[1]) {
                break;
            }
        }
        for j in (s..from).rev() {
            if !visit(j, q[1] - self.pts[j][1]) {
                break;
            }
        }
    }

    /// The k nearest neighbours (max-norm) of the point at position `i`.
    pub fn knn_of(&self, i: usize, best: &mut KBest) {
        let q = self.pts[i];
        let c = i / self.width;
        self.scan(c, i, q, i, best);
        let n_strips = self.extent.len();
        let (mut left, mut right) = (c, c + 1);
        loop {
            let gap_left = if left > 0 {
                q[0] - self.extent[left - 1].1
            } else {
                f64::INFINITY
            };
            let gap_right = if right < n_strips {
                self.extent[right].0 - q[0]
            } else {
                f64::INFINITY
            };
            let (gap, strip) = if gap_left <= gap_right {
                (gap_left, left.wrapping_sub(1))
            } else {
                (gap_right, right)
            };
            if gap >= best.worst() {
                return;
            }
            let (s, e) = self.strip_range(strip);
            let from = if strip + 1 == c {
                s + self.adjacent[i][0] as usize
            } else if strip == c + 1 {
                s + self.adjacent[i][1] as usize
            } else {
                s + self.pts[s..e].partition_point(|p| p[1] < q[1])
            };
            self.scan(strip, from, q, usize::MAX, best);
            if strip < c {
                left -= 1;
            } else {
                right += 1;
            }
        }
    }

    /// The max-norm distance from the point at position `i` to its `k`-th
    /// nearest other point, for `k <= FAST_K`; `None` for larger `k` and
    /// when more than `FAST_WINDOWS` strips would need a visit.
    ///
    /// A window of a few points around the query's y is taken at once in
    /// its own strip and in each strip beside it that is nearer than the
    /// current k-th distance (found from the insertion positions kept for
    /// the adjacent strips, without a search), the candidates passing
    /// through a branch-free insertion network; then each window is widened
    /// until the points left out of its strip are provably no closer. The
    /// common case thus runs without the data-dependent branches of a scan.
    #[inline]
    fn kth_distance_fast(&self, i: usize, k: usize) -> Option<f64> {
        if k > FAST_K {
            return None;
        }
        let q = self.pts[i];
        let c = i / self.width;
        let h = 2;
        let mut top = [f64::INFINITY; FAST_K];
        let top = &mut top[..k];
        let offer = |lo: usize, hi: usize, skip: usize, top: &mut [f64]| {
            for (j, p) in self.pts[lo..hi].iter().enumerate() {
                let d = (p[1] - q[1]).abs().max((p[0] - q[0]).abs());
                let mut carry = if lo + j == skip { f64::INFINITY } else { d };
                for t in top.iter_mut() {
                    let smaller = t.min(carry);
                    carry = t.max(carry);
                    *t = smaller;
                }
            }
        };
        // Windows (first, end, strip start, strip end) searched so far.
        let mut windows = [(0usize, 0usize, 0usize, 0usize); FAST_WINDOWS];
        let (s, e) = self.strip_range(c);
        let (lo, hi) = (i.saturating_sub(h).max(s), (i + h + 1).min(e));
        offer(lo, hi, i, top);
        windows[0] = (lo, hi, s, e);
        let mut n_windows = 1;
        let n_strips = self.extent.len();
        for side in 0..2 {
            // Walks the strips on this side outwards, from the point whose
            // y is just above the query's in the previous strip.
            let mut from = i;
            let mut strip = c;
            loop {
                let next = if side == 0 {
                    strip.checked_sub(1)
                } else {
                    Some(strip + 1).filter(|&r| r < n_strips)
                };
                let Some(next) = next else { break };
                let gap = if side == 0 {
                    q[0] - self.extent[next].1
                } else {
                    self.extent[next].0 - q[0]
                };
                if gap >= top[k - 1] {
                    break;
                }
                if n_windows == FAST_WINDOWS {
                    return None;
                }
                let (s, e) = self.strip_range(next);
                let at = s + self.adjacent[from][side] as usize;
                let (lo, hi) = (at.saturating_sub(h).max(s), (at + h).min(e));
                offer(lo, hi, usize::MAX, top);
                windows[n_windows] = (lo, hi, s, e);
                n_windows += 1;
                from = at.min(e - 1);
                strip = next;
            }
        }
        // Widens each window until the points left out of its strip are
        // provably no closer than the k-th distance (which only shrinks, so
        // a window once closed stays closed).
        for &(mut lo, mut hi, s, e) in &windows[..n_windows] {
            while lo > s && q[1] - self.pts[lo - 1][1] < top[k - 1] {
                lo -= 1;
                offer(lo, lo + 1, i, top);
            }
            while hi < e && self.pts[hi][1] - q[1] < top[k - 1] {
                offer(hi, hi + 1, i, top);
                hi += 1;
            }
        }
        let r = top[k - 1];
        r.is_finite().then_some(r)
    }

    /// The max-norm distance from the point at position `i` to its `k`-th
    /// nearest other point.
    #[inline]
    pub fn kth_distance(&self, i: usize, k: usize, best: &mut KBest) -> f64 {
        self.kth_distance_fast(i, k).unwrap_or_else(|| {
            best.clear();
            self.knn_of(i, best);
            best.worst()
        })
    }

    /// Number of points, the query itself included, whose x lies within `r`
    /// of that of the point at position `i`.
    #[inline]
    fn count_x(&self, i: usize, r: f64) -> usize {
        self.xs
            .count_from(self.ranks[i][0] as usize, self.pts[i][0], r)
    }

    /// Number of points, the query itself included, whose y lies within `r`
    /// of that of the point at position `i`; `ys` holds the sorted y values.
    #[inline]
    fn count_y(&self, ys: &Sorted1d, i: usize, r: f64) -> usize {
        ys.count_from(self.ranks[i][1] as usize, self.pts[i][1], r)
    }
}

/// KSG on strips of `(x, y)`, with `ys` the ranking of y they were built
/// with.
pub fn ksg_pair(
    strips: &Strips,
    ys: &Ranked,
    k: usize,
    estimator: Ksg,
    ctl: &Control,
) -> Result<f64> {
    let n = strips.pts.len();
    let ys = ys.sorted();
    let sum = par_chunk_sum(n, ctl, |range| {
        let mut best = KBest::new(k);
        let mut s = 0.0;
        for i in range {
            s += match estimator {
                Ksg::One => match strictly_below(strips.kth_distance(i, k, &mut best)) {
                    Some(r) => {
                        let nx = strips.count_x(i, r) - 1;
                        let ny = strips.count_y(ys, i, r) - 1;
                        digamma_int(nx + 1) + digamma_int(ny + 1)
                    }
                    None => 2.0 * digamma_int(1),
                },
                Ksg::Two => {
                    best.clear();
                    strips.knn_of(i, &mut best);
                    let q = strips.pts[i];
                    let (mut ex, mut ey) = (0.0f64, 0.0f64);
                    for &j in best.positions() {
                        let p = strips.pts[j as usize];
                        ex = ex.max((p[0] - q[0]).abs());
                        ey = ey.max((p[1] - q[1]).abs());
                    }
                    let nx = strips.count_x(i, ex) - 1;
                    let ny = strips.count_y(ys, i, ey) - 1;
                    digamma_int(nx) + digamma_int(ny)
                }
            };
        }
        s
    })?;
    Ok(combine(estimator, k, n, sum / n as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// Max-norm distance from sample `i` to its k-th nearest other sample.
    fn brute_kth(x: &[f64], y: &[f64], i: usize, k: usize) -> f64 {
        let mut d: Vec<f64> = (0..x.len())
            .filter(|&j| j != i)
            .map(|j| (x[j] - x[i]).abs().max((y[j] - y[i]).abs()))
            .collect();
        d.sort_by(f64::total_cmp);
        d[k - 1]
    }

    /// Samples: continuous, on a coarse grid (many ties and duplicates),
    /// and strongly dependent.
    fn samples(kind: usize, n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let x: Vec<f64> = (0..n).map(|_| rng.random::<f64>() * 4.0 - 2.0).collect();
        let y: Vec<f64> = match kind {
            0 => (0..n).map(|_| rng.random::<f64>()).collect(),
            1 => (0..n)
                .map(|_| (rng.random::<f64>() * 6.0).floor())
                .collect(),
            _ => x
                .iter()
                .map(|a| a * a + 1e-3 * rng.random::<f64>())
                .collect(),
        };
        let x = if kind == 1 {
            x.iter().map(|a| (a * 3.0).round()).collect()
        } else {
            x
        };
        (x, y)
    }

    #[test]
    fn kth_distance_and_counts_match_brute_force() {
        for kind in 0..3 {
            for &(n, width) in &[(300usize, 17usize), (257, 1), (64, 64), (500, 40)] {
                let (x, y) = samples(kind, n, (kind * 1000 + n) as u64);
                let ys = Ranked::new(&y);
                let strips = Strips::new(&x, &y, &ys, width);
                for k in [1usize, 3, 8, 12] {
                    let mut best = KBest::new(k);
                    for pos in 0..n {
                        let [px, py] = strips.pts[pos];
                        let i = (0..n).find(|&i| x[i] == px && y[i] == py).unwrap();
                        let want = brute_kth(&x, &y, i, k);
                        let got = strips.kth_distance(pos, k, &mut best);
                        assert_eq!(got, want, "kind {kind} n {n} width {width} k {k} pos {pos}");
                        best.clear();
                        strips.knn_of(pos, &mut best);
                        assert_eq!(best.worst(), want);
                        let r = want * 0.999;
                        let cx = x.iter().filter(|&&v| (v - px).abs() <= r).count();
                        let cy = y.iter().filter(|&&v| (v - py).abs() <= r).count();
                        assert_eq!(strips.count_x(pos, r), cx);
                        assert_eq!(strips.count_y(ys.sorted(), pos, r), cy);
                    }
                }
            }
        }
    }

    #[test]
    fn ranks_invert_orders() {
        let v = [3.0, -1.0, 2.0, -1.0, 0.5];
        let r = Ranked::new(&v);
        assert_eq!(r.sorted().values(), &[-1.0, -1.0, 0.5, 2.0, 3.0]);
        assert_eq!(r.rank, vec![4, 0, 3, 1, 2]);
        assert_eq!(r.order, vec![1, 3, 4, 2, 0]);
    }
}
