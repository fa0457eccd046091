"""The summary as Markdown: a heading, the short tables with totals, and the notes."""

from __future__ import annotations

from visitlog.i18n import t
from visitlog.render.common import (
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


def _md_escape(value: str) -> str:
    return visible(value).replace("|", "\\|").replace("\n", " ")


def render_md(summary: Summary, reveal: bool = False) -> str:
    """Markdown: a heading, the short tables with totals, and the notes (no personal data)."""
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
            cells = [group_name(summary, g), *[text(c, g) for c in cols]]
            out.append("| " + " | ".join(_md_escape(x) for x in cells) + " |")
        cells = [f"**{t('summary.totals')}**", *[f"**{text(c, totals)}**" for c in cols]]
        out.append("| " + " | ".join(cells) + " |")
        out.append("")
    out += [f"- {_md_escape(line)}" for line in note_lines(summary, totals)]
    return "\n".join(out) + "\n"
