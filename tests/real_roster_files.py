"""Roster files as offices save them, and plain readers to check what was written.

* CSV: UTF-8 with BOM, or GBK as Excel on Chinese Windows saves it (CRLF
  rows, a line break inside a quoted cell stays a line break).  Numbers
  Excel would have stored as numbers are written as Excel writes them
  (``13812345678.0`` from a float, ``2158942977`` from a 021 number typed as
  a number).
* XLSX: a title row and a subtitle row merged across the table, the header,
  the rows, 居民区 and 微网格 written once per block and merged downwards, an
  extra remarks column visitlog does not know, numbers as numeric cells, and
  optionally a hidden, older copy of the roster as the first sheet.

Only the standard library and openpyxl; nothing from visitlog.
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from real_roster_model import COLUMNS, ID_HEADER, REMARKS_HEADER

if TYPE_CHECKING:  # pragma: no cover
    from real_roster import Corpus, RosterRow

#: The sheet holding the roster, and the hidden stale one placed before it.
SHEET = "住户名册"
STALE_SHEET = "2022年名册（旧）"


def columns(roster: str, id_column: bool = True, remarks_column: bool = False) -> list[str]:
    """The header row of roster ``A`` or ``B`` as written."""
    cols = [c for c in COLUMNS[roster] if id_column or c != ID_HEADER]
    return [*cols, REMARKS_HEADER] if remarks_column else cols


def cell_text(value: Any) -> str:
    """A cell as a CSV saved by Excel holds it: floats keep their ``.0``."""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def expected_rows(rows: list[RosterRow], header: list[str], text: bool) -> list[list[Any]]:
    """The data rows as written: text (CSV) or values with None for empty cells (XLSX)."""
    if text:
        return [[cell_text(r.cells[c]) for c in header] for r in rows]
    return [[r.cells[c] if r.cells[c] != "" else None for c in header] for r in rows]


def write_csv(
    corpus: Corpus, path: Path, roster: str, encoding: str, id_column: bool
) -> dict[int, int]:
    """Write roster *roster* to *path* as CSV; returns row index → line in the file."""
    rows = corpus.roster(roster)
    header = columns(roster, id_column)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(expected_rows(rows, header, text=True))
    # strict: a character GBK cannot hold would be a bug of the generator, not a "?"
    Path(path).write_bytes(buf.getvalue().encode(encoding))
    return {r.index: line for line, r in enumerate(rows, start=2)}


def _title(rows: list[RosterRow]) -> str:
    communities = "、".join(dict.fromkeys(r.cells["居民区"] for r in rows))
    return f"曹杨新村街道{communities}住户名册"


def write_xlsx(
    corpus: Corpus,
    path: Path,
    roster: str,
    *,
    id_column: bool,
    title: bool,
    remarks_column: bool,
    stale_sheet: bool,
    merge_blocks: bool,
) -> dict[int, int]:
    """Write roster *roster* as an office workbook; returns row index → sheet row."""
    import openpyxl

    rows = corpus.roster(roster)
    header = columns(roster, id_column, remarks_column)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    if title:
        ws.append([_title(rows)])
        ws.append(["填报单位：居民区党总支    更新日期：2026年2月"])
        for r in (1, 2):
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(header))
    ws.append(header)
    first = ws.max_row + 1
    for values in expected_rows(rows, header, text=False):
        ws.append(values)
    if merge_blocks:
        for name in ("居民区", "微网格"):
            _merge_down(ws, header.index(name) + 1, first, [r.cells[name] for r in rows])
    if stale_sheet:
        stale = wb.create_sheet(STALE_SHEET, 0)
        stale.append(columns(roster, id_column=False))
        for values in _stale_rows(corpus, rows, columns(roster, id_column=False)):
            stale.append(values)
        stale.sheet_state = "hidden"
        wb.active = 1
    wb.save(path)
    return {r.index: line for line, r in enumerate(rows, start=first)}


def _merge_down(ws: Any, col: int, first: int, values: list[Any]) -> None:
    """Write each run of equal values once and merge its cells downwards."""
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            if i - 1 > start:
                for r in range(first + start + 1, first + i):
                    ws.cell(r, col).value = None
                ws.merge_cells(
                    start_row=first + start, start_column=col, end_row=first + i - 1, end_column=col
                )
            start = i


def _stale_rows(corpus: Corpus, rows: list[RosterRow], header: list[str]) -> list[list[Any]]:
    """An older copy of about a third of the roster: some heads and phones since changed."""
    rng = random.Random(corpus.seed * 7919 + 17)
    picked = sorted(rng.sample(range(len(rows)), len(rows) // 3))
    out = []
    for i in picked:
        cells = dict(rows[i].cells)
        if rng.random() < 0.2:
            cells["户主"] = rows[rng.randrange(len(rows))].cells["户主"]
        if rng.random() < 0.2:
            cells["联系电话"] = rows[rng.randrange(len(rows))].cells["联系电话"]
        out.append([cells[c] if cells[c] != "" else None for c in header])
    return out


# -- readers (for tests) ---------------------------------------------------------------------


def read_csv(path: Path, encoding: str) -> list[list[str]]:
    """Every record of a CSV file, header first."""
    text = Path(path).read_bytes().decode(encoding)
    return list(csv.reader(io.StringIO(text, newline="")))


def read_xlsx(path: Path, sheet: str = SHEET) -> list[list[Any]]:
    """Every row of *sheet*, with each merged range's value filled into all its cells."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    grid = [list(r) for r in ws.iter_rows(values_only=True)]
    for cr in ws.merged_cells.ranges:
        value = grid[cr.min_row - 1][cr.min_col - 1]
        for r in range(cr.min_row, cr.max_row + 1):
            for c in range(cr.min_col, cr.max_col + 1):
                grid[r - 1][c - 1] = value
    wb.close()
    return grid
