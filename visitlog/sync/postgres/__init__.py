"""The PostgreSQL engine: a street's or a district's hub on a database server.

Implements :mod:`visitlog.sync.interface` with psycopg 3; the merge rules
are :mod:`visitlog.sync.merge`'s, as in :mod:`visitlog.sync.sqlite`:

- :mod:`~visitlog.sync.postgres.schema` — the hub schema, its own numbered
  migrations;
- :mod:`~visitlog.sync.postgres.replica` — :class:`PgReplica`,
  :class:`PgSession` (one transaction under the hub's advisory lock),
  ``init_hub``;
- :mod:`~visitlog.sync.postgres.apply` — :class:`PgApplier`;
- :mod:`~visitlog.sync.postgres.stations` — one role per station, row-level
  security.
"""

from __future__ import annotations

from visitlog.sync.postgres.apply import PgApplier
from visitlog.sync.postgres.replica import (
    HUB_LOCK,
    PgReplica,
    PgSession,
    connect,
    find_url,
    init_hub,
    is_url,
    public_url,
)
from visitlog.sync.postgres.schema import LATEST

__all__ = [
    "HUB_LOCK",
    "LATEST",
    "PgApplier",
    "PgReplica",
    "PgSession",
    "connect",
    "find_url",
    "init_hub",
    "is_url",
    "public_url",
]
