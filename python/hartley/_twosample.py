"""Two-sample measures: MMD, energy distance, Cauchy-Schwarz divergence,
Frechet distance and sliced Wasserstein distance.

Re-exported by :mod:`hartley.spectral` (see its notes). The kernel sums
behind :func:`mmd`, :func:`energy_distance` and :func:`cs_divergence` are
added up tile by tile without storing any n x m matrix (O(n) extra memory),
in float32 when both samples are float32 (with float64 accumulation) and
float64 otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from ._spectral_args import _jobs, _kernel_args, _positive
from ._validation import as_real_array, as_samples, check_bool, check_int, check_seed
from .kernels import _check_real, float_pair

__all__ = [
    "cs_divergence",
    "energy_distance",
    "frechet_distance",
    "frechet_distance_from_moments",
    "mmd",
    "sliced_wasserstein",
]

ArrayLike = npt.ArrayLike
F64 = npt.NDArray[np.float64]


def _pair(X: Any, Y: Any) -> tuple[F64, F64]:
    x = as_samples(X, "X")
    y = as_samples(Y, "Y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"Y: has {y.shape[1]} features but X has {x.shape[1]}; "
            "both must have the same number of columns"
        )
    return x, y


def _float_samples(X: Any, Y: Any) -> tuple[Any, Any]:
    """Two samples as 2-D arrays of one float dtype (float32 if both are)."""
    x = as_real_array(X, "X")
    y = as_real_array(Y, "Y")
    x = x[:, None] if x.ndim == 1 else x
    y = y[:, None] if y.ndim == 1 else y
    a, b = float_pair(x, y)
    assert b is not None
    return a, b


def mmd(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    kernel: str = "rbf",
    gamma: float | None = None,
    degree: float = 3,
    coef0: float = 1,
    unbiased: bool = True,
    n_jobs: int | None = None,
    progress: bool = False,
) -> float:
    """Squared maximum mean discrepancy between two samples (Gretton et al., 2012).

    ``MMD^2 = mean k(x, x') + mean k(y, y') - 2 mean k(x, y)``: with
    ``unbiased=True`` the U-statistic (eq. 3; the within-sample means skip
    i = j, so it can be slightly negative), else the V-statistic (eq. 5).
    Computed blockwise with O(n) memory.

    Parameters
    ----------
    X : array_like of shape (n_samples_X, n_features)
    Y : array_like of shape (n_samples_Y, n_features)
    kernel : str, default "rbf"
        Kernel (:func:`hartley.pairwise_kernels` names).
    gamma, degree, coef0 : optional
        Kernel parameters; gamma defaults to ``1 / n_features``.
    unbiased : bool, default True
        U-statistic (True) or V-statistic.
    n_jobs : int, optional
        Threads.
    progress : bool, default False
        Progress bar on stderr.

    Returns
    -------
    float
        The squared MMD.

    Raises
    ------
    ValueError
        Mismatched widths, NaN or inf, fewer than 2 rows for the U-statistic.
    TypeError
        Non-numeric input.

    References
    ----------
    A. Gretton, K. M. Borgwardt, M. J. Rasch, B. Schoelkopf and A. Smola,
    "A Kernel Two-Sample Test", JMLR 13, 2012.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> x = np.random.default_rng(0).standard_normal((500, 3))
    >>> abs(hartley.mmd(x, x, unbiased=False)) < 1e-12
    True
    """
    x, y = _float_samples(X, Y)
    kname, g, deg, c0 = _kernel_args(kernel, gamma, degree, coef0)
    ub = check_bool(unbiased, "unbiased")
    nj, prog = _jobs(n_jobs, progress)
    fn = _core.mmd_f32 if x.dtype == np.float32 else _core.mmd_f64
    return float(fn(x, y, kname, g, deg, c0, ub, nj, prog))


def energy_distance(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    exponent: float = 1.0,
    unbiased: bool = False,
    n_jobs: int | None = None,
    progress: bool = False,
) -> float:
    """Energy distance between two samples (Szekely and Rizzo, 2004).

    ``2 E|X - Y|^a - E|X - X'|^a - E|Y - Y'|^a`` with Euclidean distances to
    the power ``a = exponent``. With ``unbiased=False`` the expectations are
    means over all pairs (V-statistic, ``dcor.energy_distance``'s default);
    with ``unbiased=True`` the within-sample means skip i = j (U-statistic).
    Computed blockwise with O(n) memory, so 25,000+ points fit where dcor's
    n x n matrices do not.

    Parameters
    ----------
    X : array_like of shape (n_samples_X, n_features)
    Y : array_like of shape (n_samples_Y, n_features)
    exponent : float, default 1.0
        Power of the distances, in (0, 2).
    unbiased : bool, default False
        U-statistic (True) or V-statistic.
    n_jobs : int, optional
        Threads.
    progress : bool, default False
        Progress bar on stderr.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Mismatched widths, NaN or inf, exponent outside (0, 2).
    TypeError
        Non-numeric input.

    References
    ----------
    G. J. Szekely and M. L. Rizzo, "Testing for equal distributions in high
    dimension", InterStat 5, 2004.

    Examples
    --------
    >>> import hartley
    >>> hartley.energy_distance([[0.0], [1.0]], [[0.0], [1.0]])
    0.0
    """
    x, y = _float_samples(X, Y)
    e = _check_real(exponent, "exponent")
    if not 0 < e < 2:
        raise ValueError(f"exponent: must be in (0, 2), got {exponent}")
    ub = check_bool(unbiased, "unbiased")
    nj, prog = _jobs(n_jobs, progress)
    fn = _core.energy_distance_f32 if x.dtype == np.float32 else _core.energy_distance_f64
    return float(fn(x, y, e, ub, nj, prog))


def cs_divergence(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    sigma: float | None = None,
    n_jobs: int | None = None,
    progress: bool = False,
) -> float:
    """Empirical Cauchy-Schwarz divergence between two samples.

    ``D_CS = log(mean k(x, x')) + log(mean k(y, y')) - 2 log(mean k(x, y))``
    with the Gaussian kernel ``k = exp(-|u - v|^2 / (2 sigma^2))`` over all
    pairs (i = j included): ``-log`` of the squared cosine between the two
    kernel mean embeddings, so it is >= 0, zero for identical samples, and
    symmetric (Jenssen et al., 2006; Yu et al., 2024). The Parzen constants
    cancel. Computed blockwise with O(n) memory.

    Parameters
    ----------
    X : array_like of shape (n_samples_X, n_features)
    Y : array_like of shape (n_samples_Y, n_features)
    sigma : float, optional
        Kernel width; None uses the median heuristic, the median Euclidean
        distance between distinct points of the pooled sample (over at most
        1,000 evenly spaced points).
    n_jobs : int, optional
        Threads.
    progress : bool, default False
        Progress bar on stderr.

    Returns
    -------
    float
        In nats; ``inf`` when the samples are so far apart that every cross
        kernel value underflows.

    Raises
    ------
    ValueError
        Mismatched widths, NaN or inf, sigma <= 0, a median heuristic of 0.
    TypeError
        Non-numeric input.

    References
    ----------
    R. Jenssen, J. C. Principe, D. Erdogmus and T. Eltoft, "The
    Cauchy-Schwarz divergence and Parzen windowing", J. Franklin Inst.
    343(6), 2006. S. Yu, H. Li, S. Loekse, R. Jenssen and J. C. Principe,
    "Cauchy-Schwarz Divergence Information Bottleneck for Regression", ICLR
    2024.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> x = np.random.default_rng(0).standard_normal((300, 2))
    >>> abs(hartley.cs_divergence(x, x, sigma=1.0)) < 1e-12
    True
    """
    x, y = _float_samples(X, Y)
    s = None if sigma is None else _positive(sigma, "sigma")
    nj, prog = _jobs(n_jobs, progress)
    fn = _core.cs_divergence_f32 if x.dtype == np.float32 else _core.cs_divergence_f64
    return float(fn(x, y, s, nj, prog)[0])


def frechet_distance(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    n_jobs: int | None = None,
    progress: bool = False,
) -> float:
    """Squared Frechet distance between Gaussians fitted to two samples.

    ``|mu_x - mu_y|^2 + tr(S_x) + tr(S_y) - 2 tr((S_x^{1/2} S_y S_x^{1/2})^{1/2})``
    with sample means and covariances (``ddof=1``, as ``numpy.cov``): FID on
    Inception features (Heusel et al., 2017), FRD on radiomic features. The
    trace term comes from two symmetric eigendecompositions, so it is real
    by construction: no complex ``sqrtm`` whose imaginary part has to be
    dropped, as clean-fid and pytorch-fid do. Works on d x d covariances.

    Parameters
    ----------
    X : array_like of shape (n_samples_X, n_features)
    Y : array_like of shape (n_samples_Y, n_features)
    n_jobs : int, optional
        Threads.
    progress : bool, default False
        Progress bar on stderr.

    Returns
    -------
    float
        The squared distance (the FID convention), >= 0.

    Raises
    ------
    ValueError
        Mismatched widths, fewer than 2 rows, NaN or inf.
    TypeError
        Non-numeric input.

    References
    ----------
    D. C. Dowson and B. V. Landau, "The Frechet distance between
    multivariate normal distributions", J. Multivariate Anal. 12, 1982.
    M. Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge
    to a Local Nash Equilibrium", NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> x = np.random.default_rng(0).standard_normal((1000, 4))
    >>> round(hartley.frechet_distance(x, x + 1.0), 9)  # mean shift of 1 in 4 dims
    4.0
    """
    x, y = _pair(X, Y)
    nj, prog = _jobs(n_jobs, progress)
    return float(_core.frechet_distance(x, y, nj, prog))


def frechet_distance_from_moments(
    mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike
) -> float:
    """Squared Frechet distance between N(mu1, sigma1) and N(mu2, sigma2).

    The form of :func:`frechet_distance` for precomputed statistics (for
    instance FID reference statistics stored as ``mu`` and ``sigma``).

    Parameters
    ----------
    mu1, mu2 : array_like of shape (d,)
        Means.
    sigma1, sigma2 : array_like of shape (d, d)
        Covariances: symmetric positive semi-definite.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Mismatched shapes, NaN or inf, a covariance that is not symmetric
        positive semi-definite.
    TypeError
        Non-numeric input.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> I = np.eye(3)
    >>> round(hartley.frechet_distance_from_moments(np.zeros(3), I, np.zeros(3), 4 * I), 12)
    3.0
    """

    def vec(v: Any, name: str) -> F64:
        a = as_real_array(v, name)
        if a.ndim != 1:
            raise ValueError(f"{name}: must be 1-D, got shape {a.shape}")
        return np.ascontiguousarray(a, dtype=np.float64)

    def mat(v: Any, name: str, d: int) -> F64:
        a = as_real_array(v, name)
        if a.shape != (d, d):
            raise ValueError(f"{name}: must have shape ({d}, {d}) to match the mean, got {a.shape}")
        return np.ascontiguousarray(a, dtype=np.float64)

    m1, m2 = vec(mu1, "mu1"), vec(mu2, "mu2")
    if m2.shape != m1.shape:
        raise ValueError(f"mu2: has {m2.shape[0]} entries but mu1 has {m1.shape[0]}")
    d = m1.shape[0]
    return float(
        _core.frechet_from_moments(m1, mat(sigma1, "sigma1", d), m2, mat(sigma2, "sigma2", d))
    )


def sliced_wasserstein(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    n_projections: int = 50,
    p: float = 2,
    projections: ArrayLike | None = None,
    random_state: Any = 0,
    n_jobs: int | None = None,
    progress: bool = False,
) -> float:
    """Sliced Wasserstein distance of order p between two samples.

    ``SW_p = (mean_l W_p^p(X theta_l, Y theta_l))^{1/p}`` over directions
    ``theta_l`` drawn uniformly on the unit sphere (Rabin et al., 2011;
    Bonneel et al., 2015); each one-dimensional ``W_p`` between the uniform
    empirical distributions is exact (quantile functions, any sample
    sizes). Same definition as ``ot.sliced_wasserstein_distance``, and the
    same value given the same ``projections``.

    Parameters
    ----------
    X : array_like of shape (n_samples_X, n_features)
    Y : array_like of shape (n_samples_Y, n_features)
    n_projections : int, default 50
        Number of random directions (ignored when ``projections`` is given).
    p : float, default 2
        Order, >= 1.
    projections : array_like of shape (n_features, n_projections), optional
        Directions as columns (POT's layout); used as given.
    random_state : int, numpy Generator or None, default 0
        Seed of the directions.
    n_jobs : int, optional
        Threads.
    progress : bool, default False
        Progress bar on stderr.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Mismatched widths, NaN or inf, p < 1, projections of the wrong shape.
    TypeError
        Non-numeric input.

    References
    ----------
    N. Bonneel, J. Rabin, G. Peyre and H. Pfister, "Sliced and Radon
    Wasserstein Barycenters of Measures", J. Math. Imaging Vis. 51, 2015.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> x = np.random.default_rng(0).standard_normal((500, 1))
    >>> round(hartley.sliced_wasserstein(x, x + 2.0), 9)  # 1-D: every direction is +-1
    2.0
    """
    x, y = _pair(X, Y)
    pp = _check_real(p, "p")
    if pp < 1:
        raise ValueError(f"p: must be a finite number >= 1, got {p}")
    nj, prog = _jobs(n_jobs, progress)
    if projections is None:
        L = check_int(n_projections, "n_projections", 1)
        proj = _core.random_projections(x.shape[1], L, check_seed(random_state))
    else:
        pr = as_real_array(projections, "projections")
        if pr.ndim != 2 or pr.shape[0] != x.shape[1] or pr.shape[1] == 0:
            raise ValueError(
                f"projections: must have shape ({x.shape[1]}, n_projections), got {pr.shape}"
            )
        proj = np.ascontiguousarray(pr, dtype=np.float64)
    return float(_core.sliced_wasserstein(x, y, proj, pp, nj, prog))
