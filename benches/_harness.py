"""Timing, tables and the BENCHMARKS.md writer shared by the side-by-side benches.

Every case times hartley and one or more peer libraries in the same process on
the same arrays. Each implementation is warmed up once on a small input (so
lazy imports and thread-pool start-up are not timed), then run a few times at
full size; the best (minimum) time is kept. Absolute times on a shared machine
are noisy, so the figure that matters is the ratio to hartley's time.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.metadata
import json
import math
import os
import platform
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hartley._core
import numpy as np


class PeerMissing(Exception):
    """A peer library is not installed: its row is reported, not failed."""


def need(module: str) -> Any:
    """Import `module`, turning ImportError into PeerMissing."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise PeerMissing(f"{module} is not installed") from exc


@dataclass
class Entry:
    """One implementation in a case: how to call it and how to label it."""

    label: str
    call: str  # the call, as shown in the table
    threads: str
    fn: Callable[[dict], Any]
    # Largest difference from hartley expected. Each library draws its own 1e-10
    # jitter, which flips a few near-tied neighbours at 100,000+ points: a peer run
    # with two seeds differs from itself by ~1e-5.
    tol: float = 1e-4


@dataclass
class Row:
    entry: Entry
    times: list[float] = field(default_factory=list)
    value: Any = None
    note: str = ""
    failed: bool = False
    stopped: bool = False

    @property
    def best(self) -> float:
        return min(self.times) if self.times else math.nan


@dataclass
class Case:
    """A benchmark: a data set, hartley's call (the first entry) and its peers."""

    name: str
    title: str
    data: Callable[[int], dict]  # size -> dict of arrays and a description
    size: int
    smoke_size: int
    entries: list[Entry]
    target: tuple[str, float] | None = None  # (peer label, minimum ratio)
    notes: str = ""
    rows: list[Row] = field(default_factory=list)
    description: str = ""
    load: tuple[float, float] = (math.nan, math.nan)  # 1-minute load, before and after


def _call(row: Row, data: dict, timed: bool) -> None:
    """One call of `row`'s implementation; errors end the row."""
    try:
        t0 = time.perf_counter()
        value = row.entry.fn(data)
        dt = time.perf_counter() - t0
    except PeerMissing as exc:
        row.note, row.stopped = str(exc), True
        return
    except Exception as exc:  # reported in the table and in the exit status
        row.note, row.stopped, row.failed = f"error: {type(exc).__name__}: {exc}", True, True
        return
    if timed:
        row.times.append(dt)
        row.value = value


def run_case(case: Case, *, smoke: bool, repeats: int, budget: float) -> Case:
    """Run every entry of `case` on the same data; fills `case.rows`.

    Repeats go round-robin over the implementations, so that a burst of other
    work on the machine does not fall on one of them only. An implementation
    stops repeating once its runs add up to `budget` seconds.
    """
    n = case.smoke_size if smoke else case.size
    data = case.data(n)
    case.description = data["desc"]
    print(f"  {case.name}: n = {n:,}", flush=True)
    before = load_average()
    case.rows = [Row(entry) for entry in case.entries]
    if not smoke:
        warm = case.data(case.smoke_size)
        for row in case.rows:
            _call(row, warm, timed=False)
    for _ in range(1 if smoke else repeats):
        for row in case.rows:
            if not row.stopped and sum(row.times) <= budget:
                _call(row, data, timed=True)
    case.load = (before, load_average())
    for row in case.rows:
        if row.value is not None and not np.all(np.isfinite(np.asarray(row.value, float))):
            row.note, row.failed = f"non-finite estimate {row.value!r}", True
        status = row.note or f"{row.best:.4g} s (best of {len(row.times)})"
        print(f"  {case.name:<12} {row.entry.label:<22} {status}", flush=True)
    return case


def run_cases(
    cases: list[Case],
    selected: list[str],
    args: argparse.Namespace,
    render: Callable[[Case, bool], str],
) -> tuple[dict[str, str], bool]:
    """Run the `selected` cases in order; their `render`ed reports by name,
    and whether any implementation failed."""
    reports: dict[str, str] = {}
    failed = False
    for case in cases:
        if case.name not in selected:
            continue
        run_case(case, smoke=args.smoke, repeats=args.repeats, budget=args.budget)
        failed = failed or any(r.failed for r in case.rows)
        reports[case.name] = render(case, args.smoke)
    return reports, failed


def load_average() -> float:
    """The 1-minute load average: other work on the machine skews the timings."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan


# ----------------------------------------------------------------- formatting


def fmt_value(v: Any) -> str:
    if v is None:
        return "-"
    a = np.asarray(v, dtype=float)
    if a.ndim == 0:
        return f"{float(a):.5f}"
    top = np.argsort(-a, kind="stable")[:5]
    return f"{a.size} values, top 5 features {top.tolist()}"


def fmt_diff(v: Any, ref: Any, tol: float) -> str:
    """Absolute difference, marked when it exceeds what the estimators explain."""
    if v is None or ref is None:
        return "-"
    a, b = np.asarray(v, dtype=float), np.asarray(ref, dtype=float)
    if a.shape != b.shape:
        return f"**shape {a.shape} vs {b.shape}**"
    d = float(np.max(np.abs(a - b)))
    text = f"{d:.1e}" if a.ndim == 0 else f"max {d:.1e}"
    return text if d <= tol else f"**{text} (expected <= {tol:g})**"


def fmt_time(t: float) -> str:
    return "-" if math.isnan(t) else (f"{t:.3f}" if t < 10 else f"{t:.1f}")


def ratio(row: Row, ref: Row) -> float:
    return row.best / ref.best if row.times and ref.times else math.nan


def target_line(case: Case, smoke: bool) -> str:
    if case.target is None:
        return ""
    label, goal = case.target
    if smoke:
        return f"Target: {label} / hartley >= {goal:g}x (not evaluated in smoke mode)."
    peer = next((r for r in case.rows if r.entry.label == label), None)
    r = ratio(peer, case.rows[0]) if peer else math.nan
    if math.isnan(r):
        return f"Target: {label} / hartley >= {goal:g}x: **not measured**."
    verdict = "**met**" if r >= goal else "**missed**"
    return f"Target: {label} / hartley >= {goal:g}x: {verdict} ({r:.1f}x)."


def fmt_ratio(r: float) -> str:
    return f"{r:.1f}x" if r >= 1 else f"{r:.2f}x"


def case_markdown(
    case: Case,
    smoke: bool,
    *,
    value_header: str = "estimate (nats)",
    diff_header: str = "difference from hartley",
    show_value: Callable[[Any], str] = fmt_value,
    show_diff: Callable[[Any, Any, float], str] = fmt_diff,
    show_ratio: Callable[[float], str] = fmt_ratio,
) -> str:
    """The Markdown table of a case that has run, with its notes and target;
    the keywords name and format the result columns."""
    ref = case.rows[0]
    lines = [
        f"### {case.title}",
        "",
        case.description,
        "",
        (
            "| implementation | call | threads | best time (s) | runs "
            f"| time / hartley | {value_header} | {diff_header} |"
        ),
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for row in case.rows:
        e = row.entry
        if row.note and not row.times:
            lines.append(f"| {e.label} | `{e.call}` | {e.threads} | {row.note} | | | | |")
            continue
        rtxt = "1 (reference)" if row is ref else show_ratio(ratio(row, ref))
        diff = "" if row is ref else show_diff(row.value, ref.value, e.tol)
        lines.append(
            f"| {e.label} | `{e.call}` | {e.threads} | {fmt_time(row.best)} | {len(row.times)} "
            f"| {rtxt} | {show_value(row.value)} | {diff} |"
        )
    lines.append("")
    if case.notes:
        lines += [case.notes, ""]
    lines += [
        f"Machine load (1-minute average) {case.load[0]:.2f} before the case, "
        f"{case.load[1]:.2f} after.",
        "",
    ]
    tl = target_line(case, smoke)
    if tl:
        lines += [tl, ""]
    return "\n".join(lines)


# -------------------------------------------------------------------- memory


def _peak_rss() -> int:
    """Peak resident set size of this process so far, in bytes.

    On Linux this reads VmHWM: `getrusage` maxrss survives exec, so a child
    started by a large process would report its parent's peak.
    """
    try:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024
    except (OSError, AttributeError):
        scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, else KiB
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def peak_rss_growth(fn: Callable[[dict], Any], data: dict) -> dict:
    """Growth of this process's peak RSS while `fn(data)` runs, in bytes."""
    try:  # restart the peak from the current RSS (Linux >= 4.0)
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    before = _peak_rss()
    value = fn(data)
    return {"growth": _peak_rss() - before, "value": float(value)}


def in_subprocess(args: list) -> dict:
    """Run `python *args` and parse the JSON it prints last, or report its error."""
    cmd = [sys.executable, *map(str, args)]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or ["no output"]
        return {"error": lines[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def memory_markdown(title, desc, entries, results, *, input_bytes, limit, smoke):
    """Table of peak RSS growth per implementation; `limit` applies to hartley."""
    lines = [
        f"### {title}",
        "",
        desc,
        "",
        "| implementation | call | threads | peak RSS growth (MB) | input multiple "
        + "| estimate (nats) |",
        "|---|---|---|---:|---:|---|",
    ]
    for label, res in results.items():
        e = entries[label]
        if "error" in res:
            lines.append(f"| {label} | `{e.call}` | {e.threads} | {res['error']} | | |")
            continue
        mult = res["growth"] / input_bytes
        lines.append(
            f"| {label} | `{e.call}` | {e.threads} | {res['growth'] / 1e6:.1f} "
            f"| {mult:.2f}x | {res['value']:.5f} |"
        )
        print(f"  {'memory':<12} {label:<22} +{res['growth'] / 1e6:.1f} MB ({mult:.2f}x)")
    lines.append("")
    own = results.get("hartley", {})
    if smoke:
        lines.append(f"Target: hartley <= {limit:g}x the input (not evaluated in smoke mode).")
    elif "growth" not in own:
        lines.append(f"Target: hartley <= {limit:g}x the input: **not measured**.")
    else:
        mult = own["growth"] / input_bytes
        verdict = "**met**" if mult <= limit else "**missed**"
        lines.append(f"Target: hartley <= {limit:g}x the input: {verdict} ({mult:.2f}x).")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------- machine


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_markdown(dists: list[str]) -> str:
    cpu = platform.processor() or "unknown"
    try:
        text = Path("/proc/cpuinfo").read_text()
        found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
        cpu = found.group(1).strip() if found else cpu
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, AttributeError):
        pass
    libs = ", ".join(f"{d} {_version(d)}" for d in ["hartley", *dists])
    tiers, tier = hartley._core._simd_info()
    return "\n".join(
        [
            f"- CPU: {cpu}, {os.cpu_count()} logical cores ({usable} usable){mem}",
            f"- SIMD tier in use: {tier} (this CPU runs {', '.join(tiers)})",
            f"- OS: {platform.system()} {platform.release()}",
            f"- Python {platform.python_version()}; {libs}",
        ]
    )


# ------------------------------------------------------------------ report

HEADER = """# Benchmarks

hartley side by side with the libraries it replaces. Every case runs hartley and
its peers in one process on the same seeded data; each implementation is warmed
up once on a small input, then timed up to {repeats} times, taking turns with
the others (an implementation stops repeating once its runs add up to
{budget:g} s), and the best time is kept. `time / hartley` is the peer's
best time divided by hartley's: higher means hartley is faster. This is a shared
machine, so absolute times are noisy; the ratios are the figures to read.
Estimates are in nats, and `difference from hartley` is the absolute difference
(the largest one over features for the feature-ranking cases).

Regenerate with `{command}`.

## Machine

{machine}

## Estimators
"""


def case_json(case: Case) -> list[dict]:
    """The raw measurements of `case`, for benches/results/."""
    return [
        {
            "label": r.entry.label,
            "call": r.entry.call,
            "times": r.times,
            "value": None if r.value is None else np.asarray(r.value, float).tolist(),
            "note": r.note,
        }
        for r in case.rows
    ]


BEGIN, END = "<!-- begin {} -->", "<!-- end {} -->"


def section(name: str, body: str) -> str:
    return f"{BEGIN.format(name)}\n{body.rstrip()}\n{END.format(name)}\n"


def write_report(path: Path, header: str, sections: dict[str, str], order: list[str]) -> None:
    """Write `path`: `header`, then one section per case in `order`.

    Sections of cases that were not run this time are kept from the existing
    file, so `--only NAME --write` refreshes one case without losing the rest;
    whatever follows the last of these sections (the reports of other benches,
    see `write_section`) is kept as it is.
    """
    old: dict[str, str] = {}
    tail = ""
    if path.exists():
        text = path.read_text()
        last_end = 0
        for name in order:
            pattern = re.escape(BEGIN.format(name)) + r"\n(.*?)\n" + re.escape(END.format(name))
            found = re.search(pattern, text, re.DOTALL)
            if found:
                old[name] = found.group(1)
                last_end = max(last_end, found.end())
        tail = text[last_end:].strip("\n") if last_end else ""
    parts = [header.rstrip() + "\n"]
    for name in order:
        body = sections.get(name, old.get(name))
        if body is not None:
            parts.append(section(name, body))
    if tail:
        parts.append(tail + "\n")
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text("\n".join(parts))
    tmp.replace(path)


def write_section(path: Path, name: str, body: str, heading: str | None = None) -> None:
    """Replace the section `name` of `path` in place, leaving the rest as is;
    a missing section is appended at the end, under `heading` (a Markdown
    heading line written once) when one is given."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = section(name, body)
    pattern = re.escape(BEGIN.format(name)) + r"\n.*?\n" + re.escape(END.format(name)) + r"\n?"
    if re.search(pattern, text, re.DOTALL):
        text = re.sub(pattern, lambda _: block, text, count=1, flags=re.DOTALL)
    else:
        if heading is not None and heading not in text:
            text = text.rstrip("\n") + f"\n\n{heading}\n"
        text = text.rstrip("\n") + "\n\n" + block
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def today() -> str:
    return datetime.date.today().isoformat()


def provenance(command: str) -> str:
    """The line that closes a BENCHMARKS.md section: when, how, and on what
    (cores and SIMD tier, which can differ between the sections of one file)."""
    tier = hartley._core._simd_info()[1]
    return f"Run on {today()} with `{command}` ({os.cpu_count()} cores, SIMD tier {tier})."


# -------------------------------------------------------------- command line


def case_parser(
    doc: str, names: list[str], *, write_help: str, child_metavar: str
) -> argparse.ArgumentParser:
    """The options of a bench made of `Case`s (`names` are its case names):
    --smoke, --only, --write, --repeats, --budget, and the hidden
    --memory-child through which the bench measures memory in a child process."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="run every case once on tiny inputs")
    ap.add_argument(
        "--only",
        action="append",
        choices=names,
        metavar="NAME",
        help=f"run only this case (repeatable): {', '.join(names)}",
    )
    ap.add_argument("--write", action="store_true", help=write_help)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per implementation")
    ap.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="stop repeating once an implementation has run this many seconds",
    )
    ap.add_argument("--memory-child", nargs=2, metavar=(child_metavar, "N"), help=argparse.SUPPRESS)
    return ap


def parse_bench_args(ap: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse `argv`, refusing --write with --smoke (tiny runs are no benchmarks)."""
    args = ap.parse_args(argv)
    if getattr(args, "smoke", False) and getattr(args, "write", False):
        ap.error("--smoke results are not benchmarks; drop --write")
    return args


def command_line(script: str, argv: list[str] | None) -> str:
    """The command that reproduced this run, as BENCHMARKS.md quotes it."""
    args = sys.argv[1:] if argv is None else argv
    return f"python benches/{script} {' '.join(args)}".strip()


def exit_status(failed: bool) -> int:
    """The exit status of a bench: 1 when an implementation failed."""
    if failed:
        print("some implementations failed; see the tables above", file=sys.stderr)
    return 1 if failed else 0
