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
