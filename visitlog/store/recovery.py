"""The recovery key of an encrypted database, and opening one with what a person typed.

``<database>.recovery`` holds the database key wrapped (X25519 + HKDF +
AES-GCM) for a recovery key shown once, when the database is encrypted.
Only the public half is kept in the file, so a new passphrase (``rekey``)
re-wraps the new key without asking for the recovery key.  Losing the file
loses only this second way in: the passphrase opens the database without it.
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any

from visitlog.i18n import t
from visitlog.store import files
from visitlog.store.cipher import (
    DbKey,
    WrongKeyError,
    derive,
    opens,
    read_salt,
    remember,
)

RECOVERY_SUFFIX = ".recovery"
RECOVERY_FORMAT = "visitlog-recovery"


def unlock(path: Path | str, text: str) -> DbKey:
    """Open the database at *path* with what a person typed: its passphrase or
    its recovery key.  The key is kept for the rest of the process.

    Raises:
        WrongKeyError: neither opens it (nothing is changed).
    """
    salt = read_salt(path)
    if salt is None:
        raise WrongKeyError(t("enc.err.not_encrypted", path=path))
    if looks_like_recovery_key(text):
        key = open_with_recovery(path, text)
        remember(path, key)
        return key
    key = derive(text, salt)
    if not opens(path, key):
        raise WrongKeyError(t("enc.err.wrong", path=path))
    remember(path, key, text)
    return key


def recovery_path(db_path: Path | str) -> Path:
    """``<database file>.recovery``."""
    p = Path(db_path)
    return p.with_name(p.name + RECOVERY_SUFFIX)


def format_recovery_key(secret: bytes) -> str:
    text = base64.b32encode(secret).decode("ascii").rstrip("=")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def _parse_recovery(text: str) -> bytes | None:
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(cleaned) != 52:
        return None
    try:
        return base64.b32decode(cleaned + "====")
    except ValueError:
        return None


def looks_like_recovery_key(text: str) -> bool:
    """Is *text* written like a recovery key (13 groups of 4 letters and digits)?"""
    return text.count("-") >= 6 and _parse_recovery(text) is not None


def _wrapping_key(shared: bytes, salt: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(hashes.SHA256(), 32, salt, b"visitlog recovery v1").derive(shared)


def _wrap(public: bytes, key: DbKey) -> dict[str, str]:
    from cryptography.hazmat.primitives.asymmetric.x25519 import (
        X25519PrivateKey,
        X25519PublicKey,
    )
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    ephemeral = X25519PrivateKey.generate()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(public))
    nonce = secrets.token_bytes(12)
    data = AESGCM(_wrapping_key(shared, key.salt)).encrypt(nonce, key.key, key.salt)
    eph = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        "salt": key.salt.hex(),
        "ephemeral": eph.hex(),
        "nonce": nonce.hex(),
        "data": data.hex(),
    }


def _read_recovery(db_path: Path | str) -> dict[str, Any] | None:
    path = recovery_path(db_path)
    try:
        with open(path, "rb") as fh:
            doc = json.loads(fh.read(64 * 1024).decode("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != RECOVERY_FORMAT:
        return None
    return doc


def _write_recovery(db_path: Path | str, public: bytes, keys: list[DbKey]) -> None:
    doc = {
        "format": RECOVERY_FORMAT,
        "version": 1,
        "public": public.hex(),
        "wraps": [_wrap(public, k) for k in keys],
    }
    files.write_private(recovery_path(db_path), json.dumps(doc, indent=1), fsync=True)


def new_recovery(db_path: Path | str, key: DbKey) -> str:
    """Make a recovery key for the database at *db_path* (keyed *key*) and write
    its file; returns the recovery key to show once."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    secret = secrets.token_bytes(32)
    private = X25519PrivateKey.from_private_bytes(secret)
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    _write_recovery(db_path, public, [key])
    return format_recovery_key(secret)


def rewrap_recovery(db_path: Path | str, keys: list[DbKey]) -> bool:
    """Wrap *keys* for the recovery key of *db_path* (its public half is in the file).

    Returns:
        False when there is no readable recovery file to re-wrap for.
    """
    doc = _read_recovery(db_path)
    if doc is None:
        return False
    try:
        public = bytes.fromhex(str(doc["public"]))
    except (KeyError, ValueError):
        return False
    _write_recovery(db_path, public, keys)
    return True


def copy_recovery(db_path: Path | str, dest_db: Path | str) -> None:
    """Put the recovery file of *db_path* beside a copy of it (a backup)."""
    doc = _read_recovery(db_path)
    if doc is not None:
        files.write_private(recovery_path(dest_db), json.dumps(doc, indent=1))


def open_with_recovery(db_path: Path | str, text: str) -> DbKey:
    """The key of *db_path*, unwrapped with the recovery key *text*.

    Raises:
        WrongKeyError: no recovery file, or the recovery key does not fit.
    """
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.asymmetric.x25519 import (
        X25519PrivateKey,
        X25519PublicKey,
    )
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    secret = _parse_recovery(text)
    doc = _read_recovery(db_path)
    if doc is None:
        raise WrongKeyError(t("enc.err.no_recovery", path=recovery_path(db_path)))
    if secret is None:
        raise WrongKeyError(t("enc.err.recovery_wrong", path=db_path))
    private = X25519PrivateKey.from_private_bytes(secret)
    salt = read_salt(db_path)
    for wrap in doc.get("wraps", []):
        try:
            wsalt = bytes.fromhex(wrap["salt"])
            if salt is not None and wsalt != salt:
                continue
            shared = private.exchange(
                X25519PublicKey.from_public_bytes(bytes.fromhex(wrap["ephemeral"]))
            )
            raw = AESGCM(_wrapping_key(shared, wsalt)).decrypt(
                bytes.fromhex(wrap["nonce"]), bytes.fromhex(wrap["data"]), wsalt
            )
        except (KeyError, TypeError, ValueError, InvalidTag):
            continue
        key = DbKey(raw, wsalt)
        if opens(db_path, key):
            return key
    raise WrongKeyError(t("enc.err.recovery_wrong", path=db_path))
