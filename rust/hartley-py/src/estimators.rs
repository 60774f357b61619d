//! Bindings of the k-nearest-neighbour estimators. Validation of options
//! that only Python sees (types, ranges) happens in the facade; everything
//! about the data is checked by the core.

use hartley_core::estimators::entropy as kozachenko;
use hartley_core::estimators::resample::{Estimate, Resampling};
use hartley_core::estimators::{cmi, compat, kl, ksg, mixed, prep::Prep, transfer};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::arrays::{matrix, vector};
use crate::errors::to_py;
use crate::run::run;

/// `(value, (low, high, stderr) or None)` as the facade expects it.
type EstimateTuple = (f64, Option<(f64, f64, f64)>);

fn tuple(e: Estimate) -> EstimateTuple {
    (e.value, e.interval.map(|i| (i.low, i.high, i.stderr)))
}

fn resampling(ci: Option<f64>, n_resamples: usize) -> Option<Resampling> {
    ci.map(|confidence| Resampling {
        n_resamples,
        confidence,
    })
}

fn ksg_options(
    k: usize,
    estimator: &str,
    standardize: bool,
    noise: f64,
    seed: u64,
) -> PyResult<ksg::KsgOptions> {
    Ok(ksg::KsgOptions {
        k,
        estimator: ksg::parse_estimator(estimator).map_err(to_py)?,
        prep: Prep {
            standardize,
            noise,
            reject_constant: true,
        },
        seed,
    })
}

#[pyfunction]
#[pyo3(signature = (x, k, metric, noise, seed, ci, n_resamples, n_jobs, progress))]
#[allow(clippy::too_many_arguments)]
fn entropy(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    k: usize,
    metric: &str,
    noise: f64,
    seed: u64,
    ci: Option<f64>,
    n_resamples: usize,
    n_jobs: Option<isize>,
    progress: bool,
) -> PyResult<EstimateTuple> {
    let x = matrix(&x, "x")?;
    let opts = kozachenko::EntropyOptions {
        k,
        metric: kozachenko::Metric::parse(metric).map_err(to_py)?,
        noise,
        seed,
    };
    let ci = resampling(ci, n_resamples);
    run(py, n_jobs, progress, "entropy", |t, c| {
        kozachenko::entropy(x, &opts, ci, t, c)
    })
    .map(tuple)
}

#[pyfunction]
#[pyo3(signature = (x, y, k, estimator, standardize, noise, seed, ci, n_resamples, n_jobs, progress))]
#[allow(clippy::too_many_arguments)]
fn mutual_info(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    y: PyReadonlyArray2<'_, f64>,
    k: usize,
    estimator: &str,
    standardize: bool,
    noise: f64,
    seed: u64,
    ci: Option<f64>,
    n_resamples: usize,
    n_jobs: Option<isize>,
    progress: bool,
) -> PyResult<EstimateTuple> {
    let (x, y) = (matrix(&x, "x")?, matrix(&y, "y")?);
    let opts = ksg_options(k, estimator, standardize, noise, seed)?;
    let ci = resampling(ci, n_resamples);
    run(py, n_jobs, progress, "mutual_info", |t, c| {
        ksg::mutual_info(x, y, &opts, ci, t, c)
    })
    .map(tuple)
}

#[pyfunction]
#[pyo3(signature = (x, y, z, k, standardize, noise, seed, ci, n_resamples, n_jobs, progress))]
#[allow(clippy::too_many_arguments)]
fn conditional_mutual_info(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    y: PyReadonlyArray2<'_, f64>,
    z: PyReadonlyArray2<'_, f64>,
    k: usize,
    standardize: bool,
    noise: f64,
    seed: u64,
    ci: Option<f64>,
    n_resamples: usize,
    n_jobs: Option<isize>,
    progress: bool,
) -> PyResult<EstimateTuple> {
    let (x, y, z) = (matrix(&x, "x")?, matrix(&y, "y")?, matrix(&z, "z")?);
    let opts = ksg_options(k, "ksg1", standardize, noise, seed)?;
    let ci = resampling(ci, n_resamples);
    run(py, n_jobs, progress, "conditional_mutual_info", |t, c| {
        cmi::conditional_mutual_info(x, y, z, &opts, ci, t, c)
    })
    .map(tuple)
}

#[pyfunction]
#[pyo3(signature = (x, y, k, noise, seed, n_jobs, progress))]
#[allow(clippy::too_many_arguments)]
fn kl_divergence(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    y: PyReadonlyArray2<'_, f64>,
    k: usize,
    noise: f64,
    seed: u64,
    n_jobs: Option<isize>,
    progress: bool,
) -> PyResult<f64> {
    let (x, y) = (matrix(&x, "x")?, matrix(&y, "y")?);
    let opts = kl::KlOptions { k, noise, seed };
    run(py, n_jobs, progress, "kl_divergence", |t, c| {
        kl::kl_divergence(x, y, &opts, t, c)
    })
}

#[pyfunction]
#[pyo3(signature = (source, target, k, lag, history, source_history, standardize, noise, seed, n_jobs, progress))]
#[allow(clippy::too_many_arguments)]
fn transfer_entropy(
    py: Python<'_>,
    source: PyReadonlyArray2<'_, f64>,
    target: PyReadonlyArray2<'_, f64>,
    k: usize,
    lag: usize,
    history: usize,
    source_history: usize,
    standardize: bool,
    noise: f64,
    seed: u64,
    n_jobs: Option<isize>,
    progress: bool,
) -> PyResult<f64> {
    let (s, tg) = (matrix(&source, "source")?, matrix(&target, "target")?);
    let opts = ksg_options(k, "ksg1", standardize, noise, seed)?;
    let emb = transfer::Embedding {
        lag,
        history,
        source_history,
    };
    run(py, n_jobs, progress, "transfer_entropy", |t, c| {
        transfer::transfer_entropy(s, tg, emb, &opts, t, c)
    })
}

#[pyfunction]
#[pyo3(signature = (x, y, k, noise, seed, n_jobs, progress))]
#[allow(clippy::too_many_arguments)]
fn mutual_info_mixed(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    y: PyReadonlyArray2<'_, f64>,
    k: usize,
    noise: f64,
    seed: u64,
    n_jobs: Option<isize>,
    progress: bool,
) -> PyResult<f64> {
    let (x, y) = (matrix(&x, "x")?, matrix(&y, "y")?);
    let opts = mixed::MixedOptions { k, noise, seed };
    run(py, n_jobs, progress, "mutual_info_mixed", |t, c| {
        c.add_total(x.rows() as u64);
        mixed::mutual_info_mixed(x, y, &opts, t, c)
    })
}

#[pyfunction]
#[pyo3(signature = (x, y, k, estimator, standardize, noise, seed, n_permutations, n_jobs, progress))]
#[allow(clippy::too_many_arguments)]
fn mutual_info_permutations<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    y: PyReadonlyArray2<'py, f64>,
    k: usize,
    estimator: &str,
    standardize: bool,
    noise: f64,
    seed: u64,
    n_permutations: usize,
    n_jobs: Option<isize>,
    progress: bool,
) -> PyResult<(f64, f64, Bound<'py, PyArray1<f64>>)> {
    let (xm, ym) = (matrix(&x, "x")?, matrix(&y, "y")?);
    let opts = ksg_options(k, estimator, standardize, noise, seed)?;
    let (value, null) = run(py, n_jobs, progress, "mutual_info_test", |t, c| {
        ksg::permutation_test(xm, ym, &opts, n_permutations, t, c)
    })?;
    let p = hartley_core::estimators::resample::p_value(value, &null);
    Ok((value, p, null.into_pyarray(py)))
}

#[pyfunction]
#[pyo3(signature = (x, columns, discrete, y, y_discrete, n_neighbors, seed, n_jobs, progress))]
#[allow(clippy::too_many_arguments)]
fn mutual_info_features<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    columns: bool,
    discrete: Vec<bool>,
    y: PyReadonlyArray1<'py, f64>,
    y_discrete: bool,
    n_neighbors: usize,
    seed: u64,
    n_jobs: Option<isize>,
    progress: bool,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (xm, yv) = (matrix(&x, "X")?, vector(&y, "y")?);
    // `x` holds one row per feature when `columns` is set.
    let xm = if columns {
        compat::Features::Columns(xm)
    } else {
        compat::Features::Rows(xm)
    };
    let label = if y_discrete {
        "mutual_info_classif"
    } else {
        "mutual_info_regression"
    };
    let scores = run(py, n_jobs, progress, label, |t, c| {
        compat::mutual_info_features(xm, &discrete, yv, y_discrete, n_neighbors, seed, t, c)
    })?;
    Ok(scores.into_pyarray(py))
}

/// Registers the estimator functions on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(entropy, m)?)?;
    m.add_function(wrap_pyfunction!(mutual_info, m)?)?;
    m.add_function(wrap_pyfunction!(conditional_mutual_info, m)?)?;
    m.add_function(wrap_pyfunction!(kl_divergence, m)?)?;
    m.add_function(wrap_pyfunction!(transfer_entropy, m)?)?;
    m.add_function(wrap_pyfunction!(mutual_info_mixed, m)?)?;
    m.add_function(wrap_pyfunction!(mutual_info_permutations, m)?)?;
    m.add_function(wrap_pyfunction!(mutual_info_features, m)?)?;
    Ok(())
}
