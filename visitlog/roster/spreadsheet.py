"""Spreadsheets written for people: cells that never run, sheets that print.

Every CSV and XLSX file visitlog writes (the summary, the roster export, the
``*.rejects.csv`` of an import) goes through this module, so one rule holds
for all of them.

**Formulas** (OWASP "CSV Injection"): a spreadsheet program runs a cell that
begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a
formula, so a household named ``=HYPERLINK(…)`` could otherwise put a live
link, or worse, in front of the worker who opens the file.

* CSV: a text cell that begins with one of those characters, possibly after
  some single quotes, gets one more single quote in front (``=SUM(A1)`` →
  ``'=SUM(A1)``, ``+8613812345678`` → ``'+8613812345678``, ``'=x`` →
  ``''=x``).  Reading a CSV back (:func:`restore`) removes exactly that one
  quote again, and only from cells of that shape, so every text value comes
  back as it was — also one that really begins with a quote.  A quote in
  front of anything else (``'0123``) is data and is left alone both ways.
* XLSX: text is always written as a text cell (never a formula, whatever it
  begins with); a text that begins with a formula character is also marked
  "quote prefix", as Excel marks text typed after a ``'``, so editing the cell
  does not turn it into a formula either.  The value itself is unchanged, so
  an XLSX file needs no un-quoting when read back.
* Numbers that are numbers (counts, ratios, dates) are written as numbers and
  dates, never as text.

**Characters XML cannot hold** (control characters other than tab and line
breaks) cannot be stored in an XLSX file: each is written as its Unicode
"control picture" (ESC → ␛), so it stays visible instead of breaking the file.
CSV files keep them as they are.

**Printing**: :func:`print_setup` gives a sheet what a secretary needs to pin
it on the wall: A4 landscape, fitted to the page width, the header row
repeated on every page, a page header naming what and when, and "第 N 页 共 M
页" in the footer.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.cells import cell_len

from visitlog.i18n import t
from visitlog.store import files
from visitlog.visible import xml_visible

#: Characters that make a spreadsheet program read a cell as a formula.
FORMULA_START = frozenset("=+-@\t\r")
#: The mark that keeps a CSV cell text (Excel's own "this is text" prefix).
QUOTE = "'"
#: Date cells are shown like the dates everywhere else in visitlog.
DATE_FORMAT = "yyyy-mm-dd"
PERCENT_FORMAT = "0.0%"
DECIMAL_FORMAT = "0.0"
#: Column widths are measured on at most this many rows, spread over the list.
WIDTH_SAMPLE = 2000
#: Widths (in Excel's character units: one per Latin letter, two per CJK character).
MIN_WIDTH, MAX_WIDTH = 5, 40
#: Points per printed line of 11 pt text, CJK glyphs included.
LINE_HEIGHT = 16
#: Height (points) of a row of one line: room above and below CJK glyphs, which
#: the programs' own default (12.8–15 pt, made for Latin text) does not leave.
ROW_HEIGHT = 17
#: Excel refuses a page header or footer longer than this.
HEADER_LIMIT = 250


# -- formulas ------------------------------------------------------------------------


def looks_like_formula(text: str) -> bool:
    """True when *text*, after any leading single quotes, begins with a formula character."""
    body = text.lstrip(QUOTE)
    return bool(body) and body[0] in FORMULA_START


def neutralise(text: str) -> str:
    """A CSV cell that no spreadsheet program runs: one ``'`` in front when needed.

    See the module docstring for the rule; :func:`restore` undoes it exactly.
    """
    return QUOTE + text if looks_like_formula(text) else text


def restore(text: str) -> str:
    """The value a CSV cell written by :func:`neutralise` stood for (its first ``'`` removed)."""
    if text.startswith(QUOTE) and looks_like_formula(text):
        return text[1:]
    return text


def csv_cell(value: Any) -> Any:
    """A value ready for :mod:`csv`: text neutralised, numbers as they are, None empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def write_csv(text: Any, rows: Iterable[Sequence[Any]]) -> None:
    """Write *rows* to the text stream *text* as CSV, every cell through :func:`csv_cell`."""
    csv.writer(text).writerows([csv_cell(v) for v in row] for row in rows)


# -- XLSX cells --------------------------------------------------------------------------


def write_csv_file(dest: Path, rows: Iterable[list[Any]]) -> None:
    """UTF-8 with BOM (so Excel on Chinese Windows opens it right), written atomically.

    Text that a spreadsheet would run as a formula gets a ``'`` in front
    (:func:`neutralise`); the CSV reader takes it off
    again, so the file still imports back unchanged.
    """

    def write(fh: Any) -> None:
        with io.TextIOWrapper(fh, encoding="utf-8-sig", newline="") as text:
            write_csv(text, rows)

    atomic_write(dest, write)


def atomic_write(dest: Path, write: Callable[[Any], None]) -> None:
    """Write through a temporary file and rename, owner-only (rosters are personal data)."""
    with files.replacing(dest) as tmp, open(tmp, "wb") as fh:
        write(fh)


def xml_text(text: str) -> str:
    """*text* with every character XML cannot hold replaced by a visible stand-in
    (:func:`visitlog.visible.xml_visible`: ESC → ␛, a lone surrogate → �)."""
    return xml_visible(text)


def put(cell: Any, value: Any, number_format: str | None = None) -> Any:
    """Give an openpyxl cell a typed value: text stays text, a date a date, a number a number.

    Text is never a formula (data type ``s``, quote prefix when it looks like
    one) and holds no character XML forbids.  A date gets
    :data:`DATE_FORMAT` unless *number_format* says otherwise.
    """
    if value is None:
        cell.value = None
        return cell
    if isinstance(value, str):
        cell.value = xml_text(value)
        # openpyxl takes a str beginning with "=" for a formula and "#N/A" for
        # an error value; both are data here.
        cell.data_type = "s"
        if value[:1] == QUOTE or looks_like_formula(value):
            # Excel's own mark for typed text: editing the cell keeps it text
            # (and keeps a leading quote as part of the value).
            cell.quotePrefix = True
        return cell
    if isinstance(value, bool):
        cell.value = int(value)
        return cell
    cell.value = value
    if isinstance(value, dt.date):
        cell.number_format = number_format or DATE_FORMAT
    elif number_format:
        cell.number_format = number_format
    return cell


def bold_font() -> Any:
    """The workbook's own font in bold (a bare bold font prints in another typeface)."""
    from openpyxl.styles import Font

    return Font(name="Calibri", size=11, family=2, scheme="minor", bold=True)


def needs_put(value: Any) -> bool:
    """True for text that a plain openpyxl assignment would not store as the same text.

    For writers that append rows of plain values (much quicker) and fix up
    the few cells this finds with :func:`put`.
    """
    return isinstance(value, str) and value[:1] in _SPECIAL_START


#: First characters of text that openpyxl would misread or Excel would run.
_SPECIAL_START = FORMULA_START | {QUOTE, "#"}


# -- widths ----------------------------------------------------------------------------------


def shown(value: Any, number_format: str | None = None) -> str:
    """The text a cell shows (to measure it): 0.853 as 85.3%, a date as 2026-03-18."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()[:10]
    if isinstance(value, float):
        if number_format == PERCENT_FORMAT:
            return f"{value * 100:.1f}%"
        return f"{value:.1f}"
    return str(value)


#: Characters after which a header is best broken onto its second line.
_BREAK_AFTER = frozenset("·：:、/ ")


def _can_break(left: str, right: str) -> bool:
    """Whether a line may break between two characters: after a separator, or
    between CJK characters, never inside a Latin word, a number or ``Micro-grid``."""
    if left in _BREAK_AFTER:
        return True
    wide_left, wide_right = cell_len(left) == 2, cell_len(right) == 2
    if wide_left and wide_right:
        return True
    if wide_left or wide_right:
        return not any(ch.isascii() and ch.isalnum() for ch in (left, right))
    return False


def header_lines(label: str) -> list[str]:
    """*label* as printed in a header cell: one line if short, else two balanced lines.

    The break goes after a separator (·, space, 、) when there is one near the
    middle, else between two CJK characters; never inside a Latin word or a
    number.
    """
    if cell_len(label) <= 6:
        return [label]
    best: tuple[float, int] | None = None
    for i in range(1, len(label)):
        left, right = label[i - 1], label[i]
        if not _can_break(left, right):
            continue
        score = max(cell_len(label[:i].rstrip()), cell_len(label[i:].lstrip()))
        if left in _BREAK_AFTER:
            score -= 1.5
        if best is None or score < best[0]:
            best = (score, i)
    if best is None:
        return [label]
    return [label[: best[1]].rstrip(), label[best[1] :].lstrip()]


def header_width(label: str) -> int:
    """The width that prints *label* as :func:`header_lines` splits it (see :func:`header_text`)."""
    return max(cell_len(line) for line in header_lines(label)) + 2


def header_text(label: str) -> str:
    """*label* with its line break written in, so every program wraps it in the same place.

    (Left to the program, a header wraps wherever the column's width runs out,
    which differs between Excel and LibreOffice and leaves one character alone
    on the second line.)
    """
    return "\n".join(header_lines(label))


def text_width(text: str) -> int:
    """The width a line of data text needs (CJK glyphs are a little over two units)."""
    return math.ceil(cell_len(text) * 1.06) + 2


def header_height(label: str) -> float:
    """Row height (points) of a header cell holding :func:`header_text` of *label*."""
    return LINE_HEIGHT * len(header_lines(label)) + 4


def needs_wrap(text: str, width: float) -> bool:
    """True when *text* does not fit on one line of a column *width* units wide."""
    if "\n" in text:
        return True
    # Quick answer for the many short texts: no character is wider than two units.
    return math.ceil(len(text) * 2.12) + 2 > width and text_width(text) > width


def wrapped_height(text: str, width: float) -> float:
    """Row height (points) that shows all of *text* wrapped in a column *width* units wide.

    Spreadsheet programs do not all grow a row for wrapped text when they
    open a file (LibreOffice does not), so the writer sets it.
    """
    room = max(1.0, width - 1.5)
    lines = sum(
        max(1, math.ceil(cell_len(part) * 1.06 / room)) for part in text.splitlines() or [""]
    )
    return LINE_HEIGHT * lines + 2


def fit_widths(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    formats: Sequence[str | None] | None = None,
    caps: dict[int, int] | None = None,
    wrap_header: bool = True,
) -> list[int]:
    """Column widths that fit the text: two units per CJK character, one per Latin one.

    A long header wraps onto two lines (unless not *wrap_header*); data is
    measured on :data:`WIDTH_SAMPLE` rows spread over all; a column is capped at
    ``caps[i]`` (or :data:`MAX_WIDTH`), and longer text wraps there.
    """
    caps = caps or {}
    formats = formats or [None] * len(header)
    widths = [max(MIN_WIDTH, header_width(h) if wrap_header else cell_len(h) + 2) for h in header]
    # A sample spread over the whole list: the last 居民区 may have the longest names.
    step = max(1, math.ceil(len(rows) / WIDTH_SAMPLE))
    for row in rows[::step]:
        for i, v in enumerate(row):
            if v is not None and v != "":
                widths[i] = max(widths[i], text_width(shown(v, formats[i])))
    return [min(caps.get(i, MAX_WIDTH), w) for i, w in enumerate(widths)]


# -- printing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageHeader:
    """The three parts of a printed page's header: what (left), title (centre), when (right)."""

    left: str = ""
    center: str = ""
    right: str = ""


def _header_part(text: str, limit: int) -> str:
    # "&" starts a code in Excel's header language; a literal one is doubled.
    text = xml_text(" ".join(text.split()))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("&", "&&")


def print_setup(
    ws: Any, header: PageHeader, title_rows: int = 1, freeze: str | None = "A2"
) -> None:
    """Make *ws* print well: A4 landscape, one page wide, header row on every page, page header.

    Args:
        ws: an openpyxl worksheet (of a normal, not write-only, workbook).
        header: the page header's three parts.
        title_rows: how many rows at the top repeat on every printed page.
        freeze: the cell below and right of what stays in view on screen.
    """
    from openpyxl.worksheet.page import PageMargins
    from openpyxl.worksheet.properties import PageSetupProperties

    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4 (Worksheet.PAPERSIZE_A4; write-only sheets lack the name)
    # One page wide, as many pages tall as the rows need.
    if ws.sheet_properties.pageSetUpPr is None:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties()
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_options.horizontalCentered = True
    ws.print_options.gridLines = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.75, bottom=0.6, header=0.3, footer=0.3)
    # Every row a little taller than the programs' default, so Chinese does not
    # touch the printed grid lines (a row grown for wrapped text keeps its own).
    ws.sheet_format.defaultRowHeight = ROW_HEIGHT
    ws.sheet_format.customHeight = True
    if title_rows:
        ws.print_title_rows = f"1:{title_rows}"
    if freeze:
        ws.freeze_panes = freeze
    third = HEADER_LIMIT // 3
    ws.oddHeader.left.text = _header_part(header.left, third) or None
    ws.oddHeader.center.text = _header_part(header.center, third) or None
    ws.oddHeader.right.text = _header_part(header.right, third) or None
    ws.oddFooter.center.text = t("sheet.footer")


__all__ = [
    "DATE_FORMAT",
    "DECIMAL_FORMAT",
    "FORMULA_START",
    "PERCENT_FORMAT",
    "PageHeader",
    "bold_font",
    "csv_cell",
    "fit_widths",
    "header_height",
    "header_lines",
    "header_text",
    "header_width",
    "looks_like_formula",
    "needs_put",
    "needs_wrap",
    "neutralise",
    "print_setup",
    "put",
    "restore",
    "shown",
    "text_width",
    "wrapped_height",
    "write_csv",
    "xml_text",
]
