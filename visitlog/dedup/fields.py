"""The fields a pair of households is compared on, their levels, and what caps a weight.

Each field (place, head's name, phone, members, tags) has agreement levels
with prior m and u probabilities; the priors only steer a small roster, EM
(:mod:`visitlog.dedup.model`) moves them to what the data says.  The caps
are the weights (log2 odds) that the facts of a building put on a pair.
"""

from __future__ import annotations

import math

from visitlog.dedup.model import FieldSpec

__all__ = [
    "FIELDS",
    "LEVEL",
    "MEMBERS",
    "NAME",
    "NAME_POINTS",
    "PHONE",
    "PHONE_POINTS",
    "PLACE",
    "PRIOR_LAMBDA",
    "TAGS",
    "W_CONTRADICTION",
    "W_DROP_CAP",
    "W_ONLY_HOUSEHOLD",
    "W_REVIEW_CAP",
    "weight_to_score",
]

# Levels of each field, with the prior m (share among pairs of one household)
# and u (share among other candidate pairs: neighbours, families).  The priors
# only steer a small roster; EM moves them to what the data says.
FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "place",
        ("same", "same_no_estate", "slip_odd", "slip", "other_room", "other_building"),
        (0.86, 0.05, 0.04, 0.01, 0.03, 0.01),
        (0.04, 0.01, 0.01, 0.08, 0.56, 0.30),
        (0.0005, 0.0005, 0.0005, 0.004, 0.02, 0.9745),
    ),
    FieldSpec(
        "name",
        ("equal", "equal_common", "homophone", "partial", "surname", "different"),
        (0.62, 0.10, 0.05, 0.10, 0.08, 0.05),
        (0.01, 0.03, 0.005, 0.01, 0.10, 0.845),
        (0.0005, 0.002, 0.0005, 0.002, 0.06, 0.935),
    ),
    FieldSpec(
        "phone",
        ("mobile", "landline", "shared", "partial", "different"),
        (0.55, 0.20, 0.02, 0.08, 0.15),
        (0.03, 0.02, 0.02, 0.005, 0.925),
        (0.0002, 0.0003, 0.0005, 0.001, 0.998),
    ),
    FieldSpec(
        "members",
        ("equal", "near", "different"),
        (0.6, 0.25, 0.15),
        (0.3, 0.35, 0.35),
        (0.3, 0.4, 0.3),
    ),
    FieldSpec(
        "tags",
        ("same", "overlap", "different"),
        (0.6, 0.3, 0.1),
        (0.25, 0.2, 0.55),
        (0.3, 0.2, 0.5),
    ),
)
PLACE, NAME, PHONE, MEMBERS, TAGS = range(5)
LEVEL = [{code: i for i, code in enumerate(f.levels)} for f in FIELDS]
#: Prior share of one household among candidate pairs.
PRIOR_LAMBDA = 0.3

# Points of agreement on the person, as a careful reader counts them: a full
# name or a whole number two, a surname or a masked number's visible digits one.
NAME_POINTS = {
    LEVEL[NAME][c]: p
    for c, p in (
        ("equal", 2),
        ("equal_common", 2),
        ("homophone", 2),
        ("partial", 2),
        ("surname", 1),
    )
}
PHONE_POINTS = {
    LEVEL[PHONE][c]: p for c, p in (("mobile", 2), ("landline", 2), ("shared", 1), ("partial", 1))
}

# Caps the facts of a building put on a pair's weight (log2 odds).
W_REVIEW_CAP = math.log2(0.8 / 0.2)  # a person decides (score 0.8)
W_DROP_CAP = math.log2(0.2 / 0.8)  # not listed (score 0.2)
W_ONLY_HOUSEHOLD = math.log2(0.95 / 0.05)
#: Two clusters are not joined when a pair across them weighs less than this.
W_CONTRADICTION = math.log2(0.1 / 0.9)


def weight_to_score(weight: float) -> float:
    """A match weight (log2 odds) as the probability of one household, 0..0.999.

    Never 1: no evidence makes a pair certain, and ``--threshold 1`` merges nothing.
    """
    if weight < -60:
        return 0.0
    return min(round(1 / (1 + 2 ** (-weight)), 3), 0.999)
