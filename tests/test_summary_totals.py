"""The summary's kept totals (visitlog.store.totals) give the figures the records give.

Every test changes the records the way an office does (visits saved, edited
and deleted, items closed, a household moved to another grid, merged and the
merge undone, another laptop's sync, another program writing the file) and
then compares the summary read from the kept totals with the one read from
every record (``kept=False``), for periods made of whole months, of parts of
months, across a year's end, and for one grid.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import sqlite3
from pathlib import Path

import pytest

from visitlog.dedup import merges as dedup_merge
from visitlog.model import Item, Visit
from visitlog.render import render
from visitlog.store import Store
from visitlog.summary import compute_summary
from visitlog.sync import sync_with

TODAY = dt.date.today()
PERIODS = [
    (None, None),  # 1 January to today: whole months and the days of this one
    ((TODAY - dt.timedelta(days=200)).isoformat(), (TODAY - dt.timedelta(days=20)).isoformat()),
    ((TODAY - dt.timedelta(days=400)).isoformat(), TODAY.isoformat()),
    (TODAY.replace(day=1).isoformat(), TODAY.isoformat()),
]


def _same(store: Store, grid: str | None = None) -> None:
    for a, b in PERIODS:
        for details in (False, True):
            kept = compute_summary(store, date_from=a, date_to=b, grid=grid, details=details)
            read = compute_summary(
                store, date_from=a, date_to=b, grid=grid, details=details, kept=False
            )
            assert render(kept, "json", False) == render(read, "json", False), (a, b, grid)
    assert store.scalar("SELECT count(*) FROM marks_stale") == 0
    assert store.scalar("SELECT count(*) FROM summary_months") > 0
    assert store.totals_differences() == []


def _month(d: dt.date) -> str:
    return d.strftime("%Y-%m")


def test_a_bulk_loaded_street_is_counted_when_first_summed_up(demo_store: Store) -> None:
    # The demo is written with the insert triggers set aside: nothing is kept yet.
    assert demo_store.scalar("SELECT hrow FROM marks_stale") == -1  # every household
    assert demo_store.scalar("SELECT count(*) FROM summary_months") == 0
    _same(demo_store)
    assert demo_store.scalar("SELECT count(*) FROM visit_totals") > 0
    assert demo_store.scalar("SELECT count(*) FROM household_marks") > 0


def test_the_offices_everyday_changes_keep_the_totals_right(demo_store: Store) -> None:
    s = demo_store
    _same(s)
    rng = random.Random(7)
    households = [r["id"] for r in s.query("SELECT id FROM households ORDER BY id")]
    grids = sorted({r["micro_grid"] for r in s.query("SELECT micro_grid FROM households")})
    for _ in range(3):
        for _ in range(15):
            day = TODAY - dt.timedelta(days=rng.randrange(0, 300))
            visit = Visit(
                household_id=rng.choice(households),
                visit_date=day.isoformat(),
                visitor=rng.choice(["新来的社工", "陈静"]),
                outcome=rng.choice(["见面", "拒访", "不在家", "已搬离"]),
                items=[Item(kind="问题", category="医疗", description="血压高", deadline=None)]
                if rng.random() < 0.5
                else [],
            )
            s.add_visit(visit)
        visits = [r["id"] for r in s.query("SELECT id FROM visits WHERE deleted = 0 LIMIT 400")]
        for vid in rng.sample(visits, 5):
            s.edit_visit(
                vid, outcome="拒访", visit_date=(TODAY - dt.timedelta(days=45)).isoformat()
            )
        for vid in rng.sample(visits, 5):
            s.delete_visit(vid)
        items = [r["id"] for r in s.query("SELECT id FROM items WHERE status = '待办' LIMIT 200")]
        for iid in rng.sample(items, 5):
            s.update_item(iid, status="办理中")
        s.update_household(rng.choice(households), micro_grid=rng.choice(grids))
        s.update_household(rng.choice(households), occupancy="空置")
        _same(s)
        _same(s, grid=grids[0])


def test_a_merge_and_its_undo_move_the_visits_and_items_with_them(demo_store: Store) -> None:
    s = demo_store
    _same(s)
    a, b = (r["id"] for r in s.query("SELECT id FROM households ORDER BY id LIMIT 2 OFFSET 40"))
    s.update_household(b, micro_grid=s.get_household(a).micro_grid)
    merge_id = dedup_merge.merge(s, [b, a])
    _same(s)
    dedup_merge.undo(s, merge_id)
    _same(s)


def test_another_program_writing_the_file_strikes_its_months_off(demo_store: Store) -> None:
    s = demo_store
    _same(s)
    month = _month(TODAY - dt.timedelta(days=60))
    assert s.scalar("SELECT count(*) FROM summary_months WHERE month = ?", [month]) == 1
    other = sqlite3.connect(s.path)
    with other:
        other.execute(
            "UPDATE visits SET outcome = '拒访' WHERE id IN (SELECT id FROM visits "
            "WHERE substr(visit_date, 1, 7) = ? AND outcome = '见面' LIMIT 20)",
            [month],
        )
        other.execute(
            "UPDATE households SET deleted = 1 WHERE id IN (SELECT id FROM households LIMIT 3)"
        )
    other.close()
    assert s.scalar("SELECT count(*) FROM summary_months WHERE month = ?", [month]) == 0
    assert s.scalar("SELECT count(*) FROM marks_stale") > 0
    _same(s)


def test_another_laptops_sync_reaches_the_totals(demo_db: Path, tmp_path: Path) -> None:
    hub, other_db = tmp_path / "hub.db", tmp_path / "other.db"
    shutil.copy(demo_db, other_db)
    with Store(demo_db) as mine, Store(other_db) as other:
        _same(mine)
        sync_with(mine, hub, create=True)
        hid = mine.query("SELECT id FROM households ORDER BY id LIMIT 1 OFFSET 9")[0]["id"]
        other.add_visit(
            Visit(household_id=hid, visit_date=(TODAY - dt.timedelta(days=70)).isoformat(),
                  visitor="隔壁的社工", outcome="见面")
        )  # fmt: skip
        other.update_household(hid, micro_grid="新网格")
        sync_with(other, hub)
        sync_with(mine, hub)
        assert mine.scalar("SELECT count(*) FROM visits WHERE visitor = '隔壁的社工'") == 1
        _same(mine)


def test_a_busy_or_read_only_file_is_summed_up_from_its_records(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from visitlog.store import database, totals_records

    monkeypatch.setattr(totals_records, "REFRESH_WAIT_S", 0.2)
    with Store(demo_db) as s:
        expected = render(compute_summary(s, kept=False), "json", False)
        blocker = sqlite3.connect(demo_db)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            assert s.refresh_summary_totals(["2025-01"]) is False
            assert render(compute_summary(s), "json", False) == expected
        finally:
            blocker.rollback()
            blocker.close()
        assert s.scalar("SELECT count(*) FROM summary_months") == 0  # nothing half-written
    # A file on a write-protected stick is opened read-only.
    monkeypatch.setattr(
        database, "_sqlite_target", lambda path: (path.resolve().as_uri() + "?mode=ro", True)
    )
    with Store(demo_db) as ro:
        assert ro.read_only
        assert ro.refresh_summary_totals(["2025-01"]) is False
        assert render(compute_summary(ro), "json", False) == expected


def test_a_full_check_finds_and_drops_totals_that_disagree(demo_store: Store) -> None:
    from visitlog.store.checking import run_check

    s = demo_store
    _same(s)
    s.conn.execute(
        "UPDATE item_totals SET n = n + 1 WHERE rowid = (SELECT min(rowid) FROM item_totals)"
    )
    s.conn.execute(
        "UPDATE household_marks SET bits = (bits | 1) - (bits & 1) WHERE key = (SELECT min(key) FROM household_marks)"
    )
    assert s.totals_differences() == ["item_totals", "household_marks"]
    problems, whole = run_check(s.conn, full=True)
    assert whole and len([p for p in problems if "item_totals" in p or "household_marks" in p]) == 2
    assert s.scalar("SELECT count(*) FROM summary_months") == 0
    _same(s)  # counted again from the records
    assert run_check(s.conn, full=True)[0] == []


def test_a_period_ending_today_reads_its_last_month_as_a_whole_one(demo_store: Store) -> None:
    """Nothing is dated after today, so this month's totals hold exactly the
    period's days of it; a visit dated after the period's end keeps the days
    read from the records (and the figures the same either way)."""
    from visitlog.summary.queries import kept_parts

    s = demo_store
    start = TODAY.replace(month=1, day=1)
    _same(s)
    whole, edges = kept_parts(s, start, TODAY)
    assert whole[-1] == _month(TODAY) and edges == []
    # On the 1st, "yesterday" is another month: the record after the end is
    # then one of tomorrow, in a period of this month's first day alone.
    end = TODAY - dt.timedelta(days=1) if TODAY.day > 1 else TODAY
    later = TODAY if TODAY.day > 1 else TODAY + dt.timedelta(days=1)
    s.conn.execute(  # another program's record (visitlog refuses visits in the future)
        "UPDATE visits SET visit_date = ? WHERE id = (SELECT id FROM visits "
        "WHERE deleted = 0 AND merged_into IS NULL ORDER BY id LIMIT 1)",
        [later.isoformat()],
    )
    assert s.refresh_summary_totals([_month(TODAY)])
    whole, edges = kept_parts(s, start, end)
    assert _month(TODAY) not in whole
    assert edges == [(TODAY.replace(day=1).isoformat(), end.isoformat())]
    kept = compute_summary(s, date_from=start.isoformat(), date_to=end.isoformat())
    read = compute_summary(s, date_from=start.isoformat(), date_to=end.isoformat(), kept=False)
    assert render(kept, "json", False) == render(read, "json", False)
