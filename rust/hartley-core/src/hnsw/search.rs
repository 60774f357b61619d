//! The graph walk: greedy descent through the upper levels, then the
//! best-first beam search of Malkov and Yashunin (algorithm 2) on a level.
//!
//! Each expanded node's unvisited neighbours are gathered first (their
//! visited marks and first cache lines prefetched), then their distances are
//! computed four at a time, with the next four rows prefetched while the
//! current ones are compared. These functions are `inline(always)` so that
//! `ops.rs` compiles them once per instruction-set tier with the kernel
//! inlined.

use std::cmp::Ordering as Cmp;
use std::collections::BinaryHeap;
use std::sync::atomic::Ordering;

use super::dist::{prefetch, Kernel};
use super::graph::{Bitset, View, Visited};

/// A candidate ordered nearest-first in a max-heap (so the heap pops the nearest).
#[derive(Clone, Copy, PartialEq)]
pub(crate) struct Near(pub f32, pub u32);
/// A result ordered farthest-first (the heap's top is the worst kept result).
#[derive(Clone, Copy, PartialEq)]
pub(crate) struct Far(pub f32, pub u32);

impl Eq for Near {}
impl Eq for Far {}
impl Ord for Near {
    #[inline(always)]
    fn cmp(&self, o: &Self) -> Cmp {
        o.0.total_cmp(&self.0).then(o.1.cmp(&self.1))
    }
}
impl PartialOrd for Near {
    #[inline(always)]
    fn partial_cmp(&self, o: &Self) -> Option<Cmp> {
        Some(self.cmp(o))
    }
}
impl Ord for Far {
    #[inline(always)]
    fn cmp(&self, o: &Self) -> Cmp {
        self.0.total_cmp(&o.0).then(self.1.cmp(&o.1))
    }
}
impl PartialOrd for Far {
    #[inline(always)]
    fn partial_cmp(&self, o: &Self) -> Option<Cmp> {
        Some(self.cmp(o))
    }
}

/// Per-thread working memory of searches and insertions, reused across calls.
pub(crate) struct Scratch {
    pub vis: Visited,
    pub cand: BinaryHeap<Near>,
    pub top: BinaryHeap<Far>,
    pub best: BinaryHeap<ById>,
    pub buf: Vec<u32>,
    pub pairs: Vec<(f32, u32)>,
    pub sel: Vec<(f32, u32)>,
    pub ids: Vec<u32>,
    pub pending: Vec<(f32, u32, usize)>,
    pub pool: Pool,
}

impl Scratch {
    pub fn new() -> Self {
        Scratch {
            vis: Visited::new(),
            cand: BinaryHeap::new(),
            top: BinaryHeap::new(),
            best: BinaryHeap::new(),
            buf: Vec::new(),
            pairs: Vec::new(),
            sel: Vec::new(),
            ids: Vec::new(),
            pending: Vec::new(),
            pool: Pool::new(),
        }
    }
}

/// Lines of a row to prefetch ahead of its distance computation.
#[inline(always)]
fn row_lines(v: &View) -> usize {
    v.lay.vec_bytes.div_ceil(64).min(32)
}

/// Greedy descent on `level`: moves to the nearest neighbour while it improves.
///
/// # Safety
/// `q` holds a query for kernel `k`; `cur < g.n_slots` has a list on `level`.
#[inline(always)]
pub(crate) unsafe fn greedy<K: Kernel>(
    g: &View,
    k: &K,
    q: *const u8,
    cur: &mut u32,
    d: &mut f32,
    level: usize,
) {
    loop {
        let mut changed = false;
        let c = *cur;
        let links = g.slots(c, level);
        for l in links {
            prefetch(g.vec(l.load(Ordering::Relaxed)), 1);
        }
        for l in links {
            let n = l.load(Ordering::Relaxed);
            if n == c {
                continue;
            }
            // SAFETY: n is a stored link, so a valid slot.
            let dn = unsafe { k.one(q, g.vec(n)) };
            if dn < *d {
                *d = dn;
                *cur = n;
                changed = true;
            }
        }
        if !changed {
            return;
        }
    }
}

/// Computes the distances from `q` to the unvisited neighbours of `c` on
/// `level` (marking them visited), and passes each to `visit`. Neighbours are
/// gathered first, their first lines prefetched, then compared four at a
/// time while the next four rows are prefetched whole.
///
/// # Safety
/// `c` is valid with a list on `level`; `q` a query for `k`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn expand<K: Kernel>(
    g: &View,
    k: &K,
    q: *const u8,
    c: u32,
    level: usize,
    vis: &mut Visited,
    buf: &mut Vec<u32>,
    mut visit: impl FnMut(f32, u32),
) {
    let lines = row_lines(g);
    buf.clear();
    // Padding slots hold `c`, which is already visited.
    let links = g.slots(c, level);
    for l in links {
        vis.prefetch(l.load(Ordering::Relaxed));
    }
    for l in links {
        let n = l.load(Ordering::Relaxed);
        if vis.insert(n) {
            prefetch(g.vec(n), 2);
            buf.push(n);
        }
    }
    let mut i = 0;
    while i < buf.len() {
        let rest = buf.len() - i;
        if rest >= 4 {
            if rest >= 8 {
                for &n in &buf[i + 4..i + 8] {
                    prefetch(g.vec(n), lines);
                }
            }
            let x = [
                g.vec(buf[i]),
                g.vec(buf[i + 1]),
                g.vec(buf[i + 2]),
                g.vec(buf[i + 3]),
            ];
            // SAFETY: links are valid slots.
            let ds = unsafe { k.four(q, x) };
            for j in 0..4 {
                visit(ds[j], buf[i + j]);
            }
            i += 4;
        } else {
            // One to three rows left: still compare them side by side (the
            // last one repeated), so that their cache misses overlap.
            let last = buf[buf.len() - 1];
            let at = |j: usize| g.vec(*buf.get(i + j).unwrap_or(&last));
            // SAFETY: as above.
            let ds = unsafe { k.four(q, [at(0), at(1), at(2), at(3)]) };
            for j in 0..rest {
                visit(ds[j], buf[i + j]);
            }
            i += rest;
        }
    }
}

/// Beam search with a list of `ef` results on `level`, from the entry points
/// already in `sc.cand` / `sc.top` (and marked visited). Only slots in
/// `allow` (when given) enter the results; every slot is walked through.
/// Leaves the results in `sc.top`. (Unfiltered searches use [`beam_pool`].)
///
/// # Safety
/// As [`greedy`]; every slot reachable on `level` has a list there.
#[inline(always)]
pub(crate) unsafe fn beam<K: Kernel>(
    g: &View,
    k: &K,
    q: *const u8,
    ef: usize,
    level: usize,
    allow: Option<&Bitset>,
    sc: &mut Scratch,
) {
    let mut buf = std::mem::take(&mut sc.buf);
    let mut vis = std::mem::replace(&mut sc.vis, Visited::new());
    while let Some(Near(d, c)) = sc.cand.pop() {
        if sc.top.len() >= ef && sc.top.peek().is_some_and(|w| d > w.0) {
            break;
        }
        if let Some(next) = sc.cand.peek() {
            // The next node to expand is most likely the best candidate now:
            // fetch its links while this node's neighbours are compared.
            if level == 0 {
                prefetch(g.links_ptr(next.1), g.lay.m0.div_ceil(16));
            }
        }
        // SAFETY: forwarded.
        unsafe {
            expand(g, k, q, c, level, &mut vis, &mut buf, |d, n| {
                consider(sc, d, n, ef, allow)
            })
        };
    }
    sc.vis = vis;
    sc.buf = buf;
}

/// Orders (distance, slot) pairs as one integer: the distance's bits mapped
/// so that unsigned order is float order, then the slot (so ties go to the
/// lower slot). Bit 31 of the slot half marks an expanded entry (slots are
/// below 2^31).
#[inline(always)]
fn key(d: f32, s: u32) -> u64 {
    let b = d.to_bits();
    let o = if b >> 31 == 1 { !b } else { b | 0x8000_0000 };
    ((o as u64) << 32) | s as u64
}

#[inline(always)]
fn unkey(kk: u64) -> (f32, u32) {
    let o = (kk >> 32) as u32;
    let b = if o >> 31 == 1 { o & 0x7FFF_FFFF } else { !o };
    (f32::from_bits(b), kk as u32 & 0x7FFF_FFFF)
}

const DONE: u64 = 0x8000_0000;

/// The beam of an unfiltered search as one sorted list (as in DiskANN's
/// neighbour pool): the best `cap` nodes found so far, nearest first, each
/// flagged once expanded. Expanding the first unflagged entry until none is
/// left is exactly HNSW's loop over a candidate heap and a result heap (a
/// candidate worse than every kept result ends it), with one sorted insert
/// in place of two heap operations.
pub(crate) struct Pool {
    keys: Vec<u64>,
    cap: usize,
    cursor: usize,
}

impl Pool {
    pub fn new() -> Self {
        Pool {
            keys: Vec::new(),
            cap: 1,
            cursor: 0,
        }
    }

    #[inline(always)]
    fn reset(&mut self, cap: usize) {
        self.keys.clear();
        self.cap = cap.max(1);
        self.cursor = 0;
    }

    #[inline(always)]
    fn insert(&mut self, d: f32, s: u32) {
        let kk = key(d, s);
        let len = self.keys.len();
        if len >= self.cap && kk >= self.keys[len - 1] & !DONE {
            return;
        }
        let pos = self.keys.partition_point(|&x| x & !DONE < kk);
        if len >= self.cap {
            self.keys.pop();
        }
        self.keys.insert(pos, kk);
        self.cursor = self.cursor.min(pos);
    }

    /// The nearest entry not yet expanded, flagged as expanded now.
    #[inline(always)]
    fn next(&mut self) -> Option<u32> {
        while self.cursor < self.keys.len() {
            let kk = &mut self.keys[self.cursor];
            self.cursor += 1;
            if *kk & DONE == 0 {
                *kk |= DONE;
                return Some(*kk as u32 & 0x7FFF_FFFF);
            }
        }
        None
    }

    #[inline(always)]
    fn peek(&self) -> Option<u32> {
        self.keys[self.cursor.min(self.keys.len())..]
            .iter()
            .find(|&&kk| kk & DONE == 0)
            .map(|&kk| kk as u32 & 0x7FFF_FFFF)
    }

    /// The kept (distance, slot) pairs, nearest first.
    pub fn items(&self) -> impl Iterator<Item = (f32, u32)> + '_ {
        self.keys.iter().map(|&kk| unkey(kk & !DONE))
    }
}

/// Unfiltered beam search of width `ef` on `level` from one entry point;
/// leaves the results in `sc.pool`, nearest first.
///
/// # Safety
/// As [`beam`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn beam_pool<K: Kernel>(
    g: &View,
    k: &K,
    q: *const u8,
    ef: usize,
    level: usize,
    d: f32,
    entry: u32,
    sc: &mut Scratch,
) {
    sc.vis.reset(g.n_slots);
    sc.vis.insert(entry);
    let pool = &mut sc.pool;
    pool.reset(ef);
    pool.insert(d, entry);
    while let Some(c) = pool.next() {
        if level == 0 {
            if let Some(next) = pool.peek() {
                prefetch(g.links_ptr(next), g.lay.m0.div_ceil(16));
            }
        }
        // SAFETY: forwarded.
        unsafe {
            expand(g, k, q, c, level, &mut sc.vis, &mut sc.buf, |d, n| {
                pool.insert(d, n)
            })
        };
    }
}

#[inline(always)]
fn consider(sc: &mut Scratch, d: f32, n: u32, ef: usize, allow: Option<&Bitset>) {
    let full = sc.top.len() >= ef;
    if full && sc.top.peek().is_some_and(|w| d >= w.0) {
        return;
    }
    sc.cand.push(Near(d, n));
    if allow.is_none_or(|a| a.get(n)) {
        sc.top.push(Far(d, n));
        if sc.top.len() > ef {
            sc.top.pop();
        }
    }
}

/// Seeds the beam with one entry point.
#[inline(always)]
pub(crate) fn seed(sc: &mut Scratch, n_slots: usize, d: f32, s: u32, allow: Option<&Bitset>) {
    sc.vis.reset(n_slots);
    sc.cand.clear();
    sc.top.clear();
    sc.vis.insert(s);
    sc.cand.push(Near(d, s));
    if allow.is_none_or(|a| a.get(s)) {
        sc.top.push(Far(d, s));
    }
}

/// The `max(ef, kk)` nearest allowed slots to `q` the beam found, unordered,
/// into `out` as (distance, slot).
///
/// # Safety
/// `entry` is a valid slot at level `max_level`; `q` a query for `k`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn knn<K: Kernel>(
    g: &View,
    k: &K,
    entry: u32,
    max_level: usize,
    q: *const u8,
    ef: usize,
    kk: usize,
    allow: Option<&Bitset>,
    sc: &mut Scratch,
    out: &mut Vec<(f32, u32)>,
) {
    let mut cur = entry;
    // SAFETY: entry is valid.
    let mut d = unsafe { k.one(q, g.vec(cur)) };
    for level in (1..=max_level).rev() {
        // SAFETY: descending from the entry point stays on nodes of `level`.
        unsafe { greedy(g, k, q, &mut cur, &mut d, level) };
    }
    out.clear();
    if allow.is_none() {
        // SAFETY: forwarded.
        unsafe { beam_pool(g, k, q, ef.max(kk), 0, d, cur, sc) };
        out.extend(sc.pool.items());
        return;
    }
    seed(sc, g.n_slots, d, cur, allow);
    // SAFETY: forwarded.
    unsafe { beam(g, k, q, ef.max(kk), 0, allow, sc) };
    out.extend(sc.top.drain().map(|Far(d, s)| (d, s)));
}

/// Exact scan over the allowed slots: the `kk` nearest, unordered. Ties are
/// broken by the lower user id (not slot), as the final ordering of results
/// and the exhaustive `BinaryIndex` do, so which of several equally distant
/// items are kept does not depend on where they were stored.
///
/// # Safety
/// Every slot of `allow` is valid; `q` a query for `k`.
#[inline(always)]
pub(crate) unsafe fn exact<K: Kernel>(
    g: &View,
    k: &K,
    q: *const u8,
    kk: usize,
    allow: &Bitset,
    sc: &mut Scratch,
    out: &mut Vec<(f32, u32)>,
) {
    sc.best.clear();
    let mut it = allow.iter().peekable();
    let mut chunk = [0u32; 4];
    loop {
        let mut m = 0;
        while m < 4 {
            match it.next() {
                Some(s) => {
                    chunk[m] = s;
                    m += 1;
                }
                None => break,
            }
        }
        if m == 4 {
            if let Some(&nx) = it.peek() {
                prefetch(g.vec(nx), row_lines(g));
            }
            let x = [
                g.vec(chunk[0]),
                g.vec(chunk[1]),
                g.vec(chunk[2]),
                g.vec(chunk[3]),
            ];
            // SAFETY: allowed slots are valid.
            let ds = unsafe { k.four(q, x) };
            for j in 0..4 {
                push_best(g, sc, ds[j], chunk[j], kk);
            }
        } else {
            for &s in &chunk[..m] {
                // SAFETY: as above.
                let d = unsafe { k.one(q, g.vec(s)) };
                push_best(g, sc, d, s, kk);
            }
            break;
        }
    }
    out.clear();
    out.extend(sc.best.drain().map(|ById(d, _, s)| (d, s)));
}

/// A scanned item ordered by distance, then user id (the heap's top is the
/// worst kept).
#[derive(Clone, Copy, PartialEq)]
pub(crate) struct ById(pub f32, pub i64, pub u32);

impl Eq for ById {}
impl Ord for ById {
    #[inline(always)]
    fn cmp(&self, o: &Self) -> Cmp {
        self.0.total_cmp(&o.0).then(self.1.cmp(&o.1))
    }
}
impl PartialOrd for ById {
    #[inline(always)]
    fn partial_cmp(&self, o: &Self) -> Option<Cmp> {
        Some(self.cmp(o))
    }
}

#[inline(always)]
fn push_best(g: &View, sc: &mut Scratch, d: f32, s: u32, kk: usize) {
    let full = sc.best.len() >= kk;
    // Most scanned items are farther than the kept worst: decide on the
    // distance alone before reading the id from the row.
    if full && sc.best.peek().is_some_and(|w| d > w.0) {
        return;
    }
    let item = ById(d, g.id(s), s);
    if !full {
        sc.best.push(item);
    } else if sc.best.peek().is_some_and(|w| item < *w) {
        sc.best.pop();
        sc.best.push(item);
    }
}
