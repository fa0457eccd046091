"""Inserts kept once: a row that still holds what its insert wrote is that
insert's entry in the change log, moves it into ``changes`` before it first
changes, and the log reads the same text either way (visitlog.store.inserts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rawdb
from reliability_support import content_digest
from station import hold_key
from typer.testing import CliRunner

from visitlog.cli import app
from visitlog.model import SYNCED_FIELDS, Household, Item, Kind, Visit
from visitlog.rows import jdump
from visitlog.store import Store
from visitlog.sync import export_bundle, import_bundle, sync_with
from visitlog.sync.sqlite import Applier, version_vector


def _changes(store: Store, where: str = "", params: tuple = ()) -> list[tuple]:
    """What ``changes`` itself holds (not the inserts rows hold)."""
    return store.conn.execute(
        f"SELECT device, seq, tbl, row_id, hlc, op, data, base FROM changes {where} "
        "ORDER BY device, seq",
        params,
    ).fetchall()


def _held(store: Store, tbl: str) -> list[tuple]:
    return store.conn.execute(f"SELECT id, log_seq FROM {tbl} ORDER BY rowid").fetchall()


def _expected_insert(store: Store, tbl: str, row_id: str) -> str:
    """What the insert wrote, made here from the row (not by visitlog.store.inserts)."""
    fields = SYNCED_FIELDS[tbl]
    row = store.query(f"SELECT {', '.join(fields)}, created_at FROM {tbl} WHERE id = ?", [row_id])
    return json.dumps(dict(row[0]), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _laptop(path: Path, worker: str) -> tuple[Store, str, str]:
    s = Store(path)
    s.init_identity(worker, path.stem)
    hid = s.add_household(
        Household(
            address="曹杨一村1号101室", micro_grid="一网格", head="王阿姨", phone="13800001234"
        )
    ).id
    vid = s.add_visit(
        Visit(
            household_id=hid,
            visit_date="2026-11-01",
            visitor=worker,
            summary="初次走访，独居，腿脚不便",
            items=[Item.from_spec(Kind.PROBLEM, "其他:楼道灯坏了")],
        )
    ).id
    return s, hid, vid


@pytest.fixture
def office(tmp_path: Path):
    a, hid, vid = _laptop(tmp_path / "a.db", "张三")
    b = Store(tmp_path / "b.db")
    b.init_identity("李四", "b")
    hub = tmp_path / "hub.db"
    sync_with(a, hub)
    sync_with(b, hub)
    yield a, b, hub, hid, vid
    a.close()
    b.close()


def test_a_new_row_holds_its_insert_and_the_log_reads_it_as_written(tmp_path):
    s, hid, vid = _laptop(tmp_path / "a.db", "张三")
    assert _changes(s) == []  # no second copy of any row
    assert [r[1] for r in _held(s, "households") + _held(s, "visits") + _held(s, "items")] == [
        1,
        2,
        3,
    ]
    log = rawdb.change_log(s.conn)
    assert [(r[1], r[2], r[5]) for r in log] == [
        (1, "households", "insert"),
        (2, "visits", "insert"),
        (3, "items", "insert"),
    ]
    for _device, _seq, tbl, row_id, _hlc, _op, data, base in log:
        assert data == _expected_insert(s, tbl, row_id) and base is None
        assert data == jdump(json.loads(data)) and json.loads(data)["created_at"]
    by_tbl = {r[2]: json.loads(r[6]) for r in log}
    assert by_tbl["households"]["head"] == "王阿姨"
    assert by_tbl["visits"]["household_id"] == hid
    assert by_tbl["items"]["visit_id"] == vid
    assert s.version_vector() == {s.device_id: 3} == version_vector(s.conn)
    assert s.unsynced_count() == 3
    s.close()


def test_the_first_edit_moves_the_insert_into_the_log_as_first_written(tmp_path):
    s, hid, _vid = _laptop(tmp_path / "a.db", "张三")
    (before,) = rawdb.change_log(s.conn, "WHERE tbl = 'households'")
    s.update_household(hid, head="王秀英")
    s.update_household(hid, phone="13900005678")
    raw = _changes(s, "WHERE tbl = 'households'")
    assert [(r[1], r[5]) for r in raw] == [(1, "insert"), (4, "update"), (5, "update")]
    assert raw[0] == before  # the same change, the same text
    assert json.loads(raw[0][6])["head"] == "王阿姨"
    assert json.loads(raw[1][6]) == {"head": "王秀英"}
    assert _held(s, "households") == [(hid, None)]
    # the visit and its item were not edited: they still hold their inserts
    assert [r[1] for r in _held(s, "visits") + _held(s, "items")] == [2, 3]
    assert [r[1] for r in rawdb.change_log(s.conn)] == [1, 2, 3, 4, 5]
    assert s.check() == []
    s.close()


def test_sync_keeps_one_copy_everywhere_and_the_logs_agree(office):
    a, b, hub, hid, vid = office
    with Store(hub) as h:
        assert _changes(h) == []  # received rows hold their inserts too
        assert [r[1] for r in _held(h, "visits")] == [2]
    assert _changes(b) == []
    # B edits what A made; the merge on A changes A's rows: their inserts move
    # into A's log first, with A's own first values
    b.update_household(hid, head="王秀英")
    b.edit_visit(vid, summary="复访：灯已修好")
    for s in (b, a, b):
        sync_with(s, hub)
    inserts = {r[2]: r[6] for r in _changes(a) if r[5] == "insert"}
    assert json.loads(inserts["households"])["head"] == "王阿姨"
    assert json.loads(inserts["visits"])["summary"] == "初次走访，独居，腿脚不便"
    assert "items" not in inserts and [r[1] for r in _held(a, "items")] == [3]
    with Store(hub) as h:
        logs = [rawdb.change_log(x.conn) for x in (a, b, h)]
        assert logs[0] == logs[1] == logs[2] and len(logs[0]) == 5
        assert version_vector(a.conn) == version_vector(b.conn) == version_vector(h.conn)
        heads = [x.query("SELECT head FROM households") for x in (a, b, h)]
        assert h.check(full=True) == []
    assert [[r["head"] for r in x] for x in heads] == [["王秀英"]] * 3
    assert a.check(full=True) == [] and b.check(full=True) == []


def test_the_same_changes_received_again_change_nothing(office, tmp_path):
    a, b, _hub, _hid, _vid = office
    bundle = tmp_path / "a.vlb"
    hold_key(a.path, b.path)  # a bundle is encrypted with the station key
    export_bundle(a, bundle)
    before = rawdb.change_log(b.conn), b.query("SELECT * FROM households")
    # all held already: the replay check compares each with the full text held here
    report = import_bundle(b, bundle)
    assert report.received_total == 0
    assert (rawdb.change_log(b.conn), b.query("SELECT * FROM households")) == before


def test_a_received_insert_written_differently_stays_in_the_log_as_written(office):
    a, b, _hub, hid, _vid = office
    (ins,) = rawdb.change_log(a.conn, "WHERE tbl = 'households'")
    _device, _seq, tbl, _rid, hlc, op, data, base = ins
    # The same household written by an encoder with other spacing, under a new id
    other = json.dumps(json.loads(data), ensure_ascii=True, sort_keys=True, indent=1)
    rid = "019b0000-0000-7000-8000-000000000001"
    fake = ("f" * 12, 1, tbl, rid, hlc, op, other, base)
    with b.transaction() as tx:
        applier = Applier(tx)
        assert applier.add([fake]) == 1
        applier.finish()
    assert _changes(b, "WHERE device = ?", ("f" * 12,)) == [fake]  # kept as written
    assert b.scalar("SELECT log_seq FROM households WHERE id = ?", [rid]) is None
    # re-sent, it is the same change, not a replay of another
    with b.transaction() as tx:
        assert Applier(tx).add([fake]) == 0
    assert hid != rid


def test_a_value_sqlite_would_not_give_back_keeps_its_insert_in_the_log(tmp_path):
    with Store(tmp_path / "a.db") as s:
        s.init_identity("张三", "a")
        with s.transaction() as tx:
            # days is an INTEGER column: text there would come back a number
            rid = tx.insert("plan_rules", {"kind": "default", "key": "", "days": "45"})
        (raw,) = _changes(s, "WHERE row_id = ?", (rid,))
        assert json.loads(raw[6])["days"] == "45"
        assert s.scalar("SELECT log_seq FROM plan_rules WHERE id = ?", [rid]) is None
        with s.transaction() as tx:
            rid2 = tx.insert("plan_rules", {"kind": "tag", "key": "独居", "days": 30})
        assert _changes(s, "WHERE row_id = ?", (rid2,)) == []
        (held,) = rawdb.change_log(s.conn, "WHERE row_id = ?", (rid2,))
        assert json.loads(held[6])["days"] == 30


def test_an_older_file_moves_its_inserts_into_the_rows_and_sends_the_same(tmp_path):
    s, hid, _vid = _laptop(tmp_path / "a.db", "张三")
    s.update_household(hid, head="王秀英")
    path = s.path
    s.close()
    raw = rawdb.connect(path, isolation_level=None)
    rawdb.as_older_visitlog(raw)
    older = raw.execute("SELECT seq, op FROM changes ORDER BY seq").fetchall()
    assert older == [(1, "insert"), (2, "insert"), (3, "insert"), (4, "update")]
    log_before = raw.execute("SELECT * FROM changes ORDER BY seq").fetchall()
    raw.close()
    with Store(path) as s:  # migration m015
        assert s.schema_version == 13
        # the edited household's insert stays; the visit's and item's move
        assert [(r[1], r[5]) for r in _changes(s)] == [(1, "insert"), (4, "update")]
        assert [r[1] for r in _held(s, "visits") + _held(s, "items")] == [2, 3]
        assert rawdb.change_log(s.conn) == log_before
        assert s.check(full=True) == []


def test_check_finds_rows_changed_copied_or_removed_behind_visitlogs_back(tmp_path):
    s, hid, vid = _laptop(tmp_path / "a.db", "张三")
    s.add_household(Household(address="曹杨一村1号102室", micro_grid="一网格"))  # no. 4
    path = s.path
    s.close()
    raw = rawdb.connect(path, isolation_level=None)
    raw.execute("UPDATE visits SET stamps = '{}' WHERE id = ?", [vid])
    copy = dict(zip(["id", "log_seq"], ["copied", 1], strict=True))
    cols = [r[1] for r in raw.execute("PRAGMA table_info(households)")]
    raw.execute(
        f"INSERT INTO households ({', '.join(cols)}) SELECT "
        + ", ".join("?" if c in copy else c for c in cols)
        + " FROM households WHERE id = ?",
        [copy[c] for c in cols if c in copy] + [hid],
    )
    raw.execute("PRAGMA foreign_keys = OFF")
    raw.execute("DELETE FROM items")
    raw.close()
    with Store(path) as s:
        problems = s.check(full=True)
    assert any("visits" in p and "之外被改过" in p for p in problems), problems
    assert any("households" in p and "编号与别的记录重复" in p for p in problems), problems
    assert any("1 条改动已不在库中" in p for p in problems), problems


def test_a_row_removed_with_its_insert_stops_a_sync_with_one_plain_line(tmp_path):
    s, hid, _vid = _laptop(tmp_path / "a.db", "张三")
    hub = tmp_path / "hub.db"
    sync_with(s, hub)
    s.add_visit(
        Visit(
            household_id=hid,
            visit_date="2026-11-08",
            visitor="张三",
            items=[Item.from_spec(Kind.DEMAND, "其他:想学用手机挂号")],
        )
    )
    s.update_household(hid, head="王秀英")
    path = s.path
    s.close()
    raw = rawdb.connect(path, isolation_level=None)
    raw.execute("PRAGMA foreign_keys = OFF")
    raw.execute("DELETE FROM items WHERE description LIKE '%挂号%'")
    raw.close()
    before = content_digest(hub)
    result = CliRunner().invoke(app, ["--db", str(path), "sync", str(hub)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "缺少设备" in lines[0], lines
    assert content_digest(hub) == before  # nothing half sent
