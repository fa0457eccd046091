"""visitlog's household de-duplication before the learned model: the same-run baseline.

A copy of ``visitlog/dedup_households.py`` as it was before de-duplication
learned aliases and weights (fixed log-odds weights tuned on
tests/dedup_corpus.py, one threshold), kept so ``bench/dedup_district.py``
can run it on the same data in the same run.  Not part of visitlog.  Its
own description follows.

Household candidates: blocking keys, evidence weights and reasons.

Each household is put into a few blocks, and only households sharing one
are compared:

* ``a``  the normalised address (estate + building + room);
* ``y``  the same with the estate read as pinyin, so 曹扬一村 meets 曹杨一村;
* ``b``  estate + building, probed only by a record whose room the building
  does not have (320 where the floors hold 01–04), which meets the rooms one
  swap or one digit away (302): a slip between two rooms that both exist is
  two neighbours unless a name or phone says otherwise, and those meet in
  the ``n`` and ``p`` blocks;
* ``p``  the phone;
* ``n``  estate + building + the pinyin of the head (王晓明 meets 王小明);
* ``g``  micro-grid + building + room, only for an address with no estate
  (``12-301`` with an empty 小区 column).

A block with more than ``max_block`` members (say, 300 households sharing the
committee's phone) says nothing about any two of them and would cost
quadratic time, so it is skipped and counted in the statistics.

Each candidate pair gets a weight: the sum of log-odds-like evidence from the
address (equal after normalisation, room swap or typo, other building), the
head's name (equal, homophone, common name, different), the phone (equal,
shared by many, different) and the number of members.  The weight maps to a
score in 0..1 (0.9 at the default threshold).  Two different heads with
different phones behind one room number are two households (old shared
units) and never reach the threshold.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from itertools import combinations
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz

from visitlog.address import name_pinyin, normalize_address, parse_key, room_distance
from visitlog.dedup.clustering import assemble
from visitlog.dedup.decisions import distinct_pairs
from visitlog.dedup.results import (
    DEFAULT_THRESHOLD,
    MAX_BLOCK,
    Candidates,
    Pair,
    check_threshold,
    reason_text,
)
from visitlog.i18n import t
from visitlog.residents import NameReading, read_name

if TYPE_CHECKING:  # pragma: no cover
    from visitlog.store import Store

__all__ = ["explain_households", "find_households", "weight_to_score"]

#: A building block is only scanned by its odd rooms, so it may be this many
#: times larger (a 30-storey tower) before it is skipped.
_BUILDING_BLOCK_FACTOR = 20

# -- weights (log2 odds) ---------------------------------------------------------
# The weight at which the score is DEFAULT_THRESHOLD.  The evidence weights
# below were set on the labelled corpus in tests/dedup_corpus.py, tuned for
# precision first: "same address" alone (+6) is not enough, it needs a name
# or a phone to agree.
_W_AT_THRESHOLD = 8.0
_W_ADDR_EQUAL = 6.0
# Room relation within one building.  A swap or a one-digit slip between two
# rooms that both exist is usually two neighbours (301/302); when one of the
# two rooms does not fit the building (320 where every floor has 01–04, 801
# in a six-storey block) it is usually a typo.
_W_ROOM = {"equal": 6.0, "swap": 1.0, "typo": -1.0, "different": -8.0}
_W_ROOM_IMPLAUSIBLE = 4.0
_W_ESTATE = {"equal": 0.0, "homophone": -1.0, "similar": -3.0, "unknown": -3.0}
_W_BUILDING_DIFFERENT = -8.0
_W_ESTATE_DIFFERENT = -8.0
_W_ONLY_HOUSEHOLD = 2.0
_W_NAME_EQUAL = 5.0
_W_NAME_EQUAL_COMMON = 3.0
_W_NAME_HOMOPHONE = 4.5
_W_NAME_HOMOPHONE_COMMON = 2.5
_W_NAME_DIFFERENT = -4.0
_W_PHONE_EQUAL = 8.0
_W_PHONE_SHARED = 3.0
_W_PHONE_DIFFERENT = -2.0
# A number another system masked (138****5678) that fits the other's number:
# seven digits agree, which a neighbour's number rarely does.
_W_PHONE_PARTIAL = 5.0
# Members (人数) change with births, deaths and moves, so they are weak
# evidence either way; they mostly keep a bare record (address only) from
# being taken for the household next door in a shared unit.
_W_MEMBERS_EQUAL = 0.5
_W_MEMBERS_DIFFERENT = -1.5
#: Two clusters are not joined when a pair across them weighs less than this.
_W_CONTRADICTION = -1.0
#: A phone on more households than this is a shared (office, family) number.
_PHONE_SHARED_AT = 3
#: A name in at least this many buildings of the data counts as common.
_NAME_COMMON_AT = 3
# The most frequent full names in China (national name statistics): two
# strangers share them often, so even in a small roster where one appears
# once, the same name is weak evidence.
_COMMON_NAMES = frozenset(
    "张伟 王伟 王芳 李伟 李娜 张敏 李静 王静 刘伟 王秀英 张丽 李秀英 王丽 张静 张秀英 李强 "
    "王敏 李敏 王磊 刘洋 王艳 王勇 李军 张勇 李杰 张杰 张磊 王强 李娟 王军 张艳 张涛 王涛 "
    "李艳 王超 李明 李勇 王娟 刘杰 刘敏 李霞 李丽 张军 王杰 张强 王秀兰 王刚 王平 刘芳 张燕 "
    "刘艳 刘军 李平 王辉 王燕 陈静 刘勇 李玲 李桂英 王丹 李刚 李丹 李萍 王鹏 刘涛 陈伟 张华 "
    "刘静 李涛 王桂英 张秀兰 李红 李超 刘丽 张桂英 王玉兰 李燕 张鹏 李秀兰 张超 王晓明 张玲".split()
)


def weight_to_score(weight: float) -> float:
    """Map an evidence weight to a score in 0..1 (DEFAULT_THRESHOLD at the merge weight)."""
    odds_at_threshold = DEFAULT_THRESHOLD / (1 - DEFAULT_THRESHOLD)
    # Half a unit of weight per doubling keeps scores spread over 0.5..0.99.
    odds = odds_at_threshold * 2 ** ((weight - _W_AT_THRESHOLD) / 2)
    return round(odds / (1 + odds), 3)


class _House:
    """The comparable parts of one household (slots: 50,000 of them in memory)."""

    __slots__ = (
        "bld",
        "building",
        "common_here",
        "estate",
        "estate_py",
        "grid",
        "head",
        "head_py",
        "heads",
        "heads_py",
        "id",
        "idx",
        "key",
        "masked",
        "members",
        "odd_room",
        "phone",
        "phones",
        "room",
        "surnames",
    )

    def __init__(self, idx: int, row: Any, helpers: _Helpers):
        self.idx = idx
        self.id: str = row["id"]
        self.grid: str = row["micro_grid"] or ""
        key = row["address_key"] or normalize_address(row["address"])
        parts = parse_key(key)
        estate = parts.estate or helpers.estate_key(row["estate"])
        self.estate: str | None = estate
        self.building: str | None = parts.building
        self.room: str | None = parts.room
        if estate and parts.building and parts.room:
            key = f"{estate}{parts.building}号{parts.room}室"
        elif not estate:
            # 12-301 with no estate anywhere only means something within
            # its own micro-grid.
            key = f"{self.grid}|{key}"
        self.key: str = key
        self.estate_py: str | None = helpers.pinyin(estate) if estate else None
        # The head's cell as understood: 王秀英（已故） is 王秀英, 張偉 is 张伟,
        # 王秀英/冯玲建 names two people, 老王 and 王*国 only a surname.
        name = helpers.name(row["head"])
        self.heads: tuple[str, ...] = name.full_names
        self.head: str | None = self.heads[0] if self.heads else None
        self.heads_py: tuple[str, ...] = tuple(helpers.pinyin(n) for n in self.heads)
        self.head_py: str | None = self.heads_py[0] if self.heads_py else None
        self.surnames: frozenset[str] = frozenset(p.surname for p in name.people if p.surname)
        # The numbers understood from the contact as written (households.phones).
        numbers = json.loads(row["phones"]) if row["phones"] else []
        full = [n.split("转")[0] for n in numbers if "*" not in n]
        self.phones: tuple[str, ...] = tuple(dict.fromkeys(full))
        self.masked: tuple[str, ...] = tuple(n for n in numbers if "*" in n)
        self.phone: str | None = self.phones[0] if self.phones else None
        self.members: int | None = row["members"]
        # Filled in by _HouseholdScorer, which sees the whole building.
        self.bld: str | None = f"{self.estate_py}|{self.building}" if self.building else None
        self.odd_room = False
        self.common_here = False


class _Helpers:
    """Caches shared by all records of one run (pinyin per character, estates)."""

    def __init__(self) -> None:
        self._char_py: dict[str, str] = {}
        self._estates: dict[str | None, str | None] = {}

    @staticmethod
    def name(text: str | None) -> NameReading:
        return read_name(text)

    def pinyin(self, text: str) -> str:
        # name_pinyin reads each character on its own, so caching per
        # character gives the same key at a fraction of the cost.
        out = []
        for ch in text:
            py = self._char_py.get(ch)
            if py is None:
                py = self._char_py[ch] = name_pinyin(ch)
            out.append(py)
        return "".join(out)

    def estate_key(self, estate: str | None) -> str | None:
        if estate not in self._estates:
            key = normalize_address(estate) if estate else ""
            # A 小区 column that reads as a building/room is no estate name.
            self._estates[estate] = key if key and not parse_key(key).building else None
        return self._estates[estate]


class _HouseholdScorer:
    """Scores household pairs; knows how common each name and phone is."""

    def __init__(self, houses: list[_House]):
        self.houses = houses
        buildings_per_name: dict[str, set[str]] = defaultdict(set)
        addresses_per_phone: dict[str, set[str]] = defaultdict(set)
        rooms_of: dict[str, set[str]] = defaultdict(set)
        for h in houses:
            if h.head_py and h.bld:
                # Buildings, not addresses: a household listed twice with a
                # mistyped room must not make its own name look common.
                buildings_per_name[h.head_py].add(h.bld)
            for phone in h.phones:
                addresses_per_phone[phone].add(h.key)
            if h.room and h.bld:
                rooms_of[h.bld].add(h.room)
        self.name_spread = {k: len(v) for k, v in buildings_per_name.items()}
        self.phone_spread = {k: len(v) for k, v in addresses_per_phone.items()}
        layouts = {bld: _Layout(rooms) for bld, rooms in rooms_of.items()}
        # Rooms (that really exist) of each building where each name is the
        # head: between two rooms of one building, a name is only common when
        # it heads more than one of them.
        name_rooms: dict[tuple[str, str], set[str]] = defaultdict(set)
        for h in houses:
            if h.room and h.bld:
                h.odd_room = not layouts[h.bld].plausible(h.room)
                if h.head_py and not h.odd_room:
                    name_rooms[(h.bld, h.head_py)].add(h.room)
        for h in houses:
            if h.head_py and h.bld:
                h.common_here = len(name_rooms.get((h.bld, h.head_py), ())) > 1
        self._rooms: dict[tuple[str, str], str] = {}
        self.ambiguous_address = _ambiguous_addresses(houses)

    def phones(self, x: _House, y: _House) -> tuple[str, dict[str, Any]] | None:
        """The phone evidence of a pair: (code, params), or None when either has no number."""
        if not (x.phones or x.masked) or not (y.phones or y.masked):
            return None
        shared = set(x.phones) & set(y.phones)
        if shared:
            spread = max(self.phone_spread.get(p, 0) for p in shared)
            if spread >= _PHONE_SHARED_AT:
                return "phone_shared", {"n": spread}
            if all(p.startswith("0") for p in shared):
                return "phone_equal", {"landline": True}
            return "phone_equal", {}
        if any(_masked_fits(m, n) for m in x.masked for n in (*y.phones, *y.masked)) or any(
            _masked_fits(m, n) for m in y.masked for n in x.phones
        ):
            return "phone_partial", {}
        return "phone_different", {}

    def common_name(self, h: _House) -> bool:
        assert h.head is not None and h.head_py is not None
        return h.head in _COMMON_NAMES or self.name_spread.get(h.head_py, 0) >= _NAME_COMMON_AT

    def room_kind(self, a: str, b: str) -> str:
        kind = self._rooms.get((a, b))
        if kind is None:
            kind = self._rooms[(a, b)] = room_distance(a, b)[1]
        return kind

    def score(self, x: _House, y: _House) -> tuple[float, list[tuple[str, dict[str, Any]]]]:
        """Weight and evidence ``[(code, params)]`` for one pair."""
        w = 0.0
        why: list[tuple[str, dict[str, Any]]] = []
        # -- address
        addr_same = False
        same_building = False
        if x.building and x.room and y.building and y.room:
            if (x.estate is None or y.estate is None) and x.grid != y.grid:
                estate = "different"
            elif x.estate is None or y.estate is None:
                estate = "unknown"
            elif x.estate == y.estate:
                estate = "equal"
            elif x.estate_py == y.estate_py:
                estate = "homophone"
            elif _digits(x.estate) == _digits(y.estate) and fuzz.ratio(x.estate, y.estate) >= 75:
                estate = "similar"
            else:
                estate = "different"
            if estate == "different":
                w += _W_ESTATE_DIFFERENT
                why.append(("estate_different", {"a": x.estate or "?", "b": y.estate or "?"}))
            elif x.building != y.building:
                w += _W_BUILDING_DIFFERENT
                why.append(("building_different", {"a": x.building, "b": y.building}))
            else:
                same_building = estate in ("equal", "homophone")
                kind = self.room_kind(x.room, y.room)
                w += _W_ESTATE[estate] + _W_ROOM[kind]
                if estate == "equal" and kind == "equal":
                    addr_same = True
                    why.append(("address_equal", {}))
                elif estate != "equal":
                    why.append((f"estate_{estate}", {"a": x.estate or "", "b": y.estate or ""}))
                if kind != "equal":
                    why.append((f"room_{kind}", {"a": x.room, "b": y.room}))
                    if kind in ("swap", "typo"):
                        odd = [h.room for h in (x, y) if h.odd_room]
                        if len(odd) == 1:
                            w += _W_ROOM_IMPLAUSIBLE - _W_ROOM[kind]
                            why.append(("room_implausible", {"room": odd[0]}))
                elif estate != "equal":
                    addr_same = True
                    why.append(("building_room_equal", {}))
        elif x.key == y.key:
            w += _W_ADDR_EQUAL
            addr_same = True
            why.append(("address_equal", {}))
        else:
            ratio = fuzz.ratio(x.key, y.key)
            if ratio >= 95:
                w += 3.0
            elif ratio < 85:
                w -= 6.0
            why.append(("address_similar", {"pct": round(ratio)}))
        # -- head's name
        names_differ = False
        name_known = x.head is not None and y.head is not None
        if name_known:
            assert x.head_py is not None and y.head_py is not None
            # Behind one and the same door two households with one name (even
            # 张伟) are not a thing.  Within one building a name is common when
            # it heads two real rooms; elsewhere, when it is common in the data
            # or in China.
            if addr_same:
                common = False
            elif same_building:
                common = x.common_here or y.common_here
            else:
                common = self.common_name(x) or self.common_name(y)
            if set(x.heads) & set(y.heads):
                w += _W_NAME_EQUAL_COMMON if common else _W_NAME_EQUAL
                why.append(("name_equal_common" if common else "name_equal", {}))
            elif set(x.heads_py) & set(y.heads_py):
                w += _W_NAME_HOMOPHONE_COMMON if common else _W_NAME_HOMOPHONE
                why.append(("name_homophone", {}))
            else:
                names_differ = True
                w += _W_NAME_DIFFERENT
                why.append(("name_different", {}))
        elif x.surnames and y.surnames and not (x.surnames & y.surnames):
            # 老王 and 李秀英: only surnames are known, and they differ.
            names_differ = True
            w += _W_NAME_DIFFERENT
            why.append(("name_different", {}))
        else:
            why.append(("name_missing", {}))
        # -- phone
        phone = self.phones(x, y)
        phone_known = phone is not None
        phones_differ = phone is not None and phone[0] == "phone_different"
        if phone is None:
            why.append(("phone_missing", {}))
        else:
            w += _W_PHONE[phone[0]]
            why.append((phone[0], {k: v for k, v in phone[1].items() if k != "landline"}))
        # -- members
        members_differ = False
        if x.members is not None and y.members is not None:
            if x.members == y.members:
                w += _W_MEMBERS_EQUAL
                why.append(("members_equal", {}))
            else:
                members_differ = True
                w += _W_MEMBERS_DIFFERENT
                why.append(("members_different", {"a": x.members, "b": y.members}))
        # -- context
        if names_differ and phone is not None and phone[1].get("landline"):
            # A landline is the flat's line: a parent and a grown child
            # registered apart behind one door (or a spouse written as head)
            # share it.  With two different heads it is for a person to decide.
            w = min(w, _W_AT_THRESHOLD - 1.0)
            why.append(("landline_shared", {}))
        if addr_same and names_differ and phones_differ:
            # Old shared units (非成套, 煤卫合用): two registered households
            # behind one room number, each with its own head and phone.
            w = min(w, -2.0)
            why.append(("shared_unit", {}))
        elif (
            addr_same
            and not name_known
            and not phone_known
            and not members_differ
            and x.key not in self.ambiguous_address
        ):
            w += _W_ONLY_HOUSEHOLD
            why.append(("only_household", {}))
        return w, why


_W_PHONE = {
    "phone_equal": _W_PHONE_EQUAL,
    "phone_shared": _W_PHONE_SHARED,
    "phone_partial": _W_PHONE_PARTIAL,
    "phone_different": _W_PHONE_DIFFERENT,
}


def _masked_fits(masked: str, number: str) -> bool:
    """138****5678 fits 13812345678 (and itself): same length, visible digits agree."""
    if len(masked) != len(number):
        return False
    return all(a == "*" or b == "*" or a == b for a, b in zip(masked, number, strict=True))


def _ambiguous_addresses(houses: list[_House]) -> set[str]:
    """Addresses where the records may stand for more than one household.

    The records of one address that carry a name or a phone are joined when
    they share the name's reading or the phone (a spouse's record with the
    family phone joins the head's).  One group: one household lives there,
    and a bare record (no name, no phone) can only be that household.  Two or
    more groups: maybe a shared unit, and a bare record is ambiguous.
    """
    by_key: dict[str, list[_House]] = defaultdict(list)
    for h in houses:
        if h.head_py or h.phones:
            by_key[h.key].append(h)
    ambiguous = set()
    for key, group in by_key.items():
        if len(group) < 2:
            continue
        parent = list(range(len(group)))

        def root(i: int, parent: list[int] = parent) -> int:
            while parent[i] != i:
                i = parent[i]
            return i

        first: dict[str, int] = {}
        for i, h in enumerate(group):
            tokens = [f"n{h.head_py}" if h.head_py else "", *(f"p{p}" for p in h.phones)]
            for token in tokens:
                if not token:
                    continue
                if token in first:
                    parent[root(i)] = root(first[token])
                else:
                    first[token] = i
        if len({root(i) for i in range(len(group))}) > 1:
            ambiguous.add(key)
    return ambiguous


class _Layout:
    """Which floors and room-on-floor numbers a building really has.

    Rooms are read as floor + two-digit unit (301 = floor 3, unit 01).  A
    floor is real when at least two different rooms are on it, a unit when it
    turns up on at least two floors; a room whose floor or unit is not real
    (320, 041, 801 in a six-storey block) is probably a typo.  Buildings whose
    rooms do not follow the pattern are never judged.
    """

    __slots__ = ("floors", "judged", "units")

    def __init__(self, rooms: set[str]):
        floors: Counter[str] = Counter()
        units: Counter[str] = Counter()
        shaped = [r for r in rooms if r.isdigit() and 3 <= len(r) <= 4]
        for r in shaped:
            floors[r[:-2]] += 1
            units[r[-2:]] += 1
        self.floors = {f for f, n in floors.items() if n >= 2 and not f.startswith("0")}
        self.units = {u for u, n in units.items() if n >= 2 and u != "00"}
        # Too few rooms, or rooms that are not floor+unit: no opinion.
        self.judged = len(shaped) >= 6 and len(shaped) >= 0.8 * len(rooms) and bool(self.floors)

    def plausible(self, room: str) -> bool:
        if not self.judged:
            return True
        if not (room.isdigit() and 3 <= len(room) <= 4):
            return False
        return room[:-2] in self.floors and room[-2:] in self.units


def _digits(text: str | None) -> str:
    return "".join(ch for ch in text or "" if ch.isdigit())


def _blocks(houses: list[_House]) -> dict[str, list[int]]:
    blocks: dict[str, list[int]] = defaultdict(list)
    for h in houses:
        i = h.idx
        blocks["a|" + h.key].append(i)
        for phone in h.phones:
            blocks["p|" + phone].append(i)
        if h.building and h.room:
            if h.estate:
                # By the estate's pinyin, so 曹扬一村 still meets 曹杨一村.
                bld = f"{h.estate_py}|{h.building}"
                blocks[f"y|{h.estate_py}|{h.building}|{h.room}"].append(i)
                blocks[f"b|{bld}"].append(i)
                if h.head_py:
                    blocks[f"n|{bld}|{h.head_py}"].append(i)
            blocks[f"g|{h.grid}|{h.building}|{h.room}"].append(i)
    return blocks


def _candidate_pairs(
    houses: list[_House], max_block: int, scorer: _HouseholdScorer
) -> tuple[set[tuple[int, int]], dict[str, int]]:
    pairs: set[tuple[int, int]] = set()
    skipped_blocks = 0
    skipped_records = 0
    for name, members in _blocks(houses).items():
        n = len(members)
        if n < 2:
            continue
        if name[0] == "b":
            # A whole building: only its records at a room the building does
            # not have probe it, for the rooms one swap or one digit away.
            # (A slip between two rooms that both exist is two neighbours
            # unless a name or a phone says otherwise, and those meet in the
            # n and p blocks.)  Linear per probe, so a tower may be large.
            if n > max_block * _BUILDING_BLOCK_FACTOR:
                skipped_blocks += 1
                skipped_records += n
                continue
            for i in members:
                x = houses[i]
                if not x.odd_room:
                    continue
                for j in members:
                    y = houses[j]
                    if i != j and x.room and y.room:
                        if scorer.room_kind(x.room, y.room) in ("swap", "typo"):
                            pairs.add((min(i, j), max(i, j)))
            continue
        if n > max_block:
            skipped_blocks += 1
            skipped_records += n
            continue
        if name[0] == "g":
            # Micro-grid + building + room stands in for an unknown estate:
            # only pairs with an estate-less member.
            probes = [i for i in members if houses[i].estate is None]
            pairs.update((min(i, j), max(i, j)) for i in probes for j in members if i != j)
            continue
        pairs.update(combinations(sorted(members), 2))
    return pairs, {"skipped_blocks": skipped_blocks, "skipped_block_records": skipped_records}


def _load_households(store: Store) -> list[Any]:
    return store.query(
        "SELECT id, address, address_key, estate, head, phone, phones, members, micro_grid "
        "FROM households WHERE deleted = 0 AND merged_into IS NULL ORDER BY id"
    )


def find_households(
    store: Store, threshold: float = DEFAULT_THRESHOLD, max_block: int = MAX_BLOCK
) -> Candidates:
    """Candidate duplicate households, scored, with the clusters to merge.

    Args:
        store: the database.
        threshold: score (0..1] at and above which pairs are merged.
        max_block: blocks with more members are skipped.

    Returns:
        The candidates; ``stats`` tells how many pairs were compared.
    """
    check_threshold(threshold)
    started = time.perf_counter()
    helpers = _Helpers()
    houses = [_House(i, row, helpers) for i, row in enumerate(_load_households(store))]
    scorer = _HouseholdScorer(houses)
    pairs_idx, stats = _candidate_pairs(houses, max_block, scorer)
    distinct = distinct_pairs(store, "households")

    def scored(i: int, j: int) -> tuple[float, list[tuple[str, dict[str, Any]]]]:
        return scorer.score(houses[i], houses[j])

    result = assemble(
        "households",
        houses,
        pairs_idx,
        scored,
        weight_to_score,
        _W_CONTRADICTION,
        distinct,
        threshold,
    )
    n = len(houses)
    result.stats = {
        "records": n,
        "candidate_pairs": len(pairs_idx),
        "all_pairs": n * (n - 1) // 2,
        **stats,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return result


def explain_households(store: Store, a: str, b: str) -> Pair:
    """Score one pair of live households as the candidates would, blocked or not.

    For review ("why is this pair not proposed?") and tests; the context
    (how common a name is, which rooms a building has) is the whole database.
    """
    helpers = _Helpers()
    houses = [_House(i, row, helpers) for i, row in enumerate(_load_households(store))]
    by_id = {h.id: h for h in houses}
    ids = [store.resolve_id("households", x) for x in (a, b)]
    missing = [x for x in ids if x not in by_id]
    if missing:
        from visitlog.model import NotFoundError

        raise NotFoundError(t("dedup.err.not_live", kind=t("noun.households"), id=missing[0]))
    w, why = _HouseholdScorer(houses).score(by_id[ids[0]], by_id[ids[1]])
    lo, hi = sorted(ids)
    return Pair(
        lo, hi, weight_to_score(w), [reason_text(c, p) for c, p in why], [c for c, _ in why]
    )
