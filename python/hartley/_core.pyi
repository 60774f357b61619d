"""Type stubs of the compiled extension ``hartley._core``."""

import numpy as np
import numpy.typing as npt
from typing import final

__all__ = [
    "HartleyError",
    "HnswCore",
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

_F32_2D = npt.NDArray[np.float32]
_U8_2D = npt.NDArray[np.uint8]
_I64_1D = npt.NDArray[np.int64]

@final
class HnswCore:
    def __new__(
        cls, dim: int, metric: str, m: int, ef_construction: int, ef: int, seed: int
    ) -> HnswCore: ...
    def add_f32(
        self, x: _F32_2D, ids: _I64_1D | None, n_jobs: int | None, progress: bool
    ) -> None: ...
    def add_codes(
        self, x: _U8_2D, ids: _I64_1D | None, n_jobs: int | None, progress: bool
    ) -> None: ...
    def search_f32(
        self,
        q: _F32_2D,
        k: int,
        ef: int | None,
        filter_ids: _I64_1D | None,
        filter_mask: npt.NDArray[np.bool_] | None,
        n_jobs: int | None,
    ) -> tuple[_F32_2D, npt.NDArray[np.int64]]: ...
    def search_codes(
        self,
        q: _U8_2D,
        k: int,
        ef: int | None,
        filter_ids: _I64_1D | None,
        filter_mask: npt.NDArray[np.bool_] | None,
        n_jobs: int | None,
    ) -> tuple[_F32_2D, npt.NDArray[np.int64]]: ...
    def remove(self, ids: _I64_1D, n_jobs: int | None) -> None: ...
    def __len__(self) -> int: ...
    def ids(self) -> _I64_1D: ...
    def contains(self, id: int) -> bool: ...
    def get_f32(self, ids: _I64_1D) -> _F32_2D: ...
    def get_codes(self, ids: _I64_1D) -> _U8_2D: ...
    def save(self, path: str) -> None: ...
    @staticmethod
    def load(path: str, mmap: bool) -> HnswCore: ...
    def to_bytes(self) -> bytes: ...
    @staticmethod
    def from_bytes(data: bytes) -> HnswCore: ...
    def params(self) -> tuple[str, int, int, int, int, int]: ...
    def set_ef(self, ef: int) -> None: ...
    def memory_bytes(self) -> int: ...
    def is_mapped(self) -> bool: ...
