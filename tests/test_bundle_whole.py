"""A whole bundle into a file that holds nothing yet (a new laptop taking a
district from a stick): its indexes are set aside while the changes go in
and built once at the end, and the file is the one the change-by-change
import makes."""

from __future__ import annotations

from pathlib import Path

import pytest
from office_history import office
from same_replica import assert_same_replica
from station import hold_key

from visitlog.model import Household
from visitlog.store import Store
from visitlog.sync import BundleError, bundle, export_bundle, import_bundle, list_conflicts
from visitlog.sync.bundle import import_into_target
from visitlog.sync.sqlite import replica as sqlite_replica


def _schema(store: Store) -> set[tuple[str, str, str]]:
    """The indexes and triggers of a file, as SQLite stores them."""
    return set(
        store.conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger')"
        )
    )


@pytest.fixture
def bulk_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How often an import set the indexes aside (one entry each time)."""
    calls: list[int] = []
    real = sqlite_replica.bulk_load

    def counted(conn, *args, **kw):
        calls.append(1)
        return real(conn, *args, **kw)

    monkeypatch.setattr(sqlite_replica, "bulk_load", counted)
    return calls


def _office_bundle(tmp_path: Path) -> tuple[Store, Path]:
    a, _ = office(tmp_path)
    hold_key(a.path)
    path = tmp_path / "whole.vlb"
    export_bundle(a, path)
    return a, path


def _fresh(path: Path) -> Store:
    hold_key(path)
    return Store(path)


def test_a_whole_bundle_into_an_empty_laptop_is_the_laptop_made_change_by_change(
    tmp_path, monkeypatch, bulk_calls
):
    a, path = _office_bundle(tmp_path)
    new = _fresh(tmp_path / "new.db")
    report = import_bundle(new, path)
    assert bulk_calls == [1]
    # the same bundle, with the bulk path switched off
    monkeypatch.setattr(sqlite_replica.SqliteSession, "holds_nothing", lambda self: False)
    slow = _fresh(tmp_path / "slow.db")
    slow_report = import_bundle(slow, path)
    assert bulk_calls == [1]
    assert report.received == slow_report.received and report.received_total > 10
    assert {c["id"] for c in report.conflicts} == {c["id"] for c in slow_report.conflicts}
    # rows (their live household and visit after the merge included), the
    # change log, the changes held as far ahead, the open conflicts
    assert_same_replica(new, slow)
    # the conflicts laptop a recorded, whichever laptop's changes came first
    assert sorted((c["tbl"], c["row_id"], c["field"]) for c in list_conflicts(new)) == sorted(
        (c["tbl"], c["row_id"], c["field"]) for c in list_conflicts(a)
    )
    assert _schema(new) == _schema(slow) == _schema(_fresh(tmp_path / "never.db"))
    assert new.check() == [] and new.check(full=True) == []
    # and the laptop goes on like any other: its edits reach the one it came from
    hid = new.query("SELECT id FROM households WHERE merged_into IS NULL LIMIT 1")[0]["id"]
    new.update_household(hid, note="新电脑上改的")
    export_bundle(new, tmp_path / "back.vlb")
    import_bundle(a, tmp_path / "back.vlb")
    assert a.get_household(hid).note == "新电脑上改的"


def test_a_laptop_that_holds_records_takes_a_bundle_change_by_change(tmp_path, bulk_calls):
    _, path = _office_bundle(tmp_path)
    mine = _fresh(tmp_path / "mine.db")
    own = mine.add_household(Household(address="兰溪路1号", micro_grid="二网格"))
    import_bundle(mine, path)
    assert bulk_calls == []
    assert mine.get_household(own.id).address == "兰溪路1号"
    assert mine.scalar("SELECT count(*) FROM households") == 5
    assert mine.check() == []


def test_a_bundle_that_changes_while_read_leaves_the_new_laptop_empty_and_whole(
    tmp_path, monkeypatch, bulk_calls
):
    _, path = _office_bundle(tmp_path)
    new = _fresh(tmp_path / "new.db")
    schema = _schema(new)
    real = bundle.checksum_of

    def pulled_mid_copy(p):  # the check after every byte was read
        size, _ = real(p)
        return size, "0" * 64

    monkeypatch.setattr(bundle, "checksum_of", pulled_mid_copy)
    with pytest.raises(BundleError):
        import_bundle(new, path)
    assert bulk_calls == [1]  # it was on the bulk path when it failed
    # nothing applied, and the indexes and triggers set aside are back
    assert new.scalar("SELECT count(*) FROM households") == 0
    assert new.scalar("SELECT count(*) FROM changes") == 0
    assert _schema(new) == schema
    assert new.check() == []
    monkeypatch.setattr(bundle, "checksum_of", real)
    assert import_bundle(new, path).received_total > 10
    assert new.check() == []


def test_a_whole_bundle_into_a_new_hub_file(tmp_path, monkeypatch, bulk_calls):
    _, path = _office_bundle(tmp_path)
    hub_path = tmp_path / "hub.db"
    _fresh(hub_path).close()
    import_into_target(str(hub_path), path)
    assert bulk_calls == [1]
    monkeypatch.setattr(sqlite_replica.SqliteSession, "holds_nothing", lambda self: False)
    slow_path = tmp_path / "slow-hub.db"
    _fresh(slow_path).close()
    import_into_target(str(slow_path), path)
    hub, slow = Store(hub_path), Store(slow_path)
    assert_same_replica(hub, slow)
    assert _schema(hub) == _schema(slow)
    assert hub.check() == []
