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

fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
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

fn l2sq_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
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

#[cfg(target_arch = "x86_64")]
mod x86 {
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

    /// # Safety
    /// The CPU supports AVX2 and FMA, and `a.len() == b.len()`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len();
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i + 32 <= n {
            for (j, s) in acc.iter_mut().enumerate() {
                // SAFETY: i + 8 j + 8 <= i + 32 <= n for both slices.
                let (x, y) = unsafe {
                    (
                        _mm256_loadu_ps(pa.add(i + 8 * j)),
                        _mm256_loadu_ps(pb.add(i + 8 * j)),
                    )
                };
                *s = _mm256_fmadd_ps(x, y, *s);
            }
            i += 32;
        }
        while i + 8 <= n {
            // SAFETY: i + 8 <= n for both slices.
            let (x, y) = unsafe { (_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i))) };
            acc[0] = _mm256_fmadd_ps(x, y, acc[0]);
            i += 8;
        }
        let s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut total = hsum(s);
        while i < n {
            total += a[i] * b[i];
            i += 1;
        }
        total
    }

    /// # Safety
    /// The CPU supports AVX2 and FMA, and `a.len() == b.len()`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn l2sq_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len();
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i + 32 <= n {
            for (j, s) in acc.iter_mut().enumerate() {
                // SAFETY: i + 8 j + 8 <= i + 32 <= n for both slices.
                let d = unsafe {
                    _mm256_sub_ps(
                        _mm256_loadu_ps(pa.add(i + 8 * j)),
                        _mm256_loadu_ps(pb.add(i + 8 * j)),
                    )
                };
                *s = _mm256_fmadd_ps(d, d, *s);
            }
            i += 32;
        }
        while i + 8 <= n {
            // SAFETY: i + 8 <= n for both slices.
            let d =
                unsafe { _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i))) };
            acc[0] = _mm256_fmadd_ps(d, d, acc[0]);
            i += 8;
        }
        let s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut total = hsum(s);
        while i < n {
            let d = a[i] - b[i];
            total += d * d;
            i += 1;
        }
        total
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
}
