"""The side-by-side benchmarks still run: every case once, on tiny inputs."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASES = [
    "mi1d",
    "mi5d",
    "ranking",
    "ranking_frame",
    "ranking_crowded",
    "classif",
    "entropy",
    "entropy_l2",
    "memory",
]
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


def smoke(script: str) -> str:
    """Run `benches/<script> --smoke`, require success, return its stdout."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benches" / script), "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc.stdout


@pytest.mark.parametrize(
    ("script", "cases"), [("bench_estimators.py", CASES), ("bench_kernels.py", KERNEL_CASES)]
)
def test_case_bench_smoke(script, cases):
    out = smoke(script)
    for name in cases:
        assert f"  {name} " in out, f"case {name} did not run"
    assert "error:" not in out


def test_bench_binary_smoke():
    out = smoke("bench_binary.py")
    for title in ("Recall@10", "Exhaustive Hamming scan", "End to end"):
        assert title in out, f"report {title!r} missing"


def test_bench_hnsw_smoke():
    out = smoke("bench_hnsw.py")
    for name in ("hartley", "hnswlib", "faiss"):
        assert f"memory {name}" in out, f"{name} did not run"
    assert "## Approximate nearest neighbours (HNSW)" in out
    assert "### Hamming metric: HNSW graph or exhaustive scan?" in out
    for corpus in ("(real) | BinaryIndex", "(tiled) | HNSWIndex"):
        assert corpus in out, f"Hamming row {corpus!r} missing"
