"""Spectral measures of n x n kernel matrices against the same formulas on
numpy.linalg.eigvalsh (LAPACK dsyevd): at n = 2,300, above the size from which
hartley computes eigenvalues by two-stage tridiagonalisation (dense to band,
band to tridiagonal; TWO_STAGE_MIN = 2,048 in the core), and at n ~ 700-1,300,
through faer's one-stage reduction."""

from __future__ import annotations

import math

import hartley
import numpy as np
import pytest
from conftest import renyi, shannon
from sklearn.metrics import pairwise as skp

RNG = np.random.default_rng(20261123)
N_LARGE = 2300  # above the two-stage threshold
Large = tuple[np.ndarray, np.ndarray, np.ndarray]


def spectrum(K: np.ndarray, rtol: float) -> np.ndarray:
    w = np.linalg.eigvalsh(K)
    w = np.where(w > rtol * w.max(), w, 0.0)
    return w / w.sum()


def clustered(n: int, d: int) -> np.ndarray:
    """Points around a few centres: a kernel spectrum with a few large
    eigenvalues and a long tail, like embeddings."""
    centres = 3.0 * RNG.standard_normal((6, d))
    return centres[RNG.integers(0, 6, n)] + RNG.standard_normal((n, d))


@pytest.fixture(scope="module")
def large_rbf() -> Large:
    X = clustered(N_LARGE, 16)
    K = skp.rbf_kernel(X, gamma=0.05)
    return X, K, spectrum(K, N_LARGE * np.finfo(float).eps)


def test_vendi_rbf_matches_eigvalsh_above_the_two_stage_threshold(large_rbf: Large) -> None:
    X, K, p = large_rbf
    for q in (0.5, 1.0, np.inf):
        want = math.exp(renyi(p, q))
        got = hartley.vendi_score(X, kernel="rbf", gamma=0.05, q=q)
        assert got == pytest.approx(want, rel=1e-9), q
    assert hartley.vendi_score(K=K, q=2.0) == pytest.approx(math.exp(renyi(p, 2.0)), rel=1e-9)


def test_large_precomputed_kernel_that_is_not_psd_is_rejected(large_rbf: Large) -> None:
    _, K, _ = large_rbf
    with pytest.raises(ValueError, match=r"^K: is not positive semi-definite"):
        hartley.vendi_score(K=K - 0.5 * np.eye(N_LARGE))


def test_large_spectra_do_not_depend_on_threads(large_rbf: Large) -> None:
    X = large_rbf[0]
    runs = [hartley.vendi_score(X, kernel="rbf", n_jobs=j) for j in (1, 2, 3)]
    assert runs[0] == runs[1] == runs[2]
    Z = X[:1100]
    for fn in (
        lambda **kw: hartley.matrix_entropy(Z, kernel="laplacian", **kw),
        lambda **kw: hartley.diffusion_spectral_entropy(Z, sigma=2.0, **kw),
    ):
        assert fn(n_jobs=1) == fn(n_jobs=2) == fn(n_jobs=3)


@pytest.mark.parametrize("q", [0.5, 1.0, 2.0, np.inf])
def test_vendi_rbf_matches_eigvalsh(q: float) -> None:
    n, d = 1200, 16
    X = clustered(n, d)
    K = skp.rbf_kernel(X, gamma=0.05)
    want = math.exp(renyi(spectrum(K, n * np.finfo(float).eps), q))
    got = hartley.vendi_score(X, kernel="rbf", gamma=0.05, q=q)
    assert got == pytest.approx(want, rel=1e-9)
    assert hartley.vendi_score(K=K, q=q) == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("kernel", ["laplacian", "polynomial"])
def test_matrix_entropy_other_kernels_match_eigvalsh(kernel: str) -> None:
    n = 700
    X = clustered(n, 8) / 4
    K = skp.pairwise_kernels(X, metric=kernel)
    want = renyi(spectrum(K, n * np.finfo(float).eps), 2.0)
    assert hartley.matrix_entropy(X, kernel=kernel, alpha=2.0) == pytest.approx(want, rel=1e-9)


def dse_transcription(X: np.ndarray, sigma: float, t: int) -> float:
    D = skp.euclidean_distances(X)
    G = np.exp(-(D**2) / (2 * sigma**2))
    deg = np.diag(1 / np.sqrt(G.sum(1)))
    ev = np.abs(np.linalg.eigvalsh(deg @ G @ deg)) ** t
    return shannon(ev / ev.sum())


@pytest.mark.parametrize("t", [1, 3])
def test_diffusion_spectral_entropy_matches_eigvalsh(t: int) -> None:
    X = clustered(1000, 10)
    want = dse_transcription(X, 3.0, t)
    got = hartley.diffusion_spectral_entropy(X, sigma=3.0, t=t)
    assert got == pytest.approx(want, rel=1e-9)


def test_diffusion_spectral_entropy_above_the_two_stage_threshold(large_rbf: Large) -> None:
    X = large_rbf[0]
    G = np.exp(-skp.euclidean_distances(X, squared=True) / (2 * 3.0**2))
    s = 1 / np.sqrt(G.sum(1))
    ev = np.linalg.eigvalsh(G * s[:, None] * s[None, :])
    for t in (1, 2):
        w = np.abs(ev) ** t
        want = float(-(w / w.sum() * np.log(w / w.sum())).sum())
        got = hartley.diffusion_spectral_entropy(X, sigma=3.0, t=t)
        assert got == pytest.approx(want, rel=1e-9), t


def test_diffusion_spectral_mutual_info_large_classes() -> None:
    X = np.vstack([RNG.standard_normal((700, 4)), RNG.standard_normal((560, 4)) + 2.0])
    labels = np.repeat([0, 1], [700, 560])
    n = len(X)
    want = dse_transcription(X, 1.5, 2) - (
        700 / n * dse_transcription(X[:700], 1.5, 2) + 560 / n * dse_transcription(X[700:], 1.5, 2)
    )
    got = hartley.diffusion_spectral_mutual_info(X, labels, sigma=1.5, t=2)
    assert got == pytest.approx(want, rel=1e-8)


def test_ctrl_c_interrupts_the_eigensolver() -> None:
    # The eigenvalues of an 8,000 x 8,000 matrix take over ten seconds on two
    # cores; after SIGINT the reduction stops at its next panel or sweep.
    import signal

    from conftest import assert_interrupted

    if not hasattr(signal, "SIGINT"):
        pytest.skip("POSIX signals")
    assert_interrupted(
        setup=(
            "x = np.random.default_rng(0).standard_normal((8_000, 32))\n"
            "K = hartley.pairwise_kernels(x, kernel='rbf')"
        ),
        call="hartley.vendi_score(K=K)",
        wait=1.5,
        timeout=30,
    )
