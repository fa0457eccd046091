"""The summary as CSV: one row per group and a totals row, every metric a column."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from visitlog.i18n import t
from visitlog.render.common import Column, flat_columns, group_name, group_rows, level_label, text
from visitlog.roster.spreadsheet import write_csv
from visitlog.summary import Summary
from visitlog.summary.views import INT


def _flat_header(summary: Summary) -> list[str]:
    head = [level_label(summary.by)]
    if summary.by == "micro-grid":
        head.append(t("summary.level.community"))
    return head + [c.label for c in flat_columns()]


def _flat_row(
    summary: Summary, g: dict[str, Any], name: str, fmt: Callable[[Column, dict], Any]
) -> list[Any]:
    row: list[Any] = [name]
    if summary.by == "micro-grid":
        community = g.get("community")
        row.append("" if community is None else community)
    return row + [fmt(c, g) for c in flat_columns()]


def render_csv(summary: Summary, reveal: bool = False) -> bytes:
    """One row per group and a totals row, UTF-8 with a BOM (Excel on Chinese Windows).

    Counts are written as numbers, ratios as percentages; names from the data
    that a spreadsheet would run as a formula get a ``'`` in front
    (:func:`visitlog.roster.spreadsheet.neutralise`).  No personal data is in it, so
    ``reveal`` changes nothing.
    """
    groups, totals = group_rows(summary)

    def fmt(c: Column, g: dict[str, Any]) -> Any:
        if c.kind == INT and c.value(g) is not None:
            return c.value(g)
        return text(c, g, empty="")

    rows = [_flat_header(summary)]
    rows += [_flat_row(summary, g, group_name(summary, g), fmt) for g in groups]
    totals_row = _flat_row(summary, totals, t("summary.totals"), fmt)
    if summary.by == "micro-grid":
        totals_row[1] = ""
    rows.append(totals_row)
    buf = io.StringIO(newline="")
    write_csv(buf, rows)
    return buf.getvalue().encode("utf-8-sig")
