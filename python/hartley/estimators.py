"""k-nearest-neighbour estimators of entropy, mutual information and divergence.

All estimators take samples as 1-D arrays (one variable) or 2-D arrays of shape
(n_samples, n_dims), return nats unless ``base`` says otherwise, and run in
hartley's Rust core, in parallel over samples, with results identical for every
``n_jobs``.

Ties. Neighbour estimators assume continuous data: repeated values put
neighbours at distance zero. Before searching, every value receives seeded
Gaussian jitter of ``noise`` (default 1e-10) times its column's standard
deviation, which breaks ties without moving the estimate; ``noise=0`` turns it
off. The jitter is drawn from ``random_state`` (default 0), so results are
reproducible.

Uncertainty. With ``ci=0.95`` the estimators that support it return an
:class:`~hartley.Estimate`. The interval comes from half-sampling, the
delete-d jackknife with d = n/2 (Shao and Wu, Ann. Statist. 17, 1989): the
estimator is rerun on ``n_resamples`` random halves of the rows drawn without
replacement, the variance of the full-sample estimate is the variance of those
replicates (times m/d = 1), and the interval is the normal one. Bootstrap
resamples are avoided on purpose: they repeat rows, and repeated rows are
neighbours at distance zero, which biases every kNN estimator.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from ._results import Estimate, MutualInfoTestResult
from ._validation import (
    as_samples,
    check_base,
    check_bool,
    check_ci,
    check_int,
    check_n_jobs,
    check_noise,
    check_option,
    check_seed,
)

__all__ = [
    "conditional_mutual_info",
    "entropy",
    "kl_divergence",
    "mutual_info",
    "mutual_info_mixed",
    "mutual_info_test",
    "transfer_entropy",
]

ArrayLike = npt.ArrayLike


def _same_rows(name: str, a: np.ndarray, ref_name: str, ref: np.ndarray) -> None:
    if a.shape[0] != ref.shape[0]:
        raise ValueError(f"{name}: has {a.shape[0]} samples but {ref_name} has {ref.shape[0]}")


def _check_k(k: Any, n: int) -> int:
    value = check_int(k, "k", 1)
    if value >= n:
        raise ValueError(f"k: must be smaller than the number of samples ({n}), got {value}")
    return value


def _wrap(
    raw: tuple[float, tuple[float, float, float] | None],
    base: float,
    ci: float | None,
    n_resamples: int,
) -> float | Estimate:
    scale = 1.0 / math.log(base)
    value, interval = raw
    if interval is None or ci is None:
        return value * scale
    low, high, stderr = interval
    return Estimate(value * scale, low * scale, high * scale, stderr * scale, ci, n_resamples)


def entropy(
    x: ArrayLike,
    *,
    k: int = 3,
    metric: str = "euclidean",
    base: float = math.e,
    noise: float = 1e-10,
    ci: float | None = None,
    n_resamples: int = 100,
    random_state: Any = 0,
    n_jobs: int | None = None,
    progress: bool = False,
) -> float | Estimate:
    """Differential entropy by the Kozachenko-Leonenko k-nearest-neighbour estimator.

    ``H = psi(n) - psi(k) + log V_d + (d/n) sum_i log eps_i``, where ``eps_i``
    is the distance from sample i to its k-th nearest neighbour and ``V_d`` the
    volume of the unit ball of the chosen norm (Kozachenko and Leonenko, 1987;
    the k-th neighbour form of Kraskov, Stoegbauer and Grassberger, 2004, eq. 20).

    Parameters
    ----------
    x : array_like of shape (n_samples,) or (n_samples, n_dims)
        Samples of a continuous random vector.
    k : int, default 3
        Neighbour order; must be smaller than n_samples.
    metric : {"euclidean", "chebyshev"}, default "euclidean"
        Norm of the neighbour distances (the estimate is consistent for both).
    base : float, default e
        Logarithm base of the result (2 for bits).
    noise : float, default 1e-10
        Tie-breaking jitter in units of each column's standard deviation.
    ci : float, optional
        Confidence level (e.g. 0.95); if given, return an :class:`Estimate`.
    n_resamples : int, default 100
        Half-samples behind the interval.
    random_state : int, numpy Generator or None, default 0
        Seed of the jitter and of the half-samples (None means 0).
    n_jobs : int, optional
        Threads: None for the library default (all cores, or the
        ``HARTLEY_NUM_THREADS`` environment variable), -1 for all cores.
    progress : bool, default False
        Draw a progress bar on stderr for long runs.

    Returns
    -------
    float or Estimate
        Entropy in units of ``base``.

    Raises
    ------
    ValueError
        NaN or inf in x, a constant column, fewer than k + 1 samples, a bad
        option, or repeated points with ``noise=0``.
    TypeError
        Non-numeric x.

    References
    ----------
    L. F. Kozachenko and N. N. Leonenko, "Sample estimate of the entropy of a
    random vector", Problems of Information Transmission 23(2), 95-101, 1987.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> x = np.random.default_rng(0).standard_normal(20_000)
    >>> round(hartley.entropy(x), 1)  # 0.5 * log(2 pi e) = 1.419
    1.4
    """
    xs = as_samples(x, "x")
    k = _check_k(k, xs.shape[0])
    b, nz, c = check_base(base), check_noise(noise), check_ci(ci)
    metric = check_option(metric, "metric", ("euclidean", "chebyshev"))
    nr = check_int(n_resamples, "n_resamples", 2)
    raw = _core.entropy(
        xs,
        k,
        metric,
        nz,
        check_seed(random_state),
        c,
        nr,
        check_n_jobs(n_jobs),
        check_bool(progress, "progress"),
    )
    return _wrap(raw, b, c, nr)


def mutual_info(
    x: ArrayLike,
    y: ArrayLike,
    *,
    k: int = 3,
    estimator: str = "ksg1",
    base: float = math.e,
    standardize: bool = True,
    noise: float = 1e-10,
    ci: float | None = None,
    n_resamples: int = 100,
    random_state: Any = 0,
    n_jobs: int | None = None,
    progress: bool = False,
) -> float | Estimate:
    """Mutual information I(X; Y) by the Kraskov-Stoegbauer-Grassberger estimators.

    With ``eps_i`` the max-norm distance from sample i to its k-th neighbour
    in the joint space (x, y):

    * ``"ksg1"`` (algorithm 1): ``psi(k) + psi(n) - <psi(n_x + 1) + psi(n_y + 1)>``
      where n_x counts samples strictly closer than ``eps_i`` in x; strictness
      uses the next float below ``eps_i``, exact at every scale.
    * ``"ksg2"`` (algorithm 2): ``psi(k) - 1/k + psi(n) - <psi(n_x) + psi(n_y)>``
      where n_x counts samples within the x-extent of the k neighbours.

    Parameters
    ----------
    x, y : array_like of shape (n_samples,) or (n_samples, n_dims)
        Paired samples of two continuous random vectors.
    k : int, default 3
        Neighbour order (larger k: less variance, more bias).
    estimator : {"ksg1", "ksg2"}, default "ksg1"
        KSG algorithm 1 or 2.
    base : float, default e
        Logarithm base of the result (2 for bits).
    standardize : bool, default True
        Centre and scale each column to unit variance first, as Kraskov et al.
        recommend (the max-norm mixes the columns' scales).
    noise : float, default 1e-10
        Tie-breaking jitter in units of each column's standard deviation.
    ci : float, optional
        Confidence level (e.g. 0.95); if given, return an :class:`Estimate`
        whose interval comes from half-sampling (see the module notes).
    n_resamples : int, default 100
        Half-samples behind the interval.
    random_state : int, numpy Generator or None, default 0
        Seed of the jitter and the half-samples.
    n_jobs : int, optional
        Threads (None: library default; -1: all cores).
    progress : bool, default False
        Draw a progress bar on stderr.

    Returns
    -------
    float or Estimate
        Mutual information in units of ``base``; it can be slightly negative
        for independent variables (the estimator is not clipped).

    Raises
    ------
    ValueError
        Different numbers of samples, NaN or inf, constant columns, k too
        large, a bad option.
    TypeError
        Non-numeric input.

    References
    ----------
    A. Kraskov, H. Stoegbauer and P. Grassberger, "Estimating mutual
    information", Physical Review E 69, 066138, 2004.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(10_000)
    >>> y = 0.8 * x + 0.6 * rng.standard_normal(10_000)
    >>> round(hartley.mutual_info(x, y), 2)  # -0.5 log(1 - 0.64) = 0.511
    0.51
    """
    xs, ys = as_samples(x, "x"), as_samples(y, "y")
    _same_rows("y", ys, "x", xs)
    k = _check_k(k, xs.shape[0])
    estimator = check_option(estimator, "estimator", ("ksg1", "ksg2"))
    b, nz, c = check_base(base), check_noise(noise), check_ci(ci)
    nr = check_int(n_resamples, "n_resamples", 2)
    raw = _core.mutual_info(
        xs,
        ys,
        k,
        estimator,
        check_bool(standardize, "standardize"),
        nz,
        check_seed(random_state),
        c,
        nr,
        check_n_jobs(n_jobs),
        check_bool(progress, "progress"),
    )
    return _wrap(raw, b, c, nr)


def conditional_mutual_info(
    x: ArrayLike,
    y: ArrayLike,
    z: ArrayLike,
    *,
    k: int = 3,
    base: float = math.e,
    standardize: bool = True,
    noise: float = 1e-10,
    ci: float | None = None,
    n_resamples: int = 100,
    random_state: Any = 0,
    n_jobs: int | None = None,
    progress: bool = False,
) -> float | Estimate:
    """Conditional mutual information I(X; Y | Z) by the Frenzel-Pompe estimator.

    ``psi(k) - <psi(n_xz + 1) + psi(n_yz + 1) - psi(n_z + 1)>``, the counts
    taken strictly inside the max-norm distance to the k-th neighbour in the
    joint space (x, y, z).

    Parameters
    ----------
    x, y, z : array_like of shape (n_samples,) or (n_samples, n_dims)
        Paired samples; z is the conditioning variable.
    k, base, standardize, noise, ci, n_resamples, random_state, n_jobs, progress
        As in :func:`mutual_info`.

    Returns
    -------
    float or Estimate
        I(X; Y | Z) in units of ``base``.

    Raises
    ------
    ValueError
        Mismatched lengths, NaN or inf, constant columns, k too large.
    TypeError
        Non-numeric input.

    References
    ----------
    S. Frenzel and B. Pompe, "Partial mutual information for coupling analysis
    of multivariate time series", Physical Review Letters 99, 204101, 2007.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> rng = np.random.default_rng(1)
    >>> z = rng.standard_normal(5000)
    >>> x, y = z + rng.standard_normal(5000), z + rng.standard_normal(5000)
    >>> abs(hartley.conditional_mutual_info(x, y, z)) < 0.05  # x and y independent given z
    True
    """
    xs, ys, zs = as_samples(x, "x"), as_samples(y, "y"), as_samples(z, "z")
    _same_rows("y", ys, "x", xs)
    _same_rows("z", zs, "x", xs)
    k = _check_k(k, xs.shape[0])
    b, nz, c = check_base(base), check_noise(noise), check_ci(ci)
    nr = check_int(n_resamples, "n_resamples", 2)
    raw = _core.conditional_mutual_info(
        xs,
        ys,
        zs,
        k,
        check_bool(standardize, "standardize"),
        nz,
        check_seed(random_state),
        c,
        nr,
        check_n_jobs(n_jobs),
        check_bool(progress, "progress"),
    )
    return _wrap(raw, b, c, nr)


def kl_divergence(
    x: ArrayLike,
    y: ArrayLike,
    *,
    k: int = 1,
    base: float = math.e,
    noise: float = 1e-10,
    random_state: Any = 0,
    n_jobs: int | None = None,
    progress: bool = False,
) -> float:
    """Kullback-Leibler divergence D(P || Q) from samples x ~ P and y ~ Q.

    ``(d/n) sum_i log(nu_k(i) / rho_k(i)) + log(m / (n - 1))``, where rho_k(i)
    is the Euclidean distance from x_i to its k-th neighbour among the other x
    and nu_k(i) to its k-th neighbour among the m samples y.

    Parameters
    ----------
    x : array_like of shape (n, d) or (n,)
        Samples of P.
    y : array_like of shape (m, d) or (m,)
        Samples of Q, same dimension as x.
    k : int, default 1
        Neighbour order (k < n and k <= m).
    base, noise, random_state, n_jobs, progress
        As in :func:`entropy`.

    Returns
    -------
    float
        The divergence in units of ``base`` (can be slightly negative when P = Q).

    Raises
    ------
    ValueError
        Different dimensions, NaN or inf, k too large, repeated points with
        ``noise=0``.
    TypeError
        Non-numeric input.

    References
    ----------
    Q. Wang, S. R. Kulkarni and S. Verdu, "Divergence estimation for
    multidimensional densities via k-nearest-neighbor distances", IEEE
    Transactions on Information Theory 55(5), 2392-2405, 2009.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> rng = np.random.default_rng(0)
    >>> p, q = rng.normal(0, 1, 20_000), rng.normal(1, 1, 20_000)
    >>> round(hartley.kl_divergence(p, q, k=5), 1)  # (0 - 1)^2 / 2 = 0.5
    0.5
    """
    xs, ys = as_samples(x, "x"), as_samples(y, "y")
    if xs.shape[1] != ys.shape[1]:
        raise ValueError(f"y: has {ys.shape[1]} dimensions but x has {xs.shape[1]}")
    k = _check_k(k, xs.shape[0])
    if k > ys.shape[0]:
        raise ValueError(f"k: must be at most the number of samples in y ({ys.shape[0]}), got {k}")
    b, nz = check_base(base), check_noise(noise)
    value = _core.kl_divergence(
        xs,
        ys,
        k,
        nz,
        check_seed(random_state),
        check_n_jobs(n_jobs),
        check_bool(progress, "progress"),
    )
    return value / math.log(b)


def transfer_entropy(
    source: ArrayLike,
    target: ArrayLike,
    *,
    k: int = 3,
    lag: int = 1,
    history: int = 1,
    source_history: int = 1,
    base: float = math.e,
    standardize: bool = True,
    noise: float = 1e-10,
    random_state: Any = 0,
    n_jobs: int | None = None,
    progress: bool = False,
) -> float:
    """Transfer entropy from `source` to `target` time series.

    ``TE = I(Y_t ; X_{t-lag}, ..., X_{t-lag-l+1} | Y_{t-1}, ..., Y_{t-h})`` with
    ``l = source_history`` and ``h = history`` (Schreiber 2000), estimated with
    the Frenzel-Pompe conditional mutual information, as in Lizier's JIDT.

    Parameters
    ----------
    source, target : array_like of shape (n_steps,) or (n_steps, n_dims)
        Time series sampled at the same instants; time runs along rows.
    k : int, default 3
        Neighbour order.
    lag : int, default 1
        Delay from source to target (the source value X_{t-lag} is the most
        recent one used to predict Y_t).
    history : int, default 1
        Number of past target values conditioned on.
    source_history : int, default 1
        Number of past source values used.
    base, standardize, noise, random_state, n_jobs, progress
        As in :func:`mutual_info`.

    Returns
    -------
    float
        Transfer entropy in units of ``base``.

    Raises
    ------
    ValueError
        Different lengths, series too short for the embedding, NaN or inf,
        constant series, lag or histories below 1.
    TypeError
        Non-numeric input or non-integer lags.

    References
    ----------
    T. Schreiber, "Measuring information transfer", Physical Review Letters
    85, 461, 2000. J. T. Lizier, "JIDT: an information-theoretic toolkit for
    studying the dynamics of complex systems", Frontiers in Robotics and AI, 2014.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(5000)
    >>> y = np.roll(x, 1) + 0.5 * rng.standard_normal(5000)  # y_t = x_{t-1} + noise
    >>> hartley.transfer_entropy(x, y) > 0.5 > abs(hartley.transfer_entropy(y, x))
    True
    """
    src, tgt = as_samples(source, "source"), as_samples(target, "target")
    _same_rows("target", tgt, "source", src)
    k = check_int(k, "k", 1)
    lag = check_int(lag, "lag", 1)
    history = check_int(history, "history", 1)
    source_history = check_int(source_history, "source_history", 1)
    b, nz = check_base(base), check_noise(noise)
    value = _core.transfer_entropy(
        src,
        tgt,
        k,
        lag,
        history,
        source_history,
        check_bool(standardize, "standardize"),
        nz,
        check_seed(random_state),
        check_n_jobs(n_jobs),
        check_bool(progress, "progress"),
    )
    return value / math.log(b)


def mutual_info_mixed(
    x: ArrayLike,
    y: ArrayLike,
    *,
    k: int = 3,
    base: float = math.e,
    noise: float = 0.0,
    random_state: Any = 0,
    n_jobs: int | None = None,
    progress: bool = False,
) -> float:
    """Mutual information of discrete, continuous or mixed variables (Gao et al. 2017).

    With rho_i the max-norm distance from sample i to its k-th neighbour in
    the joint space, each sample contributes
    ``psi(k_i) + log n - psi(n_x,i) - psi(n_y,i)``. When rho_i > 0, ``k_i = k``
    and n_x,i, n_y,i count the samples (i itself included) strictly closer
    than rho_i in each marginal; when rho_i = 0, the three counts are of the
    samples equal to sample i in the joint space and in each marginal. This is
    the form of the authors' reference implementation: the paper's displayed
    variant with ``log(n + 1)`` of inclusive counts is consistent only as k
    grows with n and keeps a bias of about a third of a nat at k = 3 on a
    discrete-continuous pair. Discrete values are passed as numbers (class
    labels as integers); repeated values carry their probability mass, so no
    jitter is added by default.

    Parameters
    ----------
    x, y : array_like of shape (n_samples,) or (n_samples, n_dims)
        Paired samples, each discrete, continuous, or a mixture.
    k : int, default 3
        Neighbour order.
    base, random_state, n_jobs, progress
        As in :func:`mutual_info`.
    noise : float, default 0
        Optional jitter in units of each column's standard deviation.

    Returns
    -------
    float
        Mutual information in units of ``base``.

    Raises
    ------
    ValueError
        Mismatched lengths, NaN or inf, k too large.
    TypeError
        Non-numeric input.

    References
    ----------
    W. Gao, S. Kannan, S. Oh and P. Viswanath, "Estimating mutual information
    for discrete-continuous mixtures", Advances in Neural Information
    Processing Systems 30 (NeurIPS), 2017.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> rng = np.random.default_rng(0)
    >>> labels = rng.integers(0, 4, 20_000)   # uniform on 4 classes
    >>> round(hartley.mutual_info_mixed(labels, labels), 2)  # H = log 4 = 1.386
    1.39
    """
    xs, ys = as_samples(x, "x"), as_samples(y, "y")
    _same_rows("y", ys, "x", xs)
    k = _check_k(k, xs.shape[0])
    b, nz = check_base(base), check_noise(noise)
    value = _core.mutual_info_mixed(
        xs,
        ys,
        k,
        nz,
        check_seed(random_state),
        check_n_jobs(n_jobs),
        check_bool(progress, "progress"),
    )
    return value / math.log(b)


def mutual_info_test(
    x: ArrayLike,
    y: ArrayLike,
    *,
    k: int = 3,
    estimator: str = "ksg1",
    n_permutations: int = 200,
    base: float = math.e,
    standardize: bool = True,
    noise: float = 1e-10,
    random_state: Any = 0,
    n_jobs: int | None = None,
    progress: bool = False,
) -> MutualInfoTestResult:
    """Permutation test of independence with the KSG mutual information.

    The statistic is :func:`mutual_info` on the data as given; its null
    distribution is the same estimator on ``n_permutations`` copies whose
    y rows are randomly permuted against x. The p-value is
    ``(1 + #{null >= value}) / (1 + n_permutations)`` (Phipson and Smyth,
    2010), never 0.

    Parameters
    ----------
    x, y : array_like of shape (n_samples,) or (n_samples, n_dims)
        Paired samples.
    n_permutations : int, default 200
        Size of the null distribution (the smallest possible p-value is
        1 / (n_permutations + 1)).
    k, estimator, base, standardize, noise, random_state, n_jobs, progress
        As in :func:`mutual_info`.

    Returns
    -------
    MutualInfoTestResult
        ``value``, ``pvalue`` and ``null_distribution`` (in units of ``base``).

    Raises
    ------
    ValueError
        As :func:`mutual_info`, and n_permutations < 1.
    TypeError
        Non-numeric input.

    References
    ----------
    A. Kraskov, H. Stoegbauer and P. Grassberger, Physical Review E 69, 066138,
    2004. B. Phipson and G. K. Smyth, "Permutation p-values should never be
    zero", Statistical Applications in Genetics and Molecular Biology 9(1), 2010.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(2000)
    >>> hartley.mutual_info_test(x, x + rng.standard_normal(2000), n_permutations=99).pvalue
    0.01
    """
    xs, ys = as_samples(x, "x"), as_samples(y, "y")
    _same_rows("y", ys, "x", xs)
    k = _check_k(k, xs.shape[0])
    estimator = check_option(estimator, "estimator", ("ksg1", "ksg2"))
    n_perm = check_int(n_permutations, "n_permutations", 1)
    b, nz = check_base(base), check_noise(noise)
    value, pvalue, null = _core.mutual_info_permutations(
        xs,
        ys,
        k,
        estimator,
        check_bool(standardize, "standardize"),
        nz,
        check_seed(random_state),
        n_perm,
        check_n_jobs(n_jobs),
        check_bool(progress, "progress"),
    )
    scale = 1.0 / math.log(b)
    return MutualInfoTestResult(value * scale, pvalue, null * scale)
