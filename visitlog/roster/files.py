"""Reading roster files into rows of text: CSV in any encoding an office uses, and XLSX.

* CSV: UTF-8, UTF-8 with BOM and GBK/GB18030 are told apart by decoding
  strictly as UTF-8, then as GB18030; Excel's "Unicode 文本" (UTF-16 with BOM,
  tab-separated) is read too.  Binary files and other encodings are refused
  with a message saying how to save the file from Excel.  A record is one row
  as Excel numbers it, even when a quoted cell spans several lines.  The
  ``'`` that visitlog puts in front of formula-like text when it writes a CSV
  (``'=SUM(A1)``, ``'+8613812345678``) is taken off again
  (:func:`visitlog.roster.spreadsheet.restore`), so its exports and rejects files
  read back as they were.
* XLSX (openpyxl, read-only for speed): cells read as the text Excel shows
  (``3.0`` → ``3``, ``13812345678.0`` → ``13812345678``), vertically merged
  cells filled down, every row read whatever dimension the file declares.
  Without ``--sheet``, hidden worksheets (an office's old copy) are never
  chosen, and the report says they were left out.

Nothing here knows what the columns mean; :mod:`visitlog.roster.columns` does.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.roster.spreadsheet import restore
from visitlog.store.files import check_user_file
from visitlog.visible import visible

#: How many rows from the top may hold titles above the header row.
HEADER_SCAN_ROWS = 20

#: A row as read: (line number as Excel shows it, cell texts, own cells all empty).
RawRow = tuple[int, list[str], bool]
#: Whether some first rows of a sheet contain a header row.
HeaderTest = Callable[[list[RawRow]], bool]

#: Bytes of sheet XML searched at a time for merged ranges.
MERGE_SCAN_CHUNK = 1 << 20
#: ``<mergeCell ref="B3:B402"/>`` (with or without a namespace prefix).
_MERGE_CELL = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([A-Za-z]+\d+):([A-Za-z]+\d+)\"")


def cell_text(value: Any) -> str:
    """A cell as the text Excel shows: 3.0 → "3", a date → 2026-03-18, None → ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        if value.is_integer():
            # Past 2**53 a number cell has lost digits (an 18-digit 编号 typed
            # as a number): shown as Excel does, never as a made-up integer.
            return f"{value:.14E}"
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def col_letter(index: int) -> str:
    """Excel's name of the 0-based column *index* (0 → A, 26 → AA)."""
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


def _col_index(letters: str) -> int:
    """1-based column number of Excel letters (A → 1)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _split_ref(ref: bytes) -> tuple[int, int]:
    """(row, column) of an A1-style reference."""
    text = ref.decode("ascii")
    m = re.match(r"([A-Za-z]+)(\d+)$", text)
    if not m:
        raise ValueError(text)
    return int(m.group(2)), _col_index(m.group(1))


@dataclass
class Table:
    """An open roster file: its rows (an iterator, read once) and what was learned opening it.

    Attributes:
        rows: (line, cells, blank) for every row from the first.
        kind: "UTF-8", "UTF-8 BOM", "GBK/GB18030", "UTF-16" or "XLSX".
        sheet: the worksheet read (XLSX).
        total: rows in the file, when known (for progress).
        warnings: things the worker should know (renamed file, sheet chosen).
    """

    rows: Iterator[RawRow]
    kind: str
    sheet: str | None = None
    total: int | None = None
    warnings: list[str] = field(default_factory=list)

    def close(self) -> None:
        """Release the file (an XLSX stays open while its rows are read)."""
        close = getattr(self.rows, "close", None)
        if close is not None:
            close()


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise VisitlogError(t("roster.err_not_found", path=path)) from None
    except IsADirectoryError:
        raise VisitlogError(t("roster.err_is_dir", path=path)) from None
    except OSError as exc:
        raise VisitlogError(t("roster.err_read", path=path, detail=exc.strerror)) from exc


def open_table(path: Path, sheet: str | None = None, has_header: HeaderTest | None = None) -> Table:
    """Open a roster file for reading, by content first (a renamed file still reads), suffix second.

    Args:
        path: a .csv (or other text) or .xlsx file.
        sheet: the worksheet to read (XLSX).
        has_header: tells whether the first rows of a sheet hold a header row;
            without *sheet*, the first sheet for which it is True is read.

    Raises:
        VisitlogError: missing, binary, in an unknown encoding, an old .xls, a
            damaged .xlsx, or no such sheet.
    """
    path = check_user_file(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise VisitlogError(t("roster.err_not_found", path=path))
    if path.is_dir():
        raise VisitlogError(t("roster.err_is_dir", path=path))
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK\x03\x04"):
        src = _read_xlsx(path, sheet, has_header)
        if suffix not in (".xlsx", ".xlsm"):
            src.warnings.append(t("roster.warn_renamed_xlsx", name=path.name))
        return src
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise VisitlogError(t("roster.err_xls", path=path.name))
    if suffix in (".xlsx", ".xlsm"):
        raise VisitlogError(t("roster.err_bad_xlsx", path=path.name, detail=t("roster.not_zip")))
    if suffix == ".xls":
        raise VisitlogError(t("roster.err_xls", path=path.name))
    src = _read_csv(path, _read_bytes(path))
    if sheet:
        src.warnings.append(t("roster.warn_sheet_csv"))
    return src


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """Text and the name of its encoding; UTF-8 first, then GB18030, both strict."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode 文本": UTF-16 with a byte-order mark, tab-separated.
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise VisitlogError(t("roster.err_encoding", path=name)) from None
    if b"\x00" in data[:65536]:
        raise VisitlogError(t("roster.err_binary", path=name))
    try:
        text = data.decode("utf-8-sig")
        return text, "UTF-8 BOM" if data.startswith(b"\xef\xbb\xbf") else "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "GBK/GB18030"
    except UnicodeDecodeError:
        raise VisitlogError(t("roster.err_encoding", path=name)) from None


def _looks_binary(text: str) -> bool:
    """Control characters other than tab and line breaks mean this is no text file."""
    sample = text[:65536]
    if not sample:
        return False
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\r\n")
    return controls > max(2, len(sample) // 200)


def _read_csv(path: Path, data: bytes) -> Table:
    if not data.strip():
        raise VisitlogError(t("roster.err_empty", path=path.name))
    text, encoding = _decode(data, path.name)
    if _looks_binary(text):
        raise VisitlogError(t("roster.err_binary", path=path.name))
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[RawRow] = []
    try:
        # Each record is one Excel row, even when a quoted cell spans lines.
        for line, record in enumerate(reader, start=1):
            cells = [restore(c) for c in record]
            records.append((line, cells, not any(c.strip() for c in cells)))
    except csv.Error as exc:
        raise VisitlogError(
            t("roster.err_csv", path=path.name, line=len(records) + 1, detail=exc)
        ) from None
    return Table(rows=iter(records), kind=encoding, total=len(records))


def _read_xlsx(path: Path, sheet: str | None, has_header: HeaderTest | None) -> Table:
    try:
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise VisitlogError(t("roster.err_bad_xlsx", path=path.name, detail=exc)) from exc
    try:
        # read_only streams the sheet (about twice as fast as a full load on big
        # rosters); merged ranges, which read-only mode does not expose, are
        # read separately by _merged_ranges.
        # From memory: openpyxl judges a path by its suffix, and a workbook
        # renamed .csv is still a workbook; a roster is a few MB at most.
        data = io.BytesIO(_read_bytes(path))
        _check_parts(data, path)
        wb = openpyxl.load_workbook(data, read_only=True, data_only=True)
    except VisitlogError:
        raise
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise VisitlogError(t("roster.err_bad_xlsx", path=path.name, detail=exc)) from None
    except Exception as exc:  # openpyxl raises assorted errors on damaged parts
        raise VisitlogError(
            t("roster.err_bad_xlsx", path=path.name, detail=type(exc).__name__)
        ) from None
    sheets = list(wb.worksheets)
    names = [ws.title for ws in sheets]
    # The dimension a file declares is only a hint (some tools write "A1"):
    # keep it for the progress bar, then read every row and column there is.
    declared = {ws.title: ws.max_row for ws in sheets}
    for ws in sheets:
        ws.reset_dimensions()
    warnings: list[str] = []
    try:
        if sheet:
            wanted = unicodedata.normalize("NFKC", sheet).strip()
            chosen = [
                ws for ws in sheets if unicodedata.normalize("NFKC", ws.title).strip() == wanted
            ]
            if not chosen:
                raise VisitlogError(t("roster.err_no_sheet", sheet=sheet, sheets="、".join(names)))
            ws = chosen[0]
        elif not sheets:
            raise VisitlogError(t("roster.err_empty", path=path.name))
        else:
            # A hidden sheet is an office's old copy or scratch work, not the
            # roster: it is read only when named with --sheet.
            shown = [s for s in sheets if getattr(s, "sheet_state", "visible") == "visible"]
            hidden = [s.title for s in sheets if s not in shown]
            ws = next(
                (s for s in shown if has_header and has_header(_first_rows(wb, s, path))),
                shown[0] if shown else sheets[0],
            )
            if len(sheets) > 1:
                warnings.append(
                    t("roster.warn_sheet_chosen", sheet=ws.title, sheets="、".join(names))
                )
            if hidden:
                warnings.append(t("roster.warn_hidden_sheets", sheets="、".join(hidden)))
        merged = _merged_ranges(wb, ws, path)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        wb.close()
        raise VisitlogError(t("roster.err_bad_xlsx", path=path.name, detail=exc)) from None
    except BaseException:
        wb.close()
        raise
    total = declared.get(ws.title)
    return Table(
        rows=_closing(_xlsx_rows(wb, ws, merged, path), wb),
        kind="XLSX",
        sheet=ws.title,
        total=total if isinstance(total, int) else None,
        warnings=warnings,
    )


#: Largest a part of an XLSX may declare itself once inflated, and all parts together.
MAX_XLSX_PART = 512 << 20
MAX_XLSX_TOTAL = 1 << 30
#: How many times its compressed size a part above XLSX_RATIO_FLOOR may declare
#: (sheet XML inflates 5–30 times; a zip bomb about 1000).
MAX_XLSX_RATIO = 200
XLSX_RATIO_FLOOR = 8 << 20


def _check_parts(data: BinaryIO, path: Path) -> None:
    """Refuse a zip bomb from the sizes its parts declare, before reading any.

    The sizes declared in the zip directory also bound what is read: Python's
    zipfile stops a part at its declared size (and a CRC check catches a lie).

    Raises:
        VisitlogError: a part or the whole declares too much.
    """
    with zipfile.ZipFile(data) as zf:
        total = 0
        for info in zf.infolist():
            total += info.file_size
            part = visible(info.filename[:80])
            if info.file_size > MAX_XLSX_PART or total > MAX_XLSX_TOTAL:
                size, limit = (info.file_size, MAX_XLSX_PART)
                if info.file_size <= MAX_XLSX_PART:
                    part, size, limit = "*", total, MAX_XLSX_TOTAL
                raise VisitlogError(
                    t(
                        "roster.err_xlsx_bomb",
                        path=path.name,
                        part=part,
                        size=size >> 20,
                        limit=limit >> 20,
                    )
                )
            ratio = info.file_size // max(info.compress_size, 1)
            if info.file_size > XLSX_RATIO_FLOOR and ratio > MAX_XLSX_RATIO:
                raise VisitlogError(
                    t(
                        "roster.err_xlsx_ratio",
                        path=path.name,
                        part=part,
                        ratio=ratio,
                        limit=MAX_XLSX_RATIO,
                    )
                )
    data.seek(0)


def _first_rows(wb: Any, ws: Any, path: Path) -> list[RawRow]:
    """The rows among the first :data:`HEADER_SCAN_ROWS` of a sheet, merged cells filled."""
    rows = _xlsx_rows(wb, ws, _merged_ranges(wb, ws, path), path, HEADER_SCAN_ROWS)
    return list(rows)


def _closing(rows: Iterator[RawRow], wb: Any) -> Iterator[RawRow]:
    """Yield *rows*, then close the workbook (also when the reader stops early)."""
    try:
        yield from rows
    finally:
        with contextlib.suppress(Exception):
            wb.close()


def _merged_ranges(wb: Any, ws: Any, path: Path) -> list[tuple[int, int, int, int]]:
    """Merged ranges of *ws* as (min_row, min_col, max_row, max_col).

    Read-only worksheets do not expose ``merged_cells``, so the ``<mergeCell>``
    elements are found in the sheet's XML directly (they follow the cell data);
    if openpyxl's internals ever change, a full load gives the same answer,
    only slower.
    """
    archive = getattr(wb, "_archive", None)
    member = getattr(ws, "_worksheet_path", None)
    ranges: list[tuple[int, int, int, int]] = []
    if archive is None or member is None:
        import openpyxl

        full = openpyxl.load_workbook(io.BytesIO(_read_bytes(path)), data_only=True)
        for cr in full[ws.title].merged_cells.ranges:
            ranges.append((cr.min_row, cr.min_col, cr.max_row, cr.max_col))
        return ranges
    with archive.open(member) as fh:
        tail = b""
        while chunk := fh.read(MERGE_SCAN_CHUNK):
            buf = tail + chunk
            last = 0
            for m in _MERGE_CELL.finditer(buf):
                r1, c1 = _split_ref(m.group(1))
                r2, c2 = _split_ref(m.group(2))
                ranges.append((min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)))
                last = m.end()
            # keep an unfinished element for the next chunk
            tail = buf[max(last, len(buf) - 200) :]
    return sorted(set(ranges))


def _xlsx_rows(
    wb: Any,
    ws: Any,
    merged: list[tuple[int, int, int, int]],
    path: Path,
    limit: int | None = None,
) -> Iterator[RawRow]:
    """Rows as text (the first *limit* only, if given), vertically merged cells filled down.

    A merged range's value is copied into every row of the range in the
    range's first column (how a 居民区 written once for a block reads); the
    other columns of a wide range stay empty, as Excel shows them.  ``blank``
    is decided on the row's own cells, so a merged block reaching past the
    data does not turn empty rows into households.
    """
    starts: dict[int, list[tuple[int, int]]] = {}
    for min_row, min_col, max_row, _max_col in merged:
        if max_row > min_row:
            starts.setdefault(min_row, []).append((min_col - 1, max_row))
    active: dict[int, tuple[str, int]] = {}
    try:
        for line, values in enumerate(ws.iter_rows(max_row=limit, values_only=True), start=1):
            cells = [cell_text(v) for v in values]
            blank = not any(c.strip() for c in cells)
            for col, max_row in starts.get(line, ()):
                active[col] = (cells[col] if col < len(cells) else "", max_row)
            if active:
                for col, (value, max_row) in list(active.items()):
                    if line > max_row:
                        del active[col]
                        continue
                    if col >= len(cells):
                        cells.extend([""] * (col + 1 - len(cells)))
                    if not cells[col].strip():
                        cells[col] = value
            yield line, cells, blank
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise VisitlogError(t("roster.err_bad_xlsx", path=path.name, detail=exc)) from None
