"""hartley's k-nearest-neighbour estimators side by side with the libraries they replace.

Each case runs hartley and its peers (scikit-learn, NPEET, infomeasure) in one
process on the same seeded data, keeps the best of a few timed runs after a
warm-up, and reports both times, their ratio and both estimates.

    python benches/bench_estimators.py            # full sizes, print the tables
    python benches/bench_estimators.py --write    # ... and regenerate BENCHMARKS.md
    python benches/bench_estimators.py --smoke    # every case once on tiny inputs
    python benches/bench_estimators.py --only mi5d
"""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
from _harness import (
    HEADER,
    Case,
    Entry,
    case_json,
    case_markdown,
    case_parser,
    command_line,
    exit_status,
    in_subprocess,
    machine_markdown,
    memory_markdown,
    need,
    parse_bench_args,
    peak_rss_growth,
    provenance,
    run_cases,
    write_report,
)

ROOT = Path(__file__).resolve().parent.parent
PEER_DISTS = ["numpy", "scipy", "scikit-learn", "npeet-plus", "infomeasure"]
SMOKE_N = 2_000
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


# ---------------------------------------------------------------------- data


def mi1d_arrays(n: int) -> tuple[np.ndarray, np.ndarray]:
    """x ~ N(0, 1), y = x + 0.5 e; built in place so no temporaries raise peak memory."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n)
    y = rng.standard_normal(n)
    y *= 0.5
    y += x
    return x, y


def mi1d_data(n: int) -> dict:
    x, y = mi1d_arrays(n)
    desc = (
        f"x ~ N(0, 1), y = x + 0.5 e with e ~ N(0, 1) independent; n = {n:,}, seed 0. "
        f"True MI = ln(5) / 2 = {math.log(5) / 2:.5f} nats."
    )
    return {"x": x, "y": y, "desc": desc}


def linear_pair(n: int, d: int, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """x ~ N(0, I_d) and y = a x + b e with e ~ N(0, I_d), seed 0."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d))
    return x, a * x + b * rng.standard_normal((n, d))


def mi5d_data(n: int) -> dict:
    x, y = linear_pair(n, 5, 0.6, 0.8)
    desc = (
        f"x ~ N(0, I_5), y = 0.6 x + 0.8 e with e ~ N(0, I_5); n = {n:,}, seed 0. "
        f"True MI = -(5/2) ln(1 - 0.36) = {-2.5 * math.log(0.64):.5f} nats "
        "(KSG is biased low in 10 joint dimensions; the estimates should agree with each other)."
    )
    return {"x": x, "y": y, "desc": desc}


def mi_hd_data(n: int) -> dict:
    x, y = linear_pair(n, 16, 0.5, math.sqrt(0.75))
    desc = (
        f"x ~ N(0, I_16), y = 0.5 x + sqrt(0.75) e with e ~ N(0, I_16); n = {n:,}, seed 0. "
        f"True MI = -8 ln(0.75) = {-8 * math.log(0.75):.5f} nats (KSG is biased low in 32 "
        "joint dimensions; the estimates should agree with each other)."
    )
    return {"x": x, "y": y, "desc": desc}


def entropy_hd_data(n: int) -> dict:
    x = np.random.default_rng(0).standard_normal((n, 64))
    h = 32 * math.log(2 * math.pi * math.e)
    desc = f"x ~ N(0, I_64); n = {n:,}, seed 0. True entropy = 32 ln(2 pi e) = {h:.4f} nats."
    return {"x": x, "desc": desc}


def ranking_data(n: int) -> dict:
    p = 50 if n > SMOKE_N else 5
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p))
    signal = X[:, 0] + np.sin(2 * X[:, 1]) + 0.5 * X[:, 2] ** 2 + 0.3 * X[:, 3]
    y = signal + 0.5 * rng.standard_normal(n)
    labels = (signal > 0).astype(np.int64) + (signal > 1.5)
    desc = (
        f"X ~ N(0, I_{p}), n = {n:,} rows x {p} features, seed 0; "
        "target y = x0 + sin(2 x1) + x2^2 / 2 + 0.3 x3 + 0.5 e (features 0-3 informative, "
        "the rest independent noise); classes = the signal cut at 0 and 1.5 (3 classes)."
    )
    return {"X": X, "y": y, "labels": labels, "desc": desc}


def frame_data(n: int) -> dict:
    """The ranking data as a pandas user hands it over: X in Fortran order."""
    d = ranking_data(n)
    d["X"] = np.asfortranarray(d["X"])
    d["desc"] = d["desc"] + (
        " X is in Fortran order, as `DataFrame.to_numpy()` usually returns a frame's values."
    )
    return d


def crowded_data(n: int) -> dict:
    p = 20 if n > SMOKE_N else 5
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((n, p))
    W = np.abs(rng.standard_normal((n, p)))
    X = np.empty((n, p))
    for j in range(p):
        z = Z[:, j]
        kinds = [
            np.exp(2 * z),  # skewed
            z / W[:, j],  # Cauchy-tailed
            rng.poisson(np.exp(0.5 * z)),  # counts
            z > 0,  # binary
            np.floor(1.2 * z).clip(-2, 2),  # five levels
        ]
        X[:, j] = kinds[j % 5]
    signal = Z[:, :5].sum(axis=1) / math.sqrt(5)
    zero = rng.random(n) < 0.4
    y = np.where(zero, 0.0, np.exp(0.5 * signal + 0.25 * rng.standard_normal(n)))
    desc = (
        f"n = {n:,} rows x {p} features, seed 0, features cycling through five kinds made "
        "from independent z ~ N(0, 1): exp(2z) (skewed), z / |N(0, 1)| (Cauchy tails), "
        "Poisson(exp(z / 2)) counts, z > 0 (binary), floor(1.2 z) clipped to [-2, 2] "
        "(five levels); target 0 for 40% of rows, else exp(s / 2 + e / 4) with s the "
        "standardised sum of the first five z (one feature of each kind informative)."
    )
    return {"X": X, "y": y, "desc": desc}


def entropy_data(n: int) -> dict:
    x = np.random.default_rng(0).standard_normal((n, 3))
    h = 1.5 * math.log(2 * math.pi * math.e)
    desc = f"x ~ N(0, I_3); n = {n:,}, seed 0. True entropy = (3/2) ln(2 pi e) = {h:.5f} nats."
    return {"x": x, "desc": desc}


# -------------------------------------------------------------------- calls


def _hartley():
    import hartley

    return hartley


def _arg(v) -> str:
    return f'"{v}"' if isinstance(v, str) else str(v)


def hart(func: str, args: tuple[str, ...], **kw) -> list[Entry]:
    """hartley's `func` with `n_jobs=2` (the reference row), then with one thread."""
    rows = []
    for n_jobs, label in ((kw.pop("n_jobs", 2), "hartley"), (1, "hartley (1 thread)")):
        shown = ", ".join([*args, *(f"{k}={_arg(v)}" for k, v in kw.items())])
        rows.append(
            Entry(
                label,
                f"{func}({shown}, n_jobs={n_jobs})",
                str(CORES if n_jobs == -1 else n_jobs),
                lambda d, n_jobs=n_jobs: getattr(_hartley(), func)(
                    *(d[a] for a in args), **kw, n_jobs=n_jobs
                ),
            )
        )
    return rows


def npeet(func: str, *cols: str):
    def fn(d: dict) -> float:
        mod = need("npeet_plus")
        np.random.seed(0)  # noqa: NPY002 - NPEET draws its jitter from the global generator
        arrays = [d[c] if d[c].ndim == 2 else d[c][:, None] for c in cols]
        return getattr(mod, func)(*arrays, k=3, base=math.e)

    return fn


def im_mi(d: dict) -> float:
    im = need("infomeasure")
    return float(im.mutual_information(d["x"], d["y"], approach="ksg", k=3, seed=0))


def im_entropy(p: float):
    def fn(d: dict) -> float:
        im = need("infomeasure")
        return float(im.entropy(d["x"], approach="metric", k=3, minkowski_p=p))

    return fn


def sklearn(func: str, x: str, y: str, n_jobs: int, n_neighbors: int = 3):
    def fn(d: dict):
        fs = need("sklearn.feature_selection")
        X = d[x] if d[x].ndim == 2 else d[x][:, None]
        mi = getattr(fs, func)(X, d[y], n_neighbors=n_neighbors, random_state=0, n_jobs=n_jobs)
        return mi if d[x].ndim == 2 else float(mi[0])

    return fn


UNSCALED = (
    "NPEET and infomeasure do not rescale the variables; hartley and scikit-learn "
    "divide each by its standard deviation, which moves the max-norm neighbourhoods "
    "slightly, so their estimates differ by a fraction of the estimator's noise."
)
# Rescaling moves max-norm neighbourhoods: the difference is of the order of
# the estimator's own noise, about 0.3 / sqrt(n) here.
UNSCALED_TOL = 0.02
PER_FEATURE = "Both called with random_state=0. Estimates are one value per feature."
TIED = (
    "Ties are broken by each library's own random jitter, so where a column or the "
    "target is tied the estimates differ by a fraction of the estimator's noise."
)
# Jitter draws move scores on tied columns by about 0.003 at n = 100,000 and
# 0.02 at the smoke size.
TIED_TOL = 0.03
SK_MI1 = "mutual_info_regression(x[:, None], y, n_neighbors=3, n_jobs=2)"
SK_RANK = "(X, {}, n_neighbors={}, n_jobs=-1)"
# The neighbour count of the ranking case with more neighbours.
MANY_NEIGHBOURS = 16
IM_MI = 'mutual_information(x, y, approach="ksg", k=3)'


def regression_entries(n_neighbors: int = 3, **tol: float) -> list[Entry]:
    """hartley's and scikit-learn's mutual_info_regression on X against y."""
    return [
        *hart("mutual_info_regression", ("X", "y"), n_neighbors=n_neighbors, n_jobs=-1),
        Entry(
            "scikit-learn",
            "mutual_info_regression" + SK_RANK.format("y", n_neighbors),
            str(CORES),
            sklearn("mutual_info_regression", "X", "y", -1, n_neighbors),
            **tol,
        ),
    ]


def build_cases() -> list[Case]:
    def case(name, title, data, size, entries, target=None, notes=""):
        return Case(name, title, data, size, SMOKE_N, entries, target, notes)

    return [
        case(
            "mi1d",
            "1-D mutual information",
            mi1d_data,
            1_000_000,
            [
                *hart("mutual_info", ("x", "y"), k=3),
                Entry(
                    "scikit-learn",
                    SK_MI1,
                    "1 (n_jobs splits features)",
                    sklearn("mutual_info_regression", "x", "y", 2),
                ),
                Entry(
                    "NPEET",
                    "mi(x[:, None], y[:, None], k=3, base=e)",
                    "1",
                    npeet("mi", "x", "y"),
                    UNSCALED_TOL,
                ),
                Entry("infomeasure", IM_MI, "1", im_mi, UNSCALED_TOL),
            ],
            ("scikit-learn", 30),
            UNSCALED,
        ),
        case(
            "mi5d",
            "5-D vs 5-D KSG mutual information",
            mi5d_data,
            100_000,
            [
                *hart("mutual_info", ("x", "y"), k=3, standardize=False),
                Entry("NPEET", "mi(x, y, k=3, base=e)", "1", npeet("mi", "x", "y")),
                Entry("infomeasure", IM_MI, "1", im_mi),
            ],
            ("NPEET", 50),
            "All three compute KSG estimator 1 with the max-norm on unscaled data.",
        ),
        case(
            "ranking",
            "Feature ranking with mutual_info_regression",
            ranking_data,
            100_000,
            regression_entries(),
            ("scikit-learn", 30),
            PER_FEATURE,
        ),
        case(
            "ranking_frame",
            "Feature ranking with mutual_info_regression, X from a data frame",
            frame_data,
            100_000,
            regression_entries(),
            notes=PER_FEATURE,
        ),
        case(
            "ranking_k16",
            f"Feature ranking with mutual_info_regression, {MANY_NEIGHBOURS} neighbours",
            ranking_data,
            100_000,
            regression_entries(MANY_NEIGHBOURS),
            notes=PER_FEATURE
            + " More neighbours than the default 3 trade variance for bias; hartley's"
            " searches for up to 16 run on a faster path than those for more.",
        ),
        case(
            "ranking_crowded",
            "Feature ranking on skewed, heavy-tailed and discrete columns",
            crowded_data,
            100_000,
            regression_entries(tol=TIED_TOL),
            notes=PER_FEATURE + " " + TIED,
        ),
        case(
            "classif",
            "Feature ranking with mutual_info_classif",
            ranking_data,
            100_000,
            [
                *hart("mutual_info_classif", ("X", "labels"), n_neighbors=3, n_jobs=-1),
                Entry(
                    "scikit-learn",
                    "mutual_info_classif" + SK_RANK.format("labels", 3),
                    str(CORES),
                    sklearn("mutual_info_classif", "X", "labels", -1),
                ),
            ],
            notes=PER_FEATURE,
        ),
        case(
            "entropy",
            "Kozachenko-Leonenko entropy, max-norm, 3-D",
            entropy_data,
            100_000,
            [
                *hart("entropy", ("x",), k=3, metric="chebyshev"),
                Entry("NPEET", "entropy(x, k=3, base=e)", "1", npeet("entropy", "x")),
                Entry(
                    "infomeasure",
                    'entropy(x, approach="metric", k=3)',
                    "1",
                    im_entropy(math.inf),
                ),
            ],
            notes="NPEET's entropy and infomeasure's default both use the max-norm.",
        ),
        case(
            "mi_hd",
            "16-D vs 16-D KSG mutual information",
            mi_hd_data,
            20_000,
            [
                *hart("mutual_info", ("x", "y"), k=3, standardize=False),
                Entry("NPEET", "mi(x, y, k=3, base=e)", "1", npeet("mi", "x", "y")),
            ],
            notes="Both compute KSG estimator 1 with the max-norm on unscaled data.",
        ),
        case(
            "entropy_hd",
            "Kozachenko-Leonenko entropy, max-norm, 64-D",
            entropy_hd_data,
            20_000,
            [
                *hart("entropy", ("x",), k=3, metric="chebyshev"),
                Entry("NPEET", "entropy(x, k=3, base=e)", "1", npeet("entropy", "x")),
            ],
            notes="NPEET's entropy uses the max-norm.",
        ),
        case(
            "entropy_l2",
            "Kozachenko-Leonenko entropy, Euclidean, 3-D",
            entropy_data,
            100_000,
            [
                *hart("entropy", ("x",), k=3),
                Entry(
                    "infomeasure",
                    'entropy(x, approach="metric", k=3, minkowski_p=2)',
                    "1",
                    im_entropy(2),
                ),
            ],
        ),
    ]


# ------------------------------------------------------------ peak memory

MEMORY_N = 1_000_000
MEMORY_LIBS = {"hartley": "hartley", "scikit-learn": "sklearn.feature_selection"}


def memory_entries() -> dict[str, Entry]:
    mi1d = build_cases()[0]
    return {e.label: e for e in mi1d.entries if e.label in MEMORY_LIBS}


def memory_child(label: str, n: int) -> None:
    """In a fresh process: import, build the data, then measure the call's peak RSS."""
    entry = memory_entries()[label]
    importlib.import_module(MEMORY_LIBS[label])
    print(json.dumps(peak_rss_growth(entry.fn, mi1d_data(n))))


def run_memory(smoke: bool) -> tuple[str, bool, dict]:
    n = SMOKE_N if smoke else MEMORY_N
    script = Path(__file__).resolve()
    results = {
        label: in_subprocess([script, "--memory-child", label, str(n)]) for label in MEMORY_LIBS
    }
    desc = (
        f"Data as in the 1-D case (n = {n:,}); x and y are float64, "
        f"{16 * n / 1e6:g} MB together. Each library runs in a fresh process; the "
        "figure is the growth of peak RSS during the call (VmHWM, the maxrss of "
        "`getrusage`), over a baseline taken after importing the library and "
        "creating the data."
    )
    body = memory_markdown(
        "Peak memory of 1-D mutual information",
        desc,
        memory_entries(),
        results,
        input_bytes=16 * n,
        limit=3.0,
        smoke=smoke,
    )
    return body, "error" in results["hartley"], results


# --------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    cases = build_cases()
    names = [c.name for c in cases] + ["memory"]
    ap = case_parser(__doc__, names, write_help="regenerate BENCHMARKS.md", child_metavar="LIB")
    args = parse_bench_args(ap, argv)
    if args.memory_child:
        memory_child(args.memory_child[0], int(args.memory_child[1]))
        return 0

    command = command_line("bench_estimators.py", argv)
    selected = args.only or names
    sections, failed = run_cases(cases, selected, args, case_markdown)
    raw = {case.name: case_json(case) for case in cases if case.name in sections}
    if "memory" in selected:
        sections["memory"], mem_failed, raw["memory"] = run_memory(args.smoke)
        failed = failed or mem_failed

    for name, body in sections.items():
        sections[name] = body.rstrip() + f"\n\n{provenance(command)}\n"
        print("\n" + sections[name])
    if not args.smoke:
        path = ROOT / "benches" / "results" / "estimators.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        kept = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps({**kept, **raw}, indent=1))
    if args.write:
        header = HEADER.format(
            repeats=args.repeats,
            budget=args.budget,
            command="python benches/bench_estimators.py --write",
            machine=machine_markdown(PEER_DISTS),
        )
        write_report(ROOT / "BENCHMARKS.md", header, sections, names)
        print(f"wrote {ROOT / 'BENCHMARKS.md'}")
    return exit_status(failed)


if __name__ == "__main__":
    sys.exit(main())
