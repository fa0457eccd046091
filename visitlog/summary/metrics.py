"""THE metric registry: every figure of the summary, once.

Each :class:`Metric` is one entry of :data:`METRICS`: its name (the JSON
key), its label (an i18n key, so Chinese and English), its kind (a count, a
rate, days, a map of counts, a list), how it rolls up from the parts of a
roll-up (added up, a ratio recomputed from its added numerator and
denominator, distinct names, derived from other figures) and where it is
shown (:data:`VIEWS`).  ``Group.to_json``, every renderer and the TUI's
summary screen read this list; nothing else lists metrics.

The order of :data:`METRICS` is the order of the keys of a group in the JSON
contract (keys may be added at the end, never renamed or moved).

Adding a metric is one entry here plus its SQL: a counter that the aggregate
queries do not compute yet names the query it belongs to and its SQL
expression (:class:`Sql`); the query builder selects it and the roll-up adds
it up without further code (see ``key_on_schedule_rate``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from visitlog.i18n import t
from visitlog.model import Category, Kind, Mode, Outcome, Satisfaction, Tag
from visitlog.summary.views import (
    DAYS_FMT,
    FLAT,
    GRID_PAGE,
    INT,
    MEETING,
    OVERVIEW_ITEMS,
    OVERVIEW_KEY,
    OVERVIEW_RATES,
    OVERVIEW_VISITS,
    PCT,
    SHEET_CATEGORIES,
    SHEET_HANDLING,
    SHEET_MODES,
    SHEET_VISITS,
    TUI_FACTS,
    TUI_GRIDS,
    VIEWS,
    Column,
    Place,
)

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

# -- kinds, roll-ups, formats ------------------------------------------------------------

#: Kinds of metric.
COUNT, RATE, DAYS, MAP, LIST, TABLE, OBJECT = (
    "count",
    "rate",
    "days",
    "map",
    "list",
    "table",
    "object",
)
#: How a metric rolls up: its counts added; a ratio recomputed from its added
#: numerator and denominator (never averaged); distinct names counted once;
#: derived from other added figures; a figure of the whole database (totals only).
SUM, RATIO, DISTINCT, DERIVED, DATABASE = "sum", "ratio", "distinct", "derived", "database"
_FORMATS = {COUNT: INT, MAP: INT, RATE: PCT, DAYS: DAYS_FMT}


def ratio(numerator: int | float, denominator: int | float) -> float | None:
    """numerator ÷ denominator, or None when the denominator is 0 (never an error)."""
    return numerator / denominator if denominator else None


#: The "query" of counters that the planning engine counts (see :class:`Sql`).
PLAN = "plan"


@dataclass(frozen=True)
class Sql:
    """The SQL of a counter the registry adds to an aggregate query.

    Attributes:
        query: ``households`` (a row per 居民区, 微网格 and household state,
            with the household's ``tags``, its ``state`` — ``'visited'``,
            ``'vacant'``, ``'merged'``, ``'deleted'`` or the reason it is
            still due — and the columns of its visits in the period: ``n``,
            ``met``, ``met_months`` …) or
            ``items`` (a row per 居民区, 微网格 and category).
        expr: an aggregate over those rows; ``:date_from``, ``:date_to``,
            ``:cutoff`` and ``:months`` (calendar months the period touches)
            are bound.  For ``plan`` (:data:`PLAN`), the counts come from the
            planning rules' engine instead (:func:`visitlog.plan.on_time_by_grid`,
            rules being data, not SQL text): ``expr`` names the count.
    """

    query: str
    expr: str


@dataclass(frozen=True)
class Metric:
    """One figure of a group (see the module docstring).

    Attributes:
        name: the JSON key.
        label: i18n key of its full label; a map's label takes ``{arg}``.
        kind: count, rate, days, map (counts by ``keys``), list, table, object.
        rollup: sum, ratio, distinct, derived or database (see :data:`SUM`).
        source: the :class:`~visitlog.summary.Group` field it reads (default: name).
        num, den: the figures a ratio divides (metric or field names).
        keys, arg: a map's keys and the name its label gives each key.
        short: i18n key of its short label (the overview tables).
        compute: how a derived (from a group) or database (from the summary)
            figure is made.
        sql: a counter computed by the aggregate queries from this entry alone.
        at: where it is shown, view → :data:`Place`.
        graded: coloured green / yellow / red like coverage.
        totals_only: only in the totals (whole-database figures).
    """

    name: str
    label: str
    kind: str
    rollup: str
    source: str | None = None
    num: str | None = None
    den: str | None = None
    keys: Callable[[], Sequence[str]] | None = None
    arg: str = ""
    short: str | None = None
    compute: Callable[[Any], Any] | None = None
    sql: Sql | None = None
    at: Mapping[str, Place] = field(default_factory=dict)
    graded: bool = False
    totals_only: bool = False

    @property
    def fmt(self) -> str:
        return _FORMATS.get(self.kind, INT)

    def value(self, group: Any) -> Any:
        """The JSON value of this metric for a :class:`~visitlog.summary.Group`."""
        if self.rollup == RATIO:
            top = group.counts.get(self.name, 0) if self.sql else _figure(group, self.num)
            return ratio(top, _figure(group, self.den))
        if self.rollup == DERIVED and self.compute is not None:
            return self.compute(group)
        if self.sql is not None:
            return group.counts.get(self.name, 0)
        raw = getattr(group, self.source or self.name)
        if self.rollup == DISTINCT:
            return len(raw)
        return dict(raw) if isinstance(raw, dict) else raw

    def columns(self, view: str) -> list[Column]:
        """This metric's columns in *view* (a map has one per key), or none."""
        place = self.at.get(view)
        if place is None:
            return []
        own = place[1] if isinstance(place, tuple) else None
        short = VIEWS[view][1]
        key = own or (self.short if short and self.short else self.label)
        if self.kind == TABLE:  # key groups: households and visited per tag
            return [
                Column(
                    (self.name, tag, part), t(f"summary.col.tag_{part}", tag=tag), name=self.name
                )
                for tag in (self.keys() if self.keys else ())
                for part in ("households", "visited")
            ]
        if self.kind == MAP and self.keys is not None:
            return [
                Column((self.name, k), t(key, **{self.arg: k}), self.fmt, self.graded, self.name)
                for k in self.keys()
            ]
        return [Column((self.name,), t(key), self.fmt, self.graded, self.name)]


def _figure(group: Any, name: str | None) -> Any:
    if name is None:
        return 0
    metric = BY_NAME.get(name)
    return metric.value(group) if metric is not None else getattr(group, name)


def _top_categories(group: Any) -> list[dict[str, Any]]:
    """The most frequent categories (ties in the order of the category list)."""
    order = {c: i for i, c in enumerate(Category.choices())}
    ranked = sorted(
        ((c, n) for c, n in group.items_by_category.items() if n),
        key=lambda cn: (-cn[1], order.get(cn[0], len(order))),
    )
    return [{"category": c, "count": n} for c, n in ranked[:TOP_CATEGORIES]]


def _key_groups(group: Any) -> dict[str, dict[str, Any]]:
    """Per tag: due households carrying it, visited, and the share visited."""
    return {
        tag: {
            "households": group.key_groups_households[tag],
            "visited": group.key_groups_visited[tag],
            "coverage": ratio(group.key_groups_visited[tag], group.key_groups_households[tag]),
        }
        for tag in group.key_groups_households
    }


def _health(summary: Any) -> dict[str, int]:
    return {
        "merged_households": summary.totals.merged_households,
        "merged_visits": summary.totals.merged_visits,
        "unsynced_changes": summary.unsynced_changes,
        "open_conflicts": summary.open_conflicts,
    }


def _m(name: str, label: str, kind: str = COUNT, rollup: str = SUM, **kw: Any) -> Metric:
    return Metric(name, f"summary.col.{label}", kind, rollup, **kw)


def _short(key: str) -> str:
    return f"summary.col.{key}_short"


#: Every metric, in the order of a group's JSON keys.
METRICS: tuple[Metric, ...] = (
    _m(
        "households",
        "households",
        short=_short("households"),
        at={
            FLAT: 10,
            MEETING: 10,
            SHEET_VISITS: 30,
            OVERVIEW_VISITS: 10,
            GRID_PAGE: 10,
            TUI_GRIDS: (10, "tui.summary.col.households"),
        },
    ),
    _m(
        "visited_households",
        "visited",
        short=_short("visited"),
        at={FLAT: 20, MEETING: 20, SHEET_VISITS: 40, OVERVIEW_VISITS: 20, GRID_PAGE: 20},
    ),
    _m(
        "coverage",
        "coverage",
        RATE,
        RATIO,
        num="visited_households",
        den="households",
        short=_short("coverage"),
        graded=True,
        at={
            FLAT: 30,
            MEETING: 30,
            OVERVIEW_VISITS: 30,
            GRID_PAGE: 30,
            TUI_GRIDS: (20, "tui.summary.coverage"),
        },
    ),
    _m(
        "visits",
        "visits",
        short=_short("visits"),
        at={
            FLAT: 80,
            MEETING: 60,
            SHEET_VISITS: 70,
            SHEET_MODES: 10,
            OVERVIEW_VISITS: 50,
            GRID_PAGE: 50,
            TUI_FACTS: (20, "tui.summary.visits"),
        },
    ),
    _m(
        "items",
        "kind",
        MAP,
        keys=Kind.choices,
        arg="kind",
        short=_short("kind"),
        at={FLAT: 170, MEETING: 70, OVERVIEW_ITEMS: 10},
    ),
    _m(
        "open_items",
        "open",
        short=_short("open"),
        at={
            FLAT: 190,
            MEETING: 80,
            SHEET_HANDLING: 20,
            OVERVIEW_ITEMS: 20,
            GRID_PAGE: 90,
            TUI_FACTS: (30, "tui.summary.open"),
            TUI_GRIDS: (30, "tui.summary.open"),
        },
    ),
    _m("closed_items", "closed", at={FLAT: 200, SHEET_HANDLING: 30}),
    _m(
        "closure_rate",
        "closure_rate",
        RATE,
        RATIO,
        num="closed_items",
        den="items_total",
        short="summary.col.closure_short",
        at={
            FLAT: 230,
            MEETING: 100,
            SHEET_HANDLING: 60,
            OVERVIEW_RATES: 10,
            GRID_PAGE: 120,
            TUI_FACTS: (50, "tui.summary.closure"),
        },
    ),
    _m(
        "overdue_items",
        "overdue",
        short=_short("overdue"),
        at={
            FLAT: 210,
            MEETING: 90,
            SHEET_HANDLING: 40,
            OVERVIEW_ITEMS: 30,
            GRID_PAGE: 100,
            TUI_FACTS: (40, "tui.summary.overdue"),
            TUI_GRIDS: (40, "tui.summary.overdue"),
        },
    ),
    _m(
        "satisfaction_rate",
        "satisfaction_rate",
        RATE,
        RATIO,
        num="satisfied_items",
        den="rated_items",
        short="summary.col.satisfaction_short",
        at={
            FLAT: 270,
            MEETING: 120,
            SHEET_HANDLING: 110,
            OVERVIEW_RATES: 50,
            GRID_PAGE: 150,
            TUI_FACTS: (60, "tui.summary.satisfaction"),
        },
    ),
    _m("live_households", "live", at={FLAT: 60, SHEET_VISITS: 10}),
    _m("vacant_households", "vacant", at={FLAT: 70, SHEET_VISITS: 20}),
    _m(
        "still_due",
        "still_due",
        short=_short("still_due"),
        at={
            FLAT: 40,
            MEETING: 40,
            SHEET_VISITS: 50,
            OVERVIEW_VISITS: 40,
            GRID_PAGE: 40,
            TUI_FACTS: (10, "tui.summary.still_due"),
        },
    ),
    _m(
        "still_due_reasons",
        "still_due_reason",
        MAP,
        keys=lambda: STILL_DUE_REASONS,
        arg="reason",
        at={FLAT: 50, SHEET_VISITS: 60},
    ),
    _m(
        "visits_by_mode",
        "visits_mode",
        MAP,
        keys=Mode.choices,
        arg="mode",
        at={FLAT: 90, SHEET_MODES: 20},
    ),
    _m(
        "visits_by_outcome",
        "visits_outcome",
        MAP,
        keys=Outcome.choices,
        arg="outcome",
        at={FLAT: 100, SHEET_MODES: 30},
    ),
    _m(
        "active_visitors",
        "visitors",
        rollup=DISTINCT,
        source="visitors",
        short=_short("visitors"),
        at={FLAT: 110, SHEET_VISITS: 80, OVERVIEW_VISITS: 60, GRID_PAGE: 60},
    ),
    _m(
        "key_households",
        "key_households",
        at={FLAT: 120, OVERVIEW_KEY: (10, "summary.col.key_households_short")},
    ),
    _m(
        "key_visited",
        "key_visited",
        at={FLAT: 130, OVERVIEW_KEY: (20, "summary.col.key_visited_short")},
    ),
    _m(
        "key_coverage",
        "key_coverage",
        RATE,
        RATIO,
        num="key_visited",
        den="key_households",
        short=_short("key_coverage"),
        graded=True,
        at={
            FLAT: 140,
            MEETING: 50,
            OVERVIEW_VISITS: 70,
            OVERVIEW_KEY: (30, "summary.col.key_coverage_in_key"),
            GRID_PAGE: 70,
            TUI_FACTS: (70, "tui.summary.key_coverage"),
        },
    ),
    _m(
        "key_groups",
        "tag_households",
        TABLE,
        DERIVED,
        keys=Tag.choices,
        compute=_key_groups,
        at={FLAT: 150},
    ),
    _m(
        "items_total",
        "items",
        at={FLAT: 160, SHEET_CATEGORIES: 10, SHEET_HANDLING: 10, GRID_PAGE: 80},
    ),
    _m(
        "items_by_category",
        "category",
        MAP,
        keys=Category.choices,
        arg="category",
        at={FLAT: 180, SHEET_CATEGORIES: (20, "summary.col.category_short")},
    ),
    _m("top_categories", "top_categories", LIST, DERIVED, compute=_top_categories),
    _m("on_spot_items", "on_spot_items"),
    _m(
        "on_spot_rate",
        "on_spot_rate",
        RATE,
        RATIO,
        num="on_spot_items",
        den="items_total",
        short="summary.col.on_spot_short",
        at={
            FLAT: 220,
            SHEET_HANDLING: 50,
            OVERVIEW_RATES: 20,
            GRID_PAGE: 110,
            TUI_FACTS: (80, "tui.summary.on_spot"),
        },
    ),
    _m("closed_with_deadline", "closed_with_deadline"),
    _m("on_time_items", "on_time_items"),
    _m(
        "on_time_rate",
        "on_time_rate",
        RATE,
        RATIO,
        num="on_time_items",
        den="closed_with_deadline",
        short="summary.col.on_time_short",
        at={FLAT: 240, MEETING: 110, SHEET_HANDLING: 70, OVERVIEW_RATES: 30, GRID_PAGE: 130},
    ),
    _m("closed_with_dates", "closed_with_dates"),
    _m(
        "avg_days_to_close",
        "avg_days",
        DAYS,
        RATIO,
        num="days_to_close_total",
        den="closed_with_dates",
        short="summary.col.avg_days_short",
        at={FLAT: 250, SHEET_HANDLING: 80, OVERVIEW_RATES: 60, GRID_PAGE: 160},
    ),
    _m("fed_back_items", "fed_back_items"),
    _m(
        "feedback_rate",
        "feedback_rate",
        RATE,
        RATIO,
        num="fed_back_items",
        den="closed_items",
        short="summary.col.feedback_short",
        at={FLAT: 260, SHEET_HANDLING: 90, OVERVIEW_RATES: 40, GRID_PAGE: 140},
    ),
    _m(
        "satisfaction",
        "satisfaction",
        MAP,
        keys=Satisfaction.choices,
        arg="value",
        at={FLAT: 280, SHEET_HANDLING: 100},
    ),
    _m(
        "rated_items",
        "rated_items",
        rollup=DERIVED,
        compute=lambda g: sum(g.satisfaction[s] for s in RATED),
    ),
    _m(
        "satisfied_items",
        "satisfied_items",
        rollup=DERIVED,
        compute=lambda g: sum(g.satisfaction[s] for s in SATISFIED),
    ),
    _m("merged_households", "merged_households", at={FLAT: 290, SHEET_VISITS: 90}),
    _m("merged_visits", "merged_visits", at={FLAT: 300, SHEET_VISITS: 100}),
    _m(
        "unsynced_changes",
        "unsynced_changes",
        rollup=DATABASE,
        compute=lambda s: s.unsynced_changes,
        totals_only=True,
    ),
    _m(
        "open_conflicts",
        "open_conflicts",
        rollup=DATABASE,
        compute=lambda s: s.open_conflicts,
        totals_only=True,
    ),
    _m("health", "health", OBJECT, DATABASE, compute=_health, totals_only=True),
    # 重点户逐月走访率: due households carrying a key-group tag that were met
    # (见面) in every calendar month the period touches, ÷ all due households
    # carrying one.  A month only partly inside the period counts with its
    # part inside; visits outside the period never count.
    _m(
        "key_on_schedule_rate",
        "key_on_schedule_rate",
        RATE,
        RATIO,
        den="key_households",
        short=_short("key_on_schedule_rate"),
        graded=True,
        sql=Sql(
            "households",
            "count(*) FILTER (WHERE state = 'visited' AND instr(tags, '\"') > 0"
            " AND met_months >= :months)",
        ),
        at={FLAT: 145, SHEET_VISITS: 85, OVERVIEW_KEY: 40, GRID_PAGE: 75},
    ),
    # 按期 by the street's planning rules (visitlog.plan.ontime): key-group
    # households met within their tags' interval before the period's end, and
    # households whose 特情 deadline fell in the period, followed up by it.
    _m("key_rule_households", "key_rule_households", sql=Sql(PLAN, "key_households")),
    _m(
        "key_on_time_rate",
        "key_on_time_rate",
        RATE,
        RATIO,
        den="key_rule_households",
        short=_short("key_on_time_rate"),
        graded=True,
        sql=Sql(PLAN, "key_on_time"),
        at={FLAT: 146, SHEET_VISITS: 86, OVERVIEW_KEY: 41, GRID_PAGE: 76},
    ),
    _m("special_households", "special_households", sql=Sql(PLAN, "special_households")),
    _m(
        "special_on_time_rate",
        "special_on_time_rate",
        RATE,
        RATIO,
        den="special_households",
        short=_short("special_on_time_rate"),
        graded=True,
        sql=Sql(PLAN, "special_on_time"),
        at={FLAT: 147, SHEET_VISITS: 87, OVERVIEW_KEY: 42, GRID_PAGE: 77},
    ),
)

#: The metrics by name.
BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}


def metric(name: str) -> Metric:
    """The metric called *name* (its JSON key)."""
    return BY_NAME[name]


def columns(view: str, metrics: Iterable[Metric] = METRICS) -> list[Column]:
    """The columns of *view*, in its order (each metric's :attr:`Metric.at`)."""
    placed = []
    for m in metrics:
        place = m.at.get(view)
        if place is not None:
            placed.append((place[0] if isinstance(place, tuple) else place, m))
    return [c for _, m in sorted(placed, key=lambda pm: pm[0]) for c in m.columns(view)]


def view_title(view: str) -> str:
    """The heading of *view* in the current language."""
    key = VIEWS[view][0]
    return t(key) if key else ""


def sql_counters(query: str) -> list[Metric]:
    """The registry's own counters of an aggregate query (``households`` or ``items``)."""
    return [m for m in METRICS if m.sql is not None and m.sql.query == query]
