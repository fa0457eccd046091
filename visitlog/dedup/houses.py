"""Households as the comparison reads them: dwelling, estate, people, numbers, buildings.

A :class:`House` is the comparable part of one live household row; a
:class:`Cache` shares the readings that repeat across a run (dwellings,
names, pinyin, tags).  :class:`Layout` says which floors and rooms a
building really has.  :func:`learn_aliases` settles which places name one
estate (:class:`~visitlog.dedup.dwellings.AliasBook`) from the records, the
confirmed merges and the workers' decisions.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from itertools import combinations
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar

from visitlog.address import name_pinyin, normalize_address
from visitlog.dedup.dwellings import AliasBook, Dwelling, column_key, read_dwelling, stored_aliases
from visitlog.residents import read_name
from visitlog.residents.names import HONORIFICS, _needs_t2s
from visitlog.rows import live

if TYPE_CHECKING:  # pragma: no cover
    from visitlog.store import Store

__all__ = [
    "COLUMNS",
    "Cache",
    "House",
    "Layout",
    "alias_book",
    "learn_aliases",
    "load_households",
    "read_houses",
]

T = TypeVar("T")

#: The household columns a House is read from, in order.
COLUMNS = (
    "id, community, micro_grid, estate, address, address_key, head, phones, members, tags, phone"
)


def load_households(store: Store) -> Iterator[tuple[Any, ...]]:
    """The :data:`COLUMNS` of every live household, in the table's order (read
    a few thousand at a time: only part of each row is kept; in id order the
    table is read twice as slowly — see :func:`read_houses`)."""
    return store.iter_values(f"SELECT {COLUMNS} FROM households WHERE {live()}")


def read_houses(rows: Iterable[tuple[Any, ...]], cache: Cache) -> list[House]:
    """The households of *rows* as Houses, in id order, ``idx`` their place."""
    houses = [House(0, row, cache) for row in rows]
    houses.sort(key=attrgetter("id"))
    for i, h in enumerate(houses):
        h.idx = i
    return houses


class House:
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

    def __init__(self, idx: int, row: tuple[Any, ...], cache: Cache):
        # row: the columns of COLUMNS, in order.
        hid, community, grid, estate, address, key, head, phones, members, tags, contact = row[:11]
        self.idx = idx
        self.id: str = hid
        # One string object per grid and 居民区, not one per record.
        self.grid: str = cache.share(grid or "")
        self.scope: str = cache.share(community) if community else self.grid
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
            # one string per building, shared by its records
            self.bld = sys.intern(f"{where}|{self.building}")
            self.keys = tuple(f"{self.bld}|{r}" for r in self.rooms)


#: The empty set every record without tags or names shares (``frozenset()``
#: makes a new object each time: 216 bytes per record of a district).
_EMPTY: frozenset[str] = frozenset()


class Cache:
    """Readings shared by all records of one run (names, places and pinyin repeat).

    A district has 450,000 records: every value that repeats across them (a
    grid's name, an estate's, a building number, a floor, a set of tags) is
    kept once and shared (:meth:`share`), which halves what the records take.
    """

    def __init__(self) -> None:
        self._shared: dict[Any, Any] = {}
        self._tags: dict[str, frozenset[str]] = {}
        self._py: dict[str, str] = {}
        self._columns: dict[str | None, str | None] = {}
        self._names: dict[str | None, tuple[Any, frozenset[str], frozenset[str]]] = {}
        self._char_py: dict[str, str] = {}

    def share(self, value: T) -> T:
        """The one object kept for values equal to *value* (hashable)."""
        return self._shared.setdefault(value, value)

    def dwelling(self, key: str) -> tuple[Dwelling, frozenset[str]]:
        """The dwelling of an address key, and the floors of its rooms (read
        each time: nearly every key is a flat of its own; their parts repeat)."""
        d = read_dwelling(key)
        share = self.share
        floors = share(frozenset(r[:-2] for r in d.rooms if len(r) >= 3)) if d.rooms else _EMPTY
        d = Dwelling(share(d.name), share(d.gate), share(d.building), share(d.rooms))
        return d, floors

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
            return _EMPTY
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
                share = self.share
                got = (((share(text[0]), share(text[-1]), len(text)),), frozenset((text,)))
            else:
                reading = read_name(text)
                people = tuple(
                    (p.surname or (p.full[0] if p.full else None), p.last, p.length)
                    for p in reading.people
                )
                got = (people, frozenset(reading.full_names) if reading.full_names else _EMPTY)
            self._names[text] = got
        return got

    def names_pinyin(self, h: House) -> frozenset[str]:
        """The readings of a record's full names (worked out only for pairs that need them)."""
        if h.full_py is None:
            h.full_py = frozenset(self.pinyin(n) for n in h.full)
        return h.full_py


#: A cell that is two to four Chinese characters and nothing else.
_PLAIN_NAME = re.compile(r"[\u4e00-\u9fff]{2,4}\Z")


def _plain(text: str) -> bool:
    """Whether read_name would take *text* as one whole name, as written."""
    if (len(text) == 2 and text[0] in "老小阿") or "和" in text:
        return False
    if any(text.endswith(h) and 1 <= len(text) - len(h) <= 2 for h in HONORIFICS):
        return False
    return not _needs_t2s(text)


class Layout:
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


def learn_aliases(store: Store, houses: list[House], cache: Cache) -> AliasBook:
    """Learn the aliases in force from the records, the confirmed merges and the decisions."""
    book = AliasBook(stored_aliases(store))
    seen = Counter((h.scope, h.dwelling.name, h.dwelling.gate, h.column) for h in houses)
    for (scope, name, gate, column), count in seen.items():
        book.see(scope, name, gate, column, count)
    # Records agreeing on the person (one full name, one number nobody else
    # has) and on building and room, under two different places.
    by_phone: dict[str, list[House]] = defaultdict(list)
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
    cache = Cache()
    return learn_aliases(store, read_houses(load_households(store), cache), cache)
