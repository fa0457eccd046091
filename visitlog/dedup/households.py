"""Household candidates: dwellings under any address system, a learned model, three bands.

Steps of one run (:func:`find_households`):

1. **Read** every live household (:mod:`visitlog.dedup.houses`): its
   dwelling (:func:`visitlog.dedup.dwellings.read_dwelling`: the place,
   building and rooms, zero-padding and two-room forms undone), the 小区
   column, the head's cell as understood (full names, or what is known of a
   person: 老王, 王*国), the numbers understood from the contact
   (``households.phones``), members and tags.
2. **Aliases**: an :class:`~visitlog.dedup.dwellings.AliasBook` learns which
   places name one estate (an address giving both systems, the 小区 column
   beside a road and lane, short names within a 居民区, records agreeing on the
   person, confirmed merges) and takes the workers' decisions; every record
   is then read as its estate, so aliases apply to every pair.
3. **Buildings** (:class:`~visitlog.dedup.houses.Layout`): which floors and
   rooms each building has, from the rooms the records name (a floor is real
   when two different rooms are on it, a unit when it turns up on two
   floors).  A room the building does not have is likely a slip of the pen;
   a room that exists is a flat of its own.
4. **Blocking** (:mod:`visitlog.dedup.candidates`): only records sharing a
   block are compared — one room (estate + building + room, per room of a
   two-room family); one understood number; estate + building + the head's
   pinyin; a building probed only by records whose room the building does
   not have; the micro-grid + building + room for a record with no estate at
   all.  A block larger than ``max_block`` (a committee's phone on 300
   households) says nothing and is skipped.
5. **Comparison** (:mod:`visitlog.dedup.compare`): each pair gets an
   agreement level per field — place, head's name, phone, members, tags
   (:data:`~visitlog.dedup.fields.FIELDS`).
6. **Model**: a Fellegi–Sunter model (:mod:`visitlog.dedup.model`) whose m
   and u are estimated by EM on these very pairs, with decisions already
   made (merges, "not a duplicate") as labels.  A pair's score is its
   probability of being one household; its reasons give the match weight of
   each field.
7. **What a person would not do**: a few facts of a real building the
   independence assumption of the model cannot see keep a pair from being
   merged (it goes to review, or is dropped): two flats that both exist are
   two dwellings even with one owner's name and phone; a different floor
   with the parents' phone is a sibling unless the names agree; two heads
   and two phones behind one room number are a shared unit; a landline
   shared by two different heads is for a person to decide; a record with
   neither name nor phone at an address where several households live.
8. **Bands**: at or above the threshold, ``--apply`` merges; from
   :data:`~visitlog.dedup.results.REVIEW_FLOOR` up, a person reviews
   (ordered by what a decision teaches the model); below, dropped.
"""

from __future__ import annotations

import gc
import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING, Any

from visitlog.address import normalize_address
from visitlog.dedup.candidates import candidate_pairs
from visitlog.dedup.clustering import assemble
from visitlog.dedup.compare import Comparer, Evidence
from visitlog.dedup.decisions import distinct_pairs
from visitlog.dedup.dwellings import AliasBook, stored_aliases
from visitlog.dedup.fields import FIELDS, PRIOR_LAMBDA, W_CONTRADICTION, weight_to_score
from visitlog.dedup.houses import (
    COLUMNS,
    Cache,
    House,
    learn_aliases,
    load_households,
    read_houses,
)
from visitlog.dedup.model import Model
from visitlog.dedup.results import (
    DEFAULT_THRESHOLD,
    MAX_BLOCK,
    REVIEW_FLOOR,
    Candidates,
    Pair,
    check_threshold,
    reason_text,
)
from visitlog.i18n import t
from visitlog.model import NotFoundError
from visitlog.rows import in_parts, jdump, live

if TYPE_CHECKING:  # pragma: no cover
    from visitlog.store import Store

__all__ = [
    "explain_households",
    "find_households",
    "fit_model",
]


def _labels(
    store: Store, houses: list[House], comparer: Comparer, cache: Cache, book: AliasBook
) -> list[tuple[tuple[int, ...], bool]]:
    """Patterns of pairs people decided: merged (one household) and "not a duplicate"."""
    by_id = {h.id: h for h in houses}
    out: list[tuple[tuple[int, ...], bool]] = []
    for a, b in distinct_pairs(store, "households"):
        if a in by_id and b in by_id:
            out.append((comparer.compare(by_id[a], by_id[b])[0], False))
    merged = store.query_values(
        f"SELECT {COLUMNS}, merged_into FROM households "
        "WHERE merged_into IS NOT NULL AND deleted = 0 LIMIT 5000"
    )
    for row in merged:
        survivor = by_id.get(row[11])
        if survivor is None:
            continue
        h = House(-1, row, cache)
        h.place(book, cache.pinyin)
        out.append((comparer.compare(h, survivor)[0], True))
    return out


#: Random pairs compared to estimate u (as splink's estimate_u_using_random_sampling).
_RANDOM_PAIRS = 10_000


def _random_patterns(
    houses: list[House], comparer: Comparer, candidates: set[tuple[int, int]]
) -> Counter[tuple[int, ...]]:
    """Patterns of random pairs of records that are not candidates (nearly all two households).

    A fixed seed: the same data gives the same model.  In a small roster
    every pair is taken.
    """
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

    def __init__(
        self,
        store: Store,
        max_block: int = MAX_BLOCK,
        rows: list[tuple[Any, ...]] | None = None,
        model: Model | None = None,
        only: set[str] | None = None,
        book: AliasBook | None = None,
        cache: Cache | None = None,
    ):
        """*rows*: the households to read (default: every live one); *model*:
        score with it instead of fitting one on these pairs; *only*: keep
        the candidate pairs with one of these households in them; *book*:
        read places with these aliases instead of learning them; *cache*:
        readings made already."""
        self.cache = cache = cache or Cache()
        self.houses = houses = read_houses(load_households(store) if rows is None else rows, cache)
        self.book = book if book is not None else learn_aliases(store, houses, cache)
        for h in houses:
            h.place(self.book, cache.pinyin)
        self.comparer = Comparer(houses, cache)
        self.pairs, self.block_stats = candidate_pairs(houses, max_block, self.comparer)
        if only is not None:
            self.pairs = {
                (i, j) for i, j in self.pairs if houses[i].id in only or houses[j].id in only
            }
        self.compared: dict[tuple[int, int], tuple[tuple[int, ...], Evidence, dict[str, Any]]] = {}
        for i, j in self.pairs:
            self.compared[(i, j)] = self.comparer.compare(houses[i], houses[j])
        self.patterns = Counter(c[0] for c in self.compared.values())
        if model is not None:
            self.model = model
            return
        self.model = Model(FIELDS, PRIOR_LAMBDA).fit(
            self.patterns, _labels(store, houses, self.comparer, cache, self.book)
        )
        n = len(houses)
        self.model.set_random(
            _random_patterns(houses, self.comparer, self.pairs), len(self.pairs), n * (n - 1) // 2
        )

    def scored(self, i: int, j: int) -> tuple[float, Evidence]:
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
    store: Store,
    threshold: float = DEFAULT_THRESHOLD,
    max_block: int = MAX_BLOCK,
    changed: bool = False,
) -> Candidates:
    """Candidate duplicate households, scored, with the clusters to merge.

    Args:
        store: the database.
        threshold: score (0..1] at and above which pairs are merged.
        max_block: blocks with more members are skipped.
        changed: only the households added or changed since the last run
            (made here or received by sync), each against every other
            household it could be a duplicate of (:func:`_neighbourhood`),
            scored by the model of the last whole run.  Without a last run
            (or when the database no longer holds what it held then: a
            backup restored over it), every household is compared.

    Returns:
        The candidates; ``stats`` tells how many pairs were compared, the
        model (``model``: λ, m, u and the weights) and the review order
        (``teach`` of each listed pair, in ``review``); ``stats["changed"]``
        how many households an incremental run started from (None: a whole
        run).
    """
    check_threshold(threshold)
    started = time.perf_counter()
    # Reading 50,000 households makes hundreds of thousands of small objects
    # that live for the whole run: the cyclic collector would walk them
    # again and again for nothing (a third of the time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _find(store, threshold, max_block, started, changed)
    finally:
        if collecting:
            gc.enable()


#: The local setting that keeps where the last household run started (the
#: change log's version vector, the tables' last rowids), the model it scored
#: with and the aliases it read places with: an incremental run
#: (``changed``) starts from there.
MARK = "dedup_mark"
#: Above this many households changed since the last run, an incremental run
#: would read about as much as a whole one: a whole one is made.
CHANGED_UP_TO = 5000


@dataclass
class _LastRun:
    """What an incremental run takes from the last run: the households changed
    since, the model and the aliases (and their state, kept again)."""

    ids: set[str]
    model: Model
    book: AliasBook
    state: dict[str, Any]


def _decisions_key(store: Store) -> str:
    """The workers' alias decisions as one text: a decision made since the
    last run changes how places read, so the next run reads all again."""
    return jdump(stored_aliases(store))


def _last_run(store: Store) -> _LastRun | None:
    """What the last run left, or None when an incremental run cannot be made
    (no last run, a mark the database does not reach, a model of other
    fields, alias decisions made since)."""
    text = store.get_setting(MARK)
    if not text:
        return None
    try:
        mark = json.loads(text)
        model = Model.from_state(FIELDS, PRIOR_LAMBDA, mark["model"])
        book = AliasBook.from_state(mark["book"])
        at, decisions = mark["at"], mark["decisions"]
    except (ValueError, KeyError, TypeError):
        return None
    if model is None or decisions != _decisions_key(store):
        return None
    ids = store.changed_since(at, "households")
    if ids is None:
        return None
    return _LastRun(ids, model, book, {k: mark[k] for k in ("model", "book", "decisions")})


def _neighbourhood(
    store: Store, ids: set[str], cache: Cache
) -> tuple[list[tuple[Any, ...]], set[str]]:
    """The live households among *ids*, and every household a candidate pair
    of one of them can come from, or its score depends on.

    - Every household of their buildings in their 微网格 (a building's
      records, whose rooms tell which flats exist, and every block but the
      numbers lie within one), or with no building where they have none.
    - Wherever they are, the households sharing one of their numbers (how
      widely a number is given is evidence too) or their written address,
      each with the whole of its 微网格.
    - The households headed by one of their heads' names (in how many
      buildings a name heads records).

    What a whole run finds and this does not: a changed household and one of
    another 微网格 at the same estate, building and room written differently
    (a room typo, the estate's other name): one building on two grids.

    Returns:
        ``(rows of COLUMNS, ids of the live changed households)``.
    """
    rows: dict[str, tuple[Any, ...]] = {}

    def add(where: str, params: list[Any]) -> None:
        """Read the households *where* says (``{marks}`` stands for *params*)."""
        for part, marks in in_parts(params):
            for r in store.query_values(
                f"SELECT {COLUMNS} FROM households h WHERE {live('h')} AND "
                + where.format(marks=marks),
                part,
            ):
                rows.setdefault(r[0], r)

    add("h.id IN ({marks})", sorted(ids))
    changed = set(rows)
    if not changed:
        return [], changed
    mine = list(rows.values())
    numbers = sorted({n for r in mine for n in _numbers(r[7])})
    keys = sorted({r[5] for r in mine if r[5]})
    heads = sorted({r[6] for r in mine if r[6]})
    # A number has no index of its own: it is looked for in the index of the
    # live households' numbers (migration m014), read alone, not in the rows.
    for part, marks in in_parts(numbers):
        add(
            "h.rowid IN ({marks})",
            [
                r[0]
                for r in store.query_values(
                    f"SELECT rowid FROM households h WHERE {live('h')} AND h.phones IS NOT NULL "
                    f"AND EXISTS (SELECT 1 FROM json_each(h.phones) j WHERE j.value IN ({marks}))",
                    part,
                )
            ],
        )
    add("h.address_key IN ({marks})", keys)
    add("h.head IS NOT NULL AND h.head IN ({marks})", heads)
    numbers_set, keys_set = set(numbers), set(keys)
    anchors = {
        k: r
        for k, r in rows.items()
        if k in changed or r[5] in keys_set or numbers_set.intersection(_numbers(r[7]))
    }
    # The anchors' buildings, as their grids' records say: a grid's other
    # records are read only far enough to know their building.
    buildings: dict[str, set[str | None]] = defaultdict(set)
    for r in anchors.values():
        buildings[r[2]].add(_building(cache, r[5], r[4]))
    near: list[str] = []
    for part, marks in in_parts(sorted(buildings)):
        for hid, grid, key, address in store.query_values(
            "SELECT id, micro_grid, address_key, address FROM households h "
            f"WHERE {live('h')} AND h.micro_grid IN ({marks})",
            part,
        ):
            if hid in rows:
                continue
            mark = buildings[grid]
            if (
                key
                and None not in mark
                and not any(f"{b}号" in key or f"{b}-" in key for b in mark if b)
            ):
                continue  # not written with any of the buildings: not one of them
            if _building(cache, key, address) in mark:
                near.append(hid)
    add("h.id IN ({marks})", near)
    return sorted(rows.values()), changed


def _building(cache: Cache, address_key: str | None, address: str | None) -> str | None:
    """The building a household's address names (None: none), as a House reads it."""
    return cache.dwelling(address_key or normalize_address(address))[0].building


def _numbers(text: str | None) -> list[str]:
    """The numbers of a households.phones cell (a JSON array, or nothing)."""
    try:
        got = json.loads(text) if text else []
    except ValueError:
        return []
    return [n for n in got if isinstance(n, str)] if isinstance(got, list) else []


def _find(
    store: Store, threshold: float, max_block: int, started: float, changed: bool
) -> Candidates:
    # Where the database stands before it is read: what is written meanwhile
    # is new to the next incremental run.
    at = store.change_mark()
    last = _last_run(store) if changed else None
    many = None
    if last is not None and len(last.ids) > CHANGED_UP_TO:
        # A roster imported, a street synced in: reading everything is quicker.
        many, last = len(last.ids), None
    if last is None:
        since: set[str] | None = None
        run = _Run(store, max_block)
        kept = {
            "model": run.model.state(),
            "book": run.book.state(),
            "decisions": _decisions_key(store),
        }
    else:
        cache = Cache()
        rows, since = _neighbourhood(store, last.ids, cache)
        run = _Run(
            store, max_block, rows=rows, model=last.model, only=since, book=last.book, cache=cache
        )
        kept = last.state
    distinct = distinct_pairs(store, "households")
    result = assemble(
        "households",
        run.houses,
        run.pairs,
        run.scored,
        weight_to_score,
        W_CONTRADICTION,
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
        # an incremental run: each changed household against every one read
        "all_pairs": n * (n - 1) // 2 if since is None else len(since) * max(n - 1, 0),
        **run.block_stats,
        "aliases": sum(1 for a in run.book.aliases if a.status != "rejected"),
        "merge": sum(1 for p in result.pairs if p.score >= threshold),
        "review": len(review),
        "changed": None if since is None else len(since),
        # a whole run made because this many had changed (None: not for that)
        "changed_many": many,
        "seconds": round(time.perf_counter() - started, 3),
    }
    result.model = run.model.to_json()
    result.aliases = [a.to_json() for a in run.book.aliases]
    store.keep_setting(MARK, jdump({"at": at, **kept}))
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
        raise NotFoundError(t("dedup.err.not_live", kind=t("noun.households"), id=missing[0]))
    w, why = run.scored(by_id[ids[0]].idx, by_id[ids[1]].idx)
    lo, hi = sorted(ids)
    return Pair(
        lo, hi, weight_to_score(w), [reason_text(c, p) for c, p in why], [c for c, _ in why]
    )
