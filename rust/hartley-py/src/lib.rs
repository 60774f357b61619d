//! `hartley._core`: the thin PyO3 binding of hartley-core. Each function
//! parses its arguments, releases the GIL, calls the core through
//! the run helper `run::run`, and converts the result.

mod arrays;
mod binary;
mod errors;
mod estimators;
mod hnsw;
mod kernels;
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

fn parse_level(name: &str, what: &str) -> PyResult<hartley_core::simd::Level> {
    hartley_core::simd::Level::parse(name).ok_or_else(|| {
        pyo3::exceptions::PyValueError::new_err(format!(
            "{what}: must be one of 'portable', 'popcnt', 'avx2', 'avx512'; got {name:?}"
        ))
    })
}

/// Caps the SIMD tier of the kernels (`None` lifts the cap); returns the
/// tier in use afterwards. For tests and benchmarks that force each path.
#[pyfunction]
#[pyo3(signature = (level=None))]
fn _set_simd_cap(level: Option<&str>) -> PyResult<&'static str> {
    let cap = level.map(|l| parse_level(l, "level")).transpose()?;
    hartley_core::simd::set_cap(cap);
    Ok(hartley_core::simd::level().name())
}

/// The SIMD tiers this CPU can run, most portable first, and the one in use.
#[pyfunction]
fn _simd_info() -> (Vec<&'static str>, &'static str) {
    (
        hartley_core::simd::available()
            .into_iter()
            .map(|l| l.name())
            .collect(),
        hartley_core::simd::level().name(),
    )
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("HartleyError", m.py().get_type::<errors::HartleyError>())?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(_resolve_threads, m)?)?;
    m.add_function(wrap_pyfunction!(_set_simd_cap, m)?)?;
    m.add_function(wrap_pyfunction!(_simd_info, m)?)?;
    // HARTLEY_SIMD caps the instruction set for the whole process, so every
    // path the machine can run can be exercised from outside.
    if let Ok(v) = std::env::var("HARTLEY_SIMD") {
        if !v.trim().is_empty() {
            hartley_core::simd::set_cap(Some(parse_level(&v, "HARTLEY_SIMD")?));
        }
    }
    estimators::register(m)?;
    binary::register(m)?;
    kernels::register(m)?;
    hnsw::register(m)?;
    Ok(())
}
