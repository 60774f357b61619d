"""Reading tables for the command line: CSV/TSV, NPY and Parquet.

Every failure here becomes a :class:`CLIError` carrying a one-line message
meant for the user, so the command line can print it and exit with status 2.
"""

from __future__ import annotations

import csv
import importlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["CLIError", "Table", "read_table"]

_SUFFIXES = ".csv, .tsv, .npy or .parquet"
_MAX_LISTED = 12


Column = np.ndarray | list[str]


class CLIError(Exception):
    """A problem with the user's input, reported as one line on stderr."""


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass
class Table:
    """Named columns read from a file; cells stay as read until selected.

    ``columns`` holds either float64 arrays (NPY, numeric Parquet columns)
    or lists of strings (CSV/TSV, other Parquet columns) that are converted
    when a command asks for them, so an unused text column is no obstacle.
    """

    source: str
    names: list[str]
    columns: list[Column]  # float64 arrays, or cells as read (see class docs)
    n_rows: int
    lines: list[int] | None = None  # file line of each row, for messages about text files
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for i, name in enumerate(self.names):
            self._index.setdefault(name, i)

    def resolve(self, spec: str, option: str) -> list[int]:
        """Column positions for a comma list of names or 0-based indices."""
        tokens = [t.strip() for t in spec.split(",")]
        if not spec.strip() or any(not t for t in tokens):
            raise CLIError(f"{option}: empty column name in {spec!r}")
        picked: list[int] = []
        for tok in tokens:
            if tok in self._index:
                if self.names.count(tok) > 1:
                    raise CLIError(f"{option}: column name {tok!r} is not unique in {self.source}")
                picked.append(self._index[tok])
            elif tok.isdigit() and int(tok) < len(self.names):
                picked.append(int(tok))
            else:
                raise CLIError(
                    f"{option}: unknown column {tok!r} in {self.source} "
                    f"(columns: {self.describe_columns()})"
                )
        if len(set(picked)) != len(picked):
            raise CLIError(f"{option}: a column is listed twice in {spec!r}")
        return picked

    def describe_columns(self) -> str:
        shown = self.names[:_MAX_LISTED]
        more = len(self.names) - len(shown)
        text = ", ".join(shown) + (f", ... ({more} more)" if more > 0 else "")
        return text if self.names else "none"

    def numeric(self, positions: Sequence[int]) -> np.ndarray:
        """The selected columns as a float64 array of shape (n_rows, len(positions))."""
        out = np.empty((self.n_rows, len(positions)), dtype=np.float64)
        for j, pos in enumerate(positions):
            out[:, j] = self._to_float(pos)
            bad = np.flatnonzero(~np.isfinite(out[:, j]))
            if bad.size:
                raise CLIError(
                    f"column {self.names[pos]!r} in {self.source}, {self._where(int(bad[0]))}: "
                    f"missing or non-finite value ({bad.size} of {self.n_rows} rows)"
                )
        return out

    def _where(self, row: int) -> str:
        return f"line {self.lines[row]}" if self.lines else f"row {row + 1}"

    def is_text(self, pos: int) -> bool:
        """Whether a column holds text: no non-empty cell of it is a number."""
        col = self.columns[pos]
        if isinstance(col, np.ndarray):
            return False
        cells = [c for c in col if c != ""]
        return bool(cells) and not any(_is_number(c) for c in cells)

    def labels(self, pos: int) -> np.ndarray:
        """A column read as class labels (numbers or text), coded 0..n_classes-1."""
        col = self.columns[pos]
        if not isinstance(col, np.ndarray) and all(_is_number(c) for c in col):
            col = np.array(col, dtype=np.float64)  # so that "1" and "1.0" are one class
        values = col if isinstance(col, np.ndarray) else np.asarray(col, dtype=object)
        if isinstance(col, np.ndarray) and np.isnan(col).any():
            raise CLIError(f"column {self.names[pos]!r} in {self.source} has missing values")
        if any(v == "" for v in values.tolist()):
            raise CLIError(f"column {self.names[pos]!r} in {self.source} has empty cells")
        _, codes = np.unique(values, return_inverse=True)
        return codes.astype(np.int64).reshape(-1)

    def _to_float(self, pos: int) -> np.ndarray:
        col = self.columns[pos]
        if isinstance(col, np.ndarray):
            return col
        try:
            return np.array(col, dtype=np.float64)
        except (ValueError, TypeError):
            pass
        for row, cell in enumerate(col):
            if not isinstance(cell, str) or not _is_number(cell):
                where = self._where(row)
                shown = "an empty cell" if cell in ("", None) else f"{cell!r}"
                raise CLIError(
                    f"column {self.names[pos]!r} in {self.source}, {where}: {shown} is not a number"
                )
        raise CLIError(f"column {self.names[pos]!r} in {self.source} is not numeric")


def read_table(path: str) -> Table:
    """Read a .csv, .tsv, .npy or .parquet file into a :class:`Table`."""
    suffix = os.path.splitext(path)[1].lower()
    readers = {
        ".csv": _read_delimited,
        ".tsv": _read_delimited,
        ".npy": _read_npy,
        ".parquet": _read_parquet,
    }
    if suffix not in readers:
        raise CLIError(
            f"{path}: unsupported file type {suffix or '(none)'!r}; expected {_SUFFIXES}"
        )
    if not os.path.exists(path):
        raise CLIError(f"{path}: no such file")
    if os.path.isdir(path):
        raise CLIError(f"{path}: is a directory, not a file")
    try:
        table = readers[suffix](path)
    except OSError as exc:
        raise CLIError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    if table.n_rows == 0:
        raise CLIError(f"{path}: no data rows")
    if not table.names:
        raise CLIError(f"{path}: no columns")
    return table


def _delimiter(path: str, first_line: str) -> str:
    """Tab for .tsv; for .csv a comma, unless the first line has none but has
    semicolons (the usual separator where the comma is the decimal mark) or
    tabs."""
    if path.lower().endswith(".tsv"):
        return "\t"
    if "," not in first_line:
        for other in (";", "\t"):
            if other in first_line:
                return other
    return ","


def _read_delimited(path: str) -> Table:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            delimiter = _delimiter(path, fh.readline())
            fh.seek(0)
            reader = csv.reader(fh, delimiter=delimiter)
            rows, lines = [], []
            for r in reader:
                if any(c.strip() for c in r):
                    rows.append([c.strip() for c in r])
                    lines.append(reader.line_num)
    except UnicodeDecodeError:
        raise CLIError(f"{path}: not a UTF-8 text file") from None
    except csv.Error as exc:
        raise CLIError(
            f"{path}: malformed {os.path.splitext(path)[1][1:].upper()} ({exc})"
        ) from None
    if not rows:
        raise CLIError(f"{path}: file is empty")
    has_header = not all(_is_number(c) for c in rows[0])
    width = len(rows[0])
    names = rows[0] if has_header else [str(j) for j in range(width)]
    body = rows[1:] if has_header else rows
    body_lines = lines[1:] if has_header else lines
    for r, line in zip(body, body_lines, strict=True):
        if len(r) != width:
            fields = f"{len(r)} field" + ("" if len(r) == 1 else "s")
            raise CLIError(f"{path}: line {line} has {fields}, expected {width}")
    columns: list[Column] = (
        [list(c) for c in zip(*body, strict=True)] if body else [[] for _ in names]
    )
    return Table(path, names, columns, len(body), lines=body_lines)


def _read_npy(path: str) -> Table:
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic != b"\x93NUMPY":
        raise CLIError(f"{path}: not a .npy file (it lacks the NumPy file header)")
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise CLIError(f"{path}: not a readable .npy array of numbers ({exc})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.names is not None:
        raise CLIError(f"{path}: expected a plain 2-D numeric array")
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise CLIError(f"{path}: expected a 2-D array (rows x columns), got {arr.ndim}-D")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise CLIError(f"{path}: array dtype {arr.dtype} is not numeric")
    if np.iscomplexobj(arr):
        raise CLIError(f"{path}: complex numbers are not supported")
    data = np.asarray(arr, dtype=np.float64)
    columns: list[Column] = [np.ascontiguousarray(data[:, j]) for j in range(data.shape[1])]
    return Table(path, [str(j) for j in range(data.shape[1])], columns, data.shape[0])


def _read_parquet(path: str) -> Table:
    try:
        pq = importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise CLIError("reading .parquet files needs pyarrow: pip install pyarrow") from None
    try:
        table = pq.read_table(path)
    except OSError:
        raise
    except Exception as exc:  # pyarrow raises its own error types for bad files
        raise CLIError(f"{path}: not a readable Parquet file ({exc})") from None
    names = [str(n) for n in table.column_names]
    columns: list[Column] = []
    for col in table.columns:
        values = col.to_numpy(zero_copy_only=False)
        if np.issubdtype(values.dtype, np.number) or values.dtype == np.bool_:
            columns.append(np.asarray(values, dtype=np.float64))
        else:
            columns.append(["" if v is None else str(v) for v in values.tolist()])
    return Table(path, names, columns, table.num_rows)
