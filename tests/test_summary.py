"""The grid summary's figures, checked against a brute-force count of the rows.

Datasets are built through the Store API (households, visits with items,
item updates, tombstones and merges through a transaction); the expected
figures are computed here in plain Python from the stored rows, following
DOMAIN.md's definitions, independently of summary.py's SQL.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from visitlog.dedup import merges as dedup_merge
from visitlog.model import (
    Category,
    Household,
    Item,
    Kind,
    Mode,
    Occupancy,
    Outcome,
    Satisfaction,
    Tag,
    ValidationError,
    Visit,
)
from visitlog.store import Store
from visitlog.summary import compute_summary, resolve_period

D0 = dt.date(2025, 1, 1)
GRIDS = [
    ("甲居民区", "甲1号网格"),
    ("甲居民区", "甲2号网格"),
    ("乙居民区", "乙1号网格"),
    (None, "丙网格"),
]
VISITORS = ["陈静", "李晓燕", "张敏"]
CLOSED = {"已办结", "已反馈", "无法解决"}
OPEN = {"待办", "办理中"}
RATED = {"满意", "基本满意", "不满意"}


# -- brute force -----------------------------------------------------------------------


def _rows(store: Store, table: str) -> list[dict[str, Any]]:
    return [dict(r) for r in store.query(f"SELECT * FROM {table}")]


def _mark_merged(store: Store, table: str, row_id: str, into: str) -> None:
    """Set the derived ``merged_into`` as merges do (visitlog.store.clusters), without
    a merge record: the summary reads only the columns, whatever shape they take."""
    store.conn.execute(f"UPDATE {table} SET merged_into = ? WHERE id = ?", [into, row_id])


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def brute_force(
    store: Store, by: str, start: dt.date, end: dt.date, today: dt.date, grid: str | None = None
) -> dict[Any, dict[str, Any]]:
    """Every metric per group, by looping over the rows (the slow, obvious way)."""
    f, t_ = start.isoformat(), end.isoformat()
    cutoff = min(end, today).isoformat()
    households = [h for h in _rows(store, "households") if grid is None or h["micro_grid"] == grid]
    visits, items = _rows(store, "visits"), _rows(store, "items")
    by_id = {h["id"]: h for h in households}
    visit_by_id = {v["id"]: v for v in visits}

    def key(h: dict[str, Any]) -> Any:
        if by == "micro-grid":
            return (h["community"], h["micro_grid"])
        if by == "community":
            return h["community"]
        return "street"

    def live(h: dict[str, Any]) -> bool:
        return not h["deleted"] and h["merged_into"] is None

    def live_visit(v: dict[str, Any]) -> bool:
        return not v["deleted"] and v["merged_into"] is None

    out: dict[Any, dict[str, Any]] = {}
    for h in households:
        out.setdefault(key(h), {"hh": [], "visits": [], "items": [], "merged_v": 0, "merged_h": 0})
        if h["merged_into"] is not None:
            out[key(h)]["merged_h"] += 1
    for v in visits:
        h = by_id.get(v["live_household"])
        if h is None:
            continue
        if v["merged_into"] is not None:
            out[key(h)]["merged_v"] += 1
        if live_visit(v) and live(h) and f <= v["visit_date"] <= t_:
            out[key(h)]["visits"].append(v)
    for i in items:
        h = by_id.get(i["live_household"])
        v = visit_by_id.get(i["live_visit"])
        if h is None or v is None or i["deleted"] or not live_visit(v) or not live(h):
            continue
        if i["raised_date"] and f <= i["raised_date"] <= t_:
            out[key(h)]["items"].append(i)
    for h in households:
        if live(h):
            out[key(h)]["hh"].append(h)

    result = {}
    for k, g in out.items():
        met = {v["live_household"] for v in g["visits"] if v["outcome"] == "见面"}
        due = [h for h in g["hh"] if h["occupancy"] != "空置"]
        visited = [h for h in due if h["id"] in met]
        reasons = dict.fromkeys(["拒访", "不在家", "已搬离", "未走访"], 0)
        for h in due:
            if h["id"] in met:
                continue
            outcomes = {v["outcome"] for v in g["visits"] if v["live_household"] == h["id"]}
            for reason in ("拒访", "不在家", "已搬离"):
                if reason in outcomes:
                    reasons[reason] += 1
                    break
            else:
                reasons["未走访"] += 1
        tags = {h["id"]: json.loads(h["tags"]) for h in due}
        key_due = [h for h in due if tags[h["id"]]]
        key_groups = {}
        for tag in Tag.choices():
            with_tag = [h for h in due if tag in tags[h["id"]]]
            seen = [h for h in with_tag if h["id"] in met]
            key_groups[tag] = {
                "households": len(with_tag),
                "visited": len(seen),
                "coverage": _ratio(len(seen), len(with_tag)),
            }
        its = g["items"]
        closed = [i for i in its if i["status"] in CLOSED]
        with_deadline = [i for i in closed if i["deadline"]]
        on_time = [
            i for i in with_deadline if i["closed_date"] and i["closed_date"] <= i["deadline"]
        ]
        dated = [i for i in closed if i["closed_date"] and i["raised_date"]]
        day_total = sum(
            (dt.date.fromisoformat(i["closed_date"]) - dt.date.fromisoformat(i["raised_date"])).days
            for i in dated
        )
        sat = {s: sum(1 for i in its if i["satisfaction"] == s) for s in RATED}
        rated = sum(sat.values())
        satisfied = sat["满意"] + sat["基本满意"]
        by_category = {c: sum(1 for i in its if i["category"] == c) for c in Category.choices()}
        result[k] = {
            "households": len(due),
            "live_households": len(g["hh"]),
            "vacant_households": sum(1 for h in g["hh"] if h["occupancy"] == "空置"),
            "visited_households": len(visited),
            "coverage": _ratio(len(visited), len(due)),
            "still_due": len(due) - len(visited),
            "still_due_reasons": reasons,
            "visits": len(g["visits"]),
            "visits_by_mode": {
                m: sum(1 for v in g["visits"] if v["mode"] == m) for m in Mode.choices()
            },
            "visits_by_outcome": {
                o: sum(1 for v in g["visits"] if v["outcome"] == o) for o in Outcome.choices()
            },
            "active_visitors": len({v["visitor"] for v in g["visits"]}),
            "key_households": len(key_due),
            "key_visited": sum(1 for h in key_due if h["id"] in met),
            "key_coverage": _ratio(sum(1 for h in key_due if h["id"] in met), len(key_due)),
            "key_groups": key_groups,
            "items_total": len(its),
            "items": {kd: sum(1 for i in its if i["kind"] == kd) for kd in Kind.choices()},
            "items_by_category": by_category,
            "open_items": sum(1 for i in its if i["status"] in OPEN),
            "closed_items": len(closed),
            "closure_rate": _ratio(len(closed), len(its)),
            "on_spot_items": sum(1 for i in closed if i["closed_date"] == i["raised_date"]),
            "on_spot_rate": _ratio(
                sum(1 for i in closed if i["closed_date"] == i["raised_date"]), len(its)
            ),
            "closed_with_deadline": len(with_deadline),
            "on_time_items": len(on_time),
            "on_time_rate": _ratio(len(on_time), len(with_deadline)),
            "overdue_items": sum(
                1 for i in its if i["status"] in OPEN and i["deadline"] and i["deadline"] < cutoff
            ),
            "closed_with_dates": len(dated),
            "avg_days_to_close": _ratio(day_total, len(dated)),
            "fed_back_items": sum(1 for i in closed if i["status"] == "已反馈"),
            "feedback_rate": _ratio(sum(1 for i in closed if i["status"] == "已反馈"), len(closed)),
            "satisfaction": {**sat, "未评": len(its) - rated},
            "rated_items": rated,
            "satisfied_items": satisfied,
            "satisfaction_rate": _ratio(satisfied, rated),
            "merged_households": g["merged_h"],
            "merged_visits": g["merged_v"],
            "top": sorted(
                ((c, n) for c, n in by_category.items() if n),
                key=lambda cn: (-cn[1], Category.choices().index(cn[0])),
            )[:3],
        }
    return result


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, float) or isinstance(actual, float):
        return actual == pytest.approx(expected)
    if isinstance(expected, dict):
        return all(_same(actual.get(k), v) for k, v in expected.items())
    return actual == expected


def assert_matches(store: Store, start: dt.date, end: dt.date, today: dt.date, grid=None):
    """compute_summary equals the brute force at every level, totals included."""
    for by, level_key in (
        ("micro-grid", "micro_grid"),
        ("community", "community"),
        ("street", "street"),
    ):
        summary = compute_summary(
            store, by=by, date_from=start, date_to=end, today=today, grid=grid
        ).to_json()
        expected = brute_force(store, by, start, end, today, grid)
        got = {}
        for g in summary["groups"]:
            k = (
                (g["community"], g["micro_grid"])
                if by == "micro-grid"
                else g[level_key]
                if by == "community"
                else "street"
            )
            got[k] = g
        assert set(got) == set(expected), by
        for k, exp in expected.items():
            top = exp.pop("top")
            assert [(c["category"], c["count"]) for c in got[k]["top_categories"]] == top
            for name, value in exp.items():
                assert _same(got[k][name], value), (by, k, name, got[k][name], value)
        # The totals are the street, whatever the level.
        street = brute_force(store, "street", start, end, today, grid).get("street")
        if street:
            street.pop("top")
            for name, value in street.items():
                assert _same(summary["totals"][name], value), ("totals", name)


# -- building datasets through the Store ---------------------------------------------------


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated database, copied for each generated dataset."""
    path = tmp_path_factory.mktemp("template") / "empty.db"
    s = Store(path)
    s.init_identity("王丽华", "laptop-1")
    s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    return path


def _day(n: int) -> str:
    return (D0 + dt.timedelta(days=n)).isoformat()


household_st = st.fixed_dictionaries(
    {
        "grid": st.integers(0, len(GRIDS) - 1),
        "occupancy": st.sampled_from(Occupancy.choices()),
        "tags": st.lists(st.sampled_from(Tag.choices()), max_size=3, unique=True),
        "fate": st.sampled_from(["live"] * 6 + ["deleted", "merged"]),
    }
)
item_st = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(Kind.choices()),
        "category": st.sampled_from(Category.choices()),
        "deadline": st.one_of(st.none(), st.integers(-3, 40)),
        "status": st.sampled_from(["待办", "办理中", "已办结", "已反馈", "无法解决"]),
        "closed_after": st.integers(0, 30),
        "satisfaction": st.one_of(st.none(), st.sampled_from(Satisfaction.choices())),
    }
)
visit_st = st.fixed_dictionaries(
    {
        "household": st.integers(0, 30),
        "day": st.integers(0, 240),
        "visitor": st.sampled_from(VISITORS),
        "mode": st.sampled_from(Mode.choices()),
        "outcome": st.sampled_from(Outcome.choices()),
        "items": st.lists(item_st, max_size=2),
        "fate": st.sampled_from(["live"] * 8 + ["deleted", "merged"]),
    }
)
dataset_st = st.fixed_dictionaries(
    {
        "households": st.lists(household_st, min_size=1, max_size=6),
        "visits": st.lists(visit_st, min_size=1, max_size=20),
        # Mostly periods that hold many of the visits, sometimes short ones.
        "start": st.integers(0, 120),
        "length": st.one_of(st.integers(60, 240), st.integers(0, 30)),
        "today": st.integers(0, 364),
    }
)


def build(store: Store, data: dict[str, Any]) -> None:
    """Make the dataset through the Store, then tombstone and merge some records."""
    ids = []
    for n, h in enumerate(data["households"]):
        community, grid = GRIDS[h["grid"]]
        ids.append(
            store.add_household(
                Household(
                    address=f"曹杨一村{n + 1}号101室",
                    micro_grid=grid,
                    community=community,
                    head=f"测试{n}",
                    occupancy=h["occupancy"],
                    tags=h["tags"],
                )
            ).id
        )
    visit_ids = []
    for v in data["visits"]:
        hid = ids[v["household"] % len(ids)]
        items = [
            Item(
                kind=i["kind"],
                category=i["category"],
                description="楼道灯不亮",
                deadline=_day(v["day"] + i["deadline"]) if i["deadline"] is not None else None,
                satisfaction=i["satisfaction"],
            )
            for i in v["items"]
        ]
        visit = store.add_visit(
            Visit(
                household_id=hid,
                visit_date=_day(v["day"]),
                visitor=v["visitor"],
                mode=v["mode"],
                outcome=v["outcome"],
                items=items,
            )
        )
        visit_ids.append(visit.id)
        for spec, item in zip(v["items"], visit.items, strict=True):
            if spec["status"] != "待办":
                store.update_item(
                    item.id,
                    status=spec["status"],
                    note="已说明" if spec["status"] == "无法解决" else None,
                    today=D0 + dt.timedelta(days=v["day"] + spec["closed_after"]),
                )
    with store.transaction() as tx:
        for h, hid in zip(data["households"], ids, strict=True):
            if h["fate"] == "deleted":
                tx.update("households", hid, {"deleted": 1})
        for v, vid in zip(data["visits"], visit_ids, strict=True):
            if v["fate"] == "deleted":
                tx.update("visits", vid, {"deleted": 1})
    for n, h in enumerate(data["households"]):
        if h["fate"] == "merged":
            _mark_merged(store, "households", ids[n], ids[(n + 1) % len(ids)])
    for n, v in enumerate(data["visits"]):
        if v["fate"] == "merged":
            _mark_merged(store, "visits", visit_ids[n], visit_ids[(n + 1) % len(visit_ids)])


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=dataset_st)
def test_every_metric_matches_a_brute_force_count(template_db: Path, data: dict[str, Any]):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.db"
        shutil.copy(template_db, path)
        store = Store(path)
        try:
            build(store, data)
            start = D0 + dt.timedelta(days=data["start"])
            end = start + dt.timedelta(days=data["length"])
            today = D0 + dt.timedelta(days=data["today"])
            expected = brute_force(store, "street", start, end, today)
            for reason, n in expected.get("street", {}).get("still_due_reasons", {}).items():
                event(f"still due: {reason}" if n else "none")
            assert_matches(store, start, end, today)
            grid = GRIDS[data["households"][0]["grid"]][1]
            assert_matches(store, start, end, today, grid=grid)
        finally:
            store.close()


# -- edge cases --------------------------------------------------------------------------


PERIOD = (dt.date(2025, 3, 1), dt.date(2025, 6, 30))
TODAY = dt.date(2025, 7, 15)


def _summary(store: Store, by: str = "micro-grid", **kw: Any) -> dict[str, Any]:
    kw.setdefault("date_from", PERIOD[0])
    kw.setdefault("date_to", PERIOD[1])
    kw.setdefault("today", TODAY)
    return compute_summary(store, by=by, **kw).to_json()


_numbers = iter(range(1, 1_000_000))


def _add(store: Store, grid: str = "甲1号网格", **kw: Any) -> str:
    kw.setdefault("address", f"曹杨一村{next(_numbers)}号101室")
    return store.add_household(Household(micro_grid=grid, community="甲居民区", **kw)).id


def test_empty_database_has_no_groups_and_no_division_errors(store: Store):
    out = _summary(store)
    assert out["groups"] == []
    totals = out["totals"]
    assert totals["households"] == 0
    assert totals["coverage"] is None
    assert totals["closure_rate"] is None
    assert totals["satisfaction_rate"] is None
    assert totals["avg_days_to_close"] is None
    assert out["period"] == {"from": "2025-03-01", "to": "2025-06-30"}


def test_a_grid_whose_households_are_all_deleted_shows_zero_and_no_coverage(store: Store):
    gone = _add(store, grid="空网格")
    _add(store, grid="甲1号网格")
    with store.transaction() as tx:
        tx.update("households", gone, {"deleted": 1})
    groups = {g["micro_grid"]: g for g in _summary(store)["groups"]}
    assert groups["空网格"]["households"] == 0
    assert groups["空网格"]["coverage"] is None
    assert groups["甲1号网格"]["households"] == 1
    assert groups["甲1号网格"]["coverage"] == 0.0


def test_vacant_deleted_and_merged_households_are_not_due(store: Store):
    keep = _add(store)
    _add(store, occupancy="空置")
    gone = _add(store)
    dup = _add(store)
    store.add_visit(Visit(household_id=keep, visit_date="2025-04-01", visitor="陈静"))
    store.add_visit(Visit(household_id=dup, visit_date="2025-04-02", visitor="陈静"))
    with store.transaction() as tx:
        tx.update("households", gone, {"deleted": 1})
    dedup_merge.merge(store, [dup, keep])
    totals = _summary(store)["totals"]
    assert totals["live_households"] == 2
    assert totals["vacant_households"] == 1
    assert totals["households"] == 1
    assert totals["visited_households"] == 1
    assert totals["coverage"] == 1.0
    # The merged household's own visit counts for the survivor; the merge is reported.
    assert totals["visits"] == 2
    assert totals["merged_households"] == 1


def test_visits_outside_the_period_and_deleted_or_merged_visits_do_not_count(store: Store):
    hid = _add(store)
    store.add_visit(Visit(household_id=hid, visit_date="2025-02-28", visitor="陈静"))
    store.add_visit(Visit(household_id=hid, visit_date="2025-07-01", visitor="陈静"))
    gone = store.add_visit(Visit(household_id=hid, visit_date="2025-04-01", visitor="陈静"))
    store.delete_visit(gone.id)
    twin = store.add_visit(Visit(household_id=hid, visit_date="2025-04-02", visitor="李晓燕"))
    keep = store.add_visit(
        Visit(household_id=hid, visit_date="2025-03-01", visitor="张敏", outcome="不在家")
    )
    _mark_merged(store, "visits", twin.id, keep.id)
    totals = _summary(store)["totals"]
    assert totals["visits"] == 1  # only the 不在家 visit on the first day of the period
    assert totals["visited_households"] == 0
    assert totals["still_due_reasons"]["不在家"] == 1
    assert totals["active_visitors"] == 1
    assert totals["merged_visits"] == 1


def test_both_ends_of_the_period_are_inclusive(store: Store):
    a, b = _add(store), _add(store)
    store.add_visit(Visit(household_id=a, visit_date="2025-03-01", visitor="陈静"))
    store.add_visit(Visit(household_id=b, visit_date="2025-06-30", visitor="陈静"))
    assert _summary(store)["totals"]["visited_households"] == 2


def test_a_period_with_no_visits_leaves_everyone_due(store: Store):
    hid = _add(store, tags=["独居老人"])
    store.add_visit(Visit(household_id=hid, visit_date="2025-01-10", visitor="陈静"))
    totals = _summary(store)["totals"]
    assert totals["visits"] == 0
    assert totals["coverage"] == 0.0
    assert totals["still_due_reasons"]["未走访"] == 1
    assert totals["key_groups"]["独居老人"] == {"households": 1, "visited": 0, "coverage": 0.0}


def test_no_items_gives_no_item_rates(store: Store):
    hid = _add(store)
    store.add_visit(Visit(household_id=hid, visit_date="2025-04-01", visitor="陈静"))
    totals = _summary(store)["totals"]
    assert totals["items_total"] == 0
    assert totals["items"] == {"问题": 0, "需求": 0, "赋能": 0, "措施": 0}
    for rate in ("closure_rate", "on_spot_rate", "on_time_rate", "feedback_rate"):
        assert totals[rate] is None
    assert totals["top_categories"] == []


def test_item_rates_and_overdue_cut_off(store: Store):
    hid = _add(store)
    v = store.add_visit(
        Visit(
            household_id=hid,
            visit_date="2025-04-01",
            visitor="陈静",
            items=[
                Item(kind="问题", category="物业", description="a", deadline="2025-04-10"),
                Item(kind="问题", category="物业", description="b", deadline="2025-04-10"),
                Item(kind="需求", category="医疗", description="c", deadline="2025-06-29"),
                Item(kind="需求", category="医疗", description="d", deadline="2025-06-30"),
                Item(kind="赋能", category="其他", description="e", satisfaction="满意"),
            ],
        )
    )
    a, b, _c, _d, e = (i.id for i in v.items)
    store.update_item(a, status="已反馈", satisfaction="不满意", today=dt.date(2025, 4, 1))
    store.update_item(b, status="已办结", today=dt.date(2025, 4, 21))
    store.update_item(e, status="无法解决", note="产权问题", today=dt.date(2025, 4, 5))
    totals = _summary(store)["totals"]
    assert totals["items_total"] == 5
    assert totals["closed_items"] == 3 and totals["open_items"] == 2
    assert totals["on_spot_rate"] == pytest.approx(1 / 5)
    assert totals["closure_rate"] == pytest.approx(3 / 5)
    assert totals["on_time_rate"] == pytest.approx(1 / 2)  # a on time, b late; e no deadline
    assert totals["avg_days_to_close"] == pytest.approx((0 + 20 + 4) / 3)
    assert totals["feedback_rate"] == pytest.approx(1 / 3)
    assert totals["satisfaction_rate"] == pytest.approx(1 / 2)  # 满意 and 不满意 rated
    # The period ends 2025-06-30 before "today": the deadline 06-29 is overdue, 06-30 not.
    assert totals["overdue_items"] == 1
    early = _summary(store, today=dt.date(2025, 6, 1))["totals"]
    assert early["overdue_items"] == 0
    assert [c["category"] for c in totals["top_categories"]] == ["物业", "医疗", "其他"]


def test_roll_ups_add_up_and_recompute_ratios(store: Store):
    for grid, community, n_met in (("甲1号网格", "甲居民区", 1), ("乙1号网格", "乙居民区", 3)):
        for n in range(4):
            hid = store.add_household(
                Household(address=f"{grid}{n}号", micro_grid=grid, community=community)
            ).id
            if n < n_met:
                store.add_visit(Visit(household_id=hid, visit_date="2025-05-01", visitor="陈静"))
    grids = _summary(store)["groups"]
    street = _summary(store, by="street")["groups"]
    assert {g["micro_grid"]: g["coverage"] for g in grids} == {"甲1号网格": 0.25, "乙1号网格": 0.75}
    assert len(street) == 1
    assert street[0]["households"] == 8
    assert street[0]["coverage"] == 0.5  # 4 of 8, not the mean of two ratios by chance
    assert street[0]["active_visitors"] == 1  # one person visited both: counted once
    assert street[0]["street"] == "全部"


def test_street_is_named_from_the_addresses_when_there_is_one(store: Store):
    store.add_household(
        Household(address="上海市普陀区曹杨新村街道曹杨一村1号101室", micro_grid="甲1号网格")
    )
    store.add_household(Household(address="曹杨新村街道曹杨一村2号101室", micro_grid="甲1号网格"))
    assert _summary(store, by="street")["groups"][0]["street"] == "曹杨新村街道"
    store.add_household(Household(address="宜川路街道中山北路1号", micro_grid="乙网格"))
    assert _summary(store, by="street")["street"] == "全部"


def test_households_without_a_community_form_their_own_group(store: Store):
    store.add_household(Household(address="曹杨一村1号", micro_grid="甲1号网格"))
    groups = _summary(store, by="community")["groups"]
    assert [g["community"] for g in groups] == [None]
    assert groups[0]["households"] == 1


def test_grid_filter_and_unknown_grid(store: Store):
    _add(store, grid="甲1号网格")
    _add(store, grid="甲2号网格")
    out = _summary(store, grid="甲2号网格")
    assert [g["micro_grid"] for g in out["groups"]] == ["甲2号网格"]
    assert out["totals"]["households"] == 1
    with pytest.raises(ValidationError, match="没有名为"):
        _summary(store, grid="不存在的网格")


def test_grids_are_in_natural_order(store: Store):
    for name in ("甲10号网格", "甲2号网格", "甲1号网格"):
        _add(store, grid=name)
    assert [g["micro_grid"] for g in _summary(store)["groups"]] == [
        "甲1号网格",
        "甲2号网格",
        "甲10号网格",
    ]


@pytest.mark.parametrize(
    ("date_from", "date_to", "message"),
    [
        ("2025-13-01", None, "不是有效日期"),
        ("昨天", None, "不是有效日期"),
        (None, "2025/02/30", "不是有效日期"),
        ("2025-07-01", "2025-06-30", "晚于"),
    ],
)
def test_bad_periods_are_refused(store: Store, date_from, date_to, message):
    with pytest.raises(ValidationError, match=message):
        compute_summary(store, date_from=date_from, date_to=date_to, today=TODAY)


def test_bad_level_is_refused(store: Store):
    with pytest.raises(ValidationError, match="汇总层级"):
        compute_summary(store, by="building")


def test_default_period_is_the_year_of_the_end_date_up_to_today():
    assert resolve_period(None, None, dt.date(2026, 5, 4)) == (
        dt.date(2026, 1, 1),
        dt.date(2026, 5, 4),
    )
    assert resolve_period(None, "2025-08-31", dt.date(2026, 5, 4)) == (
        dt.date(2025, 1, 1),
        dt.date(2025, 8, 31),
    )


def test_details_list_the_households_still_due_and_the_overdue_items(store: Store):
    met = _add(store, head="张三")
    refused = _add(store, head="李四", phone="13812345678")
    _add(store, head="王五", occupancy="空置")
    store.add_visit(Visit(household_id=met, visit_date="2025-04-01", visitor="陈静"))
    store.add_visit(
        Visit(
            household_id=refused,
            visit_date="2025-04-02",
            visitor="陈静",
            outcome="拒访",
            items=[Item(kind="问题", category="物业", description="门禁坏", deadline="2025-04-09")],
        )
    )
    s = compute_summary(store, date_from=PERIOD[0], date_to=PERIOD[1], today=TODAY, details=True)
    # Dates are dates (a spreadsheet shows them as dates, not text).
    assert [(r["head"], r["reason"], r["last_visit"]) for r in s.still_due_list] == [
        ("李四", "拒访", dt.date(2025, 4, 2))
    ]
    assert [(r["description"], r["days_overdue"], r["deadline"]) for r in s.overdue_list] == [
        ("门禁坏", 82, dt.date(2025, 4, 9))
    ]


def _small_street(store: Store) -> None:
    for n in range(6):
        hid = _add(store, grid=f"甲{n % 2 + 1}号网格", tags=["高龄"] if n % 3 == 0 else [])
        store.add_visit(
            Visit(
                household_id=hid,
                visit_date=f"2025-0{3 + n % 4}-1{n}",
                visitor=VISITORS[n % 3],
                outcome="见面" if n % 2 else "不在家",
                items=[
                    Item(kind="问题", category="物业", description="门禁坏", deadline="2025-05-01")
                ],
            )
        )


def test_parallel_connections_give_the_same_figures(store: Store, monkeypatch):
    """Large databases read on several connections at once; the figures do not change."""
    import visitlog.summary.queries as summary_module

    _small_street(store)
    one = _summary(store)
    monkeypatch.setattr(summary_module, "PARALLEL_FROM_ROWS", 0)
    assert _summary(store) == one
    assert_matches(store, *PERIOD, TODAY)


def test_without_the_summary_indexes_the_figures_are_the_same(store: Store):
    _small_street(store)
    before = _summary(store)
    for name in ("visits_summary", "visits_dead", "households_summary", "items_summary"):
        store.conn.execute(f"DROP INDEX {name}")
    assert _summary(store) == before


def test_a_reader_keeps_the_page_cache_asked_for(store: Store):
    """An encrypted file's summary readers keep 64 MB of pages (a page read
    again from the disk is decrypted again); others keep SQLite's default."""
    with store.reader() as plain, store.reader(4096) as larger:
        default = plain.execute("PRAGMA cache_size").fetchone()[0]
        assert larger.execute("PRAGMA cache_size").fetchone()[0] == -4096 != default
