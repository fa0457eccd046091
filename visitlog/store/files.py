"""Files visitlog writes for people, and the database files it never touches itself.

Rosters, reports, bundles, backups and key files hold personal data, so each
is written to a fresh temporary file beside its destination (created with
O_EXCL and mode 0600, so nobody can have planted it with looser rights) and
renamed over the destination only once it is complete: a full disk, an
unplugged stick or a kill never leaves half a file under the requested name.

A database open in this process, its ``-wal`` and its ``-shm`` are opened by
SQLite only.  On POSIX, closing *any* descriptor of a file releases every lock
the process holds on it (sqlite.org, "How To Corrupt An SQLite Database File",
2.2); another process then believes it is alone, checkpoints and deletes the
WAL under our open connections, and what they write afterwards is lost.  So
:class:`~visitlog.store.Store` registers each database it opens here, and
every file named by a user (roster, bundle, key file, report, backup, sync
target) goes through :func:`check_user_file` before anything opens it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from visitlog.i18n import t
from visitlog.model import VisitlogError

#: Files SQLite keeps beside a database (WAL, shared memory, rollback journal).
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
#: The first 16 bytes of every SQLite database.
SQLITE_MAGIC = b"SQLite format 3\x00"

# (st_dev, st_ino) of each database file open in this process → open connections.
_open_databases: dict[tuple[int, int], int] = {}
_registry_lock = threading.Lock()


def _identity(path: Path | str) -> tuple[int, int] | None:
    """The file's (device, inode), by ``stat`` (which opens nothing), or None."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def database_opened(path: Path | str) -> tuple[int, int] | None:
    """Record that a connection of this process has the database at *path* open.

    Returns:
        The key to pass to :func:`database_closed`.
    """
    key = _identity(path)
    if key is not None:
        with _registry_lock:
            _open_databases[key] = _open_databases.get(key, 0) + 1
    return key


def database_closed(key: tuple[int, int] | None) -> None:
    """Forget one connection recorded by :func:`database_opened`."""
    if key is None:
        return
    with _registry_lock:
        left = _open_databases.get(key, 0) - 1
        if left > 0:
            _open_databases[key] = left
        else:
            _open_databases.pop(key, None)


def is_open_database(path: Path | str) -> bool:
    """Is *path* (under any name or link) a database open in this process?"""
    key = _identity(path)
    with _registry_lock:
        return key is not None and key in _open_databases


def side_file_of(path: Path | str) -> Path | None:
    """The database that *path* is the ``-wal``, ``-shm`` or ``-journal`` of, if it exists."""
    path = Path(path)
    for suffix in SIDE_SUFFIXES:
        if path.name.endswith(suffix) and len(path.name) > len(suffix):
            base = path.with_name(path.name[: -len(suffix)])
            if base.is_file():
                return base
    return None


def check_user_file(path: Path | str) -> Path:
    """Refuse a file a user named (to read or to write) that is a database's own.

    Args:
        path: a roster, bundle, key file, report, backup or sync target, as given.

    Returns:
        The path, with ``~`` expanded.

    Raises:
        VisitlogError: *path* is a database open in this process, or the
            ``-wal``/``-shm``/``-journal`` of a database.
    """
    path = Path(path).expanduser()
    base = side_file_of(path)
    if base is not None:
        raise VisitlogError(t("err.side_file", path=path, db=base))
    if is_open_database(path):
        raise VisitlogError(t("err.open_database", path=path))
    return path


def check_destination(dest: Path | str, *, replace_database: bool = False) -> Path:
    """:func:`check_user_file` for a file about to be replaced, which must not be a database.

    Args:
        dest: the file to write.
        replace_database: the caller writes a database (a backup) and may
            replace one that no connection of this process has open.

    Reading the header of *dest* is safe here: no connection of this process
    has it open (checked first), so closing it releases no lock of ours.
    """
    dest = check_user_file(dest)
    if not replace_database and dest.is_file():
        try:
            with open(dest, "rb") as fh:
                head = fh.read(HEAD_BYTES)
                size = os.fstat(fh.fileno()).st_size
        except OSError:
            head, size = b"", 0
        if looks_like_database(head, size):
            raise VisitlogError(t("err.replace_database", path=dest))
    return dest


#: How much of a file :func:`looks_like_database` reads.
HEAD_BYTES = 256
#: Beginnings of files visitlog writes that are no database (XLSX is a zip; gzip).
_OTHER_FORMATS = (b"PK\x03\x04", b"\x1f\x8b")


def looks_like_database(head: bytes, size: int) -> bool:
    """Is a file beginning with *head* (its first :data:`HEAD_BYTES`) a database?

    A plain one starts with SQLite's header.  An SQLCipher one is whole
    4 KiB pages of what looks like random bytes: no known format's
    signature, and control characters no text file has.
    """
    if head.startswith(SQLITE_MAGIC):
        return True
    if size == 0 or size % 4096 or len(head) < HEAD_BYTES or head.startswith(_OTHER_FORMATS):
        return False
    return any(b < 9 or 13 < b < 32 for b in head)


@contextlib.contextmanager
def replacing(dest: Path | str, *, replace_database: bool = False) -> Iterator[Path]:
    """Yield an empty owner-only temporary file beside *dest*; on success it replaces *dest*.

    The caller writes the temporary file by path (SQLite's backup, a stream).
    Any failure removes it; an ``OSError`` becomes one plain
    :class:`VisitlogError` naming *dest*.  *dest* is checked first with
    :func:`check_destination`: a database, its WAL or its shared memory is
    never replaced by accident (*replace_database*: a backup may replace an
    older backup).
    """
    dest = check_destination(dest, replace_database=replace_database)
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.tmp")
    # Noted before the file exists: a kill at any moment leaves a note the
    # next start follows to remove what is left (sweep_leftovers).
    note = note_pending(tmp)
    try:
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        yield tmp
        os.replace(tmp, dest)
    except OSError as exc:
        detail = exc.strerror or str(exc)
        raise VisitlogError(t("err.write_file", path=dest, detail=detail)) from exc
    finally:
        # OSError, not just FileNotFoundError: on a read-only medium the
        # unlink fails too, and must not hide the message above.
        remove_temporary(tmp)
        if note is not None:
            with contextlib.suppress(OSError):
                note.unlink()


# -- temporary files left by a kill ------------------------------------------------------

#: A pending note older than this is followed even where liveness cannot be asked (Windows).
_STALE_NOTE_S = 12 * 3600


def pending_dir() -> Path:
    """Where notes of temporary files being written are kept (owner-only)."""
    import platformdirs

    return Path(platformdirs.user_state_dir("visitlog", appauthor=False)) / "pending"


def note_pending(tmp: Path) -> Path | None:
    """Note that *tmp* (which holds personal data) is about to be written by this process."""
    folder = pending_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        note = folder / f"{os.getpid()}-{secrets.token_hex(6)}"
        fd = os.open(note, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            os.write(fd, os.fsencode(str(tmp.absolute())))
        finally:
            os.close(fd)
    except OSError:
        return None  # no state folder: the write goes on, only unnoted
    return note


def remove_temporary(tmp: Path) -> None:
    for path in (tmp, *(Path(f"{tmp}{s}") for s in SIDE_SUFFIXES)):
        with contextlib.suppress(OSError):
            path.unlink()


def _process_alive(pid: int, note: Path) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        # Asking Windows whether a process lives takes more than os.kill (which
        # would end it); a note is followed once it is clearly stale.
        try:
            return time.time() - note.stat().st_mtime < _STALE_NOTE_S
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, run by someone else
    return True


def sweep_leftovers() -> list[Path]:
    """Remove the temporary files of exports, reports, bundles and backups that a
    killed visitlog left behind (``.NAME.XXXXXXXX.tmp`` beside their destination).

    Called when visitlog starts.  Files of a visitlog process still running
    are left alone.  Returns the files removed.
    """
    removed: list[Path] = []
    try:
        notes = list(pending_dir().iterdir())
    except OSError:
        return removed
    for note in notes:
        pid_text = note.name.split("-", 1)[0]
        if not pid_text.isdigit() or _process_alive(int(pid_text), note):
            continue
        try:
            tmp = Path(os.fsdecode(note.read_bytes()))
        except OSError:
            continue
        # Only what replacing() names: a hidden .tmp file, never anything else.
        if tmp.name.startswith(".") and tmp.name.endswith(".tmp"):
            if tmp.exists():
                removed.append(tmp)
            remove_temporary(tmp)
        with contextlib.suppress(OSError):
            note.unlink()
    return removed


def write_private(dest: Path | str, data: bytes | str, *, fsync: bool = False) -> Path:
    """Write *data* (str as UTF-8) to *dest* through :func:`replacing`.

    Args:
        fsync: flush to the disk before the rename (for a key that must
            survive a power cut the moment the command says it is saved).
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with replacing(dest) as tmp, open(tmp, "wb") as fh:
        fh.write(payload)
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())
    return Path(dest)
