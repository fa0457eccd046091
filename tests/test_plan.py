"""Visit planning: rule arithmetic at the edges, walking order, the rules, the 按期 figures.

Expected dates and counts are worked out by hand in the comments (or, on the
demo street, by a plain recount over the tables in this file), never by the
code under test.
"""

from __future__ import annotations

import datetime as dt

import pytest

from visitlog.model import Household, Item, Visit
from visitlog.plan import (
    builtin_rules,
    floor_of,
    load_rules,
    make_plan,
    on_time_by_grid,
    parse_rule_key,
    rule_id,
    set_rule,
)
from visitlog.plan.due import ItemFact, VisitFact, household_due
from visitlog.store import Store

D = dt.date
GRID = "曹杨一村1号网格"


def add(store, address: str, tags=(), grid: str = GRID, occupancy: str = "自住", head=None):
    h = Household(
        address=address,
        micro_grid=grid,
        community="曹杨一村居民区",
        tags=list(tags),
        occupancy=occupancy,
        head=head,
    )
    return store.add_household(h).id


def visit(store, hid: str, day: str, outcome: str = "见面", items=(), next_due=None, who="王丽华"):
    v = Visit(
        household_id=hid,
        visit_date=day,
        visitor=who,
        outcome=outcome,
        items=list(items),
        next_due=next_due,
    )
    return store.add_visit(v)


def due_of(store, hid: str, today: D, until: str = "2030-12-31"):
    """(due, [rule, …], overdue_days) of one household on the plan, or None."""
    plan = make_plan(store, until=until, today=today)
    for e in plan.entries:
        if e.household_id == hid:
            return e.due, [r.rule for r in e.reasons], e.overdue_days
    return None


# -- rule arithmetic (pure) ------------------------------------------------------------------


def test_visited_exactly_on_the_interval_is_due_that_day_not_before():
    rules = builtin_rules()
    # met 09-01 and again 10-01 (exactly 30 days on): 独居老人 30 → due 10-01 + 30 = 10-31
    visits = [VisitFact(D(2026, 9, 1), "见面"), VisitFact(D(2026, 10, 1), "见面")]
    due, reasons = household_due(["独居老人"], D(2026, 1, 1), visits, [], rules, D(2026, 11, 1))
    assert due == D(2026, 10, 31)
    assert [(r.rule, r.key, r.days, r.since) for r in reasons] == [
        ("tag", "独居老人", 30, D(2026, 10, 1))
    ]


def test_several_tags_the_shortest_interval_wins_ties_give_both_reasons():
    rules = builtin_rules()
    met = [VisitFact(D(2026, 6, 1), "见面")]
    # 高龄 60, 独居老人 30, 残疾 90 → 06-01 + 30 = 07-01, from 独居老人 alone
    due, reasons = household_due(
        ["高龄", "独居老人", "残疾"], D(2026, 1, 1), met, [], rules, D(2026, 6, 2)
    )
    assert due == D(2026, 7, 1)
    assert [r.key for r in reasons] == ["独居老人"]
    # 纯老家庭 60 and 高龄 60: both give 07-31, both are reasons
    due, reasons = household_due(["纯老家庭", "高龄"], D(2026, 1, 1), met, [], rules, D(2026, 6, 2))
    assert due == D(2026, 7, 31)
    assert sorted(r.key for r in reasons) == ["纯老家庭", "高龄"]
    # no tag: the default 365 → 2027-06-01
    due, reasons = household_due([], D(2026, 1, 1), met, [], rules, D(2026, 6, 2))
    assert (due, [r.rule for r in reasons]) == (D(2027, 6, 1), ["default"])


def test_never_met_is_due_from_registration_and_never_later_than_today():
    rules = builtin_rules()
    due, reasons = household_due(["独居老人"], D(2026, 3, 4), [], [], rules, D(2026, 11, 1))
    assert (due, [r.rule for r in reasons]) == (D(2026, 3, 4), ["never"])
    # registered "after" today (a clock ahead, a synced row): due today
    due, _ = household_due([], D(2026, 12, 9), [], [], rules, D(2026, 11, 1))
    assert due == D(2026, 11, 1)
    # a not-home visit does not make a never-met household less due
    tried = [VisitFact(D(2026, 10, 20), "不在家")]
    due, reasons = household_due([], D(2026, 3, 4), tried, [], rules, D(2026, 11, 1))
    assert (due, [r.rule for r in reasons]) == (D(2026, 3, 4), ["never"])


def test_open_item_of_a_rule_category_is_due_within_seven_days_from_the_later_meeting():
    rules = builtin_rules()
    met = [VisitFact(D(2026, 11, 2), "见面")]
    hazard = ItemFact("问题", "安全隐患", D(2026, 11, 2))
    due, reasons = household_due([], D(2026, 1, 1), met, [hazard], rules, D(2026, 11, 3))
    assert due == D(2026, 11, 9)  # 11-02 + 7
    assert [(r.rule, r.key) for r in reasons] == [("item", "安全隐患")]
    # met again on 11-05 while it is still open: 11-05 + 7 = 11-12
    met.append(VisitFact(D(2026, 11, 5), "见面"))
    due, _ = household_due([], D(2026, 1, 1), met, [hazard], rules, D(2026, 11, 6))
    assert due == D(2026, 11, 12)
    # 物业 has no rule: the default decides (11-05 + 365)
    other = ItemFact("问题", "物业", D(2026, 11, 5))
    due, _ = household_due([], D(2026, 1, 1), met, [other], rules, D(2026, 11, 6))
    assert due == D(2027, 11, 5)


def test_not_home_then_met():
    rules = builtin_rules()
    visits = [VisitFact(D(2026, 6, 1), "见面"), VisitFact(D(2026, 11, 1), "不在家")]
    # 不在家 on 11-01: due again 11-15 (default would be 2027-06-01)
    due, reasons = household_due([], D(2026, 1, 1), visits, [], rules, D(2026, 11, 2))
    assert (due, [(r.rule, r.key) for r in reasons]) == (D(2026, 11, 15), [("outcome", "不在家")])
    # met on 11-10: the attempt before it no longer counts; 11-10 + 365
    visits.append(VisitFact(D(2026, 11, 10), "见面"))
    due, reasons = household_due([], D(2026, 1, 1), visits, [], rules, D(2026, 11, 11))
    assert (due, [r.rule for r in reasons]) == (D(2027, 11, 10), ["default"])
    # 拒访 has no rule by default: the default decides
    refused = [VisitFact(D(2026, 6, 1), "见面"), VisitFact(D(2026, 11, 1), "拒访")]
    due, _ = household_due([], D(2026, 1, 1), refused, [], rules, D(2026, 11, 2))
    assert due == D(2027, 6, 1)


def test_a_visits_next_due_brings_the_date_forward_never_back():
    rules = builtin_rules()
    early = [VisitFact(D(2026, 11, 1), "见面", D(2026, 11, 20))]
    due, reasons = household_due(["独居老人"], D(2026, 1, 1), early, [], rules, D(2026, 11, 2))
    assert (due, [r.rule for r in reasons]) == (D(2026, 11, 20), ["next_due"])
    late = [VisitFact(D(2026, 11, 1), "见面", D(2027, 1, 1))]
    due, reasons = household_due(["独居老人"], D(2026, 1, 1), late, [], rules, D(2026, 11, 2))
    assert (due, [r.rule for r in reasons]) == (D(2026, 12, 1), ["tag"])  # 11-01 + 30


# -- the same edges through the store ---------------------------------------------------------


def test_plan_until_is_inclusive_and_overdue_days_count_from_due(store):
    hid = add(store, "曹杨一村1号101室", ["独居老人"])
    visit(store, hid, "2026-10-01")  # due 10-31
    assert due_of(store, hid, D(2026, 10, 31), until="2026-10-31") == (D(2026, 10, 31), ["tag"], 0)
    assert due_of(store, hid, D(2026, 10, 20), until="2026-10-30") is None
    assert due_of(store, hid, D(2026, 11, 3), until="2026-11-03")[2] == 3


def test_special_item_opened_and_closed(store):
    hid = add(store, "曹杨一村1号102室")
    v = visit(
        store,
        hid,
        "2026-11-02",
        items=[
            Item(kind="问题", category="安全隐患", description="楼道堆物"),
            Item(kind="措施", category="医疗", description="联系社区医生"),  # a 措施: no rule
        ],
    )
    assert due_of(store, hid, D(2026, 11, 3)) == (D(2026, 11, 9), ["item"], -6)
    problem = next(i for i in v.items if i.kind == "问题")
    store.update_item(problem.id, status="办理中")  # still open
    assert due_of(store, hid, D(2026, 11, 3))[0] == D(2026, 11, 9)
    store.update_item(problem.id, status="已办结", today=D(2026, 11, 4))
    assert due_of(store, hid, D(2026, 11, 4)) == (D(2027, 11, 2), ["default"], -363)
    # a 需求 of 医疗 counts like a 问题
    visit(store, hid, "2026-11-05", items=[Item(kind="需求", category="医疗", description="配药")])
    assert due_of(store, hid, D(2026, 11, 6))[:2] == (D(2026, 11, 12), ["item"])


def test_vacant_deleted_and_merged_households_are_never_due(store):
    kept = add(store, "曹杨一村2号101室")
    add(store, "曹杨一村2号102室", occupancy="空置")
    gone = add(store, "曹杨一村2号103室")
    with store.transaction() as tx:
        tx.update("households", gone, {"deleted": 1})
    plan = make_plan(store, until="2030-01-01", today=D(2026, 11, 1))
    assert [e.household_id for e in plan.entries] == [kept]


# -- walking order ---------------------------------------------------------------------------


def test_floor_of_a_room():
    assert [floor_of(r) for r in ("301", "1203", "05", "b2", None, "甲")] == [
        3,
        12,
        0,
        0,
        None,
        None,
    ]


def test_plan_in_walking_order_building_floor_room(store):
    today = D(2026, 11, 1)
    # Written in many ways; all never met, so all are due today (the same date).
    ids = {
        "3-302": add(store, "曹杨一村3号302室"),
        "3-101": add(store, "曹杨1村3号楼101"),
        "3-1203": add(store, "曹杨一村3号1203室"),
        "3-201": Household(address="3-201", micro_grid=GRID, estate="曹杨一村"),
        "10-101": add(store, "曹杨一村10号101室"),
        "2-502": add(store, "曹杨一村2号502室"),
        "2-102": add(store, "曹杨一村二号102室"),
    }
    ids["3-201"] = store.add_household(ids["3-201"]).id
    plan = make_plan(store, grid=GRID, until="2026-11-07", today=today)
    order = {v: k for k, v in ids.items()}
    assert [order[e.household_id] for e in plan.entries] == [
        "2-102", "2-502", "3-101", "3-201", "3-302", "3-1203", "10-101",
    ]  # fmt: skip
    assert [b for b, _ in plan.buildings()] == ["曹杨1村2号", "曹杨1村3号", "曹杨1村10号"]
    # A household of 10号 met long ago: its building is the most overdue and walks first.
    visit(store, ids["10-101"], "2025-01-02")  # due 2026-01-02 (365 days)
    plan = make_plan(store, grid=GRID, until="2026-11-07", today=today)
    assert [b for b, _ in plan.buildings()] == ["曹杨1村10号", "曹杨1村2号", "曹杨1村3号"]
    assert plan.entries[0].overdue_days == (today - D(2026, 1, 2)).days == 303


def test_worker_filter_keeps_households_whose_latest_visit_they_made(store):
    a = add(store, "曹杨一村4号101室")
    b = add(store, "曹杨一村4号102室")
    add(store, "曹杨一村4号103室")  # never visited: in no worker's list
    visit(store, a, "2025-01-05", who="陈静")
    visit(store, b, "2025-01-05", who="陈静")
    visit(store, b, "2025-02-05", who="王丽华")
    plan = make_plan(store, worker="陈静", until="2026-11-07", today=D(2026, 11, 1))
    assert [e.household_id for e in plan.entries] == [a]


# -- rules -----------------------------------------------------------------------------------


def test_rule_names_in_chinese_and_english():
    assert parse_rule_key("默认") == ("default", "")
    assert parse_rule_key("elderly-alone") == ("tag", "独居老人")
    assert parse_rule_key("安全隐患") == ("item", "安全隐患")
    assert parse_rule_key("not-home") == ("outcome", "不在家")
    assert rule_id("tag", "独居老人") == rule_id("tag", "独居老人") != rule_id("tag", "高龄")


def test_set_rule_changes_the_plan_and_off_turns_it_off(store):
    hid = add(store, "曹杨一村5号101室", ["高龄", "独居老人"])
    visit(store, hid, "2026-09-01")
    assert due_of(store, hid, D(2026, 9, 2))[0] == D(2026, 10, 1)  # 独居老人 30
    set_rule(store, "独居老人", "off")
    assert due_of(store, hid, D(2026, 9, 2))[0] == D(2026, 10, 31)  # 高龄 60
    set_rule(store, "高龄", "45")
    assert due_of(store, hid, D(2026, 9, 2))[0] == D(2026, 10, 16)  # 09-01 + 45
    book = load_rules(store)
    assert (book.days("tag", "独居老人"), book.days("tag", "高龄")) == (None, 45)
    assert store.scalar("SELECT count(*) FROM plan_rules") == 2


def test_rules_sync_between_two_databases(tmp_path):
    from visitlog.sync import sync_with

    a = Store(tmp_path / "a.db")
    a.init_identity("王丽华", "laptop-a")
    set_rule(a, "独居老人", 14, note="冬季加密走访")
    sync_with(a, tmp_path / "b.db")
    b = Store(tmp_path / "b.db")
    assert load_rules(b).days("tag", "独居老人") == 14
    b.init_identity("陈静", "laptop-b")
    set_rule(b, "独居老人", 21)
    set_rule(b, "不在家", 10)
    sync_with(b, tmp_path / "a.db")
    for s in (a, b):
        book = load_rules(s)
        assert (book.days("tag", "独居老人"), book.days("outcome", "不在家")) == (21, 10)
        # one row per rule on both sides: the ids are derived from the rule
        assert s.scalar("SELECT count(*) FROM plan_rules") == 2
    a.close()
    b.close()


def test_received_rule_changes_are_checked():
    from visitlog.sync.validate import InvalidChange, check_change

    rid = rule_id("tag", "独居老人")
    good = ["0123456789ab", 1, "plan_rules", rid, "1764000000000.00001", "insert",
            '{"kind":"tag","key":"独居老人","days":30,"deleted":0}', None]  # fmt: skip
    check_change(good)
    for data in (
        '{"kind":"tag","key":"独居老人","days":0,"deleted":0}',
        '{"kind":"tag","key":"独居老人","days":"30","deleted":0}',
        '{"kind":"tag","key":"zzzz","days":30,"deleted":0}',
        '{"kind":"weekly","key":"独居老人","days":30,"deleted":0}',
    ):
        with pytest.raises(InvalidChange):
            check_change([*good[:6], data, None])
    with pytest.raises(InvalidChange):
        check_change([good[0], 1, "plan_rules", "rule-zz", *good[4:]])


# -- 按期走访 figures --------------------------------------------------------------------------


def test_on_time_figures_on_a_hand_built_grid(store):
    a, b = ("曹杨一村居民区", "曹杨一村1号网格"), ("曹杨一村居民区", "曹杨一村2号网格")
    h1 = add(store, "曹杨一村1号101室", ["独居老人"])
    h2 = add(store, "曹杨一村1号102室", ["独居老人"])
    h3 = add(store, "曹杨一村1号103室", ["高龄"])
    h4 = add(store, "曹杨一村1号104室", ["残疾"])
    h5 = add(store, "曹杨一村1号105室")
    add(store, "曹杨一村1号106室", ["独居老人"], occupancy="空置")
    h7 = add(store, "曹杨一村1号107室", ["高龄", "独居老人"])
    add(store, "曹杨一村2号101室", ["独居老人"], grid=b[1])  # never met
    problem = Item(kind="问题", category="安全隐患", description="电线老化")
    visit(store, h1, "2026-10-05", items=[problem])  # key: 10-05 ≥ 10-01 → on time
    visit(store, h1, "2026-10-12")  # 特情 raised 10-05, met 10-12 = deadline → on time
    need = Item(kind="需求", category="医疗", description="配药")
    visit(store, h2, "2026-10-01", items=[need])  # key: 10-01 = 10-31 − 30 → on time (edge)
    # 特情 raised 10-01, never followed up, still open → late
    visit(store, h3, "2026-09-15", items=[Item(kind="问题", category="物业", description="x")])
    # key 高龄 60: met before the period only → not on time; 物业 has no rule
    v4 = visit(store, h4, "2026-10-20", outcome="不在家", items=[problem])
    store.update_item(v4.items[0].id, status="已办结", today=D(2026, 10, 22))
    # key: not met → not on time; 特情 closed 10-22 ≤ 10-27 → on time
    relief = Item(kind="问题", category="救助帮困", description="y")
    visit(store, h5, "2026-10-28", items=[relief])  # deadline 11-04 after the period: not counted
    visit(store, h7, "2026-10-10")  # interval 30 (shortest tag): on time
    got = on_time_by_grid(store, D(2026, 10, 1), D(2026, 10, 31))
    # grid a: key h1 h2 h3 h4 h7 (5), on time h1 h2 h7 (3); 特情 h1 h2 h4 (3), on time h1 h4 (2)
    assert got[a].to_json() == {
        "key_households": 5,
        "key_on_time": 3,
        "key_on_time_rate": 3 / 5,
        "special_households": 3,
        "special_on_time": 2,
        "special_on_time_rate": 2 / 3,
    }
    assert got[b].to_json()["key_households"] == 1 and got[b].key_on_time == 0
    assert got[b].special_rate is None
    # one grid only
    assert set(on_time_by_grid(store, D(2026, 10, 1), D(2026, 10, 31), grid=b[1])) == {b}


@pytest.mark.parametrize("side_by_side", [False, True])
def test_on_time_figures_on_the_demo_street_match_a_day_by_day_recount(demo_store, side_by_side):
    """Both ways give the day-by-day figures: on the Store's connection, and
    with the 特情 items read on a reader of their own beside the rest (as on a
    large encrypted file)."""
    import json
    from collections import defaultdict

    date_from, date_to = D(2026, 1, 1), D(2026, 11, 27)
    tag_days = {r.key: r.days for r in builtin_rules().rules if r.kind == "tag" and r.days}
    item_days = {"安全隐患": 7, "救助帮困": 7, "医疗": 7}
    homes = {
        r["id"]: ((r["community"], r["micro_grid"]), json.loads(r["tags"]))
        for r in demo_store.query(
            "SELECT id, community, micro_grid, tags FROM households WHERE deleted = 0 "
            "AND merged_into IS NULL AND occupancy != '空置'"
        )
    }
    met = defaultdict(set)
    for r in demo_store.query(
        "SELECT live_household, visit_date FROM visits WHERE deleted = 0 "
        "AND merged_into IS NULL AND outcome = '见面'"
    ):
        met[r[0]].add(D.fromisoformat(r[1]))
    key = defaultdict(lambda: [0, 0])
    for hid, (grid, tags) in homes.items():
        days = [tag_days[tg] for tg in tags if tg in tag_days]
        if not days:
            continue
        key[grid][0] += 1
        # on the period's last day: is some meeting in the period at most `days` days back?
        day = date_to
        ok = any(
            date_from <= day - dt.timedelta(n) and (day - dt.timedelta(n)) in met[hid]
            for n in range(min(days) + 1)
        )
        key[grid][1] += ok
    special = defaultdict(lambda: defaultdict(list))
    for r in demo_store.query(
        "SELECT live_household, category, raised_date, status, closed_date FROM items "
        "WHERE deleted = 0 AND live_visit IS NOT NULL AND kind IN ('问题', '需求')"
    ):
        hid, cat, raised, status, closed = r[0], r[1], r[2], r[3], r[4]
        if hid not in homes or cat not in item_days:
            continue
        raised = D.fromisoformat(raised)
        deadline = raised + dt.timedelta(item_days[cat])
        if not (date_from <= raised <= date_to and deadline <= date_to):
            continue
        followed = any(raised + dt.timedelta(n) in met[hid] for n in range(1, item_days[cat] + 1))
        shut = (
            status in ("已办结", "已反馈", "无法解决")
            and closed
            and D.fromisoformat(closed) <= deadline
        )
        special[homes[hid][0]][hid].append(bool(followed or shut))
    got = on_time_by_grid(demo_store, date_from, date_to, side_by_side=side_by_side)
    assert sum(g.key_households for g in got.values()) > 10
    assert sum(g.special_households for g in got.values()) > 3
    for grid, figures in got.items():
        assert (figures.key_households, figures.key_on_time) == tuple(key.get(grid, [0, 0]))
        households = special.get(grid, {})
        assert figures.special_households == len(households)
        assert figures.special_on_time == sum(all(v) for v in households.values())
