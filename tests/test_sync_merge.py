"""Sync between replicas: per-field merge, conflicts, tombstones, idempotence,
clock skew, interruption and the schema guard (through the Python API)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rawdb
from station import hold_key

from visitlog import clock
from visitlog.clock import Stamp
from visitlog.model import Household, Item, Kind, NotFoundError, Visit, VisitlogError
from visitlog.store import Store
from visitlog.sync import (
    GapError,
    conflict_id,
    export_bundle,
    import_bundle,
    list_conflicts,
    restore_conflict,
    sync_with,
)
from visitlog.sync.sqlite import Applier, version_vector

DAY_MS = 24 * 3600 * 1000
CONTENT_TABLES = ("households", "visits", "items")


def content(store: Store) -> dict[str, list[tuple]]:
    """Every synced row as it matters for convergence (values, stamps, tombstone)."""
    from visitlog.model import SYNCED_FIELDS

    out = {}
    for tbl in CONTENT_TABLES:
        cols = ["id", *SYNCED_FIELDS[tbl], "hlc", "device"]
        rows = store.query(f"SELECT {', '.join(cols)}, stamps FROM {tbl} ORDER BY id")
        out[tbl] = [
            (*(r[c] for c in cols), json.loads(r["stamps"]) if r["stamps"] else None) for r in rows
        ]
    return out


def open_conflicts(store: Store) -> set[str]:
    return {r["id"] for r in store.query("SELECT id FROM conflicts WHERE resolved = 0")}


def make(tmp_path: Path, name: str, worker: str | None = None) -> Store:
    s = Store(tmp_path / f"{name}.db")
    if worker:
        s.init_identity(worker, name)
    return s


@pytest.fixture
def trio(tmp_path: Path):
    """Two laptops and a hub; one household and one visit made on A, known everywhere."""
    a, b = make(tmp_path, "a", "张三"), make(tmp_path, "b", "李四")
    hub = tmp_path / "hub.db"
    hid = a.add_household(Household(address="曹杨一村1号101室", micro_grid="一网格")).id
    vid = a.add_visit(
        Visit(
            household_id=hid,
            visit_date="2026-11-01",
            visitor="张三",
            summary="初次走访",
            items=[Item.from_spec(Kind.PROBLEM, "其他:楼道灯坏了")],
        )
    ).id
    sync_with(a, hub)
    sync_with(b, hub)
    yield a, b, hub, vid
    a.close()
    b.close()


def round_trip(a: Store, b: Store, hub: Path) -> None:
    for s in (a, b, a):
        sync_with(s, hub)


def test_first_sync_copies_everything_and_marks_hub(trio):
    a, b, hub, vid = trio
    with Store(hub) as h:
        assert content(h) == content(a) == content(b)
        assert h.worker is None  # an empty hub gets no worker identity
        assert h.get_setting("device_id")
    assert a.get_setting("hub_path") == str(hub.resolve())
    assert a.unsynced_count() == 0
    a.edit_visit(vid, summary="改过")
    assert a.unsynced_count() == 1


def test_different_fields_both_kept(trio):
    a, b, hub, vid = trio
    a.edit_visit(vid, summary="A写的摘要")
    b.edit_visit(vid, outcome="不在家")
    round_trip(a, b, hub)
    for s in (a, b):
        v = s.get_visit(vid)
        assert (v.summary, v.outcome) == ("A写的摘要", "不在家")
    assert content(a) == content(b)
    assert not open_conflicts(a) and not open_conflicts(b)


def _last_stamp(s: Store) -> tuple[str, str]:
    r = s.query(
        "SELECT hlc, device FROM change_log WHERE device = ? ORDER BY seq DESC", [s.device_id]
    )
    return r[0]["hlc"], r[0]["device"]


def test_same_field_later_wins_and_loser_kept_everywhere(trio):
    a, b, hub, vid = trio
    a.edit_visit(vid, summary="A的版本")
    b.edit_visit(vid, summary="B的版本")
    edits = {_last_stamp(a): "A的版本", _last_stamp(b): "B的版本"}
    (lose_stamp, lose), (_, win) = sorted(edits.items())
    round_trip(a, b, hub)
    expected = conflict_id("visits", vid, "summary", *lose_stamp)
    with Store(hub) as h:
        for s in (a, b, h):
            assert s.get_visit(vid).summary == win
            assert open_conflicts(s) == {expected}
        rec = list_conflicts(a)[0]
        assert (rec["value"], rec["winner_value"], rec["current_value"]) == (lose, win, win)


def test_causal_overwrite_is_not_a_conflict(trio):
    a, b, hub, vid = trio
    a.edit_visit(vid, summary="第一版")
    sync_with(a, hub)
    sync_with(b, hub)
    b.edit_visit(vid, summary="看过第一版后改的")
    round_trip(a, b, hub)
    assert a.get_visit(vid).summary == "看过第一版后改的"
    assert not open_conflicts(a) and not open_conflicts(b)


def test_concurrent_same_value_is_not_a_conflict(trio):
    a, b, hub, vid = trio
    a.edit_visit(vid, outcome="拒访")
    b.edit_visit(vid, outcome="拒访")
    round_trip(a, b, hub)
    assert a.get_visit(vid).outcome == "拒访"
    assert not open_conflicts(a) and not open_conflicts(b)


def test_restore_losing_value_travels_and_settles_conflict(trio):
    a, b, hub, vid = trio
    a.edit_visit(vid, summary="A的版本")
    b.edit_visit(vid, summary="B的版本")
    round_trip(a, b, hub)
    cid = next(iter(open_conflicts(a)))
    lost = list_conflicts(a)[0]["value"]
    assert a.get_visit(vid).summary != lost
    rec = restore_conflict(a, cid[:6])
    assert rec["restored"] and a.get_visit(vid).summary == lost
    assert not open_conflicts(a)
    round_trip(a, b, hub)
    assert b.get_visit(vid).summary == lost
    assert not open_conflicts(b)
    assert content(a) == content(b)
    with pytest.raises(NotFoundError):
        restore_conflict(a, "zzzz")


def test_delete_and_concurrent_edit_of_another_field_both_apply(trio):
    a, b, hub, vid = trio
    b.edit_visit(vid, summary="B补充的情况")
    a.delete_visit(vid)
    round_trip(a, b, hub)
    for s in (a, b):
        assert vid not in {v.id for v in s.list_visits()}
        row = s.query("SELECT deleted, summary FROM visits WHERE id = ?", [vid])[0]
        assert (row["deleted"], row["summary"]) == (1, "B补充的情况")
        assert s.query("SELECT deleted FROM items WHERE visit_id = ?", [vid])[0]["deleted"] == 1
        assert s.check() == []
    assert content(a) == content(b)


def _set_deleted(s: Store, tbl: str, row_id: str, value: int) -> None:
    with s.transaction() as tx:
        assert tx.update(tbl, row_id, {"deleted": value}) == ["deleted"]


@pytest.mark.parametrize("later", ["undelete", "delete"])
def test_tombstone_wins_or_loses_by_its_stamp(trio, skew_clock, later):
    a, b, hub, vid = trio
    iid = a.get_visit(vid).items[0].id
    hour = 3600 * 1000

    def deleter():
        _set_deleted(a, "items", iid, 1)

    def changes_mind():  # deletes, then brings the item back
        _set_deleted(b, "items", iid, 1)
        _set_deleted(b, "items", iid, 0)

    first, second = (deleter, changes_mind) if later == "undelete" else (changes_mind, deleter)
    first()
    skew_clock(hour)  # the second is stamped later
    second()
    skew_clock(0)
    round_trip(a, b, hub)
    expect = 0 if later == "undelete" else 1
    for s in (a, b):
        assert s.scalar("SELECT deleted FROM items WHERE id = ?", [iid]) == expect
    assert content(a) == content(b)
    if later == "delete":
        # the undelete lost: it is kept, and restoring it brings the item back
        (rec,) = list_conflicts(a)
        assert (rec["field"], rec["value"], rec["winner_value"]) == ("deleted", 0, 1)
        restore_conflict(a, rec["id"])
        round_trip(a, b, hub)
        assert b.scalar("SELECT deleted FROM items WHERE id = ?", [iid]) == 0
    else:
        assert not open_conflicts(a) and not open_conflicts(b)


def test_concurrent_deletes_agree_without_conflict(trio):
    a, b, hub, vid = trio
    a.delete_visit(vid)
    b.delete_visit(vid)
    round_trip(a, b, hub)
    assert not open_conflicts(a) and not open_conflicts(b)
    assert content(a) == content(b)


def test_repeated_sync_moves_nothing(trio):
    a, b, hub, vid = trio
    a.edit_visit(vid, summary="A的版本")
    b.edit_visit(vid, summary="B的版本")
    round_trip(a, b, hub)
    before = content(a), version_vector(a.conn), open_conflicts(a)
    for s in (a, b, a, b):
        report = sync_with(s, hub)
        assert (report.sent_total, report.received_total, report.conflicts) == (0, 0, [])
    assert (content(a), version_vector(a.conn), open_conflicts(a)) == before


def test_applying_a_held_change_again_changes_nothing(trio):
    a, _b, _hub, vid = trio
    a.edit_visit(vid, summary="改一次")
    log = rawdb.change_log(a.conn)
    before = content(a), a.scalar("SELECT count(*) FROM change_log")
    with a.transaction() as tx:
        applier = Applier(tx)
        assert applier.add(log) == 0
        applier.finish()
    assert (content(a), a.scalar("SELECT count(*) FROM change_log")) == before


def test_changes_with_a_gap_are_refused(trio):
    a, b, _hub, vid = trio
    a.edit_visit(vid, summary="一")
    a.edit_visit(vid, summary="二")
    last = rawdb.change_log(a.conn, order="seq DESC")[:1]
    before = content(b)
    with pytest.raises(GapError), b.transaction() as tx:
        Applier(tx).add(last)
    assert content(b) == before


def test_laptop_to_laptop_and_relay(tmp_path):
    a, b, c = (make(tmp_path, n, w) for n, w in (("a", "甲"), ("b", "乙"), ("c", "丙")))
    hid = a.add_household(Household(address="枣阳路100弄5号602室", micro_grid="二网格")).id
    sync_with(a, b.path)  # laptop to laptop
    b.add_visit(Visit(household_id=hid, visit_date="2026-11-02", visitor="乙"))
    sync_with(b, c.path)  # c gets a's household through b
    assert content(c) == content(b)
    assert version_vector(c.conn) == version_vector(b.conn)


def test_same_id_inserted_on_two_devices_converges(tmp_path):
    a, b = make(tmp_path, "a", "甲"), make(tmp_path, "b", "乙")
    for s, note in ((a, "甲的备注"), (b, "乙的备注")):
        with s.transaction() as tx:
            tx.insert(
                "households",
                {
                    "id": "0190a000-0000-7000-8000-000000000001",
                    "address": "1号",
                    "micro_grid": "g",
                    "occupancy": "自住",
                    "tags": "[]",
                    "note": note,
                },
            )
    sync_with(a, b.path)
    assert content(a) == content(b)
    assert a.scalar("SELECT count(*) FROM households") == 1
    assert len(open_conflicts(a)) == 1 and open_conflicts(a) == open_conflicts(b)


def test_far_future_changes_are_held_reported_and_restorable(trio, skew_clock):
    a, b, hub, vid = trio
    original = a.get_visit(vid).summary
    skew_clock(3 * DAY_MS)  # B's date is three days ahead
    b.edit_visit(vid, summary="时钟快了三天的电脑写的")
    sync_with(b, hub)
    skew_clock(0)
    report = sync_with(a, hub)
    # held on both sides: received here, and on the hub that B's clock merged
    assert sorted((s["device"], s["at"]) for s in report.skewed) == [
        (b.device_id, "local"),
        (b.device_id, "target"),
    ]
    assert all(s["ahead_hours"] > 24 and s["held"] is True for s in report.skewed)
    assert [s["count"] for s in report.to_json()["skewed"]] == [1, 1]
    assert report.received_total == 1  # kept and counted, not applied
    # Held: ranked below every change made with a right clock, so the value
    # does not take over; it waits in conflicts, naming B's device.
    assert a.get_visit(vid).summary == original
    (rec,) = list_conflicts(a)
    assert (rec["device"], rec["value"]) == (b.device_id, "时钟快了三天的电脑写的")
    # A's clock did not follow B's: it stays within a day of A's wall clock.
    assert Stamp.parse(a.get_setting("hlc")).ms - clock.wall_ms() <= DAY_MS
    # B, its date put right, holds its own change too: every replica agrees.
    round_trip(a, b, hub)
    assert content(a) == content(b)
    assert b.get_visit(vid).summary == original
    assert [c["id"] for c in list_conflicts(b)] == [rec["id"]]
    # Restoring is a new edit stamped now, which wins everywhere.
    restore_conflict(a, rec["id"])
    round_trip(a, b, hub)
    assert b.get_visit(vid).summary == "时钟快了三天的电脑写的"
    assert content(a) == content(b)
    a.edit_visit(vid, summary="之后在正常时钟上改的")
    round_trip(a, b, hub)
    assert b.get_visit(vid).summary == "之后在正常时钟上改的"


def test_a_held_change_takes_its_place_when_the_clock_reaches_it(trio, skew_clock):
    a, b, hub, vid = trio
    skew_clock(2 * DAY_MS)
    b.edit_visit(vid, summary="日期快了两天")
    sync_with(b, hub)
    skew_clock(0)
    sync_with(a, hub)
    assert a.get_visit(vid).summary != "日期快了两天"
    skew_clock(2 * DAY_MS)  # two days later, on every laptop
    sync_with(a, hub)
    assert a.get_visit(vid).summary == "日期快了两天"
    assert not open_conflicts(a)


def test_progress_reports_phases(trio):
    a, _b, hub, vid = trio
    a.edit_visit(vid, summary="再改")
    seen = []
    sync_with(a, hub, progress=lambda phase, done, total: seen.append((phase, done, total)))
    assert ("send", 1, 1) in seen and ("commit", 2, 2) in seen


class Boom(Exception):
    pass


def _crash_at(phase: str, at: int = 1):
    def progress(p: str, done: int, total: int) -> None:
        if p == phase and done >= at:
            raise Boom

    return progress


@pytest.mark.parametrize("phase", ["send", "receive", "merge"])
def test_interrupted_sync_leaves_both_whole_and_rerun_completes(trio, phase):
    a, b, hub, vid = trio
    a.edit_visit(vid, summary="A的版本")
    sync_with(a, hub)
    b.edit_visit(vid, summary="B的版本")
    b.add_household(Household(address="曹杨二村3号201室", micro_grid="三网格"))
    before_b = content(b)
    with Store(hub) as h:
        before_hub = content(h)
    with pytest.raises(Boom):
        sync_with(b, hub, progress=_crash_at(phase))
    assert content(b) == before_b
    with Store(hub) as h:
        assert content(h) == before_hub
    sync_with(b, hub)
    sync_with(a, hub)
    with Store(hub) as h:
        assert content(h) == content(a) == content(b)
        assert h.check() == []


def test_interrupted_between_the_two_commits(trio):
    a, b, hub, vid = trio
    a.edit_visit(vid, summary="A的版本")
    sync_with(a, hub)
    b.edit_visit(vid, summary="B的版本")
    a_last = version_vector(a.conn)[a.device_id]
    b_last = version_vector(b.conn)[b.device_id]
    with pytest.raises(Boom):
        sync_with(b, hub, progress=_crash_at("commit"))
    # exactly one side committed; both are whole and a re-run completes
    with Store(hub) as h:
        got_b = version_vector(h.conn).get(b.device_id, 0) == b_last
    got_a = version_vector(b.conn)[a.device_id] == a_last
    assert got_a != got_b
    report = sync_with(b, hub)
    assert report.sent_total + report.received_total == 1
    sync_with(a, hub)
    with Store(hub) as h:
        assert content(h) == content(a) == content(b)
        assert open_conflicts(h) == open_conflicts(a) == open_conflicts(b) != set()


def test_dry_run_reports_and_changes_nothing(trio):
    a, b, hub, vid = trio
    a.edit_visit(vid, summary="A的版本")
    sync_with(a, hub)
    b.edit_visit(vid, summary="B的版本")
    before = content(b)
    report = sync_with(b, hub, dry_run=True)
    assert (report.sent_total, report.received_total, len(report.conflicts)) == (1, 1, 1)
    assert report.to_json()["dry_run"] is True
    assert content(b) == before and not open_conflicts(b)
    assert sync_with(b, hub).to_json()["conflicts"] == 1


def test_dry_run_to_absent_target_creates_nothing(trio, tmp_path):
    a, *_ = trio
    target = tmp_path / "new-hub.db"
    report = sync_with(a, target, dry_run=True)
    assert report.estimated and report.sent_total == a.scalar("SELECT count(*) FROM change_log")
    assert not target.exists()


def test_sync_refuses_itself_and_missing_folder(trio, tmp_path):
    a, *_ = trio
    with pytest.raises(VisitlogError, match="自己"):
        sync_with(a, a.path)
    with pytest.raises(VisitlogError, match="不存在"):
        sync_with(a, tmp_path / "no-such-stick" / "hub.db")
    with pytest.raises(VisitlogError, match="文件夹"):
        sync_with(a, tmp_path)


def test_sync_refuses_a_foreign_file(trio, tmp_path):
    a, *_ = trio
    junk = tmp_path / "notes.db"
    junk.write_bytes(b"not a database at all" * 10)
    before = junk.read_bytes()
    with pytest.raises(VisitlogError, match="不是 visitlog 数据库"):
        sync_with(a, junk)
    assert junk.read_bytes() == before


def test_a_copy_of_this_database_takes_a_new_device_id_before_syncing(trio, tmp_path):
    a, *_ = trio
    copy = tmp_path / "copy.db"
    a.backup(copy)
    before = content(a)
    report = sync_with(a, copy)
    # the copy (no identity record beside it) renumbers its future changes
    assert [(i["at"], i["old"], i["reason"]) for i in report.identity] == [
        ("target", a.device_id, "moved")
    ]
    assert (report.sent_total, report.received_total) == (0, 0)
    assert content(a) == before
    with Store(copy) as c:
        assert c.device_id not in (a.device_id, None)


# -- schema guard -------------------------------------------------------------------


def test_newer_target_is_refused_naming_the_version(trio):

    a, _b, hub, vid = trio
    with Store(hub) as h:
        h.conn.execute("UPDATE settings SET value = '99' WHERE key = 'schema_version'")
        h.conn.execute(
            "INSERT OR REPLACE INTO settings(key, value) VALUES ('schema_release', '0.9.0')"
        )
    hub_changes = rawdb.connect(hub).execute("SELECT count(*) FROM change_log").fetchone()[0]
    a.edit_visit(vid, summary="不会发出去")
    before = content(a), a.scalar("SELECT count(*) FROM audit")
    with pytest.raises(VisitlogError, match=r"0\.9\.0"):
        sync_with(a, hub)
    assert (content(a), a.scalar("SELECT count(*) FROM audit")) == before
    conn = rawdb.connect(hub)
    assert conn.execute("SELECT count(*) FROM change_log").fetchone()[0] == hub_changes
    conn.close()


def test_databases_record_the_release_their_schema_needs(tmp_path):
    from visitlog.store.migrations import LATEST, SCHEMA_RELEASES

    with Store(tmp_path / "x.db") as s:
        assert s.get_setting("schema_release") == SCHEMA_RELEASES[LATEST]


def _make_old(path: Path) -> None:
    """Turn a database into one made before m003_sync."""

    conn = rawdb.connect(path)
    conn.execute("DROP TABLE peers")
    conn.execute("DROP INDEX conflicts_row")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm003_sync'")
    conn.commit()
    conn.close()


def test_older_target_needs_consent(trio):
    a, _b, hub, vid = trio
    _make_old(hub)
    a.edit_visit(vid, summary="升级后才发出")
    with pytest.raises(VisitlogError, match="--upgrade-target"):
        sync_with(a, hub)
    probe = Store(hub, upgrade=False)
    assert probe.pending_upgrade == ["m003_sync"]
    probe.close()
    dry = sync_with(a, hub, dry_run=True, upgrade_target=True)
    assert dry.estimated and dry.sent_total == 1
    probe = Store(hub, upgrade=False)
    assert probe.pending_upgrade == ["m003_sync"]  # a dry run upgrades nothing
    probe.close()
    report = sync_with(a, hub, upgrade_target=True)
    assert report.schema_upgraded and report.sent_total == 1
    with Store(hub, upgrade=False) as h:
        assert h.pending_upgrade == []
        assert content(h) == content(a)


# -- bundles carry the same merge -------------------------------------------------------


def test_bundle_round_trip_by_usb_and_idempotent_reimport(trio, tmp_path):
    a, b, hub, vid = trio
    a.edit_visit(vid, summary="A的版本")
    b.edit_visit(vid, outcome="不在家")
    stick = tmp_path / "a.vlb"
    hold_key(a.path, b.path, hub)  # a bundle is encrypted with the station key
    info = export_bundle(a, stick, for_peer=str(hub))
    assert info.total == 1  # the hub already holds everything else
    with Store(hub) as h:
        assert import_bundle(h, stick).received_total == 1
        back = tmp_path / "hub-for-b.vlb"
        export_bundle(h, back, for_peer=b.device_id)
    report = import_bundle(b, back)
    assert report.received_total == 1
    assert b.get_visit(vid).summary == "A的版本"
    before = content(b), b.scalar("SELECT count(*) FROM change_log")
    again = import_bundle(b, back)
    assert (again.received_total, again.conflicts) == (0, [])
    assert (content(b), b.scalar("SELECT count(*) FROM change_log")) == before


def test_bundle_for_another_replica_is_refused_where_it_does_not_fit(trio, tmp_path):
    a, _b, hub, vid = trio
    a.edit_visit(vid, summary="只给集中库的")
    part = tmp_path / "part.vlb"
    hold_key(a.path)
    export_bundle(a, part, for_peer=str(hub))
    fresh = make(tmp_path, "fresh", "新人")
    hold_key(fresh.path)
    with pytest.raises(VisitlogError, match="不带 --for"):
        import_bundle(fresh, part)
    assert fresh.scalar("SELECT count(*) FROM change_log") == 0
