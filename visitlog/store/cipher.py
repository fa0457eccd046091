"""The encrypted database: SQLCipher 4 connections and their keys.

A visitlog database is an SQLCipher 4 file (AES-256, every page with its
HMAC) or, for databases made before encryption, a plain SQLite file; plain
files keep working until ``visitlog encrypt`` converts them.

**The key.**  SQLCipher derives a database's key from a passphrase with
PBKDF2-HMAC-SHA512, 256,000 iterations, salted with the first 16 bytes of the
file.  That derivation costs about a fifth of a second, and SQLCipher would
pay it again on every connection (the store's, each ``reader()``, a sync's),
so it is done here once per process with the very same parameters and every
connection is given the result as a raw key (``PRAGMA key = "x'…'"``), which
opens in about a millisecond.  The passphrase alone still opens the file
with any SQLCipher 4 tool.

**Where the passphrase comes from** (:func:`key_for`): a key already derived
in this process; ``VISITLOG_PASSPHRASE``; the system keyring when the
``keyring`` package and a working backend are there (anything else is skipped
silently); otherwise :class:`LockedError`, which the terminal app answers
with its unlock screen and the command line with a hidden prompt
(:func:`visitlog.store.recovery.unlock`).

**The recovery key** opens it too: see :mod:`visitlog.store.recovery`.

SQLCipher's library is a second copy of SQLite in the process.  Two copies
must never hold one file open at once (closing a descriptor in one drops the
POSIX locks of the other), so a plain database is opened with Python's
``sqlite3`` only and an encrypted one with ``sqlcipher3`` only.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import platform
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.store import files

try:
    from sqlcipher3 import dbapi2 as sqlcipher
except ImportError:  # pragma: no cover - a dependency; plain files still open
    sqlcipher = None  # type: ignore[assignment]

#: ``sqlite3_config`` option: keep memory statistics (SQLite's own numbering).
_SQLITE_CONFIG_MEMSTATUS = 9


def _stop_memory_statistics() -> bool:
    """Turn off the memory statistics of SQLCipher's library; True when done.

    SQLCipher's library is built to count every allocation under one lock for
    the whole process.  Readers working side by side (the summary's queries
    on two cores) then queue on that lock at every row a sort keeps, and ran
    a third slower together than one alone; Python's own SQLite counts
    nothing.  The setting can only change while the library holds no
    connection, so it is made once, here, before the first one: the library
    is shut down, set, and started again.  Where its functions cannot be
    reached (a build that does not export them), nothing changes.
    """
    if sqlcipher is None or platform.machine().lower() not in ("x86_64", "amd64"):
        return False  # ctypes calls this variadic function safely only there
    try:
        from sqlcipher3 import _sqlite3

        lib = ctypes.CDLL(_sqlite3.__file__)
        if lib.sqlite3_shutdown() != 0:
            return False
        done = lib.sqlite3_config(_SQLITE_CONFIG_MEMSTATUS, ctypes.c_int(0)) == 0
        return lib.sqlite3_initialize() == 0 and done
    except (OSError, AttributeError, ImportError):
        return False


MEMORY_STATISTICS_OFF = _stop_memory_statistics()

#: SQLCipher 4's defaults, which the passphrase derivation must match exactly.
KDF_ITERATIONS = 256_000
SALT_BYTES = 16
KEY_BYTES = 32
PASSPHRASE_ENV = "VISITLOG_PASSPHRASE"
#: Set to 1: databases made from now on are plain, and ``init`` asks for no passphrase.
PLAIN_ENV = "VISITLOG_PLAIN"
KEYRING_SERVICE = "visitlog"
#: Shortest passphrase accepted for a new key.
MIN_PASSPHRASE = 8

#: Every error a database connection may raise, from either SQLite library.
DB_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error,) + (
    (sqlcipher.Error,) if sqlcipher is not None else ()
)
OPERATIONAL_ERRORS: tuple[type[Exception], ...] = (sqlite3.OperationalError,) + (
    (sqlcipher.OperationalError,) if sqlcipher is not None else ()
)


class LockedError(VisitlogError):
    """The database is encrypted and no passphrase for it is at hand."""

    def __init__(self, path: Path | str):
        super().__init__(t("enc.err.locked", path=path, env=PASSPHRASE_ENV))
        self.path = Path(path)


class WrongKeyError(VisitlogError):
    """A passphrase or recovery key that does not open the database."""


@dataclass(frozen=True)
class DbKey:
    """The raw SQLCipher key of one database and the salt it was derived with."""

    key: bytes
    salt: bytes

    def __repr__(self) -> str:  # never print the secret by accident
        return "DbKey(…)"

    def literal(self) -> str:
        """The key as SQLCipher's raw-key literal (key and salt, hex)."""
        return f"\"x'{self.key.hex()}{self.salt.hex()}'\""


_lock = threading.Lock()
#: Keys derived or unwrapped in this process, by the database's real path.
_known: dict[str, DbKey] = {}
#: The passphrase that last opened a database here: new databases (a hub this
#: laptop makes, say) are encrypted with it too.
_passphrase: str | None = None


def derive(passphrase: str, salt: bytes) -> DbKey:
    """SQLCipher 4's key for *passphrase* and *salt* (PBKDF2-HMAC-SHA512)."""
    key = hashlib.pbkdf2_hmac("sha512", passphrase.encode("utf-8"), salt, KDF_ITERATIONS, KEY_BYTES)
    return DbKey(key, salt)


def _real(path: Path | str) -> str:
    return os.path.realpath(os.fspath(path))


def read_salt(path: Path | str) -> bytes | None:
    """The salt of an encrypted database, or None for a plain (or empty) one.

    The header is read only while no connection of this process has the file
    open (closing our descriptor would drop their locks); an open one is known
    by its key already, or is plain.
    """
    known = _known.get(_real(path))
    if known is not None:
        return known.salt
    if files.is_open_database(path):
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        head = os.read(fd, len(files.SQLITE_MAGIC))
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    # Not SQLite's header, and not whole pages either (a text file, say): no
    # database at all, which the plain open then says in its own words.
    if len(head) < SALT_BYTES or head == files.SQLITE_MAGIC or size % 512:
        return None
    return head[:SALT_BYTES]


def is_encrypted(path: Path | str) -> bool:
    """Is the database at *path* an SQLCipher file?"""
    return read_salt(path) is not None


def connect(target: str, key: DbKey | None, *, use_sqlcipher: bool = False, **kwargs: Any) -> Any:
    """A connection to *target*: Python's sqlite3 when *key* is None, else
    SQLCipher keyed with *key* (nothing read yet: a wrong key fails on first read).

    Args:
        use_sqlcipher: SQLCipher's library even for a plain file (to export it).
    """
    if key is None and not use_sqlcipher:
        return sqlite3.connect(target, **kwargs)
    if sqlcipher is None:  # pragma: no cover
        raise VisitlogError(t("enc.err.no_sqlcipher"))
    conn = sqlcipher.connect(target, **kwargs)
    try:
        # SQLCipher writes its own errors (a wrong key) to stderr otherwise.
        conn.execute("PRAGMA cipher_log_level = NONE")
        if key is not None:
            conn.execute(f"PRAGMA key = {key.literal()}")
    except BaseException:
        conn.close()
        raise
    return conn


def opens(path: Path | str, key: DbKey) -> bool:
    """Does *key* open the database at *path*?"""
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    try:
        conn = connect(uri, key, uri=True)
    except DB_ERRORS:
        return False
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return True
    except DB_ERRORS:
        return False
    finally:
        conn.close()


def remember(path: Path | str, key: DbKey, passphrase: str | None = None) -> None:
    """Keep *key* for *path* for the rest of this process (and *passphrase* for new files)."""
    global _passphrase
    with _lock:
        _known[_real(path)] = key
        if passphrase is not None:
            _passphrase = passphrase


def forget(path: Path | str | None = None) -> None:
    """Forget the key of *path* (every key, and the passphrase, when None)."""
    global _passphrase
    with _lock:
        if path is None:
            _known.clear()
            _passphrase = None
        else:
            _known.pop(_real(path), None)


def keyring_passphrase(path: Path | str) -> str | None:
    """The passphrase the system keyring holds for *path*; None on any trouble."""
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, _real(path))
    except Exception:  # absent package, no backend, a locked or broken one
        return None


def save_to_keyring(path: Path | str, passphrase: str) -> bool:
    """Keep *passphrase* for *path* in the system keyring; False when there is none."""
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, _real(path), passphrase)
        return True
    except Exception:
        return False


#: Keys being derived ahead of need (:func:`prefetch`): real path → (passphrase, thread, result).
_pending: dict[str, tuple[str, threading.Thread, list[DbKey]]] = {}


def prefetch(path: Path | str) -> None:
    """Start deriving the key of *path* from ``VISITLOG_PASSPHRASE`` on a thread of its own.

    The derivation releases the GIL, so it runs on the second core while the
    command's modules load; :func:`key_for` then waits for what is left of it.
    Nothing happens for a plain or absent file, or without the variable.
    """
    passphrase = os.environ.get(PASSPHRASE_ENV)
    real = _real(path)
    if not passphrase or real in _known or real in _pending:
        return
    salt = read_salt(path)
    if salt is None:
        return
    result: list[DbKey] = []
    thread = threading.Thread(
        target=lambda: result.append(derive(passphrase, salt)), name="visitlog-kdf", daemon=True
    )
    thread.start()
    _pending[real] = (passphrase, thread, result)


def _prefetched(path: Path | str, passphrase: str, salt: bytes) -> DbKey | None:
    entry = _pending.pop(_real(path), None)
    if entry is None or entry[0] != passphrase:
        return None
    entry[1].join()
    return next((k for k in entry[2] if k.salt == salt), None)


def key_for(path: Path | str) -> DbKey | None:
    """The key that opens the database at *path*: None for a plain file.

    Raises:
        WrongKeyError: ``VISITLOG_PASSPHRASE`` is set and does not open it.
        LockedError: no passphrase for it is at hand (ask the person: :func:`unlock`).
    """
    known = _known.get(_real(path))
    if known is not None:
        return known
    salt = read_salt(path)
    if salt is None:
        return None
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        key = _prefetched(path, env, salt) or derive(env, salt)
        if not opens(path, key):
            raise WrongKeyError(t("enc.err.env_wrong", path=path, env=PASSPHRASE_ENV))
        remember(path, key, env)
        return key
    stored = keyring_passphrase(path)
    if stored:
        key = derive(stored, salt)
        if opens(path, key):
            remember(path, key, stored)
            return key
    raise LockedError(path)


#: The key made for new databases, per passphrase: one derivation per process.
_new_keys: dict[str, DbKey] = {}


def use_passphrase(passphrase: str | None) -> None:
    """Encrypt the databases this process makes from now on with *passphrase*
    (None: only ``VISITLOG_PASSPHRASE`` or a passphrase that opens one)."""
    global _passphrase
    with _lock:
        _passphrase = passphrase


@contextlib.contextmanager
def making_plain() -> Iterator[None]:
    """Databases made inside this block are plain files (``init --plain``)."""
    global _plain
    _plain = True
    try:
        yield
    finally:
        _plain = False


_plain = False


def plain_requested() -> bool:
    """Are new databases to be plain files (``init --plain``, or ``VISITLOG_PLAIN=1``)?"""
    return _plain or os.environ.get(PLAIN_ENV) == "1"


def new_key() -> DbKey | None:
    """The key of a database about to be made: from ``VISITLOG_PASSPHRASE`` or the
    passphrase that opened a database in this process; None (a plain file)
    when there is neither.

    The salt is random, drawn once per process and passphrase: databases one
    process makes with one passphrase (a laptop's and the hub its first sync
    creates) share a key, as a backup does with its database, and the
    derivation is paid once.
    """
    passphrase = os.environ.get(PASSPHRASE_ENV) or _passphrase
    if not passphrase or plain_requested():
        return None
    with _lock:
        key = _new_keys.get(passphrase)
    if key is None:
        key = derive(passphrase, secrets.token_bytes(SALT_BYTES))
        with _lock:
            _new_keys[passphrase] = key
    return key


def check_new_passphrase(passphrase: str) -> None:
    """Refuse a passphrase too short to protect anything."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise VisitlogError(t("enc.err.short", n=MIN_PASSPHRASE))


# -- files beside an encrypted database -------------------------------------------------

SEALED = "visitlog-sealed"


def _file_key(key: DbKey) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(hashes.SHA256(), 32, key.salt, b"visitlog side files v1").derive(key.key)


def seal(key: DbKey, text: str) -> str:
    """*text* encrypted (AES-GCM) under a key derived from the database's key."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = secrets.token_bytes(12)
    data = AESGCM(_file_key(key)).encrypt(nonce, text.encode("utf-8"), SEALED.encode())
    return json.dumps({"format": SEALED, "nonce": nonce.hex(), "data": data.hex()})


def unseal(key: DbKey | None, text: str) -> str | None:
    """The text :func:`seal` sealed; plain text as it is; None when it cannot be opened."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if not (isinstance(doc, dict) and doc.get("format") == SEALED):
        return text
    if key is None:
        return None
    try:
        nonce, data = bytes.fromhex(doc["nonce"]), bytes.fromhex(doc["data"])
        return AESGCM(_file_key(key)).decrypt(nonce, data, SEALED.encode()).decode("utf-8")
    except (KeyError, TypeError, ValueError, InvalidTag):
        return None


def known_key(path: Path | str) -> DbKey | None:
    """The key of *path* if this process has opened it (None: plain, or not opened)."""
    return _known.get(_real(path))


def fsync_file(path: Path | str) -> None:
    """Flush a file that no connection of this process has open to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path | str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
