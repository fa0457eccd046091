"""The summary's kept totals (migration m017): month by month, and per household.

A summary of the whole district adds up every visit and item of its period.
Read from the records themselves that is a pass over millions of rows each
time; these tables keep what the pass would find, in a few small rows:

* ``visit_totals``: one row per month, 居民区 and 微网格: how many live
  visits of live households, by outcome and by mode (a column each, named
  ``o:见面``, ``m:入户`` …), who made them (a JSON array of names) and the
  last day one was made (``item_totals`` too: the last day one was raised).
  A period that ends on or after the last day of its last month's records
  (one ending today) reads that month from the totals as if it were whole.
* ``item_totals``: one row per month raised, 居民区 and 微网格: how many
  live items, open, closed, closed the day raised, with a deadline, closed
  by it, with both dates, fed back, their days to close, and by kind,
  satisfaction and category (``k:问题``, ``s:满意``, ``c:医疗`` …).
* ``overdue_totals``: the open items with a deadline, per month raised,
  居民区, 微网格 and month of the deadline: which of them are overdue
  depends on the day asked, and only those due that day's month are read
  from the items themselves.
* ``household_marks``: per household and year, in which months it was met,
  refused, not at home or found moved: four 12-bit masks in one integer,
  keyed by the household's rowid × 4096 + the year.  A few bytes a
  household: what a summary needs to know of a household's visits over
  whole months without reading them.

A district's year is some 25,000 rows of totals and one small row per
household and year.  They are local (not synced, not in bundles) and only a
cache, kept current the way the search keys are:

* ``summary_months`` lists the months whose totals are current.  The
  triggers strike a month off whenever a row counted in it changes, whoever
  changes it (sync, a merge, another program): a visit or item added,
  changed or deleted, a household added, moved to another grid or deleted
  (every month of its visits and items).  A month struck off is counted
  again from the records, whole, the next time a summary needs it.
* ``marks_stale`` lists the households (rowids) whose marks are out of date;
  ``-1`` stands for all of them (a new or bulk-loaded database).  They are
  made again the next time a summary needs them.  ``totals_anchor`` keeps a
  few households' rowids with their ids: a file whose rowids were renumbered
  (a ``VACUUM`` by another tool) has every mark made again.

So a summary costs what has changed since the last one, plus the days of
its period that do not make a whole month (read from the records).
:func:`differences` compares the kept totals with the records (``check``).
A new choice of outcome, mode, kind, satisfaction or category needs a
migration adding its column; until then it counts in ``*_other``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from visitlog.model import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Category,
    Kind,
    Mode,
    Outcome,
    Satisfaction,
    Status,
)
from visitlog.rows import live
from visitlog.store import cipher

ALL_STALE = -1
#: household_marks.key = rowid × YEARS + year.
YEARS = 4096
#: The four masks of household_marks.bits, by outcome, from the lowest bits up.
MARKED = {
    "met": Outcome.MET.value,
    "refused": Outcome.REFUSED.value,
    "not_home": Outcome.NOT_HOME.value,
    "moved": Outcome.MOVED.value,
}
MARK_SHIFT = {name: 12 * i for i, name in enumerate(MARKED)}


def q(name: str) -> str:
    """A column name quoted for SQL."""
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")"


#: The columns counted by value: (prefix, the record's column, the values).
OUTCOMES = [f"o:{v}" for v in Outcome.choices()]
MODES = [f"m:{v}" for v in Mode.choices()]
KINDS = [f"k:{v}" for v in Kind.choices()]
SATISFACTIONS = [f"s:{v}" for v in Satisfaction.choices()]
CATEGORIES = [f"c:{v}" for v in Category.choices()]

_OPEN = _in([v.value for v in OPEN_STATUSES])
_CLOSED = _in([v.value for v in CLOSED_STATUSES])
#: The items' own counters: name → which items.
ITEM_FLAGS = {
    "open": f"i.status IN {_OPEN}",
    "closed": f"i.status IN {_CLOSED}",
    "on_spot": f"i.status IN {_CLOSED} AND i.closed_date = i.raised_date",
    "closed_with_deadline": f"i.status IN {_CLOSED} AND i.deadline IS NOT NULL",
    "on_time": f"i.status IN {_CLOSED} AND i.deadline IS NOT NULL AND i.closed_date <= i.deadline",
    "closed_with_dates": (
        f"i.status IN {_CLOSED} AND i.closed_date IS NOT NULL AND i.raised_date IS NOT NULL"
    ),
    "fed_back": f"i.status = {_lit(Status.FED_BACK.value)}",
}


def _by_value(names: list[str], column: str) -> list[str]:
    return [f"count(*) FILTER (WHERE {column} = {_lit(n[2:])}) AS {q(n)}" for n in names]


def _other(names: list[str], column: str, alias: str) -> str:
    return f"count(*) FILTER (WHERE {column} NOT IN {_in([n[2:] for n in names])}) AS {alias}"


_GRID_COLS = "month TEXT NOT NULL, community TEXT, micro_grid TEXT"


def _ints(names: Sequence[str]) -> str:
    return ", ".join(f"{q(n)} INTEGER NOT NULL" for n in names)


_CHANGED_VISIT = (
    "household_id", "live_household", "visit_date", "visitor", "mode", "outcome", "deleted",
    "merged_into",
)  # fmt: skip
_CHANGED_ITEM = (
    "live_household", "live_visit", "raised_date", "kind", "category", "status",
    "satisfaction", "deadline", "closed_date", "deleted",
)  # fmt: skip
_CHANGED_HOUSEHOLD = ("community", "micro_grid", "deleted", "merged_into")


def _changed(cols: Sequence[str]) -> str:
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in cols)


def _month(col: str) -> str:
    return f"substr({col}, 1, 7)"


def _months_of_household(ref: str) -> str:
    """Strike off every month of the live visits and items of household *ref*."""
    return f"""
        DELETE FROM summary_months WHERE month IN (
            SELECT substr(visit_date, 1, 7) FROM visits
            WHERE live_household = {ref} AND deleted = 0 AND merged_into IS NULL
            UNION SELECT substr(raised_date, 1, 7) FROM items
            WHERE live_household = {ref} AND deleted = 0);
    """


def _stale(household_id: str) -> str:
    """Mark the marks of the household with id *household_id* out of date."""
    return (
        f"INSERT OR IGNORE INTO marks_stale SELECT rowid FROM households WHERE id = {household_id};"
    )


#: The tables and the triggers that keep them current.
SCHEMA = (
    "CREATE TABLE summary_months (month TEXT PRIMARY KEY) WITHOUT ROWID",
    f"CREATE TABLE visit_totals ({_GRID_COLS}, n INTEGER NOT NULL, {_ints(OUTCOMES)}, "
    f"o_other INTEGER NOT NULL, {_ints(MODES)}, m_other INTEGER NOT NULL, "
    "visitors TEXT NOT NULL, last_day TEXT)",
    f"CREATE TABLE item_totals ({_GRID_COLS}, n INTEGER NOT NULL, {_ints(ITEM_FLAGS)}, "
    f"days REAL NOT NULL, {_ints(KINDS)}, k_other INTEGER NOT NULL, {_ints(SATISFACTIONS)}, "
    f"s_other INTEGER NOT NULL, {_ints(CATEGORIES)}, c_other INTEGER NOT NULL, "
    "last_day TEXT)",
    "CREATE TABLE overdue_totals (month TEXT NOT NULL, community TEXT, micro_grid TEXT, "
    "deadline_month TEXT, n INTEGER NOT NULL)",
    "CREATE TABLE household_marks (key INTEGER PRIMARY KEY, bits INTEGER NOT NULL)",
    "CREATE TABLE marks_stale (hrow INTEGER PRIMARY KEY)",
    "CREATE TABLE totals_anchor (hrow INTEGER PRIMARY KEY, id TEXT NOT NULL)",
    f"""CREATE TRIGGER totals_visit_added AFTER INSERT ON visits BEGIN
        DELETE FROM summary_months WHERE month = {_month("NEW.visit_date")};
        {_stale("coalesce(NEW.live_household, NEW.household_id)")}
    END""",
    f"""CREATE TRIGGER totals_visit_changed
    AFTER UPDATE OF {", ".join(_CHANGED_VISIT)} ON visits
    WHEN {_changed(_CHANGED_VISIT)} BEGIN
        DELETE FROM summary_months WHERE month IN
            ({_month("OLD.visit_date")}, {_month("NEW.visit_date")});
        DELETE FROM summary_months
            WHERE (OLD.deleted IS NOT NEW.deleted OR OLD.merged_into IS NOT NEW.merged_into)
            AND month IN (SELECT substr(raised_date, 1, 7) FROM items WHERE live_visit = NEW.id);
        {_stale("OLD.live_household")}
        {_stale("NEW.live_household")}
    END""",
    f"""CREATE TRIGGER totals_visit_gone AFTER DELETE ON visits BEGIN
        DELETE FROM summary_months WHERE month = {_month("OLD.visit_date")};
        DELETE FROM summary_months WHERE month IN
            (SELECT substr(raised_date, 1, 7) FROM items WHERE live_visit = OLD.id);
        {_stale("OLD.live_household")}
    END""",
    f"""CREATE TRIGGER totals_item_added AFTER INSERT ON items BEGIN
        DELETE FROM summary_months WHERE month = {_month("NEW.raised_date")};
    END""",
    f"""CREATE TRIGGER totals_item_changed AFTER UPDATE OF {", ".join(_CHANGED_ITEM)} ON items
    WHEN {_changed(_CHANGED_ITEM)} BEGIN
        DELETE FROM summary_months WHERE month IN
            ({_month("OLD.raised_date")}, {_month("NEW.raised_date")});
    END""",
    f"""CREATE TRIGGER totals_item_gone AFTER DELETE ON items BEGIN
        DELETE FROM summary_months WHERE month = {_month("OLD.raised_date")};
    END""",
    f"""CREATE TRIGGER totals_household_added AFTER INSERT ON households BEGIN
        {_months_of_household("NEW.id")}
        INSERT OR IGNORE INTO marks_stale VALUES (NEW.rowid);
    END""",
    f"""CREATE TRIGGER totals_household_changed
    AFTER UPDATE OF {", ".join(_CHANGED_HOUSEHOLD)} ON households
    WHEN {_changed(_CHANGED_HOUSEHOLD)} BEGIN
        {_months_of_household("NEW.id")}
    END""",
    f"""CREATE TRIGGER totals_household_gone AFTER DELETE ON households BEGIN
        {_months_of_household("OLD.id")}
        INSERT OR IGNORE INTO marks_stale VALUES (OLD.rowid);
    END""",
    f"INSERT INTO marks_stale VALUES ({ALL_STALE})",
)


def forget_all(conn: sqlite3.Connection) -> None:
    """Every kept total out of date (rows were written with the triggers set
    aside: a bulk load).  Nothing happens in a file without the tables."""
    with contextlib.suppress(*cipher.OPERATIONAL_ERRORS):
        conn.execute("DELETE FROM summary_months")
        conn.execute(f"INSERT OR IGNORE INTO marks_stale VALUES ({ALL_STALE})")


# -- counting them again ----------------------------------------------------------

_BIT = "(1 << (CAST(substr(visit_date, 6, 2) AS INTEGER) - 1))"
_BITS = " | ".join(
    f"(coalesce(sum(DISTINCT {_BIT}) FILTER (WHERE outcome = {_lit(o)}), 0) << {MARK_SHIFT[n]})"
    for n, o in MARKED.items()
)
#: ``(key, bits)`` of the marks of the households *only* names (a condition
#: on ``h``, the household), from their live visits.
MARKS_OF = f"""
    SELECT h.rowid * {YEARS} + m.year, m.bits FROM (
        SELECT live_household, CAST(substr(visit_date, 1, 4) AS INTEGER) AS year, {_BITS} AS bits
        FROM visits INDEXED BY visits_summary
        WHERE {live()} AND live_household IS NOT NULL
          AND visit_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-*' {{visits}}
        GROUP BY live_household, year
    ) AS m JOIN households h ON h.id = m.live_household
"""

#: Deleted or merged visits (few; the partial index ``visits_dead`` holds
#: them): an item of one of these does not count.  Items are tombstoned with
#: their visit and live on the survivor of a merge (``live_visit``), so this
#: rarely excludes anything.
DEAD_VISITS = (
    "SELECT id FROM visits INDEXED BY visits_dead WHERE deleted != 0 OR merged_into IS NOT NULL"
)


def month_marks(months: Sequence[str]) -> str:
    return ", ".join(_lit(m) for m in months)


def _whole_range(col: str, months: Sequence[str]) -> str:
    """*col* (an ISO date) falls on a day of one of *months*."""
    return (
        f"substr({col}, 1, 7) IN ({month_marks(months)}) "
        f"AND {col} BETWEEN substr({col}, 1, 7) || '-01' AND substr({col}, 1, 7) || '-31'"
    )


#: The tables counted month by month.
MONTHLY = ("visit_totals", "item_totals", "overdue_totals")


def counts_sql(months: Sequence[str]) -> tuple[str, str, str]:
    """``(visits, items, overdue)``: the SELECTs that make the rows of
    *months* of the :data:`MONTHLY` tables from the records, in their columns'
    order.

    Each is one pass over a covering index in household order, whatever the
    months: a month's visits read by their dates instead cost a lookup of
    every row (measured at 450,000 households: two months by date 1.9–6.3 s,
    in one pass 0.8–1.3 s).
    """
    source, cond = "visits v INDEXED BY visits_summary", _whole_range("v.visit_date", months)
    item_cond = _whole_range("i.raised_date", months)
    visit_cols = [
        "count(*) AS n",
        *_by_value(OUTCOMES, "v.outcome"),
        _other(OUTCOMES, "v.outcome", "o_other"),
        *_by_value(MODES, "v.mode"),
        _other(MODES, "v.mode", "m_other"),
        "json_group_array(DISTINCT v.visitor) AS visitors",
        "max(v.visit_date) AS last_day",
    ]
    visits = f"""
        SELECT substr(v.visit_date, 1, 7) AS month, h.community, h.micro_grid,
               {", ".join(visit_cols)}
        FROM {source}
        JOIN households h INDEXED BY households_summary ON h.id = v.live_household
        WHERE {live("v")} AND {live("h")} AND {cond}
        GROUP BY 1, 2, 3
    """
    item_cols = [
        "count(*) AS n",
        *(f"count(*) FILTER (WHERE {c}) AS {n}" for n, c in ITEM_FLAGS.items()),
        f"total(julianday(i.closed_date) - julianday(i.raised_date)) "
        f"FILTER (WHERE i.status IN {_CLOSED}) AS days",
        *_by_value(KINDS, "i.kind"),
        _other(KINDS, "i.kind", "k_other"),
        *_by_value(SATISFACTIONS, "i.satisfaction"),
        _other(SATISFACTIONS, "coalesce(i.satisfaction, '')", "s_other"),
        *_by_value(CATEGORIES, "i.category"),
        _other(CATEGORIES, "i.category", "c_other"),
        "max(i.raised_date) AS last_day",
    ]
    items = f"""
        SELECT substr(i.raised_date, 1, 7) AS month, h.community, h.micro_grid,
               {", ".join(item_cols)}
        FROM items i INDEXED BY items_summary
        JOIN households h INDEXED BY households_summary ON h.id = i.live_household
        WHERE i.deleted = 0 AND i.live_visit IS NOT NULL AND i.live_visit NOT IN ({DEAD_VISITS})
          AND {live("h")} AND {item_cond}
        GROUP BY 1, 2, 3
    """
    overdue = f"""
        SELECT substr(i.raised_date, 1, 7) AS month, h.community, h.micro_grid,
               substr(i.deadline, 1, 7) AS deadline_month, count(*) AS n
        FROM items i INDEXED BY items_summary
        JOIN households h INDEXED BY households_summary ON h.id = i.live_household
        WHERE i.deleted = 0 AND i.live_visit IS NOT NULL AND i.live_visit NOT IN ({DEAD_VISITS})
          AND {live("h")} AND {item_cond}
          AND i.status IN {_OPEN} AND i.deadline IS NOT NULL
        GROUP BY 1, 2, 3, 4
    """
    return visits, items, overdue


def count_months(conn: sqlite3.Connection, months: Sequence[str]) -> None:
    """Count *months* again from the records (their old totals deleted first)."""
    marks = month_marks(months)
    for table, made in zip(MONTHLY, counts_sql(months), strict=True):
        conn.execute(f"DELETE FROM {table} WHERE month IN ({marks})")
        conn.execute(f"INSERT INTO {table} {made}")
    conn.executemany("INSERT OR IGNORE INTO summary_months VALUES (?)", [(m,) for m in months])


#: How many households' rowids and ids are kept to notice renumbered rowids.
ANCHORS = 16


def anchors_hold(conn: sqlite3.Connection) -> bool:
    """Do the kept households still have the rowids their marks are keyed by?"""
    moved = conn.execute(
        "SELECT count(*) FROM totals_anchor a "
        "LEFT JOIN households h ON h.rowid = a.hrow WHERE h.id IS NOT a.id"
    ).fetchone()[0]
    return not moved


def mark_households(conn: sqlite3.Connection) -> None:
    """Make the marks of the households whose marks are stale."""
    if not anchors_hold(conn):
        forget_all(conn)
    everyone = conn.execute("SELECT 1 FROM marks_stale WHERE hrow = ?", [ALL_STALE]).fetchone()
    if everyone:
        conn.execute("DELETE FROM household_marks")
        conn.execute("INSERT INTO household_marks " + MARKS_OF.format(visits=""))
        conn.execute("DELETE FROM totals_anchor")
        count = conn.execute("SELECT max(rowid) FROM households").fetchone()[0] or 0
        step = max(1, count // ANCHORS)
        conn.execute(
            "INSERT INTO totals_anchor SELECT rowid, id FROM households "
            f"WHERE rowid % {step} = 0 LIMIT {ANCHORS}"
        )
    else:
        conn.execute(
            f"DELETE FROM household_marks WHERE key / {YEARS} IN (SELECT hrow FROM marks_stale)"
        )
        stale_ids = (
            "AND live_household IN (SELECT id FROM households "
            "WHERE rowid IN (SELECT hrow FROM marks_stale))"
        )
        conn.execute("INSERT INTO household_marks " + MARKS_OF.format(visits=stale_ids))
    conn.execute("DELETE FROM marks_stale")


def differences(conn: sqlite3.Connection) -> list[str]:
    """The kept totals that differ from the records: the names of the tables
    whose kept rows are not what counting again makes (empty when every kept
    month and every household's marks agree).  Reads only."""
    out = []
    months = [r[0] for r in conn.execute("SELECT month FROM summary_months")]
    if months:
        marks = month_marks(months)
        made_by = counts_sql(months)
        for table, made in zip(MONTHLY, made_by, strict=True):
            kept = f"SELECT * FROM {table} WHERE month IN ({marks})"
            if _rows(conn, kept) != _rows(conn, made):
                out.append(table)
    everyone = conn.execute("SELECT 1 FROM marks_stale WHERE hrow = ?", [ALL_STALE]).fetchone()
    if not everyone and anchors_hold(conn):
        fresh = (
            "AND live_household NOT IN (SELECT id FROM households "
            "WHERE rowid IN (SELECT hrow FROM marks_stale))"
        )
        kept = (
            f"SELECT * FROM household_marks WHERE key / {YEARS} NOT IN "
            "(SELECT hrow FROM marks_stale)"
        )
        if _rows(conn, kept) != _rows(conn, MARKS_OF.format(visits=fresh)):
            out.append("household_marks")
    return out


def _value(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 6)  # sums made in another order differ in the last bits
    if isinstance(v, str) and v.startswith("["):
        with contextlib.suppress(ValueError):
            return tuple(sorted(json.loads(v)))  # the visitors, in any order
    return v


def _rows(conn: sqlite3.Connection, sql: str) -> list[tuple[Any, ...]]:
    """The rows of *sql*, each value in one form, in one order."""
    return sorted((tuple(_value(v) for v in r) for r in conn.execute(sql)), key=repr)
