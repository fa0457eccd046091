"""Catch any open() of a database file, its -wal or -shm while this process has it open.

On POSIX, closing any descriptor of a file drops every lock the process holds
on it, so only SQLite may open those files (see ``visitlog.store.files``).  Python
raises the audit event ``open`` for ``open()``, ``io.open``, ``os.open``,
``Path.open``/``read_bytes``/``write_bytes`` and everything built on them
(shutil, zipfile, openpyxl…); SQLite opens its files in C, without it, and
announces each connection with ``sqlite3.connect`` and ``sqlite3.connect/handle``
(SQLCipher's connections, of encrypted databases, announce nothing: its
``connect`` is wrapped to note them the same way).

While :func:`watch_database_opens` is active, the hook installed here keeps
its own list of the SQLite connections opened (it does not trust visitlog's
bookkeeping) and records every ``open`` event naming the file of one still
open, or that file's ``-wal``/``-shm``/``-journal``.  Connections must be
opened inside the block to be watched (it holds them until the block ends:
sqlite3 connections cannot be weakly referenced).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import threading
import traceback
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field

SIDE_SUFFIXES = ("-wal", "-shm", "-journal")


@dataclass
class Seen:
    """The opens recorded while watching: (path, where in the code) pairs."""

    opens: list[tuple[str, str]] = field(default_factory=list)

    def report(self) -> str:
        return "\n\n".join(f"{path} opened at:\n{where}" for path, where in self.opens)


_active: list[Seen] = []
_local = threading.local()
_connections: list[tuple[sqlite3.Connection, tuple[int, int] | None, str]] = []
_lock = threading.Lock()


def _file_of(database: object) -> str | None:
    """The file a ``sqlite3.connect`` argument names (a path or a ``file:`` URI)."""
    name = os.fsdecode(database) if isinstance(database, str | bytes | os.PathLike) else None
    if not name or name == ":memory:":
        return None
    if name.startswith("file:"):
        name = urllib.parse.unquote(urllib.parse.urlsplit(name).path)
    return os.path.realpath(name)


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _is_open(conn: sqlite3.Connection) -> bool:
    try:
        conn.in_transaction  # noqa: B018 (raises once the connection is closed)
    except Exception as exc:  # sqlite3's or SQLCipher's ProgrammingError
        if type(exc).__name__ != "ProgrammingError":
            raise
        return "closed" not in str(exc)  # only "created in another thread"
    return True


def _open_databases() -> list[tuple[tuple[int, int] | None, str]]:
    with _lock:
        _connections[:] = [c for c in _connections if _is_open(c[0])]
        return [(ident, path) for _, ident, path in _connections]


def _violates(path: str) -> bool:
    candidates = [path] + [path[: -len(s)] for s in SIDE_SUFFIXES if path.endswith(s)]
    open_dbs = _open_databases()
    for candidate in candidates:
        ident = _identity(candidate)
        for db_ident, db_path in open_dbs:
            if candidate == db_path or (ident is not None and ident == db_ident):
                return True
    return False


def _hook(event: str, args: tuple) -> None:
    if getattr(_local, "busy", False):
        return
    if event == "sqlite3.connect":
        _local.pending = _file_of(args[0]) if args else None
        return
    if event == "sqlite3.connect/handle":
        path, _local.pending = getattr(_local, "pending", None), None
        if path is not None and args and _active:
            _local.busy = True
            try:
                with _lock:
                    _connections.append((args[0], _identity(path), path))
            finally:
                _local.busy = False
        return
    if event != "open" or not _active:
        return
    target = args[0] if args else None
    if target is None or isinstance(target, int):
        return  # a descriptor already open (os.fdopen): its open was seen
    _local.busy = True  # the checks below must not audit themselves
    try:
        path = os.path.realpath(os.fsdecode(target))
        if _violates(path):
            where = "".join(traceback.format_stack(limit=14)[:-2])
            for seen in _active:
                seen.opens.append((path, where))
    except (TypeError, ValueError, OSError):
        pass
    finally:
        _local.busy = False


sys.addaudithook(_hook)


def _watch_sqlcipher() -> None:
    """SQLCipher's connections (encrypted databases) raise no audit event: count them here."""
    try:
        from sqlcipher3 import dbapi2
    except ImportError:
        return
    real = dbapi2.connect

    def connect(database, *args, **kwargs):
        conn = real(database, *args, **kwargs)
        path = _file_of(database)
        if path is not None and _active:
            with _lock:
                _connections.append((conn, _identity(path), path))
        return conn

    dbapi2.connect = connect


_watch_sqlcipher()


@contextlib.contextmanager
def watch_database_opens() -> Iterator[Seen]:
    """Record the opens of open databases' files made inside the block (any thread)."""
    seen = Seen()
    _active.append(seen)
    try:
        yield seen
    finally:
        _active.remove(seen)
        if not _active:
            with _lock:
                _connections.clear()
