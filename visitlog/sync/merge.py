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

from visitlog.clock import MAX_AHEAD_MS, Stamp, wall_ms
from visitlog.clusters import conflict_id, relink
from visitlog.i18n import t
from visitlog.model import SYNCED_FIELDS, VisitlogError
from visitlog.store import LIVE_COLUMNS, LIVE_SOURCE, Tx

#: One change as stored in ``changes`` and as shipped:
#: ``(device, seq, tbl, row_id, hlc, op, data, base)``; data and base are JSON text.
Change = tuple[str, int, str, str, str, str, str, str | None]
CHANGE_COLUMNS = "device, seq, tbl, row_id, hlc, op, data, base"

# Enough rows per IN (...) query to amortise it, well under SQLite's
# variable limit.
_CHUNK = 400


class GapError(VisitlogError):
    """Changes of a device arrived with a hole before them: refused whole."""


def _jdump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@functools.lru_cache(maxsize=4096)
def _iso_second(second: int) -> str:
    return dt.datetime.fromtimestamp(second, dt.UTC).isoformat(timespec="seconds")


def created_at_of(hlc: str) -> str:
    """``created_at`` of a received row: the time of its insert stamp.

    Derived from the stamp (not the receiver's clock) so that every replica
    that receives the row stores the same value.
    """
    try:
        return _iso_second(int(hlc[:13]) // 1000)
    except (ValueError, OverflowError, OSError):
        return _now_iso()


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
        now_ms: the wall clock, for reporting stamps far in the future.
    """

    def __init__(self, tx: Tx, now_ms: Callable[[], int] = wall_ms):
        self.tx = tx
        self.conn = tx.conn
        self.vv = version_vector(self.conn)
        self.received: Counter[str] = Counter()
        self.max_hlc: str | None = None
        #: device → [count, highest stamp] of stamps more than a day ahead.
        self.skew: dict[str, list[Any]] = {}
        #: id → record of conflicts first recorded on this replica by this apply.
        self.new_conflicts: dict[str, dict[str, Any]] = {}
        self._now_ms = now_ms
        self._ahead = str(Stamp(now_ms() + MAX_AHEAD_MS, 99999))
        row = self.conn.execute("SELECT value FROM settings WHERE key = 'device_id'").fetchone()
        self.own_device: str | None = row[0] if row else None
        self._open_conflicts = bool(
            self.conn.execute("SELECT 1 FROM conflicts WHERE resolved = 0 LIMIT 1").fetchone()
        )
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
        """
        fresh: list[Change] = []
        for ch in batch:
            device, seq, tbl = ch[0], ch[1], ch[2]
            have = self.vv.get(device, 0)
            if seq <= have:
                continue  # already held: re-sent changes change nothing
            if seq != have + 1:
                raise GapError(t("sync.err.gap", device=device, have=have, first=seq))
            if tbl not in SYNCED_FIELDS:
                raise VisitlogError(t("sync.err.unknown_table", table=tbl))
            self.vv[device] = seq
            fresh.append(ch)
        if not fresh:
            return 0
        self.conn.executemany(
            f"INSERT INTO changes({CHANGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", fresh
        )
        inserts: dict[str, list[tuple[str, str, str, str]]] = {}
        touched: list[tuple[str, str]] = []
        top = self.max_hlc or ""
        ahead = self._ahead
        for device, _seq, tbl, row_id, hlc, op, data, _base in fresh:
            self.received[tbl] += 1
            if hlc > top:
                top = hlc
            if hlc > ahead:
                entry = self.skew.setdefault(device, [0, hlc])
                entry[0] += 1
                entry[1] = max(entry[1], hlc)
            if op == "insert":
                inserts.setdefault(tbl, []).append((row_id, hlc, device, data))
            else:
                touched.append((tbl, row_id))
        self.max_hlc = top
        for tbl, rows in inserts.items():
            touched += self._insert_new(tbl, rows)
        if touched:
            self.conn.executemany(
                "INSERT OR IGNORE INTO temp.sync_touched(tbl, row_id) VALUES (?, ?)", touched
            )
        return len(fresh)

    def _insert_new(self, tbl: str, rows: list[tuple[str, str, str, str]]) -> list[tuple[str, str]]:
        """Fast path: insert rows never seen here; returns rows that were already here."""
        fields = SYNCED_FIELDS[tbl]
        households = tbl == "households"
        live = list(LIVE_COLUMNS.get(tbl, ()))
        deleted = 1 + fields.index("deleted")
        pick = operator.itemgetter(*fields) if len(fields) > 1 else None
        loads = json.loads
        values = []
        for row_id, hlc, device, data in rows:
            v = loads(data)
            try:
                picked = pick(v)  # an insert carries every field: the fast way
            except (KeyError, TypeError):
                picked = tuple(v.get(f) for f in fields)
            tup = [row_id, *picked, created_at_of(hlc), hlc, device]
            tup[deleted] = int(tup[deleted] or 0)  # NOT NULL
            if households:
                tup.append(address_key(v.get("address"), v.get("estate")))
                tup.append(phones_of(v.get("phone")))
            tup += [v.get(LIVE_SOURCE[c]) for c in live]
            values.append(tup)
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
        ids = [r[0] for r in rows]
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

    def pending_merges(self) -> int:
        return self.conn.execute("SELECT count(*) FROM temp.sync_touched").fetchone()[0]

    def finish(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Recompute the marked rows, move the clock past what was received."""
        total = self.pending_merges()
        done = 0
        cur = self.conn.execute("SELECT tbl, row_id FROM temp.sync_touched ORDER BY tbl, row_id")
        while chunk := cur.fetchmany(_CHUNK):
            by_tbl: dict[str, list[str]] = {}
            for tbl, rid in chunk:
                by_tbl.setdefault(tbl, []).append(rid)
            for tbl, ids in by_tbl.items():
                self.new_conflicts.update(merge_rows(self.conn, tbl, ids))
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
        """The stamps received more than a day ahead of this replica's clock, per device."""
        now = self._now_ms()
        return [
            {
                "device": device,
                "count": count,
                "hlc": top,
                "ahead_hours": round((Stamp.parse(top).ms - now) / 3_600_000, 1),
            }
            for device, (count, top) in sorted(self.skew.items())
        ]


# -- recomputing rows ------------------------------------------------------------------


def merge_rows(conn: Connection, tbl: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Recompute rows of one table from their whole change log.

    Writes each row's winning values and stamps, and brings its conflict
    records up to date.

    Returns:
        The conflicts recorded for the first time, by id.
    """
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
        for rid in part:
            log = logs.get(rid)
            if not log:
                continue
            sets, found = _merge_row(conn, tbl, rid, rows.get(rid), log, existing.get(rid, []))
            if sets:
                updates.setdefault(tuple(sets), []).append([*sets.values(), rid])
            new.update(found)
        for cols, params in updates.items():
            conn.executemany(
                f"UPDATE {tbl} SET {', '.join(f'{k} = ?' for k in cols)} WHERE id = ?", params
            )
    return new


def _merge_row(
    conn: Connection,
    tbl: str,
    rid: str,
    row: dict[str, Any] | None,
    log: list[tuple[Any, ...]],
    existing: list[dict[str, Any]],
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The columns to write for one row, and the conflicts first recorded for it."""
    fields = SYNCED_FIELDS[tbl]
    parsed = [
        ((hlc, device), op, json.loads(data), json.loads(base) if base else None)
        for hlc, device, op, data, base in log
    ]
    inserts = [stamp for stamp, op, _, _ in parsed if op == "insert"]
    old_stamps = json.loads(row["stamps"]) if row and row["stamps"] else {}
    # Only fields some update touched can have changed: with one insert,
    # every other field keeps the insert's value and stamp.
    if row is None or len(inserts) != 1:
        relevant = set(fields)
    else:
        relevant = {f for _, op, data, _ in parsed if op != "insert" for f in data}
        relevant = (relevant | old_stamps.keys()) & set(fields)
    cands: dict[str, list[tuple[tuple[str, str], Any]]] = {f: [] for f in relevant}
    based: dict[str, set[tuple[str, str]]] = {f: set() for f in relevant}
    for stamp, _op, data, base in parsed:
        for f in relevant.intersection(data):
            cands[f].append((stamp, data[f]))
        for f, b in (base or {}).items():
            if f in based and isinstance(b, list) and len(b) == 2:
                based[f].add((b[0], b[1]))

    if row is None:
        if inserts:
            _insert_folded(conn, tbl, rid, cands, max(inserts))
        # else its insert has not arrived; a later merge will build it
        return {}, {}

    old_default = tuple(old_stamps.get("*") or (row["hlc"], row["device"]))
    # With two inserts under one id, every replica takes the later as the
    # default stamp, so all of them write the same stamps.
    default = max(inserts) if inserts else old_default
    winners: dict[str, tuple[tuple[str, str], Any]] = {}
    for f in relevant:
        current = (tuple(old_stamps.get(f) or old_default), row[f])
        pool = cands[f] or [current]
        best = max(pool, key=_by_stamp)
        if current[0] > best[0]:
            best = current  # state from outside the log (should not happen): keep it
        winners[f] = best
    stamps: dict[str, list[str]] = {
        f: list(w[0]) for f, w in winners.items() if w[0] != tuple(default)
    }
    new_stamps = {"*": list(default), **stamps} if stamps else None
    top = max([tuple(default), *(w[0] for w in winners.values())])
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
        sets["stamps"] = _jdump(new_stamps) if new_stamps else None
    return sets, _settle_conflicts(conn, tbl, rid, cands, based, existing)


def _by_stamp(cand: tuple[tuple[str, str], Any]) -> tuple[str, str]:
    return cand[0]


def _insert_folded(
    conn: Connection,
    tbl: str,
    rid: str,
    cands: dict[str, list[tuple[tuple[str, str], Any]]],
    default: tuple[str, str],
) -> None:
    fields = SYNCED_FIELDS[tbl]
    winners = {f: max(cands[f], key=_by_stamp) for f in fields if cands.get(f)}
    stamps = {f: list(w[0]) for f, w in winners.items() if w[0] != default}
    top = max([default, *(w[0] for w in winners.values())])
    values: dict[str, Any] = {f: w[1] for f, w in winners.items()}
    values["deleted"] = int(values.get("deleted") or 0)
    values |= {
        "id": rid,
        "created_at": created_at_of(default[0]),
        "hlc": top[0],
        "device": top[1],
        "stamps": _jdump({"*": list(default), **stamps}) if stamps else None,
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
) -> dict[str, dict[str, Any]]:
    """Record this row's conflicts as the log now decides them (see module doc)."""
    wanted: dict[str, dict[str, Any]] = {}
    for f, pool in cands.items():
        if len(pool) < 2:
            continue
        win_stamp, win_value = max(pool, key=_by_stamp)
        for stamp, value in pool:
            if stamp == win_stamp or stamp in based[f]:
                continue  # the winner, or overwritten by someone who saw it
            if any(s > stamp and v == value for s, v in pool):
                continue  # a later change carries the same value: nothing lost
            cid = conflict_id(tbl, rid, f, stamp[0], stamp[1])
            wanted[cid] = {
                "id": cid,
                "tbl": tbl,
                "row_id": rid,
                "field": f,
                "value": _jdump(value),
                "hlc": stamp[0],
                "device": stamp[1],
                "winner_value": _jdump(win_value),
                "winner_hlc": win_stamp[0],
                "winner_device": win_stamp[1],
            }
    new: dict[str, dict[str, Any]] = {}
    have = {c["id"]: c for c in existing}
    for cid, rec in wanted.items():
        old = have.get(cid)
        if old is None:
            rec = {**rec, "detected_at": _now_iso(), "resolved": 0}
            conn.execute(
                f"INSERT INTO conflicts ({', '.join(rec)}) VALUES ({', '.join('?' * len(rec))})",
                list(rec.values()),
            )
            new[cid] = rec
        elif (old["winner_value"], old["winner_hlc"], old["winner_device"]) != (
            rec["winner_value"],
            rec["winner_hlc"],
            rec["winner_device"],
        ):
            conn.execute(
                "UPDATE conflicts SET winner_value = ?, winner_hlc = ?, winner_device = ? "
                "WHERE id = ?",
                [rec["winner_value"], rec["winner_hlc"], rec["winner_device"], cid],
            )
    # A conflict the log no longer makes (its value came back, or someone
    # overwrote it knowingly) is settled; the record stays as history.
    gone = [cid for cid, c in have.items() if cid not in wanted and not c["resolved"]]
    if gone:
        conn.executemany("UPDATE conflicts SET resolved = 1 WHERE id = ?", [[c] for c in gone])
    return new
