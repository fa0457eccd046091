"""The week's list as a route sheet a worker carries: print-ready HTML or XLSX.

One row per household in walking order (building, floor, room), with an
empty tick column to mark on paper, the date it is due, how many days
overdue, and the rules that make it due.  Names and phones are masked
(:func:`visitlog.privacy.present_person`) and a key-group tag is never named
(the reason says 重点多访 and its interval) unless ``reveal`` is given, which
the command records in the audit log.  Text from the data is never a live
formula in the workbook (:func:`visitlog.spreadsheet.put`) and never markup
in the page.
"""

from __future__ import annotations

import html
import io
from typing import Any

from visitlog.i18n import t
from visitlog.plan import Plan, PlanEntry
from visitlog.privacy import present_person
from visitlog.render.html import CJK_FONTS, css_string
from visitlog.roster.spreadsheet import (
    DATE_FORMAT,
    PageHeader,
    bold_font,
    fit_widths,
    header_height,
    header_text,
    needs_wrap,
    print_setup,
    put,
    wrapped_height,
)
from visitlog.visible import visible

#: Height (points) of a household's row in the workbook: room to tick and to write.
ROW_HEIGHT = 22
#: The tick box printed in the first column of every household.
TICK_BOX = "□"

_CSS = """
@page {
  size: A4 portrait; margin: 14mm 10mm 14mm 10mm;
  @top-left { content: __TITLE__; font-size: 8.5pt; color: #555; }
  @bottom-center { content: __FOOTER__; font-size: 8.5pt; color: #555; }
}
* { box-sizing: border-box; }
html { font-family: __FONTS__; }
body { font-size: 10pt; color: #111; margin: 0; line-height: 1.35;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
h1 { font-size: 15pt; margin: 0 0 1.5mm 0; }
.meta { color: #444; margin: 0 0 3mm 0; font-size: 9pt; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; font-size: 9pt; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
th, td { border: 0.5pt solid #888; padding: 1mm 1.2mm; vertical-align: top; }
th { background: #dde8f3; font-weight: bold; text-align: center; }
tr.building td { background: #eef3f8; font-weight: bold; border-top: 1pt solid #333;
  break-after: avoid; page-break-after: avoid; }
td.tick { text-align: center; font-size: 13pt; line-height: 1; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
td.late { color: #cf222e; font-weight: bold; }
td.long, td.addr { overflow-wrap: anywhere; }
.empty { color: #666; font-style: italic; }
@media screen { body { max-width: 190mm; margin: 8mm auto; } }
"""

#: Column widths of the HTML table (mm of 190): tick, room, address, head,
#: phone, due, overdue, reasons, notes.
_WIDTHS = (9, 12, 36, 14, 24, 19, 11, 43, 22)


def _page_counter() -> str:
    """The CSS content of the page footer: 第 N 页 (page N)."""
    before, _, after = t("plan.sheet.page").partition("{n}")
    return f"{css_string(before)} counter(page) {css_string(after)}"


def _e(value: Any) -> str:
    return html.escape(visible("" if value is None else str(value)), quote=True)


def title(plan: Plan) -> str:
    """The sheet's title: whose list and up to when."""
    scope = plan.grid or t("plan.all_grids")
    if plan.worker:
        scope = f"{scope} · {plan.worker}"
    return t("plan.sheet.title", scope=scope)


def meta_line(plan: Plan, reveal: bool) -> str:
    """Period, count and the privacy note under the title."""
    privacy = t("plan.sheet.revealed") if reveal else t("plan.sheet.masked")
    counts = t(
        "plan.sheet.counts",
        today=plan.today,
        until=plan.until,
        n=len(plan.entries),
        overdue=plan.overdue,
    )
    return f"{counts} · {privacy}"


def columns() -> list[str]:
    """Headers of the route sheet, in order."""
    return [t(f"plan.col.{c}") for c in SHEET_COLUMNS]


#: The route sheet's columns (keys of ``plan.col.*``).
SHEET_COLUMNS = (
    "tick",
    "room",
    "address",
    "head",
    "phone",
    "due",
    "overdue",
    "reasons",
    "note",
)


def row_values(e: PlanEntry, reveal: bool) -> list[Any]:
    """One household as the sheet prints it (masked unless *reveal*)."""
    head, phone, _tags = present_person(e.head, e.phone, e.tags, reveal)
    room = e.spot.room or ""
    return [
        "",
        room,
        e.address,
        head,
        phone,
        e.due,
        max(0, e.overdue_days),
        "；".join(r.text(printed=not reveal) for r in e.reasons),
        "",
    ]


def render_route_html(plan: Plan, reveal: bool = False) -> str:
    """The route sheet as one print-ready HTML page (no script, nothing fetched)."""
    heading = title(plan)
    style = (
        _CSS.replace(
            "__TITLE__", css_string(f"{heading} · {t('plan.sheet.until', until=plan.until)}")
        )
        .replace("__FOOTER__", _page_counter())
        .replace("__FONTS__", CJK_FONTS)
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(heading)}</title>",
        f"<style>{style}</style></head><body>",
        f"<h1>{_e(heading)}</h1>",
        f'<p class="meta">{_e(meta_line(plan, reveal))}</p>',
    ]
    if not plan.entries:
        parts.append(f'<p class="empty">{_e(t("plan.none"))}</p>')
    else:
        parts.append("<table><colgroup>")
        parts += [f'<col style="width:{w / sum(_WIDTHS) * 100:.2f}%">' for w in _WIDTHS]
        parts.append("</colgroup><thead><tr>")
        parts += [f"<th>{_e(h)}</th>" for h in columns()]
        parts.append("</tr></thead><tbody>")
        classes = ("tick", "nowrap", "addr", "nowrap", "nowrap", "nowrap", "num", "long", "")
        for building, entries in plan.buildings():
            n = len(entries)
            label = t("plan.sheet.building", building=building, n=n)
            parts.append(f'<tr class="building"><td colspan="{len(_WIDTHS)}">{_e(label)}</td></tr>')
            for e in entries:
                values = row_values(e, reveal)
                values[0] = TICK_BOX
                values[5] = e.due.isoformat()
                cells = []
                for i, (cls, v) in enumerate(zip(classes, values, strict=True)):
                    late = " late" if i == 6 and e.overdue_days > 0 else ""
                    cells.append(f'<td class="{cls}{late}">{_e(v)}</td>')
                parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render_route_xlsx(plan: Plan, reveal: bool = False) -> bytes:
    """The route sheet as a workbook: one sheet, A4 landscape one page wide, header row on
    every page, a page header naming whose list, up to when and the day it was made."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = t("plan.sheet.name")
    header = [t("plan.col.building"), *columns()]
    rows = [[b, *row_values(e, reveal)] for b, entries in plan.buildings() for e in entries]
    formats: list[str | None] = [None] * len(header)
    formats[6] = DATE_FORMAT
    # Landscape, one page wide, at close to full size: the building and the
    # reasons wrap rather than shrink every column to fit.
    caps = {0: 30, 1: 6, 3: 26, 8: 50, 9: 16}
    widths = fit_widths(header, rows, formats, caps)
    widths[1] = max(widths[1], 6)
    widths[9] = max(widths[9], 16)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    scope = title(plan)
    made = t("plan.sheet.made", today=plan.today)
    print_setup(ws, PageHeader(scope, t("plan.sheet.until", until=plan.until), made), freeze="A2")
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    head_align = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for col, label in enumerate(header, start=1):
        cell = put(ws.cell(row=1, column=col), header_text(label))
        cell.font, cell.fill, cell.alignment = bold_font(), head_fill, head_align
    ws.row_dimensions[1].height = max(header_height(label) for label in header)
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    for r, values in enumerate(rows, start=2):
        wraps = [
            i
            for i, v in enumerate(values)
            if i in caps and isinstance(v, str) and needs_wrap(v, widths[i])
        ]
        for c, value in enumerate(values, start=1):
            cell = put(ws.cell(row=r, column=c), value, formats[c - 1])
            cell.alignment = wrap if (c - 1) in wraps else top
        # Room to tick and write on paper, and all of a wrapped reason.
        ws.row_dimensions[r].height = max(
            [ROW_HEIGHT, *(wrapped_height(values[i], widths[i]) for i in wraps)]
        )
    note_row = len(rows) + 3
    put(ws.cell(row=note_row, column=1), meta_line(plan, reveal))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
