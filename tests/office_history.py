"""A small office's history, for tests that compare two ways of making a
replica: two laptops with concurrent edits (a conflict), a deletion, a merge
of duplicates and an edit stamped a year ahead (held), synced."""

from __future__ import annotations

from pathlib import Path

from visitlog import clock
from visitlog.dedup import merges as dedup_merge
from visitlog.model import Household, Item, Kind, Visit
from visitlog.store import Store
from visitlog.sync import list_conflicts, sync_with

YEAR_MS = 365 * 24 * 3600 * 1000


def visit_with(hid: str, date: str, who: str, item: str | None = None) -> Visit:
    items = [Item.from_spec(Kind.DEMAND, item)] if item else []
    return Visit(household_id=hid, visit_date=date, visitor=who, items=items)


def office(tmp_path: Path) -> tuple[Store, Store]:
    """Two laptops with a history: concurrent edits (a conflict), a deletion,
    a merge of duplicates, an edit stamped a year ahead (held), synced."""
    a, b = Store(tmp_path / "a.db"), Store(tmp_path / "b.db")
    a.init_identity("社工甲", "laptop-a")
    b.init_identity("社工乙", "laptop-b")
    hs = [
        a.add_household(Household(address=f"曹杨一村{k}号101室", micro_grid="一网格", head="张三"))
        for k in range(1, 5)
    ]
    visits = [a.add_visit(visit_with(h.id, "2026-10-01", "社工甲", "其他:加装扶手")) for h in hs]
    sync_with(b, a.path)
    a.update_household(hs[0].id, note="独居老人")
    b.update_household(hs[0].id, note="子女同住")  # concurrent: a conflict
    b.delete_visit(visits[1].id)
    b.add_visit(visit_with(hs[2].id, "2026-10-05", "社工乙", "环境卫生:楼道堆物"))
    dedup_merge.merge(a, [hs[2].id, hs[3].id], kind="households")
    real = clock.wall_ms
    clock.wall_ms = lambda: real() + YEAR_MS
    try:
        a.edit_visit(visits[0].id, summary="一年后的日期")
    finally:
        clock.wall_ms = real
    sync_with(a, b.path)
    assert list_conflicts(a)
    return a, b
