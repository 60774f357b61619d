//! Full distance matrices between two sets of packed codes.

use rayon::prelude::*;

use super::scan::{block_rows, check_pair, Codes};
use crate::error::Result;
use crate::par::{Control, Threads};
use crate::simd::Level;

/// Rows of `a` handled by one task.
const ROWS: usize = 16;

/// Fills `out` (`a.len() x b.len()`, row-major) with `f(kernel, a_i, b_j)`,
/// parallel over rows of `a`, with `b` taken in cache-sized blocks.
fn fill<T: Send + Copy + Default>(
    a: Codes<'_>,
    b: Codes<'_>,
    level: Level,
    threads: Threads,
    ctl: &Control,
    f: impl Fn(u32, u32) -> T + Sync,
    pair: PairOp,
) -> Result<Vec<T>> {
    check_pair(&b, &a)?;
    let (na, nb) = (a.len(), b.len());
    let mut out = vec![T::default(); na * nb];
    if na == 0 || nb == 0 {
        return Ok(out);
    }
    let block = block_rows(b.stride());
    ctl.add_total(na as u64);
    crate::with_kernel!(level, |kern| threads.install(|| {
        out.par_chunks_mut(ROWS * nb)
            .enumerate()
            .try_for_each(|(c, chunk)| {
                ctl.check()?;
                let mut counts = Vec::new();
                kern.within(
                    #[inline(always)]
                    |kern| {
                        for b0 in (0..nb).step_by(block) {
                            let b1 = (b0 + block).min(nb);
                            let b_words = &b.words()[b0 * b.stride()..b1 * b.stride()];
                            for (r, row) in chunk.chunks_mut(nb).enumerate() {
                                let x = a.row(c * ROWS + r);
                                if let PairOp::Xor = pair {
                                    // Several rows at a time where the tier can.
                                    counts.resize(b1 - b0, 0);
                                    if kern.xor_rows(x, b_words, &mut counts, false) {
                                        for (o, &d) in row[b0..b1].iter_mut().zip(&counts) {
                                            *o = f(d, 0);
                                        }
                                        continue;
                                    }
                                }
                                for (j, o) in (b0..b1).zip(&mut row[b0..b1]) {
                                    let y = b.row(j);
                                    *o = match pair {
                                        PairOp::Xor => f(kern.xor_count(x, y), 0),
                                        PairOp::AndOr => {
                                            f(kern.and_count(x, y), kern.or_count(x, y))
                                        }
                                    };
                                }
                            }
                        }
                    },
                );
                ctl.advance((chunk.len() / nb) as u64);
                Ok(())
            })
    }))?;
    Ok(out)
}

#[derive(Clone, Copy)]
enum PairOp {
    Xor,
    AndOr,
}

/// Hamming distances between every row of `a` and every row of `b`.
pub fn hamming_matrix(
    a: Codes<'_>,
    b: Codes<'_>,
    level: Level,
    threads: Threads,
    ctl: &Control,
) -> Result<Vec<u32>> {
    fill(a, b, level, threads, ctl, |xor, _| xor, PairOp::Xor)
}

/// Jaccard distances `1 - |x AND y| / |x OR y|` (0 when both codes are
/// empty, as scipy defines it) between every row of `a` and of `b`.
pub fn jaccard_matrix(
    a: Codes<'_>,
    b: Codes<'_>,
    level: Level,
    threads: Threads,
    ctl: &Control,
) -> Result<Vec<f64>> {
    fill(
        a,
        b,
        level,
        threads,
        ctl,
        |and, or| {
            if or == 0 {
                0.0
            } else {
                1.0 - and as f64 / or as f64
            }
        },
        PairOp::AndOr,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::available;

    #[test]
    fn matrices_match_pairwise_counts() {
        let stride = 3;
        let mut s = 11u64;
        let words: Vec<u64> = (0..40 * stride)
            .map(|i| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                if i < stride {
                    0
                } else {
                    s >> 3
                }
            })
            .collect();
        let a = Codes::new(&words[..17 * stride], stride, 190).unwrap();
        let b = Codes::new(&words, stride, 190).unwrap();
        for level in available() {
            let h = hamming_matrix(a, b, level, Threads::new(2), &Control::new()).unwrap();
            let j = jaccard_matrix(a, b, level, Threads::new(2), &Control::new()).unwrap();
            for i in 0..a.len() {
                for k in 0..b.len() {
                    let (x, y) = (a.row(i), b.row(k));
                    let xor: u32 = x.iter().zip(y).map(|(p, q)| (p ^ q).count_ones()).sum();
                    let and: u32 = x.iter().zip(y).map(|(p, q)| (p & q).count_ones()).sum();
                    let or: u32 = x.iter().zip(y).map(|(p, q)| (p | q).count_ones()).sum();
                    assert_eq!(h[i * b.len() + k], xor);
                    let jd = if or == 0 {
                        0.0
                    } else {
                        1.0 - and as f64 / or as f64
                    };
                    assert_eq!(j[i * b.len() + k], jd);
                }
            }
        }
    }
}
