"""The summary as JSON, CSV and Markdown: text for other programs and documents."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from visitlog.i18n import t
from visitlog.render.common import (
    Column,
    flat_columns,
    group_name,
    group_rows,
    level_label,
    note_lines,
    period_text,
    views,
)
from visitlog.spreadsheet import write_csv
from visitlog.summary import Summary
from visitlog.visible import json_visible, visible


def render_json(summary: Summary) -> str:
    return json_visible(json.dumps(summary.to_json(), ensure_ascii=False, indent=2)) + "\n"


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


def render_csv(summary: Summary) -> bytes:
    """One row per group and a totals row, UTF-8 with a BOM (Excel on Chinese Windows).

    Counts are written as numbers, ratios as percentages; names from the data
    that a spreadsheet would run as a formula get a ``'`` in front
    (:func:`visitlog.spreadsheet.neutralise`).
    """
    groups, totals = group_rows(summary)

    def fmt(c: Column, g: dict[str, Any]) -> Any:
        if c.kind == "int" and c.value(g) is not None:
            return c.value(g)
        return c.text(g, empty="")

    rows = [_flat_header(summary)]
    rows += [_flat_row(summary, g, group_name(summary, g), fmt) for g in groups]
    totals_row = _flat_row(summary, totals, t("summary.totals"), fmt)
    if summary.by == "micro-grid":
        totals_row[1] = ""
    rows.append(totals_row)
    buf = io.StringIO(newline="")
    write_csv(buf, rows)
    return buf.getvalue().encode("utf-8-sig")


def _md_escape(text: str) -> str:
    return visible(text).replace("|", "\\|").replace("\n", " ")


def render_md(summary: Summary) -> str:
    """Markdown: a heading, the three short tables with totals, and the notes."""
    groups, totals = group_rows(summary)
    title = _md_escape(t("summary.title", street=summary.street))
    out = [f"# {title}", "", _md_escape(period_text(summary)), ""]
    for view_title, cols in views():
        out.append(f"## {view_title}")
        out.append("")
        head = [level_label(summary.by), *[c.label for c in cols]]
        out.append("| " + " | ".join(_md_escape(h) for h in head) + " |")
        out.append("|" + "---|" + "---:|" * len(cols))
        for g in groups:
            cells = [group_name(summary, g), *[c.text(g) for c in cols]]
            out.append("| " + " | ".join(_md_escape(x) for x in cells) + " |")
        cells = [f"**{t('summary.totals')}**", *[f"**{c.text(totals)}**" for c in cols]]
        out.append("| " + " | ".join(cells) + " |")
        out.append("")
    out += [f"- {_md_escape(line)}" for line in note_lines(summary, totals)]
    return "\n".join(out) + "\n"
