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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from visitlog.model import CLOSED_STATUSES, Occupancy, Outcome, VisitlogError
from visitlog.plan.rules import RuleBook, load_rules
from visitlog.plan.week import TRIGGER_KINDS
from visitlog.rows import live

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


def _values(pairs: dict[str, int]) -> tuple[str, list[Any]]:
    """A ``VALUES`` list of (key, days) pairs and its parameters."""
    return ", ".join("(?, ?)" for _ in pairs), [v for kv in pairs.items() for v in kv]


def on_time_by_grid(
    store: Store,
    date_from: dt.date,
    date_to: dt.date,
    grid: str | None = None,
    rules: RuleBook | None = None,
) -> dict[tuple[str | None, str], OnTime]:
    """The 按期 counts of each (居民区, 微网格), as the summary groups them.

    Only grids with live households that are not vacant appear.

    Args:
        date_from: first day of the period.
        date_to: last day of the period.
        grid: only this 微网格.
        rules: the rules (default: those in force in *store*).
    """
    rules = rules or load_rules(store)
    where = f"{live('h')} AND h.occupancy != ?" + (" AND h.micro_grid = ?" if grid else "")
    hparams: list[Any] = [Occupancy.VACANT.value, *([grid] if grid else [])]
    out: dict[tuple[str | None, str], OnTime] = {
        (r[0], r[1]): OnTime()
        for r in store.query_values(
            f"SELECT DISTINCT h.community, h.micro_grid FROM households h WHERE {where}", hparams
        )
    }
    met = Outcome.MET.value
    period = {"from": date_from.isoformat(), "to": date_to.isoformat()}
    tags = rules.active("tag")
    if tags:
        values, vparams = _values(tags)
        # CROSS JOIN keeps the order: each household's tags read once, each
        # looked up among the rules (not every rule against every household).
        for c, g, total, on_time in store.query_values(
            f"""
            WITH tag_rules(tag, days) AS (VALUES {values}),
            keyed AS (
                SELECT h.id, h.community, h.micro_grid, min(r.days) AS days
                FROM households h CROSS JOIN json_each(h.tags) j
                CROSS JOIN tag_rules r ON r.tag = j.value
                WHERE {where} GROUP BY h.id
            )
            SELECT k.community, k.micro_grid, count(*), sum(EXISTS (
                SELECT 1 FROM visits v WHERE v.live_household = k.id AND {live("v")}
                AND v.outcome = ? AND v.visit_date <= ?
                AND v.visit_date >= max(?, date(?, '-' || k.days || ' days'))))
            FROM keyed k GROUP BY k.community, k.micro_grid
            """,
            [*vparams, *hparams, met, period["to"], period["from"], period["to"]],
        ):
            out.setdefault((c, g), OnTime()).key_households = total
            out[(c, g)].key_on_time = on_time or 0
    categories = rules.active("item")
    if categories:
        values, vparams = _values(categories)
        closed = ",".join("?" * len(CLOSED_STATUSES))
        # Read once through the items (CROSS JOIN: not once per rule), the
        # household's grid from the covering index, a visit only for an item
        # without its own raised date: a third of the pages read, which on an
        # encrypted database are each decrypted.
        for c, g, total, late in _query_indexed(
            store,
            f"""
            WITH item_rules(category, days) AS (VALUES {values}),
            raised AS (
                SELECT i.live_household AS hid, h.community, h.micro_grid, i.status,
                       i.closed_date,
                       coalesce(i.raised_date, (SELECT v.visit_date FROM visits v
                                                WHERE v.id = i.live_visit)) AS day, r.days
                FROM items i CROSS JOIN item_rules r ON r.category = i.category
                JOIN households h {{HOUSEHOLD_INDEX}} ON h.id = i.live_household
                WHERE i.deleted = 0 AND i.live_visit IS NOT NULL AND i.kind IN (?, ?)
                AND {where}
            ),
            due AS (
                SELECT *, date(day, '+' || days || ' days') AS deadline FROM raised
                WHERE day BETWEEN ? AND ?
            ),
            judged AS (
                SELECT hid, community, micro_grid, (
                    EXISTS (SELECT 1 FROM visits w WHERE w.live_household = hid
                            AND {live("w")} AND w.outcome = ?
                            AND w.visit_date > day AND w.visit_date <= deadline)
                    OR (status IN ({closed}) AND closed_date IS NOT NULL
                        AND closed_date <= deadline)
                ) AS ok
                FROM due WHERE deadline <= ?
            )
            SELECT community, micro_grid, count(DISTINCT hid),
                   count(DISTINCT CASE WHEN NOT ok THEN hid END)
            FROM judged GROUP BY community, micro_grid
            """,
            [
                *vparams,
                *TRIGGER_KINDS,
                *hparams,
                period["from"],
                period["to"],
                met,
                *(s.value for s in CLOSED_STATUSES),
                period["to"],
            ],
        ):
            out.setdefault((c, g), OnTime()).special_households = total
            out[(c, g)].special_on_time = total - late
    return out


#: Where a query names its index of households (made by migration m006).
HOUSEHOLD_INDEX = "INDEXED BY households_summary"


def _query_indexed(store: Store, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """*sql* with its households read through :data:`HOUSEHOLD_INDEX`, or, on a
    database whose index was dropped, without it (slower, the same figures)."""
    try:
        return store.query_values(sql.replace("{HOUSEHOLD_INDEX}", HOUSEHOLD_INDEX), params)
    except VisitlogError:
        return store.query_values(sql.replace("{HOUSEHOLD_INDEX}", ""), params)
