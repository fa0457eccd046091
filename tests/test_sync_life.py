"""Sync through an office's real life, on real files: a laptop restored from its
own backup, a database copied to a second laptop, work that arrives before the
row it belongs to, ``created_at`` on every replica, an edit made to a visit
deleted elsewhere, and clocks that are wrong."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
import rawdb
from station import hold_key
from typer.testing import CliRunner

from visitlog.cli import app
from visitlog.model import Household, Item, Kind, Visit, VisitlogError
from visitlog.store import Store, identity
from visitlog.sync import export_bundle, import_bundle, list_conflicts, restore_conflict, sync_with
from visitlog.sync.bundle import BundleError
from visitlog.sync.merge import ReplayError

DAY_MS = 24 * 3600 * 1000
CONTENT_TABLES = ("households", "visits", "items")


def content(path: Path) -> dict[str, list[tuple]]:
    """Every synced row, created_at included, read from the file as it is now."""
    from visitlog.model import SYNCED_FIELDS

    with Store(path) as s:
        out = {}
        for tbl in CONTENT_TABLES:
            cols = ["id", *SYNCED_FIELDS[tbl], "created_at", "hlc", "device", "stamps"]
            out[tbl] = [
                tuple(r.values())
                for r in s.query(f"SELECT {', '.join(cols)} FROM {tbl} ORDER BY id")
            ]
        return out


def laptop(path: Path, worker: str) -> Store:
    s = Store(path)
    s.init_identity(worker, path.stem)
    return s


def visit(store: Store, hid: str, summary: str, date: str = "2026-11-02") -> str:
    return store.add_visit(
        Visit(
            household_id=hid,
            visit_date=date,
            visitor=store.worker or "社工",
            summary=summary,
            items=[Item.from_spec(Kind.PROBLEM, "其他:" + summary)],
        )
    ).id


def summaries(path: Path) -> set[str]:
    with Store(path) as s:
        return {v.summary for v in s.list_visits()}


def restore(backup: Path, db: Path) -> None:
    """What a worker does: copy yesterday's backup over the database file
    (in place, so the file keeps its inode), its -wal and -shm gone with the disk."""
    for side in ("-wal", "-shm"):
        Path(f"{db}{side}").unlink(missing_ok=True)
    shutil.copyfile(backup, db)


@pytest.fixture
def office(tmp_path: Path):
    """Laptops A and B and a hub; one household known everywhere."""
    a, b = laptop(tmp_path / "a" / "a.db", "张三"), laptop(tmp_path / "b" / "b.db", "李四")
    hub = tmp_path / "hub" / "hub.db"
    hub.parent.mkdir()
    hid = a.add_household(Household(address="曹杨一村1号101室", micro_grid="一网格")).id
    sync_with(a, hub)
    sync_with(b, hub)
    yield a, b, hub, hid
    a.close()
    b.close()


def converge(hub: Path, *stores: Store) -> None:
    for s in (*stores, *stores):
        sync_with(s, hub)


# -- case 1: a laptop restored from its own backup ------------------------------------


def test_restored_laptop_that_writes_first_renumbers_and_loses_nothing(office, tmp_path):
    a, b, hub, hid = office
    visit(a, hid, "备份前")
    sync_with(a, hub)
    backup = a.backup(tmp_path / "a-backup.db")
    visit(a, hid, "备份后，已同步")  # reaches the hub, then the disk dies
    sync_with(a, hub)
    visit(b, hid, "B 的走访")
    sync_with(b, hub)
    old_id = a.device_id
    path = a.path
    a.close()
    restore(backup, path)

    a = Store(path)
    visit(a, hid, "恢复后先记的")  # before any sync
    assert a.device_id != old_id
    assert a.identity_change == {"old": old_id, "new": a.device_id, "reason": "restored"}
    report = sync_with(a, hub)
    assert report.received_total >= 2  # its own lost work comes back, and B's
    sync_with(b, hub)
    want = {"备份前", "备份后，已同步", "B 的走访", "恢复后先记的"}
    assert summaries(a.path) == summaries(hub) == summaries(b.path) == want
    assert content(a.path) == content(hub) == content(b.path)
    a.close()


def test_restored_laptop_that_syncs_first_takes_its_work_back_and_says_so(office, tmp_path):
    a, b, hub, hid = office
    backup = a.backup(tmp_path / "a-backup.db")
    for k in range(3):
        visit(a, hid, f"备份后第{k}条")
    sync_with(a, hub)
    old_id, path = a.device_id, a.path
    a.close()
    restore(backup, path)

    a = Store(path)
    report = sync_with(a, hub)
    (change,) = report.identity
    assert (change["at"], change["old"], change["reason"]) == ("local", old_id, "restored")
    assert change["recovered"] == 3 + 3  # three visits and their items
    assert "新的设备编号" in report.notes()[0] and "取回" in report.notes()[0]
    assert a.device_id == change["new"] != old_id
    visit(a, hid, "恢复后")
    sync_with(a, hub)
    sync_with(b, hub)
    assert summaries(b.path) == {"备份后第0条", "备份后第1条", "备份后第2条", "恢复后"}
    assert content(a.path) == content(b.path) == content(hub)
    a.close()


def test_a_restore_the_record_cannot_see_is_caught_by_the_hub(office, tmp_path):
    """Backup and identity record restored together (a whole folder from an
    older disk image): only the hub knows the laptop is behind."""
    a, b, hub, hid = office
    backup = a.backup(tmp_path / "a-backup.db")
    record = identity.record_path(a.path)
    saved_record = record.read_bytes()
    visit(a, hid, "只在集中库里的")
    sync_with(a, hub)
    old_id, path = a.device_id, a.path
    a.close()
    restore(backup, path)
    record.write_bytes(saved_record)

    a = Store(path)
    report = sync_with(a, hub)
    assert [(i["reason"], i["recovered"]) for i in report.identity] == [("peer_ahead", 2)]
    assert a.device_id != old_id
    visit(a, hid, "之后的")
    converge(hub, a, b)
    assert summaries(b.path) == {"只在集中库里的", "之后的"}
    assert content(a.path) == content(b.path)
    a.close()


def test_same_number_different_change_is_refused_and_nothing_applied(office, tmp_path):
    """A database that wrote before anything could notice (an older visitlog
    kept no identity record): the receiver refuses loudly, both sides intact."""
    a, _b, hub, hid = office
    backup = a.backup(tmp_path / "a-backup.db")
    visit(a, hid, "原来的第二号")
    sync_with(a, hub)
    path = a.path
    a.close()
    restore(backup, path)
    identity.record_path(path).unlink()
    with rawdb.connect(path) as raw:  # as an older visitlog left it
        raw.execute("INSERT INTO settings(key, value) VALUES ('identity_unchecked', '1')")
    raw.close()
    a = Store(path)
    visit(a, hid, "同号不同内容")
    before = content(a.path), content(hub)
    with pytest.raises(ReplayError, match="内容不同"):
        sync_with(a, hub)
    assert (content(a.path), content(hub)) == before
    # a bundle carrying it is refused the same way
    bundle = tmp_path / "a.vlb"
    hold_key(a.path, hub)  # a bundle is encrypted with the station key
    export_bundle(a, bundle)
    with Store(hub) as h, pytest.raises(ReplayError):
        import_bundle(h, bundle)
    assert content(hub) == before[1]
    a.close()


# -- case 2: a database copied to a second laptop ------------------------------------


@pytest.mark.parametrize("with_record", [False, True], ids=["file", "folder"])
def test_a_copied_database_gets_its_own_device_id_and_both_reach_the_hub(
    office, tmp_path, with_record
):
    a, b, hub, hid = office
    visit(a, hid, "拷贝前")
    sync_with(a, hub)
    new = tmp_path / "new-laptop" / "a.db"
    new.parent.mkdir()
    a.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy2(a.path, new)  # the new worker's laptop set up by copying the file
    if with_record:
        shutil.copy2(identity.record_path(a.path), identity.record_path(new))
    c = Store(new)
    c.set_settings(worker="王五")
    visit(c, hid, "新电脑记的")
    visit(a, hid, "原电脑记的")
    assert c.device_id != a.device_id
    assert c.identity_change["reason"] == ("copied" if with_record else "moved")
    for s in (c, a, b, c):
        sync_with(s, hub)
    want = {"拷贝前", "新电脑记的", "原电脑记的"}
    assert summaries(hub) == summaries(a.path) == summaries(new) == summaries(b.path) == want
    assert content(a.path) == content(new) == content(hub)
    c.close()


def test_copied_and_restored_databases_in_the_cli_say_so_in_words(tmp_path):
    runner = CliRunner()
    lap, hub, backup = tmp_path / "lap.db", tmp_path / "hub.db", tmp_path / "lap-backup.db"

    def run(db: Path, *args: str):
        return runner.invoke(app, ["--db", str(db), *args])

    assert run(lap, "init", "--worker", "张三").exit_code == 0
    hid = run(lap, "household", "add", "--address", "1号", "--grid", "一网格").stdout.strip()
    assert run(lap, "sync", str(hub), "--new-hub").exit_code == 0
    assert run(lap, "backup", str(backup)).exit_code == 0
    assert run(lap, "visit", "add", "--household", hid, "--date", "2026-11-02").exit_code == 0
    assert run(lap, "sync", str(hub)).exit_code == 0
    restore(backup, lap)
    result = run(lap, "visit", "add", "--household", hid, "--date", "2026-11-03")
    assert result.exit_code == 0
    assert "新的设备编号" in result.stderr and "备份" in result.stderr
    result = run(lap, "sync", str(hub), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["received"] == 1
    assert len(json.loads(run(lap, "visit", "list", "--json").stdout)) == 2
    english = runner.invoke(
        app, ["--db", str(tmp_path / "copy.db"), "--lang", "en", "visit", "list"]
    )
    assert english.exit_code == 0


# -- case 5: work that arrives before its row --------------------------------------------


def test_late_work_waits_for_its_row_and_is_applied_when_it_arrives(office, tmp_path):
    a, b, hub, _hid = office
    night = tmp_path / "hub-last-night.db"
    with Store(hub) as h:
        h.backup(night)
    # The next day: A records a visit on a new household and syncs; B gets it.
    hid2 = a.add_household(Household(address="曹杨一村2号202室", micro_grid="一网格")).id
    vid = visit(a, hid2, "A 的原话")
    sync_with(a, hub)
    sync_with(b, hub)
    # The hub's disk fails; last night's copy is put back.
    restore(night, hub)
    # B edits A's visit and records one on A's new household, then sends a
    # bundle made for the hub as B last knew it.
    b.edit_visit(vid, summary="B 改过的")
    late = visit(b, hid2, "B 在新住户的走访")
    bundle = tmp_path / "for-hub.vlb"
    hold_key(a.path, b.path, hub)  # a bundle is encrypted with the station key
    export_bundle(b, bundle, for_peer=str(hub))
    with Store(hub) as h:
        report = import_bundle(h, bundle)
        assert report.received_total == 3  # the edit, the visit and its item: kept
        assert h.scalar("SELECT count(*) FROM visits WHERE id IN (?, ?)", [vid, late]) == 0
        assert h.check() == []
    # A syncs: the rows arrive, and what waited for them is applied.
    sync_with(a, hub)
    with Store(hub) as h:
        assert h.get_visit(vid).summary == "B 改过的"
        assert h.get_visit(late).household_id == hid2
        assert len(h.get_visit(late).items) == 1
        assert h.scalar("SELECT count(*) FROM sync_orphans") == 0
        assert h.check() == []
    converge(hub, a, b)
    assert content(a.path) == content(b.path) == content(hub)


# -- case 9: created_at, and an edit to a visit deleted elsewhere -----------------------------


def test_created_at_is_the_same_on_every_replica(office, skew_clock):
    a, b, hub, hid = office
    # B's clock an hour ahead: A's clock then stamps ahead of A's wall clock,
    # so a time derived from the stamp would differ from the one A stored.
    skew_clock(3600 * 1000)
    visit(b, hid, "B 的")
    sync_with(b, hub)
    skew_clock(0)
    sync_with(a, hub)
    visit(a, hid, "A 的")
    converge(hub, a, b)
    rows = content(a.path)
    assert rows == content(b.path) == content(hub)
    with Store(a.path) as s:
        (made,) = [r for r in s.query("SELECT created_at, hlc FROM visits") if r["hlc"] > ""][-1:]
        assert made["created_at"]


def test_older_databases_agree_on_created_at_after_the_upgrade(office):
    a, b, hub, hid = office
    visit(a, hid, "旧版本记的")
    converge(hub, a, b)
    paths = [a.path, b.path]
    a.close()
    b.close()
    for path in paths:  # as an older visitlog left them: each its own created_at
        with rawdb.connect(path) as raw:
            raw.execute("UPDATE visits SET created_at = '2000-01-0' || (rowid % 9 + 1)")
            rawdb.as_older_visitlog(raw)
            raw.execute(
                "UPDATE changes SET data = json_remove(data, '$.created_at') WHERE op = 'insert'"
            )
            raw.execute("DELETE FROM _sqlite_migrations WHERE name = 'm011_sync_life'")
        raw.close()
    assert content(paths[0])["visits"] == content(paths[1])["visits"]  # reopened: migrated
    with Store(paths[0]) as s:
        assert not s.query("SELECT 1 FROM visits WHERE created_at LIKE '2000%'")


def test_an_edit_to_a_visit_deleted_elsewhere_is_kept_as_a_conflict(office):
    a, b, hub, hid = office
    vid = visit(a, hid, "原来的")
    converge(hub, a, b)
    a.delete_visit(vid)
    # later, on B's clock too: two stamps of the same millisecond on two laptops
    # are ordered by device id, and the edit could rank before the delete
    time.sleep(0.005)
    b.edit_visit(vid, summary="B 没看到删除，后来改的")
    converge(hub, a, b)
    for s in (a, b):
        assert vid not in {v.id for v in s.list_visits()}  # the delete stands…
        (rec,) = list_conflicts(s)  # …but the edit did not vanish
        assert (rec["row_id"], rec["field"], rec["value"], rec["winner_value"]) == (
            vid,
            "deleted",
            0,
            1,
        )
        assert rec["device"] == b.device_id
    restore_conflict(a, rec["id"])  # the worker brings the visit back, with its items
    converge(hub, a, b)
    for s in (a, b):
        back = s.get_visit(vid)
        assert back.summary == "B 没看到删除，后来改的" and len(back.items) == 1
        assert not list_conflicts(s)
        assert s.check() == []
    assert content(a.path) == content(b.path)


def test_an_edit_made_after_seeing_the_delete_makes_no_conflict(office):
    a, b, hub, hid = office
    vid = visit(a, hid, "原来的")
    converge(hub, a, b)
    b.delete_visit(vid)
    converge(hub, a, b)
    restore_id = None
    # B brings it back knowingly (an ordinary undelete), A then edits it.
    with b.transaction() as tx:
        tx.update("visits", vid, {"deleted": 0})
    converge(hub, a, b)
    a.edit_visit(vid, summary="恢复后改的")
    converge(hub, a, b)
    assert restore_id is None and not list_conflicts(a) and not list_conflicts(b)


# -- clocks --------------------------------------------------------------------------------


def test_a_bundle_written_by_a_clock_far_ahead_is_refused(office, tmp_path, skew_clock):
    a, b, _hub, hid = office
    skew_clock(3 * DAY_MS)
    visit(b, hid, "三天后的")
    bundle = tmp_path / "future.vlb"
    hold_key(a.path, b.path)  # a bundle is encrypted with the station key
    export_bundle(b, bundle)
    skew_clock(0)
    before = content(a.path)
    with pytest.raises(BundleError, match="时钟"):
        import_bundle(a, bundle)
    assert content(a.path) == before
    result = CliRunner().invoke(
        app, ["--db", str(a.path), "--lang", "en", "bundle", "import", str(bundle)]
    )
    assert result.exit_code == 1 and "clock" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2


def test_a_laptop_dated_2099_does_not_win_every_later_edit(office, skew_clock):
    a, b, hub, hid = office
    vid = visit(a, hid, "原来的")
    converge(hub, a, b)
    skew_clock(70 * 365 * DAY_MS)
    b.edit_visit(vid, summary="2099 年的电脑改的")
    sync_with(b, hub)
    skew_clock(0)  # B's date is put right
    report = sync_with(a, hub)
    assert {s["device"] for s in report.skewed} == {b.device_id}
    assert any(b.device_id in note for note in report.notes())
    a.edit_visit(vid, summary="A 之后改的")
    b_later = a.add_household(Household(address="3号", micro_grid="一网格")).id
    converge(hub, a, b)
    for s in (a, b):
        assert s.get_visit(vid).summary == "A 之后改的"
        assert s.get_household(b_later)
    b.edit_visit(vid, summary="B 改对时钟后改的")
    converge(hub, a, b)
    assert a.get_visit(vid).summary == "B 改对时钟后改的"
    assert content(a.path) == content(b.path) == content(hub)
    with pytest.raises(VisitlogError):
        sync_with(a, a.path)
