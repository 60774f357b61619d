//! A balanced kd-tree with an implicit layout: node `i` has children `2i+1`
//! and `2i+2`, every leaf sits at the same depth, and the points are stored
//! in tree order so that a leaf's points are contiguous and queries issued
//! in tree order find their data already cached. The leaves are full (as
//! near [`LEAF`] points as the count allows) or empty, the full ones spread
//! evenly (see [`Shape`]), so that the leaf-group queries keep their lanes
//! busy whatever the number of points. Every node keeps its
//! bounding box: neighbour queries prune by the box's lower distance bound,
//! range counts add whole subtrees whose box lies inside the query ball.
//!
//! The single-query loops and the build are generic over the dimension
//! ([`Dim`]), so that the common low dimensions compile to fully unrolled
//! code; the leaf-group queries ([`lanes`]) take it at run time.

use rayon::prelude::*;

use crate::error::Result;
use crate::par::Control;

use super::{greater, KBest, KBlock, NeighbourSearch, Norm};

/// Most points per leaf: small enough for tight boxes, large enough to
/// amortise the descent; one lane per point in the leaf-group queries.
const LEAF: usize = lanes::LANES;

/// Subtrees larger than this are built in parallel.
const PAR_BUILD: usize = 1 << 14;

/// Splits of more rows than this poll for cancellation first.
const CHECK_BUILD: usize = 1 << 16;

/// A dimension known at compile time ([`Fixed`]) or only at run time
/// ([`Dynamic`]).
pub(crate) trait Dim: Copy + Send + Sync {
    fn get(self) -> usize;
}

#[derive(Clone, Copy)]
pub(crate) struct Fixed<const D: usize>;

impl<const D: usize> Dim for Fixed<D> {
    #[inline(always)]
    fn get(self) -> usize {
        D
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Dynamic(usize);

impl Dim for Dynamic {
    #[inline(always)]
    fn get(self) -> usize {
        self.0
    }
}

/// Runs `$body` with `$d` bound to the best [`Dim`] for `$dim`: a [`Fixed`]
/// one for each of the dimensions listed (1 to 4 unless given), a
/// [`Dynamic`] one otherwise. Loops over a fixed dimension unroll without
/// bounds checks.
macro_rules! with_dim {
    ($dim:expr, $d:ident => $body:expr) => {
        with_dim!($dim, $d => $body; 1 2 3 4)
    };
    ($dim:expr, $d:ident => $body:expr; $($n:literal)*) => {
        match $dim {
            $($n => {
                let $d = Fixed::<$n>;
                $body
            })*
            n => {
                let $d = Dynamic(n);
                $body
            }
        }
    };
}

// After `with_dim!`, which it uses.
mod lanes;

#[inline(always)]
fn dist<N: Norm, D: Dim>(d: D, a: &[f64], b: &[f64]) -> f64 {
    let (a, b) = (&a[..d.get()], &b[..d.get()]);
    let mut acc = 0.0;
    for j in 0..d.get() {
        acc = N::fold(acc, (a[j] - b[j]).abs());
    }
    acc
}

/// A balanced kd-tree over points reordered into tree order.
#[derive(Debug)]
pub struct KdTree {
    dim: usize,
    pts: Vec<f64>,
    /// How the points are dealt to the leaves (its point count and depth,
    /// the tree's).
    shape: Shape,
    /// `index[i]`: the input row of the point at tree position `i` (empty
    /// unless asked for at build time).
    index: Vec<u32>,
    /// Per node: `dim` lower bounds then `dim` upper bounds.
    bounds: Vec<f64>,
    first_leaf: usize,
    /// `starts[l]`: the first position of leaf slot `l` (and `n` at the
    /// end), so that the leaf scans need no division.
    starts: Vec<u32>,
    /// The leaves' points lane-wise, for the leaf-group queries.
    lanes: Vec<f64>,
    /// Per internal node, the coordinate along which its children's boxes
    /// lie farthest apart (the one it was split on).
    axis: Vec<u32>,
    /// Per node, the longest side of its box.
    extent: Vec<f64>,
    /// The leaves' points lane-wise in single precision, as offsets from the
    /// points' median, for the filter of the leaf-group queries (empty when
    /// the filter is off, see [`lanes::Filter`]).
    lanes32: Vec<f32>,
    /// Bound on the error of a coordinate gap computed from `lanes32`
    /// between points of core leaves.
    slack32: f64,
    /// Per leaf, whether the filter serves it (empty when the filter is
    /// off, see [`lanes::Filter`]).
    core32: Vec<bool>,
    /// The leaves' points lane-wise on an integer grid, for the max-norm
    /// queries (empty when the grid is off, see [`lanes::Grid`]).
    lanes16: Vec<i16>,
    /// The grid's step.
    step16: f64,
    /// Per leaf, whether the grid serves it (empty when the grid is off).
    core16: Vec<bool>,
    /// Per node, its box on the grid, as `bounds` (see [`lanes::Grid`]).
    bounds16: Vec<i16>,
}

impl KdTree {
    /// Builds the tree over `data`, row-major with `dim` columns, reordering
    /// the points in place into tree order. With `keep_index`, the tree
    /// remembers each point's input row ([`KdTree::original_index`]).
    ///
    /// Node `j` of level `l` holds positions `floor(j n / 2^l)` up to
    /// `floor((j + 1) n / 2^l)`: ranges follow from a formula, so none are
    /// stored and the leaf of a position is one division away.
    pub fn build(data: Vec<f64>, dim: usize, keep_index: bool) -> Self {
        Self::build_checked(data, dim, keep_index, &Control::new()).expect("never cancelled")
    }

    /// [`KdTree::build`], stopping with [`crate::error::Error::Cancelled`]
    /// soon after `ctl` is cancelled: every split of more than 65,536 rows
    /// polls it first (millions of points take seconds to split).
    pub fn build_checked(
        mut data: Vec<f64>,
        dim: usize,
        keep_index: bool,
        ctl: &Control,
    ) -> Result<Self> {
        assert!(dim > 0, "dimension must be positive");
        let n = data.len() / dim;
        assert!(n < u32::MAX as usize, "at most 2^32 - 2 points");
        let shape = Shape::new(n);
        let depth = shape.depth as usize;
        let n_nodes = (1usize << (depth + 1)) - 1;
        let first_leaf = (1usize << depth) - 1;

        data.truncate(n * dim);
        let mut pts = data;
        let mut index: Vec<u32> = (0..n as u32).collect();
        let mut cell = vec![f64::INFINITY; dim];
        cell.extend(std::iter::repeat_n(f64::NEG_INFINITY, dim));
        for row in pts.chunks_exact(dim) {
            for j in 0..dim {
                cell[j] = cell[j].min(row[j]);
                cell[dim + j] = cell[dim + j].max(row[j]);
            }
        }
        let root = Node { level: 0, j: 0 };
        with_dim!(dim, d => split(d, &mut pts, &mut index, shape, root, &cell, ctl));
        // A cancelled split leaves the rows half ordered: the tree is not
        // finished.
        ctl.check()?;
        if !keep_index {
            index = Vec::new();
        }

        let mut bounds = vec![0.0; n_nodes * 2 * dim];
        bounds[first_leaf * 2 * dim..]
            .par_chunks_mut(2 * dim)
            .enumerate()
            .for_each(|(l, b)| {
                let (s, e) = shape.range(first_leaf + l);
                let (lo, hi) = b.split_at_mut(dim);
                lo.fill(f64::INFINITY);
                hi.fill(f64::NEG_INFINITY);
                for p in pts[s * dim..e * dim].chunks_exact(dim) {
                    for j in 0..dim {
                        lo[j] = lo[j].min(p[j]);
                        hi[j] = hi[j].max(p[j]);
                    }
                }
            });
        for node in (0..first_leaf).rev() {
            let (head, tail) = bounds.split_at_mut((2 * node + 1) * 2 * dim);
            let b = &mut head[node * 2 * dim..(node + 1) * 2 * dim];
            let (l, r) = tail.split_at(2 * dim);
            for j in 0..dim {
                b[j] = l[j].min(r[j]);
                b[dim + j] = l[dim + j].max(r[dim + j]);
            }
        }
        let lanes = lanes::build_lanes(&pts, dim, shape);
        let starts = (0..1usize << depth)
            .map(|l| shape.range(first_leaf + l).0 as u32)
            .chain([n as u32])
            .collect();
        let corner = |node: usize| bounds[node * 2 * dim..(node + 1) * 2 * dim].split_at(dim);
        let axis = (0..first_leaf)
            .map(|node| {
                let ((_, left_hi), (right_lo, _)) = (corner(2 * node + 1), corner(2 * node + 2));
                (0..dim)
                    .max_by(|&a, &b| {
                        (right_lo[a] - left_hi[a]).total_cmp(&(right_lo[b] - left_hi[b]))
                    })
                    .unwrap_or(0) as u32
            })
            .collect();
        let extent: Vec<f64> = (0..n_nodes)
            .map(|node| {
                let (lo, hi) = corner(node);
                lo.iter().zip(hi).fold(0.0f64, |e, (l, h)| e.max(h - l))
            })
            .collect();
        let spread = lanes::Spread::measure(&lanes, dim, &extent[first_leaf..], shape);
        let spread = spread.as_ref();
        let (lanes32, slack32, core32) = spread
            .and_then(|s| lanes::Filter::build(&lanes, dim, s))
            .map_or((Vec::new(), 0.0, Vec::new()), |f| {
                (f.lanes, f.slack, f.core)
            });
        let (lanes16, step16, core16, bounds16) = spread
            .and_then(|s| lanes::Grid::build(&lanes, &bounds, dim, s))
            .map_or((Vec::new(), 0.0, Vec::new(), Vec::new()), |g| {
                (g.lanes, g.step, g.core, g.bounds)
            });
        Ok(KdTree {
            dim,
            pts,
            shape,
            index,
            bounds,
            first_leaf,
            starts,
            lanes,
            axis,
            extent,
            lanes32,
            slack32,
            core32,
            lanes16,
            step16,
            core16,
            bounds16,
        })
    }

    /// The per-leaf flag of leaf node `leaf` in `flags` (false where
    /// `flags` is empty: the copy it belongs to is off).
    #[inline(always)]
    fn leaf_flag(&self, flags: &[bool], leaf: usize) -> bool {
        flags.get(leaf - self.first_leaf).copied().unwrap_or(false)
    }

    /// Whether the filter serves leaf node `leaf`.
    #[inline(always)]
    fn filtered(&self, leaf: usize) -> bool {
        self.leaf_flag(&self.core32, leaf)
    }

    /// Whether the grid serves leaf node `leaf`.
    #[inline(always)]
    fn on_grid(&self, leaf: usize) -> bool {
        self.leaf_flag(&self.core16, leaf)
    }

    /// The integer lane-wise block of leaf node `leaf` on the grid.
    #[inline(always)]
    fn lane_block16(&self, leaf: usize) -> &[i16] {
        let w = self.dim * lanes::LANES;
        let l = leaf - self.first_leaf;
        &self.lanes16[l * w..(l + 1) * w]
    }

    /// The single-precision lane-wise block of leaf node `leaf`.
    #[inline(always)]
    fn lane_block32(&self, leaf: usize) -> &[f32] {
        let w = self.dim * lanes::LANES;
        let l = leaf - self.first_leaf;
        &self.lanes32[l * w..(l + 1) * w]
    }

    /// The lane-wise block of leaf node `leaf`.
    #[inline(always)]
    fn lane_block(&self, leaf: usize) -> &[f64] {
        let w = self.dim * lanes::LANES;
        let l = leaf - self.first_leaf;
        &self.lanes[l * w..(l + 1) * w]
    }

    /// The leaves under `node` when it lies within `levels` levels of the
    /// leaves.
    #[inline(always)]
    fn small_subtree(&self, node: usize, levels: u32) -> Option<std::ops::Range<usize>> {
        let level = (node + 1).ilog2();
        let up = self.shape.depth - level;
        (up <= levels).then(|| {
            let first = ((node + 1) << up) - 1;
            first..first + (1 << up)
        })
    }

    /// Lower and upper corners of the bounding box of `node`.
    #[inline(always)]
    fn node_box(&self, node: usize) -> (&[f64], &[f64]) {
        let w = self.dim;
        self.bounds[node * 2 * w..(node + 1) * 2 * w].split_at(w)
    }

    /// Lower and upper corners of the box of `node` on the grid.
    #[inline(always)]
    fn node_box16(&self, node: usize) -> (&[i16], &[i16]) {
        let w = self.dim;
        self.bounds16[node * 2 * w..(node + 1) * 2 * w].split_at(w)
    }

    /// For the consecutive positions `first..first + radii.len()`, the
    /// number of points within reduced distance `radii[i]` under `N` of the
    /// point at each (itself included; none for a negative radius), into
    /// `out`. Queries run in leaf groups, so a block of whole leaves costs
    /// least.
    pub fn count_block<N: Norm>(&self, first: usize, radii: &[f64], out: &mut [u32]) {
        assert_eq!(radii.len(), out.len());
        if radii.is_empty() {
            return;
        }
        lanes::count_leaves::<N>(crate::simd::level(), self, first, radii, out);
    }

    /// For the consecutive positions `first..first + bests.len()` of another
    /// tree `queries` of the same dimension, the nearest neighbours under
    /// `N` among this tree's points (positions in this tree), query
    /// `i - first` of `bests` each. Queries run in leaf groups of `queries`, so a
    /// block of whole leaves costs least; in one or two dimensions, where a
    /// single descent costs less than a group's, one by one.
    ///
    /// # Panics
    /// If the dimensions differ.
    pub fn knn_of_other<N: Norm>(&self, queries: &KdTree, first: usize, bests: &mut KBlock) {
        assert_eq!(self.dim, queries.dim, "queries of another dimension");
        if bests.is_empty() {
            return;
        }
        if self.dim <= 2 {
            let mut best = KBest::new(bests.k());
            for j in 0..bests.len() {
                best.clear();
                self.knn::<N>(queries.point(first + j), usize::MAX, &mut best);
                bests.set(j, &best);
            }
            return;
        }
        lanes::knn_foreign_leaves::<N>(crate::simd::level(), self, queries, first, bests);
    }

    /// Input row of the point at tree position `i`.
    ///
    /// # Panics
    /// If the tree was built without `keep_index`.
    pub fn original_index(&self, i: usize) -> usize {
        self.index[i] as usize
    }

    #[inline(always)]
    fn range(&self, node: usize) -> (usize, usize) {
        self.shape.range(node)
    }

    /// `(start, end)` positions of leaf node `leaf`, as [`KdTree::range`]
    /// gives them.
    #[inline(always)]
    fn leaf_range(&self, leaf: usize) -> (usize, usize) {
        let l = leaf - self.first_leaf;
        (self.starts[l] as usize, self.starts[l + 1] as usize)
    }

    #[inline(always)]
    fn lower<N: Norm, D: Dim>(&self, d: D, node: usize, q: &[f64]) -> f64 {
        let w = d.get();
        let b = &self.bounds[node * 2 * w..(node + 1) * 2 * w];
        let (lo, hi) = b.split_at(w);
        let mut acc = 0.0;
        for j in 0..w {
            acc = N::fold(acc, greater(greater(lo[j] - q[j], q[j] - hi[j]), 0.0));
        }
        acc
    }

    /// Lower and upper reduced distances from `q` to the box of `node`, in
    /// one pass.
    #[inline(always)]
    fn bounds_to<N: Norm, D: Dim>(&self, d: D, node: usize, q: &[f64]) -> (f64, f64) {
        let w = d.get();
        let b = &self.bounds[node * 2 * w..(node + 1) * 2 * w];
        let (lo, hi) = b.split_at(w);
        let (mut near, mut far) = (0.0, 0.0);
        for j in 0..w {
            let (below, above) = (lo[j] - q[j], q[j] - hi[j]);
            near = N::fold(near, greater(greater(below, above), 0.0));
            far = N::fold(far, greater(q[j] - lo[j], hi[j] - q[j]));
        }
        (near, far)
    }

    #[inline(always)]
    fn scan_leaf<N: Norm, D: Dim>(
        &self,
        d: D,
        node: usize,
        q: &[f64],
        skip: usize,
        best: &mut KBest,
    ) {
        let (s, e) = self.range(node);
        let w = d.get();
        let q = &q[..w];
        for (j, p) in self.pts[s * w..e * w].chunks_exact(w).enumerate() {
            let dd = dist::<N, D>(d, q, p);
            let pos = s + j;
            if dd < best.worst() && pos != skip {
                best.push(dd, pos as u32);
            }
        }
    }

    fn knn_node<N: Norm, D: Dim>(
        &self,
        d: D,
        node: usize,
        q: &[f64],
        skip: usize,
        done_leaf: usize,
        best: &mut KBest,
    ) {
        if node >= self.first_leaf {
            if node != done_leaf {
                self.scan_leaf::<N, D>(d, node, q, skip, best);
            }
            return;
        }
        let (l, r) = (2 * node + 1, 2 * node + 2);
        let (dl, dr) = (self.lower::<N, D>(d, l, q), self.lower::<N, D>(d, r, q));
        let (first, second, d1, d2) = if dl <= dr {
            (l, r, dl, dr)
        } else {
            (r, l, dr, dl)
        };
        if d1 < best.worst() {
            self.knn_node::<N, D>(d, first, q, skip, done_leaf, best);
        }
        if d2 < best.worst() {
            self.knn_node::<N, D>(d, second, q, skip, done_leaf, best);
        }
    }

    /// Neighbours of the point at position `i`: its own leaf first, then up
    /// the tree, searching each sibling subtree that could hold a closer
    /// point, until the search ball lies strictly inside an ancestor's box.
    /// Strictly: a point outside a node's subtree can lie on the boundary of
    /// its box only where it ties with the splitting coordinate.
    fn knn_bottom_up<N: Norm, D: Dim>(&self, d: D, i: usize, best: &mut KBest) {
        let q = &self.pts[i * d.get()..(i + 1) * d.get()];
        let mut node = self.leaf_of(i);
        self.scan_leaf::<N, D>(d, node, q, i, best);
        while node != 0 {
            if self.ball_inside::<N, D>(d, node, q, best.worst()) {
                return;
            }
            let sibling = if node % 2 == 1 { node + 1 } else { node - 1 };
            if self.lower::<N, D>(d, sibling, q) < best.worst() {
                self.knn_node::<N, D>(d, sibling, q, i, usize::MAX, best);
            }
            node = (node - 1) / 2;
        }
    }

    /// Whether the ball of reduced radius `r` around `q` lies strictly
    /// inside the bounding box of `node`.
    #[inline(always)]
    fn ball_inside<N: Norm, D: Dim>(&self, d: D, node: usize, q: &[f64], r: f64) -> bool {
        let w = d.get();
        // Inflated a hair so that rounding in the comparisons can only
        // make the test fail, never pass wrongly.
        let rad = N::expand(r) * (1.0 + 1e-12);
        let b = &self.bounds[node * 2 * w..(node + 1) * 2 * w];
        let (lo, hi) = b.split_at(w);
        (0..w).all(|j| q[j] - rad > lo[j] && q[j] + rad < hi[j])
    }

    /// Leaf holding tree position `i`.
    #[inline]
    fn leaf_of(&self, i: usize) -> usize {
        self.first_leaf + self.shape.leaf_of(i)
    }

    fn count_node<N: Norm, D: Dim>(&self, d: D, node: usize, q: &[f64], r: f64) -> usize {
        let (lower, upper) = self.bounds_to::<N, D>(d, node, q);
        if lower > r {
            return 0;
        }
        let (s, e) = self.range(node);
        if upper <= r {
            return e - s;
        }
        if node >= self.first_leaf {
            let w = d.get();
            return self.pts[s * w..e * w]
                .chunks_exact(w)
                .filter(|p| dist::<N, D>(d, q, p) <= r)
                .count();
        }
        self.count_node::<N, D>(d, 2 * node + 1, q, r)
            + self.count_node::<N, D>(d, 2 * node + 2, q, r)
    }
}

impl NeighbourSearch for KdTree {
    fn len(&self) -> usize {
        self.shape.n as usize
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn points(&self) -> &[f64] {
        &self.pts
    }
    fn knn<N: Norm>(&self, q: &[f64], skip: usize, best: &mut KBest) {
        if self.len() > 0 {
            with_dim!(self.dim, d => self.knn_node::<N, _>(d, 0, q, skip, usize::MAX, best));
        }
    }
    fn knn_of<N: Norm>(&self, i: usize, best: &mut KBest) {
        with_dim!(self.dim, d => self.knn_bottom_up::<N, _>(d, i, best));
    }
    fn knn_of_block<N: Norm>(&self, first: usize, bests: &mut KBlock) {
        if bests.is_empty() {
            return;
        }
        lanes::knn_leaves::<N>(crate::simd::level(), self, first, bests);
    }
    fn count_within<N: Norm>(&self, q: &[f64], r: f64) -> usize {
        if self.len() == 0 {
            return 0;
        }
        with_dim!(self.dim, d => self.count_node::<N, _>(d, 0, q, r))
    }
}

/// How the points are dealt to the leaves: `m = ceil(n / LEAF)` full
/// leaves (at most [`LEAF`] points each, as equal as the count allows)
/// spread evenly over the `2^depth` leaf slots, the smallest power of two
/// that holds them; the other slots stay empty. Node `j` of level `l` holds
/// the full leaves `floor(j m / 2^l)` up to `floor((j + 1) m / 2^l)`, and
/// full leaf `a` starts at position `floor(a n / m)`: ranges follow from a
/// formula, so none are stored and the leaf of a position is two divisions
/// away. As `m > 2^(depth - 1)`, every internal node holds at least one
/// full leaf, no two empty leaves are siblings, and every split falls
/// within a leaf's worth of points of its node's median.
#[derive(Debug, Clone, Copy)]
struct Shape {
    n: u64,
    m: u64,
    depth: u32,
}

impl Shape {
    fn new(n: usize) -> Self {
        let m = n.div_ceil(LEAF).max(1);
        Shape {
            n: n as u64,
            m: m as u64,
            depth: m.next_power_of_two().ilog2(),
        }
    }

    /// First position of full leaf `a` (`n` for `a = m`).
    #[inline(always)]
    fn start(self, a: u64) -> usize {
        (a * self.n / self.m) as usize
    }

    /// `(start, end)` positions of node `j` of `level`.
    #[inline(always)]
    fn span(self, level: u32, j: u64) -> (usize, usize) {
        debug_assert!(level <= self.depth);
        (
            self.start((j * self.m) >> level),
            self.start(((j + 1) * self.m) >> level),
        )
    }

    /// `(start, end)` positions of heap node `node`.
    #[inline(always)]
    fn range(self, node: usize) -> (usize, usize) {
        let level = (node + 1).ilog2();
        self.span(level, (node + 1 - (1usize << level)) as u64)
    }

    /// Leaf slot (`0..2^depth`) holding position `i < n`.
    #[inline(always)]
    fn leaf_of(self, i: usize) -> usize {
        // Full leaf a starts at floor(a n / m) <= i <=> a <= ((i + 1) m - 1) / n.
        // Slot j holds full leaf a where floor(j m / 2^depth) = a <
        // floor((j + 1) m / 2^depth): the least j with (j + 1) m >= (a + 1) 2^depth.
        let a = ((i as u64 + 1) * self.m - 1) / self.n;
        (((a + 1) << self.depth).div_ceil(self.m) - 1) as usize
    }
}

/// Node `j` of `level`.
#[derive(Clone, Copy)]
struct Node {
    level: u32,
    j: u64,
}

/// Arranges the rows of `pts` (and `index` alongside), which hold `node`'s
/// range and lie in the box `cell` (lower bounds, then upper bounds), so that
/// each node below it, down to the leaves of `shape`, holds its rows: the
/// lower part along the cell's widest side first, recursively. Splitting by
/// the cell rather than the rows' exact bounding box saves a pass over the
/// rows at every level; the exact boxes that queries prune with are
/// computed afterwards.
fn split<D: Dim>(
    d: D,
    pts: &mut [f64],
    index: &mut [u32],
    shape: Shape,
    node: Node,
    cell: &[f64],
    ctl: &Control,
) {
    let len = index.len();
    if node.level == shape.depth || len < 2 || (len > CHECK_BUILD && ctl.is_cancelled()) {
        return;
    }
    let w = d.get();
    let (lo, hi) = cell.split_at(w);
    let axis = (0..w)
        .max_by(|&a, &b| (hi[a] - lo[a]).total_cmp(&(hi[b] - lo[b])))
        .unwrap_or(0);
    let start = shape.span(node.level, node.j).0;
    let mid = shape.span(node.level + 1, 2 * node.j + 1).0 - start;
    if mid > 0 && mid < len {
        select_rows(d, pts, index, mid, axis);
    }
    let cut = if mid < len {
        pts[mid * w + axis]
    } else {
        hi[axis]
    };
    let mut left_cell = cell.to_vec();
    left_cell[w + axis] = cut;
    let mut right_cell = cell.to_vec();
    right_cell[axis] = cut;
    let (pl, pr) = pts.split_at_mut(mid * w);
    let (il, ir) = index.split_at_mut(mid);
    let left = Node {
        level: node.level + 1,
        j: 2 * node.j,
    };
    let right = Node {
        j: 2 * node.j + 1,
        ..left
    };
    if len > PAR_BUILD {
        rayon::join(
            || split(d, pl, il, shape, left, &left_cell, ctl),
            || split(d, pr, ir, shape, right, &right_cell, ctl),
        );
    } else {
        split(d, pl, il, shape, left, &left_cell, ctl);
        split(d, pr, ir, shape, right, &right_cell, ctl);
    }
}

#[inline(always)]
fn swap_rows<D: Dim>(d: D, pts: &mut [f64], index: &mut [u32], a: usize, b: usize) {
    let w = d.get();
    for j in 0..w {
        pts.swap(a * w + j, b * w + j);
    }
    index.swap(a, b);
}

/// Quickselect on rows by coordinate `axis`: afterwards row `kth` holds the
/// value it would hold if sorted, no row before it is greater, and none after
/// it is smaller. Rows move whole, so the data stays contiguous and later
/// levels work on cache-resident slices. Hoare partitioning keeps runs of
/// equal keys balanced.
fn select_rows<D: Dim>(d: D, pts: &mut [f64], index: &mut [u32], kth: usize, axis: usize) {
    let w = d.get();
    let key = |pts: &[f64], i: usize| pts[i * w + axis];
    let (mut lo, mut hi) = (0usize, index.len() - 1);
    while hi > lo {
        if hi - lo < 16 {
            for i in lo + 1..=hi {
                let mut j = i;
                while j > lo && key(pts, j - 1) > key(pts, j) {
                    swap_rows(d, pts, index, j - 1, j);
                    j -= 1;
                }
            }
            return;
        }
        let m = lo + (hi - lo) / 2;
        if key(pts, m) < key(pts, lo) {
            swap_rows(d, pts, index, m, lo);
        }
        if key(pts, hi) < key(pts, lo) {
            swap_rows(d, pts, index, hi, lo);
        }
        if key(pts, hi) < key(pts, m) {
            swap_rows(d, pts, index, hi, m);
        }
        let pivot = key(pts, m);
        let (mut i, mut j) = (lo, hi);
        loop {
            while key(pts, i) < pivot {
                i += 1;
            }
            while key(pts, j) > pivot {
                j -= 1;
            }
            if i >= j {
                break;
            }
            swap_rows(d, pts, index, i, j);
            i += 1;
            j -= 1;
        }
        // Rows lo..=j are <= pivot and rows j+1..=hi are >= pivot.
        if kth <= j {
            hi = j;
        } else {
            lo = j + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_deal_every_position_to_one_full_leaf() {
        for n in [
            0usize, 1, 2, 15, 16, 17, 31, 32, 33, 100, 255, 256, 257, 1000, 4097, 65_535, 65_536,
            65_537, 100_000,
        ] {
            let s = Shape::new(n);
            let slots = 1usize << s.depth;
            let first = slots - 1;
            assert!(s.m as usize <= slots && (n <= LEAF || 2 * s.m as usize > slots));
            // The leaves cover 0..n in order, at most LEAF points each, the
            // full ones within one point of each other.
            let leaves: Vec<(usize, usize)> = (0..slots).map(|j| s.range(first + j)).collect();
            assert_eq!(leaves[0].0, 0, "n {n}");
            assert_eq!(leaves[slots - 1].1, n, "n {n}");
            assert!(leaves.windows(2).all(|w| w[0].1 == w[1].0), "n {n}");
            let sizes: Vec<usize> = leaves
                .iter()
                .map(|(a, b)| b - a)
                .filter(|&c| c > 0)
                .collect();
            assert_eq!(sizes.len(), if n == 0 { 0 } else { s.m as usize }, "n {n}");
            if let (Some(lo), Some(hi)) = (sizes.iter().min(), sizes.iter().max()) {
                assert!(*hi <= LEAF && hi - lo <= 1, "n {n}: sizes {lo}..={hi}");
            }
            for i in 0..n {
                let (a, b) = leaves[s.leaf_of(i)];
                assert!(a <= i && i < b, "n {n}: position {i}");
            }
            // Internal nodes: the union of their children, never empty when
            // there are points, their children within one full leaf of each
            // other; no two empty leaves are siblings.
            let full = |node: usize| {
                let (a, b) = s.range(node);
                (first..first + slots)
                    .filter(|&l| {
                        let (c, d) = s.range(l);
                        a <= c && d <= b && d > c
                    })
                    .count()
            };
            for node in 0..first {
                let (l, r) = (s.range(2 * node + 1), s.range(2 * node + 2));
                assert_eq!((l.0, r.1), s.range(node), "n {n} node {node}");
                assert_eq!(l.1, r.0);
                if n > 0 {
                    assert!(r.1 > l.0, "n {n}: node {node} is empty");
                    if slots <= 4096 {
                        assert!(full(2 * node + 1).abs_diff(full(2 * node + 2)) <= 1);
                    }
                }
            }
        }
    }

    #[test]
    fn leaf_ranges_come_from_the_table_as_from_the_shape() {
        for n in [0usize, 1, 15, 16, 17, 257, 1000, 4097] {
            let pts: Vec<f64> = (0..n * 2).map(|i| (i * 7919 % 1013) as f64).collect();
            let tree = KdTree::build(pts, 2, false);
            for leaf in tree.first_leaf..2 * tree.first_leaf + 1 {
                assert_eq!(tree.leaf_range(leaf), tree.range(leaf), "n {n} leaf {leaf}");
            }
        }
    }
}
