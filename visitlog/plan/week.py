"""The week's list: the households due by a date, building by building.

:func:`make_plan` reads the live households (not deleted, not merged, not
vacant), their live visits and their open 问题/需求 through the store, works
out each one's due date (:func:`visitlog.plan.due.household_due`) and keeps
those due on or before ``until``.  The list is grouped by building; the
building with the most overdue household comes first, and inside a building
the households are in walking order (floor, then room).

A worker's households (``worker``) are those whose latest live visit that
worker made: the one who knows the family goes again.  Households nobody has
visited yet are in no worker's list (only in the grid's).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from visitlog.grids import check_grid
from visitlog.i18n import t
from visitlog.model import Kind, Outcome, ValidationError, parse_date
from visitlog.plan.due import ItemFact, Reason, VisitFact, household_due
from visitlog.plan.rules import RuleBook, load_rules
from visitlog.plan.walk import Spot, building_key, spot, walk_key

if TYPE_CHECKING:  # pragma: no cover
    from visitlog.store import Store

MET = Outcome.MET.value
#: Kinds of list item that can make a household due (特情).
TRIGGER_KINDS = (Kind.PROBLEM.value, Kind.DEMAND.value)


@dataclass
class PlanEntry:
    """One household on the list."""

    household_id: str
    micro_grid: str
    community: str | None
    address: str
    head: str | None
    phone: str | None
    tags: list[str]
    due: dt.date
    overdue_days: int
    reasons: list[Reason]
    spot: Spot
    last_met: dt.date | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "household_id": self.household_id,
            "address": self.address,
            "micro_grid": self.micro_grid,
            "community": self.community,
            "building": self.spot.building_label,
            "floor": self.spot.floor,
            "room": self.spot.room,
            "due": self.due.isoformat(),
            "overdue_days": self.overdue_days,
            "last_met": self.last_met.isoformat() if self.last_met else None,
            "reasons": [r.text() for r in self.reasons],
            "rules": [r.to_json() for r in self.reasons],
        }


@dataclass
class Plan:
    """The households due by ``until``, in walking order (see the module docstring)."""

    today: dt.date
    until: dt.date
    grid: str | None
    worker: str | None
    rules: RuleBook
    entries: list[PlanEntry] = field(default_factory=list)

    def buildings(self) -> list[tuple[str, list[PlanEntry]]]:
        """``(building, households)`` in the order of the list."""
        out: list[tuple[str, list[PlanEntry]]] = []
        for e in self.entries:
            label = e.spot.building_label
            if self.grid is None:
                label = f"{e.micro_grid} · {label}"
            if out and out[-1][0] == label:
                out[-1][1].append(e)
            else:
                out.append((label, [e]))
        return out

    @property
    def overdue(self) -> int:
        return sum(1 for e in self.entries if e.overdue_days > 0)

    def to_json(self) -> list[dict[str, Any]]:
        return [e.to_json() for e in self.entries]


def end_of_week(today: dt.date) -> dt.date:
    """The Sunday of *today*'s week (weeks run Monday to Sunday)."""
    return today + dt.timedelta(days=6 - today.weekday())


@lru_cache(maxsize=8192)
def _day(text: str) -> dt.date | None:
    """The date of an ISO date or time, one object for each day read (a
    district's plan reads millions of visit dates, on a few hundred days)."""
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _date(text: Any) -> dt.date | None:
    """A stored date (or time) as a date; None when empty or unreadable."""
    return _day(str(text)) if text else None


def check_worker(store: Store, worker: str) -> str:
    """The worker's name if some live visit names them as visitor.

    Raises:
        ValidationError: naming the visitors there are, so a typo is not an empty list.
    """
    if store.has_visitor(worker):
        return worker
    names = store.frequent_visitors(5)
    raise ValidationError(
        t("plan.err.worker", worker=worker, known="、".join(names) or t("plan.no_visitors"))
    )


def read_facts(
    store: Store, grid: str | None = None
) -> tuple[list[dict[str, Any]], dict[str, list[tuple[VisitFact, str]]], dict[str, list[ItemFact]]]:
    """The households that can be due, their live visits (with visitor) and open 问题/需求."""
    households = store.plan_households(grid)
    visits: dict[str, list[tuple[VisitFact, str]]] = defaultdict(list)
    names: dict[str, str] = {}  # one string for each visitor and outcome, not one a visit
    for hid, day, outcome, next_due, visitor in store.plan_visits(grid):
        when = _date(day)
        if when is not None:
            fact = VisitFact(when, names.setdefault(outcome, outcome), _date(next_due))
            visits[hid].append((fact, names.setdefault(visitor, visitor)))
    items: dict[str, list[ItemFact]] = defaultdict(list)
    for hid, kind, category, raised in store.plan_open_items(TRIGGER_KINDS, grid):
        when = _date(raised)
        if when is not None:
            items[hid].append(ItemFact(kind, category, when))
    return households, visits, items


def make_plan(
    store: Store,
    grid: str | None = None,
    worker: str | None = None,
    until: str | dt.date | None = None,
    today: dt.date | None = None,
    rules: RuleBook | None = None,
) -> Plan:
    """The households due on or before *until* (default: this Sunday), in walking order.

    Args:
        grid: only this 微网格.
        worker: only the households whose latest visit this worker made.
        until: the last day of the plan (YYYY-MM-DD).
        today: the day the plan is made (default: today).
        rules: the rules (default: those in force in *store*).

    Raises:
        ValidationError: an unknown grid or worker, a bad date.
    """
    today = today or dt.date.today()
    end = parse_date(until, "until") if until else end_of_week(today)
    assert end is not None
    if grid:
        check_grid(store, grid)
    if worker:
        check_worker(store, worker)
    rules = rules or load_rules(store)
    households, visits, items = read_facts(store, grid)
    entries: list[PlanEntry] = []
    for h in households:
        seen = visits.get(h["id"], [])
        if worker and (not seen or seen[-1][1] != worker):
            continue
        facts = [v for v, _ in seen]
        found = household_due(
            json.loads(h["tags"] or "[]"),
            _date(h["created_at"]) or today,
            facts,
            items.get(h["id"], []),
            rules,
            today,
        )
        if found is None or found[0] > end:
            continue
        due, reasons = found
        met = [v.date for v in facts if v.outcome == MET]
        entries.append(
            PlanEntry(
                household_id=h["id"],
                micro_grid=h["micro_grid"],
                community=h["community"],
                address=h["address"],
                head=h["head"],
                phone=h["phone"],
                tags=json.loads(h["tags"] or "[]"),
                due=due,
                overdue_days=(today - due).days,
                reasons=reasons,
                spot=spot(h["address"], h["estate"], h["address_key"]),
                last_met=met[-1] if met else None,
            )
        )
    return Plan(today, end, grid, worker, rules, walking_order(entries))


def due_dates(
    store: Store,
    grid: str | None = None,
    today: dt.date | None = None,
    rules: RuleBook | None = None,
) -> dict[str, dt.date]:
    """Every household's due date under the rules in force (the home table's order).

    The same arithmetic as :func:`make_plan`, for every household and without
    the walking order; vacant households and those no rule applies to have none.
    """
    today = today or dt.date.today()
    rules = rules or load_rules(store)
    households, visits, items = read_facts(store, grid)
    out: dict[str, dt.date] = {}
    for h in households:
        found = household_due(
            json.loads(h["tags"] or "[]"),
            _date(h["created_at"]) or today,
            [v for v, _ in visits.get(h["id"], [])],
            items.get(h["id"], []),
            rules,
            today,
        )
        if found is not None:
            out[h["id"]] = found[0]
    return out


def walking_order(entries: list[PlanEntry]) -> list[PlanEntry]:
    """Buildings by their most overdue household, households by floor and room inside."""
    groups: dict[tuple[Any, ...], list[PlanEntry]] = defaultdict(list)
    for e in entries:
        groups[(e.micro_grid, e.spot.place, e.spot.building)].append(e)
    ordered = sorted(
        groups.values(),
        key=lambda g: (min(e.due for e in g), building_key(g[0].micro_grid, g[0].spot)),
    )
    return [
        e
        for g in ordered
        for e in sorted(g, key=lambda e: (*walk_key(e.spot, e.address), e.household_id))
    ]
