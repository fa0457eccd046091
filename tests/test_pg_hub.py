"""The PostgreSQL hub: laptops converge through it as through a SQLite hub.

Each test makes a database of its own on the test server and drops it
(``tests/pghub.py``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import psycopg
import pytest

from visitlog.model import SYNCED_FIELDS, Household, Visit, VisitlogError
from visitlog.store import Store
from visitlog.sync import sync_with
from visitlog.sync.postgres import PgReplica, init_hub, public_url
from visitlog.sync.postgres.schema import LATEST, MIGRATIONS, VERSION_TABLE


def _columns(tbl: str) -> list[str]:
    return ["id", *SYNCED_FIELDS[tbl], "hlc", "device", "stamps"]


def content(store: Store) -> dict[str, list[tuple]]:
    return {
        tbl: [
            tuple(r[c] for c in _columns(tbl))
            for r in store.query(f"SELECT {', '.join(_columns(tbl))} FROM {tbl} ORDER BY id")
        ]
        for tbl in ("households", "visits", "items")
    }


def conflicts(store: Store) -> set[tuple[str, frozenset[str]]]:
    rows = store.query("SELECT field, value, winner_value FROM conflicts")
    return {(r["field"], frozenset((r["value"], r["winner_value"]))) for r in rows}


def laptops(tmp_path: Path, hub: Any) -> tuple[Store, Store, str]:
    """Two laptops that edit one visit alike and differently, synced through *hub*."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    a, b = Store(tmp_path / "a.db"), Store(tmp_path / "b.db")
    a.init_identity("张三", "a")
    b.init_identity("李四", "b")
    hid = a.add_household(Household(address="曹杨一村1号101室", micro_grid="一网格")).id
    vid = a.add_visit(
        Visit(household_id=hid, visit_date="2026-11-01", visitor="张三"),
    ).id
    for s in (a, b):
        sync_with(s, hub, create=True)
    a.edit_visit(vid, summary="A的版本")
    b.edit_visit(vid, summary="B的版本")
    b.update_household(hid, phone="13812345678")
    for s in (a, b, a):
        sync_with(s, hub, create=True)
    return a, b, vid


def test_laptops_converge_through_a_postgres_hub_as_through_a_file(tmp_path, pg_hub):
    a, b, vid = laptops(tmp_path / "pg", pg_hub)
    assert content(a) == content(b)
    c, d, _ = laptops(tmp_path / "file", tmp_path / "file" / "hub.db")
    assert conflicts(a) == conflicts(b) == conflicts(c) == conflicts(d)
    assert [f for f, _ in conflicts(a)] == ["summary"]
    # the hub holds the same rows, field by field
    with psycopg.connect(pg_hub) as conn:
        for tbl, rows in content(a).items():
            held = dict(conn.execute("SELECT id, data FROM rows WHERE tbl = %s", [tbl]).fetchall())
            assert [tuple(held[r[0]][col] for col in _columns(tbl)) for r in rows] == rows
        hub_conflicts = {r[0] for r in conn.execute("SELECT id FROM conflicts")}
    assert hub_conflicts == {r["id"] for r in a.query("SELECT id FROM conflicts")}
    # converged: a repeated sync moves nothing; a dry run changes nothing
    for s in (a, b):
        again = sync_with(s, pg_hub)
        assert (again.sent_total, again.received_total, again.conflicts) == (0, 0, [])
    a.edit_visit(vid, summary="再改")
    dry = sync_with(a, pg_hub, dry_run=True)
    assert dry.sent_total == 1
    assert sync_with(b, pg_hub).received_total == 0
    for s in (a, b, c, d):
        s.close()


def test_a_hubs_snapshot_copy_equals_the_replay_of_its_changes(tmp_path, pg_hub):
    """``summary --hub`` copies the hub's merged rows as they are: the same
    rows, live links and conflicts as applying all its changes through the
    merge rules, and the same summary."""
    import contextlib

    from visitlog.dedup import merges as dedup_merge
    from visitlog.summary import COPY_LEAVES_OUT, DETAIL_READS, READS, compute_summary
    from visitlog.sync.copy import _replay, copy_replica
    from visitlog.sync.sqlite import SqliteReplica

    a, b, _ = laptops(tmp_path, pg_hub)
    twin = a.add_household(Household(address="曹杨一村1号101室", micro_grid="一网格", head="王"))
    kept = a.query("SELECT id FROM households ORDER BY created_at LIMIT 1")[0]["id"]
    a.add_visit(Visit(household_id=twin.id, visit_date="2026-11-03", visitor="张三"))
    dedup_merge.merge(a, [kept, twin.id], kind="households")
    other = a.add_household(Household(address="曹杨一村2号202室", micro_grid="二网格")).id
    a.delete_visit(
        a.add_visit(Visit(household_id=other, visit_date="2026-11-04", visitor="张三")).id
    )
    for s in (a, b):
        sync_with(s, pg_hub)
    fast, slow = tmp_path / "snapshot.db", tmp_path / "replay.db"
    assert copy_replica(pg_hub, fast) > 0
    with (
        contextlib.closing(PgReplica(pg_hub)) as hub,
        contextlib.closing(SqliteReplica(slow)) as copy,
    ):
        assert _replay(hub, copy, None, 100) > 0
    cols = {
        "households": [
            *_columns("households"),
            "created_at",
            "address_key",
            "phones",
            "merged_into",
        ],
        "visits": [*_columns("visits"), "created_at", "live_household", "merged_into"],
        "dedup_merges": _columns("dedup_merges"),
        "items": [*_columns("items"), "created_at", "live_household", "live_visit"],
        "conflicts": [
            "id",
            "tbl",
            "row_id",
            "field",
            "value",
            "winner_value",
            "resolved",
            "source_row",
        ],
    }
    one, two = Store(fast), Store(slow)
    for tbl, names in cols.items():
        sql = f"SELECT {', '.join(names)} FROM {tbl} ORDER BY id"
        assert [tuple(r.values()) for r in one.query(sql)] == [
            tuple(r.values()) for r in two.query(sql)
        ], tbl
    assert one.scalar("SELECT count(*) FROM households WHERE merged_into IS NOT NULL") == 1
    assert one.scalar("SELECT count(*) FROM visits WHERE live_household = ?", [kept]) >= 2
    assert one.scalar("SELECT count(*) FROM conflicts WHERE resolved = 0") == 1
    assert one.scalar("SELECT count(*) FROM visits WHERE deleted = 1") == 1
    period = {"date_from": "2026-01-01", "date_to": "2026-12-31"}
    assert compute_summary(one, **period) == compute_summary(two, **period)
    # ``summary --hub`` reads only the columns a summary reads: the same
    # figures and lists, from rows without their notes and stamps.
    for reads, details in ((READS, False), (DETAIL_READS, True)):
        lean_path = tmp_path / f"lean-{details}.db"
        assert copy_replica(pg_hub, lean_path, only=reads, leave_out=COPY_LEAVES_OUT) > 0
        lean = Store(lean_path)
        # a merge to derive: the triggers that move rows to the survivor look
        # visits and items up through the indexes a summary does without
        assert all(lean.has_index(n) for n in COPY_LEAVES_OUT)
        assert lean.scalar("SELECT count(*) FROM households WHERE stamps IS NOT NULL") == 0
        assert one.scalar("SELECT count(*) FROM households WHERE stamps IS NOT NULL") > 0
        assert lean.scalar("SELECT count(*) FROM households WHERE merged_into IS NOT NULL") == 1
        asked = {**period, "details": details}
        assert compute_summary(lean, **asked) == compute_summary(one, **asked)
        lean.close()
    for s in (a, b, one, two):
        s.close()


def test_a_copy_without_merges_is_written_without_the_indexes_a_summary_never_uses(
    tmp_path, pg_hub
):
    from visitlog.demo import generate_into
    from visitlog.summary import COPY_LEAVES_OUT, compute_summary
    from visitlog.sync.copy import copy_replica

    a, b, _ = laptops(tmp_path, pg_hub)
    c = Store(tmp_path / "c.db")
    c.init_identity("王五", "c")
    generate_into(c, households=120, seed=5, today=dt.date(2026, 11, 27))
    for s in (c, a, b):
        sync_with(s, pg_hub)
    whole, lean = tmp_path / "whole.db", tmp_path / "lean.db"
    copy_replica(pg_hub, whole)
    said: list[tuple[str, int, int | None]] = []
    copy_replica(pg_hub, lean, leave_out=COPY_LEAVES_OUT, progress=lambda *a: said.append(a))
    one, two = Store(whole), Store(lean)
    # what it has read so far, table by table (a hub does not say how many
    # rows it will send), then the indexes
    last = {phase: done for phase, done, _ in said}
    assert last["conflicts"] == one.scalar("SELECT count(*) FROM conflicts") == 1
    assert {k: last[k] for k in ("households", "visits", "items", "indexes")} == {
        "households": one.scalar("SELECT count(*) FROM households"),
        "visits": one.scalar("SELECT count(*) FROM visits"),
        "items": one.scalar("SELECT count(*) FROM items"),
        "indexes": 0,
    }
    assert [p for p, _, _ in said][-1] == "indexes"
    # a total only once the table is read whole: its last report
    ends = {phase: (done, total) for phase, done, total in said if total is not None}
    assert ends == {k: (last[k], last[k]) for k in last if k != "indexes"}
    for phase in ends:
        totals = [total for p, _, total in said if p == phase]
        assert totals[-1] is not None and all(t is None for t in totals[:-1])
    assert all(one.has_index(n) for n in COPY_LEAVES_OUT)
    assert not any(two.has_index(n) for n in COPY_LEAVES_OUT)
    assert two.has_index("visits_summary") and two.has_index("items_summary")
    assert two.scalar("SELECT count(*) FROM visits") == one.scalar("SELECT count(*) FROM visits")
    assert two.scalar("SELECT count(*) FROM visits") > 0
    period = {"date_from": "2026-01-01", "date_to": "2026-11-27", "details": True}
    summary = compute_summary(two, **period)
    assert summary.totals.visits > 100 and summary.totals.items_total > 0
    assert summary == compute_summary(one, **period)
    for s in (a, b, c, one, two):
        s.close()


def test_a_database_without_a_hub_is_refused_in_one_line(tmp_path, pg):
    url = pg.database()
    store = Store(tmp_path / "a.db")
    with pytest.raises(VisitlogError, match="hub init"):
        sync_with(store, url)
    with pytest.raises(VisitlogError, match=r"127\.0\.0\.1:1") as refused:
        sync_with(store, "postgresql://postgres@127.0.0.1:1/nothing")
    # the reason itself, not only libpq's indented hint after it, on one line
    said = str(refused.value)
    assert "Connection refused" in said and "\n" not in said and "\t" not in said
    store.close()


def test_hub_init_twice_changes_nothing_the_second_time(pg):
    url = pg.database()
    assert init_hub(url)[2] is True
    before, after, done = init_hub(url)
    assert (before, after, done) == (after, after, False)
    hub = PgReplica(url)
    assert hub.schema_version == after and not hub.pending_upgrade
    hub.close()


def test_an_older_hub_is_upgraded_only_when_asked(tmp_path, pg):
    url = pg.database()
    with psycopg.connect(url, autocommit=True) as conn:  # a hub made by an older visitlog
        conn.execute(
            f"CREATE TABLE {VERSION_TABLE} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        version, name, statements = MIGRATIONS[0]
        for sql in statements:
            conn.execute(sql)
        conn.execute(f"INSERT INTO {VERSION_TABLE}(version, name) VALUES (%s, %s)", [version, name])
    store = Store(tmp_path / "a.db")
    store.add_household(Household(address="花溪园1号", micro_grid="一网格"))
    with pytest.raises(VisitlogError, match="--upgrade-target"):
        sync_with(store, url)
    assert sync_with(store, url, upgrade_target=True).sent_total == 1
    hub = PgReplica(url)
    assert hub.schema_version == LATEST
    hub.close()
    # a hub newer than this visitlog is refused
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO {VERSION_TABLE}(version, name) VALUES (%s, 'later')", [LATEST + 1]
        )
    with pytest.raises(VisitlogError, match=str(LATEST + 1)):
        sync_with(store, url)
    store.close()


def test_a_password_in_the_url_is_never_shown(tmp_path):
    assert public_url("postgresql://st:s3cret@db.example:5432/hub") == (
        "postgresql://st@db.example:5432/hub"
    )
    store = Store(tmp_path / "a.db")
    with pytest.raises(VisitlogError) as err:
        sync_with(store, "postgresql://st:s3cret@127.0.0.1:1/hub")
    assert "s3cret" not in str(err.value)
    store.close()


def test_a_hub_connection_runs_without_the_jit_compiler(pg_hub):
    """PostgreSQL's JIT compiler took 0.2-0.5 s a query to compile a station's
    pull (row security and lateral lookups look expensive to the planner),
    as long again as the query ran: a hub's connection turns it off.  Its
    cursors are read to the end: they are planned for all their rows, not
    for the first tenth (a station's items were read twice as slowly)."""
    hub = PgReplica(pg_hub)
    try:
        assert hub.conn.execute("SHOW jit").fetchone()[0] == "off"
        with hub.session() as s:
            assert s.conn.execute("SHOW jit").fetchone()[0] == "off"
            assert float(s.conn.execute("SHOW cursor_tuple_fraction").fetchone()[0]) == 1.0
    finally:
        hub.close()


@pytest.mark.parametrize("passphrase", [None, "走访口令 copy passphrase"])
def test_a_hubs_copy_is_written_in_large_pages_unless_it_is_encrypted(
    tmp_path, pg_hub, monkeypatch, passphrase
):
    """The copy of ``summary --hub`` is written in 16 KiB pages (quicker to
    fill with rows in no order of their keys); with a passphrase known it is
    an SQLCipher file as before, in SQLCipher's own pages, and opens as any."""
    from visitlog.store import cipher
    from visitlog.sync.copy import COPY_PAGE_SIZE, copy_replica

    a, b, _ = laptops(tmp_path, pg_hub)
    sync_with(a, pg_hub)
    _passphrase(monkeypatch, passphrase)
    path = tmp_path / "copy.db"
    copy_replica(pg_hub, path)
    assert cipher.is_encrypted(path) is (passphrase is not None)
    copy = Store(path)
    assert int(copy.scalar("PRAGMA page_size")) == (COPY_PAGE_SIZE if passphrase is None else 4096)
    count = "SELECT count(*) FROM households"
    assert copy.scalar(count) == a.scalar(count) > 0
    assert copy.scalar("PRAGMA quick_check") == "ok"
    for s in (a, b, copy):
        s.close()


def _passphrase(monkeypatch: pytest.MonkeyPatch, passphrase: str | None) -> None:
    """New databases from here on: encrypted under *passphrase*, or plain."""
    from visitlog.store import cipher

    if passphrase is None:
        monkeypatch.delenv(cipher.PASSPHRASE_ENV, raising=False)
        monkeypatch.setenv(cipher.PLAIN_ENV, "1")
    else:
        monkeypatch.delenv(cipher.PLAIN_ENV, raising=False)
        monkeypatch.setenv(cipher.PASSPHRASE_ENV, passphrase)
    cipher.forget()


def test_a_store_takes_its_page_size_only_when_it_makes_the_file(tmp_path, monkeypatch):
    _passphrase(monkeypatch, None)
    made = Store(tmp_path / "new.db", page_size=16384)
    assert made.scalar("PRAGMA page_size") == 16384
    assert made.scalar("SELECT count(*) FROM households") == 0
    made.close()
    kept = Store(tmp_path / "new.db", page_size=8192)  # an existing file keeps its own
    assert kept.scalar("PRAGMA page_size") == 16384
    kept.close()
    plain = Store(tmp_path / "plain.db")
    assert plain.scalar("PRAGMA page_size") == 4096
    plain.close()
