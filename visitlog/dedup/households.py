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
import random
import time
from collections import Counter
from itertools import combinations
from typing import TYPE_CHECKING, Any

from visitlog.dedup.candidates import candidate_pairs
from visitlog.dedup.clustering import assemble
from visitlog.dedup.compare import Comparer, Evidence
from visitlog.dedup.decisions import distinct_pairs
from visitlog.dedup.dwellings import AliasBook
from visitlog.dedup.fields import FIELDS, PRIOR_LAMBDA, W_CONTRADICTION, weight_to_score
from visitlog.dedup.houses import COLUMNS, Cache, House, learn_aliases, load_households
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

    def __init__(self, store: Store, max_block: int = MAX_BLOCK):
        self.cache = cache = Cache()
        self.houses = houses = [
            House(i, row, cache) for i, row in enumerate(load_households(store))
        ]
        self.book = learn_aliases(store, houses, cache)
        for h in houses:
            h.place(self.book, cache.pinyin)
        self.comparer = Comparer(houses, cache)
        self.pairs, self.block_stats = candidate_pairs(houses, max_block, self.comparer)
        self.compared: dict[tuple[int, int], tuple[tuple[int, ...], Evidence, dict[str, Any]]] = {}
        for i, j in self.pairs:
            self.compared[(i, j)] = self.comparer.compare(houses[i], houses[j])
        self.patterns = Counter(c[0] for c in self.compared.values())
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
        raise NotFoundError(t("dedup.err.not_live", kind=t("noun.households"), id=missing[0]))
    w, why = run.scored(by_id[ids[0]].idx, by_id[ids[1]].idx)
    lo, hi = sorted(ids)
    return Pair(
        lo, hi, weight_to_score(w), [reason_text(c, p) for c, p in why], [c for c, _ in why]
    )
