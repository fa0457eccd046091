"""The summary as JSON: the contract of DESIGN.md, for other programs."""

from __future__ import annotations

import json
from typing import Any

from visitlog.summary import Summary
from visitlog.visible import json_visible

#: One encoder, C-accelerated (``indent`` would make json use its pure-Python
#: encoder: a second of a whole district's summary went into indenting it).
_ENCODER = json.JSONEncoder(ensure_ascii=False)


def _layout(value: Any, indent: str = "") -> str:
    """*value* as JSON, a key a line at the top and a list's objects a line
    each (what a reader scans), every object itself on one line."""
    inner = indent + "  "
    if isinstance(value, dict) and not indent:
        parts = [f"{inner}{_ENCODER.encode(k)}: {_layout(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(parts) + "\n" + indent + "}"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        rows = [inner + _ENCODER.encode(v) for v in value]
        return "[\n" + ",\n".join(rows) + "\n" + indent + "]"
    return _ENCODER.encode(value)


def render_json(summary: Summary, reveal: bool = False) -> str:
    """The ``summary`` JSON (no personal data in it, so ``reveal`` changes nothing)."""
    return json_visible(_layout(summary.to_json())) + "\n"
