"""Merging duplicates, undoing merges, and recording "not a duplicate".

A merge is one transaction that writes a ``dedup_merges`` record (synced)
naming the survivor and the merged records.  The survivor is the smallest id
of the group, so two laptops merging the same records pick the same one; the
values it shows are the merge's own decision (the richest record's, then what
the others add), written onto it through :meth:`Tx.update` so they sync like
any edit, with their values before and after kept in the record.  Which rows
are merged into which, and so where visits and items live, is not written:
every replica derives it from the live merge records (:mod:`visitlog.store.clusters`),
so merges made on several laptops commute and cannot form chains or cycles.
``undo`` marks the record undone and puts the "before" values back, again
through :meth:`Tx.update`, so an undo syncs too.

What the survivor takes is in :mod:`visitlog.dedup.survivors`.  "Not a
duplicate" decisions are synced rows of ``dedup_decisions`` whose id comes
from the sorted pair (:mod:`visitlog.dedup.decisions`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from visitlog.clock import now_iso
from visitlog.dedup.decisions import decision_id, resolve_kind
from visitlog.dedup.survivors import Prefetch, Recorder, derived, merge_households, merge_visits
from visitlog.i18n import t
from visitlog.model import (
    SYNCED_FIELDS,
    ValidationError,
    VisitlogError,
)
from visitlog.rows import jdump

if TYPE_CHECKING:  # pragma: no cover
    from visitlog.dedup.results import Candidates
    from visitlog.store import Store, Tx

__all__ = [
    "apply",
    "get_merge",
    "list_merges",
    "mark_distinct",
    "merge",
    "undo",
    "unmark_distinct",
]

# -- merge --------------------------------------------------------------------------


def merge(
    store: Store,
    ids: list[str],
    *,
    kind: str | None = None,
    score: float | None = None,
    reasons: list[str] | None = None,
) -> str:
    """Merge one group of duplicate records, in one transaction.

    Args:
        store: the database.
        ids: two or more household ids, or two or more visit ids (full ids,
            unique prefixes or endings).
        kind: ``households`` or ``visits``; guessed from the first id if None.
        score: the pair score that justified the merge, kept in the record.
        reasons: the reasons shown to the worker, kept in the record.

    Returns:
        The merge id (for ``dedup undo``).

    Raises:
        VisitlogError: an id is unknown, deleted or already merged, or the
            ids are of different kinds or fewer than two records.
    """
    full = _resolve_group(store, ids, kind)
    kind = full[0]
    with store.transaction() as tx:
        return _merge_in(tx, kind, full[1], score, reasons)


def apply(store: Store, result: Candidates) -> list[str]:
    """Merge every cluster of a de-duplication run, all in one transaction.

    Returns:
        The merge ids, one per cluster, in the order of ``result.clusters``.
    """
    if not result.clusters:
        return []
    # The best-scored pair inside each cluster is what the worker would have
    # seen; it is kept in the merge record.
    cluster_of = {rid: n for n, cluster in enumerate(result.clusters) for rid in cluster}
    best: dict[int, Any] = {}
    for pair in result.cluster_evidence:
        n = cluster_of.get(pair.a)
        if n is not None and cluster_of.get(pair.b) == n:
            if n not in best or pair.score > best[n].score:
                best[n] = pair
    merge_ids = []
    with store.transaction() as tx:
        pre = None
        if result.kind == "households":
            pre = Prefetch(tx, [rid for cluster in result.clusters for rid in cluster])
        worker = _worker(tx)
        for n, cluster in enumerate(result.clusters):
            pair = best.get(n)
            merge_ids.append(
                _merge_in(
                    tx,
                    result.kind,
                    cluster,
                    pair.score if pair else None,
                    pair.reasons if pair else None,
                    pre,
                    worker,
                )
            )
    return merge_ids


def _resolve_group(store: Store, ids: list[str], kind: str | None) -> tuple[str, list[str]]:
    resolved: list[str] = []
    kinds = set()
    for ident in ids:
        if kind:
            rid = store.resolve_id(kind, ident)
            k = kind
        else:
            k, rid = resolve_kind(store, ident)
        kinds.add(k)
        if rid not in resolved:
            resolved.append(rid)
    if len(kinds) > 1:
        raise ValidationError(t("dedup.err.mixed_kinds", a=ids[0], b=ids[-1]))
    if len(resolved) < 2:
        if ids and len(ids) >= 2:
            raise ValidationError(t("dedup.err.same_record", id=resolved[0]))
        raise ValidationError(t("dedup.err.cluster_too_small"))
    return kinds.pop(), resolved


def _worker(tx: Tx) -> str | None:
    row = tx.rows("SELECT value FROM settings WHERE key = 'worker'")
    return row[0]["value"] if row else None


def _merge_in(
    tx: Tx,
    kind: str,
    ids: list[str],
    score: float | None,
    reasons: list[str] | None,
    pre: Prefetch | None = None,
    worker: str | None = None,
) -> str:
    rec = Recorder(tx)
    twins: dict[str, str] = {}
    if kind == "households":
        survivor, others = merge_households(tx, rec, ids, pre or Prefetch(tx, ids))
    elif kind == "visits":
        survivor, others, twins = merge_visits(tx, rec, ids)
    else:
        raise ValidationError(t("dedup.err.kind", value=kind))
    merge_id = tx.insert(
        "dedup_merges",
        {
            "kind": kind,
            "survivor": survivor,
            "members": jdump(others),
            "score": score,
            "reasons": jdump(reasons or []),
            "changes": jdump(rec.changes),
            "worker": worker if worker is not None else _worker(tx),
            "undone": 0,
            "undone_at": None,
            "twins": jdump(twins) if twins else None,
        },
    )
    tx.audit(
        "dedup.merge",
        "dedup_merges",
        merge_id,
        {"kind": kind, "survivor": survivor, "merged": others},
    )
    return merge_id


# -- undo -----------------------------------------------------------------------------


def get_merge(store: Store, ident: str) -> dict[str, Any]:
    """One merge record with its JSON fields decoded."""
    mid = store.resolve_id("dedup_merges", ident)
    row = dict(store.query("SELECT * FROM dedup_merges WHERE id = ?", [mid])[0])
    for f in ("members", "reasons", "changes"):
        row[f] = json.loads(row[f]) if row[f] else None
    return row


def list_merges(store: Store, kind: str | None = None) -> list[dict[str, Any]]:
    """Merge records, newest first."""
    rows = store.query(
        "SELECT id, kind, survivor, members, score, worker, undone, created_at "
        "FROM dedup_merges WHERE deleted = 0"
        + (" AND kind = ?" if kind else "")
        + " ORDER BY id DESC",
        [kind] if kind else [],
    )
    return [{**dict(r), "members": json.loads(r["members"])} for r in rows]


def _ids(record: dict[str, Any]) -> set[str]:
    members = record["members"]
    if isinstance(members, str):
        members = json.loads(members or "[]")
    return {record["survivor"], *members}


def undo(store: Store, ident: str) -> dict[str, Any]:
    """Undo a merge: its records are one again no more, and every field it
    changed gets its value from before the merge.

    The same records may have been merged on two laptops (two merge records,
    or one merge of a larger group): undoing one undoes, too, every merge of
    the same kind that this replica holds and that joins two of its records,
    so the records are apart again as the worker expects (``also`` names
    them).  A merge of them made elsewhere and not yet received stands when
    it arrives; it can be undone in turn.  Merges may be undone in any order.

    A field changed again since the merge (someone edited the survivor's
    phone afterwards) keeps its newer value and is reported, so an undo
    never destroys later work.

    Returns:
        ``{"id", "rows", "fields", "skipped": [ "table.row.field", … ], "also": [merge id, …]}``.

    Raises:
        VisitlogError: unknown id, or already undone.
    """
    record = get_merge(store, ident)
    mid = record["id"]
    if record["undone"]:
        raise VisitlogError(t("dedup.err.already_undone", id=mid))
    mine = _ids(record)
    with store.transaction() as tx:
        records = [record]
        for r in tx.rows(
            "SELECT * FROM dedup_merges WHERE kind = ? AND undone = 0 AND deleted = 0 "
            "AND id != ? ORDER BY id",
            [record["kind"], mid],
        ):
            r = dict(r)
            r["members"] = json.loads(r["members"] or "[]")
            if len(_ids(r) & mine) >= 2:
                r["changes"] = json.loads(r["changes"]) if r["changes"] else None
                records.append(r)
        restored: dict[tuple[str, str], set[str]] = {}
        skipped: list[str] = []
        # Newest first: where two merges changed one field, the older one's
        # "before" is what is left.
        for r in sorted(records, key=lambda x: x["id"], reverse=True):
            for table, rows in (r["changes"] or {}).items():
                if table not in SYNCED_FIELDS:
                    continue
                for row_id, fields in rows.items():
                    current = tx.rows(f"SELECT * FROM {table} WHERE id = ?", [row_id])
                    # merged_into was written by merges before it was derived
                    # (visitlog.store.clusters): nothing to restore there.
                    fields = {f: v for f, v in fields.items() if f in SYNCED_FIELDS[table]}
                    if not current:
                        skipped += [f"{table}.{row_id}.{f}" for f in fields]
                        continue
                    restore = {}
                    for f, (before, after) in fields.items():
                        if current[0][f] == after and after != before:
                            restore[f] = before
                        elif current[0][f] != before:
                            skipped.append(f"{table}.{row_id}.{f}")
                    if restore:
                        tx.update(table, row_id, {**restore, **derived(table, current[0], restore)})
                        restored.setdefault((table, row_id), set()).update(
                            f for f in restore if f != "address_key"
                        )
            tx.update("dedup_merges", r["id"], {"undone": 1, "undone_at": now_iso()})
        also = [r["id"] for r in records[1:]]
        tx.audit("dedup.undo", "dedup_merges", mid, {"skipped": skipped, "also": also})
    return {
        "id": mid,
        "rows": len(restored),
        "fields": sum(len(f) for f in restored.values()),
        "skipped": skipped,
        "also": also,
    }


# -- decisions ----------------------------------------------------------------------


def mark_distinct(store: Store, a: str, b: str, note: str | None = None) -> dict[str, str]:
    """Record that two households (or two visits) are not duplicates.

    The decision is a synced row whose id comes from the sorted pair, so the
    same decision made on two laptops converges to one row; candidates skip
    the pair from then on, on every replica.

    Returns:
        ``{"id", "kind", "a", "b"}`` with full ids, a < b.
    """
    kind_a, full_a = resolve_kind(store, a)
    kind_b, full_b = resolve_kind(store, b)
    if kind_a != kind_b:
        raise ValidationError(t("dedup.err.mixed_kinds", a=a, b=b))
    if full_a == full_b:
        raise ValidationError(t("dedup.err.same_record", id=full_a))
    lo, hi = sorted((full_a, full_b))
    did = decision_id(kind_a, lo, hi)
    with store.transaction() as tx:
        worker = tx.rows("SELECT value FROM settings WHERE key = 'worker'")
        fields = {
            "kind": kind_a,
            "a": lo,
            "b": hi,
            "decision": "distinct",
            "worker": worker[0]["value"] if worker else None,
            "note": (note or "").strip() or None,
            "deleted": 0,
        }
        existing = tx.rows("SELECT id FROM dedup_decisions WHERE id = ?", [did])
        if existing:
            # Decided before (here or on another laptop): keep one row.
            fields.pop("worker")
            tx.update("dedup_decisions", did, fields)
        else:
            tx.insert("dedup_decisions", {"id": did, **fields})
        tx.audit("dedup.distinct", "dedup_decisions", did, {"kind": kind_a, "a": lo, "b": hi})
    return {"id": did, "kind": kind_a, "a": lo, "b": hi}


def unmark_distinct(store: Store, a: str, b: str) -> bool:
    """Withdraw a "not a duplicate" decision (the review screen's undo).

    The decision row becomes a tombstone, which syncs like any change; the
    pair may be proposed again.

    Returns:
        Whether there was a decision to withdraw.
    """
    kind, full_a = resolve_kind(store, a)
    full_b = store.resolve_id(kind, b)
    did = decision_id(kind, full_a, full_b)
    with store.transaction() as tx:
        if not tx.rows("SELECT 1 FROM dedup_decisions WHERE id = ? AND deleted = 0", [did]):
            return False
        tx.update("dedup_decisions", did, {"deleted": 1})
        tx.audit("dedup.distinct_withdrawn", "dedup_decisions", did)
    return True
