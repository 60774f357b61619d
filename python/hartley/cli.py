"""The ``hartley`` command line.

::

    hartley demo [--n N] [--seed S]
    hartley mi FILE --x COLS --y COLS [--z COLS] [--k 3] [--base 2] [--ci 0.95]
    hartley rank FILE --target COL [--discrete-target] [--k 3] [--top N]

FILE is a .csv (comma- or semicolon-separated) or .tsv, with or without a
header row, a 2-D .npy array or, when pyarrow is installed, a .parquet file.
COLS is a comma-separated list of column names or 0-based column indices.
Text columns given to ``rank`` are scored as discrete features. Problems with
the input are reported as one line on standard error with exit status 2.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

import hartley
from hartley._cli_demo import DEFAULT_N, run_demo
from hartley._cli_io import CLIError, Table, read_table
from hartley._cli_table import bar, fmt_float, fmt_interval, fmt_seconds, format_table, unit_name

__all__ = ["main"]

PROG = "hartley"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _base(text: str) -> float:
    if text.strip().lower() == "e":
        return math.e
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 2, e, 10 or another number > 0, got {text!r}"
        ) from None
    if not (value > 0 and value != 1 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"logarithm base must be positive and not 1, got {text!r}")
    return value


def _confidence(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"confidence level must lie between 0 and 1, got {text!r}")
    return value


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("hartley")
    except Exception:
        return "unknown"


def _add_file_options(cmd: argparse.ArgumentParser, base_help: str) -> None:
    cmd.add_argument("file", metavar="FILE", help=".csv, .tsv, .npy or .parquet file")
    cmd.add_argument("--k", type=_positive_int, default=3, help="neighbours (default: 3)")
    cmd.add_argument("--base", type=_base, default=math.e, help=base_help)
    cmd.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    cmd.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        metavar="N",
        help="threads: 1 sequential, -1 all cores (default: all cores)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``hartley`` command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Fast k-nearest-neighbour estimates of entropy and mutual information.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = sub.add_parser(
        "demo",
        help="estimates against known truths, then rank the Wine data",
        description="Check estimates against closed-form values on simulated data, "
        "then rank the measurements of the bundled Wine data against the cultivar.",
    )
    demo.add_argument(
        "--n",
        type=_positive_int,
        default=DEFAULT_N,
        help="samples per simulated case (default: %(default)s)",
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")

    mi = sub.add_parser(
        "mi",
        help="mutual information between column groups of a file",
        description="Estimate I(X;Y), or I(X;Y|Z) with --z, between groups of columns "
        "of a data file (KSG and Frenzel-Pompe estimators). COLS is a comma-separated "
        "list of column names or 0-based indices.",
    )
    _add_file_options(mi, "logarithm base: e for nats (default), 2 for bits, 10 for hartleys")
    mi.add_argument("--x", required=True, metavar="COLS", help="columns of X")
    mi.add_argument("--y", required=True, metavar="COLS", help="columns of Y")
    mi.add_argument("--z", metavar="COLS", help="columns to condition on (conditional MI)")
    mi.add_argument(
        "--ci",
        type=_confidence,
        metavar="LEVEL",
        help="also report a confidence interval at this level, e.g. 0.95",
    )
    mi.add_argument(
        "--estimator",
        choices=["ksg1", "ksg2"],
        help="KSG variant (default: ksg1; only ksg1 with --z)",
    )
    mi.add_argument(
        "--no-standardize",
        dest="standardize",
        action="store_false",
        help="use the columns as they are instead of scaling each to unit variance",
    )

    rank = sub.add_parser(
        "rank",
        help="rank columns by mutual information with a target",
        description="Rank every other column of a data file by its mutual information "
        "with a target column (mutual_info_regression, or mutual_info_classif with "
        "--discrete-target).",
    )
    _add_file_options(rank, "logarithm base: e for nats (default), 2 for bits")
    rank.add_argument("--target", required=True, metavar="COL", help="target column")
    rank.add_argument(
        "--discrete-target",
        action="store_true",
        help="treat the target as class labels (numbers or text)",
    )
    rank.add_argument(
        "--discrete-features",
        metavar="COLS",
        help="feature columns that hold discrete values (numbers or text); "
        "columns of text are discrete without being listed",
    )
    rank.add_argument(
        "--top", type=_positive_int, metavar="N", help="show only the N highest-ranked columns"
    )
    return parser


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.n < 20:
        raise CLIError(f"demo: --n must be at least 20, got {args.n}")
    run_demo(n=args.n, seed=args.seed)
    return 0


def _key_values(pairs: Sequence[tuple[str, str]]) -> str:
    return format_table(None, [list(p) for p in pairs], align="ll")


def _cmd_mi(args: argparse.Namespace) -> int:
    table = read_table(args.file)
    groups = {"--x": args.x, "--y": args.y}
    if args.z is not None:
        groups["--z"] = args.z
        if args.estimator == "ksg2":
            raise CLIError("--estimator ksg2 is not available with --z; use ksg1")
    picked = {opt: table.resolve(spec, opt) for opt, spec in groups.items()}
    seen: dict[int, str] = {}
    for opt, cols in picked.items():
        for c in cols:
            if c in seen:
                raise CLIError(f"column {table.names[c]!r} is in both {seen[c]} and {opt}")
            seen[c] = opt
    x, y, *z = (table.numeric(cols) for cols in picked.values())
    options: dict[str, Any] = {
        "k": args.k,
        "base": args.base,
        "standardize": args.standardize,
        "ci": args.ci,
        "random_state": args.seed,
        "n_jobs": args.n_jobs,
    }
    start = time.perf_counter()
    if not z:
        estimator = args.estimator or "ksg1"
        result = hartley.mutual_info(x, y, estimator=estimator, **options)
        quantity, method = "I(X;Y)", f"KSG ({estimator}), k = {args.k}"
    else:
        result = hartley.conditional_mutual_info(x, y, z[0], **options)
        quantity, method = "I(X;Y|Z)", f"Frenzel-Pompe (ksg1), k = {args.k}"
    elapsed = time.perf_counter() - start

    def names(opt: str) -> str:
        return ", ".join(table.names[c] for c in picked[opt])

    unit = unit_name(args.base)
    pairs = [
        ("file", f"{args.file} ({table.n_rows} rows)"),
        ("X", names("--x")),
        ("Y", names("--y")),
    ]
    if args.z is not None:
        pairs.append(("Z", names("--z")))
    pairs += [("estimator", method), (quantity, f"{fmt_float(float(result))} {unit}")]
    if isinstance(result, hartley.Estimate):
        detail = f"{result.method}, {result.n_resamples} resamples"
        interval = fmt_interval(result.low, result.high)
        pairs.append((f"{result.confidence * 100:g}% interval", f"{interval} {unit}  ({detail})"))
    pairs.append(("time", fmt_seconds(elapsed)))
    print(_key_values(pairs))
    return 0


def _feature_columns(table: Table, target: int) -> list[int]:
    cols = [j for j in range(len(table.names)) if j != target]
    if not cols:
        raise CLIError(f"{table.source}: no columns besides the target to rank")
    return cols


def _cmd_rank(args: argparse.Namespace) -> int:
    table = read_table(args.file)
    if "," in args.target:
        raise CLIError(f"--target: give exactly one column, got {args.target!r}")
    (target,) = table.resolve(args.target, "--target")
    features = _feature_columns(table, target)
    chosen: set[int] = set()
    if args.discrete_features is not None:
        chosen = set(table.resolve(args.discrete_features, "--discrete-features"))
        if target in chosen:
            raise CLIError("--discrete-features: the target column cannot be a feature")
    text = [j for j in features if j not in chosen and table.is_text(j)]
    chosen.update(text)
    discrete = np.array([j in chosen for j in features], dtype=bool)
    X = np.empty((table.n_rows, len(features)), dtype=np.float64)
    for col, j in enumerate(features):
        X[:, col] = table.labels(j) if j in chosen else table.numeric([j])[:, 0]
    options: dict[str, Any] = {
        "discrete_features": discrete,
        "n_neighbors": args.k,
        "random_state": args.seed,
        "n_jobs": args.n_jobs,
    }
    start = time.perf_counter()
    if args.discrete_target:
        y = table.labels(target)
        scores = hartley.mutual_info_classif(X, y, **options)
        func, what = "mutual_info_classif", f"{len(np.unique(y))} classes"
    else:
        y = table.numeric([target])[:, 0]
        scores = hartley.mutual_info_regression(X, y, **options)
        func, what = "mutual_info_regression", "continuous"
    elapsed = time.perf_counter() - start
    scores = np.asarray(scores, dtype=np.float64) / math.log(args.base)
    order = np.argsort(-scores, kind="stable")
    shown = order[: args.top] if args.top else order
    top = float(scores[order[0]])
    rows = [
        [str(r), table.names[features[j]], fmt_float(float(scores[j])), bar(float(scores[j]), top)]
        for r, j in enumerate(shown, start=1)
    ]
    cols = f"{len(features)} column" + ("s" if len(features) != 1 else "")
    print(
        f"{func}: {cols} of {args.file} ({table.n_rows} rows) against "
        f"{table.names[target]!r} ({what}), k = {args.k}: {fmt_seconds(elapsed)}"
    )
    print()
    print(format_table(["rank", "column", f"MI ({unit_name(args.base)})", ""], rows, align="rlrl"))
    if len(shown) < len(order):
        print(f"  ... and {len(order) - len(shown)} more below the top {len(shown)}")
    if text:
        names = ", ".join(repr(table.names[j]) for j in text)
        print(f"  text columns scored as discrete features: {names}")
    return 0


_COMMANDS = {"demo": _cmd_demo, "mi": _cmd_mi, "rank": _cmd_rank}


def _fail(message: str) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``hartley`` command line; return the process exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return _COMMANDS[args.command](args)
    except CLIError as exc:
        return _fail(str(exc))
    except (ValueError, TypeError) as exc:
        # The estimators name the argument and the problem (k too large, NaN, ...).
        return _fail(str(exc) or type(exc).__name__)
    except hartley.HartleyError as exc:
        print(f"{PROG}: internal error, please report it: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `hartley rank ... | head`); that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
