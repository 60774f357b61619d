"""hartley: fast information theory and retrieval over embeddings.

k-nearest-neighbour estimators of entropy, mutual information and divergence
with confidence intervals, drop-in replacements for scikit-learn's
``mutual_info_regression`` / ``mutual_info_classif``, all computed in a
parallel Rust core. Information is in nats unless ``base=`` says otherwise.
"""

from __future__ import annotations

from ._core import HartleyError, __version__
from ._results import Estimate, MutualInfoTestResult
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

__all__ = [
    "Estimate",
    "HNSWIndex",
    "HartleyError",
    "MutualInfoTestResult",
    "__version__",
    "conditional_mutual_info",
    "entropy",
    "kl_divergence",
    "mutual_info",
    "mutual_info_classif",
    "mutual_info_mixed",
    "mutual_info_regression",
    "mutual_info_test",
    "transfer_entropy",
]
