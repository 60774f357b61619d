//! The one error type of the core.

use thiserror::Error;

/// Every way a core routine can fail.
///
/// Variants carry the name of the offending argument so that the binding can
/// turn them into Python exceptions whose message names it.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// An argument is out of its domain (shape, length, option, parameter).
    #[error("{arg}: {message}")]
    InvalidArgument {
        /// Name of the argument as the user sees it.
        arg: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// An input holds NaN or an infinity.
    #[error("{arg} contains a non-finite value (NaN or inf) at row {row}, column {col}")]
    NonFinite {
        /// Name of the argument.
        arg: &'static str,
        /// Row of the first offending value.
        row: usize,
        /// Column of the first offending value.
        col: usize,
    },
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What the operating system reported.
        message: String,
    },
    /// The caller asked the computation to stop (Ctrl-C from Python).
    #[error("interrupted")]
    Cancelled,
}

impl Error {
    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(arg: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            arg,
            message: message.into(),
        }
    }
}

/// Result alias of the core.
pub type Result<T> = std::result::Result<T, Error>;
