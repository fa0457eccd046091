"""The summary's 按期 figures under the planning rules, in every format, rolled up by counts.

The street is built by hand and the expected figures are counted by hand
(written next to each household), not by the code under test.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from openpyxl import load_workbook

from visitlog.model import Household, Item, Visit
from visitlog.render import FORMATS, render
from visitlog.store import Store
from visitlog.summary import compute_summary

TODAY = dt.date(2026, 11, 27)
PERIOD = ("2026-10-01", "2026-10-31")
KEYS = ("key_rule_households", "key_on_time_rate", "special_households", "special_on_time_rate")


def _add(store: Store, grid: str, community: str, n: int, tags=(), **kw) -> str:
    h = Household(
        address=f"曹杨一村{n}号101室", micro_grid=grid, community=community, tags=list(tags), **kw
    )
    return store.add_household(h).id


def _visit(store: Store, hid: str, day: str, outcome: str = "见面", items=()) -> Visit:
    v = Visit(household_id=hid, visit_date=day, visitor="陈静", outcome=outcome, items=list(items))
    return store.add_visit(v)


def _problem(category: str, kind: str = "问题") -> Item:
    return Item(kind=kind, category=category, description="楼道堆物")


@pytest.fixture
def street(store: Store) -> Store:
    g1, g2, g3 = ("甲1号网格", "甲居民区"), ("甲2号网格", "甲居民区"), ("乙1号网格", "乙居民区")
    # 甲1: key A B C D (4), within their interval of 10-31: A (10-05, 30 d), B (10-01 = 10-31 − 30)
    # → 2 of 4; 特情 with a deadline in the period: A (raised 10-05, met 10-12) and
    # B (raised 10-01, never followed up) → 1 of 2.
    a = _add(store, *g1, 1, ["独居老人"])
    _visit(store, a, "2026-10-05", items=[_problem("安全隐患")])
    _visit(store, a, "2026-10-12")
    b = _add(store, *g1, 2, ["独居老人"])
    _visit(store, b, "2026-10-01", items=[_problem("医疗", "需求")])
    c = _add(store, *g1, 3, ["高龄"])
    _visit(store, c, "2026-09-15")  # met before the period only
    d = _add(store, *g1, 4, ["残疾"])
    _visit(store, d, "2026-10-20", outcome="不在家")
    _add(store, *g1, 5, ["独居老人"], occupancy="空置")  # vacant: not counted
    # 甲2: key E (1), met 10-30 (高龄 60) → 1 of 1; 特情 F: raised 10-10, closed 10-12 → 1 of 1;
    # G raised 10-28: deadline 11-04 after the period, not counted.
    e = _add(store, *g2, 6, ["高龄"])
    _visit(store, e, "2026-10-30")
    f = _add(store, *g2, 7)
    v = _visit(store, f, "2026-10-10", items=[_problem("救助帮困")])
    store.update_item(v.items[0].id, status="已办结", today=dt.date(2026, 10, 12))
    g = _add(store, *g2, 8)
    _visit(store, g, "2026-10-28", items=[_problem("安全隐患")])
    # 乙1: key H (1), never met → 0 of 1; no 特情.
    _add(store, *g3, 9, ["特困"])
    return store


def _json(store: Store, by: str = "micro-grid") -> dict:
    return compute_summary(
        store, by=by, date_from=PERIOD[0], date_to=PERIOD[1], today=TODAY
    ).to_json()


def test_per_grid_and_totals(street: Store):
    out = _json(street)
    got = {g["micro_grid"]: tuple(g[k] for k in KEYS) for g in out["groups"]}
    assert got == {
        "甲1号网格": (4, 2 / 4, 2, 1 / 2),
        "甲2号网格": (1, 1.0, 1, 1.0),
        "乙1号网格": (1, 0.0, 0, None),
    }
    assert tuple(out["totals"][k] for k in KEYS) == (6, 3 / 6, 3, 2 / 3)


def test_rolled_up_from_counts(street: Store):
    communities = {
        g["community"]: (g["key_on_time_rate"], g["special_on_time_rate"])
        for g in _json(street, "community")["groups"]
    }
    # 甲: (2 + 1) ÷ (4 + 1) and (1 + 1) ÷ (2 + 1), not the mean of the grids' rates
    assert communities == {"甲居民区": (3 / 5, 2 / 3), "乙居民区": (0.0, None)}


def test_the_keys_come_after_the_existing_ones(street: Store):
    for g in _json(street)["groups"]:
        assert list(g)[-4:] == list(KEYS)


def test_they_appear_in_every_format(street: Store):
    summary = compute_summary(
        street, date_from=PERIOD[0], date_to=PERIOD[1], today=TODAY, details=True
    )
    seen = {}
    for fmt in FORMATS:
        data = render(summary, fmt)
        if fmt == "xlsx":
            ws = load_workbook(io.BytesIO(data))["走访明细"]
            header = [str(c.value).replace("\n", "") for c in ws[1]]
            key, special = header.index("重点户按期走访率"), header.index("特情按期走访率")
            rows = {r[0]: (r[key], r[special]) for r in ws.iter_rows(min_row=2, values_only=True)}
            seen[fmt] = rows["甲1号网格"] == (0.5, 0.5) and rows["合计"] == (
                0.5,
                pytest.approx(2 / 3),
            )
        elif fmt == "json":
            seen[fmt] = json.loads(data)["totals"]["special_on_time_rate"] == 2 / 3
        else:
            text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
            seen[fmt] = "特情按期" in text and "66.7%" in text and "50.0%" in text
    assert seen == dict.fromkeys(FORMATS, True)


@pytest.mark.parametrize("details", [False, True])
def test_the_columns_a_summary_reads_are_those_a_copy_for_it_keeps(street: Store, details: bool):
    """``summary --hub`` copies only ``READS`` of a hub's rows (``DETAIL_READS``
    with the lists a workbook or a page shows): SQLite's own account of what
    the summary's statements read (its authorizer is asked about every column
    a statement uses) must be exactly that."""
    import sqlite3

    from visitlog.summary import DETAIL_READS, READS, street_name

    late = Item(kind="问题", category="环境卫生", description="楼道堆物", deadline="2026-10-15")
    _visit(street, _add(street, "乙1号网格", "乙居民区", 10), "2026-10-08", items=[late])
    read: dict[str, set[str]] = {t: set() for t in READS}

    def authorizer(action: int, table: str | None, column: str | None, *_: object) -> int:
        if action == sqlite3.SQLITE_READ and table in read and column not in ("", "ROWID"):
            read[table].add(column)
        return sqlite3.SQLITE_OK

    # The count of changes not yet synced reads the log, which includes the
    # inserts rows hold (their device and log_seq, visitlog.store.inserts): a
    # copy's rows hold none, so those reads need nothing copied.
    street.conn.set_authorizer(authorizer)
    try:
        street.unsynced_count()
    finally:
        street.conn.set_authorizer(None)
    log_reads = {t: set(cols) for t, cols in read.items()}
    assert set().union(*log_reads.values()) == {"device", "log_seq"}
    read = {t: set() for t in READS}
    street.conn.set_authorizer(authorizer)
    try:
        result = compute_summary(
            street, date_from=PERIOD[0], date_to="2026-11-30", today=TODAY, details=details
        )
        street_name(street)
    finally:
        street.conn.set_authorizer(None)
    if details:
        assert result.still_due_list and result.overdue_list  # the lists' queries ran
    expected = DETAIL_READS if details else READS
    assert {t: cols - log_reads[t] for t, cols in read.items()} == {
        t: set(cols) - log_reads[t] for t, cols in expected.items()
    }


@pytest.mark.parametrize("details", [False, True])
def test_a_copy_for_the_summary_does_without_indexes_its_statements_never_use(
    street: Store, details: bool
):
    """``summary --hub`` writes its copy without ``COPY_LEAVES_OUT`` (and,
    for a summary without its lists, without ``DETAIL_INDEXES``): no
    statement the summary runs may be planned through one of them on a
    database that has them all (its plan would turn into a scan of the copy)."""
    from visitlog.summary import COPY_LEAVES_OUT, DETAIL_INDEXES, copy_plan, street_name

    left_out = set(copy_plan(details)[1])
    assert left_out == set(COPY_LEAVES_OUT) | (set() if details else set(DETAIL_INDEXES))
    assert {n for n in left_out if street.has_index(n)} == left_out
    statements: list[str] = []
    street.conn.set_trace_callback(statements.append)
    try:
        # As summary --hub sums its copy up: from the records (kept totals
        # are read through indexes a copy leaves out, and it keeps none).
        compute_summary(
            street,
            date_from=PERIOD[0],
            date_to="2026-11-30",
            today=TODAY,
            details=details,
            kept=False,
        )
        street_name(street)
    finally:
        street.conn.set_trace_callback(None)
    selects = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert len(selects) >= 5  # the aggregates, the planning counts and the street's name
    used: set[str] = set()
    for sql in selects:
        for row in street.conn.execute("EXPLAIN QUERY PLAN " + sql):
            used.update(w for w in row[3].replace("(", " ").split() if street.has_index(w))
    assert {"visits_summary", "items_summary", "households_summary"} <= used
    assert used.isdisjoint(left_out)
    if details:
        # the lists need what the figures alone do without
        assert set(DETAIL_INDEXES) <= used
