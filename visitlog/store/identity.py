"""Replica identity: a device id names one line of changes, never two.

Every change is named by ``(device, seq)`` and sync ships, per device, only
the sequence numbers the other side lacks.  A database restored from its own
backup, or copied to a second laptop, would go on numbering changes from
where its file stopped, under the same device id; the hub, which already
holds other changes under those numbers, would skip them as "already seen",
and each side would silently miss the other's work forever.

So a database notices when it is not where, or not what, it was:

- Beside each database visitlog keeps a small record, ``.<name>.replica``
  (JSON, owner-only; like the drafts folder it belongs to this copy of the
  file on this computer and does not travel with a backup): the device id,
  the file's inode, and per device id the highest sequence number this
  database has *shipped* (sent by sync or written to a bundle).
- Before the first change a :class:`~visitlog.store.Store` writes, the
  database compares itself with that record (:func:`verdict`).  A missing
  record (the file was copied or moved here), another inode (a copy, or a
  backup put in its place), another device id, or fewer changes of its own
  than it once shipped (a backup copied over it) make it take a **new device
  id** for its new changes, in the same transaction, before anything else.
  Its old changes keep their id: they are the same changes everywhere.
- Sync adds what only a peer can know: a peer holding more changes of this
  database's device id than it does (restored from a backup older than its
  last sync, and the record could not tell).  It first takes those changes
  back, then takes a new device id (see :mod:`visitlog.sync.replica`).
- A receiver shown a change numbered like one it holds but different
  refuses the whole exchange (:class:`~visitlog.sync.merge.ReplayError`).

A false alarm costs one more device id in the version vectors, nothing else:
a database on a FAT/exFAT stick, whose inode Linux makes up at each mount,
takes a new id each time it is written after the stick was plugged in again.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from visitlog.model import VisitlogError
from visitlog.store import files

#: Why a database took a new device id (keys of ``identity.reason.*`` texts).
REASONS = ("restored", "copied", "moved", "replaced", "peer_ahead")


def record_path(db_path: Path | str) -> Path:
    """Where the identity record of the database at *db_path* lives."""
    path = Path(db_path)
    return path.with_name(f".{path.name}.replica")


def read_record(db_path: Path | str) -> dict[str, Any] | None:
    """The identity record beside the database, or None (absent or unreadable)."""
    try:
        data = json.loads(record_path(db_path).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("device"), str):
        return None
    shipped = data.get("shipped")
    data["shipped"] = (
        {str(d): int(s) for d, s in shipped.items() if isinstance(s, int)}
        if isinstance(shipped, dict)
        else {}
    )
    return data


def write_record(db_path: Path | str, record: dict[str, Any]) -> bool:
    """Write the record (whole, owner-only); False when the folder refuses it.

    A record that cannot be written only weakens the check to what sync
    learns from peers; it never stops the work.
    """
    with contextlib.suppress(OSError, VisitlogError):
        files.write_private(record_path(db_path), json.dumps(record, sort_keys=True))
        return True
    return False


def file_key(db_path: Path | str) -> int | None:
    """The database file's inode (``stat`` opens nothing), or None when unknown."""
    try:
        ino = os.stat(db_path).st_ino
    except OSError:
        return None
    return ino or None


def verdict(
    record: dict[str, Any] | None, device: str, own_max: int, inode: int | None
) -> str | None:
    """Why a database must take a new device id before writing, or None.

    Args:
        record: the record beside it (:func:`read_record`).
        device: its device id.
        own_max: the highest sequence number of its own changes it holds.
        inode: its file's inode (:func:`file_key`).
    """
    if record is None:
        return "moved"
    if record["device"] != device:
        return "replaced"
    known = record.get("file")
    if isinstance(known, int) and inode is not None and known != inode:
        return "copied"
    if record["shipped"].get(device, 0) > own_max:
        return "restored"
    return None


def new_record(device: str, inode: int | None, old: dict[str, Any] | None = None) -> dict[str, Any]:
    """A record for *device*, keeping what *old* says was shipped under other ids."""
    shipped = dict(old["shipped"]) if old else {}
    return {"device": device, "file": inode, "shipped": shipped}
