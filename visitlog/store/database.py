"""Opening a visitlog database: the file, its pragmas, the schema guard, and
one write transaction at a time.

Every public method that writes is one transaction (``BEGIN IMMEDIATE`` …
``COMMIT``): a crash at any moment leaves the operation wholly done or not
done at all.  A write waiting for another process's write is retried (see
:data:`WRITE_WAIT_S`); SQLite's errors become one plain sentence
(:func:`explain_sqlite_error`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from visitlog.clock import HLC
from visitlog.i18n import t
from visitlog.model import ValidationError, VisitlogError
from visitlog.store import cipher, files, migrations
from visitlog.store.keys import KeyFileError, StationKey, load_key
from visitlog.store.rowmap import Row
from visitlog.store.transaction import Tx

if TYPE_CHECKING:
    from sqlite_utils import Database

APP_VERSION = "0.3.0"
BUSY_TIMEOUT_MS = 10_000
#: How long a write waits for another process's write transaction (a large
#: roster import, a first sync with a district hub) before giving up with a
#: plain "database is busy" message.  SQLite's busy handler waits
#: BUSY_TIMEOUT_MS per attempt; :meth:`Store.transaction` retries until this.
WRITE_WAIT_S = 180.0
#: While another process holds the write lock, ``BEGIN IMMEDIATE`` is tried
#: again every few milliseconds, not at the pace of SQLite's own busy handler
#: (which sleeps up to 100 ms between tries once it has waited a while): a
#: long operation that lets go of the lock for a moment between two of its
#: parts (a sync's chunks, ``visitlog.sync.replica.CHUNK_PAUSE_S``) lets a
#: waiting write in within that moment.
BEGIN_POLL_MS = 5


def default_db_path() -> Path:
    """``VISITLOG_DB`` if set, else ``<user data dir>/visitlog/visitlog.db``."""
    env = os.environ.get("VISITLOG_DB")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("visitlog", appauthor=False)) / "visitlog.db"


def explain_sqlite_error(exc: Exception, path: Path | str | None = None) -> VisitlogError:
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
    except cipher.DB_ERRORS as exc:
        raise explain_sqlite_error(exc, path) from exc  # type: ignore[arg-type]


class StoreBase:
    """The database file of a :class:`~visitlog.store.Store`: opening it,
    transactions, and plain queries.  See ``Store`` for the arguments."""

    #: The connection's busy timeout (ms), and how often ``on_wait`` is told.
    _busy_ms = BUSY_TIMEOUT_MS

    def __init__(
        self,
        path: Path | str,
        *,
        create: bool = True,
        upgrade: bool = True,
        page_size: int | None = None,
    ):
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
            self._create(cipher.new_key(), page_size)
        elif self.path.is_file() and self.path.stat().st_size == 0:
            # an empty file: nothing to keep, build it whole
            self._create(cipher.new_key(), page_size)
        #: The SQLCipher key of an encrypted database (None: a plain file).
        self.key = cipher.key_for(self.path)
        self._lock = threading.RLock()
        #: True when the file or its medium cannot be written: reads work,
        #: every write is refused with one plain message.
        self.read_only = False
        with sqlite_errors(self.path):
            target, self.read_only = _sqlite_target(self.path)
            conn = cipher.connect(
                target,
                self.key,
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
                    with contextlib.suppress(*cipher.OPERATIONAL_ERRORS):
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
        #: record (see :mod:`visitlog.store.identity`) in a committed transaction.
        self._identity_checked = False
        #: Set when this Store's database took a new device id:
        #: ``{"old", "new", "reason"}`` (the CLI and the TUI say so).
        self.identity_change: dict[str, Any] | None = None
        #: Seconds a write waits for another process's write (see WRITE_WAIT_S).
        self.write_wait = WRITE_WAIT_S
        #: See :meth:`report_waits`.
        self.on_wait: Callable[[float], bool] | None = None

    # -- opening ----------------------------------------------------------

    def _create(self, key: cipher.DbKey | None, page_size: int | None = None) -> None:
        """Build a new database under a temporary name and move it into place whole.

        The first migrations run through ``executescript``, which commits
        statement by statement; built in place, a kill in the middle would
        leave a file with half a schema that no later open could repair.
        The file is owner-only from its first byte: it holds personal data.
        With *key* it is an SQLCipher file from its first byte too.

        *page_size*: of a plain file (SQLCipher's would have to be given
        again at every open), SQLite's 4 KiB otherwise.
        """
        path = self.path
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.new")
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.close(fd)
            with sqlite_errors(path):
                conn = cipher.connect(str(tmp), key, isolation_level=None)
                try:
                    if page_size is not None and key is None:
                        conn.execute(f"PRAGMA page_size = {int(page_size)}")
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
        # Ours unless another process made the file meanwhile: then its own key.
        if key is not None and cipher.read_salt(path) == key.salt:
            cipher.remember(path, key)

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
        with contextlib.suppress(*cipher.DB_ERRORS):
            self.conn.close()
        if self._registered is not None:
            self._registered()  # runs database_closed once, whatever calls it

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
            self._busy_ms = int(step_ms)
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
        told = 0.0
        self.conn.execute(f"PRAGMA busy_timeout = {BEGIN_POLL_MS}")
        try:
            while True:
                try:
                    self.conn.execute("BEGIN IMMEDIATE")
                    return
                except cipher.OPERATIONAL_ERRORS as exc:
                    text = str(exc).lower()
                    waited = time.monotonic() - started
                    if ("locked" not in text and "busy" not in text) or waited >= self.write_wait:
                        raise
                    if self.on_wait is not None and waited - told >= self._busy_ms / 1000:
                        told = waited
                        if not self.on_wait(waited):
                            raise
        finally:
            # the statements of the transaction wait as long as they always have
            self.conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")

    @contextlib.contextmanager
    def reader(self, cache_kib: int | None = None) -> Iterator[sqlite3.Connection]:
        """A read-only connection of its own to this database, for reads run
        beside the Store's connection (on another thread, say).  Each sees its
        own consistent snapshot.  Raises sqlite3.Error (or SQLCipher's) when
        it cannot be opened.  An encrypted database's reader is given the key
        already derived: opening one costs no key derivation.

        Args:
            cache_kib: its page cache, when not SQLite's default 2 MB.
        """
        conn = cipher.connect(
            f"{self.path.resolve().as_uri()}?mode=ro",
            self.key,
            uri=True,
            timeout=30,
            check_same_thread=False,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if cache_kib is not None:
                conn.execute(f"PRAGMA cache_size = -{int(cache_kib)}")
            yield conn
        finally:
            conn.close()

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        """Run a read query and return rows addressable by column name."""
        with self._lock, sqlite_errors(self.path):
            cur = self.conn.execute(sql, params)
            names = [d[0] for d in cur.description or ()]
            return [Row(names, r) for r in cur.fetchall()]

    def query_values(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read query and return plain tuples (for engines reading 50,000 rows at once)."""
        with self._lock, sqlite_errors(self.path):
            return self.conn.execute(sql, params).fetchall()

    def iter_values(
        self, sql: str, params: Sequence[Any] = (), batch: int = 5000
    ) -> Iterator[tuple[Any, ...]]:
        """Run a read query and yield plain tuples, *batch* rows read at a
        time: an engine that keeps only part of each row (450,000 households
        read for de-duplication) never holds every row at once."""
        with self._lock, sqlite_errors(self.path):
            cur = self.conn.execute(sql, params)
        try:
            while True:
                with self._lock, sqlite_errors(self.path):
                    rows = cur.fetchmany(batch)
                if not rows:
                    return
                yield from rows
        finally:
            cur.close()

    def has_index(self, *names: str) -> bool:
        """Are these indexes there?  A query naming one (``INDEXED BY``) asks
        first: a database whose index was dropped is read without it."""
        marks = ",".join("?" * len(names))
        sql = f"SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ({marks})"
        return self.scalar(sql, names) == len(set(names))

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock, sqlite_errors(self.path):
            row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def audit_key(self) -> StationKey | None:
        """The station key held beside this database, which keys its audit chain (or None).

        A key file that cannot be read keys nothing (the commands that need
        the key say why); the chain's links stay checkable.
        """
        try:
            return load_key(self.path)
        except KeyFileError:
            return None
