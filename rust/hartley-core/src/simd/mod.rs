//! Run-time selection of instruction sets.
//!
//! Wheels are built for baseline x86-64, so every SIMD kernel exists in
//! several versions and the best one the CPU supports is picked when it is
//! called. [`level`] reports that choice. A process-wide cap ([`set_cap`])
//! lowers it, so tests and benchmarks can force every path that the machine
//! can run; kernels also take an explicit [`Level`] (their `*_with`
//! variants), which a caller may use to run one specific path.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

pub mod f32;

/// An instruction-set tier, ordered from the most portable to the widest.
///
/// On x86-64 each tier implies the ones below it: `Popcnt` adds the scalar
/// `popcnt` instruction; `Avx2` adds AVX2 and FMA; `Avx512` adds AVX-512F/BW
/// (with VL) and `VPOPCNTDQ`. On other architectures only `Portable` is used (the
/// compiler's own vectorisation of the portable code, NEON on aarch64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    /// Plain Rust, no target features.
    Portable = 0,
    /// Hardware `popcnt` on 64-bit words.
    Popcnt = 1,
    /// 256-bit AVX2 with FMA (and `popcnt`).
    Avx2 = 2,
    /// 512-bit AVX-512 with `VPOPCNTDQ`.
    Avx512 = 3,
}

impl Level {
    /// Every tier, most portable first.
    pub const ALL: [Level; 4] = [Level::Portable, Level::Popcnt, Level::Avx2, Level::Avx512];

    /// The tier's lower-case name, as accepted by [`Level::parse`].
    pub fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Popcnt => "popcnt",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    /// Parses a tier name (case-insensitive).
    pub fn parse(name: &str) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(name.trim()))
    }

    fn from_u8(v: u8) -> Level {
        match v {
            0 => Level::Portable,
            1 => Level::Popcnt,
            2 => Level::Avx2,
            _ => Level::Avx512,
        }
    }
}

/// The best tier this CPU supports, detected once.
pub fn detected() -> Level {
    static DETECTED: OnceLock<Level> = OnceLock::new();
    *DETECTED.get_or_init(detect)
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Level {
    if is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("avx512vpopcntdq")
        && is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("popcnt")
    {
        Level::Avx512
    } else if is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("popcnt")
    {
        Level::Avx2
    } else if is_x86_feature_detected!("popcnt") {
        Level::Popcnt
    } else {
        Level::Portable
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Level {
    Level::Portable
}

static CAP: AtomicU8 = AtomicU8::new(Level::Avx512 as u8);

/// Caps the tier that dispatching kernels use for the rest of the process
/// (`None` removes the cap). Intended for tests and benchmarks that compare
/// paths; a cap above what the CPU supports has no effect.
pub fn set_cap(cap: Option<Level>) {
    CAP.store(cap.unwrap_or(Level::Avx512) as u8, Ordering::Relaxed);
}

/// The tier dispatching kernels use now: the detected tier, lowered by the cap.
#[inline]
pub fn level() -> Level {
    detected().min(Level::from_u8(CAP.load(Ordering::Relaxed)))
}

/// The tiers this CPU can run, most portable first (for tests that force each).
pub fn available() -> Vec<Level> {
    Level::ALL
        .into_iter()
        .filter(|&l| l <= detected())
        .collect()
}

/// Asks for the cache line holding `p` to be brought into L1. A hint only:
/// it reads nothing and never faults, so `p` may point anywhere, past the
/// end of an allocation included.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: SSE is part of x86_64; a prefetch has no effect on memory
        // and does not fault on any address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for l in Level::ALL {
            assert_eq!(Level::parse(l.name()), Some(l));
        }
        assert_eq!(Level::parse(" AVX2 "), Some(Level::Avx2));
        assert_eq!(Level::parse("sse"), None);
    }

    #[test]
    fn available_is_a_prefix_up_to_detected() {
        let a = available();
        assert_eq!(a[0], Level::Portable);
        assert_eq!(*a.last().unwrap(), detected());
    }
}
