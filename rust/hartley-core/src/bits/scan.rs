//! Exhaustive k-nearest-neighbour scans over packed codes.
//!
//! The database is cut into blocks of rows that fit in the L2 cache; every
//! query of a chunk scans a block before the next block is read, so a batch
//! of queries reads the codes from memory once per chunk rather than once per
//! query. Work is split over query chunks and over row ranges, so that a
//! single query is still scanned by every thread; partial results merge in a
//! fixed order, and ties go to the lower id, so results do not depend on the
//! number of threads.

use super::popcount::{prefetch_ahead, Kernel};
use super::topk::{best_k, order, Histogram, Neighbour};
use crate::error::{Error, Result};
use crate::par::{Control, Threads};
use crate::simd::Level;

/// A row-major matrix of packed codes, each row `stride` little-endian words
/// (the code bytes, zero-padded to a multiple of 8).
#[derive(Debug, Clone, Copy)]
pub struct Codes<'a> {
    words: &'a [u64],
    stride: usize,
    n_bits: usize,
}

impl<'a> Codes<'a> {
    /// Wraps `words` as rows of `stride` words holding `n_bits`-bit codes.
    pub fn new(words: &'a [u64], stride: usize, n_bits: usize) -> Result<Self> {
        if stride == 0 || n_bits == 0 || n_bits > stride * 64 {
            return Err(Error::invalid(
                "codes",
                format!("{n_bits} bits do not fit rows of {stride} words"),
            ));
        }
        if !words.len().is_multiple_of(stride) {
            return Err(Error::invalid(
                "codes",
                "length is not a whole number of rows",
            ));
        }
        Ok(Codes {
            words,
            stride,
            n_bits,
        })
    }

    /// Number of rows.
    #[inline]
    pub fn len(&self) -> usize {
        self.words.len() / self.stride
    }

    /// Whether there are no rows.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Words per row.
    #[inline]
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Bits per code.
    #[inline]
    pub fn n_bits(&self) -> usize {
        self.n_bits
    }

    /// Row `i`.
    #[inline]
    pub fn row(&self, i: usize) -> &'a [u64] {
        &self.words[i * self.stride..(i + 1) * self.stride]
    }

    /// All words, row after row.
    #[inline]
    pub fn words(&self) -> &'a [u64] {
        self.words
    }
}

/// Rows per block: about 256 KiB of codes, so a block stays in L2 while the
/// queries of a chunk scan it. A multiple of 64 rows, so that every block
/// starts on a 64-byte boundary of the (aligned) codes and holds whole
/// groups of eight rows for [`Kernel::xor_rows`].
pub fn block_rows(stride: usize) -> usize {
    ((256 * 1024) / (stride * 8)).clamp(256, 1 << 16) & !63
}

/// Rows counted in full at the start of a scan, before the k-th best of
/// them bounds the rest (at least `4k`, rounded up to whole groups of 64 rows
/// so the rest starts aligned as a block does): enough for a tight bound,
/// few enough that the counting and selection pass costs little.
const HEAD_ROWS: usize = 1024;

/// Queries scanned together over each block.
const QUERY_CHUNK: usize = 32;

/// Per-task buffers.
pub struct Scratch {
    /// Integer distances of one block.
    pub ints: Vec<u32>,
    /// Float distances of one block.
    pub floats: Vec<f32>,
    /// Histogram for integer selection.
    pub hist: Histogram,
}

/// The shape of a scan.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Database rows.
    pub n_rows: usize,
    /// Queries.
    pub n_queries: usize,
    /// Neighbours kept per query.
    pub k: usize,
    /// Rows per block ([`block_rows`]).
    pub block: usize,
    /// Largest integer distance (the code width).
    pub max_distance: u32,
}

/// One call of the `visit` function of [`drive`]: a block of rows for one
/// query.
#[derive(Debug, Clone, Copy)]
pub struct Visit {
    /// The query.
    pub query: usize,
    /// Its index in the task's prepared state.
    pub slot: usize,
    /// First row of the block.
    pub first: usize,
    /// Rows in the block.
    pub rows: usize,
    /// The `k`-th best distance among the rows the task has seen so far, or
    /// infinity while it has seen fewer than `k` candidates.
    pub bound: f32,
}

/// Keeps the `k` best of `best` (unordered) and returns the largest of
/// their distances.
fn compact(best: &mut Vec<Neighbour>, k: usize) -> f32 {
    best.select_nth_unstable_by(k - 1, order);
    best.truncate(k);
    best[k - 1].distance
}

/// Runs `visit(prepared, v, best, scratch)` over every block for every
/// query, and returns the `k` best per query. `prepare(queries)` builds
/// per-query state once per task (`v.slot` indexes it). `visit` appends to
/// `best` every row of the block whose distance is below `v.bound`, or while
/// the bound is infinite at least the block's `k` best: blocks come in
/// increasing row order, so a row at the bound loses its tie to a kept row.
///
/// `best` is compacted lazily (once it holds `2k` candidates, by a linear
/// selection without sorting), so the cost of keeping the top `k` does not
/// grow with the number of blocks times `k log k`; the bound then lags the
/// true `k`-th distance a little, which only lets a few more rows in.
pub fn drive<P, G, F>(
    plan: Plan,
    threads: Threads,
    ctl: &Control,
    prepare: G,
    visit: F,
) -> Result<Vec<Vec<Neighbour>>>
where
    G: Fn(std::ops::Range<usize>) -> P + Sync,
    F: Fn(&P, Visit, &mut Vec<Neighbour>, &mut Scratch) + Sync,
{
    let Plan {
        n_rows,
        n_queries,
        k,
        block,
        max_distance,
    } = plan;
    if n_queries == 0 {
        return Ok(Vec::new());
    }
    let n_blocks = n_rows.div_ceil(block).max(1);
    let q_chunks = n_queries.div_ceil(QUERY_CHUNK);
    // Enough tasks to balance the threads, cutting rows only as far as
    // needed (one thread needs no cut: each range starts its own bound).
    let tasks_wanted = if threads.get() == 1 {
        1
    } else {
        threads.get() * 4
    };
    let ranges = tasks_wanted.div_ceil(q_chunks).clamp(1, n_blocks);
    let blocks_per_range = n_blocks.div_ceil(ranges);
    let ranges = n_blocks.div_ceil(blocks_per_range);
    ctl.add_total((n_rows * n_queries) as u64);
    let tasks: Vec<(usize, usize)> = (0..q_chunks)
        .flat_map(|qc| (0..ranges).map(move |r| (qc, r)))
        .collect();
    let compact_at = k.saturating_mul(2);
    let parts: Vec<Result<Vec<Vec<Neighbour>>>> = threads.map(tasks.clone(), |_, (qc, r)| {
        let queries = qc * QUERY_CHUNK..((qc + 1) * QUERY_CHUNK).min(n_queries);
        let mut best: Vec<Vec<Neighbour>> = queries
            .clone()
            .map(|_| Vec::with_capacity(compact_at.min(4096) + 64))
            .collect();
        let mut bounds = vec![f32::INFINITY; queries.len()];
        let mut scratch = Scratch {
            ints: vec![0; block],
            floats: vec![0.0; block],
            hist: Histogram::new(max_distance),
        };
        let prepared = prepare(queries.clone());
        let b0 = r * blocks_per_range;
        let b1 = ((r + 1) * blocks_per_range).min(n_blocks);
        for b in b0..b1 {
            ctl.check()?;
            let first = b * block;
            let rows = block.min(n_rows - first);
            for (slot, query) in queries.clone().enumerate() {
                let list = &mut best[slot];
                let v = Visit {
                    query,
                    slot,
                    first,
                    rows,
                    bound: bounds[slot],
                };
                visit(&prepared, v, list, &mut scratch);
                if list.len() >= compact_at || (list.len() >= k && bounds[slot] == f32::INFINITY) {
                    bounds[slot] = compact(list, k);
                }
            }
            ctl.advance((rows * queries.len()) as u64);
        }
        Ok(best)
    });
    let mut out: Vec<Vec<Neighbour>> = (0..n_queries).map(|_| Vec::new()).collect();
    for (&(qc, _), part) in tasks.iter().zip(parts) {
        for (slot, mut cands) in part?.into_iter().enumerate() {
            if cands.len() > k {
                compact(&mut cands, k);
            }
            out[qc * QUERY_CHUNK + slot].extend(cands);
        }
    }
    for cands in &mut out {
        best_k(cands, k);
    }
    Ok(out)
}

/// `q` as a query of exactly `N` words: a slice of constant length once
/// inlined, so the row loops over it unroll.
#[inline(always)]
fn fixed<const N: usize>(q: &[u64]) -> &[u64; N] {
    q.try_into().expect("query of the code width")
}

/// Hamming distances from `q` to each row of `db` (rows of `q.len()`
/// words), row by row; `stream` as for [`Kernel::xor_rows`].
#[inline(always)]
fn fill_rows<K: Kernel>(kern: K, q: &[u64], db: &[u64], out: &mut [u32], stream: bool) {
    for (row, d) in db.chunks_exact(q.len()).zip(out.iter_mut()) {
        if stream {
            prefetch_ahead(row);
        }
        *d = kern.xor_count(q, row);
    }
}

/// Appends the rows of `db` (rows of `q.len()` words) below `bound` from
/// `q`, row by row; `stream` as for [`Kernel::xor_rows`].
#[inline(always)]
fn below_rows<K: Kernel>(
    kern: K,
    q: &[u64],
    db: &[u64],
    bound: u32,
    first: u64,
    out: &mut Vec<Neighbour>,
    stream: bool,
) {
    for (i, row) in db.chunks_exact(q.len()).enumerate() {
        if stream {
            prefetch_ahead(row);
        }
        let d = kern.xor_count(q, row);
        if d < bound {
            out.push(Neighbour {
                distance: d as f32,
                id: first + i as u64,
            });
        }
    }
}

/// Evaluates `$body` with `$n` bound to `$stride` as a constant, for the
/// code widths that get a loop of their own (every width up to 1,024 bits,
/// and common wider ones), so the word loop unrolls with the query in
/// registers; other widths evaluate `$other`.
macro_rules! by_width {
    ($stride:expr, |$n:ident| $body:expr, $other:expr) => {
        by_width!(@arms $stride, $n, $body, $other;
            1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 24 32 48 64)
    };
    (@arms $stride:expr, $n:ident, $body:expr, $other:expr; $($w:literal)*) => {
        match $stride {
            $($w => {
                const $n: usize = $w;
                $body
            })*
            _ => $other,
        }
    };
}

/// Appends every row of `db` at Hamming distance below `bound` from `q`;
/// `stream` when the rows come from memory rather than from cache (see
/// [`Kernel::xor_rows`]).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn scan_below<K: Kernel>(
    kern: K,
    q: &[u64],
    db: &[u64],
    stride: usize,
    bound: u32,
    first: u64,
    out: &mut Vec<Neighbour>,
    stream: bool,
) {
    if kern.xor_rows_below(q, db, bound, first, out, stream) {
        return;
    }
    by_width!(
        stride,
        |N| below_rows(kern, fixed::<N>(q), db, bound, first, out, stream),
        below_rows(kern, q, db, bound, first, out, stream)
    )
}

/// Hamming distances from `q` to each row of `db` (rows of `stride`
/// words); `stream` as for [`scan_below`].
#[inline(always)]
pub fn fill_hamming<K: Kernel>(
    kern: K,
    q: &[u64],
    db: &[u64],
    stride: usize,
    out: &mut [u32],
    stream: bool,
) {
    if kern.xor_rows(q, db, out, stream) {
        return;
    }
    by_width!(
        stride,
        |N| fill_rows(kern, fixed::<N>(q), db, out, stream),
        fill_rows(kern, q, db, out, stream)
    )
}

/// The `k` nearest rows of `db` to each query by Hamming distance, ties to
/// the lower id, on SIMD tier `level`. Fewer than `k` rows give shorter lists.
pub fn hamming_knn(
    db: Codes<'_>,
    queries: Codes<'_>,
    k: usize,
    level: Level,
    threads: Threads,
    ctl: &Control,
) -> Result<Vec<Vec<Neighbour>>> {
    check_pair(&db, &queries)?;
    let stride = db.stride();
    let max = db.n_bits() as u32;
    let block = block_rows(stride);
    let plan = Plan {
        n_rows: db.len(),
        n_queries: queries.len(),
        k,
        block,
        max_distance: max,
    };
    crate::with_kernel!(level, |kern| drive(
        plan,
        threads,
        ctl,
        |_| (),
        |_, v, best, s| {
            let (first, rows) = (v.first, v.rows);
            let rows_words = &db.words()[first * stride..(first + rows) * stride];
            let qrow = queries.row(v.query);
            // The first query of a chunk to visit a block reads it from
            // memory; the others find it in cache.
            let stream = v.slot == 0;
            if v.bound == f32::INFINITY {
                // No bound yet: the k best of a short head of the block, by
                // histogram; the k-th of them bounds the rest (a later row
                // at that distance loses its tie to a head row).
                let head = rows.min(HEAD_ROWS.max(k.saturating_mul(4)).next_multiple_of(64));
                let ints = &mut s.ints[..head];
                kern.within(
                    #[inline(always)]
                    |kern| {
                        fill_hamming(
                            kern,
                            qrow,
                            &rows_words[..head * stride],
                            stride,
                            ints,
                            stream,
                        )
                    },
                );
                let kept = best.len();
                s.hist.select(ints, first as u64, k, max, best);
                if head < rows {
                    let bound = best[kept..]
                        .iter()
                        .map(|c| c.distance as u32)
                        .max()
                        .unwrap_or(max + 1);
                    let rest = &rows_words[head * stride..];
                    let from = (first + head) as u64;
                    kern.within(
                        #[inline(always)]
                        |kern| scan_below(kern, qrow, rest, stride, bound, from, best, stream),
                    );
                }
            } else {
                let bound = v.bound as u32;
                kern.within(
                    #[inline(always)]
                    |kern| {
                        scan_below(
                            kern,
                            qrow,
                            rows_words,
                            stride,
                            bound,
                            first as u64,
                            best,
                            stream,
                        )
                    },
                );
            }
        },
    ))
}

/// Checks that queries and database share a code width.
pub fn check_pair(db: &Codes<'_>, queries: &Codes<'_>) -> Result<()> {
    if db.n_bits() != queries.n_bits() || db.stride() != queries.stride() {
        return Err(Error::invalid(
            "Q",
            format!(
                "codes of {} bits, but the index holds {}-bit codes",
                queries.n_bits(),
                db.n_bits()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::{self, available};

    fn random_words(seed: u64, n: usize) -> Vec<u64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                s ^ (s >> 29)
            })
            .collect()
    }

    fn brute_force(db: &Codes<'_>, q: &[u64], k: usize) -> Vec<Neighbour> {
        let mut all: Vec<Neighbour> = (0..db.len())
            .map(|i| Neighbour {
                distance: q
                    .iter()
                    .zip(db.row(i))
                    .map(|(a, b)| (a ^ b).count_ones())
                    .sum::<u32>() as f32,
                id: i as u64,
            })
            .collect();
        best_k(&mut all, k);
        all
    }

    #[test]
    fn every_width_and_k_matches_brute_force_with_ties_and_adversarial_order() {
        // Row counts that leave partial groups of four after the head, and
        // a block shorter than the head.
        for (n, stride) in [3003usize, 1001]
            .into_iter()
            .flat_map(|n| (1..=16).chain([24, 32, 48, 64, 65]).map(move |s| (n, s)))
        {
            // Few distinct distances (many ties), and rows that come nearer
            // to the query as the scan goes on, so the head's bound is loose.
            let mut words = vec![0u64; n * stride];
            for r in 0..n {
                let ones = (n - r) * 64 / n;
                let w = if ones >= 64 {
                    u64::MAX
                } else {
                    (1u64 << ones) - 1
                };
                for j in 0..stride {
                    words[r * stride + j] = if (r + j) % 3 == 0 { w } else { w >> 1 };
                }
            }
            let bits = stride * 64;
            let db = Codes::new(&words, stride, bits).unwrap();
            let zero = vec![0u64; stride];
            let qs = Codes::new(&zero, stride, bits).unwrap();
            for k in [1, 10, 300] {
                let expected = vec![brute_force(&db, &zero, k)];
                for level in available() {
                    for t in [1, 2] {
                        let got = hamming_knn(db, qs, k, level, Threads::new(t), &Control::new())
                            .unwrap();
                        assert_eq!(got, expected, "stride {stride} k {k} {level:?} threads {t}");
                    }
                }
            }
        }
    }

    #[test]
    fn scan_matches_brute_force_for_every_tier_and_thread_count() {
        for (stride, bits) in [(1usize, 20usize), (4, 256), (6, 384), (9, 570)] {
            let mut words = random_words(3, 2000 * stride);
            // Mask the unused high bits of each row, as packed codes have.
            let used = bits - (stride - 1) * 64;
            if used < 64 {
                for r in 0..2000 {
                    words[r * stride + stride - 1] &= (1u64 << used) - 1;
                }
            }
            // Duplicate rows make ties.
            for r in 0..50 {
                let (a, b) = words.split_at_mut(1000 * stride);
                b[r * stride..(r + 1) * stride].copy_from_slice(&a[r * stride..(r + 1) * stride]);
            }
            let db = Codes::new(&words, stride, bits).unwrap();
            let qs = Codes::new(&words[..7 * stride], stride, bits).unwrap();
            let mut expected = Vec::new();
            for q in 0..qs.len() {
                expected.push(brute_force(&db, qs.row(q), 15));
            }
            for level in available() {
                for t in [1, 3] {
                    let got =
                        hamming_knn(db, qs, 15, level, Threads::new(t), &Control::new()).unwrap();
                    assert_eq!(got, expected, "stride {stride} {level:?} threads {t}");
                }
            }
        }
    }

    #[test]
    fn lazy_top_k_over_many_blocks_keeps_ties_to_the_lower_id() {
        // 4096-bit rows make blocks of 512 rows; sparse bits make many ties.
        let stride = 64;
        let n = 3000;
        let mut words = random_words(11, n * stride);
        let sparse = random_words(12, n * stride);
        for (w, m) in words.iter_mut().zip(&sparse) {
            *w &= m & (m >> 7) & (m >> 13) & (m >> 19);
        }
        let db = Codes::new(&words, stride, stride * 64).unwrap();
        let qs = Codes::new(&words[..3 * stride], stride, stride * 64).unwrap();
        assert!(block_rows(stride) < n / 4);
        for k in [1usize, 7, 300, 700, 2999] {
            let mut expected = Vec::new();
            for q in 0..qs.len() {
                expected.push(brute_force(&db, qs.row(q), k));
            }
            for t in [1, 2, 5] {
                let got = hamming_knn(db, qs, k, simd::level(), Threads::new(t), &Control::new())
                    .unwrap();
                assert_eq!(got, expected, "k {k} threads {t}");
            }
        }
    }

    #[test]
    fn blocks_are_whole_groups_of_64_rows() {
        for stride in [1usize, 4, 6, 9, 12, 18, 64, 200] {
            let b = block_rows(stride);
            assert!(b >= 64 && b.is_multiple_of(64), "stride {stride}");
        }
    }

    #[test]
    fn k_beyond_the_rows_returns_them_all() {
        let words = random_words(1, 5 * 4);
        let db = Codes::new(&words, 4, 256).unwrap();
        let got = hamming_knn(
            db,
            db,
            10,
            Level::Portable,
            Threads::new(2),
            &Control::new(),
        )
        .unwrap();
        assert!(got.iter().all(|v| v.len() == 5));
        assert!(got
            .iter()
            .enumerate()
            .all(|(i, v)| v[0].id == i as u64 && v[0].distance == 0.0));
    }
}
