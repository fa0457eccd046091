"""Encrypting a plain database, and changing an encrypted one's key, all or nothing.

Both re-write the whole file: SQLCipher's ``sqlcipher_export`` copies every
table, index and setting into a new file beside the database, keyed with the
new key; the new file is flushed to the disk and renamed over the old one.
A kill at any moment leaves the old file (plain, or under the old key) or
the new one, never neither; the half-written new file is removed at the
next start (:func:`visitlog.store.files.sweep_leftovers`).

Only one process may have the database open meanwhile: leaving WAL mode
needs that (so it is checked, not assumed), and the exclusive lock held from
then until the rename keeps every other visitlog waiting.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.store import cipher, files, identity
from visitlog.store.database import BUSY_TIMEOUT_MS, explain_sqlite_error
from visitlog.store.drafts import DraftBox


def _export(path: Path, old: cipher.DbKey | None, new: cipher.DbKey, tmp: Path) -> None:
    conn = cipher.connect(str(path), old, use_sqlcipher=True, isolation_level=None, timeout=1)
    done = False
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS // 10}")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        try:
            mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        except cipher.OPERATIONAL_ERRORS:
            mode = "wal"
        if str(mode).lower() != "delete":
            raise VisitlogError(t("enc.err.in_use", path=path))
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("COMMIT")
        quoted = str(tmp).replace("'", "''")
        conn.execute(f"ATTACH DATABASE '{quoted}' AS fresh KEY {new.literal()}")
        conn.execute("SELECT sqlcipher_export('fresh')")
        conn.execute("PRAGMA fresh.journal_mode = WAL")
        conn.execute("DETACH DATABASE fresh")
        cipher.fsync_file(tmp)
        # Renamed while the lock is held: no other program writes to the old
        # file between the copy and the rename.
        os.replace(tmp, path)
        done = True
    except cipher.DB_ERRORS as exc:
        raise explain_sqlite_error(exc, path) from exc  # type: ignore[arg-type]
    finally:
        if not done:  # the old file stays: back to WAL, as the store keeps it
            with contextlib.suppress(*cipher.DB_ERRORS):
                conn.execute("PRAGMA locking_mode = NORMAL")
                conn.execute("PRAGMA journal_mode = WAL")
        conn.close()  # frees the exclusive lock


def rewrite(path: Path | str, new: cipher.DbKey, old: cipher.DbKey | None) -> None:
    """Re-write the database at *path* under *new* (from plain when *old* is None).

    Raises:
        VisitlogError: the database is open here or in another program, or
            the disk refused the new file (the old one is then untouched).
    """
    path = Path(path)
    if files.is_open_database(path):
        raise VisitlogError(t("enc.err.in_use", path=path))
    before = identity.read_record(path)
    inode = identity.file_key(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # Noted first: a kill at any moment leaves a note the next start follows
    # to remove the half-written copy (files.sweep_leftovers).
    note = files.note_pending(tmp)
    try:
        # The empty owner-only file becomes the new database (SQLite takes an
        # empty file for a new one), so it is never readable by others.
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        _export(path, old, new, tmp)
    except OSError as exc:
        detail = exc.strerror or str(exc)
        raise VisitlogError(t("err.write_file", path=path, detail=detail)) from exc
    finally:
        files.remove_temporary(tmp)
        if note is not None:
            with contextlib.suppress(OSError):
                note.unlink()
    cipher.fsync_dir(path.parent)
    cipher.forget(path)
    cipher.remember(path, new)
    # Forms in progress follow the database's key.
    with contextlib.suppress(VisitlogError):
        DraftBox(path, old).reseal(new)
    # Renamed into place: the same database, not a copy (identity's inode check).
    if before is not None and before.get("file") == inode:
        before["file"] = identity.file_key(path)
        identity.write_record(path, before)
