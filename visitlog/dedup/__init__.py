"""De-duplication: duplicate households and visits found, reviewed, merged and undone.

Duplicates come from two rosters listing one household, from two workers
entering one visit, or from one worker entering it twice.  Neither kind is
ever compared all against all: records are put into *blocks* (records sharing
a key) and only records sharing a block are compared; each candidate pair
gets a score in 0..1 and reasons.

Modules, from the bottom up (each imports only those above it in this list):

* :mod:`~visitlog.dedup.results`: thresholds, :class:`Pair`, :class:`Candidates`.
* :mod:`~visitlog.dedup.clustering`: listing the pairs worth a look, clusters.
* :mod:`~visitlog.dedup.decisions`: "not a duplicate" decisions as candidates read them.
* :mod:`~visitlog.dedup.model`: the Fellegi–Sunter model learned by EM.
* :mod:`~visitlog.dedup.dwellings`: dwellings under any address system, the alias book.
* :mod:`~visitlog.dedup.fields`: the fields households are compared on, and the caps.
* :mod:`~visitlog.dedup.houses`: households as the comparison reads them, aliases learned.
* :mod:`~visitlog.dedup.compare`: comparing two households.
* :mod:`~visitlog.dedup.candidates`: blocking, the candidate pairs of households.
* :mod:`~visitlog.dedup.households`: one household run, the model fitted, the bands.
* :mod:`~visitlog.dedup.visits`: visit candidates.
* :mod:`~visitlog.dedup.places`: address aliases the workers decide.
* :mod:`~visitlog.dedup.survivors`: what a merge writes onto the survivor.
* :mod:`~visitlog.dedup.merges`: merging, undoing, recording "not a duplicate".
* :mod:`~visitlog.dedup.review`: a run of either kind, and what a reviewer sees.

Merging is explicit (``--apply`` or the review screen), recorded, reversible
(``dedup undo``) and syncs to other replicas like any other change.
"""

from visitlog.dedup.decisions import decision_id, distinct_pairs, resolve_kind
from visitlog.dedup.dwellings import Dwelling, read_dwelling
from visitlog.dedup.households import explain_households, find_households, fit_model
from visitlog.dedup.merges import (
    apply,
    get_merge,
    list_merges,
    mark_distinct,
    merge,
    undo,
    unmark_distinct,
)
from visitlog.dedup.places import add_alias, list_aliases, reject_alias
from visitlog.dedup.results import (
    DEFAULT_THRESHOLD,
    KINDS,
    MAX_BLOCK,
    REVIEW_FLOOR,
    Candidates,
    Pair,
    check_threshold,
)
from visitlog.dedup.review import describe, find
from visitlog.dedup.visits import find_visits

__all__ = [
    "DEFAULT_THRESHOLD",
    "KINDS",
    "MAX_BLOCK",
    "REVIEW_FLOOR",
    "Candidates",
    "Dwelling",
    "Pair",
    "add_alias",
    "apply",
    "check_threshold",
    "decision_id",
    "describe",
    "distinct_pairs",
    "explain_households",
    "find",
    "find_households",
    "find_visits",
    "fit_model",
    "get_merge",
    "list_aliases",
    "list_merges",
    "mark_distinct",
    "merge",
    "read_dwelling",
    "reject_alias",
    "resolve_kind",
    "undo",
    "unmark_distinct",
]
