"""Cases whose cost must grow with the work asked, not with the database:
streamed listings and the check (registered beside those of ``bench.cases``)."""

from __future__ import annotations

import json
import shlex

from bench.cases import VISITLOG, Ctx, case, measure, row_from, verdict
from bench.proc import PYTHON
from bench.report import Row

#: Reads a listing from stdin as it comes and checks every record is JSON:
#: ``--jsonl`` one object a line, ``--json`` one array with a record a line.
VALIDATE_PY = r"""
import json, sys
n = 0
first = last = None
for line in sys.stdin:
    s = line.rstrip("\n")
    if first is None:
        first = s
    last = s
    if s in ("[", "]", "[]"):
        continue
    json.loads(s[:-1] if s.endswith(",") else s)
    n += 1
if sys.argv[1] == "--json":
    assert first in ("[", "[]") and last in ("]", "[]"), (first, last)
print(json.dumps({"records": n}))
"""

#: The baseline of a listing: the same rows read with sqlite3 and written
#: with json.dumps, one a line, in a fresh interpreter.
BASELINE_PY = r"""
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
cur = c.execute(sys.argv[2])
names = [d[0] for d in cur.description]
w = sys.stdout.write
for r in cur:
    w(json.dumps(dict(zip(names, r)), ensure_ascii=False) + "\n")
"""

LISTINGS = [
    (
        "household list",
        ["household", "list"],
        "SELECT * FROM households WHERE deleted = 0 AND merged_into IS NULL "
        "ORDER BY micro_grid, address_key, address",
    ),
    (
        "visit list",
        ["visit", "list"],
        "SELECT * FROM visits WHERE deleted = 0 AND merged_into IS NULL ORDER BY visit_date, id",
    ),
    (
        "item list",
        ["item", "list"],
        "SELECT * FROM items WHERE deleted = 0 ORDER BY deadline IS NULL, deadline, raised_date, id",
    ),
]


def _piped(producer: list[str], flag: str) -> list[str]:
    cmd = " ".join(shlex.quote(PYTHON if a == "python" else a) for a in producer)
    check = f"{shlex.quote(PYTHON)} -c {shlex.quote(VALIDATE_PY)} {flag}"
    return ["bash", "-c", f"set -o pipefail; {cmd} | {check}"]


@case("listings", "household/visit/item list --jsonl and --json, streamed, vs sqlite3 + json.dumps")
def listings(ctx: Ctx) -> list[Row]:
    db = ctx.copy()
    rows: list[Row] = []
    for name, words, sql in LISTINGS:
        base, _ = measure(
            ctx,
            _piped(["python", "-c", BASELINE_PY, str(db), sql], "--jsonl"),
            runs=ctx.times(cap=1),
            timeout=3600,
        )
        for flag in ("--jsonl", "--json"):
            if flag == "--jsonl" and name != "household list" and not ctx.whole("listings"):
                # One writer makes both forms (a record a line, inside an
                # array or not): at region scale the array of every listing
                # and one --jsonl; all six when the case is named.
                title = f"{name} {flag} ({ctx.scale})"
                rows.append(ctx.skipped("listings", title, "peak < 150 MB", "a minute or two"))
                continue
            sample, results = measure(
                ctx,
                _piped([*VISITLOG, "--db", str(db), *words, flag], flag),
                runs=ctx.times(cap=1),
                # 2.6 million visits at the region scale take minutes to write
                timeout=3600,
            )
            row = row_from(sample, f"{name} {flag} ({ctx.scale})", "peak < 150 MB")
            row.baseline, row.baseline_name = base.median, "sqlite3 rows + json.dumps"
            row.ratio = sample.median / base.median
            row.status = verdict((sample.peak_mb or 0) < 150)
            try:
                n = json.loads(results[-1].stdout)["records"]
                row.notes.append(
                    f"{n:,} records, each valid JSON; peak of the listing and its reader "
                    f"{sample.peak_mb:.0f} MB; baseline peak {base.peak_mb:.0f} MB"
                )
            except (json.JSONDecodeError, KeyError, TypeError):
                row.notes.append("the validator said nothing")
            rows.append(row)
    return rows


@case("check", "check after a clean check (incremental) and check --full vs PRAGMA quick_check")
def check(ctx: Ctx) -> list[Row]:
    db = ctx.copy()
    base, _ = measure(
        ctx,
        ["python", "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("
         "'PRAGMA quick_check').fetchone()[0])", str(db)],
        runs=ctx.times(cap=1),
    )  # fmt: skip
    full, _ = measure(ctx, [*VISITLOG, "--db", str(db), "check", "--full"], runs=1, timeout=1800)
    since, results = measure(
        ctx, [*VISITLOG, "--db", str(db), "check", "--json"], runs=ctx.times(cap=3)
    )
    row = row_from(since, f"check, changes since the last check ({ctx.scale})", "< 20 s")
    row.baseline, row.baseline_name = base.median, "PRAGMA quick_check"
    row.ratio = since.median / base.median
    row.status = verdict(since.median < 20)
    said = json.loads(results[-1].stdout)
    row.notes.append(f"full: {said.get('full')}; ok: {said.get('ok')}")
    whole = row_from(full, f"check --full ({ctx.scale})", "— (info)")
    whole.status = "info"
    whole.notes.append("every index entry against its row: SQLite's integrity_check")
    return [row, whole]
