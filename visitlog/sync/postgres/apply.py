"""Received changes applied to a PostgreSQL hub, inside its one transaction.

:class:`PgApplier` is this engine's :class:`visitlog.sync.interface.Applier`:
the order of changes, gaps, replays, held stamps and the clock are
:class:`visitlog.sync.merge.Receiver`'s, and every touched row is recomputed
from its whole change log by :func:`visitlog.sync.merge.fold_row`, as in the
SQLite engine.  New changes go to ``changes``; rows waiting for late work to
``orphans``; changes held as far ahead to ``held``.  A row is stored as the
JSON of what the rules read, with its household's 居民区 and 微网格 beside it
for the stations' policies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from psycopg import Connection
from psycopg.types.json import Jsonb

from visitlog.clock import now_iso
from visitlog.progress import Progress, report
from visitlog.rows import jdump
from visitlog.sync.interface import Change
from visitlog.sync.merge import PARENTS, TABLE_ORDER, Receiver, fold_row, horizon_after

#: Rows read and written per round trip.
CHUNK = 1000
_HOUR_MS = 3_600_000
#: Tables whose rows belong to one household (what a station may see).
PLACED = ("households", "visits", "items")


def vv_of(conn: Connection) -> dict[str, int]:
    """``{device: highest seq}`` of the hub's whole change log."""
    return {d: int(s) for d, s in conn.execute("SELECT * FROM visitlog_version_vector()")}


def change_of(conn: Connection, device: str, seq: int) -> Change | None:
    row = conn.execute(
        "SELECT device, seq, tbl, row_id, hlc, op, data, base FROM changes "
        "WHERE device = %s AND seq = %s",
        [device, seq],
    ).fetchone()
    return tuple(row) if row else None  # type: ignore[return-value]


def _setting(conn: Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM settings WHERE key = %s", [key]).fetchone()
    return row[0] if row else None


def _set(conn: Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO settings(key, value) VALUES (%s, %s) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


class PgApplier(Receiver):
    """Applies a stream of received changes in the hub's open transaction."""

    def __init__(
        self,
        conn: Connection,
        now_ms: Callable[[], int] | None = None,
        *,
        station: bool = False,
    ):
        """Args:
        station: the connection's role is a station's, which reads through
            the policies only the changes of rows already on the hub: the
            changes of the rows it brings (a visit, a household new today)
            are kept aside in this transaction, so that it can build them.
        """
        self.conn = conn
        self._station = station
        if station:
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS received (LIKE changes) ON COMMIT DELETE ROWS"
            )
        super().__init__(vv_of(conn), lambda d, s: change_of(conn, d, s), now_ms)
        self.touched: set[tuple[str, str]] = set()
        self._open_conflicts = bool(
            conn.execute("SELECT 1 FROM conflicts WHERE NOT resolved LIMIT 1").fetchone()
        )

    def add(self, batch: Sequence[Change]) -> int:
        got = self.sort(batch)
        if got is None:
            return 0
        with self.conn.cursor() as cur:
            if got.replaced:
                cur.executemany("DELETE FROM changes WHERE device = %s AND seq = %s", got.replaced)
            # COPY into a scratch table, then one INSERT: far fewer round trips
            # than a row at a time, and a change held already is kept as it is.
            cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS incoming (LIKE changes) ON COMMIT DELETE ROWS"
            )
            with cur.copy(
                "COPY incoming(device, seq, tbl, row_id, hlc, op, data, base) FROM STDIN"
            ) as copy:
                for ch in got.fresh:
                    copy.write_row(ch)
            if self._station:
                cur.execute(
                    "INSERT INTO received SELECT * FROM incoming "
                    "WHERE tbl IN ('households', 'visits', 'items')"
                )
            cur.execute(
                "INSERT INTO changes SELECT * FROM incoming ON CONFLICT DO NOTHING; "
                "TRUNCATE incoming"
            )
            if got.held:
                cur.executemany(
                    "INSERT INTO held(device, seq, tbl, row_id, hlc) VALUES (%s, %s, %s, %s, %s) "
                    "ON CONFLICT DO NOTHING",
                    got.held,
                )
        self.touched.update(got.touched)
        for tbl, rows in got.inserts.items():
            self.touched.update((tbl, r[0]) for r in rows)
        return len(got.fresh)

    def note_sent(self, batch: Sequence[Change]) -> None:
        """A hub makes no edits of its own: what it sends settles nothing."""

    def _revisit(self) -> None:
        conn = self.conn
        self.touched.update(
            (t, r) for t, r in conn.execute("SELECT tbl, row_id FROM orphans").fetchall()
        )
        reached = conn.execute(
            "DELETE FROM held WHERE hlc <= %s RETURNING tbl, row_id", [self.bound]
        ).fetchall()
        self.touched.update((t, r) for t, r in reached)
        last = _setting(conn, "hold_bound")
        if last is not None and self.bound < last:
            # A clock behind one that merged here before: changes applied
            # then may be far in the future now (see visitlog.sync.merge).
            newly = conn.execute(
                "INSERT INTO held(device, seq, tbl, row_id, hlc) "
                "SELECT device, seq, tbl, row_id, hlc FROM changes WHERE hlc > %s "
                "ON CONFLICT DO NOTHING RETURNING device, tbl, row_id, hlc",
                [self.bound],
            ).fetchall()
            for device, tbl, rid, hlc in newly:
                self.touched.add((tbl, rid))
                self.note_skew(device, hlc)
        if last is None or self.bound < last or self.bound > horizon_after(last, _HOUR_MS):
            _set(conn, "hold_bound", self.bound)

    def pending_merges(self) -> int:
        return len(self.touched)

    def finish(self, progress: Progress | None = None) -> None:
        """Recompute every touched row from its log (``progress("merge", …)``)."""
        self._revisit()
        order = {tbl: n for n, tbl in enumerate(TABLE_ORDER)}
        todo = sorted(self.touched, key=lambda r: (order.get(r[0], len(order)), r[0], r[1]))
        total, done = len(todo), 0
        for i in range(0, total, CHUNK):
            by_tbl: dict[str, list[str]] = {}
            for tbl, rid in todo[i : i + CHUNK]:
                by_tbl.setdefault(tbl, []).append(rid)
            for tbl, ids in by_tbl.items():
                self._merge(tbl, ids)
            done = min(total, i + CHUNK)
            report(progress, "merge", done, total)
        self.touched.clear()

    def _merge(self, tbl: str, ids: list[str]) -> None:
        conn = self.conn
        rows = {
            rid: dict(data)
            for rid, data in conn.execute(
                "SELECT id, data FROM rows WHERE tbl = %s AND id = ANY(%s)", [tbl, ids]
            )
        }
        logs: dict[str, list[tuple[Any, ...]]] = {}
        query = (
            "SELECT row_id, hlc, device, op, data, base FROM changes "
            "WHERE tbl = %s AND row_id = ANY(%s)"
        )
        params: list[Any] = [tbl, ids]
        if self._station and tbl in PLACED:
            # A new row's changes, which the policies hide until the row is here.
            query += (
                " UNION SELECT row_id, hlc, device, op, data, base FROM received "
                "WHERE tbl = %s AND row_id = ANY(%s)"
            )
            params += [tbl, ids]
        for rec in conn.execute(query, params):  # type: ignore[call-overload]
            logs.setdefault(rec[0], []).append(tuple(rec[1:]))
        existing: dict[str, dict[str, dict[str, Any]]] = {}
        for cid, rid, rec, resolved in conn.execute(
            "SELECT id, row_id, record, resolved FROM conflicts "
            "WHERE tbl = %s AND row_id = ANY(%s)",
            [tbl, ids],
        ):
            existing.setdefault(rid, {})[cid] = {**rec, "resolved": resolved}
        write: list[tuple[str, dict[str, Any]]] = []
        waiting: list[str] = []
        built: list[str] = []
        folds = {}
        for rid in ids:
            if rid in logs and rid not in rows:
                folds[rid] = fold_row(tbl, rid, None, logs[rid], self.bound)  # type: ignore[arg-type]
        present = self._parents_present(tbl, [f.parents for f in folds.values() if f.insert])
        for rid in ids:
            log = logs.get(rid)
            if not log:
                # A row this role may not read (a laptop's edit of a household
                # since moved out of its grids): the next sync by a role that
                # may see it recomputes it.
                waiting.append(rid)
                continue
            row = rows.get(rid)
            if row is None:
                fold = folds[rid]
                if fold.insert is not None and all(
                    fold.parents.get(col) is None or fold.parents[col] in present[parent]
                    for col, parent in PARENTS.get(tbl, ())
                ):
                    write.append((rid, fold.insert))
                    built.append(rid)
                    self._settle(tbl, rid, fold.conflicts, existing.get(rid, {}))
                else:
                    waiting.append(rid)
                continue
            built.append(rid)
            fold = fold_row(tbl, rid, row, log, self.bound)  # type: ignore[arg-type]
            if fold.sets:
                write.append((rid, {**row, **fold.sets}))
            self._settle(tbl, rid, fold.conflicts, existing.get(rid, {}))
        self._write(tbl, write, set(rows))
        with conn.cursor() as cur:
            if waiting:
                cur.executemany(
                    "INSERT INTO orphans(tbl, row_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                    [(tbl, r) for r in waiting],
                )
            if built:
                conn.execute(
                    "DELETE FROM orphans WHERE tbl = %s AND row_id = ANY(%s)", [tbl, built]
                )

    def _parents_present(self, tbl: str, wanted: list[dict[str, Any]]) -> dict[str, set[str]]:
        """Of the parent rows *wanted* (rows about to be built) name, those here."""
        present: dict[str, set[str]] = {}
        for col, parent in PARENTS.get(tbl, ()):
            ids = sorted({w[col] for w in wanted if w.get(col) is not None})
            present[parent] = (
                {
                    r[0]
                    for r in self.conn.execute(
                        "SELECT id FROM rows WHERE tbl = %s AND id = ANY(%s)", [parent, ids]
                    )
                }
                if ids
                else set()
            )
        return present

    def _write(self, tbl: str, write: list[tuple[str, dict[str, Any]]], existing: set[str]) -> None:
        """Store rows, each with its household's place; a household moved
        between grids takes its visits and items with it."""
        if not write:
            return
        conn = self.conn
        places: dict[str, tuple[str | None, str | None]] = {}
        if tbl == "households":
            places = {rid: (d.get("community"), d.get("micro_grid")) for rid, d in write}
            old = dict(
                (rid, (c, g))
                for rid, c, g in conn.execute(
                    "SELECT id, community, micro_grid FROM rows "
                    "WHERE tbl = 'households' AND id = ANY(%s)",
                    [list(places)],
                )
            )
            moved = [
                (*places[rid], rid) for rid in places if rid in old and old[rid] != places[rid]
            ]
        elif tbl in PLACED:
            wanted = list({d.get("household_id") for _, d in write} - {None})
            places = {
                rid: (c, g)
                for rid, c, g in conn.execute(
                    "SELECT id, community, micro_grid FROM rows "
                    "WHERE tbl = 'households' AND id = ANY(%s)",
                    [wanted],
                )
            }
            moved = []
        else:
            moved = []
        values = []
        for rid, data in write:
            hid = rid if tbl == "households" else data.get("household_id")
            where = places.get(hid, (None, None)) if hid and tbl in PLACED else (None, None)
            values.append(
                (tbl, rid, jdump(data), hid if tbl in PLACED else None, where[0], where[1])
            )
        # Rows already here are updated, new ones inserted (not one upsert: a
        # station may move a row out of what it sees, which an upsert refuses).
        new = [v for v in values if v[1] not in existing]
        old_rows = [v for v in values if v[1] in existing]
        with conn.cursor() as cur:
            if new and self._station:
                # PostgreSQL refuses COPY into a table under row-level security.
                cur.executemany(
                    "INSERT INTO rows(tbl, id, data, household_id, community, micro_grid) "
                    "VALUES (%s, %s, %s::jsonb, %s, %s, %s)",
                    new,
                )
            elif new:
                with cur.copy(
                    "COPY rows(tbl, id, data, household_id, community, micro_grid) FROM STDIN"
                ) as copy:
                    for v in new:
                        copy.write_row(v)
            if old_rows:
                cur.executemany(
                    "SELECT visitlog_update_row(%s, %s, %s::jsonb, %s, %s, %s)",
                    old_rows,
                )
            if moved:
                cur.executemany(
                    "SELECT visitlog_place(%s, %s, %s)", [(h, c, g) for c, g, h in moved]
                )
                self._note_moves(moved)

    def _note_moves(self, moved: Iterable[tuple[str | None, str | None, str]]) -> None:
        """Remember households that changed place, for the stations' laptops."""
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO moves(household_id, community, micro_grid) VALUES (%s, %s, %s)",
                [(h, c, g) for c, g, h in moved],
            )

    def _settle(
        self,
        tbl: str,
        rid: str,
        wanted: dict[str, dict[str, Any]],
        have: dict[str, dict[str, Any]],
    ) -> None:
        conn = self.conn
        for cid, rec in wanted.items():
            old = have.get(cid)
            if old is None:
                stored = {**rec, "detected_at": now_iso(), "resolved": 0}
                conn.execute(
                    "INSERT INTO conflicts(id, tbl, row_id, record) VALUES (%s, %s, %s, %s)",
                    [cid, tbl, rid, Jsonb(stored)],
                )
                self.new_conflicts[cid] = stored
            elif any(old.get(k) != rec[k] for k in ("winner_value", "winner_hlc", "winner_device")):
                conn.execute(
                    "UPDATE conflicts SET record = record || %s WHERE id = %s",
                    [Jsonb({k: rec[k] for k in rec if k.startswith("winner")}), cid],
                )
        gone = [cid for cid, c in have.items() if cid not in wanted and not c["resolved"]]
        if gone:
            conn.execute("UPDATE conflicts SET resolved = true WHERE id = ANY(%s)", [gone])


__all__ = ["CHUNK", "PLACED", "PgApplier", "change_of", "vv_of"]
