"""A replica's rows copied into a new SQLite file, for reading.

``visitlog summary --hub postgresql://…`` computes the summary on what the
hub (through the role connecting, so a station sees only its own) holds,
copied into a new SQLite file on which the existing summary runs:

- A PostgreSQL hub keeps each row as the merge rules left it: those rows
  (and its conflict records) are written into the copy as they are
  (:mod:`visitlog.sync.sqlite.snapshot`), read from one REPEATABLE READ
  snapshot that takes no lock, so syncs go on meanwhile.
- Any other replica's changes are applied, with the same merge rules, to the
  copy, in one session (its lock held while it is read).

Either way the figures are the SQLite path's on the same rows.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from visitlog.progress import Progress, report
from visitlog.store import bulk_load
from visitlog.sync.engines import TargetName, find_target
from visitlog.sync.merge import missing
from visitlog.sync.sqlite import SqliteReplica
from visitlog.sync.sqlite.snapshot import SNAPSHOT_TABLES, finish, merges_to_derive, row_plan

T = TypeVar("T")


def copy_replica(
    source: TargetName,
    dest: Path,
    *,
    progress: Progress | None = None,
    batch_size: int = 5000,
    only: Mapping[str, Collection[str]] | None = None,
    leave_out: Collection[str] = (),
) -> int:
    """Copy what *source* holds into a new SQLite replica at *dest*, a file
    to read and then remove (a hub's snapshot is written without a journal).

    *only* (``{table: columns}``): of a hub's snapshot, read only these
    columns of these tables (see :func:`~visitlog.sync.sqlite.snapshot.row_plan`);
    a replayed copy is always whole.

    *progress* is told the rows of each table of a hub's snapshot written so
    far (``progress(table, done, None)``: a hub does not say beforehand how
    many it holds; the total once all are read), then that the copy's
    indexes are being built (``progress("indexes", 0, None)``).

    *leave_out*: indexes a hub's snapshot is written without, as its one
    reader never uses them; they are made all the same when the copy has
    merges to derive (the Store's triggers look visits and items up by
    their household and visit).

    Returns:
        How many rows were written (a hub's snapshot) or changes applied.

    Raises:
        VisitlogError: *source* cannot be opened (see :func:`find_target`).
    """
    found = find_target(source)
    with (
        contextlib.closing(found.open()) as hub,
        contextlib.closing(SqliteReplica(dest, page_size=COPY_PAGE_SIZE)) as copy,
    ):
        return _fill(hub, copy, progress, batch_size, only, leave_out)


#: The page size of a (plain) copy: its rows arrive in no order of their
#: keys, and in larger pages fewer are split and written (a street's
#: ``summary --hub``: 3.0 → 2.7 s).
COPY_PAGE_SIZE = 16384


def _fill(
    hub: Any,
    copy: SqliteReplica,
    progress: Progress | None,
    batch_size: int,
    only: Mapping[str, Collection[str]] | None,
    leave_out: Collection[str],
) -> int:
    """Write what *hub* holds into *copy* (see :func:`copy_replica`)."""
    snapshot = getattr(hub, "snapshot", None)
    if snapshot is not None:
        # A copy for reading, removed after use: a crash loses nothing,
        # so it keeps no journal (its pages are written once, not to
        # the WAL and again to the file) and does not wait for the disk.
        copy.store.conn.execute("PRAGMA journal_mode = OFF")
        copy.store.conn.execute("PRAGMA synchronous = OFF")
        # A sync's connection keeps its statement journals in memory; the
        # copy builds whole indexes, whose sorts were slower that way.
        copy.store.conn.execute("PRAGMA temp_store = DEFAULT")
        # Rows are not looked up against their household and visit as
        # they are written (foreign keys): finish() removes those whose
        # parent the copy does not hold, which is all the keys would ask.
        copy.store.conn.execute("PRAGMA foreign_keys = OFF")
        with snapshot() as rows, copy.session() as cs:
            done: dict[str, int] = {}
            with bulk_load(cs.conn, leave_out) as indexed:
                plans = {tbl: row_plan(cs.conn, tbl, only) for tbl in SNAPSHOT_TABLES}
                tables = [(tbl, plans[tbl][0]) for tbl in SNAPSHOT_TABLES]
                for tbl, batch in _ahead(rows, tables, batch_size):
                    if batch is None:
                        # all read: its indexes are built while the next is
                        report(progress, tbl, done.get(tbl, 0), done.get(tbl, 0))
                        indexed(tbl)
                    else:
                        cs.conn.executemany(plans[tbl][1], batch)
                        done[tbl] = done.get(tbl, 0) + len(batch)
                        report(progress, tbl, done[tbl], None)
                report(progress, "indexes", 0, None)
                if leave_out and merges_to_derive(cs.conn):
                    for tbl in SNAPSHOT_TABLES:
                        indexed(tbl, every=True)
            finish(cs.conn)
            return sum(done.values())
    return _replay(hub, copy, progress, batch_size)


def _ahead(
    read: Callable[[str, Sequence[str], int], Iterable[T]],
    tables: Sequence[tuple[str, Sequence[str]]],
    batch_size: int,
    depth: int = 16,
) -> Iterator[tuple[str, T | None]]:
    """The batches ``read(table, columns, batch_size)`` gives of each of
    *tables* in turn, as ``(table, batch)``, and ``(table, None)`` once a
    table's are all given; read in a thread of their own while the caller
    writes those already read (the hub's reading and the copy's writing
    overlap: each waits mostly outside Python, and the next table is read
    while the copy builds the indexes of the last).  At most *depth* batches
    wait; an error on either side stops both."""
    ready: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for tbl, columns in tables:
                batches = iter(read(tbl, columns, batch_size))
                try:
                    for batch in batches:
                        if not put(("batch", (tbl, batch))):
                            return
                finally:
                    # closed in this thread, which read it (a hub's cursor)
                    close = getattr(batches, "close", None)
                    if close is not None:
                        close()
                if not put(("batch", (tbl, None))):
                    return
            put(("end", None))
        except BaseException as exc:  # handed to the caller's thread
            put(("error", exc))

    worker = threading.Thread(target=produce, name="visitlog-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            kind, item = ready.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _replay(hub: Any, copy: SqliteReplica, progress: Progress | None, batch_size: int) -> int:
    """Apply every change *hub* holds to *copy* (see :func:`copy_replica`)."""
    with hub.session() as hs, copy.session() as cs:
        applier = cs.applier()
        for batch in hs.changes(missing(hs.version_vector(), {}), batch_size):
            applier.add(batch)
        applier.finish(progress)
        return sum(applier.received.values())


__all__ = ["copy_replica"]
