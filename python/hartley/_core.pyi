"""Type stubs of the compiled extension ``hartley._core``."""

import numpy as np
import numpy.typing as npt

__all__ = [
    "HartleyError",
    "__version__",
    "_panic_for_tests",
    "_resolve_threads",
    "_set_simd_cap",
    "_simd_info",
    "conditional_mutual_info",
    "entropy",
    "kl_divergence",
    "mutual_info",
    "mutual_info_features",
    "mutual_info_mixed",
    "mutual_info_permutations",
    "transfer_entropy",
]
__version__: str

class HartleyError(RuntimeError): ...

_EstimateTuple = tuple[float, tuple[float, float, float] | None]
_F64_2D = npt.NDArray[np.float64]
_F64_1D = npt.NDArray[np.float64]

def _panic_for_tests() -> None: ...
def _resolve_threads(n_jobs: int | None = None) -> int: ...
def _set_simd_cap(level: str | None = None) -> str: ...
def _simd_info() -> tuple[list[str], str]: ...
def entropy(
    x: _F64_2D,
    k: int,
    metric: str,
    noise: float,
    seed: int,
    ci: float | None,
    n_resamples: int,
    n_jobs: int | None,
    progress: bool,
) -> _EstimateTuple: ...
def mutual_info(
    x: _F64_2D,
    y: _F64_2D,
    k: int,
    estimator: str,
    standardize: bool,
    noise: float,
    seed: int,
    ci: float | None,
    n_resamples: int,
    n_jobs: int | None,
    progress: bool,
) -> _EstimateTuple: ...
def conditional_mutual_info(
    x: _F64_2D,
    y: _F64_2D,
    z: _F64_2D,
    k: int,
    standardize: bool,
    noise: float,
    seed: int,
    ci: float | None,
    n_resamples: int,
    n_jobs: int | None,
    progress: bool,
) -> _EstimateTuple: ...
def kl_divergence(
    x: _F64_2D,
    y: _F64_2D,
    k: int,
    noise: float,
    seed: int,
    n_jobs: int | None,
    progress: bool,
) -> float: ...
def transfer_entropy(
    source: _F64_2D,
    target: _F64_2D,
    k: int,
    lag: int,
    history: int,
    source_history: int,
    standardize: bool,
    noise: float,
    seed: int,
    n_jobs: int | None,
    progress: bool,
) -> float: ...
def mutual_info_mixed(
    x: _F64_2D,
    y: _F64_2D,
    k: int,
    noise: float,
    seed: int,
    n_jobs: int | None,
    progress: bool,
) -> float: ...
def mutual_info_permutations(
    x: _F64_2D,
    y: _F64_2D,
    k: int,
    estimator: str,
    standardize: bool,
    noise: float,
    seed: int,
    n_permutations: int,
    n_jobs: int | None,
    progress: bool,
) -> tuple[float, float, _F64_1D]: ...
def mutual_info_features(
    x: _F64_2D,
    discrete: list[bool],
    y: _F64_1D,
    y_discrete: bool,
    n_neighbors: int,
    seed: int,
    n_jobs: int | None,
) -> _F64_1D: ...
