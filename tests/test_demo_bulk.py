"""The demo street written in bulk is the street written row by row.

The bulk path sets the indexes and insert triggers aside while it writes and
builds them at the end; a large street is generated in a second process.
Neither may change what is stored: the same rows, the same change log, the
same schema, and the indexes answer queries the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
import rawdb

from visitlog import demo
from visitlog.store import Store

#: Columns that differ between two writes of the same row (when, by whom).
WHEN = {"created_at", "hlc", "device", "stamps"}
DEMO_TODAY = dt.date(2026, 11, 27)


def _build(path: Path, *, bulk: bool, households: int = 240, seed: int = 5) -> dict[str, int]:
    with Store(path) as store:
        return demo.generate_into(store, households, seed=seed, today=DEMO_TODAY, bulk=bulk)


def _rows(conn: sqlite3.Connection, table: str) -> list[tuple]:
    cur = conn.execute(f"SELECT * FROM {table} ORDER BY rowid")
    names = [d[0] for d in cur.description]
    keep = [i for i, n in enumerate(names) if n not in WHEN]
    return [tuple(r[i] for i in keep) for r in cur]


def _log(conn: sqlite3.Connection) -> list[tuple]:
    """The change log without who and when (the device id and stamps differ)."""
    out = []
    for _dev, _seq, tbl, row_id, _hlc, op, data, base in rawdb.change_log(conn, order="seq"):
        values = json.loads(data)
        assert values.pop("created_at")  # each insert carries when it was made
        out.append((tbl, row_id, op, values, base))
    return out


def _schema(conn: sqlite3.Connection) -> set[tuple]:
    return set(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))


def test_bulk_street_is_the_row_by_row_street(tmp_path: Path) -> None:
    slow, fast = tmp_path / "slow.db", tmp_path / "fast.db"
    assert _build(slow, bulk=False) == _build(fast, bulk=True)
    a, b = rawdb.connect(slow), rawdb.connect(fast)
    assert _schema(a) == _schema(b)
    for table in ("households", "visits", "items"):
        rows = _rows(a, table)
        assert rows, table
        assert rows == _rows(b, table), table
    assert _log(a) == _log(b)
    # Every row is stamped and logged once, by one device, in order.
    for conn in (a, b):
        seqs = [s for (s,) in conn.execute("SELECT seq FROM change_log ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1))
        assert conn.execute("SELECT count(DISTINCT device) FROM change_log").fetchone()[0] == 1
        stamped = conn.execute(
            "SELECT count(*) FROM households h JOIN change_log c "
            "ON c.tbl = 'households' AND c.row_id = h.id AND c.hlc = h.hlc"
        ).fetchone()[0]
        assert stamped == conn.execute("SELECT count(*) FROM households").fetchone()[0]
    # The rebuilt indexes are whole: SQLite's own check finds nothing amiss.
    assert b.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_bulk_street_answers_like_the_row_by_row_one(tmp_path: Path) -> None:
    slow, fast = tmp_path / "slow.db", tmp_path / "fast.db"
    _build(slow, bulk=False)
    _build(fast, bulk=True)
    with Store(slow) as a, Store(fast) as b:
        assert a.count_live() == b.count_live()
        assert a.micro_grids() == b.micro_grids()
        grid = a.micro_grids()[0]["micro_grid"]
        ids = [h.id for h in a.list_households(grid=grid)]
        assert ids and ids == [h.id for h in b.list_households(grid=grid)]
        assert [i.id for i in a.list_items()] == [i.id for i in b.list_items()]


def test_failed_bulk_write_leaves_the_database_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v.db"
    with Store(path) as store:
        before = _schema(store.conn)

        def broken(households, seed, today):
            yield from demo.generate(households, seed, today)
            raise RuntimeError("power cut")

        monkeypatch.setattr(demo, "_chunks", broken)
        with pytest.raises(RuntimeError):
            demo.generate_into(store, 50, today=DEMO_TODAY)
        assert _schema(store.conn) == before
        assert store.count_live()["households"] == 0
        assert store.conn.execute("SELECT count(*) FROM change_log").fetchone()[0] == 0


def test_a_large_street_made_in_a_second_process_is_the_same_street(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(demo, "PARALLEL_FROM", 10)
    here = list(demo.generate(120, 3, DEMO_TODAY))
    there = list(demo._chunks(120, 3, DEMO_TODAY))
    assert [t for t, _ in there] == [t for t, _ in here]
    assert there == here


def test_demo_accepts_a_whole_district(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    asked = []

    def fake(store, households, **kwargs):
        asked.append(households)
        return {"households": households, "visits": 0, "items": 0}

    monkeypatch.setattr(demo, "generate_into", fake)
    result = cli("demo", "--households", "450000", "--json")
    assert result.exit_code == 0, result.output
    assert asked == [450_000]
    assert cli("demo", "--households", "0").exit_code == 2


def test_a_tables_indexes_can_be_built_as_soon_as_its_rows_are_in(tmp_path: Path) -> None:
    """``indexed(table)`` builds that table's indexes at once (a copy builds
    them while the next table is read); the rest, and the triggers, at the
    end, each once: the schema is the one the load began with."""
    from visitlog.store import bulk_load

    with Store(tmp_path / "v.db") as store:
        before = _schema(store.conn)

        def indexes(tbl: str) -> set[str]:
            rows = store.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                "AND sql IS NOT NULL",
                [tbl],
            )
            return {r[0] for r in rows}

        households, visits = indexes("households"), indexes("visits")
        assert households and visits
        store.conn.execute("BEGIN IMMEDIATE")
        with bulk_load(store.conn) as indexed:
            assert indexes("households") == indexes("visits") == set()
            indexed("households")
            indexed("households")  # a second call builds nothing twice
            assert indexes("households") == households
            assert indexes("visits") == set()
        store.conn.execute("COMMIT")
        assert _schema(store.conn) == before
