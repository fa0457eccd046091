"""The encrypted database beside the plain one: saving a visit, the TUI's cold
start and the summary, each on a plain copy and an encrypted copy of the same
dataset, alternated run by run in the same process tree.

The encrypted copy is the dataset after ``visitlog encrypt`` (SQLCipher 4,
the passphrase given as ``VISITLOG_PASSPHRASE``, as a script would): every
measured process derives the key once, as a worker's laptop does at start.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path

from bench.cases import CHILD, VISITLOG, Ctx, _cpu_ratio, _tui_db, case, measure, row_from, verdict
from bench.datasets import copy_db
from bench.proc import Sample, run
from bench.report import Row

PASSPHRASE = "基准测试口令 bench passphrase"


def _encrypted_template(ctx: Ctx, plain: Path) -> Path:
    """The TUI template (identity set) encrypted in place, made once per run."""
    p = ctx.path("encrypted-template.db")
    if not p.exists():
        copy_db(plain, p)
        run([*VISITLOG, "--db", str(p), "encrypt"], ctx.work)
    return p


@case("encrypted", "save a visit, TUI cold start, summary: encrypted database beside plain")
def encrypted(ctx: Ctx) -> list[Row]:
    if not ctx.has("encrypt"):
        return [Row(case="encrypted database", target="—", status="not available")]
    saved = os.environ.get("VISITLOG_PASSPHRASE")
    os.environ["VISITLOG_PASSPHRASE"] = PASSPHRASE
    try:
        return _measure(ctx)
    finally:
        if saved is None:
            os.environ.pop("VISITLOG_PASSPHRASE", None)
        else:
            os.environ["VISITLOG_PASSPHRASE"] = saved


def _measure(ctx: Ctx) -> list[Row]:
    plain_src = _tui_db(ctx)
    enc_src = _encrypted_template(ctx, plain_src)
    sources = {"plain": plain_src, "encrypted": enc_src}
    runs = ctx.times()
    saves: dict[str, list[float]] = {"plain": [], "encrypted": []}
    paints: dict[str, list[float]] = {"plain": [], "encrypted": []}
    cpus: dict[str, list[float]] = {"plain": [], "encrypted": []}
    save_cpus: dict[str, list[float]] = {"plain": [], "encrypted": []}
    summaries: dict[str, Sample] = {}
    # The baseline app starts in the same rounds as the two files, so a slower
    # minute of the machine weighs on all three alike.
    base_runs = []
    for _ in range(runs):
        for kind, src in sources.items():  # alternated: load on the machine hits both
            db = copy_db(src, ctx.fresh("run.db"))
            out = run([*CHILD, "save_visits", str(db), "200"], ctx.work).json()
            saves[kind].append(out["median_ms"])
            save_cpus[kind].append(out["median_cpu_ms"])
            db = copy_db(src, ctx.fresh("run.db"))
            r = run([*CHILD, "tui_paint", str(db)], ctx.work)
            paints[kind].append(r.json()["painted"] - r.started)
            cpus[kind].append(r.json()["cpu"])
        base_runs.append(run([*CHILD, "tui_baseline"], ctx.work))
    base = Sample(
        [r.json()["painted"] - r.started for r in base_runs],
        [],
        [r.json()["cpu"] for r in base_runs],
    )
    firsts: dict[str, Sample] = {}
    for kind, src in sources.items():
        copy_db(src, ctx.fresh(f"{kind}-summary.db"))

        def argv(_i: int, k: str = kind) -> list[str]:
            db = str(ctx.path(f"{k}-summary.db"))
            return [*VISITLOG, "--db", db, "summary", "--format", "json"]

        # The first summary of a copied file counts its kept totals (every
        # month and household); the ones after it read them, as an office's do.
        firsts[kind], _ = measure(ctx, argv, runs=1)
        summaries[kind], _ = measure(ctx, argv, runs=runs)
    rows = []
    save = {k: Sample(v) for k, v in saves.items()}
    row = Row(
        case="save one visit, encrypted database (median of 200 saves)",
        target="< 20 ms",
        value=save["encrypted"].median,
        low=save["encrypted"].low,
        high=save["encrypted"].high,
        unit="ms",
        status=verdict(save["encrypted"].median < 20),
        baseline=save["plain"].median,
        baseline_unit="ms",
        baseline_name="the same on the plain file",
        ratio=save["encrypted"].median / save["plain"].median,
        notes=[
            "CPU per save (median): "
            f"encrypted {statistics.median(save_cpus['encrypted']):.1f} ms, "
            f"plain {statistics.median(save_cpus['plain']):.1f} ms"
        ],
    )
    rows.append(row)
    paint = {k: Sample(v, [], cpus[k]) for k, v in paints.items()}
    row = row_from(
        paint["encrypted"], f"TUI cold start, encrypted ({ctx.scale})", "≤ 1.5× baseline"
    )
    row.baseline, row.baseline_name = base.median, "minimal DataTable app"
    row.ratio = paint["encrypted"].median / base.median
    row.status = verdict(row.ratio <= 1.5)
    row.notes.append(
        f"the same start on the plain file: {paint['plain'].median:.2f} s "
        f"(encrypted ÷ plain {paint['encrypted'].median / paint['plain'].median:.2f}); "
        "the passphrase from VISITLOG_PASSPHRASE, its key derived once at start; CPU to first "
        f"paint: encrypted {paint['encrypted'].cpu:.2f} s, plain {paint['plain'].cpu:.2f} s, "
        f"DataTable app {base.cpu:.2f} s"
    )
    rows.append(row)
    row = row_from(summaries["encrypted"], f"summary, {ctx.scale}, JSON, encrypted", "≤ 1.2× plain")
    row.baseline, row.baseline_name = summaries["plain"].median, "the same on the plain file"
    row.ratio = summaries["encrypted"].median / summaries["plain"].median
    row.status = verdict(row.ratio <= 1.2)
    row.notes.append(
        "whole process: start, key derivation, summary, after a first summary that counted "
        f"the kept totals (encrypted {firsts['encrypted'].median:.1f} s, plain "
        f"{firsts['plain'].median:.1f} s)" + _cpu_ratio(summaries["encrypted"], summaries["plain"])
    )
    rows.append(row)
    return rows
