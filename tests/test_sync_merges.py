"""Merges made on several laptops, and work done meanwhile, on real replicas.

Each laptop and the hub is a database file; they exchange changes with
``sync_with`` (and one case through the CLI).  Merges must commute: whatever
laptops decide a merge and whatever order syncs happen in, every replica ends
with the same live records, and no visit, item or edit is lost.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from visitlog import dedup
from visitlog.cli import app
from visitlog.dedup import merges as dedup_merge
from visitlog.model import SYNCED_FIELDS, Household, Item, Visit
from visitlog.roster import import_roster
from visitlog.store import Store
from visitlog.summary import compute_summary
from visitlog.sync import list_conflicts, restore_conflict, sync_with

DOMAIN = ("households", "visits", "items", "dedup_merges", "dedup_decisions")
#: Local columns every replica derives the same way.
DERIVED = {
    "households": ("merged_into",),
    "visits": ("merged_into", "live_household"),
    "items": ("live_household", "live_visit"),
}


def content(store: Store) -> dict[str, list[dict]]:
    """Every synced and derived column of the domain tables."""
    out = {}
    for tbl in DOMAIN:
        cols = ", ".join(("id", *SYNCED_FIELDS[tbl], *DERIVED.get(tbl, ())))
        out[tbl] = [dict(r) for r in store.query(f"SELECT {cols} FROM {tbl} ORDER BY id")]
    return out


class Office:
    """Laptops and a hub, each a database file."""

    def __init__(self, tmp: Path, n: int = 2):
        self.hub = tmp / "hub.db"
        self.laptops = []
        for i in range(n):
            s = Store(tmp / f"laptop{i}.db")
            s.init_identity(f"社工{i}", f"laptop-{i}")
            self.laptops.append(s)

    def sync_all(self, rounds: int = 2) -> None:
        for _ in range(rounds):
            for s in self.laptops:
                sync_with(s, self.hub)

    def converged(self) -> dict[str, list[dict]]:
        hub = Store(self.hub)
        try:
            reference = content(hub)
            assert hub.check() == []
        finally:
            hub.close()
        for s in self.laptops:
            assert content(s) == reference
            assert s.check() == []
        return reference

    def close(self) -> None:
        for s in self.laptops:
            s.close()


@pytest.fixture
def office(tmp_path: Path):
    o = Office(tmp_path)
    yield o
    o.close()


def _pair(store: Store) -> tuple[str, str]:
    """Two spellings of one household, the richer one made second (in a later
    millisecond: ids of one millisecond come in random order, and a merge
    keeps the smallest, so x is the survivor)."""
    x = store.add_household(
        Household(address="曹杨1村12-301", micro_grid="一网格", head="王建国", members=2)
    ).id
    time.sleep(0.002)
    y = store.add_household(
        Household(
            address="曹杨一村12号301室",
            micro_grid="一网格",
            head="王建国",
            phone="13812345678",
            members=2,
            tags=["独居老人"],
            note="独居",
        )
    ).id
    assert x < y
    return x, y


def _live_households(store: Store) -> list[str]:
    return [h.id for h in store.list_households()]


# -- case 3: two laptops merge the same pair ------------------------------------------


def test_the_same_pair_merged_on_two_laptops_leaves_one_household(office):
    a, b = office.laptops
    x, y = _pair(a)
    office.sync_all()
    # Each laptop sees different visits, so "the richest" would differ; the
    # survivor does not.
    b.add_visit(Visit(household_id=y, visit_date="2026-03-01", visitor="社工1"))
    (ma,) = dedup_merge.apply(a, dedup.find_households(a))
    (mb,) = dedup_merge.apply(b, dedup.find_households(b))
    assert ma != mb
    office.sync_all()
    office.converged()
    for s in (a, b):
        assert _live_households(s) == [min(x, y)]
        assert s.get_household(max(x, y)).merged_into == min(x, y)
        assert s.get_household(min(x, y)).phone == "13812345678"
        assert [v.household_id for v in s.list_visits()] == [min(x, y)]


@pytest.mark.parametrize("undo_on", [0, 1])
def test_undo_on_either_laptop_restores_the_pair(office, undo_on):
    a, b = office.laptops
    x, y = _pair(a)
    office.sync_all()
    before = content(a)
    merges = [dedup_merge.apply(s, dedup.find_households(s))[0] for s in (a, b)]
    office.sync_all()
    # Undoing one of two identical merges undoes the other too: the worker
    # asked for the pair apart again.
    result = dedup_merge.undo(office.laptops[undo_on], merges[undo_on])
    assert result["also"] == [merges[1 - undo_on]]
    office.sync_all()
    after = office.converged()
    # Every value as it was before the merges.
    assert {k: after[k] for k in ("households", "visits", "items")} == {
        k: before[k] for k in ("households", "visits", "items")
    }
    for s in (a, b):
        assert sorted(_live_households(s)) == sorted([x, y])
        assert all(r["undone"] for r in dedup_merge.list_merges(s))
        with pytest.raises(Exception, match="已经撤销"):
            dedup_merge.undo(s, merges[1 - undo_on])


def test_an_undo_and_a_merge_made_elsewhere_without_seeing_it(office):
    a, b = office.laptops
    x, y = _pair(a)
    office.sync_all()
    first = dedup_merge.merge(a, [x, y])
    dedup_merge.undo(a, first)
    dedup_merge.merge(b, [y, x])  # b decided it too, not knowing a changed its mind
    office.sync_all()
    office.converged()
    # b's decision stands (a never saw it); it can be undone in turn anywhere.
    assert _live_households(a) == [min(x, y)]
    (live,) = [m for m in dedup_merge.list_merges(a) if not m["undone"]]
    dedup_merge.undo(a, live["id"])
    office.sync_all()
    office.converged()
    assert sorted(_live_households(b)) == sorted([x, y])


def test_the_same_visits_merged_on_two_laptops_leave_one_visit(office):
    a, b = office.laptops
    h = a.add_household(Household(address="曹杨一村3号", micro_grid="一网格")).id
    spec = [Item(kind="问题", category="房屋修缮", description="卫生间漏水")]
    v1 = a.add_visit(Visit(household_id=h, visit_date="2026-03-18", visitor="陈静", items=spec))
    v2 = a.add_visit(
        Visit(household_id=h, visit_date="2026-03-18", visitor="陈静", summary="漏水", items=spec)
    )
    office.sync_all()
    dedup_merge.merge(a, [v1.id, v2.id])
    dedup_merge.merge(b, [v2.id, v1.id])
    office.sync_all()
    office.converged()
    for s in (a, b):
        (only,) = s.list_visits()
        assert only.id == min(v1.id, v2.id) and only.summary == "漏水"
        assert [i.description for i in only.items] == ["卫生间漏水"]
        assert len(s.list_items()) == 1


# -- case 4: one laptop deletes a copy, another merges the two -------------------------


@pytest.mark.parametrize("deleted", ["survivor", "other"])
def test_a_copy_deleted_elsewhere_while_merged_leaves_the_other(office, deleted):
    a, b = office.laptops
    h = a.add_household(Household(address="曹杨一村3号", micro_grid="一网格")).id
    problem = [Item(kind="问题", category="房屋修缮", description="卫生间漏水")]
    v1 = a.add_visit(Visit(household_id=h, visit_date="2026-03-18", visitor="陈静", items=problem))
    v2 = a.add_visit(Visit(household_id=h, visit_date="2026-03-18", visitor="陈静", items=problem))
    office.sync_all()
    survivor = min(v1.id, v2.id)
    doomed = survivor if deleted == "survivor" else max(v1.id, v2.id)
    a.delete_visit(doomed)
    mid = dedup_merge.merge(b, [v1.id, v2.id])
    assert dedup_merge.get_merge(b, mid)["survivor"] == survivor
    office.sync_all()
    office.converged()
    kept = ({v1.id, v2.id} - {doomed}).pop()
    for s in (a, b):
        # Never both gone: a deleted record is not eligible as survivor.
        (only,) = s.list_visits()
        assert only.id == kept
        assert [i.description for i in only.items] == ["卫生间漏水"]
        assert [i.description for i in s.list_items()] == ["卫生间漏水"]
    # Deleting the merged visit, knowing the merge, deletes the visit the
    # worker sees, copies included.
    b.delete_visit(kept)
    office.sync_all()
    office.converged()
    assert a.list_visits() == [] and a.list_items() == []


# -- case 6: a visit recorded on a household merged meanwhile ---------------------------


def test_a_visit_on_a_household_merged_meanwhile_follows_it(office):
    a, b = office.laptops
    x, y = _pair(a)
    office.sync_all()
    dedup_merge.merge(a, [x, y])
    gone = max(x, y)
    vid = b.add_visit(
        Visit(
            household_id=gone,
            visit_date="2026-03-18",
            visitor="社工1",
            items=[Item(kind="需求", category="养老助餐助医", description="助餐")],
        )
    ).id
    office.sync_all()
    office.converged()
    survivor = min(x, y)
    for s in (a, b):
        assert s.get_visit(vid).household_id == survivor
        assert [v.id for v in s.list_visits(household=survivor)] == [vid]  # history
        assert [i.household_id for i in s.list_items(household=survivor)] == [survivor]
        assert s.list_households(unvisited=True, year=2026) == []
        totals = compute_summary(s, date_from="2026-01-01", date_to="2026-12-31").totals
        assert (totals.households, totals.visited_households) == (1, 1)
        (row,) = s.household_overview(year=2026)
        assert row["id"] == survivor and row["visited_this_year"] and row["open_items"] == 1
    # Undone, the visit is back where it was recorded.
    dedup_merge.undo(b, dedup_merge.list_merges(b)[0]["id"])
    office.sync_all()
    office.converged()
    for s in (a, b):
        assert s.get_visit(vid).household_id == gone
        assert s.list_visits(household=survivor) == []


# -- case 7: an edit to a merged-away household ---------------------------------------


def _roster(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["编号", "微网格", "地址", "户主", "联系电话"])
        w.writerows(rows)
    return path


def test_an_edit_to_a_merged_away_household_is_a_conflict_on_the_survivor(office, tmp_path):
    a, b = office.laptops
    rows = [
        ["A001", "一网格", "曹杨1村12-301", "王建国", "13812340000"],
        ["B777", "一网格", "曹杨一村12号301室", "王建国", "13812340000"],
    ]
    import_roster(a, _roster(tmp_path / "two.csv", rows))
    office.sync_all()
    x, y = _live_households(a)
    dedup_merge.merge(a, [x, y])
    survivor, gone = min(x, y), max(x, y)
    ref = a.get_household(gone).ref
    fixed = [r for r in rows if r[0] == ref]
    fixed[0][4] = "13912345678"  # the phone corrected on the other laptop
    import_roster(b, _roster(tmp_path / "fix.csv", fixed))
    office.sync_all()
    office.converged()
    for s in (a, b):
        assert s.get_household(survivor).phone == "13812340000"
        (c,) = list_conflicts(s)
        assert (c["tbl"], c["row_id"], c["field"]) == ("households", survivor, "phone")
        assert c["value"] == "13912345678" and c["current_value"] == "13812340000"
    restore_conflict(b, list_conflicts(b)[0]["id"])
    office.sync_all()
    office.converged()
    for s in (a, b):
        assert s.get_household(survivor).phone == "13912345678"
        assert list_conflicts(s) == []


def test_an_edit_to_a_merged_away_household_reappears_when_undone(office):
    a, b = office.laptops
    x, y = _pair(a)
    office.sync_all()
    mid = dedup_merge.merge(a, [x, y])
    time.sleep(0.002)  # the edit comes after the merge, not in its millisecond
    b.update_household(max(x, y), note="已搬到女儿家")
    office.sync_all()
    assert [c["field"] for c in list_conflicts(a)] == ["note"]
    dedup_merge.undo(a, mid)
    office.sync_all()
    office.converged()
    for s in (a, b):
        assert s.get_household(max(x, y)).note == "已搬到女儿家"
        assert list_conflicts(s) == []  # settled: the value is seen again


# -- case 8: the same roster imported on two laptops ----------------------------------


def test_the_same_roster_imported_on_two_laptops_is_one_household_per_ref(office, tmp_path):
    a, b = office.laptops
    rows = [
        [f"CY{n:03d}", "一网格", f"曹杨一村{n}号101室", f"户主{n}", f"1381234567{n}"]
        for n in range(5)
    ]
    roster = _roster(tmp_path / "roster.csv", rows)
    import_roster(a, roster)
    import_roster(b, roster)
    on_b = {h.ref: h.id for h in b.list_households()}
    vid = b.add_visit(Visit(household_id=on_b["CY003"], visit_date="2026-03-18", visitor="社工1"))
    office.sync_all()
    office.converged()
    for s in (a, b):
        live = s.list_households()
        assert sorted(h.ref for h in live) == [r[0] for r in rows]
        assert s.scalar("SELECT count(*) FROM households") == 10
        by_ref = {h.ref: h.id for h in live}
        assert s.get_visit(vid.id).household_id == by_ref["CY003"]
        for ref, hid in by_ref.items():
            copies = s.query("SELECT id, merged_into FROM households WHERE ref = ?", [ref])
            assert hid == min(r["id"] for r in copies)
        assert dedup.find_households(s).clusters == []
    # Importing the roster again changes nothing, anywhere.
    again = import_roster(a, roster)
    assert (again.imported, again.updated) == (0, 0)
    office.sync_all()
    assert [sync_with(s, office.hub).sent_total for s in (a, b)] == [0, 0]
    # Two households that only shared a 编号 by mistake part when it is corrected.
    gone = max(r["id"] for r in a.query("SELECT id FROM households WHERE ref = 'CY001'"))
    a.update_household(gone, ref="CY101")
    office.sync_all()
    office.converged()
    assert len(b.list_households()) == 6


# -- the real CLI: two laptops, dedup --apply on both, sync ---------------------------


def test_dedup_apply_on_two_laptops_through_the_cli(tmp_path):
    runner = CliRunner()
    hub = tmp_path / "hub.db"

    def run(db: Path, *args: str) -> str:
        result = runner.invoke(app, ["--db", str(db), *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    a, b = tmp_path / "a.db", tmp_path / "b.db"
    run(a, "init", "--worker", "王丽华", "--device", "laptop-a")
    run(b, "init", "--worker", "陈静", "--device", "laptop-b")
    first = run(a, "household", "add", "--address", "曹杨一村12号301室", "--grid", "一网格")
    # a duplicate on purpose: --yes adds it although the address reads as the first one
    second = run(a, "household", "add", "--address", "曹杨1村12-301", "--grid", "一网格", "--yes")
    run(a, "sync", str(hub), "--new-hub")
    run(b, "sync", str(hub))
    for db in (a, b):
        applied = json.loads(run(db, "dedup", "households", "--apply", "--json"))
        assert (
            applied["clusters"] == [sorted([first.strip(), second.strip()])]
            or len(applied["clusters"]) == 1
        )
    for db in (a, b, a):
        run(db, "sync", str(hub))
    lists = [json.loads(run(db, "household", "list", "--json")) for db in (a, b)]
    assert (
        [h["id"] for h in lists[0]]
        == [h["id"] for h in lists[1]]
        == [min(first.strip(), second.strip())]
    )
    merges = json.loads(run(b, "dedup", "merges", "--json"))
    assert len(merges) == 2
    said = "".join(run(b, "dedup", "undo", merges[0]["id"]).split())  # unwrapped
    assert "另外1次合并" in said and merges[1]["id"] in said
    for db in (b, a):
        run(db, "sync", str(hub))
    assert len(json.loads(run(a, "household", "list", "--json"))) == 2
