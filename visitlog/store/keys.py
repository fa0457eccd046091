"""The station key held beside a database (``<database file>.key``).

The key file belongs to the database it sits beside: the store reads it to
key its audit chain (:mod:`visitlog.store.audit_chain`), and
:mod:`visitlog.security` makes, shows, imports and signs with it.  It is
never stored *in* the database.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.store import files

KEY_PREFIX = "visitlog-key"
KEY_VERSION = "v1"
KEY_BYTES = 32
_LINE = re.compile(r"visitlog-key:v1:([A-Za-z0-9_-]{43}):([0-9a-f]{8})")
_FINGERPRINT_LABEL = b"visitlog station key fingerprint v1"
MAX_KEY_FILE = 64 * 1024


class KeyFileError(VisitlogError):
    """A key line or key file that cannot be used (mangled, missing, unreadable)."""


@dataclass(frozen=True)
class StationKey:
    """A station key: 32 secret bytes."""

    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_BYTES:
            raise ValueError("a station key is 32 bytes")

    def __repr__(self) -> str:  # never print the secret by accident
        return f"StationKey(fingerprint={self.fingerprint!r})"

    @classmethod
    def generate(cls) -> StationKey:
        """A new random key from the operating system's CSPRNG."""
        return cls(secrets.token_bytes(KEY_BYTES))

    @property
    def fingerprint(self) -> str:
        """16 hex characters naming the key (safe to show, log and store)."""
        return hmac.new(self.secret, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]

    def to_line(self) -> str:
        """The key as one line of text: ``visitlog-key:v1:<base64url>:<checksum>``."""
        body = base64.urlsafe_b64encode(self.secret).rstrip(b"=").decode("ascii")
        return f"{KEY_PREFIX}:{KEY_VERSION}:{body}:{_checksum(body)}"

    @classmethod
    def from_line(cls, text: str) -> StationKey:
        """Read a key line; whitespace and line breaks inside it are ignored
        (mail programs wrap long lines).

        Raises:
            KeyFileError: not a key line, a newer format, or a mangled one.
        """
        compact = "".join((text or "").split())
        if not compact:
            raise KeyFileError(t("key.err.empty"))
        if not compact.startswith(f"{KEY_PREFIX}:"):
            raise KeyFileError(t("key.err.not_key"))
        if not compact.startswith(f"{KEY_PREFIX}:{KEY_VERSION}:"):
            raise KeyFileError(t("key.err.version"))
        m = _LINE.fullmatch(compact)
        if not m:
            raise KeyFileError(t("key.err.mangled"))
        body, check = m.groups()
        if not hmac.compare_digest(_checksum(body), check):
            raise KeyFileError(t("key.err.checksum"))
        secret = base64.urlsafe_b64decode(body + "=")
        # 43 base64 characters carry 258 bits; the last 2 must be zero, or
        # two different lines would read as the same key.
        if base64.urlsafe_b64encode(secret).rstrip(b"=").decode("ascii") != body:
            raise KeyFileError(t("key.err.mangled"))
        return cls(secret)


def _checksum(body: str) -> str:
    return hashlib.sha256(f"{KEY_PREFIX}:{KEY_VERSION}:{body}".encode("ascii")).hexdigest()[:8]


# -- the key file -------------------------------------------------------------------------


def key_path(db_path: Path | str) -> Path:
    """Where the station key of the database at ``db_path`` is kept."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".key")


def load_key(db_path: Path | str) -> StationKey | None:
    """The station key held beside ``db_path``, or None when there is none.

    Raises:
        KeyFileError: the key file exists but is unreadable or damaged.
    """
    path = key_path(db_path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_KEY_FILE)
            if os.name == "posix":
                mode = os.fstat(fh.fileno()).st_mode
                if mode & 0o077:
                    # Someone loosened it (a copy, an unzip): owner-only again.
                    with contextlib.suppress(OSError):
                        os.fchmod(fh.fileno(), 0o600)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeyFileError(t("key.err.read", path=path, detail=exc.strerror or exc)) from exc
    try:
        return StationKey.from_line(raw.decode("utf-8", errors="replace"))
    except KeyFileError as exc:
        raise KeyFileError(t("key.err.file_damaged", path=path, detail=exc)) from None


def save_key(db_path: Path | str, key: StationKey) -> Path:
    """Write the key file beside ``db_path``: owner-only, atomically (temp file + rename).

    Raises:
        VisitlogError: the file cannot be written.
    """
    path = key_path(db_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise VisitlogError(t("err.write_file", path=path, detail=exc.strerror or exc)) from exc
    return files.write_private(path, (key.to_line() + "\n").encode("ascii"), fsync=True)
