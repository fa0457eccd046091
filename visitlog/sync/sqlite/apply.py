"""Received changes applied to a SQLite replica, inside its open write transaction.

:class:`Applier` is this engine's :class:`visitlog.sync.interface.Applier`:
the rules (order, gaps, replays, which stamps are held, a row from its log)
are :mod:`visitlog.sync.merge`'s; here is where they are kept.  New changes
go to the ``changes`` log; rows a replica has never seen take a fast path
(one ``executemany`` per batch), which is the common case of a large first
sync; everything else (updates, an insert under an id already present) marks
the row in ``temp.sync_touched``, and :meth:`Applier.finish` recomputes the
marked rows from their whole change log (:func:`~visitlog.sync.sqlite.rows.merge_rows`).
Orphans wait in ``sync_orphans`` and held changes in ``sync_held``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from sqlite3 import Connection
from typing import Any

from visitlog.model import SYNCED_FIELDS
from visitlog.progress import Progress, report
from visitlog.rows import in_parts, jdump
from visitlog.store import LIVE_COLUMNS, LIVE_SOURCE, Tx, relink
from visitlog.store.inserts import LOG_SEQ, affinity, stores_exactly
from visitlog.sync.interface import Change
from visitlog.sync.merge import (
    PARENTS,
    TABLE_ORDER,
    Receiver,
    address_key,
    created_at_of,
    horizon_after,
    phones_of,
    skip_change,
)
from visitlog.sync.sqlite.log import CHANGE_COLUMNS, change_at, version_vector
from visitlog.sync.sqlite.rows import CHUNK, merge_rows

_HOUR_MS = 3_600_000


#: The tables whose rows other rows point to (a visit's household, an item's visit).
_PARENT_TABLES = frozenset(parent for links in PARENTS.values() for _col, parent in links)


class Applier(Receiver):
    """Applies a stream of received changes inside one open write transaction.

    Use: ``add(batch)`` for each batch, then ``finish()``; the caller commits
    (or rolls back) the transaction.

    Args:
        tx: the receiving replica's open transaction.
        now_ms: the wall clock, for holding stamps far in the future.

    Raises:
        ReplayError: (from ``add``) a change numbered like one held here but
            different from it.
    """

    def __init__(self, tx: Tx, now_ms: Callable[[], int] | None = None):
        self.tx = tx
        self.conn = tx.conn
        super().__init__(version_vector(self.conn), lambda d, s: change_at(self.conn, d, s), now_ms)
        row = self.conn.execute("SELECT value FROM settings WHERE key = 'device_id'").fetchone()
        self.own_device: str | None = row[0] if row else None
        self._open_conflicts = bool(
            self.conn.execute("SELECT 1 FROM conflicts WHERE resolved = 0 LIMIT 1").fetchone()
        )
        #: ids inserted by this apply, per table whose rows are parents of
        #: others (a whole district's visits: some 2.6 million ids).
        self._inserted: dict[str, set[str]] = {}
        self.conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS sync_touched "
            "(tbl TEXT NOT NULL, row_id TEXT NOT NULL, PRIMARY KEY (tbl, row_id)) WITHOUT ROWID"
        )
        self.conn.execute("DELETE FROM temp.sync_touched")

    # -- receiving --------------------------------------------------------------

    def add(self, batch: Sequence[Change]) -> int:
        """Take one batch of changes (of one or more devices, each in seq order).

        Returns:
            How many of them were new here.

        Raises:
            GapError: a change's predecessors from the same device are missing.
            ReplayError: a change has the number of one held here but other
                content (a database restored from a backup or copied, which
                numbered new changes again); nothing of the batch is applied.
            InvalidChange: a change does not fit the model
                (:mod:`visitlog.sync.validate`); nothing of the receive is applied.
        """
        got = self.sort(batch)
        if got is None:
            return 0
        if got.replaced:
            self.conn.executemany("DELETE FROM changes WHERE device = ? AND seq = ?", got.replaced)
        touched = got.touched
        # (device, seq) of inserts whose new row holds them (visitlog.store.inserts)
        held: set[tuple[str, int]] = set()
        if got.inserts:
            seqs = {(ch[2], ch[3], ch[4], ch[0]): ch[1] for ch in got.fresh if ch[5] == "insert"}
            for tbl, rows in got.inserts.items():
                touched += self._insert_new(tbl, rows, seqs, held)
        fresh = [ch for ch in got.fresh if (ch[0], ch[1]) not in held] if held else got.fresh
        self.conn.executemany(
            f"INSERT INTO changes({CHANGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", fresh
        )
        if got.held:
            self.conn.executemany(
                "INSERT OR IGNORE INTO sync_held(device, seq, tbl, row_id, hlc) "
                "VALUES (?, ?, ?, ?, ?)",
                got.held,
            )
        if touched:
            self._touch(touched)
        return len(got.fresh)

    def _touch(self, rows: Iterable[tuple[str, str]]) -> None:
        self.conn.executemany(
            "INSERT OR IGNORE INTO temp.sync_touched(tbl, row_id) VALUES (?, ?)", rows
        )

    def _missing_parents(self, tbl: str, values: list[dict[str, Any]]) -> set[int]:
        """Positions in *values* of rows whose parent rows are not here (yet)."""
        out: set[int] = set()
        for col, parent in PARENTS.get(tbl, ()):
            known = self._inserted.get(parent, set())
            wanted = {v.get(col) for v in values} - known
            wanted.discard(None)
            found: set[str] = set()
            ids = sorted(wanted)
            for i in range(0, len(ids), CHUNK):
                part = ids[i : i + CHUNK]
                found.update(
                    r[0]
                    for r in self.conn.execute(
                        f"SELECT id FROM {parent} WHERE id IN ({', '.join('?' * len(part))})", part
                    )
                )
            absent = wanted - found
            out.update(k for k, v in enumerate(values) if v.get(col) in absent)
        return out

    def _insert_new(
        self,
        tbl: str,
        rows: list[tuple[str, str, str, str, dict[str, Any]]],
        seqs: dict[tuple[str, str, str, str], int],
        held: set[tuple[str, int]],
    ) -> list[tuple[str, str]]:
        """Fast path: insert rows never seen here; returns rows that need a merge.

        A new row that gives back its insert's text exactly holds the insert
        (its number in ``log_seq``, :mod:`visitlog.store.inserts`): its
        ``(device, seq)`` is added to *held*, and it is not logged in
        ``changes``.  *seqs*: the number of each insert, by ``(tbl, row_id,
        hlc, device)``.
        """
        fields = SYNCED_FIELDS[tbl]
        households = tbl == "households"
        live = list(LIVE_COLUMNS.get(tbl, ()))
        deleted = 1 + fields.index("deleted")
        pick = operator.itemgetter(*fields) if len(fields) > 1 else None
        parsed = [r[4] for r in rows]  # decoded once, by the check
        waiting = self._missing_parents(tbl, parsed) if tbl in PARENTS else set()
        values = []
        types = affinity(self.conn, tbl)
        exact: dict[str, tuple[str, int]] = {}
        for k, (row_id, hlc, device, data, v) in enumerate(rows):
            if k in waiting:
                continue  # its visit or household has not arrived: see finish()
            try:
                picked = pick(v)  # an insert carries every field: the fast way
            except (KeyError, TypeError):
                picked = tuple(v.get(f) for f in fields)
            tup = [row_id, *picked, created_at_of(hlc, v), hlc, device]
            tup[deleted] = int(tup[deleted] or 0)  # NOT NULL
            kept = tup[1 : 1 + len(fields)]
            seq = None
            if stores_exactly(types, fields, kept) and data == jdump(
                {**dict(zip(fields, kept, strict=True)), "created_at": tup[1 + len(fields)]}
            ):
                seq = seqs[(tbl, row_id, hlc, device)]
                exact[row_id] = (device, seq)
            if households:
                tup.append(address_key(v.get("address"), v.get("estate")))
                tup.append(phones_of(v.get("phone")))
            tup += [v.get(LIVE_SOURCE[c]) for c in live]
            tup.append(seq)
            values.append(tup)
        if tbl in _PARENT_TABLES:  # an item is no row's parent: its ids are not kept
            self._inserted.setdefault(tbl, set()).update(r[0] for r in rows)
        orphans = [(tbl, rows[k][0]) for k in sorted(waiting)]
        if orphans:
            self.conn.executemany(
                "INSERT OR IGNORE INTO sync_orphans(tbl, row_id) VALUES (?, ?)", orphans
            )
        if not values:
            return []
        cols = ["id", *fields, "created_at", "hlc", "device"]
        if households:
            cols += ["address_key", "phones"]
        cols += [*live, LOG_SEQ]
        cur = self.conn.executemany(
            f"INSERT INTO {tbl} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
            "ON CONFLICT(id) DO NOTHING",
            values,
        )
        # rowcount sums the rows each statement inserted (trigger writes excluded)
        if cur.rowcount == len(values):
            held.update(exact.values())  # every row is the one its insert made
            return []
        # Only the rows written now hold their insert; the others' go to the log.
        for part, marks in in_parts(sorted(exact), CHUNK):
            for rid, device, seq in self.conn.execute(
                f"SELECT id, device, {LOG_SEQ} FROM {tbl} WHERE id IN ({marks})", part
            ):
                if exact[rid] == (device, seq):
                    held.add((device, seq))
        # Some ids were already here (two inserts under one id, or a row that
        # came another way): merge those field by field like any other change.
        stamps = {(r[0], r[1], r[2]) for r in rows}
        clash = []
        ids = [v[0] for v in values]
        for i in range(0, len(ids), CHUNK):
            part = ids[i : i + CHUNK]
            for rid, hlc, device in self.conn.execute(
                f"SELECT id, hlc, device FROM {tbl} WHERE id IN ({', '.join('?' * len(part))})",
                part,
            ):
                if (rid, hlc, device) not in stamps:
                    clash.append((tbl, rid))
        return clash

    def note_sent(self, batch: Sequence[Change]) -> None:
        """See changes this replica is sending: its own edits of rows with open
        conflicts may settle them (an edit can only settle conflicts, never
        make one), so those rows are recomputed here too."""
        if not self._open_conflicts or not self.own_device:
            return
        own = [
            (ch[2], ch[3], ch[2], ch[3])
            for ch in batch
            if ch[0] == self.own_device and ch[5] != "insert"
        ]
        if own:
            self.conn.executemany(
                "INSERT OR IGNORE INTO temp.sync_touched(tbl, row_id) SELECT ?, ? WHERE EXISTS "
                "(SELECT 1 FROM conflicts WHERE tbl = ? AND row_id = ? AND resolved = 0)",
                own,
            )

    # -- finishing --------------------------------------------------------------

    def _revisit(self) -> None:
        """Mark the rows whose merge may have changed since the last apply here:
        rows waiting for late work, rows of held changes the clock has reached,
        and, after a clock went back, rows of changes it now holds."""
        conn = self.conn
        conn.execute(
            "INSERT OR IGNORE INTO temp.sync_touched(tbl, row_id) "
            "SELECT tbl, row_id FROM sync_orphans"
        )
        reached = conn.execute(
            "SELECT tbl, row_id FROM sync_held WHERE hlc <= ?", [self.bound]
        ).fetchall()
        if reached:
            self._touch(reached)
            conn.execute("DELETE FROM sync_held WHERE hlc <= ?", [self.bound])
        row = conn.execute("SELECT value FROM settings WHERE key = 'hold_bound'").fetchone()
        last = row[0] if row else None
        # This laptop stamped changes while its date was wrong (ahead): they
        # are held like anyone's (Tx.hlc lets its clock continue after the
        # highest stamp that is not far ahead, and asks for this scan).
        self.tx.hlc  # noqa: B018 - loading the clock notices a clock run ahead
        own_ahead = conn.execute("SELECT 1 FROM settings WHERE key = 'hold_scan'").fetchone()
        if own_ahead:
            self.tx.set_setting("hold_scan", None)
        if last is None or self.bound < last or own_ahead:
            # This clock is behind one that merged or stamped here before (a
            # laptop's date put right, or a hub last synced by a laptop whose
            # date was wrong): changes applied then may be far in the future
            # now.  A scan of the log, but only when a clock went back.
            logged = " UNION ALL ".join(
                [
                    "SELECT device, seq, tbl, row_id, hlc FROM changes",
                    *(
                        f"SELECT device, {LOG_SEQ}, '{tbl}', id, hlc FROM {tbl} "
                        f"WHERE {LOG_SEQ} IS NOT NULL"
                        for tbl in SYNCED_FIELDS
                    ),
                ]
            )
            newly = conn.execute(
                f"SELECT device, seq, tbl, row_id, hlc FROM ({logged}) c WHERE hlc > ? AND NOT "
                "EXISTS (SELECT 1 FROM sync_held h WHERE h.device = c.device AND h.seq = c.seq)",
                [self.bound],
            ).fetchall()
            if newly:
                conn.executemany(
                    "INSERT OR IGNORE INTO sync_held(device, seq, tbl, row_id, hlc) "
                    "VALUES (?, ?, ?, ?, ?)",
                    newly,
                )
                self._touch((r[2], r[3]) for r in newly)
                for device, _seq, _tbl, _rid, hlc in newly:
                    self.note_skew(device, hlc)
        # Written when the clock went back or moved on by an hour, so that a
        # sync with nothing to do writes (nearly) nothing.
        if last is None or self.bound < last or self.bound > horizon_after(last, _HOUR_MS):
            self.tx.set_setting("hold_bound", self.bound)

    def pending_merges(self) -> int:
        return self.conn.execute("SELECT count(*) FROM temp.sync_touched").fetchone()[0]

    def finish(self, progress: Progress | None = None) -> None:
        """Recompute the marked rows, move the clock past what was received.

        Reports ``progress("merge", done, total)``.
        """
        self._revisit()
        total = self.pending_merges()
        done = 0
        order = " ".join(f"WHEN '{tbl}' THEN {n}" for n, tbl in enumerate(TABLE_ORDER))
        cur = self.conn.execute(
            f"SELECT tbl, row_id FROM temp.sync_touched ORDER BY CASE tbl {order} "
            f"ELSE {len(TABLE_ORDER)} END, tbl, row_id"
        )
        while chunk := cur.fetchmany(CHUNK):
            by_tbl: dict[str, list[str]] = {}
            for tbl, rid in chunk:
                by_tbl.setdefault(tbl, []).append(rid)
            for tbl, ids in by_tbl.items():
                self.new_conflicts.update(merge_rows(self.conn, tbl, ids, bound=self.bound))
            done += len(chunk)
            report(progress, "merge", done, total)
        self.conn.execute("DROP TABLE temp.sync_touched")
        if total or self.received:
            # Which records are one is derived from what every replica holds
            # (visitlog.store.clusters), never merged field by field.
            relink(self.conn)
        if self.max_hlc:
            self.tx.hlc.observe(self.max_hlc)


def let_go(conn: Connection, households: Sequence[str]) -> int:
    """Remove *households*, their visits and items without recording a change.

    For a laptop whose station of a PostgreSQL hub may no longer see them
    (moved to another grid): the hub keeps them whole.  Their changes are
    replaced by skips (one per change, at its number), so this replica's
    version vector stays and they come back whole, as fills, if the
    household moves back.

    Returns:
        How many households were here and were removed.
    """
    wanted = sorted(set(households))
    if not wanted:
        return 0
    gone = 0
    for i in range(0, len(wanted), CHUNK):
        part = wanted[i : i + CHUNK]
        marks = ", ".join("?" * len(part))
        here = [
            r[0] for r in conn.execute(f"SELECT id FROM households WHERE id IN ({marks})", part)
        ]
        if not here:
            continue
        gone += len(here)
        marks = ", ".join("?" * len(here))
        rows = [("households", h) for h in here]
        for tbl in ("visits", "items"):
            rows += [
                (tbl, r[0])
                for r in conn.execute(f"SELECT id FROM {tbl} WHERE household_id IN ({marks})", here)
            ]
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS let_go(tbl TEXT, row_id TEXT)")
        conn.execute("DELETE FROM temp.let_go")
        conn.executemany("INSERT INTO temp.let_go VALUES (?, ?)", rows)
        logged = conn.execute(
            "SELECT device, seq FROM changes WHERE (tbl, row_id) IN (SELECT tbl, row_id FROM "
            "temp.let_go)"
        ).fetchall()
        for tbl in ("households", "visits", "items"):  # inserts the rows hold go with them
            logged += conn.execute(
                f"SELECT device, {LOG_SEQ} FROM {tbl} WHERE {LOG_SEQ} IS NOT NULL AND id IN "
                f"(SELECT row_id FROM temp.let_go WHERE tbl = '{tbl}')"
            ).fetchall()
        conn.executemany("DELETE FROM changes WHERE device = ? AND seq = ?", logged)
        conn.executemany(
            f"INSERT INTO changes({CHANGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [skip_change(d, s, s) for d, s in logged],
        )
        for table in ("conflicts", "sync_orphans", "sync_held"):
            conn.execute(
                f"DELETE FROM {table} WHERE (tbl, row_id) IN (SELECT tbl, row_id FROM temp.let_go)"
            )
        for tbl in ("items", "visits", "households"):
            conn.execute(
                f"DELETE FROM {tbl} WHERE id IN "
                f"(SELECT row_id FROM temp.let_go WHERE tbl = '{tbl}')"
            )
        conn.execute("DROP TABLE temp.let_go")
    return gone
