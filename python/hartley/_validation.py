"""Argument checks shared by the public functions: each raises an exception
that names the argument and says what is wrong."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "as_real_array",
    "as_samples",
    "check_base",
    "check_bool",
    "check_ci",
    "check_int",
    "check_n_jobs",
    "check_noise",
    "check_option",
    "check_seed",
]


def as_real_array(x: Any, name: str) -> npt.NDArray[Any]:
    """`x` as a NumPy array of real numbers (bool, int or float), any shape;
    TypeError for strings, objects and complex numbers."""
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name}: expected a numeric array, got {type(x).__name__}")
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: could not be read as a numeric array ({exc})") from None
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name}: must be numeric, got non-numeric objects") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: must be numeric (bool, int or float), got dtype {arr.dtype}")
    return arr


def as_samples(x: Any, name: str) -> npt.NDArray[np.float64]:
    """Return `x` as a C-contiguous float64 array of shape (n_samples, n_dims).

    1-D input is one variable (a single column). Raises TypeError for
    non-numeric data and ValueError for other shapes or empty input.
    """
    arr = as_real_array(x, name)
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim != 2:
        raise ValueError(
            f"{name}: must be 1-D (n_samples,) or 2-D (n_samples, n_dims), got {arr.ndim}-D "
            f"with shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name}: is empty (0 samples)")
    if arr.shape[1] == 0:
        raise ValueError(f"{name}: has 0 columns")
    return np.ascontiguousarray(arr, dtype=np.float64)


def check_int(value: Any, name: str, minimum: int) -> int:
    """An integer (not bool) >= `minimum`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name}: must be at least {minimum}, got {value}")
    return int(value)


def check_base(base: Any) -> float:
    """Logarithm base: a finite number > 0 other than 1."""
    if isinstance(base, bool) or not isinstance(base, numbers.Real):
        raise TypeError(f"base: must be a number, got {type(base).__name__}")
    b = float(base)
    if not (math.isfinite(b) and b > 0 and b != 1):
        raise ValueError(f"base: must be a finite number > 0 and != 1, got {base}")
    return b


def check_noise(noise: Any) -> float:
    """Jitter amplitude: a finite number >= 0."""
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real):
        raise TypeError(f"noise: must be a number, got {type(noise).__name__}")
    v = float(noise)
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"noise: must be a finite number >= 0, got {noise}")
    return v


def check_ci(ci: Any) -> float | None:
    """Confidence level in (0, 1), or None."""
    if ci is None:
        return None
    if isinstance(ci, bool) or not isinstance(ci, numbers.Real):
        raise TypeError(f"ci: must be None or a confidence level such as 0.95, got {ci!r}")
    if not 0 < float(ci) < 1:
        raise ValueError(f"ci: must be strictly between 0 and 1, got {ci}")
    return float(ci)


def check_seed(random_state: Any) -> int:
    """A 64-bit seed from an int, None (seed 0), or a NumPy generator."""
    if random_state is None:
        return 0
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral):
        raise TypeError(
            "random_state: must be None, an int, or a numpy Generator/RandomState, "
            f"got {type(random_state).__name__}"
        )
    if random_state < 0:
        raise ValueError(f"random_state: must be non-negative, got {random_state}")
    return int(random_state) % 2**64


def check_n_jobs(n_jobs: Any) -> int | None:
    """None, a positive thread count, or a negative count from the end."""
    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise TypeError(f"n_jobs: must be None or an int, got {type(n_jobs).__name__}")
    if n_jobs == 0:
        raise ValueError(
            "n_jobs: must be a positive thread count, -1 for all cores, or None; got 0"
        )
    return int(n_jobs)


def check_bool(value: Any, name: str) -> bool:
    """A bool (numpy bools included), nothing else."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: must be True or False, got {value!r}")
    return bool(value)


def check_option(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    """One of the strings in `allowed`."""
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name}: must be one of {choices}, got {value!r}")
    return value
