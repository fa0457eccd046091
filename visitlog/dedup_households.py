"""Household candidates: dwellings under any address system, a learned model, three bands.

Steps of one run (:func:`find_households`):

1. **Read** every live household: its dwelling (:func:`visitlog.places.read_dwelling`:
   the place, building and rooms, zero-padding and two-room forms undone),
   the 小区 column, the head's cell as understood (full names, or what is
   known of a person: 老王, 王*国), the numbers understood from the contact
   (``households.phones``), members and tags.
2. **Aliases**: an :class:`~visitlog.places.AliasBook` learns which places
   name one estate (an address giving both systems, the 小区 column beside a
   road and lane, short names within a 居民区, records agreeing on the
   person, confirmed merges) and takes the workers' decisions; every record
   is then read as its estate, so aliases apply to every pair.
3. **Buildings**: which floors and rooms each building has, from the rooms
   the records name (a floor is real when two different rooms are on it, a
   unit when it turns up on two floors).  A room the building does not have
   is likely a slip of the pen; a room that exists is a flat of its own.
4. **Blocking**: only records sharing a block are compared — one room
   (estate + building + room, per room of a two-room family); one
   understood number; estate + building + the head's pinyin; a building
   probed only by records whose room the building does not have; the
   micro-grid + building + room for a record with no estate at all.  A block
   larger than ``max_block`` (a committee's phone on 300 households) says
   nothing and is skipped.
5. **Comparison**: each pair gets an agreement level per field — place,
   head's name, phone, members, tags (:data:`FIELDS`).
6. **Model**: a Fellegi–Sunter model (:mod:`visitlog.dedup_model`) whose m
   and u are estimated by EM on these very pairs, with decisions already
   made (merges, "not a duplicate") as labels.  A pair's score is its
   probability of being one household; its reasons give the match weight
   of each field.
7. **What a person would not do**: a few facts of a real building the
   independence assumption of the model cannot see keep a pair from being
   merged (it goes to review, or is dropped): two flats that both exist are
   two dwellings even with one owner's name and phone; a different floor
   with the parents' phone is a sibling unless the names agree; two heads
   and two phones behind one room number are a shared unit; a landline
   shared by two different heads is for a person to decide; a record with
   neither name nor phone at an address where several households live.
8. **Bands**: at or above the threshold, ``--apply`` merges; from
   :data:`~visitlog.dedup.REVIEW_FLOOR` up, a person reviews (ordered by
   what a decision teaches the model); below, dropped.
"""

from __future__ import annotations

import gc
import json
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from itertools import combinations
from typing import TYPE_CHECKING, Any

from visitlog.address import name_pinyin, normalize_address, room_distance
from visitlog.dedup import (
    DEFAULT_THRESHOLD,
    MAX_BLOCK,
    REVIEW_FLOOR,
    Candidates,
    Pair,
    assemble,
    check_threshold,
    distinct_pairs,
    reason_text,
)
from visitlog.dedup_model import FieldSpec, Model
from visitlog.i18n import t
from visitlog.places import AliasBook, Dwelling, column_key, read_dwelling, stored_aliases
from visitlog.residents import read_name
from visitlog.rows import live

if TYPE_CHECKING:  # pragma: no cover
    from visitlog.store import Store

__all__ = [
    "FIELDS",
    "alias_book",
    "explain_households",
    "find_households",
    "fit_model",
    "weight_to_score",
]

#: A building block is only scanned by its odd rooms, so it may be this many
#: times larger (a 30-storey tower) before it is skipped.
_BUILDING_BLOCK_FACTOR = 20
#: A phone on more addresses than this is a shared (office, family) number.
_PHONE_SHARED_AT = 3
#: A name heading rooms in at least this many buildings of the data is common.
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

# -- the model's fields -------------------------------------------------------------------
# Levels of each field, with the prior m (share among pairs of one household)
# and u (share among other candidate pairs: neighbours, families).  The priors
# only steer a small roster; EM moves them to what the data says.
FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "place",
        ("same", "same_no_estate", "slip_odd", "slip", "other_room", "other_building"),
        (0.86, 0.05, 0.04, 0.01, 0.03, 0.01),
        (0.04, 0.01, 0.01, 0.08, 0.56, 0.30),
        (0.0005, 0.0005, 0.0005, 0.004, 0.02, 0.9745),
    ),
    FieldSpec(
        "name",
        ("equal", "equal_common", "homophone", "partial", "surname", "different"),
        (0.62, 0.10, 0.05, 0.10, 0.08, 0.05),
        (0.01, 0.03, 0.005, 0.01, 0.10, 0.845),
        (0.0005, 0.002, 0.0005, 0.002, 0.06, 0.935),
    ),
    FieldSpec(
        "phone",
        ("mobile", "landline", "shared", "partial", "different"),
        (0.55, 0.20, 0.02, 0.08, 0.15),
        (0.03, 0.02, 0.02, 0.005, 0.925),
        (0.0002, 0.0003, 0.0005, 0.001, 0.998),
    ),
    FieldSpec(
        "members",
        ("equal", "near", "different"),
        (0.6, 0.25, 0.15),
        (0.3, 0.35, 0.35),
        (0.3, 0.4, 0.3),
    ),
    FieldSpec(
        "tags",
        ("same", "overlap", "different"),
        (0.6, 0.3, 0.1),
        (0.25, 0.2, 0.55),
        (0.3, 0.2, 0.5),
    ),
)
_PLACE, _NAME, _PHONE, _MEMBERS, _TAGS = range(5)
_LEVEL = [{code: i for i, code in enumerate(f.levels)} for f in FIELDS]
#: Prior share of one household among candidate pairs.
_PRIOR_LAMBDA = 0.3

# Points of agreement on the person, as a careful reader counts them: a full
# name or a whole number two, a surname or a masked number's visible digits one.
_NAME_POINTS = {
    _LEVEL[_NAME][c]: p
    for c, p in (
        ("equal", 2),
        ("equal_common", 2),
        ("homophone", 2),
        ("partial", 2),
        ("surname", 1),
    )
}
_PHONE_POINTS = {
    _LEVEL[_PHONE][c]: p for c, p in (("mobile", 2), ("landline", 2), ("shared", 1), ("partial", 1))
}

# Caps the facts of a building put on a pair's weight (log2 odds).
_W_REVIEW_CAP = math.log2(0.8 / 0.2)  # a person decides (score 0.8)
_W_DROP_CAP = math.log2(0.2 / 0.8)  # not listed (score 0.2)
_W_ONLY_HOUSEHOLD = math.log2(0.95 / 0.05)
#: Two clusters are not joined when a pair across them weighs less than this.
_W_CONTRADICTION = math.log2(0.1 / 0.9)


def weight_to_score(weight: float) -> float:
    """A match weight (log2 odds) as the probability of one household, 0..0.999.

    Never 1: no evidence makes a pair certain, and ``--threshold 1`` merges nothing.
    """
    if weight < -60:
        return 0.0
    return min(round(1 / (1 + 2 ** (-weight)), 3), 0.999)


# -- records -----------------------------------------------------------------------------


class _House:
    """The comparable parts of one household (slots: 50,000 of them in memory)."""

    __slots__ = (
        "bld",
        "building",
        "column",
        "dwelling",
        "estate",
        "floors",
        "full",
        "full_py",
        "grid",
        "id",
        "idx",
        "keys",
        "landline",
        "masked",
        "members",
        "odd_room",
        "people",
        "phones",
        "rooms",
        "scope",
        "tags",
        "unread_contact",
    )

    def __init__(self, idx: int, row: tuple[Any, ...], cache: _Cache):
        # row: the columns of _COLUMNS, in order.
        hid, community, grid, estate, address, key, head, phones, members, tags, contact = row[:11]
        self.idx = idx
        self.id: str = hid
        self.grid: str = grid or ""
        self.scope: str = community or self.grid
        d, floors = cache.dwelling(key or normalize_address(address))
        self.dwelling: Dwelling = d
        self.column: str | None = cache.column(estate)
        self.building: str | None = d.building
        self.rooms: tuple[str, ...] = d.rooms
        self.floors: frozenset[str] = floors
        self.estate: str | None = None
        self.bld: str | None = None
        self.keys: tuple[str, ...] = ()
        self.people, self.full = cache.name(head)
        self.full_py: frozenset[str] | None = None
        self.phones, self.landline, self.masked = cache.phones(phones)
        # A contact written but not understood (a digit too few): not nothing.
        self.unread_contact = bool(contact) and not phones
        self.members: int | None = members
        self.tags: frozenset[str] = cache.tags(tags)
        self.odd_room = False

    def place(self, book: AliasBook, pinyin: Callable[[str], str]) -> None:
        """Read the place as its estate (after the aliases are settled)."""
        self.estate = book.estate(self.scope, self.dwelling, self.column)
        if self.building:
            # By the estate's sound: 曹扬一村 (typed by pinyin) is 曹杨一村.
            where = pinyin(self.estate) if self.estate else f"@{self.grid}"
            self.bld = f"{where}|{self.building}"
            self.keys = tuple(f"{self.bld}|{r}" for r in self.rooms)


class _Cache:
    """Readings shared by all records of one run (names, dwellings and pinyin repeat)."""

    def __init__(self) -> None:
        self._dwellings: dict[str, tuple[Dwelling, frozenset[str]]] = {}
        self._tags: dict[str, frozenset[str]] = {}
        self._py: dict[str, str] = {}
        self._columns: dict[str | None, str | None] = {}
        self._names: dict[str | None, tuple[Any, frozenset[str], frozenset[str]]] = {}
        self._char_py: dict[str, str] = {}

    def dwelling(self, key: str) -> tuple[Dwelling, frozenset[str]]:
        """The dwelling of an address key, and the floors of its rooms."""
        got = self._dwellings.get(key)
        if got is None:
            d = read_dwelling(key)
            floors = frozenset(r[:-2] for r in d.rooms if len(r) >= 3)
            got = self._dwellings[key] = (d, floors)
        return got

    def phones(self, text: str | None) -> tuple[tuple[str, ...], bool, tuple[str, ...]]:
        """(whole numbers, all of them landlines, masked numbers) of households.phones."""
        if not text:
            return (), False, ()
        if '"' not in text[2:-2] and "*" not in text and "转" not in text:
            # One plain number (["13812345678"]): most households.
            number = text[2:-2]
            return (number,), number.startswith("0"), ()
        numbers = json.loads(text)
        full = tuple(dict.fromkeys(n.split("转")[0] for n in numbers if "*" not in n))
        landline = bool(full) and all(p.startswith("0") for p in full)
        return full, landline, tuple(n for n in numbers if "*" in n)

    def tags(self, text: str | None) -> frozenset[str]:
        if not text or text == "[]":
            return frozenset()
        got = self._tags.get(text)
        if got is None:
            got = self._tags[text] = frozenset(json.loads(text))
        return got

    def column(self, estate: str | None) -> str | None:
        if estate not in self._columns:
            self._columns[estate] = column_key(estate)
        return self._columns[estate]

    def pinyin(self, text: str) -> str:
        got = self._py.get(text)
        if got is not None:
            return got
        out = []
        for ch in text:
            py = self._char_py.get(ch)
            if py is None:
                py = self._char_py[ch] = name_pinyin(ch)
            out.append(py)
        got = self._py[text] = "".join(out)
        return got

    def name(self, text: str | None) -> tuple[Any, frozenset[str]]:
        """(people as (surname, last character, length), full names) of a head's cell."""
        got = self._names.get(text)
        if got is None:
            if text and _PLAIN_NAME.match(text) and _plain(text):
                # 王建国: a whole name and nothing else (most cells).
                got = (((text[0], text[-1], len(text)),), frozenset((text,)))
            else:
                reading = read_name(text)
                people = tuple(
                    (p.surname or (p.full[0] if p.full else None), p.last, p.length)
                    for p in reading.people
                )
                got = (people, frozenset(reading.full_names))
            self._names[text] = got
        return got

    def names_pinyin(self, h: _House) -> frozenset[str]:
        """The readings of a record's full names (worked out only for pairs that need them)."""
        if h.full_py is None:
            h.full_py = frozenset(self.pinyin(n) for n in h.full)
        return h.full_py


#: A cell that is two to four Chinese characters and nothing else.
_PLAIN_NAME = re.compile(r"[\u4e00-\u9fff]{2,4}\Z")


def _plain(text: str) -> bool:
    """Whether read_name would take *text* as one whole name, as written."""
    from visitlog.residents.names import HONORIFICS, _needs_t2s

    if (len(text) == 2 and text[0] in "老小阿") or "和" in text:
        return False
    if any(text.endswith(h) and 1 <= len(text) - len(h) <= 2 for h in HONORIFICS):
        return False
    return not _needs_t2s(text)


def _masked_fits(masked: str, number: str) -> bool:
    """138****5678 fits 13812345678 (and itself): same length, visible digits agree."""
    if len(masked) != len(number):
        return False
    return all(a == "*" or b == "*" or a == b for a, b in zip(masked, number, strict=True))


class _Layout:
    """Which floors and room-on-floor numbers a building really has.

    Rooms are read as floor + two-digit unit (301 = floor 3, unit 01).  A
    floor is real when at least two different rooms are on it, a unit when it
    turns up on at least half the floors (two at least); a room whose floor or unit is not real
    (320, 041, 801 in a six-storey block) is probably a typo.  Buildings whose
    rooms do not follow the pattern are never judged.
    """

    __slots__ = ("floors", "judged", "odd_keys", "units")

    def __init__(self, rooms: set[str]):
        floors: Counter[str] = Counter()
        units: Counter[str] = Counter()
        shaped = [r for r in rooms if r.isdigit() and 3 <= len(r) <= 4]
        for r in shaped:
            floors[r[:-2]] += 1
            units[r[-2:]] += 1
        self.floors = {f for f, n in floors.items() if n >= 2 and not f.startswith("0")}
        # A unit on half the floors at least: two slips to one odd unit (230
        # and 330) do not make it real.
        enough = max(2, (len(self.floors) + 1) // 2)
        self.units = {u for u, n in units.items() if n >= enough and u != "00"}
        self.judged = len(shaped) >= 6 and len(shaped) >= 0.8 * len(rooms) and bool(self.floors)
        self.odd_keys: set[str] = set()

    def plausible(self, room: str) -> bool:
        if not self.judged:
            return True
        if not (room.isdigit() and 3 <= len(room) <= 4):
            return False
        return room[:-2] in self.floors and room[-2:] in self.units


# -- aliases -----------------------------------------------------------------------------


def _learn_aliases(store: Store, houses: list[_House], cache: _Cache) -> AliasBook:
    """Learn the aliases in force from the records, the confirmed merges and the decisions."""
    book = AliasBook(stored_aliases(store))
    seen = Counter((h.scope, h.dwelling.name, h.dwelling.gate, h.column) for h in houses)
    for (scope, name, gate, column), count in seen.items():
        book.see(scope, name, gate, column, count)
    # Records agreeing on the person (one full name, one number nobody else
    # has) and on building and room, under two different places.
    by_phone: dict[str, list[_House]] = defaultdict(list)
    for h in houses:
        if h.full and h.building and len(h.phones) == 1 and not h.landline:
            by_phone[h.phones[0]].append(h)
    for group in by_phone.values():
        if not 2 <= len(group) <= 4:
            continue
        for x, y in combinations(group, 2):
            if (
                x.full & y.full
                and x.building == y.building
                and set(x.rooms) & set(y.rooms)
                and (x.dwelling.name, x.dwelling.gate) != (y.dwelling.name, y.dwelling.gate)
            ):
                book.see_people(x.dwelling, y.dwelling)
    # Confirmed merges: a merged record and its survivor are one dwelling.
    for row in store.query(
        "SELECT m.address_key AS a, s.address_key AS b FROM households m "
        "JOIN households s ON s.id = m.merged_into "
        "WHERE m.merged_into IS NOT NULL AND m.deleted = 0 AND s.deleted = 0"
    ):
        if row["a"] and row["b"] and row["a"] != row["b"]:
            book.see_people(cache.dwelling(row["a"])[0], cache.dwelling(row["b"])[0], "merge")
    book.settle()
    return book


def alias_book(store: Store) -> AliasBook:
    """The aliases in force on this database (for ``visitlog address aliases`` and review)."""
    cache = _Cache()
    houses = [_House(i, row, cache) for i, row in enumerate(_load_households(store))]
    return _learn_aliases(store, houses, cache)


# -- comparing ---------------------------------------------------------------------------

_Evidence = list[tuple[str, dict[str, Any]]]


class _Comparer:
    """Compares household pairs; knows the buildings and how common names and phones are."""

    def __init__(self, houses: list[_House], cache: _Cache):
        self.houses = houses
        self.cache = cache
        rooms_of: dict[str, set[str]] = defaultdict(set)
        for h in houses:
            if h.bld:
                rooms_of[h.bld].update(h.rooms)
        layouts = {bld: _Layout(rooms) for bld, rooms in rooms_of.items()}
        self.layouts = layouts
        for bld, layout in layouts.items():
            if not layout.judged:
                continue
            odd = {r for r in rooms_of[bld] if not layout.plausible(r)}
            if odd:
                for key in (f"{bld}|{r}" for r in odd):
                    layout.odd_keys.add(key)
        odd_keys = set().union(*(layout.odd_keys for layout in layouts.values()))
        if odd_keys:
            for h in houses:
                if h.keys and not odd_keys.isdisjoint(h.keys):
                    h.odd_room = True
        # Set by the blocking: the records of each room, phone, and name in a building.
        self.at_room: dict[str, list[int]] = {}
        self.at_phone: dict[str, list[int]] = {}
        self.at_name: dict[tuple[str, str], list[int]] = {}
        self._name_spread: dict[str, int] | None = None
        self._phone_spread: dict[str, int] = {}
        self._common_here: dict[tuple[str, str], bool] = {}
        self._rooms: dict[tuple[str, str], str] = {}
        #: building → its room keys
        self.building_rooms: dict[str, list[str]] = defaultdict(list)
        for bld, rooms in rooms_of.items():
            self.building_rooms[bld] = [f"{bld}|{r}" for r in rooms]
        self._ambiguous: dict[str, bool] = {}

    def competitor(self, x: _House, y: _House, phone_agrees: bool) -> bool:
        """Whether another household at the room fits the name written in part as well.

        王师傅 and 王建国 behind one door with one phone: if 王秀英 (a parent
        or a grown child) is registered there too, 王师傅 may be either.
        """
        partial = [h for h in (x, y) if not h.full]
        known = x.full | y.full
        numbers = set(x.phones) | set(y.phones)
        for key in set(x.keys) | set(y.keys):
            for k in self.at_room.get(key, ()):
                z = self.houses[k]
                if z is x or z is y or not z.full or z.full & known:
                    continue
                if phone_agrees and not numbers & set(z.phones):
                    continue
                if all(_fits(z, p) for p in partial):
                    return True
        return False

    def slip_competitor(self, x: _House, y: _House) -> bool:
        """Whether the room that does not exist is one slip from another flat of the same person.

        701 in a six-storey block may be 101 or 201: when both are held by
        records that agree with it as well, nobody can tell which.
        """
        odd, real = (x, y) if x.odd_room else (y, x)
        bld = odd.bld
        if bld is None:
            return False
        for key in self.building_rooms.get(bld, ()):
            for k in self.at_room.get(key, ()):
                z = self.houses[k]
                if z is odd or z is real or z.odd_room or set(z.rooms) & set(real.rooms):
                    continue
                if not any(
                    self.room_kind(a, b) in ("swap", "typo") for a in odd.rooms for b in z.rooms
                ):
                    continue
                if (odd.full and z.full & odd.full) or (set(odd.phones) & set(z.phones)):
                    return True
        return False

    def ambiguous(self, key: str) -> bool:
        """Whether the records of one room may stand for more than one household."""
        got = self._ambiguous.get(key)
        if got is None:
            group = [self.houses[i] for i in self.at_room.get(key, ())]
            got = self._ambiguous[key] = _several_households(group, self.cache)
        return got

    def room_kind(self, a: str, b: str) -> str:
        kind = self._rooms.get((a, b))
        if kind is None:
            kind = self._rooms[(a, b)] = room_distance(a, b)[1]
        return kind

    def common_name(self, name: str) -> bool:
        """A name common in China, or heading records in several buildings of the data."""
        if name in _COMMON_NAMES:
            return True
        if self._name_spread is None:
            self._name_spread = dict(Counter(n for _bld, n in self.at_name))
        return self._name_spread.get(name, 0) >= _NAME_COMMON_AT

    def common_here(self, h: _House) -> bool:
        """The head's name heads more than one real room of the building."""
        for name in h.full:
            key = (h.bld or "", name)
            got = self._common_here.get(key)
            if got is None:
                rooms = {
                    r
                    for i in self.at_name.get(key, ())
                    if not self.houses[i].odd_room
                    for r in self.houses[i].rooms
                }
                got = self._common_here[key] = len(rooms) > 1
            if got:
                return True
        return False

    def phone_spread(self, phone: str) -> int:
        """At how many addresses a number is given."""
        got = self._phone_spread.get(phone)
        if got is None:
            got = self._phone_spread[phone] = len(
                {
                    (self.houses[i].keys[0] if self.houses[i].keys else self.houses[i].id)
                    for i in self.at_phone.get(phone, ())
                }
            )
        return got

    # -- fields
    def place(self, x: _House, y: _House, why: _Evidence) -> tuple[int, bool]:
        """(level, same dwelling) of the place."""
        L = _LEVEL[_PLACE]
        if not (x.building and y.building and x.rooms and y.rooms):
            same = x.keys == y.keys and bool(x.keys)
            why.append(("address_equal" if same else "address_unreadable", {}))
            return (L["same"] if same else -1), same
        if x.estate is None or y.estate is None:
            if x.grid != y.grid:
                why.append(("estate_different", {"a": x.estate or "?", "b": y.estate or "?"}))
                return L["other_building"], False
            estate_known = False
        elif x.bld is None or y.bld is None or x.bld.split("|")[0] != y.bld.split("|")[0]:
            why.append(("estate_different", {"a": x.estate, "b": y.estate}))
            return L["other_building"], False
        else:
            estate_known = True
            if x.estate != y.estate:
                why.append(("estate_homophone", {"a": x.estate, "b": y.estate}))
        if x.building != y.building:
            why.append(("building_different", {"a": x.building, "b": y.building}))
            return L["other_building"], False
        aliased = False
        if estate_known:
            xd, yd = x.dwelling, y.dwelling
            if (xd.name, xd.gate) != (yd.name, yd.gate) or (not xd.name and not xd.gate):
                aliased = _place_text(x) != _place_text(y)
                if aliased:
                    why.append(("estate_alias", {"a": _place_text(x), "b": _place_text(y)}))
        else:
            why.append(("estate_unknown", {}))
        shared = set(x.rooms) & set(y.rooms)
        if shared:
            if len(x.rooms) > 1 or len(y.rooms) > 1:
                why.append(("rooms_overlap", {"room": "、".join(sorted(shared))}))
            else:
                same_text = estate_known and not aliased
                why.append(("address_equal" if same_text else "building_room_equal", {}))
            return (L["same"] if estate_known else L["same_no_estate"]), True
        # Different rooms in one building: a slip of the pen or the flat next door?
        kinds = [(self.room_kind(a, b), a, b) for a in x.rooms for b in y.rooms]
        slip = next(((k, a, b) for k, a, b in kinds if k in ("swap", "typo")), None)
        if slip:
            kind, a, b = slip
            why.append((f"room_{kind}", {"a": a, "b": b}))
            odd = [h for h in (x, y) if h.odd_room]
            if len(odd) == 1:
                why.append(("room_implausible", {"room": "、".join(odd[0].rooms)}))
                return L["slip_odd"], False
            return L["slip"], False
        a, b = "、".join(x.rooms), "、".join(y.rooms)
        if x.floors and y.floors and not (x.floors & y.floors):
            why.append(("room_other_floor", {"a": a, "b": b}))
        else:
            why.append(("room_different", {"a": a, "b": b}))
        return L["other_room"], False

    def name(self, x: _House, y: _House, same_room: bool, same_bld: bool, why: _Evidence) -> int:
        L = _LEVEL[_NAME]
        if not x.people or not y.people:
            why.append(("name_missing", {}))
            return -1
        shared = x.full & y.full
        if shared:
            if same_room:
                common = False
            elif same_bld:
                common = self.common_here(x) or self.common_here(y)
            else:
                common = any(self.common_name(n) for n in shared)
            why.append(("name_equal_common" if common else "name_equal", {}))
            return L["equal_common" if common else "equal"]
        if x.full and y.full and self.cache.names_pinyin(x) & self.cache.names_pinyin(y):
            why.append(("name_homophone", {}))
            return L["homophone"]
        # Parts of names: 王*国 and 王建国 (surname, last character, length), 老王.
        best = -2
        for sx, lx, nx in x.people:
            for sy, ly, ny in y.people:
                if (sx and sy and sx != sy) or (lx and ly and lx != ly) or (nx and ny and nx != ny):
                    continue
                points = (sx is not None and sy is not None) + (lx is not None and ly is not None)
                best = max(best, points)
        if best == 2 and not (x.full and y.full):
            why.append(("name_partial", {}))
            return L["partial"]
        if best == 1 and not (x.full and y.full):
            why.append(("name_surname", {}))
            return L["surname"]
        if best == 0:
            why.append(("name_missing", {}))
            return -1
        why.append(("name_different", {}))
        return L["different"]

    def phone(self, x: _House, y: _House, why: _Evidence) -> tuple[int, bool]:
        """(level, the shared number is the flat's landline)."""
        L = _LEVEL[_PHONE]
        if not (x.phones or x.masked) or not (y.phones or y.masked):
            why.append(("phone_missing", {}))
            return -1, False
        shared = set(x.phones) & set(y.phones)
        if shared:
            spread = max(self.phone_spread(p) for p in shared)
            if spread > _PHONE_SHARED_AT:
                why.append(("phone_shared", {"n": spread}))
                return L["shared"], False
            why.append(("phone_equal", {}))
            if all(p.startswith("0") for p in shared):
                return L["landline"], True
            return L["mobile"], False
        if any(_masked_fits(m, n) for m in x.masked for n in (*y.phones, *y.masked)) or any(
            _masked_fits(m, n) for m in y.masked for n in x.phones
        ):
            why.append(("phone_partial", {}))
            return L["partial"], False
        why.append(("phone_different", {}))
        return L["different"], False

    def compare(self, x: _House, y: _House) -> tuple[tuple[int, ...], _Evidence, dict[str, Any]]:
        """The pattern of levels, the evidence, and the facts the caps need."""
        why: _Evidence = []
        place, same_room = self.place(x, y, why)
        same_bld = x.bld is not None and x.bld == y.bld
        name = self.name(x, y, same_room, same_bld, why)
        phone, landline = self.phone(x, y, why)
        L = _LEVEL
        if x.members is not None and y.members is not None:
            d = abs(x.members - y.members)
            members = L[_MEMBERS]["equal" if d == 0 else "near" if d == 1 else "different"]
            if d:
                why.append(("members_different", {"a": x.members, "b": y.members}))
            else:
                why.append(("members_equal", {}))
        else:
            members = -1
        if x.tags and y.tags:
            tags = L[_TAGS][
                "same" if x.tags == y.tags else "overlap" if x.tags & y.tags else "different"
            ]
        else:
            tags = -1
        facts = {"same_room": same_room, "landline": landline}
        return (place, name, phone, members, tags), why, facts

    def caps(
        self, x: _House, y: _House, pattern: tuple[int, ...], facts: dict[str, Any]
    ) -> tuple[float | None, float | None, str | None]:
        """(upper cap, lower bound, reason code) the facts of the building put on a pair."""
        place, name, phone = pattern[_PLACE], pattern[_NAME], pattern[_PHONE]
        P, N, T = _LEVEL[_PLACE], _LEVEL[_NAME], _LEVEL[_PHONE]
        names_agree = name in (N["equal"], N["equal_common"], N["homophone"], N["partial"])
        names_differ = name == N["different"]
        phones_agree = phone in (T["mobile"], T["landline"], T["partial"])
        if place in (P["other_room"], P["slip"], P["other_building"]):
            # Two flats that both exist: one owner's two flats, a family
            # holding two, a sibling upstairs with the parents' phone.
            # The same person in two flats is no contradiction for a cluster
            # (a family holding 301 and 302 written as 301-302 joins both).
            if names_agree and phones_agree:
                return _W_REVIEW_CAP, _W_DROP_CAP, "two_dwellings"
            if names_agree:
                return _W_DROP_CAP, _W_DROP_CAP, None
            if place == P["other_room"] and phones_agree and not names_agree:
                return _W_DROP_CAP, None, "sibling_floor" if x.floors != y.floors else None
            return _W_DROP_CAP, None, None
        if place == P["slip_odd"] and self.slip_competitor(x, y):
            return _W_REVIEW_CAP, None, "slip_ambiguous"
        if facts["same_room"] or place == P["slip_odd"]:
            if names_differ and phone == T["different"]:
                return -8.0, None, "shared_unit"
            if names_differ and facts["landline"]:
                return _W_REVIEW_CAP, None, "landline_shared"
            if name in (N["partial"], N["surname"]) and self.competitor(x, y, phones_agree):
                return _W_REVIEW_CAP, None, "several_households"
            points = _NAME_POINTS.get(name, 0) + _PHONE_POINTS.get(phone, 0)
            if 0 < points < 2:
                # A surname alone, or the visible digits of a masked number
                # alone, would fit a neighbour behind the same door as well.
                return _W_REVIEW_CAP, None, "too_little"
            if facts["landline"] and name in (N["surname"], -1):
                # The flat's line and a name known only in part: a parent and
                # a grown child of one surname share both.
                return _W_REVIEW_CAP, None, "landline_partial"
            # One of name and phone may contradict (a spouse named as head, a
            # new number) only when the other agrees in full.
            if names_differ and phone not in (T["mobile"], T["landline"]):
                return _W_REVIEW_CAP, None, "one_side_only"
            if phone == T["different"] and not names_agree:
                return _W_REVIEW_CAP, None, "one_side_only"
            if name == -1 and phone == -1:
                keys = set(x.keys) | set(y.keys)
                if any(self.ambiguous(k) for k in keys):
                    return _W_REVIEW_CAP, None, "several_households"
                if (
                    place in (P["same"], P["same_no_estate"])
                    and pattern[_MEMBERS] in (-1, _LEVEL[_MEMBERS]["equal"])
                    and not (x.unread_contact or y.unread_contact)
                ):
                    return None, _W_ONLY_HOUSEHOLD, "only_household"
                # Nothing but the address agrees, and it is not the only household.
                return _W_REVIEW_CAP, None, "too_little"
        return None, None, None


def _fits(z: _House, p: _House) -> bool:
    """Whether the person of *z* fits a name written in part (王师傅, 王*英)."""
    for sz, lz, nz in z.people:
        for sp, lp, np_ in p.people:
            if (sz and sp and sz != sp) or (lz and lp and lz != lp) or (nz and np_ and nz != np_):
                continue
            if (sz and sp) or (lz and lp):
                return True
    return False


def _place_text(h: _House) -> str:
    d = h.dwelling
    return d.name + (f"（{d.gate}）" if d.name and d.gate else d.gate) or (h.column or "")


def _several_households(group: list[_House], cache: _Cache) -> bool:
    """Whether the records of one room may stand for more than one household.

    The records that carry a name or a phone are joined when they share the
    name's reading or a phone.  One group: one household lives there, and a
    bare record (no name, no phone) can only be that household.  Two or
    more: maybe a shared unit, and a bare record is ambiguous.
    """
    group = [h for h in group if h.people or h.phones]
    if len(group) < 2:
        return False
    parent = list(range(len(group)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, h in enumerate(group):
        tokens = [*(f"n{p}" for p in cache.names_pinyin(h)), *(f"p{p}" for p in h.phones)]
        if not h.full and h.people:
            tokens.append(f"s{h.people[0][0]}")
        for token in tokens:
            if token in first:
                parent[root(i)] = root(first[token])
            else:
                first[token] = i
    return len({root(i) for i in range(len(group))}) > 1


# -- blocking ----------------------------------------------------------------------------


def _blocks(houses: list[_House]) -> dict[str, dict[Any, list[int]]]:
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


def _candidate_pairs(
    houses: list[_House], max_block: int, comparer: _Comparer
) -> tuple[set[tuple[int, int]], dict[str, int]]:
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


# -- loading and the run -----------------------------------------------------------------

_COLUMNS = (
    "id, community, micro_grid, estate, address, address_key, head, phones, members, tags, phone"
)


def _load_households(store: Store) -> list[tuple[Any, ...]]:
    return store.query_values(f"SELECT {_COLUMNS} FROM households WHERE {live()} ORDER BY id")


def _labels(
    store: Store, houses: list[_House], comparer: _Comparer, cache: _Cache, book: AliasBook
) -> list[tuple[tuple[int, ...], bool]]:
    """Patterns of pairs people decided: merged (one household) and "not a duplicate"."""
    by_id = {h.id: h for h in houses}
    out: list[tuple[tuple[int, ...], bool]] = []
    for a, b in distinct_pairs(store, "households"):
        if a in by_id and b in by_id:
            out.append((comparer.compare(by_id[a], by_id[b])[0], False))
    merged = store.query_values(
        f"SELECT {_COLUMNS}, merged_into FROM households "
        "WHERE merged_into IS NOT NULL AND deleted = 0 LIMIT 5000"
    )
    for row in merged:
        survivor = by_id.get(row[11])
        if survivor is None:
            continue
        h = _House(-1, row, cache)
        h.place(book, cache.pinyin)
        out.append((comparer.compare(h, survivor)[0], True))
    return out


#: Random pairs compared to estimate u (as splink's estimate_u_using_random_sampling).
_RANDOM_PAIRS = 10_000


def _random_patterns(
    houses: list[_House], comparer: _Comparer, candidates: set[tuple[int, int]]
) -> Counter[tuple[int, ...]]:
    """Patterns of random pairs of records that are not candidates (nearly all two households).

    A fixed seed: the same data gives the same model.  In a small roster
    every pair is taken.
    """
    import random

    n = len(houses)
    out: Counter[tuple[int, ...]] = Counter()
    if n < 2:
        return out
    if n * (n - 1) // 2 <= _RANDOM_PAIRS:
        chosen: Any = combinations(range(n), 2)
    else:
        rng = random.Random(n)
        chosen = (sorted(rng.sample(range(n), 2)) for _ in range(_RANDOM_PAIRS))
    for i, j in chosen:
        if (i, j) not in candidates:
            out[comparer.compare(houses[i], houses[j])[0]] += 1
    return out


class _Run:
    """Everything one run knows: records, aliases, buildings, pairs, the fitted model."""

    def __init__(self, store: Store, max_block: int = MAX_BLOCK):
        self.cache = cache = _Cache()
        self.houses = houses = [
            _House(i, row, cache) for i, row in enumerate(_load_households(store))
        ]
        self.book = _learn_aliases(store, houses, cache)
        for h in houses:
            h.place(self.book, cache.pinyin)
        self.comparer = _Comparer(houses, cache)
        self.pairs, self.block_stats = _candidate_pairs(houses, max_block, self.comparer)
        self.compared: dict[tuple[int, int], tuple[tuple[int, ...], _Evidence, dict[str, Any]]] = {}
        for i, j in self.pairs:
            self.compared[(i, j)] = self.comparer.compare(houses[i], houses[j])
        self.patterns = Counter(c[0] for c in self.compared.values())
        self.model = Model(FIELDS, _PRIOR_LAMBDA).fit(
            self.patterns, _labels(store, houses, self.comparer, cache, self.book)
        )
        n = len(houses)
        self.model.set_random(
            _random_patterns(houses, self.comparer, self.pairs), len(self.pairs), n * (n - 1) // 2
        )

    def scored(self, i: int, j: int) -> tuple[float, _Evidence]:
        key = (i, j) if i < j else (j, i)
        got = self.compared.get(key)
        if got is None:
            got = self.compared[key] = self.comparer.compare(
                self.houses[key[0]], self.houses[key[1]]
            )
        pattern, why, facts = got
        x, y = self.houses[key[0]], self.houses[key[1]]
        w = self.model.match_weight(pattern)
        cap, floor, code = self.comparer.caps(x, y, pattern, facts)
        evidence = list(why)
        if floor is not None and w < floor:
            w = floor
        if cap is not None and w > cap:
            w = cap
        if code:
            evidence.append((code, {}))
        evidence.append(
            ("weights", {"text": _WeightsText(self.model, pattern), "total": f"{w:+.1f}"})
        )
        return w, evidence


class _WeightsText:
    """The match weight of each field in words, made only when a reason is shown."""

    __slots__ = ("model", "pattern")

    def __init__(self, model: Model, pattern: tuple[int, ...]):
        self.model, self.pattern = model, pattern

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _WeightsText)
            and other.model is self.model
            and other.pattern == self.pattern
        )

    def __str__(self) -> str:
        model = self.model
        parts = [f"{t('dedup.mfield.prior')} {model.prior_weight():+.1f}"]
        parts += [
            f"{t('dedup.mfield.' + FIELDS[k].name)} {model.weight(k, level):+.1f}"
            for k, level in enumerate(self.pattern)
            if level >= 0
        ]
        return t("dedup.list_sep").join(parts)


def fit_model(store: Store) -> Model:
    """The model EM fits on this database's candidate pairs (for reports and tests)."""
    return _Run(store).model


def find_households(
    store: Store, threshold: float = DEFAULT_THRESHOLD, max_block: int = MAX_BLOCK
) -> Candidates:
    """Candidate duplicate households, scored, with the clusters to merge.

    Args:
        store: the database.
        threshold: score (0..1] at and above which pairs are merged.
        max_block: blocks with more members are skipped.

    Returns:
        The candidates; ``stats`` tells how many pairs were compared, the
        model (``model``: λ, m, u and the weights) and the review order
        (``teach`` of each listed pair, in ``review``).
    """
    check_threshold(threshold)
    started = time.perf_counter()
    # Reading 50,000 households makes hundreds of thousands of small objects
    # that live for the whole run: the cyclic collector would walk them
    # again and again for nothing (a third of the time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _find(store, threshold, max_block, started)
    finally:
        if collecting:
            gc.enable()


def _find(store: Store, threshold: float, max_block: int, started: float) -> Candidates:
    run = _Run(store, max_block)
    distinct = distinct_pairs(store, "households")
    result = assemble(
        "households",
        run.houses,
        run.pairs,
        run.scored,
        weight_to_score,
        _W_CONTRADICTION,
        distinct,
        threshold,
    )
    # The middle band, ordered by what a decision would teach the model.
    index = {h.id: h.idx for h in run.houses}
    review = []
    for p in result.pairs:
        if REVIEW_FLOOR <= p.score < threshold:
            i, j = sorted((index[p.a], index[p.b]))
            pattern = run.compared[(i, j)][0]
            review.append((run.model.teaching(pattern, run.patterns[pattern]), p))
    review.sort(key=lambda x: (-x[0], x[1].a, x[1].b))
    result.review = [p for _, p in review]
    n = len(run.houses)
    result.stats = {
        "records": n,
        "candidate_pairs": len(run.pairs),
        "all_pairs": n * (n - 1) // 2,
        **run.block_stats,
        "aliases": sum(1 for a in run.book.aliases if a.status != "rejected"),
        "merge": sum(1 for p in result.pairs if p.score >= threshold),
        "review": len(review),
        "seconds": round(time.perf_counter() - started, 3),
    }
    result.model = run.model.to_json()
    result.aliases = [a.to_json() for a in run.book.aliases]
    return result


def explain_households(store: Store, a: str, b: str) -> Pair:
    """Score one pair of live households as the candidates would, blocked or not.

    For review ("why is this pair not proposed?") and tests; the context
    (aliases, how common a name is, which rooms a building has, the model)
    is the whole database.
    """
    run = _Run(store)
    by_id = {h.id: h for h in run.houses}
    ids = [store.resolve_id("households", x) for x in (a, b)]
    missing = [x for x in ids if x not in by_id]
    if missing:
        from visitlog.model import NotFoundError

        raise NotFoundError(t("dedup.err.not_live", kind=t("noun.households"), id=missing[0]))
    w, why = run.scored(by_id[ids[0]].idx, by_id[ids[1]].idx)
    lo, hi = sorted(ids)
    return Pair(
        lo, hi, weight_to_score(w), [reason_text(c, p) for c, p in why], [c for c, _ in why]
    )
