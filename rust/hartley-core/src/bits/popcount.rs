//! Population counts of XOR, AND and OR over packed binary codes.
//!
//! Codes are compared as little-endian 64-bit words. Every kernel exists in
//! four tiers ([`Level`]): portable Rust, scalar `popcnt`, AVX2 with the
//! nibble-lookup method (Mula's `vpshufb` table, bytes summed with
//! `vpsadbw`), and AVX-512 `VPOPCNTDQ`. The scan in [`super::scan`] is
//! compiled once per tier around the same [`Kernel`] trait, so a whole scan
//! runs with the tier's instructions inlined.
//!
//! Scans of codes up to 1024 bits count eight rows per step where the
//! AVX-512 tier also has VBMI byte permutes (checked at run time, as every
//! feature is): the per-word counts of eight rows are gathered into one
//! 64-bit lane per row and summed there, so no row pays for a horizontal
//! reduction ([`Kernel::xor_rows`], [`Kernel::xor_rows_below`]).

use super::topk::Neighbour;
use crate::simd::Level;

/// How far ahead of the rows being counted a streaming scan prefetches. A
/// core reads memory at full speed only with many cache-line misses in
/// flight; the hardware prefetchers alone leave a scan that does this much
/// arithmetic per byte waiting on memory much of the time. The distance was
/// chosen by sweeping 1 to 16 KiB on single-query scans of a million
/// 384-bit codes; nearer distances left the scan slower.
pub const PREFETCH_BYTES: usize = 8192;

/// Asks for the cache lines of `rows`, moved [`PREFETCH_BYTES`] on, to be
/// brought into L1. A hint only: it reads nothing and never faults, so the
/// addresses may run past the end of the codes.
#[inline(always)]
pub fn prefetch_ahead(rows: &[u64]) {
    let ahead = rows.as_ptr().cast::<u8>().wrapping_add(PREFETCH_BYTES);
    for line in 0..(rows.len() * 8).div_ceil(64) {
        crate::simd::prefetch(ahead.wrapping_add(64 * line));
    }
}

/// Distance kernel between two equal-length word slices, specialised per tier.
///
/// Hot loops run inside [`Kernel::within`], which enters a function compiled
/// with the tier's target features, so the counts inline into the loop with
/// the tier's instructions (loops in rayon jobs would not inherit them). The
/// closure given to `within` must be marked `#[inline(always)]`: otherwise
/// the compiler may keep it out of line, compiled without those features,
/// and every count in it falls back to portable code.
pub trait Kernel: Copy + Send + Sync {
    /// Runs `f` inside a function compiled with this tier's target features.
    fn within<R>(self, f: impl FnOnce(Self) -> R) -> R;
    /// Number of set bits in `a XOR b`.
    fn xor_count(self, a: &[u64], b: &[u64]) -> u32;
    /// Number of set bits in `a AND b`.
    fn and_count(self, a: &[u64], b: &[u64]) -> u32;
    /// Number of set bits in `a OR b`.
    fn or_count(self, a: &[u64], b: &[u64]) -> u32;

    /// XOR counts of `q` against every row of `db` (rows of `q.len()`
    /// words, whole rows only) into `out`, by a kernel that counts several
    /// rows at once, when the tier has one for this width. Returns `false`,
    /// having written nothing, when it has none; callers then count row by
    /// row. With `stream`, for rows read once from memory rather than from
    /// cache, the kernel prefetches the rows [`PREFETCH_BYTES`] ahead of
    /// those it counts.
    #[inline(always)]
    fn xor_rows(self, _q: &[u64], _db: &[u64], _out: &mut [u32], _stream: bool) -> bool {
        false
    }

    /// Appends to `out` every row of `db` whose XOR count against `q` is
    /// below `bound`, as a [`Neighbour`] with id `first` plus its row
    /// index, in row order, when the tier has a several-rows kernel for this
    /// width (see [`Kernel::xor_rows`]); returns `false`, having appended
    /// nothing, otherwise. `stream` as for [`Kernel::xor_rows`].
    #[inline(always)]
    fn xor_rows_below(
        self,
        _q: &[u64],
        _db: &[u64],
        _bound: u32,
        _first: u64,
        _out: &mut Vec<Neighbour>,
        _stream: bool,
    ) -> bool {
        false
    }

    /// [`Kernel::xor_count`] of `a` against four codes of its length. Short
    /// codes (a graph walk compares one query with a few rows at a time)
    /// gain from loading each query word once and running four independent
    /// count chains; the default counts row by row.
    #[inline(always)]
    fn xor_count4(self, a: &[u64], b: [&[u64]; 4]) -> [u32; 4] {
        [
            self.xor_count(a, b[0]),
            self.xor_count(a, b[1]),
            self.xor_count(a, b[2]),
            self.xor_count(a, b[3]),
        ]
    }
}

/// Set bits of `f(a[i], b[i])` summed over the words of `a`. An index loop
/// rather than iterator adaptors: a closure takes the caller's target
/// features, so generic adaptors without them (`Map::fold`) cannot inline
/// it, and without cross-unit inlining (no LTO) even `Zip::new` stayed a
/// call per row.
///
/// # Panics
/// If `b` is shorter than `a`.
#[inline(always)]
fn count_with(a: &[u64], b: &[u64], f: impl Fn(u64, u64) -> u64) -> u32 {
    let n = a.len();
    let b = &b[..n];
    let mut sum = 0;
    let mut i = 0;
    while i < n {
        sum += f(a[i], b[i]).count_ones();
        i += 1;
    }
    sum
}

/// Four XOR counts word by word, interleaved across the rows.
///
/// # Panics
/// If a row is shorter than `a`.
#[inline(always)]
fn xor4_words(a: &[u64], b: [&[u64]; 4]) -> [u32; 4] {
    let n = a.len();
    assert!(
        b.iter().all(|r| r.len() >= n),
        "xor_count4: rows shorter than the query"
    );
    let mut s = [0u32; 4];
    for (i, &w) in a.iter().enumerate() {
        for j in 0..4 {
            // SAFETY: i < n <= b[j].len(), checked above.
            s[j] += (w ^ unsafe { *b[j].get_unchecked(i) }).count_ones();
        }
    }
    s
}

/// [`Kernel::xor_count4`] for the vector tiers: interleaved word by word
/// below `min_words` (where the tier counts words one by one anyway), row by
/// row with the tier's vector count above.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn xor4_short_or_rows<K: Kernel>(k: K, min_words: usize, a: &[u64], b: [&[u64]; 4]) -> [u32; 4] {
    if a.len() < min_words {
        xor4_words(a, b)
    } else {
        b.map(|row| k.xor_count(a, row))
    }
}

/// Word-by-word `count_ones` in portable code.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scalar;

/// Word-by-word `count_ones` compiled with the `popcnt` instruction. Only
/// constructed after it was detected.
#[derive(Clone, Copy, Debug)]
pub struct Popcnt(());

impl Popcnt {
    /// The kernel, if this CPU has `popcnt`.
    pub fn new() -> Option<Self> {
        (crate::simd::detected() >= Level::Popcnt).then_some(Popcnt(()))
    }
}

impl Kernel for Popcnt {
    #[inline(always)]
    fn within<R>(self, f: impl FnOnce(Self) -> R) -> R {
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "popcnt")]
            unsafe fn enter<K, R>(k: K, f: impl FnOnce(K) -> R) -> R {
                f(k)
            }
            // SAFETY: a `Popcnt` exists only when the instruction was detected.
            unsafe { enter(self, f) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        f(self)
    }
    #[inline(always)]
    fn xor_count(self, a: &[u64], b: &[u64]) -> u32 {
        Scalar.xor_count(a, b)
    }
    #[inline(always)]
    fn and_count(self, a: &[u64], b: &[u64]) -> u32 {
        Scalar.and_count(a, b)
    }
    #[inline(always)]
    fn or_count(self, a: &[u64], b: &[u64]) -> u32 {
        Scalar.or_count(a, b)
    }
    #[inline(always)]
    fn xor_count4(self, a: &[u64], b: [&[u64]; 4]) -> [u32; 4] {
        xor4_words(a, b)
    }
}

impl Kernel for Scalar {
    #[inline(always)]
    fn within<R>(self, f: impl FnOnce(Self) -> R) -> R {
        f(self)
    }
    #[inline(always)]
    fn xor_count(self, a: &[u64], b: &[u64]) -> u32 {
        count_with(a, b, |x, y| x ^ y)
    }
    #[inline(always)]
    fn and_count(self, a: &[u64], b: &[u64]) -> u32 {
        count_with(a, b, |x, y| x & y)
    }
    #[inline(always)]
    fn or_count(self, a: &[u64], b: &[u64]) -> u32 {
        count_with(a, b, |x, y| x | y)
    }
    #[inline(always)]
    fn xor_count4(self, a: &[u64], b: [&[u64]; 4]) -> [u32; 4] {
        xor4_words(a, b)
    }
}

/// AVX2 nibble lookup for codes of at least [`Avx2::MIN_WORDS`] words,
/// scalar `popcnt` below (where the horizontal sum would cost more than it
/// saves). Only constructed after AVX2 was detected.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub struct Avx2(());

#[cfg(target_arch = "x86_64")]
impl Avx2 {
    /// Codes shorter than this many 64-bit words use scalar `popcnt`.
    pub const MIN_WORDS: usize = 8;

    /// The kernel, if this CPU has AVX2.
    pub fn new() -> Option<Self> {
        (crate::simd::detected() >= Level::Avx2).then_some(Avx2(()))
    }
}

/// AVX-512 `VPOPCNTDQ` over 8-word lanes for codes of at least
/// [`Avx512::MIN_WORDS`] words, scalar `popcnt` otherwise. Only constructed
/// after the instructions were detected.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub struct Avx512(());

#[cfg(target_arch = "x86_64")]
impl Avx512 {
    /// Codes shorter than this many 64-bit words use scalar `popcnt`: one
    /// 512-bit lane would be mostly masked and the reduction costs more than
    /// it saves.
    pub const MIN_WORDS: usize = 8;

    /// The kernel, if this CPU has AVX-512 with `VPOPCNTDQ`.
    pub fn new() -> Option<Self> {
        (crate::simd::detected() >= Level::Avx512).then_some(Avx512(()))
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// The three bitwise operations the kernels combine codes with.
    #[derive(Clone, Copy)]
    pub enum Op {
        Xor,
        And,
        Or,
    }

    #[inline(always)]
    fn combine256(op: Op, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: callers are compiled with AVX2 enabled.
        unsafe {
            match op {
                Op::Xor => _mm256_xor_si256(a, b),
                Op::And => _mm256_and_si256(a, b),
                Op::Or => _mm256_or_si256(a, b),
            }
        }
    }

    #[inline(always)]
    fn combine64(op: Op, a: u64, b: u64) -> u64 {
        match op {
            Op::Xor => a ^ b,
            Op::And => a & b,
            Op::Or => a | b,
        }
    }

    /// Word-by-word `popcnt`, for short codes.
    #[inline(always)]
    pub fn count_words(op: Op, a: &[u64], b: &[u64]) -> u32 {
        super::count_with(a, b, |x, y| combine64(op, x, y))
    }

    /// Whether the CPU has AVX-512 VBMI (byte permutes), which the
    /// several-rows kernel needs besides the AVX-512 tier's features.
    #[inline]
    pub fn has_vbmi() -> bool {
        std::arch::is_x86_feature_detected!("avx512vbmi")
    }

    /// What the several-rows kernel needs per query, for rows of `S <= 16`
    /// words. Eight consecutive rows are `S` whole 512-bit vectors; vector
    /// `j` is XORed with the query words it lines up with, `q[(8j + l) %
    /// S]` in lane `l`. The per-word counts (at most 64, so one byte each)
    /// are packed into one vector per eight vectors, count of word `8j + l`
    /// at byte `8l + j % 8` of packed vector `j / 8`, and a byte permute
    /// gathers each row's counts (up to eight per permute) into its own
    /// 64-bit lane, the other bytes zeroed, where `vpsadbw` sums them. No
    /// horizontal reduction per row: eight distances come out of one or two
    /// permutes and sums.
    struct Rows8<const S: usize> {
        q: [__m512i; S],
        gather: [__m512i; 2],
        keep: [u64; 2],
    }

    impl<const S: usize> Rows8<S> {
        /// # Safety
        /// AVX-512F is available, `q.len() == S` and `S <= 16`.
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn new(q: &[u64]) -> Self {
            let mut lanes = [[0u64; 8]; S];
            for (j, v) in lanes.iter_mut().enumerate() {
                for (l, w) in v.iter_mut().enumerate() {
                    *w = q[(8 * j + l) % S];
                }
            }
            // Byte of word w's count in the packed vectors (64 + ... in the
            // second one).
            let byte = |w: usize| (64 * (w / 64) + 8 * (w % 8) + (w / 8) % 8) as u8;
            let mut index = [[0u8; 64]; 2];
            let mut keep = [0u64; 2];
            for r in 0..8 {
                for p in 0..S {
                    let (half, slot) = (p / 8, 8 * r + p % 8);
                    index[half][slot] = byte(r * S + p);
                    keep[half] |= 1 << slot;
                }
            }
            // The permute indices go through `black_box`: seen as
            // constants, the compiler rewrites the byte permutes into a
            // transpose of the loaded rows (a dozen shuffles per group),
            // which made the loop compute-bound.
            let (index, keep) = std::hint::black_box((index, keep));
            // SAFETY: every array read is 64 bytes long.
            unsafe {
                Rows8 {
                    q: lanes.map(|v| _mm512_loadu_si512(v.as_ptr() as *const __m512i)),
                    gather: index.map(|v| _mm512_loadu_si512(v.as_ptr() as *const __m512i)),
                    keep,
                }
            }
        }

        /// The distances of the eight rows starting at `rows`, one per
        /// 64-bit lane.
        ///
        /// # Safety
        /// AVX-512F/BW/VBMI and VPOPCNTDQ are available and `rows` points
        /// at `8 S` readable words.
        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vpopcntdq")]
        unsafe fn sums(&self, rows: *const u64) -> __m512i {
            let mut packed = [_mm512_setzero_si512(); 2];
            for j in 0..S {
                // SAFETY: words 8j..8j + 8 < 8 S of `rows`.
                let x = unsafe { _mm512_loadu_si512(rows.add(8 * j) as *const __m512i) };
                let c = _mm512_popcnt_epi64(_mm512_xor_si512(x, self.q[j]));
                packed[j / 8] = _mm512_or_si512(
                    packed[j / 8],
                    _mm512_sllv_epi64(c, _mm512_set1_epi64(8 * (j % 8) as i64)),
                );
            }
            let zero = _mm512_setzero_si512();
            if S <= 8 {
                let rows = _mm512_maskz_permutexvar_epi8(self.keep[0], self.gather[0], packed[0]);
                _mm512_sad_epu8(rows, zero)
            } else {
                let [lo, hi] = packed;
                let a = _mm512_maskz_permutex2var_epi8(self.keep[0], lo, self.gather[0], hi);
                let b = _mm512_maskz_permutex2var_epi8(self.keep[1], lo, self.gather[1], hi);
                _mm512_add_epi64(_mm512_sad_epu8(a, zero), _mm512_sad_epu8(b, zero))
            }
        }
    }

    /// Distances of the whole groups of eight rows of `db` into `out`;
    /// returns the number of rows done (a multiple of eight). No calls in
    /// the loop, so the query vectors stay in registers. With `stream`, each
    /// group first prefetches the rows [`super::PREFETCH_BYTES`] ahead.
    ///
    /// # Safety
    /// As [`Rows8::sums`], and `out.len() >= db.len() / S`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vpopcntdq")]
    unsafe fn rows_groups<const S: usize>(
        k: &Rows8<S>,
        db: &[u64],
        out: &mut [u32],
        stream: bool,
    ) -> usize {
        let n = (db.len() / S).min(out.len());
        let mut i = 0;
        while i + 8 <= n {
            if stream {
                super::prefetch_ahead(&db[i * S..(i + 8) * S]);
            }
            // SAFETY: rows i..i + 8 <= n lie in `db`; out[i..i + 8] in `out`.
            unsafe {
                let d = _mm512_cvtepi64_epi32(k.sums(db.as_ptr().add(i * S)));
                _mm256_storeu_si256(out.as_mut_ptr().add(i) as *mut __m256i, d);
            }
            i += 8;
        }
        i
    }

    /// [`super::Kernel::xor_rows`] for rows of `S <= 16` words.
    ///
    /// # Safety
    /// AVX-512F/BW/VBMI and VPOPCNTDQ are available, `q.len() == S` and
    /// `out.len() >= db.len() / S`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vpopcntdq,popcnt")]
    pub unsafe fn rows_fill<const S: usize>(q: &[u64], db: &[u64], out: &mut [u32], stream: bool) {
        let n = db.len() / S;
        assert!(q.len() == S && S <= 16 && out.len() >= n);
        // SAFETY: the features are available (caller), `q.len() == S <= 16`,
        // and `out` has a slot per row.
        let mut i = unsafe { rows_groups(&Rows8::<S>::new(q), db, out, stream) };
        while i < n {
            out[i] = count_words(Op::Xor, q, &db[i * S..(i + 1) * S]);
            i += 1;
        }
    }

    /// [`super::Kernel::xor_rows_below`] for rows of `S <= 16` words. Rows
    /// go through a small buffer of distances, filtered sixteen at a time,
    /// so that appending (a call) stays out of the counting loop.
    ///
    /// # Safety
    /// AVX-512F/BW/VBMI and VPOPCNTDQ are available and `q.len() == S`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vpopcntdq,popcnt")]
    pub unsafe fn rows_below<const S: usize>(
        q: &[u64],
        db: &[u64],
        bound: u32,
        first: u64,
        out: &mut Vec<super::Neighbour>,
        stream: bool,
    ) {
        const CHUNK: usize = 512;
        let n = db.len() / S;
        assert!(q.len() == S && S <= 16);
        // SAFETY: the features are available (caller), `q.len() == S <= 16`.
        let k = unsafe { Rows8::<S>::new(q) };
        let limit = _mm512_set1_epi32(bound as i32);
        let mut buf = [0u32; CHUNK];
        let mut start = 0;
        while start < n {
            let rows = CHUNK.min(n - start);
            let part = &db[start * S..(start + rows) * S];
            // SAFETY: as above; `buf` has CHUNK >= rows slots.
            let mut done = unsafe { rows_groups(&k, part, &mut buf, stream) };
            while done < rows {
                buf[done] = count_words(Op::Xor, q, &part[done * S..(done + 1) * S]);
                done += 1;
            }
            buf[rows..].fill(u32::MAX);
            for (c, group) in buf[..rows.next_multiple_of(16)]
                .chunks_exact(16)
                .enumerate()
            {
                // SAFETY: `group` is 16 u32, 64 bytes.
                let d = unsafe { _mm512_loadu_si512(group.as_ptr() as *const __m512i) };
                let mut hits = _mm512_cmplt_epu32_mask(d, limit);
                while hits != 0 {
                    let r = hits.trailing_zeros() as usize;
                    out.push(super::Neighbour {
                        distance: group[r] as f32,
                        id: first + (start + 16 * c + r) as u64,
                    });
                    hits &= hits - 1;
                }
            }
            start += rows;
        }
    }

    /// Set bits per byte of `x`, by nibble lookup.
    #[inline(always)]
    fn byte_counts(x: __m256i) -> __m256i {
        // SAFETY: callers are compiled with AVX2 enabled.
        unsafe {
            let lut = _mm256_setr_epi8(
                0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3,
                2, 3, 3, 4,
            );
            let low = _mm256_set1_epi8(0x0f);
            let lo = _mm256_shuffle_epi8(lut, _mm256_and_si256(x, low));
            let hi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16::<4>(x), low));
            _mm256_add_epi8(lo, hi)
        }
    }

    /// XOR counts of the query `q` (`V` 256-bit vectors) against the four
    /// consecutive rows of `V` vectors at `rows`, row `r` in 64-bit lane `r`.
    /// Each row's byte counts add up to at most `8 V <= 64` per byte before
    /// one `vpsadbw`; the four rows' lane sums then reduce together.
    ///
    /// # Safety
    /// AVX2 is available and `rows` points to `4 V` readable vectors.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn rows4<const V: usize>(q: &[__m256i; V], rows: *const __m256i) -> __m256i {
        let zero = _mm256_setzero_si256();
        let sums: [__m256i; 4] = std::array::from_fn(|r| {
            let mut bytes = zero;
            for (j, qv) in q.iter().enumerate() {
                // SAFETY: vector r V + j < 4 V of the four rows.
                let x = _mm256_xor_si256(unsafe { _mm256_loadu_si256(rows.add(r * V + j)) }, *qv);
                bytes = _mm256_add_epi8(bytes, byte_counts(x));
            }
            _mm256_sad_epu8(bytes, zero)
        });
        reduce4(sums)
    }

    /// Four vectors of 64-bit lane sums into one vector of their totals.
    #[inline(always)]
    fn reduce4(sums: [__m256i; 4]) -> __m256i {
        // SAFETY: callers are compiled with AVX2 enabled.
        unsafe {
            let pair = |a: __m256i, b: __m256i| {
                _mm256_add_epi64(_mm256_unpacklo_epi64(a, b), _mm256_unpackhi_epi64(a, b))
            };
            let (p01, p23) = (pair(sums[0], sums[1]), pair(sums[2], sums[3]));
            _mm256_add_epi64(
                _mm256_permute2x128_si256::<0x20>(p01, p23),
                _mm256_permute2x128_si256::<0x31>(p01, p23),
            )
        }
    }

    /// The words `words(0..4 N)` as `N` vectors.
    ///
    /// # Safety
    /// AVX2 is available.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn vectors<const N: usize>(words: impl Fn(usize) -> u64) -> [__m256i; N] {
        std::array::from_fn(|j| {
            let w = |l: usize| words(4 * j + l) as i64;
            _mm256_setr_epi64x(w(0), w(1), w(2), w(3))
        })
    }

    /// XOR counts of the query against two consecutive rows of `4 M + 2`
    /// words, which span `2 M + 1` vectors: row 0 fills vectors `0..M` and
    /// the low half of vector `M`, row 1 its high half and vectors
    /// `M + 1..2 M + 1`. Row 0's count comes out in 64-bit lanes 0 and 1,
    /// row 1's in lanes 2 and 3 (each a partial sum; [`pairs4`] adds them).
    /// Bytes sum to at most `16 M + 8` before `vpsadbw`.
    ///
    /// # Safety
    /// AVX2 is available and `rows` points to `2 M + 1` readable vectors.
    #[inline(always)]
    unsafe fn pair<const M: usize>(q: &PairQuery<M>, rows: *const __m256i) -> __m256i {
        // SAFETY: vectors 0..2M+1 of the pair (the caller's guarantee).
        unsafe {
            let zero = _mm256_setzero_si256();
            let (mut first, mut second) = (zero, zero);
            for j in 0..M {
                let x = _mm256_xor_si256(_mm256_loadu_si256(rows.add(j)), q.first[j]);
                first = _mm256_add_epi8(first, byte_counts(x));
                let y = _mm256_xor_si256(_mm256_loadu_si256(rows.add(M + 1 + j)), q.second[j]);
                second = _mm256_add_epi8(second, byte_counts(y));
            }
            let middle = byte_counts(_mm256_xor_si256(_mm256_loadu_si256(rows.add(M)), q.middle));
            // Low halves [row 0 | row 1], high halves likewise, plus the
            // shared vector: row 0's bytes in the low 128 bits, row 1's high.
            let lows = _mm256_permute2x128_si256::<0x20>(first, second);
            let highs = _mm256_permute2x128_si256::<0x31>(first, second);
            _mm256_sad_epu8(_mm256_add_epi8(_mm256_add_epi8(lows, highs), middle), zero)
        }
    }

    /// The query vectors of [`pair`] for codes of `4 M + 2` words.
    struct PairQuery<const M: usize> {
        /// Words `4j..4j + 4`, against row 0's whole vectors.
        first: [__m256i; M],
        /// Words `4M, 4M + 1, 0, 1`, against the vector the rows share.
        middle: __m256i,
        /// Words `4j + 2..4j + 6`, against row 1's whole vectors.
        second: [__m256i; M],
    }

    impl<const M: usize> PairQuery<M> {
        /// # Safety
        /// AVX2 is available and `q.len() == 4 M + 2`.
        #[inline(always)]
        unsafe fn new(q: &[u64]) -> Self {
            // SAFETY: AVX2 (the caller's guarantee); indices below 4M + 2.
            unsafe {
                let w = |i: usize| q[i] as i64;
                Self {
                    first: vectors::<M>(|i| q[i]),
                    middle: _mm256_setr_epi64x(w(4 * M), w(4 * M + 1), w(0), w(1)),
                    second: vectors::<M>(|i| q[i + 2]),
                }
            }
        }
    }

    /// XOR counts of four consecutive rows of `4 M + 2` words, row `r` in
    /// 64-bit lane `r`, from two [`pair`]s.
    ///
    /// # Safety
    /// AVX2 is available and `rows` points to four readable rows.
    #[inline(always)]
    unsafe fn pairs4<const M: usize>(q: &PairQuery<M>, rows: *const __m256i) -> __m256i {
        // SAFETY: the two pairs are the four rows (the caller's guarantee).
        unsafe {
            let (a, b) = (pair::<M>(q, rows), pair::<M>(q, rows.add(2 * M + 1)));
            // [r0, r2, r1, r3], then in row order.
            let sums = _mm256_add_epi64(_mm256_unpacklo_epi64(a, b), _mm256_unpackhi_epi64(a, b));
            _mm256_permute4x64_epi64::<0b11_01_10_00>(sums)
        }
    }

    /// Set bits of `q XOR row` by the scalar `popcnt` instruction, word by
    /// word. Written as inline assembly so that the compiler keeps it on the
    /// integer units: with AVX2 enabled it would otherwise turn the word
    /// loop into vector lookups, competing with the vector rows of the
    /// group (see [`each_row`]).
    ///
    /// # Panics
    /// If `row` is shorter than `q`.
    #[inline(always)]
    fn scalar_row<const W: usize>(q: &[u64; W], row: &[u64]) -> u32 {
        let row: &[u64; W] = row[..W].try_into().expect("W words");
        let mut sum = 0u64;
        for (a, b) in q.iter().zip(row) {
            let count: u64;
            // SAFETY: callers run with POPCNT available; the instruction
            // reads one register and writes another, nothing else.
            unsafe {
                std::arch::asm!(
                    "popcnt {c}, {x}",
                    x = in(reg) a ^ b,
                    c = lateout(reg) count,
                    options(pure, nomem, nostack)
                );
            }
            sum += count;
        }
        sum as u32
    }

    /// Calls `each(row, distance)` for every row of `db` in row order, the
    /// distances from `q` (`W` words) counted in groups of `S + 4` rows: `S`
    /// rows word by word with scalar `popcnt`, then four through `count4`
    /// (given a pointer to four rows) in vector registers; the last rows word
    /// by word. The scalar counts run on the integer units while the vector
    /// counts run on the vector units, so a mixed group takes less time per
    /// row than either kind alone. With `stream`, each group first
    /// prefetches the rows [`super::PREFETCH_BYTES`] ahead of it.
    #[inline(always)]
    fn each_row<const W: usize, const S: usize>(
        q: &[u64; W],
        db: &[u64],
        stream: bool,
        count4: impl Fn(*const u64) -> __m256i,
        mut each: impl FnMut(usize, u32),
    ) {
        let n = db.len() / W;
        let g = S + 4;
        let groups = n / g;
        for (i, rows) in db.chunks_exact(g * W).take(groups).enumerate() {
            if stream {
                super::prefetch_ahead(rows);
            }
            let d = count4(rows[S * W..].as_ptr());
            for r in 0..S {
                each(i * g + r, scalar_row(q, &rows[r * W..]));
            }
            let mut lanes = [0u64; 4];
            // SAFETY: `lanes` is 32 bytes long; callers have AVX2.
            unsafe { _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, d) };
            for (r, &l) in lanes.iter().enumerate() {
                each(i * g + S + r, l as u32);
            }
        }
        for r in groups * g..n {
            each(r, count_words(Op::Xor, q, &db[r * W..(r + 1) * W]));
        }
    }

    /// Distances of `q` to every row of `db` into `out` (see [`each_row`]).
    #[inline(always)]
    fn fill_groups<const W: usize, const S: usize>(
        q: &[u64; W],
        db: &[u64],
        out: &mut [u32],
        stream: bool,
        count4: impl Fn(*const u64) -> __m256i,
    ) {
        assert!(out.len() >= db.len() / W, "one output slot per row");
        each_row::<W, S>(q, db, stream, count4, |r, d| out[r] = d);
    }

    /// Appends every row of `db` whose distance to `q` is below `bound`, in
    /// row order (see [`each_row`]).
    #[inline(always)]
    fn below_groups<const W: usize, const S: usize>(
        q: &[u64; W],
        db: &[u64],
        bound: u32,
        first: u64,
        out: &mut Vec<super::Neighbour>,
        stream: bool,
        count4: impl Fn(*const u64) -> __m256i,
    ) {
        each_row::<W, S>(q, db, stream, count4, |r, d| {
            if d < bound {
                out.push(super::Neighbour {
                    distance: d as f32,
                    id: first + r as u64,
                });
            }
        });
    }

    /// XOR counts of `q` (`W = 4 V` words, whole vectors) against every row
    /// of `db` into `out`, in groups of `S` rows by scalar `popcnt` and four
    /// by [`rows4`].
    ///
    /// # Safety
    /// AVX2 and POPCNT are available.
    ///
    /// # Panics
    /// If `q.len() != W` or `W != 4 V`.
    #[inline]
    #[target_feature(enable = "avx2,popcnt")]
    pub unsafe fn whole_fill<const W: usize, const V: usize, const S: usize>(
        q: &[u64],
        db: &[u64],
        out: &mut [u32],
        stream: bool,
    ) {
        assert_eq!(W, 4 * V, "whole vectors");
        let q: &[u64; W] = q.try_into().expect("query of the code width");
        // SAFETY: AVX2 is available (the caller's guarantee); every pointer
        // passed to the closure starts four whole rows, `4 W` words.
        unsafe {
            let qv = vectors::<V>(|w| q[w]);
            fill_groups::<W, S>(q, db, out, stream, |p| rows4::<V>(&qv, p as *const __m256i))
        }
    }

    /// [`whole_fill`], appending the rows below `bound` instead.
    ///
    /// # Safety
    /// As for [`whole_fill`].
    #[inline]
    #[target_feature(enable = "avx2,popcnt")]
    pub unsafe fn whole_below<const W: usize, const V: usize, const S: usize>(
        q: &[u64],
        db: &[u64],
        bound: u32,
        first: u64,
        out: &mut Vec<super::Neighbour>,
        stream: bool,
    ) {
        assert_eq!(W, 4 * V, "whole vectors");
        let q: &[u64; W] = q.try_into().expect("query of the code width");
        // SAFETY: as in `whole_fill`.
        unsafe {
            let qv = vectors::<V>(|w| q[w]);
            below_groups::<W, S>(q, db, bound, first, out, stream, |p| {
                rows4::<V>(&qv, p as *const __m256i)
            })
        }
    }

    /// XOR counts of `q` (`W = 4 M + 2` words, so two rows share a
    /// vector) against every row of `db` into `out`, in groups of `S` rows
    /// by scalar `popcnt` and four by [`pairs4`].
    ///
    /// # Safety
    /// AVX2 and POPCNT are available.
    ///
    /// # Panics
    /// If `q.len() != W` or `W != 4 M + 2`.
    #[inline]
    #[target_feature(enable = "avx2,popcnt")]
    pub unsafe fn pairs_fill<const W: usize, const M: usize, const S: usize>(
        q: &[u64],
        db: &[u64],
        out: &mut [u32],
        stream: bool,
    ) {
        assert_eq!(W, 4 * M + 2, "two rows to an odd number of vectors");
        let q: &[u64; W] = q.try_into().expect("query of the code width");
        // SAFETY: AVX2 is available (the caller's guarantee); every pointer
        // passed to the closure starts four whole rows, `2 (2 M + 1)` vectors.
        unsafe {
            let pq = PairQuery::<M>::new(q);
            fill_groups::<W, S>(q, db, out, stream, |p| {
                pairs4::<M>(&pq, p as *const __m256i)
            })
        }
    }

    /// [`pairs_fill`], appending the rows below `bound` instead.
    ///
    /// # Safety
    /// As for [`pairs_fill`].
    #[inline]
    #[target_feature(enable = "avx2,popcnt")]
    pub unsafe fn pairs_below<const W: usize, const M: usize, const S: usize>(
        q: &[u64],
        db: &[u64],
        bound: u32,
        first: u64,
        out: &mut Vec<super::Neighbour>,
        stream: bool,
    ) {
        assert_eq!(W, 4 * M + 2, "two rows to an odd number of vectors");
        let q: &[u64; W] = q.try_into().expect("query of the code width");
        // SAFETY: as in `pairs_fill`.
        unsafe {
            let pq = PairQuery::<M>::new(q);
            below_groups::<W, S>(q, db, bound, first, out, stream, |p| {
                pairs4::<M>(&pq, p as *const __m256i)
            })
        }
    }

    /// # Safety
    /// AVX2 and POPCNT are available and `a.len() == b.len()`.
    #[inline]
    #[target_feature(enable = "avx2,popcnt")]
    pub unsafe fn count_avx2(op: Op, a: &[u64], b: &[u64]) -> u32 {
        let n = a.len();
        if n < super::Avx2::MIN_WORDS {
            return count_words(op, a, b);
        }
        let lut = _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2,
            3, 3, 4,
        );
        let low = _mm256_set1_epi8(0x0f);
        let mut total = _mm256_setzero_si256();
        let mut bytes = _mm256_setzero_si256();
        let (pa, pb) = (a.as_ptr() as *const __m256i, b.as_ptr() as *const __m256i);
        let blocks = n / 4;
        let mut i = 0;
        while i < blocks {
            // Each block adds at most 8 to a byte counter: flush before 255.
            let end = (i + 31).min(blocks);
            while i < end {
                // SAFETY: block i covers words 4i..4i+4 <= n of both slices.
                let x = unsafe {
                    combine256(
                        op,
                        _mm256_loadu_si256(pa.add(i)),
                        _mm256_loadu_si256(pb.add(i)),
                    )
                };
                let lo = _mm256_shuffle_epi8(lut, _mm256_and_si256(x, low));
                let hi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16::<4>(x), low));
                bytes = _mm256_add_epi8(bytes, _mm256_add_epi8(lo, hi));
                i += 1;
            }
            total = _mm256_add_epi64(total, _mm256_sad_epu8(bytes, _mm256_setzero_si256()));
            bytes = _mm256_setzero_si256();
        }
        let mut lanes = [0u64; 4];
        // SAFETY: `lanes` is 32 bytes long.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, total) };
        let mut sum = lanes.iter().sum::<u64>() as u32;
        for w in blocks * 4..n {
            sum += combine64(op, a[w], b[w]).count_ones();
        }
        sum
    }

    /// # Safety
    /// AVX-512F/BW and VPOPCNTDQ are available and `a.len() == b.len()`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq,popcnt")]
    pub unsafe fn count_avx512(op: Op, a: &[u64], b: &[u64]) -> u32 {
        let n = a.len();
        if n < super::Avx512::MIN_WORDS {
            return count_words(op, a, b);
        }
        let mut acc = _mm512_setzero_si512();
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: words i..i + 8 <= n of both slices.
            let (x, y) = unsafe {
                (
                    _mm512_loadu_si512(a.as_ptr().add(i) as *const __m512i),
                    _mm512_loadu_si512(b.as_ptr().add(i) as *const __m512i),
                )
            };
            let c = match op {
                Op::Xor => _mm512_xor_si512(x, y),
                Op::And => _mm512_and_si512(x, y),
                Op::Or => _mm512_or_si512(x, y),
            };
            acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(c));
            i += 8;
        }
        let mut sum = _mm512_reduce_add_epi64(acc) as u32;
        while i < n {
            sum += combine64(op, a[i], b[i]).count_ones();
            i += 1;
        }
        sum
    }
}

/// Calls the AVX2 several-rows kernel for codes of `$words` words:
/// `$whole::<W, V, S>` for widths of `V` whole 256-bit vectors,
/// `$pairs::<W, M, S>` for widths of `4 M + 2` words (two rows to `2 M + 1`
/// vectors), with `S` rows of each group counted by scalar `popcnt` (the
/// mix that was fastest per width on Zen 3, in L2); returns `false` from the
/// enclosing function for other widths.
#[cfg(target_arch = "x86_64")]
macro_rules! avx2_widths {
    ($words:expr, $whole:ident, $pairs:ident, ($($arg:expr),*)) => {
        match $words {
            2 => x86::$pairs::<2, 0, 1>($($arg),*),
            4 => x86::$whole::<4, 1, 2>($($arg),*),
            6 => x86::$pairs::<6, 1, 2>($($arg),*),
            8 => x86::$whole::<8, 2, 1>($($arg),*),
            10 => x86::$pairs::<10, 2, 1>($($arg),*),
            12 => x86::$whole::<12, 3, 1>($($arg),*),
            14 => x86::$pairs::<14, 3, 1>($($arg),*),
            16 => x86::$whole::<16, 4, 1>($($arg),*),
            24 => x86::$whole::<24, 6, 0>($($arg),*),
            32 => x86::$whole::<32, 8, 0>($($arg),*),
            48 => x86::$whole::<48, 12, 0>($($arg),*),
            64 => x86::$whole::<64, 16, 0>($($arg),*),
            _ => return false,
        }
    };
}

#[cfg(target_arch = "x86_64")]
impl Kernel for Avx2 {
    #[inline(always)]
    fn within<R>(self, f: impl FnOnce(Self) -> R) -> R {
        #[target_feature(enable = "avx2,fma,popcnt")]
        unsafe fn enter<K, R>(k: K, f: impl FnOnce(K) -> R) -> R {
            f(k)
        }
        // SAFETY: an `Avx2` exists only when AVX2, FMA and POPCNT were detected.
        unsafe { enter(self, f) }
    }
    #[inline(always)]
    fn xor_count(self, a: &[u64], b: &[u64]) -> u32 {
        debug_assert_eq!(a.len(), b.len());
        if a.len() < Avx2::MIN_WORDS {
            return x86::count_words(x86::Op::Xor, a, b);
        }
        // SAFETY: an `Avx2` exists only when AVX2 was detected; equal lengths
        // are an invariant of every caller (rows of one code width).
        unsafe { x86::count_avx2(x86::Op::Xor, a, &b[..a.len()]) }
    }
    #[inline(always)]
    fn and_count(self, a: &[u64], b: &[u64]) -> u32 {
        if a.len() < Avx2::MIN_WORDS {
            return x86::count_words(x86::Op::And, a, b);
        }
        // SAFETY: as in `xor_count`.
        unsafe { x86::count_avx2(x86::Op::And, a, &b[..a.len()]) }
    }
    #[inline(always)]
    fn or_count(self, a: &[u64], b: &[u64]) -> u32 {
        if a.len() < Avx2::MIN_WORDS {
            return x86::count_words(x86::Op::Or, a, b);
        }
        // SAFETY: as in `xor_count`.
        unsafe { x86::count_avx2(x86::Op::Or, a, &b[..a.len()]) }
    }
    #[inline(always)]
    fn xor_rows(self, q: &[u64], db: &[u64], out: &mut [u32], stream: bool) -> bool {
        // SAFETY: an `Avx2` exists only when AVX2 and POPCNT were detected,
        // and each arm's width is the query's.
        unsafe { avx2_widths!(q.len(), whole_fill, pairs_fill, (q, db, out, stream)) }
        true
    }
    #[inline(always)]
    fn xor_rows_below(
        self,
        q: &[u64],
        db: &[u64],
        bound: u32,
        first: u64,
        out: &mut Vec<Neighbour>,
        stream: bool,
    ) -> bool {
        // SAFETY: as in `xor_rows`.
        unsafe {
            avx2_widths!(
                q.len(),
                whole_below,
                pairs_below,
                (q, db, bound, first, out, stream)
            )
        }
        true
    }
    #[inline(always)]
    fn xor_count4(self, a: &[u64], b: [&[u64]; 4]) -> [u32; 4] {
        xor4_short_or_rows(self, Avx2::MIN_WORDS, a, b)
    }
}

#[cfg(target_arch = "x86_64")]
impl Kernel for Avx512 {
    #[inline(always)]
    fn within<R>(self, f: impl FnOnce(Self) -> R) -> R {
        #[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq,avx2,fma,popcnt")]
        unsafe fn enter<K, R>(k: K, f: impl FnOnce(K) -> R) -> R {
            f(k)
        }
        // SAFETY: an `Avx512` exists only when these features were detected.
        unsafe { enter(self, f) }
    }
    #[inline(always)]
    fn xor_count(self, a: &[u64], b: &[u64]) -> u32 {
        if a.len() < Avx512::MIN_WORDS {
            return x86::count_words(x86::Op::Xor, a, b);
        }
        // SAFETY: an `Avx512` exists only when the instructions were detected;
        // the slice of `b` has the length of `a`.
        unsafe { x86::count_avx512(x86::Op::Xor, a, &b[..a.len()]) }
    }
    #[inline(always)]
    fn and_count(self, a: &[u64], b: &[u64]) -> u32 {
        if a.len() < Avx512::MIN_WORDS {
            return x86::count_words(x86::Op::And, a, b);
        }
        // SAFETY: as in `xor_count`.
        unsafe { x86::count_avx512(x86::Op::And, a, &b[..a.len()]) }
    }
    #[inline(always)]
    fn or_count(self, a: &[u64], b: &[u64]) -> u32 {
        if a.len() < Avx512::MIN_WORDS {
            return x86::count_words(x86::Op::Or, a, b);
        }
        // SAFETY: as in `xor_count`.
        unsafe { x86::count_avx512(x86::Op::Or, a, &b[..a.len()]) }
    }
    #[inline(always)]
    fn xor_rows(self, q: &[u64], db: &[u64], out: &mut [u32], stream: bool) -> bool {
        if q.len() > 16 || !x86::has_vbmi() {
            return false;
        }
        // SAFETY: an `Avx512` exists only when its features were detected,
        // VBMI was just checked, each arm passes a query of `S` words, and
        // `out` has a slot per row (asserted inside).
        unsafe {
            match q.len() {
                1 => x86::rows_fill::<1>(q, db, out, stream),
                2 => x86::rows_fill::<2>(q, db, out, stream),
                3 => x86::rows_fill::<3>(q, db, out, stream),
                4 => x86::rows_fill::<4>(q, db, out, stream),
                5 => x86::rows_fill::<5>(q, db, out, stream),
                6 => x86::rows_fill::<6>(q, db, out, stream),
                7 => x86::rows_fill::<7>(q, db, out, stream),
                8 => x86::rows_fill::<8>(q, db, out, stream),
                9 => x86::rows_fill::<9>(q, db, out, stream),
                10 => x86::rows_fill::<10>(q, db, out, stream),
                11 => x86::rows_fill::<11>(q, db, out, stream),
                12 => x86::rows_fill::<12>(q, db, out, stream),
                13 => x86::rows_fill::<13>(q, db, out, stream),
                14 => x86::rows_fill::<14>(q, db, out, stream),
                15 => x86::rows_fill::<15>(q, db, out, stream),
                16 => x86::rows_fill::<16>(q, db, out, stream),
                _ => return false,
            }
        }
        true
    }
    #[inline(always)]
    fn xor_rows_below(
        self,
        q: &[u64],
        db: &[u64],
        bound: u32,
        first: u64,
        out: &mut Vec<Neighbour>,
        stream: bool,
    ) -> bool {
        if q.len() > 16 || !x86::has_vbmi() {
            return false;
        }
        // SAFETY: as in `xor_rows`.
        unsafe {
            match q.len() {
                1 => x86::rows_below::<1>(q, db, bound, first, out, stream),
                2 => x86::rows_below::<2>(q, db, bound, first, out, stream),
                3 => x86::rows_below::<3>(q, db, bound, first, out, stream),
                4 => x86::rows_below::<4>(q, db, bound, first, out, stream),
                5 => x86::rows_below::<5>(q, db, bound, first, out, stream),
                6 => x86::rows_below::<6>(q, db, bound, first, out, stream),
                7 => x86::rows_below::<7>(q, db, bound, first, out, stream),
                8 => x86::rows_below::<8>(q, db, bound, first, out, stream),
                9 => x86::rows_below::<9>(q, db, bound, first, out, stream),
                10 => x86::rows_below::<10>(q, db, bound, first, out, stream),
                11 => x86::rows_below::<11>(q, db, bound, first, out, stream),
                12 => x86::rows_below::<12>(q, db, bound, first, out, stream),
                13 => x86::rows_below::<13>(q, db, bound, first, out, stream),
                14 => x86::rows_below::<14>(q, db, bound, first, out, stream),
                15 => x86::rows_below::<15>(q, db, bound, first, out, stream),
                16 => x86::rows_below::<16>(q, db, bound, first, out, stream),
                _ => return false,
            }
        }
        true
    }
    #[inline(always)]
    fn xor_count4(self, a: &[u64], b: [&[u64]; 4]) -> [u32; 4] {
        xor4_short_or_rows(self, Avx512::MIN_WORDS, a, b)
    }
}

/// Binds the kernel of the given tier to `$k` and evaluates `$body` with it
/// (tiers the CPU lacks fall back to the best one below). Loops inside
/// `$body` should run through [`Kernel::within`].
#[macro_export]
#[doc(hidden)]
macro_rules! with_kernel {
    ($level:expr, |$k:ident| $body:expr) => {{
        #[allow(unused_imports)]
        use $crate::bits::popcount::{Kernel, Popcnt, Scalar};
        let level = ($level).min($crate::simd::detected());
        #[cfg(target_arch = "x86_64")]
        {
            match level {
                $crate::simd::Level::Avx512 => {
                    let $k = $crate::bits::popcount::Avx512::new().expect("capped by detection");
                    $body
                }
                $crate::simd::Level::Avx2 => {
                    let $k = $crate::bits::popcount::Avx2::new().expect("capped by detection");
                    $body
                }
                $crate::simd::Level::Popcnt => {
                    let $k = Popcnt::new().expect("capped by detection");
                    $body
                }
                $crate::simd::Level::Portable => {
                    let $k = Scalar;
                    $body
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = level;
            let $k = Scalar;
            $body
        }
    }};
}

/// Views a byte code as 64-bit words plus a byte tail.
fn split(code: &[u8]) -> (Vec<u64>, &[u8]) {
    let chunks = code.chunks_exact(8);
    let tail = chunks.remainder();
    (
        chunks
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect(),
        tail,
    )
}

/// Hamming distance between two byte codes of equal length, on the tier in
/// use ([`crate::simd::level`]).
///
/// # Panics
/// If the lengths differ.
pub fn hamming(a: &[u8], b: &[u8]) -> u32 {
    hamming_with(crate::simd::level(), a, b)
}

/// [`hamming`] on a given tier.
///
/// # Panics
/// If the lengths differ.
pub fn hamming_with(level: Level, a: &[u8], b: &[u8]) -> u32 {
    assert_eq!(a.len(), b.len(), "hamming: codes of different lengths");
    let ((wa, ta), (wb, tb)) = (split(a), split(b));
    let tail: u32 = ta.iter().zip(tb).map(|(x, y)| (x ^ y).count_ones()).sum();
    with_kernel!(level, |k| k.within(|k| k.xor_count(&wa, &wb))) + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::available;

    fn codes(seed: u64, n: usize) -> Vec<u8> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 56) as u8
            })
            .collect()
    }

    fn naive(op: fn(u8, u8) -> u8, a: &[u8], b: &[u8]) -> u32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| {
                let v = op(*x, *y);
                (0..8).map(|i| ((v >> i) & 1) as u32).sum::<u32>()
            })
            .sum()
    }

    #[test]
    fn every_tier_matches_a_naive_count_at_odd_widths() {
        for bytes in [
            0usize, 1, 3, 7, 8, 9, 31, 32, 33, 48, 63, 64, 65, 96, 128, 255, 256, 512, 1000,
        ] {
            let a = codes(bytes as u64 + 1, bytes);
            let b = codes(bytes as u64 + 1000, bytes);
            let words = bytes / 8;
            let to_words = |c: &[u8]| -> Vec<u64> {
                c[..words * 8]
                    .chunks_exact(8)
                    .map(|w| u64::from_le_bytes(w.try_into().unwrap()))
                    .collect()
            };
            let (wa, wb) = (to_words(&a), to_words(&b));
            let w = words * 8;
            for level in available() {
                assert_eq!(
                    hamming_with(level, &a, &b),
                    naive(|x, y| x ^ y, &a, &b),
                    "{level:?} {bytes}"
                );
                let (x, n, o) = with_kernel!(level, |k| k.within(|k| (
                    k.xor_count(&wa, &wb),
                    k.and_count(&wa, &wb),
                    k.or_count(&wa, &wb)
                )));
                assert_eq!(
                    x,
                    naive(|x, y| x ^ y, &a[..w], &b[..w]),
                    "xor {level:?} {bytes}"
                );
                assert_eq!(
                    n,
                    naive(|x, y| x & y, &a[..w], &b[..w]),
                    "and {level:?} {bytes}"
                );
                assert_eq!(
                    o,
                    naive(|x, y| x | y, &a[..w], &b[..w]),
                    "or {level:?} {bytes}"
                );
                let four = with_kernel!(level, |k| k
                    .within(|k| k.xor_count4(&wa, [&wb, &wa, &wb, &wa])));
                assert_eq!(four, [x, 0, x, 0], "xor4 {level:?} {bytes}");
            }
        }
    }

    #[test]
    fn all_ones_against_zeros_counts_every_bit() {
        let a = vec![0xffu8; 512];
        let b = vec![0u8; 512];
        for level in available() {
            assert_eq!(hamming_with(level, &a, &b), 4096);
        }
    }

    #[test]
    fn several_rows_kernels_match_row_by_row_counts() {
        let words_of = |seed: u64, n: usize| -> Vec<u64> {
            codes(seed, n * 8)
                .chunks_exact(8)
                .map(|w| u64::from_le_bytes(w.try_into().unwrap()))
                .collect()
        };
        for stride in 1..=18usize {
            for rows in [0usize, 1, 5, 6, 7, 8, 9, 11, 12, 13, 16, 23, 64, 101] {
                let q = words_of(stride as u64, stride);
                let mut db = words_of(1000 + (stride * rows) as u64, stride * rows);
                // Rows equal to the query, and rows with every bit flipped.
                for r in (0..rows).step_by(5) {
                    db[r * stride..(r + 1) * stride].copy_from_slice(&q);
                }
                for r in (2..rows).step_by(7) {
                    for (w, x) in db[r * stride..(r + 1) * stride].iter_mut().zip(&q) {
                        *w = !x;
                    }
                }
                let naive: Vec<u32> = db
                    .chunks_exact(stride)
                    .map(|r| r.iter().zip(&q).map(|(a, b)| (a ^ b).count_ones()).sum())
                    .collect();
                for (level, stream) in available()
                    .into_iter()
                    .flat_map(|l| [(l, false), (l, true)])
                {
                    with_kernel!(level, |k| k.within(|k| {
                        let mut out = vec![u32::MAX; rows];
                        if k.xor_rows(&q, &db, &mut out, stream) {
                            assert_eq!(out, naive, "{level:?} stride {stride} rows {rows}");
                        }
                        let half = 32 * stride as u32;
                        for bound in [0u32, 1, half - 4, half, half + 4, 64 * stride as u32 + 1] {
                            let mut got = Vec::new();
                            if k.xor_rows_below(&q, &db, bound, 40, &mut got, stream) {
                                let want: Vec<Neighbour> = naive
                                    .iter()
                                    .enumerate()
                                    .filter(|(_, &d)| d < bound)
                                    .map(|(i, &d)| Neighbour {
                                        distance: d as f32,
                                        id: 40 + i as u64,
                                    })
                                    .collect();
                                assert_eq!(got, want, "{level:?} stride {stride} bound {bound}");
                            } else {
                                assert!(got.is_empty());
                            }
                        }
                    }));
                }
            }
        }
        // The AVX2 kernels serve whole vectors and widths of 4 M + 2 words.
        #[cfg(target_arch = "x86_64")]
        if let Some(k) = Avx2::new() {
            for w in [2usize, 4, 6, 8, 10, 12, 14, 16, 24, 32, 48, 64] {
                let q = vec![0u64; w];
                assert!(
                    k.within(|k| k.xor_rows(&q, &q, &mut [0], false)),
                    "width {w}"
                );
            }
            for w in [1usize, 3, 5, 18, 20, 65] {
                let q = vec![0u64; w];
                assert!(
                    !k.within(|k| k.xor_rows(&q, &q, &mut [0], false)),
                    "width {w}"
                );
            }
        }
        // On a CPU with the several-rows kernel, it serves widths up to 16.
        #[cfg(target_arch = "x86_64")]
        if crate::simd::detected() >= Level::Avx512 && x86::has_vbmi() {
            let k = Avx512::new().unwrap();
            assert!(k.within(|k| k.xor_rows(&[1, 2, 3], &[1, 2, 3], &mut [0], false)));
            assert!(k.within(|k| k.xor_rows(&[0; 16], &[0; 16], &mut [0], false)));
            assert!(!k.within(|k| k.xor_rows(&[0; 17], &[0; 17], &mut [0], false)));
        }
    }
}
