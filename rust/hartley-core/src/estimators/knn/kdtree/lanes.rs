//! Queries for whole leaves at once. The points of one leaf (the queries)
//! walk the tree together, one per lane of a 16-lane vector, a bit mask
//! keeping the lanes still active; the leaves they visit are stored
//! lane-wise too (coordinate by coordinate, padded with `+inf`). A node's
//! box is tested against every query of the group in one vector pass, and a
//! query is compared with a whole leaf in one vector pass per coordinate, so
//! the per-point branches of a single-query descent leave the inner loops.
//!
//! Every lane makes the decisions a single-query descent makes (prune a box
//! by a lower bound on its distance, count a whole box by an upper bound),
//! from bounds that are exact in floating point, so the results are those
//! of a brute-force scan evaluating the same distances. A leaf is first
//! compared in reduced precision, on an integer grid under the max-norm
//! ([`Grid`]) and in single precision otherwise ([`Filter`]), which decides
//! it only where its error bound proves the double-precision pass would
//! decide the same. Max-norm queries from a group on the grid test the
//! node boxes on the grid too ([`Steps`]).

use super::{Dim, Dynamic, Fixed, KdTree, Shape};
use crate::estimators::knn::{KBlock, Norm};
use crate::simd::{self, Level};

/// Queries per group and points per stored leaf block.
pub(super) const LANES: usize = 16;

type V = [f64; LANES];
type Mask = u32;

/// Subtrees this many levels above the leaves are scanned whole by the
/// neighbour search rather than descended: that close to the leaves a box
/// test saves less than it costs.
const KNN_SCAN_LEVELS: u32 = 2;

/// As [`KNN_SCAN_LEVELS`], for the range counts.
const COUNT_SCAN_LEVELS: u32 = 2;

/// Coordinates between the checks of [`Group::to_leaf32`] for an early
/// exit: in fewer dimensions a check costs more than it saves.
const EARLY_EXIT: usize = 16;

/// Capacity of the traversal stacks: two entries per tree level suffice.
const STACK: usize = 80;

/// Bit `t` set where `f(t)` holds.
#[inline(always)]
fn mask_of(f: impl Fn(usize) -> bool) -> Mask {
    let mut m = 0;
    for t in 0..LANES {
        m |= (f(t) as Mask) << t;
    }
    m
}

/// Lanes `lo..hi`.
#[inline(always)]
fn span(lo: usize, hi: usize) -> Mask {
    let full = |b: usize| if b >= 32 { Mask::MAX } else { (1 << b) - 1 };
    full(hi) & !full(lo)
}

/// Bits of `m`, lowest first.
#[inline(always)]
fn bits(mut m: Mask) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (m != 0).then(|| {
            let t = m.trailing_zeros() as usize;
            m &= m - 1;
            t
        })
    })
}

/// Sixteen `f64` lanes and the arithmetic the group queries need: a
/// portable version, left to the compiler's vectoriser, an AVX2 one and an
/// AVX-512 one.
/// Values come from [`Vec16::load`] and [`Vec16::splat`], which take a
/// token that exists only where the instructions do.
trait Vec16: Copy {
    type Token: Copy;
    /// The single-precision lanes of the same tier.
    type F: Vec16f<Token = Self::Token>;
    /// The integer lanes of the same tier.
    type I: Vec16i<Token = Self::Token>;
    fn load(tok: Self::Token, p: &V) -> Self;
    fn splat(tok: Self::Token, v: f64) -> Self;
    fn sub(self, o: Self) -> Self;
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// `self > o ? self : o` (operands never NaN).
    fn max(self, o: Self) -> Self;
    fn abs(self) -> Self;
    fn lt(self, o: Self) -> Mask;
    fn le(self, o: Self) -> Mask;
    fn store(self, p: &mut V);

    /// Folds per-coordinate gaps `diff` into reduced distances under `N`,
    /// with the operations of [`Norm::fold`].
    #[inline(always)]
    fn fold<N: Norm>(self, diff: Self) -> Self {
        if N::IS_MAX {
            diff.max(self)
        } else {
            self.add(diff.mul(diff))
        }
    }
}

#[derive(Clone, Copy)]
struct Portable(V);

impl Vec16 for Portable {
    type Token = ();
    type F = Portable32;
    type I = Portable16;
    #[inline(always)]
    fn load(_: (), p: &V) -> Self {
        Portable(*p)
    }
    #[inline(always)]
    fn splat(_: (), v: f64) -> Self {
        Portable([v; LANES])
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Portable(std::array::from_fn(|t| self.0[t] - o.0[t]))
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Portable(std::array::from_fn(|t| self.0[t] + o.0[t]))
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Portable(std::array::from_fn(|t| self.0[t] * o.0[t]))
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        Portable(std::array::from_fn(|t| {
            if self.0[t] > o.0[t] {
                self.0[t]
            } else {
                o.0[t]
            }
        }))
    }
    #[inline(always)]
    fn abs(self) -> Self {
        Portable(self.0.map(f64::abs))
    }
    #[inline(always)]
    fn lt(self, o: Self) -> Mask {
        mask_of(|t| self.0[t] < o.0[t])
    }
    #[inline(always)]
    fn le(self, o: Self) -> Mask {
        mask_of(|t| self.0[t] <= o.0[t])
    }
    #[inline(always)]
    fn store(self, p: &mut V) {
        *p = self.0;
    }
}

/// Sixteen `f32` lanes: what the filter needs.
trait Vec16f: Copy {
    type Token: Copy;
    fn load(tok: Self::Token, p: &F) -> Self;
    fn splat(tok: Self::Token, v: f32) -> Self;
    /// `|self - o|`.
    fn gap(self, o: Self) -> Self;
    /// `self > o ? self : o` (operands never NaN).
    fn max(self, o: Self) -> Self;
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn lt(self, o: Self) -> Mask;
    fn le(self, o: Self) -> Mask;

    /// Folds coordinate gaps `diff` into reduced distances under `N`.
    #[inline(always)]
    fn fold<N: Norm>(self, diff: Self) -> Self {
        if N::IS_MAX {
            diff.max(self)
        } else {
            self.add(diff.mul(diff))
        }
    }

    /// Joins reduced distances folded over two sets of coordinates.
    #[inline(always)]
    fn combine<N: Norm>(self, other: Self) -> Self {
        if N::IS_MAX {
            self.max(other)
        } else {
            self.add(other)
        }
    }
}

type F = [f32; LANES];

#[derive(Clone, Copy)]
struct Portable32(F);

impl Vec16f for Portable32 {
    type Token = ();
    #[inline(always)]
    fn load(_: (), p: &F) -> Self {
        Portable32(*p)
    }
    #[inline(always)]
    fn splat(_: (), v: f32) -> Self {
        Portable32([v; LANES])
    }
    #[inline(always)]
    fn gap(self, o: Self) -> Self {
        Portable32(std::array::from_fn(|t| (self.0[t] - o.0[t]).abs()))
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        Portable32(std::array::from_fn(|t| {
            if self.0[t] > o.0[t] {
                self.0[t]
            } else {
                o.0[t]
            }
        }))
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Portable32(std::array::from_fn(|t| self.0[t] + o.0[t]))
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Portable32(std::array::from_fn(|t| self.0[t] * o.0[t]))
    }
    #[inline(always)]
    fn lt(self, o: Self) -> Mask {
        mask_of(|t| self.0[t] < o.0[t])
    }
    #[inline(always)]
    fn le(self, o: Self) -> Mask {
        mask_of(|t| self.0[t] <= o.0[t])
    }
}

/// Sixteen `i16` lanes: what the [`Grid`] needs. Operands lie within
/// [`GRID_HALF`] of zero, so no difference overflows.
trait Vec16i: Copy {
    type Token: Copy;
    fn load(tok: Self::Token, p: &I) -> Self;
    fn splat(tok: Self::Token, v: i16) -> Self;
    /// `|self - o|`.
    fn gap(self, o: Self) -> Self;
    /// `self - o`, saturating at the ends of the `i16` range.
    fn sub_sat(self, o: Self) -> Self;
    fn max(self, o: Self) -> Self;
    /// Lanes where `self <= o`.
    fn le(self, o: Self) -> Mask;
}

type I = [i16; LANES];

#[derive(Clone, Copy)]
struct Portable16(I);

impl Vec16i for Portable16 {
    type Token = ();
    #[inline(always)]
    fn load(_: (), p: &I) -> Self {
        Portable16(*p)
    }
    #[inline(always)]
    fn splat(_: (), v: i16) -> Self {
        Portable16([v; LANES])
    }
    #[inline(always)]
    fn gap(self, o: Self) -> Self {
        Portable16(std::array::from_fn(|t| (self.0[t] - o.0[t]).abs()))
    }
    #[inline(always)]
    fn sub_sat(self, o: Self) -> Self {
        Portable16(std::array::from_fn(|t| self.0[t].saturating_sub(o.0[t])))
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        Portable16(std::array::from_fn(|t| self.0[t].max(o.0[t])))
    }
    #[inline(always)]
    fn le(self, o: Self) -> Mask {
        mask_of(|t| self.0[t] <= o.0[t])
    }
}

/// The smallest `f32` at least `x`.
#[inline(always)]
fn up32(x: f64) -> f32 {
    let y = x as f32;
    if (y as f64) < x {
        y.next_up()
    } else {
        y
    }
}

/// The largest `f32` at most `x`.
#[inline(always)]
fn down32(x: f64) -> f32 {
    let y = x as f32;
    if (y as f64) > x {
        y.next_down()
    } else {
        y
    }
}

/// Most dimensions the filter serves: up to here the relative errors its
/// [`Margin`] allows for, `(d + 2) 2^-24` in single precision and
/// `(d + 2) 2^-53` in double, stay within the room it leaves.
const FILTER_MAX_DIM: usize = 4096;

/// A cheap first pass for the leaf scans: the points again in single
/// precision, as offsets from a centre `c` (the points' coordinate-wise
/// median), with a bound `slack` on how far a coordinate gap computed from
/// them can lie from the exact one (from which [`Margin`] bounds the
/// distances of each norm). A leaf whose single-precision distances settle
/// a query beyond that bound (no point can enter the k best; every point is
/// surely inside or surely outside the counting ball) costs half the vector
/// work; any other falls back to the exact double-precision pass, so results
/// are unchanged.
///
/// The bound holds for the points within a reach `A` of the centre
/// (`|p_j - c_j| <= A` for every `j`): each offset carries a relative error
/// below `2^-24` from its rounding to single precision (and `2^-53` from
/// the subtraction before), and the single-precision difference of two
/// offsets another `2^-24` of at most `2 A`; so a coordinate gap is off by
/// less than `4.01 * 2^-24 * A` (and by `2^-52 A` at most from the
/// double-precision gap). `slack = 2^-21 A` doubles that. The filter
/// serves only the leaves whose points all lie within that reach (`core`),
/// for query groups from such leaves: `A` is the points' largest offset,
/// capped so that the slack stays below a ten-thousandth of the typical
/// leaf's side, so that a few far outliers leave the rest of the tree
/// filtered.
pub(super) struct Filter {
    pub(super) lanes: Vec<f32>,
    pub(super) slack: f64,
    /// Per leaf, whether its points lie within the reach.
    pub(super) core: Vec<bool>,
}

/// Where the points of a tree lie, for the reduced-precision copies of its
/// leaves ([`Filter`], [`Grid`]): a centre (the coordinate-wise median of
/// the points), each leaf's largest coordinate offset from it, and the
/// typical (median) longest side of the leaves that hold points.
pub(super) struct Spread {
    centre: Vec<f64>,
    offsets: Vec<f64>,
    /// Per leaf, whether it holds points.
    filled: Vec<bool>,
    typical: f64,
}

impl Spread {
    /// The spread of the lane-wise points `lanes` (`dim` coordinates, the
    /// leaves' longest sides `leaf_extent`, the tree's `shape`), or `None`
    /// when no leaf holds a point or the sides are not numbers.
    pub(super) fn measure(
        lanes: &[f64],
        dim: usize,
        leaf_extent: &[f64],
        shape: Shape,
    ) -> Option<Spread> {
        use rayon::prelude::*;
        let n_leaves = leaf_extent.len();
        if n_leaves == 0 || lanes.len() != n_leaves * dim * LANES {
            return None;
        }
        let filled: Vec<bool> = (0..n_leaves)
            .map(|l| {
                let (s, e) = shape.range(n_leaves - 1 + l);
                e > s
            })
            .collect();
        let mut sides: Vec<f64> = (leaf_extent.iter().zip(&filled))
            .filter_map(|(&x, &f)| f.then_some(x))
            .collect();
        if sides.is_empty() {
            return None;
        }
        let mid = sides.len() / 2;
        let typical = *sides.select_nth_unstable_by(mid, f64::total_cmp).1;
        if typical.is_nan() {
            return None;
        }
        let block = dim * LANES;
        // The centre: coordinate-wise medians (of every leaf's points up to
        // 2^10 leaves, of a regular sample of leaves beyond).
        let stride = n_leaves.div_ceil(1 << 10);
        let centre: Vec<f64> = (0..dim)
            .into_par_iter()
            .map(|j| {
                let mut v: Vec<f64> = (0..n_leaves)
                    .step_by(stride)
                    .flat_map(|l| &lanes[l * block + j * LANES..l * block + (j + 1) * LANES])
                    .copied()
                    .filter(|v| v.is_finite())
                    .collect();
                if v.is_empty() {
                    return 0.0;
                }
                let mid = v.len() / 2;
                *v.select_nth_unstable_by(mid, f64::total_cmp).1
            })
            .collect();
        let offset = |l: usize| {
            let b = &lanes[l * block..(l + 1) * block];
            (0..dim).fold(0.0f64, |a, j| {
                b[j * LANES..(j + 1) * LANES]
                    .iter()
                    .filter(|v| v.is_finite())
                    .fold(a, |a, v| a.max((v - centre[j]).abs()))
            })
        };
        let offsets: Vec<f64> = (0..n_leaves).into_par_iter().map(offset).collect();
        Some(Spread {
            centre,
            offsets,
            filled,
            typical,
        })
    }

    /// The leaves within `reach` of the centre (capped at the largest
    /// offset), and that reach a hair above every such leaf's offset,
    /// whatever the rounding; `None` unless the reach lies within
    /// `1e-10..=1e15` and the leaves within it hold at least half of the
    /// leaves that hold points.
    fn core(&self, reach: f64) -> Option<(Vec<bool>, f64)> {
        let largest = self.offsets.iter().fold(0.0f64, |a, &o| a.max(o));
        let reach = largest.min(reach);
        let core: Vec<bool> = self.offsets.iter().map(|&o| o <= reach).collect();
        let reach = reach * (1.0 + 1e-12);
        let filled = self.filled.iter().filter(|&&f| f).count();
        let served = core
            .iter()
            .zip(&self.filled)
            .filter(|(&c, &f)| c && f)
            .count();
        ((1e-10..=1e15).contains(&reach) && 2 * served >= filled).then_some((core, reach))
    }

    /// The core leaves' points lane-wise, as offsets from the centre
    /// converted by `conv` (`fill` in unused slots and in the blocks of other
    /// leaves).
    fn convert<T: Copy + Send + Sync>(
        &self,
        lanes: &[f64],
        dim: usize,
        core: &[bool],
        fill: T,
        conv: impl Fn(f64) -> T + Sync,
    ) -> Vec<T> {
        use rayon::prelude::*;
        let block = dim * LANES;
        let mut out = vec![fill; lanes.len()];
        out.par_chunks_mut(block)
            .zip(lanes.par_chunks(block))
            .zip(core)
            .filter(|(_, &c)| c)
            .for_each(|((o, l), _)| {
                for (j, (o, l)) in o.chunks_mut(LANES).zip(l.chunks(LANES)).enumerate() {
                    for (o, &v) in o.iter_mut().zip(l) {
                        if v.is_finite() {
                            *o = conv(v - self.centre[j]);
                        }
                    }
                }
            });
        out
    }
}

impl Filter {
    /// The filter for the lane-wise points `lanes` (`dim` coordinates,
    /// spread `spread`), or `None` where it would not pay: where the slack
    /// could not be kept below a ten-thousandth of the typical leaf's side
    /// for most of the leaves that hold points (points spread over many
    /// orders of magnitude, or heavily tied), or single precision cannot
    /// hold the offsets; and above [`FILTER_MAX_DIM`] dimensions, where the
    /// [`Margin`] bounds no longer hold.
    pub(super) fn build(lanes: &[f64], dim: usize, spread: &Spread) -> Option<Filter> {
        if dim > FILTER_MAX_DIM {
            return None;
        }
        // The slack below a ten-thousandth of the typical leaf's side.
        let (core, reach) = spread.core(spread.typical * 1e-4 * 2f64.powi(21) * 0.999)?;
        let slack = reach * 2f64.powi(-21);
        let lanes = spread.convert(lanes, dim, &core, f32::INFINITY, |v| v as f32);
        Some(Filter { lanes, slack, core })
    }
}

/// Integer steps of a [`Grid`] on either side of its centre: the offsets,
/// and their differences, fit in an `i16`.
const GRID_HALF: f64 = 16383.0;

/// Grid steps per typical leaf side, at least: finer grids settle more
/// comparisons but reach less far from the centre.
const GRID_PER_SIDE: f64 = 256.0;

/// A cheaper first pass than the [`Filter`] for the max-norm: the points
/// again as integers, their offsets from the centre in steps of `step`
/// rounded to the nearest (within `GRID_HALF` steps). Integer coordinates
/// take half the room of single-precision ones: a leaf's coordinate fills
/// one 256-bit vector, and integer operations settle the comparison.
///
/// An offset rounds by at most half a step (and `1e-10` steps more from
/// the double-precision arithmetic before), so a coordinate gap in steps is
/// off by at most `1 + 2e-10` steps from the exact gap, and so is the
/// max-norm distance, the largest gap; [`Grid::slack`] adds room to that.
/// A leaf, or a query from a leaf, is served only if its points lie within
/// the grid's reach of the centre (`core`): the reach is the points' largest
/// offset, capped so that a step stays below `1 / GRID_PER_SIDE` of the
/// typical leaf's side.
pub(super) struct Grid {
    pub(super) lanes: Vec<i16>,
    pub(super) step: f64,
    pub(super) core: Vec<bool>,
    /// Every node's box on the grid (lower corner, then upper corner, as
    /// the tree's double-precision boxes): each corner offset in steps,
    /// rounded as the points are, so a box holds its points' grid
    /// coordinates, then clamped to the `i16` range. The clamp moves a
    /// corner towards the served queries (all within [`GRID_HALF`] steps of
    /// the centre), so a gap from such a query to a box, computed with
    /// saturating arithmetic, never exceeds the gap to any point in it: a
    /// lower bound on the max-norm distance in steps, even to points off the
    /// grid. An upper bound only where no corner was clamped; a clamped
    /// corner lies more than [`GRID_HALF`] steps from every served query.
    pub(super) bounds: Vec<i16>,
}

impl Grid {
    /// The grid for the lane-wise points `lanes` (`dim` coordinates, node
    /// boxes `bounds`, spread `spread`), or `None` where a step fine enough
    /// would leave most of the leaves that hold points outside its reach.
    pub(super) fn build(
        lanes: &[f64],
        bounds: &[f64],
        dim: usize,
        spread: &Spread,
    ) -> Option<Grid> {
        use rayon::prelude::*;
        let (core, reach) = spread.core(spread.typical / GRID_PER_SIDE * GRID_HALF)?;
        let step = reach / GRID_HALF;
        // Every core offset lies within the reach, so the clamp never acts.
        let lanes = spread.convert(lanes, dim, &core, 0i16, |v| {
            (v / step).round().clamp(-GRID_HALF, GRID_HALF) as i16
        });
        // Each chunk of `dim` values is one corner of one box.
        let bounds = bounds
            .par_chunks(dim)
            .flat_map_iter(|corner| {
                corner.iter().zip(&spread.centre).map(|(&v, &c)| {
                    ((v - c) / step)
                        .round()
                        .clamp(i16::MIN as f64, i16::MAX as f64) as i16
                })
            })
            .collect();
        Some(Grid {
            lanes,
            step,
            core,
            bounds,
        })
    }

    /// Error bound, in steps, of a max-norm distance in steps, with room.
    fn slack() -> f64 {
        1.0 + 1e-6
    }

    /// A distance in steps above which a point surely lies at least the
    /// reduced max-norm distance `worst` away (`i16::MAX`: none such).
    pub(super) fn beyond(step: f64, worst: f64) -> i16 {
        let t = (worst * (1.0 + 1e-12) / step + Self::slack()).floor();
        if t < i16::MAX as f64 {
            t as i16
        } else {
            i16::MAX
        }
    }

    /// A distance in steps up to which a point surely lies within the
    /// reduced max-norm radius `r` (negative: none such).
    pub(super) fn within(step: f64, r: f64) -> i16 {
        let t = (r * (1.0 - 1e-12) / step - Self::slack()).floor();
        t.clamp(-1.0, i16::MAX as f64) as i16
    }
}

/// The filter's thresholds for one norm: single-precision reduced
/// distances that settle a comparison with an exact one.
///
/// Under the max-norm the distance itself is off by less than the slack
/// `s`. Under the Euclidean norm the vector of coordinate gaps is off by
/// less than `sqrt(d) s` in length, and the single-precision sum of `d`
/// squares by a relative `(d + 2) 2^-24` at most (with room), which the
/// thresholds below allow for, as for the relative `(d + 2) 2^-53` by which
/// the double-precision distances the filter stands in for may differ from
/// the true ones (room of 1e-12, above `(d + 2) 2^-53` up to
/// [`FILTER_MAX_DIM`] dimensions, where the factor 1.01 in the single-
/// precision bound also covers the `1 / (1 - d 2^-24)` of its exact form);
/// squares of gaps so small that they fall to subnormals err by far less
/// than the room left (the filter is off where offsets lie below 1e-10).
#[derive(Debug, Clone, Copy)]
struct Margin {
    slack: f64,
    dim: usize,
    max_norm: bool,
}

impl Margin {
    fn new<N: Norm>(tree: &KdTree) -> Self {
        Margin {
            slack: tree.slack32,
            dim: tree.dim,
            max_norm: N::IS_MAX,
        }
    }

    /// Relative error bound of a single-precision sum of squares, with room.
    fn gamma(&self) -> f64 {
        (self.dim as f64 + 2.0) * 2f64.powi(-24) * 1.01
    }

    /// Error bound on a Euclidean distance from the coordinate gaps.
    fn spread(&self) -> f64 {
        (self.dim as f64).sqrt() * self.slack * (1.0 + 1e-9)
    }

    /// A single-precision reduced distance from which on a point lies at
    /// least the reduced distance `worst` away.
    fn beyond(&self, worst: f64) -> f32 {
        if self.max_norm {
            up32((worst + self.slack).next_up())
        } else {
            let b = (worst * (1.0 + 1e-12)).sqrt() + self.spread();
            up32((1.0 + self.gamma()) * b * b * (1.0 + 1e-12))
        }
    }

    /// A single-precision reduced distance up to which a point surely lies
    /// within the reduced radius `r`.
    fn surely_within(&self, r: f64) -> f32 {
        if self.max_norm {
            down32((r - self.slack).next_down())
        } else {
            let t = (r * (1.0 - 1e-12)).sqrt() - self.spread();
            if t > 0.0 {
                down32((1.0 - self.gamma()) * t * t * (1.0 - 1e-12))
            } else {
                -1.0
            }
        }
    }

    /// A single-precision reduced distance above which a point surely lies
    /// beyond the reduced radius `r`.
    fn surely_beyond(&self, r: f64) -> f32 {
        self.beyond(r)
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Mask, Vec16, Vec16f, Vec16i, F, I, V};
    use std::arch::x86_64::*;
    use std::marker::PhantomData;

    /// A token of a tier that includes AVX2.
    pub(super) trait HasAvx2: Copy {}
    impl HasAvx2 for Avx2 {}
    impl HasAvx2 for Avx512 {}

    /// Sixteen `i16` lanes in one 256-bit vector, under the token `T` of a
    /// tier that includes AVX2 (the AVX-512 tier uses them too: its
    /// 512-bit form would need AVX-512VL for the comparison masks).
    #[derive(Clone, Copy)]
    pub(super) struct Ymm16<T>(__m256i, PhantomData<T>);

    impl<T: HasAvx2> Vec16i for Ymm16<T> {
        type Token = T;
        #[inline(always)]
        fn load(_: T, p: &I) -> Self {
            // SAFETY: the token proves AVX2; the load lies in `p`.
            unsafe { Ymm16(_mm256_loadu_si256(p.as_ptr().cast()), PhantomData) }
        }
        #[inline(always)]
        fn splat(_: T, v: i16) -> Self {
            // SAFETY: the token proves AVX2.
            unsafe { Ymm16(_mm256_set1_epi16(v), PhantomData) }
        }
        #[inline(always)]
        fn gap(self, o: Self) -> Self {
            // SAFETY: a `Ymm16` exists, so AVX2 is available.
            unsafe { Ymm16(_mm256_abs_epi16(_mm256_sub_epi16(self.0, o.0)), PhantomData) }
        }
        #[inline(always)]
        fn sub_sat(self, o: Self) -> Self {
            // SAFETY: as in `gap`.
            unsafe { Ymm16(_mm256_subs_epi16(self.0, o.0), PhantomData) }
        }
        #[inline(always)]
        fn max(self, o: Self) -> Self {
            // SAFETY: as in `gap`.
            unsafe { Ymm16(_mm256_max_epi16(self.0, o.0), PhantomData) }
        }
        #[inline(always)]
        fn le(self, o: Self) -> Mask {
            // SAFETY: as in `gap`. The saturating pack keeps each lane's
            // all-ones or all-zeros word as one byte, in lane order.
            let greater = unsafe {
                let c = _mm256_cmpgt_epi16(self.0, o.0);
                let b =
                    _mm_packs_epi16(_mm256_castsi256_si128(c), _mm256_extracti128_si256::<1>(c));
                _mm_movemask_epi8(b) as Mask
            };
            !greater & 0xFFFF
        }
    }

    /// Proof that AVX2 is available.
    #[derive(Clone, Copy)]
    pub(super) struct Avx2(());

    impl Avx2 {
        /// # Safety
        /// The CPU supports AVX2.
        pub(super) unsafe fn new() -> Self {
            Avx2(())
        }
    }

    /// Four 256-bit vectors. A value exists only where an [`Avx2`] token
    /// does, which makes every operation on it sound. Comparisons pack
    /// their lanes with `vmovmskpd`, which the portable code's bit-by-bit
    /// mask does not compile to.
    #[derive(Clone, Copy)]
    pub(super) struct Ymm([__m256d; 4]);

    macro_rules! four {
        ($f:ident, $($v:expr),*) => {
            // SAFETY: a `Ymm` exists, so AVX2 is available.
            unsafe {
                Ymm([
                    $f($($v.0[0]),*),
                    $f($($v.0[1]),*),
                    $f($($v.0[2]),*),
                    $f($($v.0[3]),*),
                ])
            }
        };
    }

    /// The lanes of four comparison results as one mask.
    #[inline(always)]
    fn pack(c: [__m256d; 4]) -> Mask {
        // SAFETY: called on values of a `Ymm`, so AVX2 is available.
        unsafe {
            _mm256_movemask_pd(c[0]) as Mask
                | (_mm256_movemask_pd(c[1]) as Mask) << 4
                | (_mm256_movemask_pd(c[2]) as Mask) << 8
                | (_mm256_movemask_pd(c[3]) as Mask) << 12
        }
    }

    /// Two 256-bit vectors of `f32`, under the same token as [`Ymm`].
    #[derive(Clone, Copy)]
    pub(super) struct Ymm32([__m256; 2]);

    impl Vec16f for Ymm32 {
        type Token = Avx2;
        #[inline(always)]
        fn load(_: Avx2, p: &F) -> Self {
            // SAFETY: the token proves AVX2; both loads lie in `p`.
            unsafe {
                Ymm32([
                    _mm256_loadu_ps(p.as_ptr()),
                    _mm256_loadu_ps(p.as_ptr().add(8)),
                ])
            }
        }
        #[inline(always)]
        fn splat(_: Avx2, v: f32) -> Self {
            // SAFETY: the token proves AVX2.
            let x = unsafe { _mm256_set1_ps(v) };
            Ymm32([x; 2])
        }
        #[inline(always)]
        fn gap(self, o: Self) -> Self {
            // SAFETY: a `Ymm32` exists, so AVX2 is available.
            unsafe {
                let sign = _mm256_set1_ps(-0.0);
                Ymm32([
                    _mm256_andnot_ps(sign, _mm256_sub_ps(self.0[0], o.0[0])),
                    _mm256_andnot_ps(sign, _mm256_sub_ps(self.0[1], o.0[1])),
                ])
            }
        }
        #[inline(always)]
        fn max(self, o: Self) -> Self {
            // SAFETY: as in `gap`; vmaxps returns its second operand unless
            // the first is greater.
            unsafe {
                Ymm32([
                    _mm256_max_ps(self.0[0], o.0[0]),
                    _mm256_max_ps(self.0[1], o.0[1]),
                ])
            }
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            // SAFETY: as in `gap`.
            unsafe {
                Ymm32([
                    _mm256_add_ps(self.0[0], o.0[0]),
                    _mm256_add_ps(self.0[1], o.0[1]),
                ])
            }
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            // SAFETY: as in `gap`.
            unsafe {
                Ymm32([
                    _mm256_mul_ps(self.0[0], o.0[0]),
                    _mm256_mul_ps(self.0[1], o.0[1]),
                ])
            }
        }
        #[inline(always)]
        fn lt(self, o: Self) -> Mask {
            // SAFETY: as in `gap`.
            unsafe {
                _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_LT_OQ>(self.0[0], o.0[0])) as Mask
                    | (_mm256_movemask_ps(_mm256_cmp_ps::<_CMP_LT_OQ>(self.0[1], o.0[1])) as Mask)
                        << 8
            }
        }
        #[inline(always)]
        fn le(self, o: Self) -> Mask {
            // SAFETY: as in `gap`.
            unsafe {
                _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_LE_OQ>(self.0[0], o.0[0])) as Mask
                    | (_mm256_movemask_ps(_mm256_cmp_ps::<_CMP_LE_OQ>(self.0[1], o.0[1])) as Mask)
                        << 8
            }
        }
    }

    /// Sixteen `i16` lanes in one 256-bit vector under the AVX-512 tier,
    /// which has AVX-512VL: comparisons give their mask directly.
    #[derive(Clone, Copy)]
    pub(super) struct Ymm16v(Ymm16<Avx512>);

    impl Vec16i for Ymm16v {
        type Token = Avx512;
        #[inline(always)]
        fn load(tok: Avx512, p: &I) -> Self {
            Ymm16v(Ymm16::load(tok, p))
        }
        #[inline(always)]
        fn splat(tok: Avx512, v: i16) -> Self {
            Ymm16v(Ymm16::splat(tok, v))
        }
        #[inline(always)]
        fn gap(self, o: Self) -> Self {
            Ymm16v(self.0.gap(o.0))
        }
        #[inline(always)]
        fn sub_sat(self, o: Self) -> Self {
            Ymm16v(self.0.sub_sat(o.0))
        }
        #[inline(always)]
        fn max(self, o: Self) -> Self {
            Ymm16v(self.0.max(o.0))
        }
        #[inline(always)]
        fn le(self, o: Self) -> Mask {
            // SAFETY: a `Ymm16v` exists, so AVX-512BW and VL are available.
            unsafe { _mm256_cmple_epi16_mask(self.0 .0, o.0 .0) as Mask }
        }
    }

    impl Vec16 for Ymm {
        type Token = Avx2;
        type F = Ymm32;
        type I = Ymm16<Avx2>;
        #[inline(always)]
        fn load(_: Avx2, p: &V) -> Self {
            // SAFETY: the token proves AVX2; the four loads lie in `p`.
            unsafe {
                Ymm([
                    _mm256_loadu_pd(p.as_ptr()),
                    _mm256_loadu_pd(p.as_ptr().add(4)),
                    _mm256_loadu_pd(p.as_ptr().add(8)),
                    _mm256_loadu_pd(p.as_ptr().add(12)),
                ])
            }
        }
        #[inline(always)]
        fn splat(_: Avx2, v: f64) -> Self {
            // SAFETY: the token proves AVX2.
            let x = unsafe { _mm256_set1_pd(v) };
            Ymm([x; 4])
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            four!(_mm256_sub_pd, self, o)
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            four!(_mm256_add_pd, self, o)
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            four!(_mm256_mul_pd, self, o)
        }
        #[inline(always)]
        fn max(self, o: Self) -> Self {
            // vmaxpd returns its second operand unless the first is greater.
            four!(_mm256_max_pd, self, o)
        }
        #[inline(always)]
        fn abs(self) -> Self {
            // Written out, not through closures, which would be compiled
            // without AVX2 and call these intrinsics out of line.
            // SAFETY: a `Ymm` exists, so AVX2 is available.
            unsafe {
                let sign = _mm256_set1_pd(-0.0);
                Ymm([
                    _mm256_andnot_pd(sign, self.0[0]),
                    _mm256_andnot_pd(sign, self.0[1]),
                    _mm256_andnot_pd(sign, self.0[2]),
                    _mm256_andnot_pd(sign, self.0[3]),
                ])
            }
        }
        #[inline(always)]
        fn lt(self, o: Self) -> Mask {
            // SAFETY: a `Ymm` exists, so AVX2 is available.
            unsafe {
                pack([
                    _mm256_cmp_pd::<_CMP_LT_OQ>(self.0[0], o.0[0]),
                    _mm256_cmp_pd::<_CMP_LT_OQ>(self.0[1], o.0[1]),
                    _mm256_cmp_pd::<_CMP_LT_OQ>(self.0[2], o.0[2]),
                    _mm256_cmp_pd::<_CMP_LT_OQ>(self.0[3], o.0[3]),
                ])
            }
        }
        #[inline(always)]
        fn le(self, o: Self) -> Mask {
            // SAFETY: as in `lt`.
            unsafe {
                pack([
                    _mm256_cmp_pd::<_CMP_LE_OQ>(self.0[0], o.0[0]),
                    _mm256_cmp_pd::<_CMP_LE_OQ>(self.0[1], o.0[1]),
                    _mm256_cmp_pd::<_CMP_LE_OQ>(self.0[2], o.0[2]),
                    _mm256_cmp_pd::<_CMP_LE_OQ>(self.0[3], o.0[3]),
                ])
            }
        }
        #[inline(always)]
        fn store(self, p: &mut V) {
            // SAFETY: as in `lt`; the four stores lie in `p`.
            unsafe {
                for (i, x) in self.0.iter().enumerate() {
                    _mm256_storeu_pd(p.as_mut_ptr().add(4 * i), *x);
                }
            }
        }
    }

    /// Proof that AVX-512F is available.
    #[derive(Clone, Copy)]
    pub(super) struct Avx512(());

    impl Avx512 {
        /// # Safety
        /// The CPU supports AVX-512F.
        pub(super) unsafe fn new() -> Self {
            Avx512(())
        }
    }

    /// Two 512-bit vectors. A value exists only where an [`Avx512`] token
    /// does, which makes every operation on it sound.
    #[derive(Clone, Copy)]
    pub(super) struct Zmm([__m512d; 2]);

    macro_rules! both {
        ($f:ident, $($v:expr),*) => {
            // SAFETY: a `Zmm` exists, so AVX-512F is available.
            unsafe { Zmm([$f($($v.0[0]),*), $f($($v.0[1]),*)]) }
        };
    }

    /// One 512-bit vector of `f32`, under the same token as [`Zmm`].
    #[derive(Clone, Copy)]
    pub(super) struct Zmm32(__m512);

    impl Vec16f for Zmm32 {
        type Token = Avx512;
        #[inline(always)]
        fn load(_: Avx512, p: &F) -> Self {
            // SAFETY: the token proves AVX-512F; the load lies in `p`.
            unsafe { Zmm32(_mm512_loadu_ps(p.as_ptr())) }
        }
        #[inline(always)]
        fn splat(_: Avx512, v: f32) -> Self {
            // SAFETY: the token proves AVX-512F.
            unsafe { Zmm32(_mm512_set1_ps(v)) }
        }
        #[inline(always)]
        fn gap(self, o: Self) -> Self {
            // SAFETY: a `Zmm32` exists, so AVX-512F is available.
            unsafe { Zmm32(_mm512_abs_ps(_mm512_sub_ps(self.0, o.0))) }
        }
        #[inline(always)]
        fn max(self, o: Self) -> Self {
            // SAFETY: as in `gap`; vmaxps returns its second operand unless
            // the first is greater.
            unsafe { Zmm32(_mm512_max_ps(self.0, o.0)) }
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            // SAFETY: as in `gap`.
            unsafe { Zmm32(_mm512_add_ps(self.0, o.0)) }
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            // SAFETY: as in `gap`.
            unsafe { Zmm32(_mm512_mul_ps(self.0, o.0)) }
        }
        #[inline(always)]
        fn lt(self, o: Self) -> Mask {
            // SAFETY: as in `gap`.
            unsafe { _mm512_cmp_ps_mask::<_CMP_LT_OQ>(self.0, o.0) as Mask }
        }
        #[inline(always)]
        fn le(self, o: Self) -> Mask {
            // SAFETY: as in `gap`.
            unsafe { _mm512_cmp_ps_mask::<_CMP_LE_OQ>(self.0, o.0) as Mask }
        }
    }

    impl Vec16 for Zmm {
        type Token = Avx512;
        type F = Zmm32;
        type I = Ymm16v;
        #[inline(always)]
        fn load(_: Avx512, p: &V) -> Self {
            // SAFETY: the token proves AVX-512F; both loads lie in `p`.
            unsafe {
                Zmm([
                    _mm512_loadu_pd(p.as_ptr()),
                    _mm512_loadu_pd(p.as_ptr().add(8)),
                ])
            }
        }
        #[inline(always)]
        fn splat(_: Avx512, v: f64) -> Self {
            // SAFETY: the token proves AVX-512F.
            let x = unsafe { _mm512_set1_pd(v) };
            Zmm([x, x])
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            both!(_mm512_sub_pd, self, o)
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            both!(_mm512_add_pd, self, o)
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            both!(_mm512_mul_pd, self, o)
        }
        #[inline(always)]
        fn max(self, o: Self) -> Self {
            // vmaxpd returns its second operand unless the first is greater.
            both!(_mm512_max_pd, self, o)
        }
        #[inline(always)]
        fn abs(self) -> Self {
            both!(_mm512_abs_pd, self)
        }
        #[inline(always)]
        fn lt(self, o: Self) -> Mask {
            // SAFETY: a `Zmm` exists, so AVX-512F is available.
            let (lo, hi) = unsafe {
                (
                    _mm512_cmp_pd_mask::<_CMP_LT_OQ>(self.0[0], o.0[0]),
                    _mm512_cmp_pd_mask::<_CMP_LT_OQ>(self.0[1], o.0[1]),
                )
            };
            lo as Mask | (hi as Mask) << 8
        }
        #[inline(always)]
        fn le(self, o: Self) -> Mask {
            // SAFETY: as in `lt`.
            let (lo, hi) = unsafe {
                (
                    _mm512_cmp_pd_mask::<_CMP_LE_OQ>(self.0[0], o.0[0]),
                    _mm512_cmp_pd_mask::<_CMP_LE_OQ>(self.0[1], o.0[1]),
                )
            };
            lo as Mask | (hi as Mask) << 8
        }
        #[inline(always)]
        fn store(self, p: &mut V) {
            // SAFETY: as in `lt`; both stores lie in `p`.
            unsafe {
                _mm512_storeu_pd(p.as_mut_ptr(), self.0[0]);
                _mm512_storeu_pd(p.as_mut_ptr().add(8), self.0[1]);
            }
        }
    }
}

/// Every leaf's points lane-wise: leaf `l` occupies `dim` rows of [`LANES`]
/// values from `l * dim * LANES`, unused slots holding `+inf`.
pub(super) fn build_lanes(pts: &[f64], dim: usize, shape: Shape) -> Vec<f64> {
    use rayon::prelude::*;
    let leaves = 1usize << shape.depth;
    let first_leaf = leaves - 1;
    let mut lanes = vec![f64::INFINITY; leaves * dim * LANES];
    lanes
        .par_chunks_mut(dim * LANES)
        .enumerate()
        .for_each(|(l, block)| {
            let (s, e) = shape.range(first_leaf + l);
            debug_assert!(e - s <= LANES);
            for (t, p) in pts[s * dim..e * dim].chunks_exact(dim).enumerate() {
                for (j, &v) in p.iter().enumerate() {
                    block[j * LANES + t] = v;
                }
            }
        });
    lanes
}

/// A group of queries, the points of one leaf, lane-wise: borrowed from
/// the tree's own blocks, so any dimension costs nothing to set up.
struct Group<'a, L: Vec16> {
    tree: &'a KdTree,
    tok: L::Token,
    /// Coordinate `j` of every query, lane-wise.
    q: &'a [V],
    /// The queries in single precision, when the filter serves the group
    /// (empty otherwise).
    q32: &'a [F],
    /// Whether the filter serves the group's leaf, and so its queries (the
    /// leaves scanned must be served too).
    filter: bool,
    /// The queries on the grid, when the grid serves the group (empty
    /// otherwise).
    q16: &'a [I],
    /// Whether the grid serves the group's leaf, and so its queries (the
    /// leaves scanned must be served too; max-norm queries only).
    grid: bool,
}

impl<'a, L: Vec16> Group<'a, L> {
    #[inline(always)]
    fn load(tree: &'a KdTree, tok: L::Token, leaf: usize) -> Self {
        let filter = tree.filtered(leaf);
        let q32: &[F] = if filter {
            tree.lane_block32(leaf).as_chunks().0
        } else {
            &[]
        };
        let grid = tree.on_grid(leaf);
        let q16: &[I] = if grid {
            tree.lane_block16(leaf).as_chunks().0
        } else {
            &[]
        };
        Group {
            tree,
            tok,
            q: tree.lane_block(leaf).as_chunks().0,
            q32,
            filter,
            q16,
            grid,
        }
    }

    /// Whether the group tests node boxes in grid steps ([`Steps`]): for
    /// max-norm queries from a leaf on the grid (a tree with a grid has its
    /// boxes on it too).
    #[inline(always)]
    fn steps<N: Norm>(&self) -> bool {
        N::IS_MAX && self.grid
    }

    /// Whether the grid settles the max-norm comparisons of the group with
    /// leaf `leaf`.
    #[inline(always)]
    fn grid_for<N: Norm>(&self, leaf: usize) -> bool {
        self.steps::<N>() && self.tree.on_grid(leaf)
    }

    /// Max-norm distances in grid steps from query `t` to the points of
    /// leaf `leaf` (meaningless in unused slots), within [`Grid::slack`]
    /// steps of the exact ones. Even and odd coordinates fold into two
    /// accumulators, as in [`Group::to_leaf32`].
    #[inline(always)]
    fn to_leaf16(&self, leaf: usize, t: usize) -> L::I {
        let rows = self.tree.lane_block16(leaf).as_chunks::<LANES>().0;
        // Unrolled in the dimensions most used.
        with_dim!(rows.len(), d => self.to_rows16(d, rows, t); 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
    }

    /// [`Group::to_leaf16`] over the `d` rows `rows`.
    #[inline(always)]
    fn to_rows16<D: Dim>(&self, d: D, rows: &[I], t: usize) -> L::I {
        let (rows, q) = (&rows[..d.get()], &self.q16[..d.get()]);
        // A lane index (below LANES): the remainder spares a bounds check
        // per coordinate.
        let t = t % LANES;
        let tok = self.tok;
        let zero = L::I::splat(tok, 0);
        let (mut even, mut odd) = (zero, zero);
        let mut j = 0;
        while j + 1 < d.get() {
            let a = L::I::splat(tok, q[j][t]).gap(L::I::load(tok, &rows[j]));
            let b = L::I::splat(tok, q[j + 1][t]).gap(L::I::load(tok, &rows[j + 1]));
            even = even.max(a);
            odd = odd.max(b);
            j += 2;
        }
        if j < d.get() {
            even = even.max(L::I::splat(tok, q[j][t]).gap(L::I::load(tok, &rows[j])));
        }
        even.max(odd)
    }

    /// Reduced distances under `N` in single precision from query `t` to
    /// the points of leaf `leaf` (`+inf` in unused slots), within the
    /// [`Margin`] of the tree of the exact ones.
    ///
    /// The reduced distances only grow coordinate by coordinate, so the pass
    /// stops early once every lane exceeds `limit` (checked every
    /// [`EARLY_EXIT`] coordinates): lanes within `limit` then come out
    /// exact, the others somewhere above `limit`.
    ///
    /// Even and odd coordinates fold into two accumulators, so that the
    /// latency of one fold overlaps the next (the maximum is exact in any
    /// order; a sum of squares in this order keeps within the error bound
    /// of [`Margin`], which holds for any order of summation).
    #[inline(always)]
    fn to_leaf32<N: Norm>(&self, leaf: usize, t: usize, limit: f32) -> L::F {
        // No closure for the gap: a closure is compiled apart from the
        // instruction-set tier this function is inlined into.
        let rows = self.tree.lane_block32(leaf).as_chunks::<LANES>().0;
        let tok = self.tok;
        let limit = L::F::splat(tok, limit);
        let zero = L::F::splat(tok, 0.0);
        let (mut even, mut odd) = (zero, zero);
        let mut j = 0;
        while j + 1 < rows.len() {
            if j > 0 && j % EARLY_EXIT == 0 && even.combine::<N>(odd).le(limit) == 0 {
                return even.combine::<N>(odd);
            }
            let a = L::F::splat(tok, self.q32[j][t]).gap(L::F::load(tok, &rows[j]));
            let b = L::F::splat(tok, self.q32[j + 1][t]).gap(L::F::load(tok, &rows[j + 1]));
            even = even.fold::<N>(a);
            odd = odd.fold::<N>(b);
            j += 2;
        }
        if j < rows.len() {
            let a = L::F::splat(tok, self.q32[j][t]).gap(L::F::load(tok, &rows[j]));
            even = even.fold::<N>(a);
        }
        even.combine::<N>(odd)
    }

    #[inline(always)]
    fn splat(&self, v: f64) -> L {
        L::splat(self.tok, v)
    }

    #[inline(always)]
    fn coord(&self, j: usize) -> L {
        L::load(self.tok, &self.q[j])
    }

    /// Lower bounds in grid steps on the max-norm distance from each query
    /// to the points of `node` (the group on the grid; see
    /// [`Grid::bounds`]).
    #[inline(always)]
    fn near16(&self, node: usize) -> L::I {
        self.box16(node, false)
    }

    /// Upper bounds in grid steps on the max-norm distance from each query
    /// to the points of `node`, where no corner of its box was clamped (at
    /// least `GRID_HALF + 1` otherwise).
    #[inline(always)]
    fn far16(&self, node: usize) -> L::I {
        self.box16(node, true)
    }

    /// [`Group::near16`], or with `far` [`Group::far16`]: per coordinate,
    /// the gaps from the queries to the box's far sides or to its near ones
    /// (negative inside), in saturating arithmetic; the largest of them
    /// and 0.
    #[inline(always)]
    fn box16(&self, node: usize, far: bool) -> L::I {
        let (lo, hi) = self.tree.node_box16(node);
        let tok = self.tok;
        let mut acc = L::I::splat(tok, 0);
        for j in 0..self.tree.dim {
            let q = L::I::load(tok, &self.q16[j]);
            let (lo, hi) = (L::I::splat(tok, lo[j]), L::I::splat(tok, hi[j]));
            let (below, above) = if far {
                (q.sub_sat(lo), hi.sub_sat(q))
            } else {
                (lo.sub_sat(q), q.sub_sat(hi))
            };
            acc = acc.max(below).max(above);
        }
        acc
    }

    /// [`Group::children`] in grid steps (max-norm only).
    #[inline(always)]
    fn children16(&self, node: usize, near: L::I) -> (L::I, L::I) {
        let (l, r) = (2 * node + 1, 2 * node + 2);
        let a = self.tree.axis[node] as usize;
        let tok = self.tok;
        let q = L::I::load(tok, &self.q16[a]);
        let (_, left_hi) = self.tree.node_box16(l);
        let (right_lo, _) = self.tree.node_box16(r);
        (
            near.max(q.sub_sat(L::I::splat(tok, left_hi[a]))),
            near.max(L::I::splat(tok, right_lo[a]).sub_sat(q)),
        )
    }

    /// Reduced lower bound on the distance from each query to the box of
    /// `node`.
    #[inline(always)]
    fn near<N: Norm>(&self, node: usize) -> L {
        let (lo, hi) = self.tree.node_box(node);
        let zero = self.splat(0.0);
        let mut acc = zero;
        for j in 0..self.tree.dim {
            let q = self.coord(j);
            let gap = self.splat(lo[j]).sub(q).max(q.sub(self.splat(hi[j])));
            acc = acc.fold::<N>(gap.max(zero));
        }
        acc
    }

    /// Reduced upper bound on the distance from each query to the box of
    /// `node`.
    #[inline(always)]
    fn far<N: Norm>(&self, node: usize) -> L {
        let (lo, hi) = self.tree.node_box(node);
        let mut acc = self.splat(0.0);
        for j in 0..self.tree.dim {
            let q = self.coord(j);
            acc = acc.fold::<N>(q.sub(self.splat(lo[j])).max(self.splat(hi[j]).sub(q)));
        }
        acc
    }

    /// Lower bounds to the boxes of the two children of internal node
    /// `node`, given the bounds `near` to its own box. Under the max-norm
    /// they come from the one coordinate the children were split on: a
    /// child's box lies inside its parent's, so its bound is the parent's,
    /// raised by the gap to the child along that coordinate (still a bound
    /// in floating point, subtraction being monotone). Under other norms,
    /// from the children's whole boxes.
    #[inline(always)]
    fn children<N: Norm>(&self, node: usize, near: L) -> (L, L) {
        let (l, r) = (2 * node + 1, 2 * node + 2);
        if N::IS_MAX {
            let a = self.tree.axis[node] as usize;
            let q = self.coord(a);
            let (_, left_hi) = self.tree.node_box(l);
            let (right_lo, _) = self.tree.node_box(r);
            (
                near.max(q.sub(self.splat(left_hi[a]))),
                near.max(self.splat(right_lo[a]).sub(q)),
            )
        } else {
            (self.near::<N>(l), self.near::<N>(r))
        }
    }

    /// Reduced distances from query `t` to the points of leaf `leaf`
    /// (`+inf` in unused slots).
    #[inline(always)]
    fn to_leaf<N: Norm>(&self, leaf: usize, t: usize) -> L {
        let rows = self.tree.lane_block(leaf).as_chunks::<LANES>().0;
        // As in `to_leaf16`.
        with_dim!(rows.len(), d => self.to_rows::<N, _>(d, rows, t); 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
    }

    /// [`Group::to_leaf`] over the `d` rows `rows`.
    #[inline(always)]
    fn to_rows<N: Norm, D: Dim>(&self, d: D, rows: &[V], t: usize) -> L {
        let (rows, q) = (&rows[..d.get()], &self.q[..d.get()]);
        // A lane index, as in `to_rows16`.
        let t = t % LANES;
        let mut acc = self.splat(0.0);
        for j in 0..d.get() {
            let gap = self.splat(q[j][t]).sub(L::load(self.tok, &rows[j])).abs();
            acc = acc.fold::<N>(gap);
        }
        acc
    }
}

/// Per-lane bounds on the distances from the queries of a group to a
/// node's box, compared with per-lane limits of the same kind: in double
/// precision ([`Exact`], any norm), or in grid steps ([`Steps`], max-norm
/// queries from a group on the grid), where a box test takes one 256-bit
/// integer vector instead of two or four of doubles.
trait Bound<L: Vec16>: Copy {
    /// Lower bounds to the box of `node`.
    fn near<N: Norm>(g: &Group<'_, L>, node: usize) -> Self;
    /// Upper bounds to the box of `node`.
    fn far<N: Norm>(g: &Group<'_, L>, node: usize) -> Self;
    /// Lower bounds to the boxes of the two children of internal node
    /// `node`, from `self`, those to its own.
    fn children<N: Norm>(self, g: &Group<'_, L>, node: usize) -> (Self, Self);
    /// Lanes where `self <= o`.
    fn le(self, o: Self) -> Mask;
    /// Per lane, a limit such that a box whose lower bound exceeds it holds
    /// no point nearer than the lane's `k`-th best so far.
    fn worst(g: &Group<'_, L>, best: &Best) -> Self;
}

/// Bounds in double precision, as reduced distances under the norm.
#[derive(Clone, Copy)]
struct Exact<L>(L);

impl<L: Vec16> Bound<L> for Exact<L> {
    #[inline(always)]
    fn near<N: Norm>(g: &Group<'_, L>, node: usize) -> Self {
        Exact(g.near::<N>(node))
    }
    #[inline(always)]
    fn far<N: Norm>(g: &Group<'_, L>, node: usize) -> Self {
        Exact(g.far::<N>(node))
    }
    #[inline(always)]
    fn children<N: Norm>(self, g: &Group<'_, L>, node: usize) -> (Self, Self) {
        let (l, r) = g.children::<N>(node, self.0);
        (Exact(l), Exact(r))
    }
    #[inline(always)]
    fn le(self, o: Self) -> Mask {
        self.0.le(o.0)
    }
    #[inline(always)]
    fn worst(g: &Group<'_, L>, best: &Best) -> Self {
        Exact(L::load(g.tok, &best.worst))
    }
}

/// Bounds in grid steps on max-norm distances, from the boxes of
/// [`Grid::bounds`]: a lower bound in steps above a lane's threshold
/// ([`Grid::beyond`]) places every point of the box beyond the lane's
/// distance, as it does for a single point.
#[derive(Clone, Copy)]
struct Steps<I>(I);

impl<L: Vec16> Bound<L> for Steps<L::I> {
    #[inline(always)]
    fn near<N: Norm>(g: &Group<'_, L>, node: usize) -> Self {
        Steps(g.near16(node))
    }
    #[inline(always)]
    fn far<N: Norm>(g: &Group<'_, L>, node: usize) -> Self {
        Steps(g.far16(node))
    }
    #[inline(always)]
    fn children<N: Norm>(self, g: &Group<'_, L>, node: usize) -> (Self, Self) {
        debug_assert!(N::IS_MAX, "grid steps bound max-norm distances only");
        let (l, r) = g.children16(node, self.0);
        (Steps(l), Steps(r))
    }
    #[inline(always)]
    fn le(self, o: Self) -> Mask {
        self.0.le(o.0)
    }
    #[inline(always)]
    fn worst(g: &Group<'_, L>, best: &Best) -> Self {
        Steps(L::I::load(g.tok, &best.near16))
    }
}

/// The `k` best candidates of every lane, sorted per lane.
struct Best {
    k: usize,
    dist: Vec<f64>,
    pos: Vec<u32>,
    worst: V,
    /// Per lane, a single-precision reduced distance from which on a point
    /// lies at least `worst` away (for the filter).
    bound: F,
    margin: Margin,
    /// Per lane, a distance in grid steps above which a point lies at least
    /// `worst` away (for the grid, under the max-norm).
    near16: I,
    /// The grid's step, where the grid serves the search (0 otherwise).
    step16: f64,
}

impl Best {
    fn new(k: usize, margin: Margin, step16: f64) -> Self {
        Best {
            k,
            dist: vec![f64::INFINITY; LANES * k],
            pos: vec![u32::MAX; LANES * k],
            worst: [f64::INFINITY; LANES],
            bound: [f32::INFINITY; LANES],
            margin,
            near16: [i16::MAX; LANES],
            step16,
        }
    }

    fn clear(&mut self) {
        self.dist.fill(f64::INFINITY);
        self.pos.fill(u32::MAX);
        self.worst = [f64::INFINITY; LANES];
        self.bound = [f32::INFINITY; LANES];
        self.near16 = [i16::MAX; LANES];
    }

    #[inline(always)]
    fn push(&mut self, t: usize, d: f64, p: u32) {
        let k = self.k;
        let dist = &mut self.dist[t * k..(t + 1) * k];
        let pos = &mut self.pos[t * k..(t + 1) * k];
        let mut j = k - 1;
        while j > 0 && dist[j - 1] > d {
            dist[j] = dist[j - 1];
            pos[j] = pos[j - 1];
            j -= 1;
        }
        dist[j] = d;
        pos[j] = p;
        self.worst[t] = dist[k - 1];
        self.bound[t] = self.margin.beyond(dist[k - 1]);
        if self.step16 > 0.0 {
            self.near16[t] = Grid::beyond(self.step16, dist[k - 1]);
        }
    }
}

/// The k-nearest-neighbour search of one group, bounding boxes by `B`.
struct KnnWalk<'a, L: Vec16, B> {
    g: Group<'a, L>,
    best: &'a mut Best,
    stack: &'a mut Vec<(usize, Mask, B)>,
}

impl<L: Vec16, B: Bound<L>> KnnWalk<'_, L, B> {
    /// Offers the points of `leaf` to the lanes of `m`, never a point to
    /// its own lane when `own` (the group's own leaf).
    #[inline(always)]
    fn scan<N: Norm>(&mut self, leaf: usize, m: Mask, own: bool) {
        let (start, end) = self.g.tree.leaf_range(leaf);
        if start == end {
            return;
        }
        let filled = span(0, end - start);
        let start = start as u32;
        let grid = self.g.grid_for::<N>(leaf);
        let filter = !grid && self.g.filter && self.g.tree.filtered(leaf);
        for t in bits(m) {
            if grid {
                let d = self.g.to_leaf16(leaf, t);
                let mut near = d.le(L::I::splat(self.g.tok, self.best.near16[t])) & filled;
                if own {
                    near &= !(1 << t);
                }
                if near == 0 {
                    continue;
                }
            } else if filter {
                let bound = self.best.bound[t];
                let d = self.g.to_leaf32::<N>(leaf, t, bound);
                let mut near = d.lt(L::F::splat(self.g.tok, bound));
                if own {
                    near &= !(1 << t);
                }
                if near == 0 {
                    continue;
                }
            }
            let dv = self.g.to_leaf::<N>(leaf, t);
            let mut hits = dv.lt(self.g.splat(self.best.worst[t]));
            if own {
                hits &= !(1 << t);
            }
            if hits == 0 {
                continue;
            }
            let mut d = [0.0; LANES];
            dv.store(&mut d);
            for p in bits(hits) {
                // The k-th distance may have dropped since `hits` was taken.
                if d[p] < self.best.worst[t] {
                    self.best.push(t, d[p], start + p as u32);
                }
            }
        }
    }

    /// Searches the subtree of `node` for the lanes of `m`, whose lower
    /// bounds to it are `near`: depth first, the child nearer to most
    /// active lanes first; subtrees within [`KNN_SCAN_LEVELS`] of the
    /// leaves are scanned whole. A loop over an explicit stack, so that it
    /// compiles into the caller's instruction-set tier.
    #[inline(always)]
    fn visit<N: Norm>(&mut self, node: usize, m: Mask, near: B) {
        self.stack.push((node, m, near));
        while let Some((node, m, near)) = self.stack.pop() {
            let m = m & near.le(B::worst(&self.g, self.best));
            if m == 0 {
                continue;
            }
            if let Some(leaves) = self.g.tree.small_subtree(node, KNN_SCAN_LEVELS) {
                for leaf in leaves {
                    self.scan::<N>(leaf, m, false);
                }
                continue;
            }
            let (l, r) = (2 * node + 1, 2 * node + 2);
            let (nl, nr) = near.children::<N>(&self.g, node);
            let left_first = nl.le(nr) & m;
            let (a, na, b, nb) = if 2 * left_first.count_ones() >= m.count_ones() {
                (l, nl, r, nr)
            } else {
                (r, nr, l, nl)
            };
            self.stack.push((b, m, nb));
            self.stack.push((a, m, na));
        }
    }

    /// Lanes of `m` whose search ball lies strictly inside the box of
    /// `node`, inflated a hair so that rounding can only make the test
    /// fail: a point outside the subtree can then lie on the box's boundary
    /// only, where it ties with the splitting coordinate.
    #[inline(always)]
    fn inside<N: Norm>(&self, node: usize, m: Mask) -> Mask {
        let (lo, hi) = self.g.tree.node_box(node);
        let rad = self.best.worst.map(|w| N::expand(w) * (1.0 + 1e-12));
        let rad = L::load(self.g.tok, &rad);
        let mut ok = m;
        for j in 0..self.g.tree.dim {
            let q = self.g.coord(j);
            ok &= self.g.splat(lo[j]).lt(q.sub(rad)) & q.add(rad).lt(self.g.splat(hi[j]));
        }
        ok
    }

    /// The neighbours of the lanes `valid` of the group's leaf: the leaf
    /// itself, then up the tree through each sibling subtree, each lane
    /// retiring once its ball lies strictly inside an ancestor's box.
    #[inline(always)]
    fn run<N: Norm>(&mut self, leaf: usize, valid: Mask) {
        self.scan::<N>(leaf, valid, true);
        let mut node = leaf;
        let mut m = valid;
        while node != 0 {
            m &= !self.inside::<N>(node, m);
            if m == 0 {
                return;
            }
            let sibling = if node % 2 == 1 { node + 1 } else { node - 1 };
            let near = B::near::<N>(&self.g, sibling);
            self.visit::<N>(sibling, m, near);
            node = (node - 1) / 2;
        }
    }
}

/// The k-nearest-neighbour searches in `tree` of the leaf groups that hold
/// the positions `first..first + bests.len()`, of `tree` itself (`queries`
/// `None`: each group walks up from its own leaf, with the filter) or of
/// another tree (each group walks down from the root); the results of those
/// positions go to `bests`.
#[inline(always)]
fn knn_groups<L: Vec16, N: Norm>(
    tok: L::Token,
    tree: &KdTree,
    queries: Option<&KdTree>,
    first: usize,
    bests: &mut KBlock,
) {
    // The group's code is written out here rather than passed in as
    // closures: a closure is compiled apart from the instruction-set tier
    // this function is inlined into, and its vector operations would not
    // be inlined.
    let end = first + bests.len();
    let k = bests.k();
    let step16 = if N::IS_MAX { tree.step16 } else { 0.0 };
    let mut best = Best::new(k, Margin::new::<N>(tree), step16);
    let mut stack = Vec::with_capacity(STACK);
    let mut stack16: Vec<(usize, Mask, Steps<L::I>)> = Vec::with_capacity(STACK);
    let q_tree = queries.unwrap_or(tree);
    for leaf in q_tree.leaf_of(first)..=q_tree.leaf_of(end - 1) {
        let (ls, le) = q_tree.range(leaf);
        let (lo, hi) = (ls.max(first), le.min(end));
        if lo >= hi {
            continue;
        }
        best.clear();
        let g = match queries {
            None => Group::<L>::load(tree, tok, leaf),
            // The filter and the grid are off: the two trees' offsets have
            // different centres.
            Some(queries) => Group {
                tree,
                tok,
                q: queries.lane_block(leaf).as_chunks().0,
                q32: &[],
                filter: false,
                q16: &[],
                grid: false,
            },
        };
        let lanes = span(lo - ls, hi - ls);
        // Boxes in grid steps where the group's queries are on the grid.
        if g.steps::<N>() {
            KnnWalk {
                g,
                best: &mut best,
                stack: &mut stack16,
            }
            .run::<N>(leaf, lanes);
        } else {
            let mut walk = KnnWalk {
                g,
                best: &mut best,
                stack: &mut stack,
            };
            if queries.is_none() {
                walk.run::<N>(leaf, lanes);
            } else {
                let near = Exact::near::<N>(&walk.g, 0);
                walk.visit::<N>(0, lanes, near);
            }
        }
        for i in lo..hi {
            let t = i - ls;
            let (dist, pos) = bests.slot_mut(i - first);
            dist.copy_from_slice(&best.dist[t * k..(t + 1) * k]);
            pos.copy_from_slice(&best.pos[t * k..(t + 1) * k]);
        }
    }
}

/// `KdTree::knn_of_block` by leaf groups.
#[inline(always)]
fn knn_block<L: Vec16, N: Norm>(tok: L::Token, tree: &KdTree, first: usize, bests: &mut KBlock) {
    knn_groups::<L, N>(tok, tree, None, first, bests);
}

/// The neighbours in `tree` of the points at positions `first..` of
/// another tree, `queries`, by leaf groups of `queries`, each group walking
/// `tree` from its root (of the same dimension, which `KdTree::knn_of_other`
/// checks). The single-precision filter is off: the two trees' offsets are
/// taken from different centres.
#[inline(always)]
fn knn_foreign_block<L: Vec16, N: Norm>(
    tok: L::Token,
    tree: &KdTree,
    queries: &KdTree,
    first: usize,
    bests: &mut KBlock,
) {
    knn_groups::<L, N>(tok, tree, Some(queries), first, bests);
}

/// The range counts of one group.
struct CountWalk<'a, L: Vec16> {
    g: Group<'a, L>,
    r: V,
    /// Per lane, single-precision distances at most `inner` are surely
    /// within the radius, and those above `outer` surely beyond it.
    inner: F,
    outer: F,
    /// The same in grid steps, under the max-norm.
    inner16: I,
    outer16: I,
    count: [u32; LANES],
}

impl<L: Vec16> CountWalk<'_, L> {
    /// Counts for the lanes of `m` over the whole tree, depth first, boxes
    /// bounded by `B`: a box whose lower bound exceeds `beyond` lies
    /// outside a lane's ball, one whose upper bound is at most `within`
    /// inside it. Subtrees within [`COUNT_SCAN_LEVELS`] of the leaves are
    /// scanned whole.
    #[inline(always)]
    fn run<N: Norm, B: Bound<L>>(
        &mut self,
        m: Mask,
        stack: &mut Vec<(usize, Mask, B)>,
        beyond: B,
        within: B,
    ) {
        let tree = self.g.tree;
        // A box can lie inside a query ball only if its longest side is at
        // most the ball's diameter (padded against rounding); the upper
        // bound is computed for such boxes only.
        let reach = 2.0 * bits(m).fold(0.0f64, |a, t| a.max(N::expand(self.r[t]))) * (1.0 + 1e-9);
        stack.push((0, m, B::near::<N>(&self.g, 0)));
        while let Some((node, m, near)) = stack.pop() {
            let mut m = m & near.le(beyond);
            if m == 0 {
                continue;
            }
            if tree.extent[node] <= reach {
                let whole = m & B::far::<N>(&self.g, node).le(within);
                let (s, e) = tree.range(node);
                for t in bits(whole) {
                    self.count[t] += (e - s) as u32;
                }
                m &= !whole;
                if m == 0 {
                    continue;
                }
            }
            if let Some(leaves) = tree.small_subtree(node, COUNT_SCAN_LEVELS) {
                for leaf in leaves {
                    let (s, e) = tree.leaf_range(leaf);
                    if s == e {
                        continue;
                    }
                    let filled = span(0, e - s);
                    let grid = self.g.grid_for::<N>(leaf);
                    let filter = !grid && self.g.filter && tree.filtered(leaf);
                    for t in bits(m) {
                        if grid {
                            let d = self.g.to_leaf16(leaf, t);
                            let tok = self.g.tok;
                            let surely = d.le(L::I::splat(tok, self.inner16[t])) & filled;
                            let maybe = d.le(L::I::splat(tok, self.outer16[t])) & filled;
                            if surely == maybe {
                                self.count[t] += surely.count_ones();
                                continue;
                            }
                        } else if filter {
                            let d = self.g.to_leaf32::<N>(leaf, t, self.outer[t]);
                            let surely = d.le(L::F::splat(self.g.tok, self.inner[t])) & filled;
                            let maybe = d.le(L::F::splat(self.g.tok, self.outer[t])) & filled;
                            if surely == maybe {
                                self.count[t] += surely.count_ones();
                                continue;
                            }
                        }
                        let inside = self.g.to_leaf::<N>(leaf, t).le(self.g.splat(self.r[t]));
                        self.count[t] += (inside & filled).count_ones();
                    }
                }
                continue;
            }
            let (nl, nr) = near.children::<N>(&self.g, node);
            stack.push((2 * node + 2, m, nr));
            stack.push((2 * node + 1, m, nl));
        }
    }
}

/// `KdTree::count_block` by leaf groups.
#[inline(always)]
fn count_block<L: Vec16, N: Norm>(
    tok: L::Token,
    tree: &KdTree,
    first: usize,
    radii: &[f64],
    out: &mut [u32],
) {
    let end = first + radii.len();
    let mut stack = Vec::with_capacity(STACK);
    let mut stack16 = Vec::with_capacity(STACK);
    let margin = Margin::new::<N>(tree);
    let grid = N::IS_MAX && tree.step16 > 0.0;
    for leaf in tree.leaf_of(first)..=tree.leaf_of(end - 1) {
        let (ls, le) = tree.range(leaf);
        let (lo, hi) = (ls.max(first), le.min(end));
        if lo >= hi {
            continue;
        }
        let mut r = [f64::NEG_INFINITY; LANES];
        r[lo - ls..hi - ls].copy_from_slice(&radii[lo - first..hi - first]);
        let mut walk = CountWalk {
            g: Group::<L>::load(tree, tok, leaf),
            r,
            inner: r.map(|r| margin.surely_within(r)),
            outer: r.map(|r| margin.surely_beyond(r)),
            // Thresholds on the grid only where it can serve (never read
            // otherwise).
            inner16: r.map(|r| {
                if grid {
                    Grid::within(tree.step16, r)
                } else {
                    -1
                }
            }),
            outer16: r.map(|r| {
                if grid {
                    Grid::beyond(tree.step16, r)
                } else {
                    -1
                }
            }),
            count: [0; LANES],
        };
        // Lanes with a negative radius count nothing.
        let valid = span(lo - ls, hi - ls) & mask_of(|t| r[t] >= 0.0);
        if valid == 0 {
        } else if walk.g.steps::<N>() {
            // Boxes in grid steps. An upper bound there is one only for an
            // unclamped box, whose bound to a served query is at most
            // 2 GRID_HALF; a clamped one's exceeds GRID_HALF (see
            // `Grid::bounds`), so capping the inner thresholds at GRID_HALF
            // keeps clamped boxes from ever counting whole.
            let tok = walk.g.tok;
            let beyond = Steps(L::I::load(tok, &walk.outer16));
            let cap = GRID_HALF as i16;
            let within = Steps(L::I::load(tok, &walk.inner16.map(|v| v.min(cap))));
            walk.run::<N, _>(valid, &mut stack16, beyond, within);
        } else {
            let r = Exact(L::load(walk.g.tok, &r));
            walk.run::<N, _>(valid, &mut stack, r, r);
        }
        out[lo - first..hi - first].copy_from_slice(&walk.count[lo - ls..hi - ls]);
    }
}

/// Generates a dispatcher that runs a generic `inline(always)` function
/// compiled for the best instruction-set tier up to `level`.
macro_rules! tiered {
    ($name:ident, $inner:ident, ($($a:ident : $t:ty),*)) => {
        pub(super) fn $name<N: Norm>(level: Level, $($a: $t),*) {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma,popcnt")]
            fn avx2<N: Norm>($($a: $t),*) {
                // SAFETY: this function runs only where AVX2 is.
                let tok = unsafe { x86::Avx2::new() };
                $inner::<x86::Ymm, N>(tok, $($a),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx2,fma,popcnt")]
            fn avx512<N: Norm>($($a: $t),*) {
                // SAFETY: this function runs only where AVX-512F is.
                let tok = unsafe { x86::Avx512::new() };
                $inner::<x86::Zmm, N>(tok, $($a),*)
            }
            match level.min(simd::detected()) {
                // SAFETY: `detected` reports only what the CPU supports.
                #[cfg(target_arch = "x86_64")]
                Level::Avx512 => unsafe { avx512::<N>($($a),*) },
                // SAFETY: as above.
                #[cfg(target_arch = "x86_64")]
                Level::Avx2 => unsafe { avx2::<N>($($a),*) },
                _ => $inner::<Portable, N>((), $($a),*),
            }
        }
    };
}

tiered!(knn_leaves, knn_block, (tree: &KdTree, first: usize, bests: &mut KBlock));
tiered!(count_leaves, count_block, (tree: &KdTree, first: usize, radii: &[f64], out: &mut [u32]));
tiered!(knn_foreign_leaves, knn_foreign_block, (tree: &KdTree, queries: &KdTree, first: usize, bests: &mut KBlock));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimators::knn::{Euclidean, MaxNorm, NeighbourSearch};
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// Uniform points, points on a coarse grid (ties and duplicates), and
    /// a strongly correlated cloud.
    fn points(kind: usize, n: usize, d: usize, seed: u64) -> Vec<f64> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        match kind {
            0 => (0..n * d)
                .map(|_| rng.random::<f64>() * 8.0 - 4.0)
                .collect(),
            1 => (0..n * d)
                .map(|_| (rng.random::<f64>() * 5.0).floor())
                .collect(),
            _ => (0..n)
                .flat_map(|_| {
                    let t: f64 = rng.random();
                    (0..d)
                        .map(|j| t * (j + 1) as f64 + 1e-3 * rng.random::<f64>())
                        .collect::<Vec<_>>()
                })
                .collect(),
        }
    }

    /// Sorted reduced distances from position `i` to every other position.
    fn others<N: Norm>(tree: &KdTree, i: usize) -> Vec<f64> {
        let mut d: Vec<f64> = (0..tree.len())
            .filter(|&j| j != i)
            .map(|j| N::dist(tree.point(i), tree.point(j)))
            .collect();
        d.sort_by(f64::total_cmp);
        d
    }

    fn check_knn<N: Norm>(tree: &KdTree, k: usize, level: Level, first: usize, len: usize) {
        let mut bests = KBlock::new(k, len);
        knn_leaves::<N>(level, tree, first, &mut bests);
        for (j, i) in (first..first + len).enumerate() {
            let (dist, pos) = (bests.distances(j), bests.positions(j));
            let want = others::<N>(tree, i);
            for (r, (&d, &p)) in dist.iter().zip(pos).enumerate() {
                if r < want.len() {
                    assert_eq!(d, want[r], "{level:?} pos {i} rank {r}");
                    assert!(p as usize != i && (p as usize) < tree.len());
                    assert_eq!(N::dist(tree.point(i), tree.point(p as usize)), d);
                } else {
                    assert_eq!((d, p), (f64::INFINITY, u32::MAX));
                }
            }
            let mut ps: Vec<u32> = pos.iter().copied().filter(|&p| p != u32::MAX).collect();
            ps.sort_unstable();
            ps.dedup();
            assert_eq!(ps.len(), k.min(want.len()), "distinct neighbours");
        }
    }

    fn check_counts<N: Norm>(tree: &KdTree, level: Level, first: usize, radii: &[f64]) {
        let mut out = vec![0u32; radii.len()];
        count_leaves::<N>(level, tree, first, radii, &mut out);
        for (i, (&r, &c)) in (first..).zip(radii.iter().zip(&out)) {
            let want = if r < 0.0 {
                0
            } else {
                (0..tree.len())
                    .filter(|&j| N::dist(tree.point(i), tree.point(j)) <= r)
                    .count()
            };
            assert_eq!(c as usize, want, "{level:?} pos {i} radius {r}");
        }
    }

    /// Neighbours in `tree` of the points of `queries`, against brute force.
    fn check_foreign<N: Norm>(tree: &KdTree, queries: &KdTree, k: usize, level: Level) {
        let (first, len) = (queries.len() / 5, queries.len() - queries.len() / 5);
        let mut bests = KBlock::new(k, len);
        knn_foreign_leaves::<N>(level, tree, queries, first, &mut bests);
        for (j, i) in (first..first + len).enumerate() {
            let (dist, pos) = (bests.distances(j), bests.positions(j));
            let q = queries.point(i);
            let mut want: Vec<f64> = (0..tree.len()).map(|j| N::dist(q, tree.point(j))).collect();
            want.sort_by(f64::total_cmp);
            for (r, (&d, &p)) in dist.iter().zip(pos).enumerate() {
                if r < want.len() {
                    assert_eq!(d, want[r], "{level:?} query {i} rank {r}");
                    assert_eq!(N::dist(q, tree.point(p as usize)), d);
                } else {
                    assert_eq!((d, p), (f64::INFINITY, u32::MAX));
                }
            }
        }
    }

    #[test]
    fn every_unrolled_dimension_matches_brute_force() {
        // The leaf scans are written out for each dimension up to 16: each
        // of them, and the general loop just past them, on every tier, with
        // radii on neighbour distances (where the grid cannot settle and
        // the exact pass decides) and between them.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(17);
        for level in simd::available() {
            for d in 1..=17 {
                for kind in [0, 2] {
                    let n = 300;
                    let tree = KdTree::build(points(kind, n, d, (d * 5 + kind) as u64), d, false);
                    check_knn::<MaxNorm>(&tree, 3, level, 0, n);
                    check_knn::<Euclidean>(&tree, 3, level, 0, n);
                    let radii: Vec<f64> = (0..n)
                        .map(|i| {
                            let own = others::<MaxNorm>(&tree, i);
                            let r = own[rng.random_range(0..own.len())];
                            if rng.random_bool(0.5) {
                                r
                            } else {
                                r * rng.random_range(0.9..1.1)
                            }
                        })
                        .collect();
                    check_counts::<MaxNorm>(&tree, level, 0, &radii);
                }
            }
        }
    }

    #[test]
    fn queries_from_another_tree_match_brute_force_on_every_tier() {
        for level in simd::available() {
            for &(n, m, d) in &[(1, 7, 1), (40, 90, 2), (300, 130, 5), (200, 75, 33)] {
                for kind in 0..3 {
                    let tree = KdTree::build(points(kind, n, d, (n + d + kind) as u64), d, false);
                    let other = points(kind, m, d, (m * 3 + d + kind) as u64);
                    let queries = KdTree::build(other, d, false);
                    for k in [1, 4] {
                        check_foreign::<MaxNorm>(&tree, &queries, k, level);
                        check_foreign::<Euclidean>(&tree, &queries, k, level);
                    }
                }
            }
        }
    }

    #[test]
    fn groups_match_brute_force_on_every_tier() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        for level in simd::available() {
            for &(n, d) in &[
                (1, 1),
                (5, 2),
                (16, 3),
                (17, 1),
                (200, 5),
                // Just past a power of two times 16: 15 of 32 leaves empty.
                (257, 4),
                (700, 10),
                (333, 24),
                (150, 40),
                (70, 300),
            ] {
                for kind in 0..3 {
                    let tree =
                        KdTree::build(points(kind, n, d, (n * 7 + d + kind) as u64), d, false);
                    // Whole trees, and blocks that cut leaves.
                    let blocks = [(0, n), (n / 3, n / 2 - n / 3), (n - 1, 1)];
                    for &(first, len) in blocks.iter().filter(|b| b.1 > 0) {
                        for k in [1, 3, 7] {
                            check_knn::<MaxNorm>(&tree, k, level, first, len);
                            check_knn::<Euclidean>(&tree, k, level, first, len);
                        }
                        let radii: Vec<f64> = (first..first + len)
                            .map(|i| {
                                let own = others::<MaxNorm>(&tree, i);
                                match rng.random_range(0..5) {
                                    0 => -1.0,
                                    1 => 0.0,
                                    // Exactly a neighbour's distance: the
                                    // count must include it.
                                    2 => own
                                        .get(rng.random_range(0..own.len().max(1)))
                                        .copied()
                                        .unwrap_or(0.0),
                                    3 => 100.0,
                                    _ => rng.random::<f64>() * 2.0,
                                }
                            })
                            .collect();
                        check_counts::<MaxNorm>(&tree, level, first, &radii);
                        let squared: Vec<f64> = radii.iter().map(|r| r * r.abs()).collect();
                        check_counts::<Euclidean>(&tree, level, first, &squared);
                    }
                }
            }
        }
    }

    /// Runs the queries under `N` of every tier on `tree`, checks them
    /// against brute force, and returns them.
    fn results<N: Norm>(tree: &KdTree, k: usize, radii: &[f64]) -> Vec<(Vec<f64>, Vec<u32>)> {
        let n = tree.len();
        simd::available()
            .into_iter()
            .map(|level| {
                check_knn::<N>(tree, k, level, 0, n);
                check_counts::<N>(tree, level, 0, radii);
                let mut bests = KBlock::new(k, n);
                knn_leaves::<N>(level, tree, 0, &mut bests);
                let mut counts = vec![0u32; n];
                count_leaves::<N>(level, tree, 0, radii, &mut counts);
                let dist = (0..n).flat_map(|j| bests.distances(j).to_vec()).collect();
                (dist, counts)
            })
            .collect()
    }

    /// Reduced radii under `N` at, and a hair either side of, each point's
    /// neighbour distances, and at the filter's and the grid's error bounds
    /// from them.
    fn boundary_radii<N: Norm>(tree: &KdTree, rng: &mut Xoshiro256PlusPlus) -> Vec<f64> {
        let margin = Margin::new::<N>(tree);
        let room = if N::IS_MAX {
            tree.slack32
        } else {
            margin.spread()
        };
        (0..tree.len())
            .map(|i| {
                let own = others::<N>(tree, i);
                let d = own[rng.random_range(0..own.len().min(40))];
                let shifted = |by: f64| N::reduce((N::expand(d) + by).max(0.0));
                let step = tree.step16;
                match rng.random_range(0..12) {
                    0 => d,
                    1 => d.next_up(),
                    2 => d.next_down(),
                    3 => shifted(room),
                    4 => shifted(-room),
                    5 => d * (1.0 + margin.gamma()),
                    6 => d * (1.0 - margin.gamma()),
                    7 => shifted(step),
                    8 => shifted(-step),
                    9 => shifted(2.0 * step),
                    10 => shifted(-2.0 * step),
                    _ => d * 0.5,
                }
            })
            .collect()
    }

    /// Turns the grid off.
    fn drop_grid(tree: &mut KdTree) {
        tree.lanes16.clear();
        tree.core16.clear();
        tree.bounds16.clear();
    }

    /// The results under `N` with the filter and the grid, with the filter
    /// only, and with neither agree (and with brute force, on every tier).
    fn filter_changes_nothing<N: Norm>(mut tree: KdTree, k: usize, seed: u64) {
        assert!(!tree.lanes32.is_empty(), "filter on");
        assert!(!tree.lanes16.is_empty(), "grid on");
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let radii = boundary_radii::<N>(&tree, &mut rng);
        let with = results::<N>(&tree, k, &radii);
        drop_grid(&mut tree);
        assert_eq!(with, results::<N>(&tree, k, &radii));
        tree.lanes32.clear();
        tree.core32.clear();
        assert_eq!(with, results::<N>(&tree, k, &radii));
    }

    #[test]
    fn filter_changes_no_result() {
        for &(n, d, kind) in &[
            (3000, 6, 0),
            (2000, 2, 2),
            (1500, 10, 0),
            (500, 64, 2),
            (400, 300, 0),
        ] {
            let pts = points(kind, n, d, (n + d) as u64);
            let tree = KdTree::build(pts.clone(), d, false);
            filter_changes_nothing::<MaxNorm>(tree, 4, 3);
            let tree = KdTree::build(pts, d, false);
            filter_changes_nothing::<Euclidean>(tree, 4, 4);
        }
    }

    /// Clusters whose members differ by a few grid steps and fractions of
    /// one, so that many grid distances fall within the grid's error bound
    /// of the exact ones, in few and in many dimensions.
    #[test]
    fn grid_is_exact_on_near_ties() {
        for (n, d) in [(2400, 3), (2400, 6), (600, 40)] {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(d as u64);
            let mut pts = points(0, n, d, 31);
            let step = KdTree::build(pts.clone(), d, false).step16;
            assert!(step > 0.0);
            for c in 0..n / 30 {
                let centre: Vec<f64> = pts[c * 30 * d..c * 30 * d + d].to_vec();
                for m in 1..10 {
                    let row = (c * 30 + m) * d;
                    for j in 0..d {
                        let steps = rng.random_range(-4i32..=4) as f64 * (0.5 + m as f64 / 8.0);
                        pts[row + j] = centre[j] + steps * step;
                    }
                }
            }
            let tree = KdTree::build(pts.clone(), d, false);
            assert!(tree.step16 > 0.0 && (tree.step16 / step - 1.0).abs() < 0.5);
            filter_changes_nothing::<MaxNorm>(tree, 3, 12);
        }
    }

    #[test]
    fn filter_is_exact_on_near_ties() {
        for (n, d) in [(2400, 5), (800, 200)] {
            near_ties(n, d);
        }
    }

    /// Spread points, and tight clusters whose members differ by a few
    /// multiples of the filter's error bound: many single-precision
    /// distances then fall within it of the exact ones.
    fn near_ties(n: usize, d: usize) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        let mut pts = points(0, n, d, 21);
        let reach = 4.0 * (1.0 + 1e-12);
        let slack = reach * 2f64.powi(-21);
        for c in 0..n / 40 {
            let centre: Vec<f64> = pts[c * 40 * d..c * 40 * d + d].to_vec();
            for m in 1..8 {
                let row = (c * 40 + m) * d;
                for j in 0..d {
                    let step = rng.random_range(-3i32..=3) as f64;
                    pts[row + j] = centre[j] + step * slack * (0.5 + m as f64 / 4.0);
                }
            }
        }
        filter_changes_nothing::<MaxNorm>(KdTree::build(pts.clone(), d, false), 3, 5);
        filter_changes_nothing::<Euclidean>(KdTree::build(pts, d, false), 3, 6);
    }

    #[test]
    fn filter_stays_off_above_its_dimension_bound() {
        for (d, on) in [(FILTER_MAX_DIM, true), (FILTER_MAX_DIM + 1, false)] {
            let tree = KdTree::build(points(0, 40, d, 8), d, false);
            assert_eq!(!tree.lanes32.is_empty(), on, "d = {d}");
        }
    }

    #[test]
    fn filter_and_grid_stay_off_where_they_cannot_help() {
        // Ties broken by a tiny jitter: most leaves lie inside one tie.
        let tied: Vec<f64> = points(0, 4000, 3, 4)
            .iter()
            .enumerate()
            .map(|(i, e)| ((i / 3 % 8) >> (i % 3) & 1) as f64 + 1e-10 * e)
            .collect();
        let tree = KdTree::build(tied, 3, false);
        assert!(tree.lanes32.is_empty() && tree.lanes16.is_empty());
        // Offsets beyond single precision.
        let tree = KdTree::build(
            points(0, 800, 3, 6).iter().map(|v| v * 1e40).collect(),
            3,
            false,
        );
        assert!(tree.lanes32.is_empty() && tree.lanes16.is_empty());
    }

    #[test]
    fn filter_serves_the_core_beside_far_outliers() {
        // A cloud far smaller than the spread of the points (three far
        // outliers): the outliers' leaves go unfiltered, the rest filtered,
        // and no result changes, queries from and scans of either kind.
        for (scale, far) in [(1e-6, 1e9), (1.0, 1e6), (1.0, -3e3)] {
            let mut pts = points(0, 3000, 4, 5);
            for (i, v) in pts.iter_mut().enumerate() {
                *v = if i < 4 || (40..44).contains(&i) || i % 997 == 0 {
                    far * (1.0 + i as f64 * 1e-3)
                } else {
                    1.0 + *v * scale
                };
            }
            let tree = KdTree::build(pts.clone(), 4, false);
            assert!(!tree.lanes32.is_empty(), "filter on");
            let served = tree.core32.iter().filter(|&&c| c).count();
            assert!(served < tree.core32.len() && 2 * served >= tree.core32.len());
            let on_grid = tree.core16.iter().filter(|&&c| c).count();
            assert!(on_grid < tree.core16.len() && 2 * on_grid >= tree.core16.len());
            for i in 0..tree.len() {
                let leaf = tree.leaf_of(i);
                let p = &tree.points()[i * 4..(i + 1) * 4];
                if p.iter().any(|v| v.abs() > 1e2) {
                    assert!(!tree.filtered(leaf), "an outlier's leaf is not served");
                    assert!(!tree.on_grid(leaf), "an outlier's leaf is off the grid");
                }
            }
            filter_changes_nothing::<MaxNorm>(tree, 3, 8);
            filter_changes_nothing::<Euclidean>(KdTree::build(pts, 4, false), 3, 9);
        }
        // Points spread log-uniformly over twenty orders of magnitude: the
        // filter serves the leaves of the largest ones.
        let spread: Vec<f64> = points(0, 4000, 3, 7)
            .iter()
            .map(|v| v.signum() * 10f64.powf(2.5 * v))
            .collect();
        let tree = KdTree::build(spread.clone(), 3, false);
        assert!(tree.core32.iter().any(|&c| !c));
        filter_changes_nothing::<MaxNorm>(tree, 3, 10);
        filter_changes_nothing::<Euclidean>(KdTree::build(spread, 3, false), 3, 11);
    }

    #[test]
    fn boxes_in_grid_steps_bound_points_beyond_the_grid() {
        // A dense cloud sets a fine grid; sparse points near the edge of its
        // reach are served by it, and far points beyond the `i16` range
        // clamp the corners of the boxes that hold them. Queries near the
        // edge with radii of 1 to 4 grid reaches would count a clamped box
        // whole if its upper bound were trusted: every count and neighbour
        // must still match brute force.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(23);
        let mut pts = Vec::new();
        for i in 0..4000 {
            let y = rng.random_range(-1.0..1.0);
            let x = match i % 20 {
                0 | 1 => rng.random_range(8.0..9.5) * if i % 40 < 20 { 1.0 } else { -1.0 },
                2 => rng.random_range(40.0..60.0) * if i % 40 < 20 { 1.0 } else { -1.0 },
                _ => rng.random_range(-1.0..1.0),
            };
            pts.extend([x, y]);
        }
        let tree = KdTree::build(pts, 2, false);
        let step = tree.step16;
        assert!(step > 0.0);
        let reach = GRID_HALF * step;
        assert!((9.5..16.0).contains(&reach), "reach {reach}");
        let clamped = tree
            .bounds16
            .chunks(4)
            .zip(&tree.extent)
            .any(|(b, &e)| e.is_finite() && b.iter().any(|&v| v == i16::MAX || v == i16::MIN));
        assert!(clamped, "some boxes clamped");
        let edge = (0..tree.len())
            .filter(|&i| tree.on_grid(tree.leaf_of(i)) && tree.point(i)[0].abs() > 0.7 * reach);
        assert!(
            edge.count() > 20,
            "queries served near the edge of the reach"
        );
        let radii: Vec<f64> = (0..tree.len())
            .map(|i| match i % 3 {
                0 => rng.random_range(reach..4.0 * reach),
                1 => {
                    let own = others::<MaxNorm>(&tree, i);
                    own[rng.random_range(0..own.len())]
                }
                _ => rng.random_range(0.0..0.1),
            })
            .collect();
        for level in simd::available() {
            check_counts::<MaxNorm>(&tree, level, 0, &radii);
            check_knn::<MaxNorm>(&tree, 3, level, 0, tree.len());
        }
    }

    #[test]
    fn every_tier_gives_identical_results() {
        let (n, d, k) = (3000, 6, 4);
        let tree = KdTree::build(points(0, n, d, 11), d, false);
        let radii: Vec<f64> = (0..n).map(|i| (i % 13) as f64 * 0.1).collect();
        let mut reference = None;
        for level in simd::available() {
            let mut bests = KBlock::new(k, n);
            knn_leaves::<MaxNorm>(level, &tree, 0, &mut bests);
            let mut counts = vec![0u32; n];
            count_leaves::<MaxNorm>(level, &tree, 0, &radii, &mut counts);
            let got: (Vec<Vec<f64>>, Vec<u32>) = (
                (0..n).map(|j| bests.distances(j).to_vec()).collect(),
                counts,
            );
            match &reference {
                None => reference = Some(got),
                Some(r) => assert!(*r == got, "{level:?} differs"),
            }
        }
    }
}
