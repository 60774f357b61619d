"""hartley.mutual_info_regression / mutual_info_classif as drop-in replacements
for scikit-learn's, compared on the same data.

Tolerance. Both libraries divide continuous columns by their standard deviation
and add Gaussian jitter of 1e-10 * max(1, mean |x|) from different random
streams. On continuous data without ties the jitter can only change a
neighbour count when two distances agree to about 1e-10, which does not happen
at these sizes, so the scores agree to rounding (observed: ~1e-14); 1e-9 is
used. Where a continuous column has ties the jitter decides their order, and
the two libraries legitimately differ by the spread of scikit-learn's own
results over its random_state.
"""

from __future__ import annotations

import doctest
import functools

import hartley
import hartley.feature_selection
import numpy as np
import pytest
import scipy.sparse as sp
from conftest import oracle_ross
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_selection import SelectKBest
from sklearn.feature_selection import mutual_info_classif as sk_classif
from sklearn.feature_selection import mutual_info_regression as sk_regression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ATOL = 1e-9


def make_data(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four continuous features (one strongly, one non-linearly informative, two
    noise) and two discrete ones (one informative), plus a continuous target."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6))
    X[:, 1] = X[:, 0] ** 2 + 0.3 * rng.standard_normal(n)
    X[:, 4] = rng.integers(0, 4, n)
    X[:, 5] = rng.integers(0, 3, n)
    y = X[:, 0] + 0.5 * X[:, 4] + 0.5 * rng.standard_normal(n)
    return X, y


# ====================================================== agreement with sklearn


@pytest.mark.parametrize("n_neighbors", [1, 3, 7, 12, 30])
@pytest.mark.parametrize("seed", [0, 1])
def test_regression_continuous_matches_sklearn(seed: int, n_neighbors: int) -> None:
    X, y = make_data(seed=seed)
    X = X[:, :4]
    got = hartley.mutual_info_regression(X, y, n_neighbors=n_neighbors)
    ref = sk_regression(X, y, n_neighbors=n_neighbors, random_state=seed)
    np.testing.assert_allclose(got, ref, rtol=0, atol=ATOL)
    assert got.dtype == np.float64 and got.shape == (4,)
    assert got[0] > 0.3 and got[1] > 0.05  # the informative features are seen


@pytest.mark.parametrize(
    "discrete_features",
    [
        [4, 5],
        np.array([4, 5], dtype=np.int64),
        [-2, -1],
        np.array([False, False, False, False, True, True]),
        [False, False, False, False, True, True],
    ],
    ids=["list", "int-array", "negative", "mask", "bool-list"],
)
def test_regression_discrete_masks_match_sklearn(discrete_features: object) -> None:
    X, y = make_data()
    got = hartley.mutual_info_regression(X, y, discrete_features=discrete_features)
    ref = sk_regression(X, y, discrete_features=discrete_features, random_state=0)
    np.testing.assert_allclose(got, ref, rtol=0, atol=ATOL)
    assert got[4] > 0.05  # the informative discrete feature (Ross's estimator)


def test_all_discrete_features_match_sklearn() -> None:
    X, y = make_data()
    labels = (y > 0).astype(int)
    got = hartley.mutual_info_classif(X[:, 4:], labels, discrete_features=True)
    ref = sk_classif(X[:, 4:], labels, discrete_features=True, random_state=0)
    np.testing.assert_allclose(got, ref, rtol=0, atol=ATOL)  # plug-in on both sides


@pytest.mark.parametrize(
    ("columns", "discrete_features"),
    [(4, "auto"), (4, False), (6, [4, 5]), (6, [True, True, False, False, True, True])],
)
def test_classif_string_labels_match_sklearn(columns: int, discrete_features: object) -> None:
    # Integer-valued columns are only compared when declared discrete: as
    # continuous columns their ties are ordered by the jitter (see module notes).
    X, y = make_data()
    X = X[:, :columns]
    if isinstance(discrete_features, list) and isinstance(discrete_features[0], bool):
        X[:, :2] = np.round(X[:, :2] * 2)  # integer-valued floats
    labels = np.array(["low", "mid", "high"])[np.digitize(y, [-0.5, 0.8])]
    got = hartley.mutual_info_classif(X, labels, discrete_features=discrete_features)
    ref = sk_classif(X, labels, discrete_features=discrete_features, random_state=0)
    np.testing.assert_allclose(got, ref, rtol=0, atol=ATOL)
    assert got[0] > 0.2
    # Labels are only names: integer codes of the same classes give the same scores.
    codes = np.unique(labels, return_inverse=True)[1]
    same = hartley.mutual_info_classif(X, codes * 10 + 3, discrete_features=discrete_features)
    np.testing.assert_array_equal(got, same)


def test_classif_float_integer_labels_match_sklearn() -> None:
    X, y = make_data(seed=3)
    labels = np.round(np.clip(y, -2, 2))  # float64 holding integers, some classes small
    got = hartley.mutual_info_classif(X[:, :4], labels, n_neighbors=5)
    ref = sk_classif(X[:, :4], labels, n_neighbors=5, random_state=0)
    np.testing.assert_allclose(got, ref, rtol=0, atol=ATOL)


def test_classif_rare_singleton_class_matches_sklearn() -> None:
    # A class with one member is ignored by Ross's estimator on both sides.
    X, y = make_data(n=300, seed=4)
    labels = (y > 0).astype(int)
    labels[7] = 9
    got = hartley.mutual_info_classif(X[:, :4], labels)
    ref = sk_classif(X[:, :4], labels, random_state=0)
    np.testing.assert_allclose(got, ref, rtol=0, atol=ATOL)


def test_classif_single_class_scores_exactly_zero() -> None:
    # One class: Ross's estimate is psi(n) + <psi(k)> - psi(n) - <psi(m)> with
    # m = k for every point, so exactly 0, as scikit-learn reports.
    X, _ = make_data(n=500, seed=5)
    got = hartley.mutual_info_classif(X[:, :4], np.zeros(500, dtype=int))
    assert np.array_equal(got, np.zeros(4))
    np.testing.assert_array_equal(sk_classif(X[:, :4], np.zeros(500, dtype=int)), got)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_input_matches_sklearn(fmt: str) -> None:
    rng = np.random.default_rng(5)
    dense = sp.random(500, 6, density=0.3, random_state=1, format="csr")
    dense.data = np.round(dense.data * 3)
    X = dense.asformat(fmt)
    labels = rng.integers(0, 3, 500)
    labels[dense.toarray()[:, 0] > 1] = 3  # feature 0 informative
    target = dense.toarray()[:, 1] + 0.5 * rng.standard_normal(500)
    got = hartley.mutual_info_classif(X, labels)  # "auto": sparse -> all discrete
    np.testing.assert_allclose(got, sk_classif(X, labels, random_state=0), rtol=0, atol=ATOL)
    assert np.argmax(got) == 0
    got = hartley.mutual_info_regression(X, target)
    np.testing.assert_allclose(got, sk_regression(X, target, random_state=0), rtol=0, atol=ATOL)
    assert np.argmax(got) == 1
    with pytest.raises(ValueError, match=r"^X: a sparse matrix can't have continuous features"):
        hartley.mutual_info_regression(X, target, discrete_features=False)
    with pytest.raises(ValueError, match=r"(?i)sparse"):
        sk_regression(X, target, discrete_features=False)


def test_constant_feature_scores_about_zero_like_sklearn() -> None:
    # scikit-learn does not reject a constant column: it scores jitter against
    # the target, which is ~0; hartley follows it (the native estimators raise).
    X, y = make_data()
    X[:, 2] = 5.0
    labels = (y > 0).astype(int)
    for ours, theirs, target in [
        (hartley.mutual_info_regression, sk_regression, y),
        (hartley.mutual_info_classif, sk_classif, labels),
    ]:
        got = ours(X[:, :4], target)
        ref = theirs(X[:, :4], target, random_state=0)
        assert 0 <= got[2] < 0.05 and 0 <= ref[2] < 0.05
        np.testing.assert_allclose(np.delete(got, 2), np.delete(ref, 2), rtol=0, atol=ATOL)


def test_ties_agree_within_sklearns_own_spread() -> None:
    # With ties the jitter (drawn differently by each library) orders them, so
    # hartley's score is one more draw from scikit-learn's distribution.
    X, y = make_data(seed=6)
    tied = np.round(X[:, :2] * 2) / 2
    got = hartley.mutual_info_regression(tied, y)
    draws = np.array([sk_regression(tied, y, random_state=s) for s in range(10)])
    spread = draws.std(axis=0)
    assert np.all(spread > 0)  # the jitter matters here
    assert np.all(np.abs(got - draws.mean(axis=0)) < 4 * spread + 1e-6)


def crowded_data(n: int = 3000, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Skewed and heavy-tailed continuous features, which crowd most samples
    into a sliver of the scaled range, and a target with a hint of them."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 3))
    X = np.column_stack([np.exp(2 * z[:, 0]), rng.standard_cauchy(n), np.exp(-2 * z[:, 1])])
    y = z[:, 0] + z[:, 1] + 0.5 * rng.standard_normal(n)
    return X, y


def test_crowded_features_match_sklearn() -> None:
    X, y = crowded_data()
    got = hartley.mutual_info_regression(X, y)
    ref = sk_regression(X, y, random_state=0)
    np.testing.assert_allclose(got, ref, rtol=0, atol=ATOL)
    assert got[0] > 0.2 and got[2] > 0.2


@pytest.mark.parametrize("tied", ["features", "target"])
def test_crowded_ties_agree_within_sklearns_own_spread(tied: str) -> None:
    # Two-valued and five-valued features, or a target that is 0 for half of
    # the samples: almost every sample shares its value with thousands.
    rng = np.random.default_rng(8)
    n = 3000
    z = rng.standard_normal((n, 2))
    if tied == "features":
        X = np.column_stack([(z[:, 0] > 0).astype(float), np.floor(z[:, 1] * 1.2).clip(-2, 2)])
        y = z[:, 0] + z[:, 1] + 0.5 * rng.standard_normal(n)
    else:
        X = z
        y = np.where(rng.random(n) < 0.5, 0.0, z[:, 0] + z[:, 1])
    got = hartley.mutual_info_regression(X, y)
    draws = np.array([sk_regression(X, y, random_state=s) for s in range(10)])
    spread = draws.std(axis=0)
    assert np.all(np.abs(got - draws.mean(axis=0)) < 4 * spread + 1e-3)
    assert np.all(got > 0.1)


@pytest.mark.parametrize("func", [hartley.mutual_info_regression, hartley.mutual_info_classif])
def test_memory_order_of_x_changes_nothing(func: object) -> None:
    # Fortran order (pandas' frame values) is read feature by feature in
    # place; strided views and other dtypes are converted. Every layout must
    # give the very same scores, continuous and discrete columns alike.
    X, y = make_data(900, seed=3)
    target = y if func is hartley.mutual_info_regression else (y > 0).astype(int)
    score = functools.partial(func, discrete_features=[4, 5], random_state=1)  # type: ignore[call-overload]
    want = score(X, target)
    wide = np.zeros((900, 12))
    wide[:, ::2] = X
    layouts = {
        "fortran": np.asfortranarray(X),
        "column stride": wide[:, ::2],
        "row stride": np.repeat(X, 2, axis=0)[::2],
    }
    for name, layout in layouts.items():
        np.testing.assert_array_equal(score(layout, target), want, err_msg=name)
    # float32 is widened in the order it comes in.
    single = X.astype(np.float32)
    np.testing.assert_array_equal(score(np.asfortranarray(single), target), score(single, target))


@pytest.mark.parametrize("order", ["C", "F"])
def test_non_finite_position_is_named_in_either_order(order: str) -> None:
    X = np.asarray(np.random.default_rng(0).standard_normal((40, 5)), order=order)
    X[17, 3] = np.nan
    with pytest.raises(ValueError, match=r"^X\b.*row 17, column 3"):
        hartley.mutual_info_regression(X, X[:, 0].copy())


def test_random_state_none_is_zero_and_input_is_untouched() -> None:
    X, y = make_data()
    X_before, y_before = X.copy(), y.copy()
    a = hartley.mutual_info_regression(X, y, random_state=None, copy=False)
    b = hartley.mutual_info_regression(X, y, random_state=0)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    c = hartley.mutual_info_regression(X, y, random_state=np.random.default_rng(1))
    d = hartley.mutual_info_regression(X, y, random_state=np.random.RandomState(1))
    # Without ties the jitter cannot move a count: every seed gives the same scores.
    np.testing.assert_allclose(c, a, rtol=0, atol=1e-12)
    np.testing.assert_allclose(d, a, rtol=0, atol=1e-12)


def test_negative_estimates_are_reported_as_zero() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 20))
    scores = hartley.mutual_info_regression(X, rng.standard_normal(400))
    assert np.all(scores >= 0) and np.any(scores == 0)


def _sklearn_rounds_ross_radius(labels: np.ndarray, n_neighbors: int) -> bool:
    """Whether scikit-learn's Ross estimator would search some class by brute force.

    NearestNeighbors(algorithm="auto") falls back to brute force when k >= m // 2
    for a class of m samples, and its brute-force Euclidean distances come from
    |a|^2 + |b|^2 - 2ab, off by an ulp or so. The "strictly closer" radius
    nextafter(r, 0) can then still contain the k-th neighbour, so one count is
    off by one. With a KD-tree the 1-D distance sqrt((a - b)^2) = |a - b| is exact.
    """
    counts = np.unique(labels, return_counts=True)[1]
    counts = counts[counts > 1]
    return bool(np.any(np.minimum(n_neighbors, counts - 1) >= counts // 2))


def test_small_classes_follow_ross_exactly() -> None:
    # n = 12, four labels of 1-4 samples, k = 1: scikit-learn searches the
    # classes by brute force and its rounded distances let the first neighbour
    # into the strict count (two points of label 2 count 3 instead of 2), giving
    # 0.388 instead of Ross's 0.434. hartley computes exact differences.
    rng = np.random.default_rng(0)
    X = rng.integers(0, 4, (12, 1)).astype(float)
    y = X[:, 0] + rng.standard_normal(12)
    got = hartley.mutual_info_regression(X, y, discrete_features=True, n_neighbors=1)
    assert got[0] == pytest.approx(oracle_ross(y, X[:, 0], 1), abs=ATOL)
    assert _sklearn_rounds_ross_radius(X[:, 0], 1)
    ref = sk_regression(X, y, discrete_features=True, n_neighbors=1, random_state=0)
    assert abs(ref[0] - got[0]) > 0.01


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(12, 150),
    mask=st.lists(st.booleans(), min_size=1, max_size=4),
    discrete_target=st.booleans(),
    n_neighbors=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_agrees_with_sklearn(
    n: int, mask: list[bool], discrete_target: bool, n_neighbors: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    p = len(mask)
    X = rng.standard_normal((n, p))
    for j, discrete in enumerate(mask):
        if discrete:
            X[:, j] = rng.integers(0, 4, n)
    if discrete_target:
        y = (X[:, 0] + rng.standard_normal(n) > 0).astype(int) + rng.integers(0, 2, n)
        ours, theirs = hartley.mutual_info_classif, sk_classif
    else:
        y = X[:, 0] + rng.standard_normal(n)
        ours, theirs = hartley.mutual_info_regression, sk_regression
    got = ours(X, y, discrete_features=mask, n_neighbors=n_neighbors)
    ref = theirs(X, y, discrete_features=mask, n_neighbors=n_neighbors, random_state=0)
    for j, discrete in enumerate(mask):
        if discrete != discrete_target:  # Ross's estimator
            cont, labels = (y, X[:, j]) if discrete else (X[:, j], y)
            exact = max(0.0, oracle_ross(cont, labels, n_neighbors))
            assert got[j] == pytest.approx(exact, abs=ATOL)
            if _sklearn_rounds_ross_radius(labels, n_neighbors):
                continue
        assert got[j] == pytest.approx(ref[j], abs=ATOL)


# ==================================================================== pipeline


def test_select_k_best_in_a_pipeline() -> None:
    rng = np.random.default_rng(0)
    n = 600
    X = rng.standard_normal((n, 8))
    labels = ((X[:, 2] + X[:, 5] ** 2 + 0.3 * rng.standard_normal(n)) > 1).astype(int)
    selector = SelectKBest(score_func=hartley.mutual_info_classif, k=2)
    pipe = make_pipeline(StandardScaler(), selector, LogisticRegression())
    pipe.fit(X, labels)
    assert sorted(np.flatnonzero(selector.get_support())) == [2, 5]
    assert pipe.predict(X).shape == (n,)
    assert pipe.score(X, labels) > 0.6
    # Same selection as scikit-learn's scorer, and keyword arguments pass through.
    sk_score = functools.partial(sk_classif, random_state=0)
    theirs = SelectKBest(score_func=sk_score, k=2).fit(X, labels)
    ours = SelectKBest(
        score_func=functools.partial(hartley.mutual_info_classif, n_neighbors=3, n_jobs=1), k=2
    ).fit(X, labels)
    np.testing.assert_array_equal(ours.get_support(), theirs.get_support())
    np.testing.assert_allclose(ours.scores_, theirs.scores_, rtol=0, atol=ATOL)


# ================================================================ bad arguments


FUNCS = [hartley.mutual_info_regression, hartley.mutual_info_classif]


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"discrete_features": "yes"}, ValueError, r"^discrete_features: .*'auto'"),
        ({"discrete_features": [True, False]}, ValueError, r"^discrete_features: .*shape \(3,\)"),
        ({"discrete_features": [3]}, ValueError, r"^discrete_features: indices must lie in"),
        ({"discrete_features": [-4]}, ValueError, r"^discrete_features: indices must lie in"),
        ({"discrete_features": [0.5]}, ValueError, r"^discrete_features: "),
        ({"discrete_features": [[0]]}, ValueError, r"^discrete_features: "),
        ({"n_neighbors": 0}, ValueError, r"^n_neighbors: must be at least 1"),
        ({"n_neighbors": 40}, ValueError, r"^n_neighbors: must be smaller than .*\(40\)"),
        ({"n_neighbors": 2.5}, TypeError, r"^n_neighbors: must be an integer"),
        ({"n_neighbors": True}, TypeError, r"^n_neighbors: must be an integer"),
        ({"random_state": -1}, ValueError, r"^random_state: must be non-negative"),
        ({"random_state": "seed"}, TypeError, r"^random_state: "),
        ({"n_jobs": 0}, ValueError, r"^n_jobs: "),
        ({"n_jobs": 1.5}, TypeError, r"^n_jobs: "),
        ({"progress": "yes"}, TypeError, r"^progress: must be True or False"),
    ],
)
def test_bad_options(
    func: object, kwargs: dict[str, object], exc: type[Exception], pattern: str
) -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = rng.integers(0, 2, 40)
    with pytest.raises(exc, match=pattern):
        func(X, y, **kwargs)  # type: ignore[operator]


@pytest.mark.parametrize("func", FUNCS)
def test_progress_bar(func: object, capfd: pytest.CaptureFixture[str]) -> None:
    # Continuous, discrete and mixed pairs all advance the bar to its end.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3000, 3))
    X[:, 2] = np.round(X[:, 2])
    y = rng.integers(0, 3, 3000)
    quiet = func(X, y, discrete_features=[2])  # type: ignore[operator]
    assert capfd.readouterr().err == ""
    loud = func(X, y, discrete_features=[2], progress=True)  # type: ignore[operator]
    err = capfd.readouterr().err
    assert f"{func.__name__} [" in err and "100.0%" in err  # type: ignore[attr-defined]
    np.testing.assert_array_equal(quiet, loud)


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize(
    ("X", "y", "exc", "pattern"),
    [
        (np.ones(30), np.arange(30) % 2, ValueError, r"^X: must be 2-D .* 1-D"),
        (np.ones((30, 2, 2)), np.arange(30) % 2, ValueError, r"^X: must be 2-D .* 3-D"),
        (np.ones((0, 2)), np.arange(0), ValueError, r"^X: is empty"),
        (np.ones((30, 0)), np.arange(30) % 2, ValueError, r"^X: is empty"),
        (np.full((30, 2), "a"), np.arange(30) % 2, TypeError, r"^X: must be numeric"),
        ("abc", np.arange(30) % 2, TypeError, r"^X: "),
        ([[1.0, 2.0], [3.0]], [0, 1], TypeError, r"^X: could not be read"),
        (np.ones((30, 2)), np.arange(29) % 2, ValueError, r"^y: has 29 samples but X has 30"),
        (np.ones((30, 2)), np.ones((30, 2)), ValueError, r"^y: must be 1-D"),
    ],
    ids=["1d", "3d", "no-rows", "no-columns", "strings", "str", "ragged", "length", "y-2d"],
)
def test_bad_arrays(func: object, X: object, y: object, exc: type[Exception], pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        func(X, y)  # type: ignore[operator]


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize("where", ["X", "y"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values(func: object, where: str, bad: float) -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 2))
    y = rng.integers(0, 2, 30).astype(float)
    if where == "X":
        X[4, 1] = bad
    else:
        y[4] = bad
    with pytest.raises(ValueError, match=rf"^{where}\b.*(NaN|non-finite)"):
        func(X, y)  # type: ignore[operator]


def test_classif_target_errors() -> None:
    X = np.random.default_rng(0).standard_normal((30, 2))
    with pytest.raises(ValueError, match=r"^y: Unknown label type: continuous"):
        hartley.mutual_info_classif(X, np.linspace(0, 1, 30))
    with pytest.raises(TypeError, match=r"^y: class labels must be sortable"):
        hartley.mutual_info_classif(X, np.array([1, "a"] * 15, dtype=object))
    with pytest.raises(TypeError, match=r"^y: must be numeric"):
        hartley.mutual_info_regression(X, np.array(["a", "b"] * 15))


# ===================================================================== doctests


def test_docstring_examples_run() -> None:
    result = doctest.testmod(hartley.feature_selection, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 2
    assert result.failed == 0
