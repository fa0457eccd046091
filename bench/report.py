"""The results table and the machine/software header above it."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench.proc import ROOT

PACKAGES = ("visitlog", "textual", "typer", "rich", "sqlite-utils", "rapidfuzz", "openpyxl")


@dataclass
class Row:
    """One line of the results table.

    ``value``/``low``/``high`` are in ``unit``; ``baseline`` is in
    ``baseline_unit``; ``ratio`` is case value over baseline in the sense the
    target states (e.g. rows/s of sync over rows/s of the plain upsert).
    ``status`` is "pass", "FAIL", "not available", "error", "info" or
    "skipped" (a case left out of a whole run at this scale; the notes say how to run it).
    """

    case: str
    target: str = "—"
    value: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str = "s"
    peak_mb: float | None = None
    cpu: float | None = None  # median CPU seconds (user + system) of the runs' processes
    baseline: float | None = None
    baseline_unit: str = "s"
    baseline_name: str = ""
    ratio: float | None = None
    status: str = "info"
    notes: list[str] = field(default_factory=list)


def fmt(value: float | None, unit: str) -> str:
    """A figure with a sensible number of digits for its unit."""
    if value is None:
        return "—"
    if unit == "rows/s":
        return f"{value:,.0f} rows/s"
    if unit == "MB":
        return f"{value:,.1f} MB"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"
    if unit == "s":
        return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"
    return f"{value:g} {unit}"


def _spread(row: Row) -> str:
    if row.low is None or row.high is None:
        return "—"
    lo, hi = fmt(row.low, row.unit), fmt(row.high, row.unit)
    return f"{lo.rsplit(' ', 1)[0]}–{hi}" if row.unit not in ("rows/s",) else f"{lo} – {hi}"


def table(rows: list[Row]) -> str:
    """The results as a Markdown table, then the notes of each case."""
    head = "| case | median | min–max | CPU | peak mem | baseline | ratio | target | result |"
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        base = "—"
        if r.baseline is not None:
            base = fmt(r.baseline, r.baseline_unit)
            if r.baseline_name:
                base += f" ({r.baseline_name})"
        ratio = f"{r.ratio:.2f}×" if r.ratio is not None else "—"
        status = {"pass": "✅ pass", "FAIL": "❌ FAIL"}.get(r.status, r.status)
        lines.append(
            f"| {r.case} | {fmt(r.value, r.unit)} | {_spread(r)} | {fmt(r.cpu, 's')} "
            f"| {fmt(r.peak_mb, 'MB')} "
            f"| {base} | {ratio} | {r.target} | {status} |"
        )
    notes = [f"- **{r.case}**: {n}" for r in rows for n in r.notes]
    if notes:
        lines += ["", "Notes:", "", *notes]
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "visitlog"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return rev + (" (visitlog/ has uncommitted changes)" if dirty else "")
    except OSError:
        return "unknown"


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def header(scale: str, households: int, repeat: int, dataset: str, load: str = "") -> str:
    """Machine, software and dataset facts shown above the table."""
    mem = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem = f", {pages / 2**30:.0f} GiB RAM"
    except (ValueError, OSError):
        pass
    packages = ", ".join(f"{p} {_version(p)}" for p in PACKAGES)
    return "\n".join(
        [
            f"# visitlog benchmarks — {scale} scale ({households:,} households)",
            "",
            f"- Date: {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}",
            f"- Machine: {os.cpu_count()} CPUs ({_cpu_model()}){mem}, {platform.system()} {platform.release()}",
            f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
            f"- Packages: {packages}",
            f"- Code: git {_git_revision()}",
            *([f"- Load average (1 min) at start → end: {load}"] if load else []),
            f"- Dataset: {dataset}",
            f"- Runs per case: {repeat} (median; min–max over the runs; fewer for the heaviest "
            "district cases, see bench/README.md). CPU is the median user+system time of the "
            "measured processes (threads included): unlike wall time it barely moves when other "
            "work shares the machine. Peak memory is the largest resident set of one run's process.",
        ]
    )
