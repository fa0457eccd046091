"""The summary's SQL: the aggregate queries, running them, and their rows as groups.

Everything is computed by SQL aggregates over the Store's connections;
Python only adds up the few rows per grid into
:class:`~visitlog.summary.rollup.Group` s.  Counters of the metric registry
that carry their own SQL (:class:`~visitlog.summary.metrics.Sql`) are
selected and added up here without further code.

Two ways to the same figures:

* **From the kept totals** (the default, :func:`_kept_queries`): the Store
  keeps, month by month, what each grid's visits and items add up to, and
  per household the months it was met, refused, not at home or moved
  (:mod:`visitlog.store.totals`).  The period's whole months are read from
  them, brought up to date first; the days of a month not whole (its edges)
  from the records.  One pass over the households and their marks, and a few
  thousand rows of totals.
* **From every record** (:func:`_read_queries`: a copy made to be summed up
  once, a read-only file, a busy one): one pass over the period's visits
  (per household, then per group, with who made them), one over its items.

``tests/test_summary_totals.py`` compares the two after everything an office
does to its records.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from visitlog.grids import check_grid
from visitlog.i18n import t
from visitlog.model import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Kind,
    Mode,
    Occupancy,
    Outcome,
    Satisfaction,
    Status,
    Tag,
    ValidationError,
    VisitlogError,
)
from visitlog.plan import on_time_by_grid
from visitlog.rows import live
from visitlog.store import DB_ERRORS
from visitlog.store.totals import (
    CATEGORIES,
    DEAD_VISITS,
    ITEM_FLAGS,
    KINDS,
    MARK_SHIFT,
    MODES,
    OUTCOMES,
    SATISFACTIONS,
    YEARS,
    q,
)
from visitlog.summary.metrics import NOT_VISITED, PLAN, RATED, sql_counters
from visitlog.summary.periods import months_in_period, parse_level, resolve_period
from visitlog.summary.rollup import Group, Summary, rollup

# -- the queries ------------------------------------------------------------------
#
# Enumeration values are the model's own fixed strings, written into the SQL
# as literals (so each conditional sum is a plain comparison); everything a
# user gives (dates, the grid) is a bound parameter.

#: A live household / a live visit (the partial indexes hold exactly these).
_LIVE_H = live("h")
_LIVE_V = live()
#: The columns of the synced tables a summary reads: its aggregates, the
#: planning counts and the street's name.  A copy made only to be summed up
#: (``summary --hub``) need hold no more; ``tests/test_summary_plan_metrics.py``
#: asks SQLite which columns the queries read.
READS = {
    "households": (
        "id", "community", "micro_grid", "address", "tags", "occupancy", "deleted", "merged_into",
    ),
    "visits": (
        "id", "live_household", "visit_date", "visitor", "mode", "outcome", "deleted",
        "merged_into",
    ),
    "items": (
        "live_household", "live_visit", "kind", "category", "status", "satisfaction",
        "deadline", "raised_date", "closed_date", "deleted",
    ),
}  # fmt: skip
#: ... and with the lists of households still due and overdue items (``details``).
DETAIL_READS = {
    **READS,
    "households": (*READS["households"], "address_key", "head", "phone"),
    "items": (*READS["items"], "id", "description", "owner"),
}
#: Indexes of the Store a summary's statements never use (``tests/
#: test_summary_plan_metrics.py`` asks SQLite's query plans): a copy made
#: only to be summed up is written without them (see
#: :func:`visitlog.sync.copy_replica`).
COPY_LEAVES_OUT = (
    "visits_household",
    "visits_date",
    "visits_merged_into",
    "items_visit",
    "items_household",
    "items_live_visit",
    "items_open",
    "households_grids",
    "households_ref",
    "households_ref_live",
    "households_address_key",
    "households_merged_into",
    "households_head",
    "households_numbers",
)
#: ... and those only the lists of overdue items and households still due
#: (``details``) are read through.
DETAIL_INDEXES = ("items_status",)


def copy_plan(details: bool) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """What a copy made only to be summed up needs: ``(columns by table,
    indexes to leave out)``, with or without the lists (*details*)."""
    if details:
        return DETAIL_READS, COPY_LEAVES_OUT
    return READS, (*COPY_LEAVES_OUT, *DETAIL_INDEXES)


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


def _per_household_visits_sql(
    with_last: bool = False, with_visitors: bool = False, days: str | None = None
) -> str:
    """Per household: its live visits in the period (or on the *days* a
    condition on ``visit_date`` names, read through the index of dates), by
    outcome and by mode.

    ``met_months``: in how many calendar months of the period it was met.
    ``visitors`` (*with_visitors*): who made them, a JSON array (a name
    repeated as often as they visited).

    Reads only the covering partial index ``visits_summary`` (m006), in
    household order, so the GROUP BY needs no sort.
    """
    modes = ", ".join(
        _count(f"mode = {_lit(m)}", f"mode_{i}") for i, m in enumerate(Mode.choices())
    )
    last = ", max(visit_date) AS last_visit" if with_last else ""
    if with_visitors:
        last += ", json_group_array(visitor) AS visitors"
    return f"""
        SELECT live_household AS household_id, count(*) AS n,
               {_count(f"outcome = {_lit(Outcome.MET.value)}", "met")},
               {_count(f"outcome = {_lit(Outcome.NOT_HOME.value)}", "not_home")},
               {_count(f"outcome = {_lit(Outcome.REFUSED.value)}", "refused")},
               {_count(f"outcome = {_lit(Outcome.MOVED.value)}", "moved")},
               count(DISTINCT substr(visit_date, 1, 7))
                   FILTER (WHERE outcome = {_lit(Outcome.MET.value)}) AS met_months,
               {modes}{last}
        FROM visits INDEXED BY {"visits_summary" if days is None else "visits_date"}
        WHERE {_LIVE_V} AND {days or "visit_date BETWEEN :date_from AND :date_to"}
        GROUP BY live_household
    """


def _reason(hv: str = "hv.") -> str:
    """The still-due reason of a household from its visits' counts (columns
    ``met``, ``refused``, ``not_home``, ``moved`` prefixed with *hv*)."""
    return f"""
    CASE WHEN {hv}met > 0 THEN NULL
         WHEN {hv}refused > 0 THEN {_lit(Outcome.REFUSED.value)}
         WHEN {hv}not_home > 0 THEN {_lit(Outcome.NOT_HOME.value)}
         WHEN {hv}moved > 0 THEN {_lit(Outcome.MOVED.value)}
         ELSE {_lit(NOT_VISITED)} END
"""


#: What a household row is for the summary (a merged tombstone may also be
#: marked deleted: it counts as merged).
_MERGED, _DELETED, _VACANT, _VISITED = "merged", "deleted", "vacant", "visited"


def _state(h: str = "h.", hv: str = "hv.") -> str:
    """The state of household *h* (a column prefix) with visit counts *hv*."""
    return f"""
    CASE WHEN {h}merged_into IS NOT NULL THEN '{_MERGED}'
         WHEN {h}deleted != 0 THEN '{_DELETED}'
         WHEN {h}occupancy = {_lit(Occupancy.VACANT.value)} THEN '{_VACANT}'
         WHEN {hv}met > 0 THEN '{_VISITED}'
         ELSE {_reason(hv)} END
"""


_REASON = _reason()
_STATE = _state()
_OUTCOME_COLS = {
    Outcome.MET.value: "met",
    Outcome.NOT_HOME.value: "not_home",
    Outcome.REFUSED.value: "refused",
    Outcome.MOVED.value: "moved",
}


def _registry_sql(query: str) -> str:
    """The registry's own counters of *query*, as more columns of its SELECT."""
    return "".join(f", {m.sql.expr} AS {m.name}" for m in sql_counters(query) if m.sql)


def _add_registry_counts(g: Group, row: Any, counters: list[Any]) -> None:
    """Add *row*'s values of the registry's *counters* (:func:`sql_counters`)."""
    for m in counters:
        g.counts[m.name] = g.counts.get(m.name, 0) + (row[m.name] or 0)


def _household_figures() -> str:
    """The aggregates of a (居民区, 微网格, state) row of households: how many,
    with a key-group tag and with each tag, their visits by outcome and mode,
    who made them, and the registry's own counters."""
    # Tags are a JSON array of UTF-8 strings (the Store writes them with
    # ensure_ascii=False), so instr() on the quoted tag finds one exactly.
    tags = [
        _count(f"instr(tags, {_lit(chr(34) + tag + chr(34))}) > 0", f"tag_{i}")
        for i, tag in enumerate(Tag.choices())
    ]
    outcomes = [f"sum({col}) AS {col}" for col in _OUTCOME_COLS.values()]
    modes = [f"sum(mode_{i}) AS mode_{i}" for i in range(len(Mode.choices()))]
    tagged = _count("instr(tags, '\"') > 0", "tagged")
    return f"""count(*) AS households, {tagged},
               sum(n) AS visits,
               group_concat(visitors) FILTER (WHERE visitors IS NOT NULL
                   AND state NOT IN ('{_MERGED}', '{_DELETED}')) AS visitors,
               {", ".join([*outcomes, *modes, *tags])}
               {_registry_sql("households")}"""


def _households_sql(grid_filter: str) -> str:
    """Per (居民区, 微网格, state of the household): households, their visits, tags.

    Grouping by the state as well (visited, each still-due reason, vacant,
    deleted, merged) keeps the number of aggregates per row small; the few
    rows per grid are added up into a :class:`Group` afterwards.

    ``visitors``: who visited the live households of the row, their JSON
    arrays joined by commas (:func:`_visitors_of`).  They come from the same
    pass over the visits: a query of their own would read the visits' index
    again (on an encrypted database, decrypting every page a second time).
    """
    hv_modes = ", ".join(f"hv.mode_{i}" for i in range(len(Mode.choices())))
    return f"""
        WITH hv AS MATERIALIZED ({_per_household_visits_sql(with_visitors=True)})
        SELECT community, micro_grid, state, {_household_figures()}
        FROM (
            SELECT h.community, h.micro_grid, h.tags, {_STATE} AS state,
                   hv.n, hv.met, hv.not_home, hv.refused, hv.moved, hv.visitors,
                   coalesce(hv.met_months, 0) AS met_months, {hv_modes}
            FROM households h INDEXED BY households_summary
            LEFT JOIN hv ON hv.household_id = h.id
            WHERE 1 = 1 {grid_filter}
        )
        GROUP BY community, micro_grid, state
    """


def _items_sql(
    grid_filter: str, raised: str = "i.raised_date BETWEEN :date_from AND :date_to"
) -> str:
    """Per (居民区, 微网格, category): the live items raised in the period (or
    on the days *raised* says)."""
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
               {_registry_sql("items")}
        FROM (
            SELECT h.community, h.micro_grid, i.kind, i.category, i.status, i.satisfaction,
                   i.deadline, i.raised_date, i.closed_date,
                   i.status IN {closed} AS closed, i.status IN {open_} AS open
            FROM items i INDEXED BY items_summary
            JOIN households h INDEXED BY households_summary ON h.id = i.live_household
            WHERE i.deleted = 0 AND {raised}
              AND i.live_visit IS NOT NULL AND i.live_visit NOT IN ({DEAD_VISITS})
              AND {_LIVE_H} {grid_filter}
        )
        GROUP BY community, micro_grid, category
    """


def _merged_visits_sql(grid_filter: str) -> str:
    return f"""
        SELECT h.community, h.micro_grid, count(*) AS merged_visits
        FROM visits v INDEXED BY visits_merged
        JOIN households h ON h.id = v.live_household
        WHERE v.merged_into IS NOT NULL {grid_filter}
        GROUP BY h.community, h.micro_grid
    """


# -- the same figures from the kept totals ---------------------------------------
#
# The Store keeps, month by month, what the visits and items of each grid add
# up to, and per household the months it was met, refused, not at home or
# found moved (visitlog.store.totals).  A period is then its whole months,
# read from those totals, and the days at either end that do not make a whole
# month (its edges), read from the records by date.  The figures are the
# same as the queries above make (tests/test_summary_totals.py compares them).


def period_parts(start: dt.date, end: dt.date) -> tuple[list[str], list[tuple[str, str]]]:
    """``(whole months, edges)`` of the period: the months ('YYYY-MM') whose
    every day is in it, and the ranges of days (from, to) that remain."""
    whole: list[str] = []
    edges: list[tuple[str, str]] = []
    first = start.replace(day=1)
    while first <= end:
        nxt = (first + dt.timedelta(days=32)).replace(day=1)
        last = nxt - dt.timedelta(days=1)
        lo, hi = max(first, start), min(last, end)
        if lo == first and hi == last:
            whole.append(first.strftime("%Y-%m"))
        else:
            edges.append((lo.isoformat(), hi.isoformat()))
        first = nxt
    return whole, edges


def _ranges(col: str, edges: list[tuple[str, str]]) -> str:
    if not edges:
        return f"{col} BETWEEN '1' AND '0'"  # no day (through the index all the same)
    return "(" + " OR ".join(f"{col} BETWEEN {_lit(a)} AND {_lit(b)}" for a, b in edges) + ")"


def _masks(whole: list[str]) -> dict[int, int]:
    """Per year of the whole months, the bits of its months (January = 1)."""
    out: dict[int, int] = {}
    for month in whole:
        year, m = int(month[:4]), int(month[5:7])
        out[year] = out.get(year, 0) | (1 << (m - 1))
    return out


def _kept_households_sql(grid_filter: str, whole: list[str], edges: list[tuple[str, str]]) -> str:
    """:func:`_households_sql` from the households' marks (whole months) and
    the edges' visits; the visits it sums are the edges' only (the whole
    months' are :func:`_kept_visits_sql`)."""
    masks = _masks(whole)
    edge = _per_household_visits_sql(with_visitors=True, days=_ranges("visit_date", edges))
    # Each year of the whole months is its household's marks of that year,
    # looked up by key (rowid × YEARS + year) as the households are read.
    joins = "".join(
        f" LEFT JOIN household_marks m{y} ON m{y}.key = h.rowid * {YEARS} + {y}" for y in masks
    )

    def marked(c: str) -> str:
        shift = MARK_SHIFT[c]
        return (
            " + ".join(
                f"((coalesce(m{y}.bits, 0) >> {shift}) & {b} != 0)" for y, b in masks.items()
            )
            or "0"
        )

    whole_met = " + ".join(f"(coalesce(m{y}.bits, 0) & {b} = {b})" for y, b in masks.items())
    flags = ", ".join(f"{marked(c)} + coalesce(e.{c}, 0) AS s_{c}" for c in _OUTCOME_COLS.values())
    counts = ", ".join(f"coalesce(e.{c}, 0) AS {c}" for c in _OUTCOME_COLS.values())
    e_modes = ", ".join(f"coalesce(e.mode_{i}, 0) AS mode_{i}" for i in range(len(Mode.choices())))
    x_modes = ", ".join(f"x.mode_{i}" for i in range(len(Mode.choices())))
    x_counts = ", ".join(f"x.{c}" for c in _OUTCOME_COLS.values())
    return f"""
        WITH edge AS MATERIALIZED ({edge})
        SELECT community, micro_grid, state, {_household_figures()}
        FROM (
            SELECT x.community, x.micro_grid, x.tags, {_state("x.", "x.s_")} AS state,
                   x.n, {x_counts}, x.visitors, x.met_months, {x_modes}
            FROM (
                SELECT h.community, h.micro_grid, h.tags, h.occupancy, h.deleted,
                       h.merged_into, e.n, e.visitors, {flags}, {counts}, {e_modes},
                       CASE WHEN {whole_met or 0} = {len(masks)}
                             AND coalesce(e.met_months, 0) = {len(edges)}
                            THEN :months ELSE 0 END AS met_months
                FROM households h INDEXED BY households_summary{joins}
                LEFT JOIN edge e ON e.household_id = h.id
                WHERE 1 = 1 {grid_filter}
            ) AS x
        )
        GROUP BY community, micro_grid, state
    """


def _whole(months: list[str]) -> str:
    return "(" + (", ".join(_lit(m) for m in months) or "NULL") + ")"


def _kept_visits_sql(kept_filter: str, whole: list[str]) -> str:
    """Per (居民区, 微网格): the whole months' visits, by outcome and by mode,
    and who made them (JSON arrays joined by commas)."""
    cols = ", ".join(f"sum({q(c)}) AS {q(c)}" for c in (*OUTCOMES, *MODES))
    return f"""
        SELECT community, micro_grid, sum(n) AS n, {cols},
               group_concat(visitors) AS visitors
        FROM visit_totals WHERE month IN {_whole(whole)} {kept_filter}
        GROUP BY community, micro_grid
    """


def _kept_items_sql(kept_filter: str, whole: list[str]) -> str:
    """Per (居民区, 微网格): the whole months' items, every count."""
    counted = ("n", *ITEM_FLAGS, *KINDS, *SATISFACTIONS, *CATEGORIES, "c_other")
    cols = ", ".join(f"sum({q(c)}) AS {q(c)}" for c in counted)
    return f"""
        SELECT community, micro_grid, {cols}, total(days) AS days
        FROM item_totals WHERE month IN {_whole(whole)} {kept_filter}
        GROUP BY community, micro_grid
    """


def _kept_overdue_sql(kept_filter: str, whole: list[str], cutoff: str) -> str:
    """Per (居民区, 微网格): the whole months' open items due before the month
    of the cut-off (the overdue of that month itself: :func:`_overdue_counts_sql`)."""
    return f"""
        SELECT community, micro_grid, sum(n) AS overdue_items FROM overdue_totals
        WHERE month IN {_whole(whole)} AND deadline_month < {_lit(cutoff[:7])} {kept_filter}
        GROUP BY community, micro_grid
    """


def _overdue_counts_sql(grid_filter: str, whole: list[str], cutoff: str) -> str:
    """Per (居民区, 微网格): the whole months' open items due in the month of
    the cut-off, before it (read from the open items' own index)."""
    if not whole:
        raised = "i.raised_date BETWEEN '1' AND '0'"  # none (through the index all the same)
    else:
        raised = f"i.raised_date BETWEEN {_lit(whole[0] + '-01')} AND {_lit(whole[-1] + '-31')}"
    return f"""
        SELECT h.community, h.micro_grid, count(*) AS overdue_items
        FROM items i INDEXED BY items_open
        JOIN households h INDEXED BY households_summary ON h.id = i.live_household
        WHERE i.deleted = 0 AND i.status IN {_in(s.value for s in OPEN_STATUSES)}
          AND (i.deadline IS NULL) = 0
          AND i.deadline >= {_lit(cutoff[:7])} AND i.deadline < :cutoff AND {raised}
          AND i.live_visit IS NOT NULL AND i.live_visit NOT IN ({DEAD_VISITS})
          AND {_LIVE_H} {grid_filter}
        GROUP BY h.community, h.micro_grid
    """


#: A query of no rows.
_NOTHING = "SELECT 1 WHERE 0"


def _kept_queries(
    grid_filter: str, whole: list[str], edges: list[tuple[str, str]], cutoff: str
) -> list[str]:
    """The queries of a summary read from the kept totals (the period's
    *whole* months and its *edges*, :func:`kept_parts`), in the order
    :func:`base_groups` takes their rows."""
    kept_filter = " AND micro_grid = :grid" if grid_filter else ""
    return [
        _kept_households_sql(grid_filter, whole, edges),
        # the edges' items, their overdue with them (no edges: nothing to read)
        _items_sql(grid_filter, _ranges("i.raised_date", edges)) if edges else _NOTHING,
        _merged_visits_sql(grid_filter),
        _kept_visits_sql(kept_filter, whole),
        _kept_items_sql(kept_filter, whole),
        _kept_overdue_sql(kept_filter, whole, cutoff),
        _overdue_counts_sql(grid_filter, whole, cutoff),
    ]


#: From this many household rows on, the aggregate queries run side by side
#: on their own read-only connections (one per query, so SQLite works on
#: several cores); below it, one connection is quicker than opening more.
PARALLEL_FROM_ROWS = 20_000

#: The page cache of an encrypted file's readers, in KiB: a page read again
#: from the disk is decrypted again (a plain file's comes from the system's
#: cache), so they keep more of what they read.
ENCRYPTED_READER_CACHE_KIB = 64 * 1024


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
    size = store.households_upper_bound()
    if size >= PARALLEL_FROM_ROWS and len(queries) > 1:
        cache = ENCRYPTED_READER_CACHE_KIB if store.key is not None else None

        def run(sql: str) -> list[dict[str, Any]]:
            with store.reader(cache) as conn:
                return _fetch(conn, sql, params)

        try:
            with ThreadPoolExecutor(max_workers=len(queries)) as pool:
                return list(pool.map(run, queries))
        except DB_ERRORS:
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
    return store.has_index(
        "visits_summary", "visits_dead", "visits_merged", "households_summary", "items_summary"
    )


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


def _visitors_of(arrays: str) -> set[str]:
    """The names in the households query's ``visitors``: JSON arrays joined by commas."""
    return {name for array in json.loads(f"[{arrays}]") for name in array}


def base_groups(
    households: list[Any],
    items: list[Any],
    merged: list[Any],
    visits: Sequence[Any] = (),
    kept_items: Sequence[Any] = (),
    overdue: Sequence[Any] = (),
    overdue_more: Sequence[Any] = (),
) -> list[Group]:
    """The (居民区, 微网格) groups with every count, from the aggregate queries.

    The queries return a few rows per grid (one per household state, one
    per item category); adding those up here is the only work Python does.
    Read from the kept totals (:func:`_kept_queries`), the whole months'
    visits and items and the overdue items come in rows of their own.
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

    modes = [(mode, f"mode_{i}") for i, mode in enumerate(Mode.choices())]
    tags = [(tag, f"tag_{i}") for i, tag in enumerate(Tag.choices())]
    # the registry is read once, not once a row
    household_counters, item_counters = sql_counters("households"), sql_counters("items")
    for r in households:
        g, state, count = group(r), r["state"], r["households"]
        _add_registry_counts(g, r, household_counters)
        if state == _MERGED:
            g.merged_households += count
            continue
        if state == _DELETED:
            continue
        g.live_households += count
        g.visits += r["visits"] or 0
        for outcome, col in _OUTCOME_COLS.items():
            g.visits_by_outcome[outcome] += r[col] or 0
        for mode, col in modes:
            g.visits_by_mode[mode] += r[col] or 0
        if state == _VACANT:
            g.vacant_households += count
            continue
        g.households += count
        g.key_households += r["tagged"]
        for tag, col in tags:
            g.key_groups_households[tag] += r[col]
        if state == _VISITED:
            g.visited_households += count
            g.key_visited += r["tagged"]
            for tag, col in tags:
                g.key_groups_visited[tag] += r[col]
        else:
            g.still_due += count
            g.still_due_reasons[state] += count

    for r in items:
        g = group(r)
        _add_registry_counts(g, r, item_counters)
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

    for r in households:
        if r["visitors"]:
            group(r).visitors.update(_visitors_of(r["visitors"]))

    for r in merged:
        group(r).merged_visits = r["merged_visits"]

    for r in visits:
        g = group(r)
        g.visits += r["n"] or 0
        for col in OUTCOMES:
            if col[2:] in g.visits_by_outcome:
                g.visits_by_outcome[col[2:]] += r[col] or 0
        for col in MODES:
            if col[2:] in g.visits_by_mode:
                g.visits_by_mode[col[2:]] += r[col] or 0
        if r["visitors"]:
            g.visitors.update(_visitors_of(r["visitors"]))
    for r in kept_items:
        _add_kept_items(group(r), r)
    for r in (*overdue, *overdue_more):
        group(r).overdue_items += r["overdue_items"] or 0

    return list(groups.values())


#: The indexes the edges of a period are read through.
_KEPT_INDEXES = (
    "visits_date",
    "items_summary",
    "items_open",
    "households_summary",
    "visits_summary",
)


def _read_queries(grid_filter: str) -> list[str]:
    """The queries of a summary read from every record."""
    return [_households_sql(grid_filter), _items_sql(grid_filter), _merged_visits_sql(grid_filter)]


def _totals_current(store: Any, start: dt.date, end: dt.date) -> bool:
    """Can the summary read the kept totals?  Brings them up to date first."""
    if sql_counters("items") or not hasattr(store, "refresh_summary_totals"):
        return False  # a counter of the registry reads the items themselves
    if not store.has_index(*_KEPT_INDEXES):
        return False  # a copy made only to be summed up once (summary --hub)
    whole, _ = period_parts(start, end)
    last = _last_month(start, end)
    return bool(store.refresh_summary_totals([*whole, *([last] if last else [])]))


def _last_month(start: dt.date, end: dt.date) -> str | None:
    """The month of *end* when the period has it only in part and from its
    first day (a period ending today): it may read as a whole month."""
    first = end.replace(day=1)
    whole, _ = period_parts(start, end)
    if start > first or first.strftime("%Y-%m") in whole:
        return None
    return first.strftime("%Y-%m")


def kept_parts(store: Any, start: dt.date, end: dt.date) -> tuple[list[str], list[tuple[str, str]]]:
    """:func:`period_parts`, with the month of *end* read from the totals as
    a whole month when nothing in it is dated after *end* (a period ending
    today: the days left of its month hold nothing yet).  The month's totals
    and the households' marks then hold exactly the period's days of it."""
    whole, edges = period_parts(start, end)
    last = _last_month(start, end)
    if last is None:
        return whole, edges
    latest = store.scalar(
        "SELECT max(d) FROM (SELECT max(last_day) AS d FROM visit_totals WHERE month = ? "
        "UNION ALL SELECT max(last_day) FROM item_totals WHERE month = ?)",
        [last, last],
    )
    if latest is not None and latest > end.isoformat():
        return whole, edges
    return [*whole, last], [e for e in edges if e[0][:7] != last]


#: The kept items' counts, by the Group's field they add to.
_KEPT_ITEM_FIELDS = {
    "items_total": "n",
    "open_items": "open",
    "closed_items": "closed",
    "on_spot_items": "on_spot",
    "closed_with_deadline": "closed_with_deadline",
    "on_time_items": "on_time",
    "closed_with_dates": "closed_with_dates",
    "fed_back_items": "fed_back",
}


def _add_kept_items(g: Group, r: Any) -> None:
    """The whole months' item counts of a grid (a row of :func:`_kept_items_sql`)."""
    for name, col in _KEPT_ITEM_FIELDS.items():
        setattr(g, name, getattr(g, name) + (r[col] or 0))
    g.days_to_close_total += float(r["days"] or 0.0)
    for col in KINDS:
        if col[2:] in g.items:
            g.items[col[2:]] += r[col] or 0
    rated = 0
    for col in SATISFACTIONS:
        if col[2:] in RATED:
            g.satisfaction[col[2:]] += r[col] or 0
            rated += r[col] or 0
    g.satisfaction[Satisfaction.UNRATED.value] += (r["n"] or 0) - rated
    for col in CATEGORIES:
        if r[col]:
            g.items_by_category[col[2:]] = g.items_by_category.get(col[2:], 0) + r[col]


def plan_figures(store: Any, start: dt.date, end: dt.date, grid: str | None) -> dict[Any, Any]:
    """What the registry's ``plan`` counters count, per (居民区, 微网格), under the
    planning rules (nothing when no metric asks for them)."""
    if not sql_counters(PLAN):
        return {}
    large = store.households_upper_bound() >= PARALLEL_FROM_ROWS
    return on_time_by_grid(store, start, end, grid, side_by_side=large and store.key is not None)


def add_plan_counts(base: list[Group], figures: dict[Any, Any]) -> None:
    """The registry's ``plan`` counters of each group, from :func:`plan_figures`."""
    counters = sql_counters(PLAN)
    if not counters or not base:
        return
    for g in base:
        found = figures.get((g.community, g.name))
        for m in counters:
            assert m.sql is not None
            value = getattr(found, m.sql.expr) if found is not None else 0
            g.counts[m.name] = g.counts.get(m.name, 0) + value


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
    kept: bool = True,
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
        kept: read the whole months from the totals the Store keeps, brought
            up to date first (:mod:`visitlog.store.totals`); False, or a file
            that keeps none or cannot be written, reads every record.

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
        "months": months_in_period(start, end),
    }
    grid_filter = " AND h.micro_grid = :grid" if grid is not None else ""
    kept = kept and _totals_current(store, start, end)
    if kept:
        whole, edges = kept_parts(store, start, end)
        queries = _kept_queries(grid_filter, whole, edges, params["cutoff"])
    else:
        queries = _read_queries(grid_filter)
    parts = len(queries)
    if details:
        queries += [_still_due_sql(grid_filter), _overdue_sql(grid_filter)]
    # The planning rules' counts are read on the Store's own connection while
    # the aggregates run on readers of their own: on two cores the one waits
    # less for the other (and an encrypted file's pages decrypt side by side;
    # there the 特情 items are read on a third, see plan_figures).
    with ThreadPoolExecutor(max_workers=1) as pool:
        planned = pool.submit(plan_figures, store, start, end, grid)
        results = run_queries(store, queries, params)
        if kept and any(r["c_other"] for r in results[4]):
            # An item of a category this visitlog does not know (the kept
            # totals count it but not by its name): every record is read.
            queries = _read_queries(grid_filter) + queries[parts:]
            parts = 3
            results = run_queries(store, queries, params)
        figures = planned.result()
    base = base_groups(*results[:parts])
    add_plan_counts(base, figures)
    if grid is not None and not base:
        check_grid(store, grid)  # a typo: raises, naming the closest grids
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
        summary.still_due_list = _still_due_rows(results[parts])
        summary.overdue_list = _overdue_rows(results[parts + 1])
    return summary
