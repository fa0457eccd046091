"""重点户逐月走访率: key-group households met in every month of the period.

A small street is built by hand, and the expected figures below are counted
by hand from it (written out next to each household), not by the code under
test.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from openpyxl import load_workbook

from visitlog.model import Household, Visit
from visitlog.render import FORMATS, render
from visitlog.store import Store
from visitlog.summary import compute_summary

TODAY = dt.date(2025, 6, 30)
#: March, April and May: three months, the first and last only partly inside.
PERIOD = ("2025-03-10", "2025-05-20")
KEY = "key_on_schedule_rate"


def _household(store: Store, grid: str, community: str, n: int, tags: list[str], **kw) -> str:
    household = Household(
        micro_grid=grid,
        community=community,
        address=f"曹杨一村{n}号101室",
        tags=tags,
        **kw,
    )
    return store.add_household(household).id


def _visits(store: Store, hid: str, *dated: str) -> list[str]:
    """Visits on these dates; ``2025-04-10:不在家`` gives an outcome other than 见面."""
    ids = []
    for entry in dated:
        date, _, outcome = entry.partition(":")
        visit = Visit(household_id=hid, visit_date=date, visitor="陈静", outcome=outcome or "见面")
        ids.append(store.add_visit(visit).id)
    return ids


@pytest.fixture
def street(store: Store) -> Store:
    g1, g2, g3 = ("甲1号网格", "甲居民区"), ("甲2号网格", "甲居民区"), ("乙1号网格", "乙居民区")
    # 甲1: key households due A B C F M (5); on schedule A F (2).
    a = _household(store, *g1, 1, ["独居老人"])
    _visits(store, a, "2025-03-15", "2025-04-02", "2025-05-20")  # every month, last day inclusive
    b = _household(store, *g1, 2, ["高龄"])
    _visits(store, b, "2025-03-11", "2025-04-10:不在家", "2025-05-01")  # April not met
    c = _household(store, *g1, 3, ["低保"])
    _visits(store, c, "2025-03-09", "2025-04-05", "2025-05-06")  # March only before the period
    d = _household(store, *g1, 4, ["残疾"], occupancy="空置")  # vacant: not due at all
    _visits(store, d, "2025-03-20", "2025-04-20", "2025-05-10")
    e = _household(store, *g1, 5, [])  # no key group: not in the figure
    _visits(store, e, "2025-03-20", "2025-04-20", "2025-05-10")
    f = _household(store, *g1, 6, ["独居老人", "高龄"])  # two tags, one household
    _visits(store, f, "2025-03-31", "2025-04-30", "2025-05-19")
    _household(store, *g1, 7, ["高龄"])  # M: never visited
    # 甲2: key households due G H I J (4); on schedule I (1).
    g = _household(store, *g2, 8, ["特困"])
    *_, gone = _visits(store, g, "2025-03-12", "2025-04-12", "2025-05-12")
    store.delete_visit(gone)  # May's visit deleted: May not met
    h = _household(store, *g2, 9, ["失能失智"])
    _visits(store, h, "2025-03-25", "2025-04-25", "2025-05-25")  # May's after the period
    i = _household(store, *g2, 10, ["低收入"])
    _visits(store, i, "2025-03-13", "2025-04-13", "2025-05-13")
    j = _household(store, *g2, 11, ["高龄"])
    _visits(store, j, "2025-03-13", "2025-03-14", "2025-04-13", "2025-05-13:拒访")
    # 乙1: key households due K (1); on schedule K (1).
    k = _household(store, *g3, 12, ["高龄"])
    _visits(store, k, "2025-03-14", "2025-04-14", "2025-05-14")
    gone_household = _household(store, *g3, 13, ["高龄"])  # deleted: not counted
    _visits(store, gone_household, "2025-03-14", "2025-04-14", "2025-05-14")
    with store.transaction() as tx:
        tx.update("households", gone_household, {"deleted": 1})
    return store


def _json(store: Store, by: str = "micro-grid", period=PERIOD) -> dict:
    return compute_summary(
        store, by=by, date_from=period[0], date_to=period[1], today=TODAY
    ).to_json()


def test_per_grid_and_totals(street: Store):
    out = _json(street)
    rates = {g["micro_grid"]: g[KEY] for g in out["groups"]}
    assert rates == {"甲1号网格": 2 / 5, "甲2号网格": 1 / 4, "乙1号网格": 1 / 1}
    assert out["totals"][KEY] == 4 / 10
    key_due = {g["micro_grid"]: g["key_households"] for g in out["groups"]}
    assert key_due == {"甲1号网格": 5, "甲2号网格": 4, "乙1号网格": 1}


def test_rolls_up_from_counts_not_by_averaging(street: Store):
    communities = {g["community"]: g[KEY] for g in _json(street, "community")["groups"]}
    # 甲: (2 + 1) ÷ (5 + 4), not the mean of 40% and 25% (32.5%).
    assert communities == {"甲居民区": 3 / 9, "乙居民区": 1 / 1}
    [whole] = _json(street, "street")["groups"]
    assert whole[KEY] == 4 / 10


def test_a_one_month_period_asks_for_one_meeting(street: Store):
    out = _json(street, period=("2025-04-01", "2025-04-30"))
    # Met in April: A C F G H I J K; B was not at home; M never visited.
    assert out["totals"][KEY] == 8 / 10
    assert out["totals"]["key_coverage"] == 8 / 10


def test_nothing_due_gives_none(store: Store):
    _household(store, "甲1号网格", "甲居民区", 1, [])
    out = _json(store)
    assert out["totals"][KEY] is None
    assert out["groups"][0][KEY] is None


def test_the_key_comes_after_every_existing_key(street: Store):
    out = _json(street)
    # (keys added later, such as the planning rules' figures, come after it)
    for g in out["groups"]:
        keys = list(g)
        assert keys[keys.index("merged_visits") :][:2] == ["merged_visits", KEY]
    keys = list(out["totals"])
    assert keys[keys.index("unsynced_changes") :][:4] == [
        "unsynced_changes",
        "open_conflicts",
        "health",
        KEY,
    ]


def test_it_appears_in_every_format(street: Store):
    summary = compute_summary(
        street, date_from=PERIOD[0], date_to=PERIOD[1], today=TODAY, details=True
    )
    seen = {}
    for fmt in FORMATS:
        data = render(summary, fmt)
        if fmt == "xlsx":
            wb = load_workbook(io.BytesIO(data))
            ws = wb["走访明细"]
            header = [str(c.value).replace("\n", "") for c in ws[1]]
            col = header.index("重点户逐月走访率")
            values = {r[0]: r[col] for r in ws.iter_rows(min_row=2, values_only=True)}
            seen[fmt] = values["甲1号网格"] == pytest.approx(0.4) and values["合计"] == 0.4
        elif fmt == "json":
            seen[fmt] = json.loads(data)["totals"][KEY] == 0.4
        else:
            text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
            seen[fmt] = "逐月走访率" in text and "40.0%" in text and "25.0%" in text
    assert seen == dict.fromkeys(FORMATS, True)
