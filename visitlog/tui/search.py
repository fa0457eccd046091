"""The households search behind the home screen's search box.

Pure Python (no widgets), so it can be measured and tested on its own.  The
keys come from :mod:`visitlog.search`.  Two indexes answer the same calls:

* :class:`HouseholdIndex`, for one 微网格 or a district of tens of thousands:
  the rows are in memory, each with its key built when they are loaded; a
  keystroke normalises the query and scans the keys (substring first, then
  near matches with rapidfuzz), well under 50 ms at 50,000 households.
* :class:`CompactIndex`, for every grid of a whole district (hundreds of
  thousands): the keys kept in the database (:func:`visitlog.search.refresh`)
  are read once into two byte strings, one key a line, and searched with
  ``bytes.find``; the rows themselves are read a page at a time
  (:class:`LazyRows`), as the table shows them.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from visitlog.order import natural_key
from visitlog.search import FUZZY_MIN_CHARS, _address, fuzzy_text, row_key

__all__ = [
    "FUZZY_MIN_CHARS",
    "CompactIndex",
    "HouseholdIndex",
    "LazyRows",
    "SearchResult",
    "best_near",
    "display_order",
    "fuzzy_cutoff",
]


def display_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows sorted by grid, then address, numbers read as numbers."""
    grids: dict[str | None, tuple[Any, ...]] = {}  # a district: 450,000 rows, 1,800 grids

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        grid = r.get("micro_grid")
        if grid not in grids:
            grids[grid] = natural_key(grid)
        return (grids[grid], natural_key(r.get("address_key") or r.get("address")))

    return sorted(rows, key=key)


@dataclass
class SearchResult:
    """Which rows match, best first.

    Attributes:
        query: the normalised query.
        indices: positions in :attr:`HouseholdIndex.rows` of the matches,
            rows containing the query first (in the table's order), then near
            matches (best score first).
        exact: how many of ``indices`` contain the query.
        total: how many rows were searched (after the still-due filter).
        near_pending: near matches were not looked for yet because the pool
            is large; call :meth:`HouseholdIndex.near` (off the UI thread).
        more_pending: only the first exact matches were looked for (a
            district's every grid); call :meth:`CompactIndex.rest` (off the
            UI thread) for the others.
    """

    query: str = ""
    indices: Sequence[int] = field(default_factory=list)
    exact: int = 0
    total: int = 0
    near_pending: bool = False
    more_pending: bool = False
    #: Where :meth:`CompactIndex.rest` goes on from (the first row not looked at).
    resume: int = 0


def fuzzy_cutoff(query: str) -> float:
    """The partial_ratio score that allows one wrong character (two from 8 on).

    partial_ratio is an Indel similarity, in which one substituted character
    of an n-character query costs 1/n.
    """
    n = len(query)
    edits = 1 if n < 8 else 2
    return max(60.0, 100.0 * (1 - edits / n) - 0.01)


def best_near(
    query: str,
    chunks: Iterable[tuple[Sequence[int], list[str]]],
    limit: int,
    wanted: Callable[[int], bool] | None = None,
    skip: int = 0,
    cancelled: Callable[[], bool] | None = None,
) -> list[int]:
    """The *limit* best near matches of *query*, best first (ties in the table's order).

    Args:
        chunks: ``(rows, texts)``: the rows' near-match texts, a chunk at a time
            (scored by one rapidfuzz call each, *cancelled* asked in between:
            ``[]`` as soon as it says the query changed).
        wanted: rows to keep among those scored (default all).
        skip: how many rows of a chunk *wanted* may turn down (more are scored).
    """
    from rapidfuzz import fuzz, process

    cutoff = fuzzy_cutoff(query)
    found: list[tuple[float, int]] = []
    for rows, texts in chunks:
        if cancelled is not None and cancelled():
            return []
        matches = process.extract(
            query, texts, scorer=fuzz.partial_ratio, score_cutoff=cutoff, limit=limit + skip
        )
        found += [
            (score, rows[pos]) for _, score, pos in matches if wanted is None or wanted(rows[pos])
        ]
    # Best first; ties keep the table's order, so rows do not jump around.
    found.sort(key=lambda m: (-m[0], m[1]))
    return [i for _, i in found[:limit]]


class HouseholdIndex:
    """The loaded households with one precomputed search key each.

    Args:
        rows: dicts from ``Store.household_overview``, in display order.
        previous: an older index of the same households; keys of rows whose
            address and head did not change are reused instead of recomputed.
    """

    #: Up to this many rows, near matches are computed with the exact ones
    #: (a few milliseconds); above it the caller runs :meth:`near` in a worker.
    SYNC_NEAR_MAX = 6000
    #: Rows scored per rapidfuzz call in :meth:`near`, between cancel checks.
    CHUNK = 5000

    def __init__(self, rows: Sequence[dict[str, Any]], previous: HouseholdIndex | None = None):
        self.rows: list[dict[str, Any]] = list(rows)
        old: dict[str, tuple[Any, Any, str, str]] = {}
        if previous is not None:
            for r, k, f in zip(previous.rows, previous.keys, previous.fuzzy, strict=True):
                old[r["id"]] = (r.get("address"), r.get("head"), k, f)
        self.keys: list[str] = []
        self.fuzzy: list[str] = []
        for r in self.rows:
            hit = old.get(r.get("id", ""))
            if hit and hit[0] == r.get("address") and hit[1] == r.get("head"):
                self.keys.append(hit[2])
                self.fuzzy.append(hit[3])
                continue
            self.keys.append(row_key(r))
            self.fuzzy.append(fuzzy_text(r))
        self.by_id: dict[str, int] = {r["id"]: i for i, r in enumerate(self.rows) if "id" in r}
        self._due: list[int] | None = None
        self._last: tuple[str, bool, list[int]] | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def due_indices(self) -> list[int]:
        """Rows still due this year: not met this year and not vacant."""
        if self._due is None:
            self._due = [
                i
                for i, r in enumerate(self.rows)
                if not r.get("visited_this_year") and r.get("occupancy") != "空置"
            ]
        return self._due

    def search(self, query: str, still_due: bool = False, near_limit: int = 200) -> SearchResult:
        """Filter rows by *query* (as typed in the search box).

        Args:
            query: raw text; normalised with :func:`normalize_query`, so
                ``一村``, ``1村``, full-width digits and ``cy1c`` all work.
            still_due: only rows still due this year.
            near_limit: at most this many near matches are added after the
                exact ones (and none when the exact ones already fill it).
        """
        pool = self.due_indices() if still_due else None
        total = len(pool) if pool is not None else len(self.rows)
        q = _address().normalize_query(query)
        if not q:
            indices = list(pool) if pool is not None else list(range(len(self.rows)))
            return SearchResult(q, indices, len(indices), total)
        keys = self.keys
        last = self._last
        # 曹杨一, on the way to 曹杨一村 (曹杨1村 in the keys), also as 曹杨1.
        alt = _address().numeral_tail(q)
        if (
            last is not None
            and last[1] == still_due
            and last[0] in q
            and (alt is None or last[0] in alt)
        ):
            # Typing one more character: every row matching the longer query
            # matched the shorter one, so only those need looking at.
            exact = [i for i in last[2] if q in keys[i] or (alt is not None and alt in keys[i])]
        elif alt is not None:
            rows = pool if pool is not None else range(len(keys))
            exact = [i for i in rows if q in keys[i] or alt in keys[i]]
        elif pool is None:
            exact = [i for i, k in enumerate(keys) if q in k]
        else:
            exact = [i for i in pool if q in keys[i]]
        self._last = (q, still_due, exact)
        result = SearchResult(q, list(exact), len(exact), total)
        if self.wants_near(result, near_limit):
            if total <= self.SYNC_NEAR_MAX:
                result.indices = exact + self.near(result, still_due, near_limit)
            else:
                result.near_pending = True
        return result

    @staticmethod
    def wants_near(result: SearchResult, near_limit: int = 200) -> bool:
        return len(result.query) >= FUZZY_MIN_CHARS and result.exact < near_limit

    def near(
        self,
        result: SearchResult,
        still_due: bool = False,
        limit: int = 200,
        cancelled: Callable[[], bool] | None = None,
    ) -> list[int]:
        """Near matches of ``result.query`` not already in ``result`` (best first).

        Scores the rows in chunks and stops early (returning ``[]``) as soon
        as *cancelled* says the query has changed.
        """
        limit -= result.exact
        if limit <= 0:
            return []
        exclude = set(result.indices)
        pool = self.due_indices() if still_due else range(len(self.rows))
        candidates = [i for i in pool if i not in exclude]
        chunks = (
            (part, [self.fuzzy[i] for i in part])
            for part in (
                candidates[start : start + self.CHUNK]
                for start in range(0, len(candidates), self.CHUNK)
            )
        )
        return best_near(result.query, chunks, limit, cancelled=cancelled)


# -- every grid of a district ----------------------------------------------------------


class LazyRows(Sequence[dict[str, Any]]):
    """The rows of a long list, read from the database a page at a time.

    Positions are those of *ids*; ``rows[i]`` reads the household when first
    asked for (:meth:`prefetch` reads a page in one query) and keeps the
    latest :attr:`KEEP` rows read.  A household gone since the list was read
    comes back as a row with its id only.

    Args:
        ids: household ids in the list's order.
        fetch: reads the rows of some ids (``Store.household_overview(ids=…)``),
            in any order.
    """

    KEEP = 2000
    #: Ids read per query (SQLite takes a bounded number of parameters).
    STEP = 500

    def __init__(self, ids: list[str], fetch: Callable[[list[str]], list[dict[str, Any]]]):
        self.ids = ids
        self._fetch = fetch
        self._kept: OrderedDict[int, dict[str, Any]] = OrderedDict()
        #: Positions of the kept rows by household id.
        self._kept_at: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, Any]:  # type: ignore[override]
        row = self._kept.get(i)
        if row is None:
            self.prefetch([i])
            row = self._kept[i]
        return row

    def __iter__(self) -> Iterator[dict[str, Any]]:
        raise TypeError("LazyRows are read by position (a district's rows are not all read)")

    def prefetch(self, positions: Iterable[int]) -> None:
        """Read the rows at *positions* that are not kept yet, in one query."""
        wanted = [i for i in dict.fromkeys(positions) if i not in self._kept]
        for first in range(0, len(wanted), self.STEP):
            part = wanted[first : first + self.STEP]
            found = {r["id"]: r for r in self._fetch([self.ids[i] for i in part])}
            for i in part:
                self._kept[i] = found.get(self.ids[i]) or {"id": self.ids[i]}
                self._kept_at[self.ids[i]] = i
        for i in wanted:
            self._kept.move_to_end(i)
        while len(self._kept) > self.KEEP:
            i, _row = self._kept.popitem(last=False)
            self._kept_at.pop(self.ids[i], None)

    def kept(self, household_id: str) -> dict[str, Any] | None:
        """The row of a household if it was read lately (None: not read, or not listed)."""
        i = self._kept_at.get(household_id)
        return None if i is None else self._kept.get(i)

    def position(self, household_id: str) -> int | None:
        """Where a household is in the list (None: not in it)."""
        try:
            return self.ids.index(household_id)
        except ValueError:
            return None


class CompactIndex:
    """Every household's keys as two byte strings, searched with ``bytes.find``.

    ``keys`` holds each household's search keys and ``fuzzy`` its near-match
    text, UTF-8, one household a line in the list's order; ``starts[i]`` and
    ``fstarts[i]`` are where line *i* starts (one more entry: the end).  A
    whole district's are some 60 MB.  A query never holds a newline, so a
    match lies within one line.

    :meth:`search` looks for the first :attr:`FIRST` exact matches only (a
    few milliseconds even when every household matches); when there may be
    more it says ``more_pending`` and :meth:`rest` finds them (off the UI
    thread).  Near matches are always left to :meth:`near`.
    """

    #: Exact matches looked for while a key is typed: the table's first pages.
    FIRST = 200
    #: A longer query is checked against only the matches of the shorter one
    #: when there are at most this many of them.
    NARROW_MAX = 50_000
    SYNC_NEAR_MAX = 0
    CHUNK = HouseholdIndex.CHUNK

    def __init__(
        self,
        ids: list[str],
        keys: bytes,
        starts: array[int],
        fuzzy: bytes,
        fstarts: array[int],
        fetch: Callable[[list[str]], list[dict[str, Any]]],
    ):
        self.keys, self.starts, self.fuzzy, self.fstarts = keys, starts, fuzzy, fstarts
        self.rows = LazyRows(ids, fetch)
        self._due: bytearray | None = None
        self._due_list: list[int] | None = None
        self._last: tuple[str, bool, list[int]] | None = None

    @classmethod
    def read(
        cls,
        lines: Iterable[tuple[str, bytes, bytes]],
        fetch: Callable[[list[str]], list[dict[str, Any]]],
    ) -> CompactIndex:
        """Build from ``(id, keys, fuzzy)`` in the list's order (``Store.search_index()``)."""
        ids: list[str] = []
        keys, fuzzy = bytearray(), bytearray()
        starts, fstarts = array("Q"), array("Q")
        for household_id, k, f in lines:
            ids.append(household_id)
            starts.append(len(keys))
            keys += k
            keys += b"\n"
            fstarts.append(len(fuzzy))
            fuzzy += f
            fuzzy += b"\n"
        starts.append(len(keys))
        fstarts.append(len(fuzzy))
        return cls(ids, bytes(keys), starts, bytes(fuzzy), fstarts, fetch)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def ids(self) -> list[str]:
        return self.rows.ids

    wants_near = staticmethod(HouseholdIndex.wants_near)

    # -- still due ----------------------------------------------------------------------

    @property
    def due_known(self) -> bool:
        return self._due is not None

    def due_mask(self, due_ids: Iterable[str]) -> bytearray:
        """One byte a row, 1 for the households still due (``Store.households_due``);
        tens of milliseconds for a district, so made off the UI thread."""
        due = set(due_ids)
        return bytearray(1 if i in due else 0 for i in self.rows.ids)

    def set_due_mask(self, mask: bytearray) -> None:
        """Which rows are still due this year (:meth:`due_mask`)."""
        self._due = mask
        self._due_list = None
        self._last = None

    def set_due(self, due_ids: Iterable[str]) -> None:
        """Which households are still due this year (``Store.households_due``)."""
        self.set_due_mask(self.due_mask(due_ids))

    def due_indices(self) -> list[int]:
        """Rows still due this year ([] until :meth:`set_due`)."""
        if self._due is None:
            return []
        if self._due_list is None:
            self._due_list = [i for i, d in enumerate(self._due) if d]
        return self._due_list

    # -- exact matches ------------------------------------------------------------------

    def _scan(
        self, pattern: bytes, row: int, limit: int, mask: bytearray | None
    ) -> tuple[list[int], int]:
        """Rows from *row* on whose keys hold *pattern* (and *mask* allows), at most
        *limit*; and the first row not looked at (``len(self)`` at the end)."""
        keys, starts, n = self.keys, self.starts, len(self.rows)
        find = keys.find
        out: list[int] = []
        pos = starts[row] if row < n else len(keys)
        while len(out) < limit:
            hit = find(pattern, pos)
            if hit < 0:
                return out, n
            i = bisect_right(starts, hit) - 1
            if mask is None or mask[i]:
                out.append(i)
            pos = starts[i + 1]
        return out, (out[-1] + 1 if out else n)

    def _matches(
        self, q: str, alt: str | None, row: int, limit: int, mask: bytearray | None
    ) -> tuple[list[int], int]:
        """Rows holding *q* or *alt*: at most *limit* from *row* on, and where to go on from."""
        found, reached = self._scan(q.encode(), row, limit, mask)
        if alt is None:
            return found, reached
        more, reached_alt = self._scan(alt.encode(), row, limit, mask)
        # Each scan is complete up to where it stopped: so is their union, up to
        # the nearer of the two.
        bound = min(reached, reached_alt)
        rows = sorted({i for i in (*found, *more) if i < bound})
        return rows[:limit], (rows[limit - 1] + 1 if len(rows) > limit else bound)

    def _has(self, i: int, q: bytes, alt: bytes | None) -> bool:
        line = self.keys[self.starts[i] : self.starts[i + 1]]
        return q in line or (alt is not None and alt in line)

    def search(self, query: str, still_due: bool = False, near_limit: int = 200) -> SearchResult:
        """The first matches of *query* (see :meth:`HouseholdIndex.search`)."""
        mask = self._due if still_due else None
        pool = self.due_indices() if still_due else None
        total = len(pool) if pool is not None else len(self.rows)
        q = _address().normalize_query(query)
        if not q:
            indices: Sequence[int] = pool if pool is not None else range(len(self.rows))
            return SearchResult(q, indices, len(indices), total)
        alt = _address().numeral_tail(q)
        last = self._last
        if (
            last is not None
            and last[1] == still_due
            and last[0] in q
            and (alt is None or last[0] in alt)
        ):
            # One more character typed, and every match of the shorter query known.
            qb, ab = q.encode(), alt.encode() if alt is not None else None
            exact = [i for i in last[2] if self._has(i, qb, ab)]
            result = SearchResult(q, exact, len(exact), total)
            self._remember(result, still_due)
        else:
            exact, reached = self._matches(q, alt, 0, self.FIRST, mask)
            result = SearchResult(q, exact, len(exact), total)
            if reached < len(self.rows):
                result.more_pending, result.resume = True, reached
            else:
                self._remember(result, still_due)
        result.near_pending = not result.more_pending and self.wants_near(result, near_limit)
        return result

    def _remember(self, result: SearchResult, still_due: bool) -> None:
        exact = list(result.indices[: result.exact])
        self._last = (result.query, still_due, exact) if len(exact) <= self.NARROW_MAX else None

    def rest(
        self,
        result: SearchResult,
        still_due: bool = False,
        cancelled: Callable[[], bool] | None = None,
    ) -> list[int] | None:
        """Every exact match of ``result.query`` (those found already first);
        None when *cancelled* says the query changed meanwhile."""
        mask = self._due if still_due else None
        alt = _address().numeral_tail(result.query)
        found = list(result.indices[: result.exact])
        row = result.resume
        while row < len(self.rows):
            if cancelled is not None and cancelled():
                return None
            more, row = self._matches(result.query, alt, row, 20_000, mask)
            found += more
        done = SearchResult(result.query, found, len(found), result.total)
        self._remember(done, still_due)
        return found

    # -- near matches -------------------------------------------------------------------

    def near(
        self,
        result: SearchResult,
        still_due: bool = False,
        limit: int = 200,
        cancelled: Callable[[], bool] | None = None,
    ) -> list[int]:
        """Near matches of ``result.query`` not among its exact ones (best first)."""
        limit -= result.exact
        if limit <= 0:
            return []
        exclude = set(result.indices[: result.exact])
        mask = self._due if still_due else None
        fuzzy, fstarts, n = self.fuzzy, self.fstarts, len(self.rows)
        chunks = (
            (
                range(first, last),
                fuzzy[fstarts[first] : fstarts[last] - 1].decode().split("\n"),
            )
            for first, last in (
                (first, min(first + self.CHUNK, n)) for first in range(0, n, self.CHUNK)
            )
        )

        def wanted(i: int) -> bool:
            return i not in exclude and (mask is None or bool(mask[i]))

        return best_near(result.query, chunks, limit, wanted, len(exclude), cancelled)
