//! Insertion (Malkov and Yashunin, algorithm 1) with the heuristic neighbour
//! selection of their algorithm 4, safe to run from several threads at once,
//! and the repair of lists that pointed to removed nodes.
//!
//! Concurrency follows hnswlib: each node has a lock held while its lists
//! are rewritten; readers walk lists without locks (entries are atomics, and
//! a list being rewritten only ever shows old links, new links or the node
//! itself). A node whose level exceeds the graph's takes a global lock for
//! its whole insertion, and publishes itself as the entry point at the end.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use super::dist::Kernel;
use super::graph::View;
use super::search::{beam_pool, greedy, Scratch};

/// No entry point yet.
pub(crate) const NONE: u32 = u32::MAX;

/// Shared state of one parallel insertion batch.
pub(crate) struct Build {
    pub g: View,
    pub ef_construction: usize,
    /// One spin lock per slot.
    pub locks: Vec<AtomicBool>,
    /// Serialises insertions that raise the top level.
    pub global: Mutex<()>,
    /// `(max_level << 32) | entry`.
    pub state: AtomicU64,
}

/// Holds a node's spin lock while alive.
struct Guard<'a>(&'a AtomicBool);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Build {
    pub fn pack(entry: u32, level: usize) -> u64 {
        ((level as u64) << 32) | entry as u64
    }

    pub fn unpack(v: u64) -> (u32, usize) {
        (v as u32, (v >> 32) as usize)
    }

    /// Locks are held for a few microseconds, so waiting spins; after a
    /// while it yields, in case the holder was preempted (on a busy machine a
    /// pure spin lock can burn a whole time slice).
    fn lock(&self, s: u32) -> Guard<'_> {
        let l = &self.locks[s as usize];
        let mut spins = 0u32;
        while l
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            while l.load(Ordering::Relaxed) {
                spins += 1;
                if spins < 64 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
        Guard(l)
    }
}

/// Algorithm 4 without extension or kept pruned connections (as hnswlib):
/// walks `cands` nearest first and keeps a candidate only if it is closer to
/// the base than to every candidate kept so far, up to `m` of them.
///
/// # Safety
/// Every slot in `cands` is valid for `k` on `g`.
#[inline(always)]
pub(crate) unsafe fn select<K: Kernel>(
    g: &View,
    k: &K,
    cands: &[(f32, u32)],
    m: usize,
    out: &mut Vec<(f32, u32)>,
) {
    out.clear();
    if cands.len() <= m {
        out.extend_from_slice(cands);
        return;
    }
    for &(d, e) in cands {
        if out.len() >= m {
            break;
        }
        let v = g.vec(e);
        let mut good = true;
        let mut i = 0;
        while good && i + 4 <= out.len() {
            let x = [
                g.vec(out[i].1),
                g.vec(out[i + 1].1),
                g.vec(out[i + 2].1),
                g.vec(out[i + 3].1),
            ];
            // SAFETY: kept candidates are valid slots.
            let ds = unsafe { k.four(v, x) };
            good = ds.iter().all(|&x| x >= d);
            i += 4;
        }
        while good && i < out.len() {
            // SAFETY: as above.
            good = unsafe { k.one(v, g.vec(out[i].1)) } >= d;
            i += 1;
        }
        if good {
            out.push((d, e));
        }
    }
}

/// Distances from slot `base` to each slot of `ids`, into `out` (appended).
///
/// # Safety
/// All slots valid.
#[inline(always)]
unsafe fn distances<K: Kernel>(g: &View, k: &K, base: u32, ids: &[u32], out: &mut Vec<(f32, u32)>) {
    let q = g.vec(base);
    let mut chunks = ids.chunks_exact(4);
    for c in &mut chunks {
        // SAFETY: valid slots.
        let ds = unsafe { k.four(q, [g.vec(c[0]), g.vec(c[1]), g.vec(c[2]), g.vec(c[3])]) };
        out.extend(ds.into_iter().zip(c.iter().copied()));
    }
    for &s in chunks.remainder() {
        // SAFETY: valid slot.
        out.push((unsafe { k.one(q, g.vec(s)) }, s));
    }
}

fn by_distance(v: &mut [(f32, u32)]) {
    v.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
}

/// Inserts slot `s` (vector, id and level already written, lists empty).
///
/// # Safety
/// `s` and every slot reachable in `b.g` are valid for `k`.
#[inline(always)]
pub(crate) unsafe fn insert<K: Kernel>(b: &Build, k: &K, s: u32, sc: &mut Scratch) {
    let g = &b.g;
    let level = g.level(s);
    let q = g.vec(s);
    let (mut entry, mut top) = Build::unpack(b.state.load(Ordering::Acquire));
    let _global = if level > top || entry == NONE {
        let guard = b.global.lock().unwrap_or_else(|p| p.into_inner());
        (entry, top) = Build::unpack(b.state.load(Ordering::Acquire));
        if entry == NONE {
            b.state.store(Build::pack(s, level), Ordering::Release);
            return;
        }
        (level > top).then_some(guard)
    } else {
        None
    };
    let mut cur = entry;
    // SAFETY: entry is valid.
    let mut d = unsafe { k.one(q, g.vec(cur)) };
    for l in (level + 1..=top).rev() {
        // SAFETY: the walk from the entry stays on nodes of level >= l.
        unsafe { greedy(g, k, q, &mut cur, &mut d, l) };
    }
    // Reverse links wait until every list of `s` is written: until then no
    // other node links to `s`, so no concurrent insertion can walk into a
    // half-built node (hnswlib holds the node's lock for the same reason).
    let mut pending = std::mem::take(&mut sc.pending);
    pending.clear();
    for l in (0..=level.min(top)).rev() {
        // SAFETY: as above.
        unsafe { beam_pool(g, k, q, b.ef_construction, l, d, cur, sc) };
        let mut found = std::mem::take(&mut sc.pairs);
        found.clear();
        found.extend(sc.pool.items().filter(|p| p.1 != s));
        let mut chosen = std::mem::take(&mut sc.sel);
        // SAFETY: found slots are valid.
        unsafe { select(g, k, &found, g.lay.m, &mut chosen) };
        sc.ids.clear();
        sc.ids.extend(chosen.iter().map(|p| p.1));
        {
            let _own = b.lock(s);
            g.set_links(s, l, &sc.ids);
        }
        pending.extend(chosen.iter().map(|&(dn, n)| (dn, n, l)));
        if let Some(&(d0, n0)) = found.first() {
            (cur, d) = (n0, d0);
        }
        sc.pairs = found;
        sc.sel = chosen;
    }
    for &(dn, n, l) in &pending {
        // SAFETY: n is valid with a list on l.
        unsafe { connect(b, k, n, s, dn, l, sc) };
    }
    sc.pending = pending;
    if let Some(_g) = _global {
        b.state.store(Build::pack(s, level), Ordering::Release);
    }
}

/// Adds the link `n -> s` on level `l`; a full list is pruned with [`select`].
///
/// # Safety
/// `n` and `s` valid, both with lists on `l`.
#[inline(always)]
unsafe fn connect<K: Kernel>(b: &Build, k: &K, n: u32, s: u32, d: f32, l: usize, sc: &mut Scratch) {
    let g = &b.g;
    let cap = g.lay.cap(l);
    let _lock = b.lock(n);
    let (count, slots) = g.list(n, l);
    let c = count.load(Ordering::Relaxed) as usize;
    if slots[..c.min(cap)]
        .iter()
        .any(|x| x.load(Ordering::Relaxed) == s)
    {
        return;
    }
    if c < cap {
        slots[c].store(s, Ordering::Relaxed);
        count.store(c as u32 + 1, Ordering::Release);
        return;
    }
    sc.ids.clear();
    sc.ids
        .extend(slots[..cap].iter().map(|x| x.load(Ordering::Relaxed)));
    let mut cands = Vec::with_capacity(cap + 1);
    // SAFETY: stored links are valid.
    unsafe { distances(g, k, n, &sc.ids, &mut cands) };
    cands.push((d, s));
    by_distance(&mut cands);
    let mut keep = Vec::with_capacity(cap);
    // SAFETY: valid slots.
    unsafe { select(g, k, &cands, cap, &mut keep) };
    sc.ids.clear();
    sc.ids.extend(keep.iter().map(|p| p.1));
    g.set_links(n, l, &sc.ids);
}

/// Rewrites the list of live node `u` on level `l` without the removed nodes
/// (`dead(slot)`): its live links, plus the live links of its removed
/// neighbours (and of their removed neighbours, one step further), pruned
/// back to capacity with [`select`]. Only `u`'s own list is written, and only
/// lists of removed nodes are read besides it, so nodes can be repaired in
/// parallel. Returns false if nothing had to change.
///
/// # Safety
/// `u` valid with a list on `l`; lists of removed nodes are not written
/// concurrently.
#[inline(always)]
pub(crate) unsafe fn repair<K: Kernel>(
    g: &View,
    k: &K,
    u: u32,
    l: usize,
    dead: &(impl Fn(u32) -> bool + Sync),
    sc: &mut Scratch,
) -> bool {
    let links: Vec<u32> = g
        .links(u, l)
        .iter()
        .map(|x| x.load(Ordering::Relaxed))
        .collect();
    if !links.iter().any(|&x| dead(x)) {
        return false;
    }
    sc.vis.reset(g.n_slots);
    sc.vis.insert(u);
    sc.ids.clear();
    let mut frontier: Vec<u32> = Vec::new();
    for &x in &links {
        if sc.vis.insert(x) {
            if dead(x) {
                frontier.push(x);
            } else {
                sc.ids.push(x);
            }
        }
    }
    for _hop in 0..2 {
        let mut next = Vec::new();
        for &x in &frontier {
            for y in g.links(x, l) {
                let y = y.load(Ordering::Relaxed);
                if sc.vis.insert(y) {
                    if dead(y) {
                        next.push(y);
                    } else {
                        sc.ids.push(y);
                    }
                }
            }
        }
        frontier = next;
    }
    let mut cands = Vec::with_capacity(sc.ids.len());
    let ids = std::mem::take(&mut sc.ids);
    // SAFETY: live slots are valid.
    unsafe { distances(g, k, u, &ids, &mut cands) };
    sc.ids = ids;
    by_distance(&mut cands);
    let mut keep = Vec::new();
    // SAFETY: as above.
    unsafe { select(g, k, &cands, g.lay.cap(l), &mut keep) };
    let ids: Vec<u32> = keep.iter().map(|p| p.1).collect();
    g.set_links(u, l, &ids);
    true
}
