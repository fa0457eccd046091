"""The summary as an Excel workbook."""

from __future__ import annotations

import io
from typing import Any

from rich.cells import cell_len

from visitlog.i18n import t
from visitlog.render.common import (
    days,
    flat_columns,
    group_name,
    level_label,
    note_lines,
    overdue_columns,
    overdue_rows,
    pct,
    period_text,
    still_due_columns,
    still_due_rows,
)
from visitlog.summary import LEVELS, Summary

#: Column widths are measured on at most this many rows (enough to fit a
#: long sheet's typical values without measuring every cell).
WIDTH_SAMPLE = 2000
MAX_WIDTH = 60


def _widths(header: list[str], rows: list[list[Any]]) -> list[float]:
    """Excel widths (in character cells) that fit the text; CJK counts 2 cells."""
    widths = [cell_len(h) for h in header]
    for row in rows[:WIDTH_SAMPLE]:
        for i, v in enumerate(row):
            if v is not None:
                widths[i] = max(widths[i], cell_len(str(v)))
    return [min(MAX_WIDTH, w + 2) for w in widths]


def render_xlsx(summary: Summary, reveal: bool = False) -> bytes:
    """A workbook: a sheet per level, the households still due, the overdue items, notes."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    head_font = Font(bold=True, color="FFFFFF")
    head_fill = PatternFill("solid", fgColor="1F4E79")
    head_align = Alignment(horizontal="center", vertical="center", wrap_text=True)
    bold = Font(bold=True)

    def sheet(
        title: str, header: list[str], rows: list[list[Any]], kinds: list[str], total: bool
    ) -> None:
        """One sheet: styled, frozen header; fitted widths; the last row bold if a total."""
        ws = wb.create_sheet(title)
        shown = [[_show(v, k) for v, k in zip(r, kinds, strict=True)] for r in rows[:WIDTH_SAMPLE]]
        for i, width in enumerate(_widths(header, shown), 1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = "B2"
        ws.print_title_rows = "1:1"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = "9"  # A4
        if rows:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"
        cells = []
        for h in header:
            c = WriteOnlyCell(ws, value=h)
            c.font, c.fill, c.alignment = head_font, head_fill, head_align
            cells.append(c)
        ws.append(cells)
        styled = {i for i, k in enumerate(kinds) if k in ("pct", "days")}
        for n, row in enumerate(rows):
            last = total and n == len(rows) - 1
            if not styled and not last:
                ws.append(row)  # plain values are much quicker than cells
                continue
            out: list[Any] = []
            for i, v in enumerate(row):
                if i not in styled and not last:
                    out.append(v)
                    continue
                c = WriteOnlyCell(ws, value=v)
                if kinds[i] == "pct":
                    c.number_format = "0.0%"
                elif kinds[i] == "days":
                    c.number_format = "0.0"
                if last:
                    c.font = bold
                out.append(c)
            ws.append(out)

    cols = flat_columns()
    for by in LEVELS:
        s = summary.at(by)
        data = s.to_json()
        header = [level_label(by)]
        kinds = ["text"]
        if by == "micro-grid":
            header.append(t("summary.level.community"))
            kinds.append("text")
        header += [c.label for c in cols]
        kinds += [c.kind for c in cols]
        rows = []
        for g in [*data["groups"], data["totals"]]:
            is_total = g is data["totals"]
            row: list[Any] = [t("summary.totals") if is_total else group_name(s, g)]
            if by == "micro-grid":
                row.append("" if is_total else (g.get("community") or ""))
            row += [c.value(g) for c in cols]
            rows.append(row)
        sheet(level_label(by), header, rows, kinds, total=True)

    due = list(still_due_rows(summary, reveal))
    sheet(t("summary.sheet.still_due"), still_due_columns(), due, ["text"] * 8, total=False)
    late = list(overdue_rows(summary))
    sheet(t("summary.sheet.overdue"), overdue_columns(), late, ["text"] * 10, total=False)

    notes = wb.create_sheet(t("summary.sheet.notes"))
    notes.column_dimensions["A"].width = 100
    for line in [
        t("summary.title", street=summary.street),
        period_text(summary),
        t("summary.masked") if not reveal else t("summary.revealed"),
        *note_lines(summary, summary.to_json()["totals"]),
    ]:
        notes.append([line])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _show(value: Any, kind: str) -> str:
    if kind == "pct":
        return pct(value, "")
    if kind == "days":
        return days(value, "")
    return "" if value is None else str(value)
