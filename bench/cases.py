"""The benchmark cases, each timed as whole processes against its same-run baseline.

A case is a function ``(ctx) -> list[Row]`` registered with :func:`case`.
Cases run in the order they are declared, because later ones reuse what
earlier ones made (the roster files, the hub of the initial sync).  A case
whose feature has not landed yet reports "not available" instead of failing.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import statistics
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.child import SEARCHES
from bench.datasets import Dataset, checkpoint, copy_db, demo_command
from bench.proc import ROOT, BenchError, Run, Sample, command_exists, run
from bench.report import Row

VISITLOG = ["python", "-m", "visitlog"]
CHILD = ["python", "-m", "bench.child"]

#: The summary baseline: one hand-written GROUP BY over the same tables and the
#: summary's default period (this calendar year up to today), in a fresh
#: interpreter with nothing but sqlite3 and json imported.
SUMMARY_BASELINE_SQL = """
SELECT h.micro_grid,
       count(DISTINCT h.id) AS households,
       count(DISTINCT v.household_id) AS visited_households,
       count(DISTINCT v.id) AS visits,
       count(i.id) AS items,
       sum(i.kind = '问题') AS problems,
       sum(i.kind = '需求') AS demands,
       sum(i.kind = '赋能') AS empower,
       sum(i.kind = '措施') AS measures,
       sum(i.status IN ('待办', '办理中')) AS open_items,
       sum(i.status IN ('已办结', '已反馈', '无法解决')) AS closed_items,
       sum(i.status IN ('待办', '办理中') AND i.deadline < date('now')) AS overdue_items,
       sum(i.satisfaction IS NOT NULL) AS rated
FROM households h
LEFT JOIN visits v ON v.household_id = h.id AND v.deleted = 0 AND v.merged_into IS NULL
     AND v.visit_date BETWEEN date('now', 'localtime', 'start of year') AND date('now', 'localtime')
LEFT JOIN items i ON i.visit_id = v.id AND i.deleted = 0
WHERE h.deleted = 0 AND h.merged_into IS NULL
GROUP BY h.micro_grid
ORDER BY h.micro_grid
"""
SUMMARY_BASELINE_PY = (
    "import json, sqlite3, sys\n"
    "c = sqlite3.connect(sys.argv[1])\n"
    "cur = c.execute(sys.argv[2])\n"
    "names = [d[0] for d in cur.description]\n"
    "print(json.dumps([dict(zip(names, r)) for r in cur], ensure_ascii=False))\n"
)


@dataclass
class Ctx:
    """What every case gets: the dataset, a scratch folder and shared artifacts."""

    scale: str
    repeat: int
    work: Path
    data: Dataset
    shared: dict[str, Any] = field(default_factory=dict)
    only: Sequence[str] = ()  # the cases asked for by name (``--only``)
    _available: dict[tuple[str, ...], bool] = field(default_factory=dict)

    def has(self, *words: str) -> bool:
        """Whether ``visitlog WORDS --help`` works (cached per run)."""
        if words not in self._available:
            self._available[words] = command_exists(words, self.work)
        return self._available[words]

    def has_tui(self) -> bool:
        """Whether ``visitlog.tui.app.make_app`` can be imported."""
        key = ("<tui>",)
        if key not in self._available:
            r = run(
                ["python", "-c", "from visitlog.tui.app import make_app"], self.work, check=False
            )
            self._available[key] = r.code == 0
        return self._available[key]

    def path(self, name: str) -> Path:
        return self.work / name

    def fresh(self, name: str) -> Path:
        """A path in the scratch folder with no database (or WAL) at it."""
        p = self.work / name
        for suffix in ("", "-wal", "-shm"):
            Path(str(p) + suffix).unlink(missing_ok=True)
        return p

    def copy(self, name: str = "run.db") -> Path:
        """A private copy of the dataset for one run."""
        return self.data.copy_to(self.fresh(name))

    def whole(self, case: str) -> bool:
        """Run *case*'s whole-district variants?  At region scale the cases
        whose work is the whole dataset again in another form (a bundle of
        every change, a roster workbook of every household) run only when
        named (``--only CASE``): each takes minutes and grows with what it is
        asked (measured so at district scale in every run), and without them
        the region run fits its 20 minutes."""
        return self.scale != "region" or case in self.only

    def skipped(self, case: str, title: str, target: str, minutes: str) -> Row:
        """The row of a whole-district variant left out of this region run."""
        r = Row(case=title, target=target, status="skipped")
        r.notes.append(f"{minutes} at this scale: run with --only {case}")
        return r

    def times(self, n: int | None = None, cap: int | None = None) -> int:
        """How many runs: the requested repeat, capped for heavy cases at large scale."""
        n = n or self.repeat
        return min(n, cap) if cap else n


Case = Callable[[Ctx], list[Row]]
CASES: dict[str, tuple[str, Case]] = {}


def case(name: str, description: str) -> Callable[[Case], Case]:
    """Register a case under ``name`` (what ``--only`` selects)."""

    def deco(fn: Case) -> Case:
        CASES[name] = (description, fn)
        return fn

    return deco


def measure(
    ctx: Ctx,
    argv: Callable[[int], Sequence[str]] | Sequence[str],
    *,
    runs: int,
    prepare: Callable[[int], None] | None = None,
    ok_codes: Sequence[int] = (0,),
    timeout: float = 600,
) -> tuple[Sample, list[Run]]:
    """Time ``runs`` whole processes; ``prepare(i)`` runs before each, untimed."""
    results = []
    for i in range(runs):
        if prepare:
            prepare(i)
        args = argv(i) if callable(argv) else argv
        results.append(run(args, ctx.work, ok_codes=ok_codes, timeout=timeout))
    return Sample(
        [r.seconds for r in results], [r.peak_mb for r in results], [r.cpu for r in results]
    ), results


def row_from(sample: Sample, case_name: str, target: str, unit: str = "s", scale: float = 1) -> Row:
    """A table row from a sample of seconds (``scale`` converts, e.g. 1000 for ms)."""
    return Row(
        case=case_name,
        target=target,
        value=sample.median * scale,
        low=sample.low * scale,
        high=sample.high * scale,
        unit=unit,
        peak_mb=sample.peak_mb,
        cpu=sample.cpu,
    )


def unavailable(case_name: str, target: str, what: str) -> Row:
    return Row(case=case_name, target=target, status="not available", notes=[f"{what} not found"])


def verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


# -- cases ---------------------------------------------------------------------------


@case("demo", "demo generation (time and file size)")
def demo(ctx: Ctx) -> list[Row]:
    n = ctx.data.households
    record = ctx.data.record
    large = ctx.scale in ("district", "region")
    if large and ctx.data.built is None and record and "demo" not in ctx.only:
        # A district demo takes a minute of the ten the whole run may take; the
        # cached file's own build (same demo and schema code) is reported instead.
        row = Row(
            case=f"demo generation, {n:,} households",
            target="— (info)",
            value=record["seconds"],
            low=record["seconds"],
            high=record["seconds"],
            cpu=record["cpu"],
            peak_mb=record["peak_mb"],
        )
        counts = record["output"]
        row.notes.append(
            f"file {ctx.data.size_mb:,.0f} MB; "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items() if isinstance(v, int))
            + f"; one run of the same demo and schema code, measured {record['date']} "
            "(not repeated each district run: `--only demo` measures it again)"
        )
        return [row]
    runs = ctx.times(cap=1 if large else None)
    target = ctx.fresh("demo.db")

    def prepare(_: int) -> None:
        ctx.fresh("demo.db")

    if ctx.data.built is not None:
        # The dataset was built by this very run: that build is the first measurement.
        runs -= 1
    sample, results = measure(ctx, demo_command(target, n), runs=runs, prepare=prepare)
    if ctx.data.built is not None:
        sample.values.append(ctx.data.built.seconds)
        sample.peaks_mb.append(ctx.data.built.peak_mb)
        sample.cpus.append(ctx.data.built.cpu)
        results.append(ctx.data.built)
    counts = results[-1].json()
    if ctx.data.built is None:
        ctx.data.save_record(results[-1])
    size_mb = ctx.data.size_mb if ctx.data.built is not None else None
    if target.exists():
        checkpoint(target)
        size_mb = target.stat().st_size / 1e6
    row = row_from(sample, f"demo generation, {n:,} households", "— (info)")
    if ctx.scale == "region":
        row.target, row.status = "< 5 min", verdict(sample.median < 300)
    row.notes.append(
        f"file {size_mb:,.0f} MB; "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items() if isinstance(v, int))
    )
    target.unlink(missing_ok=True)
    return [row]


@case("save_visit", "save one visit through Store.add_visit (in-process)")
def save_visit(ctx: Ctx) -> list[Row]:
    target = "< 20 ms"
    medians, peaks, p95 = [], [], []
    for _ in range(ctx.times()):
        db = ctx.copy()
        r = run([*CHILD, "save_visits", str(db), "200"], ctx.work)
        out = r.json()
        medians.append(out["median_ms"])
        p95.append(out["p95_ms"])
        peaks.append(r.peak_mb)
    s = Sample(medians, peaks)
    row = Row(
        case="save one visit (Store.add_visit, median of 200 saves)",
        target=target,
        value=s.median,
        low=s.low,
        high=s.high,
        unit="ms",
        peak_mb=s.peak_mb,
        status=verdict(s.median < 20),
        notes=[
            "per run: median of 200 saves of a visit with one list item; min–max over the runs' "
            f"medians; p95 of the saves {statistics.median(p95):.1f} ms"
        ],
    )
    return [row]


@case("roster", "roster export, then import of the file into an empty database (CSV, XLSX)")
def roster(ctx: Ctx) -> list[Row]:
    names = {"csv": "< 5 s", "xlsx": "< 20 s"}
    limits = {"csv": 5.0, "xlsx": 20.0}
    n = ctx.data.households
    if not (ctx.has("roster", "export") and ctx.has("roster", "import")):
        return [
            unavailable(f"roster import, {n:,} rows {fmt.upper()}", names[fmt], "visitlog roster")
            for fmt in names
        ]
    rows = []
    src = ctx.copy("roster-src.db")
    for fmt in names:
        if fmt == "xlsx" and not ctx.whole("roster"):
            title = f"roster import, {n:,} rows XLSX"
            rows.append(ctx.skipped("roster", title, names[fmt], "about 4 minutes"))
            continue
        path = ctx.path(f"roster.{fmt}")
        path.unlink(missing_ok=True)
        export = run([*VISITLOG, "--db", str(src), "roster", "export", str(path)], ctx.work)
        ctx.shared[f"roster_{fmt}"] = path
        runs = ctx.times(cap=1 if (ctx.scale == "district" and fmt == "xlsx") else None)
        sample, _ = measure(
            ctx,
            lambda _i, p=path: [
                *VISITLOG,
                "--db",
                str(ctx.fresh("import.db")),
                "roster",
                "import",
                str(p),
            ],
            runs=runs,
            prepare=lambda _i: ctx.fresh("import.db"),
        )
        row = row_from(sample, f"roster import, {n:,} rows {fmt.upper()}", names[fmt])
        row.status = verdict(sample.median < limits[fmt])
        imported = _scalar(ctx.path("import.db"), "SELECT count(*) FROM households")
        row.notes.append(
            f"file {path.stat().st_size / 1e6:.1f} MB made by `roster export` in "
            f"{export.seconds:.2f} s ({export.peak_mb:.0f} MB); {imported:,} households imported"
        )
        rows.append(row)
    return rows


def _scalar(db: Path, sql: str) -> Any:
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?immutable=1", uri=True)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def _new_store(ctx: Ctx, name: str) -> Path:
    """An empty visitlog database (schema only), as a new hub would be."""
    p = ctx.fresh(name)
    run(["python", "-c", f"from visitlog.store import Store; Store({str(p)!r}).close()"], ctx.work)
    return p


def _sync(local: Path, hub: Path) -> list[str]:
    return [*VISITLOG, "--db", str(local), "sync", str(hub), "--json"]


def _upsert_baseline(ctx: Ctx) -> Sample:
    """A plain ``executemany`` upsert of the dataset's rows into a fresh
    database, one transaction (measured once per run, for both initial syncs)."""
    if "upsert" not in ctx.shared:
        runs = ctx.times(cap=1 if ctx.scale in ("district", "region") else None)
        base, _ = measure(
            ctx,
            lambda _i: [*CHILD, "upsert_baseline", str(ctx.data.path), str(ctx.fresh("upsert.db"))],
            runs=runs,
            timeout=3600 if ctx.scale == "region" else 600,
        )
        ctx.fresh("upsert.db")
        ctx.shared["upsert"] = base
    return ctx.shared["upsert"]


@case(
    "sync_initial",
    "the first laptop's sync, which makes the hub (--new-hub), vs executemany upsert",
)
def sync_initial(ctx: Ctx) -> list[Row]:
    """The first laptop's sync that makes the office's hub (``--new-hub``: the
    hub made from a snapshot of its file) against a plain upsert of the same rows."""
    rows_total = run([*CHILD, "count_rows", str(ctx.data.path)], ctx.work).json()["rows"]
    # At district scale both the sync and its baseline take about a minute each.
    runs = ctx.times(cap=1 if ctx.scale in ("district", "region") else None)
    title = f"initial sync, the first laptop makes the hub (--new-hub) ({ctx.scale})"
    target = "≥ 0.5× baseline rows/s, peak < 300 MB"
    base = _upsert_baseline(ctx)
    if not ctx.has("sync"):
        r = unavailable(title, target, "visitlog sync")
        r.baseline, r.baseline_unit = rows_total / base.median, "rows/s"
        r.baseline_name = "executemany upsert"
        return [r]

    def new_hub(_: int) -> None:
        ctx.copy("local.db")
        ctx.fresh("hub.db")

    local, hub = str(ctx.path("local.db")), str(ctx.path("hub.db"))
    sample, results = measure(
        ctx,
        [*VISITLOG, "--db", local, "sync", hub, "--new-hub", "--json"],
        runs=runs,
        prepare=new_hub,
        timeout=3600 if ctx.scale == "region" else 600,
    )
    row = _sync_row(ctx, sample, results, title, target, rows_total, base, 0.5)
    # Keep the converged pair for the no-op and incremental cases.
    for name in ("local.db", "hub.db"):
        checkpoint(ctx.path(name))
        shutil.copyfile(ctx.path(name), ctx.path(f"synced-{name}"))
    ctx.shared["synced"] = True
    ctx.shared.setdefault("sync_initial_s", sample.median)
    return [row]


@case(
    "sync_chunked",
    "initial sync into an empty hub already there, chunk by chunk, vs executemany upsert",
)
def sync_chunked(ctx: Ctx) -> list[Row]:
    """The same laptop's sync into an empty hub already there: change by change
    in chunks (the path of a hub made earlier, of a station's laptop, and of a
    new laptop filling from a hub).  About 8 minutes at region scale: there it
    runs only when asked for by name (``--only sync_chunked``)."""
    title = f"initial sync into an empty hub already there, chunk by chunk ({ctx.scale})"
    target = "≥ 40% of baseline rows/s, peak < 300 MB"
    if not ctx.whole("sync_chunked"):
        return [ctx.skipped("sync_chunked", title, target, "about 8 minutes")]
    rows_total = run([*CHILD, "count_rows", str(ctx.data.path)], ctx.work).json()["rows"]
    runs = ctx.times(cap=1 if ctx.scale in ("district", "region") else None)
    base = _upsert_baseline(ctx)
    if not ctx.has("sync"):
        return [unavailable(title, target, "visitlog sync")]

    def empty_hub(_: int) -> None:
        ctx.copy("local.db")
        _new_store(ctx, "hub.db")

    sample, results = measure(
        ctx,
        _sync(ctx.path("local.db"), ctx.path("hub.db")),
        runs=runs,
        prepare=empty_hub,
        timeout=3600 if ctx.scale == "region" else 600,
    )
    row = _sync_row(ctx, sample, results, title, target, rows_total, base, 0.4)
    # What a sync of 1% of the rows is compared with: moving all, the same way.
    ctx.shared["sync_initial_s"] = sample.median
    for name in ("local.db", "hub.db"):
        ctx.fresh(name)
    return [row]


def _sync_row(
    ctx: Ctx,
    sample: Sample,
    results: list[Run],
    title: str,
    target: str,
    rows_total: int,
    base: Sample,
    floor: float,
) -> Row:
    rate = rows_total / sample.median
    base_rate = rows_total / base.median
    row = row_from(sample, title, target)
    row.baseline, row.baseline_unit = base_rate, "rows/s"
    row.baseline_name = "executemany upsert"
    row.ratio = rate / base_rate
    row.status = verdict(row.ratio >= floor and (sample.peak_mb or 0) < 300)
    hub_rows = run([*CHILD, "count_rows", str(ctx.path("hub.db"))], ctx.work).json()["rows"]
    row.notes.append(
        f"{rows_total:,} rows (households+visits+items): sync {rate:,.0f} rows/s; "
        f"baseline {base.median:.2f} s ({base.low:.2f}–{base.high:.2f}), peak {base.peak_mb:.0f} MB; "
        f"hub holds {hub_rows:,} rows after sync; sync said {_said(results[-1])}"
    )
    return row


@case("storage", "bytes per household against the same rows stored with primary keys only")
def storage(ctx: Ctx) -> list[Row]:
    target = "≤ 1.8× floor"
    files = [("the dataset (a laptop's or the office's file)", ctx.data.path)]
    if ctx.shared.get("synced"):
        files.append(("the hub after the initial sync", ctx.path("synced-hub.db")))
    rows = []
    for what, path in files:
        r = run([*CHILD, "storage", str(path), str(ctx.fresh("floor.db"))], ctx.work)
        out = r.json()
        n = max(1, out["households"])
        ratio = out["used"] / out["floor"]
        row = Row(
            case=f"storage, {what} ({ctx.scale})",
            target=target,
            value=round(out["used"] / n / 1000, 2),
            unit="KB/household",
            status=verdict(ratio <= 1.8),
        )
        row.baseline, row.baseline_unit = round(out["floor"] / n / 1000, 2), "KB/household"
        row.baseline_name = "same rows, primary keys only (VACUUMed)"
        row.ratio = ratio
        row.notes.append(
            f"{out['used'] / 1e6:,.0f} MB in use ({out['free'] / 1e6:,.0f} MB free pages) for "
            f"{out['households']:,} households; floor {out['floor'] / 1e6:,.0f} MB; change log "
            f"and its index {out['log'] / 1e6:,.0f} MB ({out['log'] / out['used']:.0%}); largest: "
            + ", ".join(f"{k} {v / 1e6:,.0f} MB" for k, v in out["largest"][:6])
        )
        rows.append(row)
    ctx.fresh("floor.db")
    return rows


def _cpu_ratio(sample: Sample, base: Sample) -> str:
    """CPU seconds of case and baseline: a ratio that load on the machine barely moves."""
    if not sample.cpu or not base.cpu:
        return ""
    return f"; CPU {sample.cpu:.2f} s vs baseline {base.cpu:.2f} s ({sample.cpu / base.cpu:.2f}×)"


def _said(r: Run) -> str:
    """The headline of sync's JSON answer, on one line."""
    try:
        out = r.json()
        return json.dumps({k: out.get(k) for k in ("sent", "received", "conflicts")})
    except (json.JSONDecodeError, AttributeError, IndexError):
        return r.stdout.strip().replace("\n", " ")[:120]


def _copy_synced(ctx: Ctx) -> tuple[Path, Path]:
    local = copy_db(ctx.path("synced-local.db"), ctx.fresh("local.db"))
    hub = copy_db(ctx.path("synced-hub.db"), ctx.fresh("hub.db"))
    return local, hub


def _tiny_pair(ctx: Ctx) -> tuple[Path, Path]:
    """Two tiny replicas that have synced once: the no-op baseline."""
    a, b = ctx.fresh("tiny-a.db"), ctx.fresh("tiny-b.db")
    run(demo_command(a, 10, seed=2), ctx.work)
    _new_store(ctx, "tiny-b.db")
    run(_sync(a, b), ctx.work)
    for p in (a, b):
        checkpoint(p)
        shutil.copyfile(p, ctx.path(f"synced-{p.name}"))
    return a, b


@case("sync_noop", "no-op sync of the dataset vs no-op sync of two tiny databases")
def sync_noop(ctx: Ctx) -> list[Row]:
    title = f"no-op sync ({ctx.scale})"
    target = "≤ 1.2× baseline"
    if not ctx.has("sync"):
        return [unavailable(title, target, "visitlog sync")]
    if not ctx.shared.get("synced"):
        return [
            Row(
                case=title,
                target=target,
                status="not available",
                notes=["needs the sync_initial case in the same run"],
            )
        ]
    _tiny_pair(ctx)

    def prep_tiny(_: int) -> None:
        for n in ("tiny-a.db", "tiny-b.db"):
            copy_db(ctx.path(f"synced-{n}"), ctx.fresh(n))

    base, _ = measure(
        ctx,
        _sync(ctx.path("tiny-a.db"), ctx.path("tiny-b.db")),
        runs=ctx.times(),
        prepare=prep_tiny,
    )
    sample, results = measure(
        ctx,
        _sync(ctx.path("local.db"), ctx.path("hub.db")),
        runs=ctx.times(),
        prepare=lambda _i: _copy_synced(ctx),
    )
    row = row_from(sample, title, target)
    row.baseline, row.baseline_name = base.median, "two tiny databases"
    row.ratio = sample.median / base.median
    row.status = verdict(row.ratio <= 1.2)
    row.notes.append(f"sync said {_said(results[-1])}" + _cpu_ratio(sample, base))
    ctx.shared["noop"] = sample
    return [row]


@case("sync_changes", "sync of 1% and of 2% changed rows (cost should follow the changes)")
def sync_changes(ctx: Ctx) -> list[Row]:
    titles = {0.01: f"sync of 1% changes ({ctx.scale})", 0.02: f"sync of 2% changes ({ctx.scale})"}
    target = "∝ changes"
    if not ctx.has("sync"):
        return [unavailable(t, target, "visitlog sync") for t in titles.values()]
    if not ctx.shared.get("synced"):
        return [
            Row(
                case=t,
                target=target,
                status="not available",
                notes=["needs the sync_initial case in the same run"],
            )
            for t in titles.values()
        ]
    rows, samples, changed = [], {}, {}
    for frac, title in titles.items():

        def prepare(_i: int, frac: float = frac) -> None:
            local, _ = _copy_synced(ctx)
            out = run([*CHILD, "make_changes", str(local), str(frac)], ctx.work).json()
            changed[frac] = out["changed"]

        sample, results = measure(
            ctx, _sync(ctx.path("local.db"), ctx.path("hub.db")), runs=ctx.times(), prepare=prepare
        )
        samples[frac] = sample
        row = row_from(sample, title, target)
        row.notes.append(
            f"{changed[frac]:,} rows changed (one field each) before the sync; "
            f"sync said {_said(results[-1])}"
        )
        rows.append(row)
    noop: Sample | None = ctx.shared.get("noop")
    initial = ctx.shared.get("sync_initial_s")
    s1, s2 = samples[0.01], samples[0.02]
    if noop is None:
        rows[1].notes.append(f"2%/1% time ratio {s2.median / s1.median:.2f} (no no-op figure)")
        return rows
    for r, s in zip(rows, (s1, s2), strict=True):
        r.baseline, r.baseline_name = noop.median, "no-op sync"
        r.ratio = s.median / noop.median
    # Proportional: doubling the changes about doubles the work above a no-op
    # sync, and 1% of the rows costs far less than moving all of them.  The
    # growth is judged on CPU time, which other work on the machine barely
    # moves; wall time is shown beside it.
    d1, d2 = s1.median - noop.median, s2.median - noop.median
    wall_growth = d2 / d1 if d1 > 0 else float("inf")
    c1, c2 = (s1.cpu or 0) - (noop.cpu or 0), (s2.cpu or 0) - (noop.cpu or 0)
    growth = c2 / c1 if c1 > 0 else float("inf")
    ok = 1.3 <= growth <= 2.7 and (initial is None or s1.median < 0.25 * initial)
    for r in rows:
        r.status = verdict(ok)
    rows[1].notes.append(
        f"above the no-op sync, CPU 1% {c1:.2f} s, 2% {c2:.2f} s → ×{growth:.2f} for ×2 changes "
        f"(proportional: ×1.3–2.7); wall 1% {d1:.2f} s, 2% {d2:.2f} s → ×{wall_growth:.2f}; "
        f"CPU per changed row {c1 / max(changed[0.01], 1) * 1e3:.2f} / "
        f"{c2 / max(changed[0.02], 1) * 1e3:.2f} ms"
        + (
            f"; the 1% sync takes {s1.median / initial:.0%} of the initial sync's time"
            if initial
            else ""
        )
    )
    return rows


@case("summary", "summary --format json vs one hand-written GROUP BY; xlsx and html")
def summary(ctx: Ctx) -> list[Row]:
    title = f"summary, {ctx.scale}, JSON"
    # The whole district (region scale) is asked for in 3 s; a street or a
    # smaller district in 1.5 s.
    limit = 3.0 if ctx.scale == "region" else 1.5
    target = f"≤ 2× baseline and < {limit:g} s"
    # Summaries only read: one private copy serves every run of this case.
    ctx.copy()
    base, base_runs = measure(
        ctx,
        lambda _i: [
            "python",
            "-c",
            SUMMARY_BASELINE_PY,
            str(ctx.path("run.db")),
            SUMMARY_BASELINE_SQL,
        ],
        runs=ctx.times(),
    )
    groups = len(base_runs[-1].json())
    if not ctx.has("summary"):
        r = unavailable(title, target, "visitlog summary")
        r.baseline, r.baseline_name = base.median, "SQL GROUP BY"
        return [
            r,
            unavailable(f"summary, {ctx.scale}, XLSX", "< 5 s", "visitlog summary"),
            unavailable(f"summary, {ctx.scale}, HTML", "< 5 s", "visitlog summary"),
        ]

    def as_json(_i: int) -> list[str]:
        return [*VISITLOG, "--db", str(ctx.path("run.db")), "summary", "--format", "json"]

    # The file was bulk-loaded: its first summary counts the kept totals
    # (visitlog.store.totals) from every record, once.  Every later one reads
    # them, with what changed since counted again.
    first, _ = measure(ctx, as_json, runs=1)
    rows = [row_from(first, f"summary, {ctx.scale}, first on a file keeping no totals yet", "—")]
    rows[0].status = "info"
    rows[0].notes.append("counts the kept totals of every month and household once")
    sample, results = measure(ctx, as_json, runs=ctx.times())
    # A week of work changed since the last summary: the month or two it
    # falls in and its households are counted again.
    week, _ = measure(
        ctx,
        as_json,
        runs=ctx.times(),
        prepare=lambda _i: _change_a_week(ctx.path("run.db")),
    )
    row = row_from(sample, title, target)
    row.baseline, row.baseline_name = base.median, "SQL GROUP BY"
    row.ratio = sample.median / base.median
    row.status = verdict(row.ratio <= 2 and sample.median < limit)
    try:
        out = json.loads(results[-1].stdout)
        row.notes.append(
            f"{len(out.get('groups', []))} groups in the summary, {groups} micro-grids in the "
            f"baseline; period {out.get('period')}" + _cpu_ratio(sample, base)
        )
    except (json.JSONDecodeError, AttributeError):
        row.notes.append("summary output was not one JSON object")
    after = row_from(week, f"summary, {ctx.scale}, JSON, after a week's visits changed", target)
    after.baseline, after.baseline_name = base.median, "SQL GROUP BY"
    after.ratio = week.median / base.median
    after.status = verdict(after.ratio <= 2 and week.median < limit)
    after.notes.append(f"{_WEEK_NOTE}" + _cpu_ratio(week, base))
    rows += [row, after]
    for fmt in ("xlsx", "html"):
        out_file = ctx.path(f"summary.{fmt}")
        s, _ = measure(
            ctx,
            lambda _i, f=fmt, o=out_file: [
                *VISITLOG,
                "--db",
                str(ctx.path("run.db")),
                "summary",
                "--format",
                f,
                "-o",
                str(o),
            ],
            runs=ctx.times(),
            prepare=lambda _i, o=out_file: o.unlink(missing_ok=True),
        )
        r = row_from(s, f"summary, {ctx.scale}, {fmt.upper()}", "< 5 s")
        r.status = verdict(s.median < 5)
        if out_file.exists():
            r.notes.append(f"file {out_file.stat().st_size / 1e3:,.0f} kB")
        rows.append(r)
    if ctx.scale == "region":
        rows.append(_street_summary(ctx))
    return rows


#: The street of the region dataset whose summary is timed: its 居民区 are
#: named 兰溪…居民区 (21 of them, 31,500 households).
STREET = "兰溪"


def _street_summary(ctx: Ctx) -> Row:
    """The summary of one street of the district on its laptop's file (the
    street's households, visits and items cut out of the district's file),
    against the same GROUP BY on that file; three runs at least (seconds each)."""
    street = ctx.fresh("street.db")
    cut = run([*CHILD, "street_file", str(ctx.data.path), str(street), STREET], ctx.work).json()
    runs = max(3, ctx.repeat)
    base, _ = measure(
        ctx,
        lambda _i: ["python", "-c", SUMMARY_BASELINE_PY, str(street), SUMMARY_BASELINE_SQL],
        runs=runs,
    )

    def as_json(_i: int) -> list[str]:
        return [*VISITLOG, "--db", str(street), "summary", "--format", "json"]

    first, _ = measure(ctx, as_json, runs=1)  # counts the new file's kept totals
    sample, _ = measure(ctx, as_json, runs=runs)
    title = f"summary, one street of the district ({cut['households']:,} households), JSON"
    row = row_from(sample, title, "≤ 2× baseline and < 1.5 s")
    row.baseline, row.baseline_name = base.median, "SQL GROUP BY"
    row.ratio = sample.median / base.median
    row.status = verdict(row.ratio <= 2 and sample.median < 1.5)
    row.notes.append(
        f"the {STREET}… 居民区 of the district, as their street's laptop holds them: "
        f"{cut['households']:,} households, {cut['visits']:,} visits, {cut['items']:,} items "
        f"cut out of the district's file; its first summary (counting its kept totals) "
        f"{first.median:.2f} s" + _cpu_ratio(sample, base)
    )
    return row


_WEEK_NOTE = (
    "before each run the visits of the last 7 days were changed by another program "
    "(their visitor renamed), which strikes off their months and households"
)


def _change_a_week(db: Path) -> None:
    """Change every visit of the last 7 days (their visitor's name), as a sync
    of a week's work would: their months and households are struck off."""
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "UPDATE visits SET visitor = visitor || '·' "
            "WHERE visit_date >= date('now', 'localtime', '-7 days')"
        )
    conn.close()


#: How many households a plan lists, and the grid of the first.
PLAN_COUNT_PY = r"""
import json, sys
listed = json.load(open(sys.argv[1], encoding="utf-8"))
print(json.dumps({"due": len(listed), "grid": listed[0]["micro_grid"] if listed else None}))
"""


@case("plan", "plan --json for the whole street until the year's end; one grid's route sheet")
def plan(ctx: Ctx) -> list[Row]:
    title = f"plan, {ctx.data.households:,} households, JSON"
    target = "< 3 s"
    if not ctx.has("plan"):
        return [unavailable(title, target, "visitlog plan")]
    ctx.copy()  # the plan only reads: one private copy serves every run
    db = str(ctx.path("run.db"))
    sample, results = measure(
        ctx,
        lambda _i: [*VISITLOG, "--db", db, "plan", "--until", "2099-12-31", "--json"],
        runs=ctx.times(),
    )
    row = row_from(sample, title, target)
    row.status = verdict(sample.median < 3)
    grid = None
    try:
        # Read in a child: a district's plan parsed here would leave this
        # process large, and the peaks of the children after it with it.
        last = results[-1]
        if last.stdout_file is None:
            listed = json.loads(last.stdout)
            count = {"due": len(listed), "grid": listed[0]["micro_grid"] if listed else None}
        else:
            count = run(["python", "-c", PLAN_COUNT_PY, str(last.stdout_file)], ctx.work).json()
        row.notes.append(f"{count['due']:,} households due")
        grid = count["grid"]
    except (BenchError, json.JSONDecodeError, AttributeError, KeyError, TypeError):
        row.notes.append("plan output was not a JSON list")
    rows = [row]
    for fmt in ("xlsx", "html"):
        out_file = ctx.path(f"route.{fmt}")
        s, _ = measure(
            ctx,
            lambda _i, f=fmt, o=out_file: [
                *VISITLOG,
                "--db",
                db,
                "plan",
                *(["--grid", grid] if grid else []),
                "--format",
                f,
                "-o",
                str(o),
            ],
            runs=ctx.times(),
            prepare=lambda _i, o=out_file: o.unlink(missing_ok=True),
        )
        r = row_from(s, f"plan, one grid's route sheet, {fmt.upper()}", "< 3 s")
        r.status = verdict(s.median < 3)
        rows.append(r)
    return rows


def _synced(copy: Path) -> Path:
    """*copy*, written out to the disk: a run that commits (a de-duplication
    keeps where it stopped) would otherwise wait at its first commit for the
    harness's gigabytes of copy to reach the disk."""
    os.sync()
    return copy


def _dedup_target(ctx: Ctx) -> tuple[float, float]:
    """(seconds, MB) asked of a whole household run: the whole district (region
    scale) in 15 s and 1 GB, a street or district in 10 s and 500 MB."""
    return (15.0, 1000.0) if ctx.scale == "region" else (10.0, 500.0)


@case("dedup", "dedup households --json on the whole dataset")
def dedup(ctx: Ctx) -> list[Row]:
    title = f"dedup households, {ctx.data.households:,}"
    seconds, mb = _dedup_target(ctx)
    target = f"< {seconds:g} s, < {mb:g} MB"
    if not ctx.has("dedup", "households"):
        return [unavailable(title, target, "visitlog dedup households")]
    sample, results = measure(
        ctx,
        lambda _i: [*VISITLOG, "--db", str(ctx.path("run.db")), "dedup", "households", "--json"],
        runs=ctx.times(cap=3),
        prepare=lambda _i: _synced(ctx.copy()),
    )
    row = row_from(sample, title, target)
    row.status = verdict(sample.median < seconds and (sample.peak_mb or 0) < mb)
    try:
        out = json.loads(results[-1].stdout)
        row.notes.append(
            f"{len(out.get('pairs', []))} candidate pairs, {len(out.get('clusters', []))} clusters "
            f"at threshold {out.get('threshold')}"
        )
    except (json.JSONDecodeError, AttributeError):
        row.notes.append("dedup output was not one JSON object")
    return [row]


@case("dedup_changed", "dedup households --changed after a day's work, vs the whole run")
def dedup_changed(ctx: Ctx) -> list[Row]:
    title = f"dedup households --changed (a day's work), {ctx.data.households:,}"
    target = "< 2 s"
    if not ctx.has("dedup", "households", "--changed"):
        return [unavailable(title, target, "visitlog dedup households --changed")]
    # The baseline: the whole run on the same data, which also leaves the mark
    # an incremental run starts from.
    base = ctx.copy("dedup-base.db")
    whole = run(
        [*VISITLOG, "--db", str(base), "dedup", "households", "--json"], ctx.work, timeout=1800
    )
    run([*CHILD, "dedup_day", str(base)], ctx.work)
    checkpoint(base)

    def fresh(_i: int) -> None:
        _synced(copy_db(base, ctx.fresh("run.db")))

    sample, results = measure(
        ctx,
        [*VISITLOG, "--db", str(ctx.path("run.db")), "dedup", "households", "--changed", "--json"],
        runs=ctx.times(cap=5),
        prepare=fresh,
    )
    row = row_from(sample, title, target)
    row.baseline, row.baseline_name = (
        whole.seconds,
        "the whole run on the same data, before the day",
    )
    row.ratio = sample.median / whole.seconds
    row.status = verdict(sample.median < 2)
    try:
        out = json.loads(results[-1].stdout)
        stats = out["stats"]
        row.notes.append(
            f"300 households changed at random across the dataset (250 edited, 50 entered "
            f"again); {stats['changed']} changed, {stats['records']:,} households read, "
            f"{stats['candidate_pairs']} pairs compared, {len(out['clusters'])} clusters; "
            f"the whole run: {whole.seconds:.1f} s, peak {whole.peak_mb:.0f} MB"
        )
    except (json.JSONDecodeError, KeyError, TypeError):
        row.notes.append("dedup output was not the JSON expected")
    return [row]


@case("tui_start", "TUI cold start to first paint vs a minimal 200-row DataTable app")
def tui_start(ctx: Ctx) -> list[Row]:
    title = f"TUI cold start to first paint ({ctx.scale})"
    target = "≤ 1.5× baseline"

    def painted(runs: list[Run]) -> Sample:
        return Sample(
            [r.json()["painted"] - r.started for r in runs],
            [r.peak_mb for r in runs],
            [r.json()["cpu"] for r in runs],
        )

    _, base_runs = measure(ctx, [*CHILD, "tui_baseline"], runs=ctx.times())
    base = painted(base_runs)
    if not ctx.has_tui():
        r = unavailable(title, target, "visitlog.tui.app.make_app")
        r.baseline, r.baseline_name = base.median, "minimal DataTable app"
        return [r]
    rows = []
    for grid in (None, _first_grid(ctx)):
        tui_db = _tui_db(ctx, grid)
        _, runs = measure(
            ctx,
            lambda _i: [*CHILD, "tui_paint", str(ctx.path("run.db"))],
            runs=ctx.times(),
            prepare=lambda _i, src=tui_db: copy_db(src, ctx.fresh("run.db")),
        )
        sample = painted(runs)
        row = row_from(sample, title if grid is None else f"{title}, own micro-grid", target)
        row.baseline, row.baseline_name = base.median, "minimal DataTable app"
        row.ratio = sample.median / base.median
        row.status = verdict(row.ratio <= 1.5)
        shown = runs[-1].json()["rows"]
        row.notes.append(
            "process start until a DataTable on screen has rows and the screen has refreshed "
            "(headless run_test, 80×24; CPU is the process's until then); "
            + (
                "worker identity set, no default grid, so every household is listed"
                if grid is None
                else "worker identity with a default micro-grid, as on a worker's laptop"
            )
            + f"; the table showed {shown:,} rows"
            + _cpu_ratio(sample, base)
        )
        rows.append(row)
    return rows


def _first_grid(ctx: Ctx) -> str:
    return _scalar(ctx.data.path, "SELECT min(micro_grid) FROM households WHERE deleted = 0")


def _tui_db(ctx: Ctx, grid: str | None = None) -> Path:
    """The dataset with a worker's identity and, if given, a default micro-grid.

    Without an identity the app asks for the worker's name first; a laptop in
    use has it.  Without a default grid every household is listed.
    """
    p = ctx.path("tui-template.db" if grid is None else "tui-grid-template.db")
    if not p.exists():
        ctx.data.copy_to(p)
        extra = ["--grid", grid] if grid else []
        run([*VISITLOG, "--db", str(p), "init", "--worker", "基准测试员", *extra], ctx.work)
        checkpoint(p)
    return p


@case("tui_search", "TUI search: keystroke until the households table is re-filtered")
def tui_search(ctx: Ctx) -> list[Row]:
    title = f"TUI search keystroke → table re-filtered ({ctx.scale})"
    target = "< 50 ms"
    if not ctx.has_tui():
        return [unavailable(title, target, "visitlog.tui.app.make_app")]
    tui_db = _tui_db(ctx)
    medians, peaks, outs, ready = [], [], [], []
    for _ in range(ctx.times()):
        copy_db(tui_db, ctx.fresh("run.db"))
        r = run([*CHILD, "tui_search", str(ctx.path("run.db"))], ctx.work)
        out = r.json()
        outs.append(out)
        medians.append(out["median_ms"])
        peaks.append(r.peak_mb)
        ready.append(out["ready"] - r.started)
    s = Sample(medians, peaks)
    row = Row(
        case=title,
        target=target,
        value=s.median,
        low=s.low,
        high=s.high,
        unit="ms",
        peak_mb=s.peak_mb,
        status=verdict(s.median < 50),
    )
    last = outs[-1]
    row.notes.append(
        f"{last['keystrokes']} keystrokes per run over {last['households']:,} households "
        f"(searches: {', '.join(SEARCHES)}); per run: median of the keystrokes, min–max over "
        f"the runs' medians; worst keystroke p95 {max(o['p95_ms'] for o in outs):.1f} ms, "
        f"max {max(o['max_ms'] for o in outs):.1f} ms; process CPU per keystroke (median) "
        f"{statistics.median(o['cpu_median_ms'] for o in outs):.1f} ms; until near matches were also shown: "
        f"median {statistics.median(o['near_median_ms'] for o in outs):.1f} ms, "
        f"max {max(o['near_max_ms'] for o in outs):.1f} ms"
    )
    # At a district's scale (every grid of 450,000 households) the issue asks
    # for the search within 2 s of start and the whole process under 300 MB.
    usable = Sample(ready, peaks)
    start_row = Row(
        case=f"TUI start → search usable, every grid listed ({ctx.scale})",
        target="< 2 s, < 300 MB",
        value=usable.median,
        low=usable.low,
        high=usable.high,
        peak_mb=usable.peak_mb,
        status=verdict(usable.median < 2.0 and (usable.peak_mb or 0) < 300),
    )
    start_row.notes.append(
        "process start until the home screen's search index is ready (the table already "
        "shows rows before); peak: the whole run of the searches above"
    )
    return [row, start_row]


#: The keys timed by ``tui_keys`` (bench/tui_keys.py) and what each shows.
KEYS = {
    "details": "enter → household details",
    "items": "i → open items listed",
    "new_visit": "n → new-visit form, cursor in 民情摘要",
    "search_clear": "esc in the search box → every row back",
}


@case("tui_keys", "TUI keys: key until the screen shows its effect, vs a minimal Textual app")
def tui_keys(ctx: Ctx) -> list[Row]:
    target = "< 100 ms"
    rounds = str(max(3, ctx.repeat))
    base_run = run([*CHILD, "tui_keys_baseline", rounds], ctx.work)
    base = base_run.json()["keys"]["push"]
    if not ctx.has_tui():
        return [unavailable(f"TUI keys ({ctx.scale})", target, "visitlog.tui.app.make_app")]
    rows = []
    for grid in (_first_grid(ctx), None):
        copy_db(_tui_db(ctx, grid), ctx.fresh("run.db"))
        r = run([*CHILD, "tui_keys", str(ctx.path("run.db")), rounds], ctx.work)
        out = r.json()
        where = "own micro-grid" if grid else "every grid listed"
        for key, what in KEYS.items():
            k = out["keys"][key]
            row = Row(
                case=f"TUI key {what} ({ctx.scale}, {where})",
                target=target,
                value=k["median_ms"],
                high=k["max_ms"],
                unit="ms",
                peak_mb=r.peak_mb,
                status=verdict(k["median_ms"] < 100),
            )
            row.baseline, row.baseline_unit = base["median_ms"], "ms"
            row.baseline_name = "minimal app: enter pushes a screen"
            row.ratio = k["median_ms"] / base["median_ms"]
            row.notes.append(
                f"median of {k['n']} presses in one headless process (80×24) over "
                f"{out['households']:,} households listed; process CPU per key (median) "
                f"{k['cpu_median_ms']:.0f} ms, baseline's {base['cpu_median_ms']:.0f} ms"
            )
            rows.append(row)
    return rows


def run_cases(
    ctx: Ctx, only: Sequence[str] | None = None, log: Callable[[str], None] = print
) -> list[Row]:
    """Run the selected cases in order; a crashing case becomes an "error" row."""
    import time

    rows: list[Row] = []
    for name, (description, fn) in CASES.items():
        if only and name not in only:
            continue
        log(f"… {name}: {description}")
        t0 = time.perf_counter()
        try:
            got = fn(ctx)
        except BenchError as exc:
            got = [Row(case=name, status="error", notes=[_one_line(str(exc))])]
        except Exception as exc:  # a harness bug must not hide the other cases
            got = [Row(case=name, status="error", notes=[_one_line(traceback.format_exc(limit=3))])]
            log(f"   {type(exc).__name__}: {exc}")
        for r in got:
            log(f"   {r.case}: {r.status} {r.value if r.value is not None else ''}")
        log(f"   ({time.perf_counter() - t0:.1f} s)")
        rows.extend(got)
    return rows


def _one_line(text: str) -> str:
    """The last lines of an error, on one table-safe line, without this machine's paths."""
    text = text.replace(str(ROOT) + "/", "").replace(sys.prefix, "<python>")
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return " / ".join(lines[-6:]).replace("|", "\\|")[:600]
