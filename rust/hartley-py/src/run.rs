//! The one helper through which every long call runs: it releases the GIL,
//! runs the work on a worker of hartley's private thread pool (no thread is
//! started per call), stays interruptible with
//! Ctrl-C, optionally reports progress, and turns panics and core errors into
//! Python exceptions.

use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hartley_core::{Control, Threads};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::errors::{to_py, HartleyError};

/// How often the waiting thread checks for signals and redraws progress.
const TICK: Duration = Duration::from_millis(50);

/// How long the waiting thread polls for the end of the work before it
/// sleeps, when the work leaves a core free.
const SPIN: Duration = Duration::from_micros(200);

/// Maps scikit-learn style `n_jobs` onto a thread count: `None` is the
/// library default (`HARTLEY_NUM_THREADS`, else all cores), `-1` all cores,
/// `-2` all but one, and so on; `0` is an error.
pub fn threads(n_jobs: Option<isize>) -> PyResult<Threads> {
    let cores = Threads::all().get() as isize;
    match n_jobs {
        None => match std::env::var("HARTLEY_NUM_THREADS") {
            Err(_) => Ok(Threads::all()),
            Ok(v) if v.trim().is_empty() => Ok(Threads::all()),
            Ok(v) => match v.trim().parse::<usize>() {
                Ok(n) if n > 0 => Ok(Threads::new(n)),
                _ => Err(PyValueError::new_err(format!(
                    "HARTLEY_NUM_THREADS: must be a positive integer, got {v:?}"
                ))),
            },
        },
        Some(0) => Err(PyValueError::new_err(
            "n_jobs: must be a positive thread count, -1 for all cores, or None; got 0",
        )),
        Some(n) if n > 0 => Ok(Threads::new(n as usize)),
        Some(n) => Ok(Threads::new((cores + 1 + n).max(1) as usize)),
    }
}

/// Runs `work` without the GIL on a pool worker while this thread waits,
/// checking for Ctrl-C every [`TICK`] (which cancels the work through its
/// [`Control`]) and drawing a progress line on stderr when `progress` is set.
pub fn run<T: Send>(
    py: Python<'_>,
    n_jobs: Option<isize>,
    progress: bool,
    label: &str,
    work: impl FnOnce(Threads, &Control) -> hartley_core::Result<T> + Send,
) -> PyResult<T> {
    let threads = threads(n_jobs)?;
    let ctl = Control::new();
    let (outcome, interrupt) = py.detach(|| {
        let (tx, rx) = mpsc::channel::<()>();
        let ctl_ref = &ctl;
        let job = move || {
            let out = catch_unwind(AssertUnwindSafe(|| work(threads, ctl_ref)));
            let _ = tx.send(());
            out
        };
        let wait = || {
            let mut interrupt: Option<PyErr> = None;
            let started = Instant::now();
            if progress {
                draw(label, &ctl, started);
            }
            // When the work leaves a core free, this thread polls for its
            // end for a short while before it sleeps: a short call then
            // returns without the wake-up of a sleeping thread, which can
            // take longer than the work itself.
            let mut finished = false;
            if threads.get() < Threads::all().get() {
                while !finished && started.elapsed() < SPIN {
                    match rx.try_recv() {
                        Err(mpsc::TryRecvError::Empty) => std::hint::spin_loop(),
                        _ => finished = true,
                    }
                }
            }
            while !finished {
                finished = !matches!(rx.recv_timeout(TICK), Err(mpsc::RecvTimeoutError::Timeout));
                if finished {
                    break;
                }
                if interrupt.is_none() {
                    if let Err(e) = Python::attach(|py| py.check_signals()) {
                        ctl.cancel();
                        interrupt = Some(e);
                    }
                }
                if progress {
                    draw(label, &ctl, started);
                }
            }
            if progress {
                draw(label, &ctl, started);
                eprintln!();
            }
            interrupt
        };
        threads.run_beside(job, wait)
    });
    if let Some(e) = interrupt {
        return Err(e);
    }
    finish(label, outcome)
}

/// Runs a short, single-threaded call without the GIL on the calling thread
/// itself, panics mapped as in [`run`]: for work that ends in less time
/// than handing it to a pool worker and back would take. Not interruptible,
/// so only for calls that end within a few milliseconds.
pub fn run_here<T: Send>(
    py: Python<'_>,
    label: &str,
    work: impl FnOnce(Threads, &Control) -> hartley_core::Result<T> + Send,
) -> PyResult<T> {
    let out = py.detach(|| {
        catch_unwind(AssertUnwindSafe(|| {
            work(Threads::sequential(), &Control::new())
        }))
    });
    finish(label, out)
}

/// The outcome of a caught call as a Python result: core errors mapped by
/// [`to_py`], a panic as an internal error naming the call.
fn finish<T>(label: &str, outcome: std::thread::Result<hartley_core::Result<T>>) -> PyResult<T> {
    match outcome {
        Ok(r) => r.map_err(to_py),
        Err(payload) => Err(HartleyError::new_err(format!(
            "internal error (a bug in hartley, please report it): {label}: {}",
            panic_message(&payload)
        ))),
    }
}

fn draw(label: &str, ctl: &Control, started: Instant) {
    let (done, total) = ctl.progress();
    let frac = if total > 0 {
        (done as f64 / total as f64).min(1.0)
    } else {
        0.0
    };
    let width = 30;
    let filled = (frac * width as f64) as usize;
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r{label} [{}{}] {:5.1}% {:.1}s",
        "#".repeat(filled),
        " ".repeat(width - filled),
        100.0 * frac,
        started.elapsed().as_secs_f64()
    );
    let _ = err.flush();
}

fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}
