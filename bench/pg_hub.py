"""The PostgreSQL hub at street scale, each figure with its baseline in the same run.

```
python -m bench.pg_hub [--households N] [--laptops 20] [--rounds 5] [--queued 10] [--write]
```

Needs a PostgreSQL server (``VISITLOG_BENCH_PG``, default
``postgresql://postgres@127.0.0.1:5432/postgres``): makes a database of its
own and drops it at the end.  Every timing is a whole ``python -m visitlog``
process, as a worker runs it.

Cases (each against its baseline):

1. the initial push of the demo street into the hub — the same push into a
   SQLite hub file;
2. the initial pull of one 居民区 by its station's account — ``psql``
   ``\\copy`` of the same changes under the same account;
3. the street summary on the hub (``summary --hub``) — the same summary of
   the SQLite hub;
4. a station laptop's incremental sync of a day's work (a few hundred
   changes) while the other laptops sync theirs at the same moment — the
   same sync against a SQLite hub, alone; and each of those syncs' time at
   the hub (waiting for its lock, then holding it: :mod:`bench.hub_time`),
   the hub's share of the wait, against the same sync alone; then, in a few
   rounds, one laptop's sync as on a CPU of its own: the nineteen others at
   ``nice 19``, it started once ``--queued`` of them are at the hub's lock;
5. twenty laptops syncing at once: errors, slowest.

``--write`` appends the table to ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
ADMIN = os.environ.get("VISITLOG_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
VISITLOG = [sys.executable, "-m", "visitlog"]

#: A day's work on one laptop: households edited, one field each, plus visits.
_DAY = """
import sys
from visitlog.model import Visit
from visitlog.store import Store
s = Store(sys.argv[1])
ids = [r["id"] for r in s.query("SELECT id FROM households ORDER BY id LIMIT ?", [int(sys.argv[2])])]
for n, hid in enumerate(ids):
    s.update_household(hid, phone=f"139{n:08d}")
    s.add_visit(Visit(household_id=hid, visit_date="2026-11-20", visitor="bench"))
s.close()
"""


def _url(db: str, user: str | None = None) -> str:
    parts = urlsplit(ADMIN)
    netloc = parts.netloc if user is None else f"{user}@{parts.netloc.rsplit('@', 1)[-1]}"
    return urlunsplit((parts.scheme, netloc, "/" + db, "", ""))


def _run(args: list[str], db: Path | None = None) -> tuple[float, str]:
    cmd = [*VISITLOG, *(["--db", str(db)] if db else []), *args]
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    took = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {out.stderr.strip() or out.stdout.strip()}")
    return took, out.stdout


def _timed_sync(url: str, db: Path) -> tuple[float, dict[str, float]]:
    """``visitlog sync url`` of *db*: its wall time, and its wait and hold at the hub."""
    cmd = [sys.executable, "-m", "bench.hub_time", "--db", str(db), "sync", url, "--json"]
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    took = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"sync {public(url)}: {out.stderr.strip() or out.stdout.strip()}")
    last = [ln for ln in out.stderr.splitlines() if ln.startswith("HUB-TIME ")]
    return took, json.loads(last[-1][len("HUB-TIME ") :]) if last else {}


def _among_others(
    db: str, roles: list[str], laptops: list[Path], me: int, queued: int
) -> tuple[float, float, int]:
    """Laptop *me*'s sync, started once *queued* of the others (at ``nice 19``)
    hold or wait for the hub's lock: its wall time, its wait at the hub, and
    how many were at the lock when it started."""
    import psycopg

    others = [
        subprocess.Popen(
            [
                "nice",
                "-n",
                "19",
                sys.executable,
                "-m",
                "bench.hub_time",
                "--db",
                str(lap),
                "sync",
                _url(db, role),
                "--json",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k, (lap, role) in enumerate(zip(laptops, roles, strict=True))
        if k != me
    ]
    seen = 0
    with psycopg.connect(_url(db), autocommit=True) as admin:
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline:
            seen = admin.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            ).fetchone()[0]
            if seen >= queued:
                break
            time.sleep(0.005)
    took, info = _timed_sync(_url(db, roles[me]), laptops[me])
    for proc in others:
        _, err = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"a laptop beside it failed: {err.strip()[-300:]}")
    return took, info.get("wait", 0.0), seen


def public(url: str) -> str:
    return urlsplit(url).path


def _py(code: str, *args: str) -> None:
    subprocess.run([sys.executable, "-c", code, *args], check=True, cwd=ROOT)


def _psql(url: str, sql: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        ["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.pg_hub")
    ap.add_argument("--households", type=int, default=20_000)
    ap.add_argument("--laptops", type=int, default=20)
    ap.add_argument("--day", type=int, default=150, help="households edited per laptop")
    ap.add_argument(
        "--rounds", type=int, default=5, help="rounds of one laptop's sync among the others"
    )
    ap.add_argument(
        "--queued", type=int, default=10, help="others at the hub's lock when it starts"
    )
    ap.add_argument("--write", action="store_true")
    opts = ap.parse_args(argv)
    if not os.environ.get("VISITLOG_PASSPHRASE"):
        os.environ["VISITLOG_PLAIN"] = "1"  # the laptops' files are plain, as in bench/
    work = Path(tempfile.mkdtemp(prefix="visitlog-pgbench-"))
    name = f"visitlog_bench_{secrets.token_hex(4)}"
    roles = [f"vb_{secrets.token_hex(3)}_{n}" for n in range(opts.laptops)]
    subprocess.run(["psql", "-q", "-X", ADMIN, "-c", f'CREATE DATABASE "{name}"'], check=True)
    rows: list[tuple[str, str, str, str]] = []
    notes: list[str] = []
    try:
        hub = _url(name)
        office = work / "office.db"
        built, _ = _run(["demo", "--households", str(opts.households), "--seed", "1"], office)
        counts = subprocess.run(
            ["sqlite3", str(office), "SELECT count(*) FROM changes"], capture_output=True, text=True
        ).stdout.strip()
        notes.append(
            f"demo street of {opts.households:,} households built in {built:.0f} s; "
            f"{int(counts):,} changes"
        )
        _run(["hub", "init", hub])
        base = work / "base.db"
        shutil.copy(office, base)
        file_hub = work / "hub.db"
        t_file, _ = _run(["sync", str(file_hub), "--new-hub", "--json"], base)
        t_pg, out = _run(["sync", hub, "--json"], office)
        rows.append(
            (
                "initial push of the street into the hub",
                f"{t_pg:.1f} s",
                f"{t_file:.1f} s (SQLite hub file)",
                f"{t_pg / t_file:.2f}×",
            )
        )
        notes.append(f"the initial push sent {json.loads(out)['sent']:,} changes")
        communities = [
            line
            for line in subprocess.run(
                [
                    "sqlite3",
                    str(office),
                    "SELECT community FROM households GROUP BY community ORDER BY community",
                ],
                capture_output=True,
                text=True,
            ).stdout.splitlines()
            if line
        ]
        for n, role in enumerate(roles):
            _run(
                [
                    "hub",
                    "station",
                    "add",
                    hub,
                    role,
                    "--community",
                    communities[n % len(communities)],
                ]
            )
        # 2. the initial pull of one 居民区
        laptops = [work / f"l{n}.db" for n in range(opts.laptops)]
        pulls = []
        for n, lap in enumerate(laptops):
            _run(["init", "--worker", f"社工{n}", "--device", f"l{n}"], lap)
            took, _ = _run(["sync", _url(name, roles[n]), "--json"], lap)
            pulls.append(took)
        held = subprocess.run(
            ["sqlite3", str(laptops[0]), "SELECT count(*) FROM households"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        copy = _psql(
            _url(name, roles[0]),
            "\\copy (SELECT * FROM changes ORDER BY device, seq) TO '/dev/null'",
        )
        rows.append(
            (
                f"initial pull of one 居民区 ({held} households) by its station",
                f"{statistics.median(pulls):.2f} s",
                f"{copy:.2f} s (psql \\copy of the same changes, same account)",
                f"{statistics.median(pulls) / copy:.1f}×",
            )
        )
        notes.append(
            f"initial pulls of {len(pulls)} laptops: median {statistics.median(pulls):.2f} s, "
            f"max {max(pulls):.2f} s"
        )
        # 3. the street summary
        t_sum, _ = _run(["summary", "--hub", hub, "--by", "street", "--json"])
        t_sum_file, _ = _run(["summary", "--by", "street", "--json"], file_hub)
        rows.append(
            (
                "street summary on the hub (summary --hub)",
                f"{t_sum:.1f} s",
                f"{t_sum_file:.2f} s (same summary of the SQLite hub)",
                f"{t_sum / t_sum_file:.1f}×",
            )
        )
        # 4./5. a day's work on every laptop, then all sync at once
        for lap in laptops:
            _py(_DAY, str(lap), str(opts.day))
        took: list[float] = [0.0] * len(laptops)
        at_hub: list[dict[str, float]] = [{}] * len(laptops)
        errors: list[str] = []

        def one(k: int) -> None:
            try:
                took[k], at_hub[k] = _timed_sync(_url(name, roles[k]), laptops[k])
            except RuntimeError as exc:
                errors.append(str(exc))

        threads = [threading.Thread(target=one, args=(k,)) for k in range(len(laptops))]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        # the same sync alone against the PostgreSQL hub: one more day on one laptop
        _py(_DAY, str(laptops[0]), str(opts.day))
        t_alone_pg, _ = _run(["sync", _url(name, roles[0]), "--json"], laptops[0])
        # one laptop as if on a CPU of its own, the others at the hub's lock
        behind: list[tuple[float, float, int]] = []
        for k in range(min(opts.rounds, len(laptops))):
            for lap in laptops:
                _py(_DAY, str(lap), str(opts.day))
            behind.append(_among_others(name, roles, laptops, k, opts.queued))
        # the baseline: the same day's work synced alone with a SQLite hub
        _py(_DAY, str(base), str(opts.day))
        t_alone, _ = _run(["sync", str(file_hub), "--json"], base)
        rows.append(
            (
                f"incremental sync of a day's work ({opts.day * 3} changes) "
                f"while {len(laptops) - 1} others sync",
                f"{statistics.median(took):.2f} s (max {max(took):.2f} s)",
                f"{t_alone:.2f} s (same sync, SQLite hub, alone)",
                f"{statistics.median(took) / t_alone:.1f}×",
            )
        )
        rows.append(
            (
                f"{len(laptops)} laptops syncing at once",
                f"{wall:.1f} s all done",
                f"{len(errors)} errors",
                "—",
            )
        )
        if behind:
            mine = [b[0] for b in behind]
            rows.append(
                (
                    f"a day's sync started while {min(b[2] for b in behind)}–"
                    f"{max(b[2] for b in behind)} others are at the hub's lock (the "
                    f"{len(laptops) - 1} others at nice 19)",
                    f"{statistics.median(mine):.2f} s (max {max(mine):.2f} s, {len(mine)} rounds; "
                    f"waiting {min(b[1] for b in behind):.2f}–{max(b[1] for b in behind):.2f} s)",
                    f"{t_alone_pg:.2f} s (the whole sync alone, PostgreSQL hub)",
                    f"{statistics.median(mine) / t_alone_pg:.1f}×",
                )
            )
            notes.append(
                "a day's sync among nineteen others as on laptops of their own: two cores cannot "
                "run twenty visitlog processes at once as twenty laptops would, so in each round "
                "the nineteen others sync at `nice 19` (their start-up and merging give way; their "
                "sessions at the hub, PostgreSQL's own processes, do not), and the measured laptop "
                "starts once the given number of them hold or wait for the hub's lock (`pg_locks`)"
            )
        waits = [h.get("wait", 0.0) for h in at_hub if h]
        helds = [h.get("held", 0.0) for h in at_hub if h]
        spent = [h.get("wait", 0.0) + h.get("held", 0.0) for h in at_hub if h]
        if waits:
            rows.append(
                (
                    f"the same syncs' time at the hub: waiting for its lock + holding it "
                    f"(while {len(laptops) - 1} others sync)",
                    f"{statistics.median(spent):.2f} s "
                    f"(waiting {statistics.median(waits):.2f} s, holding "
                    f"{statistics.median(helds):.2f} s; max "
                    f"{max(spent):.2f} s)",
                    f"{t_alone_pg:.2f} s (the whole sync alone, PostgreSQL hub)",
                    "—",
                )
            )
            notes.append(
                "time at the hub: each of the twenty syncs ran as `python -m bench.hub_time "
                "sync …` (visitlog itself, its hub sessions timed), waiting = until the hub's "
                "lock was its, holding = from then to the commit. On twenty laptops with CPUs "
                "of their own a sync would take about its time alone plus its wait at the hub: "
                f"{t_alone_pg:.2f} + {statistics.median(waits):.2f} s (median) = "
                f"{t_alone_pg + statistics.median(waits):.2f} s; here the holder of the lock "
                "shares two cores with the others' start-up, so both figures are upper bounds"
            )
        cores = os.cpu_count() or 1
        notes.append(
            f"the {len(laptops)} syncing processes (the laptops' side: Python, visitlog, their "
            f"own SQLite files) used {cpu:.1f} s of CPU together, {cpu / len(laptops):.2f} s "
            f"each; on this machine's {cores} cores, which the PostgreSQL server shares, they "
            f"cannot all be done in less than {cpu / cores:.1f} s before any of them waits for "
            f"the hub. The same sync alone against the PostgreSQL hub: {t_alone_pg:.2f} s."
        )
        if errors:
            notes.append("errors: " + "; ".join(errors[:3]))
    finally:
        subprocess.run(
            ["psql", "-q", "-X", ADMIN, "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
            check=False,
        )
        for role in roles:
            subprocess.run(
                ["psql", "-q", "-X", ADMIN, "-c", f'DROP ROLE IF EXISTS "{role}"'],
                check=False,
                stderr=subprocess.DEVNULL,
            )
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()[0]
    text = [
        f"\n## PostgreSQL hub — street scale ({opts.households:,} households, "
        f"{opts.laptops} laptops)\n",
        f"- Date: {dt.datetime.now():%Y-%m-%d %H:%M}; `python -m bench.pg_hub "
        f"--households {opts.households} --laptops {opts.laptops} --day {opts.day} "
        f"--rounds {opts.rounds} --queued {opts.queued}`; "
        f"load average at the end {load:.2f}; PostgreSQL on the same 2-core machine\n",
        "| case | measured | baseline (same run) | ratio |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
        *[f"- {n}" for n in notes],
        "",
    ]
    print("\n".join(text))
    if opts.write:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write("\n".join(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
