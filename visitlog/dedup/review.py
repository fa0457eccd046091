"""What the faces ask of de-duplication: a run of either kind, and what a reviewer sees.

``visitlog dedup households|visits`` and ``dedup review`` and the review
screen call :func:`find` and :func:`describe`; the bands (merge, review,
dropped) are those of :mod:`visitlog.dedup.results`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from visitlog.dedup.households import find_households
from visitlog.dedup.results import DEFAULT_THRESHOLD, MAX_BLOCK, Candidates
from visitlog.dedup.visits import find_visits
from visitlog.rows import in_parts, live

if TYPE_CHECKING:  # pragma: no cover
    from visitlog.store import Store

__all__ = ["describe", "find"]


def find(
    store: Store,
    kind: str,
    threshold: float = DEFAULT_THRESHOLD,
    max_block: int = MAX_BLOCK,
    changed: bool = False,
) -> Candidates:
    """Find duplicate ``households`` or ``visits``; *changed*: only the
    households changed since the last run (see :func:`find_households`).

    Raises:
        ValueError: for another kind (the CLI only offers these two).
    """
    if kind == "households":
        return find_households(store, threshold, max_block, changed)
    if kind == "visits":
        return find_visits(store, threshold, max_block)
    raise ValueError(kind)


def describe(store: Store, kind: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """What a reviewer sees of each record, by id (full personal data: mask to print).

    Households: address, estate, community, head, phone, members, micro_grid,
    occupancy, tags (list) and live visits.  Visits: household address, visit_date, visitor,
    mode, outcome, summary and the item descriptions.
    """
    wanted = sorted(set(ids))
    out: dict[str, dict[str, Any]] = {}
    for part, marks in in_parts(wanted):
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
