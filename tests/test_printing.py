"""Paper as people print it: workbooks through LibreOffice, the report through Chromium.

These tests run the real programs where they are installed (each is skipped
where its program is missing) and read the PDF back with poppler's
``pdfinfo`` / ``pdftotext``; the workbook is also read with python-calamine,
a reader that is not openpyxl.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from visitlog.model import Household
from visitlog.plan import make_plan
from visitlog.render import render_html, render_xlsx
from visitlog.render.html import MAX_ADDR_EM, text_em
from visitlog.render.route import render_route_xlsx
from visitlog.roster import HEADERS, export_roster
from visitlog.store import Store
from visitlog.summary import compute_summary

DEMO_TODAY = dt.date(2026, 11, 27)
POPPLER = shutil.which("pdfinfo") is not None and shutil.which("pdftotext") is not None
#: LibreOffice's program, by either of the names Debian and others install it under.
OFFICE = shutil.which("libreoffice") or shutil.which("soffice")
needs_libreoffice = pytest.mark.skipif(
    OFFICE is None or not POPPLER,
    reason="LibreOffice and poppler-utils (pdfinfo, pdftotext) are not installed",
)
needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None or not POPPLER,
    reason="Chromium and poppler-utils (pdfinfo, pdftotext) are not installed",
)
HOSTILE = '=HYPERLINK("http://evil.example","点我")'


# -- reading PDFs ----------------------------------------------------------------------------


def pdf_pages(pdf: Path) -> list[tuple[float, float]]:
    """(width, height) in points of every page."""
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    count = int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))
    sizes = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", str(count), str(pdf)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pages = [
        (float(w), float(h))
        for w, h in re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", sizes, re.M)
    ]
    assert len(pages) == count
    return pages


def pdf_texts(pdf: Path, layout: bool = False) -> list[str]:
    """The text of every page (pdftotext separates pages with a form feed)."""
    args = ["pdftotext", *(["-layout"] if layout else []), str(pdf), "-"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return out.split("\f")[: len(pdf_pages(pdf))]


def squeeze(text: str) -> str:
    """Text without spaces and line breaks (PDF text comes with its own spacing)."""
    return re.sub(r"\s+", "", text)


# -- LibreOffice -------------------------------------------------------------------------------


def to_pdf(path: Path, tmp_path: Path) -> Path:
    """Convert a workbook to PDF with LibreOffice, as "print to PDF" of every sheet does."""
    # A profile of its own: two conversions at once (pytest -n 2) would
    # otherwise hand their work to one another's office process.
    profile = (tmp_path / "lo-profile").as_uri()
    assert OFFICE is not None
    subprocess.run(
        [
            OFFICE,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path / "pdf"),
            str(path),
        ],
        capture_output=True,
        check=True,
        timeout=300,
    )
    pdf = tmp_path / "pdf" / (path.stem + ".pdf")
    assert pdf.exists(), "LibreOffice wrote no PDF"
    return pdf


@pytest.fixture
def year(demo_store: Store):
    return compute_summary(
        demo_store, date_from="2026-01-01", date_to="2026-11-27", today=DEMO_TODAY, details=True
    )


def _sheet_of(page: str, titles: list[str]) -> str:
    """The sheet a printed page belongs to, from its page header (四百走访汇总 · <sheet>)."""
    found = [t for t in titles if f"四百走访汇总·{t}" in squeeze(page)]
    assert len(found) == 1, page[:200]
    return found[0]


@needs_libreoffice
def test_summary_workbook_prints_landscape_every_sheet_one_page_wide(year, tmp_path: Path):
    from openpyxl import load_workbook

    path = tmp_path / "汇总.xlsx"
    path.write_bytes(render_xlsx(year))
    wb = load_workbook(path)
    # The last column's header, line by line (long headers are printed on two).
    last_header = {ws.title: str(ws.cell(1, ws.max_column).value).split("\n") for ws in wb}
    pdf = to_pdf(path, tmp_path)
    sizes = pdf_pages(pdf)
    assert all(w > h for w, h in sizes), "every page is landscape"
    texts = pdf_texts(pdf, layout=True)
    per_sheet: dict[str, list[str]] = {}
    for text in texts:
        per_sheet.setdefault(_sheet_of(text, wb.sheetnames), []).append(text)
    assert list(per_sheet) == wb.sheetnames  # every sheet printed, in order
    for sheet, pages in per_sheet.items():
        for n, text in enumerate(pages, start=1):
            flat = squeeze(text)
            # One page wide: the last column (its header repeated on every
            # page) is on every page of the sheet; and the footer counts pages.
            assert all(line in flat for line in last_header[sheet]), (sheet, n)
            assert re.search(r"第\d+页共\d+页", flat), (sheet, n)
            assert "统计期2026-01-01至2026-11-27" in flat
    # The meeting sheet is one page: every grid, the total and the last column.
    meeting = squeeze(per_sheet["微网格"][0])
    assert len(per_sheet["微网格"]) == 1
    for g in year.groups:
        assert g.name in meeting
    assert "合计" in meeting and "满意率" in meeting
    assert len(texts) <= 30, f"{len(texts)} pages for a 200-household street"


@needs_libreoffice
def test_roster_export_prints_landscape_with_its_header_on_every_page(
    demo_store: Store, tmp_path: Path
):
    path = tmp_path / "名册.xlsx"
    count = export_roster(demo_store, path)
    pdf = to_pdf(path, tmp_path)
    sizes = pdf_pages(pdf)
    assert all(w > h for w, h in sizes), "every page is landscape"
    texts = pdf_texts(pdf, layout=True)
    header = squeeze("".join(HEADERS.values()))
    for n, text in enumerate(texts, start=1):
        flat = squeeze(text)
        # Every column, 备注 the last, on every page: one page wide, header repeated.
        assert header in flat, n
        assert f"第{n}页共{len(texts)}页" in flat
        assert "住户名册" in flat
    # Four columns on 132 portrait pages was the old print of 2,000 households;
    # now a page holds every column of 20 and more households.
    assert len(texts) <= count // 20 + 1, len(texts)


@needs_libreoffice
def test_route_workbook_prints_landscape_near_full_size(demo_store: Store, tmp_path: Path):
    from openpyxl import load_workbook

    plan = make_plan(demo_store, until="2026-12-31", today=DEMO_TODAY)
    assert len(plan.entries) > 40
    path = tmp_path / "路线.xlsx"
    path.write_bytes(render_route_xlsx(plan))
    pdf = to_pdf(path, tmp_path)
    sizes = pdf_pages(pdf)
    assert all(w > h for w, h in sizes), "every page is landscape"
    texts = pdf_texts(pdf, layout=True)
    for n, text in enumerate(texts, start=1):
        flat = squeeze(text)
        # One page wide (备注, the last column, on every page) and the page
        # header says whose list, up to when and the day it was made.
        assert "原因" in flat and "备注" in flat, n
        assert "走访路线单" in flat and f"截至{plan.until}" in flat, n
        assert f"{DEMO_TODAY}制表" in flat, n
        assert re.search(r"第\d+页共\d+页", flat), n
    # Near full size: the columns add up to what a landscape page holds at
    # about 80 % and more (portrait it printed at under half size, 60 rows a page).
    ws = load_workbook(path).active
    total = sum(ws.column_dimensions[c].width for c in "ABCDEFGHIJ")
    assert total <= 190, total
    rows_per_page = len(plan.entries) / len(texts)
    assert 12 <= rows_per_page <= 30, rows_per_page


# -- Chromium ----------------------------------------------------------------------------------


def print_html(html_path: Path, tmp_path: Path) -> Path:
    pdf = tmp_path / (html_path.stem + ".pdf")
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium'}",
            f"--print-to-pdf={pdf}",
            html_path.as_uri(),
        ],
        capture_output=True,
        check=True,
        timeout=300,
    )
    assert pdf.exists(), "Chromium wrote no PDF"
    return pdf


@needs_chromium
def test_html_report_prints_chinese_and_names_the_grid_on_every_page(
    demo_store: Store, tmp_path: Path
):
    # A month in which most households are still due: lists run over pages.
    summary = compute_summary(
        demo_store, date_from="2026-10-01", date_to="2026-11-27", today=DEMO_TODAY, details=True
    )
    for r in summary.overdue_list[::3]:
        r["description"] = (
            "楼道灯坏了很久，居民反映晚上上下楼不安全，已多次联系物业，希望尽快解决" * 2
        )
        r["owner"] = "王丽华、陈静（物业对接）"
    path = tmp_path / "周报.html"
    path.write_text(render_html(summary), encoding="utf-8")
    pdf = print_html(path, tmp_path)
    assert all(h > w for w, h in pdf_pages(pdf)), "A4 portrait"
    texts = pdf_texts(pdf)
    flat = [squeeze(x) for x in texts]
    # The Chinese text is there as text (no boxes): title, period, headings.
    assert "曹杨" in flat[0] and "四百走访汇总" in flat[0] and "走访覆盖率" in flat[0]
    labels = [f"{g.name}·{g.community}" for g in summary.groups]
    first = {label: next(i for i, x in enumerate(flat) if label in x) for label in labels}
    assert list(first.values()) == sorted(first.values())
    continued = 0
    for i in range(first[labels[0]], len(flat)):
        mine = [label for label in labels if label in flat[i]]
        # Every page of a grid, the first and every continuation, names it.
        assert len(mine) == 1, (i, flat[i][:120])
        own_start = first[mine[0]]
        continued += i > own_start
        assert "第" in flat[i] and f"共{len(texts)}页" in flat[i]
    assert continued >= 2, "the lists should run over at least two continuation pages"
    layout = "\n".join(pdf_texts(pdf, layout=True))
    # Dates, statuses, categories and names are never split over two lines.
    for r in summary.overdue_list:
        for value in (r["deadline"].isoformat(), r["status"], r["category"], r["kind"]):
            assert value in layout, value
    for r in summary.still_due_list:
        if r["last_visit"]:
            assert r["last_visit"].isoformat() in layout
    assert "王丽华、陈静" in layout or "王丽华、" in layout
    # An address of usual length is on one line of the overdue list.
    short = [r["address"] for r in summary.overdue_list if text_em(r["address"]) < MAX_ADDR_EM]
    assert short and all(a in layout for a in short), [a for a in short if a not in layout]
    # A list's heading is never left alone at the foot of a page: after the
    # last column header printed on a page comes at least one row.
    for i, text in enumerate(texts):
        if "办理期限" in text:
            tail = text.rsplit("办理期限", 1)[1]
            assert re.search(r"\d{4}-\d{2}-\d{2}", tail), i
        if "最近一次上门" in text:
            tail = text.rsplit("最近一次上门", 1)[1]
            assert re.search("未走访|不在家|拒访|已搬离", tail), i


@pytest.mark.slow
@needs_chromium
def test_html_overview_tables_move_whole_and_carry_their_title(tmp_path: Path):
    from visitlog.demo import generate_into

    # A street of 2,000 households: eight grids, an overview over two pages.
    store = Store(tmp_path / "street.db")
    store.init_identity("王丽华", "laptop-1", "曹杨一村1号网格")
    generate_into(store, households=2000, seed=3, today=DEMO_TODAY)
    summary = compute_summary(
        store, date_from="2026-01-01", date_to="2026-11-27", today=DEMO_TODAY, details=True
    )
    store.close()
    path = tmp_path / "周报.html"
    path.write_text(render_html(summary), encoding="utf-8")
    pdf = print_html(path, tmp_path)
    flat = [squeeze(x) for x in pdf_texts(pdf)]
    overview = [x for x in flat if not any(f"{g.name}·" in x for g in summary.groups)]
    assert len(overview) >= 2, "the overview should run over two pages"
    from visitlog.render.common import views

    for title, cols in views():
        # The title, then the head's first column (the title is printed once,
        # on the page that holds the whole table).
        head = squeeze(title) + "微网格"
        pages = [i for i, x in enumerate(overview) if head in x]
        assert len(pages) == 1, (title, pages)
        tail = overview[pages[0]].split(head, 1)[1]
        # All of it below: the last column, every grid and the total.
        assert squeeze(cols[-1].label) in tail, title
        for g in summary.groups:
            assert g.name in tail, (title, g.name)
        assert "合计" in tail, title


# -- a second reader ---------------------------------------------------------------------------


def test_workbooks_read_by_calamine_hold_dates_numbers_and_no_formulas(
    year, demo_store: Store, tmp_path: Path
):
    from python_calamine import CalamineWorkbook

    for g in year.base:
        if g.name == year.groups[0].name:
            g.name = HOSTILE
    year.groups = year.at("micro-grid").groups
    path = tmp_path / "汇总.xlsx"
    path.write_bytes(render_xlsx(year))
    wb = CalamineWorkbook.from_path(str(path))
    meeting = wb.get_sheet_by_name("微网格").to_python()
    # A formula would come back empty (it has no cached value): it is the text.
    assert meeting[1][0] == HOSTILE
    assert all(isinstance(v, int | float) for v in meeting[1][2:])
    due = wb.get_sheet_by_name("未访住户").to_python()
    last_visits = [row[7] for row in due[1:] if row[7] != ""]
    assert last_visits and all(type(v) is dt.date for v in last_visits)
    late = wb.get_sheet_by_name("超期条目").to_python()
    assert late[1:] and all(type(row[8]) is dt.date for row in late[1:])
    assert all(isinstance(row[9], int | float) for row in late[1:])
    notes = {row[0]: row[1] for row in wb.get_sheet_by_name("说明").to_python()}
    assert notes["统计期起"] == dt.date(2026, 1, 1)

    roster = tmp_path / "名册.xlsx"
    demo_store.add_household(
        Household(address=HOSTILE, micro_grid="@网格", head="+张三", note="-1", members=3)
    )
    export_roster(demo_store, roster)
    rows = CalamineWorkbook.from_path(str(roster)).get_sheet_by_name("住户名册").to_python()
    mine = next(r for r in rows if r[4] == HOSTILE)
    assert (mine[2], mine[5], mine[10], mine[7]) == ("@网格", "+张三", "-1", 3)

    route = tmp_path / "路线.xlsx"
    plan = make_plan(demo_store, until="2026-12-31", today=DEMO_TODAY)
    route.write_bytes(render_route_xlsx(plan))
    sheet = CalamineWorkbook.from_path(str(route))
    rows = sheet.get_sheet_by_name(sheet.sheet_names[0]).to_python()
    assert rows[0][6] == "应访\n日期"
    entries = [r for r in rows[1:] if r[6] != ""]
    assert len(entries) == len(plan.entries)
    assert all(type(r[6]) is dt.date for r in entries)
    assert all(isinstance(r[7], int | float) for r in entries)
