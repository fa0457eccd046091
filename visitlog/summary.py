"""The meeting's figures per 微网格, rolled up to 居民区 and 街道, as plain data.

Everything here is computed by SQL aggregates over the Store's connection:
one pass over the period's visits (per household, then per group), one over
its list items, one for the visitors; Python only adds up the few hundred
group rows for the roll-ups.  Rendering lives in :mod:`visitlog.render`.

Definitions (see DOMAIN.md, "What the meeting looks at"):

* **Live** household: not deleted and not merged into another.  应访户数
  (``households``) = live households that are not vacant (居住状态 空置).
* 已访户数 (``visited_households``): households due that a live visit (not
  deleted, not merged) met (outcome 见面) in the period, both dates inclusive.
  走访覆盖率 (``coverage``) = visited ÷ due, ``None`` when nothing is due.
* Still due = due − visited.  Each one gets one reason, in this order: 拒访
  when any visit of the period was refused, else 不在家, else 已搬离 (offer to
  mark it 空置), else 未走访 (no attempt in the period).
* Visits: live visits of live households dated in the period, by mode and by
  outcome; active visitors = distinct visitor names among them (not additive:
  a roll-up counts each name once).
* 重点人群: per tag, due households carrying it and how many were visited.
* List items: live items (of live visits and households) *raised* in the
  period, with their current status.  Closed = 已办结 / 已反馈 / 无法解决.
  当场解决 = closed on the day raised; 办结率 = closed ÷ raised; 按时办结率 =
  closed on or before the deadline ÷ closed with a deadline; overdue = open
  (待办 / 办理中) with a deadline before the *overdue cut-off*, which is the end
  of the period or today, whichever is earlier; average days to close over
  closed items with both dates; 反馈率 = 已反馈 ÷ closed; 满意率 = (满意 +
  基本满意) ÷ rated (满意 / 基本满意 / 不满意).
* Data health: households and visits merged as duplicates (per group, by the
  merged record's own grid); changes not yet synced and conflicts waiting
  for review (whole database, in the totals only).

Roll-ups add the counts of their parts and recompute every ratio from the
added numerators and denominators; no ratio is ever averaged.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from typing import Any

from visitlog.i18n import t
from visitlog.model import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Category,
    Kind,
    Mode,
    Occupancy,
    Outcome,
    Satisfaction,
    Status,
    Tag,
    ValidationError,
    VisitlogError,
    parse_date,
)
from visitlog.order import natural_key
from visitlog.rows import live

#: The levels of the summary, finest first, and the JSON key naming a group.
LEVELS = ("micro-grid", "community", "street")
LEVEL_KEYS = {"micro-grid": "micro_grid", "community": "community", "street": "street"}
_LEVEL_ALIASES = {
    "micro-grid": "micro-grid",
    "micro_grid": "micro-grid",
    "microgrid": "micro-grid",
    "grid": "micro-grid",
    "微网格": "micro-grid",
    "community": "community",
    "居民区": "community",
    "street": "street",
    "街道": "street",
}
#: Reasons a household is still due, in the order they are decided.
NOT_VISITED = "未走访"
STILL_DUE_REASONS = (
    Outcome.REFUSED.value,
    Outcome.NOT_HOME.value,
    Outcome.MOVED.value,
    NOT_VISITED,
)
#: Satisfaction values that count as rated, and those that count as satisfied.
RATED = (Satisfaction.SATISFIED.value, Satisfaction.MOSTLY.value, Satisfaction.UNSATISFIED.value)
SATISFIED = (Satisfaction.SATISFIED.value, Satisfaction.MOSTLY.value)
#: How many categories ``top_categories`` lists.
TOP_CATEGORIES = 3


def ratio(numerator: int | float, denominator: int | float) -> float | None:
    """numerator ÷ denominator, or None when the denominator is 0 (never an error)."""
    return numerator / denominator if denominator else None


def parse_level(text: str | None) -> str:
    """Accept micro-grid|community|street (also 微网格|居民区|街道).

    Raises:
        ValidationError: naming the accepted values.
    """
    key = (text or "micro-grid").strip().lower()
    if key not in _LEVEL_ALIASES:
        raise ValidationError(t("summary.err.by", value=text, accepted="|".join(LEVELS)))
    return _LEVEL_ALIASES[key]


def resolve_period(
    date_from: str | dt.date | None,
    date_to: str | dt.date | None,
    today: dt.date | None = None,
) -> tuple[dt.date, dt.date]:
    """The period, both ends inclusive.

    Defaults: ``to`` is today; ``from`` is 1 January of the year of ``to``
    (so the default is the current calendar year up to today).

    Raises:
        ValidationError: a date that is not a date, or from after to.
    """
    today = today or dt.date.today()
    end = parse_date(date_to, "date_to") or today
    start = parse_date(date_from, "date_from") or dt.date(end.year, 1, 1)
    if start > end:
        raise ValidationError(
            t("summary.err.period", date_from=start.isoformat(), date_to=end.isoformat())
        )
    return start, end


def _zeros(keys: Iterable[str]) -> dict[str, int]:
    return dict.fromkeys(keys, 0)


@dataclass
class Group:
    """Counts of one group (a 微网格, a 居民区, the street or the totals).

    Every field but the names and ``visitors`` is additive; the ratios are
    properties computed from them, so a roll-up made with :meth:`add` is
    exact.
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

    # -- roll-up --------------------------------------------------------------

    def add(self, other: Group) -> None:
        """Add another group's counts to this one (names are left alone)."""
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if f.name in ("name", "community"):
                continue
            if f.name in ("micro_grids", "communities"):
                mine.extend(x for x in theirs if x not in mine)
            elif isinstance(mine, set):
                mine |= theirs
            elif isinstance(mine, dict):
                for k, v in theirs.items():
                    mine[k] = mine.get(k, 0) + v
            else:
                setattr(self, f.name, mine + theirs)

    # -- ratios ---------------------------------------------------------------

    @property
    def coverage(self) -> float | None:
        """走访覆盖率 = visited ÷ due."""
        return ratio(self.visited_households, self.households)

    @property
    def key_coverage(self) -> float | None:
        """重点户走访率 = key-group households visited ÷ key-group households due."""
        return ratio(self.key_visited, self.key_households)

    @property
    def active_visitors(self) -> int:
        return len(self.visitors)

    @property
    def closure_rate(self) -> float | None:
        """办结率 = closed ÷ raised."""
        return ratio(self.closed_items, self.items_total)

    @property
    def on_spot_rate(self) -> float | None:
        """当场解决率 = closed on the day raised ÷ raised."""
        return ratio(self.on_spot_items, self.items_total)

    @property
    def on_time_rate(self) -> float | None:
        """按时办结率 = closed by the deadline ÷ closed with a deadline."""
        return ratio(self.on_time_items, self.closed_with_deadline)

    @property
    def avg_days_to_close(self) -> float | None:
        return ratio(self.days_to_close_total, self.closed_with_dates)

    @property
    def feedback_rate(self) -> float | None:
        """反馈率 = 已反馈 ÷ closed."""
        return ratio(self.fed_back_items, self.closed_items)

    @property
    def rated_items(self) -> int:
        return sum(self.satisfaction[s] for s in RATED)

    @property
    def satisfied_items(self) -> int:
        return sum(self.satisfaction[s] for s in SATISFIED)

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率 = (满意 + 基本满意) ÷ rated."""
        return ratio(self.satisfied_items, self.rated_items)

    @property
    def top_categories(self) -> list[tuple[str, int]]:
        """The most frequent categories (ties in the order of the category list)."""
        order = {c: i for i, c in enumerate(Category.choices())}
        ranked = sorted(
            ((c, n) for c, n in self.items_by_category.items() if n),
            key=lambda cn: (-cn[1], order.get(cn[0], len(order))),
        )
        return ranked[:TOP_CATEGORIES]

    def key_groups(self) -> dict[str, dict[str, Any]]:
        """Per tag: due households carrying it, visited, and the share visited."""
        return {
            tag: {
                "households": self.key_groups_households[tag],
                "visited": self.key_groups_visited[tag],
                "coverage": ratio(self.key_groups_visited[tag], self.key_groups_households[tag]),
            }
            for tag in self.key_groups_households
        }

    def to_json(self, level_key: str | None = None) -> dict[str, Any]:
        """The contract shape of one group (keys may be added, never renamed)."""
        out: dict[str, Any] = {}
        if level_key:
            out[level_key] = self.name
        if level_key == "micro_grid":
            out["community"] = self.community
        else:
            out["micro_grids"] = len(self.micro_grids)
            if level_key != "community":
                out["communities"] = len(self.communities)
        out |= {
            "households": self.households,
            "visited_households": self.visited_households,
            "coverage": self.coverage,
            "visits": self.visits,
            "items": dict(self.items),
            "open_items": self.open_items,
            "closed_items": self.closed_items,
            "closure_rate": self.closure_rate,
            "overdue_items": self.overdue_items,
            "satisfaction_rate": self.satisfaction_rate,
            "live_households": self.live_households,
            "vacant_households": self.vacant_households,
            "still_due": self.still_due,
            "still_due_reasons": dict(self.still_due_reasons),
            "visits_by_mode": dict(self.visits_by_mode),
            "visits_by_outcome": dict(self.visits_by_outcome),
            "active_visitors": self.active_visitors,
            "key_households": self.key_households,
            "key_visited": self.key_visited,
            "key_coverage": self.key_coverage,
            "key_groups": self.key_groups(),
            "items_total": self.items_total,
            "items_by_category": dict(self.items_by_category),
            "top_categories": [{"category": c, "count": n} for c, n in self.top_categories],
            "on_spot_items": self.on_spot_items,
            "on_spot_rate": self.on_spot_rate,
            "closed_with_deadline": self.closed_with_deadline,
            "on_time_items": self.on_time_items,
            "on_time_rate": self.on_time_rate,
            "closed_with_dates": self.closed_with_dates,
            "avg_days_to_close": self.avg_days_to_close,
            "fed_back_items": self.fed_back_items,
            "feedback_rate": self.feedback_rate,
            "satisfaction": dict(self.satisfaction),
            "rated_items": self.rated_items,
            "satisfied_items": self.satisfied_items,
            "merged_households": self.merged_households,
            "merged_visits": self.merged_visits,
        }
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

    def to_json(self) -> dict[str, Any]:
        """The ``summary`` JSON contract of DESIGN.md."""
        totals = self.totals.to_json()
        totals |= {
            "unsynced_changes": self.unsynced_changes,
            "open_conflicts": self.open_conflicts,
            "health": {
                "merged_households": self.totals.merged_households,
                "merged_visits": self.totals.merged_visits,
                "unsynced_changes": self.unsynced_changes,
                "open_conflicts": self.open_conflicts,
            },
        }
        return {
            "period": {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()},
            "by": self.by,
            "grid": self.grid,
            "street": self.street,
            "today": self.today.isoformat(),
            "overdue_cutoff": self.overdue_cutoff.isoformat(),
            "groups": [g.to_json(self.level_key) for g in self.groups],
            "totals": totals,
        }


# -- natural order of grid names ------------------------------------------------


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


# -- the queries ------------------------------------------------------------------
#
# Enumeration values are the model's own fixed strings, written into the SQL
# as literals (so each conditional sum is a plain comparison); everything a
# user gives (dates, the grid) is a bound parameter.

#: A live household / a live visit (the partial indexes hold exactly these).
_LIVE_H = live("h")
_LIVE_V = live()
#: Deleted or merged visits (few; the partial index ``visits_dead`` holds
#: them): an item of one of these does not count.  Items are tombstoned with
#: their visit and live on the survivor of a merge (``live_visit``), so this
#: rarely excludes anything.
_DEAD_VISITS = (
    "SELECT id FROM visits INDEXED BY visits_dead WHERE deleted != 0 OR merged_into IS NOT NULL"
)
#: Used when no 街道 can be named from the data.
ALL = "全部"
_STREET = re.compile(r"^(?:上海市?)?(?:[^区]{1,4}区)?(.{1,8}?街道)")


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _count(condition: str, alias: str) -> str:
    # count(*) FILTER skips the aggregate step for rows that do not match:
    # about twice as fast as sum(condition) over a district's visits.
    return f"count(*) FILTER (WHERE {condition}) AS {alias}"


def _in(values: Iterable[Any]) -> str:
    return "(" + ", ".join(_lit(str(v)) for v in values) + ")"


def _per_household_visits_sql(with_last: bool = False) -> str:
    """Per household: its live visits in the period, by outcome and by mode.

    Reads only the covering partial index ``visits_summary`` (m006), in
    household order, so the GROUP BY needs no sort.
    """
    modes = ", ".join(
        _count(f"mode = {_lit(m)}", f"mode_{i}") for i, m in enumerate(Mode.choices())
    )
    last = ", max(visit_date) AS last_visit" if with_last else ""
    return f"""
        SELECT live_household AS household_id, count(*) AS n,
               {_count(f"outcome = {_lit(Outcome.MET.value)}", "met")},
               {_count(f"outcome = {_lit(Outcome.NOT_HOME.value)}", "not_home")},
               {_count(f"outcome = {_lit(Outcome.REFUSED.value)}", "refused")},
               {_count(f"outcome = {_lit(Outcome.MOVED.value)}", "moved")},
               {modes}{last}
        FROM visits INDEXED BY visits_summary
        WHERE {_LIVE_V} AND visit_date BETWEEN :date_from AND :date_to
        GROUP BY live_household
    """


#: The still-due reason of a household joined with its visit counts (hv).
_REASON = f"""
    CASE WHEN hv.met > 0 THEN NULL
         WHEN hv.refused > 0 THEN {_lit(Outcome.REFUSED.value)}
         WHEN hv.not_home > 0 THEN {_lit(Outcome.NOT_HOME.value)}
         WHEN hv.moved > 0 THEN {_lit(Outcome.MOVED.value)}
         ELSE {_lit(NOT_VISITED)} END
"""
#: What a household row is for the summary (a merged tombstone may also be
#: marked deleted: it counts as merged).
_MERGED, _DELETED, _VACANT, _VISITED = "merged", "deleted", "vacant", "visited"
_STATE = f"""
    CASE WHEN h.merged_into IS NOT NULL THEN '{_MERGED}'
         WHEN h.deleted != 0 THEN '{_DELETED}'
         WHEN h.occupancy = {_lit(Occupancy.VACANT.value)} THEN '{_VACANT}'
         WHEN hv.met > 0 THEN '{_VISITED}'
         ELSE {_REASON} END
"""
_OUTCOME_COLS = {
    Outcome.MET.value: "met",
    Outcome.NOT_HOME.value: "not_home",
    Outcome.REFUSED.value: "refused",
    Outcome.MOVED.value: "moved",
}


def _households_sql(grid_filter: str) -> str:
    """Per (居民区, 微网格, state of the household): households, their visits, tags.

    Grouping by the state as well (visited, each still-due reason, vacant,
    deleted, merged) keeps the number of aggregates per row small; the few
    rows per grid are added up into a :class:`Group` afterwards.
    """
    modes = [f"sum(mode_{i}) AS mode_{i}" for i in range(len(Mode.choices()))]
    # Tags are a JSON array of UTF-8 strings (the Store writes them with
    # ensure_ascii=False), so instr() on the quoted tag finds one exactly.
    tags = [
        _count(f"instr(tags, {_lit(chr(34) + tag + chr(34))}) > 0", f"tag_{i}")
        for i, tag in enumerate(Tag.choices())
    ]
    outcomes = [f"sum({col}) AS {col}" for col in _OUTCOME_COLS.values()]
    tagged = _count("instr(tags, '\"') > 0", "tagged")
    hv_modes = ", ".join(f"hv.mode_{i}" for i in range(len(Mode.choices())))
    return f"""
        WITH hv AS MATERIALIZED ({_per_household_visits_sql()})
        SELECT community, micro_grid, state, count(*) AS households,
               {tagged}, sum(n) AS visits,
               {", ".join(outcomes)}, {", ".join(modes)}, {", ".join(tags)}
        FROM (
            SELECT h.community, h.micro_grid, h.tags, {_STATE} AS state,
                   hv.n, hv.met, hv.not_home, hv.refused, hv.moved, {hv_modes}
            FROM households h INDEXED BY households_summary
            LEFT JOIN hv ON hv.household_id = h.id
            WHERE 1 = 1 {grid_filter}
        )
        GROUP BY community, micro_grid, state
    """


def _items_sql(grid_filter: str) -> str:
    """Per (居民区, 微网格, category): the live items raised in the period."""
    closed, open_ = _in(s.value for s in CLOSED_STATUSES), _in(s.value for s in OPEN_STATUSES)
    cols = [
        "count(*) AS items_total",
        _count("open", "open_items"),
        _count("closed", "closed_items"),
        _count("closed AND closed_date = raised_date", "on_spot_items"),
        _count("closed AND deadline IS NOT NULL", "closed_with_deadline"),
        _count("closed AND deadline IS NOT NULL AND closed_date <= deadline", "on_time_items"),
        _count("open AND deadline IS NOT NULL AND deadline < :cutoff", "overdue_items"),
        _count(
            "closed AND closed_date IS NOT NULL AND raised_date IS NOT NULL", "closed_with_dates"
        ),
        "total(julianday(closed_date) - julianday(raised_date)) FILTER (WHERE closed)"
        " AS days_to_close_total",
        _count(f"status = {_lit(Status.FED_BACK.value)}", "fed_back_items"),
    ]
    cols += [_count(f"kind = {_lit(k)}", f"kind_{i}") for i, k in enumerate(Kind.choices())]
    cols += [_count(f"satisfaction = {_lit(s)}", f"sat_{i}") for i, s in enumerate(RATED)]
    return f"""
        SELECT community, micro_grid, category, {", ".join(cols)}
        FROM (
            SELECT h.community, h.micro_grid, i.kind, i.category, i.status, i.satisfaction,
                   i.deadline, i.raised_date, i.closed_date,
                   i.status IN {closed} AS closed, i.status IN {open_} AS open
            FROM items i INDEXED BY items_summary
            JOIN households h INDEXED BY households_summary ON h.id = i.live_household
            WHERE i.deleted = 0 AND i.raised_date BETWEEN :date_from AND :date_to
              AND i.live_visit IS NOT NULL AND i.live_visit NOT IN ({_DEAD_VISITS})
              AND {_LIVE_H} {grid_filter}
        )
        GROUP BY community, micro_grid, category
    """


def _visitors_sql(grid_filter: str) -> str:
    """Distinct (居民区, 微网格, visitor) of the period's live visits."""
    return f"""
        SELECT DISTINCT h.community, h.micro_grid, v.visitor
        FROM visits v INDEXED BY visits_summary
        JOIN households h INDEXED BY households_summary ON h.id = v.live_household
        WHERE {live("v")}
          AND v.visit_date BETWEEN :date_from AND :date_to AND {_LIVE_H} {grid_filter}
    """


def _merged_visits_sql(grid_filter: str) -> str:
    return f"""
        SELECT h.community, h.micro_grid, count(*) AS merged_visits
        FROM visits v INDEXED BY visits_merged
        JOIN households h ON h.id = v.live_household
        WHERE v.merged_into IS NOT NULL {grid_filter}
        GROUP BY h.community, h.micro_grid
    """


#: From this many household rows on, the aggregate queries run side by side
#: on their own read-only connections (one per query, so SQLite works on
#: several cores); below it, one connection is quicker than opening more.
PARALLEL_FROM_ROWS = 20_000


def _fetch(conn: sqlite3.Connection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cur = conn.execute(sql, params)
    names = [d[0] for d in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def run_queries(store: Any, queries: list[str], params: dict[str, Any]) -> list[list[Any]]:
    """Run read-only aggregate queries, in parallel on a large database.

    Each parallel query reads its own consistent snapshot; a write committed
    while they run may be seen by some and not others, which a summary can
    live with (the next one sees it everywhere).  If the extra connections
    cannot be opened (an unusual file system, say), the queries run one
    after another on the Store's connection.
    """
    size = store.scalar("SELECT max(rowid) FROM households") or 0
    if size >= PARALLEL_FROM_ROWS and len(queries) > 1:

        def run(sql: str) -> list[dict[str, Any]]:
            with store.reader() as conn:
                return _fetch(conn, sql, params)

        try:
            with ThreadPoolExecutor(max_workers=len(queries)) as pool:
                return list(pool.map(run, queries))
        except sqlite3.Error:
            pass  # fall back to the Store's own connection below
    try:
        return [store.query(sql, params) for sql in queries]
    except VisitlogError:
        if not _has_summary_indexes(store):
            # A database whose m006 indexes were dropped or never made:
            # slower without them, but the same figures.
            return [store.query(_INDEXED_BY.sub("", sql), params) for sql in queries]
        raise


_INDEXED_BY = re.compile(r"\bINDEXED BY \w+")


def _has_summary_indexes(store: Any) -> bool:
    names = {r["name"] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
    return {
        "visits_summary",
        "visits_dead",
        "visits_merged",
        "households_summary",
        "items_summary",
    } <= names


_ITEM_COUNTS = (
    "items_total",
    "open_items",
    "closed_items",
    "on_spot_items",
    "closed_with_deadline",
    "on_time_items",
    "overdue_items",
    "closed_with_dates",
    "fed_back_items",
)


def _base_groups(
    households: list[Any], items: list[Any], visitors: list[Any], merged: list[Any]
) -> list[Group]:
    """The (居民区, 微网格) groups with every count, from the four aggregate queries.

    The queries return a few rows per grid (one per household state, one
    per item category); adding those up here is the only work Python does.
    """
    groups: dict[tuple[str | None, str], Group] = {}

    def group(row: Any) -> Group:
        key = (row["community"], row["micro_grid"])
        g = groups.get(key)
        if g is None:
            g = groups[key] = Group(
                name=row["micro_grid"],
                community=row["community"],
                micro_grids=[row["micro_grid"]],
                communities=[row["community"]],
            )
        return g

    modes, tags = Mode.choices(), Tag.choices()
    for r in households:
        g, state, count = group(r), r["state"], r["households"]
        if state == _MERGED:
            g.merged_households += count
            continue
        if state == _DELETED:
            continue
        g.live_households += count
        g.visits += r["visits"] or 0
        for outcome, col in _OUTCOME_COLS.items():
            g.visits_by_outcome[outcome] += r[col] or 0
        for i, mode in enumerate(modes):
            g.visits_by_mode[mode] += r[f"mode_{i}"] or 0
        if state == _VACANT:
            g.vacant_households += count
            continue
        g.households += count
        g.key_households += r["tagged"]
        for i, tag in enumerate(tags):
            g.key_groups_households[tag] += r[f"tag_{i}"]
        if state == _VISITED:
            g.visited_households += count
            g.key_visited += r["tagged"]
            for i, tag in enumerate(tags):
                g.key_groups_visited[tag] += r[f"tag_{i}"]
        else:
            g.still_due += count
            g.still_due_reasons[state] += count

    for r in items:
        g = group(r)
        for name in _ITEM_COUNTS:
            setattr(g, name, getattr(g, name) + (r[name] or 0))
        g.days_to_close_total += float(r["days_to_close_total"] or 0.0)
        category = r["category"]
        g.items_by_category[category] = g.items_by_category.get(category, 0) + r["items_total"]
        for i, kind in enumerate(Kind.choices()):
            g.items[kind] += r[f"kind_{i}"] or 0
        rated = 0
        for i, sat in enumerate(RATED):
            g.satisfaction[sat] += r[f"sat_{i}"] or 0
            rated += r[f"sat_{i}"] or 0
        g.satisfaction[Satisfaction.UNRATED.value] += r["items_total"] - rated

    for r in visitors:
        group(r).visitors.add(r["visitor"])

    for r in merged:
        group(r).merged_visits = r["merged_visits"]

    return list(groups.values())


def street_name(store: Any) -> str:
    """The 街道 the data belongs to, or 全部 when it names none or several.

    The ``street`` setting wins; otherwise the 街道 names written at the start
    of addresses (上海市普陀区曹杨新村街道…) are read, and used when exactly one
    street appears.
    """
    configured = (store.get_setting("street") or "").strip()
    if configured:
        return configured
    rows = store.query(
        "SELECT DISTINCT substr(address, 1, instr(address, '街道') + 1) AS prefix "
        f"FROM households WHERE {live()} "
        "AND instr(address, '街道') > 0 LIMIT 50"
    )
    names = {m.group(1) for r in rows if (m := _STREET.match(r["prefix"] or ""))}
    return names.pop() if len(names) == 1 else ALL


def _still_due_sql(grid_filter: str) -> str:
    """Due households not met in the period, with their reason and last attempt."""
    return f"""
        WITH hv AS ({_per_household_visits_sql(with_last=True)})
        SELECT h.id, h.community, h.micro_grid, h.address, h.head, h.phone, h.tags,
               hv.last_visit, {_REASON} AS reason
        FROM households h LEFT JOIN hv ON hv.household_id = h.id
        WHERE {_LIVE_H} AND h.occupancy != {_lit(Occupancy.VACANT.value)}
          AND coalesce(hv.met, 0) = 0 {grid_filter}
        ORDER BY h.community, h.micro_grid, h.address_key, h.address, h.id
    """


def _overdue_sql(grid_filter: str) -> str:
    """Open items raised in the period whose deadline is before the cut-off."""
    return f"""
        SELECT i.id, h.community, h.micro_grid, h.address, i.kind, i.category,
               i.description, i.status, i.owner, i.deadline, i.raised_date,
               CAST(julianday(:cutoff) - julianday(i.deadline) AS INTEGER) AS days_overdue
        FROM items i
        JOIN visits v ON v.id = i.live_visit
        JOIN households h ON h.id = i.live_household
        WHERE i.deleted = 0 AND i.raised_date BETWEEN :date_from AND :date_to
          AND {live("v")} AND {_LIVE_H}
          AND i.status IN {_in(s.value for s in OPEN_STATUSES)}
          AND i.deadline IS NOT NULL AND i.deadline < :cutoff {grid_filter}
        ORDER BY h.community, h.micro_grid, i.deadline, i.id
    """


def _as_date(value: Any) -> dt.date | str | None:
    """A stored ISO date as a date (what a spreadsheet shows as one); anything else as it is."""
    if not isinstance(value, str):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return value  # a malformed stored value is shown as written, never an error


def _still_due_rows(rows: list[Any]) -> list[dict[str, Any]]:
    return [
        {**dict(r), "tags": json.loads(r["tags"] or "[]"), "last_visit": _as_date(r["last_visit"])}
        for r in rows
    ]


def _overdue_rows(rows: list[Any]) -> list[dict[str, Any]]:
    return [
        {**dict(r), "deadline": _as_date(r["deadline"]), "raised_date": _as_date(r["raised_date"])}
        for r in rows
    ]


def compute_summary(
    store: Any,
    by: str = "micro-grid",
    date_from: str | dt.date | None = None,
    date_to: str | dt.date | None = None,
    grid: str | None = None,
    today: dt.date | None = None,
    details: bool = False,
) -> Summary:
    """The meeting's figures for a period, per 微网格 / 居民区 / the street.

    Args:
        store: an open :class:`~visitlog.store.Store`.
        by: micro-grid, community or street.
        date_from, date_to: the period, both inclusive (default: 1 January
            of the year of ``date_to`` up to today).
        grid: only this 微网格.
        today: the date taken as today (overdue cut-off, default period).
        details: also list the households still due and the overdue items.

    Raises:
        ValidationError: a bad level or date, from after to, an unknown grid.
    """
    by = parse_level(by)
    today = today or dt.date.today()
    start, end = resolve_period(date_from, date_to, today)
    grid = (grid or "").strip() or None
    params = {
        "date_from": start.isoformat(),
        "date_to": end.isoformat(),
        "cutoff": min(end, today).isoformat(),
        "grid": grid,
    }
    grid_filter = " AND h.micro_grid = :grid" if grid is not None else ""
    queries = [
        _households_sql(grid_filter),
        _items_sql(grid_filter),
        _visitors_sql(grid_filter),
        _merged_visits_sql(grid_filter),
    ]
    if details:
        queries += [_still_due_sql(grid_filter), _overdue_sql(grid_filter)]
    results = run_queries(store, queries, params)
    base = _base_groups(*results[:4])
    if grid is not None and not base:
        store.check_grid(grid)  # a typo: raises, naming the closest grids
        raise ValidationError(t("summary.err.grid", grid=grid))
    street = street_name(store)
    totals = Group(name=street)
    for g in base:
        totals.add(g)
    summary = Summary(
        by=by,
        date_from=start,
        date_to=end,
        today=today,
        grid=grid,
        street=street,
        groups=rollup(base, by, street),
        totals=totals,
        unsynced_changes=store.unsynced_count(),
        open_conflicts=store.scalar("SELECT count(*) FROM conflicts WHERE resolved = 0") or 0,
        base=base,
    )
    if details:
        summary.still_due_list = _still_due_rows(results[4])
        summary.overdue_list = _overdue_rows(results[5])
    return summary
