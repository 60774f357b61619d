//! Thresholding float vectors into packed codes, and the per-query lookup
//! tables of asymmetric scoring.
//!
//! With `b` bits per dimension and thresholds `t_1 <= ... <= t_b`, dimension
//! `i` sets its bits `i*b + j` to `x_i > t_{j+1}`: a thermometer code, whose
//! Hamming distance between two values is the number of thresholds between
//! them. Bits follow `np.packbits`: bit `p` of a row is the most significant
//! remaining bit of byte `p / 8`.

use crate::error::{Error, Result};
use crate::par::{Control, Threads};

/// Bytes per packed code of `n_bits` bits.
#[inline]
pub fn code_bytes(n_bits: usize) -> usize {
    n_bits.div_ceil(8)
}

/// Encodes the rows of `x` (`n` rows of `dim` values) with `bits` thresholds
/// per dimension (`thresholds[i * bits + j]`, ascending in `j`).
pub fn encode(
    x: &[f32],
    dim: usize,
    thresholds: &[f32],
    bits: usize,
    threads: Threads,
    ctl: &Control,
) -> Result<Vec<u8>> {
    if dim == 0 || !x.len().is_multiple_of(dim) {
        return Err(Error::invalid("X", "rows must have the fitted dimension"));
    }
    if !(1..=8).contains(&bits) || thresholds.len() != dim * bits {
        return Err(Error::invalid(
            "thresholds",
            "need `bits` thresholds per dimension",
        ));
    }
    let n = x.len() / dim;
    let width = code_bytes(dim * bits);
    let mut out = vec![0u8; n * width];
    if n == 0 {
        return Ok(out);
    }
    ctl.add_total(n as u64);
    const ROWS: usize = 256;
    let chunks: Vec<(&mut [u8], &[f32])> = out
        .chunks_mut(ROWS * width)
        .zip(x.chunks(ROWS * dim))
        .collect();
    let failures: Vec<Option<Error>> = threads.map(chunks, |c, (codes, rows)| {
        if ctl.is_cancelled() {
            return Some(Error::Cancelled);
        }
        for (r, (code, row)) in codes.chunks_mut(width).zip(rows.chunks(dim)).enumerate() {
            for (i, &v) in row.iter().enumerate() {
                if !v.is_finite() {
                    return Some(Error::NonFinite {
                        arg: "X",
                        row: c * ROWS + r,
                        col: i,
                    });
                }
                for (j, &t) in thresholds[i * bits..(i + 1) * bits].iter().enumerate() {
                    if v > t {
                        let p = i * bits + j;
                        code[p / 8] |= 0x80 >> (p % 8);
                    }
                }
            }
        }
        ctl.advance((codes.len() / width) as u64);
        None
    });
    match failures.into_iter().flatten().next() {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Per-byte lookup tables of an asymmetric score.
///
/// The score of a code is the dot product of the (projected) query with the
/// code's dequantised vector, whose dimension `i` is the centre of the bin
/// the code puts it in. The centre of bin `m` equals
/// `c_0 + sum_{j<m} (c_{j+1} - c_j)`, so the score is a constant plus one
/// weight per set bit; a table per code byte then sums eight bits with one
/// lookup.
#[derive(Debug, Clone)]
pub struct AsymmetricTable {
    /// `tables[byte * 256 + value]`: the summed weights of the set bits.
    pub tables: Vec<f32>,
    /// The score of the all-zero code.
    pub offset: f64,
}

impl AsymmetricTable {
    /// Tables for `query` (length `dim`) against codes with `bits` bits per
    /// dimension and bin centres `centres[i * (bits + 1) + m]`.
    pub fn new(query: &[f32], centres: &[f32], bits: usize) -> Self {
        let dim = query.len();
        let mut weights = vec![0f32; dim * bits];
        let mut offset = 0f64;
        for (i, &q) in query.iter().enumerate() {
            let c = &centres[i * (bits + 1)..(i + 1) * (bits + 1)];
            offset += q as f64 * c[0] as f64;
            for j in 0..bits {
                weights[i * bits + j] = q * (c[j + 1] - c[j]);
            }
        }
        Self::from_weights(&weights, offset)
    }

    /// Squared norms of dequantised codes, `|centres(code) + shift|^2`, as
    /// a table: the square of a thermometer bin's centre is also a sum of
    /// per-bit increments.
    pub fn squared_norms(centres: &[f32], bits: usize, shift: &[f32]) -> Self {
        let dim = shift.len();
        let mut weights = vec![0f32; dim * bits];
        let mut offset = 0f64;
        for (i, &m) in shift.iter().enumerate() {
            let c = &centres[i * (bits + 1)..(i + 1) * (bits + 1)];
            let sq = |v: f32| (v as f64 + m as f64).powi(2);
            offset += sq(c[0]);
            for j in 0..bits {
                weights[i * bits + j] = (sq(c[j + 1]) - sq(c[j])) as f32;
            }
        }
        Self::from_weights(&weights, offset)
    }

    /// Tables from one weight per bit (in code order) and a constant.
    pub fn from_weights(bit_weights: &[f32], offset: f64) -> Self {
        let bytes = code_bytes(bit_weights.len());
        let mut weights = vec![0f32; bytes * 8];
        weights[..bit_weights.len()].copy_from_slice(bit_weights);
        let mut tables = vec![0f32; bytes * 256];
        for (b, table) in tables.chunks_exact_mut(256).enumerate() {
            let w = &weights[b * 8..b * 8 + 8];
            for v in 1..256usize {
                let low = v.trailing_zeros() as usize;
                // Bit value 1 << low is bit 7 - low of the byte in packbits order.
                table[v] = table[v & (v - 1)] + w[7 - low];
            }
        }
        AsymmetricTable { tables, offset }
    }

    /// The score of one code (its bytes).
    #[inline]
    pub fn score(&self, code: &[u8]) -> f32 {
        let mut acc = [0f32; 4];
        let chunks = code.chunks_exact(4);
        let tail = chunks.remainder();
        let mut base = 0;
        for c in chunks {
            for (l, &v) in c.iter().enumerate() {
                acc[l] += self.tables[(base + l) * 256 + v as usize];
            }
            base += 4;
        }
        for (l, &v) in tail.iter().enumerate() {
            acc[l] += self.tables[(base + l) * 256 + v as usize];
        }
        (acc[0] + acc[1]) + (acc[2] + acc[3])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thermometer_codes_in_packbits_order() {
        // Two dimensions, three thresholds each.
        let t = [0.0f32, 1.0, 2.0, 10.0, 20.0, 30.0];
        let x = [1.5f32, 35.0, -1.0, 15.0];
        let codes = encode(&x, 2, &t, 3, Threads::new(2), &Control::new()).unwrap();
        // Row 0: dim 0 -> 1,1,0 ; dim 1 -> 1,1,1 => bits 110111 -> 0b11011100.
        // Row 1: dim 0 -> 0,0,0 ; dim 1 -> 1,0,0 => bits 000100 -> 0b00010000.
        assert_eq!(codes, vec![0b1101_1100, 0b0001_0000]);
    }

    #[test]
    fn non_finite_values_name_their_cell() {
        let x = [0.0f32, 1.0, f32::NAN, 2.0];
        let err = encode(&x, 2, &[0.0, 0.0], 1, Threads::new(1), &Control::new()).unwrap_err();
        assert_eq!(
            err,
            Error::NonFinite {
                arg: "X",
                row: 1,
                col: 0
            }
        );
    }

    #[test]
    fn asymmetric_score_equals_dot_with_dequantised_vector() {
        let dim = 11;
        let bits = 2;
        let mut s = 5u64;
        let mut rnd = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
            ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        let query: Vec<f32> = (0..dim).map(|_| rnd()).collect();
        let mut centres = Vec::new();
        let mut thresholds = Vec::new();
        for _ in 0..dim {
            let base = rnd();
            centres.extend([base - 1.0, base, base + 1.0]);
            thresholds.extend([base - 0.5, base + 0.5]);
        }
        let x: Vec<f32> = (0..dim * 20).map(|_| 3.0 * rnd()).collect();
        let codes = encode(&x, dim, &thresholds, bits, Threads::new(1), &Control::new()).unwrap();
        let table = AsymmetricTable::new(&query, &centres, bits);
        let width = code_bytes(dim * bits);
        for (r, code) in codes.chunks(width).enumerate() {
            let mut expect = 0f64;
            for i in 0..dim {
                let v = x[r * dim + i];
                let bin = thresholds[i * bits..(i + 1) * bits]
                    .iter()
                    .filter(|&&t| v > t)
                    .count();
                expect += query[i] as f64 * centres[i * (bits + 1) + bin] as f64;
            }
            let got = table.offset + table.score(code) as f64;
            assert!((got - expect).abs() < 1e-5, "row {r}: {got} vs {expect}");
        }
    }
}
