"""The summary as JSON: the contract of DESIGN.md, for other programs."""

from __future__ import annotations

import json

from visitlog.summary import Summary
from visitlog.visible import json_visible


def render_json(summary: Summary, reveal: bool = False) -> str:
    """The ``summary`` JSON (no personal data in it, so ``reveal`` changes nothing)."""
    return json_visible(json.dumps(summary.to_json(), ensure_ascii=False, indent=2)) + "\n"
