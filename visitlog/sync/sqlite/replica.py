"""A visitlog SQLite file as a replica: this laptop's database, a hub file.

:class:`SqliteReplica` and :class:`SqliteSession` implement
:class:`visitlog.sync.interface.Replica` and :class:`~visitlog.sync.interface.Session`
over a :class:`visitlog.store.Store` of the sync's own (the caller's stays
free for reads).  A session is one ``BEGIN IMMEDIATE`` transaction, so the
file is locked for one chunk of the exchange (:mod:`visitlog.sync.chunks`).  The station key is the key file
beside the database (:func:`visitlog.security.load_key`).
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from visitlog.clock import now_iso
from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.store import StationKey, Store, Tx, bulk_load, cipher, load_key
from visitlog.sync.interface import Change, Peer, Ranges, Target
from visitlog.sync.sqlite.apply import Applier, let_go
from visitlog.sync.sqlite.log import change_at, changes_since, count_by_table, version_vector
from visitlog.sync.sqlite.seed import seed_hub

#: Page cache of each connection a sync opens, in KiB.  A large first sync
#: writes tables and indexes far bigger than SQLite's default 2 MB cache;
#: with this much it spills to the WAL far less often (about twice as fast)
#: while peak memory stays well under 300 MB.
SYNC_CACHE_KIB = 64 * 1024


def open_store(path: Path | str, *, upgrade: bool = True, page_size: int | None = None) -> Store:
    """A connection of the sync's own (the caller's stays free for reads);
    *page_size*: of the file, if this makes it (see ``Store``)."""
    store = Store(path, upgrade=upgrade, page_size=page_size)
    store.conn.execute(f"PRAGMA cache_size = -{SYNC_CACHE_KIB}")
    # Every row inserted opens a statement journal (foreign keys are on);
    # past 64 KiB SQLite spills it to a temporary file, which cost a first
    # sync of 50,000 households 3.9 million writes to /var/tmp.
    store.conn.execute("PRAGMA temp_store = MEMORY")
    return store


def _temp_store(conn: Any, where: str) -> bool:
    """Set where *conn* keeps temporary data; False when it cannot now (a
    transaction open on it): only a tuning, so nothing fails for it."""
    try:
        conn.execute(f"PRAGMA temp_store = {where}")
    except cipher.OPERATIONAL_ERRORS:
        return False
    return True


def _holds_nothing(conn: Any) -> bool:
    """No record and no change held in the file of *conn* (a file just made)."""
    return not conn.execute(
        "SELECT EXISTS (SELECT 1 FROM changes) OR EXISTS (SELECT 1 FROM households) "
        "OR EXISTS (SELECT 1 FROM visits) OR EXISTS (SELECT 1 FROM items) "
        "OR EXISTS (SELECT 1 FROM sync_held) OR EXISTS (SELECT 1 FROM sync_orphans)"
    ).fetchone()[0]


def hub_exists(path: Path | str) -> bool:
    """Whether a replica (a file with something in it) is at *path*.

    An empty file counts as none: SQLite would quietly make it a new database.
    """
    try:
        return Path(path).expanduser().stat().st_size > 0
    except OSError:
        return False


def location_of(path: Path | str) -> str:
    """Where the replica at *path* is, canonically (its resolved path)."""
    return str(Path(path).expanduser().resolve())


def find_file(path: Path | str) -> Target:
    """The replica a worker named by its file path (not opened yet).

    Raises:
        VisitlogError: the path is a folder, or its folder is not there.
    """
    target = Path(path).expanduser()
    if target.is_dir():
        raise VisitlogError(t("sync.err.is_dir", path=target))
    if not target.parent.is_dir():
        raise VisitlogError(t("sync.err.no_dir", path=target.parent))
    return Target(
        name=str(target),
        location=str(target.resolve()),
        exists=hub_exists(target),
        open=lambda: SqliteReplica(target, upgrade=False),
        seed=lambda store, progress: seed_hub(store, target, progress),
    )


#: The page cache (KiB) while a whole bundle goes into an empty file: the
#: indexes are built once at the end, each from sorted keys, so a large
#: cache buys little and would show in a laptop's memory.
RECEIVE_CACHE_KIB = 64 * 1024


class SqliteReplica:
    """The visitlog database at *path*, on a connection of its own.

    Args:
        upgrade: apply the migrations an older database lacks on opening
            (a target is opened without, so the worker may be asked first).
    """

    def __init__(self, path: Path | str, *, upgrade: bool = True, page_size: int | None = None):
        self.store = open_store(path, upgrade=upgrade, page_size=page_size)
        self.path = self.store.path

    @property
    def name(self) -> str:
        return str(self.path)

    @property
    def location(self) -> str:
        return str(self.path.resolve())

    @property
    def schema_version(self) -> int:
        return self.store.schema_version

    @property
    def pending_upgrade(self) -> bool:
        return bool(self.store.pending_upgrade)

    def upgrade(self) -> None:
        self.store.upgrade()

    def station_key(self) -> StationKey | None:
        return load_key(self.path)

    def version_vector(self) -> dict[str, int]:
        return version_vector(self.store.conn)

    def count_by_table(self, ranges: Ranges) -> Counter[str]:
        return count_by_table(self.store.conn, ranges)

    @contextlib.contextmanager
    def session(self, whole: bool = False) -> Iterator[SqliteSession]:
        conn = self.store.conn
        # A whole bundle into a file that holds nothing: its indexes are
        # built at the end from sorted runs, which SQLite keeps in temporary
        # files; in memory (this connection's setting, for the statement
        # journals of a sync) a district's took 0.2 GB more and was slower.
        # The setting can change only outside a transaction.
        tuned = whole and _holds_nothing(conn) and _temp_store(conn, "DEFAULT")
        try:
            with self.store.transaction() as tx:
                yield SqliteSession(tx)
        finally:
            if tuned:
                _temp_store(conn, "MEMORY")

    def close(self) -> None:
        self.store.close()


class SqliteSession:
    """A SQLite replica inside its write transaction (a :class:`Tx`)."""

    def __init__(self, tx: Tx):
        self.tx = tx
        self.conn = tx.conn

    @property
    def device(self) -> str:
        return self.tx.device

    @property
    def identity_change(self) -> dict[str, Any] | None:
        return self.tx.identity_change

    def new_device(self, reason: str) -> str:
        return self.tx.new_device(reason)

    def note_shipped(self) -> None:
        self.tx.note_shipped()

    def setting(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_setting(self, key: str, value: str | None) -> None:
        self.tx.set_setting(key, value)

    def audit(self, action: str, detail: dict[str, Any]) -> None:
        self.tx.audit(action, detail=detail)

    def version_vector(self) -> dict[str, int]:
        return version_vector(self.conn)

    def changes(
        self, ranges: Ranges, batch_size: int, readable: dict[str, list[int]] | None = None
    ) -> Iterable[list[Change]]:
        return changes_since(self.conn, ranges, batch_size)

    def change(self, device: str, seq: int) -> Change | None:
        return change_at(self.conn, device, seq)

    def count_by_table(self, ranges: Ranges) -> Counter[str]:
        return count_by_table(self.conn, ranges)

    def applier(self, now_ms: Callable[[], int] | None = None) -> Applier:
        return Applier(self.tx, now_ms)

    @contextlib.contextmanager
    def receiving_whole(self) -> Iterator[object]:
        """A file that holds no records yet (a new laptop, a new hub file)
        receives a whole bundle with its secondary indexes and insert
        triggers set aside, built once over sorted keys when the context
        closes (:func:`visitlog.store.bulk_load`, in this transaction: an
        error rolls the schema back with the rows).  While the changes are
        added, the applier looks rows up by their ids only, and no row is
        merged away yet (merges are derived in ``finish``, after this), so
        the insert triggers would have had nothing to correct."""
        if not self.holds_nothing():
            yield None
            return
        with bulk_load(self.conn, cache_kib=RECEIVE_CACHE_KIB):
            yield None

    def holds_nothing(self) -> bool:
        """No record and no change held here (a file just made)."""
        return _holds_nothing(self.conn)

    def open_conflicts(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        wanted = sorted(set(ids))
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            found.update(
                r[0]
                for r in self.conn.execute(
                    f"SELECT id FROM conflicts WHERE resolved = 0 AND id IN "
                    f"({', '.join('?' * len(part))})",
                    part,
                )
            )
        return found

    def moved(self, since: int | None) -> tuple[list[list[Change]], list[str], int | None]:
        """A SQLite replica shows everything to everyone: nothing to take in again."""
        return [], [], None

    def readable(self, ranges: Ranges) -> dict[str, list[int]] | None:
        """A SQLite replica sends every change it holds."""
        return None

    def let_go(self, households: Sequence[str]) -> int:
        return let_go(self.conn, households)

    def peers(self) -> list[Peer]:
        rows = self.conn.execute("SELECT device, name, kind, path, vv FROM peers").fetchall()
        return [Peer(d, n, k, p, json.loads(vv)) for d, n, k, p, vv in rows]

    def peer(self, device: str) -> Peer | None:
        row = self.conn.execute(
            "SELECT device, name, kind, path, vv FROM peers WHERE device = ?", [device]
        ).fetchone()
        return Peer(*row[:4], json.loads(row[4])) if row else None

    def save_peer(self, peer: Peer) -> None:
        self.conn.execute(
            "INSERT INTO peers(device, name, kind, path, vv, last_sync) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(device) DO UPDATE SET name = excluded.name, kind = excluded.kind, "
            "path = excluded.path, vv = excluded.vv, last_sync = excluded.last_sync",
            [
                peer.device,
                peer.name,
                peer.kind,
                peer.path,
                json.dumps(peer.vv, sort_keys=True),
                now_iso(),
            ],
        )

    def forget_peers(self, devices: Sequence[str]) -> None:
        if devices:
            self.conn.execute(
                f"DELETE FROM peers WHERE device IN ({', '.join('?' * len(devices))})",
                list(devices),
            )

    def chain_head(self) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        return {"id": row[0], "hash": row[1]} if row else None

    def audit_hash(self, entry: int) -> str | None:
        row = self.conn.execute("SELECT hash FROM audit WHERE id = ?", [entry]).fetchone()
        return row[0] if row else None
