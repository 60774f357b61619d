//! `hartley._core`: the thin PyO3 binding of hartley-core. Each function
//! parses its arguments, releases the GIL, calls the core through
//! [`run::run`], and converts the result.

mod arrays;
mod errors;
mod estimators;
mod run;

use pyo3::prelude::*;

/// Raises a panic inside the run helper, so tests can check that panics
/// surface as `HartleyError` instead of aborting the interpreter.
#[pyfunction]
fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    run::run(
        py,
        Some(1),
        false,
        "panic",
        |_, _| -> hartley_core::Result<()> { panic!("deliberate panic for tests") },
    )
}

/// Thread count that `n_jobs` resolves to (for tests and diagnostics).
#[pyfunction]
#[pyo3(signature = (n_jobs=None))]
fn _resolve_threads(n_jobs: Option<isize>) -> PyResult<usize> {
    run::threads(n_jobs).map(|t| t.get())
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("HartleyError", m.py().get_type::<errors::HartleyError>())?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(_resolve_threads, m)?)?;
    estimators::register(m)?;
    Ok(())
}
