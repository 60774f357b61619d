"""Pairwise distances and kernels, computed in hartley's Rust core.

Drop-in replacements for ``sklearn.metrics.pairwise_distances`` and
``sklearn.metrics.pairwise.pairwise_kernels`` on dense arrays. Inner-product
metrics (Euclidean, squared Euclidean, cosine; linear, polynomial and RBF
kernels) run on a blocked matrix product whose tiles are mapped (norms,
square roots, exponentials) while they are still in cache and written
straight into the output, so the distance matrix is never materialised
twice. Row blocks run in parallel; results are identical for every
``n_jobs``.

Precision. float32 input stays float32 (both arrays must be float32),
anything else is computed in float64, as scikit-learn does. Squared
distances come from ``|x|^2 + |y|^2 - 2 <x, y>``; where that expansion
would lose precision to cancellation (``d^2 < (|x|^2 + |y|^2) / 64``:
near-duplicate rows), they are recomputed from the coordinates, so
distances between close points keep their relative precision, and a point's
distance to itself is exactly 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from ._validation import as_real_array, check_bool, check_n_jobs, check_option

__all__ = ["pairwise_distances", "pairwise_kernels"]

ArrayLike = npt.ArrayLike
FloatMatrix = npt.NDArray[np.float32] | npt.NDArray[np.float64]

DISTANCE_METRICS = (
    "euclidean",
    "sqeuclidean",
    "cosine",
    "manhattan",
    "cityblock",
    "l1",
    "l2",
    "chebyshev",
    "hamming",
    "jaccard",
)
KERNELS = ("linear", "cosine", "rbf", "laplacian", "polynomial", "poly")


def _matrix(x: Any, name: str) -> npt.NDArray[Any]:
    arr = as_real_array(x, name)
    if arr.ndim != 2:
        raise ValueError(
            f"{name}: must be 2-D (n_samples, n_features), got {arr.ndim}-D with shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name}: is empty (0 samples)")
    if arr.shape[1] == 0:
        raise ValueError(f"{name}: has 0 columns")
    return arr


def float_pair(
    X: Any, Y: Any, names: tuple[str, str] = ("X", "Y")
) -> tuple[npt.NDArray[Any], npt.NDArray[Any] | None]:
    """X and Y as C-contiguous 2-D float arrays of one dtype: float32 when
    both are float32, float64 otherwise; widths must match."""
    x = _matrix(X, names[0])
    y = None if Y is None else _matrix(Y, names[1])
    both32 = x.dtype == np.float32 and (y is None or y.dtype == np.float32)
    dtype = np.float32 if both32 else np.float64
    xc = np.ascontiguousarray(x, dtype=dtype)
    yc = None if y is None else np.ascontiguousarray(y, dtype=dtype)
    if yc is not None and yc.shape[1] != xc.shape[1]:
        raise ValueError(
            f"{names[1]}: has {yc.shape[1]} features but {names[0]} has {xc.shape[1]}; "
            "both must have the same number of columns"
        )
    return xc, yc


def _codes(x: Any, name: str, metric: str) -> npt.NDArray[np.uint8]:
    arr = _matrix(x, name)
    if arr.dtype != np.uint8:
        raise ValueError(
            f"{name}: metric {metric!r} takes packed binary codes (uint8 rows in np.packbits "
            f"layout), got dtype {arr.dtype}"
        )
    return np.ascontiguousarray(arr)


def _check_gamma(gamma: Any) -> float | None:
    if gamma is None:
        return None
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float, np.number)):
        raise TypeError(f"gamma: must be None or a number, got {type(gamma).__name__}")
    g = float(gamma)
    if not (np.isfinite(g) and g > 0):
        raise ValueError(f"gamma: must be a finite number > 0, got {gamma}")
    return g


def _check_real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name}: must be a number, got {type(value).__name__}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name}: must be finite, got {value}")
    return v


def pairwise_distances(
    X: ArrayLike,
    Y: ArrayLike | None = None,
    *,
    metric: str = "euclidean",
    n_jobs: int | None = None,
    progress: bool = False,
) -> FloatMatrix:
    """Distance matrix between the rows of X and the rows of Y (or of X).

    Same results as ``sklearn.metrics.pairwise_distances`` for the metrics
    below, to rounding. Euclidean-type metrics use the expansion
    ``|x - y|^2 = |x|^2 + |y|^2 - 2 <x, y>`` on a blocked matrix product,
    with cancellation-prone entries recomputed directly (see the module
    notes); a self-comparison (``Y=None``) has an exact zero diagonal.

    Parameters
    ----------
    X : array_like of shape (n_samples_X, n_features)
        Rows to compare. For ``"hamming"`` and ``"jaccard"``: packed binary
        codes, uint8 rows in ``np.packbits`` layout.
    Y : array_like of shape (n_samples_Y, n_features), optional
        Second set of rows; None compares X with itself.
    metric : str, default "euclidean"
        ``"euclidean"`` (alias ``"l2"``), ``"sqeuclidean"``, ``"cosine"``
        (``1 - cos``, clipped to [0, 2]; zero rows have cosine 0, as in
        scikit-learn), ``"manhattan"`` (aliases ``"cityblock"``, ``"l1"``),
        ``"chebyshev"``; on packed codes ``"hamming"`` (fraction of the
        ``8 * n_bytes`` bits that differ) and ``"jaccard"`` (``|x xor y| /
        |x or y|``, 0 for two all-zero codes): the values scipy and
        scikit-learn give on the unpacked boolean arrays.
    n_jobs : int, optional
        Threads: None for the library default (all cores, or the
        ``HARTLEY_NUM_THREADS`` environment variable), -1 for all cores.
    progress : bool, default False
        Draw a progress bar on stderr.

    Returns
    -------
    ndarray of shape (n_samples_X, n_samples_Y)
        float32 when X and Y are float32, float64 otherwise (and always for
        packed codes).

    Raises
    ------
    ValueError
        Shapes that are not 2-D or do not match, empty input, NaN or inf,
        an unknown metric, codes that are not uint8.
    TypeError
        Non-numeric input.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> X = np.array([[0.0, 0.0], [3.0, 4.0]])
    >>> hartley.pairwise_distances(X)
    array([[0., 5.],
           [5., 0.]])
    >>> codes = np.packbits(np.array([[1, 0, 1, 1], [1, 1, 1, 1]], dtype=bool), axis=1)
    >>> float(hartley.pairwise_distances(codes, metric="hamming")[0, 1])  # 1 of 8 bits
    0.125
    """
    metric = check_option(metric, "metric", DISTANCE_METRICS)
    nj, prog = check_n_jobs(n_jobs), check_bool(progress, "progress")
    if metric in ("hamming", "jaccard"):
        xc = _codes(X, "X", metric)
        yc = None if Y is None else _codes(Y, "Y", metric)
        if yc is not None and yc.shape[1] != xc.shape[1]:
            raise ValueError(
                f"Y: has {yc.shape[1]} bytes per code but X has {xc.shape[1]}; "
                "both must have the same number of columns"
            )
        return _core.pairwise_code_distances(xc, yc, metric, nj, prog)
    # Y given as X itself is a self-comparison (exact zero diagonal, half the
    # products), as scikit-learn's `X is Y`.
    x, y = float_pair(X, None if Y is X else Y)
    if x.dtype == np.float32:
        y32 = None if y is None else y.astype(np.float32, copy=False)
        return _core.pairwise_distances_f32(x.astype(np.float32, copy=False), y32, metric, nj, prog)
    y64 = None if y is None else y.astype(np.float64, copy=False)
    return _core.pairwise_distances_f64(x.astype(np.float64, copy=False), y64, metric, nj, prog)


def pairwise_kernels(
    X: ArrayLike,
    Y: ArrayLike | None = None,
    *,
    kernel: str = "linear",
    gamma: float | None = None,
    degree: float = 3,
    coef0: float = 1,
    n_jobs: int | None = None,
    progress: bool = False,
) -> FloatMatrix:
    """Kernel matrix between the rows of X and the rows of Y (or of X).

    Same results as ``sklearn.metrics.pairwise.pairwise_kernels`` (and its
    ``linear_kernel``, ``rbf_kernel``, ...) to rounding, with the same
    parameters and defaults.

    Parameters
    ----------
    X : array_like of shape (n_samples_X, n_features)
    Y : array_like of shape (n_samples_Y, n_features), optional
        None compares X with itself.
    kernel : str, default "linear"
        ``"linear"`` ``<x, y>``; ``"cosine"`` ``<x, y> / (|x| |y|)`` (0 for
        zero rows); ``"rbf"`` ``exp(-gamma |x - y|^2)``; ``"laplacian"``
        ``exp(-gamma |x - y|_1)``; ``"polynomial"`` (alias ``"poly"``)
        ``(gamma <x, y> + coef0)^degree``.
    gamma : float, optional
        Scale of rbf, laplacian and polynomial kernels; None means
        ``1 / n_features`` (scikit-learn's default).
    degree : float, default 3
        Exponent of the polynomial kernel.
    coef0 : float, default 1
        Constant of the polynomial kernel.
    n_jobs : int, optional
        Threads (see :func:`pairwise_distances`).
    progress : bool, default False
        Draw a progress bar on stderr.

    Returns
    -------
    ndarray of shape (n_samples_X, n_samples_Y)
        float32 when X and Y are float32, float64 otherwise.

    Raises
    ------
    ValueError
        Bad shapes, empty input, NaN or inf, unknown kernel, gamma <= 0.
    TypeError
        Non-numeric input or parameters.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> X = np.array([[0.0, 0.0], [1.0, 1.0]])
    >>> K = hartley.pairwise_kernels(X, kernel="rbf", gamma=0.5)
    >>> float(K[0, 1]) == float(np.exp(-1.0))
    True
    """
    kernel = check_option(kernel, "kernel", KERNELS)
    g = _check_gamma(gamma)
    deg, c0 = _check_real(degree, "degree"), _check_real(coef0, "coef0")
    nj, prog = check_n_jobs(n_jobs), check_bool(progress, "progress")
    x, y = float_pair(X, None if Y is X else Y)
    if x.dtype == np.float32:
        y32 = None if y is None else y.astype(np.float32, copy=False)
        return _core.pairwise_kernels_f32(
            x.astype(np.float32, copy=False), y32, kernel, g, deg, c0, nj, prog
        )
    y64 = None if y is None else y.astype(np.float64, copy=False)
    return _core.pairwise_kernels_f64(
        x.astype(np.float64, copy=False), y64, kernel, g, deg, c0, nj, prog
    )
