"""Groups and roll-ups: the counts of a 微网格, added up to 居民区, 街道 and the totals.

A :class:`Group` holds only additive counts (and the set of visitor names);
every ratio of the registry is recomputed from the added numerator and
denominator when it is read, so a roll-up is exact and no ratio is ever
averaged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from visitlog.model import Category, Kind, Mode, Outcome, Satisfaction, Tag
from visitlog.order import natural_key
from visitlog.summary.metrics import METRICS, STILL_DUE_REASONS, metric
from visitlog.summary.periods import LEVEL_KEYS, parse_level


def _zeros(keys: Iterable[str]) -> dict[str, int]:
    return dict.fromkeys(keys, 0)


#: Fields of a group that name it rather than count.
_NAMES = ("name", "community")


@dataclass
class Group:
    """Counts of one group (a 微网格, a 居民区, the street or the totals).

    Every field but the names and ``visitors`` is additive.  ``counts``
    holds the registry's own counters (:attr:`Metric.sql
    <visitlog.summary.metrics.Metric.sql>`) by metric name.  Read a metric
    with :meth:`metric`; :meth:`to_json` gives them all.
    """

    name: str | None = None
    community: str | None = None
    micro_grids: list[str] = field(default_factory=list)
    communities: list[str | None] = field(default_factory=list)
    live_households: int = 0
    vacant_households: int = 0
    households: int = 0
    visited_households: int = 0
    still_due: int = 0
    still_due_reasons: dict[str, int] = field(default_factory=lambda: _zeros(STILL_DUE_REASONS))
    visits: int = 0
    visits_by_mode: dict[str, int] = field(default_factory=lambda: _zeros(Mode.choices()))
    visits_by_outcome: dict[str, int] = field(default_factory=lambda: _zeros(Outcome.choices()))
    visitors: set[str] = field(default_factory=set)
    key_households: int = 0
    key_visited: int = 0
    key_groups_households: dict[str, int] = field(default_factory=lambda: _zeros(Tag.choices()))
    key_groups_visited: dict[str, int] = field(default_factory=lambda: _zeros(Tag.choices()))
    items_total: int = 0
    items: dict[str, int] = field(default_factory=lambda: _zeros(Kind.choices()))
    items_by_category: dict[str, int] = field(default_factory=lambda: _zeros(Category.choices()))
    open_items: int = 0
    closed_items: int = 0
    on_spot_items: int = 0
    closed_with_deadline: int = 0
    on_time_items: int = 0
    overdue_items: int = 0
    closed_with_dates: int = 0
    days_to_close_total: float = 0.0
    fed_back_items: int = 0
    satisfaction: dict[str, int] = field(default_factory=lambda: _zeros(Satisfaction.choices()))
    merged_households: int = 0
    merged_visits: int = 0
    counts: dict[str, int | float] = field(default_factory=dict)

    def add(self, other: Group) -> None:
        """Add another group's counts to this one (names are left alone)."""
        for f in fields(self):
            if f.name in _NAMES:
                continue
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, list):
                mine.extend(x for x in theirs if x not in mine)
            elif isinstance(mine, set):
                mine |= theirs  # distinct: a visitor in two grids counts once
            elif isinstance(mine, dict):
                for k, v in theirs.items():
                    mine[k] = mine.get(k, 0) + v
            else:
                setattr(self, f.name, mine + theirs)

    def metric(self, name: str) -> Any:
        """The value of the registry's metric *name* (its JSON key) for this group."""
        return metric(name).value(self)

    def to_json(self, level_key: str | None = None) -> dict[str, Any]:
        """The contract shape of one group (keys may be added, never renamed)."""
        out = self._names_json(level_key)
        for m in METRICS:
            if not m.totals_only:
                out[m.name] = m.value(self)
        return out

    def _names_json(self, level_key: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if level_key:
            out[level_key] = self.name
        if level_key == "micro_grid":
            out["community"] = self.community
        else:
            out["micro_grids"] = len(self.micro_grids)
            if level_key != "community":
                out["communities"] = len(self.communities)
        return out


@dataclass
class Summary:
    """The summary of one period at one level.

    Attributes:
        by: the level of ``groups`` (micro-grid, community or street).
        groups: one :class:`Group` per 微网格 / 居民区 / the street.
        totals: everything in scope added up (ratios recomputed).
        overdue_cutoff: open items with a deadline before this are overdue.
        still_due_list / overdue_list: the households still due and the
            overdue items, row by row (only when computed with
            ``details=True``; unmasked — mask with :mod:`visitlog.privacy`);
            their dates (``last_visit``, ``deadline``, ``raised_date``) are
            :class:`datetime.date` values.
    """

    by: str
    date_from: dt.date
    date_to: dt.date
    today: dt.date
    grid: str | None
    street: str
    groups: list[Group]
    totals: Group
    unsynced_changes: int = 0
    open_conflicts: int = 0
    still_due_list: list[dict[str, Any]] | None = None
    overdue_list: list[dict[str, Any]] | None = None
    base: list[Group] = field(default_factory=list, repr=False)

    @property
    def level_key(self) -> str:
        return LEVEL_KEYS[self.by]

    @property
    def overdue_cutoff(self) -> dt.date:
        return min(self.date_to, self.today)

    def group(self, name: str) -> Group | None:
        """The group called *name* at this summary's level, if there is one."""
        return next((g for g in self.groups if g.name == name), None)

    def at(self, by: str) -> Summary:
        """The same summary at another level (rolled up from the 微网格 counts)."""
        by = parse_level(by)
        return Summary(
            by=by,
            date_from=self.date_from,
            date_to=self.date_to,
            today=self.today,
            grid=self.grid,
            street=self.street,
            groups=rollup(self.base, by, self.street),
            totals=self.totals,
            unsynced_changes=self.unsynced_changes,
            open_conflicts=self.open_conflicts,
            still_due_list=self.still_due_list,
            overdue_list=self.overdue_list,
            base=self.base,
        )

    def totals_json(self) -> dict[str, Any]:
        """The totals: every metric, those of the whole database included."""
        out = self.totals._names_json(None)
        for m in METRICS:
            out[m.name] = m.compute(self) if m.totals_only and m.compute else m.value(self.totals)
        return out

    def to_json(self) -> dict[str, Any]:
        """The ``summary`` JSON contract of DESIGN.md."""
        return {
            "period": {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()},
            "by": self.by,
            "grid": self.grid,
            "street": self.street,
            "today": self.today.isoformat(),
            "overdue_cutoff": self.overdue_cutoff.isoformat(),
            "groups": [g.to_json(self.level_key) for g in self.groups],
            "totals": self.totals_json(),
        }


def rollup(base: list[Group], by: str, street: str) -> list[Group]:
    """Add the (居民区, 微网格) groups up to the given level, in natural order."""
    by = parse_level(by)
    out: dict[Any, Group] = {}
    for g in base:
        if by == "micro-grid":
            key: Any = (g.community, g.name)
            name, community = g.name, g.community
        elif by == "community":
            key = g.community
            name, community = g.community, g.community
        else:
            key = street
            name, community = street, None
        target = out.get(key)
        if target is None:
            target = out[key] = Group(name=name, community=community)
        target.add(g)
    return [
        out[k]
        for k in sorted(
            out,
            key=lambda k: (
                (natural_key(k[0]), natural_key(k[1])) if isinstance(k, tuple) else natural_key(k)
            ),
        )
    ]
