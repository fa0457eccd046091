"""The summary as JSON: the contract of DESIGN.md, for other programs."""

from __future__ import annotations

from visitlog.summary import Summary
from visitlog.visible import json_layout, json_visible


def render_json(summary: Summary, reveal: bool = False) -> str:
    """The ``summary`` JSON (no personal data in it, so ``reveal`` changes nothing)."""
    return json_visible(json_layout(summary.to_json())) + "\n"
