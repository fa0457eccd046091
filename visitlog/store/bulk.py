"""Loading a large number of new rows into an empty database in one go.

:func:`bulk_load` wraps writes made through an ordinary :class:`Tx` (so every
row is stamped, logged and audited exactly as a normal write is): while it
is open the secondary indexes and the insert triggers of the record tables
and the change log are set aside, and the page cache is large; on leaving it
the indexes and triggers are made again from their stored definitions, in
the same transaction, and the summary's kept totals are marked out of date.  Building an index once over sorted keys costs a small
fraction of keeping it up to date row by row in random order, and the
triggers only fill derived columns the writer already fills.  A crash or an
error leaves the database as it was: the transaction rolls back, schema and
all.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Collection, Iterator, Sequence
from typing import Protocol

from visitlog.store.totals import forget_all

#: The tables whose indexes and insert triggers are set aside.
BULK_TABLES = ("households", "visits", "items", "changes")
#: Page cache of the connection while loading (KiB, SQLite's negative form).
BULK_CACHE_KIB = 256 * 1024


class Indexed(Protocol):
    """``indexed(table)``: build the indexes of *table* now (see :func:`bulk_load`)."""

    def __call__(self, tbl: str, *, every: bool = False) -> None: ...


@contextlib.contextmanager
def bulk_load(
    conn: sqlite3.Connection,
    leave_out: Collection[str] = (),
    *,
    tables: Sequence[str] = BULK_TABLES,
    every_trigger: bool = False,
    cache_kib: int = BULK_CACHE_KIB,
) -> Iterator[Indexed]:
    """Set aside indexes and insert triggers of the record tables while
    writing many new rows inside the caller's transaction, then rebuild them.

    Only for an empty database being filled (the demo street): the insert
    triggers set aside only fill ``live_*`` columns, which :meth:`Tx.insert_many`
    fills itself for new rows whose household and visit are not merged.

    Yields a function ``indexed(table)`` that builds the indexes of a table
    whose rows are all in at once (while the next table's rows are read,
    say) instead of at the end.

    Args:
        conn: the connection of a transaction already begun.
        leave_out: indexes not made again (a copy made for one reader that
            never uses them), unless ``indexed(table, every=True)`` asks for
            the table's every index.
        tables: the tables whose indexes and triggers are set aside.
        every_trigger: set aside their every trigger, not only the insert
            triggers (rows copied whole from another replica, derived
            columns and all: SQLite then copies their records as they are).
        cache_kib: the page cache meanwhile (rows copied inside SQLite in
            the order of their keys need little).
    """
    marks = ",".join("?" * len(tables))
    which = "" if every_trigger else " AND sql LIKE '%AFTER INSERT%'"
    saved = conn.execute(
        "SELECT type, name, sql, tbl_name FROM main.sqlite_master "
        f"WHERE tbl_name IN ({marks}) AND sql IS NOT NULL "
        f"AND (type = 'index' OR (type = 'trigger'{which})) "
        "ORDER BY rowid",
        list(tables),
    ).fetchall()
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = {-int(cache_kib)}")
    built: set[str] = set()

    def indexed(tbl: str, *, every: bool = False) -> None:
        for kind, name, sql, of in saved:
            if kind != "index" or of != tbl or name in built:
                continue
            if every or name not in leave_out:
                conn.execute(sql)
                built.add(name)

    try:
        for kind, name, _, _ in saved:
            conn.execute(f'DROP {kind.upper()} main."{name}"')
        yield indexed
        # Indexes first: a trigger's body may rely on them.
        for _kind, name, sql, _ in sorted(saved, key=lambda s: s[0] != "index"):
            if name not in built and name not in leave_out:
                conn.execute(sql)
        # The summary's kept totals missed what the insert triggers set aside
        # would have told them: they are all counted again when next needed.
        forget_all(conn)
    finally:
        conn.execute(f"PRAGMA cache_size = {cache}")
