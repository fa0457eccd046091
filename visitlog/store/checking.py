"""What ``visitlog check`` verifies, in full and since the last check.

A district's database holds millions of rows: SQLite's full
``integrity_check`` (every index entry against its row) alone takes minutes
there.  So the check splits in two:

- **Always in full**: ``PRAGMA quick_check`` (every page and b-tree of the
  file, NOT NULL and CHECK constraints) and the audit chain.
- **In full on a small database or with ``--full``; otherwise only for the
  rows changed since the last clean check**: SQLite's ``integrity_check``
  (indexes against rows; a large database gets it with ``--full`` only), the
  foreign keys, the allowed values of enumerated columns, list items left on
  deleted visits, rows with no change log entry, and rows holding their
  insert (:mod:`visitlog.store.inserts`) that were changed without the insert
  moving to the log; with ``--full`` (or on a small database) also the
  summary's kept totals (:mod:`visitlog.store.totals`), counted again.

"Changed since the last check" is read from the change log (every change,
made here or received, is in it under its device and sequence number) and
from the tables' rowids (a row written without a log entry has a new rowid):
after a check that found nothing, the version vector of the log and the
highest rowid of each table are kept in the setting ``check_mark``.  A mark
that the database does not reach (a backup restored over it) is ignored: the
next check is a full one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

from visitlog.i18n import t
from visitlog.model import (
    SYNCED_FIELDS,
    Category,
    Kind,
    Level,
    Mode,
    Occupancy,
    Outcome,
    Satisfaction,
    Status,
)
from visitlog.store import cipher, inserts, totals

#: The setting that keeps where the last clean check stopped.
MARK = "check_mark"
#: A database up to this size (bytes) is checked in full every time.
FULL_UP_TO = 256 * 1024 * 1024
#: Page cache for the check (KiB): the b-tree walks revisit pages.
CHECK_CACHE_KIB = 256 * 1024

ENUMS = {
    ("households", "occupancy"): Occupancy,
    ("visits", "mode"): Mode,
    ("visits", "outcome"): Outcome,
    ("items", "kind"): Kind,
    ("items", "category"): Category,
    ("items", "status"): Status,
    ("items", "level"): Level,
    ("items", "satisfaction"): Satisfaction,
}
#: Foreign keys of the record tables: (table, column, parent table).
PARENTS = [
    ("visits", "household_id", "households"),
    ("items", "visit_id", "visits"),
    ("items", "household_id", "households"),
]


def mark_now(conn: sqlite3.Connection) -> dict[str, Any]:
    """Where the database is now: the change log's version vector and each table's last rowid."""
    vv = inserts.version_vector(conn)
    rowids = {
        tbl: conn.execute(f"SELECT coalesce(max(rowid), 0) FROM {tbl}").fetchone()[0]
        for tbl in SYNCED_FIELDS
    }
    return {"vv": vv, "rowids": rowids}


def reaches(now: dict[str, Any], mark: dict[str, Any]) -> bool:
    """Whether the database at *now* holds everything it held at *mark* (a
    backup restored over it does not)."""
    return all(now["vv"].get(d, 0) >= s for d, s in mark["vv"].items()) and all(
        now["rowids"].get(tbl, 0) >= r for tbl, r in mark["rowids"].items()
    )


def _since(
    conn: sqlite3.Connection, mark: dict[str, Any], tbl: str | None = None
) -> Iterator[tuple[str, list[Any]]]:
    """SELECTs of ``(table, row id)`` of the rows changed since *mark* (of
    :func:`mark_now`), of every synced table or of *tbl*: in the change log
    after its version vector (made here or received), or written with a new
    rowid."""
    only = "" if tbl is None else " AND tbl = ?"
    for device in inserts.version_vector(conn):
        params: list[Any] = [device, mark["vv"].get(device, 0)]
        yield (
            f"SELECT tbl, row_id FROM changes WHERE device = ? AND seq > ?{only}",
            params if tbl is None else [*params, tbl],
        )
    for name in SYNCED_FIELDS if tbl is None else (tbl,):
        yield f"SELECT '{name}', id FROM {name} WHERE rowid > ?", [mark["rowids"].get(name, 0)]


def changed_rows(conn: sqlite3.Connection, mark: dict[str, Any], tbl: str) -> set[str]:
    """The ids of *tbl*'s rows changed since *mark* (see :func:`_since`)."""
    return {r[1] for sql, params in _since(conn, mark, tbl) for r in conn.execute(sql, params)}


def _changed_since(conn: sqlite3.Connection, mark: dict[str, Any]) -> None:
    """Fill the temporary table ``check_rows(tbl, row_id)`` with the rows
    changed since *mark* (see :func:`_since`)."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS check_rows (tbl TEXT, row_id TEXT)")
    conn.execute("DELETE FROM check_rows")
    for sql, params in _since(conn, mark):
        conn.execute(f"INSERT INTO check_rows {sql}", params)
    conn.execute("CREATE INDEX IF NOT EXISTS temp.check_rows_key ON check_rows(tbl, row_id)")


def run_check(conn: sqlite3.Connection, *, full: bool = False) -> tuple[list[str], bool]:
    """SQLite's checks plus visitlog's own, on the Store's connection.

    Args:
        conn: the connection (no transaction open).
        full: check every row whatever the size of the database.

    Returns:
        ``(problems, whole)``: one plain sentence per problem found (empty
        when all is well), and whether every row was checked.
    """
    problems: list[str] = []
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = {-CHECK_CACHE_KIB}")
    try:
        size = conn.execute(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
        ).fetchone()[0]
        row = conn.execute("SELECT value FROM settings WHERE key = ?", [MARK]).fetchone()
        mark = json.loads(row[0]) if row else None
        whole = full or size <= FULL_UP_TO or mark is None or not reaches(mark_now(conn), mark)
        pragma = "integrity_check" if whole else "quick_check"
        result = [r[0] for r in conn.execute(f"PRAGMA {pragma}")]
        if result != ["ok"]:
            problems += [t("check.integrity", detail=x) for x in result[:10]]
        if whole:
            problems += _rows_in_full(conn)
            problems += _kept_totals(conn)
        else:
            assert mark is not None
            _changed_since(conn, mark)
            problems += _rows_changed(conn)
        return problems, whole
    finally:
        conn.execute(f"PRAGMA cache_size = {cache}")


def _rows_in_full(conn: sqlite3.Connection) -> list[str]:
    problems = [
        t("check.foreign_key", table=r[0], rowid=r[1], parent=r[2])
        for r in conn.execute("PRAGMA foreign_key_check")
    ]
    return problems + _own_gaps(conn) + _row_checks(conn, lambda _tbl, _alias: "1")


def _kept_totals(conn: sqlite3.Connection) -> list[str]:
    """The summary's kept totals against the records (a full check only: it
    counts every kept month again).  Totals found wrong are struck off, so the
    next summary counts them again from the records."""
    try:
        wrong = totals.differences(conn)
    except cipher.OPERATIONAL_ERRORS:
        return []  # a file without kept totals (an older schema opened as it is)
    if wrong:
        totals.forget_all(conn)
    return [t("check.totals", table=name) for name in wrong]


def _own_gaps(conn: sqlite3.Connection) -> list[str]:
    """Numbers of this device's changes held nowhere: a row holding its insert
    (:mod:`visitlog.store.inserts`) removed behind visitlog's back takes the
    insert with it, and no peer could take anything numbered after it.
    Every number up to the highest is a change, a skip's range or an insert
    a row holds (one counter, one transaction each)."""
    row = conn.execute("SELECT value FROM settings WHERE key = 'device_id'").fetchone()
    if not row:
        return []
    device = row[0]
    top = inserts.max_seq(conn, device)
    held = conn.execute(
        "SELECT coalesce(sum(seq - json_extract(data, '$.first') + 1), 0) FROM changes "
        "WHERE device = ? AND op = 'skip'",
        [device],
    ).fetchone()[0]
    numbers = " UNION ".join(
        [
            "SELECT seq FROM changes WHERE device = ? AND op <> 'skip'",
            *(
                f"SELECT {inserts.LOG_SEQ} FROM {tbl} WHERE {inserts.LOG_SEQ} IS NOT NULL "
                "AND device = ?"
                for tbl in SYNCED_FIELDS
            ),
        ]
    )
    held += conn.execute(
        f"SELECT count(*) FROM ({numbers})", [device] * (1 + len(SYNCED_FIELDS))
    ).fetchone()[0]
    if held < top:
        return [t("check.log_gap", count=top - held, device=device)]
    return []


def _rows_changed(conn: sqlite3.Connection) -> list[str]:
    """The row checks of :func:`_rows_in_full`, for the rows in ``check_rows``."""

    def changed(tbl: str, alias: str) -> str:
        return f"{alias}.id IN (SELECT row_id FROM temp.check_rows WHERE tbl = '{tbl}')"

    problems = []
    for tbl, col, parent in PARENTS:
        for rowid, _ in conn.execute(
            f"SELECT r.rowid, r.{col} FROM {tbl} r WHERE {changed(tbl, 'r')} "
            f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = r.{col})"
        ):
            problems.append(t("check.foreign_key", table=tbl, rowid=rowid, parent=parent))
    return problems + _row_checks(conn, changed)


def _row_checks(conn: sqlite3.Connection, within: Callable[[str, str], str]) -> list[str]:
    """Enum values, items of deleted visits and rows with no change logged, among
    the rows ``within(table, alias)`` selects (an SQL condition)."""
    problems = []
    for (tbl, col), enum_cls in ENUMS.items():
        allowed = enum_cls.choices()
        marks = ",".join("?" * len(allowed))
        n = conn.execute(
            f"SELECT count(*) FROM {tbl} r WHERE {within(tbl, 'r')} "
            f"AND {col} IS NOT NULL AND {col} NOT IN ({marks})",
            allowed,
        ).fetchone()[0]
        if n:
            problems.append(t("check.bad_enum", table=tbl, column=col, count=n))
    # an item within, or the visit it is on (a visit deleted since)
    orphans = conn.execute(
        "SELECT count(*) FROM items i JOIN visits v ON v.id = i.visit_id "
        "WHERE i.deleted = 0 AND v.deleted = 1 AND "
        f"({within('items', 'i')} OR {within('visits', 'v')})"
    ).fetchone()[0]
    if orphans:
        problems.append(t("check.orphan_items", count=orphans))
    held = f"r.{inserts.LOG_SEQ} IS NOT NULL"
    for tbl in SYNCED_FIELDS:
        # A row holding its insert (visitlog.store.inserts) that has been
        # changed without the insert moving to the log first: the insert is lost;
        # or whose insert number is another change's (a row copied behind
        # visitlog's back): one of the two would never be sent.
        numbered = " OR ".join(
            [
                "EXISTS (SELECT 1 FROM changes c WHERE c.device = r.device "
                f"AND c.seq = r.{inserts.LOG_SEQ})",
                *(
                    f"EXISTS (SELECT 1 FROM {o} x WHERE x.device = r.device "
                    f"AND x.{inserts.LOG_SEQ} = r.{inserts.LOG_SEQ}"
                    + (" AND x.rowid <> r.rowid)" if o == tbl else ")")
                    for o in SYNCED_FIELDS
                ),
            ]
        )
        for key, condition in (
            ("check.kept_insert_changed", f"{held} AND r.stamps IS NOT NULL"),
            ("check.held_twice", f"{held} AND ({numbered})"),
        ):
            problems += _rows_where(conn, tbl, within, condition, key)
    for tbl in SYNCED_FIELDS:
        condition = (
            f"r.{inserts.LOG_SEQ} IS NULL AND NOT EXISTS "
            f"(SELECT 1 FROM changes c WHERE c.tbl = '{tbl}' AND c.row_id = r.id)"
        )
        problems += _rows_where(conn, tbl, within, condition, "check.unlogged")
    return problems


def _rows_where(
    conn: sqlite3.Connection,
    tbl: str,
    within: Callable[[str, str], str],
    condition: str,
    key: str,
) -> list[str]:
    """The problem *key* for the rows ``r`` of *tbl* within the check that meet *condition*."""
    n = conn.execute(
        f"SELECT count(*) FROM {tbl} r WHERE {within(tbl, 'r')} AND {condition}"
    ).fetchone()[0]
    return [t(key, table=tbl, count=n)] if n else []
