"""hartley's HNSWIndex side by side with hnswlib and faiss IndexHNSWFlat.

All three build a graph with the same M and ef_construction on the real
sentence embeddings of ../shared/data (float16 rows cast to float32 and
re-normalised; held-out rows are the queries, exact cosine top-10 the ground
truth), with 2 threads; then each sweeps ef and answers the queries on 1
thread. The figures: recall@10 against queries per second (a table and a PNG
plot), queries per second at recall@10 = 0.95 (interpolated along each curve),
build time, and resident memory per vector (each library in a fresh process).
A second part (`_hnsw_hamming.py`) compares the Hamming-metric HNSWIndex with
the exhaustive BinaryIndex scan on the binarized embeddings at several corpus
sizes.

    python benches/bench_hnsw.py            # full size, print the tables
    python benches/bench_hnsw.py --only hamming --write   # rerun one part, keep the other
    python benches/bench_hnsw.py --write    # ... and update BENCHMARKS.md and the plot
    python benches/bench_hnsw.py --smoke    # tiny sizes, every step once
    python benches/bench_hnsw.py --replot   # redraw plot and section from the last run
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import _hnsw_hamming
import numpy as np
from _harness import (
    PeerMissing,
    command_line,
    in_subprocess,
    load_average,
    machine_markdown,
    need,
    parse_bench_args,
    today,
)
from _harness import write_section as write_md_section

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "stdlib-docstrings-minilm-384.f16.npy"
PLOT = ROOT / "benches" / "plots" / "hnsw_recall_qps.png"
M, EF_CONSTRUCTION, K = 16, 200, 10
BUILD_THREADS = 2
EFS = [10, 16, 20, 24, 28, 32, 40, 48, 64, 96, 128, 192, 256]
SMOKE_EFS = [10, 32, 128]
TARGET_RECALL = 0.95
LIBS = ["hartley", "hnswlib", "faiss"]
PEER_DISTS = ["numpy", "hnswlib", "faiss-cpu"]


# ---------------------------------------------------------------------- data


def load_data(
    n_queries: int, n_base: int | None, smoke: bool
) -> tuple[np.ndarray, np.ndarray, str]:
    """Base rows and held-out queries, float32 and L2-normalised."""
    if DATA.exists():
        x = np.load(DATA, mmap_mode="r")
        rows = x.shape[0] if n_base is None else min(x.shape[0], n_base + n_queries)
        x = np.asarray(x[:rows], dtype=np.float32)
        source = f"`{DATA.name}` (real all-MiniLM-L6-v2 sentence embeddings, float16 on disk)"
    elif smoke:
        x = np.random.default_rng(0).standard_normal((n_base + n_queries, 64)).astype(np.float32)
        source = "random Gaussian vectors (the real data is not present)"
    else:
        raise SystemExit(f"{DATA} not found: the benchmark needs the real embeddings")
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    perm = np.random.default_rng(0).permutation(len(x))
    q = np.ascontiguousarray(x[perm[:n_queries]])
    base = np.ascontiguousarray(x[perm[n_queries:]])
    return base, q, source


def ground_truth(base: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Exact cosine top-K ids (vectors are normalised, so the largest dot products)."""
    out = np.empty((len(q), K), dtype=np.int64)
    for s in range(0, len(q), 256):
        sims = q[s : s + 256] @ base.T
        top = np.argpartition(-sims, K, axis=1)[:, :K]
        order = np.argsort(-np.take_along_axis(sims, top, 1), axis=1, kind="stable")
        out[s : s + 256] = np.take_along_axis(top, order, 1)
    return out


def recall_at_k(ids: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(np.intersect1d(a, b)) for a, b in zip(ids, truth, strict=True))
    return hits / truth.size


# ----------------------------------------------------------------- libraries


class Lib:
    """One implementation: build with BUILD_THREADS threads, search on 1 thread."""

    name = ""
    call = ""

    def build(self, base: np.ndarray) -> None:
        raise NotImplementedError

    def search(self, q: np.ndarray, ef: int) -> np.ndarray:
        raise NotImplementedError


class Hartley(Lib):
    name = "hartley"
    call = (
        f"HNSWIndex(384, metric='cosine', M={M}, ef_construction={EF_CONSTRUCTION})"
        f".add(X, n_jobs={BUILD_THREADS}); .search(Q, {K}, ef=ef, n_jobs=1)"
    )

    def build(self, base: np.ndarray) -> None:
        from hartley import HNSWIndex

        self.index = HNSWIndex(base.shape[1], metric="cosine", M=M, ef_construction=EF_CONSTRUCTION)
        self.index.add(base, n_jobs=BUILD_THREADS)

    def search(self, q: np.ndarray, ef: int) -> np.ndarray:
        return self.index.search(q, K, ef=ef, n_jobs=1)[1]


class Hnswlib(Lib):
    name = "hnswlib"
    call = (
        f"Index('cosine', 384).init_index(n, M={M}, ef_construction={EF_CONSTRUCTION}); "
        f"add_items(X, num_threads={BUILD_THREADS}); set_ef(ef); knn_query(Q, {K}, num_threads=1)"
    )

    def build(self, base: np.ndarray) -> None:
        hnswlib = need("hnswlib")
        self.index = hnswlib.Index(space="cosine", dim=base.shape[1])
        self.index.init_index(max_elements=len(base), M=M, ef_construction=EF_CONSTRUCTION)
        self.index.add_items(base, num_threads=BUILD_THREADS)

    def search(self, q: np.ndarray, ef: int) -> np.ndarray:
        self.index.set_ef(ef)
        return self.index.knn_query(q, k=K, num_threads=1)[0]


class Faiss(Lib):
    name = "faiss"
    call = (
        f"IndexHNSWFlat(384, {M}, METRIC_INNER_PRODUCT), efConstruction={EF_CONSTRUCTION}; "
        f"add(X) on {BUILD_THREADS} OpenMP threads; efSearch=ef; search(Q, {K}) on 1"
    )

    def build(self, base: np.ndarray) -> None:
        faiss = need("faiss")
        faiss.omp_set_num_threads(BUILD_THREADS)
        self.index = faiss.IndexHNSWFlat(base.shape[1], M, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = EF_CONSTRUCTION
        self.index.add(base)

    def search(self, q: np.ndarray, ef: int) -> np.ndarray:
        faiss = need("faiss")
        faiss.omp_set_num_threads(1)
        self.index.hnsw.efSearch = ef
        return self.index.search(q, K)[1]


def make(name: str) -> Lib:
    return {"hartley": Hartley, "hnswlib": Hnswlib, "faiss": Faiss}[name]()


# ------------------------------------------------------------------ measures


def qps_at(curve: list[tuple[int, float, float]], target: float, col: int = 2) -> float:
    """Queries/s at `target` recall, interpolating log(QPS) linearly in recall
    between the two sweep points around it (nan if the sweep never reaches it).

    Each point's QPS is first capped by the QPS of every smaller ef (a wider
    beam is never faster), so that a run that happened to be lucky on a busy
    machine cannot lift the interpolated figure.
    """
    ordered = sorted(curve, key=lambda p: p[0])
    capped, low = [], math.inf
    for p in ordered:
        low = min(low, p[col])
        capped.append((p[1], low))
    pts = sorted(capped)
    for (r0, q0), (r1, q1) in itertools.pairwise(pts):
        if r0 <= target <= r1:
            if r1 == r0:
                return max(q0, q1)
            t = (target - r0) / (r1 - r0)
            return math.exp(math.log(q0) + t * (math.log(q1) - math.log(q0)))
    if pts and pts[0][0] >= target:
        return pts[0][1]  # even the smallest ef beats the target
    return math.nan


def rss_bytes() -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1)) * 1024


def memory_child(name: str, n_base: int) -> None:
    """In a fresh process: load the data, then measure the RSS the built index adds."""
    base, _, _ = load_data(1000, None if n_base <= 0 else n_base, smoke=n_base > 0)
    lib = make(name)
    if name == "hnswlib":
        need("hnswlib")
    else:
        need("faiss" if name == "faiss" else "hartley")
    before = rss_bytes()
    lib.build(base)
    after = rss_bytes()
    print(json.dumps({"per_vector": (after - before) / len(base), "n": len(base)}))


# --------------------------------------------------------------------- report


def markdown(res: dict[str, Any], smoke: bool) -> str:
    libs = res["libs"]
    lines = [
        "## Approximate nearest neighbours (HNSW)",
        "",
        f"Data: {res['source']}; {res['n_base']:,} base vectors and {res['n_queries']:,} "
        f"held-out queries of dimension {res['dim']}, cast to float32 and L2-normalised; "
        f"ground truth is the exact cosine top-{K}. Every library builds with M = {M}, "
        f"ef_construction = {EF_CONSTRUCTION} on {BUILD_THREADS} threads, then answers all "
        "queries in one batch on 1 thread for each ef; times are the best of "
        f"{res['repeats']} runs taken in turn with the other libraries (wall clock; the "
        "thread's CPU time is shown too, as it is less disturbed by other work on this "
        "shared machine). QPS at recall 0.95 interpolates log(QPS) between the sweep "
        "points around 0.95, after capping each point by the QPS of smaller ef. "
        "Memory is the growth "
        "of resident memory (VmRSS) while the index is built, in a fresh process per "
        "library, divided by the number of vectors (each vector alone is "
        f"{4 * res['dim']:,} bytes).",
        "",
        "| library | call | build (s) | build / hartley | memory per vector (bytes) "
        "| queries/s at recall@10 = 0.95 | hartley speed-up | queries per CPU second "
        "at 0.95 | hartley speed-up (CPU) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ref = libs.get("hartley", {})
    for name in LIBS:
        r = libs.get(name)
        if r is None:
            continue
        if "error" in r:
            lines.append(f"| {name} | `{make(name).call}` | {r['error']} | | | | | | |")
            continue
        b = r["build"]
        bratio = b / ref["build"] if ref.get("build") else math.nan
        q95 = r["qps95"]
        speed = ref.get("qps95", math.nan) / q95 if q95 else math.nan
        mem = r.get("memory", math.nan)
        c95 = r["cpu95"]
        cspeed = ref.get("cpu95", math.nan) / c95 if c95 else math.nan
        lines.append(
            f"| {name} | `{make(name).call}` | {b:.1f} | "
            f"{'1 (reference)' if name == 'hartley' else f'{bratio:.2f}x'} | "
            f"{mem:,.0f} | {q95:,.0f} | "
            f"{'1 (reference)' if name == 'hartley' else f'{speed:.2f}x'} | {c95:,.0f} | "
            f"{'1 (reference)' if name == 'hartley' else f'{cspeed:.2f}x'} |"
        )
    lines += [
        "",
        "Recall@10 and queries per second (1 thread; per CPU second in brackets) along "
        "the ef sweep:",
        "",
    ]
    head = "| ef | " + " | ".join(
        f"{n} recall | {n} q/s" for n in LIBS if "curve" in libs.get(n, {})
    )
    lines += [head + " |", "|---:|" + "---:|---:|" * (head.count("recall"))]
    efs = sorted({ef for n in LIBS for ef, *_ in libs.get(n, {}).get("curve", [])})
    for ef in efs:
        cells = []
        for n in LIBS:
            if "curve" not in libs.get(n, {}):
                continue
            pt = next((p for p in libs[n]["curve"] if p[0] == ef), None)
            cells.append("- | -" if pt is None else f"{pt[1]:.4f} | {pt[2]:,.0f} ({pt[3]:,.0f})")
        lines.append(f"| {ef} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"![recall@10 against queries per second]({PLOT.relative_to(ROOT).as_posix()})",
        "",
        f"Machine load (1-minute average) {res['load'][0]:.2f} before, {res['load'][1]:.2f} after.",
        "",
    ]
    lines += targets(res, smoke)
    return "\n".join(lines) + "\n"


def float_body(res: dict[str, Any], smoke: bool) -> str:
    return markdown(res, smoke) + f"\nRun on {res['date']} with `{res['command']}`.\n"


def hamming_body(res: dict[str, Any]) -> str:
    return _hnsw_hamming.markdown(res) + f"Run on {res['date']} with `{res['command']}`.\n"


def section(body: str) -> str:
    """A section of BENCHMARKS.md: the float part ("hnsw") or the Hamming
    part ("hnsw_hamming"), each with the machine it ran on, so that either
    can be rerun alone."""
    return body + "\n### Machine\n\n" + machine_markdown(PEER_DISTS) + "\n"


def write_sections(res: dict[str, Any] | None, ham: dict[str, Any] | None) -> None:
    """Writes the sections there are results for."""
    if res is not None:
        write_md_section(ROOT / "BENCHMARKS.md", "hnsw", section(float_body(res, False)))
    if ham is not None:
        write_md_section(ROOT / "BENCHMARKS.md", "hnsw_hamming", section(hamming_body(ham)))
    print(f"wrote {ROOT / 'BENCHMARKS.md'}")


def targets(res: dict[str, Any], smoke: bool) -> list[str]:
    if smoke:
        return ["Targets: not evaluated in smoke mode."]
    libs = res["libs"]
    ours = libs.get("hartley", {})
    peers = [libs[n] for n in ("hnswlib", "faiss") if "qps95" in libs.get(n, {})]
    out = []
    if "qps95" in ours and peers:
        best = max(p["qps95"] for p in peers)
        r = ours["qps95"] / best
        out.append(
            f"Target: queries/s at recall@10 = 0.95 >= 1.2x the faster peer: "
            f"{'**met**' if r >= 1.2 else '**missed**'} ({r:.2f}x)."
        )
        fastest = min(p["build"] for p in peers)
        b = ours["build"] / fastest
        out.append(
            f"Target: build time <= 0.8x the faster peer's: "
            f"{'**met**' if b <= 0.8 else '**missed**'} ({b:.2f}x)."
        )
    if "memory" in ours and "memory" in libs.get("hnswlib", {}):
        m = ours["memory"] / libs["hnswlib"]["memory"]
        out.append(
            f"Target: memory per vector <= hnswlib's: "
            f"{'**met**' if m <= 1 else '**missed**'} ({m:.3f}x)."
        )
    return out or ["Targets: **not measured** (a library failed)."]


def plot(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for name in LIBS:
        curve = res["libs"].get(name, {}).get("curve")
        if not curve:
            continue
        ax.plot([c[1] for c in curve], [c[2] for c in curve], marker="o", ms=3, label=name)
    ax.axvline(TARGET_RECALL, color="grey", lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_xlabel(f"recall@{K}")
    ax.set_ylabel("queries per second (1 thread)")
    ax.set_title(
        f"HNSW, M={M}, ef_construction={EF_CONSTRUCTION}: "
        f"{res['n_base']:,} x {res['dim']} embeddings"
    )
    ax.grid(True, which="both", lw=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


# ----------------------------------------------------------------------- main


def run(args: argparse.Namespace) -> dict[str, Any]:
    smoke = args.smoke
    n_queries = 100 if smoke else args.queries
    base, q, source = load_data(n_queries, 2000 if smoke else None, smoke)
    truth = ground_truth(base, q)
    efs = SMOKE_EFS if smoke else EFS
    repeats = 1 if smoke else args.repeats
    res: dict[str, Any] = {
        "source": source,
        "n_base": len(base),
        "n_queries": len(q),
        "dim": base.shape[1],
        "repeats": repeats,
        "libs": {},
    }
    before = load_average()
    libs = {name: make(name) for name in args.libs}
    builds: dict[str, list[float]] = {name: [] for name in libs}
    for rep in range(1 if smoke else args.build_repeats):
        for name, lib in list(libs.items()):
            try:
                t0 = time.perf_counter()
                lib.build(base)
                builds[name].append(time.perf_counter() - t0)
            except PeerMissing as exc:
                res["libs"][name] = {"error": str(exc)}
                del libs[name]
                continue
            print(f"  build {name:<8} {builds[name][-1]:.2f} s (run {rep + 1})", flush=True)
    for name in libs:
        res["libs"][name] = {"build": min(builds[name]), "curve": []}
    for ef in efs:
        best: dict[str, float] = {}
        cpu: dict[str, float] = {}
        rec: dict[str, float] = {}
        for rep in range(repeats):
            for name, lib in libs.items():
                c0, t0 = time.thread_time(), time.perf_counter()
                ids = lib.search(q, ef)
                dt, dc = time.perf_counter() - t0, time.thread_time() - c0
                best[name] = min(best.get(name, math.inf), dt)
                cpu[name] = min(cpu.get(name, math.inf), dc)
                if rep == 0:
                    rec[name] = recall_at_k(np.asarray(ids), truth)
        for name in libs:
            point = (ef, rec[name], len(q) / best[name], len(q) / max(cpu[name], 1e-9))
            res["libs"][name]["curve"].append(point)
        print(
            f"  ef={ef:<4} "
            + "  ".join(
                f"{n}: {rec[n]:.4f} @ {len(q) / best[n]:,.0f} q/s "
                f"({len(q) / max(cpu[n], 1e-9):,.0f} per CPU s)"
                for n in libs
            ),
            flush=True,
        )
    for name in libs:
        res["libs"][name]["qps95"] = qps_at(res["libs"][name]["curve"], TARGET_RECALL)
        res["libs"][name]["cpu95"] = qps_at(res["libs"][name]["curve"], TARGET_RECALL, col=3)
    del libs
    res["load"] = (before, load_average())
    script = Path(__file__).resolve()
    for name in res["libs"]:
        if "error" in res["libs"][name]:
            continue
        out = in_subprocess([script, "--memory-child", name, 2000 if smoke else 0])
        if "error" in out:
            res["libs"][name]["memory_error"] = out["error"]
            print(f"  memory {name}: {out['error']}", flush=True)
        else:
            res["libs"][name]["memory"] = out["per_vector"]
            print(f"  memory {name:<8} {out['per_vector']:,.0f} bytes/vector", flush=True)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, every step once")
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md and the plot")
    ap.add_argument("--repeats", type=int, default=5, help="timed search runs per ef")
    ap.add_argument("--build-repeats", type=int, default=2, help="timed builds per library")
    ap.add_argument("--queries", type=int, default=1000, help="held-out queries")
    ap.add_argument("--libs", nargs="+", default=LIBS, choices=LIBS)
    ap.add_argument(
        "--only",
        choices=["float", "hamming"],
        help="run one part; with --write the other part is kept from its last run",
    )
    ap.add_argument(
        "--hamming-sizes",
        nargs="+",
        type=int,
        default=[2_000, 10_000, 0, 200_000, 1_000_000],
        help="corpus sizes of the Hamming part (0: the real corpus; smaller: its first rows)",
    )
    ap.add_argument(
        "--replot",
        action="store_true",
        help="redraw the plot and the BENCHMARKS.md section from benches/results/hnsw*.json",
    )
    ap.add_argument("--memory-child", nargs=2, metavar=("LIB", "N"), help=argparse.SUPPRESS)
    args = parse_bench_args(ap, argv)
    if args.memory_child:
        memory_child(args.memory_child[0], int(args.memory_child[1]))
        return 0
    raw = ROOT / "benches" / "results" / "hnsw.json"
    raw_ham = ROOT / "benches" / "results" / "hnsw_hamming.json"
    command = command_line("bench_hnsw.py", argv)

    if args.replot:
        res = json.loads(raw.read_text()) if raw.exists() else None
        ham = json.loads(raw_ham.read_text()) if raw_ham.exists() else None
        if res is None and ham is None:
            ap.error(f"no results in {raw.parent}: run the bench first")
        if res is not None:
            plot(res, PLOT)
            print(f"wrote {PLOT}")
        write_sections(res, ham)
        return 0
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    res: dict[str, Any] | None = None
    ham: dict[str, Any] | None = None
    failed = False
    if args.only != "hamming":
        res = run(args)
        res["command"], res["date"] = command, today()
        failed = "error" in res["libs"].get("hartley", {"error": "missing"})
        if not args.smoke:
            raw.parent.mkdir(parents=True, exist_ok=True)
            raw.write_text(json.dumps(res, indent=1))
    if args.only != "float":
        smoke = args.smoke
        n_queries = 100 if smoke else args.queries
        base, q, _ = load_data(n_queries, 2000 if smoke else None, smoke)
        sizes = [1000, 0, 3000] if smoke else args.hamming_sizes
        ham = _hnsw_hamming.run(base, q, sizes, smoke, 1 if smoke else min(args.repeats, 3))
        ham["command"], ham["date"] = command, today()
        if not smoke:
            raw_ham.parent.mkdir(parents=True, exist_ok=True)
            raw_ham.write_text(json.dumps(ham, indent=1))
    if res is not None:
        print("\n" + float_body(res, args.smoke))
    if ham is not None:
        print("\n" + hamming_body(ham))
    if args.smoke:
        try:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                if res is not None:
                    plot(res, Path(tmp) / "plot.png")
            print("  plot ok")
        except ImportError:
            print("  plot skipped: matplotlib is not installed (a bench extra)")
    if args.write:
        if res is not None:
            plot(res, PLOT)
            print(f"wrote {PLOT}")
        write_sections(res, ham)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
