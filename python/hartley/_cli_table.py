"""Plain-text tables and number formatting for the command line."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["bar", "fmt_float", "fmt_interval", "fmt_seconds", "format_table", "unit_name"]


def format_table(
    headers: Sequence[str] | None,
    rows: Sequence[Sequence[str]],
    align: str | None = None,
    indent: int = 2,
) -> str:
    """Lay out string cells in aligned columns.

    ``align`` holds one character per column, ``"l"`` or ``"r"``; by default
    the first column is left-aligned and the rest right-aligned. A rule of
    dashes separates the headers from the body. Trailing blanks are trimmed.
    """
    body = [list(r) for r in rows]
    table = ([list(headers)] if headers is not None else []) + body
    if not table:
        return ""
    ncol = max(len(r) for r in table)
    for r in table:
        r.extend([""] * (ncol - len(r)))
    if align is None:
        align = "l" + "r" * (ncol - 1)
    if len(align) != ncol:
        raise ValueError(f"align has {len(align)} letters for {ncol} columns")
    widths = [max(len(r[j]) for r in table) for j in range(ncol)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.ljust(w) if a == "l" else c.rjust(w)
            for c, w, a in zip(cells, widths, align, strict=True)
        ]
        return (" " * indent + "  ".join(parts)).rstrip()

    out = []
    if headers is not None:
        out.append(line(table[0]))
        out.append(" " * indent + "  ".join("-" * w for w in widths))
    out.extend(line(r) for r in body)
    return "\n".join(out)


def fmt_float(x: float, digits: int = 4) -> str:
    """Fixed-point with ``digits`` decimals; ``nan``/``inf`` spelled out."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    s = f"{x:.{digits}f}"
    # "-0.0000" reads as a sign error; a value that rounds to zero is zero.
    return s[1:] if s.startswith("-") and float(s) == 0.0 else s


def fmt_interval(low: float, high: float, digits: int = 4) -> str:
    return f"[{fmt_float(low, digits)}, {fmt_float(high, digits)}]"


def fmt_seconds(seconds: float) -> str:
    """Elapsed time in a unit that keeps three significant figures or so."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def bar(value: float, top: float, width: int = 24) -> str:
    """A row of ``#`` whose length is ``value / top`` of ``width``."""
    if not (top > 0) or not math.isfinite(value) or value <= 0:
        return ""
    return "#" * max(1, round(width * min(value / top, 1.0)))


def unit_name(base: float) -> str:
    """Name of the unit of information for a logarithm base."""
    if math.isclose(base, math.e):
        return "nats"
    if base == 2:
        return "bits"
    if base == 10:
        return "hartleys"
    return f"log-{base:g} units"
