//! Hierarchical navigable small-world graphs (Malkov and Yashunin, "Efficient
//! and robust approximate nearest neighbor search using Hierarchical
//! Navigable Small World graphs", IEEE TPAMI 2020) over f32 vectors (cosine,
//! squared L2, inner product) and packed binary codes (Hamming).
//!
//! Layout: level-0 rows in one 64-byte aligned arena, each holding the
//! vector, the node's level-0 links, its user id and its level (see
//! [`params`]); upper-level links in a separate pool (about one node in `M`
//! has any). Searches reuse per-thread visited sets (epoch counters) and walk
//! the graph with SIMD kernels compiled per instruction-set tier.
//!
//! Concurrency contract: [`Hnsw::search`] takes `&self` and may run from any
//! number of threads at once; [`Hnsw::add`] and [`Hnsw::remove`] take
//! `&mut self` (the Python binding puts the index behind a read-write lock:
//! searches share it, changes hold it exclusively). Inside one `add`, nodes
//! are inserted in parallel with per-node locks.

mod build;
mod dist;
mod graph;
mod io;
mod ops;
pub mod params;
mod remove;
mod search;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::par::{Control, Threads};
use build::{Build, NONE};
use graph::{Arena, Bitset, Rows, View};
use ops::with_engine;
use params::{Layout, MAX_LEVEL};
pub use params::{Metric, Params};
use search::Scratch;

/// Input vectors: f32 rows for float metrics, packed uint8 codes for Hamming.
#[derive(Clone, Copy, Debug)]
pub enum Vectors<'a> {
    /// Row-major f32, `dim` per row.
    F32(&'a [f32]),
    /// Row-major packed codes, `ceil(dim / 8)` bytes per row (`np.packbits` layout).
    Codes(&'a [u8]),
}

impl Vectors<'_> {
    /// Number of values (floats or bytes), all rows together.
    pub fn len(&self) -> usize {
        match self {
            Vectors::F32(v) => v.len(),
            Vectors::Codes(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Which ids a search may return.
#[derive(Clone, Copy, Debug)]
pub enum Filter<'a> {
    /// Only these ids (ids not in the index are ignored).
    Ids(&'a [i64]),
    /// `mask[id]` for ids in `0..mask.len()`; other ids are excluded.
    Mask(&'a [bool]),
}

/// Search results: `(distances, ids)`, row-major `(n_queries, k)`, padded with
/// `inf` and `-1` where fewer than `k` items qualify.
pub type Hits = (Vec<f32>, Vec<i64>);

/// Most rows an index holds (search keys reserve bit 31 of a slot number).
pub(crate) const MAX_SLOTS: usize = (1 << 31) - 1;

#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = splitmix(self.0 ^ b as u64);
        }
    }
    fn write_i64(&mut self, v: i64) {
        self.0 = splitmix(v as u64);
    }
}

pub(crate) type IdMap = HashMap<i64, u32, BuildHasherDefault<IdHasher>>;

/// User ids to slots. An id equal to its slot (the default consecutive ids
/// of a fresh index) is found by reading that row, so it costs no memory;
/// only the other ids are kept in a hash map.
#[derive(Default)]
pub(crate) struct Ids {
    other: IdMap,
    live: usize,
}

impl Ids {
    pub fn get(&self, g: &View, id: i64) -> Option<u32> {
        if id >= 0 && (id as u64) < g.n_slots as u64 {
            let s = id as u32;
            if g.flag(s) == 0 && g.id(s) == id {
                return Some(s);
            }
        }
        self.other.get(&id).copied()
    }

    /// Records live slot `s` holding `id` (not yet present).
    pub fn insert(&mut self, id: i64, s: u32) {
        if id != s as i64 {
            self.other.insert(id, s);
        }
        self.live += 1;
    }

    /// Forgets live slot `s` holding `id`.
    pub fn remove(&mut self, id: i64, s: u32) {
        if id != s as i64 {
            self.other.remove(&id);
        }
        self.live -= 1;
    }

    pub fn len(&self) -> usize {
        self.live
    }

    fn bytes(&self) -> usize {
        self.other.capacity() * (std::mem::size_of::<(i64, u32)>() + 1)
    }
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// An HNSW index. See the module documentation.
pub struct Hnsw {
    pub(crate) params: Params,
    pub(crate) lay: Layout,
    pub(crate) arena: Arena,
    /// Rows in use (live or free).
    pub(crate) n_slots: usize,
    pub(crate) upper: Vec<u32>,
    /// Free slots, highest first, so that `pop` reuses the lowest.
    pub(crate) free: Vec<u32>,
    pub(crate) ids: Ids,
    pub(crate) entry: u32,
    pub(crate) max_level: usize,
    /// Insertions so far: the level of the t-th insertion is drawn from (seed, t).
    pub(crate) inserted: u64,
    /// The next default id.
    pub(crate) next_id: i64,
    scratch: Mutex<Vec<Scratch>>,
}

impl Hnsw {
    /// An empty index.
    pub fn new(params: Params) -> Result<Self> {
        params.validate()?;
        Ok(Self::empty(params))
    }

    pub(crate) fn empty(params: Params) -> Self {
        Hnsw {
            params,
            lay: Layout::new(&params),
            arena: Arena::Owned(Rows::empty()),
            n_slots: 0,
            upper: Vec::new(),
            free: Vec::new(),
            ids: Ids::default(),
            entry: NONE,
            max_level: 0,
            inserted: 0,
            next_id: 0,
            scratch: Mutex::new(Vec::new()),
        }
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Sets the default search list size.
    pub fn set_ef(&mut self, ef: usize) -> Result<()> {
        params::check_ef(ef)?;
        self.params.ef = ef;
        Ok(())
    }

    /// Number of items (removed ones excluded).
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the index holds no item.
    pub fn is_empty(&self) -> bool {
        self.ids.len() == 0
    }

    /// Bytes held by the index's own arrays (rows, upper links, id map).
    pub fn memory_bytes(&self) -> usize {
        self.arena.capacity()
            + self.upper.capacity() * 4
            + self.free.capacity() * 4
            + self.ids.bytes()
    }

    /// Whether the rows are mapped from a file.
    pub fn is_mapped(&self) -> bool {
        self.arena.is_mapped()
    }

    fn view(&self) -> View {
        View {
            base: self.arena.ptr() as *mut u8,
            upper: self.upper.as_ptr() as *mut u32,
            lay: self.lay,
            n_slots: self.n_slots,
        }
    }

    /// Makes the arena owned and large enough for `slots` rows.
    fn make_room(&mut self, slots: usize) -> Result<()> {
        let need = slots * self.lay.row_bytes;
        self.arena.reserve(need).map(|_| ()).map_err(|e| {
            Error::invalid(
                "X",
                format!("cannot allocate {need} bytes for the index: {e}"),
            )
        })
    }

    /// A view through which rows may be written ([`Hnsw::make_room`] first).
    fn view_mut(&mut self) -> View {
        let need = self.n_slots * self.lay.row_bytes;
        assert!(
            !self.arena.is_mapped() && self.arena.capacity() >= need,
            "rows are owned and allocated before they are written"
        );
        View {
            base: self.arena.reserve(need).expect("no allocation needed"),
            upper: self.upper.as_mut_ptr(),
            lay: self.lay,
            n_slots: self.n_slots,
        }
    }

    /// Live ids, in slot order.
    pub fn ids(&self) -> Vec<i64> {
        let g = self.view();
        (0..self.n_slots as u32)
            .filter(|&s| g.flag(s) == 0)
            .map(|s| g.id(s))
            .collect()
    }

    /// Whether `id` is in the index.
    pub fn contains(&self, id: i64) -> bool {
        self.ids.get(&self.view(), id).is_some()
    }

    /// The stored vectors of `ids` (cosine vectors normalised), as f32 rows
    /// or packed codes, concatenated.
    pub fn get_vectors(&self, ids: &[i64]) -> Result<Vec<u8>> {
        let g = self.view();
        let ub = self.lay.user_bytes;
        let mut out = Vec::with_capacity(ids.len() * ub);
        for &id in ids {
            let s = self
                .ids
                .get(&g, id)
                .ok_or_else(|| Error::invalid("ids", format!("id {id} is not in the index")))?;
            // SAFETY: a live slot's row holds at least user_bytes of vector.
            out.extend_from_slice(unsafe { std::slice::from_raw_parts(g.vec(s), ub) });
        }
        Ok(out)
    }

    fn check_vectors(&self, x: &Vectors<'_>, arg: &'static str) -> Result<usize> {
        let (width, ok) = match x {
            Vectors::F32(_) => (self.params.dim, !self.params.metric.is_binary()),
            Vectors::Codes(_) => (self.lay.user_bytes, self.params.metric.is_binary()),
        };
        if !ok {
            let want = if self.params.metric.is_binary() {
                "packed uint8 codes for the 'hamming' metric"
            } else {
                "float vectors for this metric"
            };
            return Err(Error::invalid(arg, format!("must be {want}")));
        }
        if !x.len().is_multiple_of(width) {
            return Err(Error::invalid(
                arg,
                format!(
                    "has {} values, not a multiple of the row width {width}",
                    x.len()
                ),
            ));
        }
        let n = x.len() / width;
        if let Vectors::F32(v) = x {
            if let Some(i) = v.iter().position(|f| !f.is_finite()) {
                return Err(Error::NonFinite {
                    arg,
                    row: i / width,
                    col: i % width,
                });
            }
            if self.params.metric == Metric::Cosine {
                if let Some(r) = v
                    .chunks_exact(width)
                    .position(|r| r.iter().all(|&f| f == 0.0))
                {
                    return Err(Error::invalid(
                        arg,
                        format!("row {r} is all zeros, which has no cosine distance"),
                    ));
                }
            }
        }
        Ok(n)
    }

    /// Writes row `i` of `x` in kernel form into `dst` (vec_bytes long).
    fn encode(&self, x: &Vectors<'_>, i: usize, dst: &mut [u8]) {
        dst.fill(0);
        match x {
            Vectors::F32(v) => {
                let d = self.params.dim;
                let row = &v[i * d..(i + 1) * d];
                let scale = if self.params.metric == Metric::Cosine {
                    let n2: f64 = row.iter().map(|&f| f as f64 * f as f64).sum();
                    (1.0 / n2.sqrt()) as f32
                } else {
                    1.0
                };
                for (c, &f) in dst.chunks_exact_mut(4).zip(row) {
                    c.copy_from_slice(&(f * scale).to_ne_bytes());
                }
            }
            Vectors::Codes(v) => {
                let ub = self.lay.user_bytes;
                dst[..ub].copy_from_slice(&v[i * ub..(i + 1) * ub]);
                let bits = self.params.dim % 8;
                if bits != 0 {
                    // np.packbits puts the first bit in the high end: keep the top `bits`.
                    dst[ub - 1] &= 0xFFu8 << (8 - bits);
                }
            }
        }
    }

    fn draw_level(&self, t: u64) -> usize {
        let h = splitmix(self.params.seed ^ splitmix(t));
        let u = ((h >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        let mult = 1.0 / (self.params.m as f64).ln();
        ((-u.ln() * mult) as usize).min(MAX_LEVEL)
    }

    fn take_scratch(&self) -> Scratch {
        self.scratch
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_else(Scratch::new)
    }

    fn give_scratch(&self, sc: Scratch) {
        self.scratch
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(sc);
    }

    /// Adds rows of `x` with user ids `ids` (default: consecutive from one past
    /// the largest id ever added, or 0). Ids must be new and distinct. Inserts
    /// in parallel on `threads`; on cancellation, the rows not yet inserted
    /// are rolled back and the index stays valid.
    pub fn add(
        &mut self,
        x: Vectors<'_>,
        ids: Option<&[i64]>,
        threads: Threads,
        ctl: &Control,
    ) -> Result<()> {
        let n = self.check_vectors(&x, "X")?;
        let ids: Vec<i64> = match ids {
            Some(ids) => {
                if ids.len() != n {
                    return Err(Error::invalid(
                        "ids",
                        format!("has {} entries for {n} vectors", ids.len()),
                    ));
                }
                let mut seen = IdMap::default();
                seen.reserve(n);
                let g = self.view();
                for (i, &id) in ids.iter().enumerate() {
                    if self.ids.get(&g, id).is_some() {
                        return Err(Error::invalid(
                            "ids",
                            format!("id {id} (at position {i}) is already in the index"),
                        ));
                    }
                    if seen.insert(id, 0).is_some() {
                        return Err(Error::invalid(
                            "ids",
                            format!("id {id} appears more than once (again at position {i})"),
                        ));
                    }
                }
                ids.to_vec()
            }
            None => {
                let start = self.next_id;
                if start.checked_add(n as i64).is_none() {
                    return Err(Error::invalid("ids", "default ids would overflow int64"));
                }
                (0..n as i64).map(|i| start + i).collect()
            }
        };
        if n == 0 {
            return Ok(());
        }
        let new_slots = n.saturating_sub(self.free.len());
        if self.n_slots + new_slots >= NONE as usize {
            return Err(Error::invalid(
                "X",
                "the index cannot hold 2^32 - 1 items or more",
            ));
        }
        self.make_room(self.n_slots + new_slots)?;
        ctl.add_total(n as u64);

        // Slots (lowest free first), levels and upper blocks, then the rows.
        let mut slots = Vec::with_capacity(n);
        for _ in 0..n {
            slots.push(match self.free.pop() {
                Some(s) => s,
                None => {
                    self.n_slots += 1;
                    (self.n_slots - 1) as u32
                }
            });
        }
        let block = self.lay.block();
        let levels: Vec<u8> = (0..n)
            .map(|i| self.draw_level(self.inserted + i as u64) as u8)
            .collect();
        let more: usize = levels.iter().map(|&l| l as usize * block).sum();
        if u32::try_from(self.upper.len() + more).is_err() {
            return Err(Error::invalid("X", "too many upper-level links"));
        }
        self.upper.reserve_exact(more);
        let mut offs = vec![0u32; n];
        for i in 0..n {
            if levels[i] > 0 {
                offs[i] = self.upper.len() as u32;
                self.upper
                    .resize(self.upper.len() + levels[i] as usize * block, 0);
            }
        }
        let g = self.view_mut();
        let mut tmp = vec![0u8; self.lay.vec_bytes];
        for i in 0..n {
            let s = slots[i];
            self.encode(&x, i, &mut tmp);
            // SAFETY: row s exists and is exclusively ours (&mut self);
            // fields are at their layout offsets, suitably aligned.
            unsafe {
                std::ptr::copy_nonoverlapping(tmp.as_ptr(), g.row(s), tmp.len());
                *g.row(s).add(self.lay.id_off).cast::<i64>() = ids[i];
                *g.row(s).add(self.lay.upper_off).cast::<u32>() = offs[i];
                *g.row(s).add(self.lay.level_off) = levels[i];
                *g.row(s).add(self.lay.flag_off) = 0;
            }
            for l in 0..=levels[i] as usize {
                g.set_links(s, l, &[]);
            }
            self.ids.insert(ids[i], s);
        }
        let next_before = self.next_id;
        self.next_id = self
            .next_id
            .max(ids.iter().max().map_or(0, |m| m.saturating_add(1)));
        self.inserted += n as u64;

        let done = self.insert_slots(g, &slots, threads, ctl);
        if done < n {
            // Cancelled: nodes from `done` on were never linked (insertion
            // follows the order of `slots` and stops at a boundary).
            self.release(&slots[done..]);
            self.compact_upper();
            self.next_id = next_before.max(ids[..done].iter().max().map_or(0, |m| m + 1));
            return Err(Error::Cancelled);
        }
        Ok(())
    }

    /// Links `slots` into the graph in parallel; returns how many of them (a
    /// prefix) were inserted before a cancellation.
    fn insert_slots(&mut self, g: View, slots: &[u32], threads: Threads, ctl: &Control) -> usize {
        let b = Build {
            g,
            ef_construction: self.params.ef_construction,
            locks: (0..self.n_slots).map(|_| AtomicBool::new(false)).collect(),
            global: Mutex::new(()),
            state: AtomicU64::new(Build::pack(self.entry, self.max_level)),
        };
        let next = AtomicUsize::new(0);
        let stop = AtomicUsize::new(slots.len());
        let this = &*self;
        with_engine!(self.params.metric, &self.lay, |eng| {
            threads.install(|| {
                rayon::broadcast(|_| {
                    let mut sc = this.take_scratch();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= slots.len() {
                            break;
                        }
                        if i.is_multiple_of(64) && ctl.is_cancelled() {
                            stop.fetch_min(i, Ordering::Relaxed);
                            break;
                        }
                        // SAFETY: rows of `slots` were written above; links
                        // only ever point at inserted or batch slots.
                        unsafe { eng.insert(&b, slots[i], &mut sc) };
                        ctl.advance(1);
                    }
                    this.give_scratch(sc);
                })
            })
        });
        let stop = stop.into_inner();
        // With a cancellation, indices >= stop may have been claimed (and
        // inserted) by other threads before they noticed: only those below
        // `stop` are known to be in, and the rest are rolled back, so undo
        // any links to them by treating them as removed.
        let (entry, level) = Build::unpack(b.state.load(Ordering::Acquire));
        self.entry = entry;
        self.max_level = level;
        if stop < slots.len() {
            self.unlink(&slots[stop..], threads);
        }
        stop
    }

    fn allowed(&self, f: &Filter<'_>) -> Bitset {
        let mut bits = Bitset::new(self.n_slots);
        let g = self.view();
        match f {
            Filter::Ids(ids) => {
                for &id in *ids {
                    if let Some(s) = self.ids.get(&g, id) {
                        bits.set(s);
                    }
                }
            }
            Filter::Mask(mask) => {
                for (id, _) in mask.iter().enumerate().filter(|p| *p.1) {
                    if let Some(s) = self.ids.get(&g, id as i64) {
                        bits.set(s);
                    }
                }
            }
        }
        bits
    }

    /// The `k` nearest items to each query row of `q` (list size `ef`, default
    /// the index's), restricted to `filter`. When the filter leaves few items
    /// (fewer than an exact scan would cost, `allowed^2 <= ef * 2M * len`),
    /// the allowed items are scanned exactly instead. Distances are sorted
    /// ascending, ties broken by the lower id.
    pub fn search(
        &self,
        q: Vectors<'_>,
        k: usize,
        ef: Option<usize>,
        filter: Option<Filter<'_>>,
        threads: Threads,
        ctl: &Control,
    ) -> Result<Hits> {
        let nq = self.check_vectors(&q, "Q")?;
        if k == 0 {
            return Err(Error::invalid("k", "must be at least 1, got 0"));
        }
        let ef = ef.unwrap_or(self.params.ef);
        params::check_ef(ef)?;
        let allow = filter.map(|f| self.allowed(&f));
        let live = self.len();
        let exact = allow.as_ref().is_some_and(|a| {
            (a.count as u128).pow(2) <= (ef.max(k) as u128) * (self.lay.m0 as u128) * live as u128
        });
        let mut dist = vec![f32::INFINITY; nq * k];
        let mut out_ids = vec![-1i64; nq * k];
        if live == 0 || allow.as_ref().is_some_and(|a| a.count == 0) {
            return Ok((dist, out_ids));
        }
        let g = self.view();
        let words = self.lay.vec_bytes.div_ceil(8);
        ctl.add_total(nq as u64);
        const CHUNK: usize = 32;
        with_engine!(self.params.metric, &self.lay, |eng| {
            let chunk = |c: usize, dchunk: &mut [f32], ichunk: &mut [i64]| -> Result<()> {
                ctl.check()?;
                let mut sc = self.take_scratch();
                let mut qbuf = vec![0u64; words];
                let mut res = Vec::new();
                let mut hits: Vec<(f32, i64)> = Vec::new();
                for (j, (drow, irow)) in dchunk.chunks_mut(k).zip(ichunk.chunks_mut(k)).enumerate()
                {
                    // SAFETY: qbuf holds `words` u64, i.e. vec_bytes or more.
                    let bytes = unsafe {
                        std::slice::from_raw_parts_mut(
                            qbuf.as_mut_ptr().cast::<u8>(),
                            self.lay.vec_bytes,
                        )
                    };
                    self.encode(&q, c * CHUNK + j, bytes);
                    let qp = qbuf.as_ptr().cast::<u8>();
                    // SAFETY: the entry point and all links are valid slots;
                    // the query has the kernel's length.
                    unsafe {
                        match (&allow, exact) {
                            (Some(a), true) => eng.exact(&g, qp, k, a, &mut sc, &mut res),
                            _ => eng.knn(
                                &g,
                                self.entry,
                                self.max_level,
                                qp,
                                ef,
                                k,
                                allow.as_ref(),
                                &mut sc,
                                &mut res,
                            ),
                        }
                    }
                    hits.clear();
                    hits.extend(res.iter().map(|&(d, s)| (d, g.id(s))));
                    hits.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    for (m, &(d, id)) in hits.iter().take(k).enumerate() {
                        drow[m] = d;
                        irow[m] = id;
                    }
                }
                self.give_scratch(sc);
                ctl.advance(dchunk.len().div_ceil(k) as u64);
                Ok(())
            };
            let (dc, ic) = (dist.chunks_mut(CHUNK * k), out_ids.chunks_mut(CHUNK * k));
            if threads.get() == 1 {
                // On the calling thread: no pool hand-off for small or
                // single-threaded searches.
                dc.zip(ic)
                    .enumerate()
                    .try_for_each(|(c, (d, i))| chunk(c, d, i))
            } else {
                threads.install(|| {
                    dist.par_chunks_mut(CHUNK * k)
                        .zip(out_ids.par_chunks_mut(CHUNK * k))
                        .enumerate()
                        .try_for_each(|(c, (d, i))| chunk(c, d, i))
                })
            }
        })?;
        Ok((dist, out_ids))
    }
}

#[cfg(test)]
mod tests;
