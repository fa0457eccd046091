"""Inserts kept once: a row that still holds what its insert wrote is that
insert's entry in the change log.

An insert's change carries every field of the new row.  Kept in ``changes``,
that is a second copy of every row in the database, with its keys and index
entries, and most rows (visits, list items) are never edited after they are
made.  So a synced row made by an insert and not changed since carries the
insert's number in its own column ``log_seq`` (its author is the row's
``device``, its stamp the row's ``hlc``), and the insert is not in
``changes`` at all.  The change log is then ``changes`` together with those
rows: :func:`version_vector`, :func:`changes_in`, :func:`change_at` and
:func:`count_by_table` read both, and give such an insert the text made from
its row: the same text, byte for byte, as the insert first wrote (sync
compares it when a change arrives twice).  The view ``change_log`` shows
both, for people and tests, with ``data`` = :data:`BY_ROW` for the inserts
rows hold (:func:`change_at` gives any of them with its text).

The rule that keeps this safe: a row holds its insert only when the insert
made that very row and the row gives back the same text
(:func:`stores_exactly`, checked where the row is written), and before
anything changes a field of such a row the insert moves into ``changes`` in
full (:func:`keep`).  ``Tx.update`` and the sync merge
(:func:`visitlog.sync.sqlite.rows.merge_rows`) are the only writers of a
synced row's fields, and both call :func:`keep` before their first change of
a row.  ``visitlog check`` verifies the rule (:mod:`visitlog.store.checking`).
"""

from __future__ import annotations

import heapq
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from visitlog.model import SYNCED_FIELDS
from visitlog.rows import jdump

#: ``data`` of an insert held by its row, in the view ``change_log``.
BY_ROW = ""
#: The column of a synced row that holds its insert's number.
LOG_SEQ = "log_seq"

CHANGE_COLUMNS = "device, seq, tbl, row_id, hlc, op, data, base"

#: Column affinities of the synced tables, read once per process.
_AFFINITY: dict[str, dict[str, str]] = {}


def insert_data(tbl: str, row: Mapping[str, Any]) -> str:
    """The ``data`` text of the insert that made *row* (its synced fields and ``created_at``)."""
    return jdump({**{f: row[f] for f in SYNCED_FIELDS[tbl]}, "created_at": row["created_at"]})


def affinity(conn: sqlite3.Connection, tbl: str) -> dict[str, str]:
    """``{column: declared type}`` of a synced table (upper case, as declared)."""
    got = _AFFINITY.get(tbl)
    if got is None:
        got = {r[1]: (r[2] or "").upper() for r in conn.execute(f"PRAGMA table_info({tbl})")}
        _AFFINITY[tbl] = got
    return got


def stores_exactly(types: Mapping[str, str], fields: Sequence[str], values: Iterable[Any]) -> bool:
    """Whether SQLite gives back each of *values* unchanged from its column.

    Text in a TEXT column and whole numbers in an INTEGER column come back as
    they went in; anything else (a number in a text column, a flag as
    ``True``, a float) may not, and its insert is kept in ``changes``.
    """
    for f, v in zip(fields, values, strict=True):
        if v is None:
            continue
        kind = types.get(f, "")
        if type(v) is str:
            if "CHAR" in kind or "TEXT" in kind or "CLOB" in kind:
                continue
            return False
        if type(v) is int and "INT" in kind:
            continue
        return False
    return True


# -- reading the log ---------------------------------------------------------------


def _held(tbl: str) -> str:
    """The inserts *tbl*'s rows hold, as change tuples with ``data`` :data:`BY_ROW` (the view)."""
    return (
        f"SELECT device, {LOG_SEQ}, '{tbl}', id, hlc, 'insert', '{BY_ROW}', NULL FROM {tbl} "
        f"WHERE {LOG_SEQ} IS NOT NULL"
    )


def _walk_devices(conn: sqlite3.Connection, source: tuple[str, str], where: str) -> dict[str, int]:
    """``{device: highest number}`` of one source, a few index lookups per device."""
    table, seq = source
    out: dict[str, int] = {}
    dev = conn.execute(f"SELECT max(device) FROM {table} WHERE {where}").fetchone()[0]
    while dev is not None:
        out[dev] = conn.execute(
            f"SELECT max({seq}) FROM {table} WHERE {where} AND device = ?", [dev]
        ).fetchone()[0]
        dev = conn.execute(
            f"SELECT max(device) FROM {table} WHERE {where} AND device < ?", [dev]
        ).fetchone()[0]
    return out


def version_vector(conn: sqlite3.Connection) -> dict[str, int]:
    """``{device: highest seq held}``: ``changes`` and the inserts rows hold.

    Walks the distinct devices down each primary key or index (a ``GROUP
    BY`` would read the whole log: gigabytes at district scale).
    """
    vv = _walk_devices(conn, ("changes", "seq"), "1")
    for tbl in SYNCED_FIELDS:
        for dev, top in _walk_devices(conn, (tbl, LOG_SEQ), f"{LOG_SEQ} IS NOT NULL").items():
            if top > vv.get(dev, 0):
                vv[dev] = top
    return vv


def max_seq(conn: sqlite3.Connection, device: str) -> int:
    """The highest number of *device*'s changes held here (0: none)."""
    tops = [conn.execute("SELECT max(seq) FROM changes WHERE device = ?", [device]).fetchone()[0]]
    for tbl in SYNCED_FIELDS:
        tops.append(
            conn.execute(
                f"SELECT max({LOG_SEQ}) FROM {tbl} WHERE {LOG_SEQ} IS NOT NULL AND device = ?",
                [device],
            ).fetchone()[0]
        )
    return max((x for x in tops if x is not None), default=0)


def changes_in(
    conn: sqlite3.Connection, device: str, first: int, last: int, *, skips: bool = True
) -> Iterator[tuple[Any, ...]]:
    """*device*'s changes numbered *first*..*last*, in order, from ``changes``
    and from the rows that hold their insert (with its text, made from the row)."""
    where = "" if skips else " AND op <> 'skip'"
    sources = [
        conn.execute(
            f"SELECT {CHANGE_COLUMNS} FROM changes WHERE device = ? AND seq BETWEEN ? AND ?"
            f"{where} ORDER BY seq",
            [device, first, last],
        )
    ]
    for tbl in SYNCED_FIELDS:
        sources.append(
            _with_text(
                tbl,
                conn.execute(
                    f"SELECT {_HELD_COLUMNS}, {_fields(tbl)} FROM {tbl} "
                    f"WHERE {LOG_SEQ} IS NOT NULL AND device = ? AND {LOG_SEQ} BETWEEN ? AND ? "
                    f"ORDER BY {LOG_SEQ}",
                    [device, first, last],
                ),
            )
        )
    yield from heapq.merge(*sources, key=lambda ch: ch[1])


_HELD_COLUMNS = f"device, {LOG_SEQ}, id, hlc"


def _fields(tbl: str) -> str:
    return ", ".join([*SYNCED_FIELDS[tbl], "created_at"])


def _with_text(tbl: str, rows: Iterable[Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
    """Change tuples of the inserts *rows* hold (``_HELD_COLUMNS`` then
    :func:`_fields`), their text made from the row as they are read."""
    names = (*SYNCED_FIELDS[tbl], "created_at")
    for device, seq, rid, hlc, *values in rows:
        text = jdump(dict(zip(names, values, strict=True)))
        yield (device, seq, tbl, rid, hlc, "insert", text, None)


def change_at(conn: sqlite3.Connection, device: str, seq: int) -> tuple[Any, ...] | None:
    """The change numbered *seq* of *device*, if held; an insert a row holds with its text."""
    got = conn.execute(
        f"SELECT {CHANGE_COLUMNS} FROM changes WHERE device = ? AND seq = ?", [device, seq]
    ).fetchone()
    if got is not None:
        return tuple(got)
    for tbl in SYNCED_FIELDS:
        cur = conn.execute(
            f"SELECT {_HELD_COLUMNS}, {_fields(tbl)} FROM {tbl} "
            f"WHERE {LOG_SEQ} IS NOT NULL AND device = ? AND {LOG_SEQ} = ?",
            [device, seq],
        )
        for held in _with_text(tbl, cur):
            return held
    return None


def count_by_table(conn: sqlite3.Connection, device: str, first: int, last: int) -> Counter[str]:
    """How many of *device*'s changes numbered *first*..*last* are of each table (skips aside)."""
    counts: Counter[str] = Counter()
    for tbl, n in conn.execute(
        "SELECT tbl, count(*) FROM changes WHERE device = ? AND seq BETWEEN ? AND ? "
        "AND op <> 'skip' GROUP BY tbl",
        [device, first, last],
    ):
        counts[tbl] += n
    for tbl in SYNCED_FIELDS:
        n = conn.execute(
            f"SELECT count(*) FROM {tbl} WHERE {LOG_SEQ} IS NOT NULL AND device = ? "
            f"AND {LOG_SEQ} BETWEEN ? AND ?",
            [device, first, last],
        ).fetchone()[0]
        if n:
            counts[tbl] += n
    return counts


def held_insert(tbl: str, row: Mapping[str, Any]) -> tuple[str, str, str, str, None] | None:
    """The log entry ``(hlc, device, op, data, base)`` of the insert *row* holds, if it does."""
    if row.get(LOG_SEQ) is None:
        return None
    return (row["hlc"], row["device"], "insert", insert_data(tbl, row), None)


# -- writing -------------------------------------------------------------------------


def keep(conn: sqlite3.Connection, tbl: str, rows: Iterable[Mapping[str, Any]]) -> int:
    """Move the inserts *rows* hold into ``changes`` in full, before a first change of them.

    Args:
        rows: rows as stored now (``SELECT *``): those with ``log_seq`` set
            hold their insert.

    Returns:
        How many inserts were moved.
    """
    moved = [
        (r["device"], r[LOG_SEQ], tbl, r["id"], r["hlc"], insert_data(tbl, r))
        for r in rows
        if r[LOG_SEQ] is not None
    ]
    if not moved:
        return 0
    conn.executemany(
        "INSERT INTO changes(device, seq, tbl, row_id, hlc, op, data) "
        "VALUES (?, ?, ?, ?, ?, 'insert', ?)",
        moved,
    )
    conn.executemany(f"UPDATE {tbl} SET {LOG_SEQ} = NULL WHERE id = ?", [[m[3]] for m in moved])
    return len(moved)


def view_sql() -> str:
    """``change_log``: ``changes`` and the inserts the rows hold, one view."""
    parts = [f"SELECT {CHANGE_COLUMNS} FROM changes", *(_held(tbl) for tbl in SYNCED_FIELDS)]
    return "CREATE VIEW change_log AS " + " UNION ALL ".join(parts)


__all__ = [
    "BY_ROW",
    "CHANGE_COLUMNS",
    "LOG_SEQ",
    "affinity",
    "change_at",
    "changes_in",
    "count_by_table",
    "held_insert",
    "insert_data",
    "keep",
    "max_seq",
    "stores_exactly",
    "version_vector",
    "view_sql",
]
