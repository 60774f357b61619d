//! Blocked, parallel pairwise matrices and pairwise sums.
//!
//! Inner-product metrics ([`InnerMap`]) compute each block of rows of the
//! output with a matrix product written straight into the output array,
//! then apply the map to each tile while it is still in cache, so the
//! distance matrix is never materialised twice. Row blocks run in
//! parallel; every element is computed by the same sequential product
//! whatever the thread count, so results do not depend on it.
//!
//! The sums ([`inner_sum`]) run the same tiles through a scratch buffer
//! and add them up in double precision, using O(n) extra memory: the MMD,
//! energy distance and Cauchy-Schwarz divergence never build an n x n
//! matrix. Partial sums are combined in a fixed order.

use rayon::prelude::*;

use super::float::Float;
use super::metric::{DirectMap, InnerMap, Norms};
use crate::error::{Error, Result};
use crate::par::{par_block_sum, Control, Threads};

/// Rows of the output computed by one task.
const ROW_BLOCK: usize = 256;
/// Columns of one tile: with 64 rows, a 64 x 256 tile of `f32` is 64 KiB.
const COL_BLOCK: usize = 2048;
/// Side of the square tiles of the pairwise sums.
const SUM_BLOCK: usize = 256;

/// A borrowed, validated row-major matrix of `n >= 1` rows and `d >= 1`
/// finite columns.
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a, T> {
    data: &'a [T],
    n: usize,
    d: usize,
}

impl<'a, T: Float> Rows<'a, T> {
    /// Views `data` as `n` rows of `d` columns, checking the shape and that
    /// every value is finite; errors name the argument `arg`.
    pub fn new(data: &'a [T], n: usize, d: usize, arg: &'static str) -> Result<Self> {
        if n.checked_mul(d) != Some(data.len()) {
            return Err(Error::invalid(
                arg,
                format!("{} values cannot form {n} rows of {d} columns", data.len()),
            ));
        }
        if n == 0 {
            return Err(Error::invalid(arg, "is empty (0 samples)"));
        }
        if d == 0 {
            return Err(Error::invalid(arg, "has 0 columns"));
        }
        if let Some(pos) = data.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                arg,
                row: pos / d,
                col: pos % d,
            });
        }
        Ok(Rows { data, n, d })
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
    pub fn data(&self) -> &'a [T] {
        self.data
    }

    /// Row `i`.
    #[inline]
    pub fn row(&self, i: usize) -> &'a [T] {
        &self.data[i * self.d..(i + 1) * self.d]
    }

    /// Rows `lo..hi`, contiguous.
    #[inline]
    pub fn block(&self, lo: usize, hi: usize) -> &'a [T] {
        &self.data[lo * self.d..hi * self.d]
    }
}

/// Fails unless `y` has as many columns as `x`.
pub fn same_width<T: Float>(x: &Rows<'_, T>, y: &Rows<'_, T>, arg: &'static str) -> Result<()> {
    if x.cols() != y.cols() {
        return Err(Error::invalid(
            arg,
            format!(
                "has {} features but X has {}; both must have the same number of columns",
                y.cols(),
                x.cols()
            ),
        ));
    }
    Ok(())
}

/// The per-row quantity of `norms` for every row, accumulated in double
/// precision.
pub fn row_norms<T: Float>(x: &Rows<'_, T>, norms: Norms) -> Vec<T> {
    if norms == Norms::None {
        return vec![T::ZERO; x.rows()];
    }
    (0..x.rows())
        .into_par_iter()
        .with_min_len(256)
        .map(|i| {
            let s: f64 = x.row(i).iter().map(|v| v.to_f64() * v.to_f64()).sum();
            T::from_f64(if norms == Norms::Euclidean {
                s.sqrt()
            } else {
                s
            })
        })
        .collect()
}

/// `y`, or `x` itself when `y` is `None`, and whether the comparison is
/// of `x` with itself; fails unless `y` has as many columns as `x`.
fn other<'a, T: Float>(x: Rows<'a, T>, y: Option<Rows<'a, T>>) -> Result<(Rows<'a, T>, bool)> {
    match y {
        Some(y) => {
            same_width(&x, &y, "Y")?;
            Ok((y, false))
        }
        None => Ok((x, true)),
    }
}

/// Both sides of an inner-product comparison, with their row norms, ready
/// to be turned into tiles of the metric.
struct Tiles<'a, 'm, T, M> {
    x: Rows<'a, T>,
    y: Rows<'a, T>,
    nx: Vec<T>,
    ny: Vec<T>,
    same: bool,
    map: &'m M,
}

impl<'a, 'm, T: Float, M: InnerMap<T>> Tiles<'a, 'm, T, M> {
    /// Computes the row norms (in parallel, on the current pool).
    fn new(x: Rows<'a, T>, y: Rows<'a, T>, same: bool, map: &'m M) -> Self {
        let nx = row_norms(&x, M::NORMS);
        let ny = if same {
            nx.clone()
        } else {
            row_norms(&y, M::NORMS)
        };
        Tiles {
            x,
            y,
            nx,
            ny,
            same,
            map,
        }
    }

    /// Writes the tile of rows `r0..r1` of `x` against rows `c0..c1` of `y`
    /// into `out`, one row of the tile every `stride` values: the matrix
    /// product first, then the map applied row by row while the tile is
    /// still in cache, with the exact self value on the diagonal of a
    /// self-comparison.
    fn fill(&self, out: &mut [T], stride: usize, r0: usize, r1: usize, c0: usize, c1: usize) {
        let (x, y, w) = (&self.x, &self.y, c1 - c0);
        T::gemm_nt(out, stride, x.block(r0, r1), y.block(c0, c1), x.cols());
        for i in r0..r1 {
            let row = &mut out[(i - r0) * stride..(i - r0) * stride + w];
            let ny = &self.ny[c0..c1];
            self.map
                .map_row(row, self.nx[i], ny, x.row(i), |j| y.row(c0 + j));
            if self.same && (c0..c1).contains(&i) {
                if let Some(v) = self.map.self_value() {
                    row[i - c0] = v;
                }
            }
        }
    }
}

/// The row-major `n x m` matrix whose blocks of [`ROW_BLOCK`] rows
/// `fill(r0, r1, rows)` writes, blocks in parallel, with a check for
/// cancellation before each block and progress counted in rows.
fn row_blocks<T: Float>(
    n: usize,
    m: usize,
    ctl: &Control,
    fill: impl Fn(usize, usize, &mut [T]) + Sync,
) -> Result<Vec<T>> {
    ctl.add_total(n as u64);
    let mut out = vec![T::ZERO; n * m];
    out.par_chunks_mut(ROW_BLOCK * m)
        .enumerate()
        .try_for_each(|(b, chunk)| -> Result<()> {
            ctl.check()?;
            let r0 = b * ROW_BLOCK;
            let r1 = (r0 + ROW_BLOCK).min(n);
            fill(r0, r1, chunk);
            ctl.advance((r1 - r0) as u64);
            Ok(())
        })?;
    Ok(out)
}

/// `sum_b block(b, r0, r1)` over the blocks `r0..r1` of [`SUM_BLOCK`] of
/// the `n` rows, blocks in parallel, added in block order (see
/// [`par_block_sum`]); progress is counted in rows.
fn sum_row_blocks(
    n: usize,
    ctl: &Control,
    block: impl Fn(usize, usize, usize) -> f64 + Sync,
) -> Result<f64> {
    ctl.add_total(n as u64);
    par_block_sum(n, SUM_BLOCK, ctl, |r| {
        block(r.start / SUM_BLOCK, r.start, r.end)
    })
}

/// The full `n x m` matrix of `map` between the rows of `x` and those of
/// `y` (of `x` itself when `y` is `None`), row-major.
///
/// A self-comparison computes the tiles on and above the diagonal only
/// and mirrors them, so it costs half the products and is exactly
/// symmetric.
pub fn inner_pairwise<T: Float, M: InnerMap<T>>(
    x: Rows<'_, T>,
    y: Option<Rows<'_, T>>,
    map: &M,
    threads: Threads,
    ctl: &Control,
) -> Result<Vec<T>> {
    let (y, same) = other(x, y)?;
    let (n, m) = (x.rows(), y.rows());
    threads.install(|| {
        let tiles = Tiles::new(x, y, same, map);
        let mut out = row_blocks(n, m, ctl, |r0, r1, chunk| {
            let first = if same { r0 } else { 0 };
            for c0 in (first..m).step_by(COL_BLOCK) {
                let c1 = (c0 + COL_BLOCK).min(m);
                tiles.fill(&mut chunk[c0..], m, r0, r1, c0, c1);
            }
            if same {
                // Inside the diagonal block, the lower part from the upper.
                for i in r0..r1 {
                    for j in r0..i {
                        chunk[(i - r0) * m + j] = chunk[(j - r0) * m + i];
                    }
                }
            }
        })?;
        if same {
            mirror_lower(&mut out, n);
        }
        Ok(out)
    })
}

/// A raw pointer that may cross threads; see [`mirror_lower`] for why the
/// accesses through it do not race.
#[derive(Clone, Copy)]
struct SharedPtr<T>(*mut T);
// SAFETY: only used by `mirror_lower`, whose tasks write disjoint cells and
// read cells that no task writes.
unsafe impl<T: Send> Send for SharedPtr<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SharedPtr<T> {}

/// Fills, in the square `n x n` row-major `out`, every cell `(i, j)` with
/// `j < r0(i)` (left of the diagonal block of row `i`) from `(j, i)`.
fn mirror_lower<T: Float>(out: &mut [T], n: usize) {
    assert_eq!(out.len(), n * n);
    let ptr = SharedPtr(out.as_mut_ptr());
    (0..n.div_ceil(ROW_BLOCK)).into_par_iter().for_each(|b| {
        let p = ptr;
        let r0 = b * ROW_BLOCK;
        let r1 = (r0 + ROW_BLOCK).min(n);
        for j0 in (0..r0).step_by(64) {
            let j1 = (j0 + 64).min(r0);
            for i in r0..r1 {
                for j in j0..j1 {
                    // SAFETY: i, j < n, so both offsets are inside `out`.
                    // Writes go to (i, j) with j < r0(i) <= i: strictly
                    // below the diagonal blocks, each cell by the one task
                    // owning row i. Reads come from (j, i) with
                    // j < r0(i) <= i, i.e. in rows of earlier blocks at
                    // columns at or right of their diagonal block, which
                    // this pass never writes. No cell is both read and
                    // written, and no cell is written twice.
                    unsafe {
                        *p.0.add(i * n + j) = *p.0.add(j * n + i);
                    }
                }
            }
        }
    });
}

/// The full `n x m` matrix of a coordinate-wise metric, row-major.
pub fn direct_pairwise<T: Float, M: DirectMap<T>>(
    x: Rows<'_, T>,
    y: Option<Rows<'_, T>>,
    map: &M,
    threads: Threads,
    ctl: &Control,
) -> Result<Vec<T>> {
    let (y, _) = other(x, y)?;
    let (n, m) = (x.rows(), y.rows());
    threads.install(|| {
        row_blocks(n, m, ctl, |r0, r1, chunk| {
            // Column tiles keep a block of y in cache across the rows.
            for c0 in (0..m).step_by(COL_BLOCK) {
                let c1 = (c0 + COL_BLOCK).min(m);
                for i in r0..r1 {
                    let xi = x.row(i);
                    let row = &mut chunk[(i - r0) * m..(i - r0 + 1) * m];
                    for (j, v) in row.iter_mut().enumerate().take(c1).skip(c0) {
                        *v = map.eval(xi, y.row(j));
                    }
                }
            }
        })
    })
}

/// `sum_{i, j} map(x_i, y_j)` over all pairs (over all ordered pairs of
/// rows of `x`, the diagonal included, when `y` is `None`), in double
/// precision, tile by tile without storing the matrix. Self-sums visit
/// each unordered pair of tiles once.
pub fn inner_sum<T: Float, M: InnerMap<T>>(
    x: Rows<'_, T>,
    y: Option<Rows<'_, T>>,
    map: &M,
    ctl: &Control,
) -> Result<f64> {
    let (y, same) = other(x, y)?;
    let tiles = Tiles::new(x, y, same, map);
    let (m, bm) = (y.rows(), y.rows().div_ceil(SUM_BLOCK));
    sum_row_blocks(x.rows(), ctl, |bi, r0, r1| {
        let mut tile = vec![T::ZERO; SUM_BLOCK * SUM_BLOCK];
        let mut total = 0.0;
        for bj in (if same { bi } else { 0 })..bm {
            let c0 = bj * SUM_BLOCK;
            let c1 = (c0 + SUM_BLOCK).min(m);
            let w = c1 - c0;
            tiles.fill(&mut tile, w, r0, r1, c0, c1);
            let mut s = 0.0;
            for t in tile[..(r1 - r0) * w].chunks_exact(w) {
                s += t.iter().map(|v| v.to_f64()).sum::<f64>();
            }
            total += if same && bj != bi { 2.0 * s } else { s };
        }
        total
    })
}

/// `sum_i map(x_i, x_i)`: the diagonal of a self-comparison.
pub fn inner_diagonal_sum<T: Float, M: InnerMap<T>>(x: Rows<'_, T>, map: &M) -> f64 {
    if let Some(v) = map.self_value() {
        return v.to_f64() * x.rows() as f64;
    }
    let nx = row_norms(&x, M::NORMS);
    (0..x.rows())
        .map(|i| {
            let xi = x.row(i);
            let dot: f64 = xi.iter().map(|v| v.to_f64() * v.to_f64()).sum();
            map.map(T::from_f64(dot), nx[i], nx[i], xi, xi).to_f64()
        })
        .sum()
}

/// `sum_{i, j} map(x_i, y_j)` for a coordinate-wise map, as [`inner_sum`]
/// (self-sums visit each unordered pair once).
pub fn direct_sum<T: Float, M: DirectMap<T>>(
    x: Rows<'_, T>,
    y: Option<Rows<'_, T>>,
    map: &M,
    ctl: &Control,
) -> Result<f64> {
    let (y, same) = other(x, y)?;
    let m = y.rows();
    sum_row_blocks(x.rows(), ctl, |_, r0, r1| {
        let mut total = 0.0;
        for i in r0..r1 {
            let xi = x.row(i);
            let mut row = 0.0;
            if same {
                row += map.eval(xi, xi).to_f64();
                for j in i + 1..m {
                    row += 2.0 * map.eval(xi, y.row(j)).to_f64();
                }
            } else {
                for j in 0..m {
                    row += map.eval(xi, y.row(j)).to_f64();
                }
            }
            total += row;
        }
        total
    })
}
