"""A labelled corpus of household rosters written the way Shanghai committees write them.

A street of several 居民区 laid out like 曹杨新村街道 (普陀区): estates with
both a 小区 name and a 门牌 road and lane (:data:`ADDRESS_ALIASES` is the
ground truth), *whole* buildings of 5–7 floors and 2–6 flats a floor in
which every flat holds a household (old 非成套 buildings sometimes two behind
one room number, some families two rooms), 微网格 of 100–400 households,
heads with common names at their real frequencies (王秀英, 张伟 repeat),
landlines for the elderly, ID numbers with valid check digits, key-group
tags at plausible rates, and the family links that make look-alikes.

The households are then written down by three hands, each with its habits:

* ``A``  the committee's own roster (XLSX), one row per household, mostly in
  the 小区 system, landlines as ``62345678``, full ID numbers;
* ``A+`` another worker's rows pasted at the end of the same roster: short
  estate names, 老王 / 王阿姨, quick phone spellings — duplicates;
* ``B``  a second roster from another source (CSV from the street's system):
  门牌 addresses, masked names and phones, masked ID numbers — duplicates,
  and a few households the committee's roster lacks.

Every row carries the true household id, and for each written value the
*form class* it used (:data:`FORM_CLASSES`); every pair of rows of one
household is a :class:`DuplicatePair` with its variant classes
(:data:`VARIANT_CLASSES`) and whether a careful person could decide it from
the rows alone; pairs of different households that look alike are
:class:`LookAlike` labels by class (:data:`LOOKALIKE_CLASSES`).

The generator is deterministic for a seed, plain Python (it imports nothing
from visitlog, so it outlives refactors) and linear in the households:
50,000 with 10% duplicate rows (:func:`district`) take seconds, 2,000 a
fraction of one (``python -m bench.roster_reality --time-district`` times
both).  The labels of the pairs are worked out on first use.  ``bench/``
uses the corpus by putting ``tests/`` on ``sys.path``.

The modules behind it: :mod:`real_roster_people` (names, phones, ID
numbers), :mod:`real_roster_forms` (the street table and every written
form), :mod:`real_roster_model` (classes and data types),
:mod:`real_roster_street` (buildings, households, family links),
:mod:`real_roster_writing` (how each source writes a row),
:mod:`real_roster_labels` (pair classes, decidability) and
:mod:`real_roster_files` (CSV and XLSX as offices save them).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from itertools import combinations
from pathlib import Path

from real_roster_forms import ADDRESS_ALIASES, COMMUNITIES, ESTATES, SHORT_NAMES
from real_roster_labels import pair_classes, relation
from real_roster_model import (
    COLUMNS,
    FORM_CLASSES,
    HEADERS,
    ID_HEADER,
    LOOKALIKE_CLASSES,
    REMARKS_HEADER,
    SOURCES,
    TODAY,
    VARIANT_CLASSES,
    Building,
    DuplicatePair,
    LookAlike,
    RosterRow,
    TrueHousehold,
)
from real_roster_street import Builder
from real_roster_writing import P_A_PLUS, P_B_ONLY, P_THIRD_ROW, Writer

__all__ = [
    "ADDRESS_ALIASES",
    "COLUMNS",
    "ESTATES",
    "FORM_CLASSES",
    "HEADERS",
    "ID_HEADER",
    "LOOKALIKE_CLASSES",
    "REMARKS_HEADER",
    "SHORT_NAMES",
    "SOURCES",
    "TODAY",
    "VARIANT_CLASSES",
    "Building",
    "Corpus",
    "DuplicatePair",
    "LookAlike",
    "RosterRow",
    "TrueHousehold",
    "district",
    "generate",
]


def generate(seed: int = 1, households: int = 2000, duplicate_rate: float = 0.25) -> Corpus:
    """Make a street and its rosters.

    Args:
        seed: the same seed gives the same corpus, byte for byte.
        households: about how many true households (whole buildings are added
            until there are this many; the last 居民区 is cut short).
        duplicate_rate: duplicate rows as a share of the households (0.10 with
            50,000 households gives 5,000 duplicate rows, 55,000 rows with
            the households only roster B lists).

    Returns:
        The corpus.
    """
    b = Builder(seed)
    b.street(households)
    b.natural_same_names()
    rng = b.rng
    communities = {c.name: c for c in COMMUNITIES}
    n = len(b.households)
    order = list(range(n))
    b_only = set(rng.sample(order, round(P_B_ONLY * n)))
    listed = [i for i in order if i not in b_only]
    extra = round(duplicate_rate * n)
    thirds = round(extra * P_THIRD_ROW)
    doubled = rng.sample(listed, min(extra - thirds, len(listed)))
    extras = doubled + rng.sample(doubled, min(thirds, len(doubled)))
    w = Writer(b)
    a_rows = [w.row(b.households[i], "A", communities[b.households[i].community]) for i in listed]
    plus_rows: list[RosterRow] = []
    b_rows: list[RosterRow] = []
    for i in extras:
        h = b.households[i]
        source = "A+" if rng.random() < P_A_PLUS else "B"
        (plus_rows if source == "A+" else b_rows).append(w.row(h, source, communities[h.community]))
    for i in sorted(b_only):
        h = b.households[i]
        b_rows.append(w.row(h, "B", communities[h.community]))
    rng.shuffle(plus_rows)
    rng.shuffle(b_rows)
    rows = a_rows + plus_rows + b_rows
    for index, row in enumerate(rows):
        row.index = index
    lookalikes = [LookAlike(a, bb, cls) for (a, bb), cls in sorted(b.lookalikes.items())]
    return Corpus(
        seed=seed,
        households=b.households,
        buildings=b.buildings,
        rows=rows,
        lookalikes=lookalikes,
    )


def district(seed: int = 1) -> Corpus:
    """The district-size corpus: 50,000 households and 10% duplicate rows."""
    return generate(seed, households=50_000, duplicate_rate=0.10)


# -- the corpus ----------------------------------------------------------------------------


@dataclass
class Corpus:
    """True households, the rows written about them, and the labels."""

    seed: int
    households: list[TrueHousehold]
    buildings: list[Building]
    rows: list[RosterRow]
    lookalikes: list[LookAlike]

    def roster(self, name: str) -> list[RosterRow]:
        """Rows of roster file ``A`` (the ``A+`` rows at its end) or ``B``, in file order."""
        return [r for r in self.rows if r.roster == name]

    @cached_property
    def rows_by_household(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = defaultdict(list)
        for row in self.rows:
            out[row.household].append(row.index)
        return dict(out)

    @property
    def aliases(self) -> dict[str, str]:
        """The estates of this corpus → their 门牌 road and lane (ground truth)."""
        names = dict.fromkeys(h.estate for h in self.households)
        return {name: ADDRESS_ALIASES[name] for name in names}

    def true_pairs(self) -> set[tuple[int, int]]:
        """Every pair of row indexes (i < j) that stand for one household."""
        return {
            pair for idx in self.rows_by_household.values() for pair in combinations(sorted(idx), 2)
        }

    @cached_property
    def _rooms_by_building(self) -> dict[tuple[str, int], frozenset[str]]:
        return {(b.estate, b.number): frozenset(b.rooms) for b in self.buildings}

    @cached_property
    def _rows_by_place(self) -> dict[tuple[str, int], list[RosterRow]]:
        out: dict[tuple[str, int], list[RosterRow]] = defaultdict(list)
        for row in self.rows:
            out[(row.evidence.grid, row.evidence.building)].append(row)
        return out

    def duplicate_pairs(self) -> list[DuplicatePair]:
        """Every pair of rows of one household, with its variant classes and decidability.

        A pair is *decidable* when a careful person who knows the street (both
        address systems, the short names) would link the two rows from what
        they say, and link neither to a row of another household as well:
        the rows must agree on the dwelling (or one names a room the building
        does not have, one slip away), carry at least two points of agreement
        on the person (a full name or a whole number counts two; a surname, a
        last character or the last four digits of a masked phone count one),
        contradict on at most one of name and phone (a spouse named as head, a
        new phone) when the other agrees fully, and every row of another
        household that could be linked as well must be strictly worse.
        """
        return self._duplicate_pairs

    @cached_property
    def _duplicate_pairs(self) -> list[DuplicatePair]:
        out = []
        for h, idx in self.rows_by_household.items():
            for i, j in combinations(sorted(idx), 2):
                x, y = self.rows[i], self.rows[j]
                out.append(DuplicatePair(i, j, h, pair_classes(x, y), self._decidable(x, y)))
        return sorted(out, key=lambda p: (p.a, p.b))

    def _candidates(self, row: RosterRow) -> list[RosterRow]:
        ev = row.evidence
        return [
            z
            for z in self._rows_by_place.get((ev.grid, ev.building), ())
            if z.household != row.household
        ]

    def _decidable(self, x: RosterRow, y: RosterRow) -> bool:
        rooms = self._rooms_by_building
        own = relation(x.evidence, y.evidence, rooms)
        if own is None:
            return False
        for row in (x, y):
            for z in self._candidates(row):
                other = relation(row.evidence, z.evidence, rooms)
                if other is not None and other <= own:
                    return False
        return True

    def write_csv(
        self, path: Path, roster: str = "A", encoding: str = "utf-8-sig", id_column: bool = True
    ) -> dict[int, int]:
        """Write roster ``A`` or ``B`` as CSV (``utf-8-sig``, or ``gbk`` as Excel on Chinese Windows).

        Returns:
            row index → line of the file (as Excel numbers rows).
        """
        from real_roster_files import write_csv

        return write_csv(self, path, roster, encoding, id_column)

    def write_xlsx(
        self,
        path: Path,
        roster: str = "A",
        *,
        id_column: bool = True,
        title: bool = True,
        remarks_column: bool = True,
        stale_sheet: bool = False,
        merge_blocks: bool = True,
    ) -> dict[int, int]:
        """Write roster ``A`` or ``B`` as an office XLSX (see :mod:`real_roster_files`).

        Returns:
            row index → row of the sheet.
        """
        from real_roster_files import write_xlsx

        return write_xlsx(
            self,
            path,
            roster,
            id_column=id_column,
            title=title,
            remarks_column=remarks_column,
            stale_sheet=stale_sheet,
            merge_blocks=merge_blocks,
        )
