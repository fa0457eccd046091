"""Listings read one record at a time, from one consistent snapshot.

A district holds hundreds of thousands of households and millions of visits:
a listing that built them all in memory first would grow with the database.
A :class:`Listing` opens a read transaction on a connection of its own, says
how many records it holds (``count``, from the same snapshot, so the number
audited before an export is the number written) and yields them as SQLite
returns them, a batch at a time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: Rows fetched from the cursor at a time (and records built per batch).
BATCH = 500

#: Builds the records of one batch of rows (by column name); may read more on the connection.
Build = Callable[[sqlite3.Connection, list[dict[str, Any]]], Iterable[T]]


class Listing(Generic[T]):
    """The records of one listing query.  Use it as a context manager::

        with store.households_listing(grid=g) as households:
            audit(households.count)
            for h in households:
                ...

    Args:
        opener: the store's ``reader`` (a context manager of a read-only connection).
        sql: the query, with its ORDER BY.
        params: its parameters.
        build: makes the records of a batch of rows.
    """

    def __init__(
        self,
        opener: Callable[[], Any],
        sql: str,
        params: Sequence[Any],
        build: Build[T],
    ):
        self._opener = opener
        self.sql = sql
        self.params = list(params)
        self._build = build
        self._stack = ExitStack()
        self._conn: sqlite3.Connection | None = None
        self.count = 0

    def __enter__(self) -> Listing[T]:
        conn = self._stack.enter_context(self._opener())
        try:
            # One snapshot for the count and the rows: BEGIN, then the first read.
            conn.execute("BEGIN")
            self.count = conn.execute(f"SELECT count(*) FROM ({self.sql})", self.params).fetchone()[
                0
            ]
        except BaseException:
            self._stack.close()
            raise
        self._conn = conn
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn = None
        self._stack.close()

    def __iter__(self) -> Iterator[T]:
        conn = self._conn
        if conn is None:
            raise RuntimeError("a Listing is read inside its with block")
        cur = conn.execute(self.sql, self.params)
        names = [d[0] for d in cur.description or ()]
        while batch := cur.fetchmany(BATCH):
            # plain dicts: read by name only, and quicker to make and read than Rows
            yield from self._build(conn, [dict(zip(names, r, strict=True)) for r in batch])
