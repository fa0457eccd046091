"""The summary's kept totals (migration m017): month by month, and per household.

A summary of the whole district adds up every visit and item of its period.
Read from the records themselves that is a pass over millions of rows each
time; these tables keep what the pass would find, so that a summary reads a
few hundred thousand small rows instead:

* ``visit_totals``: per month, 居民区, 微网格, outcome and mode, how many live
  visits of live households; ``visitor_totals``: who made them (distinct).
* ``item_totals``: per month raised, 居民区, 微网格 and every field the
  summary counts by (category, kind, status, satisfaction, and whether it
  was closed the day raised, has a deadline, was closed by it, has both
  dates), how many live items and their days to close.
* ``household_marks``: per household and year, in which months it was met,
  refused, not at home or found moved (12-bit masks): what a summary needs
  to know of a household's visits over whole months without reading them.

They are local (not synced, not in bundles) and only a cache, kept current
the way the search keys are:

* ``summary_months`` lists the months whose totals are current.  The
  triggers strike a month off whenever a row counted in it changes, whoever
  changes it (sync, a merge, another program): a visit or item added,
  changed or deleted, a household added, moved to another grid or deleted
  (every month of its visits and items).  A month struck off is counted
  again from the records, whole, the next time a summary needs it.
* ``marks_stale`` lists the households whose marks are out of date; ``*``
  stands for all of them (a new or bulk-loaded database).  They are made
  again the next time a summary needs them.

So a summary costs what has changed since the last one, plus the days of
its period that do not make a whole month (read from the records).
:func:`visitlog.store.checking` compares the kept totals with the records.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from typing import Any

from visitlog.model import CLOSED_STATUSES, OPEN_STATUSES, Kind, Outcome, Satisfaction, Status
from visitlog.rows import live
from visitlog.store import cipher

#: The tables (for copies, checks and the bulk load's clean-up).
TOTALS_TABLES = (
    "summary_months",
    "visit_totals",
    "visitor_totals",
    "item_totals",
    "household_marks",
    "marks_stale",
)
ALL_STALE = "*"

_MONTH = "substr({}, 1, 7)"


def _changed(cols: Sequence[str]) -> str:
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in cols)


def _months_of_household(ref: str) -> str:
    """Strike off every month of the live visits and items of household *ref*."""
    return f"""
        DELETE FROM summary_months WHERE month IN (
            SELECT substr(visit_date, 1, 7) FROM visits
            WHERE live_household = {ref} AND deleted = 0 AND merged_into IS NULL
            UNION SELECT substr(raised_date, 1, 7) FROM items
            WHERE live_household = {ref} AND deleted = 0);
    """


_VISIT_COLS = (
    "household_id", "live_household", "visit_date", "visitor", "mode", "outcome", "deleted",
    "merged_into",
)  # fmt: skip
_ITEM_COLS = (
    "live_household", "live_visit", "raised_date", "kind", "category", "status",
    "satisfaction", "deadline", "closed_date", "deleted",
)  # fmt: skip
_HOUSEHOLD_COLS = ("community", "micro_grid", "deleted", "merged_into")


def _stale(ref: str) -> str:
    return f"INSERT OR IGNORE INTO marks_stale SELECT {ref} WHERE {ref} IS NOT NULL;"


def forget_all(conn: sqlite3.Connection) -> None:
    """Every kept total out of date (rows were written with the triggers set
    aside: a bulk load).  Nothing happens in a file without the tables."""
    with contextlib.suppress(*cipher.OPERATIONAL_ERRORS):
        conn.execute("DELETE FROM summary_months")
        conn.execute(f"INSERT OR IGNORE INTO marks_stale VALUES ('{ALL_STALE}')")


# -- counting them again ----------------------------------------------------------

#: The outcomes a household's marks keep, by column.
MARKED = {
    "met": Outcome.MET.value,
    "refused": Outcome.REFUSED.value,
    "not_home": Outcome.NOT_HOME.value,
    "moved": Outcome.MOVED.value,
}
_BIT = "(1 << (CAST(substr(visit_date, 6, 2) AS INTEGER) - 1))"
_MARK_COLS = ", ".join(
    f"coalesce(sum(DISTINCT {_BIT}) FILTER (WHERE outcome = '{o}'), 0)" for o in MARKED.values()
)
MARKS_OF = f"""
    SELECT live_household, CAST(substr(visit_date, 1, 4) AS INTEGER) AS year, {_MARK_COLS}
    FROM visits INDEXED BY visits_summary
    WHERE {live()} AND live_household IS NOT NULL AND visit_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-*'
    {{only}}
    GROUP BY live_household, year
"""

#: Dead visits: their items do not count (see visitlog.summary.queries).
DEAD_VISITS = (
    "SELECT id FROM visits INDEXED BY visits_dead WHERE deleted != 0 OR merged_into IS NOT NULL"
)

_OPEN = "(" + ", ".join("'" + v.value + "'" for v in OPEN_STATUSES) + ")"
_CLOSED = "(" + ", ".join("'" + v.value + "'" for v in CLOSED_STATUSES) + ")"
#: What is counted of the items of a month, 居民区, 微网格 and category (the
#: summary's item counts; its overdue items depend on the day asked and are
#: read from the items themselves).  Each kind and satisfaction has a column
#: (``kind_0`` … in the order of the model's choices).
ITEM_COUNTS = {
    "n": "1",
    "open": f"i.status IN {_OPEN}",
    "closed": f"i.status IN {_CLOSED}",
    "on_spot": f"i.status IN {_CLOSED} AND i.closed_date = i.raised_date",
    "closed_with_deadline": f"i.status IN {_CLOSED} AND i.deadline IS NOT NULL",
    "on_time": f"i.status IN {_CLOSED} AND i.deadline IS NOT NULL AND i.closed_date <= i.deadline",
    "closed_with_dates": (
        f"i.status IN {_CLOSED} AND i.closed_date IS NOT NULL AND i.raised_date IS NOT NULL"
    ),
    "fed_back": f"i.status = '{Status.FED_BACK.value}'",
    **{f"kind_{n}": f"i.kind = '{k}'" for n, k in enumerate(Kind.choices())},
    **{f"sat_{n}": f"i.satisfaction = '{v}'" for n, v in enumerate(Satisfaction.choices())},
}
#: The items of a group counted (``{month}``: the month column or nothing,
#: ``{where}``: which items, ``{index}``: read through which index).
ITEM_ROWS = f"""
    SELECT {{month}} h.community, h.micro_grid, i.category,
           {", ".join(f"count(*) FILTER (WHERE {c}) AS {name}" for name, c in ITEM_COUNTS.items())},
           total(julianday(i.closed_date) - julianday(i.raised_date))
               FILTER (WHERE i.status IN {_CLOSED}) AS days
    FROM items i {{index}}
    JOIN households h INDEXED BY households_summary ON h.id = i.live_household
    WHERE i.deleted = 0 AND i.live_visit IS NOT NULL AND i.live_visit NOT IN ({DEAD_VISITS})
      AND {live("h")} AND {{where}}
    GROUP BY {{group}} h.community, h.micro_grid, i.category
"""


#: The tables, their indexes and the triggers that keep them current.
SCHEMA = (
    "CREATE TABLE summary_months (month TEXT PRIMARY KEY) WITHOUT ROWID",
    "CREATE TABLE visit_totals (month TEXT NOT NULL, community TEXT, micro_grid TEXT, "
    "outcome TEXT, mode TEXT, n INTEGER NOT NULL)",
    "CREATE INDEX visit_totals_month ON visit_totals(month)",
    "CREATE TABLE visitor_totals (month TEXT NOT NULL, community TEXT, micro_grid TEXT, "
    "visitor TEXT)",
    "CREATE INDEX visitor_totals_month ON visitor_totals(month)",
    "CREATE TABLE item_totals (month TEXT NOT NULL, community TEXT, micro_grid TEXT, "
    "category TEXT, " + ", ".join(f"{c} INTEGER NOT NULL" for c in ITEM_COUNTS) + ", "
    "days REAL NOT NULL)",
    "CREATE INDEX item_totals_month ON item_totals(month)",
    "CREATE TABLE household_marks (household TEXT NOT NULL, year INTEGER NOT NULL, "
    "met INTEGER NOT NULL, refused INTEGER NOT NULL, not_home INTEGER NOT NULL, "
    "moved INTEGER NOT NULL, PRIMARY KEY (household, year)) WITHOUT ROWID",
    "CREATE TABLE marks_stale (household TEXT PRIMARY KEY) WITHOUT ROWID",
    # The items of a month not whole in a summary's period are read by the
    # day they were raised.
    "CREATE INDEX items_raised ON items(raised_date) WHERE deleted = 0",
    f"""CREATE TRIGGER totals_visit_added AFTER INSERT ON visits BEGIN
        DELETE FROM summary_months WHERE month = {_MONTH.format("NEW.visit_date")};
        {_stale("coalesce(NEW.live_household, NEW.household_id)")}
    END""",
    f"""CREATE TRIGGER totals_visit_changed AFTER UPDATE OF {", ".join(_VISIT_COLS)} ON visits
    WHEN {_changed(_VISIT_COLS)} BEGIN
        DELETE FROM summary_months WHERE month IN
            ({_MONTH.format("OLD.visit_date")}, {_MONTH.format("NEW.visit_date")});
        DELETE FROM summary_months
            WHERE (OLD.deleted IS NOT NEW.deleted OR OLD.merged_into IS NOT NEW.merged_into)
            AND month IN (SELECT substr(raised_date, 1, 7) FROM items WHERE live_visit = NEW.id);
        {_stale("OLD.live_household")}
        {_stale("NEW.live_household")}
    END""",
    f"""CREATE TRIGGER totals_visit_gone AFTER DELETE ON visits BEGIN
        DELETE FROM summary_months WHERE month = {_MONTH.format("OLD.visit_date")};
        DELETE FROM summary_months WHERE month IN
            (SELECT substr(raised_date, 1, 7) FROM items WHERE live_visit = OLD.id);
        {_stale("OLD.live_household")}
    END""",
    f"""CREATE TRIGGER totals_item_added AFTER INSERT ON items BEGIN
        DELETE FROM summary_months WHERE month = {_MONTH.format("NEW.raised_date")};
    END""",
    f"""CREATE TRIGGER totals_item_changed AFTER UPDATE OF {", ".join(_ITEM_COLS)} ON items
    WHEN {_changed(_ITEM_COLS)} BEGIN
        DELETE FROM summary_months WHERE month IN
            ({_MONTH.format("OLD.raised_date")}, {_MONTH.format("NEW.raised_date")});
    END""",
    f"""CREATE TRIGGER totals_item_gone AFTER DELETE ON items BEGIN
        DELETE FROM summary_months WHERE month = {_MONTH.format("OLD.raised_date")};
    END""",
    f"""CREATE TRIGGER totals_household_added AFTER INSERT ON households BEGIN
        {_months_of_household("NEW.id")}
    END""",
    f"""CREATE TRIGGER totals_household_changed
    AFTER UPDATE OF {", ".join(_HOUSEHOLD_COLS)} ON households
    WHEN {_changed(_HOUSEHOLD_COLS)} BEGIN
        {_months_of_household("NEW.id")}
    END""",
    f"""CREATE TRIGGER totals_household_gone AFTER DELETE ON households BEGIN
        {_months_of_household("OLD.id")}
    END""",
    f"INSERT INTO marks_stale VALUES ('{ALL_STALE}')",
)


#: From this many months to count again, one pass over every visit is quicker
#: than reading month by month.
WHOLE_SCAN_FROM = 3


def month_marks(months: Sequence[str]) -> str:
    return ", ".join("'" + m + "'" for m in months)


def _month_range(col: str, months: Sequence[str]) -> str:
    """*col* (an ISO date) falls on a day of one of *months*."""
    return "(" + " OR ".join(f"{col} BETWEEN '{m}-01' AND '{m}-31'" for m in months) + ")"


def _whole_range(col: str, months: Sequence[str]) -> str:
    """The same condition, read by a pass over every row (no index on *col*)."""
    return (
        f"substr({col}, 1, 7) IN ({month_marks(months)}) "
        f"AND {col} BETWEEN substr({col}, 1, 7) || '-01' AND substr({col}, 1, 7) || '-31'"
    )


def counts_sql(months: Sequence[str], whole_scan: bool) -> tuple[str, str]:
    """``(visits, items)``: the SELECTs that count *months* from the records.

    The visits' rows are per month, 居民区, 微网格, outcome, mode and visitor
    (both visit tables are made from them).  *whole_scan*: one pass over the
    covering indexes in household order (many months) instead of reading
    the months' rows by their dates.
    """
    if whole_scan:
        source, cond = "visits v INDEXED BY visits_summary", _whole_range("v.visit_date", months)
        item_index, item_cond = "INDEXED BY items_summary", _whole_range("i.raised_date", months)
    else:
        source, cond = "visits v INDEXED BY visits_date", _month_range("v.visit_date", months)
        item_index, item_cond = "INDEXED BY items_raised", _month_range("i.raised_date", months)
    visits = f"""
        SELECT substr(v.visit_date, 1, 7) AS month, h.community, h.micro_grid, v.outcome,
               v.mode, v.visitor, count(*) AS n
        FROM {source}
        JOIN households h INDEXED BY households_summary ON h.id = v.live_household
        WHERE {live("v")} AND {live("h")} AND {cond}
        GROUP BY 1, 2, 3, 4, 5, 6
    """
    items = ITEM_ROWS.format(
        month="substr(i.raised_date, 1, 7) AS month,",
        index=item_index,
        where=item_cond,
        group="month,",
    )
    return visits, items


VISIT_TOTALS = (
    "SELECT month, community, micro_grid, outcome, mode, sum(n) FROM ({}) GROUP BY 1, 2, 3, 4, 5"
)
VISITOR_TOTALS = "SELECT DISTINCT month, community, micro_grid, visitor FROM ({})"


def count_months(conn: sqlite3.Connection, months: Sequence[str], whole_scan: bool) -> None:
    """Count *months* again from the records (their old totals deleted first)."""
    marks = month_marks(months)
    for table in ("visit_totals", "visitor_totals", "item_totals"):
        conn.execute(f"DELETE FROM {table} WHERE month IN ({marks})")
    visits, items = counts_sql(months, whole_scan)
    conn.execute("DROP TABLE IF EXISTS temp.visit_counts")
    conn.execute(f"CREATE TEMP TABLE visit_counts AS {visits}")
    conn.execute("INSERT INTO visit_totals " + VISIT_TOTALS.format("temp.visit_counts"))
    conn.execute("INSERT INTO visitor_totals " + VISITOR_TOTALS.format("temp.visit_counts"))
    conn.execute("DROP TABLE temp.visit_counts")
    conn.execute("INSERT INTO item_totals " + items)
    conn.executemany("INSERT OR IGNORE INTO summary_months VALUES (?)", [(m,) for m in months])


def mark_households(conn: sqlite3.Connection) -> None:
    """Make the marks of the households whose marks are stale."""
    if conn.execute("SELECT 1 FROM marks_stale WHERE household = ?", [ALL_STALE]).fetchone():
        conn.execute("DELETE FROM household_marks")
        conn.execute("INSERT INTO household_marks " + MARKS_OF.format(only=""))
    else:
        conn.execute(
            "DELETE FROM household_marks WHERE household IN (SELECT household FROM marks_stale)"
        )
        conn.execute(
            "INSERT INTO household_marks "
            + MARKS_OF.format(only="AND live_household IN (SELECT household FROM marks_stale)")
        )
    conn.execute("DELETE FROM marks_stale")


def differences(conn: sqlite3.Connection) -> list[str]:
    """The kept totals that differ from the records: the names of the tables
    whose kept rows are not what counting again makes (empty when every kept
    month and every household's marks agree).  Reads only."""
    out = []
    months = [r[0] for r in conn.execute("SELECT month FROM summary_months")]
    if months:
        marks = month_marks(months)
        visits, items = counts_sql(months, len(months) >= WHOLE_SCAN_FROM)
        pairs = {
            "visit_totals": VISIT_TOTALS.format(visits),
            "visitor_totals": VISITOR_TOTALS.format(visits),
            "item_totals": items,
        }
        for table, made in pairs.items():
            kept = f"SELECT * FROM {table} WHERE month IN ({marks})"
            if _rows(conn, kept) != _rows(conn, made):
                out.append(table)
    stale = conn.execute("SELECT 1 FROM marks_stale WHERE household = ?", [ALL_STALE]).fetchone()
    if not stale:
        fresh = "AND live_household NOT IN (SELECT household FROM marks_stale)"
        kept = (
            "SELECT * FROM household_marks "
            "WHERE household NOT IN (SELECT household FROM marks_stale)"
        )
        if _rows(conn, kept) != _rows(conn, MARKS_OF.format(only=fresh)):
            out.append("household_marks")
    return out


def _rows(conn: sqlite3.Connection, sql: str) -> list[tuple[Any, ...]]:
    """The rows of *sql*, in one order (a total of days rounded: sums made in
    another order differ in the last bits)."""
    rows = [tuple(round(v, 6) if isinstance(v, float) else v for v in r) for r in conn.execute(sql)]
    return sorted(rows, key=repr)
