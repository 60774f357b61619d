"""The side-by-side benchmarks still run: every case once, on tiny inputs."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ["mi1d", "mi5d", "ranking", "classif", "entropy", "entropy_l2", "memory"]


def test_bench_estimators_smoke():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benches" / "bench_estimators.py"), "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    for name in CASES:
        assert f"  {name} " in proc.stdout, f"case {name} did not run"
    assert "error:" not in proc.stdout


def test_bench_binary_smoke():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benches" / "bench_binary.py"), "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    for title in ("Recall@10", "Exhaustive Hamming scan", "End to end"):
        assert title in proc.stdout, f"report {title!r} missing"

KERNEL_CASES = [
    "euclidean",
    "rbf",
    "euclidean_xy",
    "rbf_xy",
    "vendi",
    "mmd",
    "energy",
    "cs",
    "frechet",
    "sliced",
    "memory",
]


def test_bench_kernels_smoke():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benches" / "bench_kernels.py"), "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    for name in KERNEL_CASES:
        assert f"  {name} " in proc.stdout, f"case {name} did not run"
    assert "error:" not in proc.stdout


def test_bench_hnsw_smoke():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benches" / "bench_hnsw.py"), "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    for name in ("hartley", "hnswlib", "faiss"):
        assert f"memory {name}" in proc.stdout, f"{name} did not run"
    assert "## Approximate nearest neighbours (HNSW)" in proc.stdout
