//! Run-time dispatch: the hot loops of `search.rs` and `build.rs` compiled
//! once per instruction-set tier, with the distance kernel inlined, and an
//! [`Engine`] that picks the tier the CPU (and the process-wide cap) allows.

use super::build::{insert, repair, Build};
use super::dist::{DotPortable, Hamming, Kernel, L2Portable};
use super::graph::{Bitset, View};
use super::params::Layout;
use super::search::{exact, knn, Scratch};
use crate::simd::Level;

/// Generates one wrapper per tier around a generic `inline(always)` function.
macro_rules! tiered {
    ($plain:ident, $pop:ident, $avx:ident, $inner:ident, ($($a:ident : $t:ty),*) -> $r:ty) => {
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
    };
}

tiered!(knn_p, knn_c, knn_a, knn,
    (g: &View, k: &K, entry: u32, max_level: usize, q: *const u8, ef: usize, kk: usize,
     allow: Option<&Bitset>, sc: &mut Scratch, out: &mut Vec<(f32, u32)>) -> ());
tiered!(exact_p, exact_c, exact_a, exact,
    (g: &View, k: &K, q: *const u8, kk: usize, allow: &Bitset, sc: &mut Scratch,
     out: &mut Vec<(f32, u32)>) -> ());
tiered!(insert_p, insert_c, insert_a, insert,
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
tiered!(repair_p, repair_c, repair_a, repair_dyn,
    (g: &View, k: &K, u: u32, l: usize, dead: &(dyn Fn(u32) -> bool + Sync),
     sc: &mut Scratch) -> bool);

/// Instruction-set tier of the compiled loops.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Tier {
    Plain,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Popcnt,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx2,
}

/// A kernel and the tier its loops run on.
#[derive(Clone, Copy)]
pub(crate) struct Engine<K> {
    pub k: K,
    pub tier: Tier,
}

macro_rules! call {
    ($self:ident, $p:ident, $c:ident, $a:ident, ($($x:expr),*)) => {
        match $self.tier {
            // SAFETY: plain code runs anywhere; the caller upholds the loop's contract.
            Tier::Plain => unsafe { $p::<K>($($x),*) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: this tier is only chosen when popcnt was detected.
            Tier::Popcnt => unsafe { $c::<K>($($x),*) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: this tier is only chosen when AVX2, FMA and popcnt were detected.
            Tier::Avx2 => unsafe { $a::<K>($($x),*) },
            #[cfg(not(target_arch = "x86_64"))]
            // SAFETY: as for Plain.
            _ => unsafe { $p::<K>($($x),*) },
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
            (g, &self.k, q, kk, allow, sc, out)
        )
    }

    /// See [`insert`].
    ///
    /// # Safety
    /// As [`insert`].
    pub unsafe fn insert(&self, b: &Build, s: u32, sc: &mut Scratch) {
        call!(self, insert_p, insert_c, insert_a, (b, &self.k, s, sc))
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
            (g, &self.k, u, l, dead, sc)
        )
    }
}

/// Runs `$body` with `$e` bound to the engine for `$metric` on this CPU.
macro_rules! with_engine {
    ($metric:expr, $lay:expr, |$e:ident| $body:expr) => {{
        let lay: &$crate::hnsw::params::Layout = $lay;
        let (tier, fast) = $crate::hnsw::ops::tier();
        match ($metric, fast) {
            #[cfg(target_arch = "x86_64")]
            ($crate::hnsw::params::Metric::Cosine | $crate::hnsw::params::Metric::Ip, true) => {
                let $e = $crate::hnsw::ops::Engine {
                    k: $crate::hnsw::dist::DotAvx2(lay.kernel_len),
                    tier,
                };
                $body
            }
            #[cfg(target_arch = "x86_64")]
            ($crate::hnsw::params::Metric::L2, true) => {
                let $e = $crate::hnsw::ops::Engine {
                    k: $crate::hnsw::dist::L2Avx2(lay.kernel_len),
                    tier,
                };
                $body
            }
            ($crate::hnsw::params::Metric::Cosine | $crate::hnsw::params::Metric::Ip, _) => {
                let $e = $crate::hnsw::ops::Engine {
                    k: $crate::hnsw::ops::portable_dot(lay),
                    tier,
                };
                $body
            }
            ($crate::hnsw::params::Metric::L2, _) => {
                let $e = $crate::hnsw::ops::Engine {
                    k: $crate::hnsw::ops::portable_l2(lay),
                    tier,
                };
                $body
            }
            ($crate::hnsw::params::Metric::Hamming, _) => {
                let $e = $crate::hnsw::ops::Engine {
                    k: $crate::hnsw::ops::hamming(lay),
                    tier,
                };
                $body
            }
        }
    }};
}
pub(crate) use with_engine;

/// The tier to run on now, and whether the AVX2 float kernels may be used.
pub(crate) fn tier() -> (Tier, bool) {
    match crate::simd::level() {
        Level::Portable => (Tier::Plain, false),
        #[cfg(target_arch = "x86_64")]
        Level::Popcnt => (Tier::Popcnt, false),
        #[cfg(target_arch = "x86_64")]
        _ => (Tier::Avx2, true),
        #[cfg(not(target_arch = "x86_64"))]
        _ => (Tier::Plain, false),
    }
}

pub(crate) fn portable_dot(l: &Layout) -> DotPortable {
    DotPortable(l.kernel_len)
}
pub(crate) fn portable_l2(l: &Layout) -> L2Portable {
    L2Portable(l.kernel_len)
}
pub(crate) fn hamming(l: &Layout) -> Hamming {
    Hamming(l.kernel_len)
}
