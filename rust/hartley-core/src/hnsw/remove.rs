//! Removal: repair of the lists that pointed at removed nodes, release of
//! their slots for reuse, and compaction of the upper-level pool.

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Mutex;

use rayon::prelude::*;

use super::build::{Build, NONE};
use super::graph::Bitset;
use super::ops::with_engine;
use super::Hnsw;
use crate::error::{Error, Result};
use crate::par::{Control, Threads};

impl Hnsw {
    /// Marks `slots` free and forgets their ids (they must have no in-links).
    pub(crate) fn release(&mut self, slots: &[u32]) {
        let g = self.view_mut();
        for &s in slots {
            self.ids.remove(g.id(s), s);
            // SAFETY: s is a valid, exclusively held row.
            unsafe { *g.row(s).add(self.lay.flag_off) = 1 };
            g.set_links(s, 0, &[]);
            // SAFETY: as above.
            unsafe { *g.row(s).add(self.lay.level_off) = 0 };
        }
        self.free.extend_from_slice(slots);
        self.free.sort_unstable_by(|a, b| b.cmp(a));
        self.free.dedup();
    }

    /// Rebuilds the upper pool with the blocks of live nodes only.
    pub(crate) fn compact_upper(&mut self) {
        let block = self.lay.block();
        let g = self.view_mut();
        let mut pool = Vec::with_capacity(self.upper.len());
        for s in 0..self.n_slots as u32 {
            let lv = g.level(s);
            if g.flag(s) != 0 || lv == 0 {
                // SAFETY: a valid, exclusively held row.
                unsafe { *g.row(s).add(self.lay.upper_off).cast::<u32>() = 0 };
                continue;
            }
            let off = g.upper_off(s);
            let new = pool.len() as u32;
            pool.extend_from_slice(&self.upper[off..off + lv * block]);
            // SAFETY: as above.
            unsafe { *g.row(s).add(self.lay.upper_off).cast::<u32>() = new };
        }
        self.upper = pool;
    }

    /// Removes `ids` (each must be in the index). Lists that pointed at them
    /// are repaired from the removed nodes' own neighbours, so the graph stays
    /// navigable; their slots are reused by later adds.
    pub fn remove(&mut self, ids: &[i64], threads: Threads, ctl: &Control) -> Result<()> {
        let mut slots = Vec::with_capacity(ids.len());
        let g = self.view();
        for &id in ids {
            let s = self
                .ids
                .get(&g, id)
                .ok_or_else(|| Error::invalid("ids", format!("id {id} is not in the index")))?;
            slots.push(s);
        }
        slots.sort_unstable();
        slots.dedup();
        if slots.is_empty() {
            return Ok(());
        }
        ctl.check()?;
        self.make_room(self.n_slots)?;
        self.unlink(&slots, threads);
        self.release(&slots);
        self.compact_upper();
        Ok(())
    }

    /// Removes every link to `slots` (repairing the lists that had them),
    /// moves the entry point off them, and re-links nodes left without
    /// neighbours. Leaves the slots' own rows for [`Hnsw::release`].
    pub(crate) fn unlink(&mut self, slots: &[u32], threads: Threads) {
        let g = self.view_mut();
        let mut dead = Bitset::new(self.n_slots);
        for &s in slots {
            dead.set(s);
        }
        let live: Vec<u32> = (0..self.n_slots as u32)
            .filter(|&s| g.flag(s) == 0 && !dead.get(s))
            .collect();
        // New entry point: a live node of the highest level (lowest slot).
        let (mut entry, mut top) = (NONE, 0);
        for &s in &live {
            if entry == NONE || g.level(s) > top {
                (entry, top) = (s, g.level(s));
            }
        }
        self.entry = entry;
        self.max_level = top;
        if live.is_empty() {
            return;
        }
        let is_dead = |s: u32| dead.get(s);
        let this = &*self;
        let orphans: Vec<u32> = with_engine!(self.params.metric, &self.lay, |eng| {
            threads.install(|| {
                live.par_chunks(256)
                    .flat_map_iter(|chunk| {
                        let mut sc = this.take_scratch();
                        let mut lonely = Vec::new();
                        for &u in chunk {
                            for l in 0..=g.level(u) {
                                // SAFETY: u is live with a list on l; only
                                // u's list is written, only dead lists read.
                                let changed = unsafe { eng.repair(&g, u, l, &is_dead, &mut sc) };
                                if changed && l == 0 && g.links(u, 0).is_empty() {
                                    lonely.push(u);
                                }
                            }
                        }
                        this.give_scratch(sc);
                        lonely
                    })
                    .collect()
            })
        });
        if orphans.is_empty() || live.len() < 2 {
            return;
        }
        // Nodes whose neighbourhood was removed entirely: insert them again.
        for &u in &orphans {
            for l in 0..=g.level(u) {
                g.set_links(u, l, &[]);
            }
        }
        let b = Build {
            g,
            ef_construction: self.params.ef_construction,
            locks: (0..self.n_slots).map(|_| AtomicBool::new(false)).collect(),
            global: Mutex::new(()),
            state: AtomicU64::new(Build::pack(self.entry, self.max_level)),
        };
        with_engine!(self.params.metric, &self.lay, |eng| {
            let mut sc = self.take_scratch();
            for &u in &orphans {
                if u != self.entry {
                    // SAFETY: u is live; all links point at live nodes.
                    unsafe { eng.insert(&b, u, &mut sc) };
                }
            }
            self.give_scratch(sc);
        });
    }
}
