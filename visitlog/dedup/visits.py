"""Visit candidates: the same household and day, compared on visitor, summary and items.

Two workers who went together, or one worker who saved a visit twice, leave
two visits of one household on one day.  Visits are blocked on (household,
date) — visits on different days are never candidates — and scored 0..1 on
the summaries (rapidfuzz), the list items (kind, category and text paired
up), the visitor, the outcome and the mode.  A visit of a household merged
since counts as a visit of the survivor.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections import defaultdict
from itertools import combinations
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz

from visitlog.dedup.clustering import assemble
from visitlog.dedup.decisions import distinct_pairs
from visitlog.dedup.results import (
    DEFAULT_THRESHOLD,
    MAX_BLOCK,
    REVIEW_FLOOR,
    Candidates,
    check_threshold,
)
from visitlog.rows import in_parts, live

if TYPE_CHECKING:  # pragma: no cover
    from visitlog.store import Store

__all__ = ["find_visits"]


_TEXT_JUNK = re.compile(r"[\s\u3000\W_]+")


def _text_key(text: str | None) -> str:
    return _TEXT_JUNK.sub("", unicodedata.normalize("NFKC", text or "")).lower()


class _Visit:
    __slots__ = ("date", "household", "id", "idx", "items", "mode", "outcome", "summary", "visitor")

    def __init__(self, idx: int, row: Any, household: str, items: list[tuple[str, str, str]]):
        self.idx = idx
        self.id: str = row["id"]
        self.household = household
        self.date: str = row["visit_date"]
        self.visitor: str = _text_key(row["visitor"])
        self.mode: str = row["mode"]
        self.outcome: str = row["outcome"]
        self.summary: str = _text_key(row["summary"])
        self.items = items


def _items_similarity(a: list[tuple[str, str, str]], b: list[tuple[str, str, str]]) -> float:
    """0..100: how well the two visits' items pair up (same kind, category, text)."""
    if not a and not b:
        return 100.0
    if not a or not b:
        return 0.0
    remaining = list(b)
    total = 0.0
    for kind, cat, desc in a:
        best, best_k = 0.0, -1
        for k, (kind2, cat2, desc2) in enumerate(remaining):
            if kind2 == kind and cat2 == cat:
                s = fuzz.ratio(desc, desc2)
                if s > best:
                    best, best_k = s, k
        if best_k >= 0:
            total += best
            remaining.pop(best_k)
    return 2 * total / (len(a) + len(b))


def _score_visits(x: _Visit, y: _Visit) -> tuple[float, list[tuple[str, dict[str, Any]]]]:
    """A score (0..1, not a weight) and the evidence for one pair of visits."""
    why: list[tuple[str, dict[str, Any]]] = [("same_household_day", {})]
    if x.summary or y.summary:
        s = fuzz.ratio(x.summary, y.summary) if x.summary and y.summary else 50.0
    else:
        s = 100.0
    why.append(("summary_similar" if s >= 90 else "summary_different", {"pct": round(s)}))
    it = _items_similarity(x.items, y.items)
    why.append(("items_similar" if it >= 90 else "items_different", {"pct": round(it)}))
    score = (s + it) / 200
    if x.visitor == y.visitor:
        why.append(("same_visitor", {}))
    else:
        # Two workers who went together may each record the visit; listed
        # for review, never merged on their own.
        score *= 0.6
        why.append(("visitor_different", {}))
    if x.outcome != y.outcome:
        score *= 0.5
        why.append(("outcome_different", {"a": x.outcome, "b": y.outcome}))
    if x.mode != y.mode:
        score *= 0.8
        why.append(("mode_different", {"a": x.mode, "b": y.mode}))
    return round(score, 3), why


def find_visits(
    store: Store, threshold: float = DEFAULT_THRESHOLD, max_block: int = MAX_BLOCK
) -> Candidates:
    """Candidate duplicate visits: same household and date, compared on the rest.

    A visit of a household that was merged counts as a visit of the survivor,
    so the copies entered for both records of a household meet.  Visits on
    different days are never candidates.
    """
    check_threshold(threshold)
    started = time.perf_counter()
    # A visit recorded on a household merged since lives on the survivor
    # (live_household): the copies entered for both records of a household meet.
    cols = "v.id, v.live_household AS household_id, v.visit_date, v.visitor, v.mode, "
    cols += "v.outcome, v.summary"
    # Only visits sharing household and date can be duplicates: let SQLite
    # find those groups (an index scan) instead of reading every visit.
    rows = store.query(
        f"""
        SELECT {cols} FROM visits v
        JOIN (SELECT live_household, visit_date FROM visits
              WHERE {live()}
              GROUP BY live_household, visit_date HAVING count(*) > 1) d
          ON d.live_household = v.live_household AND d.visit_date = v.visit_date
        WHERE {live("v")}
        """
    )
    needed = [r["id"] for r in rows]
    items: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for ids, marks in in_parts(needed):
        for r in store.query(
            f"SELECT live_visit AS visit_id, kind, category, description FROM items "
            f"WHERE deleted = 0 AND live_visit IN ({marks}) ORDER BY rowid",
            ids,
        ):
            items[r["visit_id"]].append((r["kind"], r["category"], _text_key(r["description"])))
    visits: list[_Visit] = []
    blocks: dict[tuple[str, str], list[int]] = defaultdict(list)
    for r in rows:
        hid = r["household_id"]
        v = _Visit(len(visits), r, hid, items.get(r["id"], []))
        blocks[(hid, v.date)].append(v.idx)
        visits.append(v)
    pairs_idx: set[tuple[int, int]] = set()
    skipped = 0
    for members in blocks.values():
        if len(members) > max_block:
            skipped += 1
            continue
        pairs_idx.update(combinations(members, 2))

    def scored(i: int, j: int) -> tuple[float, list[tuple[str, dict[str, Any]]]]:
        return _score_visits(visits[i], visits[j])

    distinct = distinct_pairs(store, "visits")
    # Visit scores are already 0..1; a pair across two clusters must at least
    # be worth a review for the clusters to join.
    result = assemble("visits", visits, pairs_idx, scored, float, REVIEW_FLOOR, distinct, threshold)
    n = store.scalar(f"SELECT count(*) FROM visits WHERE {live()}")
    result.stats = {
        "records": n,
        "candidate_pairs": len(pairs_idx),
        "all_pairs": n * (n - 1) // 2,
        "skipped_blocks": skipped,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return result
