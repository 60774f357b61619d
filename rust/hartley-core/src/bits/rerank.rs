//! Asymmetric scoring as a re-ranking stage.
//!
//! The asymmetric score (the float query against each code's bin centres,
//! [`AsymmetricTable`]) ranks far better than code-to-code Hamming distance,
//! but costs a table lookup per code byte, several times the popcount of the
//! same bytes. So the exhaustive pass stays a Hamming scan, which keeps a
//! short list per query, and only the short list is scored asymmetrically.
//!
//! How long the short list must be: the asymmetric top `keep` of the whole
//! index is returned exactly when every one of them is within the Hamming
//! top `shortlist`. The two scores agree closely on near neighbours (both
//! count, with or without weights, the dimensions on which query and code
//! fall in different bins), so the Hamming rank of an asymmetric top-`keep`
//! row is a small multiple of `keep` except for rare outliers; on the real
//! MiniLM embeddings of the benchmarks, a short list of `8 keep` rows (and
//! never fewer than [`MIN_SHORTLIST`]) keeps the recall of the exhaustive
//! asymmetric scan to within 0.005 at every oversample (BENCHMARKS.md,
//! "Binary retrieval"), while scoring under one code in a thousand of a
//! million-row index asymmetrically.

use super::binarize::AsymmetricTable;
use super::index::Quantizer;
use super::topk::{best_k, Neighbour};
use crate::error::Result;
use crate::par::{Control, Threads};

/// Short-list length per kept candidate ([`shortlist_len`]).
pub const SHORTLIST_FACTOR: usize = 8;

/// Fewest Hamming candidates re-ranked per query ([`shortlist_len`]).
pub const MIN_SHORTLIST: usize = 256;

/// The default number of Hamming candidates re-ranked asymmetrically when
/// `keep` are wanted from an index of `n_rows`: `max(8 keep, 256)`, at most
/// the whole index.
pub fn shortlist_len(keep: usize, n_rows: usize) -> usize {
    keep.saturating_mul(SHORTLIST_FACTOR)
        .max(MIN_SHORTLIST)
        .min(n_rows)
}

/// Packed code rows as bytes: row `i` is `bytes[i * stride..][..width]`.
#[derive(Debug, Clone, Copy)]
pub struct ByteRows<'a> {
    /// All rows, `stride` bytes apart.
    pub bytes: &'a [u8],
    /// Bytes from one row to the next.
    pub stride: usize,
    /// Bytes of a code.
    pub width: usize,
}

impl<'a> ByteRows<'a> {
    /// The code of row `i`.
    #[inline]
    pub fn row(&self, i: usize) -> &'a [u8] {
        &self.bytes[i * self.stride..i * self.stride + self.width]
    }
}

/// The lookup tables of query `query` (projected, `quant.dim` values),
/// including the constant that the centring shift `shift`
/// ([`Quantizer::rotated_mean`]) adds to every dot product.
pub fn query_table(query: &[f32], quant: &Quantizer, shift: &[f32]) -> AsymmetricTable {
    let mut t = AsymmetricTable::new(query, &quant.centres, quant.bits);
    t.offset += query
        .iter()
        .zip(shift)
        .map(|(a, b)| *a as f64 * *b as f64)
        .sum::<f64>();
    t
}

/// The asymmetric distance `1 - cos` of a row with code `code` and inverse
/// dequantised norm `inv_norm` under the tables `t`.
#[inline]
pub fn asymmetric_distance(t: &AsymmetricTable, code: &[u8], inv_norm: f32) -> f32 {
    let dot = t.offset + t.score(code) as f64;
    (1.0 - dot * inv_norm as f64) as f32
}

/// Re-ranks each query's short list (`shortlists[q]`, any order) by the
/// asymmetric distance and keeps the best `keep`, ties to the lower id.
/// `proj` holds the projected queries, `quant.dim` values each; `inv_norms`
/// the inverse norms of the dequantised rows.
#[allow(clippy::too_many_arguments)]
pub fn rerank_asymmetric(
    quant: &Quantizer,
    rows: ByteRows<'_>,
    inv_norms: &[f32],
    proj: &[f32],
    shortlists: Vec<Vec<Neighbour>>,
    keep: usize,
    threads: Threads,
    ctl: &Control,
) -> Result<Vec<Vec<Neighbour>>> {
    let dim = quant.dim;
    let shift = quant.rotated_mean();
    threads
        .map(shortlists, |q, mut cands| {
            ctl.check()?;
            let t = query_table(&proj[q * dim..(q + 1) * dim], quant, &shift);
            for c in &mut cands {
                let id = c.id as usize;
                c.distance = asymmetric_distance(&t, rows.row(id), inv_norms[id]);
            }
            best_k(&mut cands, keep);
            Ok(cands)
        })
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortlist_rule_has_a_floor_and_a_ceiling() {
        assert_eq!(shortlist_len(10, 1_000_000), 256);
        assert_eq!(shortlist_len(40, 1_000_000), 320);
        assert_eq!(shortlist_len(100, 1_000_000), 800);
        assert_eq!(shortlist_len(100, 500), 500);
        assert_eq!(shortlist_len(usize::MAX, 7), 7);
    }
}
