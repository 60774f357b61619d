//! NumPy intake: borrowed, contiguous float64 views.

use hartley_core::estimators::prep::Matrix;
use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Borrows a C-contiguous 2-D float64 array as a matrix.
pub fn matrix<'a>(a: &'a PyReadonlyArray2<'_, f64>, name: &str) -> PyResult<Matrix<'a>> {
    let shape = a.shape();
    let data = a
        .as_slice()
        .map_err(|_| PyValueError::new_err(format!("{name}: must be C-contiguous")))?;
    Matrix::new(data, shape[0], shape[1]).map_err(crate::errors::to_py)
}

/// Borrows a contiguous 1-D float64 array.
pub fn vector<'a>(a: &'a PyReadonlyArray1<'_, f64>, name: &str) -> PyResult<&'a [f64]> {
    a.as_slice()
        .map_err(|_| PyValueError::new_err(format!("{name}: must be contiguous")))
}
