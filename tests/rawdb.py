"""A connection of a test's own to a database file, plain or encrypted.

Tests that look inside a database behind the store's back (a raw row, a
tampered audit line, an old schema) open it with :func:`connect` instead of
``sqlite3.connect``: an encrypted file (the suite run with
``VISITLOG_TEST_ENCRYPTED=1``) is opened with SQLCipher and the test
passphrase, a plain one with Python's sqlite3, exactly as the store does.
"""

from __future__ import annotations

import os
import sys
import urllib.parse
from pathlib import Path
from typing import Any

from visitlog.store import cipher


def _file_of(target: Any) -> str:
    name = os.fspath(target)
    if isinstance(name, str) and name.startswith("file:"):
        return urllib.parse.unquote(urllib.parse.urlsplit(name).path)
    return os.fsdecode(name)


def connect(target: str | Path, **kwargs: Any) -> Any:
    """Like ``sqlite3.connect(target, **kwargs)``, keyed when the file is encrypted."""
    path = _file_of(target)
    key = cipher.key_for(path) if os.path.exists(path) else cipher.new_key()
    return cipher.connect(os.fspath(target), key, **kwargs)


def errors(conn: Any) -> Any:
    """The DB-API module of *conn* (``sqlite3`` or SQLCipher's): its ``Row``,
    ``IntegrityError`` and the rest."""
    return sys.modules[type(conn).__module__]


CHANGE_COLUMNS = "device, seq, tbl, row_id, hlc, op, data, base"


def change_log(conn: Any, where: str = "", params: Any = (), order: str = "device, seq") -> list:
    """The change log as sync reads it (``device, seq, tbl, row_id, hlc, op, data, base``):
    ``changes`` and the inserts the rows hold (view ``change_log``), each insert
    with its text."""
    from visitlog.store.inserts import change_at

    sql = f"SELECT device, seq FROM change_log {where} ORDER BY {order}"
    return [change_at(conn, device, seq) for device, seq in conn.execute(sql, params).fetchall()]


def as_older_visitlog(conn: Any) -> None:
    """Put every insert back into ``changes`` with its text, as a visitlog before
    migration m015 kept them, and let m015 run again on the next open."""
    from visitlog.model import SYNCED_FIELDS

    rows = change_log(conn, "WHERE op = 'insert' AND data = ''")
    conn.executemany(f"INSERT INTO changes({CHANGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute("DROP VIEW change_log")
    for tbl in SYNCED_FIELDS:
        conn.execute(f"DROP INDEX {tbl}_log")
        conn.execute(f"ALTER TABLE {tbl} DROP COLUMN log_seq")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm015_inserts_kept_by_row'")
    conn.execute("UPDATE settings SET value = '12' WHERE key = 'schema_version'")
