"""Pairwise distances and kernels against scikit-learn, scipy and direct
double-precision computation; dtypes, layouts, threads and bad input."""

from __future__ import annotations

import doctest

import hartley
import hartley.kernels
import numpy as np
import pytest
from sklearn.metrics import pairwise as skp
from sklearn.metrics import pairwise_distances as sk_distances

RNG = np.random.default_rng(7)
X64 = RNG.standard_normal((300, 37))
Y64 = RNG.standard_normal((130, 37))

METRICS = ["euclidean", "sqeuclidean", "cosine", "manhattan", "chebyshev"]
ALIASES = {"l2": "euclidean", "cityblock": "manhattan", "l1": "manhattan"}


def scale(a: np.ndarray) -> float:
    return float(np.abs(a).max()) or 1.0


@pytest.mark.parametrize("metric", METRICS + list(ALIASES))
@pytest.mark.parametrize("with_y", [False, True])
def test_distances_match_sklearn_float64(metric: str, with_y: bool) -> None:
    y = Y64 if with_y else None
    got = hartley.pairwise_distances(X64, y, metric=metric)
    want = sk_distances(X64, y, metric=ALIASES.get(metric, metric))
    assert got.dtype == np.float64 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * scale(want))


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("with_y", [False, True])
def test_distances_keep_float32(metric: str, with_y: bool) -> None:
    x, y = X64.astype(np.float32), Y64.astype(np.float32)
    got = hartley.pairwise_distances(x, y if with_y else None, metric=metric)
    want = sk_distances(
        x.astype(np.float64), y.astype(np.float64) if with_y else None, metric=metric
    )
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6 * scale(want))


KERNEL_CASES = [
    ("linear", {}),
    ("cosine", {}),
    ("rbf", {}),
    ("rbf", {"gamma": 0.05}),
    ("laplacian", {}),
    ("laplacian", {"gamma": 0.2}),
    ("polynomial", {}),
    ("polynomial", {"gamma": 0.1, "degree": 2, "coef0": 0.5}),
    ("poly", {"degree": 2.5, "coef0": 3.0}),
]


@pytest.mark.parametrize(("kernel", "params"), KERNEL_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernels_match_sklearn(kernel: str, params: dict, dtype: type) -> None:
    x, y = X64.astype(dtype), Y64.astype(dtype)
    for yy in (None, y):
        got = hartley.pairwise_kernels(x, yy, kernel=kernel, **params)
        want = skp.pairwise_kernels(
            x.astype(np.float64),
            None if yy is None else yy.astype(np.float64),
            metric=kernel,
            **params,
        )
        assert got.dtype == dtype
        rtol = 1e-11 if dtype == np.float64 else 3e-5
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale(want))


def test_self_comparison_has_exact_diagonal() -> None:
    x = (RNG.standard_normal((90, 64)) * 1e3).astype(np.float32)
    for metric in ("euclidean", "sqeuclidean", "cosine"):
        assert np.all(np.diag(hartley.pairwise_distances(x, metric=metric)) == 0)
    assert np.all(np.diag(hartley.pairwise_kernels(x, kernel="rbf")) == 1)


def test_y_is_x_is_a_self_comparison() -> None:
    x = RNG.standard_normal((50, 8)).astype(np.float32)
    d = hartley.pairwise_distances(x, x, metric="cosine")
    assert np.all(np.diag(d) == 0)
    np.testing.assert_array_equal(d, hartley.pairwise_distances(x, metric="cosine"))


def test_near_duplicates_keep_relative_precision() -> None:
    # |x| ~ 3e3, |x - y| ~ 1e-2: the expansion |x|^2 + |y|^2 - 2<x, y> in
    # float32 would return noise of size ~ eps * |x|^2 = 1; hartley
    # recomputes such pairs from the coordinates.
    base = RNG.standard_normal((20, 128)) * 300
    x = base.astype(np.float32)
    y = (base + RNG.standard_normal((20, 128)) * 1e-3).astype(np.float32)
    got = hartley.pairwise_distances(x, y)
    exact = sk_distances(x.astype(np.float64), y.astype(np.float64))
    np.testing.assert_allclose(np.diag(got), np.diag(exact), rtol=1e-4)


def test_zero_rows_have_cosine_zero_like_sklearn() -> None:
    x = X64[:5].copy()
    x[2] = 0
    np.testing.assert_allclose(
        hartley.pairwise_kernels(x, kernel="cosine"), skp.cosine_similarity(x), atol=1e-15
    )
    np.testing.assert_allclose(
        hartley.pairwise_distances(x, metric="cosine"), skp.cosine_distances(x), atol=1e-15
    )


def test_mixed_and_integer_dtypes_compute_in_float64() -> None:
    got = hartley.pairwise_distances(X64.astype(np.float32), Y64)
    assert got.dtype == np.float64
    ints = RNG.integers(0, 5, (10, 4))
    np.testing.assert_allclose(hartley.pairwise_distances(ints), sk_distances(ints.astype(float)))
    lists = [[0, 0], [3, 4]]
    assert hartley.pairwise_distances(lists)[0, 1] == 5.0


def test_layouts_do_not_matter() -> None:
    fortran = np.asfortranarray(X64)
    strided = np.ascontiguousarray(np.repeat(X64, 2, axis=1))[:, ::2]
    want = hartley.pairwise_distances(X64)
    np.testing.assert_array_equal(hartley.pairwise_distances(fortran), want)
    np.testing.assert_array_equal(hartley.pairwise_distances(strided), want)


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "manhattan"])
def test_results_do_not_depend_on_threads(metric: str) -> None:
    x = RNG.standard_normal((700, 50)).astype(np.float32)
    one = hartley.pairwise_distances(x, metric=metric, n_jobs=1)
    two = hartley.pairwise_distances(x, metric=metric, n_jobs=2)
    np.testing.assert_array_equal(one, two)
    k1 = hartley.pairwise_kernels(x, x[:300], kernel="rbf", n_jobs=1)
    np.testing.assert_array_equal(k1, hartley.pairwise_kernels(x, x[:300], kernel="rbf", n_jobs=3))


@pytest.mark.parametrize("metric", ["hamming", "jaccard"])
def test_packed_codes_match_sklearn_on_unpacked_bits(metric: str) -> None:
    bits = RNG.random((60, 77)) < 0.3
    bits[5] = False  # an all-zero code: Jaccard distance 0 to itself
    codes = np.packbits(bits, axis=1)
    unpacked = np.unpackbits(codes, axis=1).astype(bool)  # padded to 80 bits
    other = np.packbits(RNG.random((25, 77)) < 0.5, axis=1)
    for y, uy in ((None, None), (other, np.unpackbits(other, axis=1).astype(bool))):
        got = hartley.pairwise_distances(codes, y, metric=metric)
        np.testing.assert_allclose(got, sk_distances(unpacked, uy, metric=metric), atol=1e-15)


def test_progress_bar(capfd: pytest.CaptureFixture[str]) -> None:
    hartley.pairwise_distances(X64, progress=True)
    err = capfd.readouterr().err
    assert "pairwise_distances [" in err and "100.0%" in err


BAD = [
    ({"X": np.ones(5)}, ValueError, r"^X: must be 2-D"),
    ({"X": np.ones((2, 2, 2))}, ValueError, r"^X: must be 2-D"),
    ({"X": np.ones((0, 3))}, ValueError, r"^X: is empty"),
    ({"X": np.ones((3, 0))}, ValueError, r"^X: has 0 columns"),
    ({"X": [[1.0, np.nan]]}, ValueError, r"^X contains a non-finite value .* row 0, column 1"),
    ({"X": np.ones((2, 3)), "Y": [[np.inf, 0, 0]]}, ValueError, r"^Y contains a non-finite"),
    ({"X": np.ones((2, 3)), "Y": np.ones((2, 4))}, ValueError, r"^Y: has 4 features but X has 3"),
    ({"X": [["a", "b"]]}, TypeError, r"^X: "),
    ({"X": np.ones((2, 2), dtype=complex)}, TypeError, r"^X: "),
    ({"X": "abc"}, TypeError, r"^X: "),
    ({"X": np.ones((2, 2)), "metric": "minkowski"}, ValueError, r"^metric: must be one of"),
    ({"X": np.ones((2, 2)), "metric": 3}, ValueError, r"^metric: "),
    ({"X": np.ones((2, 2)), "metric": "hamming"}, ValueError, r"^X: metric 'hamming' takes packed"),
    (
        {"X": np.ones((2, 2), np.uint8), "Y": np.ones((2, 3), np.uint8), "metric": "jaccard"},
        ValueError,
        r"^Y: has 3 bytes per code but X has 2",
    ),
    ({"X": np.ones((2, 2)), "n_jobs": 0}, ValueError, r"^n_jobs: "),
    ({"X": np.ones((2, 2)), "n_jobs": 1.5}, TypeError, r"^n_jobs: "),
    ({"X": np.ones((2, 2)), "progress": "yes"}, TypeError, r"^progress: "),
]


@pytest.mark.parametrize(("kwargs", "exc", "pattern"), BAD)
def test_bad_distance_input(kwargs: dict, exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        hartley.pairwise_distances(**kwargs)


BAD_KERNEL = [
    ({"kernel": "sigmoid"}, ValueError, r"^kernel: must be one of"),
    ({"kernel": "rbf", "gamma": 0}, ValueError, r"^gamma: must be a finite number > 0"),
    ({"kernel": "rbf", "gamma": -1.0}, ValueError, r"^gamma: "),
    ({"kernel": "rbf", "gamma": np.nan}, ValueError, r"^gamma: "),
    ({"kernel": "rbf", "gamma": "big"}, TypeError, r"^gamma: "),
    ({"kernel": "polynomial", "degree": np.inf}, ValueError, r"^degree: must be finite"),
    ({"kernel": "polynomial", "coef0": None}, TypeError, r"^coef0: "),
    ({"Y": np.ones((2, 5))}, ValueError, r"^Y: has 5 features"),
    ({"X": [[np.nan, 1.0, 1.0]]}, ValueError, r"^X contains a non-finite"),
]


@pytest.mark.parametrize(("kwargs", "exc", "pattern"), BAD_KERNEL)
def test_bad_kernel_input(kwargs: dict, exc: type, pattern: str) -> None:
    args = {"X": np.ones((2, 3)), **kwargs}
    with pytest.raises(exc, match=pattern):
        hartley.pairwise_kernels(**args)


def test_docstring_examples_run() -> None:
    result = doctest.testmod(hartley.kernels, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 4
    assert result.failed == 0
