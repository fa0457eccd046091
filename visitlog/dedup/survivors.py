"""What a merge writes: the survivor's values, items kept once, each change remembered.

The survivor is the smallest id of the group, so two laptops merging the same
records pick the same one; the values it shows are the merge's own decision
(the richest record's, then what the others add), written onto it through
:meth:`Tx.update` so they sync like any edit.  :class:`Recorder` keeps each
value before and after, for the merge record and for ``undo``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz

from visitlog.address import household_key
from visitlog.i18n import t
from visitlog.model import NotFoundError, Status, Tag, VisitlogError
from visitlog.residents import phone_numbers
from visitlog.rows import in_parts, jdump, live
from visitlog.store import phones_column

if TYPE_CHECKING:  # pragma: no cover
    from visitlog.store import Tx

__all__ = [
    "Prefetch",
    "Recorder",
    "derived",
    "merge_households",
    "merge_visits",
]

#: Household fields the survivor takes from another record when it has none.
_FILL_HOUSEHOLD = ("ref", "community", "estate", "head", "phone", "members", "note")
_FILL_VISIT = ("summary", "role", "next_due")
#: Fields the survivor takes from the best-ranked record whatever it had.
_TAKE_HOUSEHOLD = ("address", "micro_grid", "occupancy")
_TAKE_VISIT = ("visit_date", "mode", "outcome", "visitor")
_FILL_ITEM = ("level", "owner", "deadline", "resolution", "satisfaction", "closed_date")
_STATUS_RANK = {
    Status.TODO.value: 0,
    Status.DOING.value: 1,
    Status.DONE.value: 2,
    Status.UNSOLVABLE.value: 2,
    Status.FED_BACK.value: 3,
}
_TAG_ORDER = {tag.value: i for i, tag in enumerate(Tag)}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == "[]"


def derived(tbl: str, row: dict[str, Any], changed: dict[str, Any]) -> dict[str, Any]:
    """The local columns kept beside a household that follow the changed fields."""
    if tbl != "households":
        return {}
    new = {**row, **changed}
    out = {}
    if {"address", "estate"} & changed.keys():
        out["address_key"] = household_key(new["address"], new["estate"])
    if "phone" in changed:
        out["phones"] = phones_column(phone_numbers(new["phone"]))
    return out


class Recorder:
    """Applies updates through the transaction and remembers before/after."""

    def __init__(self, tx: Tx):
        self.tx = tx
        self.changes: dict[str, dict[str, dict[str, list[Any]]]] = {}

    def update(self, tbl: str, row: dict[str, Any], fields: dict[str, Any]) -> None:
        changed = {k: v for k, v in fields.items() if row[k] != v}
        if not changed:
            return
        self.tx.update(tbl, row["id"], {**changed, **derived(tbl, row, changed)})
        slot = self.changes.setdefault(tbl, {}).setdefault(row["id"], {})
        for k, v in changed.items():
            # The first "before" wins: a row touched twice keeps its original.
            before = slot[k][0] if k in slot else row[k]
            slot[k] = [before, v]
        row.update(changed)


def _live_rows(tx: Tx, tbl: str, ids: list[str]) -> list[dict[str, Any]]:
    marks = ",".join("?" * len(ids))
    rows = {r["id"]: dict(r) for r in tx.rows(f"SELECT * FROM {tbl} WHERE id IN ({marks})", ids)}
    return _check_live(tbl, ids, rows)


class Prefetch:
    """The rows a batch of household merges reads, fetched in a few queries.

    ``--apply`` on a district may merge thousands of clusters in one
    transaction; reading each cluster's rows one query at a time would
    dominate its cost.  Clusters are disjoint, so rows read up front stay
    valid while earlier clusters are merged.
    """

    def __init__(self, tx: Tx, ids: list[str]):
        self.rows: dict[str, dict[str, Any]] = {}
        self.visit_counts: dict[str, int] = {}
        for part, marks in in_parts(ids):
            for r in tx.rows(f"SELECT * FROM households WHERE id IN ({marks})", part):
                self.rows[r["id"]] = dict(r)
            for r in tx.rows(
                f"SELECT live_household, count(*) AS n FROM visits "
                f"WHERE live_household IN ({marks}) "
                f"AND {live()} GROUP BY live_household",
                part,
            ):
                self.visit_counts[r["live_household"]] = r["n"]


def _check_live(tbl: str, ids: list[str], rows: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for rid in ids:
        row = rows.get(rid)
        if row is None:
            raise NotFoundError(t("err.not_found", kind=t(f"noun.{tbl}"), id=rid))
        if row["deleted"] or row["merged_into"]:
            raise VisitlogError(t("dedup.err.not_live", kind=t(f"noun.{tbl}"), id=rid))
        out.append(row)
    return out


def _chosen(ranked: list[dict[str, Any]], fields: tuple[str, ...]) -> dict[str, Any]:
    """Per field, the value of the best-ranked record that has one."""
    out: dict[str, Any] = {}
    for f in fields:
        value = next((r[f] for r in ranked if not _empty(r[f])), None)
        if value is not None:
            out[f] = value
    return out


def merge_households(tx: Tx, rec: Recorder, ids: list[str], pre: Prefetch) -> tuple[str, list[str]]:
    """Write the group's values onto the survivor: ``(survivor id, merged ids)``."""
    rows = _check_live("households", ids, pre.rows)

    def richness(r: dict[str, Any]) -> tuple[Any, ...]:
        filled = sum(not _empty(r[f]) for f in (*_FILL_HOUSEHOLD, "tags"))
        # Most filled fields, then most visits, then the oldest record.
        return (-filled, -pre.visit_counts.get(r["id"], 0), r["created_at"] or "", r["id"])

    ranked = sorted(rows, key=richness)
    # The survivor is the smallest id, which every replica merging the same
    # records picks too (visitlog.store.clusters); its values are the merge's own
    # decision: the richest record's, then what the others add.
    survivor = min(rows, key=lambda r: r["id"])
    others = [r for r in rows if r is not survivor]
    fill = {f: ranked[0][f] for f in _TAKE_HOUSEHOLD} | _chosen(ranked, _FILL_HOUSEHOLD)
    tags: list[str] = []
    for r in ranked:
        for tag in json.loads(r["tags"] or "[]"):
            if tag not in tags:
                tags.append(tag)
    tags.sort(key=lambda x: _TAG_ORDER.get(x, len(_TAG_ORDER)))
    fill["tags"] = jdump(tags)
    if fill["tags"] == survivor["tags"] or (not tags and _empty(survivor["tags"])):
        fill.pop("tags")
    rec.update("households", survivor, fill)
    # Nothing else is written: merged_into and where visits and items live
    # follow from the merge record (visitlog.store.clusters).
    return survivor["id"], [o["id"] for o in others]


def merge_visits(tx: Tx, rec: Recorder, ids: list[str]) -> tuple[str, list[str], dict[str, str]]:
    """Write the group's values onto the survivor and keep each item once.

    Returns:
        ``(survivor id, merged ids, {item id: the item it is a twin of})``.
    """
    rows = _live_rows(tx, "visits", ids)
    marks = ",".join("?" * len(ids))
    items: dict[str, list[dict[str, Any]]] = {r["id"]: [] for r in rows}
    for i in tx.rows(
        f"SELECT * FROM items WHERE live_visit IN ({marks}) AND deleted = 0 ORDER BY rowid", ids
    ):
        items[i["live_visit"]].append(dict(i))

    def richness(r: dict[str, Any]) -> tuple[Any, ...]:
        # Most items, longest summary, most filled fields, then the oldest.
        filled = sum(not _empty(r[f]) for f in _FILL_VISIT)
        return (
            -len(items[r["id"]]),
            -len(r["summary"] or ""),
            -filled,
            r["created_at"] or "",
            r["id"],
        )

    ranked = sorted(rows, key=richness)
    survivor = min(rows, key=lambda r: r["id"])
    fill = {f: ranked[0][f] for f in _TAKE_VISIT} | _chosen(ranked, _FILL_VISIT)
    rec.update("visits", survivor, fill)
    # Items stay on the visit they were recorded with (they live on the
    # survivor); one entered on two copies is kept once: the best-ranked
    # copy's takes what only the other knows, the other is its twin.
    kept = list(items[ranked[0]["id"]])
    twins: dict[str, str] = {}
    for other in ranked[1:]:
        for item in items[other["id"]]:
            twin = _matching_item(item, kept)
            if twin is None:
                kept.append(item)
                continue
            update = {f: item[f] for f in _FILL_ITEM if _empty(twin[f]) and not _empty(item[f])}
            if _STATUS_RANK.get(item["status"], 0) > _STATUS_RANK.get(twin["status"], 0):
                update["status"] = item["status"]
                update["closed_date"] = item["closed_date"] or twin["closed_date"]
            rec.update("items", twin, update)
            twins[item["id"]] = twin["id"]
    return survivor["id"], [r["id"] for r in rows if r is not survivor], twins


def _matching_item(item: dict[str, Any], kept: list[dict[str, Any]]) -> dict[str, Any] | None:
    best, best_score = None, 0.0
    for other in kept:
        if other["kind"] == item["kind"] and other["category"] == item["category"]:
            s = fuzz.ratio(item["description"] or "", other["description"] or "")
            if s >= 90 and s > best_score:
                best, best_score = other, s
    return best
