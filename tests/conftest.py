"""Shared helpers of the estimator tests: closed-form truths for Gaussians, and
direct transcriptions of the documented estimator formulas on scipy's KD-tree.

The transcriptions are deliberately naive (one scipy query per count) so that
they can serve as oracles: on the same data, with the jitter turned off,
hartley must reproduce them to rounding error. Tests against closed forms then
only have to allow for the estimator's own bias and variance.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from scipy.linalg import solve_discrete_lyapunov
from scipy.spatial import cKDTree
from scipy.special import digamma, gammaln

ROOT = Path(__file__).resolve().parent.parent
Array = npt.NDArray[np.float64]


def pytest_configure(config: pytest.Config) -> None:
    # Hypothesis formats a failing example as a patch with libcst, which imports
    # a deprecated mypy_extensions name; under filterwarnings=error that would
    # turn the report of a real failure into an internal error.
    config.addinivalue_line(
        "filterwarnings", "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning"
    )


# ------------------------------------------------------------ Gaussian truths


def logdet(s: Array) -> float:
    sign, value = np.linalg.slogdet(s)
    assert sign > 0
    return float(value)


def gaussian_entropy(cov: Array) -> float:
    """Differential entropy of N(mu, cov): 0.5 log det(2 pi e cov)."""
    cov = np.atleast_2d(cov)
    return 0.5 * logdet(2 * np.pi * np.e * cov)


def gaussian_cmi(cov: Array, a: list[int], b: list[int], c: list[int] | None = None) -> float:
    """I(A; B | C) of jointly Gaussian blocks with covariance `cov` (C may be empty).

    0.5 log(det S_ac det S_bc / (det S_c det S_abc)), with det of an empty block = 1.
    """
    c = c or []

    def ld(idx: list[int]) -> float:
        return logdet(cov[np.ix_(idx, idx)]) if idx else 0.0

    return 0.5 * (ld(a + c) + ld(b + c) - ld(c) - ld(a + b + c))


def random_cov(d: int, seed: int, ridge: float = 0.5) -> Array:
    """A well-conditioned random covariance (Wishart-like plus a ridge)."""
    a = np.random.default_rng(seed).standard_normal((d, d))
    return a @ a.T / d + ridge * np.eye(d)


def gaussian_sample(cov: Array, n: int, seed: int) -> Array:
    chol = np.linalg.cholesky(cov)
    return np.random.default_rng(seed).standard_normal((n, cov.shape[0])) @ chol.T


def bivariate(rho: float, n: int, seed: int) -> tuple[Array, Array]:
    z = gaussian_sample(np.array([[1.0, rho], [rho, 1.0]]), n, seed)
    return z[:, 0], z[:, 1]


def gaussian_kl(m1: Array, s1: Array, m2: Array, s2: Array) -> float:
    """D(N(m1, s1) || N(m2, s2)) = 0.5 (tr(S2^-1 S1) + dm' S2^-1 dm - d + log det S2 / det S1)."""
    m1, m2 = np.atleast_1d(m1), np.atleast_1d(m2)
    s1, s2 = np.atleast_2d(s1), np.atleast_2d(s2)
    inv = np.linalg.inv(s2)
    dm = m2 - m1
    return 0.5 * float(np.trace(inv @ s1) + dm @ inv @ dm - len(m1) + logdet(s2) - logdet(s1))


# ------------------------------------------- coupled linear-Gaussian AR(1) pair


class CoupledAR:
    """X_t = a X_{t-1} + e_x,  Y_t = b Y_{t-1} + c X_{t-1} + e_y (X drives Y).

    In vector form Z_t = A Z_{t-1} + e_t with A = [[a, 0], [c, b]] and
    Q = diag(sx^2, sy^2). The stationary covariance solves S = A S A' + Q and
    Cov(Z_t, Z_{t-h}) = A^h S, which gives the joint Gaussian law of any finite
    window and with it every transfer entropy in closed form (as a Gaussian CMI).
    """

    def __init__(
        self, a: float = 0.5, b: float = 0.4, c: float = 0.6, sx: float = 1.0, sy: float = 0.7
    ) -> None:
        self.A = np.array([[a, 0.0], [c, b]])
        self.sd = np.array([sx, sy])
        self.S = solve_discrete_lyapunov(self.A, np.diag(self.sd**2))

    def window_cov(self, lags: int) -> Array:
        """Covariance of (X_t, Y_t, X_{t-1}, Y_{t-1}, ..., X_{t-lags}, Y_{t-lags})."""
        m = lags + 1
        out = np.zeros((2 * m, 2 * m))
        for i in range(m):
            for j in range(m):
                h = j - i  # block (i, j) is Cov(Z_{t-i}, Z_{t-j}) = A^(j-i) S for j >= i
                blk = np.linalg.matrix_power(self.A, abs(h)) @ self.S
                out[2 * i : 2 * i + 2, 2 * j : 2 * j + 2] = blk if h >= 0 else blk.T
        return out

    def sample(self, n: int, seed: int, burn: int = 200) -> tuple[Array, Array]:
        rng = np.random.default_rng(seed)
        e = rng.standard_normal((n + burn, 2)) * self.sd
        z = np.zeros((n + burn, 2))
        for t in range(1, n + burn):
            z[t] = self.A @ z[t - 1] + e[t]
        return z[burn:, 0].copy(), z[burn:, 1].copy()


# ------------------------------------------------------------ formula oracles


def _cols(a: npt.ArrayLike) -> Array:
    arr = np.asarray(a, dtype=np.float64)
    return arr.reshape(len(arr), -1)


def _count(points: Array, radius: Array, strict: bool) -> Array:
    """Number of other points within `radius` (max-norm) of each point."""
    r = np.nextafter(radius, 0) if strict else radius
    return cKDTree(points).query_ball_point(points, r, p=np.inf, return_length=True) - 1


def oracle_entropy(x: npt.ArrayLike, k: int = 3, metric: str = "euclidean") -> float:
    """psi(n) - psi(k) + log V_d + (d/n) sum log eps_i (Kozachenko-Leonenko)."""
    x = _cols(x)
    n, d = x.shape
    p = 2 if metric == "euclidean" else np.inf
    eps = cKDTree(x).query(x, k=k + 1, p=p)[0][:, k]
    if metric == "euclidean":
        log_ball = 0.5 * d * np.log(np.pi) - gammaln(d / 2 + 1)
    else:
        log_ball = d * np.log(2.0)
    return float(digamma(n) - digamma(k) + log_ball + d * np.mean(np.log(eps)))


def oracle_ksg(x: npt.ArrayLike, y: npt.ArrayLike, k: int = 3, estimator: str = "ksg1") -> float:
    """KSG algorithms 1 and 2 as written in Kraskov et al. (2004), eqs. 8 and 9."""
    x, y = _cols(x), _cols(y)
    n = len(x)
    xy = np.hstack([x, y])
    dist, idx = cKDTree(xy).query(xy, k=k + 1, p=np.inf)
    if estimator == "ksg1":
        eps = dist[:, k]
        nx, ny = _count(x, eps, strict=True), _count(y, eps, strict=True)
        return float(digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1)))
    nb = idx[:, 1:]
    ex = np.abs(x[nb] - x[:, None, :]).max(axis=(1, 2))
    ey = np.abs(y[nb] - y[:, None, :]).max(axis=(1, 2))
    nx, ny = _count(x, ex, strict=False), _count(y, ey, strict=False)
    return float(digamma(k) - 1 / k + digamma(n) - np.mean(digamma(nx) + digamma(ny)))


def oracle_cmi(x: npt.ArrayLike, y: npt.ArrayLike, z: npt.ArrayLike, k: int = 3) -> float:
    """Frenzel-Pompe: psi(k) - <psi(n_xz + 1) + psi(n_yz + 1) - psi(n_z + 1)>."""
    x, y, z = _cols(x), _cols(y), _cols(z)
    xyz = np.hstack([x, y, z])
    eps = cKDTree(xyz).query(xyz, k=k + 1, p=np.inf)[0][:, k]
    nxz = _count(np.hstack([x, z]), eps, strict=True)
    nyz = _count(np.hstack([y, z]), eps, strict=True)
    nz = _count(z, eps, strict=True)
    return float(digamma(k) - np.mean(digamma(nxz + 1) + digamma(nyz + 1) - digamma(nz + 1)))


def oracle_kl(x: npt.ArrayLike, y: npt.ArrayLike, k: int = 1) -> float:
    """Wang-Kulkarni-Verdu: (d/n) sum log(nu_k / rho_k) + log(m / (n - 1))."""
    x, y = _cols(x), _cols(y)
    (n, d), m = x.shape, len(y)
    rho = cKDTree(x).query(x, k=k + 1)[0][:, k]
    nu = cKDTree(y).query(x, k=[k])[0][:, 0]
    return float(d * np.mean(np.log(nu / rho)) + np.log(m / (n - 1)))


def oracle_mixed(x: npt.ArrayLike, y: npt.ArrayLike, k: int = 3) -> float:
    """The formula of the mutual_info_mixed docstring: digamma of strict counts
    that include the point itself; at rho = 0, counts of exact duplicates."""
    x, y = _cols(x), _cols(y)
    n = len(x)
    xy = np.hstack([x, y])
    tree = cKDTree(xy)
    rho = tree.query(xy, k=k + 1, p=np.inf)[0][:, k]
    zero = rho == 0
    dup_xy = tree.query_ball_point(xy, 0.0, p=np.inf, return_length=True)
    ki = np.where(zero, dup_xy, k)
    # _count excludes the point itself; these counts include it.
    nx = np.where(zero, _count(x, np.zeros(n), strict=False), _count(x, rho, strict=True)) + 1
    ny = np.where(zero, _count(y, np.zeros(n), strict=False), _count(y, rho, strict=True)) + 1
    return float(np.mean(digamma(ki) + np.log(n) - digamma(nx) - digamma(ny)))


def oracle_ross(c: npt.ArrayLike, labels: npt.ArrayLike, k: int = 3) -> float:
    """Ross (2014): psi(N) + <psi(k_i)> - <psi(N_label)> - <psi(m_i)> over the
    points whose label occurs more than once, with k_i = min(k, N_label - 1) and
    m_i the points (itself included) strictly closer than its k_i-th neighbour
    of the same label. Distances are exact differences |c_i - c_j|."""
    c, labels = np.asarray(c, dtype=np.float64), np.asarray(labels)
    values, counts = np.unique(labels, return_counts=True)
    keep = np.isin(labels, values[counts > 1])
    c, labels = c[keep], labels[keep]
    terms = []
    for i in range(len(c)):
        same = labels == labels[i]
        kk = min(k, int(same.sum()) - 1)
        radius = np.sort(np.abs(c[same] - c[i]))[kk]  # [0] is the point itself
        m = int(np.sum(np.abs(c - c[i]) < radius))
        terms.append(digamma(kk) - digamma(same.sum()) - digamma(m))
    return float(digamma(len(c)) + np.mean(terms)) if terms else 0.0


def plugin_entropy(labels: npt.ArrayLike) -> float:
    counts = np.unique(np.asarray(labels), return_counts=True, axis=0)[1]
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


# ----------------------------------------------------------------- subprocess


def run_python(
    code: str,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Runs `code` in a fresh interpreter (with this one's sys.path)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=ROOT,
        check=False,
    )


_INTERRUPTIBLE = """
import signal, sys, time
import numpy as np, hartley
# A child of a non-interactive shell may inherit SIGINT as ignored, in which
# case Python would not install its KeyboardInterrupt handler.
signal.signal(signal.SIGINT, signal.default_int_handler)
{setup}
print("ready", flush=True)
start = time.perf_counter()
try:
    {call}
except KeyboardInterrupt:
    print(f"interrupted after {{time.perf_counter() - start:.2f}}s", flush=True)
    sys.exit(3)
print("finished", flush=True)
"""


def assert_interrupted(setup: str, call: str, *, wait: float = 1.0, timeout: float = 15) -> None:
    """Runs `setup`, then the long `call`, in a fresh interpreter; sends it
    SIGINT `wait` seconds into the call and requires the call to stop with
    KeyboardInterrupt within `timeout` seconds instead of running to its end."""
    code = _INTERRUPTIBLE.format(setup=setup, call=call)
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(wait)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 3, (out, err)
    assert "interrupted after" in out and "finished" not in out


def shannon(p: np.ndarray) -> float:
    """Shannon entropy (nats) of the distribution `p`, zeros skipped."""
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def renyi(p: np.ndarray, q: float) -> float:
    """Renyi entropy of order `q` (nats) of `p`, with the q = 0, 1 and inf
    limits taken exactly."""
    p = p[p > 0]
    if q == 1:
        return shannon(p)
    if q == np.inf:
        return float(-np.log(p.max()))
    if q == 0:
        return float(np.log(len(p)))
    return float(np.log((p**q).sum()) / (1 - q))
