"""The households search behind the home screen's search box.

Pure Python (no widgets), so it can be measured and tested on its own.  Each
row's search key is built once when the rows are loaded; a keystroke then only
normalises the query and scans the keys (substring first, then near matches
with rapidfuzz), which stays well under 50 ms at 50,000 households.

Keys are the ones :func:`visitlog.address.search_keys` defines (normalised
address, its pinyin initials, the initials of the raw spelling) plus the head's
name as written and as understood (:mod:`visitlog.residents`), their pinyin
and initials, and the phone numbers understood from the contact.  Computing pinyin is slow (about half a
millisecond per address), so it is cached per run of Chinese characters: a
district has 50,000 addresses but only a few hundred distinct runs such as
``曹杨`` or ``弄``, and pypinyin reads digits as phrase boundaries anyway, so the
result is the same as reading the whole address at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from visitlog.order import natural_key

if TYPE_CHECKING:
    from types import ModuleType


@lru_cache(maxsize=1)
def _address() -> ModuleType:
    """visitlog.address, imported on first use: the home screen's first paint
    does not need it (nor rapidfuzz, which it imports)."""
    import visitlog.address

    return visitlog.address


# Runs of CJK ideographs (and 〇) versus everything else.
_RUNS = re.compile("([\u3007\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]+)")
_NON_KEY = re.compile(r"[^0-9a-z]+")
_CHAR_NOISE = re.compile(r"\s+")

#: Near matches are only looked for when the query is at least this long
#: (in characters): with fewer, one wrong character matches almost anything.
FUZZY_MIN_CHARS = 4


@lru_cache(maxsize=65536)
def _run_initials(run: str) -> str:
    return _address().name_initials(run)


def _initials(text: str) -> str:
    """``name_initials(text)``, cached per run of Chinese characters."""
    text = unicodedata.normalize("NFKC", text).lower()
    out = []
    for i, part in enumerate(_RUNS.split(text)):
        if not part:
            continue
        # split() with a capturing group puts the CJK runs at odd positions.
        out.append(_run_initials(part) if i % 2 else _NON_KEY.sub("", part))
    return "".join(out)


@lru_cache(maxsize=65536)
def _char_pinyin(ch: str) -> str:
    return _address().name_pinyin(ch)


def _name_keys(name: str) -> str:
    """The head's name as written, its pinyin and its initials."""
    name = _CHAR_NOISE.sub("", unicodedata.normalize("NFKC", name).lower())
    if not name:
        return ""
    # name_pinyin reads each character on its own, so caching per character
    # gives exactly its result.
    syllables = [_char_pinyin(ch) for ch in name]
    initials = "".join(s[:1] for s in syllables)
    return " ".join(dict.fromkeys(k for k in (name, "".join(syllables), initials) if k))


def address_keys(address: str | None, address_key: str | None = None) -> str:
    """The keys of :func:`visitlog.address.search_keys`, computed with caches.

    Args:
        address: the address as written.
        address_key: its :func:`normalize_address` key when already known
            (the store keeps it), to save normalising again.
    """
    key = address_key if address_key is not None else _address().normalize_address(address)
    candidates = (key, _initials(key), _initials(address or ""))
    return " ".join(dict.fromkeys(k for k in candidates if k))


@lru_cache(maxsize=65536)
def _head_keys(head: str) -> str:
    """Keys of the head's cell: as written, and each person understood from it
    (王秀英（已故） → 王秀英, 張偉 → 张伟, 王秀英/冯玲建 → both), with pinyin and initials."""
    from visitlog.residents import read_name

    names = [head, *read_name(head).full_names]
    keys = " ".join(_name_keys(n) for n in dict.fromkeys(names))
    return " ".join(dict.fromkeys(keys.split()))


def _phone_keys(phones: Sequence[str] | None) -> str:
    """The numbers understood from the contact, and a landline without 021."""
    out: list[str] = []
    for number in phones or ():
        digits = number.split("转")[0]
        if "*" in digits:
            continue
        out.append(digits)
        if digits.startswith("021"):
            out.append(digits[3:])
    return " ".join(dict.fromkeys(out))


def row_key(row: dict[str, Any]) -> str:
    """The whole search key of one household row of ``Store.household_overview``."""
    parts = [address_keys(row.get("address"), row.get("address_key"))]
    if row.get("head"):
        parts.append(_head_keys(row["head"]))
    parts.append(_phone_keys(row.get("phones")))
    return " ".join(p for p in parts if p)


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
    """

    query: str = ""
    indices: list[int] = field(default_factory=list)
    exact: int = 0
    total: int = 0
    near_pending: bool = False


def fuzzy_cutoff(query: str) -> float:
    """The partial_ratio score that allows one wrong character (two from 8 on).

    partial_ratio is an Indel similarity, in which one substituted character
    of an n-character query costs 1/n.
    """
    n = len(query)
    edits = 1 if n < 8 else 2
    return max(60.0, 100.0 * (1 - edits / n) - 0.01)


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
            # Near matches are scored against the readable keys only: a typo
            # in the initials (cy1c) matches too much to be useful.
            key = r.get("address_key") or _address().normalize_address(r.get("address"))
            head = _name_keys(r["head"]) if r.get("head") else ""
            self.fuzzy.append(f"{key} {head}".strip())
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
        from rapidfuzz import fuzz, process

        limit -= result.exact
        if limit <= 0:
            return []
        exclude = set(result.indices)
        pool = self.due_indices() if still_due else range(len(self.rows))
        candidates = [i for i in pool if i not in exclude]
        cutoff = fuzzy_cutoff(result.query)
        found: list[tuple[float, int]] = []
        for start in range(0, len(candidates), self.CHUNK):
            if cancelled is not None and cancelled():
                return []
            chunk = candidates[start : start + self.CHUNK]
            matches = process.extract(
                result.query,
                [self.fuzzy[i] for i in chunk],
                scorer=fuzz.partial_ratio,
                score_cutoff=cutoff,
                limit=limit,
            )
            found += [(score, chunk[pos]) for _, score, pos in matches]
        # Best first; ties keep the table's order, so rows do not jump around.
        found.sort(key=lambda m: (-m[0], m[1]))
        return [i for _, i in found[:limit]]
