"""hartley: fast information theory and retrieval over embeddings.

k-nearest-neighbour estimators of entropy, mutual information and divergence
with confidence intervals, drop-in replacements for scikit-learn's
``mutual_info_regression`` / ``mutual_info_classif``, all computed in a
parallel Rust core. Information is in nats unless ``base=`` says otherwise.
"""

from __future__ import annotations

from ._core import HartleyError, __version__
from ._results import Estimate, MutualInfoTestResult
from .binary import (
    Binarizer,
    BinaryIndex,
    hamming_distances,
    information_retained,
    jaccard_distances,
    pack_bits,
    unpack_bits,
)
from .estimators import (
    conditional_mutual_info,
    entropy,
    kl_divergence,
    mutual_info,
    mutual_info_mixed,
    mutual_info_test,
    transfer_entropy,
)
from .feature_selection import mutual_info_classif, mutual_info_regression
from .hnsw import HNSWIndex
from .kernels import pairwise_distances, pairwise_kernels
from .spectral import (
    cs_divergence,
    diffusion_spectral_entropy,
    diffusion_spectral_mutual_info,
    effective_rank,
    energy_distance,
    frechet_distance,
    frechet_distance_from_moments,
    matrix_entropy,
    matrix_mutual_info,
    matrix_nuclear_norm,
    mmd,
    sliced_wasserstein,
    vendi_score,
)

__all__ = [
    "Binarizer",
    "BinaryIndex",
    "Estimate",
    "HNSWIndex",
    "HartleyError",
    "MutualInfoTestResult",
    "__version__",
    "conditional_mutual_info",
    "cs_divergence",
    "diffusion_spectral_entropy",
    "diffusion_spectral_mutual_info",
    "effective_rank",
    "energy_distance",
    "entropy",
    "frechet_distance",
    "frechet_distance_from_moments",
    "hamming_distances",
    "information_retained",
    "jaccard_distances",
    "kl_divergence",
    "matrix_entropy",
    "matrix_mutual_info",
    "matrix_nuclear_norm",
    "mmd",
    "mutual_info",
    "mutual_info_classif",
    "mutual_info_mixed",
    "mutual_info_regression",
    "mutual_info_test",
    "pack_bits",
    "pairwise_distances",
    "pairwise_kernels",
    "sliced_wasserstein",
    "transfer_entropy",
    "unpack_bits",
    "vendi_score",
]
