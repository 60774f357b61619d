//! KSG for a pair of scalar variables, the case of feature scoring and of
//! most time-series work, without a tree.
//!
//! The points are cut into strips of equal count along x; each strip is
//! sorted by y. A point's max-norm neighbours are found by scanning its own
//! strip outwards in y, then the strips to either side, nearest first, each
//! from a binary search on y: a strip is abandoned once its y-gap, and the
//! strips once their x-gap, reach the current k-th distance. Strips about as
//! wide as a typical k-th-neighbour distance make every query touch a few
//! dozen points, and building them costs two radix sorts. Queries run strip
//! by strip, so the x-counts gallop from the query's own rank in the strip's
//! run of sorted x values; the y-counts use the two-level search of the
//! sorted y values, whose top level stays in cache (galloping from the
//! previous query's ends would jump across the whole array, one strip after
//! another, and miss the cache at every step).

use super::digamma::digamma_int;
use super::knn::{KBest, Sorted1d};
use super::ksg::{combine, Ksg};
use super::prep::strictly_below;
use crate::error::Result;
use crate::par::{par_chunk_sum, Control};

/// Points `(x, y)` in strips of `width` consecutive x-ranks, each sorted by y.
pub struct Strips {
    width: usize,
    /// The points, strip after strip.
    pts: Vec<[f64; 2]>,
    /// x-extent `(min, max)` of each strip.
    extent: Vec<(f64, f64)>,
    /// All x values, sorted.
    xs: Sorted1d,
}

impl Strips {
    /// Arranges `pts` in strips about `width` points wide.
    pub fn new(mut pts: Vec<[f64; 2]>, width: usize) -> Self {
        radsort::sort_by_key(&mut pts, |p| p[0]);
        let xs = Sorted1d::presorted(pts.iter().map(|p| p[0]).collect());
        let width = width.max(1);
        let extent = pts
            .chunks(width)
            .map(|s| (s[0][0], s[s.len() - 1][0]))
            .collect();
        for strip in pts.chunks_mut(width) {
            strip.sort_unstable_by(|a, b| a[1].total_cmp(&b[1]));
        }
        Strips {
            width,
            pts,
            extent,
            xs,
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
            let from = s + self.pts[s..e].partition_point(|p| p[1] < q[1]);
            self.scan(strip, from, q, usize::MAX, best);
            if strip < c {
                left -= 1;
            } else {
                right += 1;
            }
        }
    }

    /// Number of points, the query itself included, whose x lies within `r`
    /// of that of the point at position `i`.
    #[inline]
    fn count_x(&self, i: usize, r: f64) -> usize {
        let q = self.pts[i][0];
        let (s, e) = self.strip_range(i / self.width);
        let at = s + self.xs.values()[s..e].partition_point(|&v| v < q);
        self.xs.count_from(at, q, r)
    }
}

/// KSG on strips of `(x, y)`, with `ys` the sorted y values.
pub fn ksg_pair(
    strips: &Strips,
    ys: &Sorted1d,
    k: usize,
    estimator: Ksg,
    ctl: &Control,
) -> Result<f64> {
    let n = strips.pts.len();
    let sum = par_chunk_sum(n, ctl, |range| {
        let mut best = KBest::new(k);
        let mut s = 0.0;
        for i in range {
            best.clear();
            strips.knn_of(i, &mut best);
            let q = strips.pts[i];
            s += match estimator {
                Ksg::One => match strictly_below(best.worst()) {
                    Some(r) => {
                        let nx = strips.count_x(i, r) - 1;
                        let ny = ys.count_within(q[1], r) - 1;
                        digamma_int(nx + 1) + digamma_int(ny + 1)
                    }
                    None => 2.0 * digamma_int(1),
                },
                Ksg::Two => {
                    let (mut ex, mut ey) = (0.0f64, 0.0f64);
                    for &j in best.positions() {
                        let p = strips.pts[j as usize];
                        ex = ex.max((p[0] - q[0]).abs());
                        ey = ey.max((p[1] - q[1]).abs());
                    }
                    let nx = strips.count_x(i, ex) - 1;
                    let ny = ys.count_within(q[1], ey) - 1;
                    digamma_int(nx) + digamma_int(ny)
                }
            };
        }
        s
    })?;
    Ok(combine(estimator, k, n, sum / n as f64))
}
