//! Storage of the graph: the level-0 arena of rows (vector, links and
//! bookkeeping of one node each), the pool of upper-level link blocks, and a
//! raw view over both that the search and build loops share between threads.

use std::sync::atomic::{AtomicU32, Ordering};

use super::params::Layout;

/// Owned rows: an anonymous, zero-initialised memory map (page-aligned, so
/// rows are 64-byte aligned), advised to use transparent huge pages where the
/// system offers them: the graph walk touches rows at random, and 2 MiB pages
/// spare it most TLB misses.
pub(crate) struct Rows(Option<memmap2::MmapMut>);

impl Rows {
    pub fn empty() -> Rows {
        Rows(None)
    }

    /// `bytes` zeroed bytes.
    pub fn zeroed(bytes: usize) -> std::io::Result<Rows> {
        if bytes == 0 {
            return Ok(Rows(None));
        }
        let map = memmap2::MmapMut::map_anon(bytes)?;
        #[cfg(target_os = "linux")]
        let _ = map.advise(memmap2::Advice::HugePage);
        Ok(Rows(Some(map)))
    }

    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |m| m.len())
    }

    pub fn as_slice(&self) -> &[u8] {
        self.0.as_deref().unwrap_or(&[])
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        self.0.as_deref_mut().unwrap_or(&mut [])
    }
}

/// Level-0 rows, owned or mapped read-only from a file.
pub(crate) enum Arena {
    /// Rows in memory (capacity = the map's length).
    Owned(Rows),
    /// Rows of a file mapped into memory (read-only; copied before a change).
    Mapped {
        /// The whole file.
        map: memmap2::Mmap,
        /// Byte offset of the first row (a multiple of 64).
        offset: usize,
        /// Bytes of rows.
        len: usize,
    },
}

impl Arena {
    pub fn ptr(&self) -> *const u8 {
        self.bytes().as_ptr()
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            Arena::Owned(r) => r.as_slice(),
            Arena::Mapped { map, offset, len } => &map[*offset..*offset + *len],
        }
    }

    pub fn is_mapped(&self) -> bool {
        matches!(self, Arena::Mapped { .. })
    }

    /// Bytes of memory the rows own.
    pub fn capacity(&self) -> usize {
        match self {
            Arena::Owned(r) => r.len(),
            Arena::Mapped { .. } => 0,
        }
    }

    /// Makes the rows owned (copying a mapping) and at least `bytes` long;
    /// grows geometrically so that repeated adds stay amortised O(1). Returns
    /// the base pointer.
    pub fn reserve(&mut self, bytes: usize) -> std::io::Result<*mut u8> {
        let have = match self {
            Arena::Owned(r) => r.len(),
            Arena::Mapped { .. } => 0,
        };
        if self.is_mapped() || have < bytes {
            // Exactly what is asked the first time (an index built in one
            // add holds no slack), 1.5x on growth.
            let target = if have < bytes {
                bytes.max(have + have / 2)
            } else {
                have
            };
            let old = self.bytes();
            let mut rows = Rows::zeroed(target.max(old.len()))?;
            rows.as_mut_slice()[..old.len()].copy_from_slice(old);
            *self = Arena::Owned(rows);
        }
        match self {
            Arena::Owned(r) => Ok(r.as_mut_slice().as_mut_ptr()),
            Arena::Mapped { .. } => unreachable!("made owned above"),
        }
    }
}

/// Raw access to the rows and the upper-level pool. Copies of it are shared
/// by the threads of one search or build; links and counts are read and
/// written as atomics (plain moves on x86-64), so that concurrent insertions
/// see each other's lists without tearing a single entry. Vectors and ids are
/// written before the threads start and only read while they run.
#[derive(Clone, Copy)]
pub(crate) struct View {
    pub base: *mut u8,
    pub upper: *mut u32,
    pub lay: Layout,
    pub n_slots: usize,
}

// SAFETY: a View is only created for the duration of one operation on an
// index that the caller holds (shared for searches, exclusive for changes);
// all concurrent mutation through it goes through atomics, and non-atomic
// writes (vectors, ids) happen on disjoint rows before threads share it.
unsafe impl Send for View {}
// SAFETY: as above.
unsafe impl Sync for View {}

impl View {
    #[inline(always)]
    pub fn row(&self, s: u32) -> *mut u8 {
        debug_assert!((s as usize) < self.n_slots);
        // SAFETY: s < n_slots rows exist (checked on entry to every operation
        // and by the loader for every stored link).
        unsafe { self.base.add(s as usize * self.lay.row_bytes) }
    }

    #[inline(always)]
    pub fn vec(&self, s: u32) -> *const u8 {
        self.row(s)
    }

    #[inline(always)]
    fn at<T>(&self, s: u32, off: usize) -> *mut T {
        // SAFETY: `off` is a field offset inside a row (Layout).
        unsafe { self.row(s).add(off).cast() }
    }

    #[inline(always)]
    pub fn level(&self, s: u32) -> usize {
        // SAFETY: level_off is inside the row.
        unsafe { *self.at::<u8>(s, self.lay.level_off) as usize }
    }

    #[inline(always)]
    pub fn flag(&self, s: u32) -> u8 {
        // SAFETY: flag_off is inside the row.
        unsafe { *self.at::<u8>(s, self.lay.flag_off) }
    }

    #[inline(always)]
    pub fn id(&self, s: u32) -> i64 {
        // SAFETY: id_off is 8-aligned inside a 64-aligned row.
        unsafe { *self.at::<i64>(s, self.lay.id_off) }
    }

    #[inline(always)]
    pub fn upper_off(&self, s: u32) -> usize {
        // SAFETY: upper_off is 4-aligned inside the row.
        unsafe { *self.at::<u32>(s, self.lay.upper_off) as usize }
    }

    /// The count and the link slots (full capacity) of node `s` on `level`.
    /// Only entries below the count are links; the rest hold `s` itself, so
    /// walking every slot and skipping `s` also yields exactly the links.
    #[inline(always)]
    pub fn list(&self, s: u32, level: usize) -> (&AtomicU32, &[AtomicU32]) {
        // SAFETY: level 0 lives in the row at links_off/count_off (4-aligned);
        // level l >= 1 is block l - 1 of the node's upper blocks, which the
        // loader and the builder guarantee to lie inside the pool whenever
        // l <= level(s), which every caller checks or knows.
        unsafe {
            if level == 0 {
                let c = &*self.at::<AtomicU32>(s, self.lay.count_off);
                let l = std::slice::from_raw_parts(
                    self.at::<AtomicU32>(s, self.lay.links_off),
                    self.lay.m0,
                );
                (c, l)
            } else {
                let b = self
                    .upper
                    .add(self.upper_off(s) + (level - 1) * self.lay.block())
                    .cast::<AtomicU32>();
                (&*b, std::slice::from_raw_parts(b.add(1), self.lay.m))
            }
        }
    }

    /// Every link slot of `s` on `level` (links, then `s` itself as padding),
    /// without reading the count: what the search loops walk.
    #[inline(always)]
    pub fn slots(&self, s: u32, level: usize) -> &[AtomicU32] {
        self.list(s, level).1
    }

    /// Address of the level-0 link slots of `s` (for prefetching).
    #[inline(always)]
    pub fn links_ptr(&self, s: u32) -> *const u8 {
        self.at::<u8>(s, self.lay.links_off)
    }

    /// Links of `s` on `level`, as a count-bounded slice.
    #[inline(always)]
    pub fn links(&self, s: u32, level: usize) -> &[AtomicU32] {
        let (c, l) = self.list(s, level);
        let n = (c.load(Ordering::Acquire) as usize).min(l.len());
        &l[..n]
    }

    /// Replaces the links of `s` on `level` (the caller holds `s`'s lock, or
    /// exclusive access). Unused slots are filled with `s`, so a reader racing
    /// with this write only ever sees a link or `s` itself.
    pub fn set_links(&self, s: u32, level: usize, links: &[u32]) {
        let (c, l) = self.list(s, level);
        let n = links.len().min(l.len());
        for (slot, &v) in l.iter().zip(links) {
            slot.store(v, Ordering::Relaxed);
        }
        for slot in &l[n..] {
            slot.store(s, Ordering::Relaxed);
        }
        c.store(n as u32, Ordering::Release);
    }
}

/// A per-thread set of visited slots that is cleared in O(1): a slot is
/// visited when its mark equals the current epoch.
pub(crate) struct Visited {
    marks: Vec<u16>,
    epoch: u16,
}

impl Visited {
    pub fn new() -> Self {
        Visited {
            marks: Vec::new(),
            epoch: 0,
        }
    }

    /// Starts a new search over `n` slots.
    pub fn reset(&mut self, n: usize) {
        if self.marks.len() < n {
            self.marks.resize(n, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.marks.fill(0);
            self.epoch = 1;
        }
    }

    /// Marks `s`; true if it was not marked yet.
    #[inline(always)]
    pub fn insert(&mut self, s: u32) -> bool {
        let m = &mut self.marks[s as usize];
        let fresh = *m != self.epoch;
        *m = self.epoch;
        fresh
    }

    #[inline(always)]
    pub fn prefetch(&self, s: u32) {
        super::dist::prefetch(self.marks.as_ptr().wrapping_add(s as usize).cast(), 1);
    }
}

/// A set of allowed slots.
pub(crate) struct Bitset {
    words: Vec<u64>,
    pub count: usize,
}

impl Bitset {
    pub fn new(n: usize) -> Self {
        Bitset {
            words: vec![0; n.div_ceil(64)],
            count: 0,
        }
    }

    pub fn set(&mut self, s: u32) {
        let (w, b) = (s as usize / 64, s % 64);
        if self.words[w] & (1 << b) == 0 {
            self.words[w] |= 1 << b;
            self.count += 1;
        }
    }

    #[inline(always)]
    pub fn get(&self, s: u32) -> bool {
        self.words[s as usize / 64] & (1 << (s % 64)) != 0
    }

    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let b = w.trailing_zeros();
                w &= w - 1;
                Some(i as u32 * 64 + b)
            })
        })
    }
}
