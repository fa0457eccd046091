"""Duplicate households and visits: candidates by blocking, scores with reasons, clusters.

Duplicates come from two rosters listing one household, from two workers
entering one visit, or from one worker entering it twice.  This module is the
public face of de-duplication: the result types, :func:`find` and its two
kinds, the clustering shared by both, and what a reviewer is shown.  How
households are blocked and scored is in :mod:`visitlog.dedup_households`,
visits in :mod:`visitlog.dedup_visits`; :mod:`visitlog.dedup_merge` merges,
undoes and records "not a duplicate" decisions.

Neither kind is ever compared all against all: records are put into *blocks*
(records sharing a key) and only records sharing a block are compared.  Each
candidate pair gets a score in 0..1 and reasons, a code plus a sentence in the
current language for every piece of evidence.

Clusters are built greedily from the best pair down; two clusters are only
joined when no pair across them contradicts (a shared unit, a recorded "not a
duplicate", a different building…), so a chain of near matches cannot glue
two real households together.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from visitlog.i18n import t
from visitlog.rows import live

if TYPE_CHECKING:  # pragma: no cover
    from visitlog.store import Store

__all__ = [
    "DEFAULT_THRESHOLD",
    "KINDS",
    "MAX_BLOCK",
    "REVIEW_FLOOR",
    "Candidates",
    "Pair",
    "describe",
    "distinct_pairs",
    "explain_households",
    "find",
    "find_households",
    "find_visits",
]

#: Score at and above which ``--apply`` merges (a pair whose evidence is
#: e.g. "same address, same name, no phone to compare").
DEFAULT_THRESHOLD = 0.9
#: Pairs scoring below this are not listed for review at all.
REVIEW_FLOOR = 0.5
#: Blocks with more members than this are skipped (see module docstring).
MAX_BLOCK = 60
KINDS = ("households", "visits")

# -- results ---------------------------------------------------------------------


@dataclass
class Pair:
    """A candidate pair of records with its score and the evidence behind it.

    Attributes:
        a: id of one record (the smaller id).
        b: id of the other.
        score: 0..1; at or above the threshold the pair is merged by ``--apply``.
        reasons: sentences in the current language, one per piece of evidence.
        codes: the same evidence as stable codes (``same_phone``, ``room_swap``…).
    """

    a: str
    b: str
    score: float
    reasons: list[str]
    codes: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "score": self.score,
            "reasons": self.reasons,
            "codes": self.codes,
        }


@dataclass
class Candidates:
    """What one de-duplication run found.

    Attributes:
        kind: ``households`` or ``visits``.
        threshold: the score at and above which pairs are merged.
        pairs: candidate pairs scoring at least REVIEW_FLOOR, best first.
        clusters: groups of ids that ``--apply`` merges (each sorted, the
            list ordered by its first id); exactly the pairs at or above the
            threshold, joined where nothing across them contradicts.
        stats: records, candidate pairs compared, all pairs, skipped blocks.
    """

    kind: str
    threshold: float
    pairs: list[Pair]
    clusters: list[list[str]]
    stats: dict[str, Any] = field(default_factory=dict)
    #: Best score of each pair inside a cluster, for the merge record.
    cluster_evidence: list[Pair] = field(default_factory=list, repr=False)
    #: The middle band (REVIEW_FLOOR ≤ score < threshold), the pair whose
    #: decision would teach the model most first (households only).
    review: list[Pair] = field(default_factory=list)
    #: The fitted model: λ, m, u and each level's weight (households only).
    model: dict[str, Any] | None = None
    #: The address aliases in force or decided (households only; see visitlog.places).
    aliases: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = {
            "kind": self.kind,
            "threshold": self.threshold,
            "pairs": [p.to_json() for p in self.pairs],
            "clusters": self.clusters,
            "stats": self.stats,
        }
        if self.model is not None:
            out["review"] = [[p.a, p.b] for p in self.review]
            out["model"] = self.model
        return out


def find(
    store: Store,
    kind: str,
    threshold: float = DEFAULT_THRESHOLD,
    max_block: int = MAX_BLOCK,
) -> Candidates:
    """Find duplicate ``households`` or ``visits``.

    Raises:
        ValueError: for another kind (the CLI only offers these two).
    """
    if kind == "households":
        return find_households(store, threshold, max_block)
    if kind == "visits":
        return find_visits(store, threshold, max_block)
    raise ValueError(kind)


def distinct_pairs(store: Store, kind: str) -> set[tuple[str, str]]:
    """Pairs recorded as "not a duplicate" (sorted id tuples), on any replica."""
    rows = store.query(
        "SELECT a, b FROM dedup_decisions WHERE kind = ? AND decision = 'distinct' AND deleted = 0",
        [kind],
    )
    return {(min(r["a"], r["b"]), max(r["a"], r["b"])) for r in rows}


def find_households(
    store: Store, threshold: float = DEFAULT_THRESHOLD, max_block: int = MAX_BLOCK
) -> Candidates:
    """Candidate duplicate households (see :mod:`visitlog.dedup_households`)."""
    from visitlog import dedup_households

    return dedup_households.find_households(store, threshold, max_block)


def explain_households(store: Store, a: str, b: str) -> Pair:
    """Score one pair of live households, blocked or not (for review and tests)."""
    from visitlog import dedup_households

    return dedup_households.explain_households(store, a, b)


def find_visits(
    store: Store, threshold: float = DEFAULT_THRESHOLD, max_block: int = MAX_BLOCK
) -> Candidates:
    """Candidate duplicate visits (see :mod:`visitlog.dedup_visits`)."""
    from visitlog import dedup_visits

    return dedup_visits.find_visits(store, threshold, max_block)


def check_threshold(threshold: float) -> None:
    """Refuse a threshold outside (0, 1] with a plain message."""
    from visitlog.model import ValidationError

    if not 0 < threshold <= 1:
        raise ValidationError(t("dedup.err.threshold", value=threshold))


# -- scoring, reasons, clusters (both kinds) ---------------------------------------------


def reason_text(code: str, params: dict[str, Any]) -> str:
    """The sentence for one piece of evidence, in the current language."""
    return t(f"dedup.reason.{code}", **params)


def assemble(
    kind: str,
    records: list[Any],
    pairs_idx: set[tuple[int, int]],
    scored: Callable[[int, int], tuple[float, list[tuple[str, dict[str, Any]]]]],
    to_score: Callable[[float], float],
    contradiction: float,
    distinct: set[tuple[str, str]],
    threshold: float,
) -> Candidates:
    """Score every candidate pair, list those worth a look, and build clusters.

    Args:
        scored: ``(value, evidence)`` of a pair of record indexes.
        to_score: maps a value to the 0..1 score.
        contradiction: a pair across two clusters valued below this keeps
            them apart.
    """
    values: dict[tuple[int, int], float] = {}
    listed: list[tuple[float, str, str, int, int, list[tuple[str, dict[str, Any]]]]] = []
    for i, j in pairs_idx:
        a, b = sorted((records[i].id, records[j].id))
        if (a, b) in distinct:
            continue
        value, why = scored(i, j)
        values[(i, j)] = value
        score = to_score(value)
        if score >= REVIEW_FLOOR:
            listed.append((score, a, b, i, j, why))
    listed.sort(key=lambda x: (-x[0], x[1], x[2]))
    # The same evidence recurs across thousands of pairs: each sentence is made once.
    texts: dict[Any, str] = {}

    def text(code: str, params: dict[str, Any]) -> str:
        key = (code, *params.items())
        try:
            got = texts.get(key)
        except TypeError:  # a value that cannot be a key (a list): made each time
            return reason_text(code, params)
        if got is None:
            got = texts[key] = reason_text(code, params)
        return got

    pairs = [
        Pair(a, b, score, [text(c, p) for c, p in why], [c for c, _ in why])
        for score, a, b, _i, _j, why in listed
    ]

    def cross_ok(ci: list[int], cj: list[int]) -> bool:
        for i in ci:
            for j in cj:
                key = (min(i, j), max(i, j))
                if tuple(sorted((records[i].id, records[j].id))) in distinct:
                    return False
                value = values.get(key)
                if value is None:
                    value = values[key] = scored(*key)[0]
                if value < contradiction:
                    return False
        return True

    parent: dict[int, int] = {}
    members: dict[int, list[int]] = {}

    def root(i: int) -> int:
        while parent.get(i, i) != i:
            i = parent[i]
        return i

    evidence: list[Pair] = []
    for pair, (score, _a, _b, i, j, _why) in zip(pairs, listed, strict=True):
        if score < threshold:
            break
        ri, rj = root(i), root(j)
        if ri != rj:
            ci, cj = members.get(ri, [ri]), members.get(rj, [rj])
            if not cross_ok(ci, cj):
                continue
            parent[rj] = ri
            members[ri] = ci + cj
            members.pop(rj, None)
        evidence.append(pair)
    clusters = sorted(sorted(records[i].id for i in group) for group in members.values())
    return Candidates(kind, threshold, pairs, clusters, cluster_evidence=evidence)


def describe(store: Store, kind: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """What a reviewer sees of each record, by id (full personal data: mask to print).

    Households: address, estate, community, head, phone, members, micro_grid,
    occupancy, tags (list) and live visits.  Visits: household address, visit_date, visitor,
    mode, outcome, summary and the item descriptions.
    """
    wanted = sorted(set(ids))
    out: dict[str, dict[str, Any]] = {}
    for chunk in range(0, len(wanted), 500):
        part = wanted[chunk : chunk + 500]
        marks = ",".join("?" * len(part))
        if kind == "households":
            rows = store.query(
                f"""
                SELECT h.id, h.address, h.estate, h.community, h.head, h.phone, h.members,
                       h.micro_grid, h.occupancy, h.tags, h.merged_into, h.deleted,
                       (SELECT count(*) FROM visits v WHERE v.live_household = h.id
                        AND {live("v")}) AS visits
                FROM households h WHERE h.id IN ({marks})
                """,
                part,
            )
            for r in rows:
                out[r["id"]] = {**dict(r), "tags": json.loads(r["tags"] or "[]")}
        else:
            rows = store.query(
                f"""
                SELECT v.id, h.address, v.live_household AS household_id, v.visit_date,
                       v.visitor, v.mode, v.outcome, v.summary, v.merged_into, v.deleted
                FROM visits v JOIN households h ON h.id = v.live_household
                WHERE v.id IN ({marks})
                """,
                part,
            )
            for r in rows:
                out[r["id"]] = {**dict(r), "items": []}
            for r in store.query(
                f"SELECT live_visit AS visit_id, kind, category, description FROM items "
                f"WHERE deleted = 0 AND live_visit IN ({marks}) ORDER BY rowid",
                part,
            ):
                out[r["visit_id"]]["items"].append(
                    f"{r['kind']}·{r['category']}：{r['description']}"
                )
    return out
