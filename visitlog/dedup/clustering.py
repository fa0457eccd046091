"""Scoring every candidate pair, listing those worth a look, and building clusters (both kinds).

Clusters are built greedily from the best pair down; two clusters are only
joined when no pair across them contradicts (a shared unit, a recorded "not a
duplicate", a different building…), so a chain of near matches cannot glue
two real households together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from visitlog.dedup.results import REVIEW_FLOOR, Candidates, Pair, reason_text

__all__ = ["assemble"]


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
