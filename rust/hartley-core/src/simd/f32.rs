//! Single-precision vector kernels: dot product and squared Euclidean
//! distance, with an AVX2+FMA path chosen at run time.
//!
//! Results of different tiers agree to rounding, not bit for bit: the sums
//! are associated differently.

use super::Level;

/// Lanes summed independently by the portable kernels, so the compiler can
/// keep them in vector registers without reassociating floating-point adds.
const LANES: usize = 8;

/// Dot product of two equal-length slices.
///
/// # Panics
/// If the lengths differ.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    dot_with(super::level(), a, b)
}

/// Squared Euclidean distance of two equal-length slices.
///
/// # Panics
/// If the lengths differ.
#[inline]
pub fn l2sq(a: &[f32], b: &[f32]) -> f32 {
    l2sq_with(super::level(), a, b)
}

/// [`dot`] on a given tier (falls back to the portable kernel on tiers
/// without a dedicated one, or when the CPU lacks the tier).
#[inline]
pub fn dot_with(level: Level, a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot: slices of different lengths");
    #[cfg(target_arch = "x86_64")]
    if level >= Level::Avx2 && super::detected() >= Level::Avx2 {
        // SAFETY: AVX2 and FMA were detected on this CPU, and the lengths match.
        return unsafe { x86::dot_avx2(a, b) };
    }
    let _ = level;
    dot_portable(a, b)
}

/// [`l2sq`] on a given tier (see [`dot_with`]).
#[inline]
pub fn l2sq_with(level: Level, a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "l2sq: slices of different lengths");
    #[cfg(target_arch = "x86_64")]
    if level >= Level::Avx2 && super::detected() >= Level::Avx2 {
        // SAFETY: AVX2 and FMA were detected on this CPU, and the lengths match.
        return unsafe { x86::l2sq_avx2(a, b) };
    }
    let _ = level;
    l2sq_portable(a, b)
}

// Fixed-size blocks (`as_chunks`) rather than `chunks_exact`: the loop body
// sees arrays of LANES floats, so it vectorises without iterator calls left
// in it wherever the kernel is inlined.
#[inline]
fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let ((ca, ra), (cb, rb)) = (a.as_chunks::<LANES>(), b.as_chunks::<LANES>());
    for (x, y) in ca.iter().zip(cb) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

#[inline]
fn l2sq_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let ((ca, ra), (cb, rb)) = (a.as_chunks::<LANES>(), b.as_chunks::<LANES>());
    for (x, y) in ca.iter().zip(cb) {
        for l in 0..LANES {
            let d = x[l] - y[l];
            acc[l] += d * d;
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        let d = x - y;
        s += d * d;
    }
    s
}

/// AVX2+FMA kernels on raw pointers, for callers that dispatch once for a
/// whole loop (the HNSW graph walk) rather than once per call. Besides the
/// one-row kernels there are four-row forms: the query is loaded once per
/// block and four rows stream side by side, which keeps more cache misses in
/// flight than one row at a time.
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use std::arch::x86_64::*;

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps::<1>(v);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    /// Sums `f(q_i, x_i)` lane-wise over `n` floats: four accumulators over
    /// blocks of 32 (independent FMA chains), then one over blocks of 8, then
    /// a scalar tail.
    macro_rules! kernel_one {
        ($(#[$doc:meta])* $name:ident, $step:expr, $tail:expr) => {
            $(#[$doc])*
            ///
            /// # Safety
            /// AVX2 and FMA are available; `n` floats are readable at `q` and `x`.
            #[inline]
            #[target_feature(enable = "avx2,fma")]
            pub(crate) unsafe fn $name(q: *const f32, x: *const f32, n: usize) -> f32 {
                let mut a = [_mm256_setzero_ps(); 4];
                let mut i = 0;
                while i + 32 <= n {
                    for (j, acc) in a.iter_mut().enumerate() {
                        // SAFETY: i + 8 j + 8 <= i + 32 <= n.
                        unsafe {
                            *acc = $step(
                                _mm256_loadu_ps(q.add(i + 8 * j)),
                                _mm256_loadu_ps(x.add(i + 8 * j)),
                                *acc,
                            );
                        }
                    }
                    i += 32;
                }
                let (mut a0, a1) = (_mm256_add_ps(a[0], a[2]), _mm256_add_ps(a[1], a[3]));
                while i + 8 <= n {
                    // SAFETY: i + 8 <= n.
                    unsafe {
                        a0 = $step(_mm256_loadu_ps(q.add(i)), _mm256_loadu_ps(x.add(i)), a0);
                    }
                    i += 8;
                }
                let mut s = hsum(_mm256_add_ps(a0, a1));
                while i < n {
                    // SAFETY: i < n.
                    s += unsafe { $tail(*q.add(i), *x.add(i)) };
                    i += 1;
                }
                s
            }
        };
    }

    /// Four rows against one query, two accumulators per row: eight
    /// independent FMA chains keep both FMA pipes busy when the rows are
    /// already in cache.
    macro_rules! kernel_four {
        ($(#[$doc:meta])* $name:ident, $step:expr, $tail:expr) => {
            $(#[$doc])*
            ///
            /// # Safety
            /// AVX2 and FMA are available; `n` floats are readable at `q` and at
            /// each `x`.
            #[inline]
            #[target_feature(enable = "avx2,fma")]
            pub(crate) unsafe fn $name(q: *const f32, x: [*const f32; 4], n: usize) -> [f32; 4] {
                let mut acc = [_mm256_setzero_ps(); 4];
                let mut bcc = [_mm256_setzero_ps(); 4];
                let mut i = 0;
                while i + 16 <= n {
                    // SAFETY: i + 16 <= n for the query and every row.
                    unsafe {
                        let qa = _mm256_loadu_ps(q.add(i));
                        let qb = _mm256_loadu_ps(q.add(i + 8));
                        for j in 0..4 {
                            acc[j] = $step(qa, _mm256_loadu_ps(x[j].add(i)), acc[j]);
                            bcc[j] = $step(qb, _mm256_loadu_ps(x[j].add(i + 8)), bcc[j]);
                        }
                    }
                    i += 16;
                }
                while i + 8 <= n {
                    // SAFETY: i + 8 <= n for the query and every row.
                    unsafe {
                        let qv = _mm256_loadu_ps(q.add(i));
                        for j in 0..4 {
                            acc[j] = $step(qv, _mm256_loadu_ps(x[j].add(i)), acc[j]);
                        }
                    }
                    i += 8;
                }
                let mut out = [0.0f32; 4];
                for j in 0..4 {
                    out[j] = hsum(_mm256_add_ps(acc[j], bcc[j]));
                }
                while i < n {
                    for j in 0..4 {
                        // SAFETY: i < n.
                        out[j] += unsafe { $tail(*q.add(i), *x[j].add(i)) };
                    }
                    i += 1;
                }
                out
            }
        };
    }

    #[inline(always)]
    unsafe fn fma_dot(a: __m256, b: __m256, acc: __m256) -> __m256 {
        // SAFETY: only reached from AVX2+FMA functions.
        unsafe { _mm256_fmadd_ps(a, b, acc) }
    }
    #[inline(always)]
    unsafe fn fma_l2(a: __m256, b: __m256, acc: __m256) -> __m256 {
        // SAFETY: only reached from AVX2+FMA functions.
        unsafe {
            let d = _mm256_sub_ps(a, b);
            _mm256_fmadd_ps(d, d, acc)
        }
    }
    #[inline(always)]
    fn mul(a: f32, b: f32) -> f32 {
        a * b
    }
    #[inline(always)]
    fn sq(a: f32, b: f32) -> f32 {
        (a - b) * (a - b)
    }

    kernel_one!(
        /// Dot product of `n` floats.
        dot_ptr, fma_dot, mul
    );
    kernel_one!(
        /// Squared Euclidean distance of `n` floats.
        l2sq_ptr, fma_l2, sq
    );
    kernel_four!(
        /// Dot products of one query with four rows of `n` floats.
        dot4_ptr, fma_dot, mul
    );
    kernel_four!(
        /// Squared Euclidean distances of one query to four rows of `n` floats.
        l2sq4_ptr, fma_l2, sq
    );

    /// # Safety
    /// The CPU supports AVX2 and FMA, and `a.len() == b.len()`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: forwarded; both slices hold a.len() floats.
        unsafe { dot_ptr(a.as_ptr(), b.as_ptr(), a.len()) }
    }

    /// # Safety
    /// The CPU supports AVX2 and FMA, and `a.len() == b.len()`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn l2sq_avx2(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: forwarded; both slices hold a.len() floats.
        unsafe { l2sq_ptr(a.as_ptr(), b.as_ptr(), a.len()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::available;

    fn naive(a: &[f32], b: &[f32]) -> (f64, f64) {
        let dot = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
        let l2 = a
            .iter()
            .zip(b)
            .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
            .sum();
        (dot, l2)
    }

    #[test]
    fn every_tier_agrees_with_double_precision() {
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        for n in [0usize, 1, 3, 7, 8, 9, 31, 32, 33, 100, 384, 1000] {
            let a: Vec<f32> = (0..n).map(|_| next()).collect();
            let b: Vec<f32> = (0..n).map(|_| next()).collect();
            let (d, l) = naive(&a, &b);
            for level in available() {
                let tol = 1e-5 * (n as f64).max(1.0);
                assert!(
                    (dot_with(level, &a, &b) as f64 - d).abs() < tol,
                    "dot {level:?} n={n}"
                );
                assert!(
                    (l2sq_with(level, &a, &b) as f64 - l).abs() < tol,
                    "l2 {level:?} n={n}"
                );
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn four_row_kernels_agree_with_one_row() {
        if crate::simd::detected() < Level::Avx2 {
            return;
        }
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        for n in [1usize, 3, 8, 15, 16, 17, 33, 384] {
            let q: Vec<f32> = (0..n).map(|_| next()).collect();
            let rows: Vec<Vec<f32>> = (0..4).map(|_| (0..n).map(|_| next()).collect()).collect();
            let x = [0, 1, 2, 3].map(|j| rows[j].as_ptr());
            // SAFETY: AVX2 and FMA were detected; every row holds n floats.
            let (d4, l4) = unsafe {
                (
                    x86::dot4_ptr(q.as_ptr(), x, n),
                    x86::l2sq4_ptr(q.as_ptr(), x, n),
                )
            };
            let tol = 1e-5 * n as f64;
            for j in 0..4 {
                let (d, l) = naive(&q, &rows[j]);
                assert!((d4[j] as f64 - d).abs() < tol, "dot n={n} row {j}");
                assert!((l4[j] as f64 - l).abs() < tol, "l2 n={n} row {j}");
            }
        }
    }
}
