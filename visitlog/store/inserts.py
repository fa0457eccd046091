"""Inserts kept once: the change log points at the row instead of copying it.

An insert's change carries every field of the new row (``data``).  Kept as
written, that is a second copy of every row in the database, and most rows
(visits, list items) are never edited after they are made.  So while a row
still holds exactly what its insert wrote, the insert's ``data`` is stored as
:data:`BY_ROW` (an empty string) and rebuilt from the row whenever the change
is read (:func:`fill`): the same text, byte for byte, as the one first written,
which is what sync compares when a change is received twice.

The rule that keeps this safe: an insert is stored :data:`BY_ROW` only when
the row was made by that very insert and rebuilding it gives back the same
text (:func:`stores_exactly`, checked where the row is written), and before
anything changes a field of such a row the insert's text is written back in
full (:func:`keep`).  ``Tx.update`` and the sync merge
(:func:`visitlog.sync.sqlite.rows.merge_rows`) are the only writers of a
synced row's fields, and both call :func:`keep` before their first change of
a row (one whose ``stamps`` is still NULL).  ``visitlog check`` verifies the
rule (:mod:`visitlog.store.checking`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from visitlog.i18n import t
from visitlog.model import SYNCED_FIELDS, VisitlogError
from visitlog.rows import in_parts, jdump

#: ``changes.data`` of an insert whose row still holds what it wrote.
BY_ROW = ""

#: Column affinities of the synced tables, read once per connection's schema.
_AFFINITY: dict[str, dict[str, str]] = {}


class LogDamaged(VisitlogError):
    """An insert kept by its row, but the row is not there (or not as written)."""


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


def stores_exactly(types: Mapping[str, str], fields: Sequence[str], values: Sequence[Any]) -> bool:
    """Whether SQLite gives back each of *values* unchanged from its column.

    Text in a TEXT column and whole numbers in an INTEGER column come back as
    they went in; anything else (a number in a text column, a flag as
    ``True``, a float) may not, and its insert keeps its own copy.
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


def fill(conn: sqlite3.Connection, changes: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """*changes* (``device, seq, tbl, row_id, hlc, op, data, base``) with every
    insert kept by its row given its text again.

    Raises:
        LogDamaged: an insert is kept by a row that is not there.
    """
    wanted: dict[str, set[str]] = {}
    for ch in changes:
        if ch[6] == BY_ROW:
            wanted.setdefault(ch[2], set()).add(ch[3])
    if not wanted:
        return [tuple(ch) for ch in changes]
    texts: dict[tuple[str, str], str] = {}
    for tbl, ids in wanted.items():
        for tbl_id, text in _texts(conn, tbl, sorted(ids)):
            texts[(tbl, tbl_id)] = text
    out = []
    for ch in changes:
        if ch[6] == BY_ROW:
            text = texts.get((ch[2], ch[3]))
            if text is None:
                raise LogDamaged(t("err.log_row_missing", tbl=ch[2], id=ch[3]))
            ch = (*ch[:6], text, *ch[7:])
        out.append(tuple(ch))
    return out


def _texts(conn: sqlite3.Connection, tbl: str, ids: Sequence[str]) -> Iterable[tuple[str, str]]:
    """``(id, insert text)`` of the rows *ids* of *tbl* (what :func:`insert_data` makes)."""
    names = ("id", *SYNCED_FIELDS[tbl], "created_at")
    cols = ", ".join(names)
    for part, marks in in_parts(ids):
        for row in conn.execute(f"SELECT {cols} FROM {tbl} WHERE id IN ({marks})", part):
            values = dict(zip(names, row, strict=True))
            yield values.pop("id"), jdump(values)


def keep(conn: sqlite3.Connection, tbl: str, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write back in full the inserts kept by *rows*, before a first change of them.

    Args:
        rows: rows as stored now (synced fields, ``created_at``, ``stamps``);
            only those never changed since their insert (``stamps`` NULL) can
            have their insert kept by them.

    Returns:
        How many inserts were written back.
    """
    params = [(insert_data(tbl, r), tbl, r["id"]) for r in rows if r["stamps"] is None]
    if not params:
        return 0
    cur = conn.executemany(
        "UPDATE changes SET data = ? WHERE tbl = ? AND row_id = ? AND op = 'insert' "
        f"AND data = '{BY_ROW}'",
        params,
    )
    return cur.rowcount


__all__ = [
    "BY_ROW",
    "LogDamaged",
    "affinity",
    "fill",
    "insert_data",
    "keep",
    "stores_exactly",
]
