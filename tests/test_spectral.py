"""Spectral and two-sample measures against closed forms, direct numpy
transcriptions of the papers' formulas, and the reference packages
(vendi-score, dcor, POT, scipy); the vendi-score defects hartley avoids;
threads and bad input."""

from __future__ import annotations

import doctest
import math
import warnings

import dcor
import hartley
import hartley._twosample
import hartley.spectral
import numpy as np
import ot
import pytest
import scipy.linalg
from conftest import assert_interrupted, renyi, shannon
from sklearn.metrics import pairwise as skp
from sklearn.preprocessing import normalize
from vendi_score import vendi

RNG = np.random.default_rng(11)

# vendi-score reads scipy.sparse.csr.csr_matrix, a deprecated scipy namespace.
pytestmark = pytest.mark.filterwarnings("ignore:Please import `csr_matrix`:DeprecationWarning")


def spectrum(K: np.ndarray, rtol: float = 1e-12) -> np.ndarray:
    w = np.linalg.eigvalsh(K)
    w = np.where(w > rtol * w.max(), w, 0.0)
    return w / w.sum()


# ================================================================ Vendi score


@pytest.mark.parametrize("q", [0.0, 0.5, 1.0, 2.0, np.inf])
def test_vendi_closed_forms(q: float) -> None:
    n = 12
    identical = np.tile(RNG.standard_normal(7), (n, 1))
    assert hartley.vendi_score(identical, q=q) == pytest.approx(1.0, abs=1e-9)
    orthogonal = np.linalg.qr(RNG.standard_normal((30, n)))[0].T  # n orthonormal rows
    assert hartley.vendi_score(orthogonal, q=q) == pytest.approx(n, rel=1e-9)
    assert hartley.vendi_score(K=np.eye(n), q=q) == pytest.approx(n, rel=1e-12)
    assert hartley.vendi_score(K=np.ones((n, n)), q=q) == pytest.approx(1.0, rel=1e-12)
    # Either side of the d x d / n x n switch.
    assert hartley.vendi_score(orthogonal[:, :n], q=q, kernel="linear") == pytest.approx(
        hartley.vendi_score(K=orthogonal[:, :n] @ orthogonal[:, :n].T, q=q), rel=1e-9
    )


@pytest.mark.parametrize("q", [0.5, 1.0, 2.0, 3.5])
def test_vendi_matches_vendi_score_where_it_is_right(q: float) -> None:
    # Full-rank similarity (n < d): no round-off eigenvalues for vendi-score
    # to miscount, so the two agree for every order.
    X = RNG.standard_normal((40, 60))
    Xn = normalize(X)
    assert hartley.vendi_score(X, q=q) == pytest.approx(vendi.score_K(Xn @ Xn.T, q=q), rel=1e-10)
    Krbf = skp.rbf_kernel(X, gamma=0.01)
    got = hartley.vendi_score(X, q=q, kernel="rbf", gamma=0.01)
    assert got == pytest.approx(vendi.score_K(Krbf, q=q), rel=1e-10)
    assert hartley.vendi_score(K=Krbf, q=q) == pytest.approx(got, rel=1e-12)
    # Rank 20 < n = 80 (the d x d path): round-off eigenvalues weigh
    # nothing for q >= 1, where vendi-score is right too.
    if q >= 1:
        X = RNG.standard_normal((80, 20))
        Xn = normalize(X)
        want = vendi.score_K(Xn @ Xn.T, q=q)
        assert hartley.vendi_score(X, q=q) == pytest.approx(want, rel=1e-10)
        assert hartley.vendi_score(X, q=q) == pytest.approx(vendi.score_dual(X, q=q), rel=1e-10)


def test_vendi_score_x_path_ignores_q_but_hartley_does_not() -> None:
    X = RNG.standard_normal((40, 10))
    # vendi-score's score_X silently computes q = 1 whatever q says.
    assert vendi.score_X(X, q=2) == pytest.approx(vendi.score_X(X, q=1), rel=1e-12)
    Xn = normalize(X)
    want_q2 = vendi.score_K(Xn @ Xn.T, q=2)
    assert hartley.vendi_score(X, q=2) == pytest.approx(want_q2, rel=1e-10)
    assert hartley.vendi_score(X, q=2) < hartley.vendi_score(X, q=1) - 0.1


def test_vendi_score_q_inf_is_the_limit_not_nan() -> None:
    X = RNG.standard_normal((40, 10))
    Xn = normalize(X)
    K = Xn @ Xn.T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert math.isnan(vendi.score_K(K, q=np.inf))
    want = 1.0 / spectrum(K).max()
    assert hartley.vendi_score(X, q=np.inf) == pytest.approx(want, rel=1e-10)
    assert hartley.vendi_score(X, q=float("inf")) == pytest.approx(want, rel=1e-10)
    assert hartley.vendi_score(X, q=1e6) == pytest.approx(want, rel=1e-4)


def test_vendi_score_q0_counts_round_off_but_hartley_does_not() -> None:
    # 50 items spanning a 3-dimensional subspace: the rank is 3.
    X = RNG.standard_normal((50, 3)) @ RNG.standard_normal((3, 20))
    Xn = normalize(X)
    K = Xn @ Xn.T
    assert vendi.score_K(K, q=0) > 5  # round-off eigenvalues counted as items
    assert hartley.vendi_score(X, q=0) == 3.0
    assert hartley.vendi_score(K=K, q=0) == 3.0
    # The same cut makes q -> 0 continuous, and tol is the user's to set.
    assert hartley.vendi_score(X, q=1e-9) == pytest.approx(3.0, rel=1e-6)
    assert hartley.vendi_score(K=K, q=0, tol=0.0) >= 3.0


def test_vendi_is_continuous_at_q_1() -> None:
    X = RNG.standard_normal((60, 8))
    v1 = hartley.vendi_score(X, q=1.0)
    assert hartley.vendi_score(X, q=1 + 1e-10) == pytest.approx(v1, rel=1e-8)
    assert hartley.vendi_score(X, q=1 - 1e-10) == pytest.approx(v1, rel=1e-8)


def test_non_unit_diagonal_kernels_are_normalised_by_the_trace() -> None:
    X = RNG.standard_normal((30, 50))  # n < d: the n x n problem
    K = X @ X.T
    for q in (0.5, 1.0, 2.0):
        want = math.exp(renyi(spectrum(K), q))
        assert hartley.vendi_score(X, q=q, kernel="linear") == pytest.approx(want, rel=1e-9)
        assert hartley.vendi_score(K=K, q=q) == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("kernel", ["laplacian", "polynomial"])
def test_vendi_other_kernels(kernel: str) -> None:
    X = RNG.standard_normal((40, 5))
    K = skp.pairwise_kernels(X, metric=kernel)
    want = math.exp(renyi(spectrum(K), 1.0))
    assert hartley.vendi_score(X, kernel=kernel) == pytest.approx(want, rel=1e-9)


# ============================================================ matrix entropy


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0, 2.0, np.inf])
def test_matrix_entropy_matches_the_formula(alpha: float) -> None:
    X = RNG.standard_normal((50, 4))
    K = skp.rbf_kernel(X)
    want = renyi(spectrum(K), alpha)
    assert hartley.matrix_entropy(X, alpha=alpha) == pytest.approx(want, rel=1e-9)
    assert hartley.matrix_entropy(K=K, alpha=alpha, base=2) == pytest.approx(
        want / math.log(2), rel=1e-9
    )
    assert hartley.matrix_entropy(K=np.eye(16), alpha=alpha, base=2) == pytest.approx(4.0)


def test_matrix_joint_entropy_and_mutual_info() -> None:
    X = RNG.standard_normal((60, 3))
    Y = X[:, :2] + 0.3 * RNG.standard_normal((60, 2))
    A, B = skp.rbf_kernel(X), skp.rbf_kernel(Y)
    for alpha in (1.0, 2.0):

        def h(K: np.ndarray, alpha: float = alpha) -> float:
            return renyi(spectrum(K), alpha)

        joint = hartley.matrix_entropy(X, Y, alpha=alpha)
        assert joint == pytest.approx(h(A * B), rel=1e-9)
        assert hartley.matrix_entropy(K=A, KY=B, alpha=alpha) == pytest.approx(joint, rel=1e-9)
        mi = hartley.matrix_mutual_info(X, Y, alpha=alpha)
        assert mi == pytest.approx(h(A) + h(B) - h(A * B), rel=1e-9)
        assert hartley.matrix_mutual_info(KX=A, KY=B, alpha=alpha) == pytest.approx(mi, rel=1e-9)
    independent = RNG.standard_normal((60, 2))
    assert hartley.matrix_mutual_info(X, Y) > hartley.matrix_mutual_info(X, independent)


# ================================================ effective rank, nuclear norm


def test_effective_rank_closed_forms() -> None:
    q = np.linalg.qr(RNG.standard_normal((200, 7)))[0]
    assert hartley.effective_rank(3.0 * q) == pytest.approx(7.0, rel=1e-12)
    assert hartley.effective_rank(q.T) == pytest.approx(7.0, rel=1e-12)  # n < d
    assert hartley.effective_rank(np.outer(np.arange(1, 9.0), np.ones(5))) == pytest.approx(1.0)
    iso = RNG.standard_normal((20_000, 10))
    assert 9.95 < hartley.effective_rank(iso) <= 10.0


def test_effective_rank_matches_svd() -> None:
    X = RNG.standard_normal((100, 12)) * np.arange(1, 13) + 3.0
    for center in (False, True):
        Z = X - X.mean(0) if center else X
        s = np.linalg.svd(Z, compute_uv=False)
        want = math.exp(shannon(s / s.sum()))
        assert hartley.effective_rank(X, center=center) == pytest.approx(want, rel=1e-10)


def test_nuclear_norm_exact_and_approximate() -> None:
    X = RNG.standard_normal((40, 16)) @ np.diag(np.linspace(0.1, 3, 16))
    R = X - X.mean(0)
    R /= np.linalg.norm(R, axis=1, keepdims=True)  # the paper's normalisation
    exact = hartley.matrix_nuclear_norm(X, approx=False)
    assert exact == pytest.approx(np.linalg.norm(R, "nuc"), rel=1e-10)
    cols = np.sort(np.linalg.norm(R, axis=0))[::-1]
    approx = hartley.matrix_nuclear_norm(X)
    assert approx == pytest.approx(cols[: min(R.shape)].sum(), rel=1e-12)
    assert approx >= exact  # all d <= n columns kept: the L_{1,2} bound
    raw = hartley.matrix_nuclear_norm(X, approx=False, normalize=False)
    assert raw == pytest.approx(np.linalg.norm(X, "nuc"), rel=1e-10)
    wide = RNG.standard_normal((10, 30))
    assert hartley.matrix_nuclear_norm(wide, approx=False, normalize=False) == pytest.approx(
        np.linalg.norm(wide, "nuc"), rel=1e-10
    )


# =================================================== diffusion spectral entropy


def dse_transcription(X: np.ndarray, sigma: float, t: int) -> float:
    """Liao et al.'s computation without their added epsilon."""
    D = skp.euclidean_distances(X)
    G = np.exp(-(D**2) / (2 * sigma**2))
    deg = np.diag(1 / np.sqrt(G.sum(1)))
    ev = np.abs(np.linalg.eigvalsh(deg @ G @ deg)) ** t
    return shannon(ev / ev.sum())


@pytest.mark.parametrize("t", [1, 3])
def test_diffusion_spectral_entropy_matches_transcription(t: int) -> None:
    X = RNG.standard_normal((80, 5))
    for sigma in (0.7, 2.0):
        want = dse_transcription(X, sigma, t)
        assert hartley.diffusion_spectral_entropy(X, sigma=sigma, t=t) == pytest.approx(
            want, rel=1e-9
        )
    assert hartley.diffusion_spectral_entropy(X, sigma=2.0, base=2) == pytest.approx(
        dse_transcription(X, 2.0, 1) / math.log(2), rel=1e-9
    )


def test_diffusion_spectral_mutual_info() -> None:
    X = np.vstack([RNG.standard_normal((30, 3)), RNG.standard_normal((25, 3)) + 4.0])
    labels = np.array(["a"] * 30 + ["b"] * 25)
    want = dse_transcription(X, 1.5, 2) - (
        30 / 55 * dse_transcription(X[:30], 1.5, 2) + 25 / 55 * dse_transcription(X[30:], 1.5, 2)
    )
    got = hartley.diffusion_spectral_mutual_info(X, labels, sigma=1.5, t=2)
    assert got == pytest.approx(want, rel=1e-9)
    assert got > hartley.diffusion_spectral_mutual_info(X, RNG.permutation(labels), sigma=1.5, t=2)


# ======================================================================= MMD


def mmd_transcription(X, Y, kernel: str, unbiased: bool, **kw) -> float:
    kxx = skp.pairwise_kernels(X, metric=kernel, **kw)
    kyy = skp.pairwise_kernels(Y, metric=kernel, **kw)
    kxy = skp.pairwise_kernels(X, Y, metric=kernel, **kw)
    n, m = len(X), len(Y)
    if unbiased:
        return float(
            (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
            + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            - 2 * kxy.mean()
        )
    return float(kxx.mean() + kyy.mean() - 2 * kxy.mean())


@pytest.mark.parametrize("kernel", ["rbf", "linear", "cosine", "laplacian", "polynomial"])
@pytest.mark.parametrize("unbiased", [True, False])
def test_mmd_matches_transcription(kernel: str, unbiased: bool) -> None:
    X = RNG.standard_normal((300, 6))  # > one 256-row tile
    Y = RNG.standard_normal((170, 6)) * 1.3 + 0.2
    want = mmd_transcription(X, Y, kernel, unbiased)
    got = hartley.mmd(X, Y, kernel=kernel, unbiased=unbiased)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-12)
    got32 = hartley.mmd(
        X.astype(np.float32), Y.astype(np.float32), kernel=kernel, unbiased=unbiased
    )
    assert got32 == pytest.approx(want, rel=1e-3, abs=1e-5)


def test_mmd_closed_forms() -> None:
    X = RNG.standard_normal((400, 5))
    assert abs(hartley.mmd(X, X, unbiased=False)) < 1e-12
    # Identical samples, unbiased: the only difference is the diagonal.
    want = mmd_transcription(X, X, "rbf", True)
    assert hartley.mmd(X, X) == pytest.approx(want, rel=1e-9)
    assert abs(hartley.mmd(X, X)) < 0.01
    # Linear kernel, V-statistic: the squared distance between the means.
    Y = RNG.standard_normal((250, 5)) + 0.5
    dm = X.mean(0) - Y.mean(0)
    assert hartley.mmd(X, Y, kernel="linear", unbiased=False) == pytest.approx(dm @ dm, rel=1e-9)


# =========================================================== energy distance


@pytest.mark.parametrize("exponent", [1.0, 0.5, 1.5])
def test_energy_distance_matches_dcor(exponent: float) -> None:
    X = RNG.standard_normal((300, 4))
    Y = RNG.standard_normal((200, 4)) + 0.3
    want = dcor.energy_distance(X, Y, exponent=exponent)
    assert hartley.energy_distance(X, Y, exponent=exponent) == pytest.approx(want, rel=1e-9)
    f32 = hartley.energy_distance(X.astype(np.float32), Y.astype(np.float32), exponent=exponent)
    assert f32 == pytest.approx(want, rel=1e-3)


def test_energy_distance_u_statistic() -> None:
    X = RNG.standard_normal((60, 3))
    Y = RNG.standard_normal((45, 3)) + 1.0
    dxy = skp.euclidean_distances(X, Y).mean()
    dxx = skp.euclidean_distances(X).sum() / (60 * 59)
    dyy = skp.euclidean_distances(Y).sum() / (45 * 44)
    want = 2 * dxy - dxx - dyy
    assert hartley.energy_distance(X, Y, unbiased=True) == pytest.approx(want, rel=1e-9)
    assert hartley.energy_distance(X, X) == pytest.approx(0.0, abs=1e-12)


# ======================================================= Cauchy-Schwarz


def test_cs_divergence_matches_transcription() -> None:
    X = RNG.standard_normal((280, 3))
    Y = RNG.standard_normal((150, 3)) * 0.8 + 0.7
    for sigma in (0.5, 2.0):
        g = 1 / (2 * sigma**2)
        kxx, kyy = skp.rbf_kernel(X, gamma=g).mean(), skp.rbf_kernel(Y, gamma=g).mean()
        kxy = skp.rbf_kernel(X, Y, gamma=g).mean()
        want = math.log(kxx) + math.log(kyy) - 2 * math.log(kxy)
        got = hartley.cs_divergence(X, Y, sigma=sigma)
        assert got == pytest.approx(want, rel=1e-9)
        assert hartley.cs_divergence(Y, X, sigma=sigma) == pytest.approx(got, rel=1e-9)
    assert abs(hartley.cs_divergence(X, X, sigma=1.0)) < 1e-12


def test_cs_divergence_median_heuristic() -> None:
    X = RNG.standard_normal((120, 3))
    Y = RNG.standard_normal((90, 3)) + 1.0
    pooled = np.vstack([X, Y])
    d = skp.euclidean_distances(pooled)[np.triu_indices(len(pooled), 1)]
    sigma = float(np.median(d))
    assert hartley.cs_divergence(X, Y) == pytest.approx(
        hartley.cs_divergence(X, Y, sigma=sigma), rel=1e-10
    )
    far = hartley.cs_divergence([[0.0], [0.1]], [[1e6], [1e6 + 0.1]], sigma=1.0)
    assert far == np.inf


# ================================================================== Frechet


def frechet_scipy(X: np.ndarray, Y: np.ndarray) -> float:
    """The pytorch-fid / clean-fid computation: complex sqrtm, real part kept."""
    m1, m2 = X.mean(0), Y.mean(0)
    s1, s2 = np.cov(X, rowvar=False), np.cov(Y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = np.real(covmean)
    return float((m1 - m2) @ (m1 - m2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def test_frechet_matches_scipy_sqrtm() -> None:
    X = RNG.standard_normal((500, 8)) @ RNG.standard_normal((8, 8))
    Y = RNG.standard_normal((400, 8)) @ RNG.standard_normal((8, 8)) + 0.5
    assert hartley.frechet_distance(X, Y) == pytest.approx(frechet_scipy(X, Y), rel=1e-8)


def test_frechet_gaussian_closed_form() -> None:
    # Commuting covariances: tr sqrt(S1 S2) = sum sqrt(a_i b_i).
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    mu1, mu2 = np.zeros(3), np.array([1.0, -2.0, 0.5])
    want = mu2 @ mu2 + a.sum() + b.sum() - 2 * np.sqrt(a * b).sum()
    got = hartley.frechet_distance_from_moments(mu1, np.diag(a), mu2, np.diag(b))
    assert got == pytest.approx(want, rel=1e-12)
    # Rank-deficient covariances: no complex residue, no NaN.
    low = np.outer([1.0, 2.0, 0.0], [1.0, 2.0, 0.0])
    assert hartley.frechet_distance_from_moments(mu1, low, mu1, low) == pytest.approx(0, abs=1e-12)
    X = RNG.standard_normal((3000, 4))
    assert hartley.frechet_distance(X, X + 1.0) == pytest.approx(4.0, rel=1e-9)


# ======================================================== sliced Wasserstein


@pytest.mark.parametrize("p", [1, 2, 3])
def test_sliced_wasserstein_matches_pot(p: int) -> None:
    X = RNG.standard_normal((200, 5))
    Y = RNG.standard_normal((150, 5)) * 1.5 + 0.4  # unequal sizes
    proj = hartley.spectral._core.random_projections(5, 40, 3)
    want = ot.sliced_wasserstein_distance(X, Y, n_projections=40, p=p, projections=proj)
    got = hartley.sliced_wasserstein(X, Y, p=p, projections=proj)
    assert got == pytest.approx(float(want), rel=1e-9)
    assert hartley.sliced_wasserstein(X, Y, p=p, n_projections=40, random_state=3) == got


def test_sliced_wasserstein_closed_form_and_seed() -> None:
    x = RNG.standard_normal((300, 1))
    assert hartley.sliced_wasserstein(x, x + 2.0) == pytest.approx(2.0, rel=1e-12)
    X, Y = RNG.standard_normal((100, 3)), RNG.standard_normal((80, 3))
    a = hartley.sliced_wasserstein(X, Y, random_state=1)
    assert a == hartley.sliced_wasserstein(X, Y, random_state=1)
    assert a != hartley.sliced_wasserstein(X, Y, random_state=2)
    proj = hartley.spectral._core.random_projections(3, 10, 0)
    np.testing.assert_allclose(np.linalg.norm(proj, axis=0), 1.0, rtol=1e-14)


# ================================================================== threads


def test_results_do_not_depend_on_threads() -> None:
    X = RNG.standard_normal((700, 10)).astype(np.float32)
    Y = RNG.standard_normal((600, 10)).astype(np.float32)
    for fn in (
        hartley.mmd,
        hartley.energy_distance,
        hartley.cs_divergence,
        hartley.sliced_wasserstein,
    ):
        assert fn(X, Y, n_jobs=1) == fn(X, Y, n_jobs=2), fn.__name__
    Z = RNG.standard_normal((500, 40))
    for fn in (hartley.vendi_score, hartley.effective_rank, hartley.matrix_nuclear_norm):
        assert fn(Z, n_jobs=1) == fn(Z, n_jobs=2), fn.__name__
    assert hartley.frechet_distance(Z, Z[::-1] + 1, n_jobs=1) == hartley.frechet_distance(
        Z, Z[::-1] + 1, n_jobs=2
    )


def test_n_by_n_spectra_do_not_depend_on_threads() -> None:
    # Large enough for the symmetric eigensolver to split its work.
    Z = RNG.standard_normal((600, 8))
    for fn in (
        lambda **kw: hartley.vendi_score(Z, kernel="rbf", **kw),
        lambda **kw: hartley.matrix_entropy(Z, kernel="rbf", **kw),
        lambda **kw: hartley.diffusion_spectral_entropy(Z, **kw),
    ):
        assert fn(n_jobs=1) == fn(n_jobs=2)


# ================================================================ bad input

X5 = np.ones((5, 3)) + np.arange(15.0).reshape(5, 3) ** 2
NAN = X5.copy()
NAN[1, 2] = np.nan
ASYM = np.eye(3)
ASYM[0, 1] = 0.5
NOT_PSD = np.array([[1.0, 2.0], [2.0, 1.0]])

SPECTRAL_BAD = [
    (hartley.vendi_score, {}, ValueError, r"^X: pass exactly one of X and K"),
    (hartley.vendi_score, {"X": X5, "K": np.eye(5)}, ValueError, r"^X: pass exactly one"),
    (hartley.vendi_score, {"X": X5, "q": -1}, ValueError, r"^q: must be in \[0, inf\]"),
    (hartley.vendi_score, {"X": X5, "q": np.nan}, ValueError, r"^q: "),
    (hartley.vendi_score, {"X": X5, "q": "inf"}, TypeError, r"^q: "),
    (hartley.vendi_score, {"X": NAN}, ValueError, r"^X contains a non-finite value"),
    (hartley.vendi_score, {"K": ASYM}, ValueError, r"^K: must be symmetric"),
    (hartley.vendi_score, {"K": NOT_PSD}, ValueError, r"^K: is not positive semi-definite"),
    (hartley.vendi_score, {"K": np.ones((2, 3))}, ValueError, r"^K: must be a square"),
    (hartley.vendi_score, {"K": [[np.inf]]}, ValueError, r"^K contains a non-finite"),
    (hartley.vendi_score, {"X": X5, "kernel": "rbf", "gamma": -1}, ValueError, r"^gamma: "),
    (hartley.vendi_score, {"X": X5, "kernel": "cosin"}, ValueError, r"^kernel: "),
    (hartley.vendi_score, {"X": X5, "tol": 2.0}, ValueError, r"^tol: "),
    (hartley.vendi_score, {"X": [["a"]]}, TypeError, r"^X: "),
    (hartley.matrix_entropy, {"X": X5, "alpha": -0.5}, ValueError, r"^alpha: "),
    (hartley.matrix_entropy, {"X": X5, "base": 1}, ValueError, r"^base: "),
    (hartley.matrix_entropy, {"X": X5, "Y": X5[:4]}, ValueError, r"^Y: has 4 samples but X has 5"),
    (hartley.matrix_entropy, {"K": np.eye(2), "KY": NOT_PSD}, ValueError, r"^KY: is not positive"),
    (hartley.matrix_mutual_info, {"X": X5}, ValueError, r"^Y: pass exactly one of Y and KY"),
    (hartley.effective_rank, {"X": NAN}, ValueError, r"^X contains a non-finite"),
    (hartley.effective_rank, {"X": np.ones((0, 2))}, ValueError, r"^X: is empty"),
    (hartley.effective_rank, {"X": X5, "center": 1}, TypeError, r"^center: "),
    (hartley.matrix_nuclear_norm, {"X": np.ones((2, 2, 2))}, ValueError, r"^X: must be 1-D"),
    (hartley.matrix_nuclear_norm, {"X": X5, "approx": None}, TypeError, r"^approx: "),
    (hartley.diffusion_spectral_entropy, {"X": X5, "sigma": 0}, ValueError, r"^sigma: "),
    (hartley.diffusion_spectral_entropy, {"X": X5, "t": 0}, ValueError, r"^t: must be at least 1"),
    (hartley.diffusion_spectral_entropy, {"X": NAN}, ValueError, r"^X contains a non-finite"),
    (
        hartley.diffusion_spectral_mutual_info,
        {"X": X5, "labels": [0, 1]},
        ValueError,
        r"^labels: has 2 values but X has 5",
    ),
]


@pytest.mark.parametrize(("fn", "kwargs", "exc", "pattern"), SPECTRAL_BAD)
def test_bad_spectral_input(fn, kwargs: dict, exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        fn(**kwargs)


TWO_SAMPLE_BAD = [
    ({"Y": np.ones((4, 2))}, ValueError, r"^Y: has 2 features but X has 3"),
    ({"X": NAN}, ValueError, r"^X contains a non-finite value .* row 1, column 2"),
    ({"Y": NAN}, ValueError, r"^Y contains a non-finite"),
    ({"X": np.ones((0, 3))}, ValueError, r"^X: is empty"),
    ({"X": [["a", "b", "c"]]}, TypeError, r"^X: "),
    ({"n_jobs": 0}, ValueError, r"^n_jobs: "),
]


@pytest.mark.parametrize(
    "fn",
    [
        hartley.mmd,
        hartley.energy_distance,
        hartley.cs_divergence,
        hartley.frechet_distance,
        hartley.sliced_wasserstein,
    ],
)
@pytest.mark.parametrize(("kwargs", "exc", "pattern"), TWO_SAMPLE_BAD)
def test_bad_two_sample_input(fn, kwargs: dict, exc: type, pattern: str) -> None:
    args = {"X": X5, "Y": X5 + 1, **kwargs}
    with pytest.raises(exc, match=pattern):
        fn(**args)


OPTION_BAD = [
    (hartley.mmd, {"kernel": "sigmoid"}, ValueError, r"^kernel: "),
    (hartley.mmd, {"gamma": 0.0}, ValueError, r"^gamma: "),
    (hartley.mmd, {"X": X5[:1]}, ValueError, r"^X: needs at least 2 samples"),
    (hartley.mmd, {"Y": X5[:1]}, ValueError, r"^Y: needs at least 2 samples"),
    (hartley.mmd, {"unbiased": "no"}, TypeError, r"^unbiased: "),
    (hartley.energy_distance, {"exponent": 2.0}, ValueError, r"^exponent: must be in \(0, 2\)"),
    (hartley.energy_distance, {"exponent": 0}, ValueError, r"^exponent: "),
    (hartley.energy_distance, {"Y": X5[:1], "unbiased": True}, ValueError, r"^Y: needs at least 2"),
    (hartley.energy_distance, {"X": X5[:1], "unbiased": True}, ValueError, r"^X: needs at least 2"),
    (hartley.cs_divergence, {"sigma": -1.0}, ValueError, r"^sigma: "),
    (
        hartley.cs_divergence,
        {"X": np.zeros((3, 3)), "Y": np.zeros((3, 3))},
        ValueError,
        r"^sigma: ",
    ),
    (hartley.frechet_distance, {"X": X5[:1]}, ValueError, r"^X: needs at least 2 samples"),
    (hartley.sliced_wasserstein, {"p": 0.5}, ValueError, r"^p: must be a finite number >= 1"),
    (hartley.sliced_wasserstein, {"n_projections": 0}, ValueError, r"^n_projections: "),
    (hartley.sliced_wasserstein, {"projections": np.ones((2, 4))}, ValueError, r"^projections: "),
    (
        hartley.sliced_wasserstein,
        {"projections": np.full((3, 2), np.nan)},
        ValueError,
        r"^projections contains a non-finite",
    ),
    (hartley.sliced_wasserstein, {"random_state": -1}, ValueError, r"^random_state: "),
]


@pytest.mark.parametrize(("fn", "kwargs", "exc", "pattern"), OPTION_BAD)
def test_bad_two_sample_options(fn, kwargs: dict, exc: type, pattern: str) -> None:
    args = {"X": X5, "Y": X5 + 1, **kwargs}
    with pytest.raises(exc, match=pattern):
        fn(**args)


FRECHET_MOMENTS_BAD = [
    ({"mu2": np.zeros(2)}, ValueError, r"^mu2: has 2 entries but mu1 has 3"),
    ({"mu1": np.zeros((3, 1))}, ValueError, r"^mu1: must be 1-D"),
    ({"sigma1": np.eye(2)}, ValueError, r"^sigma1: must have shape \(3, 3\)"),
    ({"sigma2": ASYM}, ValueError, r"^sigma2: must be symmetric"),
    ({"sigma1": -np.eye(3)}, ValueError, r"^sigma1: is not positive semi-definite"),
    ({"mu1": [0.0, np.nan, 0.0]}, ValueError, r"^mu1 contains a non-finite"),
    ({"sigma2": np.full((3, 3), np.inf)}, ValueError, r"^sigma2 contains a non-finite"),
]


@pytest.mark.parametrize(("kwargs", "exc", "pattern"), FRECHET_MOMENTS_BAD)
def test_bad_frechet_moments(kwargs: dict, exc: type, pattern: str) -> None:
    args = {"mu1": np.zeros(3), "sigma1": np.eye(3), "mu2": np.ones(3), "sigma2": np.eye(3)}
    args.update(kwargs)
    with pytest.raises(exc, match=pattern):
        hartley.frechet_distance_from_moments(**args)


def test_docstring_examples_run() -> None:
    for module, examples in ((hartley.spectral, 12), (hartley._twosample, 8)):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted >= examples, module.__name__
        assert result.failed == 0


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGINT"), reason="POSIX signals")
def test_ctrl_c_interrupts_a_blockwise_sum() -> None:
    # Uninterrupted, three 40,000 x 40,000 pairwise sums in 256 dimensions take
    # well over a minute on two cores; after SIGINT the call stops at the next
    # row block (a fraction of a second).
    assert_interrupted(
        "x = np.random.default_rng(0).standard_normal((40_000, 256))",
        "hartley.energy_distance(x, x[::-1] + 0.1)",
    )
