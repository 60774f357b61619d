"""The ``hartley`` command line and the bundled data, run in-process."""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hartley.cli import main
from hartley.datasets import load_wine

HAS_PYARROW = importlib.util.find_spec("pyarrow") is not None
NUM = r"-?\d+\.\d+"
TRUTH_ROW = re.compile(
    rf"^  (?P<label>\S.*?)\s{{2,}}(?P<truth>{NUM})\s+(?P<est>{NUM})\s+"
    rf"(?P<interval>\[{NUM}, {NUM}\]|n/a)\s+(?P<covers>yes|no|-)\s+\d"
)
RANK_ROW = re.compile(rf"^\s+(?P<rank>\d+)\s+(?P<name>\S+)\s+(?P<mi>{NUM})")


# ---------------------------------------------------------------- fixtures


def _dependent_columns(n: int = 500, seed: int = 7) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n)
    return {
        "a": a,
        "b": a + 0.1 * rng.standard_normal(n),  # I(a;b) = log(101)/2 = 2.31 nats
        "c": rng.standard_normal(n),  # independent of everything
        "d": a + rng.standard_normal(n),
    }


def _write_csv(
    path: Path, cols: dict[str, np.ndarray], header: bool = True, sep: str = ","
) -> Path:
    lines = [sep.join(cols)] if header else []
    lines += [sep.join(repr(float(v)) for v in row) for row in zip(*cols.values(), strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    return _write_csv(tmp_path / "data.csv", _dependent_columns())


@pytest.fixture
def npy_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.npy"
    np.save(path, np.column_stack(list(_dependent_columns().values())))
    return path


def _value(out: str, key: str) -> float:
    match = re.search(rf"^\s*{re.escape(key)}\s+({NUM})", out, flags=re.M)
    assert match, f"no {key!r} line in:\n{out}"
    return float(match.group(1))


def _interval(out: str) -> tuple[float, float]:
    match = re.search(rf"interval\s+\[({NUM}), ({NUM})\]", out)
    assert match, f"no interval in:\n{out}"
    return float(match.group(1)), float(match.group(2))


def _ranking(out: str) -> list[tuple[str, float]]:
    rows = [RANK_ROW.match(line) for line in out.splitlines()]
    return [(m.group("name"), float(m.group("mi"))) for m in rows if m]


def _assert_one_line_error(capsys: pytest.CaptureFixture[str], code: int, *needles: str) -> str:
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith("hartley: error: ")
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    return err


# ---------------------------------------------------------------- bundled data


def test_load_wine_shapes_and_dtypes() -> None:
    X, y, names = load_wine()
    assert X.shape == (178, 13) and X.dtype == np.float64
    assert y.shape == (178,) and y.dtype == np.int64
    assert X.flags.c_contiguous
    assert np.isfinite(X).all()
    assert len(names) == 13 and len(set(names)) == 13
    assert names[0] == "alcohol" and names[-1] == "proline" and "flavanoids" in names


def test_load_wine_values_and_class_counts() -> None:
    X, y, _ = load_wine()
    labels, counts = np.unique(y, return_counts=True)
    assert labels.tolist() == [1, 2, 3]
    assert counts.tolist() == [59, 71, 48]
    # First wine of the UCI file, and the column ranges documented in data/README.md.
    assert X[0, :3].tolist() == [14.23, 1.71, 2.43] and X[0, -1] == 1065
    assert X[:, 0].min() == 11.03 and X[:, 0].max() == 14.83
    assert X[:, -1].min() == 278 and X[:, -1].max() == 1680


# ---------------------------------------------------------------- demo


def test_demo_small(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--n", "300", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "n = 300" in out
    rows = [m for m in map(TRUTH_ROW.match, out.splitlines()) if m]
    assert len(rows) == 8, out
    truths = {m.group("label"): float(m.group("truth")) for m in rows}
    assert truths["H(X), X ~ N(0, I_3)"] == pytest.approx(
        1.5 * math.log(2 * math.pi * math.e), abs=1e-4
    )
    assert truths["I(X;Y), Gaussian, rho = 0.9"] == pytest.approx(-0.5 * math.log(0.19), abs=1e-4)
    assert truths["I(X;Y|Z), chain Z -> X -> Y"] == pytest.approx(0.5 * math.log(2), abs=1e-4)
    for m in rows:
        truth, est = float(m.group("truth")), float(m.group("est"))
        assert abs(est - truth) < 0.35, m.group(0)
        if m.group("interval") != "n/a":
            low, high = map(float, re.findall(NUM, m.group("interval")))
            assert low <= high
            assert m.group("covers") == ("yes" if low <= truth <= high else "no")
    assert sum(m.group("covers") == "yes" for m in rows) >= 4

    assert "10.24432/C5PC7J" in out and "CC BY 4.0" in out
    ranking = _ranking(out.split("cultivars apart")[1])
    assert len(ranking) == 13
    scores = [s for _, s in ranking]
    assert scores == sorted(scores, reverse=True)
    names = [n for n, _ in ranking]
    assert "flavanoids" in names[:3]
    assert "ash" in names[-4:]
    assert scores[0] > 0.4


def test_demo_rejects_tiny_n(capsys: pytest.CaptureFixture[str]) -> None:
    _assert_one_line_error(capsys, main(["demo", "--n", "5"]), "--n")


# ---------------------------------------------------------------- mi


def test_mi_csv_dependent_and_independent(
    csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mi", str(csv_file), "--x", "a", "--y", "b"]) == 0
    strong = _value(capsys.readouterr().out, "I(X;Y)")
    assert strong > 0.5
    assert strong == pytest.approx(0.5 * math.log(101), abs=0.4)

    assert main(["mi", str(csv_file), "--x", "a", "--y", "c"]) == 0
    assert abs(_value(capsys.readouterr().out, "I(X;Y)")) < 0.15


def test_mi_csv_bits_interval_and_ksg2(csv_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mi", str(csv_file), "--x", "a", "--y", "d"]) == 0
    nats = _value(capsys.readouterr().out, "I(X;Y)")
    assert main(["mi", str(csv_file), "--x", "a", "--y", "d", "--base", "2", "--ci", "0.95"]) == 0
    out = capsys.readouterr().out
    bits = _value(out, "I(X;Y)")
    assert "bits" in out and "95% interval" in out
    assert bits == pytest.approx(nats / math.log(2), abs=2e-4)
    low, high = _interval(out)
    assert low <= bits <= high and high - low < 1.0

    assert main(["mi", str(csv_file), "--x", "0", "--y", "d", "--estimator", "ksg2"]) == 0
    out = capsys.readouterr().out
    assert "ksg2" in out
    assert _value(out, "I(X;Y)") == pytest.approx(nats, abs=0.15)


def test_mi_npy_indices_and_conditioning(
    npy_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mi", str(npy_file), "--x", "0", "--y", "1,3"]) == 0
    out = capsys.readouterr().out
    assert "Y          1, 3" in out
    assert _value(out, "I(X;Y)") > 0.5
    # b and d depend on each other only through a: conditioning on a removes it.
    assert main(["mi", str(npy_file), "--x", "1", "--y", "3"]) == 0
    assert _value(capsys.readouterr().out, "I(X;Y)") > 0.1
    assert main(["mi", str(npy_file), "--x", "1", "--y", "3", "--z", "0"]) == 0
    assert abs(_value(capsys.readouterr().out, "I(X;Y|Z)")) < 0.1


def test_mi_tsv_and_headerless_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cols = _dependent_columns(300)
    tsv = _write_csv(tmp_path / "data.tsv", cols, sep="\t")
    assert main(["mi", str(tsv), "--x", "a", "--y", "b"]) == 0
    assert _value(capsys.readouterr().out, "I(X;Y)") > 0.5
    bare = _write_csv(tmp_path / "bare.csv", cols, header=False)
    assert main(["mi", str(bare), "--x", "0", "--y", "1"]) == 0
    assert "300 rows" in (out := capsys.readouterr().out)
    assert _value(out, "I(X;Y)") > 0.5


# ---------------------------------------------------------------- rank


def test_rank_discrete_text_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(11)
    n = 400
    cls = rng.integers(0, 3, n)
    feats = {
        "signal": cls + 0.2 * rng.standard_normal(n),
        "weak": cls + 2.0 * rng.standard_normal(n),
        "noise": rng.standard_normal(n),
    }
    names = np.array(["red", "green", "blue"])[cls]
    lines = [
        f"{s!r},{w!r},{z!r},{c}"
        for s, w, z, c in zip(*map(np.ndarray.tolist, feats.values()), names.tolist(), strict=True)
    ]
    text = "signal,weak,noise,colour\n" + "\n".join(lines) + "\n"
    path = tmp_path / "classes.csv"
    path.write_text(text, encoding="utf-8")

    assert main(["rank", str(path), "--target", "colour", "--discrete-target"]) == 0
    out = capsys.readouterr().out
    assert "mutual_info_classif" in out and "3 classes" in out
    ranking = _ranking(out)
    assert [n for n, _ in ranking] == ["signal", "weak", "noise"]
    assert ranking[0][1] > 0.5 and ranking[-1][1] < 0.1

    assert main(["rank", str(path), "--target", "3", "--discrete-target", "--top", "1"]) == 0
    out = capsys.readouterr().out
    assert [n for n, _ in _ranking(out)] == ["signal"]
    assert "2 more" in out


def test_rank_continuous_target(csv_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rank", str(csv_file), "--target", "a"]) == 0
    out = capsys.readouterr().out
    assert "mutual_info_regression" in out
    ranking = dict(_ranking(out))
    assert set(ranking) == {"b", "c", "d"}
    assert ranking["b"] > ranking["d"] > ranking["c"]
    assert ranking["b"] > 1.0


def test_rank_text_features_are_discrete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import hartley

    rng = np.random.default_rng(12)
    n = 600
    level = rng.integers(0, 3, n)
    target = level + 0.3 * rng.standard_normal(n)
    noise = rng.standard_normal(n)
    count = rng.integers(0, 4, n)
    colour = np.array(["red", "green", "blue"])[level]
    lines = [
        f"{t!r},{z!r},{c},{m}"
        for t, z, c, m in zip(target.tolist(), noise.tolist(), colour, count.tolist(), strict=True)
    ]
    path = tmp_path / "mixed.csv"
    path.write_text("target,noise,colour,count\n" + "\n".join(lines) + "\n", encoding="utf-8")

    assert main(["rank", str(path), "--target", "target", "--discrete-features", "count"]) == 0
    out = capsys.readouterr().out
    ranking = dict(_ranking(out))
    assert "text columns scored as discrete features: 'colour'" in out
    # The same scores as the library with the text coded as labels.
    codes = np.unique(colour, return_inverse=True)[1]
    X = np.column_stack([noise, codes, count]).astype(float)
    ref = hartley.mutual_info_regression(X, target, discrete_features=[1, 2])
    got = [ranking["noise"], ranking["colour"], ranking["count"]]
    np.testing.assert_allclose(got, ref, atol=5e-5)  # the table prints 4 decimals
    assert ranking["colour"] > 0.8

    # A text column with an empty cell is reported, not guessed at.
    path.write_text("t,c\n1.0,red\n2.0,\n3.0,blue\n4.0,red\n", encoding="utf-8")
    code = main(["rank", str(path), "--target", "t", "--k", "1"])
    _assert_one_line_error(capsys, code, "'c'", "empty cells")


def test_semicolon_separated_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cols = _dependent_columns()
    path = _write_csv(tmp_path / "semi.csv", cols, sep=";")
    assert main(["rank", str(path), "--target", "a"]) == 0
    semi = dict(_ranking(capsys.readouterr().out))
    assert main(["rank", str(_write_csv(tmp_path / "comma.csv", cols)), "--target", "a"]) == 0
    assert semi == dict(_ranking(capsys.readouterr().out))
    assert set(semi) == {"b", "c", "d"}


# ---------------------------------------------------------------- errors


def test_error_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["mi", str(tmp_path / "absent.csv"), "--x", "a", "--y", "b"])
    _assert_one_line_error(capsys, code, "absent.csv", "no such file")


def test_error_unknown_column(csv_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["mi", str(csv_file), "--x", "a", "--y", "nope"])
    _assert_one_line_error(capsys, code, "'nope'", "--y", "columns: a, b, c, d")
    code = main(["rank", str(csv_file), "--target", "9"])
    _assert_one_line_error(capsys, code, "'9'", "--target")


def test_error_non_numeric_cell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("x,y\n1.0,2.0\n2.0,oops\n3.0,1.5\n", encoding="utf-8")
    code = main(["mi", str(path), "--x", "x", "--y", "y"])
    _assert_one_line_error(capsys, code, "'oops'", "line 3", "not a number")
    code = main(["rank", str(path), "--target", "x"])
    _assert_one_line_error(capsys, code, "'oops'")


def test_error_missing_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "gaps.csv"
    path.write_text("x,y\n1.0,2.0\n2.0,nan\n3.0,1.5\n4.0,inf\n", encoding="utf-8")
    code = main(["mi", str(path), "--x", "x", "--y", "y"])
    _assert_one_line_error(capsys, code, "'y'", "line 3", "2 of 4 rows")


def test_error_malformed_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("x,y\n1,2\n3\n", encoding="utf-8")
    _assert_one_line_error(capsys, main(["mi", str(ragged), "--x", "x", "--y", "y"]), "line 3")
    fake = tmp_path / "fake.npy"
    fake.write_bytes(b"not an array at all")
    _assert_one_line_error(capsys, main(["mi", str(fake), "--x", "0", "--y", "1"]), "fake.npy")
    other = tmp_path / "data.xlsx"
    other.write_bytes(b"")
    _assert_one_line_error(capsys, main(["mi", str(other), "--x", "0", "--y", "1"]), ".parquet")


def test_error_from_estimator_is_one_line(
    csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["mi", str(csv_file), "--x", "a", "--y", "b", "--k", "5000"])
    _assert_one_line_error(capsys, code, "k")


def test_error_overlapping_groups(csv_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["mi", str(csv_file), "--x", "a,b", "--y", "b"])
    _assert_one_line_error(capsys, code, "'b'")


@pytest.mark.skipif(HAS_PYARROW, reason="pyarrow is installed")
def test_error_parquet_without_pyarrow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "data.parquet"
    path.write_bytes(b"PAR1")
    code = main(["mi", str(path), "--x", "a", "--y", "b"])
    _assert_one_line_error(capsys, code, "pip install pyarrow")


@pytest.mark.skipif(not HAS_PYARROW, reason="pyarrow is not installed")
def test_mi_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "data.parquet"
    pq.write_table(pa.table(_dependent_columns()), path)
    assert main(["mi", str(path), "--x", "a", "--y", "b"]) == 0
    assert _value(capsys.readouterr().out, "I(X;Y)") > 0.5


def test_usage_errors_return_two(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["mi", "x.csv", "--x", "a"]) == 2  # --y missing
    assert main(["mi", "x.csv", "--x", "a", "--y", "b", "--ci", "1.5"]) == 2
    err = capsys.readouterr().err
    assert "--y" in err and "confidence" in err
    assert main(["--help"]) == 0
