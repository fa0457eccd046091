"""Definitions every part of visitlog shares about stored rows.

- :func:`live`: the SQL condition for a household or visit that counts (not
  deleted, not merged into another).  The partial indexes hold exactly these
  rows, so every query that wants them says it this one way.
- :func:`jdump`: the JSON text of values in the change log, conflict records
  and merge records.  Replicas compare these texts byte for byte, so there is
  exactly one way to write them.
- :func:`in_parts`: a long list of values for ``IN (…)``, a few hundred at a
  time (SQLite limits the parameters of one statement).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def live(alias: str = "") -> str:
    """``(deleted = 0 AND merged_into IS NULL)``, columns prefixed with ``alias.``."""
    p = f"{alias}." if alias else ""
    return f"({p}deleted = 0 AND {p}merged_into IS NULL)"


#: One encoder for every call: ``json.dumps`` with options builds a new one
#: each time, which costs more than encoding a row of the change log.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def jdump(value: Any) -> str:
    """Compact JSON with sorted keys and characters kept as they are (not ``\\u`` escapes)."""
    return _ENCODER.encode(value)


def in_parts(values: Sequence[T], size: int = 500) -> Iterator[tuple[list[T], str]]:
    """*values*, *size* at a time, each part with its ``?, ?, …`` for ``IN (…)``."""
    for start in range(0, len(values), size):
        part = list(values[start : start + size])
        yield part, ",".join("?" * len(part))
