"""The households' search keys: what the home screen's search box matches.

Keys are the ones :func:`visitlog.address.search_keys` defines (normalised
address, its pinyin initials, the initials of the raw spelling) plus the head's
name as written and as understood (:mod:`visitlog.residents`), their pinyin
and initials, and the phone numbers understood from the contact.  Computing
pinyin is slow (about half a millisecond per address), so it is cached per run
of Chinese characters: a district has 50,000 addresses but only a few hundred
distinct runs such as ``曹杨`` or ``弄``, and pypinyin reads digits as phrase
boundaries anyway, so the result is the same as reading the whole address at
once.

Even so a household's keys cost about 20 microseconds: 450,000 households (a
whole district, listed on the office's machine) take ten seconds.  So they are
also kept in the database (:mod:`visitlog.store.search_keys`), each with the
stamp of the household it was made from, and :func:`refresh` makes again only
those of households added or changed since (here, by a sync or by another
program).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from visitlog.order import sort_text

if TYPE_CHECKING:
    from types import ModuleType

    from visitlog.store import Store


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


def fuzzy_text(row: dict[str, Any]) -> str:
    """What near matches are scored against: the readable keys only (a typo in
    the initials, cy1c, matches too much to be useful)."""
    key = row.get("address_key") or _address().normalize_address(row.get("address"))
    head = _name_keys(row["head"]) if row.get("head") else ""
    return f"{key} {head}".strip()


def order_text(row: dict[str, Any]) -> str:
    """The household's place in the home screen's order (grid, then address,
    numbers read as numbers), as text that sorts the same way in SQLite."""
    return sort_text(row.get("micro_grid"), row.get("address_key") or row.get("address"))


def _clean(text: str) -> str:
    # The keys of a district are kept joined by newlines (one blob in memory).
    return text.replace("\n", " ")


def keys_of(row: dict[str, Any]) -> tuple[str, str, str, str]:
    """``(order, id, keys, fuzzy)`` of one household row, as kept."""
    return order_text(row), row["id"], _clean(row_key(row)), _clean(fuzzy_text(row))


#: From this many households on, the terminal app lists every grid through
#: the keys kept in the database (and ``visitlog demo`` makes them).
KEEP_FROM = 20_000

#: Households whose keys are made and written per transaction: a save on the
#: UI waits at most for one such write.
REFRESH_STEP = 5000


def refresh(store: Store, progress: Callable[[int, int], None] | None = None) -> int:
    """Make the keys of every live household that has none; return how many were made.

    Each step is its own transaction, so a refresh stopped half-way keeps what
    it wrote and the next one goes on from there.  On a read-only database
    nothing is made: the caller makes the keys it needs in memory.

    Args:
        progress: called with (made so far, how many were missing).
    """
    if store.read_only:
        return 0
    kept, households = store.search_keys_count()
    todo = max(households - kept, 0)
    made, after = 0, ""
    while rows := store.search_keys_missing(after, REFRESH_STEP):
        after = rows[-1]["id"]
        store.put_search_keys([(*keys_of(r), r["hlc"]) for r in rows])
        made += len(rows)
        if progress is not None:
            progress(made, todo)
    return made
