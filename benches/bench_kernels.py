"""hartley's pairwise kernels and kernel measures side by side with the libraries they replace.

Each case runs hartley and its peer (scikit-learn, vendi-score, dcor, POT,
scipy) in one process on the same seeded data, keeps the best of a few timed
runs after a warm-up, and reports both times, their ratio and the largest
difference between the results. Peers that use BLAS are limited to the same
number of threads as hartley with threadpoolctl.

    python benches/bench_kernels.py            # full sizes, print the tables
    python benches/bench_kernels.py --write    # ... and update the Kernels part of BENCHMARKS.md
    python benches/bench_kernels.py --smoke    # every case once on tiny inputs
    python benches/bench_kernels.py --only rbf
"""

from __future__ import annotations

import json
import math
import sys
from contextlib import nullcontext
from pathlib import Path

import numpy as np
from _harness import (
    Case,
    Entry,
    case_markdown,
    case_parser,
    command_line,
    exit_status,
    in_subprocess,
    machine_markdown,
    need,
    parse_bench_args,
    peak_rss_growth,
    run_cases,
    today,
    write_section,
)

ROOT = Path(__file__).resolve().parent.parent
PEER_DISTS = ["numpy", "scipy", "scikit-learn", "vendi-score", "dcor", "POT", "threadpoolctl"]
THREADS = 2
SMOKE_N = 300
D = 384


def limit():
    """BLAS limited to THREADS threads (when threadpoolctl is installed)."""
    try:
        import threadpoolctl
    except ImportError:
        return nullcontext()
    return threadpoolctl.threadpool_limits(THREADS)


def _hartley():
    import hartley

    return hartley


# ---------------------------------------------------------------------- data


def embeddings(n: int, dtype, seed: int = 0, shift: float = 0.0) -> np.ndarray:
    """n points in 384 dimensions: a random low-rank structure plus noise, like
    sentence embeddings (a few dominant directions, a long tail)."""
    rng = np.random.default_rng(seed)
    basis = np.random.default_rng(99).standard_normal((64, D)) / 8
    x = rng.standard_normal((n, 64)) @ basis + 0.3 * rng.standard_normal((n, D)) + shift
    return x.astype(dtype)


def self_data(dtype):
    def make(n: int) -> dict:
        x = embeddings(n, dtype)
        return {"X": x, "desc": f"X: {n:,} x {D} {np.dtype(dtype).name}, compared with itself."}

    return make


def pair_data(dtype, shift: float = 0.1):
    def make(n: int) -> dict:
        x, y = embeddings(n, dtype, 0), embeddings(n, dtype, 1, shift)
        desc = (
            f"X and Y: {n:,} x {D} {np.dtype(dtype).name} each (Y from the same law, "
            f"shifted by {shift} in every coordinate), seeds 0 and 1."
        )
        return {"X": x, "Y": y, "desc": desc}

    return make


# -------------------------------------------------------------------- peers


def sk(func: str, *args: str, **kw):
    def fn(d: dict):
        pw = need("sklearn.metrics.pairwise")
        with limit():
            return getattr(pw, func)(*(d[a] for a in args), **kw)

    return fn


def hart(func: str, args: tuple[str, ...], **kw) -> Entry:
    shown = ", ".join([*args, *(f"{k}={v!r}" for k, v in kw.items())])
    return Entry(
        "hartley",
        f"{func}({shown}, n_jobs={THREADS})",
        str(THREADS),
        lambda d: getattr(_hartley(), func)(*(d[a] for a in args), **kw, n_jobs=THREADS),
    )


def rbf_sums_mmd(d: dict) -> float:
    pw = need("sklearn.metrics.pairwise")
    x, y = d["X"], d["Y"]
    n, m = len(x), len(y)
    with limit():
        kxx, kyy, kxy = pw.rbf_kernel(x), pw.rbf_kernel(y), pw.rbf_kernel(x, y)
    return float((kxx.sum() - n) / (n * (n - 1)) + (kyy.sum() - m) / (m * (m - 1)) - 2 * kxy.mean())


def rbf_sums_cs(d: dict) -> float:
    pw = need("sklearn.metrics.pairwise")
    g = 1 / (2 * d["sigma"] ** 2)
    with limit():
        kxx = pw.rbf_kernel(d["X"], gamma=g).mean()
        kyy = pw.rbf_kernel(d["Y"], gamma=g).mean()
        kxy = pw.rbf_kernel(d["X"], d["Y"], gamma=g).mean()
    return math.log(kxx) + math.log(kyy) - 2 * math.log(kxy)


def cs_data(n: int) -> dict:
    d = pair_data(np.float64)(n)
    d["sigma"] = 8.0
    d["desc"] += " Gaussian kernel width sigma = 8."
    return d


def dcor_energy(d: dict) -> float:
    dcor = need("dcor")
    with limit():
        return float(dcor.energy_distance(d["X"], d["Y"]))


def vendi_dual(d: dict) -> float:
    vendi = need("vendi_score.vendi")
    with limit():
        return float(vendi.score_dual(d["X"], q=1))


def rbf_eig_data(n: int) -> dict:
    d = self_data(np.float64)(n)
    d["desc"] += (
        " RBF kernel with gamma = 1 / 384 (scikit-learn's default): the full spectrum of "
        "an n x n matrix."
    )
    return d


def vendi_rbf_numpy(d: dict) -> float:
    pw = need("sklearn.metrics.pairwise")
    with limit():
        w = np.linalg.eigvalsh(pw.rbf_kernel(d["X"]))
    p = w / w.sum()
    p = p[p > len(w) * np.finfo(float).eps * p.max()]
    return float(np.exp(-(p * np.log(p)).sum()))


def vendi_rbf_package(d: dict) -> float:
    pw = need("sklearn.metrics.pairwise")
    vendi = need("vendi_score.vendi")
    with limit():
        return float(vendi.score_K(pw.rbf_kernel(d["X"]), q=1))


def fid_scipy(d: dict) -> float:
    linalg = need("scipy.linalg")
    x, y = d["X"], d["Y"]
    with limit():
        m1, m2 = x.mean(0), y.mean(0)
        s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
        covmean = np.real(linalg.sqrtm(s1 @ s2))
    return float((m1 - m2) @ (m1 - m2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def sw_data(n: int) -> dict:
    d = pair_data(np.float64)(n)
    d["P"] = _hartley().spectral._core.random_projections(D, 50, 0)
    d["desc"] += " 50 projections, drawn once and given to both."
    return d


def pot_sw(d: dict) -> float:
    ot = need("ot")
    return float(ot.sliced_wasserstein_distance(d["X"], d["Y"], projections=d["P"], p=2))


def build_cases() -> list[Case]:
    def case(name, title, data, size, entries, target=None, notes=""):
        return Case(name, title, data, size, SMOKE_N, entries, target, notes)

    f32 = np.float32
    self32, pair32 = self_data(f32), pair_data(f32)
    sk_upcast = (
        "scikit-learn computes float32 Euclidean distances in float64 blocks (for "
        "accuracy); hartley stays in float32 and recomputes the pairs whose expansion "
        "would cancel. For X against itself hartley computes the upper triangle of "
        "tiles only and mirrors it."
    )
    return [
        case(
            "euclidean",
            "Pairwise Euclidean distances, X with itself",
            self32,
            10_000,
            [
                hart("pairwise_distances", ("X",)),
                Entry(
                    "scikit-learn",
                    "euclidean_distances(X)",
                    "2 (BLAS)",
                    sk("euclidean_distances", "X"),
                ),
            ],
            target=("scikit-learn", 2.0),
            notes=sk_upcast,
        ),
        case(
            "rbf",
            "Pairwise RBF kernel, X with itself",
            self32,
            10_000,
            [
                hart("pairwise_kernels", ("X",), kernel="rbf"),
                Entry("scikit-learn", "rbf_kernel(X)", "2 (BLAS)", sk("rbf_kernel", "X")),
            ],
            target=("scikit-learn", 2.0),
            notes=sk_upcast,
        ),
        case(
            "euclidean_xy",
            "Pairwise Euclidean distances, X against Y",
            pair32,
            10_000,
            [
                hart("pairwise_distances", ("X", "Y")),
                Entry(
                    "scikit-learn",
                    "euclidean_distances(X, Y)",
                    "2 (BLAS)",
                    sk("euclidean_distances", "X", "Y"),
                ),
            ],
            notes=sk_upcast,
        ),
        case(
            "rbf_xy",
            "Pairwise RBF kernel, X against Y",
            pair32,
            10_000,
            [
                hart("pairwise_kernels", ("X", "Y"), kernel="rbf"),
                Entry("scikit-learn", "rbf_kernel(X, Y)", "2 (BLAS)", sk("rbf_kernel", "X", "Y")),
            ],
            notes=sk_upcast,
        ),
        case(
            "vendi",
            "Vendi score, cosine similarity",
            self_data(np.float64),
            20_000,
            [
                hart("vendi_score", ("X",)),
                Entry("vendi-score", "vendi.score_dual(X, q=1)", "2 (BLAS)", vendi_dual),
            ],
            notes="Both through the d x d covariance of the normalised rows.",
        ),
        case(
            "vendi_rbf",
            "Vendi score, RBF kernel (full n x n spectrum)",
            rbf_eig_data,
            6_000,
            [
                hart("vendi_score", ("X",), kernel="rbf"),
                Entry(
                    "numpy eigvalsh",
                    "np.linalg.eigvalsh(rbf_kernel(X)), exp(entropy)",
                    "2 (BLAS)",
                    vendi_rbf_numpy,
                    tol=1e-9,
                ),
                Entry(
                    "vendi-score",
                    "vendi.score_K(rbf_kernel(X))",
                    "2 (BLAS)",
                    vendi_rbf_package,
                    tol=1e-9,
                ),
            ],
            notes=(
                "Nonlinear kernels have no d x d dual: every implementation needs the "
                "eigenvalues of the n x n matrix. numpy (LAPACK dsyevd) and vendi-score "
                "(scipy.linalg.eigvalsh, dsyevr) reduce it to tridiagonal form in one stage, "
                "half of whose flops are matrix-vector products at memory speed; hartley "
                "reduces it in two stages (dense to a band of half-width 32 with matrix "
                "products, then band to tridiagonal by bulge chasing in cache), the "
                "eigenvalues-only path of LAPACK's dsytrd_2stage and ELPA2."
            ),
        ),
        case(
            "mmd",
            "Unbiased MMD^2, RBF kernel",
            pair_data(np.float64),
            10_000,
            [
                hart("mmd", ("X", "Y")),
                Entry(
                    "scikit-learn sums",
                    "rbf_kernel(X), rbf_kernel(Y), rbf_kernel(X, Y) summed",
                    "2 (BLAS)",
                    rbf_sums_mmd,
                    tol=1e-9,
                ),
            ],
            notes=(
                "No package computes the MMD; the peer is the direct computation on "
                "scikit-learn's kernel matrices (three n x n float64 matrices)."
            ),
        ),
        case(
            "energy",
            "Energy distance",
            pair_data(np.float64),
            1_000,
            [
                hart("energy_distance", ("X", "Y")),
                Entry("dcor", "energy_distance(X, Y)", "2 (BLAS)", dcor_energy, tol=1e-8),
            ],
            notes=(
                "dcor forms an n x m x d array of coordinate differences: 3 GB here, 286 GiB "
                "at n = 10,000 (it raises MemoryError), where hartley needs a few MB "
                "(memory table below)."
            ),
        ),
        case(
            "cs",
            "Cauchy-Schwarz divergence",
            cs_data,
            10_000,
            [
                Entry(
                    "hartley",
                    f"cs_divergence(X, Y, sigma=8.0, n_jobs={THREADS})",
                    str(THREADS),
                    lambda d: _hartley().cs_divergence(
                        d["X"], d["Y"], sigma=d["sigma"], n_jobs=THREADS
                    ),
                ),
                Entry(
                    "scikit-learn sums",
                    "log of means of rbf_kernel matrices",
                    "2 (BLAS)",
                    rbf_sums_cs,
                    tol=1e-9,
                ),
            ],
        ),
        case(
            "frechet",
            "Frechet distance (FID formula)",
            pair_data(np.float64),
            20_000,
            [
                hart("frechet_distance", ("X", "Y")),
                Entry(
                    "scipy sqrtm",
                    "np.cov + scipy.linalg.sqrtm(s1 @ s2).real (pytorch-fid)",
                    "2 (BLAS)",
                    fid_scipy,
                    tol=1e-6,
                ),
            ],
        ),
        case(
            "sliced",
            "Sliced Wasserstein distance, p = 2",
            sw_data,
            20_000,
            [
                Entry(
                    "hartley",
                    f"sliced_wasserstein(X, Y, projections=P, n_jobs={THREADS})",
                    str(THREADS),
                    lambda d: _hartley().sliced_wasserstein(
                        d["X"], d["Y"], projections=d["P"], n_jobs=THREADS
                    ),
                ),
                Entry(
                    "POT",
                    "ot.sliced_wasserstein_distance(X, Y, projections=P)",
                    "1",
                    pot_sw,
                    tol=1e-9,
                ),
            ],
        ),
    ]


# -------------------------------------------------------------- formatting


def fmt_result(v) -> str:
    if v is None:
        return "-"
    a = np.asarray(v)
    if a.ndim == 0:
        return f"{float(a):.6g}"
    return f"{a.shape[0]:,} x {a.shape[1]:,} {a.dtype}"


def fmt_diff(v, ref, tol: float) -> str:
    if v is None or ref is None:
        return "-"
    a, b = np.asarray(v, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if a.shape != b.shape:
        return f"**shape {a.shape} vs {b.shape}**"
    d = float(np.max(np.abs(a - b)))
    rel = d / max(float(np.max(np.abs(b))), 1e-300)
    text = f"{d:.1e} (relative {rel:.1e})"
    return text if rel <= tol else f"**{text}, expected <= {tol:g}**"


def case_md(case: Case, smoke: bool) -> str:
    return case_markdown(
        case,
        smoke,
        value_header="result",
        diff_header="largest difference from hartley",
        show_value=fmt_result,
        show_diff=fmt_diff,
        show_ratio=lambda r: f"{r:.2f}x",
    )


# ------------------------------------------------------------------ memory

MEMORY_CALLS = {
    "energy_distance": "energy_distance(X, Y)",
    "mmd": "mmd(X, Y)",
    "cs_divergence": "cs_divergence(X, Y)",
    "vendi_score": "vendi_score(X)",
    "effective_rank": "effective_rank(X)",
    "matrix_nuclear_norm": "matrix_nuclear_norm(X, approx=False)",
    "frechet_distance": "frechet_distance(X, Y)",
    "sliced_wasserstein": "sliced_wasserstein(X, Y)",
}


def memory_child(func: str, n: int) -> None:
    import hartley

    x, y = embeddings(n, np.float64, 0), embeddings(n, np.float64, 1, 0.1)
    two = func in (
        "energy_distance",
        "mmd",
        "cs_divergence",
        "frechet_distance",
        "sliced_wasserstein",
    )
    kw = {"approx": False} if func == "matrix_nuclear_norm" else {}
    fn = getattr(hartley, func)
    call = (
        (lambda d: fn(d["X"], d["Y"], n_jobs=THREADS))
        if two
        else (lambda d: fn(d["X"], n_jobs=THREADS, **kw))
    )
    call({"X": x[:50], "Y": y[:50]})  # warm the pool outside the measurement
    print(json.dumps(peak_rss_growth(call, {"X": x, "Y": y})))


def run_memory(smoke: bool) -> tuple[str, bool]:
    n = SMOKE_N if smoke else 20_000
    nn = n * n * 8
    lines = [
        "### Memory at n = 20,000, d = 384",
        "",
        f"X and Y: {n:,} x {D} float64 each ({n * D * 8 / 1e6:.0f} MB each). Each call runs in a "
        "fresh process; the figure is the growth of peak RSS during the call. An n x n float64 "
        f"matrix would take {nn / 1e6:,.0f} MB.",
        "",
        "| call | threads | peak RSS growth (MB) | result |",
        "|---|---|---:|---|",
    ]
    failed = False
    for func, shown in MEMORY_CALLS.items():
        res = in_subprocess([Path(__file__), "--memory-child", func, n])
        if "error" in res:
            failed = True
            lines.append(f"| `{shown}` | {THREADS} | {res['error']} | |")
            continue
        print(f"  memory       {func:<22} +{res['growth'] / 1e6:.1f} MB")
        lines.append(f"| `{shown}` | {THREADS} | {res['growth'] / 1e6:.1f} | {res['value']:.6g} |")
    lines.append("")
    return "\n".join(lines), failed


# -------------------------------------------------------------------- report


def main(argv: list[str] | None = None) -> int:
    cases = build_cases()
    names = [c.name for c in cases] + ["memory"]
    write_help = "update the kernels part of BENCHMARKS.md"
    ap = case_parser(__doc__, names, write_help=write_help, child_metavar="FUNC")
    ap.add_argument("--size", type=int, help="run the selected cases at this n instead")
    args = parse_bench_args(ap, argv)
    if args.memory_child:
        memory_child(args.memory_child[0], int(args.memory_child[1]))
        return 0
    if (args.only or args.size) and args.write:
        ap.error("--write regenerates the whole kernels part: run every case")
    command = command_line("bench_kernels.py", argv)
    selected = args.only or names
    if args.size:
        for case in cases:
            if case.name in selected:
                case.size = args.size
    reports, failed = run_cases(cases, selected, args, case_md)
    parts = list(reports.values())
    if "memory" in selected:
        body, mem_failed = run_memory(args.smoke)
        parts.append(body)
        failed = failed or mem_failed
    report = "\n".join(
        [
            "## Kernels and spectral measures",
            "",
            f"Same method as above: warm-up, up to {args.repeats} timed runs taking turns, best "
            "time kept; `time / hartley` above 1 means hartley is faster. BLAS peers are "
            f"limited to {THREADS} threads with threadpoolctl; hartley runs with n_jobs={THREADS}.",
            "",
            machine_markdown(PEER_DISTS),
            "",
            *parts,
            f"Run on {today()} with `{command}`.",
        ]
    )
    print("\n" + report)
    if args.write:
        write_section(ROOT / "BENCHMARKS.md", "kernels", report)
        print(f"wrote {ROOT / 'BENCHMARKS.md'}")
    return exit_status(failed)


if __name__ == "__main__":
    sys.exit(main())
