"""How visitlog orders names of grids, buildings and addresses.

Numbers in a name compare as numbers (2号网格 before 10号网格), and a missing
name (no 居民区, no 微网格) sorts after every name.  The summary's groups, the
TUI's lists and every export use this one order.
"""

from __future__ import annotations

import re
from typing import Any

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str | None) -> tuple[Any, ...]:
    """Sort key: 2号网格 before 10号网格; None after every name."""
    if text is None:
        return ((2, ""),)
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(text) if part
    )


def _part_text(part: str) -> str:
    if part.isdigit():
        digits = str(int(part))
        # Longer numbers are larger: the length first, then the digits.
        return "\x01" + chr(0x30 + len(digits)) + digits
    return "\x02" + part


def sort_text(*texts: str | None) -> str:
    """:func:`natural_key` of each of *texts*, in turn, as one string that sorts
    the same way: compared as Python strings or as UTF-8 bytes (SQLite's
    order of TEXT), ``sort_text(a, b) < sort_text(c, d)`` exactly when
    ``(natural_key(a), natural_key(b)) < (natural_key(c), natural_key(d))``.
    A table can then be read in this order through an index."""
    out = []
    for text in texts:
        if text is None:
            out.append("\x03")
        else:
            out.append("".join(_part_text(p) for p in _DIGITS.split(text) if p))
    # "\x00" sorts before every character: a name that is the start of
    # another comes first, as a shorter tuple does.
    return "\x00".join(out)
