"""Result types returned by the estimators."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Estimate", "MutualInfoTestResult"]


@dataclass(frozen=True)
class Estimate:
    """An estimate with its confidence interval.

    Returned by the estimators when they are called with ``ci=``. ``float(e)``
    is the point estimate, so an ``Estimate`` can stand where a float is
    expected.

    Attributes
    ----------
    value : float
        The estimate on all the samples.
    low, high : float
        Ends of the confidence interval.
    stderr : float
        Standard error of the estimate.
    confidence : float
        Confidence level of the interval, e.g. 0.95.
    n_resamples : int
        Number of half-samples behind the interval.
    method : str
        How the interval was formed (``"half-sampling"``: the delete-n/2
        jackknife, see :func:`hartley.mutual_info`).
    """

    value: float
    low: float
    high: float
    stderr: float
    confidence: float
    n_resamples: int
    method: str = "half-sampling"

    def __float__(self) -> float:
        return self.value

    def __contains__(self, truth: float) -> bool:
        """Whether `truth` lies inside the interval."""
        return self.low <= truth <= self.high

    def __str__(self) -> str:
        pct = round(100 * self.confidence)
        return f"{self.value:.4f} ({pct}% CI {self.low:.4f} to {self.high:.4f})"


@dataclass(frozen=True)
class MutualInfoTestResult:
    """Outcome of :func:`hartley.mutual_info_test`.

    Attributes
    ----------
    value : float
        The mutual information estimate on the data as given.
    pvalue : float
        Permutation p-value of the hypothesis that x and y are independent,
        ``(1 + #{null >= value}) / (1 + n_permutations)``.
    null_distribution : ndarray of shape (n_permutations,)
        Estimates on copies where the rows of y were randomly permuted.
    """

    value: float
    pvalue: float
    null_distribution: npt.NDArray[np.float64]

    def __float__(self) -> float:
        return self.value
