"""Walking order: building by building, then floor by floor, then room by room.

The address is read the way de-duplication reads it
(:func:`visitlog.dedup.read_dwelling` on the normalised key), so 曹杨一村12号301室,
曹杨1村12号301 and 12-301 with 小区 曹杨一村 are one building and one room.  The
floor is what the room number says (301 → 3, 1203 → 12); a room that says no
floor walks first in its building.  Names compare as numbers
(:func:`visitlog.order.natural_key`: 2号 before 10号).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from visitlog.address import household_key
from visitlog.dedup import read_dwelling
from visitlog.order import natural_key

_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class Spot:
    """Where a household is on the walk.

    Attributes:
        place: the estate (or road and lane) its building is in, normalised.
        building: the building number, or None when the address gives none.
        floor: the floor its room is on, or None.
        room: the room (the first, for 301-302室), or None.
    """

    place: str
    building: str | None
    floor: int | None
    room: str | None

    @property
    def building_label(self) -> str:
        """The building as a worker names it: 曹杨1村12号 (the place alone when no building)."""
        if self.building is None:
            return self.place
        return f"{self.place}{self.building}号"


def floor_of(room: str | None) -> int | None:
    """The floor a room number says: 301 → 3, 1203 → 12, 05 → 0; None without digits."""
    if not room:
        return None
    m = _DIGITS.search(room)
    if not m:
        return None
    number = m.group(0).lstrip("0") or "0"
    return int(number[:-2]) if len(number) > 2 else 0


def spot(address: str | None, estate: str | None = None, key: str | None = None) -> Spot:
    """Read where a household is from its address (and 小区 column), or its stored key."""
    key = key or household_key(address, estate)
    d = read_dwelling(key or "")
    place = d.name or d.gate or ""
    if d.name and d.gate:
        place = f"{d.name}{d.gate}"
    room = d.rooms[0] if d.rooms else None
    if not place and d.building is None:
        place = key or (address or "")
    return Spot(place, d.building, floor_of(room), room)


def walk_key(s: Spot, address: str | None = None) -> tuple[Any, ...]:
    """Sort key of a household within its building: floor, room, then the address."""
    return (
        -1 if s.floor is None else s.floor,
        natural_key(s.room),
        natural_key(address),
    )


def building_key(grid: str | None, s: Spot) -> tuple[Any, ...]:
    """Sort key of a building: its grid, its place, its number (2号 before 10号)."""
    return (natural_key(grid), natural_key(s.place), natural_key(s.building))
