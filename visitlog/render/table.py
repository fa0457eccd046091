"""The summary on the terminal: rich tables that stay readable at 80 columns."""

from __future__ import annotations

import io
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from visitlog.i18n import t
from visitlog.render.common import (
    Column,
    coverage_style,
    group_name,
    group_rows,
    level_label,
    note_lines,
    period_text,
    text,
    views,
)
from visitlog.summary import Summary
from visitlog.visible import visible


def render_table(summary: Summary) -> RenderableType:
    """Rich tables that stay readable at 80 columns, coverage coloured."""
    groups, totals = group_rows(summary)
    title = t("summary.title", street=summary.street) + "  " + period_text(summary)
    parts: list[RenderableType] = [Text(visible(title), style="bold")]
    show_communities = summary.by == "micro-grid" and len({g.get("community") for g in groups}) > 1
    for view_title, cols in views():
        table = Table(
            title=view_title,
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            collapse_padding=True,
            show_footer=False,
        )
        table.add_column(level_label(summary.by), overflow="fold")
        for col in cols:
            table.add_column(col.label, justify="right", overflow="fold")
        community: Any = object()
        for g in groups:
            if show_communities and g.get("community") != community:
                community = g.get("community")
                label = community if community is not None else t("summary.no_community")
                table.add_row(Text(visible(label), style="bold cyan"), *[""] * len(cols))
            table.add_row(Text(visible(group_name(summary, g))), *_cells(cols, g))
        table.add_section()
        table.add_row(Text(t("summary.totals"), style="bold"), *_cells(cols, totals, bold=True))
        parts.append(table)
    parts += [Text(visible(line)) for line in note_lines(summary, totals)]
    return Group(*parts)


def _cells(cols: list[Column], group: dict[str, Any], bold: bool = False) -> list[Text]:
    out = []
    for col in cols:
        style = "bold" if bold else ""
        if col.graded:
            style = (style + " " + coverage_style(col.value(group))).strip()
        out.append(Text(visible(text(col, group)), style=style))
    return out


def table_text(summary: Summary, width: int = 100) -> str:
    """The table as plain text (for ``-o FILE`` with the table format)."""
    console = Console(
        file=io.StringIO(),
        width=width,
        color_system=None,
        record=True,
        legacy_windows=False,
        markup=False,
        emoji=False,
        highlight=False,
    )
    console.print(render_table(summary))
    return console.export_text()


def write_table(summary: Summary, reveal: bool = False) -> str:
    """The table as plain text, as written by ``-o FILE`` (no personal data in it)."""
    return table_text(summary)
