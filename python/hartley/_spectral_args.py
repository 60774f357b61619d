"""Argument checks shared by the spectral and two-sample measures."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import numpy.typing as npt

from ._validation import (
    as_real_array,
    as_samples,
    check_base,
    check_bool,
    check_int,
    check_n_jobs,
    check_option,
)
from .kernels import KERNELS, _check_gamma, _check_real

F64 = npt.NDArray[np.float64]


def _order(q: Any, name: str) -> float:
    if isinstance(q, bool) or not isinstance(q, numbers.Real):
        raise TypeError(f"{name}: must be a number in [0, inf], got {type(q).__name__}")
    v = float(q)
    if math.isnan(v) or v < 0:
        raise ValueError(f"{name}: must be in [0, inf], got {q}")
    return v


def _tol(tol: Any) -> float | None:
    if tol is None:
        return None
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real):
        raise TypeError(f"tol: must be None or a number, got {type(tol).__name__}")
    v = float(tol)
    if not (math.isfinite(v) and 0 <= v < 1):
        raise ValueError(f"tol: must be a finite number in [0, 1), got {tol}")
    return v


def _positive(value: Any, name: str) -> float:
    v = _check_real(value, name)
    if v <= 0:
        raise ValueError(f"{name}: must be a finite number > 0, got {value}")
    return v


def _kernel_matrix(k: Any, name: str) -> F64:
    arr = as_real_array(k, name)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name}: must be a square 2-D matrix, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name}: is empty (0 samples)")
    return np.ascontiguousarray(arr, dtype=np.float64)


def _source(X: Any, K: Any, names: tuple[str, str]) -> tuple[F64 | None, F64 | None]:
    if (X is None) == (K is None):
        raise ValueError(f"{names[0]}: pass exactly one of {names[0]} and {names[1]}")
    if X is not None:
        return as_samples(X, names[0]), None
    return None, _kernel_matrix(K, names[1])


def _kernel_args(kernel: Any, gamma: Any, degree: Any, coef0: Any) -> tuple[str, Any, float, float]:
    return (
        check_option(kernel, "kernel", KERNELS),
        _check_gamma(gamma),
        _check_real(degree, "degree"),
        _check_real(coef0, "coef0"),
    )


def _jobs(n_jobs: Any, progress: Any) -> tuple[int | None, bool]:
    return check_n_jobs(n_jobs), check_bool(progress, "progress")


def _diffusion_args(sigma: Any, t: Any, base: Any) -> tuple[float, int, float]:
    """Bandwidth, diffusion time and logarithm base of the diffusion measures."""
    return _positive(sigma, "sigma"), check_int(t, "t", 1), check_base(base)
