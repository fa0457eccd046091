"""A new hub file made whole from a snapshot of the laptop that asks for it.

The first sync of an office makes its hub (``visitlog sync PATH --new-hub``):
the laptop sends everything it holds to an empty file.  Sent change by
change, a district's 4.3 million changes take minutes; but everything they
would build is already on the laptop, as the merge rules left it.  So when
the hub is to be made, it is made from the laptop's file:

- A new database is made under a temporary name beside where the hub will
  be (:class:`~visitlog.store.Store`: its own schema, its own key, later its
  own device id), and the laptop's file is attached to it, read in one read
  transaction: a consistent snapshot, taken without stopping the laptop's
  own saves (they go into the hub at the exchange that follows).
- What sync would send is copied table by table (``INSERT … SELECT`` inside
  SQLite, no row through Python): the synced tables (households, visits,
  items, merges, decisions, aliases, planning rules) with their stamps and
  the inserts they hold, the change log ``changes``, the changes held as
  far ahead (``sync_held``) and the rows waiting for a parent
  (``sync_orphans``).  The indexes and triggers of those tables are set
  aside meanwhile and made again over the sorted rows
  (:func:`visitlog.store.bulk_load`).  Nothing of the laptop's own is
  copied: its settings and device id, peers, audit trail, drafts, search
  keys.  Conflict records are not copied either: every row whose log holds
  more than its insert is merged again by the hub's own rules (the
  :class:`~visitlog.sync.sqlite.apply.Applier`'s ``finish``), which records
  the conflicts exactly as a sync of those changes would.
- The file is written out, then put in place whole (a hard link: a hub
  another laptop made meanwhile is never replaced; that laptop's hub is then
  synced with the normal way).  Until then there is no hub at the path: a
  kill leaves at most a temporary file, which the next attempt removes once
  it is an hour old.

Then the ordinary exchange runs: it finds both sides holding the same
changes, sends the laptop's saves made meanwhile, and does the bookkeeping
(peers, station keys, audit chain heads) as after any sync.

It is taken only where it gives exactly what the exchange would: a new file
hub, a local database of the same kind (both encrypted, so one SQLCipher
library reads both; or both plain), and a laptop that holds no skips (a
station of a PostgreSQL hub holds changes it may not pass on).  Anywhere
else the hub is made empty and filled by the exchange, as before.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import time
from pathlib import Path

from visitlog.model import SYNCED_FIELDS
from visitlog.progress import Progress, report
from visitlog.store import Store, bulk_load, cipher, identity
from visitlog.sync.merge import missing
from visitlog.sync.report import SyncReport, decode_conflict
from visitlog.sync.sqlite.apply import Applier
from visitlog.sync.sqlite.log import count_by_table, version_vector

#: What a new hub takes from the laptop, parents first.
SEEDED_TABLES = (*SYNCED_FIELDS, "changes", "sync_held", "sync_orphans")
#: The hub's page cache while it is filled (KiB): records are copied in the
#: order of their keys and the indexes are built by sorting, which SQLite
#: does in temporary files beyond this; a district's hub is made in under
#: 300 MB.
CACHE_KIB = 32 * 1024
#: A temporary file of a seed stopped by a kill is removed after this long.
STALE_AFTER_S = 3600
_SUFFIX = ".seed"


def _temp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}{_SUFFIX}")


def _remove(path: Path) -> None:
    for name in (path, identity.record_path(path)):
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                Path(f"{name}{suffix}").unlink(missing_ok=True)


def _remove_stale(target: Path) -> None:
    """Temporary files of seeds stopped by a kill, an hour old or more."""
    now = time.time()
    for old in target.parent.glob(f".{glob.escape(target.name)}.*{_SUFFIX}"):
        with contextlib.suppress(OSError):
            if now - old.stat().st_mtime > STALE_AFTER_S:
                _remove(old)


def seedable(local: Store) -> bool:
    """Whether a new hub can be made from *local*'s file (see the module doc)."""
    return local.conn.execute("SELECT 1 FROM changes WHERE op = 'skip' LIMIT 1").fetchone() is None


def seed_hub(local: Store, target: Path, progress: Progress | None = None) -> SyncReport | None:
    """Make the hub at *target* (absent) from a snapshot of *local*'s file.

    Reports ``progress("send", rows copied, rows to copy)`` after each table,
    then the merge of rows with more than their insert.

    Returns:
        What the hub took (``sent`` per table, conflicts it recorded), or
        None when it was not made this way: the caller makes it empty and
        syncs as usual (nothing was changed anywhere).
    """
    if not seedable(local):
        return None
    _remove_stale(target)
    tmp = _temp_name(target)
    try:
        made = _fill(local, tmp, progress)
        if made is None:
            return None
        if not _put_in_place(tmp, target, made[1]):
            return None
        return made[0]
    finally:
        _remove(tmp)


def _fill(
    local: Store, tmp: Path, progress: Progress | None
) -> tuple[SyncReport, cipher.DbKey | None] | None:
    hub = Store(tmp)
    try:
        if (hub.key is None) != (local.key is None):
            return None  # one file plain, the other encrypted: two SQLite libraries
        conn = hub.conn
        # A file no one else sees yet, removed on any failure: no journal,
        # no waiting for the disk until it is whole (written out below).
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("PRAGMA temp_store = DEFAULT")
        key = "" if local.key is None else f" KEY {local.key.literal()}"
        conn.execute(f"ATTACH DATABASE ? AS laptop{key}", [str(local.path)])
        try:
            part = _copy(hub, progress)
        finally:
            conn.execute("DETACH DATABASE laptop")
        conn.execute("PRAGMA journal_mode = WAL")
        return part, hub.key
    finally:
        hub.close()


def _copy(hub: Store, progress: Progress | None) -> SyncReport:
    conn = hub.conn
    part = SyncReport(target=str(hub.path), seeded=True)
    with hub.transaction() as tx:
        sizes = {
            tbl: conn.execute(f"SELECT count(*) FROM laptop.{tbl}").fetchone()[0]
            for tbl in SEEDED_TABLES
        }
        total, done = sum(sizes.values()), 0
        report(progress, "send", 0, total)
        with bulk_load(conn, tables=SEEDED_TABLES, every_trigger=True, cache_kib=CACHE_KIB):
            for tbl in SEEDED_TABLES:
                conn.execute(f"INSERT INTO main.{tbl} {_select(conn, tbl)}")
                done += sizes[tbl]
                report(progress, "send", done, total)
        # Rows whose log holds more than their insert are merged by the
        # hub's own rules, as a sync of their changes would merge them.
        applier = Applier(tx)
        conn.execute(
            "INSERT OR IGNORE INTO temp.sync_touched(tbl, row_id) "
            "SELECT DISTINCT tbl, row_id FROM changes WHERE op <> 'skip'"
        )
        clock = conn.execute("SELECT value FROM laptop.settings WHERE key = 'hlc'").fetchone()
        if clock and clock[0]:
            applier.max_hlc = clock[0]  # the laptop's clock has seen all it holds
        applier.finish(progress)
        part.sent = dict(count_by_table(conn, missing(version_vector(conn), {})))
        part.conflicts = [decode_conflict(c) for _, c in sorted(applier.new_conflicts.items())]
    return part


def _select(conn, tbl: str) -> str:
    """``SELECT * FROM laptop.tbl``, or its columns by name where the two
    files list them in another order (made by other migration paths)."""
    mine = [r[1] for r in conn.execute(f"PRAGMA main.table_info({tbl})")]
    theirs = [r[1] for r in conn.execute(f"PRAGMA laptop.table_info({tbl})")]
    if mine == theirs:
        return f"SELECT * FROM laptop.{tbl}"  # SQLite copies the records as they are
    cols = ", ".join(f'"{c}"' for c in mine if c in theirs)
    return f"({cols}) SELECT {cols} FROM laptop.{tbl}"


def _put_in_place(tmp: Path, target: Path, key: cipher.DbKey | None) -> bool:
    """Move the made hub to *target* whole; False when a hub appeared there meanwhile."""
    cipher.fsync_file(tmp)
    try:
        os.link(tmp, target)
    except FileExistsError:
        return False
    except OSError:
        # no hard links here (FAT/exFAT USB sticks): rename, unless one appeared
        if target.exists():
            return False
        os.replace(tmp, target)
    record = identity.record_path(tmp)
    if record.exists():
        os.replace(record, identity.record_path(target))
    cipher.fsync_dir(target.parent)
    if key is not None:
        cipher.remember(target, key)
    return True


__all__ = ["SEEDED_TABLES", "seed_hub", "seedable"]
