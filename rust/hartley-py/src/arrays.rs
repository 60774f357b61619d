//! NumPy intake and outflow: borrowed contiguous views in, owned buffers out
//! without a copy. Errors name the argument, as the facade's do.

use hartley_core::estimators::prep::Matrix;
use numpy::ndarray::Array2;
use numpy::{
    Element, IntoPyArray, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::errors::HartleyError;

/// Borrows the values of a C-contiguous 2-D array, row-major.
pub fn slice2<'a, T: Element>(a: &'a PyReadonlyArray2<'_, T>, name: &str) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| PyValueError::new_err(format!("{name}: must be C-contiguous")))
}

/// Borrows the values of a contiguous 1-D array.
pub fn slice1<'a, T: Element>(a: &'a PyReadonlyArray1<'_, T>, name: &str) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| PyValueError::new_err(format!("{name}: must be contiguous")))
}

/// Borrows a C-contiguous 2-D float64 array as a matrix.
pub fn matrix<'a>(a: &'a PyReadonlyArray2<'_, f64>, name: &str) -> PyResult<Matrix<'a>> {
    let shape = a.shape();
    Matrix::new(slice2(a, name)?, shape[0], shape[1]).map_err(crate::errors::to_py)
}

/// Borrows a contiguous 1-D float64 array.
pub fn vector<'a>(a: &'a PyReadonlyArray1<'_, f64>, name: &str) -> PyResult<&'a [f64]> {
    slice1(a, name)
}

/// Hands an `n x m` row-major buffer to NumPy without copying it.
pub fn to_array2<T: Element>(
    py: Python<'_>,
    v: Vec<T>,
    n: usize,
    m: usize,
) -> PyResult<Bound<'_, PyArray2<T>>> {
    let a = Array2::from_shape_vec((n, m), v)
        .map_err(|e| HartleyError::new_err(format!("internal error: {e}")))?;
    Ok(a.into_pyarray(py))
}
