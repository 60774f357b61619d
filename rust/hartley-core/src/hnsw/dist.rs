//! Distance kernels of the graph, on the raw bytes of stored rows.
//!
//! A kernel compares one query with one stored vector, or with four at once:
//! the four-way form streams four rows from memory side by side, which keeps
//! more cache misses in flight than one row at a time (the graph walk is
//! bound by memory latency, not arithmetic). The search and build loops are
//! generic over the kernel and compiled once per instruction-set tier (see
//! `ops.rs`), so the kernels inline into them.
//!
//! Conventions follow hnswlib: `l2` is the squared Euclidean distance,
//! `ip` is `1 - <q, x>`, `cosine` is `1 - <q, x>` on normalised vectors, and
//! `hamming` counts differing bits of packed codes.
//!
//! The Hamming kernel is a local popcount over 64-bit words; it should move to
//! the shared `bits` kernels once those exist.

/// A distance on stored rows. `q` and the rows point at `len` elements of the
/// kernel's element type (f32, or u64 words for codes).
pub(crate) trait Kernel: Copy + Send + Sync {
    /// Distance between two stored vectors.
    ///
    /// # Safety
    /// Both pointers address `self.len()` readable elements, suitably aligned.
    unsafe fn one(&self, q: *const u8, x: *const u8) -> f32;

    /// Distances from `q` to four stored vectors.
    ///
    /// # Safety
    /// As [`Kernel::one`], for every pointer.
    unsafe fn four(&self, q: *const u8, x: [*const u8; 4]) -> [f32; 4];
}

/// `1 - <q, x>`, portable.
#[derive(Clone, Copy)]
pub(crate) struct DotPortable(pub usize);
/// Squared Euclidean distance, portable.
#[derive(Clone, Copy)]
pub(crate) struct L2Portable(pub usize);
/// Hamming distance over `.0` 64-bit words.
#[derive(Clone, Copy)]
pub(crate) struct Hamming(pub usize);

#[inline(always)]
unsafe fn f32s<'a>(p: *const u8, n: usize) -> &'a [f32] {
    // SAFETY: the caller guarantees `n` readable, aligned f32 at `p`.
    unsafe { std::slice::from_raw_parts(p.cast::<f32>(), n) }
}

impl Kernel for DotPortable {
    #[inline(always)]
    unsafe fn one(&self, q: *const u8, x: *const u8) -> f32 {
        // SAFETY: forwarded from the caller.
        let (a, b) = unsafe { (f32s(q, self.0), f32s(x, self.0)) };
        1.0 - crate::simd::f32::dot_with(crate::simd::Level::Portable, a, b)
    }
    #[inline(always)]
    unsafe fn four(&self, q: *const u8, x: [*const u8; 4]) -> [f32; 4] {
        // SAFETY: forwarded from the caller.
        x.map(|p| unsafe { self.one(q, p) })
    }
}

impl Kernel for L2Portable {
    #[inline(always)]
    unsafe fn one(&self, q: *const u8, x: *const u8) -> f32 {
        // SAFETY: forwarded from the caller.
        let (a, b) = unsafe { (f32s(q, self.0), f32s(x, self.0)) };
        crate::simd::f32::l2sq_with(crate::simd::Level::Portable, a, b)
    }
    #[inline(always)]
    unsafe fn four(&self, q: *const u8, x: [*const u8; 4]) -> [f32; 4] {
        // SAFETY: forwarded from the caller.
        x.map(|p| unsafe { self.one(q, p) })
    }
}

impl Kernel for Hamming {
    #[inline(always)]
    unsafe fn one(&self, q: *const u8, x: *const u8) -> f32 {
        let (q, x) = (q.cast::<u64>(), x.cast::<u64>());
        let mut s = 0u32;
        for i in 0..self.0 {
            // SAFETY: i < len words are readable at both 8-byte aligned pointers.
            s += unsafe { (*q.add(i) ^ *x.add(i)).count_ones() };
        }
        s as f32
    }
    #[inline(always)]
    unsafe fn four(&self, q: *const u8, x: [*const u8; 4]) -> [f32; 4] {
        let q = q.cast::<u64>();
        let x = x.map(|p| p.cast::<u64>());
        let mut s = [0u32; 4];
        for i in 0..self.0 {
            // SAFETY: i < len words are readable at every pointer.
            let w = unsafe { *q.add(i) };
            for j in 0..4 {
                // SAFETY: as above.
                s[j] += unsafe { (w ^ *x[j].add(i)).count_ones() };
            }
        }
        s.map(|v| v as f32)
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{DotAvx2, L2Avx2};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Kernel;
    use std::arch::x86_64::*;

    /// `1 - <q, x>` with AVX2 and FMA. Only constructed once both were detected.
    #[derive(Clone, Copy)]
    pub(crate) struct DotAvx2(pub usize);
    /// Squared Euclidean distance with AVX2 and FMA (same contract).
    #[derive(Clone, Copy)]
    pub(crate) struct L2Avx2(pub usize);

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    /// Sums `f(q_i, x_i)` lane-wise over `n` floats into one accumulator
    /// (two interleaved for latency), plus a scalar tail.
    macro_rules! kernel_one {
        ($name:ident, $step:expr, $tail:expr) => {
            /// # Safety
            /// AVX2+FMA present; `n` floats readable at `q` and `x`.
            #[inline]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn $name(q: *const f32, x: *const f32, n: usize) -> f32 {
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

    /// Four rows against one query: the query is loaded once per block.
    macro_rules! kernel_four {
        ($name:ident, $step:expr, $tail:expr) => {
            /// # Safety
            /// AVX2+FMA present; `n` floats readable at `q` and at each `x`.
            #[inline]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn $name(q: *const f32, x: [*const f32; 4], n: usize) -> [f32; 4] {
                // Two accumulators per row: eight independent FMA chains keep
                // both FMA pipes busy when the rows are already in cache.
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

    kernel_one!(dot_one, fma_dot, mul);
    kernel_one!(l2_one, fma_l2, sq);
    kernel_four!(dot_four, fma_dot, mul);
    kernel_four!(l2_four, fma_l2, sq);

    impl Kernel for DotAvx2 {
        #[inline(always)]
        unsafe fn one(&self, q: *const u8, x: *const u8) -> f32 {
            // SAFETY: constructed only when AVX2+FMA were detected; the caller
            // guarantees the lengths.
            1.0 - unsafe { dot_one(q.cast(), x.cast(), self.0) }
        }
        #[inline(always)]
        unsafe fn four(&self, q: *const u8, x: [*const u8; 4]) -> [f32; 4] {
            // SAFETY: as in `one`.
            unsafe { dot_four(q.cast(), x.map(|p| p.cast()), self.0) }.map(|d| 1.0 - d)
        }
    }

    impl Kernel for L2Avx2 {
        #[inline(always)]
        unsafe fn one(&self, q: *const u8, x: *const u8) -> f32 {
            // SAFETY: as for DotAvx2.
            unsafe { l2_one(q.cast(), x.cast(), self.0) }
        }
        #[inline(always)]
        unsafe fn four(&self, q: *const u8, x: [*const u8; 4]) -> [f32; 4] {
            // SAFETY: as for DotAvx2.
            unsafe { l2_four(q.cast(), x.map(|p| p.cast()), self.0) }
        }
    }
}

/// Prefetches the `lines` first cache lines at `p` into all cache levels.
#[inline(always)]
pub(crate) fn prefetch(p: *const u8, lines: usize) {
    #[cfg(target_arch = "x86_64")]
    for i in 0..lines {
        // SAFETY: prefetching is a hint and never faults, whatever the address;
        // `wrapping_add` keeps the pointer arithmetic defined.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                p.wrapping_add(64 * i).cast(),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, lines);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n * dim)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect()
    }

    fn check<K: Kernel>(k: K, dim: usize, want: impl Fn(&[f32], &[f32]) -> f32) {
        let v = rows(5, dim, dim as u64);
        let p = |i: usize| v[i * dim..].as_ptr().cast::<u8>();
        // SAFETY: each row has dim floats.
        let (one, four) = unsafe { (k.one(p(0), p(1)), k.four(p(0), [p(1), p(2), p(3), p(4)])) };
        let tol = 1e-4 * dim as f32;
        assert!((one - want(&v[..dim], &v[dim..2 * dim])).abs() < tol);
        for j in 0..4 {
            let w = want(&v[..dim], &v[(j + 1) * dim..(j + 2) * dim]);
            assert!((four[j] - w).abs() < tol, "dim {dim} row {j}");
        }
    }

    #[test]
    fn float_kernels_agree_with_naive() {
        let dot = |a: &[f32], b: &[f32]| 1.0 - a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let l2 = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
        for dim in [1usize, 3, 8, 15, 16, 17, 33, 384] {
            check(DotPortable(dim), dim, dot);
            check(L2Portable(dim), dim, l2);
            #[cfg(target_arch = "x86_64")]
            if crate::simd::detected() >= crate::simd::Level::Avx2 {
                check(DotAvx2(dim), dim, dot);
                check(L2Avx2(dim), dim, l2);
            }
        }
    }

    #[test]
    fn hamming_counts_bits() {
        let a: Vec<u64> = vec![0xFF00, 1, u64::MAX, 0, 7];
        let b: Vec<u64> = vec![0x0F00, 0, u64::MAX, 5, 7];
        let k = Hamming(2);
        let (pa, pb) = (a.as_ptr().cast::<u8>(), b.as_ptr().cast::<u8>());
        // SAFETY: two words readable at each pointer (plus offsets below 5).
        unsafe {
            assert_eq!(k.one(pa, pb), 5.0);
            let f = k.four(pa, [pb, pa, b[2..].as_ptr().cast(), a[2..].as_ptr().cast()]);
            assert_eq!(f, [5.0, 0.0, 57.0, 57.0]);
        }
    }
}
