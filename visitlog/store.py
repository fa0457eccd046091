"""The storage layer: one SQLite file per replica, opened through sqlite-utils.

Every public method that writes is one transaction (``BEGIN IMMEDIATE`` …
``COMMIT``): a crash at any moment leaves the operation wholly done or not
done at all.  Each write of a synced row also appends to ``changes`` (with
this device's next sequence number and the fields it touched) and each
operation to the hash-chained ``audit`` table.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from visitlog import files, identity, migrations
from visitlog.clock import HLC, horizon, new_id, now_iso
from visitlog.clusters import relink
from visitlog.i18n import t
from visitlog.model import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    SYNCED_FIELDS,
    Category,
    Household,
    Item,
    Kind,
    Level,
    Mode,
    NotFoundError,
    Occupancy,
    Outcome,
    Satisfaction,
    Status,
    ValidationError,
    Visit,
    VisitlogError,
    parse_date,
)
from visitlog.rows import jdump, live

if TYPE_CHECKING:
    from sqlite_utils import Database

APP_VERSION = "0.1.0"
BUSY_TIMEOUT_MS = 10_000
#: How long a write waits for another process's write transaction (a large
#: roster import, a first sync with a district hub) before giving up with a
#: plain "database is busy" message.  SQLite's busy handler waits
#: BUSY_TIMEOUT_MS per attempt; :meth:`Store.transaction` retries until this.
WRITE_WAIT_S = 180.0
GENESIS_HASH = "0" * 64


def default_db_path() -> Path:
    """``VISITLOG_DB`` if set, else ``<user data dir>/visitlog/visitlog.db``."""
    env = os.environ.get("VISITLOG_DB")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("visitlog", appauthor=False)) / "visitlog.db"


def explain_sqlite_error(exc: sqlite3.Error, path: Path | str | None = None) -> VisitlogError:
    """Turn a SQLite error into one plain sentence a worker can act on."""
    text = str(exc).lower()
    where = str(path) if path else ""
    if "locked" in text or "busy" in text:
        return VisitlogError(t("err.db_locked", path=where))
    if "full" in text:
        return VisitlogError(t("err.disk_full", path=where))
    if "readonly" in text or "read-only" in text:
        return VisitlogError(t("err.db_readonly", path=where))
    if "not a database" in text or "malformed" in text or "encrypted" in text:
        return VisitlogError(t("err.not_a_database", path=where))
    if "unable to open" in text:
        return VisitlogError(t("err.cannot_open", path=where))
    return VisitlogError(t("err.sqlite", path=where, detail=str(exc)))


def _sqlite_target(path: Path) -> tuple[str, bool]:
    """How to open ``path``: ``(name or URI, read-only)``.

    A database on a read-only medium (write-protected USB stick, read-only
    mount) is opened ``mode=ro``, and ``immutable`` when no ``-wal`` file
    holds changes not yet in it (SQLite could not create the ``-shm`` file
    a WAL database otherwise needs); a file its owner cannot write is
    opened ``mode=ro``.  Either way reads work and writes are refused with
    one message instead of "unable to open".
    """
    medium_ro = False
    with contextlib.suppress(OSError, AttributeError):  # no statvfs on Windows
        medium_ro = bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)
    if not medium_ro and os.access(path, os.W_OK):
        return str(path), False
    uri = path.resolve().as_uri() + "?mode=ro"
    wal = Path(f"{path}-wal")
    if medium_ro and not (wal.exists() and wal.stat().st_size):
        uri += "&immutable=1"
    return uri, True


def explain_os_error(exc: OSError, path: Path | str | None = None) -> VisitlogError:
    """Turn a file-system error on the database into one plain sentence."""
    where = str(path) if path else ""
    if exc.errno == errno.ENOSPC:
        return VisitlogError(t("err.disk_full", path=where))
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return VisitlogError(t("err.db_readonly", path=where))
    return VisitlogError(t("err.cannot_open", path=where))


@contextlib.contextmanager
def sqlite_errors(path: Path | str | None = None) -> Iterator[None]:
    """Re-raise any SQLite error as a :class:`VisitlogError` with a plain message."""
    try:
        yield
    except sqlite3.Error as exc:
        raise explain_sqlite_error(exc, path) from exc


#: Local columns saying where a visit or item lives now (visitlog.clusters),
#: written as the row is inserted from the synced column named here (a
#: trigger corrects them when that household or visit is merged away).
LIVE_COLUMNS = {"visits": ("live_household",), "items": ("live_household", "live_visit")}
LIVE_SOURCE = {"live_household": "household_id", "live_visit": "visit_id"}


class Store:
    """A visitlog database.

    Args:
        path: the SQLite file; created (with its folder) when absent unless
            ``create`` is False.
        create: make a new database when the file does not exist.
        upgrade: apply pending migrations to an existing database (the
            default).  With False an older database is opened as it is and
            ``pending_upgrade`` names what it lacks, so a caller (sync) can
            ask before upgrading someone else's file.

    Raises:
        VisitlogError: the file is not a visitlog database, was written by a
            newer visitlog, or cannot be opened.
    """

    def __init__(self, path: Path | str, *, create: bool = True, upgrade: bool = True):
        self.path = Path(path)
        #: Migrations not applied because ``upgrade=False`` (see :meth:`upgrade`).
        self.pending_upgrade: list[str] = []
        self._registered: weakref.finalize | None = None
        # Even SQLite must not open a -wal or -shm as a database of its own:
        # closing that descriptor would drop the locks this process holds on it.
        side_of = files.side_file_of(self.path)
        if side_of is not None:
            raise VisitlogError(t("err.side_file", path=self.path, db=side_of))
        if not self.path.exists():
            if not create:
                raise VisitlogError(t("err.no_database", path=self.path))
            self._create()
        elif self.path.is_file() and self.path.stat().st_size == 0:
            self._create()  # an empty file: nothing to keep, build it whole
        self._lock = threading.RLock()
        #: True when the file or its medium cannot be written: reads work,
        #: every write is refused with one plain message.
        self.read_only = False
        with sqlite_errors(self.path):
            target, self.read_only = _sqlite_target(self.path)
            conn = sqlite3.connect(
                target,
                uri=self.read_only,
                isolation_level=None,
                check_same_thread=False,
                timeout=30,
            )
            self.conn = conn
            # Registered as soon as SQLite holds a descriptor of the file, and
            # forgotten on close() or when the Store is dropped without one.
            self._registered = weakref.finalize(
                self, files.database_closed, files.database_opened(self.path)
            )
            try:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                # The first read: a file that is not SQLite fails here with
                # "file is not a database" (explained by sqlite_errors) before
                # anything is written.  Its header is never read with open():
                # see visitlog.files on why no descriptor but SQLite's may exist.
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                if mode != "wal" and not self.read_only:
                    with contextlib.suppress(sqlite3.OperationalError):
                        conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
                self._db: Database | None = None
                self._guard_schema()
                # Plain sqlite3, so that opening an up-to-date database never
                # imports sqlite-utils (slow to import; see the ``db`` property).
                pending = migrations.pending_names(conn)
                if pending:
                    blank = not conn.execute(
                        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='settings'"
                    ).fetchone()
                    if self.read_only:
                        raise VisitlogError(t("err.db_readonly", path=self.path))
                    # A blank file is being created, not upgraded: always migrate it.
                    if upgrade or blank:
                        migrations.apply(self.db)
                    else:
                        self.pending_upgrade = pending
            except BaseException:
                self.close()
                raise
        self._hlc: HLC | None = None
        self._device: str | None = None
        #: True once this Store has compared its database with its identity
        #: record (see :mod:`visitlog.identity`) in a committed transaction.
        self._identity_checked = False
        #: Set when this Store's database took a new device id:
        #: ``{"old", "new", "reason"}`` (the CLI and the TUI say so).
        self.identity_change: dict[str, Any] | None = None
        #: Seconds a write waits for another process's write (see WRITE_WAIT_S).
        self.write_wait = WRITE_WAIT_S
        #: See :meth:`report_waits`.
        self.on_wait: Callable[[float], bool] | None = None

    # -- opening ----------------------------------------------------------

    def _create(self) -> None:
        """Build a new database under a temporary name and move it into place whole.

        The first migrations run through ``executescript``, which commits
        statement by statement; built in place, a kill in the middle would
        leave a file with half a schema that no later open could repair.
        The file is owner-only from its first byte: it holds personal data.
        """
        path = self.path
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.new")
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.close(fd)
            with sqlite_errors(path):
                conn = sqlite3.connect(str(tmp), isolation_level=None)
                try:
                    conn.execute("PRAGMA journal_mode = WAL")
                    from sqlite_utils import Database

                    migrations.apply(Database(conn))
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                finally:
                    conn.close()
            try:
                # link, not rename: never replaces a database another
                # process created meanwhile
                os.link(tmp, path)
            except FileExistsError:
                if path.stat().st_size == 0:
                    os.replace(tmp, path)
            except OSError:
                # no hard links here (FAT/exFAT USB sticks): rename instead
                if not (path.exists() and path.stat().st_size):
                    os.replace(tmp, path)
        except OSError as exc:
            raise explain_os_error(exc, path) from exc
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(OSError):
                    Path(f"{tmp}{suffix}").unlink(missing_ok=True)

    def _guard_schema(self) -> None:
        """Refuse a database made by a newer visitlog, before touching it."""
        has_settings = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='settings'"
        ).fetchone()
        if not has_settings:
            tables = self.conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type='table' "
                "AND name NOT LIKE 'sqlite_%' AND name != '_sqlite_migrations'"
            ).fetchone()[0]
            if tables:
                raise VisitlogError(t("err.foreign_database", path=self.path))
            return
        row = self.conn.execute("SELECT value FROM settings WHERE key='schema_version'").fetchone()
        version = int(row[0]) if row and str(row[0]).isdigit() else 0
        if version > migrations.LATEST:
            need = self.conn.execute(
                "SELECT value FROM settings WHERE key='schema_release'"
            ).fetchone()
            raise VisitlogError(
                t(
                    "err.newer_schema",
                    path=self.path,
                    version=version,
                    need=need[0] if need else f">{APP_VERSION}",
                    have=APP_VERSION,
                )
            )

    @property
    def db(self) -> Database:
        """The connection as a sqlite-utils ``Database`` (made on first use)."""
        if self._db is None:
            from sqlite_utils import Database

            self._db = Database(self.conn)
        return self._db

    def upgrade(self) -> None:
        """Apply the migrations left pending by ``Store(path, upgrade=False)``."""
        with self._lock, sqlite_errors(self.path):
            migrations.apply(self.db)
        self.pending_upgrade = []

    @property
    def schema_version(self) -> int:
        row = self.conn.execute("SELECT value FROM settings WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()
        if self._registered is not None:
            self._registered()  # runs database_closed once, whatever calls it

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions -------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One write transaction; yields a :class:`Tx` that logs and audits changes.

        ``BEGIN IMMEDIATE`` takes the write lock up front, so a second process
        waits for it (busy_timeout) instead of failing half-way through.
        """
        if self.read_only:
            raise VisitlogError(t("err.db_readonly", path=self.path))
        with self._lock, sqlite_errors(self.path):
            self._begin()
            try:
                tx = Tx(self)
                yield tx
                tx.finish()
                self.conn.execute("COMMIT")
            except BaseException as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                self._hlc = None  # reload from the database next time
                self._device = None
                if isinstance(exc, UnicodeEncodeError):
                    # A lone surrogate (undecodable bytes of a file name or a
                    # terminal): SQLite stores UTF-8 only, so it is refused.
                    raise ValidationError(t("err.not_text")) from None
                raise
            tx.committed()

    def report_waits(
        self, on_wait: Callable[[float], bool], step_ms: int = 250, limit_s: float | None = None
    ) -> None:
        """Say when a write waits for another process's write, and let it be given up.

        After each *step_ms* of waiting for the write lock, ``on_wait(seconds
        waited so far)`` is called; returning False gives up (the write then
        fails with the "database is busy" message and nothing is written).
        The terminal app uses this to show what it waits for and to stop
        waiting when it is closed.

        Args:
            on_wait: the callback (called on the thread that writes).
            step_ms: the busy timeout of this connection, in milliseconds.
            limit_s: seconds to wait in all (default: :data:`WRITE_WAIT_S`).
        """
        with self._lock:
            self.conn.execute(f"PRAGMA busy_timeout = {int(step_ms)}")
        self.on_wait = on_wait
        if limit_s is not None:
            self.write_wait = limit_s

    def _begin(self) -> None:
        """``BEGIN IMMEDIATE``, retried while another process holds the write lock.

        One bulk operation is one transaction and may hold the lock longer
        than the busy timeout; a visit saved meanwhile waits for it (up to
        ``write_wait`` seconds) instead of failing.
        """
        started = time.monotonic()
        while True:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                text = str(exc).lower()
                waited = time.monotonic() - started
                if ("locked" not in text and "busy" not in text) or waited >= self.write_wait:
                    raise
                if self.on_wait is not None and not self.on_wait(waited):
                    raise

    @contextlib.contextmanager
    def reader(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection of its own to this database, for reads run
        beside the Store's connection (on another thread, say).  Each sees its
        own consistent snapshot.  Raises sqlite3.Error when it cannot be opened.
        """
        conn = sqlite3.connect(
            f"{self.path.resolve().as_uri()}?mode=ro",
            uri=True,
            timeout=30,
            check_same_thread=False,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            yield conn
        finally:
            conn.close()

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        """Run a read query and return rows addressable by column name."""
        with self._lock, sqlite_errors(self.path):
            cur = self.conn.execute(sql, params)
            names = [d[0] for d in cur.description or ()]
            return [_Row(names, r) for r in cur.fetchall()]

    def query_values(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read query and return plain tuples (for engines reading 50,000 rows at once)."""
        with self._lock, sqlite_errors(self.path):
            return self.conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock, sqlite_errors(self.path):
            row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    # -- identity and settings ---------------------------------------------

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        value = self.scalar("SELECT value FROM settings WHERE key = ?", [key])
        return default if value is None else value

    def settings(self) -> dict[str, str]:
        return {r["key"]: r["value"] for r in self.query("SELECT key, value FROM settings")}

    def set_settings(self, **values: str | None) -> None:
        """Set (or, with None, remove) local settings, in one transaction."""
        with self.transaction() as tx:
            for key, value in values.items():
                tx.set_setting(key, value)
            tx.audit("settings", detail={k: v for k, v in values.items() if k != "station_key"})

    @property
    def device_id(self) -> str | None:
        """This replica's device id, or None until its first write."""
        return self._device or self.get_setting("device_id")

    @property
    def worker(self) -> str | None:
        return self.get_setting("worker")

    def init_identity(
        self, worker: str, device_name: str | None = None, grid: str | None = None
    ) -> dict[str, str]:
        """Record this laptop's worker, device name and default 微网格."""
        worker = (worker or "").strip()
        if not worker:
            raise ValidationError(t("err.required", field=t("field.worker")))
        with self.transaction() as tx:
            tx.set_setting("worker", worker)
            if device_name:
                tx.set_setting("device_name", device_name.strip())
            if grid:
                tx.set_setting("default_grid", grid.strip())
            tx.audit("init", detail={"worker": worker, "device_name": device_name, "grid": grid})
            device = tx.device
        return {
            "device_id": device,
            "worker": worker,
            "device_name": device_name or "",
            "default_grid": grid or "",
        }

    # -- lookups ------------------------------------------------------------

    def resolve_id(self, table: str, ident: str) -> str:
        """The full id of a live row, given its id, a unique prefix (≥ 4 characters)
        or a unique ending (≥ 6 characters, as the tables show it)."""
        ident = (ident or "").strip()
        if table not in SYNCED_FIELDS:
            raise ValueError(table)
        kind = t(f"noun.{table}")
        if len(ident) < 4:
            raise NotFoundError(t("err.not_found", kind=kind, id=ident))
        rows = self.query(
            f"SELECT id FROM {table} WHERE id >= ? AND id < ? AND deleted = 0 LIMIT 2",
            [ident, ident + "\uffff"],
        )
        if not rows and len(ident) >= 6:
            # UUIDv7 ids made close in time share their first characters, so
            # tables show the last ones (the random part); accept those too.
            rows = self.query(
                f"SELECT id FROM {table} WHERE id LIKE ? AND deleted = 0 LIMIT 2",
                ["%" + ident.replace("%", "").replace("_", "")],
            )
        if not rows:
            raise NotFoundError(t("err.not_found", kind=kind, id=ident))
        if len(rows) > 1 and rows[0]["id"] != ident:
            raise NotFoundError(t("err.ambiguous", kind=kind, id=ident))
        return rows[0]["id"]

    # -- households ----------------------------------------------------------

    def add_household(self, household: Household) -> Household:
        """Validate and store a new household; returns it with its id.

        A household given with an ``id`` (a form that made it in advance) is
        stored under that id, once: saving it again returns the stored one.
        """
        h = household.validated()
        with self.transaction() as tx:
            if h.id and tx.rows("SELECT 1 FROM households WHERE id = ?", [h.id]):
                hid = h.id  # saved before (a retried save): nothing more to do
            else:
                hid = tx.insert("households", {**_household_row(h), "id": h.id})
                tx.audit("household.add", "households", hid)
        return self.get_household(hid)

    def get_household(self, ident: str) -> Household:
        hid = self.resolve_id("households", ident)
        row = self.query("SELECT * FROM households WHERE id = ?", [hid])[0]
        return household_from_row(row)

    def update_household(self, ident: str, **fields: Any) -> Household:
        """Change the given fields of a household (validated as a whole)."""
        current = self.get_household(ident)
        merged = asdict(current) | {k: v for k, v in fields.items() if v is not None}
        h = Household(**merged).validated()
        with self.transaction() as tx:
            changed = tx.update("households", current.id, _household_row(h))
            if changed:
                tx.audit("household.edit", "households", current.id, {"fields": changed})
        return self.get_household(current.id)

    def upsert_households(
        self,
        households: Sequence[Household],
        *,
        dry_run: bool = False,
        detail: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Insert or update many households in one transaction (a roster import).

        A household with a 编号 (``ref``) updates the live household with that
        ref; if that one was merged away by de-duplication it is left alone
        (counted as ``merged``) so the merge is not undone.  The rest — no ref,
        or a ref not stored yet — are paired, per (微网格, normalised address),
        with live unmerged households *without* ref: identical ones first, then
        the same 户主, then, when exactly one is left on each side, those two.
        Anything unpaired is inserted.  Only fields that differ are written, so
        a repeated import changes nothing and sync ships only what changed.

        Args:
            households: validated households; their refs must be unique.
            dry_run: count what would happen, write nothing.
            detail: extra detail for the audit entry (e.g. the file name).

        Returns:
            ``{"imported", "updated", "unchanged", "merged", "fields": {field: n}}``.
        """
        compare = [f for f in SYNCED_FIELDS["households"] if f not in ("merged_into", "deleted")]
        counts: dict[str, Any] = {"imported": 0, "updated": 0, "unchanged": 0, "merged": 0}
        fields: dict[str, int] = {}
        with self.transaction() as tx:
            by_ref: dict[str, _Row] = {}
            free: dict[tuple[str, str], list[_Row]] = {}
            keys: dict[str, str] = {}  # address → stored key: normalising is the slow part
            for r in tx.rows("SELECT * FROM households WHERE deleted = 0 ORDER BY rowid"):
                keys[(r["address"], r["estate"])] = r["address_key"]
                if r["ref"]:
                    old = by_ref.get(r["ref"])
                    if old is None or (old["merged_into"] and not r["merged_into"]):
                        by_ref[r["ref"]] = r
                elif not r["merged_into"]:
                    free.setdefault((r["micro_grid"], r["address_key"]), []).append(r)
            pairs: list[tuple[_Row, dict[str, Any]]] = []
            inserts: list[dict[str, Any]] = []
            loose: dict[tuple[str, str], list[dict[str, Any]]] = {}
            seen: set[str] = set()
            for h in households:
                row = _household_row(h, keys.get((h.address, h.estate)))
                if h.ref in seen:
                    raise ValueError(f"ref {h.ref!r} given twice")
                if h.ref:
                    seen.add(h.ref)
                cur = by_ref.get(h.ref) if h.ref else None
                if cur is not None and cur["merged_into"]:
                    counts["merged"] += 1
                elif cur is not None:
                    pairs.append((cur, row))
                else:
                    loose.setdefault((row["micro_grid"], row["address_key"]), []).append(row)
            for key, rows in loose.items():
                cands = free.get(key)
                if not cands:
                    inserts += rows
                    continue
                for same in (lambda r: tuple(r[f] for f in compare), lambda r: r["head"]):
                    index: dict[Any, list[_Row]] = {}
                    for c in reversed(cands):
                        index.setdefault(same(c), []).append(c)
                    left, used = [], set()
                    for r in rows:
                        k = same(r)
                        bucket = index.get(k) if k else None
                        if bucket:
                            c = bucket.pop()
                            used.add(id(c))
                            pairs.append((c, r))
                        else:
                            left.append(r)
                    cands, rows = [c for c in cands if id(c) not in used], left
                if len(rows) == 1 and len(cands) == 1:
                    pairs.append((cands[0], rows.pop()))
                inserts += rows
            counts["imported"] = len(inserts)
            if inserts and not dry_run:
                tx.insert_many("households", inserts)
            for cur, row in pairs:
                changed = {f: row[f] for f in compare if cur[f] != row[f]}
                if not changed:
                    counts["unchanged"] += 1
                    continue
                counts["updated"] += 1
                for f in changed:
                    fields[f] = fields.get(f, 0) + 1
                if not dry_run:
                    derived = {k: row[k] for k in HOUSEHOLD_DERIVED}
                    tx.update("households", cur["id"], {**changed, **derived})
            counts["fields"] = fields
            if not dry_run and (inserts or counts["updated"]):
                audit = {k: v for k, v in counts.items() if k != "fields"}
                tx.audit("roster.import", "households", None, {**(detail or {}), **audit})
        return counts

    def list_households(
        self,
        grid: str | None = None,
        unvisited: bool = False,
        year: int | None = None,
        community: str | None = None,
    ) -> list[Household]:
        """Live households (not deleted, not merged), ordered by grid and address.

        Args:
            grid: only this 微网格.
            unvisited: only those not met (见面) in ``year`` (default: this year).
        """
        if grid:
            self.check_grid(grid)
        sql, params = self._household_filter(grid, unvisited, year, community)
        rows = self.query(
            f"SELECT h.* FROM households h WHERE {sql} ORDER BY micro_grid, address_key, address",
            params,
        )
        return [household_from_row(r) for r in rows]

    def _household_filter(
        self, grid: str | None, unvisited: bool, year: int | None, community: str | None = None
    ) -> tuple[str, list[Any]]:
        where = [live("h")]
        params: list[Any] = []
        if grid:
            where.append("h.micro_grid = ?")
            params.append(grid)
        if community:
            where.append("h.community = ?")
            params.append(community)
        if unvisited:
            year = year or dt.date.today().year
            where.append("h.occupancy != ?")
            params.append(Occupancy.VACANT.value)
            where.append(
                "NOT EXISTS (SELECT 1 FROM visits v WHERE v.live_household = h.id "
                f"AND {live('v')} AND v.outcome = ? "
                "AND v.visit_date BETWEEN ? AND ?)"
            )
            params += [Outcome.MET.value, f"{year}-01-01", f"{year}-12-31"]
        return " AND ".join(where), params

    def household_overview(
        self,
        grid: str | None = None,
        year: int | None = None,
        unvisited: bool = False,
    ) -> list[dict[str, Any]]:
        """Households with what the home screen shows beside them.

        Each dict has the household's columns plus ``last_visit`` (date of the
        latest live visit), ``visited_this_year`` (met in ``year``) and
        ``open_items`` (待办 or 办理中), computed in one query.
        """
        year = year or dt.date.today().year
        sql, params = self._household_filter(grid, unvisited, year)
        # Correlated subqueries use the per-household indexes, so one 微网格 of
        # a 50,000-household district costs milliseconds; a GROUP BY over every
        # visit of the district would cost about a second whatever the filter.
        live_v = f"v.live_household = h.id AND {live('v')}"
        rows = self.query(
            f"""
            SELECT h.id, h.ref, h.community, h.micro_grid, h.estate, h.address,
                   h.address_key, h.head, h.phone, h.phones, h.members, h.occupancy, h.tags,
                   (SELECT max(v.visit_date) FROM visits v WHERE {live_v}) AS last_visit,
                   EXISTS (SELECT 1 FROM visits v WHERE {live_v} AND v.outcome = ?
                           AND v.visit_date BETWEEN ? AND ?) AS visited_this_year,
                   (SELECT count(*) FROM items i WHERE i.live_household = h.id
                           AND i.deleted = 0 AND i.live_visit IS NOT NULL
                           AND i.status IN (?, ?)) AS open_items
            FROM households h
            WHERE {sql}
            ORDER BY h.micro_grid, h.address_key, h.address
            """,
            [
                Outcome.MET.value,
                f"{year}-01-01",
                f"{year}-12-31",
                *[s.value for s in OPEN_STATUSES],
                *params,
            ],
        )
        out = []
        for r in rows:
            d = dict(r)
            d["tags"] = json.loads(d["tags"] or "[]")
            d["phones"] = json.loads(d["phones"] or "[]")
            d["visited_this_year"] = bool(d["visited_this_year"])
            out.append(d)
        return out

    def check_grid(self, grid: str) -> str:
        """The 微网格 name if some live household is in it.

        Raises:
            ValidationError: naming the closest existing grids, so a typo
                (曹杨一村1网格) is not silently answered with an empty list.
        """
        exists = self.scalar(
            f"SELECT 1 FROM households WHERE micro_grid = ? AND {live()} LIMIT 1",
            [grid],
        )
        if exists:
            return grid
        from rapidfuzz import process

        names = [g["micro_grid"] for g in self.micro_grids()]
        close = [name for name, _, _ in process.extract(grid, names, limit=3, score_cutoff=50)]
        close = close or names[:5]
        raise ValidationError(
            t("err.unknown_grid", grid=grid, close="、".join(close) or t("err.no_grids"))
        )

    def micro_grids(self) -> list[dict[str, Any]]:
        """Every 微网格 with its 居民区 and live household count."""
        rows = self.query(
            "SELECT micro_grid, min(community) AS community, count(*) AS households "
            f"FROM households WHERE {live()} "
            "GROUP BY micro_grid ORDER BY community, micro_grid"
        )
        return [dict(r) for r in rows]

    def count_live(self) -> dict[str, int]:
        """Live rows per synced table."""
        return {
            tbl: self.scalar(
                f"SELECT count(*) FROM {tbl} WHERE "
                + (live() if tbl in ("households", "visits") else "deleted = 0")
                + (" AND live_visit IS NOT NULL" if tbl == "items" else "")
            )
            for tbl in SYNCED_FIELDS
        }

    # -- visits ---------------------------------------------------------------

    def add_visit(self, visit: Visit) -> Visit:
        """Validate and store a visit with its list items, in one transaction.

        A visit given with an ``id`` (a form that made it in advance) is
        stored under that id, once: saving it again returns the stored one.
        """
        household_id = self.resolve_id("households", visit.household_id)
        v = Visit(**{**asdict(visit), "items": visit.items, "household_id": household_id})
        v = v.validated()
        with self.transaction() as tx:
            if v.id and tx.rows("SELECT 1 FROM visits WHERE id = ?", [v.id]):
                return self.get_visit(v.id)  # saved before (a retried save)
            vid = tx.insert("visits", {**_visit_row(v), "id": v.id})
            item_ids = []
            for item in v.items:
                item.visit_id, item.household_id = vid, household_id
                item_ids.append(tx.insert("items", _item_row(item)))
            tx.audit("visit.add", "visits", vid, {"household": household_id, "items": item_ids})
        return self.get_visit(vid)

    def get_visit(self, ident: str) -> Visit:
        vid = self.resolve_id("visits", ident)
        row = self.query("SELECT * FROM visits WHERE id = ?", [vid])[0]
        items = self.query(
            "SELECT * FROM items WHERE live_visit = ? AND deleted = 0 ORDER BY rowid", [vid]
        )
        return visit_from_row(row, [item_from_row(i) for i in items])

    def edit_visit(self, ident: str, **fields: Any) -> Visit:
        """Change only the given fields of a visit (None means "leave as is")."""
        current = self.get_visit(ident)
        given = {k: v for k, v in fields.items() if v is not None}
        unknown = set(given) - set(SYNCED_FIELDS["visits"])
        if unknown:
            raise ValidationError(t("err.unknown_field", field=", ".join(sorted(unknown))))
        merged = Visit(**{**asdict(current), "items": [], **given}).validated()
        with self.transaction() as tx:
            row = _visit_row(merged)
            changed = tx.update("visits", current.id, {k: row[k] for k in given})
            if changed:
                tx.audit("visit.edit", "visits", current.id, {"fields": changed})
        return self.get_visit(current.id)

    def delete_visit(self, ident: str) -> str:
        """Tombstone a visit and its items; the rows stay for sync.

        A visit that merged copies of itself is deleted with those copies (the
        worker sees one visit and deletes it); a copy deleted on a laptop that
        had not seen the merge is just that copy, and the merge keeps the other.
        """
        vid = self.resolve_id("visits", ident)
        with self.transaction() as tx:
            rep = tx.rows("SELECT merged_into FROM visits WHERE id = ?", [vid])[0]["merged_into"]
            rep = rep or vid
            cluster = [rep] + [
                r["id"]
                for r in tx.rows(
                    "SELECT id FROM visits WHERE merged_into = ? AND deleted = 0 ORDER BY id", [rep]
                )
            ]
            for one in cluster:
                tx.update("visits", one, {"deleted": 1})
                for r in tx.rows("SELECT id FROM items WHERE visit_id = ? AND deleted = 0", [one]):
                    tx.update("items", r["id"], {"deleted": 1})
            tx.audit(
                "visit.delete", "visits", vid, {"copies": cluster[1:]} if cluster[1:] else None
            )
        return vid

    def list_visits(
        self,
        household: str | None = None,
        grid: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        visitor: str | None = None,
    ) -> list[Visit]:
        """Live visits with their live items, oldest first."""
        where = [live("v")]
        params: list[Any] = []
        if household:
            where.append("v.live_household = ?")
            params.append(self.resolve_id("households", household))
        if grid:
            self.check_grid(grid)
            where.append("v.live_household IN (SELECT id FROM households WHERE micro_grid = ?)")
            params.append(grid)
        if date_from:
            where.append("v.visit_date >= ?")
            params.append(parse_date(date_from, "date_from").isoformat())
        if date_to:
            where.append("v.visit_date <= ?")
            params.append(parse_date(date_to, "date_to").isoformat())
        if visitor:
            where.append("v.visitor = ?")
            params.append(visitor)
        cond = " AND ".join(where)
        rows = self.query(
            f"SELECT v.* FROM visits v WHERE {cond} ORDER BY v.visit_date, v.id", params
        )
        items: dict[str, list[Item]] = {}
        for r in self.query(
            f"SELECT i.* FROM items i JOIN visits v ON v.id = i.live_visit "
            f"WHERE i.deleted = 0 AND {cond} ORDER BY i.rowid",
            params,
        ):
            items.setdefault(r["live_visit"], []).append(item_from_row(r))
        return [visit_from_row(r, items.get(r["id"], [])) for r in rows]

    # -- items ----------------------------------------------------------------

    def list_items(
        self,
        open_only: bool = False,
        overdue: bool = False,
        kind: str | None = None,
        category: str | None = None,
        grid: str | None = None,
        household: str | None = None,
        today: dt.date | None = None,
    ) -> list[Item]:
        """Live list items; overdue ones (open, deadline passed) first."""
        today_s = (today or dt.date.today()).isoformat()
        where = ["i.deleted = 0", live("v")]
        params: list[Any] = []
        open_values = [s.value for s in OPEN_STATUSES]
        if open_only or overdue:
            where.append("i.status IN (?, ?)")
            params += open_values
        if overdue:
            where.append("i.deadline IS NOT NULL AND i.deadline < ?")
            params.append(today_s)
        if kind:
            where.append("i.kind = ?")
            params.append(Kind.parse(kind).value)
        if category:
            where.append("i.category = ?")
            params.append(Category.parse(category).value)
        if grid:
            self.check_grid(grid)
            where.append("h.micro_grid = ?")
            params.append(grid)
        if household:
            where.append("i.live_household = ?")
            params.append(self.resolve_id("households", household))
        rows = self.query(
            f"""
            SELECT i.* FROM items i
            JOIN visits v ON v.id = i.live_visit
            JOIN households h ON h.id = i.live_household
            WHERE {" AND ".join(where)}
            ORDER BY (i.status IN (?, ?) AND i.deadline IS NOT NULL AND i.deadline < ?) DESC,
                     i.deadline IS NULL, i.deadline, i.raised_date, i.id
            """,
            [*params, *open_values, today_s],
        )
        return [item_from_row(r) for r in rows]

    def get_item(self, ident: str) -> Item:
        iid = self.resolve_id("items", ident)
        return item_from_row(self.query("SELECT * FROM items WHERE id = ?", [iid])[0])

    def update_item(
        self,
        ident: str,
        status: str | None = None,
        note: str | None = None,
        satisfaction: str | None = None,
        owner: str | None = None,
        deadline: str | None = None,
        today: dt.date | None = None,
    ) -> Item:
        """Move an item along 待办 → 办理中 → 已办结 → 已反馈 (or 无法解决).

        Closing stamps ``closed_date`` (today); 无法解决 needs a note saying why.
        """
        current = self.get_item(ident)
        fields: dict[str, Any] = {}
        if status:
            new_status = Status.parse(status)
            fields["status"] = new_status.value
            if new_status == Status.UNSOLVABLE and not (note or current.resolution):
                raise ValidationError(t("err.unsolvable_needs_note"))
            if new_status in CLOSED_STATUSES and not current.closed_date:
                fields["closed_date"] = (today or dt.date.today()).isoformat()
            if new_status in OPEN_STATUSES:
                fields["closed_date"] = None
        if note is not None:
            fields["resolution"] = note.strip() or None
        if satisfaction:
            fields["satisfaction"] = Satisfaction.parse(satisfaction).value
        if owner is not None:
            fields["owner"] = owner.strip() or None
        if deadline is not None:
            d = parse_date(deadline, "deadline")
            fields["deadline"] = d.isoformat() if d else None
        if not fields:
            raise ValidationError(t("err.nothing_to_change"))
        with self.transaction() as tx:
            changed = tx.update("items", current.id, fields)
            if changed:
                tx.audit("item.update", "items", current.id, {"fields": changed})
        return self.get_item(current.id)

    # -- drafts of older versions (now kept by visitlog.drafts) --------------------

    def drafts(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Drafts older versions kept in the database (see :mod:`visitlog.drafts`)."""
        rows = self.query(
            "SELECT * FROM drafts" + (" WHERE kind = ?" if kind else "") + " ORDER BY updated_at",
            [kind] if kind else [],
        )
        return [{**dict(r), "data": json.loads(r["data"])} for r in rows]

    def discard_draft(self, draft_id: str) -> None:
        with self._lock, sqlite_errors(self.path):
            self.conn.execute("DELETE FROM drafts WHERE id = ?", [draft_id])

    # -- sync bookkeeping ---------------------------------------------------------

    def version_vector(self) -> dict[str, int]:
        """``{device: highest seq held}`` over the change log."""
        rows = self.query("SELECT device, max(seq) AS seq FROM changes GROUP BY device")
        return {r["device"]: r["seq"] for r in rows}

    def unsynced_count(self) -> int:
        """Local changes not yet acknowledged by the hub (``synced_seq`` setting)."""
        device = self.device_id
        if not device:
            return 0
        acked = int(self.get_setting("synced_seq", "0") or 0)
        # This device's sequence numbers have no gaps (one counter, one
        # transaction each), so the count is a difference of two numbers, not
        # a scan over every change made since the last sync.
        newest = self.scalar("SELECT max(seq) FROM changes WHERE device = ?", [device]) or 0
        return max(0, newest - acked)

    # -- audit --------------------------------------------------------------------

    def audit_entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM audit ORDER BY id DESC" + (f" LIMIT {int(limit)}" if limit else "")
        return [
            {**dict(r), "detail": json.loads(r["detail"]) if r["detail"] else None}
            for r in self.query(sql)
        ]

    def verify_audit(self) -> int | None:
        """The id of the first entry whose chain is broken, or None (see :meth:`audit_problem`)."""
        problem = self.audit_problem()
        return None if problem is None else problem[0]

    def audit_problem(self) -> tuple[int, str] | None:
        """The first break of the audit chain as ``(id, reason)``, or None when it is whole.

        Reasons: ``removed`` (the entry with that id is missing; ids are
        AUTOINCREMENT, so they start at 1, never repeat, and
        ``sqlite_sequence`` remembers the highest one ever used, which
        reveals removed newest entries too), ``edited`` (its content or link
        does not match), ``downgraded`` (a plain entry after one keyed with
        the station key this replica holds) and ``unsealed`` (the chain was
        keyed, yet no keyed entry is left: it was recomputed as a plain hash
        chain; the id is then that of the last entry).

        Entries keyed with a key this replica does not hold (an older key, or
        none held here) cannot be checked one by one; their links still are.
        """
        key = self.audit_key()
        mine = chain_fingerprint(key) if key else None
        prev = GENESIS_HASH
        expected_id = 1
        keyed_any = seen_mine = False
        last = None
        for r in self.query("SELECT * FROM audit ORDER BY id"):
            if r["id"] != expected_id:
                return expected_id, "removed"
            if r["prev_hash"] != prev:
                return r["id"], "edited"
            stamp = r["hash"]
            if stamp.startswith(KEYED_PREFIX):
                keyed_any = True
                fp = stamp[len(KEYED_PREFIX) :].split(":", 1)[0]
                if key is not None and fp == mine:
                    if not hmac.compare_digest(stamp, _audit_mac(key, prev, r)):
                        return r["id"], "edited"
                    seen_mine = True
            elif seen_mine:
                return r["id"], "downgraded"
            elif stamp != _audit_hash(prev, r):
                return r["id"], "edited"
            prev = stamp
            last = r["id"]
            expected_id = r["id"] + 1
        highest = self.scalar("SELECT seq FROM sqlite_sequence WHERE name = 'audit'")
        if highest is not None and int(highest) >= expected_id:
            return expected_id, "removed"
        if key is not None and last is not None and not keyed_any:
            if self.get_setting(CHAIN_SETTING) == KEYED_CHAIN:
                return last, "unsealed"
        return None

    def audit_key(self) -> Any:
        """The station key held beside this database, which keys its audit chain (or None).

        A key file that cannot be read keys nothing (the commands that need
        the key say why); the chain's links stay checkable.
        """
        from visitlog.security import KeyFileError, load_key

        try:
            return load_key(self.path)
        except KeyFileError:
            return None

    # -- maintenance ----------------------------------------------------------

    def check(self) -> list[str]:
        """SQLite's integrity and foreign-key checks plus visitlog's own.

        Returns:
            One plain sentence per problem found; empty when all is well.
        """
        problems: list[str] = []
        result = [r[0] for r in self.query("PRAGMA integrity_check")]
        if result != ["ok"]:
            problems += [t("check.integrity", detail=x) for x in result[:10]]
        for r in self.query("PRAGMA foreign_key_check"):
            problems.append(t("check.foreign_key", table=r[0], rowid=r[1], parent=r[2]))
        enum_checks = {
            ("households", "occupancy"): Occupancy,
            ("visits", "mode"): Mode,
            ("visits", "outcome"): Outcome,
            ("items", "kind"): Kind,
            ("items", "category"): Category,
            ("items", "status"): Status,
            ("items", "level"): Level,
            ("items", "satisfaction"): Satisfaction,
        }
        for (tbl, col), enum_cls in enum_checks.items():
            allowed = enum_cls.choices()
            marks = ",".join("?" * len(allowed))
            n = self.scalar(
                f"SELECT count(*) FROM {tbl} WHERE {col} IS NOT NULL AND {col} NOT IN ({marks})",
                allowed,
            )
            if n:
                problems.append(t("check.bad_enum", table=tbl, column=col, count=n))
        orphans = self.scalar(
            "SELECT count(*) FROM items i JOIN visits v ON v.id = i.visit_id "
            "WHERE i.deleted = 0 AND v.deleted = 1"
        )
        if orphans:
            problems.append(t("check.orphan_items", count=orphans))
        for tbl in SYNCED_FIELDS:
            n = self.scalar(
                f"SELECT count(*) FROM {tbl} r WHERE NOT EXISTS "
                f"(SELECT 1 FROM changes c WHERE c.tbl = '{tbl}' AND c.row_id = r.id)"
            )
            if n:
                problems.append(t("check.unlogged", table=tbl, count=n))
        broken = self.verify_audit()
        if broken is not None:
            problems.append(t("check.audit_broken", id=broken))
        return problems

    def backup(self, dest: Path | str) -> Path:
        """Copy the database with SQLite's online backup API (safe while in use).

        Written to a temporary file first and renamed, so a failed backup
        never leaves a half-written file under the requested name.
        """
        dest = Path(dest).expanduser()
        if dest.resolve() == self.path.resolve() or files.is_open_database(dest):
            raise VisitlogError(t("err.backup_same_file"))
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            detail = exc.strerror or str(exc)
            raise VisitlogError(t("err.write_file", path=dest, detail=detail)) from exc
        # An older backup may be replaced; the database, its WAL or another
        # database this process has open may not (files.check_destination).
        with files.replacing(dest, replace_database=True) as tmp, sqlite_errors(dest):
            target = sqlite3.connect(str(tmp))
            try:
                with self._lock:
                    self.conn.backup(target)
                target.execute("PRAGMA journal_mode = DELETE")
            finally:
                target.close()
        return dest


class _Row(dict):
    """A result row: a dict that can also be indexed by position."""

    def __init__(self, names: list[str], values: Sequence[Any]):
        super().__init__(zip(names, values, strict=True))
        self._values = tuple(values)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int):
            return self._values[key]
        return super().__getitem__(key)


#: Settings key recording that this database's audit chain is keyed (``k1``).
CHAIN_SETTING = "audit_chain"
KEYED_CHAIN = "k1"
#: Hashes of keyed entries: ``k1:<key fingerprint>:<HMAC-SHA256>``.
KEYED_PREFIX = "k1:"
_CHAIN_LABEL = b"visitlog audit chain v1"


def chain_fingerprint(key: Any) -> str:
    """The fingerprint named in keyed entries (the station key's own)."""
    return key.fingerprint


def _audit_mac(key: Any, prev: str, entry: Any) -> str:
    """A keyed entry's stamp: HMAC-SHA256 of the entry and the previous stamp, with a
    key derived from the station key (so it signs nothing but audit entries)."""
    chain_key = hmac.new(key.secret, _CHAIN_LABEL, hashlib.sha256).digest()
    mac = hmac.new(chain_key, _audit_payload(prev, entry).encode("utf-8"), hashlib.sha256)
    return f"{KEYED_PREFIX}{chain_fingerprint(key)}:{mac.hexdigest()}"


def _audit_payload(prev: str, entry: Any) -> str:
    return jdump(
        [
            prev,
            entry["at"],
            entry["worker"],
            entry["device"],
            entry["action"],
            entry["tbl"],
            entry["row_id"],
            entry["detail"],
        ]
    )


def _audit_hash(prev: str, entry: Any) -> str:
    return hashlib.sha256(_audit_payload(prev, entry).encode("utf-8")).hexdigest()


class Tx:
    """The write side of one transaction: inserts and updates that stamp,
    log and audit themselves.  Obtain one from :meth:`Store.transaction`."""

    def __init__(self, store: Store):
        self.store = store
        self.conn = store.conn
        self._device: str | None = None
        self._seq: int | None = None
        self._hlc: HLC | None = None
        self._settings: dict[str, str | None] = {}
        #: Set by a write that may change which records are one (a merge
        #: record, a 编号, a tombstone): :meth:`finish` then recomputes them.
        self.relink = False
        self._identity_change: dict[str, Any] | None = None

    # identity, made on the first write
    @property
    def device(self) -> str:
        """This replica's device id; made, or checked (and renewed if the
        database was restored or copied), on first use in a Store's life."""
        if self._device is None:
            row = self.conn.execute("SELECT value FROM settings WHERE key='device_id'").fetchone()
            if row:
                self._device = row[0]
                if not self.store._identity_checked:
                    self._check_identity()
            else:
                self._device = secrets.token_hex(6)
                self.set_setting("device_id", self._device)
                self._keep_record(
                    identity.new_record(
                        self._device, identity.file_key(self.store.path), self._read_record()
                    )
                )
            self.store._device = self._device
        return self._device

    def _read_record(self) -> dict[str, Any] | None:
        return identity.read_record(self.store.path)

    def own_max_seq(self, device: str | None = None) -> int:
        row = self.conn.execute(
            "SELECT max(seq) FROM changes WHERE device = ?", [device or self.device]
        ).fetchone()
        return row[0] or 0

    def _check_identity(self) -> None:
        """Compare the database with its identity record (visitlog.identity)."""
        path = self.store.path
        device = self._device
        assert device is not None
        if not os.access(path.parent, os.W_OK):
            return  # no record can be kept here: sync's check is what remains
        record = self._read_record()
        inode = identity.file_key(path)
        own = self.own_max_seq(device)
        unchecked = self.conn.execute(
            "SELECT 1 FROM settings WHERE key = 'identity_unchecked'"
        ).fetchone()
        if unchecked:
            # Made by a visitlog that kept no record: record it as it is.
            self.set_setting("identity_unchecked", None)
            reason = None
        else:
            reason = identity.verdict(record, device, own, inode)
        if reason is None:
            if record is None or (record.get("file"), record["device"]) != (inode, device):
                self._keep_record(identity.new_record(device, inode, record))
            return
        self.new_device(reason, record=record)

    def new_device(self, reason: str, *, record: dict[str, Any] | None = None) -> str:
        """Take a new device id for this replica's changes from now on.

        The changes made under the old id keep it (they are the same changes
        on every replica); only new ones are numbered under the new id.

        Args:
            reason: one of :data:`visitlog.identity.REASONS`.
            record: the identity record read beside the database, if any.
        """
        old = (
            self._device
            or self.conn.execute("SELECT value FROM settings WHERE key='device_id'").fetchone()[0]
        )
        new = secrets.token_hex(6)
        row = self.conn.execute("SELECT value FROM settings WHERE key='former_devices'").fetchone()
        former = json.loads(row[0]) if row else []
        self.set_setting("former_devices", jdump([*former, old]))
        self.set_setting("device_id", new)
        self.set_setting("synced_seq", None)  # acknowledgements of the old id's changes
        self._device = new
        self._seq = None
        self.store._device = new
        if record is None:
            record = self._read_record()
        self._keep_record(identity.new_record(new, identity.file_key(self.store.path), record))
        if self._identity_change is None:
            self._identity_change = {"old": old, "new": new, "reason": reason}
        else:  # twice in one transaction: the first id given up, the last one taken
            self._identity_change["new"] = new
        self.audit("identity.new", detail={"old": old, "reason": reason})
        return new

    @property
    def identity_change(self) -> dict[str, Any] | None:
        """``{"old", "new", "reason"}`` when this transaction took a new device id."""
        return self._identity_change

    def _keep_record(self, record: dict[str, Any]) -> None:
        """Write the identity record now, while this transaction holds the write lock.

        Before the commit, so that another process (which waits for the lock)
        never checks the database against a record not yet written.  A record
        ahead of a transaction that then rolls back costs at most one needless
        new device id later; one behind the database could cost work.
        """
        identity.write_record(self.store.path, record)

    def note_shipped(self) -> None:
        """Record that every change of this replica's own was shipped (see
        :meth:`_keep_record` on why at once, not after the commit)."""
        own = self.own_max_seq()
        record = identity.new_record(
            self.device, identity.file_key(self.store.path), self._read_record()
        )
        if own and record["shipped"].get(self.device, 0) < own:
            record["shipped"][self.device] = own
            self._keep_record(record)

    def committed(self) -> None:
        """After COMMIT: remember the identity was checked, publish a change of it."""
        if self._device is not None:
            self.store._identity_checked = True
        if self._identity_change is not None:
            self.store.identity_change = self._identity_change

    @property
    def hlc(self) -> HLC:
        if self._hlc is None:
            row = self.conn.execute("SELECT value FROM settings WHERE key='hlc'").fetchone()
            last = row[0] if row else None
            if last is not None and last > horizon():
                last = self.clock_floor()
                # the next merge here holds what this clock stamped far ahead
                self.set_setting("hold_scan", "1")
            self._hlc = HLC(last)
        return self._hlc

    def clock_floor(self) -> str | None:
        """The highest stamp in the log that is not far in the future.

        A clock that ran ahead while its laptop's date was wrong continues
        from here once the date is right: after every stamp it issued or saw
        with a right clock (the far ones are held, see visitlog.sync.merge).
        A scan of the log, only in that case.
        """
        return self.conn.execute(
            "SELECT max(hlc) FROM changes WHERE hlc <= ?", [horizon()]
        ).fetchone()[0]

    def next_seq(self) -> int:
        if self._seq is None:
            row = self.conn.execute(
                "SELECT max(seq) FROM changes WHERE device = ?", [self.device]
            ).fetchone()
            self._seq = row[0] or 0
        self._seq += 1
        return self._seq

    def set_setting(self, key: str, value: str | None) -> None:
        if value is None:
            self.conn.execute("DELETE FROM settings WHERE key = ?", [key])
        else:
            self.conn.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[_Row]:
        cur = self.conn.execute(sql, params)
        names = [d[0] for d in cur.description or ()]
        return [_Row(names, r) for r in cur.fetchall()]

    def insert(self, tbl: str, row: dict[str, Any]) -> str:
        """Insert a new synced row (id made here unless given) and log it."""
        return self.insert_many(tbl, [row])[0]

    def insert_many(self, tbl: str, rows: Iterable[dict[str, Any]]) -> list[str]:
        """Insert many new rows with one executemany each for the table and the log."""
        fields = SYNCED_FIELDS[tbl]
        device = self.device
        now = now_iso()
        extra = LIVE_COLUMNS.get(tbl, HOUSEHOLD_DERIVED if tbl == "households" else ())
        cols = ("id", *fields, *extra, "created_at", "hlc", "device")
        table_rows, change_rows, ids = [], [], []
        for row in rows:
            rid = row.get("id") or new_id()
            stamp = self.hlc.tick()
            values = {f: row.get(f) for f in fields}
            values["deleted"] = int(values.get("deleted") or 0)
            more = (values[LIVE_SOURCE[e]] for e in extra) if tbl in LIVE_COLUMNS else None
            table_rows.append(
                (rid, *values.values(), *(more or (row.get(e) for e in extra)), now, stamp, device)
            )
            # created_at travels with the insert, so every replica stores this one
            data = jdump({**values, "created_at": now})
            change_rows.append((device, self.next_seq(), tbl, rid, stamp, "insert", data))
            ids.append(rid)
            if tbl == "dedup_merges" or (tbl == "households" and values.get("ref")):
                self.relink = True
        marks = ",".join("?" * len(cols))
        self.conn.executemany(f"INSERT INTO {tbl} ({','.join(cols)}) VALUES ({marks})", table_rows)
        self.conn.executemany(
            "INSERT INTO changes(device, seq, tbl, row_id, hlc, op, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            change_rows,
        )
        return ids

    def update(self, tbl: str, row_id: str, fields: dict[str, Any]) -> list[str]:
        """Set the fields that differ from the stored row; log one change.

        Returns:
            The names of the fields that actually changed (empty: nothing
            was written and nothing is logged, so sync ships nothing).
        """
        allowed = SYNCED_FIELDS[tbl]
        cur = self.rows(f"SELECT * FROM {tbl} WHERE id = ?", [row_id])
        if not cur:
            raise NotFoundError(t("err.not_found", kind=t(f"noun.{tbl}"), id=row_id))
        current = cur[0]
        extra = {k: v for k, v in fields.items() if k in HOUSEHOLD_DERIVED}
        changed = {k: v for k, v in fields.items() if k in allowed and current[k] != v}
        if not changed:
            stale = {k: v for k, v in extra.items() if current[k] != v}
            if stale:
                self.conn.execute(
                    f"UPDATE {tbl} SET {', '.join(f'{k} = ?' for k in stale)} WHERE id = ?",
                    [*stale.values(), row_id],
                )
            return []
        stamp = self.hlc.tick()
        device = self.device
        stamps = json.loads(current["stamps"]) if current["stamps"] else {}
        default = stamps.get("*", [current["hlc"], current["device"]])
        base = {k: stamps.get(k, default) for k in changed}
        if "deleted" not in changed:
            # The delete state this edit was made on: a merge can tell an edit
            # made after a delete its author had not seen (visitlog.sync.merge).
            base["~deleted"] = stamps.get("deleted", default)
        stamps.setdefault("*", default)
        for k in changed:
            stamps[k] = [stamp, device]
        sets = {**changed, **extra, "hlc": stamp, "device": device, "stamps": jdump(stamps)}
        if tbl in ("households", "visits", "dedup_merges") or (
            tbl == "items" and {"deleted", "visit_id"} & changed.keys()
        ):
            # An edit of a merged-away record may be a conflict on its
            # representative; a tombstone or a 编号 may change a cluster.
            self.relink = True
        self.conn.execute(
            f"UPDATE {tbl} SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?",
            [*sets.values(), row_id],
        )
        self.conn.execute(
            "INSERT INTO changes(device, seq, tbl, row_id, hlc, op, data, base) "
            "VALUES (?, ?, ?, ?, ?, 'update', ?, ?)",
            [device, self.next_seq(), tbl, row_id, stamp, jdump(changed), jdump(base)],
        )
        return sorted(changed)

    def audit(
        self,
        action: str,
        tbl: str | None = None,
        row_id: str | None = None,
        detail: Any = None,
        *,
        key: Any = None,
    ) -> None:
        """Append one entry to the audit chain.

        With a station key held (or *key*, the one being installed), the
        entry is keyed (HMAC, see :func:`_audit_mac`) and the chain is marked
        keyed from then on; without one it is a plain SHA-256 link.  A chain
        marked keyed whose newest entry is plain was rewritten: it is not
        keyed again over the rewrite (that would hide it), so ``audit
        verify`` keeps reporting it.
        """
        device = self.device  # first: checking the identity may append an entry itself
        row = self.conn.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        prev = row[0] if row else GENESIS_HASH
        if key is None:
            key = self.store.audit_key()
            if key is not None and not prev.startswith(KEYED_PREFIX) and row is not None:
                marked = self.conn.execute(
                    "SELECT value FROM settings WHERE key = ?", [CHAIN_SETTING]
                ).fetchone()
                if marked and marked[0] == KEYED_CHAIN:
                    key = None  # keyed once, plain at the head now: leave the evidence
        worker = self.conn.execute("SELECT value FROM settings WHERE key='worker'").fetchone()
        entry = {
            "at": now_iso(),
            "worker": worker[0] if worker else None,
            "device": device,
            "action": action,
            "tbl": tbl,
            "row_id": row_id,
            "detail": jdump(detail) if detail is not None else None,
        }
        stamp = _audit_mac(key, prev, entry) if key is not None else _audit_hash(prev, entry)
        self.conn.execute(
            "INSERT INTO audit(at, worker, device, action, tbl, row_id, detail, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [*entry.values(), prev, stamp],
        )
        if key is not None and not prev.startswith(KEYED_PREFIX):
            self.set_setting(CHAIN_SETTING, KEYED_CHAIN)

    def finish(self) -> None:
        """Recompute merge clusters if needed; persist the clock so the next
        process continues after our stamps."""
        if self.relink:
            relink(self.conn)
            self.relink = False
        if self._hlc is not None:
            self.set_setting("hlc", str(self._hlc.last))


# -- row ↔ dataclass ---------------------------------------------------------------


#: Household columns derived from synced ones (not synced: every replica derives them).
HOUSEHOLD_DERIVED = ("address_key", "phones")


def _address_key(address: str, estate: str | None = None) -> str:
    from visitlog.address import household_key

    return household_key(address, estate)


def phones_json(phone: str | None) -> str | None:
    """The ``phones`` column: JSON list of the numbers understood from the contact as written.

    None when the contact holds no number (see :func:`visitlog.residents.phone_numbers`).
    """
    if not phone:
        return None
    from visitlog.residents import phone_numbers

    numbers = phone_numbers(phone)
    return jdump(numbers) if numbers else None


def _household_row(h: Household, address_key: str | None = None) -> dict[str, Any]:
    return {
        "ref": h.ref,
        "community": h.community,
        "micro_grid": h.micro_grid,
        "estate": h.estate,
        "address": h.address,
        "address_key": address_key
        if address_key is not None
        else _address_key(h.address, h.estate),
        "head": h.head,
        "phone": h.phone,
        "phones": phones_json(h.phone),
        "members": h.members,
        "occupancy": h.occupancy,
        "tags": jdump(h.tags),
        "note": h.note,
        "merged_into": h.merged_into,
        "deleted": int(h.deleted),
    }


def _visit_row(v: Visit) -> dict[str, Any]:
    return {f: getattr(v, f) for f in SYNCED_FIELDS["visits"]} | {"deleted": int(v.deleted)}


def _item_row(i: Item) -> dict[str, Any]:
    return {f: getattr(i, f) for f in SYNCED_FIELDS["items"]} | {"deleted": int(i.deleted)}


def household_from_row(r: dict[str, Any]) -> Household:
    return Household(
        id=r["id"],
        ref=r["ref"],
        community=r["community"],
        micro_grid=r["micro_grid"],
        estate=r["estate"],
        address=r["address"],
        head=r["head"],
        phone=r["phone"],
        phones=json.loads(r["phones"]) if "phones" in r.keys() and r["phones"] else [],
        members=r["members"],
        occupancy=r["occupancy"],
        tags=json.loads(r["tags"] or "[]"),
        note=r["note"],
        merged_into=r["merged_into"],
        created_at=r["created_at"],
        hlc=r["hlc"],
        device=r["device"],
        deleted=bool(r["deleted"]),
    )


def visit_from_row(r: dict[str, Any], items: list[Item]) -> Visit:
    """A visit as it reads now: on the household it lives on (see visitlog.clusters)."""
    return Visit(
        **{f: r[f] for f in SYNCED_FIELDS["visits"] if f != "deleted"}
        | {"household_id": r.get("live_household") or r["household_id"]},
        merged_into=r.get("merged_into"),
        id=r["id"],
        items=items,
        created_at=r["created_at"],
        hlc=r["hlc"],
        device=r["device"],
        deleted=bool(r["deleted"]),
    )


def item_from_row(r: dict[str, Any]) -> Item:
    """An item as it reads now: on the visit and household it lives on."""
    return Item(
        **{f: r[f] for f in SYNCED_FIELDS["items"] if f != "deleted"}
        | {
            "household_id": r.get("live_household") or r["household_id"],
            "visit_id": r.get("live_visit") or r["visit_id"],
        },
        id=r["id"],
        hlc=r["hlc"],
        device=r["device"],
        deleted=bool(r["deleted"]),
    )
