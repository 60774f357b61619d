"""Spectral measures of one sample, and two-sample measures, on kernels.

One sample. Each measure reads the eigenvalues ``lambda`` of a positive
semi-definite kernel matrix ``K`` over the n items, normalised to a
probability vector ``p = lambda / sum(lambda)`` (that is, ``K / tr K``;
for kernels with a unit diagonal such as cosine and RBF this is the
``K / n`` of the Vendi score and of Sanchez Giraldo et al.). Eigenvalues at
or below ``tol * max(lambda)`` (default ``tol = max(n, d) * eps``) are
round-off and count as zero, for every order q. A measure takes the data
``X`` and a ``kernel`` (names and parameters as :func:`hartley.pairwise_kernels`),
or a precomputed ``K``, which must be square, symmetric and positive
semi-definite (negative eigenvalues beyond ``1e-6 * max|lambda|`` are
rejected). Linear and cosine kernels go through the smaller of the n x n and
d x d eigenproblems (``X X'`` and ``X' X`` share their nonzero spectrum), so
20,000 embeddings of dimension 384 cost a 384 x 384 eigendecomposition.
Other kernels (RBF, Laplacian, polynomial, the diffusion operator) need the
full spectrum of the n x n matrix: from n = 2,048 it is computed by
two-stage tridiagonalisation (dense to band by blocked Householder
reflections, band to tridiagonal by bulge chasing; Bischof, Lang and Sun,
ACM TOMS 2000, as LAPACK's ``dsytrd_2stage``), exact to rounding like
``numpy.linalg.eigvalsh`` and faster from a few thousand items.
No measure centres the data unless it says so: centring changes the
answer, and papers differ.

Two samples. The kernel sums behind :func:`mmd`, :func:`energy_distance`
and :func:`cs_divergence` are added up tile by tile without storing any
n x m matrix (O(n) extra memory), in float32 when both samples are float32
(with float64 accumulation) and float64 otherwise.

Results are in nats unless ``base`` says otherwise; every function accepts
``n_jobs`` and ``progress`` and gives the same result for every ``n_jobs``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from . import _core
from ._spectral_args import _diffusion_args, _jobs, _kernel_args, _order, _source, _tol
from ._twosample import (
    cs_divergence,
    energy_distance,
    frechet_distance,
    frechet_distance_from_moments,
    mmd,
    sliced_wasserstein,
)
from ._validation import as_samples, check_base, check_bool

__all__ = [
    "cs_divergence",
    "diffusion_spectral_entropy",
    "diffusion_spectral_mutual_info",
    "effective_rank",
    "energy_distance",
    "frechet_distance",
    "frechet_distance_from_moments",
    "matrix_entropy",
    "matrix_mutual_info",
    "matrix_nuclear_norm",
    "mmd",
    "sliced_wasserstein",
    "vendi_score",
]

ArrayLike = npt.ArrayLike
F64 = npt.NDArray[np.float64]


# -------------------------------------------------------------- one sample


def vendi_score(
    X: ArrayLike | None = None,
    *,
    K: ArrayLike | None = None,
    q: float = 1.0,
    kernel: str = "cosine",
    gamma: float | None = None,
    degree: float = 3,
    coef0: float = 1,
    tol: float | None = None,
    n_jobs: int | None = None,
    progress: bool = False,
) -> float:
    """Vendi score of order q: the effective number of distinct items.

    ``VS_q = exp(H_q(p))`` where ``p`` is the normalised spectrum of the
    similarity matrix (module notes) and ``H_q`` the Renyi entropy of order
    q, ``log(sum p^q) / (1 - q)`` (Friedman and Dieng, 2023, for q = 1;
    Pasarkar and Dieng, 2024, for any order). The limits are exact: q = 0
    is the numerical rank (eigenvalues above ``tol * max``), q = 1
    ``exp(-sum p log p)``, q = inf ``1 / max p``. n identical items score 1,
    n mutually orthogonal items score n, for every q.

    Unlike the ``vendi-score`` package, every path honours ``q``
    (``score_X`` there always uses q = 1), ``q=np.inf`` is the limit
    rather than NaN, and q = 0 does not count round-off eigenvalues.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features), optional
        Items as rows. Give X or K.
    K : array_like of shape (n_samples, n_samples), optional
        Precomputed similarity matrix (symmetric, positive semi-definite).
    q : float, default 1.0
        Order in [0, inf] (``np.inf`` allowed).
    kernel : str, default "cosine"
        Similarity applied to X (:func:`hartley.pairwise_kernels` names).
        Cosine and linear kernels use the d x d covariance.
    gamma, degree, coef0 : optional
        Kernel parameters, as :func:`hartley.pairwise_kernels`.
    tol : float, optional
        Relative cut below which eigenvalues are zero; default
        ``max(n, d) * eps``.
    n_jobs : int, optional
        Threads.
    progress : bool, default False
        Draw a progress bar on stderr.

    Returns
    -------
    float
        Between 1 and the rank of K.

    Raises
    ------
    ValueError
        Neither or both of X and K, NaN or inf, q < 0 or NaN, a K that is
        not square, symmetric and positive semi-definite, bad options.
    TypeError
        Non-numeric input.

    References
    ----------
    D. Friedman and A. B. Dieng, "The Vendi Score: A Diversity Evaluation
    Metric for Machine Learning", TMLR 2023. A. P. Pasarkar and A. B. Dieng,
    "Cousins of the Vendi Score", AISTATS 2024.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> round(hartley.vendi_score(np.eye(5)), 6)        # 5 orthogonal items
    5.0
    >>> round(hartley.vendi_score(np.ones((5, 3))), 6)  # 5 copies of one item
    1.0
    >>> round(hartley.vendi_score(np.eye(5), q=np.inf), 6)
    5.0
    """
    x, k = _source(X, K, ("X", "K"))
    kname, g, deg, c0 = _kernel_args(kernel, gamma, degree, coef0)
    qq, t = _order(q, "q"), _tol(tol)
    nj, prog = _jobs(n_jobs, progress)
    vs = math.exp(_core.spectral_entropy(x, k, qq, kname, g, deg, c0, t, nj, prog))
    # At q = 0 the score is the count of kept eigenvalues: exp(log(count)) is
    # within a few ulps of it, so rounding restores the integer exactly.
    return float(round(vs)) if qq == 0 else vs


def matrix_entropy(
    X: ArrayLike | None = None,
    Y: ArrayLike | None = None,
    *,
    K: ArrayLike | None = None,
    KY: ArrayLike | None = None,
    alpha: float = 1.0,
    kernel: str = "rbf",
    gamma: float | None = None,
    degree: float = 3,
    coef0: float = 1,
    base: float = math.e,
    tol: float | None = None,
    n_jobs: int | None = None,
    progress: bool = False,
) -> float:
    """Matrix-based Renyi alpha-entropy (Sanchez Giraldo, Rao and Principe).

    ``S_alpha(A) = log(sum lambda_i(A)^alpha) / (1 - alpha)`` with
    ``A = K / tr K`` (eq. 8 of the paper; its ``A_ij = K_ij / (n
    sqrt(K_ii K_jj))`` is the same for kernels with a unit diagonal). With a
    second view (``Y`` or ``KY``) of the same n items, the joint entropy
    ``S_alpha(A o B / tr(A o B))`` of the Hadamard product (eq. 11). The
    limits alpha = 0, 1 and inf are exact, as for :func:`vendi_score`
    (``log vendi_score(q=alpha)`` is the single-view entropy in nats).

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features), optional
        Items as rows (or give K).
    Y : array_like of shape (n_samples, n_features_y), optional
        Second view for the joint entropy (or give KY).
    K, KY : array_like of shape (n_samples, n_samples), optional
        Precomputed kernel matrices.
    alpha : float, default 1.0
        Order in [0, inf].
    kernel : str, default "rbf"
        Kernel applied to X and Y; the paper uses the Gaussian kernel.
    gamma, degree, coef0 : optional
        Kernel parameters (gamma defaults to 1 / n_features of each view).
    base : float, default e
        Logarithm base (2 for bits, as in the paper).
    tol : float, optional
        Relative eigenvalue cut (module notes).
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
        Missing or doubled inputs, views of different lengths, NaN, alpha < 0,
        a K that is not symmetric positive semi-definite.
    TypeError
        Non-numeric input.

    References
    ----------
    L. G. Sanchez Giraldo, M. Rao and J. C. Principe, "Measures of Entropy
    From Data Using Infinitely Divisible Kernels", IEEE Trans. Inf. Theory
    61(1), 2015.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> round(hartley.matrix_entropy(K=np.eye(4), base=2), 6)  # log2(4)
    2.0
    """
    x, k = _source(X, K, ("X", "K"))
    kname, g, deg, c0 = _kernel_args(kernel, gamma, degree, coef0)
    a, t, b = _order(alpha, "alpha"), _tol(tol), check_base(base)
    nj, prog = _jobs(n_jobs, progress)
    if Y is None and KY is None:
        h = _core.spectral_entropy(x, k, a, kname, g, deg, c0, t, nj, prog)
    else:
        y, ky = _source(Y, KY, ("Y", "KY"))
        h = _core.matrix_joint_entropy(x, k, y, ky, a, kname, g, deg, c0, t, nj, prog)
    return h / math.log(b)


def matrix_mutual_info(
    X: ArrayLike | None = None,
    Y: ArrayLike | None = None,
    *,
    KX: ArrayLike | None = None,
    KY: ArrayLike | None = None,
    alpha: float = 1.0,
    kernel: str = "rbf",
    gamma: float | None = None,
    degree: float = 3,
    coef0: float = 1,
    base: float = math.e,
    tol: float | None = None,
    n_jobs: int | None = None,
    progress: bool = False,
) -> float:
    """Matrix-based Renyi alpha mutual information of two views.

    ``I_alpha(A; B) = S_alpha(A) + S_alpha(B) - S_alpha(A o B / tr(A o B))``
    (Sanchez Giraldo, Rao and Principe, 2015, eq. 12), each term as in
    :func:`matrix_entropy`.

    Parameters
    ----------
    X, Y : array_like of shape (n_samples, n_features_*), optional
        The two views of the same n items (or give KX, KY).
    KX, KY : array_like of shape (n_samples, n_samples), optional
        Precomputed kernel matrices.
    alpha, kernel, gamma, degree, coef0, base, tol, n_jobs, progress
        As :func:`matrix_entropy`.

    Returns
    -------
    float

    Raises
    ------
    ValueError, TypeError
        As :func:`matrix_entropy`.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> x = np.random.default_rng(0).standard_normal((200, 2))
    >>> hartley.matrix_mutual_info(x, x) > hartley.matrix_mutual_info(x, x[::-1])
    True
    """
    x, kx = _source(X, KX, ("X", "KX"))
    y, ky = _source(Y, KY, ("Y", "KY"))
    kname, g, deg, c0 = _kernel_args(kernel, gamma, degree, coef0)
    a, t, b = _order(alpha, "alpha"), _tol(tol), check_base(base)
    nj, prog = _jobs(n_jobs, progress)
    hx = _core.spectral_entropy(x, kx, a, kname, g, deg, c0, t, nj, prog)
    hy = _core.spectral_entropy(y, ky, a, kname, g, deg, c0, t, nj, prog)
    hxy = _core.matrix_joint_entropy(x, kx, y, ky, a, kname, g, deg, c0, t, nj, prog)
    return (hx + hy - hxy) / math.log(b)


def matrix_nuclear_norm(
    X: ArrayLike,
    *,
    approx: bool = True,
    normalize: bool = True,
    n_jobs: int | None = None,
    progress: bool = False,
) -> float:
    """Matrix Nuclear-Norm of a response matrix (Li, Xia, Chang and Wu, 2024).

    ``normalize=True`` first centres the columns and scales each row to unit
    length, as in the paper. ``approx=False`` returns the exact nuclear
    norm ``sum sigma_i`` (singular values, through the smaller of the
    n x n and d x d eigenproblems); ``approx=True`` the paper's L_{1,2}
    approximation, the sum of the ``min(n, d)`` largest column norms
    ``|A_{:, j}|_2``, which needs no decomposition.

    Relation: the squared column norms are the diagonal of ``A'A``, whose
    eigenvalues are ``sigma_i^2``; by the Schur-Horn theorem the diagonal is
    majorised by the spectrum, and the square root is concave, so the sum of
    *all* column norms is at least ``||A||_*``, with equality exactly when
    the columns are orthogonal. Keeping the ``min(n, d)`` largest (the
    paper's truncation) can fall on either side when d > n.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
        Representations as rows.
    approx : bool, default True
        The L_{1,2} approximation (True) or the exact nuclear norm.
    normalize : bool, default True
        Centre columns and scale rows to unit norm first.
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
        Bad shape, empty input, NaN or inf.
    TypeError
        Non-numeric input.

    References
    ----------
    Y. Li, T. Xia, Y. Chang and Y. Wu, "Large Language Model Evaluation via
    Matrix Nuclear-Norm", arXiv:2410.10672, 2024.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> A = np.diag([3.0, 4.0])  # orthogonal columns: both forms agree
    >>> hartley.matrix_nuclear_norm(A, normalize=False, approx=False)
    7.0
    >>> hartley.matrix_nuclear_norm(A, normalize=False, approx=True)
    7.0
    """
    x = as_samples(X, "X")
    ap, nm = check_bool(approx, "approx"), check_bool(normalize, "normalize")
    nj, prog = _jobs(n_jobs, progress)
    return _core.matrix_nuclear_norm(x, ap, nm, nj, prog)


def effective_rank(
    X: ArrayLike,
    *,
    center: bool = False,
    tol: float | None = None,
    n_jobs: int | None = None,
    progress: bool = False,
) -> float:
    """Effective rank of a matrix (Roy and Vetterli, 2007).

    ``erank(X) = exp(-sum p_i log p_i)`` with ``p_i = sigma_i / sum sigma``
    the normalised singular values of X (not their squares). It lies
    between 1 and rank(X); d orthogonal columns of equal norm give exactly
    d, and isotropic data with n >> d approaches d.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
    center : bool, default False
        Centre the columns first (the paper does not).
    tol : float, optional
        Relative cut on squared singular values (module notes).
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
        Bad shape, empty input, NaN or inf.
    TypeError
        Non-numeric input.

    References
    ----------
    O. Roy and M. Vetterli, "The effective rank: A measure of effective
    dimensionality", EUSIPCO 2007.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> round(hartley.effective_rank(np.eye(6)), 6)
    6.0
    """
    x = as_samples(X, "X")
    c, t = check_bool(center, "center"), _tol(tol)
    nj, prog = _jobs(n_jobs, progress)
    return _core.effective_rank(x, c, t, nj, prog)


def diffusion_spectral_entropy(
    X: ArrayLike,
    *,
    sigma: float = 10.0,
    t: int = 1,
    base: float = math.e,
    n_jobs: int | None = None,
    progress: bool = False,
) -> float:
    """Diffusion spectral entropy (Liao et al., 2023).

    The Gaussian affinity ``G_ij = exp(-|x_i - x_j|^2 / (2 sigma^2))`` is
    normalised to the diffusion operator ``P = D^{-1} G`` (D the degrees);
    its eigenvalues are those of the symmetric ``D^{-1/2} G D^{-1/2}``. The
    entropy is Shannon's of ``|lambda_i|^t / sum_j |lambda_j|^t``. The
    authors' code adds machine epsilon to every probability before taking
    logarithms; hartley computes the entropy exactly (``0 log 0 = 0``), and
    does not subsample. The authors report bits (``base=2``).

    This needs the n x n diffusion matrix and its full spectrum: O(n^2)
    memory and O(n^3) time.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
    sigma : float, default 10.0
        Kernel bandwidth (the authors' default).
    t : int, default 1
        Diffusion time (power of the eigenvalues).
    base : float, default e
        Logarithm base.
    n_jobs : int, optional
        Threads.
    progress : bool, default False
        Progress bar on stderr.

    Returns
    -------
    float
        Between 0 and log(n).

    Raises
    ------
    ValueError
        Bad shape, NaN or inf, sigma <= 0, t < 1.
    TypeError
        Non-numeric input.

    References
    ----------
    D. Liao, C. Liu, B. W. Christensen, A. Tong, G. Huguet, G. Wolf,
    M. Nickel, I. Adelstein and S. Krishnaswamy, "Assessing Neural Network
    Representations During Training Using Noise-Resilient Diffusion
    Spectral Entropy", ICML TAG-ML workshop, 2023.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> far = np.arange(4.0)[:, None] * 1e3  # 4 disconnected points: log 4
    >>> round(hartley.diffusion_spectral_entropy(far, sigma=1.0) / float(np.log(4)), 9)
    1.0
    """
    x = as_samples(X, "X")
    s, tt, b = _diffusion_args(sigma, t, base)
    nj, prog = _jobs(n_jobs, progress)
    return _core.diffusion_spectral_entropy(x, s, tt, nj, prog) / math.log(b)


def diffusion_spectral_mutual_info(
    X: ArrayLike,
    labels: ArrayLike,
    *,
    sigma: float = 10.0,
    t: int = 1,
    base: float = math.e,
    n_jobs: int | None = None,
    progress: bool = False,
) -> float:
    """Diffusion spectral mutual information with discrete labels (Liao et al., 2023).

    ``DSMI(X; Y) = DSE(X) - sum_c p(c) DSE(X | Y = c)``, each term as in
    :func:`diffusion_spectral_entropy` on the rows of one class.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
    labels : array_like of shape (n_samples,)
        Class of each row (any hashable values).
    sigma, t, base, n_jobs, progress
        As :func:`diffusion_spectral_entropy`.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Labels of the wrong length, and as :func:`diffusion_spectral_entropy`.
    TypeError
        Non-numeric X.

    Examples
    --------
    >>> import numpy as np, hartley
    >>> x = np.repeat([[0.0], [100.0]], 10, axis=0) + np.arange(20.0)[:, None] * 1e-3
    >>> y = np.repeat([0, 1], 10)
    >>> round(hartley.diffusion_spectral_mutual_info(x, y, sigma=1.0, t=50), 3)
    0.693
    """
    x = as_samples(X, "X")
    lab = np.asarray(labels)
    if lab.ndim != 1:
        raise ValueError(f"labels: must be 1-D, got shape {lab.shape}")
    if lab.shape[0] != x.shape[0]:
        raise ValueError(f"labels: has {lab.shape[0]} values but X has {x.shape[0]} samples")
    codes = np.unique(lab, return_inverse=True)[1].astype(np.int64).ravel()
    s, tt, b = _diffusion_args(sigma, t, base)
    nj, prog = _jobs(n_jobs, progress)
    return _core.diffusion_spectral_mutual_info(x, codes, s, tt, nj, prog) / math.log(b)
