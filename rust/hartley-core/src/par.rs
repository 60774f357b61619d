//! Parallelism as a value, and the control block of long computations.
//!
//! The core never reads environment variables or global settings: callers say
//! how many threads to use with [`Threads`], and every parallel routine runs in
//! a private rayon pool of that size (built lazily, one per size, never rayon's
//! global pool). Reductions are organised in fixed-size chunks combined in a
//! fixed order, so results do not depend on the number of threads.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::error::{Error, Result};

/// Number of worker threads a computation may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Threads(NonZeroUsize);

impl Threads {
    /// Exactly `n` threads (`n = 0` is taken as 1).
    pub fn new(n: usize) -> Self {
        Threads(NonZeroUsize::new(n.max(1)).expect("n >= 1"))
    }

    /// One thread: everything runs sequentially on the pool's single worker.
    pub fn sequential() -> Self {
        Threads::new(1)
    }

    /// As many threads as the machine reports available cores (asked once per
    /// process: on Linux the answer reads cgroup files, which costs more than
    /// a small search).
    pub fn all() -> Self {
        static CORES: OnceLock<usize> = OnceLock::new();
        Threads::new(
            *CORES
                .get_or_init(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get)),
        )
    }

    /// The thread count.
    pub fn get(self) -> usize {
        self.0.get()
    }

    /// Runs `f` inside the private pool of this size, so that rayon's parallel
    /// iterators inside `f` use exactly these threads.
    pub fn install<R: Send>(self, f: impl FnOnce() -> R + Send) -> R {
        pool(self.get()).install(f)
    }

    /// `f(i, item)` for every item, in order: in this size's pool, or for one
    /// thread on the calling thread itself, with no pool involved (so that
    /// a small sequential job can run where it is called, without a hand-over
    /// to another thread).
    pub fn map<T: Send, R: Send>(
        self,
        items: Vec<T>,
        f: impl Fn(usize, T) -> R + Sync + Send,
    ) -> Vec<R> {
        use rayon::prelude::*;
        if self.get() == 1 {
            items
                .into_iter()
                .enumerate()
                .map(|(i, t)| f(i, t))
                .collect()
        } else {
            self.install(|| {
                items
                    .into_par_iter()
                    .enumerate()
                    .map(|(i, t)| f(i, t))
                    .collect()
            })
        }
    }

    /// Runs `job` on a worker of this size's pool while the calling thread
    /// runs `beside` (a caller waits there, for instance polling for an
    /// interrupt until `job` says it is done), and returns both results once
    /// both have finished. Cheaper than a thread of its own per call: the
    /// pool's workers are already running, and `job`'s own parallel work
    /// starts on the pool without a further hand-over.
    ///
    /// # Panics
    /// A panic in `job` resumes in the caller once `beside` has returned.
    pub fn run_beside<R: Send, W>(
        self,
        job: impl FnOnce() -> R + Send,
        beside: impl FnOnce() -> W,
    ) -> (R, W) {
        let mut out = None;
        let slot = &mut out;
        let waited = pool(self.get()).in_place_scope(|scope| {
            scope.spawn(move |_| *slot = Some(job()));
            beside()
        });
        (out.expect("the scope ran the job to completion"), waited)
    }
}

impl Default for Threads {
    fn default() -> Self {
        Threads::all()
    }
}

fn pool(n: usize) -> Arc<ThreadPool> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<ThreadPool>>>> = OnceLock::new();
    let pools = POOLS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut guard = pools
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    guard
        .entry(n)
        .or_insert_with(|| {
            Arc::new(
                ThreadPoolBuilder::new()
                    .num_threads(n)
                    .thread_name(|i| format!("hartley-{i}"))
                    .build()
                    .expect("building a rayon pool only fails if threads cannot be spawned"),
            )
        })
        .clone()
}

/// Shared state between a long computation and whoever watches it: a
/// cancellation flag that the computation polls, and a progress counter that
/// it advances.
#[derive(Debug, Default)]
pub struct Control {
    cancelled: AtomicBool,
    done: AtomicU64,
    total: AtomicU64,
}

impl Control {
    /// A fresh control block: not cancelled, no progress.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the computation to stop at its next check.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Whether [`Control::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Returns [`Error::Cancelled`] once cancellation was requested.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Adds `units` to the amount of work the computation will do.
    pub fn add_total(&self, units: u64) {
        self.total.fetch_add(units, Ordering::Relaxed);
    }

    /// Records `units` of finished work.
    pub fn advance(&self, units: u64) {
        self.done.fetch_add(units, Ordering::Relaxed);
    }

    /// `(done, total)` work units so far.
    pub fn progress(&self) -> (u64, u64) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }
}

/// Size of the chunks that parallel reductions split their work into. Fixed,
/// so that the order of floating-point additions never depends on threads.
pub const CHUNK: usize = 2048;

/// Sums `f(range)` over consecutive chunks of `0..n` in parallel,
/// deterministically: chunk sums are computed in parallel and added in chunk
/// order, so the result is the same for any number of threads. `f` sees one
/// chunk at a time, so it can reuse scratch space across its indices. Polls
/// `ctl` once per chunk and advances its progress by the chunk's length.
pub fn par_chunk_sum(
    n: usize,
    ctl: &Control,
    f: impl Fn(std::ops::Range<usize>) -> f64 + Sync,
) -> Result<f64> {
    par_block_sum(n, CHUNK, ctl, f)
}

/// [`par_chunk_sum`] with blocks of `block` indices instead of [`CHUNK`]:
/// for work whose natural tile is smaller or larger. The result depends on
/// `block` but never on the thread count.
pub fn par_block_sum(
    n: usize,
    block: usize,
    ctl: &Control,
    f: impl Fn(std::ops::Range<usize>) -> f64 + Sync,
) -> Result<f64> {
    par_part_sum(n.div_ceil(block), ctl, |c| {
        let lo = c * block;
        let hi = (lo + block).min(n);
        (f(lo..hi), (hi - lo) as u64)
    })
}

/// Sums `f(part).0` over the parts `0..n_parts` in parallel,
/// deterministically (added in part order, whatever the thread count), for
/// work cut into parts other than ranges of indices. Polls `ctl` once per
/// part and advances its progress by `f(part).1` units.
pub fn par_part_sum(
    n_parts: usize,
    ctl: &Control,
    f: impl Fn(usize) -> (f64, u64) + Sync,
) -> Result<f64> {
    use rayon::prelude::*;
    let partial: Vec<Option<f64>> = (0..n_parts)
        .into_par_iter()
        .map(|c| {
            if ctl.is_cancelled() {
                return None;
            }
            let (s, units) = f(c);
            ctl.advance(units);
            Some(s)
        })
        .collect();
    let mut total = 0.0;
    for s in partial {
        total += s.ok_or(Error::Cancelled)?;
    }
    Ok(total)
}

/// A vector of `n` items filled in parallel, [`CHUNK`] at a time: `f(range,
/// out)` writes the items of `range` into `out`. Polls `ctl` once per chunk
/// and advances its progress by the fraction `share` (numerator,
/// denominator) of each chunk's length, so that phases of one operation can
/// split its units; returns the units advanced.
pub fn par_fill<T: Send + Clone + Default>(
    n: usize,
    ctl: &Control,
    share: (u64, u64),
    f: impl Fn(std::ops::Range<usize>, &mut [T]) + Sync,
) -> Result<(Vec<T>, u64)> {
    use rayon::prelude::*;
    let mut out = vec![T::default(); n];
    let units = |i: usize| i as u64 * share.0 / share.1;
    let ok = out
        .par_chunks_mut(CHUNK)
        .enumerate()
        .map(|(c, chunk)| {
            if ctl.is_cancelled() {
                return false;
            }
            let lo = c * CHUNK;
            let hi = lo + chunk.len();
            f(lo..hi, chunk);
            ctl.advance(units(hi) - units(lo));
            true
        })
        .reduce(|| true, |a, b| a && b);
    if !ok {
        return Err(Error::Cancelled);
    }
    Ok((out, units(n)))
}

/// Maps `f` over `0..n` in parallel into a vector (in index order), polling
/// `ctl` before each item.
pub fn par_map<T: Send>(
    n: usize,
    ctl: &Control,
    f: impl Fn(usize) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    use rayon::prelude::*;
    (0..n)
        .into_par_iter()
        .map(|i| {
            ctl.check()?;
            f(i)
        })
        .collect()
}

/// [`par_map`], lending `f` a state (scratch memory, say) from a pool
/// shared by the call: an item takes one, or makes one with `init` if none
/// is free, and puts it back when done. So no more states are made than
/// items run at once, and all are dropped when the call returns. `f` must
/// not let a state's history change its results.
pub fn par_map_with<S: Send, T: Send>(
    n: usize,
    ctl: &Control,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, usize) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    use std::sync::{Mutex, PoisonError};
    let pool = Mutex::new(Vec::new());
    let lock = || pool.lock().unwrap_or_else(PoisonError::into_inner);
    par_map(n, ctl, |i| {
        let taken = lock().pop();
        let mut state = taken.unwrap_or_else(&init);
        let out = f(&mut state, i);
        lock().push(state);
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_keeps_order_and_agrees_across_thread_counts() {
        let items: Vec<u64> = (0..1000).map(|i| i * 7 + 3).collect();
        let one = Threads::sequential().map(items.clone(), |i, v| (i, v * v));
        let two = Threads::new(2).map(items.clone(), |i, v| (i, v * v));
        let three = Threads::new(3).map(items.clone(), |i, v| (i, v * v));
        assert_eq!(one.len(), items.len());
        for (i, &(j, sq)) in one.iter().enumerate() {
            assert_eq!(i, j);
            assert_eq!(sq, items[i] * items[i]);
        }
        assert_eq!(one, two);
        assert_eq!(one, three);
        assert!(Threads::new(2).map(Vec::<u8>::new(), |_, v| v).is_empty());
    }

    #[test]
    fn sequential_map_runs_on_the_calling_thread() {
        let here = std::thread::current().id();
        let ids = Threads::sequential().map(vec![(); 4], |_, ()| std::thread::current().id());
        assert!(ids.iter().all(|&id| id == here));
    }
}
