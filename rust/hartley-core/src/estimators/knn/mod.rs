//! Exact neighbour search for the estimators.
//!
//! A kd-tree with an implicit, balanced layout (node `i` has children `2i+1`
//! and `2i+2`, every leaf at the same depth) over points stored in tree
//! order, so that a leaf's points are contiguous and queries issued in tree
//! order touch memory that is already cached. Every node keeps its bounding
//! box: k-nearest-neighbour queries prune by the box's lower distance bound,
//! and range counts add whole subtrees whose box lies inside the query ball.
//! The queries of one leaf walk the tree together and compare with a whole
//! leaf per vector pass, so where the dimension leaves the boxes nothing to
//! prune the same walk is a blocked brute-force scan: one structure serves
//! every dimension.

mod kdtree;
mod marginal;

pub use kdtree::KdTree;
pub use marginal::{build_with_marginals, Hint, Marginal, Sorted1d};

/// A norm on R^d, expressed through a monotone "reduced" distance (the
/// distance itself for the max-norm, its square for the Euclidean norm) so
/// that comparisons never take square roots.
pub trait Norm: Copy + Send + Sync + 'static {
    /// Whether `fold` takes the maximum (the max-norm) rather than adding
    /// squares (the Euclidean norm).
    const IS_MAX: bool;
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

/// The larger of two numbers that are never NaN. Not `f64::max`, which
/// adds the handling of NaN to every step of a search: the plain
/// comparison compiles to one `max` instruction.
#[inline(always)]
pub(crate) fn greater(a: f64, b: f64) -> f64 {
    if a > b {
        a
    } else {
        b
    }
}

/// The smaller of two numbers that are never NaN (see [`greater`]).
#[inline(always)]
pub(crate) fn lesser(a: f64, b: f64) -> f64 {
    if a < b {
        a
    } else {
        b
    }
}

/// The max-norm (Chebyshev, L-infinity), the norm of the KSG estimators.
#[derive(Debug, Clone, Copy, Default)]
pub struct MaxNorm;

impl Norm for MaxNorm {
    const IS_MAX: bool = true;
    #[inline(always)]
    fn fold(acc: f64, diff: f64) -> f64 {
        greater(diff, acc)
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
    const IS_MAX: bool = false;
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

    #[inline(always)]
    pub(crate) fn push(&mut self, d: f64, p: u32) {
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

/// The `k` nearest neighbours of each query of a block, in two flat
/// buffers: a block of thousands of queries costs two allocations, not two
/// per query.
#[derive(Debug, Clone)]
pub struct KBlock {
    k: usize,
    dist: Vec<f64>,
    pos: Vec<u32>,
}

impl KBlock {
    /// Room for `len` queries of `k >= 1` neighbours each.
    pub fn new(k: usize, len: usize) -> Self {
        KBlock {
            k,
            dist: vec![f64::INFINITY; k * len],
            pos: vec![u32::MAX; k * len],
        }
    }

    /// Neighbours per query.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Number of queries.
    pub fn len(&self) -> usize {
        self.dist.len() / self.k
    }

    /// Whether the block holds no query.
    pub fn is_empty(&self) -> bool {
        self.dist.is_empty()
    }

    /// Reduced distances of the neighbours of query `i`, nearest first.
    #[inline]
    pub fn distances(&self, i: usize) -> &[f64] {
        &self.dist[i * self.k..(i + 1) * self.k]
    }

    /// Positions of the neighbours of query `i`, nearest first.
    #[inline]
    pub fn positions(&self, i: usize) -> &[u32] {
        &self.pos[i * self.k..(i + 1) * self.k]
    }

    /// The k-th smallest reduced distance of query `i`.
    #[inline]
    pub fn worst(&self, i: usize) -> f64 {
        self.dist[(i + 1) * self.k - 1]
    }

    /// The distances and positions of query `i`, to fill.
    #[inline]
    pub(crate) fn slot_mut(&mut self, i: usize) -> (&mut [f64], &mut [u32]) {
        let r = i * self.k..(i + 1) * self.k;
        (&mut self.dist[r.clone()], &mut self.pos[r])
    }

    /// Stores `best` as the result of query `i`.
    #[inline]
    pub(crate) fn set(&mut self, i: usize, best: &KBest) {
        let (d, p) = self.slot_mut(i);
        d.copy_from_slice(&best.dist);
        p.copy_from_slice(&best.pos);
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
    /// Fills `best` with the nearest neighbours of the point at position `i`,
    /// itself excluded.
    fn knn_of<N: Norm>(&self, i: usize, best: &mut KBest) {
        self.knn::<N>(self.point(i), i, best);
    }
    /// [`NeighbourSearch::knn_of`] for the consecutive positions
    /// `first..first + bests.len()`, query `i - first` of `bests` each.
    fn knn_of_block<N: Norm>(&self, first: usize, bests: &mut KBlock) {
        let mut best = KBest::new(bests.k());
        for j in 0..bests.len() {
            best.clear();
            self.knn_of::<N>(first + j, &mut best);
            bests.set(j, &best);
        }
    }
    /// Number of points whose reduced distance to `q` is at most `r`.
    fn count_within<N: Norm>(&self, q: &[f64], r: f64) -> usize;
}

/// Builds the neighbour structure over `data` (row-major, `dim` columns),
/// keeping each point's input row ([`KdTree::original_index`]); stops with
/// [`crate::error::Error::Cancelled`] soon after `ctl` is cancelled.
pub fn build(
    data: Vec<f64>,
    dim: usize,
    ctl: &crate::par::Control,
) -> crate::error::Result<KdTree> {
    KdTree::build_checked(data, dim, true, ctl)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// Brute-force neighbour search, every query scanning every point: the
    /// oracle the tree is checked against.
    #[derive(Debug)]
    struct BruteForce {
        pts: Vec<f64>,
        dim: usize,
    }

    impl BruteForce {
        /// Takes the points (row-major, `dim` columns) as they are.
        fn new(pts: Vec<f64>, dim: usize) -> Self {
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
        check_on::<N>(random(n, d, (n * 31 + d) as u64), n, d, k);
        // Heavy ties: coordinates on a coarse grid.
        let coarse = random(n, d, 99).iter().map(|v| (v * 6.0).floor()).collect();
        check_on::<N>(coarse, n, d, k);
    }

    fn check_on<N: Norm>(data: Vec<f64>, n: usize, d: usize, k: usize) {
        let tree = KdTree::build(data.clone(), d, true);
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
            tree.knn_of::<N>(pos, &mut best);
            assert_eq!(best.worst(), want, "self query n={n} d={d} k={k} pos={pos}");
            best.clear();
            brute.knn::<N>(brute.point(orig), orig, &mut best);
            assert_eq!(best.worst(), want);
            let mut block = KBlock::new(k, (n - orig).min(3));
            brute.knn_of_block::<N>(orig, &mut block);
            assert_eq!(block.worst(0), want);
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
            (150, 40, 3),
            (60, 257, 4),
            (257, 2, 10),
        ] {
            if n > k {
                check::<MaxNorm>(n, d, k);
                check::<Euclidean>(n, d, k);
            }
        }
    }

    #[test]
    fn a_cancelled_build_stops_and_a_running_one_is_unchanged() {
        use crate::error::Error;
        use crate::par::Control;
        let (n, d) = (150_000, 3);
        let data = random(n, d, 5);
        let ctl = Control::new();
        let tree = build(data.clone(), d, &ctl).unwrap();
        let plain = KdTree::build(data.clone(), d, true);
        assert_eq!(tree.points(), plain.points());
        assert!((0..n).all(|p| tree.original_index(p) == plain.original_index(p)));
        ctl.cancel();
        assert!(matches!(
            build(data.clone(), d, &ctl),
            Err(Error::Cancelled)
        ));
        assert!(matches!(
            Marginal::from_columns(data, d, &ctl),
            Err(Error::Cancelled)
        ));
    }

    #[test]
    fn duplicates_are_handled() {
        let data = vec![1.0; 50 * 2];
        let tree = KdTree::build(data, 2, false);
        let mut best = KBest::new(3);
        tree.knn::<MaxNorm>(tree.point(0), 0, &mut best);
        assert_eq!(best.worst(), 0.0);
        assert_eq!(tree.count_within::<MaxNorm>(tree.point(0), 0.0), 50);
    }
}
