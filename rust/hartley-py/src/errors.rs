//! Python exception classes, and the one conversion of core errors into them.

use hartley_core::Error;
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

pyo3::create_exception!(
    hartley,
    HartleyError,
    PyRuntimeError,
    "An internal failure of hartley (a bug): please report it with the input that caused it."
);

/// Converts a core error into the Python exception users see: bad input is a
/// `ValueError` naming the argument, cancellation a `KeyboardInterrupt`.
pub fn to_py(err: Error) -> PyErr {
    match err {
        Error::InvalidArgument { .. } | Error::NonFinite { .. } => {
            PyValueError::new_err(err.to_string())
        }
        Error::Io { .. } => PyOSError::new_err(err.to_string()),
        Error::Cancelled => PyKeyboardInterrupt::new_err("interrupted"),
        other => HartleyError::new_err(other.to_string()),
    }
}
