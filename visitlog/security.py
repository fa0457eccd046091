"""Station keys: signed bundles and hubs that know which station they belong to.

A *station* is one 居委 / 街道 office whose laptops exchange visits.  Its
*station key* is 256 random bits shared by those laptops and nobody else:

- ``visitlog key init`` makes one on the first laptop;
- ``visitlog key show`` prints it as one line of text,
  ``visitlog-key:v1:<43 characters of base64url>:<8 hex checksum>``, that a
  worker carries (on paper, a USB stick, a message) to the other laptops;
- ``visitlog key import FILE`` (or ``-`` for stdin) reads it there and
  refuses a line that was mangled on the way (the checksum catches a
  mistyped or missing character).

**Where it lives.** Beside the database it belongs to, as
``<database file>.key`` (``visitlog.db`` → ``visitlog.db.key``), created
owner-only (0600, its folder 0700 when visitlog makes it).  It is never
stored *in* the database, so a backup, a hub file or a copied database does
not carry the key; a replica "holds a key" when this file is beside it.

**What it does.**

- Bundles are encrypted with the key (AES-256-GCM, see
  :mod:`visitlog.sync.bundle_cipher`) and carry an HMAC-SHA256 signature of
  their checksum (:func:`bundle_signature`); a replica that holds a key
  refuses a bundle that is unsigned, signed with another key or altered
  (:func:`check_bundle`).  A replica without a key writes no bundle and
  opens none; it still accepts the plain, checksummed bundles of earlier
  versions, signed or not.
- A hub synced from a laptop that holds a key records the key's
  *fingerprint* (never the key) in its settings (``station_key_fp``); from
  then on a laptop with another key, or with none, is refused
  (:func:`bind_replicas`).

The fingerprint is an HMAC of a fixed label, so it names a key without
revealing anything about it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
from pathlib import Path
from typing import Any, Protocol

from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.store import (
    MAX_KEY_FILE,
    KeyFileError,
    StationKey,
    Store,
    files,
    key_path,
    load_key,
    save_key,
)

#: Settings key under which a replica records the fingerprint of its station's key.
STATION_SETTING = "station_key_fp"

_BUNDLE_LABEL = b"visitlog-bundle 1 sha256:"


class SignatureError(VisitlogError):
    """A bundle refused because of its signature; nothing was applied."""


class StationMismatch(VisitlogError):
    """A replica of another station (or one that needs a key this one lacks)."""


def read_key_source(source: str) -> StationKey:
    """Read a key line from a file, or from stdin when ``source`` is ``-``.

    Raises:
        KeyFileError: the file is missing, unreadable or holds no valid key line.
    """
    if source == "-":
        return StationKey.from_line(sys.stdin.read(MAX_KEY_FILE))
    path = files.check_user_file(source)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_KEY_FILE)
    except FileNotFoundError:
        raise KeyFileError(t("key.err.missing_file", path=path)) from None
    except IsADirectoryError:
        raise KeyFileError(t("key.err.is_dir", path=path)) from None
    except OSError as exc:
        raise KeyFileError(t("key.err.read", path=path, detail=exc.strerror or exc)) from exc
    text = raw.decode("utf-8-sig", errors="replace")
    return StationKey.from_line(text)


# -- signing --------------------------------------------------------------------------------


def sign(content: bytes, key: StationKey) -> str:
    """HMAC-SHA256 of ``content`` with the station key, as 64 hex characters."""
    return hmac.new(key.secret, content, hashlib.sha256).hexdigest()


def verify(content: bytes, signature: str | None, key: StationKey) -> bool:
    """Whether ``signature`` is :func:`sign` of ``content`` with ``key`` (constant time)."""
    if not isinstance(signature, str):
        return False
    return hmac.compare_digest(sign(content, key), signature)


def bundle_signature(key: StationKey, checksum: str) -> dict[str, str]:
    """The trailer fields that sign a bundle whose body has SHA-256 ``checksum``.

    The signature covers the checksum, which covers every byte of the
    bundle before the trailer, so one changed byte anywhere breaks it.
    """
    return {
        "signature": sign(_BUNDLE_LABEL + checksum.encode("ascii"), key),
        "key": key.fingerprint,
    }


def check_bundle(key: StationKey | None, bundle: Path | str, checksum: str) -> None:
    """Refuse a bundle a replica holding ``key`` must not apply, before anything is applied.

    A replica holding a station key accepts only bundles whose trailer is
    exactly the one its key makes for the bundle's checksum (so one changed
    byte anywhere, the trailer included, is refused); a replica without a
    key accepts any bundle whose checksum matched (checked by the caller).

    Raises:
        SignatureError: unsigned, signed with another key, or the signature
            does not match the content.
    """
    if key is None:
        return
    bundle = Path(bundle)
    raw = _trailer_line(bundle)
    expected = {"sha256": checksum, **bundle_signature(key, checksum)}
    if raw == _canonical(expected):
        return
    try:
        trailer = json.loads(raw)
    except ValueError:
        trailer = None
    if not isinstance(trailer, dict):
        raise SignatureError(t("key.err.bad_signature", path=bundle))
    fp = trailer.get("key")
    if not trailer.get("signature"):
        raise SignatureError(t("key.err.unsigned", path=bundle, mine=key.fingerprint))
    if isinstance(fp, str) and fp != key.fingerprint:
        raise SignatureError(t("key.err.other_key", path=bundle, theirs=fp, mine=key.fingerprint))
    raise SignatureError(t("key.err.bad_signature", path=bundle))


def _canonical(trailer: dict[str, Any]) -> bytes:
    """A trailer as bundles write it: compact JSON on one line."""
    return (json.dumps(trailer, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _trailer_line(bundle: Path) -> bytes:
    """The last line of a bundle (its trailer), with its newline."""
    try:
        with open(files.check_user_file(bundle), "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            fh.seek(max(0, size - 4096))
            tail = fh.read()
    except OSError:
        raise SignatureError(t("key.err.bad_signature", path=bundle)) from None
    cut = tail.rfind(b"\n", 0, len(tail) - 1)
    return tail[cut + 1 :]


# -- key operations (with their audit entries) ----------------------------------------------


def init_key(store: Store, *, force: bool = False) -> tuple[StationKey, Path]:
    """Make a new station key beside ``store``'s database (``visitlog key init``).

    Raises:
        VisitlogError: a key is already held (without ``force``), or the
            key file cannot be written.
    """
    old = _held(store, force)
    key = StationKey.generate()
    return key, _install(store, key, "key.init", old)


def import_key(store: Store, key: StationKey, *, force: bool = False) -> tuple[Path, bool]:
    """Hold ``key`` from now on (``visitlog key import``).

    Returns:
        ``(key file, changed)``; ``changed`` is False when this key was
        already held.

    Raises:
        VisitlogError: another key is held (without ``force``), or the key
            file cannot be written.
    """
    held = load_key(store.path)
    if held == key:
        return key_path(store.path), False
    old = _held(store, force)
    return _install(store, key, "key.import", old), True


def show_key(store: Store) -> StationKey:
    """The held key, for ``visitlog key show``; showing it is audited.

    Raises:
        VisitlogError: no key is held.
    """
    key = load_key(store.path)
    if key is None:
        raise KeyFileError(t("key.err.none"))
    with store.transaction() as tx:
        tx.audit("key.show", detail={"fingerprint": key.fingerprint})
    return key


def _held(store: Store, force: bool) -> StationKey | None:
    held = load_key(store.path)
    if held is not None and not force:
        raise KeyFileError(t("key.err.exists", fingerprint=held.fingerprint))
    return held


def _install(store: Store, key: StationKey, action: str, old: StationKey | None) -> Path:
    detail = {"fingerprint": key.fingerprint}
    if old is not None:
        detail["replaced"] = old.fingerprint
    # The file is written last inside the transaction: if it cannot be
    # written, the audit entry is rolled back with it.
    with store.transaction() as tx:
        tx.set_setting(STATION_SETTING, key.fingerprint)
        # Keyed with the key being installed: the audit chain is keyed from here.
        tx.audit(action, detail=detail, key=key)
        path = save_key(store.path, key)
    return path


def record_reveal(
    store: Store, command: str, *, households: int, to: str = "terminal", **detail: Any
) -> None:
    """Audit that ``command`` showed or wrote full names and phones (``<command>.reveal``).

    ``--reveal`` is the only way personal data is shown or written unmasked
    (bundles are encrypted, printed and exported lists masked), so each use
    says who (the worker), which command, where to (a file's full path,
    ``stdout`` or ``terminal``) and how many households it named.  Call it
    before showing or writing anything, so a reveal is never unaccounted for.
    """
    given = {k: v for k, v in detail.items() if v is not None}
    with store.transaction() as tx:
        tx.audit(
            f"{command}.reveal",
            detail={
                "worker": store.worker,
                "command": command,
                "to": to,
                "households": households,
                **given,
            },
        )


def record_export(store: Store, what: str, *, rows: int, to: str, **detail: Any) -> None:
    """Audit that personal data is about to leave the database (``<what>.export``).

    Every command that writes records out (``--json`` listings, ``roster
    export``, ``backup``) calls this *before* writing, so an export is never
    unaccounted for: what, how many rows, and where to (a file's full path,
    or ``stdout``).  A database opened read-only records nothing (it cannot).
    """
    if store.read_only:
        # A database on read-only media (a write-protected stick) can record
        # nothing; whoever holds it can read it with any SQLite tool anyway.
        return
    given = {k: v for k, v in detail.items() if v is not None}
    with store.transaction() as tx:
        tx.audit(f"{what}.export", detail={"worker": store.worker, "rows": rows, "to": to, **given})


def audit_break(store: Store) -> dict[str, Any] | None:
    """The first broken link of the audit trail, or None when it is whole.

    Returns:
        ``{"id", "at", "action", "removed", "reason", "prev"}``: the entry that
        was edited (``removed`` False), or the id of one that is missing with
        the entry before it as ``prev`` (``{"id","at","action"}`` or None);
        ``reason`` is that of :meth:`~visitlog.store.Store.audit_problem`
        (``edited``, ``removed``, ``downgraded`` or ``unsealed``).
    """
    problem = store.audit_problem()
    if problem is None:
        return None
    broken, reason = problem
    entries = {e["id"]: e for e in store.audit_entries()}
    entry = entries.get(broken)
    if entry is not None:
        return {
            "id": broken,
            "at": entry["at"],
            "action": entry["action"],
            "removed": False,
            "reason": reason,
            "prev": None,
        }
    before = [i for i in entries if i < broken]
    prev = entries[max(before)] if before else None
    return {
        "id": broken,
        "at": None,
        "action": None,
        "removed": True,
        "reason": reason,
        "prev": {"id": prev["id"], "at": prev["at"], "action": prev["action"]} if prev else None,
    }


# -- hubs and other replicas ------------------------------------------------------------------


class _SettingsLike(Protocol):
    def setting(self, key: str) -> str | None: ...

    def set_setting(self, key: str, value: str | None) -> None: ...


def bind_replicas(
    local_key: StationKey | None,
    local: _SettingsLike,
    target_key: StationKey | None,
    target: _SettingsLike,
    target_name: str,
) -> None:
    """Check that two replicas about to sync belong to one station, and record it.

    Called inside both sync transactions (``local`` and ``target`` read and
    write settings in them), so a refusal rolls both back.  The target's
    station is the key it holds, else the one it recorded (a hub); this
    laptop's is the key it holds.

    Raises:
        StationMismatch: the target belongs to another station, or to a
            station while this laptop holds no key.
    """
    mine = local_key.fingerprint if local_key else None
    recorded = target.setting(STATION_SETTING)
    theirs = target_key.fingerprint if target_key else recorded
    if theirs and not mine:
        raise StationMismatch(t("key.err.hub_needs_key", path=target_name, theirs=theirs))
    if theirs and mine and theirs != mine:
        raise StationMismatch(
            t("key.err.hub_other_station", path=target_name, theirs=theirs, mine=mine)
        )
    if mine and recorded != mine:
        target.set_setting(STATION_SETTING, mine)
    if mine and local.setting(STATION_SETTING) != mine:
        local.set_setting(STATION_SETTING, mine)


__all__ = [
    "STATION_SETTING",
    "SignatureError",
    "StationMismatch",
    "audit_break",
    "bind_replicas",
    "bundle_signature",
    "check_bundle",
    "import_key",
    "init_key",
    "read_key_source",
    "record_export",
    "record_reveal",
    "show_key",
    "sign",
    "verify",
]
