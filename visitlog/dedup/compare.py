"""Comparing two households field by field, and the facts of a building that cap a pair.

:class:`Comparer` knows the buildings (which rooms exist), how common a
name or a number is, and the records behind each room; it gives a pair its
pattern of agreement levels (:data:`~visitlog.dedup.fields.FIELDS`), the
evidence in words, and the caps a person's judgement puts on its weight.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from visitlog.address import room_distance
from visitlog.dedup.fields import (
    LEVEL,
    MEMBERS,
    NAME,
    NAME_POINTS,
    PHONE,
    PHONE_POINTS,
    PLACE,
    TAGS,
    W_DROP_CAP,
    W_ONLY_HOUSEHOLD,
    W_REVIEW_CAP,
)
from visitlog.dedup.houses import Cache, House, Layout

__all__ = ["Comparer", "Evidence"]

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

Evidence = list[tuple[str, dict[str, Any]]]


class Comparer:
    """Compares household pairs; knows the buildings and how common names and phones are."""

    def __init__(self, houses: list[House], cache: Cache):
        self.houses = houses
        self.cache = cache
        rooms_of: dict[str, set[str]] = defaultdict(set)
        for h in houses:
            if h.bld:
                rooms_of[h.bld].update(h.rooms)
        layouts = {bld: Layout(rooms) for bld, rooms in rooms_of.items()}
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
        #: building → its rooms (their keys are made when asked, rarely)
        self._rooms_of = rooms_of
        self._ambiguous: dict[str, bool] = {}

    def competitor(self, x: House, y: House, phone_agrees: bool) -> bool:
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

    def slip_competitor(self, x: House, y: House) -> bool:
        """Whether the room that does not exist is one slip from another flat of the same person.

        701 in a six-storey block may be 101 or 201: when both are held by
        records that agree with it as well, nobody can tell which.
        """
        odd, real = (x, y) if x.odd_room else (y, x)
        bld = odd.bld
        if bld is None:
            return False
        for room in self._rooms_of.get(bld, ()):
            for k in self.at_room.get(f"{bld}|{room}", ()):
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

    def common_here(self, h: House) -> bool:
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
    def place(self, x: House, y: House, why: Evidence) -> tuple[int, bool]:
        """(level, same dwelling) of the place."""
        L = LEVEL[PLACE]
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

    def name(self, x: House, y: House, same_room: bool, same_bld: bool, why: Evidence) -> int:
        L = LEVEL[NAME]
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

    def phone(self, x: House, y: House, why: Evidence) -> tuple[int, bool]:
        """(level, the shared number is the flat's landline)."""
        L = LEVEL[PHONE]
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

    def compare(self, x: House, y: House) -> tuple[tuple[int, ...], Evidence, dict[str, Any]]:
        """The pattern of levels, the evidence, and the facts the caps need."""
        why: Evidence = []
        place, same_room = self.place(x, y, why)
        same_bld = x.bld is not None and x.bld == y.bld
        name = self.name(x, y, same_room, same_bld, why)
        phone, landline = self.phone(x, y, why)
        L = LEVEL
        if x.members is not None and y.members is not None:
            d = abs(x.members - y.members)
            members = L[MEMBERS]["equal" if d == 0 else "near" if d == 1 else "different"]
            if d:
                why.append(("members_different", {"a": x.members, "b": y.members}))
            else:
                why.append(("members_equal", {}))
        else:
            members = -1
        if x.tags and y.tags:
            tags = L[TAGS][
                "same" if x.tags == y.tags else "overlap" if x.tags & y.tags else "different"
            ]
        else:
            tags = -1
        facts = {"same_room": same_room, "landline": landline}
        return (place, name, phone, members, tags), why, facts

    def caps(
        self, x: House, y: House, pattern: tuple[int, ...], facts: dict[str, Any]
    ) -> tuple[float | None, float | None, str | None]:
        """(upper cap, lower bound, reason code) the facts of the building put on a pair."""
        place, name, phone = pattern[PLACE], pattern[NAME], pattern[PHONE]
        P, N, T = LEVEL[PLACE], LEVEL[NAME], LEVEL[PHONE]
        names_agree = name in (N["equal"], N["equal_common"], N["homophone"], N["partial"])
        names_differ = name == N["different"]
        phones_agree = phone in (T["mobile"], T["landline"], T["partial"])
        if place in (P["other_room"], P["slip"], P["other_building"]):
            # Two flats that both exist: one owner's two flats, a family
            # holding two, a sibling upstairs with the parents' phone.
            # The same person in two flats is no contradiction for a cluster
            # (a family holding 301 and 302 written as 301-302 joins both).
            if names_agree and phones_agree:
                return W_REVIEW_CAP, W_DROP_CAP, "two_dwellings"
            if names_agree:
                return W_DROP_CAP, W_DROP_CAP, None
            if place == P["other_room"] and phones_agree and not names_agree:
                return W_DROP_CAP, None, "sibling_floor" if x.floors != y.floors else None
            return W_DROP_CAP, None, None
        if place == P["slip_odd"] and self.slip_competitor(x, y):
            return W_REVIEW_CAP, None, "slip_ambiguous"
        if facts["same_room"] or place == P["slip_odd"]:
            if names_differ and phone == T["different"]:
                return -8.0, None, "shared_unit"
            if names_differ and facts["landline"]:
                return W_REVIEW_CAP, None, "landline_shared"
            if name in (N["partial"], N["surname"]) and self.competitor(x, y, phones_agree):
                return W_REVIEW_CAP, None, "several_households"
            points = NAME_POINTS.get(name, 0) + PHONE_POINTS.get(phone, 0)
            if 0 < points < 2:
                # A surname alone, or the visible digits of a masked number
                # alone, would fit a neighbour behind the same door as well.
                return W_REVIEW_CAP, None, "too_little"
            if facts["landline"] and name in (N["surname"], -1):
                # The flat's line and a name known only in part: a parent and
                # a grown child of one surname share both.
                return W_REVIEW_CAP, None, "landline_partial"
            # One of name and phone may contradict (a spouse named as head, a
            # new number) only when the other agrees in full.
            if names_differ and phone not in (T["mobile"], T["landline"]):
                return W_REVIEW_CAP, None, "one_side_only"
            if phone == T["different"] and not names_agree:
                return W_REVIEW_CAP, None, "one_side_only"
            if name == -1 and phone == -1:
                keys = set(x.keys) | set(y.keys)
                if any(self.ambiguous(k) for k in keys):
                    return W_REVIEW_CAP, None, "several_households"
                if (
                    place in (P["same"], P["same_no_estate"])
                    and pattern[MEMBERS] in (-1, LEVEL[MEMBERS]["equal"])
                    and not (x.unread_contact or y.unread_contact)
                ):
                    return None, W_ONLY_HOUSEHOLD, "only_household"
                # Nothing but the address agrees, and it is not the only household.
                return W_REVIEW_CAP, None, "too_little"
        return None, None, None


def _masked_fits(masked: str, number: str) -> bool:
    """138****5678 fits 13812345678 (and itself): same length, visible digits agree."""
    if len(masked) != len(number):
        return False
    return all(a == "*" or b == "*" or a == b for a, b in zip(masked, number, strict=True))


def _fits(z: House, p: House) -> bool:
    """Whether the person of *z* fits a name written in part (王师傅, 王*英)."""
    for sz, lz, nz in z.people:
        for sp, lp, np_ in p.people:
            if (sz and sp and sz != sp) or (lz and lp and lz != lp) or (nz and np_ and nz != np_):
                continue
            if (sz and sp) or (lz and lp):
                return True
    return False


def _place_text(h: House) -> str:
    d = h.dwelling
    return d.name + (f"（{d.gate}）" if d.name and d.gate else d.gate) or (h.column or "")


def _several_households(group: list[House], cache: Cache) -> bool:
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
