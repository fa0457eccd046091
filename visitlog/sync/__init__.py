"""Sync between replicas: the Replica interface, change log, per-field merge,
conflicts and bundles.

The public API, used by the CLI and the TUI (from a worker thread):

- :func:`sync_with` — two-way exchange with another replica;
- :func:`export_bundle` / :func:`import_bundle` — the same changes by file;
- :func:`list_conflicts`, :func:`restore_conflict`, :func:`dismiss_conflict`.

How it is built, top down:

- :mod:`~visitlog.sync.replica` (the two-way exchange, in chunks planned by
  :mod:`~visitlog.sync.chunks`) and
  :mod:`~visitlog.sync.bundle` (export, import) run the sync flow through the
  Replica interface, with :mod:`~visitlog.sync.peers` and
  :mod:`~visitlog.sync.heads` (what replicas remember of each other) and
  :mod:`~visitlog.sync.report` (what moved, in words);
- :mod:`~visitlog.sync.engines` turns what the worker typed into a replica
  of the right engine;
- :mod:`~visitlog.sync.interface` — ``Replica``, ``Session``, ``Applier``,
  ``Target``: what the flow needs from each database;
- :mod:`~visitlog.sync.merge` — the merge rules, known once, whatever the
  engine; :mod:`~visitlog.sync.validate` — every received change checked;
- :mod:`~visitlog.sync.sqlite` — the SQLite file engine;
  :mod:`~visitlog.sync.postgres` — the PostgreSQL hub engine;
- :mod:`~visitlog.sync.bundle_file` — the bundle file format, and
  :mod:`~visitlog.sync.bundle_cipher` — its encryption with the station key;
- :mod:`~visitlog.sync.copy` — a replica copied into a new SQLite file
  (the summary of a PostgreSQL hub);
- :mod:`~visitlog.sync.conflicts` — reviewing conflicts on this laptop.

Adding a sync engine
--------------------
A second kind of replica (a PostgreSQL hub, say) is a package beside
``visitlog/sync/sqlite/`` that implements the protocols of
:mod:`visitlog.sync.interface`:

1. ``Replica``: name and location, schema version and upgrade, the station
   key it holds, a version vector and counts read outside a transaction
   (dry runs), and ``session()`` — the replica locked for one exchange (one
   chunk of a big one) in one transaction, committed at the end of the
   block, rolled back whole when it raises.
2. ``Session``: device id and identity change, settings, audit entries, the
   change log (version vector, changes by seq range in batches, one change,
   counts per table), which conflicts are still open, peers, and the head
   and entries of its audit chain;
   and, for replicas that show each reader only part of their rows
   (:mod:`visitlog.sync.postgres`), households moved since a reader's last
   sync (``moved``) and letting go of those one may no longer see
   (``let_go``); an engine that shows everything returns nothing there.
3. ``Applier``: subclass :class:`visitlog.sync.merge.Receiver` (the order of
   changes, gaps, replays, held stamps and the clock come with it), store
   what it sorts out (the log, new rows, orphans, held changes), and in
   ``finish()`` recompute every touched row with
   :func:`visitlog.sync.merge.fold_row`, writing its columns and conflict
   records (:mod:`visitlog.sync.sqlite.apply` and
   :mod:`visitlog.sync.sqlite.rows` show how; the fast path for new rows is
   an optimisation, not a rule).
4. A case in :func:`visitlog.sync.engines.find_target` (and ``location``)
   for the names that reach it (``postgresql://…``).

The tests that hold any engine to the rules: ``tests/test_sync_merge.py``,
``tests/test_sync_merges.py``, ``tests/test_sync_bundle.py``,
``tests/test_received_changes.py``, ``tests/test_chain_heads.py``,
``tests/test_security_bundles.py`` and ``tests/test_sync_life.py`` (fast),
and the stateful sync torture ``tests/test_sync_stateful.py`` with the
crash harness ``tests/test_crash_harness.py`` (slow: ``pytest -m slow``);
run them with a hub of the new engine.
"""

from __future__ import annotations

from visitlog.store import conflict_id
from visitlog.sync.bundle import (
    BundleInfo,
    export_bundle,
    export_from,
    import_bundle,
    import_into,
    import_into_target,
)
from visitlog.sync.bundle_file import BundleError, read_manifest, verify_bundle
from visitlog.sync.conflicts import (
    dismiss_conflict,
    get_conflict,
    list_conflicts,
    open_conflict_count,
    restore_conflict,
)
from visitlog.sync.copy import copy_replica
from visitlog.sync.engines import find_target, hub_exists, local_replica
from visitlog.sync.interface import Applier, Change, Peer, Replica, Session, Target
from visitlog.sync.merge import GapError, ReplayError
from visitlog.sync.replica import exchange, sync_with
from visitlog.sync.report import SyncReport, identity_note
from visitlog.sync.sqlite import version_vector

__all__ = [
    "Applier",
    "BundleError",
    "BundleInfo",
    "Change",
    "GapError",
    "Peer",
    "ReplayError",
    "Replica",
    "Session",
    "SyncReport",
    "Target",
    "conflict_id",
    "copy_replica",
    "dismiss_conflict",
    "exchange",
    "export_bundle",
    "export_from",
    "find_target",
    "get_conflict",
    "hub_exists",
    "identity_note",
    "import_bundle",
    "import_into",
    "import_into_target",
    "list_conflicts",
    "local_replica",
    "open_conflict_count",
    "read_manifest",
    "restore_conflict",
    "sync_with",
    "verify_bundle",
    "version_vector",
]
