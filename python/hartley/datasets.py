"""Small real data sets that ship with hartley.

The files live in ``hartley/data/`` inside the installed package; see the
README there for their sources and licences.
"""

from __future__ import annotations

import io
from importlib import resources

import numpy as np

__all__ = ["load_wine"]

_WINE_FILE = "wine.csv"
_WINE_TARGET = "cultivar"


def _read_bundled(name: str) -> str:
    return (resources.files("hartley") / "data" / name).read_text(encoding="utf-8")


def load_wine() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Load the Wine recognition data (178 wines, 13 features, 3 cultivars).

    The results of a chemical analysis of wines grown in the same region of
    Italy from three different cultivars: 13 continuous measurements per wine
    (alcohol, malic acid, ..., proline) and the cultivar it came from. It is
    a classic small benchmark for feature ranking, since a few measurements
    (flavanoids, proline, colour intensity) separate the cultivars well and
    others (ash, magnesium) barely do.

    Source: UCI Machine Learning Repository, Forina, M. et al., *Wine*,
    https://doi.org/10.24432/C5PC7J, licensed under CC BY 4.0.

    Returns
    -------
    X : numpy.ndarray of shape (178, 13), dtype float64
        The measurements, one row per wine.
    y : numpy.ndarray of shape (178,), dtype int64
        The cultivar of each wine: 1, 2 or 3 (59, 71 and 48 wines).
    feature_names : list of str
        The 13 column names of ``X``, in order (``"alcohol"``,
        ``"malic_acid"``, ..., ``"proline"``).

    See Also
    --------
    mutual_info_classif : Rank these features against the cultivar.

    Examples
    --------
    >>> from hartley.datasets import load_wine
    >>> X, y, names = load_wine()
    >>> X.shape, y.shape
    ((178, 13), (178,))
    >>> names[:3]
    ['alcohol', 'malic_acid', 'ash']
    >>> sorted(set(y.tolist()))
    [1, 2, 3]
    """
    text = _read_bundled(_WINE_FILE)
    header, _, body = text.partition("\n")
    columns = header.strip().split(",")
    if columns[-1] != _WINE_TARGET:  # pragma: no cover - guards the shipped file
        raise RuntimeError(f"bundled {_WINE_FILE} is damaged: unexpected header")
    table = np.loadtxt(io.StringIO(body), delimiter=",", dtype=np.float64, ndmin=2)
    X = np.ascontiguousarray(table[:, :-1])
    y = table[:, -1].astype(np.int64)
    return X, y, columns[:-1]
