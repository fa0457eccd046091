"""Merges, undos and "not a duplicate" decisions travel to other replicas by sync."""

from __future__ import annotations

import time

from visitlog import dedup
from visitlog.dedup import merges as dedup_merge
from visitlog.model import SYNCED_FIELDS, Household, Item, Visit
from visitlog.store import Store
from visitlog.sync import sync_with

DOMAIN = ("households", "visits", "items", "dedup_merges", "dedup_decisions")


def content(store) -> dict[str, list[dict]]:
    out = {}
    for tbl in DOMAIN:
        cols = ", ".join(("id", *SYNCED_FIELDS[tbl]))
        out[tbl] = [dict(r) for r in store.query(f"SELECT {cols} FROM {tbl} ORDER BY id")]
    return out


def _replicas(tmp_path) -> tuple[Store, Store, dict[str, str]]:
    a = Store(tmp_path / "a.db")
    a.init_identity("王丽华", "laptop-a")
    ids = {
        "x": a.add_household(
            Household(
                address="曹杨一村12号301室", micro_grid="g", head="王建国", phone="13812345678"
            )
        ).id,
        "y": a.add_household(
            Household(address="曹杨1村12-301", micro_grid="g", head="王建国", members=2)
        ).id,
    }
    ids["v"] = a.add_visit(
        Visit(
            household_id=ids["y"],
            visit_date="2026-03-18",
            visitor="陈静",
            items=[Item(kind="问题", category="房屋修缮", description="卫生间漏水")],
        )
    ).id
    sync_with(a, tmp_path / "b.db")
    b = Store(tmp_path / "b.db")
    b.init_identity("陈静", "laptop-b")
    return a, b, ids


def test_every_dedup_table_is_synced():
    assert {"dedup_merges", "dedup_decisions"} <= set(SYNCED_FIELDS)


def test_a_merge_made_on_one_replica_appears_on_another(tmp_path):
    a, b, ids = _replicas(tmp_path)
    (mid,) = dedup_merge.apply(a, dedup.find_households(a))
    report = sync_with(a, tmp_path / "b.db")
    assert report.sent["dedup_merges"] == 1 and report.sent["households"] >= 1
    assert content(b) == content(a)
    merged = b.query("SELECT merged_into FROM households WHERE merged_into IS NOT NULL")
    assert len(merged) == 1
    survivor = merged[0]["merged_into"]
    assert b.get_visit(ids["v"]).household_id == survivor
    assert [h.id for h in b.list_households()] == [survivor]
    assert dedup_merge.get_merge(b, mid)["survivor"] == survivor
    assert dedup.find_households(b).clusters == []

    # Undone on the other laptop: the undo syncs back like any change.
    dedup_merge.undo(b, mid)
    sync_with(b, tmp_path / "a.db")
    assert content(a) == content(b)
    assert len(a.list_households()) == 2
    assert a.get_visit(ids["v"]).household_id == ids["y"]
    assert dedup_merge.get_merge(a, mid)["undone"] == 1


def test_the_same_decision_on_two_replicas_converges(tmp_path):
    a, b, ids = _replicas(tmp_path)
    on_a = dedup_merge.mark_distinct(a, ids["x"], ids["y"], note="父子同名")
    on_b = dedup_merge.mark_distinct(b, ids["y"], ids["x"])
    assert on_a["id"] == on_b["id"]
    sync_with(a, tmp_path / "b.db")
    sync_with(b, tmp_path / "a.db")
    for s in (a, b):
        assert s.scalar("SELECT count(*) FROM dedup_decisions") == 1
        assert dedup.find_households(s).clusters == []
    assert content(a)["dedup_decisions"] == content(b)["dedup_decisions"]
    # Once converged, syncing again moves nothing.
    again = sync_with(a, tmp_path / "b.db")
    assert not any(again.sent.values()) and not any(again.received.values())


def test_an_item_twinned_by_two_merges_is_hidden_alike_everywhere(tmp_path):
    # Two laptops merge overlapping copies of a visit, each keeping another
    # copy's item; one of those is then deleted.  Both replicas hold the same
    # merge records (in opposite orders) and must hide the same items.
    a = Store(tmp_path / "a.db")
    a.init_identity("王丽华", "laptop-a")
    hid = a.add_household(Household(address="曹杨一村12号301室", micro_grid="g")).id
    leak = [Item(kind="问题", category="房屋修缮", description="卫生间漏水")]
    ids = []
    for s in ("", "漏水", "反映卫生间漏水很久"):
        visit = Visit(
            household_id=hid, visit_date="2026-03-18", visitor="陈静", summary=s, items=leak
        )
        ids.append(a.add_visit(visit).id)
        # Ids of one millisecond are in random order; a later one sorts after.
        time.sleep(0.002)
    v1, v2, v3 = ids
    assert v1 < v2 < v3
    sync_with(a, tmp_path / "b.db")
    b = Store(tmp_path / "b.db")
    b.init_identity("陈静", "laptop-b")
    items = {r["visit_id"]: r["id"] for r in a.query("SELECT id, visit_id FROM items")}

    a.delete_visit(v3)
    dedup_merge.merge(a, [v1, v2])  # keeps v2's item: v1's is its twin
    dedup_merge.merge(b, [v1, v3])  # keeps v3's item: v1's is its twin
    for _ in range(2):
        sync_with(a, tmp_path / "b.db")

    def shown(s: Store) -> list[tuple[str, str | None]]:
        rows = s.query("SELECT id, live_visit FROM items ORDER BY id")
        return [(r["id"], r["live_visit"]) for r in rows]

    assert shown(a) == shown(b)
    # v1's item is hidden: one of its twins (v2's) is not deleted, and shows
    # on the visit the copies became (a merge's survivor is its smallest id).
    survivor = a.scalar("SELECT id FROM visits WHERE merged_into IS NULL AND deleted = 0")
    assert survivor == v1
    assert dict(shown(a))[items[v1]] is None
    assert dict(shown(a))[items[v2]] == v1


def test_two_laptops_keeping_each_others_item_still_show_one_of_them(tmp_path):
    # One laptop merges v1 and v2 keeping v2's item; the other, where v1 was
    # made richer first, merges the same pair keeping v1's item.  Each item
    # then names the other as the one kept: one of them must still be shown,
    # the same one everywhere (the item is never lost from view).
    a = Store(tmp_path / "a.db")
    a.init_identity("王丽华", "laptop-a")
    hid = a.add_household(Household(address="曹杨一村12号301室", micro_grid="g")).id
    leak = [Item(kind="问题", category="房屋修缮", description="卫生间漏水")]
    v1, v2 = (
        a.add_visit(
            Visit(household_id=hid, visit_date="2026-03-18", visitor="陈静", summary=s, items=leak)
        ).id
        for s in ("", "漏水")
    )
    sync_with(a, tmp_path / "b.db")
    b = Store(tmp_path / "b.db")
    b.init_identity("陈静", "laptop-b")
    items = {r["visit_id"]: r["id"] for r in a.query("SELECT id, visit_id FROM items")}

    b.edit_visit(v1, summary="反映卫生间漏水很久，楼下也受影响")
    dedup_merge.merge(a, [v1, v2])
    dedup_merge.merge(b, [v1, v2])
    for _ in range(2):
        sync_with(a, tmp_path / "b.db")

    def shown(s: Store) -> dict[str, str | None]:
        return {r["id"]: r["live_visit"] for r in s.query("SELECT id, live_visit FROM items")}

    assert shown(a) == shown(b)
    twins = [shown(a)[items[v1]], shown(a)[items[v2]]]
    assert sum(v is not None for v in twins) == 1
    assert len(a.list_items()) == 1 == len(b.list_items())
