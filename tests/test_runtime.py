"""Behaviour of every public estimator around the numbers: argument checking
(DESIGN.md section 3), thread-count determinism, dtypes and memory layouts,
seeding, panics, Ctrl-C and progress output."""

from __future__ import annotations

import inspect
import math
import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import hartley
import numpy as np
import pytest
from conftest import ROOT, assert_interrupted, bivariate, run_python
from hartley import _core
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# name -> (function, names of its array arguments, extra keyword arguments)
FUNCS: dict[str, tuple[Callable[..., Any], tuple[str, ...], dict[str, Any]]] = {
    "entropy": (hartley.entropy, ("x",), {}),
    "mutual_info": (hartley.mutual_info, ("x", "y"), {}),
    "conditional_mutual_info": (hartley.conditional_mutual_info, ("x", "y", "z"), {}),
    "kl_divergence": (hartley.kl_divergence, ("x", "y"), {}),
    "transfer_entropy": (hartley.transfer_entropy, ("source", "target"), {}),
    "mutual_info_mixed": (hartley.mutual_info_mixed, ("x", "y"), {}),
    "mutual_info_test": (hartley.mutual_info_test, ("x", "y"), {"n_permutations": 5}),
    "mutual_info_regression": (hartley.mutual_info_regression, ("X", "y"), {}),
    "mutual_info_classif": (hartley.mutual_info_classif, ("X", "y"), {}),
}
NATIVE = [
    name
    for name in FUNCS
    if not name.startswith("mutual_info_re") and name != "mutual_info_classif"
]
FEATURES = ["mutual_info_regression", "mutual_info_classif"]


def valid_arrays(name: str, n: int = 60, d: int = 1, seed: int = 0) -> dict[str, Any]:
    """Valid array arguments of `name`: 1-D if d == 1, else (n, d)."""
    rng = np.random.default_rng(seed)

    def col() -> np.ndarray:
        a = rng.standard_normal((n, d))
        return a[:, 0] if d == 1 else a

    if name in FEATURES:
        X = rng.standard_normal((n, max(d, 2)))
        y = (
            (X[:, 0] + rng.standard_normal(n) > 0).astype(int)
            if name.endswith("classif")
            else X[:, 0] + rng.standard_normal(n)
        )
        return {"X": X, "y": y}
    _, args, _ = FUNCS[name]
    out = {a: col() for a in args}
    if len(args) > 1:  # some dependence, so that values are not all ~0
        out[args[1]] = out[args[1]] + out[args[0]]
    return out


def call(name: str, arrays: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    func, args, extra = FUNCS[name]
    data = valid_arrays(name)
    data.update(arrays or {})
    return func(*(data[a] for a in args), **{**extra, **kwargs})


def accepts(name: str, option: str) -> bool:
    return option in inspect.signature(FUNCS[name][0]).parameters


def assert_identical(a: Any, b: Any) -> None:
    if isinstance(a, hartley.MutualInfoTestResult):
        assert (a.value, a.pvalue) == (b.value, b.pvalue)
        np.testing.assert_array_equal(a.null_distribution, b.null_distribution)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    else:
        assert type(a) is type(b)
        assert a == b


def assert_finite(out: Any) -> None:
    if isinstance(out, hartley.Estimate):
        assert all(math.isfinite(v) for v in (out.value, out.low, out.high, out.stderr))
    elif isinstance(out, hartley.MutualInfoTestResult):
        assert math.isfinite(out.value) and 0 < out.pvalue <= 1
        assert np.all(np.isfinite(out.null_distribution))
    elif isinstance(out, np.ndarray):
        assert out.dtype == np.float64 and np.all(np.isfinite(out)) and np.all(out >= 0)
    else:
        assert isinstance(out, float) and math.isfinite(out), out


# ================================================================== bad arrays


def _bad(kind: str, matrix: bool, n: int = 60) -> Any:
    """A bad value of the given kind; `matrix` for a 2-D argument (X)."""
    good = np.random.default_rng(1).standard_normal((n, 2) if matrix else n)
    if kind in ("nan", "inf"):
        good[7] = np.nan if kind == "nan" else np.inf
        return good
    return {
        "short": good[:40],
        "empty": good[:0],
        "3d": np.zeros((n, 2, 2)),
        "strings": np.full(good.shape, "a"),
        "str": "abc",
        "list-of-str": np.full(good.shape, "a").tolist(),
        "complex": good + 1j,
        "constant": np.full(good.shape, 2.5),
    }[kind]


def _bad_array_cases() -> list[Any]:
    cases = []
    for name, (_, args, _) in FUNCS.items():
        for pos, arg in enumerate(args):
            for kind in [
                "nan",
                "inf",
                "short",
                "empty",
                "3d",
                "strings",
                "str",
                "list-of-str",
                "complex",
                "constant",
            ]:
                if kind == "short" and (len(args) == 1 or name == "kl_divergence"):
                    continue  # nothing to mismatch / samples of P and Q may differ in number
                if (
                    kind in ("strings", "list-of-str")
                    and name == "mutual_info_classif"
                    and arg == "y"
                ):
                    continue  # string class labels are valid
                if kind == "constant" and (
                    name in FEATURES or name == "mutual_info_mixed" or name == "kl_divergence"
                ):
                    continue  # see the dedicated tests below
                cases.append(pytest.param(name, arg, pos, kind, id=f"{name}-{arg}-{kind}"))
    return cases


@pytest.mark.parametrize(("name", "arg", "pos", "kind"), _bad_array_cases())
def test_bad_array(name: str, arg: str, pos: int, kind: str) -> None:
    value = _bad(kind, matrix=arg == "X")
    expected: tuple[type[Exception], str] = {
        "nan": (ValueError, rf"^{arg}\b.*(NaN|non-finite)"),
        "inf": (ValueError, rf"^{arg}\b.*(NaN|non-finite)"),
        "short": (ValueError, r"^\w+: has \d+ samples but \w+ has \d+"),
        "empty": (ValueError, rf"^{arg}: (is empty|has 0 samples)"),
        "3d": (ValueError, rf"^{arg}: must be .*-D"),
        "strings": (TypeError, rf"^{arg}: must be numeric"),
        "str": (TypeError, rf"^{arg}: "),
        "list-of-str": (TypeError, rf"^{arg}: must be numeric"),
        "complex": (TypeError, rf"^{arg}: must be numeric"),
        "constant": (ValueError, rf"^{arg}: column 0 is constant"),
    }[kind]
    with pytest.raises(expected[0], match=expected[1]) as info:
        call(name, {arg: value})
    assert arg in str(info.value)


@pytest.mark.parametrize("name", [n for n in NATIVE if n != "transfer_entropy"])
@pytest.mark.parametrize("k", [60, 61])
def test_k_not_below_sample_count(name: str, k: int) -> None:
    with pytest.raises(
        ValueError,
        match=rf"^k: must be smaller than the number of samples \(60\), "
        rf"got {k}",
    ):
        call(name, k=k)


def test_transfer_entropy_k_too_large_for_embedding() -> None:
    # The embedded series is one row shorter than the input (lag = history = 1);
    # the message names k and both sample counts.
    with pytest.raises(
        ValueError, match=r"^k: must be smaller than the number of embedded samples \(59 from 60"
    ):
        call("transfer_entropy", k=59)
    with pytest.raises(ValueError, match=r"embedded samples \(2 from 60 time steps"):
        call("transfer_entropy", history=58)
    assert math.isfinite(call("transfer_entropy", k=58))


@pytest.mark.parametrize("name", NATIVE)
def test_k_zero_and_wrong_type(name: str) -> None:
    with pytest.raises(ValueError, match=r"^k: must be at least 1, got 0"):
        call(name, k=0)
    for bad in (True, 2.5, "3", None):
        with pytest.raises(TypeError, match=r"^k: must be an integer"):
            call(name, k=bad)


def test_kl_divergence_shape_checks() -> None:
    x = np.random.default_rng(0).standard_normal((50, 2))
    with pytest.raises(ValueError, match=r"^y: has 1 dimensions but x has 2"):
        hartley.kl_divergence(x, x[:, 0])
    with pytest.raises(ValueError, match=r"^k: must be at most the number of samples in y \(3\)"):
        hartley.kl_divergence(x, x[:3] + 1, k=4)
    assert math.isfinite(hartley.kl_divergence(x, x[:3] + 1, k=3))


def test_half_sample_interval_needs_enough_samples() -> None:
    x, y = bivariate(0.5, 19, seed=0)
    for func, args in [
        (hartley.entropy, (x,)),
        (hartley.mutual_info, (x, y)),
        (hartley.conditional_mutual_info, (x, y, x + y)),
    ]:
        with pytest.raises(
            ValueError, match=r"^ci: half-sample intervals need at least 20 samples"
        ):
            func(*args, ci=0.95)


def test_kl_divergence_rejects_constant_columns() -> None:
    # A constant column has no density, so D(P || Q) is undefined; the other
    # native estimators raise "column 0 is constant". Returned today:
    #   kl_divergence(np.full(50, 3.0), y)            -> 25.68
    #   kl_divergence(y, np.full(50, 3.0))            -> 5.14
    #   kl_divergence(c_[y, 1], c_[y[::-1], 1])       -> -37.1
    y = np.random.default_rng(0).standard_normal(50)
    ones = np.ones(50)
    for p, q, arg in [
        (np.full(50, 3.0), y, "x"),
        (y, np.full(50, 3.0), "y"),
        (np.c_[y, ones], np.c_[y[::-1], ones], "x"),
    ]:
        try:
            value = hartley.kl_divergence(p, q)
        except ValueError as exc:
            assert str(exc).startswith(arg), exc
            continue
        raise AssertionError(f"kl_divergence returned {value} for a constant column of {arg}")


def test_mixed_accepts_constant_discrete_variables() -> None:
    # Unlike the continuous estimators, mutual_info_mixed takes discrete
    # variables, and a constant is a valid (if uninformative) one.
    y = np.random.default_rng(0).standard_normal(200)
    assert math.isfinite(hartley.mutual_info_mixed(np.zeros(200), y))
    assert math.isfinite(hartley.mutual_info_mixed(y, np.ones(200)))


@pytest.mark.parametrize("scale", [1e160, 1e-160])
def test_extreme_magnitudes_are_handled_or_refused_clearly(scale: float) -> None:
    # Every estimator here is scale-covariant, so data at 1e160 is no harder
    # than data at 1; a library may also refuse it, but then with an error that
    # says so rather than one about repeated points or constant columns.
    # When this test was written, on the data below: mutual_info(x * 1e160, y * 1e160,
    # standardize=False) returns 8.29 and mutual_info(x * 1e160, y) returns 0.0
    # (both 0.253 at every scale from 1e-150 to 1e150); entropy and
    # kl_divergence at 1e160 and 1e-160 blame repeated points; at 1e-200 entropy
    # and mutual_info blame a constant column and kl_divergence returns -0.068
    # (-0.025 at every scale from 1e-150 to 1e150).
    x, y = bivariate(0.6, 500, seed=0)
    checks = [
        (lambda: hartley.entropy(x * scale) - math.log(scale), hartley.entropy(x)),
        (
            lambda: hartley.mutual_info(x * scale, y * scale, standardize=False),
            hartley.mutual_info(x, y, standardize=False),
        ),
        (lambda: hartley.mutual_info(x * scale, y), hartley.mutual_info(x, y)),
        (lambda: hartley.kl_divergence(x * scale, y * scale), hartley.kl_divergence(x, y)),
    ]
    for compute, expected in checks:
        try:
            got = compute()
        except ValueError as exc:
            assert "repeated" not in str(exc) and "constant" not in str(exc), str(exc)
            continue
        assert got == pytest.approx(expected, abs=1e-6)


# =============================================================== bad options


def _option_cases() -> list[Any]:
    table: list[tuple[str, list[Any], type[Exception], str]] = [
        ("base", [1, 0, -2, math.nan, math.inf], ValueError, r"^base: must be a finite number > 0"),
        ("base", ["e", True, None], TypeError, r"^base: must be a number"),
        (
            "noise",
            [-1e-10, math.nan, math.inf],
            ValueError,
            r"^noise: must be a finite number >= 0",
        ),
        ("noise", ["small", None], TypeError, r"^noise: must be a number"),
        ("ci", [0, 1, 1.5, -0.5, math.nan], ValueError, r"^ci: must be strictly between 0 and 1"),
        ("ci", ["95%", True], TypeError, r"^ci: must be None or a confidence level"),
        ("n_resamples", [1, 0, -5], ValueError, r"^n_resamples: must be at least 2"),
        ("n_resamples", [2.5, "10"], TypeError, r"^n_resamples: must be an integer"),
        ("random_state", [-1], ValueError, r"^random_state: must be non-negative"),
        ("random_state", ["abc", 1.5, [1, 2]], TypeError, r"^random_state: must be None, an int"),
        ("n_jobs", [0], ValueError, r"^n_jobs: must be a positive thread count, -1 .* or None"),
        ("n_jobs", ["all", 1.5, True], TypeError, r"^n_jobs: must be None or an int"),
        (
            "estimator",
            ["ksg3", "KSG1", None],
            ValueError,
            r"^estimator: must be one of 'ksg1', 'ksg2', got",
        ),
        (
            "metric",
            ["manhattan", "l2", None],
            ValueError,
            r"^metric: must be one of 'euclidean', 'chebyshev', got",
        ),
        ("lag", [0, -1], ValueError, r"^lag: must be at least 1"),
        ("lag", [1.5], TypeError, r"^lag: must be an integer"),
        ("history", [0], ValueError, r"^history: must be at least 1"),
        ("history", [2.0], TypeError, r"^history: must be an integer"),
        ("source_history", [0], ValueError, r"^source_history: must be at least 1"),
        ("source_history", ["2"], TypeError, r"^source_history: must be an integer"),
        ("n_permutations", [0, -3], ValueError, r"^n_permutations: must be at least 1"),
        ("n_permutations", [9.0], TypeError, r"^n_permutations: must be an integer"),
    ]
    cases = []
    for name in FUNCS:
        for option, values, exc, pattern in table:
            if not accepts(name, option):
                continue
            for value in values:
                extra = {"ci": 0.9} if option == "n_resamples" else {}
                cases.append(
                    pytest.param(
                        name, option, value, exc, pattern, extra, id=f"{name}-{option}-{value!r}"
                    )
                )
    return cases


@pytest.mark.parametrize(("name", "option", "value", "exc", "pattern", "extra"), _option_cases())
def test_bad_option(
    name: str, option: str, value: Any, exc: type[Exception], pattern: str, extra: dict[str, Any]
) -> None:
    with pytest.raises(exc, match=pattern):
        call(name, **{option: value}, **extra)


# ===================================================== property-based validation

_FLOATS64 = st.one_of(st.floats(-1e100, 1e100), st.sampled_from([np.nan, np.inf, -np.inf]))
_FLOATS32 = st.one_of(st.floats(-(2.0**100), 2.0**100, width=32), st.sampled_from([np.nan, np.inf]))


@st.composite
def arbitrary_arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = draw(
        st.sampled_from(
            ["float64", "float32", "int64", "uint8", "bool", "complex128", "U3", "datetime64[s]"]
        )
    )
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=7))
    elements = {
        "float64": _FLOATS64,
        "float32": _FLOATS32,
        "int64": st.integers(-(2**40), 2**40),
    }.get(dtype)
    return draw(hnp.arrays(np.dtype(dtype), shape, elements=elements))


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(list(FUNCS)), position=st.integers(0, 2), arr=arbitrary_arrays())
def test_arbitrary_input_is_rejected_cleanly_or_accepted(
    name: str, position: int, arr: np.ndarray
) -> None:
    """Any shape and dtype, with NaN and inf anywhere: a finite result, or a
    ValueError / TypeError naming the argument; never another exception."""
    _, args, _ = FUNCS[name]
    arg = args[position % len(args)]
    n = arr.shape[0] if arr.ndim >= 1 and arr.shape[0] > 0 else 7
    arrays = valid_arrays(name, n=n)
    arrays[arg] = arr
    options = {"n_neighbors": 1} if name in FEATURES else {"k": 1}
    try:
        out = call(name, arrays, **options)
    except (ValueError, TypeError) as exc:
        assert re.match(r"^\w+\b", str(exc)), exc
        named = [a for a in (*args, "k", "n_neighbors", "ci", "data") if a in str(exc)]
        assert named, f"message names no argument: {exc}"
        return
    assert_finite(out)


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(list(FUNCS)),
    n=st.integers(5, 40),
    d=st.integers(1, 4),
    bad=st.sampled_from([np.nan, np.inf, -np.inf]),
    data=st.data(),
)
def test_non_finite_value_is_located(
    name: str, n: int, d: int, bad: float, data: st.DataObject
) -> None:
    _, args, _ = FUNCS[name]
    arrays = valid_arrays(name, n=n, d=d, seed=n)
    arg = data.draw(st.sampled_from(args))
    target = np.array(arrays[arg], dtype=np.float64)
    i = data.draw(st.integers(0, n - 1))
    j = data.draw(st.integers(0, target.shape[1] - 1)) if target.ndim == 2 else 0
    if target.ndim == 2:
        target[i, j] = bad
    else:
        target[i] = bad
    arrays[arg] = target
    with pytest.raises(ValueError) as info:
        call(name, arrays, **({"k": 1} if name in NATIVE else {}))
    message = str(info.value)
    assert message.startswith(arg), message
    if not (name == "mutual_info_classif" and arg == "y"):
        assert f"row {i}, column {j}" in message, message


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(8, 150),
    dims=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
    k=st.integers(1, 5),
    scale=st.sampled_from([1e-6, 1.0, 1e6]),
    tied=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_valid_random_data_gives_finite_results(
    n: int, dims: tuple[int, int, int], k: int, scale: float, tied: bool, seed: int
) -> None:
    k = min(k, n - 3)
    rng = np.random.default_rng(seed)

    def sample(d: int) -> np.ndarray:
        a = rng.standard_normal((n, d))
        if tied:
            a = np.round(a * 2)
            a[:2] = [[0.0] * d, [1.0] * d]  # never constant
        return a * scale

    x, y, z = (sample(d) for d in dims)
    y = y + x[:, :1]
    ci = {"ci": 0.9, "n_resamples": 4} if n // 2 >= max(k + 1, 10) else {}
    results = [
        hartley.entropy(x, k=k, **ci),
        hartley.entropy(x, k=k, metric="chebyshev"),
        hartley.mutual_info(x, y, k=k, **ci),
        hartley.mutual_info(x, y, k=k, estimator="ksg2", standardize=False),
        hartley.conditional_mutual_info(x, y, z, k=k, **ci),
        hartley.kl_divergence(x, sample(dims[0]) + 0.5, k=k),
        hartley.transfer_entropy(x, y, k=k),
        hartley.mutual_info_mixed(x, y, k=k),
        hartley.mutual_info_test(x, y, k=k, n_permutations=3),
        hartley.mutual_info_regression(np.column_stack([x, z]), y[:, 0], n_neighbors=k),
        hartley.mutual_info_classif(
            np.column_stack([x, z]), (y[:, 0] > 0).astype(int), n_neighbors=k
        ),
    ]
    for out in results:
        assert_finite(out)


# ================================================================ determinism


def _determinism_calls() -> list[Any]:
    n = 3000
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 2))
    y = x[:, :1] + rng.standard_normal((n, 1))
    z = rng.standard_normal(n)
    labels = (x[:, 0] + z > 0).astype(int)
    X = np.column_stack([x, z, np.round(z)])
    return [
        pytest.param(lambda **kw: hartley.entropy(x, **kw), id="entropy"),
        pytest.param(lambda **kw: hartley.entropy(x, ci=0.9, n_resamples=8, **kw), id="entropy-ci"),
        pytest.param(
            lambda **kw: hartley.mutual_info(x, y, ci=0.9, n_resamples=8, **kw), id="mutual_info-ci"
        ),
        pytest.param(
            lambda **kw: hartley.mutual_info(np.round(x), y, estimator="ksg2", **kw),
            id="mutual_info-ksg2-ties",
        ),
        pytest.param(
            lambda **kw: hartley.conditional_mutual_info(x, y, z, ci=0.9, n_resamples=8, **kw),
            id="cmi-ci",
        ),
        pytest.param(lambda **kw: hartley.kl_divergence(x, x[::-1] * 1.5, k=2, **kw), id="kl"),
        pytest.param(lambda **kw: hartley.transfer_entropy(z, y, history=2, **kw), id="te"),
        pytest.param(lambda **kw: hartley.mutual_info_mixed(np.round(x), y, **kw), id="mixed"),
        pytest.param(
            lambda **kw: hartley.mutual_info_test(x, y, n_permutations=8, **kw), id="test"
        ),
        pytest.param(
            lambda **kw: hartley.mutual_info_regression(X, y[:, 0], **kw), id="regression"
        ),
        pytest.param(
            lambda **kw: hartley.mutual_info_classif(X, labels, discrete_features=[3], **kw),
            id="classif",
        ),
    ]


@pytest.mark.parametrize("compute", _determinism_calls())
def test_results_do_not_depend_on_thread_count(compute: Callable[..., Any]) -> None:
    reference = compute(n_jobs=1)
    for n_jobs in (2, 3, -1, None):
        assert_identical(compute(n_jobs=n_jobs), reference)


# ====================================================== dtypes and memory layouts


def _layout_variants(a: np.ndarray) -> dict[str, Any]:
    """Ways of passing the same values (a: C-ordered float64, 1-D or 2-D)."""
    wide = np.zeros(
        (a.shape[0] * 2, *(a.shape[1:-1]), a.shape[-1] * 3) if a.ndim == 2 else (a.shape[0] * 2,)
    )
    if a.ndim == 2:
        wide[::2, ::3] = a
        strided = wide[::2, ::3]
    else:
        wide[::2] = a
        strided = wide[::2]
    assert not strided.flags.c_contiguous
    out = {"list": a.tolist(), "strided": strided, "readonly": a.copy()}
    out["readonly"].flags.writeable = False
    if a.ndim == 2:
        out["fortran"] = np.asfortranarray(a)
    else:
        out["column"] = a[:, None]
    return out


@pytest.mark.parametrize("name", list(FUNCS))
@pytest.mark.parametrize("d", [1, 3])
def test_layouts_and_dtypes_give_identical_results(name: str, d: int) -> None:
    _, args, _ = FUNCS[name]
    # float32-representable values, so that float32 input is the same data.
    arrays = {
        a: np.asarray(v, dtype=np.float32).astype(np.float64)
        for a, v in valid_arrays(name, n=300, d=d).items()
    }
    if name == "mutual_info_classif":
        arrays["y"] = arrays["y"].astype(np.int64)
    reference = call(name, arrays)
    for arg in args:
        if name == "mutual_info_classif" and arg == "y":
            continue
        base = arrays[arg]
        variants = _layout_variants(base)
        variants["float32"] = base.astype(np.float32)
        for label, variant in variants.items():
            if arg == "X" and label == "column":
                continue
            got = call(name, {**arrays, arg: variant})
            try:
                assert_identical(got, reference)
            except AssertionError as exc:
                raise AssertionError(f"{arg} passed as {label}") from exc


@pytest.mark.parametrize("name", list(FUNCS))
def test_integer_and_bool_input_equal_float_input(name: str) -> None:
    _, args, _ = FUNCS[name]
    rng = np.random.default_rng(2)
    ints = {a: rng.integers(-5, 6, 300) for a in args}
    if name in FEATURES:
        ints["X"] = rng.integers(-5, 6, (300, 3))
        ints["y"] = ints["X"][:, 0] + rng.integers(0, 2, 300)
    reference = call(name, {a: v.astype(np.float64) for a, v in ints.items()})
    assert_identical(call(name, ints), reference)
    bools = {a: v > 0 for a, v in ints.items()}
    reference = call(name, {a: v.astype(np.float64) for a, v in bools.items()})
    assert_identical(call(name, bools), reference)


# =================================================================== seeding


def test_random_state_forms() -> None:
    x, y = bivariate(0.5, 500, seed=0)
    for func in (
        lambda **kw: hartley.mutual_info(x, y, ci=0.9, n_resamples=10, **kw),
        lambda **kw: hartley.mutual_info_test(x, y, n_permutations=10, **kw),
        lambda **kw: hartley.kl_divergence(x, y, **kw),
    ):
        assert_identical(func(random_state=None), func(random_state=0))
        assert_identical(func(), func(random_state=0))
        assert_identical(
            func(random_state=np.random.default_rng(5)), func(random_state=np.random.default_rng(5))
        )
        assert_identical(
            func(random_state=np.random.RandomState(5)), func(random_state=np.random.RandomState(5))
        )
        assert_identical(func(random_state=2**64 + 3), func(random_state=3))


def test_different_seeds_differ_slightly() -> None:
    x, y = bivariate(0.5, 1000, seed=0)
    # The jitter moves every distance by ~1e-10 of the column's sd: the
    # Kozachenko-Leonenko and Wang estimates change in the last digits only.
    for func in (
        lambda s: hartley.entropy(x, random_state=s),
        lambda s: hartley.kl_divergence(x, y, random_state=s),
    ):
        a, b = func(0), func(1)
        assert a != b and abs(a - b) < 1e-6
    # KSG counts are unchanged by the jitter of continuous data without ties ...
    assert hartley.mutual_info(x, y, random_state=0) == hartley.mutual_info(x, y, random_state=1)
    # ... but with ties the jitter orders them: a different, equally valid value.
    tied = np.round(x * 4)
    a, b = (hartley.mutual_info(tied, y, random_state=s) for s in (0, 1))
    assert a != b and abs(a - b) < 0.05
    # Half-samples and permutations come from the seed too.
    e0, e1 = (hartley.mutual_info(x, y, ci=0.95, n_resamples=30, random_state=s) for s in (0, 1))
    assert e0.value == e1.value and e0.stderr != e1.stderr
    assert abs(e0.stderr - e1.stderr) < 0.5 * e0.stderr
    t0, t1 = (hartley.mutual_info_test(x, y, n_permutations=20, random_state=s) for s in (0, 1))
    assert not np.array_equal(t0.null_distribution, t1.null_distribution)


# ============================================================ panics, threads


def test_panic_becomes_hartley_error() -> None:
    assert issubclass(hartley.HartleyError, RuntimeError)
    with pytest.raises(hartley.HartleyError, match="deliberate panic") as info:
        _core._panic_for_tests()
    assert isinstance(info.value, RuntimeError)
    assert "bug in hartley" in str(info.value)
    # The pool and the interpreter are fine afterwards.
    x, y = bivariate(0.5, 500, seed=0)
    assert math.isfinite(hartley.mutual_info(x, y, n_jobs=2))


def test_panic_does_not_abort_the_process() -> None:
    proc = run_python(
        "import hartley\n"
        "from hartley import _core\n"
        "for _ in range(3):\n"
        "    try:\n"
        "        _core._panic_for_tests()\n"
        "    except hartley.HartleyError as exc:\n"
        "        print('caught', type(exc).__mro__[1].__name__)\n"
        "print('alive', hartley.entropy([0.1, 0.5, 0.2, 0.9, 0.4], k=1) > -10)\n",
        env={"RUST_BACKTRACE": "0"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("caught RuntimeError") == 3
    assert "alive True" in proc.stdout


def test_thread_count_resolution() -> None:
    assert _core._resolve_threads(1) == 1
    assert _core._resolve_threads(3) == 3
    cores = _core._resolve_threads(-1)
    assert cores >= 1
    assert _core._resolve_threads(-2) == max(cores - 1, 1)
    assert _core._resolve_threads(-1000) == 1
    with pytest.raises(ValueError, match=r"^n_jobs: "):
        _core._resolve_threads(0)


def test_hartley_num_threads_is_honoured() -> None:
    code = (
        "from hartley import _core\n"
        "print(_core._resolve_threads(None), _core._resolve_threads(1), "
        "_core._resolve_threads(-1))"
    )
    plain = run_python(code, env={"HARTLEY_NUM_THREADS": ""})
    assert plain.returncode == 0, plain.stderr
    default, one, cores = map(int, plain.stdout.split())
    assert default == cores and one == 1
    for value, expected in [("3", 3), (" 1 ", 1), ("7", 7)]:
        proc = run_python(code, env={"HARTLEY_NUM_THREADS": value})
        assert proc.returncode == 0, proc.stderr
        # The variable sets the default only: explicit n_jobs still wins.
        assert proc.stdout.split() == [str(expected), "1", str(cores)]


def test_simd_cap_lowers_the_tier_and_lifts_again() -> None:
    available, current = _core._simd_info()
    assert available[0] == "portable" and current == available[-1]
    try:
        for tier in available:
            assert _core._set_simd_cap(tier) == tier
        # A cap above what the CPU has leaves the best available tier.
        assert _core._set_simd_cap("avx512") == available[-1]
        with pytest.raises(ValueError, match=r"^level: must be one of"):
            _core._set_simd_cap("sse9")
    finally:
        assert _core._set_simd_cap(None) == available[-1]


def test_hartley_simd_environment_variable() -> None:
    code = "from hartley import _core\nprint(_core._simd_info()[1])"
    proc = run_python(code, env={"HARTLEY_SIMD": "portable"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["portable"]
    bad = run_python(code, env={"HARTLEY_SIMD": "fastest"})
    assert bad.returncode != 0
    assert "HARTLEY_SIMD: must be one of" in bad.stderr


# ======================================================= Ctrl-C and progress


# Calls that would run for many seconds, each with the seconds to wait
# before the interrupt and the seconds it may take to stop after it.
_LONG_CALLS = [
    # 2000 half-samples of 10^5 points: well over a minute on two cores (400
    # take about 20 s); it stops in well under a second.
    pytest.param(
        "rng = np.random.default_rng(0)\n"
        "x = rng.standard_normal(200_000)\n"
        "y = x + rng.standard_normal(200_000)",
        "hartley.mutual_info(x, y, ci=0.95, n_resamples=2000)",
        1.0,
        15.0,
        id="interval",
    ),
    # Two features of 8 million rows, each scored by one thread for about 7 s:
    # the interrupt must be noticed within a feature, not only between them.
    pytest.param(
        "rng = np.random.default_rng(0)\n"
        "X = rng.standard_normal((8_000_000, 2))\n"
        "y = X[:, 0] + rng.standard_normal(8_000_000)",
        "hartley.mutual_info_regression(X, y, n_jobs=2)",
        1.0,
        3.0,
        id="feature-ranking",
    ),
    # At 6 million points the neighbour structures of I(X; Y | Z) take about
    # three seconds to build; an interrupt lands between them.
    pytest.param(
        "rng = np.random.default_rng(0)\nx, y, z = rng.standard_normal((3, 6_000_000))",
        "hartley.conditional_mutual_info(x, x + y, z)",
        0.5,
        2.5,
        id="cmi-build",
    ),
]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize(("setup", "call", "wait", "timeout"), _LONG_CALLS)
def test_ctrl_c_interrupts_a_long_call(setup: str, call: str, wait: float, timeout: float) -> None:
    assert_interrupted(setup, call, wait=wait, timeout=timeout)


_PROGRESS = """
import sys
import numpy as np, hartley
rng = np.random.default_rng(0)
x = rng.standard_normal(60_000)
y = x + rng.standard_normal(60_000)
hartley.mutual_info(x, y, ci=0.95, n_resamples=30, progress=False)
sys.stderr.write("--quiet call done--\\n")
sys.stderr.flush()
hartley.mutual_info(x, y, ci=0.95, n_resamples=30, progress=True)
"""


def test_progress_line_on_stderr() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _PROGRESS], capture_output=True, cwd=ROOT, timeout=120, check=False
    )
    stderr = proc.stderr.decode()  # bytes: keep the carriage returns
    assert proc.returncode == 0, stderr
    assert proc.stdout == b""
    quiet, _, loud = stderr.partition("--quiet call done--\n")
    assert quiet == ""
    # One line redrawn in place with carriage returns, ended by a newline.
    assert loud.startswith("\r") and loud.endswith("\n") and loud.count("\n") == 1, loud[-300:]
    frames = loud.rstrip("\n").split("\r")[1:]
    assert len(frames) >= 2
    bar = re.compile(r"^mutual_info \[([# ]{30})\] +(\d+\.\d)% \d+\.\ds$")
    shares = []
    for frame in frames:
        match = bar.match(frame)
        assert match, frame
        shares.append(float(match.group(2)))
    assert shares == sorted(shares)
    assert shares[-1] == 100.0 and frames[-1].startswith("mutual_info [" + "#" * 30 + "]")
