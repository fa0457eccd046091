"""Inserts kept once: the change log points at a row that still holds what its
insert wrote, gives the insert its own copy back before the row first changes,
and reads the same text either way (visitlog.store.inserts)."""

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
from visitlog.store.inserts import BY_ROW, LogDamaged
from visitlog.sync import export_bundle, import_bundle, sync_with
from visitlog.sync.sqlite import Applier, version_vector


def _raw(store: Store, where: str = "", params: tuple = ()) -> list[tuple]:
    return store.conn.execute(
        f"SELECT device, seq, tbl, row_id, hlc, op, data, base FROM changes {where} "
        "ORDER BY device, seq",
        params,
    ).fetchall()


def _expected_insert(store: Store, tbl: str, row_id: str) -> str:
    """What the insert wrote, made here from the row (not by visitlog.store.inserts)."""
    fields = SYNCED_FIELDS[tbl]
    row = store.query(f"SELECT {', '.join(fields)}, created_at FROM {tbl} WHERE id = ?", [row_id])
    values = dict(row[0])
    return json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


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


def test_a_new_row_is_its_inserts_copy_and_reads_back_as_written(tmp_path):
    s, hid, vid = _laptop(tmp_path / "a.db", "张三")
    raw = _raw(s)
    assert {r[5] for r in raw} == {"insert"}
    assert [r[6] for r in raw] == [BY_ROW] * len(raw)  # no second copy of any row
    log = rawdb.change_log(s.conn)
    assert len(log) == len(raw) == 3
    for _device, _seq, tbl, row_id, _hlc, _op, data, _base in log:
        assert data == _expected_insert(s, tbl, row_id)
        assert json.loads(data)["created_at"]
    by_tbl = {r[2]: json.loads(r[6]) for r in log}
    assert by_tbl["households"]["head"] == "王阿姨"
    assert by_tbl["visits"]["household_id"] == hid
    assert by_tbl["items"]["visit_id"] == vid
    s.close()


def test_the_first_edit_gives_the_insert_its_copy_back(tmp_path):
    s, hid, _vid = _laptop(tmp_path / "a.db", "张三")
    before = rawdb.change_log(s.conn, "WHERE tbl = 'households'")
    s.update_household(hid, head="王秀英")
    s.update_household(hid, phone="13900005678")
    raw = _raw(s, "WHERE tbl = 'households'")
    assert [r[5] for r in raw] == ["insert", "update", "update"]
    insert = raw[0]
    assert insert[6] != BY_ROW and insert[6] == before[0][6]  # as first written
    assert json.loads(insert[6])["head"] == "王阿姨"
    assert json.loads(raw[1][6]) == {"head": "王秀英"}
    # the visit and its item were not edited: still kept by their rows
    assert [r[6] for r in _raw(s, "WHERE tbl <> 'households'")] == [BY_ROW, BY_ROW]
    s.close()


def test_sync_keeps_one_copy_everywhere_and_the_logs_agree(office):
    a, b, hub, hid, vid = office
    with Store(hub) as h:
        assert [r[6] for r in _raw(h)] == [BY_ROW] * 3  # received rows keep no copy either
    assert [r[6] for r in _raw(b)] == [BY_ROW] * 3
    # B edits what A made; the merge on A changes A's rows: their inserts get
    # their copies back first, with A's own first values
    b.update_household(hid, head="王秀英")
    b.edit_visit(vid, summary="复访：灯已修好")
    for s in (b, a, b):
        sync_with(s, hub)
    raw_a = _raw(a)
    kept = {r[2]: r[6] for r in raw_a if r[5] == "insert"}
    assert json.loads(kept["households"])["head"] == "王阿姨"
    assert json.loads(kept["visits"])["summary"] == "初次走访，独居，腿脚不便"
    assert kept["items"] == BY_ROW
    with Store(hub) as h:
        logs = [rawdb.change_log(x.conn) for x in (a, b, h)]
        assert logs[0] == logs[1] == logs[2]
        assert version_vector(a.conn) == version_vector(b.conn) == version_vector(h.conn)
        rows = [x.query("SELECT head FROM households") for x in (a, b, h)]
    assert [[r["head"] for r in x] for x in rows] == [["王秀英"]] * 3
    assert a.check() == [] and b.check() == []


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


def test_a_received_insert_written_differently_keeps_its_own_copy(office):
    a, b, _hub, hid, _vid = office
    (ins,) = rawdb.change_log(a.conn, "WHERE tbl = 'households'")
    _device, _seq, tbl, _rid, hlc, op, data, base = ins
    # The same household written by an encoder with other spacing, under a new id
    values = json.loads(data)
    other = json.dumps(values, ensure_ascii=True, sort_keys=True, indent=1)
    rid = "019b0000-0000-7000-8000-000000000001"
    fake = ("f" * 12, 1, tbl, rid, hlc, op, other, base)
    with b.transaction() as tx:
        applier = Applier(tx)
        assert applier.add([fake]) == 1
        applier.finish()
    (kept,) = _raw(b, "WHERE device = ?", ("f" * 12,))
    assert kept[6] == other  # the row could not give this text back: kept as written
    assert rawdb.change_log(b.conn, "WHERE device = ?", ("f" * 12,))[0] == fake
    # and re-sent, it is the same change, not a replay of another
    with b.transaction() as tx:
        assert Applier(tx).add([fake]) == 0
    assert hid != rid


def test_a_value_sqlite_would_not_give_back_keeps_its_copy(tmp_path):
    with Store(tmp_path / "a.db") as s:
        s.init_identity("张三", "a")
        with s.transaction() as tx:
            # days is an INTEGER column: text there would come back a number
            rid = tx.insert("plan_rules", {"kind": "default", "key": "", "days": "45"})
        (raw,) = _raw(s, "WHERE row_id = ?", (rid,))
        assert raw[6] != BY_ROW and json.loads(raw[6])["days"] == "45"
        with s.transaction() as tx:
            rid2 = tx.insert("plan_rules", {"kind": "tag", "key": "独居", "days": 30})
        (raw2,) = _raw(s, "WHERE row_id = ?", (rid2,))
        assert raw2[6] == BY_ROW
        assert json.loads(rawdb.change_log(s.conn, "WHERE row_id = ?", (rid2,))[0][6])["days"] == 30


def test_an_older_file_drops_its_copies_and_sends_the_same(tmp_path):
    s, hid, _vid = _laptop(tmp_path / "a.db", "张三")
    s.update_household(hid, head="王秀英")
    path = s.path
    s.close()
    raw = rawdb.connect(path, isolation_level=None)
    rawdb.as_older_visitlog(raw)
    older = raw.execute("SELECT data FROM changes ORDER BY seq").fetchall()
    assert BY_ROW not in {r[0] for r in older}
    log_before = rawdb.change_log(raw)
    raw.close()
    with Store(path) as s:  # migration m015
        assert s.schema_version == 13
        raw_now = _raw(s)
        assert [r[6] == BY_ROW for r in raw_now] == [False, True, True, False]
        assert rawdb.change_log(s.conn) == log_before
        assert s.check() == []


def test_check_finds_a_row_changed_or_removed_behind_visitlogs_back(tmp_path):
    s, _hid, vid = _laptop(tmp_path / "a.db", "张三")
    path = s.path
    s.close()
    raw = rawdb.connect(path, isolation_level=None)
    raw.execute("UPDATE visits SET stamps = '{}' WHERE id = ?", [vid])
    raw.execute("PRAGMA foreign_keys = OFF")
    raw.execute("DELETE FROM items")
    raw.close()
    with Store(path) as s:
        problems = s.check(full=True)
    assert any("visits" in p and "库外被改过" in p for p in problems)
    assert any("items" in p and "已不在库中" in p for p in problems)


def test_a_row_gone_from_under_its_insert_stops_a_sync_with_one_plain_line(tmp_path):
    s, _hid, _vid = _laptop(tmp_path / "a.db", "张三")
    hub = tmp_path / "hub.db"
    sync_with(s, hub)
    s.add_visit(
        Visit(
            household_id=_hid,
            visit_date="2026-11-08",
            visitor="张三",
            items=[Item.from_spec(Kind.DEMAND, "其他:想学用手机挂号")],
        )
    )
    path = s.path
    s.close()
    raw = rawdb.connect(path, isolation_level=None)
    raw.execute("PRAGMA foreign_keys = OFF")
    raw.execute("DELETE FROM items WHERE description LIKE '%挂号%'")
    raw.close()
    before = content_digest(hub)
    runner = CliRunner()
    result = runner.invoke(app, ["--db", str(path), "sync", str(hub)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "已不在本库中" in lines[0] and "visitlog check" in lines[0]
    assert content_digest(hub) == before  # nothing half sent
    with Store(path) as s:
        with pytest.raises(LogDamaged):
            rawdb.change_log(s.conn)


def test_the_insert_text_is_the_one_jdump_writes(tmp_path):
    s, _hid, _vid = _laptop(tmp_path / "a.db", "张三")
    (ins,) = rawdb.change_log(s.conn, "WHERE tbl = 'households'")
    assert ins[6] == jdump(json.loads(ins[6]))
    s.close()
