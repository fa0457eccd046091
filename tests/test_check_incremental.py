"""``check`` on a large database: the file in full, the rows since the last check."""

from __future__ import annotations

import json
import shutil

import pytest

from visitlog.store import Store, checking


@pytest.fixture
def large(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every database counts as large (the district-sized path, on a small street)."""
    monkeypatch.setattr(checking, "FULL_UP_TO", 0)


def _some_visit(store: Store) -> str:
    return store.query("SELECT id FROM visits WHERE deleted = 0 ORDER BY rowid LIMIT 1")[0]["id"]


def test_a_small_database_is_checked_in_full_every_time(demo_store: Store) -> None:
    assert demo_store.check() == []
    assert demo_store.last_check_whole
    assert demo_store.check() == []
    assert demo_store.last_check_whole


def test_after_a_clean_check_only_changed_rows_are_checked(demo_store: Store, large) -> None:
    assert demo_store.check() == [] and demo_store.last_check_whole  # no mark yet
    assert demo_store.check() == [] and not demo_store.last_check_whole
    # A value outside the list on a row nobody changed since: only --full sees it.
    untouched = _some_visit(demo_store)
    demo_store.conn.execute("UPDATE visits SET mode = '飞鸽' WHERE id = ?", [untouched])
    assert demo_store.check() == []
    found = demo_store.check(full=True)
    assert demo_store.last_check_whole
    assert any("visits.mode" in p for p in found)


def test_changed_rows_are_checked_whoever_changed_them(demo_store: Store, large) -> None:
    assert demo_store.check() == []
    vid = _some_visit(demo_store)
    demo_store.edit_visit(vid, summary="复访：情况稳定")  # a logged change
    demo_store.conn.execute("UPDATE visits SET outcome = '失联' WHERE id = ?", [vid])
    problems = demo_store.check()
    assert not demo_store.last_check_whole
    assert any("visits.outcome" in p for p in problems)
    # A problem found keeps the mark: the next check reports it again.
    assert any("visits.outcome" in p for p in demo_store.check())


def test_a_new_row_without_a_log_entry_is_found(demo_store: Store, large) -> None:
    assert demo_store.check() == []
    row = demo_store.query("SELECT * FROM households ORDER BY rowid LIMIT 1")[0]
    values = {**dict(row), "id": "0000-unlogged", "ref": None}
    cols = ",".join(values)
    demo_store.conn.execute(
        f"INSERT INTO households ({cols}) VALUES ({','.join('?' * len(values))})",
        list(values.values()),
    )
    problems = demo_store.check()
    assert not demo_store.last_check_whole
    assert any("households" in p for p in problems), problems


def test_a_restored_older_copy_is_checked_in_full(demo_db, tmp_path, large) -> None:
    older = tmp_path / "older.db"
    shutil.copyfile(demo_db, older)
    with Store(demo_db) as store:
        store.edit_visit(_some_visit(store), summary="新的摘要")
        assert store.check() == []
        mark = store.get_setting(checking.MARK)
    with Store(older) as store:
        store.conn.execute(
            "INSERT INTO settings(key, value) VALUES (?, ?)", [checking.MARK, mark]
        )  # the mark of a later state, as after restoring a backup over the file
        assert store.check() == []
        assert store.last_check_whole


def test_check_json_says_whether_it_was_whole(demo_cli, large) -> None:
    first = json.loads(demo_cli("check", "--json").stdout)
    second = json.loads(demo_cli("check", "--json").stdout)
    full = json.loads(demo_cli("check", "--full", "--json").stdout)
    assert (first["full"], second["full"], full["full"]) == (True, False, True)
    assert first["ok"] and second["ok"] and full["ok"]
    said = demo_cli("check").stdout
    assert "--full" in said
