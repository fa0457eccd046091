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

import importlib
from typing import Any

from visitlog.sync.postgres.urls import is_url, public_url

#: Public names and the module holding each.  They are loaded on first use
#: (PEP 562), so that naming a file hub, or starting the terminal app, does
#: not import psycopg.
_LAZY = {
    "HUB_LOCK": "replica",
    "PgReplica": "replica",
    "PgSession": "replica",
    "connect": "replica",
    "find_url": "replica",
    "init_hub": "replica",
    "PgApplier": "apply",
    "LATEST": "schema",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(name)


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
