"""The one rule for spreadsheet cells: formulas never run, text comes back as it was."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from visitlog.roster.spreadsheet import (
    FORMULA_START,
    PageHeader,
    csv_cell,
    fit_widths,
    header_lines,
    header_text,
    needs_wrap,
    neutralise,
    print_setup,
    put,
    restore,
    wrapped_height,
    xml_text,
)

HOSTILE = [
    '=HYPERLINK("http://evil.example","点我")',
    "=cmd|' /C calc'!A0",
    "+8613812345678",
    "-1+2",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+86 138", "'+86 138"),
        ("-", "'-"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        # A value that really begins with quotes before a formula character
        # gets one more, so that reading takes exactly one off again.
        ("'=x", "''=x"),
        ("''+x", "'''+x"),
        # A quote before anything else is data, both ways.
        ("'0123", "'0123"),
        ("'", "'"),
        ("''", "''"),
        ("", ""),
        ("曹杨一村1号", "曹杨一村1号"),
        ("a=b", "a=b"),
        (" =x", " =x"),
    ],
)
def test_csv_rule_table(value, written):
    assert neutralise(value) == written
    assert restore(written) == value


@given(st.text())
def test_every_text_survives_the_csv_rule(text):
    assert restore(neutralise(text)) == text


@given(st.text())
def test_no_neutralised_cell_begins_with_a_formula_character(text):
    assert neutralise(text)[:1] not in FORMULA_START


def test_numbers_and_dates_are_not_text_to_neutralise():
    assert csv_cell(-3) == -3
    assert csv_cell(0.25) == 0.25
    assert csv_cell(None) == ""
    assert csv_cell(dt.date(2026, 3, 1)) == "2026-03-01"
    assert csv_cell("-3") == "'-3"  # text that looks like a number is still text


def test_characters_xml_cannot_hold_become_visible():
    assert xml_text("\x1b[2J曹杨\x00\x07") == "␛[2J曹杨␀␇"
    assert xml_text("a\tb\nc\rd") == "a\tb\nc\rd"  # allowed in XML: kept
    assert xml_text("x\ufffey") == "x\ufffdy"


def _sheet_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return "".join(
            z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/")
        )


def test_put_writes_text_cells_never_formulas_and_dates_as_dates():
    wb = openpyxl.Workbook()
    ws = wb.active
    # (A carriage return is left out: XML readers turn it into a line feed.)
    values = [*(v for v in HOSTILE if "\r" not in v), "#N/A", "'=x", "\x1b]0;title\x07", "普通文字"]
    for row, value in enumerate(values, start=1):
        put(ws.cell(row=row, column=1), value)
    put(ws.cell(row=1, column=2), dt.date(2026, 10, 9))
    put(ws.cell(row=2, column=2), 0.853, "0.0%")
    put(ws.cell(row=3, column=2), 42)
    buf = io.BytesIO()
    wb.save(buf)
    xml = _sheet_xml(buf.getvalue())
    assert "<f>" not in xml and "<f " not in xml
    back = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))
    ws = back.active
    got = [ws.cell(row=r, column=1).value for r in range(1, len(values) + 1)]
    assert got[:-2] == values[:-2]
    assert got[-2] == "␛]0;title␇"
    assert all(ws.cell(row=r, column=1).data_type == "s" for r in range(1, len(values) + 1))
    # Formula-like text is marked as typed text, so editing it keeps it text.
    assert ws.cell(row=1, column=1).quotePrefix
    assert not ws.cell(row=len(values), column=1).quotePrefix
    assert ws["B1"].is_date and ws["B1"].number_format == "yyyy-mm-dd"
    assert ws["B1"].value.date() == dt.date(2026, 10, 9)
    assert ws["B2"].value == pytest.approx(0.853) and ws["B2"].number_format == "0.0%"
    assert ws["B3"].value == 42 and ws["B3"].data_type == "n"


def test_widths_count_two_per_cjk_character_and_headers_break_where_split():
    widths = fit_widths(
        ["地址", "走访覆盖率", "n"],
        [["曹杨一村12号301室", 0.853, 3], ["x" * 80, 0.1, 12345]],
        formats=[None, "0.0%", None],
        caps={0: 30},
    )
    assert widths[0] == 30  # capped: the long one wraps there
    assert widths[1] == 8  # 走访 / 覆盖率 on two lines: 6 units and a margin
    assert widths[2] == 8  # 12345 and a margin
    # 6 CJK characters (12 units) and 5 digits, a CJK glyph a little over 2 units.
    assert fit_widths(["地址"], [["曹杨一村12号301室"]])[0] == 19 + 2
    assert header_lines("应访户数") == ["应访", "户数"]
    assert header_lines("办结率") == ["办结率"]
    assert header_lines("方式·楼组活动") == ["方式·", "楼组活动"]  # after the separator
    assert header_lines("Households due") == ["Households", "due"]
    assert header_lines("Micro-grid") == ["Micro-grid"]  # no break inside a word
    assert header_text("走访覆盖率") == "走访\n覆盖率"  # the break written in


def test_wrapped_text_gets_a_row_tall_enough():
    assert not needs_wrap("曹杨一村", 12)
    assert needs_wrap("曹杨一村" * 10, 30) and needs_wrap("两行\n备注", 30)
    one = wrapped_height("a", 30)
    assert wrapped_height("曹杨一村" * 10, 30) == pytest.approx(3 * (one - 2) + 2)
    assert wrapped_height("两行\n备注", 30) == pytest.approx(2 * (one - 2) + 2)


def test_print_setup_gives_every_part_of_the_printed_page():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["a", "b"])
    print_setup(
        ws, PageHeader("曹杨一村1号网格 & 2号", "四百走访汇总", "统计期 2026-01-01 至 2026-10-31")
    )
    buf = io.BytesIO()
    wb.save(buf)
    ws = openpyxl.load_workbook(io.BytesIO(buf.getvalue())).active
    assert ws.page_setup.orientation == "landscape"
    assert ws.page_setup.paperSize == 9  # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
    assert ws.print_title_rows == "$1:$1"
    assert ws.print_options.gridLines
    assert ws.oddHeader.left.text == "曹杨一村1号网格 && 2号"  # a literal & is doubled
    assert ws.oddHeader.center.text == "四百走访汇总"
    assert ws.oddHeader.right.text.endswith("2026-10-31")
    assert ws.oddFooter.center.text == "第 &P 页 共 &N 页"
    assert ws.freeze_panes == "A2"


def test_widths_are_measured_over_the_whole_list_not_its_first_rows():
    rows = [["一村"]] * 5000 + [["曹杨新村街道花溪园居民区"]] * 5  # the last 居民区, longest
    assert fit_widths(["居民区"], rows)[0] >= 2 * 12
