//! Distance kernels of the graph, on the raw bytes of stored rows.
//!
//! A kernel compares one query with one stored vector, or with four at once:
//! the four-way form streams four rows from memory side by side, which keeps
//! more cache misses in flight than one row at a time (the graph walk is
//! bound by memory latency, not arithmetic). The arithmetic is the crate's
//! shared kernels: [`crate::simd::f32`] for floats and the popcount kernels of
//! [`crate::bits::popcount`] for codes. Each kernel type names the
//! instruction-set [`Tier`] its loops must be compiled for; the search and
//! build loops are generic over the kernel and compiled for that tier (see
//! `ops.rs`), so the kernel inlines into them and is chosen once per call of
//! `search`, `add` or `remove`, never per distance.
//!
//! Conventions follow hnswlib: `l2` is the squared Euclidean distance,
//! `ip` is `1 - <q, x>`, `cosine` is `1 - <q, x>` on normalised vectors, and
//! `hamming` counts differing bits of packed codes.

use crate::bits::popcount;

/// Instruction-set tier a kernel's loops are compiled for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Tier {
    /// No target features.
    Plain,
    /// Scalar `popcnt`.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Popcnt,
    /// AVX2, FMA and `popcnt`.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx2,
    /// AVX-512F/BW with `VPOPCNTDQ`, and everything of [`Tier::Avx2`].
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx512,
}

/// A distance on stored rows. `q` and the rows point at `len` elements of the
/// kernel's element type (f32, or u64 words for codes).
pub(crate) trait Kernel: Copy + Send + Sync {
    /// The tier the loops around this kernel are compiled for. A kernel
    /// value exists only when the CPU has its tier.
    const TIER: Tier;

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

#[inline(always)]
unsafe fn f32s<'a>(p: *const u8, n: usize) -> &'a [f32] {
    // SAFETY: the caller guarantees `n` readable, aligned f32 at `p`.
    unsafe { std::slice::from_raw_parts(p.cast::<f32>(), n) }
}

impl Kernel for DotPortable {
    const TIER: Tier = Tier::Plain;
    #[inline(always)]
    unsafe fn one(&self, q: *const u8, x: *const u8) -> f32 {
        // SAFETY: forwarded from the caller.
        let (a, b) = unsafe { (f32s(q, self.0), f32s(x, self.0)) };
        1.0 - crate::simd::f32::dot_with(crate::simd::Level::Portable, a, b)
    }
    #[inline(always)]
    unsafe fn four(&self, q: *const u8, x: [*const u8; 4]) -> [f32; 4] {
        // SAFETY: forwarded from the caller.
        unsafe { four_by_one(self, q, x) }
    }
}

impl Kernel for L2Portable {
    const TIER: Tier = Tier::Plain;
    #[inline(always)]
    unsafe fn one(&self, q: *const u8, x: *const u8) -> f32 {
        // SAFETY: forwarded from the caller.
        let (a, b) = unsafe { (f32s(q, self.0), f32s(x, self.0)) };
        crate::simd::f32::l2sq_with(crate::simd::Level::Portable, a, b)
    }
    #[inline(always)]
    unsafe fn four(&self, q: *const u8, x: [*const u8; 4]) -> [f32; 4] {
        // SAFETY: forwarded from the caller.
        unsafe { four_by_one(self, q, x) }
    }
}

/// Four rows one at a time (written out: an array `map` here would leave a
/// closure call per row in the hot loop).
///
/// # Safety
/// As [`Kernel::four`].
#[inline(always)]
unsafe fn four_by_one<K: Kernel>(k: &K, q: *const u8, x: [*const u8; 4]) -> [f32; 4] {
    // SAFETY: forwarded from the caller.
    unsafe {
        [
            k.one(q, x[0]),
            k.one(q, x[1]),
            k.one(q, x[2]),
            k.one(q, x[3]),
        ]
    }
}

/// A popcount kernel of [`crate::bits::popcount`] and the tier it needs.
pub(crate) trait Popcount: popcount::Kernel {
    /// The tier whose target features the kernel's instructions need.
    const TIER: Tier;
}

impl Popcount for popcount::Scalar {
    const TIER: Tier = Tier::Plain;
}
impl Popcount for popcount::Popcnt {
    const TIER: Tier = if cfg!(target_arch = "x86_64") {
        Tier::Popcnt
    } else {
        Tier::Plain
    };
}
#[cfg(target_arch = "x86_64")]
impl Popcount for popcount::Avx2 {
    const TIER: Tier = Tier::Avx2;
}
#[cfg(target_arch = "x86_64")]
impl Popcount for popcount::Avx512 {
    const TIER: Tier = Tier::Avx512;
}

/// Hamming distance over `words` 64-bit words, counted by popcount kernel `P`.
#[derive(Clone, Copy)]
pub(crate) struct Hamming<P> {
    pub words: usize,
    pub pop: P,
}

impl<P: Popcount> Hamming<P> {
    #[inline(always)]
    unsafe fn words<'a>(&self, p: *const u8) -> &'a [u64] {
        // SAFETY: the caller guarantees `words` readable, 8-byte aligned u64.
        unsafe { std::slice::from_raw_parts(p.cast::<u64>(), self.words) }
    }
}

impl<P: Popcount> Kernel for Hamming<P> {
    const TIER: Tier = P::TIER;
    #[inline(always)]
    unsafe fn one(&self, q: *const u8, x: *const u8) -> f32 {
        // SAFETY: forwarded from the caller.
        let (a, b) = unsafe { (self.words(q), self.words(x)) };
        self.pop.xor_count(a, b) as f32
    }
    #[inline(always)]
    unsafe fn four(&self, q: *const u8, x: [*const u8; 4]) -> [f32; 4] {
        // SAFETY: forwarded from the caller, for the query and every row.
        let (a, b) = unsafe {
            (
                self.words(q),
                [
                    self.words(x[0]),
                    self.words(x[1]),
                    self.words(x[2]),
                    self.words(x[3]),
                ],
            )
        };
        let c = self.pop.xor_count4(a, b);
        [c[0] as f32, c[1] as f32, c[2] as f32, c[3] as f32]
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{DotAvx2, L2Avx2};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Kernel, Tier};
    use crate::simd::f32::x86::{dot4_ptr, dot_ptr, l2sq4_ptr, l2sq_ptr};

    // Arrays written out rather than `map`ped: a `map` here stays a call in
    // the hot loop.
    #[inline(always)]
    fn rows(x: [*const u8; 4]) -> [*const f32; 4] {
        [x[0].cast(), x[1].cast(), x[2].cast(), x[3].cast()]
    }

    /// `1 - <q, x>` with AVX2 and FMA. Only constructed once both were detected.
    #[derive(Clone, Copy)]
    pub(crate) struct DotAvx2(pub usize);
    /// Squared Euclidean distance with AVX2 and FMA (same contract).
    #[derive(Clone, Copy)]
    pub(crate) struct L2Avx2(pub usize);

    impl Kernel for DotAvx2 {
        const TIER: Tier = Tier::Avx2;
        #[inline(always)]
        unsafe fn one(&self, q: *const u8, x: *const u8) -> f32 {
            // SAFETY: constructed only when AVX2+FMA were detected; the caller
            // guarantees the lengths.
            1.0 - unsafe { dot_ptr(q.cast(), x.cast(), self.0) }
        }
        #[inline(always)]
        unsafe fn four(&self, q: *const u8, x: [*const u8; 4]) -> [f32; 4] {
            // SAFETY: as in `one`.
            let d = unsafe { dot4_ptr(q.cast(), rows(x), self.0) };
            [1.0 - d[0], 1.0 - d[1], 1.0 - d[2], 1.0 - d[3]]
        }
    }

    impl Kernel for L2Avx2 {
        const TIER: Tier = Tier::Avx2;
        #[inline(always)]
        unsafe fn one(&self, q: *const u8, x: *const u8) -> f32 {
            // SAFETY: as for DotAvx2.
            unsafe { l2sq_ptr(q.cast(), x.cast(), self.0) }
        }
        #[inline(always)]
        unsafe fn four(&self, q: *const u8, x: [*const u8; 4]) -> [f32; 4] {
            // SAFETY: as for DotAvx2.
            unsafe { l2sq4_ptr(q.cast(), rows(x), self.0) }
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
    fn hamming_counts_bits_on_every_popcount_tier() {
        let a: Vec<u64> = vec![0xFF00, 1, u64::MAX, 0, 7];
        let b: Vec<u64> = vec![0x0F00, 0, u64::MAX, 5, 7];
        let (pa, pb) = (a.as_ptr().cast::<u8>(), b.as_ptr().cast::<u8>());
        for level in crate::simd::available() {
            crate::with_kernel!(level, |pop| {
                let k = Hamming { words: 2, pop };
                // SAFETY: two words readable at each pointer (plus offsets below 5).
                unsafe {
                    assert_eq!(k.one(pa, pb), 5.0, "{level:?}");
                    let f = k.four(pa, [pb, pa, b[2..].as_ptr().cast(), a[2..].as_ptr().cast()]);
                    assert_eq!(f, [5.0, 0.0, 57.0, 57.0], "{level:?}");
                }
            });
        }
    }

    #[test]
    fn long_codes_count_every_word() {
        // 16 words: long enough for the vector popcount paths.
        let a: Vec<u64> = (0..16u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .collect();
        let b: Vec<u64> = (0..16u64).map(|i| !i).collect();
        let want: u32 = a.iter().zip(&b).map(|(x, y)| (x ^ y).count_ones()).sum();
        let (pa, pb) = (a.as_ptr().cast::<u8>(), b.as_ptr().cast::<u8>());
        for level in crate::simd::available() {
            crate::with_kernel!(level, |pop| {
                let k = Hamming { words: 16, pop };
                // SAFETY: 16 words readable at each pointer.
                let (one, four) = unsafe { (k.one(pa, pb), k.four(pa, [pb; 4])) };
                assert_eq!(one, want as f32, "{level:?}");
                assert_eq!(four, [want as f32; 4], "{level:?}");
            });
        }
    }
}
