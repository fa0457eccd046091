"""Applying received changes: per-field last-writer-wins, tombstones, conflicts.

A change names one row and the fields it set (``data``), stamped ``(hlc,
device)``; an update also carries ``base``, the stamps those fields had on
its author's replica when it was made.  Applying is per field: a field takes
the value of the change with the highest stamp that set it, so the result
does not depend on the order changes arrive in (commutative, associative),
and a change already held is skipped by its ``(device, seq)`` (idempotent).
``deleted`` is a field like any other, so a tombstone wins or loses by its
stamp.

A **conflict** is a value nobody saw before it was overwritten: for one
field, a change that is not the winner, that no other change overwrote
knowingly (no change has it as its ``base``), and whose value no later
change carries.  Because that is decided from the set of changes alone,
every replica holding the same changes records the same conflicts, under
ids derived from what they record; conflicts therefore never travel between
replicas and a repeated sync of converged replicas moves nothing.

**Late work.**  A change may arrive before the row it edits (a bundle made
``--for`` a hub that was since restored from an older copy), and a new item
or visit before the visit or household it belongs to.  Such changes are kept
in the log and the row is remembered in ``sync_orphans``; every later apply
looks at those rows again, and builds or recomputes them as soon as what
they need has arrived, so the result is the same as if everything had come
in order.

**Far-future stamps.**  A change stamped more than a day
(:data:`~visitlog.clock.MAX_AHEAD_MS`) ahead of this replica's wall clock is
*held*: kept in the log, forwarded and counted like any other, but ranked
below every change that is not held, so it never beats an edit made with a
right clock (it still applies where nothing else set the field: a visit
recorded on a laptop whose date was wrong is not lost).  The values it loses
become conflicts naming its device, restorable as new edits stamped now.
Which changes are held depends only on their stamps and this replica's
clock, so replicas whose clocks are right hold the same ones and converge;
``sync_held`` remembers them so that they take their place when the clock
reaches them (or a replica whose clock was wrong and was put right holds
the changes it stamped in the future).

**A later edit to a deleted row** made by someone who had not seen the
delete (its ``base`` records the ``deleted`` stamp its author saw, under
``"~deleted"``) does not revive the row, but is not silently lost either:
it is kept as a conflict on the row's ``deleted`` field (losing value 0,
"not deleted"); restoring it brings the row back.

Inserting a row a replica has never seen is the common case of a large first
sync; it takes a fast path (one ``executemany`` per batch).  Everything else
(updates, an insert under an id already present) marks the row, and at the
end the marked rows are recomputed from their whole change log.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import operator
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from sqlite3 import Connection
from typing import Any

from visitlog.clock import Stamp, horizon, now_iso
from visitlog.clock import now_ms as clock_ms
from visitlog.clusters import conflict_id, relink, write_conflict
from visitlog.i18n import t
from visitlog.model import SYNCED_FIELDS, VisitlogError
from visitlog.rows import jdump
from visitlog.store import LIVE_COLUMNS, LIVE_SOURCE, Tx
from visitlog.sync.validate import check_change

#: One change as stored in ``changes`` and as shipped:
#: ``(device, seq, tbl, row_id, hlc, op, data, base)``; data and base are JSON text.
Change = tuple[str, int, str, str, str, str, str, str | None]
CHANGE_COLUMNS = "device, seq, tbl, row_id, hlc, op, data, base"

#: The rows a row needs before it can exist here (its foreign keys).
PARENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "visits": (("household_id", "households"),),
    "items": (("visit_id", "visits"), ("household_id", "households")),
}
#: Tables whose rows a later edit keeps from vanishing under a delete it had not seen.
_DELETE_GUARDED = ("households", "visits", "items")

_HOUR_MS = 3_600_000


def horizon_after(stamp: str, ms: int) -> str:
    """The stamp *ms* milliseconds after *stamp* (text, comparable)."""
    parsed = Stamp.parse(stamp)
    return str(Stamp(parsed.ms + ms, parsed.counter))


# Enough rows per IN (...) query to amortise it, well under SQLite's
# variable limit.
_CHUNK = 400


class GapError(VisitlogError):
    """Changes of a device arrived with a hole before them: refused whole."""


class ReplayError(VisitlogError):
    """A change numbered like one already held, with other content: refused whole.

    Two databases numbered different changes alike: one of them was restored
    from a backup or copied and wrote changes before it could notice.
    """


@functools.lru_cache(maxsize=4096)
def _iso_second(second: int) -> str:
    return dt.datetime.fromtimestamp(second, dt.UTC).isoformat(timespec="seconds")


def created_at_of(hlc: str, data: dict[str, Any] | None = None) -> str:
    """``created_at`` of a received row, the same on every replica.

    An insert carries the ``created_at`` its author stored; inserts made by
    older visitlogs do not, and their row takes the time of the insert stamp
    (derived from the stamp, not the receiver's clock).
    """
    carried = data.get("created_at") if data else None
    if isinstance(carried, str) and carried:
        return carried
    try:
        return _iso_second(int(hlc[:13]) // 1000)
    except (ValueError, OverflowError, OSError):
        return now_iso()


@functools.lru_cache(maxsize=65536)
def address_key(address: str | None, estate: str | None = None) -> str | None:
    """The normalised address kept beside a household (not synced: derived).

    Read with the 小区 when the address names no estate
    (:func:`visitlog.address.household_key`).
    """
    if address is None:
        return None
    from visitlog.address import household_key

    return household_key(address, estate)


@functools.lru_cache(maxsize=65536)
def phones_of(phone: str | None) -> str | None:
    """The numbers understood from a household's contact (not synced: derived)."""
    from visitlog.store import phones_json

    return phones_json(phone)


def version_vector(conn: Connection) -> dict[str, int]:
    """``{device: highest seq held}``, in a few index lookups per device.

    A ``GROUP BY`` would read the whole change log; walking the distinct
    devices down the primary key keeps a no-op sync of a district database
    as cheap as one of a tiny database.
    """
    vv: dict[str, int] = {}
    dev = conn.execute("SELECT max(device) FROM changes").fetchone()[0]
    while dev is not None:
        vv[dev] = conn.execute("SELECT max(seq) FROM changes WHERE device = ?", [dev]).fetchone()[0]
        dev = conn.execute("SELECT max(device) FROM changes WHERE device < ?", [dev]).fetchone()[0]
    return vv


def missing(have: dict[str, int], peer: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Per device, the seq range ``(first, last)`` that ``have`` holds and ``peer`` lacks."""
    return {d: (peer.get(d, 0) + 1, seq) for d, seq in sorted(have.items()) if seq > peer.get(d, 0)}


def changes_since(
    conn: Connection, ranges: dict[str, tuple[int, int]], batch_size: int = 2000
) -> Iterable[list[Change]]:
    """Stream the changes in ``ranges`` in batches, device by device in seq order."""
    for device, (first, last) in ranges.items():
        cur = conn.execute(
            f"SELECT {CHANGE_COLUMNS} FROM changes WHERE device = ? AND seq BETWEEN ? AND ? "
            "ORDER BY seq",
            [device, first, last],
        )
        while batch := cur.fetchmany(batch_size):
            yield batch


def count_by_table(conn: Connection, ranges: dict[str, tuple[int, int]]) -> Counter[str]:
    """How many changes per table lie in ``ranges`` (for dry runs and manifests)."""
    counts: Counter[str] = Counter()
    for device, (first, last) in ranges.items():
        for tbl, n in conn.execute(
            "SELECT tbl, count(*) FROM changes WHERE device = ? AND seq BETWEEN ? AND ? "
            "GROUP BY tbl",
            [device, first, last],
        ):
            counts[tbl] += n
    return counts


class Applier:
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
        self.vv = version_vector(self.conn)
        self.received: Counter[str] = Counter()
        self.max_hlc: str | None = None
        #: device → [count, highest stamp] of stamps more than a day ahead.
        self.skew: dict[str, list[Any]] = {}
        #: id → record of conflicts first recorded on this replica by this apply.
        self.new_conflicts: dict[str, dict[str, Any]] = {}
        self._now_ms = now_ms or clock_ms
        #: Stamps above this are held (see the module doc).
        self.bound = horizon(self._now_ms())
        self._ahead = self.bound
        row = self.conn.execute("SELECT value FROM settings WHERE key = 'device_id'").fetchone()
        self.own_device: str | None = row[0] if row else None
        self._open_conflicts = bool(
            self.conn.execute("SELECT 1 FROM conflicts WHERE resolved = 0 LIMIT 1").fetchone()
        )
        #: ids inserted by this apply, per table (parents of later inserts).
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
        fresh: list[Change] = []
        for ch in batch:
            check_change(ch)  # the whole receive is refused on the first invalid change
            device, seq = ch[0], ch[1]
            have = self.vv.get(device, 0)
            if seq <= have:
                self._same_as_held(ch)  # already held: re-sent changes change nothing
                continue
            if seq != have + 1:
                raise GapError(t("sync.err.gap", device=device, have=have, first=seq))
            self.vv[device] = seq
            fresh.append(ch)
        if not fresh:
            return 0
        self.conn.executemany(
            f"INSERT INTO changes({CHANGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", fresh
        )
        inserts: dict[str, list[tuple[str, str, str, str]]] = {}
        touched: list[tuple[str, str]] = []
        held: list[tuple[str, int, str, str, str]] = []
        top = self.max_hlc or ""
        ahead = self._ahead
        for device, seq, tbl, row_id, hlc, op, data, _base in fresh:
            self.received[tbl] += 1
            if top < hlc <= ahead:
                top = hlc  # the clock follows every stamp but those it holds
            if hlc > ahead:
                entry = self.skew.setdefault(device, [0, hlc])
                entry[0] += 1
                entry[1] = max(entry[1], hlc)
                held.append((device, seq, tbl, row_id, hlc))
            if op == "insert":
                inserts.setdefault(tbl, []).append((row_id, hlc, device, data))
            else:
                touched.append((tbl, row_id))
        self.max_hlc = top
        if held:
            self.conn.executemany(
                "INSERT OR IGNORE INTO sync_held(device, seq, tbl, row_id, hlc) "
                "VALUES (?, ?, ?, ?, ?)",
                held,
            )
        for tbl, rows in inserts.items():
            touched += self._insert_new(tbl, rows)
        if touched:
            self._touch(touched)
        return len(fresh)

    def _touch(self, rows: Iterable[tuple[str, str]]) -> None:
        self.conn.executemany(
            "INSERT OR IGNORE INTO temp.sync_touched(tbl, row_id) VALUES (?, ?)", rows
        )

    def _same_as_held(self, ch: Change) -> None:
        """Refuse a change numbered like one held here but not the same change."""
        held = self.conn.execute(
            f"SELECT {CHANGE_COLUMNS} FROM changes WHERE device = ? AND seq = ?", [ch[0], ch[1]]
        ).fetchone()
        if held is not None and tuple(held) != tuple(ch):
            raise ReplayError(t("sync.err.replayed", device=ch[0], seq=ch[1]))

    def _missing_parents(self, tbl: str, values: list[dict[str, Any]]) -> set[int]:
        """Positions in *values* of rows whose parent rows are not here (yet)."""
        out: set[int] = set()
        for col, parent in PARENTS.get(tbl, ()):
            known = self._inserted.get(parent, set())
            wanted = {v.get(col) for v in values} - known
            wanted.discard(None)
            found: set[str] = set()
            ids = sorted(wanted)
            for i in range(0, len(ids), _CHUNK):
                part = ids[i : i + _CHUNK]
                found.update(
                    r[0]
                    for r in self.conn.execute(
                        f"SELECT id FROM {parent} WHERE id IN ({', '.join('?' * len(part))})", part
                    )
                )
            out.update(
                k
                for k, v in enumerate(values)
                if v.get(col) is not None and v[col] in wanted - found
            )
        return out

    def _insert_new(self, tbl: str, rows: list[tuple[str, str, str, str]]) -> list[tuple[str, str]]:
        """Fast path: insert rows never seen here; returns rows that need a merge."""
        fields = SYNCED_FIELDS[tbl]
        households = tbl == "households"
        live = list(LIVE_COLUMNS.get(tbl, ()))
        deleted = 1 + fields.index("deleted")
        pick = operator.itemgetter(*fields) if len(fields) > 1 else None
        loads = json.loads
        parsed = [loads(data) for _rid, _hlc, _dev, data in rows]
        waiting = self._missing_parents(tbl, parsed) if tbl in PARENTS else set()
        values = []
        for k, ((row_id, hlc, device, _data), v) in enumerate(zip(rows, parsed, strict=True)):
            if k in waiting:
                continue  # its visit or household has not arrived: see finish()
            try:
                picked = pick(v)  # an insert carries every field: the fast way
            except (KeyError, TypeError):
                picked = tuple(v.get(f) for f in fields)
            tup = [row_id, *picked, created_at_of(hlc, v), hlc, device]
            tup[deleted] = int(tup[deleted] or 0)  # NOT NULL
            if households:
                tup.append(address_key(v.get("address"), v.get("estate")))
                tup.append(phones_of(v.get("phone")))
            tup += [v.get(LIVE_SOURCE[c]) for c in live]
            values.append(tup)
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
        cols += live
        cur = self.conn.executemany(
            f"INSERT INTO {tbl} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
            "ON CONFLICT(id) DO NOTHING",
            values,
        )
        # rowcount sums the rows each statement inserted (trigger writes excluded)
        if cur.rowcount == len(values):
            return []
        # Some ids were already here (two inserts under one id, or a row that
        # came another way): merge those field by field like any other change.
        stamps = {(r[0], r[1], r[2]) for r in rows}
        clash = []
        ids = [v[0] for v in values]
        for i in range(0, len(ids), _CHUNK):
            part = ids[i : i + _CHUNK]
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
            newly = conn.execute(
                "SELECT device, seq, tbl, row_id, hlc FROM changes c WHERE hlc > ? AND NOT "
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
                    entry = self.skew.setdefault(device, [0, hlc])
                    entry[0] += 1
                    entry[1] = max(entry[1], hlc)
        # Written when the clock went back or moved on by an hour, so that a
        # sync with nothing to do writes (nearly) nothing.
        if last is None or self.bound < last or self.bound > horizon_after(last, _HOUR_MS):
            self.tx.set_setting("hold_bound", self.bound)

    def pending_merges(self) -> int:
        return self.conn.execute("SELECT count(*) FROM temp.sync_touched").fetchone()[0]

    def finish(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Recompute the marked rows, move the clock past what was received."""
        self._revisit()
        total = self.pending_merges()
        done = 0
        # Parents first: a visit that waited for its household is built
        # before the items that waited for the visit.
        cur = self.conn.execute(
            "SELECT tbl, row_id FROM temp.sync_touched ORDER BY CASE tbl "
            "WHEN 'households' THEN 0 WHEN 'visits' THEN 1 WHEN 'items' THEN 2 ELSE 3 END, "
            "tbl, row_id"
        )
        while chunk := cur.fetchmany(_CHUNK):
            by_tbl: dict[str, list[str]] = {}
            for tbl, rid in chunk:
                by_tbl.setdefault(tbl, []).append(rid)
            for tbl, ids in by_tbl.items():
                self.new_conflicts.update(merge_rows(self.conn, tbl, ids, bound=self.bound))
            done += len(chunk)
            if progress:
                progress(done, total)
        self.conn.execute("DROP TABLE temp.sync_touched")
        if total or self.received:
            # Which records are one is derived from what every replica holds
            # (visitlog.clusters), never merged field by field.
            relink(self.conn)
        if self.max_hlc:
            self.tx.hlc.observe(self.max_hlc)

    def skewed(self) -> list[dict[str, Any]]:
        """The stamps held as more than a day ahead of this replica's clock, per device."""
        now = self._now_ms()
        return [
            {
                "device": device,
                "count": count,
                "hlc": top,
                "ahead_hours": round((Stamp.parse(top).ms - now) / 3_600_000, 1),
                "held": True,
            }
            for device, (count, top) in sorted(self.skew.items())
        ]


# -- recomputing rows ------------------------------------------------------------------


def merge_rows(
    conn: Connection, tbl: str, ids: Sequence[str], *, bound: str | None = None
) -> dict[str, dict[str, Any]]:
    """Recompute rows of one table from their whole change log.

    Writes each row's winning values and stamps, and brings its conflict
    records up to date.  A row whose insert (or whose parent row) has not
    arrived yet is remembered in ``sync_orphans`` and built by a later merge.

    Args:
        bound: stamps above it are held (default: a day ahead of the wall clock).

    Returns:
        The conflicts recorded for the first time, by id.
    """
    bound = bound or horizon()
    new: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), _CHUNK):
        part = list(ids[i : i + _CHUNK])
        marks = ", ".join("?" * len(part))
        cur = conn.execute(f"SELECT * FROM {tbl} WHERE id IN ({marks})", part)
        names = [d[0] for d in cur.description]
        rows = {r[0]: dict(zip(names, r, strict=True)) for r in cur}
        logs: dict[str, list[tuple[Any, ...]]] = {}
        for rec in conn.execute(
            f"SELECT row_id, hlc, device, op, data, base FROM changes "
            f"WHERE tbl = ? AND row_id IN ({marks})",
            [tbl, *part],
        ):
            logs.setdefault(rec[0], []).append(rec[1:])
        existing: dict[str, list[dict[str, Any]]] = {}
        # Conflicts forwarded from a merged-away row (source_row) are relink's.
        cur = conn.execute(
            f"SELECT * FROM conflicts WHERE tbl = ? AND row_id IN ({marks}) AND source_row IS NULL",
            [tbl, *part],
        )
        cnames = [d[0] for d in cur.description]
        for r in cur:
            rec = dict(zip(cnames, r, strict=True))
            existing.setdefault(rec["row_id"], []).append(rec)
        # Rows that change the same columns are written with one executemany.
        updates: dict[tuple[str, ...], list[list[Any]]] = {}
        waiting: list[tuple[str, str]] = []
        built: list[tuple[str, str]] = []
        for rid in part:
            log = logs.get(rid)
            if not log:
                continue
            row = rows.get(rid)
            sets, found = _merge_row(conn, tbl, rid, row, log, existing.get(rid, []), bound)
            if row is None:
                exists = conn.execute(f"SELECT 1 FROM {tbl} WHERE id = ?", [rid]).fetchone()
                (built if exists else waiting).append((tbl, rid))
            else:
                built.append((tbl, rid))
            if sets:
                updates.setdefault(tuple(sets), []).append([*sets.values(), rid])
            new.update(found)
        for cols, params in updates.items():
            conn.executemany(
                f"UPDATE {tbl} SET {', '.join(f'{k} = ?' for k in cols)} WHERE id = ?", params
            )
        if waiting:
            conn.executemany(
                "INSERT OR IGNORE INTO sync_orphans(tbl, row_id) VALUES (?, ?)", waiting
            )
        if built:
            conn.executemany("DELETE FROM sync_orphans WHERE tbl = ? AND row_id = ?", built)
    return new


class _Rank:
    """Orders stamps ``(hlc, device)`` with held ones (above *bound*) below all others."""

    def __init__(self, bound: str):
        self.bound = bound

    def __call__(self, stamp: tuple[str, str]) -> tuple[bool, str, str]:
        return (stamp[0] <= self.bound, stamp[0], stamp[1])

    def cand(self, cand: tuple[tuple[str, str], Any]) -> tuple[bool, str, str]:
        return self(cand[0])


def _merge_row(
    conn: Connection,
    tbl: str,
    rid: str,
    row: dict[str, Any] | None,
    log: list[tuple[Any, ...]],
    existing: list[dict[str, Any]],
    bound: str,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The columns to write for one row, and the conflicts first recorded for it."""
    rank = _Rank(bound)
    fields = SYNCED_FIELDS[tbl]
    parsed = [
        ((hlc, device), op, json.loads(data), json.loads(base) if base else None)
        for hlc, device, op, data, base in log
    ]
    inserts = [(stamp, data) for stamp, op, data, _ in parsed if op == "insert"]
    first = max(inserts, key=lambda x: rank(x[0])) if inserts else None
    old_stamps = json.loads(row["stamps"]) if row and row["stamps"] else {}
    updated = {f for _, op, data, _ in parsed if op != "insert" for f in data}
    # Only fields some update touched can have changed: with one insert,
    # every other field keeps the insert's value and stamp.
    if row is None or len(inserts) != 1:
        relevant = set(fields)
    else:
        relevant = (updated | old_stamps.keys()) & set(fields)
        if updated and tbl in _DELETE_GUARDED:
            relevant.add("deleted")
    cands: dict[str, list[tuple[tuple[str, str], Any]]] = {f: [] for f in relevant}
    based: dict[str, set[tuple[str, str]]] = {f: set() for f in relevant}
    for stamp, _op, data, base in parsed:
        for f in relevant.intersection(data):
            cands[f].append((stamp, data[f]))
        for f, b in (base or {}).items():
            if f in based and isinstance(b, list) and len(b) == 2:
                based[f].add((b[0], b[1]))

    if row is None:
        if first is not None and _parents_here(conn, tbl, first[1]):
            _insert_folded(conn, tbl, rid, cands, first[0], first[1], rank)
        # else its insert (or its visit or household) has not arrived: a
        # later merge builds it (sync_orphans)
        return {}, {}

    old_default = tuple(old_stamps.get("*") or (row["hlc"], row["device"]))
    # With two inserts under one id, every replica takes the later as the
    # default stamp, so all of them write the same stamps.
    default = first[0] if first is not None else old_default
    winners: dict[str, tuple[tuple[str, str], Any]] = {}
    for f in relevant:
        current = (tuple(old_stamps.get(f) or old_default), row[f])
        pool = cands[f] or [current]
        best = max(pool, key=rank.cand)
        if rank(current[0]) > rank(best[0]):
            best = current  # state from outside the log (should not happen): keep it
        winners[f] = best
    stamps: dict[str, list[str]] = {
        f: list(w[0]) for f, w in winners.items() if w[0] != tuple(default)
    }
    new_stamps = {"*": list(default), **stamps} if stamps else None
    top = max([tuple(default), *(w[0] for w in winners.values())], key=rank)
    sets: dict[str, Any] = {f: w[1] for f, w in winners.items() if row[f] != w[1]}
    if tbl == "households" and ("address" in sets or "estate" in sets):
        sets["address_key"] = address_key(
            sets.get("address", row["address"]), sets.get("estate", row["estate"])
        )
    if tbl == "households" and "phone" in sets:
        sets["phones"] = phones_of(sets["phone"])
    if (row["hlc"], row["device"]) != top:
        sets["hlc"], sets["device"] = top
    if (old_stamps or None) != new_stamps:
        sets["stamps"] = jdump(new_stamps) if new_stamps else None
    if first is not None:
        created = created_at_of(first[0][0], first[1])
        if row.get("created_at") != created:
            sets["created_at"] = created
    extra = _unseen_delete(tbl, rid, parsed, winners.get("deleted"), rank)
    return sets, _settle_conflicts(conn, tbl, rid, cands, based, existing, rank, extra)


def _unseen_delete(
    tbl: str,
    rid: str,
    parsed: list[tuple[tuple[str, str], str, dict[str, Any], dict[str, Any] | None]],
    deleted: tuple[tuple[str, str], Any] | None,
    rank: _Rank,
) -> dict[str, dict[str, Any]]:
    """The conflict kept for edits made after a delete their author had not seen."""
    if tbl not in _DELETE_GUARDED or deleted is None or not deleted[1]:
        return {}
    gone = rank(deleted[0])
    late = []
    for stamp, op, data, base in parsed:
        if op == "insert" or "deleted" in data or rank(stamp) <= gone:
            continue
        seen = (base or {}).get("~deleted")
        if isinstance(seen, list) and len(seen) == 2 and rank((seen[0], seen[1])) >= gone:
            continue  # its author saw the delete
        late.append(stamp)
    if not late:
        return {}
    stamp = max(late, key=rank)
    cid = conflict_id(tbl, rid, "deleted", stamp[0], stamp[1])
    return {
        cid: {
            "id": cid,
            "tbl": tbl,
            "row_id": rid,
            "field": "deleted",
            "value": jdump(0),
            "hlc": stamp[0],
            "device": stamp[1],
            "winner_value": jdump(deleted[1]),
            "winner_hlc": deleted[0][0],
            "winner_device": deleted[0][1],
        }
    }


def _parents_here(conn: Connection, tbl: str, data: dict[str, Any]) -> bool:
    for col, parent in PARENTS.get(tbl, ()):
        ref = data.get(col)
        if (
            ref is not None
            and not conn.execute(f"SELECT 1 FROM {parent} WHERE id = ?", [ref]).fetchone()
        ):
            return False
    return True


def _insert_folded(
    conn: Connection,
    tbl: str,
    rid: str,
    cands: dict[str, list[tuple[tuple[str, str], Any]]],
    default: tuple[str, str],
    data: dict[str, Any],
    rank: _Rank,
) -> None:
    fields = SYNCED_FIELDS[tbl]
    winners = {f: max(cands[f], key=rank.cand) for f in fields if cands.get(f)}
    stamps = {f: list(w[0]) for f, w in winners.items() if w[0] != default}
    top = max([default, *(w[0] for w in winners.values())], key=rank)
    values: dict[str, Any] = {f: w[1] for f, w in winners.items()}
    values["deleted"] = int(values.get("deleted") or 0)
    values |= {
        "id": rid,
        "created_at": created_at_of(default[0], data),
        "hlc": top[0],
        "device": top[1],
        "stamps": jdump({"*": list(default), **stamps}) if stamps else None,
    }
    if tbl == "households":
        values["address_key"] = address_key(values.get("address"), values.get("estate"))
        values["phones"] = phones_of(values.get("phone"))
    for col in LIVE_COLUMNS.get(tbl, ()):
        values[col] = values.get(LIVE_SOURCE[col])
    conn.execute(
        f"INSERT INTO {tbl} ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
        list(values.values()),
    )


def _settle_conflicts(
    conn: Connection,
    tbl: str,
    rid: str,
    cands: dict[str, list[tuple[tuple[str, str], Any]]],
    based: dict[str, set[tuple[str, str]]],
    existing: list[dict[str, Any]],
    rank: _Rank,
    extra: dict[str, dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Record this row's conflicts as the log now decides them (see module doc)."""
    wanted: dict[str, dict[str, Any]] = dict(extra)
    for f, pool in cands.items():
        if len(pool) < 2:
            continue
        win_stamp, win_value = max(pool, key=rank.cand)
        for stamp, value in pool:
            if stamp == win_stamp or stamp in based[f]:
                continue  # the winner, or overwritten by someone who saw it
            if any(rank(s) > rank(stamp) and v == value for s, v in pool):
                continue  # a later change carries the same value: nothing lost
            cid = conflict_id(tbl, rid, f, stamp[0], stamp[1])
            wanted[cid] = {
                "id": cid,
                "tbl": tbl,
                "row_id": rid,
                "field": f,
                "value": jdump(value),
                "hlc": stamp[0],
                "device": stamp[1],
                "winner_value": jdump(win_value),
                "winner_hlc": win_stamp[0],
                "winner_device": win_stamp[1],
            }
    new: dict[str, dict[str, Any]] = {}
    have = {c["id"]: c for c in existing}
    for cid, rec in wanted.items():
        old = have.get(cid)
        winner = (
            None if old is None else (old["winner_value"], old["winner_hlc"], old["winner_device"])
        )
        inserted = write_conflict(conn, cid, rec, winner)
        if inserted is not None:
            new[cid] = inserted
    # A conflict the log no longer makes (its value came back, or someone
    # overwrote it knowingly) is settled; the record stays as history.
    gone = [cid for cid, c in have.items() if cid not in wanted and not c["resolved"]]
    if gone:
        conn.executemany("UPDATE conflicts SET resolved = 1 WHERE id = ?", [[c] for c in gone])
    return new
