//! Bindings of the pairwise kernels, the spectral measures and the
//! two-sample measures. Each pairwise function exists in a float32 and a
//! float64 version (the facade picks one from the input's dtype, so the
//! precision is kept as given); the spectral measures run in float64.

use hartley_core::kernels::codes::{code_distances, CodeMetric, Codes};
use hartley_core::kernels::{self as core, DistanceKind, Float, KernelKind, Rows};
use numpy::{Element, PyArray2, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::arrays::{slice1, slice2, to_array2};
use crate::errors::to_py;
use crate::run::run;

/// Borrows a C-contiguous 2-D array as validated rows.
pub(crate) fn rows<'a, T: Float + Element>(
    a: &'a PyReadonlyArray2<'_, T>,
    name: &'static str,
) -> PyResult<Rows<'a, T>> {
    let shape = a.shape();
    Rows::new(slice2(a, name)?, shape[0], shape[1], name).map_err(to_py)
}

macro_rules! pairwise_fns {
    ($t:ty, $dist:ident, $kern:ident) => {
        #[pyfunction]
        #[pyo3(signature = (x, y, metric, n_jobs, progress))]
        fn $dist<'py>(
            py: Python<'py>,
            x: PyReadonlyArray2<'py, $t>,
            y: Option<PyReadonlyArray2<'py, $t>>,
            metric: &str,
            n_jobs: Option<isize>,
            progress: bool,
        ) -> PyResult<Bound<'py, PyArray2<$t>>> {
            let xr = rows(&x, "X")?;
            let yr = y.as_ref().map(|y| rows(y, "Y")).transpose()?;
            let metric = DistanceKind::parse(metric).map_err(to_py)?;
            let m = yr.map_or(xr.rows(), |y| y.rows());
            let out = run(py, n_jobs, progress, "pairwise_distances", |t, c| {
                core::distances(xr, yr, metric, t, c)
            })?;
            to_array2(py, out, xr.rows(), m)
        }

        #[pyfunction]
        #[pyo3(signature = (x, y, kernel, gamma, degree, coef0, n_jobs, progress))]
        #[allow(clippy::too_many_arguments)]
        fn $kern<'py>(
            py: Python<'py>,
            x: PyReadonlyArray2<'py, $t>,
            y: Option<PyReadonlyArray2<'py, $t>>,
            kernel: &str,
            gamma: Option<f64>,
            degree: f64,
            coef0: f64,
            n_jobs: Option<isize>,
            progress: bool,
        ) -> PyResult<Bound<'py, PyArray2<$t>>> {
            let xr = rows(&x, "X")?;
            let yr = y.as_ref().map(|y| rows(y, "Y")).transpose()?;
            let kernel =
                KernelKind::parse(kernel, gamma, degree, coef0, xr.cols()).map_err(to_py)?;
            let m = yr.map_or(xr.rows(), |y| y.rows());
            let out = run(py, n_jobs, progress, "pairwise_kernels", |t, c| {
                core::kernels(xr, yr, kernel, t, c)
            })?;
            to_array2(py, out, xr.rows(), m)
        }
    };
}

pairwise_fns!(f32, pairwise_distances_f32, pairwise_kernels_f32);
pairwise_fns!(f64, pairwise_distances_f64, pairwise_kernels_f64);

fn codes<'a>(a: &'a PyReadonlyArray2<'_, u8>, name: &'static str) -> PyResult<Codes<'a>> {
    let shape = a.shape();
    Codes::new(slice2(a, name)?, shape[0], shape[1], name).map_err(to_py)
}

#[pyfunction]
#[pyo3(signature = (x, y, metric, n_jobs, progress))]
fn pairwise_code_distances<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, u8>,
    y: Option<PyReadonlyArray2<'py, u8>>,
    metric: &str,
    n_jobs: Option<isize>,
    progress: bool,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let xc = codes(&x, "X")?;
    let yc = y.as_ref().map(|y| codes(y, "Y")).transpose()?;
    let metric = match metric {
        "hamming" => CodeMetric::Hamming,
        "jaccard" => CodeMetric::Jaccard,
        other => {
            return Err(PyValueError::new_err(format!(
                "metric: must be 'hamming' or 'jaccard' for packed codes, got {other:?}"
            )))
        }
    };
    let (n, m) = (
        x.shape()[0],
        y.as_ref().map_or(x.shape()[0], |y| y.shape()[0]),
    );
    let out = run(py, n_jobs, progress, "pairwise_distances", |t, c| {
        code_distances(xc, yc, metric, t, c)
    })?;
    to_array2(py, out, n, m)
}

/// Registers the kernel functions on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(pairwise_distances_f32, m)?)?;
    m.add_function(wrap_pyfunction!(pairwise_distances_f64, m)?)?;
    m.add_function(wrap_pyfunction!(pairwise_kernels_f32, m)?)?;
    m.add_function(wrap_pyfunction!(pairwise_kernels_f64, m)?)?;
    m.add_function(wrap_pyfunction!(pairwise_code_distances, m)?)?;
    register_measures(m)
}

// ------------------------------------------------------------ spectral

use hartley_core::kernels::measures::{self, Source};
use hartley_core::kernels::twosample;
use numpy::PyReadonlyArray1;

fn kernel_kind(
    kernel: &str,
    gamma: Option<f64>,
    degree: f64,
    coef0: f64,
    d: usize,
) -> PyResult<KernelKind> {
    KernelKind::parse(kernel, gamma, degree, coef0, d).map_err(to_py)
}

/// A source from either `x` and a kernel, or a precomputed `k`.
fn source<'a>(
    x: &'a Option<PyReadonlyArray2<'_, f64>>,
    k: &'a Option<PyReadonlyArray2<'_, f64>>,
    kernel: &str,
    gamma: Option<f64>,
    degree: f64,
    coef0: f64,
    names: (&'static str, &'static str),
) -> PyResult<Source<'a>> {
    match (x, k) {
        (Some(x), None) => {
            let r = rows(x, names.0)?;
            Ok(Source::Data(
                r,
                kernel_kind(kernel, gamma, degree, coef0, r.cols())?,
            ))
        }
        (None, Some(k)) => {
            let shape = k.shape();
            Ok(Source::Kernel(slice2(k, names.1)?, shape[0], shape[1]))
        }
        _ => Err(PyValueError::new_err(format!(
            "{}: pass exactly one of {} and {}",
            names.0, names.0, names.1
        ))),
    }
}

#[pyfunction]
#[pyo3(signature = (x, k, q, kernel, gamma, degree, coef0, tol, n_jobs, progress))]
#[allow(clippy::too_many_arguments)]
fn spectral_entropy(
    py: Python<'_>,
    x: Option<PyReadonlyArray2<'_, f64>>,
    k: Option<PyReadonlyArray2<'_, f64>>,
    q: f64,
    kernel: &str,
    gamma: Option<f64>,
    degree: f64,
    coef0: f64,
    tol: Option<f64>,
    n_jobs: Option<isize>,
    progress: bool,
) -> PyResult<f64> {
    let src = source(&x, &k, kernel, gamma, degree, coef0, ("X", "K"))?;
    run(py, n_jobs, progress, "spectral_entropy", |t, c| {
        measures::spectral_entropy(src, q, tol, "q", t, c)
    })
}

#[pyfunction]
#[pyo3(signature = (x, kx, y, ky, alpha, kernel, gamma, degree, coef0, tol, n_jobs, progress))]
#[allow(clippy::too_many_arguments)]
fn matrix_joint_entropy(
    py: Python<'_>,
    x: Option<PyReadonlyArray2<'_, f64>>,
    kx: Option<PyReadonlyArray2<'_, f64>>,
    y: Option<PyReadonlyArray2<'_, f64>>,
    ky: Option<PyReadonlyArray2<'_, f64>>,
    alpha: f64,
    kernel: &str,
    gamma: Option<f64>,
    degree: f64,
    coef0: f64,
    tol: Option<f64>,
    n_jobs: Option<isize>,
    progress: bool,
) -> PyResult<f64> {
    let a = source(&x, &kx, kernel, gamma, degree, coef0, ("X", "KX"))?;
    let b = source(&y, &ky, kernel, gamma, degree, coef0, ("Y", "KY"))?;
    run(py, n_jobs, progress, "matrix_joint_entropy", |t, c| {
        measures::joint_entropy(a, b, alpha, tol, t, c)
    })
}

#[pyfunction]
#[pyo3(signature = (x, center, tol, n_jobs, progress))]
fn effective_rank(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    center: bool,
    tol: Option<f64>,
    n_jobs: Option<isize>,
    progress: bool,
) -> PyResult<f64> {
    let x = rows(&x, "X")?;
    run(py, n_jobs, progress, "effective_rank", |t, c| {
        measures::effective_rank(x, center, tol, t, c)
    })
}

#[pyfunction]
#[pyo3(signature = (x, approx, normalize, n_jobs, progress))]
fn matrix_nuclear_norm(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    approx: bool,
    normalize: bool,
    n_jobs: Option<isize>,
    progress: bool,
) -> PyResult<f64> {
    let x = rows(&x, "X")?;
    run(py, n_jobs, progress, "matrix_nuclear_norm", |t, c| {
        measures::nuclear_norm(x, approx, normalize, t, c)
    })
}

#[pyfunction]
#[pyo3(signature = (x, sigma, t, n_jobs, progress))]
fn diffusion_spectral_entropy(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    sigma: f64,
    t: u32,
    n_jobs: Option<isize>,
    progress: bool,
) -> PyResult<f64> {
    let x = rows(&x, "X")?;
    run(
        py,
        n_jobs,
        progress,
        "diffusion_spectral_entropy",
        |th, c| measures::diffusion_spectral_entropy(x, sigma, t, th, c),
    )
}

#[pyfunction]
#[pyo3(signature = (x, labels, sigma, t, n_jobs, progress))]
fn diffusion_spectral_mutual_info(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    labels: PyReadonlyArray1<'_, i64>,
    sigma: f64,
    t: u32,
    n_jobs: Option<isize>,
    progress: bool,
) -> PyResult<f64> {
    let x = rows(&x, "X")?;
    let labels = slice1(&labels, "labels")?;
    run(
        py,
        n_jobs,
        progress,
        "diffusion_spectral_mutual_info",
        |th, c| measures::diffusion_spectral_mutual_info(x, labels, sigma, t, th, c),
    )
}

// ---------------------------------------------------------- two-sample

macro_rules! two_sample_fns {
    ($t:ty, $mmd:ident, $energy:ident, $cs:ident) => {
        #[pyfunction]
        #[pyo3(signature = (x, y, kernel, gamma, degree, coef0, unbiased, n_jobs, progress))]
        #[allow(clippy::too_many_arguments)]
        fn $mmd(
            py: Python<'_>,
            x: PyReadonlyArray2<'_, $t>,
            y: PyReadonlyArray2<'_, $t>,
            kernel: &str,
            gamma: Option<f64>,
            degree: f64,
            coef0: f64,
            unbiased: bool,
            n_jobs: Option<isize>,
            progress: bool,
        ) -> PyResult<f64> {
            let (xr, yr) = (rows(&x, "X")?, rows(&y, "Y")?);
            let kernel = kernel_kind(kernel, gamma, degree, coef0, xr.cols())?;
            run(py, n_jobs, progress, "mmd", |t, c| {
                twosample::mmd(xr, yr, kernel, unbiased, t, c)
            })
        }

        #[pyfunction]
        #[pyo3(signature = (x, y, exponent, unbiased, n_jobs, progress))]
        fn $energy(
            py: Python<'_>,
            x: PyReadonlyArray2<'_, $t>,
            y: PyReadonlyArray2<'_, $t>,
            exponent: f64,
            unbiased: bool,
            n_jobs: Option<isize>,
            progress: bool,
        ) -> PyResult<f64> {
            let (xr, yr) = (rows(&x, "X")?, rows(&y, "Y")?);
            run(py, n_jobs, progress, "energy_distance", |t, c| {
                twosample::energy_distance(xr, yr, exponent, unbiased, t, c)
            })
        }

        #[pyfunction]
        #[pyo3(signature = (x, y, sigma, n_jobs, progress))]
        fn $cs(
            py: Python<'_>,
            x: PyReadonlyArray2<'_, $t>,
            y: PyReadonlyArray2<'_, $t>,
            sigma: Option<f64>,
            n_jobs: Option<isize>,
            progress: bool,
        ) -> PyResult<(f64, f64)> {
            let (xr, yr) = (rows(&x, "X")?, rows(&y, "Y")?);
            run(py, n_jobs, progress, "cs_divergence", |t, c| {
                twosample::cs_divergence(xr, yr, sigma, t, c)
            })
        }
    };
}

two_sample_fns!(f32, mmd_f32, energy_distance_f32, cs_divergence_f32);
two_sample_fns!(f64, mmd_f64, energy_distance_f64, cs_divergence_f64);

#[pyfunction]
#[pyo3(signature = (x, y, n_jobs, progress))]
fn frechet_distance(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    y: PyReadonlyArray2<'_, f64>,
    n_jobs: Option<isize>,
    progress: bool,
) -> PyResult<f64> {
    let (xr, yr) = (rows(&x, "X")?, rows(&y, "Y")?);
    run(py, n_jobs, progress, "frechet_distance", |t, c| {
        twosample::frechet_distance(xr, yr, t, c)
    })
}

#[pyfunction]
#[pyo3(signature = (mu1, sigma1, mu2, sigma2))]
fn frechet_from_moments(
    py: Python<'_>,
    mu1: PyReadonlyArray1<'_, f64>,
    sigma1: PyReadonlyArray2<'_, f64>,
    mu2: PyReadonlyArray1<'_, f64>,
    sigma2: PyReadonlyArray2<'_, f64>,
) -> PyResult<f64> {
    let (m1, s1) = (slice1(&mu1, "mu1")?, slice2(&sigma1, "sigma1")?);
    let (m2, s2) = (slice1(&mu2, "mu2")?, slice2(&sigma2, "sigma2")?);
    run(py, None, false, "frechet_distance", |t, _| {
        twosample::frechet_from_moments(m1, s1, m2, s2, t)
    })
}

#[pyfunction]
#[pyo3(signature = (d, n_projections, seed))]
fn random_projections(
    py: Python<'_>,
    d: usize,
    n_projections: usize,
    seed: u64,
) -> PyResult<Bound<'_, PyArray2<f64>>> {
    to_array2(
        py,
        twosample::random_projections(d, n_projections, seed),
        d,
        n_projections,
    )
}

#[pyfunction]
#[pyo3(signature = (x, y, projections, p, n_jobs, progress))]
fn sliced_wasserstein(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    y: PyReadonlyArray2<'_, f64>,
    projections: PyReadonlyArray2<'_, f64>,
    p: f64,
    n_jobs: Option<isize>,
    progress: bool,
) -> PyResult<f64> {
    let (xr, yr) = (rows(&x, "X")?, rows(&y, "Y")?);
    let l = projections.shape()[1];
    if projections.shape()[0] != xr.cols() {
        return Err(PyValueError::new_err(format!(
            "projections: must have shape ({}, n_projections), got {:?}",
            xr.cols(),
            projections.shape()
        )));
    }
    let pr = slice2(&projections, "projections")?;
    run(py, n_jobs, progress, "sliced_wasserstein", |t, c| {
        twosample::sliced_wasserstein(xr, yr, pr, l, p, t, c)
    })
}

/// Registers the spectral and two-sample functions on the module.
pub fn register_measures(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(spectral_entropy, m)?)?;
    m.add_function(wrap_pyfunction!(matrix_joint_entropy, m)?)?;
    m.add_function(wrap_pyfunction!(effective_rank, m)?)?;
    m.add_function(wrap_pyfunction!(matrix_nuclear_norm, m)?)?;
    m.add_function(wrap_pyfunction!(diffusion_spectral_entropy, m)?)?;
    m.add_function(wrap_pyfunction!(diffusion_spectral_mutual_info, m)?)?;
    m.add_function(wrap_pyfunction!(mmd_f32, m)?)?;
    m.add_function(wrap_pyfunction!(mmd_f64, m)?)?;
    m.add_function(wrap_pyfunction!(energy_distance_f32, m)?)?;
    m.add_function(wrap_pyfunction!(energy_distance_f64, m)?)?;
    m.add_function(wrap_pyfunction!(cs_divergence_f32, m)?)?;
    m.add_function(wrap_pyfunction!(cs_divergence_f64, m)?)?;
    m.add_function(wrap_pyfunction!(frechet_distance, m)?)?;
    m.add_function(wrap_pyfunction!(frechet_from_moments, m)?)?;
    m.add_function(wrap_pyfunction!(random_projections, m)?)?;
    m.add_function(wrap_pyfunction!(sliced_wasserstein, m)?)?;
    Ok(())
}
