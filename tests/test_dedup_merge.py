"""Merging duplicates and undoing merges: survivors, where rows live, exact restore, errors."""

from __future__ import annotations

import pytest

from visitlog import dedup
from visitlog.dedup import merges as dedup_merge
from visitlog.model import Household, Item, NotFoundError, ValidationError, Visit, VisitlogError

BOOKKEEPING = {"hlc", "device", "stamps", "log_seq"}


def content(store) -> dict[str, list[dict]]:
    """Every column of the domain tables except the sync bookkeeping that advances."""
    out = {}
    for tbl in ("households", "visits", "items"):
        rows = store.query(f"SELECT * FROM {tbl} ORDER BY id")
        out[tbl] = [{k: v for k, v in dict(r).items() if k not in BOOKKEEPING} for r in rows]
    return out


def add(store, address, head=None, phone=None, members=None, tags=None, note=None, hid=None) -> str:
    return store.add_household(
        Household(
            id=hid,
            address=address,
            micro_grid="曹杨一村1号网格",
            head=head,
            phone=phone,
            members=members,
            tags=tags or [],
            note=note,
        )
    ).id


def visit(
    store, hid, date="2026-03-18", summary="家中一切正常。", items=(), visitor="陈静", vid=None
):
    return store.add_visit(
        Visit(
            id=vid,
            household_id=hid,
            visit_date=date,
            visitor=visitor,
            summary=summary,
            items=[Item(kind=k, category=c, description=d) for k, c, d in items],
        )
    ).id


def messy_demo(store) -> dict[str, str]:
    """Copies of three demo households, with visits and items of their own."""
    made = {}
    for n, h in enumerate(store.list_households()[:3]):
        copy = add(store, h.address.replace("号", "号楼", 1), h.head, h.phone, h.members)
        visit(
            store,
            copy,
            date="2026-11-20",
            items=[("问题", "房屋修缮", f"卫生间漏水 {n}")],
        )
        made[h.id] = copy
    return made


def test_apply_then_undo_restores_the_database_exactly(demo_store):
    copies = messy_demo(demo_store)
    h = demo_store.list_households()[5].id
    visit(demo_store, h, "2026-11-21", "反映楼道灯不亮。", [("问题", "公共设施", "楼道灯不亮")])
    visit(demo_store, h, "2026-11-21", "反映楼道灯不亮", [("问题", "公共设施", "楼道灯不亮。")])
    before = content(demo_store)
    result = dedup.find_households(demo_store)
    for original, copy in copies.items():
        assert any(original in c and copy in c for c in result.clusters)
    merges = dedup_merge.apply(demo_store, result)
    visit_merges = dedup_merge.apply(demo_store, dedup.find_visits(demo_store))
    assert len(merges) == len(result.clusters) and visit_merges
    middle = content(demo_store)
    assert middle != before
    for mid in reversed(merges + visit_merges):
        dedup_merge.undo(demo_store, mid)
    assert content(demo_store) == before
    assert demo_store.check() == []


def test_merge_keeps_the_smallest_id_with_the_richest_values(store):
    poor = add(store, "曹杨1村12-301", "王建国", None, None, ["高龄"], "老伴住院", "h-0001")
    rich = add(store, "曹杨一村12号301室", "王建国", "13812345678", 2, ["独居老人"], hid="h-0002")
    v_rich = visit(store, rich, items=[("需求", "养老助餐助医", "希望上门量血压")])
    mid = dedup_merge.merge(store, [rich, poor])
    # The survivor is the smallest id, whichever laptop merges; it shows the
    # richest record's values and takes what only the other knew.
    survivor = store.get_household(poor)
    assert survivor.address == "曹杨一村12号301室"
    assert survivor.note == "老伴住院"
    assert survivor.tags == ["独居老人", "高龄"]
    assert survivor.phone == "13812345678" and survivor.members == 2
    merged = store.query("SELECT merged_into, deleted FROM households WHERE id = ?", [rich])[0]
    assert merged["merged_into"] == poor and merged["deleted"] == 0  # stays as a row
    # The visit lives on the survivor, but still records where it was made.
    assert store.get_visit(v_rich).household_id == poor
    assert {i.household_id for i in store.get_visit(v_rich).items} == {poor}
    assert store.scalar("SELECT household_id FROM visits WHERE id = ?", [v_rich]) == rich
    assert [v.id for v in store.list_visits(household=poor)] == [v_rich]
    assert [h.id for h in store.list_households()] == [poor]
    record = dedup_merge.get_merge(store, mid)
    assert record["survivor"] == poor and record["members"] == [rich]
    assert set(record["changes"]) == {"households"}
    assert record["changes"]["households"][poor]["phone"] == [None, "13812345678"]
    assert store.audit_entries(1)[0]["action"] == "dedup.merge"
    dedup_merge.undo(store, mid)
    assert store.get_visit(v_rich).household_id == rich
    assert store.get_household(poor).phone is None


def test_a_field_edited_after_the_merge_keeps_its_new_value_on_undo(store):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678", hid="h-0001")
    b = add(store, "曹杨1村12-301", None, None, 3, hid="h-0002")
    mid = dedup_merge.merge(store, [a, b])
    assert store.get_household(a).members == 3
    store.update_household(a, members=4)
    result = dedup_merge.undo(store, mid)
    assert result["skipped"] == [f"households.{a}.members"]
    assert store.get_household(a).members == 4
    assert store.get_household(b).merged_into is None


def test_undo_twice_is_refused(store):
    a = add(store, "曹杨一村12号301室", "王建国")
    b = add(store, "曹杨1村12-301", "王建国")
    mid = dedup_merge.merge(store, [a, b])
    dedup_merge.undo(store, mid[-8:])
    with pytest.raises(VisitlogError, match="已经撤销"):
        dedup_merge.undo(store, mid)


@pytest.mark.parametrize("order", ["first", "second"])
def test_merges_of_one_cluster_undo_in_any_order(store, order):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678", 2, hid="h-0001")
    b = add(store, "曹杨1村12-301", "王建国", hid="h-0002")
    c = add(store, "曹杨一村12号楼301室", "王建国", "13812345678", 2, note="c", hid="h-0003")
    first = dedup_merge.merge(store, [a, b])
    second = dedup_merge.merge(store, [a, c])
    assert store.get_household(b).merged_into == a == store.get_household(c).merged_into
    assert [h.id for h in store.list_households()] == [a]
    one, other = (first, second) if order == "first" else (second, first)
    dedup_merge.undo(store, one)
    apart = b if one == first else c
    assert store.get_household(apart).merged_into is None
    assert len(store.list_households()) == 2
    dedup_merge.undo(store, other)
    assert len(store.list_households()) == 3
    assert store.get_household(a).note is None
    assert store.check() == []


def test_unknown_merge_id_is_refused(store):
    with pytest.raises(NotFoundError, match="合并记录"):
        dedup_merge.undo(store, "nonexistent")


def test_merging_a_record_already_merged_changes_nothing(store):
    a = add(store, "曹杨一村12号301室", "王建国")
    b = add(store, "曹杨1村12-301", "王建国")
    c = add(store, "曹杨一村12号楼301室", "王建国")
    dedup_merge.merge(store, [a, b])
    changes = store.scalar("SELECT count(*) FROM change_log")
    before = content(store)
    merged = a if store.get_household(a).merged_into else b
    with pytest.raises(VisitlogError, match="已合并"):
        dedup_merge.merge(store, [c, merged])
    assert store.scalar("SELECT count(*) FROM change_log") == changes
    assert content(store) == before


def test_merge_refuses_bad_groups(store):
    a = add(store, "曹杨一村12号301室", "王建国")
    v = visit(store, a)
    with pytest.raises(ValidationError):
        dedup_merge.merge(store, [a])
    with pytest.raises(ValidationError):
        dedup_merge.merge(store, [a, a])
    with pytest.raises(ValidationError, match="不是同一类"):
        dedup_merge.merge(store, [a, v])
    with pytest.raises(NotFoundError):
        dedup_merge.merge(store, [a, "no-such-household"])


def test_visit_merge_folds_duplicate_items_and_moves_the_rest(store):
    h = add(store, "曹杨一村12号301室", "王建国")
    a = visit(
        store, h, summary="反映卫生间漏水。", items=[("问题", "房屋修缮", "卫生间漏水")], vid="v-01"
    )
    b = visit(
        store,
        h,
        summary="反映卫生间漏水",
        items=[("问题", "房屋修缮", "卫生间漏水。"), ("需求", "医疗", "家庭医生签约")],
        vid="v-02",
    )
    twin = store.get_visit(b).items[0]
    store.update_item(twin.id, status="办理中", owner="物业王经理")
    # One more item on one side: listed for review, merged by the worker.
    listed = dedup.find_visits(store)
    assert listed.clusters == [] and len(listed.pairs) == 1
    before = content(store)
    mid = dedup_merge.merge(store, [a, b], score=listed.pairs[0].score)
    survivor = store.get_visit(a)  # the smallest id, showing the richer copy (more items)
    assert survivor.summary == "反映卫生间漏水"
    assert {i.description for i in survivor.items} == {"卫生间漏水。", "家庭医生签约"}
    assert survivor.items[0].status == "办理中"
    merged = store.query("SELECT merged_into FROM visits WHERE id = ?", [b])[0]
    assert merged["merged_into"] == a
    assert [v.id for v in store.list_visits()] == [a]
    # The survivor's own item, the same problem, is the richer copy's twin:
    # hidden while the merge holds, not deleted.
    folded = store.query("SELECT deleted, live_visit FROM items WHERE visit_id = ?", [a])
    assert [(r["deleted"], r["live_visit"]) for r in folded] == [(0, None)]
    assert len(store.list_items()) == 2
    dedup_merge.undo(store, mid)
    assert content(store) == before


def test_apply_merges_all_clusters_in_one_transaction(store, monkeypatch):
    for n in range(3):
        add(store, f"曹杨一村{n + 1}号101室", f"王建{n}", f"1381234567{n}")
        add(store, f"曹杨1村{n + 1}-101", f"王建{n}", f"1381234567{n}")
    result = dedup.find_households(store)
    assert len(result.clusters) == 3
    before = content(store)
    real = dedup_merge._merge_in
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk unplugged")
        return real(*args, **kwargs)

    monkeypatch.setattr(dedup_merge, "_merge_in", failing)
    with pytest.raises(OSError):
        dedup_merge.apply(store, result)
    assert content(store) == before  # the first cluster's merge was rolled back too
    monkeypatch.setattr(dedup_merge, "_merge_in", real)
    merges = dedup_merge.apply(store, result)
    assert len(merges) == 3
    assert {r["id"] for r in dedup_merge.list_merges(store, "households")} == set(merges)
    assert len(store.list_households()) == 3
