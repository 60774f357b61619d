//! Run-time dispatch: the hot loops of `search.rs` and `build.rs` compiled
//! for the instruction-set tier of their distance kernel, with the kernel
//! inlined, and [`with_engine`], which picks the kernel the CPU (and the
//! process-wide cap) allows, once per operation.

use super::build::{insert, repair, Build};
use super::dist::{DotPortable, Hamming, Kernel, L2Portable, Tier};
use super::graph::{Bitset, View};
use super::params::Layout;
use super::search::{exact, knn, Scratch};

/// Generates one wrapper per tier around a generic `inline(always)` function.
macro_rules! tiered {
    ($plain:ident, $pop:ident, $avx:ident, $avx512:ident, $inner:ident,
     ($($a:ident : $t:ty),*) -> $r:ty) => {
        #[allow(clippy::too_many_arguments)]
        unsafe fn $plain<K: Kernel>($($a: $t),*) -> $r {
            // SAFETY: forwarded from the caller.
            unsafe { $inner::<K>($($a),*) }
        }
        #[allow(clippy::too_many_arguments)]
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "popcnt")]
        unsafe fn $pop<K: Kernel>($($a: $t),*) -> $r {
            // SAFETY: forwarded from the caller.
            unsafe { $inner::<K>($($a),*) }
        }
        #[allow(clippy::too_many_arguments)]
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma,popcnt")]
        unsafe fn $avx<K: Kernel>($($a: $t),*) -> $r {
            // SAFETY: forwarded from the caller.
            unsafe { $inner::<K>($($a),*) }
        }
        #[allow(clippy::too_many_arguments)]
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq,avx2,fma,popcnt")]
        unsafe fn $avx512<K: Kernel>($($a: $t),*) -> $r {
            // SAFETY: forwarded from the caller.
            unsafe { $inner::<K>($($a),*) }
        }
    };
}

tiered!(knn_p, knn_c, knn_a, knn_x, knn,
    (g: &View, k: &K, entry: u32, max_level: usize, q: *const u8, ef: usize, kk: usize,
     allow: Option<&Bitset>, sc: &mut Scratch, out: &mut Vec<(f32, u32)>) -> ());
tiered!(exact_p, exact_c, exact_a, exact_x, exact,
    (g: &View, k: &K, q: *const u8, kk: usize, allow: &Bitset, sc: &mut Scratch,
     out: &mut Vec<(f32, u32)>) -> ());
tiered!(insert_p, insert_c, insert_a, insert_x, insert,
    (b: &Build, k: &K, s: u32, sc: &mut Scratch) -> ());

#[inline(always)]
unsafe fn repair_dyn<K: Kernel>(
    g: &View,
    k: &K,
    u: u32,
    l: usize,
    dead: &(dyn Fn(u32) -> bool + Sync),
    sc: &mut Scratch,
) -> bool {
    // SAFETY: forwarded from the caller.
    unsafe { repair(g, k, u, l, &dead, sc) }
}
tiered!(repair_p, repair_c, repair_a, repair_x, repair_dyn,
    (g: &View, k: &K, u: u32, l: usize, dead: &(dyn Fn(u32) -> bool + Sync),
     sc: &mut Scratch) -> bool);

/// A distance kernel, whose type fixes the tier its loops run on.
#[derive(Clone, Copy)]
pub(crate) struct Engine<K> {
    pub k: K,
}

/// Calls the wrapper of the kernel's tier. The match is on a constant of the
/// kernel type, so only that tier's wrapper is compiled for each kernel.
macro_rules! call {
    ($self:ident, $p:ident, $c:ident, $a:ident, $x:ident, ($($arg:expr),*)) => {
        match K::TIER {
            // SAFETY: plain code runs anywhere; the caller upholds the loop's contract.
            Tier::Plain => unsafe { $p::<K>($($arg),*) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a kernel of this tier exists only when popcnt was detected.
            Tier::Popcnt => unsafe { $c::<K>($($arg),*) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a kernel of this tier exists only when AVX2, FMA and
            // popcnt were detected.
            Tier::Avx2 => unsafe { $a::<K>($($arg),*) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a kernel of this tier exists only when AVX-512F/BW,
            // VPOPCNTDQ, AVX2, FMA and popcnt were detected.
            Tier::Avx512 => unsafe { $x::<K>($($arg),*) },
            #[cfg(not(target_arch = "x86_64"))]
            // SAFETY: as for Plain.
            _ => unsafe { $p::<K>($($arg),*) },
        }
    };
}

impl<K: Kernel> Engine<K> {
    /// See [`knn`].
    ///
    /// # Safety
    /// As [`knn`].
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn knn(
        &self,
        g: &View,
        entry: u32,
        max_level: usize,
        q: *const u8,
        ef: usize,
        kk: usize,
        allow: Option<&Bitset>,
        sc: &mut Scratch,
        out: &mut Vec<(f32, u32)>,
    ) {
        call!(
            self,
            knn_p,
            knn_c,
            knn_a,
            knn_x,
            (g, &self.k, entry, max_level, q, ef, kk, allow, sc, out)
        )
    }

    /// See [`exact`].
    ///
    /// # Safety
    /// As [`exact`].
    pub unsafe fn exact(
        &self,
        g: &View,
        q: *const u8,
        kk: usize,
        allow: &Bitset,
        sc: &mut Scratch,
        out: &mut Vec<(f32, u32)>,
    ) {
        call!(
            self,
            exact_p,
            exact_c,
            exact_a,
            exact_x,
            (g, &self.k, q, kk, allow, sc, out)
        )
    }

    /// See [`insert`].
    ///
    /// # Safety
    /// As [`insert`].
    pub unsafe fn insert(&self, b: &Build, s: u32, sc: &mut Scratch) {
        call!(
            self,
            insert_p,
            insert_c,
            insert_a,
            insert_x,
            (b, &self.k, s, sc)
        )
    }

    /// See [`repair`].
    ///
    /// # Safety
    /// As [`repair`].
    pub unsafe fn repair(
        &self,
        g: &View,
        u: u32,
        l: usize,
        dead: &(dyn Fn(u32) -> bool + Sync),
        sc: &mut Scratch,
    ) -> bool {
        call!(
            self,
            repair_p,
            repair_c,
            repair_a,
            repair_x,
            (g, &self.k, u, l, dead, sc)
        )
    }
}

/// Runs `$body` with `$e` bound to the engine for `$metric` on this CPU
/// (the tier of [`crate::simd::level`]: detected, lowered by the cap).
macro_rules! with_engine {
    ($metric:expr, $lay:expr, |$e:ident| $body:expr) => {{
        let lay: &$crate::hnsw::params::Layout = $lay;
        let level = $crate::simd::level();
        let fast = $crate::hnsw::ops::float_simd(level);
        match ($metric, fast) {
            #[cfg(target_arch = "x86_64")]
            ($crate::hnsw::params::Metric::Cosine | $crate::hnsw::params::Metric::Ip, true) => {
                let $e = $crate::hnsw::ops::Engine {
                    k: $crate::hnsw::dist::DotAvx2(lay.kernel_len),
                };
                $body
            }
            #[cfg(target_arch = "x86_64")]
            ($crate::hnsw::params::Metric::L2, true) => {
                let $e = $crate::hnsw::ops::Engine {
                    k: $crate::hnsw::dist::L2Avx2(lay.kernel_len),
                };
                $body
            }
            ($crate::hnsw::params::Metric::Cosine | $crate::hnsw::params::Metric::Ip, _) => {
                let $e = $crate::hnsw::ops::Engine {
                    k: $crate::hnsw::ops::portable_dot(lay),
                };
                $body
            }
            ($crate::hnsw::params::Metric::L2, _) => {
                let $e = $crate::hnsw::ops::Engine {
                    k: $crate::hnsw::ops::portable_l2(lay),
                };
                $body
            }
            ($crate::hnsw::params::Metric::Hamming, _) => {
                $crate::with_kernel!(level, |pop| {
                    let $e = $crate::hnsw::ops::Engine {
                        k: $crate::hnsw::ops::hamming(lay, pop),
                    };
                    $body
                })
            }
        }
    }};
}
pub(crate) use with_engine;

/// Whether the AVX2 float kernels may run on `level`.
pub(crate) fn float_simd(level: crate::simd::Level) -> bool {
    cfg!(target_arch = "x86_64") && level >= crate::simd::Level::Avx2
}

pub(crate) fn portable_dot(l: &Layout) -> DotPortable {
    DotPortable(l.kernel_len)
}
pub(crate) fn portable_l2(l: &Layout) -> L2Portable {
    L2Portable(l.kernel_len)
}
pub(crate) fn hamming<P: super::dist::Popcount>(l: &Layout, pop: P) -> Hamming<P> {
    Hamming {
        words: l.kernel_len,
        pop,
    }
}
