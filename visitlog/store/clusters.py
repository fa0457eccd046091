"""Which records are one: merge clusters, derived from synced data alone.

De-duplication merges and the 编号 of households decide which rows are the
same household (or the same visit).  What they decide is never written into
the rows as a synced value: two laptops merging the same pair differently,
or one merging a record another deleted, would otherwise leave values that
point at each other (a cycle: no live record) or at a tombstone.  Instead
every replica derives the same answer from what it holds:

- a **cluster** is what the live (not undone, not deleted) merge records of
  a kind join, each record joining its survivor and members; for households
  also every live household sharing a 编号 (the 编号 is a natural key: the
  same roster imported on two laptops makes two ids for one household);
- the cluster's **representative** is the smallest id among the survivors
  its merge records name that is not deleted, else its smallest id that is
  not deleted (a cluster joined by 编号 alone names none).  A deleted record
  is never the representative, so a merge of a record deleted elsewhere
  meanwhile keeps the other one;
- every other row of the cluster gets ``merged_into`` = the representative
  (one step: chains and cycles cannot arise), a local column never synced.

Visits and items keep the household (and visit) they were recorded on, which
is what syncs.  Local columns hold where they live now: ``live_household``
of visits and items and ``live_visit`` of items, kept by triggers (migration
m009) whenever a row arrives or a ``merged_into`` changes, so that listings,
summaries, history and search read the representative, and an undone merge
puts everything back where it was.  An item a visit merge found entered twice
(its ``twins``) has ``live_visit`` NULL while a twin of it is not deleted.

An edit made to a merged-away row after the merge (say a phone corrected by a
roster import on a laptop that had not yet seen the merge) is not shown by
the representative; it becomes a conflict on the representative's field
(``source_row`` names the merged-away row), so a worker sees it and can
restore it.  Such conflicts are decided from the synced data too, so every
replica records the same ones.

:func:`relink` recomputes all of this inside the caller's transaction; the
store calls it after a write that may change it, sync after applying.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from sqlite3 import Connection
from typing import Any

from visitlog.clock import now_iso
from visitlog.model import SYNCED_FIELDS
from visitlog.rows import jdump

__all__ = ["CLUSTER_KINDS", "conflict_id", "relink"]

#: Tables whose rows merges join.
CLUSTER_KINDS = ("households", "visits")
#: Fields of a merged-away row whose later edits are not forwarded as conflicts:
#: structure, not content.
_NOT_FORWARDED = {"deleted", "merged_into", "household_id"}
_CHUNK = 400


def conflict_id(tbl: str, row_id: str, field: str, hlc: str, device: str) -> str:
    """The id of a conflict record, the same on every replica that makes it."""
    key = "\x1f".join((tbl, row_id, field, hlc, device))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def write_conflict(
    conn: Any, cid: str, rec: dict[str, Any], old_winner: tuple[Any, ...] | None
) -> dict[str, Any] | None:
    """Record conflict *cid* as *rec*: a new record when there is none (*old_winner* None),
    else the winner brought up to date if it changed.  Returns the record inserted, if any."""
    if old_winner is None:
        rec = {**rec, "detected_at": now_iso(), "resolved": 0}
        conn.execute(
            f"INSERT INTO conflicts ({', '.join(rec)}) VALUES ({', '.join('?' * len(rec))})",
            list(rec.values()),
        )
        return rec
    winner = (rec["winner_value"], rec["winner_hlc"], rec["winner_device"])
    if old_winner != winner:
        conn.execute(
            "UPDATE conflicts SET winner_value = ?, winner_hlc = ?, winner_device = ? WHERE id = ?",
            [*winner, cid],
        )
    return None


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


class _Union:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        root = parent.setdefault(x, x)
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, ids: list[str]) -> None:
        if not ids:
            return
        first = self.find(ids[0])
        for other in ids[1:]:
            root = self.find(other)
            if root != first:
                # the smaller root wins: the result does not depend on order
                lo, hi = sorted((first, root))
                self.parent[hi] = lo
                first = lo


def _insert_stamp(stamps: str | None, hlc: str, device: str) -> tuple[str, str]:
    """The stamp a row was made with (its default stamp)."""
    if stamps:
        default = json.loads(stamps).get("*")
        if default:
            return default[0], default[1]
    return hlc, device


def relink(conn: Connection) -> dict[str, int]:
    """Recompute merge clusters, ``merged_into``, hidden twin items and forwarded
    conflicts from the synced data, inside the caller's transaction.

    Returns:
        How many rows changed representative, per table (for tests and audit).
    """
    moved: dict[str, int] = {}
    for tbl in CLUSTER_KINDS:
        target, joined_at = _targets(conn, tbl)
        moved[tbl] = _write_targets(conn, tbl, target)
        _forward_conflicts(conn, tbl, target, joined_at)
    _hide_twins(conn)
    return moved


def _targets(conn: Connection, tbl: str) -> tuple[dict[str, str | None], dict[str, str]]:
    """``{id: representative}`` of every row in a cluster (None for the
    representative itself, or when no row of the cluster is live), and
    ``{id: stamp of the earliest live merge record that joined it}``."""
    uf = _Union()
    named: set[str] = set()
    joined_at: dict[str, str] = {}
    for survivor, members, stamps, hlc, device in conn.execute(
        "SELECT survivor, members, stamps, hlc, device FROM dedup_merges "
        "WHERE kind = ? AND deleted = 0 AND undone = 0",
        [tbl],
    ):
        try:
            ids = [survivor, *json.loads(members or "[]")]
        except (TypeError, ValueError):
            continue
        ids = [i for i in ids if isinstance(i, str) and i]
        uf.union(ids)
        if survivor:
            named.add(survivor)
        made = _insert_stamp(stamps, hlc, device)[0]
        for i in ids:
            if i not in joined_at or made < joined_at[i]:
                joined_at[i] = made
    if tbl == "households":
        refs: dict[str, list[str]] = {}
        for ref, hid in conn.execute(
            "SELECT ref, id FROM households WHERE deleted = 0 AND ref IS NOT NULL AND ref != '' "
            "AND ref IN (SELECT ref FROM households WHERE deleted = 0 AND ref IS NOT NULL "
            "AND ref != '' GROUP BY ref HAVING count(*) > 1)"
        ):
            refs.setdefault(ref, []).append(hid)
        for ids in refs.values():
            uf.union(sorted(ids))
    ids = sorted(uf.parent)
    if not ids:
        return {}, joined_at
    deleted: dict[str, int] = {}
    for part in _chunks(ids):
        marks = ",".join("?" * len(part))
        for rid, dead in conn.execute(f"SELECT id, deleted FROM {tbl} WHERE id IN ({marks})", part):
            deleted[rid] = dead
    clusters: dict[str, list[str]] = {}
    for i in ids:
        clusters.setdefault(uf.find(i), []).append(i)
    target: dict[str, str | None] = {}
    for members in clusters.values():
        present = [i for i in members if i in deleted]
        if len(present) < 2:
            continue
        live = [i for i in present if not deleted[i]]
        chosen = [i for i in live if i in named] or live
        rep = min(chosen) if chosen else None
        for i in present:
            target[i] = rep if i != rep else None
    return target, joined_at


def _write_targets(conn: Connection, tbl: str, target: dict[str, str | None]) -> int:
    current = dict(conn.execute(f"SELECT id, merged_into FROM {tbl} WHERE merged_into IS NOT NULL"))
    updates = [(rep, rid) for rid, rep in target.items() if current.get(rid) != rep]
    updates += [(None, rid) for rid in current if rid not in target]
    if updates:
        # The triggers of m009 move the live_household / live_visit of the rows
        # that point at these.
        conn.executemany(f"UPDATE {tbl} SET merged_into = ? WHERE id = ?", updates)
    return len(updates)


def _hide_twins(conn: Connection) -> None:
    """Items a live visit merge found entered twice are hidden while a twin lives.

    Merges of overlapping visits made on different laptops may name different
    twins for one item; every twin any live merge names counts, so the answer
    does not depend on the order the merge records arrived in.
    """
    twins: dict[str, set[str]] = {}
    for (text,) in conn.execute(
        "SELECT twins FROM dedup_merges WHERE kind = 'visits' AND deleted = 0 AND undone = 0 "
        "AND twins IS NOT NULL AND twins != '{}'"
    ):
        try:
            pairs = json.loads(text)
        except (TypeError, ValueError):
            continue
        if isinstance(pairs, dict):
            for d, k in pairs.items():
                if isinstance(k, str):
                    twins.setdefault(d, set()).add(k)
    want: set[str] = set()
    if twins:
        ids = sorted({*twins, *(k for ks in twins.values() for k in ks)})
        state: dict[str, int] = {}
        for part in _chunks(ids):
            marks = ",".join("?" * len(part))
            for rid, dead in conn.execute(
                f"SELECT id, deleted FROM items WHERE id IN ({marks})", part
            ):
                state[rid] = dead
        want = {d for d, ks in twins.items() if d in state and any(state.get(k) == 0 for k in ks)}
        want -= _keepers_of_cycles(twins, state, want)
    hidden = {r[0] for r in conn.execute("SELECT id FROM items WHERE live_visit IS NULL")}
    if want - hidden:
        conn.executemany(
            "UPDATE items SET live_visit = NULL WHERE id = ?", [[i] for i in sorted(want - hidden)]
        )
    if hidden - want:
        conn.executemany(
            "UPDATE items SET live_visit = coalesce("
            "(SELECT v.merged_into FROM visits v WHERE v.id = items.visit_id), visit_id) "
            "WHERE id = ?",
            [[i] for i in sorted(hidden - want)],
        )


def _keepers_of_cycles(
    twins: dict[str, set[str]], state: dict[str, int], want: set[str]
) -> set[str]:
    """Items to show although a merge names them as twins: two laptops that
    merged one pair each kept the other copy's item, so each item names the
    other as the one kept and both would be hidden.  Among items whose every
    living twin would be hidden too, each group of such items joined by twin
    links keeps its smallest id shown (the same on every replica)."""
    stuck = {d for d in want if all(k in want for k in twins[d] if state.get(k) == 0)}
    if not stuck:
        return set()
    group = {d: d for d in stuck}

    def root(x: str) -> str:
        while group[x] != x:
            group[x] = group[group[x]]
            x = group[x]
        return x

    for d in sorted(stuck):
        for k in sorted(twins[d]):
            if k in stuck:
                a, b = root(d), root(k)
                if a != b:
                    group[max(a, b)] = min(a, b)
    return {min(d for d in stuck if root(d) == r) for r in {root(d) for d in stuck}}


def _field_stamp(row: dict[str, Any], field: str) -> tuple[str, str]:
    stamps = json.loads(row["stamps"]) if row["stamps"] else {}
    got = stamps.get(field) or stamps.get("*") or [row["hlc"], row["device"]]
    return got[0], got[1]


def _rows(conn: Connection, tbl: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for part in _chunks(ids):
        marks = ",".join("?" * len(part))
        cur = conn.execute(f"SELECT * FROM {tbl} WHERE id IN ({marks})", part)
        names = [d[0] for d in cur.description]
        for r in cur:
            row = dict(zip(names, r, strict=True))
            out[row["id"]] = row
    return out


def _forward_conflicts(
    conn: Connection, tbl: str, target: dict[str, str | None], joined_at: dict[str, str]
) -> None:
    """Conflicts on representatives for edits their merged-away rows received later."""
    fields = [f for f in SYNCED_FIELDS[tbl] if f not in _NOT_FORWARDED]
    pairs = {m: r for m, r in target.items() if r is not None}
    rows = _rows(conn, tbl, sorted({*pairs, *pairs.values()})) if pairs else {}
    wanted: dict[str, dict[str, Any]] = {}
    for m, r in pairs.items():
        mrow, rrow = rows.get(m), rows.get(r)
        if mrow is None or rrow is None or mrow["deleted"]:
            continue
        # Only what changed after the merge that joined it (a merge by 编号
        # alone has no such moment: the two copies are compared as they are).
        after = joined_at.get(m, "")
        for f in fields:
            if mrow[f] == rrow[f]:
                continue
            stamp = _field_stamp(mrow, f)
            if stamp[0] <= after or stamp <= _field_stamp(rrow, f):
                continue
            win = _field_stamp(rrow, f)
            cid = conflict_id(tbl, r, f, stamp[0], stamp[1])
            wanted[cid] = {
                "id": cid,
                "tbl": tbl,
                "row_id": r,
                "field": f,
                "value": jdump(mrow[f]),
                "hlc": stamp[0],
                "device": stamp[1],
                "winner_value": jdump(rrow[f]),
                "winner_hlc": win[0],
                "winner_device": win[1],
                "source_row": m,
            }
    cur = conn.execute(
        "SELECT id, resolved, winner_value, winner_hlc, winner_device FROM conflicts "
        "WHERE tbl = ? AND source_row IS NOT NULL",
        [tbl],
    )
    have = {r[0]: r[1:] for r in cur}
    for cid, rec in wanted.items():
        old = have.get(cid)
        if old is None or old[0] == 0:
            write_conflict(conn, cid, rec, None if old is None else tuple(old[1:]))
    gone = [cid for cid, old in have.items() if cid not in wanted and old[0] == 0]
    if gone:
        conn.executemany("UPDATE conflicts SET resolved = 1 WHERE id = ?", [[c] for c in gone])
