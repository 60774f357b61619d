//! Hamming and Jaccard distances between packed binary codes (`np.packbits`
//! layout: `n` rows of `n_bytes` bytes), as proportions, on the popcount
//! kernels of [`crate::bits`].
//!
//! Distances are proportions, as scipy's and scikit-learn's on the unpacked
//! bits: Hamming is the fraction of the `8 * n_bytes` bits that differ,
//! Jaccard is `|x xor y| / |x or y|` (0 when both codes are all zero).

use crate::bits::{index::to_words, pairwise, scan};
use crate::error::{Error, Result};
use crate::par::{Control, Threads};

/// Which proportion to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeMetric {
    /// Fraction of differing bits.
    Hamming,
    /// `|x xor y| / |x or y|`.
    Jaccard,
}

/// Packed codes: `n` rows of `n_bytes` bytes.
#[derive(Debug, Clone, Copy)]
pub struct Codes<'a> {
    data: &'a [u8],
    n_bytes: usize,
}

impl<'a> Codes<'a> {
    /// Views `data` as `n` codes of `n_bytes` bytes; errors name `arg`.
    pub fn new(data: &'a [u8], n: usize, n_bytes: usize, arg: &'static str) -> Result<Self> {
        if n.checked_mul(n_bytes) != Some(data.len()) {
            return Err(Error::invalid(
                arg,
                format!(
                    "{} bytes cannot form {n} codes of {n_bytes} bytes",
                    data.len()
                ),
            ));
        }
        if n == 0 {
            return Err(Error::invalid(arg, "is empty (0 samples)"));
        }
        if n_bytes == 0 {
            return Err(Error::invalid(arg, "has 0 columns"));
        }
        Ok(Codes { data, n_bytes })
    }
}

/// The `n x m` matrix of proportions between codes `x` and `y` (`x` with
/// itself when `y` is `None`), row-major.
pub fn code_distances(
    x: Codes<'_>,
    y: Option<Codes<'_>>,
    metric: CodeMetric,
    threads: Threads,
    ctl: &Control,
) -> Result<Vec<f64>> {
    if let Some(y) = &y {
        if y.n_bytes != x.n_bytes {
            return Err(Error::invalid(
                "Y",
                format!(
                    "has {} bytes per code but X has {}; both must have the same number of columns",
                    y.n_bytes, x.n_bytes
                ),
            ));
        }
    }
    let y = y.unwrap_or(x);
    let n_bits = 8 * x.n_bytes;
    let stride = n_bits.div_ceil(64);
    let (wx, wy) = (to_words(x.data, n_bits), to_words(y.data, n_bits));
    let cx = scan::Codes::new(&wx, stride, n_bits)?;
    let cy = scan::Codes::new(&wy, stride, n_bits)?;
    let level = crate::simd::level();
    match metric {
        CodeMetric::Hamming => {
            let counts = pairwise::hamming_matrix(cx, cy, level, threads, ctl)?;
            let bits = n_bits as f64;
            Ok(counts.into_iter().map(|d| d as f64 / bits).collect())
        }
        CodeMetric::Jaccard => pairwise::jaccard_matrix(cx, cy, level, threads, ctl),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportions_of_unpacked_bits() {
        // 9 bytes: a partial trailing word is read too.
        let x: Vec<u8> = vec![0b1010_0000, 0, 0, 0, 0, 0, 0, 0, 0b0000_0001];
        let y: Vec<u8> = vec![0b1000_0000, 0, 0, 0, 0, 0, 0, 0, 0b0000_0011];
        let z = vec![0u8; 9];
        let mut all = x.clone();
        all.extend(&y);
        all.extend(&z);
        let c = Codes::new(&all, 3, 9, "X").unwrap();
        let ctl = Control::new();
        let h = code_distances(c, None, CodeMetric::Hamming, Threads::new(2), &ctl).unwrap();
        assert_eq!(h[1], 2.0 / 72.0);
        assert_eq!(h[2], 3.0 / 72.0);
        let j = code_distances(c, None, CodeMetric::Jaccard, Threads::new(1), &ctl).unwrap();
        assert_eq!(j[1], 2.0 / 4.0);
        assert_eq!(j[8], 0.0);
        assert_eq!(j[2], 1.0);
    }
}
