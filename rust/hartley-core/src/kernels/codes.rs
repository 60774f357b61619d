//! Hamming and Jaccard distances between packed binary codes (`np.packbits`
//! layout: `n` rows of `n_bytes` bytes), by population counts over 8-byte
//! words.
//!
//! Distances are proportions, as scipy's and scikit-learn's on the unpacked
//! bits: Hamming is the fraction of the `8 * n_bytes` bits that differ,
//! Jaccard is `|x xor y| / |x or y|` (0 when both codes are all zero).

use rayon::prelude::*;

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
    n: usize,
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
        Ok(Codes { data, n, n_bytes })
    }

    fn row(&self, i: usize) -> &'a [u8] {
        &self.data[i * self.n_bytes..(i + 1) * self.n_bytes]
    }
}

#[inline]
fn word(chunk: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w[..chunk.len()].copy_from_slice(chunk);
    u64::from_le_bytes(w)
}

/// `(|x xor y|, |x or y|)` in bits.
#[inline]
fn counts(x: &[u8], y: &[u8]) -> (u32, u32) {
    let (mut diff, mut union) = (0u32, 0u32);
    for (a, b) in x.chunks(8).zip(y.chunks(8)) {
        let (a, b) = (word(a), word(b));
        diff += (a ^ b).count_ones();
        union += (a | b).count_ones();
    }
    (diff, union)
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
    let (n, m) = (x.n, y.n);
    let bits = (8 * x.n_bytes) as f64;
    ctl.add_total(n as u64);
    threads.install(|| {
        let mut out = vec![0.0; n * m];
        out.par_chunks_mut(m)
            .enumerate()
            .try_for_each(|(i, row)| -> Result<()> {
                ctl.check()?;
                let xi = x.row(i);
                for (j, v) in row.iter_mut().enumerate() {
                    let (diff, union) = counts(xi, y.row(j));
                    *v = match metric {
                        CodeMetric::Hamming => diff as f64 / bits,
                        CodeMetric::Jaccard if union == 0 => 0.0,
                        CodeMetric::Jaccard => diff as f64 / union as f64,
                    };
                }
                ctl.advance(1);
                Ok(())
            })?;
        Ok(out)
    })
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
