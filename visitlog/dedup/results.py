"""What a de-duplication run finds, for both kinds: thresholds, pairs, candidates.

Each candidate pair gets a score in 0..1 and reasons, a code plus a sentence
in the current language for every piece of evidence.  At or above the
threshold ``--apply`` merges; from :data:`REVIEW_FLOOR` up a person reviews;
below, a pair is not listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from visitlog.i18n import t
from visitlog.model import ValidationError

__all__ = [
    "DEFAULT_THRESHOLD",
    "KINDS",
    "MAX_BLOCK",
    "REVIEW_FLOOR",
    "Candidates",
    "Pair",
    "check_threshold",
    "reason_text",
]

#: Score at and above which ``--apply`` merges (a pair whose evidence is
#: e.g. "same address, same name, no phone to compare").
DEFAULT_THRESHOLD = 0.9
#: Pairs scoring below this are not listed for review at all.
REVIEW_FLOOR = 0.5
#: Blocks with more members than this are skipped (see module docstring).
MAX_BLOCK = 60
KINDS = ("households", "visits")


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
    #: The address aliases in force or decided (households only; see visitlog.dedup.dwellings).
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


def check_threshold(threshold: float) -> None:
    """Refuse a threshold outside (0, 1] with a plain message."""
    if not 0 < threshold <= 1:
        raise ValidationError(t("dedup.err.threshold", value=threshold))


def reason_text(code: str, params: dict[str, Any]) -> str:
    """The sentence for one piece of evidence, in the current language."""
    return t(f"dedup.reason.{code}", **params)
