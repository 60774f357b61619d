//! Exact neighbour search for the estimators.
//!
//! A kd-tree with an implicit, balanced layout (node `i` has children `2i+1`
//! and `2i+2`, every leaf at the same depth) over points stored in tree
//! order, so that a leaf's points are contiguous and queries issued in tree
//! order touch memory that is already cached. Every node keeps its bounding
//! box: k-nearest-neighbour queries prune by the box's lower distance bound,
//! and range counts add whole subtrees whose box lies inside the query ball.
//! Above [`MAX_TREE_DIM`] dimensions the tree prunes too little, and the same
//! queries run as a brute-force scan.

use rayon::prelude::*;

/// Points per leaf: small enough for tight boxes, large enough to amortise
/// the descent.
const LEAF: usize = 12;

/// Above this dimension the brute-force scan replaces the tree.
pub const MAX_TREE_DIM: usize = 24;

/// Subtrees larger than this are built in parallel.
const PAR_BUILD: usize = 1 << 15;

/// A norm on R^d, expressed through a monotone "reduced" distance (the
/// distance itself for the max-norm, its square for the Euclidean norm) so
/// that comparisons never take square roots.
pub trait Norm: Copy + Send + Sync + 'static {
    /// Folds the absolute difference of one coordinate into the running
    /// reduced distance.
    fn fold(acc: f64, diff: f64) -> f64;
    /// The reduced form of a true distance.
    fn reduce(r: f64) -> f64;
    /// The true distance of a reduced one.
    fn expand(d: f64) -> f64;

    /// Reduced distance between two points of equal length.
    #[inline]
    fn dist(a: &[f64], b: &[f64]) -> f64 {
        a.iter()
            .zip(b)
            .fold(0.0, |acc, (x, y)| Self::fold(acc, (x - y).abs()))
    }
}

/// The max-norm (Chebyshev, L-infinity), the norm of the KSG estimators.
#[derive(Debug, Clone, Copy, Default)]
pub struct MaxNorm;

impl Norm for MaxNorm {
    #[inline(always)]
    fn fold(acc: f64, diff: f64) -> f64 {
        acc.max(diff)
    }
    #[inline(always)]
    fn reduce(r: f64) -> f64 {
        r
    }
    #[inline(always)]
    fn expand(d: f64) -> f64 {
        d
    }
}

/// The Euclidean norm (L2).
#[derive(Debug, Clone, Copy, Default)]
pub struct Euclidean;

impl Norm for Euclidean {
    #[inline(always)]
    fn fold(acc: f64, diff: f64) -> f64 {
        acc + diff * diff
    }
    #[inline(always)]
    fn reduce(r: f64) -> f64 {
        r * r
    }
    #[inline(always)]
    fn expand(d: f64) -> f64 {
        d.sqrt()
    }
}

/// The `k` smallest (reduced distance, position) pairs seen so far, sorted.
#[derive(Debug, Clone)]
pub struct KBest {
    dist: Vec<f64>,
    pos: Vec<u32>,
}

impl KBest {
    /// An empty set for `k >= 1` neighbours.
    pub fn new(k: usize) -> Self {
        KBest {
            dist: vec![f64::INFINITY; k],
            pos: vec![u32::MAX; k],
        }
    }

    /// Forgets everything, keeping `k`.
    pub fn clear(&mut self) {
        self.dist.fill(f64::INFINITY);
        self.pos.fill(u32::MAX);
    }

    /// The current k-th smallest reduced distance (infinite until k are seen).
    #[inline(always)]
    pub fn worst(&self) -> f64 {
        self.dist[self.dist.len() - 1]
    }

    #[inline]
    fn push(&mut self, d: f64, p: u32) {
        let mut j = self.dist.len() - 1;
        while j > 0 && self.dist[j - 1] > d {
            self.dist[j] = self.dist[j - 1];
            self.pos[j] = self.pos[j - 1];
            j -= 1;
        }
        self.dist[j] = d;
        self.pos[j] = p;
    }

    /// Positions of the neighbours, nearest first.
    pub fn positions(&self) -> &[u32] {
        &self.pos
    }
}

/// The queries the estimators need, over a fixed set of points addressed by
/// their position in [`NeighbourSearch::points`].
pub trait NeighbourSearch: Sync {
    /// Number of points.
    fn len(&self) -> usize;
    /// Whether there are no points.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Dimension of the points.
    fn dim(&self) -> usize;
    /// All points, row-major in this structure's own order.
    fn points(&self) -> &[f64];
    /// Row `i` of [`NeighbourSearch::points`].
    #[inline]
    fn point(&self, i: usize) -> &[f64] {
        let d = self.dim();
        &self.points()[i * d..(i + 1) * d]
    }
    /// Fills `best` with the nearest neighbours of `q` under norm `N`, never
    /// reporting position `skip` (pass `usize::MAX` to skip nothing).
    fn knn<N: Norm>(&self, q: &[f64], skip: usize, best: &mut KBest);
    /// Number of points whose reduced distance to `q` is at most `r`.
    fn count_within<N: Norm>(&self, q: &[f64], r: f64) -> usize;
}

/// Chooses the tree or the scan for `dim`-dimensional points and builds it.
pub fn build(data: &[f64], dim: usize) -> Search {
    if dim <= MAX_TREE_DIM {
        Search::Tree(KdTree::build(data, dim))
    } else {
        Search::Brute(BruteForce::new(data.to_vec(), dim))
    }
}

/// A neighbour structure chosen by dimension.
#[derive(Debug)]
pub enum Search {
    /// Low dimensions.
    Tree(KdTree),
    /// High dimensions.
    Brute(BruteForce),
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Search::Tree($s) => $e,
            Search::Brute($s) => $e,
        }
    };
}

impl NeighbourSearch for Search {
    fn len(&self) -> usize {
        delegate!(self, s => s.len())
    }
    fn dim(&self) -> usize {
        delegate!(self, s => s.dim())
    }
    fn points(&self) -> &[f64] {
        delegate!(self, s => s.points())
    }
    fn knn<N: Norm>(&self, q: &[f64], skip: usize, best: &mut KBest) {
        delegate!(self, s => s.knn::<N>(q, skip, best))
    }
    fn count_within<N: Norm>(&self, q: &[f64], r: f64) -> usize {
        delegate!(self, s => s.count_within::<N>(q, r))
    }
}

/// Brute-force neighbour search: every query scans every point.
#[derive(Debug)]
pub struct BruteForce {
    pts: Vec<f64>,
    dim: usize,
}

impl BruteForce {
    /// Takes the points (row-major, `dim` columns) as they are.
    pub fn new(pts: Vec<f64>, dim: usize) -> Self {
        BruteForce { pts, dim }
    }
}

impl NeighbourSearch for BruteForce {
    fn len(&self) -> usize {
        self.pts.len() / self.dim.max(1)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn points(&self) -> &[f64] {
        &self.pts
    }
    fn knn<N: Norm>(&self, q: &[f64], skip: usize, best: &mut KBest) {
        for (i, p) in self.pts.chunks_exact(self.dim).enumerate() {
            let d = N::dist(q, p);
            if d < best.worst() && i != skip {
                best.push(d, i as u32);
            }
        }
    }
    fn count_within<N: Norm>(&self, q: &[f64], r: f64) -> usize {
        self.pts
            .chunks_exact(self.dim)
            .filter(|p| N::dist(q, p) <= r)
            .count()
    }
}

/// A balanced kd-tree over points reordered into tree order.
#[derive(Debug)]
pub struct KdTree {
    dim: usize,
    pts: Vec<f64>,
    /// `index[i]`: the input row of the point at tree position `i`.
    index: Vec<u32>,
    /// `(start, end)` positions of each node, heap-ordered.
    range: Vec<(u32, u32)>,
    /// Per node: `dim` lower bounds then `dim` upper bounds.
    bounds: Vec<f64>,
    first_leaf: usize,
}

impl KdTree {
    /// Builds the tree over `data`, row-major with `dim` columns. The points
    /// are copied into tree order; `data` is left untouched.
    pub fn build(data: &[f64], dim: usize) -> Self {
        assert!(dim > 0, "dimension must be positive");
        let n = data.len() / dim;
        assert!(n < u32::MAX as usize, "at most 2^32 - 1 points");
        let mut depth = 0usize;
        while (n >> depth) > LEAF {
            depth += 1;
        }
        let n_nodes = (1usize << (depth + 1)) - 1;
        let first_leaf = (1usize << depth) - 1;

        let mut range = vec![(0u32, 0u32); n_nodes];
        range[0] = (0, n as u32);
        for node in 0..first_leaf {
            let (s, e) = range[node];
            let mid = s + (e - s) / 2;
            range[2 * node + 1] = (s, mid);
            range[2 * node + 2] = (mid, e);
        }

        let mut perm: Vec<u32> = (0..n as u32).collect();
        split(data, dim, &mut perm, depth);

        let mut pts = vec![0.0; n * dim];
        pts.par_chunks_mut(dim.max(1) * 1024)
            .enumerate()
            .for_each(|(c, out)| {
                for (j, row) in out.chunks_exact_mut(dim).enumerate() {
                    let src = perm[c * 1024 + j] as usize * dim;
                    row.copy_from_slice(&data[src..src + dim]);
                }
            });

        let mut bounds = vec![0.0; n_nodes * 2 * dim];
        // Leaves from their points, then each level from the one below.
        bounds[first_leaf * 2 * dim..]
            .par_chunks_mut(2 * dim)
            .enumerate()
            .for_each(|(l, b)| {
                let (s, e) = range[first_leaf + l];
                let (lo, hi) = b.split_at_mut(dim);
                lo.fill(f64::INFINITY);
                hi.fill(f64::NEG_INFINITY);
                for p in pts[s as usize * dim..e as usize * dim].chunks_exact(dim) {
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
            let r = &r[..2 * dim];
            for j in 0..dim {
                b[j] = l[j].min(r[j]);
                b[dim + j] = l[dim + j].max(r[dim + j]);
            }
        }
        KdTree {
            dim,
            pts,
            index: perm,
            range,
            bounds,
            first_leaf,
        }
    }

    /// Input row of the point at tree position `i`.
    pub fn original_index(&self, i: usize) -> usize {
        self.index[i] as usize
    }

    #[inline(always)]
    fn lower<N: Norm>(&self, node: usize, q: &[f64]) -> f64 {
        let b = &self.bounds[node * 2 * self.dim..(node + 1) * 2 * self.dim];
        let (lo, hi) = b.split_at(self.dim);
        let mut acc = 0.0;
        for j in 0..self.dim {
            let gap = (lo[j] - q[j]).max(q[j] - hi[j]).max(0.0);
            acc = N::fold(acc, gap);
        }
        acc
    }

    #[inline(always)]
    fn upper<N: Norm>(&self, node: usize, q: &[f64]) -> f64 {
        let b = &self.bounds[node * 2 * self.dim..(node + 1) * 2 * self.dim];
        let (lo, hi) = b.split_at(self.dim);
        let mut acc = 0.0;
        for j in 0..self.dim {
            acc = N::fold(acc, (q[j] - lo[j]).max(hi[j] - q[j]));
        }
        acc
    }

    fn knn_node<N: Norm>(&self, node: usize, q: &[f64], skip: usize, best: &mut KBest) {
        if node >= self.first_leaf {
            let (s, e) = self.range[node];
            let d = self.dim;
            let pts = &self.pts[s as usize * d..e as usize * d];
            for (j, p) in pts.chunks_exact(d).enumerate() {
                let dist = N::dist(q, p);
                let pos = s as usize + j;
                if dist < best.worst() && pos != skip {
                    best.push(dist, pos as u32);
                }
            }
            return;
        }
        let (l, r) = (2 * node + 1, 2 * node + 2);
        let (dl, dr) = (self.lower::<N>(l, q), self.lower::<N>(r, q));
        let (first, second, d2) = if dl <= dr { (l, r, dr) } else { (r, l, dl) };
        if dl.min(dr) < best.worst() {
            self.knn_node::<N>(first, q, skip, best);
        }
        if d2 < best.worst() {
            self.knn_node::<N>(second, q, skip, best);
        }
    }

    fn count_node<N: Norm>(&self, node: usize, q: &[f64], r: f64) -> usize {
        if self.lower::<N>(node, q) > r {
            return 0;
        }
        let (s, e) = self.range[node];
        if self.upper::<N>(node, q) <= r {
            return (e - s) as usize;
        }
        if node >= self.first_leaf {
            let d = self.dim;
            return self.pts[s as usize * d..e as usize * d]
                .chunks_exact(d)
                .filter(|p| N::dist(q, p) <= r)
                .count();
        }
        self.count_node::<N>(2 * node + 1, q, r) + self.count_node::<N>(2 * node + 2, q, r)
    }
}

impl NeighbourSearch for KdTree {
    fn len(&self) -> usize {
        self.index.len()
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn points(&self) -> &[f64] {
        &self.pts
    }
    fn knn<N: Norm>(&self, q: &[f64], skip: usize, best: &mut KBest) {
        if !self.index.is_empty() {
            self.knn_node::<N>(0, q, skip, best);
        }
    }
    fn count_within<N: Norm>(&self, q: &[f64], r: f64) -> usize {
        if self.index.is_empty() {
            return 0;
        }
        self.count_node::<N>(0, q, r)
    }
}

/// Orders `perm` so that each node of a tree of `depth` levels below this
/// one holds its points: the lower half (by the widest coordinate) first.
fn split(data: &[f64], dim: usize, perm: &mut [u32], depth: usize) {
    if depth == 0 || perm.len() < 2 {
        return;
    }
    let mut lo = vec![f64::INFINITY; dim];
    let mut hi = vec![f64::NEG_INFINITY; dim];
    for &p in perm.iter() {
        let row = &data[p as usize * dim..(p as usize + 1) * dim];
        for j in 0..dim {
            lo[j] = lo[j].min(row[j]);
            hi[j] = hi[j].max(row[j]);
        }
    }
    let axis = (0..dim)
        .max_by(|&a, &b| (hi[a] - lo[a]).total_cmp(&(hi[b] - lo[b])))
        .unwrap_or(0);
    let mid = perm.len() / 2;
    perm.select_nth_unstable_by(mid, |&a, &b| {
        data[a as usize * dim + axis].total_cmp(&data[b as usize * dim + axis])
    });
    let (left, right) = perm.split_at_mut(mid);
    if left.len() + right.len() > PAR_BUILD {
        rayon::join(
            || split(data, dim, left, depth - 1),
            || split(data, dim, right, depth - 1),
        );
    } else {
        split(data, dim, left, depth - 1);
        split(data, dim, right, depth - 1);
    }
}

/// Sorted values of one coordinate, answering max-norm range counts by binary
/// search.
#[derive(Debug)]
pub struct Sorted1d {
    values: Vec<f64>,
}

impl Sorted1d {
    /// Sorts a copy of `values`.
    pub fn new(mut values: Vec<f64>) -> Self {
        values.par_sort_unstable_by(f64::total_cmp);
        Sorted1d { values }
    }

    /// Number of values `v` with `|v - q| <= r`, computed so that it agrees
    /// exactly with evaluating that inequality in floating point: `q - v`
    /// is monotone in `v`, so both ends are found by binary search on the
    /// same expressions a direct scan would evaluate.
    #[inline]
    pub fn count_within(&self, q: f64, r: f64) -> usize {
        let lo = self.values.partition_point(|&v| q - v > r);
        let hi = self.values.partition_point(|&v| v - q <= r);
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
            let s = build(&sub, width);
            drop(sub);
            Marginal::Multi(s)
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
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn random(n: usize, d: usize, seed: u64) -> Vec<f64> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        (0..n * d).map(|_| rng.random::<f64>()).collect()
    }

    fn oracle_kth<N: Norm>(data: &[f64], d: usize, i: usize, k: usize) -> f64 {
        let q = &data[i * d..(i + 1) * d];
        let mut all: Vec<f64> = data
            .chunks_exact(d)
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, p)| N::dist(q, p))
            .collect();
        all.sort_by(f64::total_cmp);
        all[k - 1]
    }

    fn check<N: Norm>(n: usize, d: usize, k: usize) {
        let data = random(n, d, (n * 31 + d) as u64);
        let tree = KdTree::build(&data, d);
        let brute = BruteForce::new(data.clone(), d);
        let mut best = KBest::new(k);
        for pos in 0..n {
            let orig = tree.original_index(pos);
            assert_eq!(tree.point(pos), &data[orig * d..(orig + 1) * d]);
            best.clear();
            tree.knn::<N>(tree.point(pos), pos, &mut best);
            let want = oracle_kth::<N>(&data, d, orig, k);
            assert_eq!(best.worst(), want, "n={n} d={d} k={k} pos={pos}");
            best.clear();
            brute.knn::<N>(brute.point(orig), orig, &mut best);
            assert_eq!(best.worst(), want);
            let r = want * 1.3;
            let direct = data
                .chunks_exact(d)
                .filter(|p| N::dist(tree.point(pos), p) <= r)
                .count();
            assert_eq!(tree.count_within::<N>(tree.point(pos), r), direct);
            assert_eq!(brute.count_within::<N>(tree.point(pos), r), direct);
        }
    }

    #[test]
    fn tree_matches_oracle() {
        for &(n, d, k) in &[
            (1, 1, 1),
            (2, 1, 1),
            (13, 2, 3),
            (200, 1, 5),
            (500, 3, 4),
            (300, 7, 2),
            (257, 2, 10),
        ] {
            if n > k {
                check::<MaxNorm>(n, d, k);
                check::<Euclidean>(n, d, k);
            }
        }
    }

    #[test]
    fn sorted_counts_match_scan() {
        let v = random(1000, 1, 5);
        let s = Sorted1d::new(v.clone());
        for (i, &q) in v.iter().enumerate() {
            let r = (i % 17) as f64 * 0.003;
            let direct = v.iter().filter(|&&x| (x - q).abs() <= r).count();
            assert_eq!(s.count_within(q, r), direct);
        }
    }

    #[test]
    fn duplicates_are_handled() {
        let data = vec![1.0; 50 * 2];
        let tree = KdTree::build(&data, 2);
        let mut best = KBest::new(3);
        tree.knn::<MaxNorm>(tree.point(0), 0, &mut best);
        assert_eq!(best.worst(), 0.0);
        assert_eq!(tree.count_within::<MaxNorm>(tree.point(0), 0.0), 50);
    }
}
