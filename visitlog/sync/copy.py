"""A replica's rows copied into a new SQLite file, for reading.

``visitlog summary --hub postgresql://…`` computes the summary on what the
hub (through the role connecting, so a station sees only its own) holds:
the hub's changes are applied, with the same merge rules, to a new SQLite
file, and the existing summary runs on it.  The figures are therefore the
SQLite path's, on the same data, by construction.  The hub is only read,
in one session (a PostgreSQL hub's lock is held while it is read, so the
copy is consistent; syncs wait that long).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from visitlog.progress import Progress
from visitlog.sync.engines import TargetName, find_target
from visitlog.sync.merge import missing
from visitlog.sync.sqlite import SqliteReplica


def copy_replica(
    source: TargetName, dest: Path, *, progress: Progress | None = None, batch_size: int = 5000
) -> int:
    """Apply every change *source* holds to a new SQLite replica at *dest*.

    Returns:
        How many changes were applied.

    Raises:
        VisitlogError: *source* cannot be opened (see :func:`find_target`).
    """
    found = find_target(source)
    with (
        contextlib.closing(found.open()) as hub,
        contextlib.closing(SqliteReplica(dest)) as copy,
        hub.session() as hs,
        copy.session() as cs,
    ):
        applier = cs.applier()
        for batch in hs.changes(missing(hs.version_vector(), {}), batch_size):
            applier.add(batch)
        applier.finish(progress)
        return sum(applier.received.values())


__all__ = ["copy_replica"]
