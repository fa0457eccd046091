"""Rows recomputed from their change log, in a SQLite replica.

The rules are :func:`visitlog.sync.merge.fold_row`'s; this module reads what
they need (the rows, their logs, their conflict records) in chunks and
writes what they decide: updated columns, rows built once their insert and
parents are here, orphans (``sync_orphans``) and conflict records.
"""

from __future__ import annotations

from collections.abc import Sequence
from sqlite3 import Connection
from typing import Any

from visitlog.clock import horizon
from visitlog.store import LIVE_COLUMNS, LIVE_SOURCE, write_conflict
from visitlog.store.inserts import held_insert, keep
from visitlog.sync.merge import PARENTS, fold_row

# Enough rows per IN (...) query to amortise it, well under SQLite's
# variable limit.
CHUNK = 400


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
    for i in range(0, len(ids), CHUNK):
        part = list(ids[i : i + CHUNK])
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
        for rid, row in rows.items():
            held = held_insert(tbl, row)  # the row holds its insert: part of its log
            if held is not None:
                logs.setdefault(rid, []).append(held)
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
        kept: list[dict[str, Any]] = []
        for rid in part:
            log = logs.get(rid)
            if not log:
                continue
            row = rows.get(rid)
            fold = fold_row(tbl, rid, row, log, bound)  # type: ignore[arg-type]
            if row is None:
                if fold.insert is not None and _parents_here(conn, tbl, fold.parents):
                    _insert(conn, tbl, fold.insert)
                # else its insert (or its visit or household) has not arrived:
                # a later merge builds it (sync_orphans)
                exists = conn.execute(f"SELECT 1 FROM {tbl} WHERE id = ?", [rid]).fetchone()
                (built if exists else waiting).append((tbl, rid))
                if exists:
                    new.update(_settle(conn, fold.conflicts, existing.get(rid, [])))
                continue
            built.append((tbl, rid))
            if fold.sets:
                kept.append(row)  # if it holds its insert, the insert moves to the log first
                updates.setdefault(tuple(fold.sets), []).append([*fold.sets.values(), rid])
            new.update(_settle(conn, fold.conflicts, existing.get(rid, [])))
        keep(conn, tbl, kept)
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


def _parents_here(conn: Connection, tbl: str, data: dict[str, Any]) -> bool:
    for col, parent in PARENTS.get(tbl, ()):
        ref = data.get(col)
        if (
            ref is not None
            and not conn.execute(f"SELECT 1 FROM {parent} WHERE id = ?", [ref]).fetchone()
        ):
            return False
    return True


def _insert(conn: Connection, tbl: str, values: dict[str, Any]) -> None:
    """Insert a row built from its log, with the columns SQLite keeps beside it."""
    for col in LIVE_COLUMNS.get(tbl, ()):
        values[col] = values.get(LIVE_SOURCE[col])
    conn.execute(
        f"INSERT INTO {tbl} ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
        list(values.values()),
    )


def _settle(
    conn: Connection, wanted: dict[str, dict[str, Any]], existing: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Write the conflicts a row's log makes; settle those it no longer makes."""
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
