"""Type stubs of the compiled extension ``hartley._core``."""

from typing import final

import numpy as np
import numpy.typing as npt

__all__ = [
    "BinaryIndex",
    "HartleyError",
    "HnswCore",
    "__version__",
    "_panic_for_tests",
    "_resolve_threads",
    "_set_simd_cap",
    "_simd_info",
    "binarize",
    "code_distances",
    "conditional_mutual_info",
    "cs_divergence_f32",
    "cs_divergence_f64",
    "diffusion_spectral_entropy",
    "diffusion_spectral_mutual_info",
    "effective_rank",
    "energy_distance_f32",
    "energy_distance_f64",
    "entropy",
    "frechet_distance",
    "frechet_from_moments",
    "kl_divergence",
    "matrix_joint_entropy",
    "matrix_nuclear_norm",
    "mmd_f32",
    "mmd_f64",
    "mutual_info",
    "mutual_info_features",
    "mutual_info_mixed",
    "mutual_info_permutations",
    "pairwise_code_distances",
    "pairwise_distances_f32",
    "pairwise_distances_f64",
    "pairwise_kernels_f32",
    "pairwise_kernels_f64",
    "random_projections",
    "sliced_wasserstein",
    "spectral_entropy",
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
    columns: bool,
    discrete: list[bool],
    y: _F64_1D,
    y_discrete: bool,
    n_neighbors: int,
    seed: int,
    n_jobs: int | None,
    progress: bool,
) -> _F64_1D: ...

# ------------------------------------------------------------------- binary
_U8_2D = npt.NDArray[np.uint8]
_F32_2D = npt.NDArray[np.float32]
_F32_1D = npt.NDArray[np.float32]

def code_distances(
    a: _U8_2D, b: _U8_2D, n_bits: int, jaccard: bool, n_jobs: int | None
) -> npt.NDArray[np.uint32] | npt.NDArray[np.float64]: ...
def binarize(
    x: _F32_2D, thresholds: _F32_1D, bits: int, n_jobs: int | None, progress: bool
) -> _U8_2D: ...

@final
class BinaryIndex:
    def __new__(
        cls,
        n_bits: int,
        dim: int = 0,
        bits: int = 1,
        method: int = 0,
        rotation_kind: int = 0,
        thresholds: _F32_1D | None = None,
        centres: _F32_1D | None = None,
        mean: _F32_1D | None = None,
        rotation: _F32_1D | None = None,
        rescore: int = 0,
        vector_dim: int = 0,
    ) -> BinaryIndex: ...
    def __len__(self) -> int: ...
    @property
    def n_bits(self) -> int: ...
    @property
    def rescore(self) -> int: ...
    @property
    def vector_dim(self) -> int: ...
    @property
    def is_mapped(self) -> bool: ...
    @property
    def memory_bytes(self) -> int: ...
    def quantizer(
        self,
    ) -> tuple[int, int, int, int, _F32_1D, _F32_1D, _F32_1D, _F32_1D] | None: ...
    def codes(self, ids: npt.NDArray[np.int64]) -> _U8_2D: ...
    def add(self, codes: _U8_2D, vectors: _F32_2D | None = None) -> None: ...
    def search(
        self,
        k: int,
        oversample: int,
        score: str,
        rescore: bool,
        codes: _U8_2D | None,
        projected: _F32_2D | None,
        vectors: _F32_2D | None,
        n_jobs: int | None,
        progress: bool,
        shortlist: int | None = None,
    ) -> tuple[_F32_2D, npt.NDArray[np.int64]]: ...
    def save(self, path: str) -> None: ...
    @staticmethod
    def load(path: str, mmap: bool, verify: bool) -> BinaryIndex: ...

# ------------------------------------------------------------------ kernels
_I64_1D = npt.NDArray[np.int64]

def pairwise_distances_f32(
    x: _F32_2D, y: _F32_2D | None, metric: str, n_jobs: int | None, progress: bool
) -> _F32_2D: ...
def pairwise_distances_f64(
    x: _F64_2D, y: _F64_2D | None, metric: str, n_jobs: int | None, progress: bool
) -> _F64_2D: ...
def pairwise_kernels_f32(
    x: _F32_2D,
    y: _F32_2D | None,
    kernel: str,
    gamma: float | None,
    degree: float,
    coef0: float,
    n_jobs: int | None,
    progress: bool,
) -> _F32_2D: ...
def pairwise_kernels_f64(
    x: _F64_2D,
    y: _F64_2D | None,
    kernel: str,
    gamma: float | None,
    degree: float,
    coef0: float,
    n_jobs: int | None,
    progress: bool,
) -> _F64_2D: ...
def pairwise_code_distances(
    x: _U8_2D, y: _U8_2D | None, metric: str, n_jobs: int | None, progress: bool
) -> _F64_2D: ...
def spectral_entropy(
    x: _F64_2D | None,
    k: _F64_2D | None,
    q: float,
    kernel: str,
    gamma: float | None,
    degree: float,
    coef0: float,
    tol: float | None,
    n_jobs: int | None,
    progress: bool,
) -> float: ...
def matrix_joint_entropy(
    x: _F64_2D | None,
    kx: _F64_2D | None,
    y: _F64_2D | None,
    ky: _F64_2D | None,
    alpha: float,
    kernel: str,
    gamma: float | None,
    degree: float,
    coef0: float,
    tol: float | None,
    n_jobs: int | None,
    progress: bool,
) -> float: ...
def effective_rank(
    x: _F64_2D, center: bool, tol: float | None, n_jobs: int | None, progress: bool
) -> float: ...
def matrix_nuclear_norm(
    x: _F64_2D, approx: bool, normalize: bool, n_jobs: int | None, progress: bool
) -> float: ...
def diffusion_spectral_entropy(
    x: _F64_2D, sigma: float, t: int, n_jobs: int | None, progress: bool
) -> float: ...
def diffusion_spectral_mutual_info(
    x: _F64_2D, labels: _I64_1D, sigma: float, t: int, n_jobs: int | None, progress: bool
) -> float: ...
def mmd_f32(
    x: _F32_2D,
    y: _F32_2D,
    kernel: str,
    gamma: float | None,
    degree: float,
    coef0: float,
    unbiased: bool,
    n_jobs: int | None,
    progress: bool,
) -> float: ...
def mmd_f64(
    x: _F64_2D,
    y: _F64_2D,
    kernel: str,
    gamma: float | None,
    degree: float,
    coef0: float,
    unbiased: bool,
    n_jobs: int | None,
    progress: bool,
) -> float: ...
def energy_distance_f32(
    x: _F32_2D, y: _F32_2D, exponent: float, unbiased: bool, n_jobs: int | None, progress: bool
) -> float: ...
def energy_distance_f64(
    x: _F64_2D, y: _F64_2D, exponent: float, unbiased: bool, n_jobs: int | None, progress: bool
) -> float: ...
def cs_divergence_f32(
    x: _F32_2D, y: _F32_2D, sigma: float | None, n_jobs: int | None, progress: bool
) -> tuple[float, float]: ...
def cs_divergence_f64(
    x: _F64_2D, y: _F64_2D, sigma: float | None, n_jobs: int | None, progress: bool
) -> tuple[float, float]: ...
def frechet_distance(x: _F64_2D, y: _F64_2D, n_jobs: int | None, progress: bool) -> float: ...
def frechet_from_moments(mu1: _F64_1D, sigma1: _F64_2D, mu2: _F64_1D, sigma2: _F64_2D) -> float: ...
def random_projections(d: int, n_projections: int, seed: int) -> _F64_2D: ...
def sliced_wasserstein(
    x: _F64_2D,
    y: _F64_2D,
    projections: _F64_2D,
    p: float,
    n_jobs: int | None,
    progress: bool,
) -> float: ...

# --------------------------------------------------------------------- hnsw
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
