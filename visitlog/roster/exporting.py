"""Exporting a roster: live households in the roster's own headers, CSV or XLSX.

The file imports back unchanged (same headers, phones and 编号 as text, tags
joined with 、), is created owner-only (it holds full names and phones), and
its XLSX prints on A4 landscape with the header row on every page.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from visitlog.grids import check_grid
from visitlog.i18n import t
from visitlog.model import Household, VisitlogError
from visitlog.roster import spreadsheet
from visitlog.roster.columns import HEADERS, TAG_SEPARATOR
from visitlog.roster.spreadsheet import atomic_write, write_csv_file
from visitlog.security import record_export
from visitlog.store import Store
from visitlog.summary import ALL, street_name


def _export_row(h: Household) -> list[Any]:
    return [
        h.ref or "",
        h.community or "",
        h.micro_grid,
        h.estate or "",
        h.address,
        h.head or "",
        h.phone or "",
        h.members if h.members is not None else "",
        h.occupancy,
        TAG_SEPARATOR.join(h.tags),
        h.note or "",
    ]


def export_roster(store: Store, path: Path | str, grid: str | None = None) -> int:
    """Write live households to *path* (``.csv`` UTF-8 with BOM, or ``.xlsx``) in roster headers.

    The file imports back unchanged: same headers, phones and 编号 as text,
    tags joined with 、, text that looks like a formula kept as text (see
    :mod:`visitlog.spreadsheet`).  It holds full names, phones and tags (it is
    a roster, the worker's own data for their grid) and is created
    owner-only.  The XLSX prints on A4 landscape, one page wide, with the
    header row on every page.

    Args:
        store: the database.
        path: the file to write; its suffix chooses the format.
        grid: only this 微网格.

    Returns:
        The number of households written.

    Raises:
        VisitlogError: unknown suffix, an unknown 微网格, or the file cannot be written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise VisitlogError(t("roster.err_export_suffix", path=path.name))
    if grid:
        check_grid(store, grid)
    if suffix == ".csv":
        # Streamed: a district's roster is written as it is read.
        with store.households_listing(grid=grid) as listing:
            if grid and not listing.count:
                raise VisitlogError(t("roster.err_no_grid", grid=grid))
            record_export(store, "roster", rows=listing.count, to=str(path.resolve()), grid=grid)
            write_csv_file(
                path, itertools.chain([list(HEADERS.values())], map(_export_row, listing))
            )
        return listing.count
    # The workbook is read twice and never held whole (a district's roster is
    # 450,000 rows): once for its columns' widths (measured on a sample spread
    # over every row, as spreadsheet.fit_widths does) and the 居民区 it covers,
    # then written row by row as it is read, in the same snapshot.
    header = list(HEADERS.values())
    with store.households_listing(grid=grid) as listing:
        count = listing.count
        if grid and not count:
            raise VisitlogError(t("roster.err_no_grid", grid=grid))
        step = max(1, math.ceil(count / spreadsheet.WIDTH_SAMPLE))
        sample: list[list[Any]] = []
        communities: set[str] = set()
        for n, h in enumerate(listing):
            if h.community:
                communities.add(h.community)
            if n % step == 0:
                sample.append(_export_row(h))
        # Full names, phones and tags leave the database: audited before the file is written.
        record_export(store, "roster", rows=count, to=str(path.resolve()), grid=grid)
        page = spreadsheet.PageHeader(
            left=_export_scope(store, communities, grid),
            center=t("roster.print_title"),
            right=t("roster.print_when", date=dt.date.today().isoformat(), count=count),
        )
        _write_xlsx(path, header, sample, map(_export_row, listing), page)
    return count


def _export_scope(store: Store, found: set[str], grid: str | None) -> str:
    """What an exported roster covers, for its page header: the grid, 居民区 or street."""
    communities = sorted(found)
    if grid:
        return " ".join([*communities[:1], grid])
    if len(communities) == 1:
        return communities[0]
    street = street_name(store)
    return t("roster.print_all") if street == ALL else street


#: Roster columns whose text may be long: capped width, wrapped past it.
_LONG_COLUMNS = {"address": 36, "tags": 24, "note": 40, "head": 16, "estate": 20}


def _write_xlsx(
    path: Path,
    header: list[str],
    sample: list[list[Any]],
    rows: Iterable[list[Any]],
    page: spreadsheet.PageHeader,
) -> None:
    """Stream *rows* into a write-only workbook: its columns, print setup and
    header first, each row's height and styles before the row is appended
    (*sample*: the rows the widths are measured on)."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, PatternFill
    from openpyxl.utils import get_column_letter

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("住户名册")
    fields = list(HEADERS)
    caps = {i: _LONG_COLUMNS[f] for i, f in enumerate(fields) if f in _LONG_COLUMNS}
    widths = spreadsheet.fit_widths(header, sample, caps=caps, wrap_header=False)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    spreadsheet.print_setup(ws, page)
    bold = spreadsheet.bold_font()
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    # The header as on the summary's sheets: bold on a light fill, centred,
    # so it reads as the header on every printed page.
    fill = PatternFill("solid", fgColor="DDEBF7")
    centre = Alignment(horizontal="center", vertical="center")
    head = []
    for label in header:
        cell = WriteOnlyCell(ws, value=label)
        cell.font, cell.fill, cell.alignment = bold, fill, centre
        head.append(cell)
    ws.append(head)
    long_cols = [(i, widths[i]) for i in caps]
    for n, values in enumerate(rows, start=2):
        wraps = {
            i
            for i, width in long_cols
            if isinstance(values[i], str) and spreadsheet.needs_wrap(values[i], width)
        }
        out: list[Any] = []
        for i, v in enumerate(values):
            if not wraps and not spreadsheet.needs_put(v):
                out.append(spreadsheet.xml_text(v) if isinstance(v, str) else v)
                continue
            cell = spreadsheet.put(WriteOnlyCell(ws), v)
            if wraps:
                # A row grown for wrapped text reads from the top, all of it.
                cell.alignment = wrap if i in wraps else top
            out.append(cell)
        if wraps:
            ws.row_dimensions[n].height = max(
                spreadsheet.wrapped_height(values[i], widths[i]) for i in wraps
            )
        ws.append(out)
    atomic_write(path, wb.save)
