"""Rows ↔ dataclasses: how a Household, Visit or Item is stored and read back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from visitlog.model import SYNCED_FIELDS, Household, Item, Visit
from visitlog.rows import jdump

#: Local columns saying where a visit or item lives now (visitlog.store.clusters),
#: written as the row is inserted from the synced column named here (a
#: trigger corrects them when that household or visit is merged away).
LIVE_COLUMNS = {"visits": ("live_household",), "items": ("live_household", "live_visit")}
LIVE_SOURCE = {"live_household": "household_id", "live_visit": "visit_id"}


class Row(dict):
    """A result row: a dict that can also be indexed by position."""

    def __init__(self, names: list[str], values: Sequence[Any]):
        super().__init__(zip(names, values, strict=True))
        self._values = tuple(values)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int):
            return self._values[key]
        return super().__getitem__(key)


#: Household columns derived from synced ones (not synced: every replica derives them).
HOUSEHOLD_DERIVED = ("address_key", "phones")


def phones_column(numbers: list[str]) -> str | None:
    """The ``phones`` column: the numbers understood from the contact, as JSON (None: none)."""
    return jdump(numbers) if numbers else None


def address_key_of(address: str, estate: str | None) -> str:
    """The ``address_key`` column (:func:`visitlog.address.household_key`).

    The one engine the store reaches: the key is a derived column of every
    household row, so every writer of a household needs it (see the package
    docstring).  Imported on the first household written, not when a
    database is opened: the address module is slow to import.
    """
    from visitlog.address import household_key

    return household_key(address, estate)


def household_row(h: Household, address_key: str | None = None) -> dict[str, Any]:
    """The stored row of a validated household, with its derived columns.

    ``address_key`` is the one already stored for the same address when the
    caller knows it (normalising is the slow part of a roster import).
    """
    return {
        "ref": h.ref,
        "community": h.community,
        "micro_grid": h.micro_grid,
        "estate": h.estate,
        "address": h.address,
        "address_key": address_key
        if address_key is not None
        else address_key_of(h.address, h.estate),
        "head": h.head,
        "phone": h.phone,
        "phones": phones_column(h.phones),
        "members": h.members,
        "occupancy": h.occupancy,
        "tags": jdump(h.tags),
        "note": h.note,
        "merged_into": h.merged_into,
        "deleted": int(h.deleted),
    }


def visit_row(v: Visit) -> dict[str, Any]:
    return {f: getattr(v, f) for f in SYNCED_FIELDS["visits"]} | {"deleted": int(v.deleted)}


def item_row(i: Item) -> dict[str, Any]:
    return {f: getattr(i, f) for f in SYNCED_FIELDS["items"]} | {"deleted": int(i.deleted)}


def household_from_row(r: dict[str, Any]) -> Household:
    return Household(
        id=r["id"],
        ref=r["ref"],
        community=r["community"],
        micro_grid=r["micro_grid"],
        estate=r["estate"],
        address=r["address"],
        head=r["head"],
        phone=r["phone"],
        phones=json.loads(r["phones"]) if "phones" in r.keys() and r["phones"] else [],
        members=r["members"],
        occupancy=r["occupancy"],
        tags=json.loads(r["tags"] or "[]"),
        note=r["note"],
        merged_into=r["merged_into"],
        created_at=r["created_at"],
        hlc=r["hlc"],
        device=r["device"],
        deleted=bool(r["deleted"]),
    )


def visit_from_row(r: dict[str, Any], items: list[Item]) -> Visit:
    """A visit as it reads now: on the household it lives on (see visitlog.clusters)."""
    return Visit(
        **{f: r[f] for f in SYNCED_FIELDS["visits"] if f != "deleted"}
        | {"household_id": r.get("live_household") or r["household_id"]},
        merged_into=r.get("merged_into"),
        id=r["id"],
        items=items,
        created_at=r["created_at"],
        hlc=r["hlc"],
        device=r["device"],
        deleted=bool(r["deleted"]),
    )


def item_from_row(r: dict[str, Any]) -> Item:
    """An item as it reads now: on the visit and household it lives on."""
    return Item(
        **{f: r[f] for f in SYNCED_FIELDS["items"] if f != "deleted"}
        | {
            "household_id": r.get("live_household") or r["household_id"],
            "visit_id": r.get("live_visit") or r["visit_id"],
        },
        id=r["id"],
        hlc=r["hlc"],
        device=r["device"],
        deleted=bool(r["deleted"]),
    )
