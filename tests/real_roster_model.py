"""The corpus' vocabulary: roster headers, form and pair classes, and its data classes.

Shared by the modules that build the corpus (:mod:`real_roster_street`,
:mod:`real_roster_writing`, :mod:`real_roster_labels`); tests and benchmarks
import all of it from :mod:`real_roster`.  Plain Python: nothing here imports
visitlog.
"""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect
from dataclasses import dataclass, field
from itertools import accumulate

from real_roster_forms import (
    ADDRESS_MODIFIERS,
    ADDRESS_SYSTEMS,
    ID_FORMS,
    LANDLINE_FORMS,
    MOBILE_FORMS,
    NAME_FORMS,
    REF_FORMS,
    TWO_NUMBER_FORMS,
    NameInfo,
    PhoneInfo,
)

#: The corpus' "today": ages, birth dates and ID numbers are reckoned from it.
TODAY = dt.date(2026, 3, 1)

#: visitlog's roster headers (its roster contract), field → header.
HEADERS: dict[str, str] = {
    "ref": "编号",
    "community": "居民区",
    "micro_grid": "微网格",
    "estate": "小区",
    "address": "地址",
    "head": "户主",
    "phone": "联系电话",
    "members": "人数",
    "occupancy": "居住状态",
    "tags": "标签",
    "note": "备注",
}
#: The ID-number column some rosters carry (visitlog does not collect it).
ID_HEADER = "身份证号"
#: A column the XLSX roster adds that visitlog does not know.
REMARKS_HEADER = "情况说明"
#: Column order of each roster file (the ID column is left out when not asked for).
COLUMNS: dict[str, tuple[str, ...]] = {
    "A": (
        "编号",
        "居民区",
        "微网格",
        "小区",
        "地址",
        "户主",
        ID_HEADER,
        "联系电话",
        "人数",
        "居住状态",
        "标签",
        "备注",
    ),
    "B": (
        "编号",
        "微网格",
        "居民区",
        "地址",
        "户主",
        "联系电话",
        ID_HEADER,
        "人数",
        "居住状态",
        "标签",
        "备注",
        "小区",
    ),
}
#: Who wrote a row (see the module docstring); ``A+`` rows are in roster file A.
SOURCES = ("A", "A+", "B")

#: Form classes of each written value, by field.
FORM_CLASSES: dict[str, tuple[str, ...]] = {
    "address": tuple(f"addr_{s}" for s in ADDRESS_SYSTEMS)
    + tuple(f"addr_{m}" for m in ADDRESS_MODIFIERS),
    "estate": ("estate_full", "estate_short", "estate_empty"),
    "head": tuple(f"name_{f}" for f in NAME_FORMS),
    "phone": (
        "phone_empty",
        *MOBILE_FORMS,
        *(f for f in LANDLINE_FORMS if f not in MOBILE_FORMS),
        *TWO_NUMBER_FORMS,
    ),
    "id_number": ID_FORMS,
    "ref": REF_FORMS,
}

#: What differs between the two rows of a duplicate pair.
VARIANT_CLASSES = (
    "identical",
    # addresses
    "address_system",
    "address_both",
    "short_estate",
    "estate_column",
    "dash_form",
    "no_shi",
    "cn_numeral",
    "full_width",
    "building_unit",
    "address_prefix",
    "zero_pad",
    "address_spaces",
    "two_rooms",
    "address_remark",
    "room_typo",
    # names
    "name_nickname",
    "name_honorific",
    "name_masked",
    "two_heads",
    "name_remark",
    "traditional",
    "name_spacing",
    "name_missing",
    "head_other_member",
    # phones
    "phone_form",
    "phone_extra",
    "phone_masked",
    "phone_wrong_length",
    "phone_changed",
    "phone_missing",
)
#: Pairs of different households that must not be merged.
LOOKALIKE_CLASSES = (
    "same_name_neighbours",  # same (common) name, different flats of one estate
    "siblings_parent_phone",  # siblings on different floors, both with the parents' phone
    "parent_phone_other_floor",  # the parents and a child's flat upstairs, one phone
    "owner_two_flats",  # one owner, same name and phone, two flats
    "parent_child_same_flat",  # a parent and an adult child registered apart in one flat
    "shared_room",  # two households behind one room number (非成套)
    "next_building_same_room",  # the same room number in the next building, same surname
)

# -- data ----------------------------------------------------------------------------------


@dataclass
class TrueHousehold:
    """A household as it really is (the labels point here).

    Attributes:
        id: index in :attr:`Corpus.households`.
        rooms: the room numbers it holds: one, or two for a family with two flats.
        phones: its numbers: 8-digit landlines and 11-digit mobiles.
        relations: (relation, other household id): ``parent_of``, ``child_of``,
            ``sibling_of``, ``same_owner``, ``shares_room``.
    """

    id: int
    community: str
    grid: str
    estate: str
    building: int
    floor: int
    rooms: tuple[str, ...]
    head: str
    sex: str
    age: int
    spouse: str | None
    members: int
    occupancy: str
    tags: tuple[str, ...]
    phones: tuple[str, ...]
    id_number: str
    relations: list[tuple[str, int]] = field(default_factory=list)

    @property
    def old(self) -> bool:
        return self.age >= 60


@dataclass(frozen=True)
class Building:
    """A whole building: every flat of every floor holds at least one household."""

    estate: str
    number: int
    floors: int
    flats: int
    old_style: bool  # 非成套: some rooms hold two households

    @property
    def rooms(self) -> tuple[str, ...]:
        return tuple(
            f"{f}{u:02d}" for f in range(1, self.floors + 1) for u in range(1, self.flats + 1)
        )


@dataclass
class Evidence:
    """What a careful reader understands of a row (see :meth:`Corpus.duplicate_pairs`)."""

    grid: str
    estate: str | None  # None: the row does not say (bare address, empty 小区 column)
    building: int
    rooms: frozenset[str]
    names: list[NameInfo]
    phones: list[PhoneInfo]


@dataclass
class RosterRow:
    """One row of a roster file, with its labels.

    Attributes:
        index: position in :attr:`Corpus.rows`.
        source: ``A``, ``A+`` or ``B`` (see the module docstring).
        household: the true household's id.
        cells: header → value as the file holds it (text, or a number where
            Excel would store one); every header of :data:`COLUMNS` and
            :data:`REMARKS_HEADER` is present.
        forms: field → the form classes of its value (:data:`FORM_CLASSES`).
        changes: how the row departs from the truth (``room_typo``,
            ``phone_changed``, ``phone_missing``, ``head_other_member``).
    """

    index: int
    source: str
    household: int
    cells: dict[str, str | int | float]
    forms: dict[str, tuple[str, ...]]
    changes: tuple[str, ...]
    evidence: Evidence = field(repr=False)

    @property
    def roster(self) -> str:
        """The roster file the row is in: ``A`` (with the ``A+`` rows) or ``B``."""
        return "B" if self.source == "B" else "A"


@dataclass(frozen=True)
class DuplicatePair:
    """Two rows of one household (``a < b``), what differs, and whether it can be decided."""

    a: int
    b: int
    household: int
    classes: tuple[str, ...]
    decidable: bool


@dataclass(frozen=True)
class LookAlike:
    """Two different households (ids, ``a < b``) that look alike and must not merge."""

    a: int
    b: int
    cls: str


class Weights:
    """A weighted choice table, prepared once (``rng.choices`` costs ten times more per draw)."""

    def __init__(self, table: dict[str, float]):
        self.keys = list(table)
        self.cum = list(accumulate(table.values()))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> str:
        return self.keys[bisect(self.cum, rng.random() * self.total)]
