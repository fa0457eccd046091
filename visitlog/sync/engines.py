"""Which engine serves a replica: the one place that knows the engines.

The sync flow and bundles take :class:`~visitlog.sync.interface.Replica`
objects; what the worker types (a path, a ``postgresql://`` URL) becomes one
here: each engine has its case in :func:`find_target` and :func:`location`.
"""

from __future__ import annotations

import os

from visitlog.store import Store
from visitlog.sync import postgres
from visitlog.sync.interface import Replica, Target
from visitlog.sync.postgres import is_url, public_url
from visitlog.sync.sqlite import SqliteReplica, find_file, location_of
from visitlog.sync.sqlite import hub_exists as _file_exists

#: What names a replica: a path as typed, a path object, or a PostgreSQL URL.
TargetName = str | os.PathLike[str]


def local_replica(store: Store) -> Replica:
    """This laptop's database as a replica, on a connection of the sync's own
    (so a sync may run in a worker thread while ``store`` keeps serving reads)."""
    return SqliteReplica(store.path)


def find_target(target: TargetName) -> Target:
    """The replica *target* names, found but not opened.

    Raises:
        VisitlogError: *target* cannot name a replica (a folder, a missing folder).
    """
    if is_url(target):
        return postgres.find_url(str(target))
    return find_file(target)


def hub_exists(target: TargetName) -> bool:
    """Whether a replica is at *target* (a sync without ``create`` needs one;
    a PostgreSQL hub is made by ``hub init``, and said missing when opened)."""
    return True if is_url(target) else _file_exists(target)


def location(target: TargetName) -> str:
    """Where *target* is, canonically, as peers record it."""
    return public_url(str(target)) if is_url(target) else location_of(target)


__all__ = ["TargetName", "find_target", "hub_exists", "local_replica", "location"]
