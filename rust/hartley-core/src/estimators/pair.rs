//! KSG for a pair of scalar variables, the case of feature scoring and of
//! most time-series work, without a tree.
//!
//! The points are cut into strips along x, of equal count to begin with;
//! each strip is sorted by y. A point's max-norm neighbours are found by
//! scanning its own strip outwards in y, then the strips to either side,
//! nearest first, each from a binary search on y: a strip is abandoned once
//! its y-gap, and the strips once their x-gap, reach the current k-th
//! distance. Strips about as wide as a typical k-th-neighbour distance make
//! every query touch a few dozen points; where equal counts miss that width
//! by far (tied, discrete or skewed values in either coordinate), the strips
//! are re-cut to the k-th distances of a sample of points, or cut along y
//! instead ([`Strips::adapt`]). Building them costs one radix sort of x: the
//! strips are filled by walking the samples in y order (the order of y is
//! computed once, and shared by every feature scored against the same
//! target). Every point carries its rank in x and in y, so the marginal counts
//! search outwards from the point's own place in the sorted values, touching
//! only the neighbourhood it counts.

use super::digamma::digamma_int;
use super::knn::{greater, lesser, KBest, Sorted1d};
use super::ksg::{combine, Ksg};
use super::prep::strictly_below;
use crate::error::Result;
use crate::par::{par_part_sum, Control};
use crate::simd::{self, Level};
use std::ops::Range;

/// The order-preserving integer key of a float: keys compare as the values
/// do, except that -0 sorts below +0.
#[inline]
fn key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | 1 << 63
    }
}

/// The values `value(i)` for `i` in `0..n` in ascending order, and the
/// sample at every rank; ties keep the sample order.
///
/// One radix sort of 8-byte words, each the top half of a sample's key with
/// the sample's index in the bottom half (half the memory of sorting
/// (value, index) pairs); runs that agree on the top half, short unless
/// values nearly tie, are then ordered by the whole key: long ones by a
/// second radix sort, on the bottom half.
fn sort_with_order(
    n: usize,
    value: impl Fn(usize) -> f64,
    scratch: &mut Scratch,
) -> (Vec<f64>, Vec<u32>) {
    // Runs longer than this take the second radix sort.
    const LONG_RUN: usize = 256;
    assert!(n <= u32::MAX as usize, "at most 2^32 - 1 samples");
    const LOW: u64 = 0xffff_ffff;
    let mut packed = std::mem::take(&mut scratch.words);
    packed.clear();
    packed.extend((0..n).map(|i| key(value(i)) & !LOW | i as u64));
    // The words start in sample order, so a stable sort on their top half
    // (four byte passes instead of eight) leaves ties in sample order.
    radsort::sort_by_key(&mut packed, |&p| (p >> 32) as u32);
    let mut s = 0;
    while s < n {
        let top = packed[s] >> 32;
        let mut e = s + 1;
        while e < n && packed[e] >> 32 == top {
            e += 1;
        }
        if e - s > LONG_RUN {
            // Tied or nearly tied values (discrete data with jitter): the
            // bottom halves of the keys, radix sorted with the samples
            // (stable, so ties stay in sample order).
            let mut low: Vec<u64> = packed[s..e]
                .iter()
                .map(|&p| key(value((p & LOW) as usize)) << 32 | p & LOW)
                .collect();
            radsort::sort_by_key(&mut low, |&w| (w >> 32) as u32);
            for (p, w) in packed[s..e].iter_mut().zip(low) {
                *p = *p & !LOW | w & LOW;
            }
        } else if e - s > 1 {
            packed[s..e].sort_unstable_by_key(|&p| (key(value((p & LOW) as usize)), p & LOW));
        }
        s = e;
    }
    let mut order = std::mem::take(&mut scratch.order);
    order.clear();
    order.extend(packed.iter().map(|&p| p as u32));
    // Collected in place, into the words' own allocation.
    let sorted = packed
        .into_iter()
        .map(|p| value((p & LOW) as usize))
        .collect();
    (sorted, order)
}

/// The values of one variable in ascending order, with the sample at every
/// rank.
#[derive(Debug)]
pub struct Ranked {
    sorted: Sorted1d,
    /// `order[r]`: the sample at position `r` of the sorted values.
    order: Vec<u32>,
}

impl Ranked {
    /// Sorts `v`; ties keep the sample order.
    pub fn new(v: &[f64]) -> Self {
        Ranked::from_fn(v.len(), |i| v[i])
    }

    /// Sorts the values `value(i)` of `n` samples; ties keep the sample
    /// order.
    pub fn from_fn(n: usize, value: impl Fn(usize) -> f64) -> Self {
        let (sorted, order) = sort_with_order(n, value, &mut Scratch::once());
        Ranked {
            sorted: Sorted1d::presorted(sorted),
            order,
        }
    }

    /// The sorted values.
    pub fn sorted(&self) -> &Sorted1d {
        &self.sorted
    }

    /// The sample at every position of the sorted values.
    pub fn order(&self) -> &[u32] {
        &self.order
    }

    /// The sorted values, taken out.
    pub fn into_sorted(self) -> Sorted1d {
        self.sorted
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// Memory for the strips of one pair after another: the buffers of each
/// pair's layout are kept for the next, instead of being returned to the
/// system and asked for again: fresh pages are zero-filled by the kernel on
/// first touch, which on 100,000 points cost 5-10% of a pair's time, the
/// more so with several threads unmapping at once.
#[derive(Default)]
pub struct Scratch {
    /// Whether buffers are kept once done with; a single pair frees each
    /// as soon as it can, which bounds its peak memory.
    reuse: bool,
    words: Vec<u64>,
    order: Vec<u32>,
    rank: Vec<u32>,
    by_y: Vec<u32>,
    y: Vec<f64>,
    y_rank: Vec<u32>,
    x_offset: Vec<u16>,
    adjacent: Vec<[u16; 2]>,
}

impl Scratch {
    /// Scratch for several pairs in turn: [`Strips::recycle`] hands each
    /// pair's buffers on to the next.
    pub fn reused() -> Self {
        Scratch {
            reuse: true,
            ..Scratch::default()
        }
    }

    /// Scratch for a single pair: buffers are freed once done with.
    pub fn once() -> Self {
        Scratch::default()
    }

    /// Keeps `v` in the slot `slot` selects, when buffers are reused.
    fn keep<T>(&mut self, slot: impl FnOnce(&mut Self) -> &mut Vec<T>, v: Vec<T>) {
        if self.reuse {
            *slot(self) = v;
        }
    }
}

/// The buffer in `slot`, emptied, then filled with `n` copies of `fill`.
fn sized<T: Clone>(slot: &mut Vec<T>, n: usize, fill: T) -> Vec<T> {
    let mut v = std::mem::take(slot);
    v.clear();
    v.resize(n, fill);
    v
}

/// The x side of a pair, ready to deal into strips: the sorted x values
/// and, for each y-rank `r`, the x-rank of the sample at y-rank `r`.
pub struct XRanks {
    sorted: Vec<f64>,
    by_y: Vec<u32>,
}

impl XRanks {
    /// Ranks `value(i)` for the `n` samples of `ys`, in buffers taken from
    /// `scratch`.
    pub fn new(value: impl Fn(usize) -> f64, ys: &Ranked, scratch: &mut Scratch) -> Self {
        let fill = |by_y: &mut Vec<u32>| by_y.extend_from_slice(&ys.order);
        let (sorted, by_y) = Self::rank(ys.len(), value, fill, scratch);
        XRanks { sorted, by_y }
    }

    /// [`XRanks::new`], taking over the memory of `ys`'s order (for a
    /// target ranked for one pair only); returns `ys`'s sorted values.
    pub fn consume(value: impl Fn(usize) -> f64, ys: Ranked) -> (Self, Sorted1d) {
        let Ranked {
            sorted: y_sorted,
            order,
        } = ys;
        let mut order = Some(order);
        let fill = |by_y: &mut Vec<u32>| *by_y = order.take().expect("called once");
        let n = y_sorted.values().len();
        let (sorted, by_y) = Self::rank(n, value, fill, &mut Scratch::once());
        (XRanks { sorted, by_y }, y_sorted)
    }

    /// Sorts the x values, fills `by_y` with the y order through `fill`,
    /// then replaces each sample in it by its x-rank.
    fn rank(
        n: usize,
        value: impl Fn(usize) -> f64,
        fill: impl FnOnce(&mut Vec<u32>),
        scratch: &mut Scratch,
    ) -> (Vec<f64>, Vec<u32>) {
        let (sorted, order) = sort_with_order(n, value, scratch);
        // Every entry is written: `order` is a permutation.
        let mut rank = std::mem::take(&mut scratch.rank);
        rank.resize(n, 0);
        for (r, &i) in order.iter().enumerate() {
            rank[i as usize] = r as u32;
        }
        scratch.keep(|s| &mut s.order, order);
        let mut by_y = std::mem::take(&mut scratch.by_y);
        by_y.clear();
        fill(&mut by_y);
        for i in by_y.iter_mut() {
            *i = rank[*i as usize];
        }
        scratch.keep(|s| &mut s.rank, rank);
        (sorted, by_y)
    }
}

/// The most strips the windowed search visits before handing over to the
/// exact scan.
const FAST_WINDOWS: usize = 5;

/// Points `(x, y)` in strips of consecutive x-ranks, each sorted by y.
pub struct Strips {
    /// Strip `c` holds the x-ranks `starts[c]..starts[c + 1]`, at the same
    /// positions.
    starts: Vec<usize>,
    /// The y of every point, strip after strip (the x of a point is read
    /// through its strip's x-ranks: `xs[strip start + x_offset]`, a window
    /// that stays in cache while the strip is scanned).
    y: Vec<f64>,
    /// Rank in y of every point.
    y_rank: Vec<u32>,
    /// Rank in x of every point, less its strip's first rank.
    x_offset: Vec<u16>,
    /// Where the y of every point would be inserted in the strips
    /// to its left and to its right: the number of their points of lower
    /// y-rank.
    adjacent: Vec<[u16; 2]>,
    /// x-extent `(min, max)` of each strip.
    extent: Vec<(f64, f64)>,
    /// All x values, sorted.
    xs: Sorted1d,
    /// The sorted values of the coordinate the strips are sorted by, where
    /// the strips hold them ([`Strips::turned`]); otherwise the caller's.
    cross: Option<Sorted1d>,
}

/// The starts of strips of `width` points over `n` (the last one may be
/// narrower), then `n`.
fn equal_starts(n: usize, width: usize) -> Vec<usize> {
    (0..n.div_ceil(width))
        .map(|c| c * width)
        .chain([n])
        .collect()
}

/// The widest strips, so that offsets within a strip fit in 16 bits.
const MAX_WIDTH: usize = 1 << 15;

/// The narrowest strips [`Strips::adapt`] cuts.
const MIN_WIDTH: usize = 4;

/// The most points [`Strips::adapt`] measures the layout on.
const SAMPLES: usize = 512;

/// The work of searching one more strip, in points looked at: a binary
/// search and the loop around it.
const STRIP_WORK: usize = 8;

/// The mean work of a search for `k` neighbours, in points looked at, that
/// [`Strips::adapt`] accepts: about twice that of equal counts on Gaussian
/// pairs, which measured close to `10 + 3.3 k` from 10,000 to 300,000
/// points, independent or dependent.
fn work_ok(k: usize) -> f64 {
    20.0 + 8.0 * k as f64
}

impl Strips {
    /// Arranges the samples `(x[i], y[i])` in strips of `width` points
    /// (the last one may be narrower); `ys` is the ranking of `y`.
    pub fn new(x: &[f64], ys: &Ranked, width: usize) -> Self {
        Strips::new_in(x, ys, width, &mut Scratch::once())
    }

    /// [`Strips::new`], in buffers taken from `scratch`.
    fn new_in(x: &[f64], ys: &Ranked, width: usize, scratch: &mut Scratch) -> Self {
        assert!(x.len() == ys.len());
        let xr = XRanks::new(|i| x[i], ys, scratch);
        Strips::deal(xr, ys.sorted().values(), width, scratch)
    }

    /// Strips for the k-nearest-neighbour searches of `k` neighbours of the
    /// samples `(x[i], y[i])`: [`Strips::new`] at the
    /// [`Strips::default_width`], then [`Strips::adapt`]ed; in buffers taken
    /// from `scratch`.
    pub fn for_knn(x: &[f64], ys: &Ranked, k: usize, scratch: &mut Scratch) -> Self {
        let width = Strips::default_width(x.len(), k);
        Strips::new_in(x, ys, width, scratch).adapt(ys.sorted().values(), k, scratch)
    }

    /// Hands the buffers of the strips back to `scratch`, for the next pair.
    pub fn recycle(self, scratch: &mut Scratch) {
        let (xs, _) = self.into_sorted(scratch);
        // Back to words in place: the next pair sorts its x in them.
        let words = xs.into_values().into_iter().map(f64::to_bits).collect();
        scratch.keep(|s| &mut s.words, words);
    }

    /// Arranges the samples in strips of `width` points (the last one may
    /// be narrower), from their x ranking and the sorted y values.
    pub fn deal(xr: XRanks, y_sorted: &[f64], width: usize, scratch: &mut Scratch) -> Self {
        let XRanks {
            sorted: sorted_x,
            by_y,
        } = xr;
        let n = sorted_x.len();
        assert!(by_y.len() == n && y_sorted.len() == n);
        let width = width.clamp(1, MAX_WIDTH);
        let starts = equal_starts(n, width);
        let xs = Sorted1d::presorted(sorted_x);
        let strips = Strips::lay_out(xs, &by_y, y_sorted, starts, scratch, |_, x_rank| {
            x_rank / width
        });
        scratch.keep(|s| &mut s.by_y, by_y);
        strips
    }

    /// Deals the samples into the strips starting at the x-ranks `starts`
    /// (then `n`), with `by_y[r]` the x-rank of the sample of y-rank `r`
    /// and `strip_of` the strip of an x-rank.
    fn lay_out(
        xs: Sorted1d,
        by_y: &[u32],
        y_sorted: &[f64],
        starts: Vec<usize>,
        scratch: &mut Scratch,
        strip_of: impl Fn(&[usize], usize) -> usize,
    ) -> Self {
        let n = by_y.len();
        let n_strips = starts.len() - 1;
        let sorted_x = xs.values();
        let extent = (0..n_strips)
            .map(|c| (sorted_x[starts[c]], sorted_x[starts[c + 1] - 1]))
            .collect();
        // Walking the samples in y order and dealing each to its strip
        // leaves every strip sorted by y.
        let mut cursor: Vec<usize> = starts[..n_strips].to_vec();
        // Every slot is written: each sample is dealt once.
        let mut y = sized(&mut scratch.y, n, 0.0);
        let mut y_rank = sized(&mut scratch.y_rank, n, 0);
        let mut x_offset = sized(&mut scratch.x_offset, n, 0);
        let mut adjacent = sized(&mut scratch.adjacent, n, [0; 2]);
        for (r, &x_rank) in by_y.iter().enumerate() {
            let x_rank = x_rank as usize;
            let c = strip_of(&starts, x_rank);
            debug_assert!(starts[c] <= x_rank && x_rank < starts[c + 1]);
            let dealt = |c: usize| (cursor[c] - starts[c]) as u16;
            let slot = cursor[c];
            adjacent[slot] = [
                if c > 0 { dealt(c - 1) } else { 0 },
                if c + 1 < n_strips { dealt(c + 1) } else { 0 },
            ];
            y[slot] = y_sorted[r];
            y_rank[slot] = r as u32;
            x_offset[slot] = (x_rank - starts[c]) as u16;
            cursor[c] += 1;
        }
        Strips {
            starts,
            y,
            y_rank,
            x_offset,
            adjacent,
            extent,
            xs,
            cross: None,
        }
    }

    /// Fits the strips to searches for `k` neighbours, re-cutting or
    /// turning them where they do not suit, and returns them; `y_sorted`
    /// holds the sorted y values they were dealt with.
    ///
    /// Equal counts suit points spread like their neighbours in both
    /// coordinates: a strip then spans about two k-th-neighbour distances,
    /// and a search visits a few strips and a few points in each. Where x
    /// is tied or crowded (discrete or skewed values) the k-th distances
    /// are set by y and reach across many narrow strips; where y is, they
    /// are far narrower than a strip, and each scan of a strip wades
    /// through its points of nearly equal y.
    ///
    /// The searches of an even sample of points measure the work
    /// (`Strips::judge`). Above `work_ok`, the strips are cut again,
    /// each spanning twice the median k-th distance of the nine sampled
    /// points nearest in x (`Strips::fitted`); if that still does not
    /// suit, they are turned (cut along y and sorted by x, KSG treating both
    /// coordinates alike, so that a crowded y becomes the coordinate the
    /// strips are cut along) and fitted the same way, and the layout that
    /// searched the sample with the least work is kept. The estimates do
    /// not depend on the strips, only the time.
    pub fn adapt(self, y_sorted: &[f64], k: usize, scratch: &mut Scratch) -> Self {
        let ok = work_ok(k);
        let (work, sampled) = self.judge(k);
        if work <= ok {
            return self;
        }
        let starts = self.fitted(&sampled);
        let along_x = self.recut(y_sorted, starts, scratch);
        let (work_x, _) = along_x.judge(k);
        if work_x <= ok {
            return along_x;
        }
        let x_starts = along_x.starts.clone();
        let mut along_y = along_x.turned(y_sorted, k, scratch);
        let (mut work_y, sampled) = along_y.judge(k);
        if work_y > ok {
            let starts = along_y.fitted(&sampled);
            along_y = along_y.recut(y_sorted, starts, scratch);
            work_y = along_y.judge(k).0;
        }
        if work_y < work.min(work_x) {
            return along_y;
        }
        // Back along x: equal counts, re-cut unless they searched best.
        let equal = along_y.turned(y_sorted, k, scratch);
        if work_x < work {
            equal.recut(y_sorted, x_starts, scratch)
        } else {
            equal
        }
    }

    /// The mean work (points looked at, [`STRIP_WORK`] per further strip)
    /// of the searches for `k` neighbours of an even sample of points, and
    /// the x-rank and k-th distance of each (none for fewer than 256
    /// points).
    fn judge(&self, k: usize) -> (f64, Vec<(usize, f64)>) {
        let n = self.y.len();
        let m = SAMPLES.min(n / 8);
        if m < 32 {
            return (0.0, Vec::new());
        }
        let mut best = KBest::new(k);
        let step = n / m;
        let mut work = 0;
        let sampled = (0..m)
            .map(|s| {
                let i = s * step + step / 2;
                let c = self.strip_of(i);
                best.clear();
                self.knn_with_work(c, i, &mut best, &mut work);
                (self.starts[c] + self.x_offset[i] as usize, best.worst())
            })
            .collect();
        (work as f64 / m as f64, sampled)
    }

    /// The starts of strips that span twice the median k-th distance of
    /// the nine sampled points nearest in x, from the `(x-rank, k-th
    /// distance)` of each sampled point; at least [`MIN_WIDTH`] and at most
    /// [`MAX_WIDTH`] points wide (the last one may be narrower).
    fn fitted(&self, sampled: &[(usize, f64)]) -> Vec<usize> {
        let mut sampled = sampled.to_vec();
        sampled.sort_unstable_by_key(|s| s.0);
        let m = sampled.len();
        let target: Vec<f64> = (0..m)
            .map(|s| {
                let mut near: Vec<f64> = sampled[s.saturating_sub(4)..(s + 5).min(m)]
                    .iter()
                    .map(|p| p.1)
                    .collect();
                near.sort_unstable_by(f64::total_cmp);
                2.0 * near[near.len() / 2]
            })
            .collect();
        let xv = self.xs.values();
        let n = xv.len();
        let mut starts = vec![0];
        let (mut s, mut j) = (0, 0);
        while s < n {
            while j + 1 < m && sampled[j + 1].0 <= s {
                j += 1;
            }
            let limit = xv[s] + target[j];
            let window = &xv[s..(s + MAX_WIDTH).min(n)];
            let e = (s + window.partition_point(|&v| v <= limit))
                .max(s + MIN_WIDTH)
                .min(n);
            starts.push(e);
            s = e;
        }
        starts
    }

    /// The sorted x values and [`Strips::cross`], the rest of the strips
    /// handed back to `scratch` or freed at once (a partial move would hold
    /// it to the end of the caller's scope).
    fn into_sorted(self, scratch: &mut Scratch) -> (Sorted1d, Option<Sorted1d>) {
        let Strips {
            xs,
            cross,
            starts,
            y,
            y_rank,
            x_offset,
            adjacent,
            extent,
        } = self;
        drop((starts, extent));
        scratch.keep(|s| &mut s.y, y);
        scratch.keep(|s| &mut s.y_rank, y_rank);
        scratch.keep(|s| &mut s.x_offset, x_offset);
        scratch.keep(|s| &mut s.adjacent, adjacent);
        (xs, cross)
    }

    /// The x-rank and y-rank of every point, strip after strip.
    fn ranks(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        (0..self.extent.len()).flat_map(move |c| {
            let (a, b) = self.strip_range(c);
            (a..b).map(move |pos| ((a + self.x_offset[pos] as usize) as u32, self.y_rank[pos]))
        })
    }

    /// The same points in the strips starting at the x-ranks `starts` (then
    /// `n`), each at least [`MIN_WIDTH`] wide but the last; `y_sorted` as
    /// for [`Strips::adapt`].
    fn recut(self, y_sorted: &[f64], starts: Vec<usize>, scratch: &mut Scratch) -> Self {
        let n = self.y.len();
        let mut by_y = sized(&mut scratch.by_y, n, 0);
        for (x_rank, y_rank) in self.ranks() {
            by_y[y_rank as usize] = x_rank;
        }
        let (xs, cross) = self.into_sorted(scratch);
        let y_sorted = cross.as_ref().map_or(y_sorted, |c| c.values());
        // The strip holding the x-rank `b * MIN_WIDTH` holds every x-rank
        // up to the next multiple, or hands over to the strip after it.
        let mut coarse = Vec::with_capacity(n / MIN_WIDTH + 1);
        let mut c = 0;
        for b in (0..n).step_by(MIN_WIDTH) {
            while starts[c + 1] <= b {
                c += 1;
            }
            coarse.push(c as u32);
        }
        let mut t = Strips::lay_out(xs, &by_y, y_sorted, starts, scratch, |starts, x_rank| {
            let c = coarse[x_rank / MIN_WIDTH] as usize;
            if starts[c + 1] <= x_rank {
                c + 1
            } else {
                c
            }
        });
        scratch.keep(|s| &mut s.by_y, by_y);
        t.cross = cross;
        t
    }

    /// The same points with the coordinates' parts exchanged: strips of
    /// equal count along y, each sorted by x, which own the sorted y values
    /// and keep the sorted x values as [`Strips::cross`]; or, for strips
    /// turned already, strips along x again. `y_sorted` as for
    /// [`Strips::adapt`].
    fn turned(self, y_sorted: &[f64], k: usize, scratch: &mut Scratch) -> Self {
        let n = self.y.len();
        let mut by_x = sized(&mut scratch.by_y, n, 0);
        for (x_rank, y_rank) in self.ranks() {
            by_x[x_rank as usize] = y_rank;
        }
        let (xs, cross) = self.into_sorted(scratch);
        let width = Strips::default_width(n, k).clamp(1, MAX_WIDTH);
        let starts = equal_starts(n, width);
        let strip_of = |_: &[usize], r: usize| r / width;
        let t = match cross {
            Some(x) => Strips::lay_out(x, &by_x, xs.values(), starts, scratch, strip_of),
            None => {
                let own = Sorted1d::presorted(y_sorted.to_vec());
                let mut t = Strips::lay_out(own, &by_x, xs.values(), starts, scratch, strip_of);
                t.cross = Some(xs);
                t
            }
        };
        scratch.keep(|s| &mut s.by_y, by_x);
        t
    }

    /// A strip width suited to `n` points and `k` neighbours: about
    /// `sqrt(n k)` points, which measured fastest on Gaussian pairs from
    /// independent to strongly dependent (narrower strips mean more strips
    /// to visit, wider ones longer scans).
    pub fn default_width(n: usize, k: usize) -> usize {
        ((n * k) as f64).sqrt().clamp(8.0, 8192.0) as usize
    }

    fn strip_range(&self, c: usize) -> (usize, usize) {
        (self.starts[c], self.starts[c + 1])
    }

    /// The strip holding position `i`.
    fn strip_of(&self, i: usize) -> usize {
        self.starts.partition_point(|&s| s <= i) - 1
    }

    /// Number of strips.
    pub fn len(&self) -> usize {
        self.extent.len()
    }

    /// Whether there are no strips (no points).
    pub fn is_empty(&self) -> bool {
        self.extent.is_empty()
    }

    /// The x of the point at position `j` of the strip starting at `s`.
    #[inline]
    fn x_in(&self, s: usize, j: usize) -> f64 {
        self.xs.values()[s + self.x_offset[j] as usize]
    }

    /// The point at position `i` of strip `c`.
    #[inline]
    fn point_in(&self, c: usize, i: usize) -> [f64; 2] {
        [self.x_in(self.starts[c], i), self.y[i]]
    }

    /// The point at position `i`.
    fn point(&self, i: usize) -> [f64; 2] {
        self.point_in(self.strip_of(i), i)
    }

    /// Scans positions `from` upwards and `from - 1` downwards in strip
    /// `c` while the y-gap is below the current k-th distance, adding the
    /// points looked at to `work`.
    #[inline]
    fn scan(
        &self,
        c: usize,
        from: usize,
        q: [f64; 2],
        skip: usize,
        best: &mut KBest,
        work: &mut usize,
    ) {
        let (s, e) = self.strip_range(c);
        // Offers point j, whose y-gap to q is dy >= 0; false once the strip
        // in this direction can hold nothing closer.
        let mut visit = |j: usize, dy: f64| {
            *work += 1;
            if dy >= best.worst() {
                return false;
            }
            let d = greater(dy, (self.x_in(s, j) - q[0]).abs());
            if d < best.worst() && j != skip {
                best.push(d, j as u32);
            }
            true
        };
        for j in from..e {
            if !visit(j, self.y[j] - q[1]) {
                break;
            }
        }
        for j in (s..from).rev() {
            if !visit(j, q[1] - self.y[j]) {
                break;
            }
        }
    }

    /// The k nearest neighbours (max-norm) of the point at position `i`
    /// of strip `c`.
    pub fn knn_of(&self, c: usize, i: usize, best: &mut KBest) {
        self.knn_with_work(c, i, best, &mut 0);
    }

    /// [`Strips::knn_of`], adding to `work` the points it looks at and
    /// [`STRIP_WORK`] for every further strip it searches.
    fn knn_with_work(&self, c: usize, i: usize, best: &mut KBest, work: &mut usize) {
        let q = self.point_in(c, i);
        self.scan(c, i, q, i, best, work);
        let mut walk = Walk::beside(c);
        while let Some((strip, from)) = self.next_strip(c, i, q, &mut walk, best.worst()) {
            *work += STRIP_WORK;
            self.scan(strip, from, q, usize::MAX, best, work);
        }
    }

    /// The strip to search next for the point `q` at position `i` of strip
    /// `c`, the nearest in x of those beside the strips `walk` has passed
    /// over, and the position in it where the points of y-rank above `q`'s
    /// begin; `None` once the nearest lies `bound` or more away in x. Moves
    /// `walk` past the strip returned.
    ///
    /// That position comes without a search: in a strip beside the query's
    /// it is the insertion position kept for the query; further out, it
    /// lies between those kept for the two points that bracket the query's
    /// y-rank in the strip passed over before (usually a point or two
    /// apart), which a short scan of y-ranks settles.
    #[inline(always)]
    fn next_strip(
        &self,
        c: usize,
        i: usize,
        q: [f64; 2],
        walk: &mut Walk,
        bound: f64,
    ) -> Option<(usize, usize)> {
        let gap_left = if walk.left > 0 {
            q[0] - self.extent[walk.left - 1].1
        } else {
            f64::INFINITY
        };
        let gap_right = if walk.right < self.extent.len() {
            self.extent[walk.right].0 - q[0]
        } else {
            f64::INFINITY
        };
        let (gap, strip) = if gap_left <= gap_right {
            (gap_left, walk.left.wrapping_sub(1))
        } else {
            (gap_right, walk.right)
        };
        if gap >= bound {
            return None;
        }
        let (s, e) = self.strip_range(strip);
        let side = usize::from(strip > c);
        // The strip passed over before on this side.
        let before = if side == 0 { strip + 1 } else { strip - 1 };
        let below = if before == c {
            self.adjacent[i][side] as usize
        } else {
            let (bs, be) = self.strip_range(before);
            let at = bs + walk.below[side];
            let lo = if at > bs {
                self.adjacent[at - 1][side] as usize
            } else {
                0
            };
            let hi = if at < be {
                self.adjacent[at][side] as usize
            } else {
                e - s
            };
            let rank = self.y_rank[i];
            lo + self.y_rank[s + lo..s + hi]
                .iter()
                .take_while(|&&r| r < rank)
                .count()
        };
        walk.below[side] = below;
        if side == 0 {
            walk.left -= 1;
        } else {
            walk.right += 1;
        }
        Some((strip, s + below))
    }

    /// The max-norm distance from the point at position `i` to its `K`-th
    /// nearest other point; `None` when more than `FAST_WINDOWS` strips
    /// would need a visit. [`Strips::kth_distance`] serves `K` up to 16
    /// this way: with `K` known at compile time, the `K` best distances stay
    /// in registers, or close to them.
    ///
    /// A window of `K / 2 + 2` points on either side of the query's y is
    /// taken at once in its own strip and in each strip beside it that is
    /// nearer than the current k-th distance (found from the insertion
    /// positions kept for the adjacent strips, without a search), the
    /// candidates passing through a branch-free insertion network; then
    /// each window is widened until the points left out of its strip are
    /// provably no closer. The common case thus runs without the
    /// data-dependent branches of a scan.
    /// (Narrower windows offer fewer points but are widened more often,
    /// each widening a branch the processor cannot foresee: at k = 3 and
    /// 6, windows of 2 points a side took 5% and over 20% longer on
    /// Gaussian pairs.)
    ///
    /// Where it gives up, the error holds the `K`-th smallest distance to
    /// the points it has looked at, a bound for the search that takes over
    /// (infinite if they were fewer than `K`).
    #[inline(always)]
    fn kth_distance_fast<const K: usize>(
        &self,
        c: usize,
        i: usize,
    ) -> std::result::Result<f64, f64> {
        let q = self.point_in(c, i);
        let h = K / 2 + 2;
        let mut top = [f64::INFINITY; K];
        let top = &mut top;
        // Offers positions lo..hi of the strip starting at s.
        let offer = |s: usize, lo: usize, hi: usize, skip: usize, top: &mut [f64; K]| {
            for j in lo..hi {
                let d = greater((self.y[j] - q[1]).abs(), (self.x_in(s, j) - q[0]).abs());
                let mut carry = if j == skip { f64::INFINITY } else { d };
                for t in top.iter_mut() {
                    let smaller = lesser(*t, carry);
                    carry = greater(*t, carry);
                    *t = smaller;
                }
            }
        };
        // Windows (first, end, strip start, strip end) searched so far.
        let mut windows = [(0usize, 0usize, 0usize, 0usize); FAST_WINDOWS];
        let (s, e) = self.strip_range(c);
        let (lo, hi) = (i.saturating_sub(h).max(s), (i + h + 1).min(e));
        offer(s, lo, hi, i, top);
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
                if gap >= top[K - 1] {
                    break;
                }
                if n_windows == FAST_WINDOWS {
                    return Err(top[K - 1]);
                }
                let (s, e) = self.strip_range(next);
                let at = s + self.adjacent[from][side] as usize;
                let (lo, hi) = (at.saturating_sub(h).max(s), (at + h).min(e));
                offer(s, lo, hi, usize::MAX, top);
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
            while lo > s && q[1] - self.y[lo - 1] < top[K - 1] {
                lo -= 1;
                offer(s, lo, lo + 1, i, top);
            }
            while hi < e && self.y[hi] - q[1] < top[K - 1] {
                offer(s, hi, hi + 1, i, top);
                hi += 1;
            }
        }
        let r = top[K - 1];
        if r.is_finite() {
            Ok(r)
        } else {
            Err(r)
        }
    }

    /// The largest x-gap and the largest y-gap from the point at position
    /// `i` of strip `c` to its `k` nearest other points (max-norm), the
    /// extents of KSG algorithm 2; `buf` is scratch memory. Of points tied
    /// at the `k`-th distance, the order of the search decides which count
    /// (the same on every run).
    fn neighbour_extents(
        &self,
        c: usize,
        i: usize,
        k: usize,
        buf: &mut Vec<(u64, u32)>,
    ) -> (f64, f64) {
        let q = self.point_in(c, i);
        self.kth_distance_any(c, i, k, f64::INFINITY, buf);
        buf.iter()
            .take(k)
            .fold((0.0f64, 0.0f64), |(ex, ey), &(_, j)| {
                let p = self.point(j as usize);
                (
                    greater(ex, (p[0] - q[0]).abs()),
                    greater(ey, (p[1] - q[1]).abs()),
                )
            })
    }

    /// The max-norm distance from the point at position `i` of strip `c` to
    /// its `k`-th nearest other point, for any `k`, by a bounded search;
    /// `bound` is infinite or the `k`-th smallest distance from the query
    /// to some `k` or more other points. `buf` is scratch memory, left
    /// holding, when `bound` is infinite, the `k` nearest points found in
    /// `buf[..k]` (all when there are no more than `k` others), which
    /// [`Strips::neighbour_extents`] reads.
    ///
    /// The search keeps such a bound and in `buf` the points seen so far
    /// that lie strictly below it, with the `k` that set it once it has
    /// lowered it. The `k`-th distance is at most the bound, so only the
    /// points strictly closer can change it. The bound is first lowered by
    /// the `k` points on either side of the query in its own strip, then
    /// tightened by a selection (no sorting) whenever `buf` holds `2k`
    /// points, keeping the `k` nearest: a point costs a comparison and a
    /// store, where [`Strips::knn_of`] inserts it into a sorted list of
    /// `k`, which dominates once `k` reaches a dozen or so.
    fn kth_distance_any<T: Found>(
        &self,
        c: usize,
        i: usize,
        k: usize,
        mut bound: f64,
        buf: &mut Vec<T>,
    ) -> f64 {
        let q = self.point_in(c, i);
        buf.clear();
        let (s, e) = self.strip_range(c);
        let (lo, hi) = (i.saturating_sub(k).max(s), (i + k + 1).min(e));
        for j in (lo..hi).filter(|&j| j != i) {
            let d = greater((self.y[j] - q[1]).abs(), (self.x_in(s, j) - q[0]).abs());
            if d < bound {
                buf.push(T::new(d, j));
            }
        }
        tighten(buf, k, &mut bound);
        self.collect(s, hi..e, s..lo, q, k, &mut bound, buf);
        let mut walk = Walk::beside(c);
        while let Some((strip, from)) = self.next_strip(c, i, q, &mut walk, bound) {
            let (s, e) = self.strip_range(strip);
            self.collect(s, from..e, s..from, q, k, &mut bound, buf);
        }
        if buf.len() >= k {
            f64::from_bits(buf.select_nth_unstable_by_key(k - 1, |p| p.bits()).1.bits())
        } else {
            bound
        }
    }

    /// [`Strips::kth_distance_any`]'s scan of the strip starting at `s`:
    /// positions `up` upwards, then `down` downwards, each way while the
    /// y-gap stays below the bound, keeping in `buf` the points below
    /// it. The y of `up` must be at least the query's, that of `down` at
    /// most.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn collect(
        &self,
        s: usize,
        up: Range<usize>,
        down: Range<usize>,
        q: [f64; 2],
        k: usize,
        bound: &mut f64,
        buf: &mut Vec<impl Found>,
    ) {
        let mut offer = |j: usize, dy: f64, bound: &mut f64| {
            let d = greater(dy, (self.x_in(s, j) - q[0]).abs());
            if d < *bound {
                buf.push(Found::new(d, j));
                if buf.len() >= 2 * k {
                    tighten(buf, k, bound);
                }
            }
        };
        for j in up {
            let dy = self.y[j] - q[1];
            if dy >= *bound {
                break;
            }
            offer(j, dy, bound);
        }
        for j in down.rev() {
            let dy = q[1] - self.y[j];
            if dy >= *bound {
                break;
            }
            offer(j, dy, bound);
        }
    }

    /// The max-norm distance from the point at position `i` of strip `c` to
    /// its `k`-th nearest other point; `buf` is scratch memory. The
    /// windowed search serves `k` up to 16 where it can, the bounded search
    /// (`kth_distance_any`) everything else. On feature scoring (100,000
    /// samples x 50 Gaussian features) the windowed search took 0.61x the
    /// time of the bounded one at k = 9 and 10, 0.66x at 12, 0.81x at 16,
    /// 0.92x at 18, 0.98x at 20, and longer from 24 on, where the insertion
    /// network of `k` comparisons a point outweighs the bounded search's
    /// selections.
    #[inline(always)]
    pub fn kth_distance(&self, c: usize, i: usize, k: usize, buf: &mut Vec<u64>) -> f64 {
        macro_rules! fast {
            ($($k:literal)*) => {
                match k {
                    $($k => self.kth_distance_fast::<$k>(c, i),)*
                    _ => Err(f64::INFINITY),
                }
            };
        }
        let fast = fast!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
        fast.unwrap_or_else(|bound| self.kth_distance_any(c, i, k, bound, buf))
    }

    /// Number of points, the query itself included, whose x lies within `r`
    /// of that of the point at position `i` of strip `c`.
    #[inline(always)]
    fn count_x(&self, c: usize, i: usize, r: f64) -> usize {
        let x_rank = self.starts[c] + self.x_offset[i] as usize;
        self.xs.count_from(x_rank, self.xs.values()[x_rank], r)
    }

    /// Number of points, the query itself included, whose y lies within `r`
    /// of that of the point at position `i`; `ys` holds the sorted y values.
    #[inline(always)]
    fn count_y(&self, ys: &Sorted1d, i: usize, r: f64) -> usize {
        ys.count_from(self.y_rank[i] as usize, self.y[i], r)
    }
}

/// The strips a search beyond the query's own has passed over: those from
/// `left` up to, not including, `right`.
struct Walk {
    left: usize,
    right: usize,
    /// The number of points of lower y-rank than the query in the strip
    /// passed over last on the left (0) and on the right (1), once the
    /// walk has left the query's own.
    below: [usize; 2],
}

impl Walk {
    /// A walk that has passed over strip `c` only.
    fn beside(c: usize) -> Self {
        Walk {
            left: c,
            right: c + 1,
            below: [0; 2],
        }
    }
}

/// A point the bounded search keeps: its distance from the query, as the
/// bits of the float (which order non-negative floats as their values do),
/// with its position where the caller needs it.
trait Found: Copy {
    fn new(d: f64, j: usize) -> Self;
    fn bits(self) -> u64;
}

impl Found for u64 {
    #[inline(always)]
    fn new(d: f64, _: usize) -> Self {
        d.to_bits()
    }
    #[inline(always)]
    fn bits(self) -> u64 {
        self
    }
}

impl Found for (u64, u32) {
    #[inline(always)]
    fn new(d: f64, j: usize) -> Self {
        (d.to_bits(), j as u32)
    }
    #[inline(always)]
    fn bits(self) -> u64 {
        self.0
    }
}

/// Lowers `bound` to the `k`-th smallest of the distances in `buf`, all
/// below it, and keeps only the `k` nearest points; nothing while `buf`
/// holds fewer than `k`.
fn tighten<T: Found>(buf: &mut Vec<T>, k: usize, bound: &mut f64) {
    if buf.len() >= k {
        let kth = buf.select_nth_unstable_by_key(k - 1, |p| p.bits()).1.bits();
        *bound = f64::from_bits(kth);
        buf.truncate(k);
    }
}

/// Ranks of y per band of [`ksg_pair`]'s visiting order (128 KiB of sorted
/// y values).
const BAND: usize = 1 << 14;

/// KSG on strips of `(x, y)`, with `ys` the sorted y values they were
/// dealt with (strips turned by [`Strips::adapt`] hold their own).
///
/// The points are visited band by band of y-ranks, and within a band strip
/// by strip: the band's stretch of the sorted y values, which the y counts
/// search, then stays in cache across the strips, and each strip's stretch
/// of the sorted x values across its points. (Strip by strip over all y,
/// every strip would sweep the whole of the sorted y values.) Strips so
/// narrow that they hold few points of each band are visited in runs of
/// about a band's worth of points instead, each strip once.
pub fn ksg_pair(
    strips: &Strips,
    ys: &Sorted1d,
    k: usize,
    estimator: Ksg,
    ctl: &Control,
) -> Result<f64> {
    let ys = strips.cross.as_ref().unwrap_or(ys);
    let n = strips.y.len();
    let n_strips = strips.len();
    let level = simd::level();
    let parts = n.div_ceil(BAND);
    let sum = if n_strips * parts <= n / 8 {
        par_part_sum(parts, ctl, |band| {
            let (lo, hi) = (band * BAND, ((band + 1) * BAND).min(n));
            let band = Band {
                strips,
                ys,
                cs: 0..n_strips,
                ranks: lo..hi,
                k,
                estimator,
            };
            let s = band_sum(level, band);
            (s, (hi - lo) as u64)
        })?
    } else {
        // Strips too narrow to hold many points of each band: the parts
        // are runs of strips instead, about a band's worth of points each.
        let first = |p: usize| strips.starts[..n_strips].partition_point(|&s| s < p * BAND);
        par_part_sum(parts, ctl, |p| {
            let cs = first(p)..first(p + 1);
            let band = Band {
                strips,
                ys,
                cs: cs.clone(),
                ranks: 0..n,
                k,
                estimator,
            };
            let s = band_sum(level, band);
            let points = strips.starts[cs.end] - strips.starts[cs.start];
            (s, points as u64)
        })?
    };
    Ok(combine(estimator, k, n, sum / n as f64))
}

/// The sum of the digamma terms of the marginal counts of the points of
/// y-ranks `ranks` in the strips `cs`, compiled with AVX2 where the CPU has
/// it (`level` at least [`Level::Avx2`]): the branch-free passes of the
/// range counts then run on 256-bit vectors.
/// AVX-512 CPUs run the same code, 512-bit vectors having measured no
/// faster on these short passes. Every tier performs the same
/// floating-point operations in the same order, so all give the same sum.
fn band_sum(level: Level, band: Band<'_>) -> f64 {
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,popcnt")]
    fn avx2(band: Band<'_>) -> f64 {
        band_sum_in(band)
    }
    match level.min(simd::detected()) {
        // SAFETY: `detected` reports only what the CPU supports.
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 | Level::Avx512 => unsafe { avx2(band) },
        _ => band_sum_in(band),
    }
}

/// The radii of the marginal counts of a run of points, with the scratch
/// memory of the searches that find them.
#[derive(Default)]
struct Radii {
    /// Per point, the radii in x and in y: both the k-th distance less
    /// one representable step under algorithm 1 (negative where no point
    /// lies strictly closer, so nothing is counted), the extents of the
    /// `k` nearest under algorithm 2.
    r: Vec<[f64; 2]>,
    buf: Vec<u64>,
    found: Vec<(u64, u32)>,
}

/// Fills `radii` with the radii of the points at positions `run` of strip
/// `c`.
///
/// Compiled on its own for the baseline instruction set, not inlined into
/// [`band_sum`]'s AVX2 tier: the searches are scalar code with branches
/// that no vector unit helps, and built for AVX2 they took 5% longer on
/// feature scoring.
#[inline(never)]
fn searches(strips: &Strips, c: usize, run: Range<usize>, k: usize, e: Ksg, radii: &mut Radii) {
    let Radii { r, buf, found } = radii;
    r.clear();
    for i in run {
        r.push(match e {
            Ksg::One => {
                let d = strips.kth_distance(c, i, k, buf);
                let d = strictly_below(d).unwrap_or(-1.0);
                [d, d]
            }
            Ksg::Two => {
                let (ex, ey) = strips.neighbour_extents(c, i, k, found);
                [ex, ey]
            }
        });
    }
}

/// A part of [`ksg_pair`]'s sum: the points of the strips `cs` whose
/// y-rank lies in `ranks`, with `ys` the sorted y values and `k` neighbours.
struct Band<'a> {
    strips: &'a Strips,
    ys: &'a Sorted1d,
    cs: Range<usize>,
    ranks: Range<usize>,
    k: usize,
    estimator: Ksg,
}

/// [`band_sum`]'s loop: strip by strip of `cs`, the points of the strip
/// whose y-rank lies in `ranks`.
///
/// The neighbour searches of a strip's points run first, their radii kept,
/// then the range counts: a loop of counts alone, whose searches do not
/// depend on one another, lets the processor overlap those of consecutive
/// points (6% less time than searching and counting point by point on
/// feature scoring). The sum is taken point by point either way.
#[inline(always)]
fn band_sum_in(band: Band<'_>) -> f64 {
    let Band {
        strips,
        ys,
        cs,
        ranks,
        k,
        estimator,
    } = band;
    let mut radii = Radii::default();
    let mut s = 0.0;
    for c in cs {
        let (start, end) = strips.strip_range(c);
        let y_rank = &strips.y_rank[start..end];
        let first = start + y_rank.partition_point(|&r| (r as usize) < ranks.start);
        let last = start + y_rank.partition_point(|&r| (r as usize) < ranks.end);
        searches(strips, c, first..last, k, estimator, &mut radii);
        for (i, &[rx, ry]) in (first..last).zip(&radii.r) {
            s += match estimator {
                Ksg::One if rx < 0.0 => 2.0 * digamma_int(1),
                Ksg::One => {
                    let nx = strips.count_x(c, i, rx) - 1;
                    let ny = strips.count_y(ys, i, ry) - 1;
                    digamma_int(nx + 1) + digamma_int(ny + 1)
                }
                Ksg::Two => {
                    let nx = strips.count_x(c, i, rx) - 1;
                    let ny = strips.count_y(ys, i, ry) - 1;
                    digamma_int(nx) + digamma_int(ny)
                }
            };
        }
    }
    s
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
                let strips = Strips::new(&x, &ys, width);
                for k in [1usize, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 17, 20, 33] {
                    let mut best = KBest::new(k);
                    let mut buf = Vec::new();
                    let mut found = Vec::new();
                    for pos in 0..n {
                        let c = strips.strip_of(pos);
                        let [px, py] = strips.point(pos);
                        let i = (0..n).find(|&i| x[i] == px && y[i] == py).unwrap();
                        let want = brute_kth(&x, &y, i, k);
                        let got = strips.kth_distance(c, pos, k, &mut buf);
                        assert_eq!(got, want, "kind {kind} n {n} width {width} k {k} pos {pos}");
                        // The search for any k, which the windowed one
                        // hands over to, on every point.
                        let got = strips.kth_distance_any(c, pos, k, f64::INFINITY, &mut buf);
                        assert_eq!(got, want, "kind {kind} n {n} width {width} k {k} pos {pos}");
                        // Started from a bound the windowed search hands
                        // over: the k-th distance itself (no point lies
                        // strictly closer than k others), or the k-th
                        // smallest distance to the points beyond the
                        // nearest few.
                        let mut bounds = vec![want];
                        if k + 3 < n {
                            bounds.push(brute_kth(&x, &y, i, k + 3));
                        }
                        for bound in bounds {
                            let got = strips.kth_distance_any(c, pos, k, bound, &mut buf);
                            assert_eq!(got, want, "k {k} pos {pos} from {bound}");
                        }
                        best.clear();
                        strips.knn_of(c, pos, &mut best);
                        assert_eq!(best.worst(), want);
                        // The extents of KSG algorithm 2: those of the k
                        // nearest, where ties at the k-th distance leave no
                        // choice; else between the extents of the points
                        // strictly nearer and of those at most as far.
                        let (ex, ey) = strips.neighbour_extents(c, pos, k, &mut found);
                        let extents = |keep: &dyn Fn(f64) -> bool| {
                            (0..n)
                                .filter(|&j| j != i)
                                .map(|j| ((x[j] - px).abs(), (y[j] - py).abs()))
                                .filter(|&(a, b)| keep(a.max(b)))
                                .fold((0.0f64, 0.0f64, 0usize), |(a, b, m), (u, v)| {
                                    (a.max(u), b.max(v), m + 1)
                                })
                        };
                        let (ax, ay, _) = extents(&|d| d < want);
                        let (bx, by, within) = extents(&|d| d <= want);
                        let at = format!("kind {kind} n {n} width {width} k {k} pos {pos}");
                        if within == k {
                            assert_eq!((ex, ey), (bx, by), "{at}");
                        } else {
                            assert!(ax <= ex && ex <= bx && ay <= ey && ey <= by, "{at}");
                        }
                        let r = want * 0.999;
                        let cx = x.iter().filter(|&&v| (v - px).abs() <= r).count();
                        let cy = y.iter().filter(|&&v| (v - py).abs() <= r).count();
                        assert_eq!(strips.count_x(c, pos, r), cx);
                        assert_eq!(strips.count_y(ys.sorted(), pos, r), cy);
                    }
                }
            }
        }
    }

    #[test]
    fn banded_visit_matches_the_tree_estimate() {
        // Several bands of y-ranks, and strips that straddle them; strips
        // so narrow that the parts are runs of strips instead. Dependent
        // continuous samples, and samples on a coarse grid, where many
        // points have k duplicates and so nothing strictly closer to count.
        use crate::estimators::knn::build_with_marginals;
        use crate::estimators::ksg::ksg_with;
        let n = 2 * BAND + 777;
        for kind in [2, 1] {
            let (x, y) = samples(kind, n, 17);
            let ys = Ranked::new(&y);
            let joint: Vec<f64> = x.iter().zip(&y).flat_map(|(a, b)| [*a, *b]).collect();
            let (tree, m) = build_with_marginals(joint, 2, &[0..1, 1..2], &Control::new()).unwrap();
            for (width, k) in [(Strips::default_width(n, 3), 3), (5, 3), (40, 20)] {
                for estimator in [Ksg::One, Ksg::Two] {
                    let strips = Strips::new(&x, &ys, width);
                    let ctl = Control::new();
                    let got = ksg_pair(&strips, ys.sorted(), k, estimator, &ctl).unwrap();
                    let want = ksg_with(&tree, &m[0], &m[1], 1, k, estimator, &ctl).unwrap();
                    assert!(
                        (got - want).abs() < 1e-12,
                        "kind {kind} {width} {k} {estimator:?}: {got} vs {want}"
                    );
                }
            }
        }
    }

    /// Samples with a crowded coordinate, against y uniform on (0, 1): x in
    /// two nearly tied values (kind 0), x heavily skewed towards 0 (kind 1),
    /// and x uniform with y half at one value (kind 2).
    fn crowded(kind: usize, n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut u = move || rng.random::<f64>();
        (0..n)
            .map(|_| match kind {
                0 => (f64::from(u() < 0.5) + 1e-12 * u(), u()),
                1 => (1e-6 * (12.0 * u()).exp(), u()),
                _ => (u(), if u() < 0.5 { 1e-12 * u() } else { u() }),
            })
            .unzip()
    }

    #[test]
    fn strips_fit_crowded_samples_and_stay_exact() {
        let n = 12_000;
        let mut buf = Vec::new();
        for kind in 0..3 {
            let (x, y) = crowded(kind, n, 40 + kind as u64);
            let ys = Ranked::new(&y);
            let equal = Strips::new(&x, &ys, Strips::default_width(n, 3));
            let (before, _) = equal.judge(3);
            let strips = equal.adapt(ys.sorted().values(), 3, &mut Scratch::once());
            let (after, _) = strips.judge(3);
            assert!(
                after <= work_ok(3) && after < before / 4.0,
                "{kind}: {before} -> {after}"
            );
            // Crowded y: the strips are cut along y.
            assert_eq!(strips.cross.is_some(), kind == 2);
            // Every search and count against brute force, in the strips'
            // own coordinates (turned strips hold (y, x)).
            let pts: Vec<[f64; 2]> = (0..n).map(|i| strips.point(i)).collect();
            let cross = strips.cross.as_ref().unwrap_or(ys.sorted());
            for k in [1usize, 3, 9, 16, 40] {
                for pos in (0..n).step_by(23) {
                    let c = strips.strip_of(pos);
                    let [a, b] = pts[pos];
                    let mut d: Vec<f64> = (0..n)
                        .filter(|&j| j != pos)
                        .map(|j| (pts[j][0] - a).abs().max((pts[j][1] - b).abs()))
                        .collect();
                    d.sort_by(f64::total_cmp);
                    let got = strips.kth_distance(c, pos, k, &mut buf);
                    assert_eq!(got, d[k - 1], "kind {kind} k {k} pos {pos}");
                    let got = strips.kth_distance_any(c, pos, k, f64::INFINITY, &mut buf);
                    assert_eq!(got, d[k - 1], "kind {kind} k {k} pos {pos}");
                    let r = d[k - 1];
                    let ca = pts.iter().filter(|p| (p[0] - a).abs() <= r).count();
                    let cb = pts.iter().filter(|p| (p[1] - b).abs() <= r).count();
                    assert_eq!(strips.count_x(c, pos, r), ca);
                    assert_eq!(strips.count_y(cross, pos, r), cb);
                }
            }
            // The estimates are the tree's, up to the order of summing the
            // 12,000 terms of about 8 (rounding bound n u 8, about 2e-11).
            use crate::estimators::knn::build_with_marginals;
            use crate::estimators::ksg::ksg_with;
            for estimator in [Ksg::One, Ksg::Two] {
                let got = ksg_pair(&strips, ys.sorted(), 3, estimator, &Control::new()).unwrap();
                let joint: Vec<f64> = x.iter().zip(&y).flat_map(|(a, b)| [*a, *b]).collect();
                let (tree, m) =
                    build_with_marginals(joint, 2, &[0..1, 1..2], &Control::new()).unwrap();
                let want = ksg_with(&tree, &m[0], &m[1], 1, 3, estimator, &Control::new()).unwrap();
                assert!(
                    (got - want).abs() < 5e-11,
                    "{kind} {estimator:?}: {got} vs {want}"
                );
            }
        }
    }

    /// Everything a search or count reads, for comparing layouts.
    #[allow(clippy::type_complexity)]
    fn layout(
        s: &Strips,
    ) -> (
        Vec<usize>,
        Vec<f64>,
        Vec<u32>,
        Vec<u16>,
        Vec<[u16; 2]>,
        Vec<f64>,
        Option<Vec<f64>>,
    ) {
        (
            s.starts.clone(),
            s.y.clone(),
            s.y_rank.clone(),
            s.x_offset.clone(),
            s.adjacent.clone(),
            s.xs.values().to_vec(),
            s.cross.as_ref().map(|c| c.values().to_vec()),
        )
    }

    #[test]
    fn reused_scratch_leaves_no_trace_of_earlier_pairs() {
        // Pairs of falling and rising sizes, spread, tied and crowded (the
        // crowded ones re-cut and turned), all through one scratch: each
        // layout and sum must be that of a fresh one.
        let mut scratch = Scratch::reused();
        let cases = [
            (0, 3000),
            (1, 2500),
            (2, 400),
            (3, 3000),
            (4, 900),
            (5, 3000),
            (0, 50),
        ];
        for (round, &(kind, n)) in cases.iter().enumerate() {
            let seed = 90 + round as u64;
            let (x, y) = if kind < 3 {
                samples(kind, n, seed)
            } else {
                crowded(kind - 3, n, seed)
            };
            let ys = Ranked::new(&y);
            let fresh = Strips::for_knn(&x, &ys, 3, &mut Scratch::once());
            let reused = Strips::for_knn(&x, &ys, 3, &mut scratch);
            assert!(layout(&fresh) == layout(&reused), "case {round}");
            for estimator in [Ksg::One, Ksg::Two] {
                let want = ksg_pair(&fresh, ys.sorted(), 3, estimator, &Control::new()).unwrap();
                let got = ksg_pair(&reused, ys.sorted(), 3, estimator, &Control::new()).unwrap();
                assert_eq!(got.to_bits(), want.to_bits(), "case {round} {estimator:?}");
            }
            reused.recycle(&mut scratch);
            // The buffers are kept for the next pair.
            assert!(scratch.words.capacity() >= n && scratch.y.capacity() >= n);
        }
        // A single-pair scratch keeps nothing.
        let (x, y) = samples(0, 500, 7);
        let mut once = Scratch::once();
        Strips::for_knn(&x, &Ranked::new(&y), 3, &mut once).recycle(&mut once);
        assert!(once.words.capacity() + once.y.capacity() + once.by_y.capacity() == 0);
    }

    #[test]
    fn strips_turned_twice_are_the_strips_along_x() {
        let n = 5000;
        let (x, y) = crowded(2, n, 9);
        let ys = Ranked::new(&y);
        let width = Strips::default_width(n, 3);
        let along_x = Strips::new(&x, &ys, width);
        let (starts, y_vals, y_rank) = (
            along_x.starts.clone(),
            along_x.y.clone(),
            along_x.y_rank.clone(),
        );
        let turned = along_x.turned(ys.sorted().values(), 3, &mut Scratch::once());
        assert!(turned.cross.is_some());
        // Along y, the strips hold y as their first coordinate.
        for i in (0..n).step_by(13) {
            let [a, b] = turned.point(i);
            let j = (0..n).find(|&j| y[j] == a && x[j] == b);
            assert!(j.is_some(), "position {i}");
        }
        let back = turned.turned(ys.sorted().values(), 3, &mut Scratch::once());
        assert!(back.cross.is_none());
        assert_eq!(back.starts, starts);
        assert_eq!(back.y, y_vals);
        assert_eq!(back.y_rank, y_rank);
    }

    #[test]
    fn strips_of_spread_samples_keep_equal_counts() {
        // Independent pairs of like scales, uniform and Gaussian-like.
        let n = 4000;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(31);
        for kind in 0..2 {
            let mut draw = || match kind {
                0 => rng.random::<f64>(),
                _ => (0..4).map(|_| rng.random::<f64>()).sum::<f64>(),
            };
            let x: Vec<f64> = (0..n).map(|_| draw()).collect();
            let y: Vec<f64> = (0..n).map(|_| draw()).collect();
            let ys = Ranked::new(&y);
            let equal = Strips::new(&x, &ys, Strips::default_width(n, 3));
            let starts = equal.starts.clone();
            let strips = equal.adapt(ys.sorted().values(), 3, &mut Scratch::once());
            assert!(strips.cross.is_none());
            assert_eq!(strips.starts, starts);
        }
    }

    #[test]
    fn every_tier_gives_the_same_sum() {
        // Uniform, coarse-grid (ties) and dependent samples; each band summed
        // by every tier this CPU runs.
        for kind in 0..3 {
            let n = BAND + 999;
            let (x, y) = samples(kind, n, 23);
            let ys = Ranked::new(&y);
            let strips = Strips::new(&x, &ys, Strips::default_width(n, 4));
            for estimator in [Ksg::One, Ksg::Two] {
                for ranks in [0..BAND, BAND..n] {
                    let band = || Band {
                        strips: &strips,
                        ys: ys.sorted(),
                        cs: 0..strips.len(),
                        ranks: ranks.clone(),
                        k: 4,
                        estimator,
                    };
                    let want = band_sum(Level::Portable, band());
                    for level in simd::available() {
                        let got = band_sum(level, band());
                        assert_eq!(
                            got.to_bits(),
                            want.to_bits(),
                            "{kind} {estimator:?} {level:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn sorting_keeps_ties_in_sample_order() {
        let v = [3.0, -1.0, 2.0, -1.0, 0.5];
        let r = Ranked::new(&v);
        assert_eq!(r.sorted().values(), &[-1.0, -1.0, 0.5, 2.0, 3.0]);
        assert_eq!(r.order, vec![1, 3, 4, 2, 0]);
        // x-ranks in y order, taking over the order's memory.
        let x = [10.0, 30.0, 20.0, 50.0, 40.0];
        let (xr, ys) = XRanks::consume(|i| x[i], r);
        assert_eq!(xr.by_y, vec![2, 4, 3, 1, 0]);
        assert_eq!(xr.sorted, vec![10.0, 20.0, 30.0, 40.0, 50.0]);
        assert_eq!(ys.values(), &[-1.0, -1.0, 0.5, 2.0, 3.0]);
    }

    #[test]
    fn sorting_matches_a_comparison_sort() {
        // Values that agree on the top half of their keys (near ties, in
        // runs long enough for the second radix sort), exact ties (in short
        // and long runs), signed zeros, and extremes.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let mut v: Vec<f64> = (0..3500)
            .map(|i| match i % 7 {
                0 => 1.0 + rng.random::<f64>() * 1e-9,
                1 => -1.0 - rng.random::<f64>() * 1e-9,
                2 => (rng.random::<f64>() * 4.0).floor(),
                3 => {
                    if i % 12 == 3 {
                        0.0
                    } else {
                        -0.0
                    }
                }
                4 => rng.random::<f64>() * 1e300 - 5e299,
                5 => 7.0,
                _ => rng.random::<f64>() - 0.5,
            })
            .collect();
        v.push(f64::MIN_POSITIVE / 4.0);
        v.push(f64::MAX);
        v.push(f64::MIN);
        let r = Ranked::new(&v);
        let mut want: Vec<u32> = (0..v.len() as u32).collect();
        want.sort_by(|&a, &b| v[a as usize].total_cmp(&v[b as usize]).then(a.cmp(&b)));
        assert_eq!(r.order, want);
        let sorted: Vec<f64> = want.iter().map(|&i| v[i as usize]).collect();
        assert_eq!(r.sorted().values(), &sorted[..]);
    }
}
