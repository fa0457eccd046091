"""The SQLite engine: a visitlog database file as a replica.

Implements :mod:`visitlog.sync.interface` for this laptop's database and for
hub files (a share, a USB stick).  The merge rules are
:mod:`visitlog.sync.merge`'s; this engine keeps what they decide:

- :mod:`~visitlog.sync.sqlite.replica` — :class:`SqliteReplica` (opening, the
  key file beside the database) and :class:`SqliteSession` (one ``BEGIN
  IMMEDIATE`` transaction: settings, audit, peers, chain heads);
- :mod:`~visitlog.sync.sqlite.log` — the ``changes`` log: version vector,
  changes by range;
- :mod:`~visitlog.sync.sqlite.apply` — :class:`Applier`: logging received
  changes, the fast path for new rows, orphans and held changes;
- :mod:`~visitlog.sync.sqlite.rows` — :func:`merge_rows`: rows recomputed
  from their log, conflict records written.
"""

from __future__ import annotations

from visitlog.sync.sqlite.apply import Applier
from visitlog.sync.sqlite.log import (
    CHANGE_COLUMNS,
    change_at,
    changes_since,
    count_by_table,
    version_vector,
)
from visitlog.sync.sqlite.replica import (
    SqliteReplica,
    SqliteSession,
    find_file,
    hub_exists,
    location_of,
    open_store,
)
from visitlog.sync.sqlite.rows import merge_rows

__all__ = [
    "CHANGE_COLUMNS",
    "Applier",
    "SqliteReplica",
    "SqliteSession",
    "change_at",
    "changes_since",
    "count_by_table",
    "find_file",
    "hub_exists",
    "location_of",
    "merge_rows",
    "open_store",
    "version_vector",
]
