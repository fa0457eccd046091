"""按期走访: were key-group and 特情 households visited within what the rules give?

Two figures per 微网格 for a period ``[date_from, date_to]`` (both inclusive),
rolled up by adding counts (ratios are recomputed, never averaged):

* **重点户按期走访率** (``key_on_time`` ÷ ``key_households``): key-group
  households (live, not vacant, carrying a tag whose rule is on) that a live
  visit met (见面) in the period and within their interval of its end: on a
  day from ``max(date_from, date_to − interval)`` to ``date_to``, so that on
  the period's last day the household is not overdue (a meeting exactly one
  interval before is due that day, not late).  The interval is the shortest
  of their tags' rules.
* **特情按期走访率** (``special_on_time`` ÷ ``special_households``): households
  with a 特情 item whose deadline fell in the period — a live 问题 or 需求 of a
  category with a rule, raised in the period, whose deadline (raised + the
  rule's days) is on or before ``date_to``.  A household is on time when
  each such item was followed up by its deadline: a live visit met the
  household after the day it was raised and by the deadline, or the item was
  closed (已办结 / 已反馈 / 无法解决) by the deadline.

The rules are those in force now (:func:`visitlog.plan.rules.load_rules`).
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from visitlog.plan.rules import RuleBook, load_rules
from visitlog.plan.week import TRIGGER_KINDS

if TYPE_CHECKING:  # pragma: no cover
    from visitlog.store import Store

#: The keys of the figures, as they appear in a group's JSON.
ON_TIME_KEYS = ("key_households", "key_on_time", "special_households", "special_on_time")


@dataclass
class OnTime:
    """The 按期 counts of one group (a 微网格, a 居民区 or the street)."""

    key_households: int = 0
    key_on_time: int = 0
    special_households: int = 0
    special_on_time: int = 0

    def add(self, other: OnTime) -> None:
        for k in ON_TIME_KEYS:
            setattr(self, k, getattr(self, k) + getattr(other, k))

    @property
    def key_rate(self) -> float | None:
        """重点户按期走访率 (None when there is no key household)."""
        return self.key_on_time / self.key_households if self.key_households else None

    @property
    def special_rate(self) -> float | None:
        """特情按期走访率 (None when no 特情 deadline fell in the period)."""
        return self.special_on_time / self.special_households if self.special_households else None

    def to_json(self) -> dict[str, Any]:
        return {
            "key_households": self.key_households,
            "key_on_time": self.key_on_time,
            "key_on_time_rate": self.key_rate,
            "special_households": self.special_households,
            "special_on_time": self.special_on_time,
            "special_on_time_rate": self.special_rate,
        }


def on_time_by_grid(
    store: Store,
    date_from: dt.date,
    date_to: dt.date,
    grid: str | None = None,
    rules: RuleBook | None = None,
    side_by_side: bool = False,
) -> dict[tuple[str | None, str], OnTime]:
    """The 按期 counts of each (居民区, 微网格), as the summary groups them.

    Only grids with live households that are not vacant appear.

    Args:
        date_from: first day of the period.
        date_to: last day of the period.
        grid: only this 微网格.
        rules: the rules (default: those in force in *store*).
        side_by_side: read the 特情 items on a reader of their own beside the
            rest (on a large encrypted file, where each page read is also
            decrypted, two cores do it in less time).
    """
    rules = rules or load_rules(store)
    categories = rules.active("item")

    def special(conn: Any = None) -> list[tuple[Any, ...]]:
        return store.special_on_time_counts(
            categories, TRIGGER_KINDS, date_from, date_to, grid, conn=conn
        )

    found: list[tuple[Any, ...]] = []
    if side_by_side and categories:
        with store.reader() as conn, ThreadPoolExecutor(max_workers=1) as pool:
            specials = pool.submit(special, conn)
            out = _key_counts(store, rules, date_from, date_to, grid)
            found = specials.result()
    else:
        out = _key_counts(store, rules, date_from, date_to, grid)
        if categories:
            found = special()
    for c, g, total, late in found:
        out.setdefault((c, g), OnTime()).special_households = total
        out[(c, g)].special_on_time = total - late
    return out


def _key_counts(
    store: Store, rules: RuleBook, date_from: dt.date, date_to: dt.date, grid: str | None
) -> dict[tuple[str | None, str], OnTime]:
    """Every grid that can be due, with its 重点人群 households' 按期 counts."""
    out: dict[tuple[str | None, str], OnTime] = {key: OnTime() for key in store.plan_grids(grid)}
    tags = rules.active("tag")
    if tags:
        for c, g, total, on_time in store.key_on_time_counts(tags, date_from, date_to, grid):
            out.setdefault((c, g), OnTime()).key_households = total
            out[(c, g)].key_on_time = on_time or 0
    return out
