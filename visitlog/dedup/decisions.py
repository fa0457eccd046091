"""The "not a duplicate" decisions as candidates read them, their ids, and which kind an id names.

"Not a duplicate" decisions live in ``dedup_decisions``; the id of a decision
is derived from the sorted pair, so two replicas deciding the same pair make
the same row, and candidates never propose a decided pair again.  They are
written by :func:`visitlog.dedup.merges.mark_distinct`.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from visitlog.i18n import t
from visitlog.model import NotFoundError

if TYPE_CHECKING:  # pragma: no cover
    from visitlog.store import Store

__all__ = [
    "decision_id",
    "distinct_pairs",
    "resolve_kind",
]
#: Namespace of decision ids (uuid5 of "kind|a|b" with a < b).
_DECISION_NS = uuid.UUID("5b0f6a52-3c1e-4f55-9a57-0d8f2a6c1e11")


def decision_id(kind: str, a: str, b: str) -> str:
    """The id of the decision about a pair: the same on every replica, either order."""
    lo, hi = sorted((a, b))
    return str(uuid.uuid5(_DECISION_NS, f"{kind}|{lo}|{hi}"))


def resolve_kind(store: Store, ident: str) -> tuple[str, str]:
    """``(kind, full id)`` of a household or visit id (prefix / suffix accepted).

    Raises:
        NotFoundError: the id names neither a household nor a visit.
    """
    for kind in ("households", "visits"):
        try:
            return kind, store.resolve_id(kind, ident)
        except NotFoundError:
            continue
    raise NotFoundError(t("err.not_found", kind=t("noun.households"), id=ident))


def distinct_pairs(store: Store, kind: str) -> set[tuple[str, str]]:
    """Pairs recorded as "not a duplicate" (sorted id tuples), on any replica."""
    rows = store.query(
        "SELECT a, b FROM dedup_decisions WHERE kind = ? AND decision = 'distinct' AND deleted = 0",
        [kind],
    )
    return {(min(r["a"], r["b"]), max(r["a"], r["b"])) for r in rows}
