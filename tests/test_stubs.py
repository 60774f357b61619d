"""The type stubs of the compiled extension match what it exports, and the
typed facade passes mypy --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_core_stub_matches_runtime() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "hartley._core"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_facade_is_strictly_typed() -> None:
    # The sources of the checkout, not the installed copy: mypy must see them
    # under their own root, not inside site-packages.
    package = ROOT / "python" / "hartley"
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(package)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
