"""Sync between replicas: change log, version vectors, per-field merge,
conflicts and bundles.

The public API, used by the CLI and the TUI (from a worker thread):

- :func:`sync_with` — two-way exchange with another database file;
- :func:`export_bundle` / :func:`import_bundle` — the same changes by file;
- :func:`list_conflicts`, :func:`restore_conflict`, :func:`dismiss_conflict`.

See :mod:`visitlog.sync.merge` for the merge rules and
:mod:`visitlog.sync.bundle` for the bundle format.
"""

from __future__ import annotations

from visitlog.sync.bundle import (
    BundleError,
    BundleInfo,
    export_bundle,
    import_bundle,
    read_manifest,
    verify_bundle,
)
from visitlog.sync.conflicts import (
    dismiss_conflict,
    get_conflict,
    list_conflicts,
    open_conflict_count,
    restore_conflict,
)
from visitlog.sync.merge import GapError, conflict_id, version_vector
from visitlog.sync.replica import ProgressFn, SyncReport, sync_with

__all__ = [
    "BundleError",
    "BundleInfo",
    "GapError",
    "ProgressFn",
    "SyncReport",
    "conflict_id",
    "dismiss_conflict",
    "export_bundle",
    "get_conflict",
    "import_bundle",
    "list_conflicts",
    "open_conflict_count",
    "read_manifest",
    "restore_conflict",
    "sync_with",
    "verify_bundle",
    "version_vector",
]
