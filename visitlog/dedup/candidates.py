"""Blocking: the candidate pairs of households, never all against all.

Only records sharing a block are compared: one room (estate + building +
room), one understood number, estate + building + the head's name, a
building probed only by its records at a room the building does not have,
and micro-grid + building + room for a record naming no estate.  A block
larger than ``max_block`` says nothing and is skipped.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from typing import Any

from visitlog.dedup.compare import Comparer
from visitlog.dedup.houses import House

__all__ = ["candidate_pairs"]

#: A building block is only scanned by its odd rooms, so it may be this many
#: times larger (a 30-storey tower) before it is skipped.
_BUILDING_BLOCK_FACTOR = 20


def _blocks(houses: list[House]) -> dict[str, dict[Any, list[int]]]:
    """Blocks by kind: ``a`` room, ``p`` phone, ``b`` building, ``n`` building + name,
    ``g`` micro-grid + building + room (for records naming no estate), ``x`` the rest."""
    rooms: dict[Any, list[int]] = defaultdict(list)
    phones: dict[Any, list[int]] = defaultdict(list)
    buildings: dict[Any, list[int]] = defaultdict(list)
    names: dict[Any, list[int]] = defaultdict(list)
    rest: dict[Any, list[int]] = defaultdict(list)
    grid_rooms: dict[Any, list[int]] = defaultdict(list)
    for h in houses:
        i = h.idx
        for k in h.keys:
            rooms[k].append(i)
        if h.building and h.estate is None:
            for r in h.rooms:
                grid_rooms[(h.grid, h.building, r)] = []
        for phone in h.phones:
            phones[phone].append(i)
        bld = h.bld
        if bld:
            if h.estate:
                buildings[bld].append(i)
                for name in h.full:
                    names[(bld, name)].append(i)
        elif not h.keys:
            rest[(h.grid, h.dwelling.name, h.dwelling.gate)].append(i)
    if grid_rooms:
        # Micro-grid + building + room, for the rooms an estate-less record names.
        for h in houses:
            if h.building:
                for r in h.rooms:
                    members = grid_rooms.get((h.grid, h.building, r))
                    if members is not None:
                        members.append(h.idx)
    return {"a": rooms, "p": phones, "b": buildings, "n": names, "x": rest, "g": grid_rooms}


def candidate_pairs(
    houses: list[House], max_block: int, comparer: Comparer
) -> tuple[set[tuple[int, int]], dict[str, int]]:
    """The pairs of record indexes to compare, and how many blocks were skipped.

    Also tells *comparer* the records of each room, phone and name in a
    building, which its caps look at.
    """
    pairs: set[tuple[int, int]] = set()
    skipped_blocks = 0
    skipped_records = 0
    blocks = _blocks(houses)
    comparer.at_room = blocks["a"]
    comparer.at_phone = blocks["p"]
    comparer.at_name = blocks["n"]
    for kind, by_key in blocks.items():
        for members in by_key.values():
            n = len(members)
            if n < 2:
                continue
            if kind == "b":
                # A whole building: only its records at a room the building
                # does not have probe it, for the rooms one swap or one digit away.
                if n > max_block * _BUILDING_BLOCK_FACTOR:
                    skipped_blocks += 1
                    skipped_records += n
                    continue
                for i in members:
                    x = houses[i]
                    if not x.odd_room:
                        continue
                    for j in members:
                        if i == j:
                            continue
                        y = houses[j]
                        if any(
                            comparer.room_kind(a, b) in ("swap", "typo")
                            for a in x.rooms
                            for b in y.rooms
                        ):
                            pairs.add((i, j) if i < j else (j, i))
                continue
            if n > max_block:
                skipped_blocks += 1
                skipped_records += n
                continue
            if kind == "g":
                # Micro-grid + building + room stands in for an unknown estate:
                # only pairs with a member that names none.
                probes = [i for i in members if houses[i].estate is None]
                for i in probes:
                    pairs.update((min(i, j), max(i, j)) for j in members if i != j)
                continue
            if n == 2:
                pairs.add(
                    (members[0], members[1])
                    if members[0] < members[1]
                    else (members[1], members[0])
                )
            else:
                pairs.update(combinations(sorted(members), 2))
    return pairs, {"skipped_blocks": skipped_blocks, "skipped_block_records": skipped_records}
