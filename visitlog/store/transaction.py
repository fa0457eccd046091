"""The write side of one transaction (:class:`Tx`).

Each write of a synced row is stamped (HLC), appended to ``changes`` with
this device's next sequence number and the fields it touched, and each
operation to the ``audit`` chain.  This device's id is made on its first
write, and checked against its identity record (:mod:`visitlog.store.identity`)
once per Store.  Before the commit the derived merge clusters are recomputed
(:mod:`visitlog.store.clusters`) when a write may have changed them.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from visitlog.clock import HLC, horizon, new_id, now_iso
from visitlog.i18n import t
from visitlog.model import SYNCED_FIELDS, NotFoundError
from visitlog.rows import jdump
from visitlog.store import identity, inserts
from visitlog.store.audit_chain import (
    CHAIN_SETTING,
    GENESIS_HASH,
    KEYED_CHAIN,
    KEYED_PREFIX,
    audit_hash,
    audit_mac,
)
from visitlog.store.clusters import relink
from visitlog.store.keys import StationKey
from visitlog.store.rowmap import HOUSEHOLD_DERIVED, LIVE_COLUMNS, LIVE_SOURCE, Row


class TxOwner(Protocol):
    """What a :class:`Tx` uses of the Store that opened it (see ``StoreBase``)."""

    path: Path
    conn: sqlite3.Connection
    #: This replica's device id once known; a Tx sets it on the first write.
    _device: str | None
    #: True once the identity record was checked in a committed transaction.
    _identity_checked: bool
    identity_change: dict[str, Any] | None

    def audit_key(self) -> StationKey | None: ...


class Tx:
    """The write side of one transaction: inserts and updates that stamp,
    log and audit themselves.  Obtain one from :meth:`Store.transaction`."""

    def __init__(self, store: TxOwner):
        self.store = store
        self.conn = store.conn
        self._device: str | None = None
        self._seq: int | None = None
        self._hlc: HLC | None = None
        self._settings: dict[str, str | None] = {}
        #: Set by a write that may change which records are one (a merge
        #: record, a 编号, a tombstone): :meth:`finish` then recomputes them.
        self.relink = False
        self._identity_change: dict[str, Any] | None = None

    # identity, made on the first write
    @property
    def device(self) -> str:
        """This replica's device id; made, or checked (and renewed if the
        database was restored or copied), on first use in a Store's life."""
        if self._device is None:
            row = self.conn.execute("SELECT value FROM settings WHERE key='device_id'").fetchone()
            if row:
                self._device = row[0]
                if not self.store._identity_checked:
                    self._check_identity()
            else:
                self._device = secrets.token_hex(6)
                self.set_setting("device_id", self._device)
                self._keep_record(
                    identity.new_record(
                        self._device, identity.file_key(self.store.path), self._read_record()
                    )
                )
            self.store._device = self._device
        return self._device

    def _read_record(self) -> dict[str, Any] | None:
        return identity.read_record(self.store.path)

    def own_max_seq(self, device: str | None = None) -> int:
        return inserts.max_seq(self.conn, device or self.device)

    def _check_identity(self) -> None:
        """Compare the database with its identity record (visitlog.identity)."""
        path = self.store.path
        device = self._device
        assert device is not None
        if not os.access(path.parent, os.W_OK):
            return  # no record can be kept here: sync's check is what remains
        record = self._read_record()
        inode = identity.file_key(path)
        own = self.own_max_seq(device)
        unchecked = self.conn.execute(
            "SELECT 1 FROM settings WHERE key = 'identity_unchecked'"
        ).fetchone()
        if unchecked:
            # Made by a visitlog that kept no record: record it as it is.
            self.set_setting("identity_unchecked", None)
            reason = None
        else:
            reason = identity.verdict(record, device, own, inode)
        if reason is None:
            if record is None or (record.get("file"), record["device"]) != (inode, device):
                self._keep_record(identity.new_record(device, inode, record))
            return
        self.new_device(reason, record=record)

    def new_device(self, reason: str, *, record: dict[str, Any] | None = None) -> str:
        """Take a new device id for this replica's changes from now on.

        The changes made under the old id keep it (they are the same changes
        on every replica); only new ones are numbered under the new id.

        Args:
            reason: one of :data:`visitlog.identity.REASONS`.
            record: the identity record read beside the database, if any.
        """
        old = (
            self._device
            or self.conn.execute("SELECT value FROM settings WHERE key='device_id'").fetchone()[0]
        )
        new = secrets.token_hex(6)
        row = self.conn.execute("SELECT value FROM settings WHERE key='former_devices'").fetchone()
        former = json.loads(row[0]) if row else []
        self.set_setting("former_devices", jdump([*former, old]))
        self.set_setting("device_id", new)
        self.set_setting("synced_seq", None)  # acknowledgements of the old id's changes
        self._device = new
        self._seq = None
        self.store._device = new
        if record is None:
            record = self._read_record()
        self._keep_record(identity.new_record(new, identity.file_key(self.store.path), record))
        if self._identity_change is None:
            self._identity_change = {"old": old, "new": new, "reason": reason}
        else:  # twice in one transaction: the first id given up, the last one taken
            self._identity_change["new"] = new
        self.audit("identity.new", detail={"old": old, "reason": reason})
        return new

    @property
    def identity_change(self) -> dict[str, Any] | None:
        """``{"old", "new", "reason"}`` when this transaction took a new device id."""
        return self._identity_change

    def _keep_record(self, record: dict[str, Any]) -> None:
        """Write the identity record now, while this transaction holds the write lock.

        Before the commit, so that another process (which waits for the lock)
        never checks the database against a record not yet written.  A record
        ahead of a transaction that then rolls back costs at most one needless
        new device id later; one behind the database could cost work.
        """
        identity.write_record(self.store.path, record)

    def note_shipped(self) -> None:
        """Record that every change of this replica's own was shipped (see
        :meth:`_keep_record` on why at once, not after the commit)."""
        own = self.own_max_seq()
        record = identity.new_record(
            self.device, identity.file_key(self.store.path), self._read_record()
        )
        if own and record["shipped"].get(self.device, 0) < own:
            record["shipped"][self.device] = own
            self._keep_record(record)

    def committed(self) -> None:
        """After COMMIT: remember the identity was checked, publish a change of it."""
        if self._device is not None:
            self.store._identity_checked = True
        if self._identity_change is not None:
            self.store.identity_change = self._identity_change

    @property
    def hlc(self) -> HLC:
        if self._hlc is None:
            row = self.conn.execute("SELECT value FROM settings WHERE key='hlc'").fetchone()
            last = row[0] if row else None
            if last is not None and last > horizon():
                last = self.clock_floor()
                # the next merge here holds what this clock stamped far ahead
                self.set_setting("hold_scan", "1")
            self._hlc = HLC(last)
        return self._hlc

    def clock_floor(self) -> str | None:
        """The highest stamp in the log that is not far in the future.

        A clock that ran ahead while its laptop's date was wrong continues
        from here once the date is right: after every stamp it issued or saw
        with a right clock (the far ones are held, see visitlog.sync.merge).
        A scan of the log, only in that case.
        """
        bound = horizon()
        tops = [
            self.conn.execute(f"SELECT max(hlc) FROM {src} WHERE hlc <= ?", [bound]).fetchone()[0]
            for src in ("changes", *SYNCED_FIELDS)
        ]
        return max((x for x in tops if x is not None), default=None)

    def next_seq(self) -> int:
        if self._seq is None:
            self._seq = inserts.max_seq(self.conn, self.device)
        self._seq += 1
        return self._seq

    def set_setting(self, key: str, value: str | None) -> None:
        if value is None:
            self.conn.execute("DELETE FROM settings WHERE key = ?", [key])
        else:
            self.conn.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )

    def households(self) -> list[Row]:
        """Every household not deleted (merged-away ones too), oldest first."""
        return self.rows("SELECT * FROM households WHERE deleted = 0 ORDER BY rowid")

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cur = self.conn.execute(sql, params)
        names = [d[0] for d in cur.description or ()]
        return [Row(names, r) for r in cur.fetchall()]

    def put(self, tbl: str, row_id: str, row: dict[str, Any]) -> None:
        """Write the synced row ``row_id``: updated where it is, inserted where not
        (rows whose id is derived from what they are, as a plan rule's)."""
        if self.conn.execute(f"SELECT 1 FROM {tbl} WHERE id = ?", [row_id]).fetchone():
            self.update(tbl, row_id, row)
        else:
            self.insert(tbl, {"id": row_id, **row})

    def insert(self, tbl: str, row: dict[str, Any]) -> str:
        """Insert a new synced row (id made here unless given) and log it."""
        return self.insert_many(tbl, [row])[0]

    def insert_many(self, tbl: str, rows: Iterable[dict[str, Any]]) -> list[str]:
        """Insert many new rows with one executemany each for the table and the log.

        A row that gives back exactly what its insert writes holds the insert
        itself (its number in ``log_seq``, :mod:`visitlog.store.inserts`);
        any other insert goes to ``changes`` with its text.
        """
        fields = SYNCED_FIELDS[tbl]
        device = self.device
        now = now_iso()
        extra = LIVE_COLUMNS.get(tbl, HOUSEHOLD_DERIVED if tbl == "households" else ())
        cols = ("id", *fields, *extra, "created_at", "hlc", "device", inserts.LOG_SEQ)
        types = inserts.affinity(self.conn, tbl)
        table_rows, change_rows, ids = [], [], []
        for row in rows:
            rid = row.get("id") or new_id()
            stamp = self.hlc.tick()
            seq = self.next_seq()
            values = {f: row.get(f) for f in fields}
            values["deleted"] = int(values.get("deleted") or 0)
            more = (values[LIVE_SOURCE[e]] for e in extra) if tbl in LIVE_COLUMNS else None
            # created_at travels with the insert, so every replica stores this one
            held = inserts.stores_exactly(types, fields, values.values())
            table_rows.append(
                (
                    rid,
                    *values.values(),
                    *(more or (row.get(e) for e in extra)),
                    now,
                    stamp,
                    device,
                    seq if held else None,
                )
            )
            if not held:
                data = jdump({**values, "created_at": now})
                change_rows.append((device, seq, tbl, rid, stamp, "insert", data))
            ids.append(rid)
            if tbl == "dedup_merges" or (tbl == "households" and values.get("ref")):
                self.relink = True
        marks = ",".join("?" * len(cols))
        self.conn.executemany(f"INSERT INTO {tbl} ({','.join(cols)}) VALUES ({marks})", table_rows)
        if change_rows:
            self.conn.executemany(
                "INSERT INTO changes(device, seq, tbl, row_id, hlc, op, data) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                change_rows,
            )
        return ids

    def update(self, tbl: str, row_id: str, fields: dict[str, Any]) -> list[str]:
        """Set the fields that differ from the stored row; log one change.

        Returns:
            The names of the fields that actually changed (empty: nothing
            was written and nothing is logged, so sync ships nothing).
        """
        allowed = SYNCED_FIELDS[tbl]
        cur = self.rows(f"SELECT * FROM {tbl} WHERE id = ?", [row_id])
        if not cur:
            raise NotFoundError(t("err.not_found", kind=t(f"noun.{tbl}"), id=row_id))
        current = cur[0]
        extra = {k: v for k, v in fields.items() if k in HOUSEHOLD_DERIVED}
        changed = {k: v for k, v in fields.items() if k in allowed and current[k] != v}
        if not changed:
            stale = {k: v for k, v in extra.items() if current[k] != v}
            if stale:
                self.conn.execute(
                    f"UPDATE {tbl} SET {', '.join(f'{k} = ?' for k in stale)} WHERE id = ?",
                    [*stale.values(), row_id],
                )
            return []
        # The row may hold its insert: moved into the log before the row changes.
        inserts.keep(self.conn, tbl, [current])
        stamp = self.hlc.tick()
        device = self.device
        stamps = json.loads(current["stamps"]) if current["stamps"] else {}
        default = stamps.get("*", [current["hlc"], current["device"]])
        base = {k: stamps.get(k, default) for k in changed}
        if "deleted" not in changed:
            # The delete state this edit was made on: a merge can tell an edit
            # made after a delete its author had not seen (visitlog.sync.merge).
            base["~deleted"] = stamps.get("deleted", default)
        stamps.setdefault("*", default)
        for k in changed:
            stamps[k] = [stamp, device]
        sets = {**changed, **extra, "hlc": stamp, "device": device, "stamps": jdump(stamps)}
        if tbl in ("households", "visits", "dedup_merges") or (
            tbl == "items" and {"deleted", "visit_id"} & changed.keys()
        ):
            # An edit of a merged-away record may be a conflict on its
            # representative; a tombstone or a 编号 may change a cluster.
            self.relink = True
        self.conn.execute(
            f"UPDATE {tbl} SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?",
            [*sets.values(), row_id],
        )
        self.conn.execute(
            "INSERT INTO changes(device, seq, tbl, row_id, hlc, op, data, base) "
            "VALUES (?, ?, ?, ?, ?, 'update', ?, ?)",
            [device, self.next_seq(), tbl, row_id, stamp, jdump(changed), jdump(base)],
        )
        return sorted(changed)

    def audit(
        self,
        action: str,
        tbl: str | None = None,
        row_id: str | None = None,
        detail: Any = None,
        *,
        key: Any = None,
    ) -> None:
        """Append one entry to the audit chain.

        With a station key held (or *key*, the one being installed), the
        entry is keyed (HMAC, see :func:`audit_mac`) and the chain is marked
        keyed from then on; without one it is a plain SHA-256 link.  A chain
        marked keyed whose newest entry is plain was rewritten: it is not
        keyed again over the rewrite (that would hide it), so ``audit
        verify`` keeps reporting it.
        """
        device = self.device  # first: checking the identity may append an entry itself
        row = self.conn.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        prev = row[0] if row else GENESIS_HASH
        if key is None:
            key = self.store.audit_key()
            if key is not None and not prev.startswith(KEYED_PREFIX) and row is not None:
                marked = self.conn.execute(
                    "SELECT value FROM settings WHERE key = ?", [CHAIN_SETTING]
                ).fetchone()
                if marked and marked[0] == KEYED_CHAIN:
                    key = None  # keyed once, plain at the head now: leave the evidence
        worker = self.conn.execute("SELECT value FROM settings WHERE key='worker'").fetchone()
        entry = {
            "at": now_iso(),
            "worker": worker[0] if worker else None,
            "device": device,
            "action": action,
            "tbl": tbl,
            "row_id": row_id,
            "detail": jdump(detail) if detail is not None else None,
        }
        stamp = audit_mac(key, prev, entry) if key is not None else audit_hash(prev, entry)
        self.conn.execute(
            "INSERT INTO audit(at, worker, device, action, tbl, row_id, detail, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [*entry.values(), prev, stamp],
        )
        if key is not None and not prev.startswith(KEYED_PREFIX):
            self.set_setting(CHAIN_SETTING, KEYED_CHAIN)

    def finish(self) -> None:
        """Recompute merge clusters if needed; persist the clock so the next
        process continues after our stamps."""
        if self.relink:
            relink(self.conn)
            self.relink = False
        if self._hlc is not None:
            self.set_setting("hlc", str(self._hlc.last))
