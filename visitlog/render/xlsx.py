"""The summary as an Excel workbook that prints the way the committee reads it.

Sheets, each set up by :func:`visitlog.roster.spreadsheet.print_setup` (A4 landscape,
one page wide, header row on every page, a page header naming the area, the
sheet and the period, page numbers in the footer):

* 微网格 / 居民区 / 街道: the meeting sheet, :func:`meeting_columns` per group and
  a total row;
* 走访明细, 走访方式, 清单类别, 办理情况: the rest of the figures per 微网格
  (:func:`detail_views`), a theme per sheet so each fits one page width;
* 重点人群: a row per 微网格 and key group (households due, visited, share);
* 未访住户, 超期条目: the lists (masked unless ``reveal``);
* 说明: title, period, overdue cut-off, privacy, notes.

Counts are numbers, ratios are numbers shown as percentages, dates are dates;
text from the data is always a text cell, never a formula.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from visitlog.i18n import t
from visitlog.render.common import (
    Column,
    detail_views,
    group_name,
    level_label,
    meeting_columns,
    notes,
    overdue_columns,
    overdue_rows,
    period_text,
    still_due_columns,
    still_due_rows,
)
from visitlog.roster.spreadsheet import (
    DATE_FORMAT,
    DECIMAL_FORMAT,
    PERCENT_FORMAT,
    PageHeader,
    bold_font,
    fit_widths,
    header_height,
    header_text,
    needs_put,
    needs_wrap,
    print_setup,
    put,
    wrapped_height,
    xml_text,
)
from visitlog.summary import LEVELS, Summary

#: Number format of each kind of :class:`Column`.
KIND_FORMATS: dict[str, str | None] = {"int": None, "pct": PERCENT_FORMAT, "days": DECIMAL_FORMAT}


@dataclass
class Sheet:
    """One worksheet before it is written: header, typed rows and how to lay them out.

    Attributes:
        bold: indexes of rows (in ``rows``) printed bold, such as totals.
        caps: widest width of a column (by index); longer text wraps.
        freeze: the top-left cell that scrolls (rows above and columns left stay).
        filter: offer Excel's filter buttons on the header row.
    """

    title: str
    header: list[str]
    rows: list[list[Any]]
    formats: list[str | None]
    bold: set[int] = field(default_factory=set)
    caps: dict[int, int] = field(default_factory=dict)
    freeze: str = "B2"
    filter: bool = False


def render_xlsx(summary: Summary, reveal: bool = False) -> bytes:
    """The workbook as bytes (see the module docstring for its sheets)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    styles = _Styles()
    for sheet in workbook_sheets(summary, reveal):
        _write(wb, sheet, page_header(summary, sheet.title, reveal), styles)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def workbook_sheets(summary: Summary, reveal: bool = False) -> list[Sheet]:
    """Every sheet of the workbook, in order."""
    sheets = [_group_sheet(summary.at(by), level_label(by), meeting_columns()) for by in LEVELS]
    grids = summary.at("micro-grid")
    sheets += [_group_sheet(grids, title, cols) for title, cols in detail_views()]
    sheets.append(_key_groups_sheet(grids))
    due_formats: list[str | None] = [None] * 7 + [DATE_FORMAT]
    due_caps = {2: 40, 5: 24} if reveal else {2: 40}
    sheets.append(
        Sheet(
            t("summary.sheet.still_due"),
            still_due_columns(),
            list(still_due_rows(summary, reveal)),
            due_formats,
            caps=due_caps,
            freeze="A2",
            filter=True,
        )
    )
    sheets.append(
        Sheet(
            t("summary.sheet.overdue"),
            overdue_columns(),
            list(overdue_rows(summary)),
            [None] * 8 + [DATE_FORMAT, None],
            caps={2: 30, 5: 40, 7: 16},
            freeze="A2",
            filter=True,
        )
    )
    sheets.append(_notes_sheet(summary, reveal))
    return sheets


def page_header(summary: Summary, sheet: str, reveal: bool) -> PageHeader:
    """What a printed page of *sheet* says at its top: the area, the sheet, the period."""
    if summary.grid:
        community = next((g.community for g in summary.base if g.name == summary.grid), None)
        area = " ".join(x for x in (community, summary.grid) if x)
    else:
        area = summary.street
    if reveal:
        area = f"{area} {t('summary.print_private')}"
    return PageHeader(
        left=area,
        center=f"{t('summary.print_title')} · {sheet}",
        right=period_text(summary),
    )


# -- the sheets ------------------------------------------------------------------------------


def _group_sheet(summary: Summary, title: str, cols: list[Column]) -> Sheet:
    """A row per group of *summary*'s level, then the total (bold)."""
    data = summary.to_json()
    by_grid = summary.by == "micro-grid"
    header = [level_label(summary.by)]
    if by_grid:
        header.append(t("summary.level.community"))
    header += [c.label for c in cols]
    names = len(header) - len(cols)
    rows = []
    for g in data["groups"]:
        row: list[Any] = [group_name(summary, g)]
        if by_grid:
            row.append(g.get("community") or "")
        rows.append(row + [c.value(g) for c in cols])
    total: list[Any] = [t("summary.totals")] + [""] * (names - 1)
    rows.append(total + [c.value(data["totals"]) for c in cols])
    return Sheet(
        title,
        header,
        rows,
        [None] * names + [KIND_FORMATS[c.kind] for c in cols],
        bold={len(rows) - 1},
    )


def _key_groups_sheet(grids: Summary) -> Sheet:
    """A row per 微网格 and key group: households due, visited, the share visited."""
    header = [
        level_label("micro-grid"),
        t("summary.level.community"),
        t("summary.col.tag"),
        t("summary.col.households"),
        t("summary.col.visited"),
        t("summary.col.tag_coverage"),
    ]
    data = grids.to_json()
    rows: list[list[Any]] = []
    bold: set[int] = set()
    for g, total in [*((g, False) for g in data["groups"]), (data["totals"], True)]:
        name = t("summary.totals") if total else g["micro_grid"]
        community = "" if total else (g.get("community") or "")
        if total:
            bold.update(range(len(rows), len(rows) + 1 + len(g["key_groups"])))
        every = (g["key_households"], g["key_visited"], g["key_coverage"])
        rows.append([name, community, t("summary.key_all"), *every])
        rows += [
            [name, community, tag, v["households"], v["visited"], v["coverage"]]
            for tag, v in g["key_groups"].items()
            if v["households"]
        ]
    return Sheet(
        t("summary.sheet.key_groups"),
        header,
        rows,
        [None] * 5 + [PERCENT_FORMAT],
        bold=bold,
        filter=True,
    )


def _notes_sheet(summary: Summary, reveal: bool) -> Sheet:
    """Title, period and cut-off (as dates), privacy, then the notes of the other formats."""
    rows: list[list[Any]] = [
        [t("summary.notes.title"), t("summary.title", street=summary.street)],
        [t("summary.notes.from"), summary.date_from],
        [t("summary.notes.to"), summary.date_to],
        [t("summary.notes.cutoff"), summary.overdue_cutoff],
        [t("summary.notes.privacy"), t("summary.revealed" if reveal else "summary.masked")],
    ]
    rows += [[label, text] for label, text in notes(summary, summary.to_json()["totals"])]
    return Sheet(
        t("summary.sheet.notes"),
        [t("summary.notes.item"), t("summary.notes.value")],
        rows,
        [None, None],
        caps={1: 90},
        freeze="A2",
    )


# -- writing -----------------------------------------------------------------------------------


class _Styles:
    """The few styles of the workbook, made once (openpyxl shares equal styles)."""

    def __init__(self) -> None:
        from openpyxl.styles import Alignment, PatternFill

        self.head_font = bold_font()
        # A light fill: the header reads on screen and costs little ink on paper.
        self.head_fill = PatternFill("solid", fgColor="DDEBF7")
        self.head_align = Alignment(horizontal="center", vertical="center", wrap_text=True)
        self.bold = bold_font()
        self.wrap = Alignment(wrap_text=True, vertical="top")
        self.top = Alignment(vertical="top")


def _write(wb: Any, sheet: Sheet, page: PageHeader, styles: _Styles) -> None:
    """Stream one sheet into a write-only workbook (a district's lists run to 10,000s of rows).

    A write-only sheet writes its top (columns, print setup, frozen panes)
    with the first row and each row as it is appended, so everything about
    the sheet is set first and a row's height before the row.
    """
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(sheet.title)
    widths = fit_widths(sheet.header, sheet.rows, sheet.formats, sheet.caps)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    print_setup(ws, page, freeze=sheet.freeze)
    if sheet.filter and sheet.rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(sheet.header))}{len(sheet.rows) + 1}"
    head = []
    for label in sheet.header:
        cell = put(WriteOnlyCell(ws), header_text(label))
        cell.font, cell.fill, cell.alignment = styles.head_font, styles.head_fill, styles.head_align
        head.append(cell)
    ws.row_dimensions[1].height = max(header_height(label) for label in sheet.header)
    ws.append(head)
    # Plain values (text needing no care, whole numbers) go in as values, and
    # the numbers and dates of a formatted column through one styled cell per
    # column, reused row after row (each row is written out as it is
    # appended): much quicker than a new styled cell for every value.
    shared = {}
    for i, fmt in enumerate(sheet.formats):
        if fmt:
            shared[i] = WriteOnlyCell(ws)
            shared[i].number_format = fmt
    for n, row in enumerate(sheet.rows):
        bold = n in sheet.bold
        wraps = {
            i
            for i, value in enumerate(row)
            if i in sheet.caps and isinstance(value, str) and needs_wrap(value, widths[i])
        }
        out: list[Any] = []
        for i, value in enumerate(row):
            if not (bold or wraps):
                if i in shared and isinstance(value, int | float | dt.date) and value is not True:
                    shared[i].value = value
                    out.append(shared[i])
                    continue
                if i not in shared and not needs_put(value):
                    out.append(xml_text(value) if isinstance(value, str) else value)
                    continue
            cell = put(WriteOnlyCell(ws), value, sheet.formats[i])
            if bold:
                cell.font = styles.bold
            if wraps:
                # A row grown for wrapped text reads from the top, all of it.
                cell.alignment = styles.wrap if i in wraps else styles.top
            out.append(cell)
        if wraps:
            height = max(wrapped_height(row[i], widths[i]) for i in wraps)
            ws.row_dimensions[n + 2].height = height
        ws.append(out)
