"""Work that runs inside a measured child process: ``python -m bench.child WHAT …``.

Each entry point prints one JSON object on stdout with what it measured
itself (for in-process timings) or what it did (row counts), so the parent
can time the whole process and still read the child's own figures.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

SYNCED = ("households", "visits", "items")


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


# -- store -------------------------------------------------------------------------


def save_visits(db: str, count: str) -> None:
    """Time ``Store.add_visit`` for ``count`` visits (one list item each), in process."""
    from visitlog.model import Item, Visit
    from visitlog.store import Store

    n = int(count)
    store = Store(db)
    ids = [
        r[0]
        for r in store.query(
            "SELECT id FROM households WHERE deleted = 0 AND merged_into IS NULL "
            "ORDER BY rowid LIMIT ?",
            [n + 1],
        )
    ]
    today = dt.date.today().isoformat()

    def one(hid: str, i: int) -> None:
        store.add_visit(
            Visit(
                household_id=hid,
                visit_date=today,
                visitor="基准测试员",
                mode="入户",
                outcome="见面",
                summary=f"基准测试走访 {i}：老人身体尚可，反映楼道灯不亮。",
                items=[
                    Item(
                        kind="问题",
                        category="公共设施",
                        description="楼道灯不亮",
                        level="居委自办",
                        deadline=(dt.date.today() + dt.timedelta(days=7)).isoformat(),
                    )
                ],
            )
        )

    # The first write of a process makes the device id and reads the clock;
    # a worker saving visits all afternoon pays that once, so it is not counted.
    one(ids[0], 0)
    times, cpus = [], []
    for i, hid in enumerate(ids[1 : n + 1], start=1):
        t0, c0 = time.perf_counter(), time.process_time()
        one(hid, i)
        times.append((time.perf_counter() - t0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
    store.close()
    _emit(
        {
            "saves": len(times),
            "median_ms": statistics.median(times),
            "median_cpu_ms": statistics.median(cpus),
            "min_ms": min(times),
            "max_ms": max(times),
            "p95_ms": sorted(times)[int(len(times) * 0.95) - 1],
        }
    )


def make_changes(db: str, fraction: str) -> None:
    """Change ``fraction`` of every synced table's rows through the Store (not timed).

    Rows are picked by rowid stride so the same fraction always changes the
    same rows; each change is one field, like a worker correcting a record.
    """
    from visitlog.store import Store

    step = max(1, round(1 / float(fraction)))
    store = Store(db)
    fields = {
        "households": lambda r: {"note": f"{r['note'] or ''}（复核）"},
        "visits": lambda r: {"summary": f"{r['summary'] or ''}（补记）"},
        "items": lambda r: {"resolution": f"{r['resolution'] or ''}（跟进）"},
    }
    changed = 0
    with store.transaction() as tx:
        for tbl, make in fields.items():
            rows = tx.rows(
                f"SELECT * FROM {tbl} WHERE deleted = 0 AND rowid % ? = 0 ORDER BY rowid", [step]
            )
            for r in rows:
                if tx.update(tbl, r["id"], make(r)):
                    changed += 1
    store.close()
    _emit({"changed": changed, "step": step})


# -- baselines -----------------------------------------------------------------------


def upsert_baseline(src: str, dest: str) -> None:
    """Copy the synced tables with plain sqlite3 ``executemany`` upserts, one transaction.

    The destination gets the same table and index definitions, read from the
    source's ``sqlite_master``; this is the floor any sync into an empty hub
    is compared with.  It is given the page cache visitlog's sync gives its
    connection (64 MB), so the two write through the same cache.
    """
    from visitlog.sync.sqlite.replica import SYNC_CACHE_KIB

    source = sqlite3.connect(f"file:{src}?immutable=1", uri=True)
    target = sqlite3.connect(dest, isolation_level=None)
    target.execute("PRAGMA journal_mode = WAL")
    target.execute("PRAGMA synchronous = NORMAL")
    target.execute(f"PRAGMA cache_size = -{SYNC_CACHE_KIB}")
    total = 0
    target.execute("BEGIN IMMEDIATE")
    # Every table first: a trigger of one (households_merged) names the others,
    # and an upsert that may fire it cannot be prepared before they exist.
    # search_keys (the home screen's kept keys) is named by the households'
    # triggers: made, as a hub has it, and left empty, as a hub's is; so are
    # the summary's kept months and stale marks the record tables' triggers name.
    for kind in ("table", "index", "trigger"):
        for tbl in (*SYNCED, "search_keys", "summary_months", "marks_stale"):
            for (sql,) in source.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type = ? AND sql IS NOT NULL",
                [tbl, kind],
            ):
                target.execute(sql)
    for tbl in SYNCED:
        cur = source.execute(f"SELECT * FROM {tbl}")
        cols = [d[0] for d in cur.description]
        upsert = (
            f"INSERT INTO {tbl} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
            f"ON CONFLICT(id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in cols if c != "id")
        )
        while batch := cur.fetchmany(10_000):
            target.executemany(upsert, batch)
            total += len(batch)
    target.execute("COMMIT")
    target.close()
    _emit({"rows": total})


def storage(db: str, floor: str) -> None:
    """Bytes of ``db`` by what holds them, and the primary-key-only floor.

    The floor is ``floor``: a new file holding the same rows of every synced
    table (households, visits, items and the small ones), each table created
    by its own statement (its columns and primary key) and no other index, no
    change log, then ``VACUUM``ed.  ``dbstat`` gives the database's bytes per
    table and index.
    """
    from visitlog.model import SYNCED_FIELDS

    source = sqlite3.connect(f"file:{db}?immutable=1", uri=True)
    page = source.execute("PRAGMA page_size").fetchone()[0]
    pages = source.execute("PRAGMA page_count").fetchone()[0]
    free = source.execute("PRAGMA freelist_count").fetchone()[0]
    by_name = dict(source.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
    tables = {r[0]: r[1] for r in source.execute("SELECT name, tbl_name FROM sqlite_master")}
    # the change log: its table and index, and the indexes of the inserts rows hold
    log = sum(v for k, v in by_name.items() if tables.get(k) == "changes" or k.endswith("_log"))
    households = source.execute("SELECT count(*) FROM households").fetchone()[0]
    source.close()
    target = sqlite3.connect(floor, isolation_level=None)
    target.execute(f"PRAGMA page_size = {page}")
    target.execute("ATTACH ? AS src", [f"file:{db}?immutable=1"])
    target.execute("BEGIN")
    for tbl in SYNCED_FIELDS:
        (sql,) = target.execute(
            "SELECT sql FROM src.sqlite_master WHERE type = 'table' AND name = ?", [tbl]
        ).fetchone()
        target.execute(sql)
        target.execute(f"INSERT INTO main.{tbl} SELECT * FROM src.{tbl}")
    target.execute("COMMIT")
    target.execute("DETACH src")
    target.execute("VACUUM")
    floor_bytes = target.execute("PRAGMA page_count").fetchone()[0] * page
    target.close()
    used = (pages - free) * page
    _emit(
        {
            "bytes": pages * page,
            "used": used,
            "free": free * page,
            "floor": floor_bytes,
            "log": log,
            "households": households,
            "largest": sorted(by_name.items(), key=lambda kv: -kv[1])[:8],
        }
    )


def street_file(src: str, dest: str, prefix: str) -> None:
    """One street's laptop file cut out of the district's: the households of
    the 居民区 whose names begin with *prefix* (a street of the demo district),
    their visits and items, and the street's name, in a new file of the same
    schema.  Not timed: the summary of one street is (``summary`` case)."""
    from visitlog.store import Store

    Store(dest).close()
    conn = sqlite3.connect(dest, isolation_level=None)
    conn.execute("ATTACH ? AS d", [f"file:{src}?immutable=1"])
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "CREATE TEMP TABLE street AS SELECT id FROM d.households "
        "WHERE substr(community, 1, length(?)) = ?",
        [prefix, prefix],
    )
    counts = {}
    for tbl, where in (
        ("households", "id IN (SELECT id FROM temp.street)"),
        ("visits", "household_id IN (SELECT id FROM temp.street)"),
        ("items", "household_id IN (SELECT id FROM temp.street)"),
    ):
        mine = [r[1] for r in conn.execute(f"PRAGMA main.table_info({tbl})")]
        theirs = {r[1] for r in conn.execute(f"PRAGMA d.table_info({tbl})")}
        cols = ", ".join(c for c in mine if c in theirs)
        conn.execute(f"INSERT INTO main.{tbl} ({cols}) SELECT {cols} FROM d.{tbl} WHERE {where}")
        counts[tbl] = conn.execute(f"SELECT count(*) FROM main.{tbl}").fetchone()[0]
    conn.execute(
        "INSERT OR REPLACE INTO main.settings (key, value) "
        "SELECT key, value FROM d.settings WHERE key = 'street'"
    )
    conn.execute("COMMIT")
    conn.execute("DETACH d")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    _emit(counts)


def count_rows(db: str) -> None:
    """Rows of the synced tables (live and tombstoned), for rows/s figures."""
    conn = sqlite3.connect(f"file:{db}?immutable=1", uri=True)
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in SYNCED}
    _emit({"rows": sum(counts.values()), **counts})


# -- TUI -----------------------------------------------------------------------------


async def _first_table_rows(app: Any, pilot: Any, timeout: float = 60) -> int:
    """Wait until a DataTable on screen shows rows and the screen has refreshed."""
    from textual.widgets import DataTable

    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        tables = [t for t in app.screen.query(DataTable) if t.row_count > 0]
        if tables:
            await pilot.pause()
            return tables[0].row_count
        await pilot.pause(0.005)
    raise RuntimeError("no DataTable with rows appeared")


def _run_painted(make: Callable[[], Any]) -> None:
    async def main() -> None:
        app = make()
        async with app.run_test(size=(80, 24)) as pilot:
            rows = await _first_table_rows(app, pilot)
            painted, cpu = time.time(), time.process_time()
        _emit({"painted": painted, "cpu": cpu, "rows": rows})

    asyncio.run(main())


def tui_paint(db: str) -> None:
    """Start the visitlog TUI headless on ``db`` and report when the home table painted.

    As ``visitlog`` does at start (:mod:`visitlog.cli`), an encrypted file's key
    is derived on a thread of its own while the app's modules load.
    """
    from visitlog.store import Store, cipher

    cipher.prefetch(db)
    from visitlog.tui.app import make_app

    _run_painted(lambda: make_app(Store(db)))


def tui_baseline() -> None:
    """A minimal Textual app with a 200-row DataTable, under the same harness."""
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable, Footer, Header

    class Minimal(App):
        def compose(self) -> ComposeResult:
            yield Header()
            yield DataTable()
            yield Footer()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("微网格", "地址", "户主", "电话", "标签", "上次走访")
            table.add_rows(
                (
                    f"网格{i % 7}",
                    f"曹杨一村{i // 6 + 1}号{i % 6 + 1}01室",
                    "张**",
                    "138****0000",
                    "",
                    "",
                )
                for i in range(200)
            )

    _run_painted(Minimal)


#: Searches typed one key at a time: pinyin initials (as the design promises),
#: Chinese as an input method delivers it (whole characters), a head's name,
#: digits of a phone number.
SEARCHES = ("cy1c12", "曹杨一村", "张伟", "1380", "zyl100")


def tui_search(db: str) -> None:
    """Type searches into the home screen's box; time each keystroke until re-filtered.

    A keystroke counts as done when the home screen has shown the result for
    the box's new text and the screen has then been composited (``App._display``
    is called even headless, only the terminal write is skipped).  Near
    matches arrive later from a worker; the time until the last of them is
    shown is reported separately.
    """
    from visitlog.store import Store
    from visitlog.tui.app import make_app
    from visitlog.tui.screens.home import HomeScreen

    async def main() -> None:
        app = make_app(Store(db))
        async with app.run_test(size=(80, 24)) as pilot:
            await _first_table_rows(app, pilot)
            home = next(s for s in app.screen_stack if isinstance(s, HomeScreen))
            deadline = time.perf_counter() + 120
            while home.index is None and time.perf_counter() < deadline:
                await pilot.pause(0.01)
            if home.index is None:
                raise RuntimeError("search index never became ready")
            ready = time.time()
            search = home.query_one("#search")
            shown: list[tuple[float, str]] = []
            displays: list[float] = []
            show, display = home._show, app._display

            def spy_show(result: Any, *args: Any, **kwargs: Any) -> None:
                show(result, *args, **kwargs)
                shown.append((time.perf_counter(), result.query))

            def spy_display(*args: Any) -> None:
                display(*args)
                displays.append(time.perf_counter())

            home._show = spy_show
            app._display = spy_display
            filtered, settled, cpu = [], [], []
            for text in SEARCHES:
                await pilot.press("escape", "slash")
                await pilot.pause()
                for ch in text:
                    n_shown = len(shown)
                    c0 = time.process_time()
                    t0 = time.perf_counter()
                    await pilot.press(ch)
                    wanted = search.value
                    done = None
                    limit = time.perf_counter() + 5
                    while time.perf_counter() < limit:
                        # The result's query is normalised (一 → 1), so it is not
                        # compared with the box: near-match workers of the previous
                        # key were awaited, so any result shown now is this key's.
                        hits = [ts for ts, _q in shown[n_shown:]]
                        if hits:
                            painted = [d for d in displays if d >= hits[0]]
                            if painted:
                                done = painted[0]
                                break
                        await pilot.pause(0.001)
                    if done is None:
                        raise RuntimeError(f"table never re-filtered for {wanted!r}")
                    filtered.append((done - t0) * 1000)
                    # CPU of the whole process meanwhile (pilot's own waiting included).
                    cpu.append((time.process_time() - c0) * 1000)
                    # Let the near-match worker finish before the next key.
                    while any(w.group == "home-near" and not w.is_finished for w in app.workers):
                        await pilot.pause(0.005)
                    await pilot.pause()
                    settled.append((shown[-1][0] - t0) * 1000)
            rows = home.table.row_count
        ordered = sorted(filtered)
        _emit(
            {
                "keystrokes": len(filtered),
                "median_ms": statistics.median(filtered),
                "p95_ms": ordered[max(0, int(len(ordered) * 0.95) - 1)],
                "max_ms": ordered[-1],
                "cpu_median_ms": statistics.median(cpu),
                "near_median_ms": statistics.median(settled),
                "near_max_ms": max(settled),
                "households": len(home.index.rows),
                "ready": ready,
                "rows_after_last": rows,
            }
        )

    asyncio.run(main())


# -- bundles -----------------------------------------------------------------------


def hold_key(key_file: str, *dbs: str) -> None:
    """Give each database the station key whose line is in ``key_file`` (making it first)."""
    from pathlib import Path

    from visitlog.store import StationKey, Store, save_key

    path = Path(key_file)
    if not path.exists():
        path.write_text(StationKey.generate().to_line() + "\n", encoding="ascii")
    key = StationKey.from_line(path.read_text(encoding="ascii"))
    for db in dbs:
        Store(db).close()  # an empty one (schema only) when it is not there yet
        save_key(db, key)


class _Unsealed:
    """A stand-in for the bundle cipher: passes the gzip stream through unchanged."""

    def __init__(self, *_args: Any) -> None:
        pass

    def feed(self, data: bytes) -> bytes:
        return data

    def close(self) -> bytes:
        return b""


def bundle_export(db: str, dest: str, kind: str) -> None:
    """``export_bundle`` of the whole database: ``encrypted`` as visitlog writes bundles,
    or ``plain`` as earlier versions wrote them (the same stream, not encrypted, signed)."""
    from visitlog.store import Store
    from visitlog.sync import bundle_file, export_bundle

    if kind == "plain":
        bundle_file.MAGIC = bundle_file.PLAIN_MAGIC
        bundle_file.VERSION = bundle_file.PLAIN_VERSION
        bundle_file.new_header = lambda _key: b""
        bundle_file.Sealer = _Unsealed  # type: ignore[assignment,misc]
    with Store(db) as store:
        info = export_bundle(store, dest)
    with open(dest, "rb") as fh:
        head = fh.readline()
    _emit({"changes": info.total, "format": head.decode().strip()})


def bundle_import(db: str, src: str) -> None:
    """``import_bundle`` of a bundle into ``db`` (an encrypted one, or a plain one of an
    earlier version through the reader visitlog keeps for them)."""
    from visitlog.store import Store
    from visitlog.sync import import_bundle

    with Store(db) as store:
        report = import_bundle(store, src)
    _emit({"received": report.received_total, "plain": report.plain_bundle})


def dedup_day(db: str, seed: str = "7") -> None:
    """A day's work arriving before an incremental ``dedup households --changed``:
    300 households picked at random across the whole dataset (as a street's
    stations' syncs bring them), 250 of them edited and 50 entered again as new
    households (the address written without 室, the head and phone alike)."""
    import random

    from visitlog.model import Household
    from visitlog.store import Store

    store = Store(db)
    rng = random.Random(int(seed))
    top = store.scalar("SELECT max(rowid) FROM households")
    picked: list[Any] = []
    seen: set[int] = set()
    while len(picked) < 300:
        rowid = rng.randrange(1, top + 1)
        if rowid not in seen:
            seen.add(rowid)
            picked += store.query(
                "SELECT * FROM households WHERE rowid = ? AND deleted = 0 AND merged_into IS NULL",
                [rowid],
            )
    for r in picked[:250]:
        store.update_household(r["id"], note="电话核实过", members=(r["members"] or 1) + 1)
    for r in picked[250:]:
        store.add_household(
            Household(
                address=r["address"].replace("室", ""),
                micro_grid=r["micro_grid"],
                community=r["community"],
                head=r["head"],
                phone=r["phone"],
            )
        )
    _emit({"edited": 250, "entered_again": 50})


def tui_keys(db: str, rounds: str = "5") -> None:
    """Time the keys of the home screen (:mod:`bench.tui_keys`)."""
    from bench.tui_keys import tui_keys as run_keys

    _emit(run_keys(db, rounds))


def tui_keys_baseline(rounds: str = "5") -> None:
    """The same key timing on a minimal Textual app."""
    from bench.tui_keys import tui_keys_baseline as run_baseline

    _emit(run_baseline(rounds))


ENTRY_POINTS: dict[str, Callable[..., None]] = {
    "save_visits": save_visits,
    "make_changes": make_changes,
    "upsert_baseline": upsert_baseline,
    "storage": storage,
    "count_rows": count_rows,
    "street_file": street_file,
    "tui_paint": tui_paint,
    "tui_baseline": tui_baseline,
    "tui_search": tui_search,
    "hold_key": hold_key,
    "bundle_export": bundle_export,
    "bundle_import": bundle_import,
    "tui_keys": tui_keys,
    "dedup_day": dedup_day,
    "tui_keys_baseline": tui_keys_baseline,
}


def main(argv: list[str]) -> None:
    """Dispatch ``python -m bench.child WHAT ARGS…``."""
    ENTRY_POINTS[argv[0]](*argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
