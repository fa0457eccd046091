"""Every output format parsed back: values, layout, and no unmasked personal data."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from openpyxl import load_workbook
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from visitlog.demo import WORKER_NAMES
from visitlog.i18n import set_lang, t
from visitlog.privacy import mask_name, mask_phone
from visitlog.render import render_csv, render_html, render_md, render_table, render_xlsx
from visitlog.render.common import flat_columns
from visitlog.store import Store
from visitlog.summary import compute_summary

FROM, TO = dt.date(2026, 1, 1), dt.date(2026, 10, 31)
#: The demo street's "today" (as in conftest.py).
DEMO_TODAY = dt.date(2026, 11, 27)
PERIOD = ("--from", FROM.isoformat(), "--to", TO.isoformat())


@pytest.fixture
def summary(demo_store: Store):
    return compute_summary(demo_store, date_from=FROM, date_to=TO, today=DEMO_TODAY, details=True)


# -- personal data ---------------------------------------------------------------------


def personal_data(store: Store) -> tuple[list[str], list[str]]:
    """Heads and phones of the demo street that must never appear unmasked.

    Heads that also occur in text that is not personal (a worker's name, an
    address, a description) are left out, or the check would fail on them.
    """
    rows = store.query("SELECT head, phone FROM households")
    public = " ".join(
        [
            *WORKER_NAMES,
            *(r["address"] for r in store.query("SELECT address FROM households")),
            *(r["description"] for r in store.query("SELECT description FROM items")),
            *(r["micro_grid"] for r in store.query("SELECT micro_grid FROM households")),
        ]
    )
    heads = sorted({r["head"] for r in rows if r["head"] and r["head"] not in public})
    phones = sorted({r["phone"] for r in rows if r["phone"]})
    assert len(heads) > 100 and len(phones) > 100  # the check below means something
    return heads, phones


def assert_masked(text: str, store: Store) -> None:
    heads, phones = personal_data(store)
    leaked = [h for h in heads if h in text] + [p for p in phones if p in text]
    assert not leaked, leaked[:5]


# -- terminal table ----------------------------------------------------------------------


def _table_text(summary, width: int = 80) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(render_table(summary))
    return console.export_text()


@pytest.mark.parametrize("level", ["micro-grid", "community", "street"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_table_fits_80_columns(summary, level, lang):
    set_lang(lang)
    text = _table_text(summary.at(level))
    lines = text.splitlines()
    assert len(lines) > 10
    too_wide = [line for line in lines if cell_len(line) > 80]
    assert not too_wide, too_wide[:3]


def test_table_cells_match_an_independent_count(summary, demo_store: Store):
    """The row of one grid shows figures counted here from the household and visit lists."""
    grid = demo_store.list_households()[0].micro_grid
    households = demo_store.list_households(grid=grid)
    visits = demo_store.list_visits(grid=grid, date_from=FROM.isoformat(), date_to=TO.isoformat())
    due = [h for h in households if h.occupancy != "空置"]
    met = {v.household_id for v in visits if v.outcome == "见面"}
    visited = [h for h in due if h.id in met]
    key_due = [h for h in due if h.tags]
    key_met = [h for h in key_due if h.id in met]
    expected = [
        grid,
        str(len(due)),
        str(len(visited)),
        f"{len(visited) / len(due) * 100:.1f}%",
        str(len(due) - len(visited)),
        str(len(visits)),
        str(len({v.visitor for v in visits})),
        f"{len(key_met) / len(key_due) * 100:.1f}%",
    ]
    text = _table_text(summary, width=120)
    row = next(line.split() for line in text.splitlines() if line.split()[:1] == [grid])
    assert row == expected


def test_table_colours_coverage_by_threshold(summary):
    tables = [r for r in render_table(summary).renderables if isinstance(r, Table)]
    visits_table = tables[0]
    coverage_cells = visits_table.columns[3]._cells
    assert coverage_cells, "no coverage column"
    for cell in coverage_cells:
        text = cell.plain
        if not text.endswith("%"):
            continue
        value = float(text[:-1]) / 100
        colour = "green" if value >= 0.9 else "yellow" if value >= 0.6 else "red"
        assert colour in str(cell.style), (text, cell.style)


# -- CSV ---------------------------------------------------------------------------------


def test_csv_has_a_bom_and_parses_back(summary, demo_store: Store):
    data = render_csv(summary)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["微网格", "居民区", "应访户数"]
    groups = summary.to_json()["groups"]
    assert len(body) == len(groups) + 1 and body[-1][0] == "合计"
    col = {name: i for i, name in enumerate(header)}
    for row, g in zip(body, groups, strict=False):
        assert row[0] == g["micro_grid"] and row[1] == g["community"]
        assert int(row[col["应访户数"]]) == g["households"]
        assert int(row[col["已访户数"]]) == g["visited_households"]
        assert row[col["走访覆盖率"]] == f"{g['coverage'] * 100:.1f}%"
        assert int(row[col["问题清单"]]) == g["items"]["问题"]
        assert int(row[col["超期未办"]]) == g["overdue_items"]
    totals = summary.to_json()["totals"]
    assert int(body[-1][col["走访次数"]]) == totals["visits"]
    assert_masked(data.decode("utf-8-sig"), demo_store)


# -- Markdown ----------------------------------------------------------------------------


def test_markdown_tables_parse_back(summary, demo_store: Store):
    text = render_md(summary)
    assert text.startswith("# ")
    rows = [
        [c.strip() for c in line.strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|")
    ]
    header = rows[0]
    assert header[:3] == ["微网格", "应访", "已访"]
    totals = summary.to_json()["totals"]
    total_row = next(r for r in rows if r[0] == "**合计**")
    assert total_row[1] == f"**{totals['households']}**"
    assert total_row[3] == f"**{totals['coverage'] * 100:.1f}%**"
    assert_masked(text, demo_store)


# -- XLSX --------------------------------------------------------------------------------


SHEETS = [
    "微网格",
    "居民区",
    "街道",
    "走访明细",
    "走访方式",
    "清单类别",
    "办理情况",
    "重点人群",
    "未访住户",
    "超期条目",
    "说明",
]
MEETING = [
    "微网格",
    "居民区",
    "应访户数",
    "已访户数",
    "走访覆盖率",
    "未访户数",
    "重点户走访率",
    "走访次数",
    "问题清单",
    "需求清单",
    "赋能清单",
    "措施清单",
    "未办结",
    "超期未办",
    "办结率",
    "按时办结率",
    "满意率",
]


def _header(ws) -> list[str]:
    """A sheet's header row as labels (the line breaks written into long ones removed)."""
    return [str(c.value).replace("\n", "") for c in ws[1]]


def test_xlsx_meeting_sheet_has_the_committees_columns_as_numbers(summary, demo_store: Store):
    wb = load_workbook(io.BytesIO(render_xlsx(summary)))
    assert wb.sheetnames == SHEETS
    ws = wb["微网格"]
    assert _header(ws) == MEETING
    assert ws.freeze_panes == "B2"
    assert ws["A1"].font.b and ws["A1"].fill.fgColor.rgb.endswith("DDEBF7")
    groups = summary.to_json()["groups"]
    col = {h: i + 1 for i, h in enumerate(MEETING)}
    for n, g in enumerate(groups, start=2):
        assert ws.cell(n, 1).value == g["micro_grid"]
        assert ws.cell(n, col["应访户数"]).value == g["households"]
        assert ws.cell(n, col["问题清单"]).value == g["items"]["问题"]
        assert ws.cell(n, col["超期未办"]).value == g["overdue_items"]
        for label, key in (("走访覆盖率", "coverage"), ("满意率", "satisfaction_rate")):
            cell = ws.cell(n, col[label])
            assert cell.value == pytest.approx(g[key])
            assert cell.number_format == "0.0%"
    total_row = len(groups) + 2
    assert ws.cell(total_row, 1).value == "合计" and ws.cell(total_row, 3).font.b
    # Widths fit the longest Chinese text of the column (2 units per character).
    longest = max(cell_len(str(ws.cell(r, 1).value)) for r in range(2, total_row + 1))
    assert ws.column_dimensions["A"].width >= longest
    assert wb["街道"].cell(2, 2).value == summary.to_json()["totals"]["households"]


def test_xlsx_detail_sheets_hold_every_other_figure(summary):
    """Every column of the CSV is in the workbook, with the same value, for a grid and the total."""
    wb = load_workbook(io.BytesIO(render_xlsx(summary)))
    data = summary.to_json()
    checked = 0
    for g, key in ((data["groups"][0], data["groups"][0]["micro_grid"]), (data["totals"], "合计")):
        found: dict[str, object] = {}
        for name in ("微网格", "走访明细", "走访方式", "清单类别", "办理情况"):
            ws = wb[name]
            row = next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == key)
            found.update(zip(_header(ws), row, strict=True))
        tags = [r for r in wb["重点人群"].iter_rows(min_row=2, values_only=True) if r[0] == key]
        for c in flat_columns():
            value = c.value(g)
            if c.path[0] == "key_groups":
                tag, what = c.path[1], c.path[2]
                if g["key_groups"][tag]["households"] == 0:
                    assert not [r for r in tags if r[2] == tag]
                    continue
                row = next(r for r in tags if r[2] == tag)
                assert row[3 if what == "households" else 4] == value, c.label
            elif c.path[0] in ("key_households", "key_visited"):
                row = next(r for r in tags if r[2] == "全部重点户")
                assert row[3 if c.path[0] == "key_households" else 4] == value
            else:
                label = c.label.removeprefix("类别·")
                assert label in found, label
                assert found[label] == (pytest.approx(value) if value is not None else None), label
            checked += 1
    assert checked > 100


def test_xlsx_lists_hold_dates_and_numbers_masked(summary, demo_store: Store):
    wb = load_workbook(io.BytesIO(render_xlsx(summary)))
    due = wb["未访住户"]
    assert _header(due)[-1] == "最近一次上门"
    rows = list(due.iter_rows(min_row=2))
    assert len(rows) == summary.totals.still_due
    heads = {r["head"] for r in summary.still_due_list}
    phones = {r["phone"] for r in summary.still_due_list if r["phone"]}
    assert {r[3].value for r in rows} == {mask_name(h) for h in heads}
    assert {r[4].value for r in rows if r[4].value} == {mask_phone(p) for p in phones}
    # Key groups are a count, a number; the last attempt a real date.
    counts = [r[5].value for r in rows if r[5].value is not None]
    assert counts and all(isinstance(v, int) and v > 0 for v in counts)
    dated = [r[7] for r in rows if r[7].value is not None]
    assert dated and all(c.is_date and c.number_format == "yyyy-mm-dd" for c in dated)
    expected = {r["last_visit"] for r in summary.still_due_list if r["last_visit"]}
    assert {c.value.date() for c in dated} == expected
    late = wb["超期条目"]
    assert _header(late)[8:] == ["办理期限", "超期天数"]
    rows = list(late.iter_rows(min_row=2))
    assert len(rows) == len(summary.overdue_list)
    assert all(r[8].is_date for r in rows)
    assert all(isinstance(r[9].value, int) for r in rows)
    for row, item in zip(rows, summary.overdue_list, strict=True):
        assert row[8].value.date() == item["deadline"]
        assert (item["deadline"] - summary.overdue_cutoff).days == -row[9].value
    notes = {r[0]: r[1] for r in wb["说明"].iter_rows(min_row=2, values_only=True)}
    assert notes["统计期起"].date() == FROM and notes["统计期止"].date() == TO
    text = "\n".join(
        str(v) for sheet in wb for row in sheet.iter_rows(values_only=True) for v in row if v
    )
    assert_masked(text, demo_store)


def test_xlsx_every_sheet_prints_landscape_one_page_wide(summary):
    wb = load_workbook(io.BytesIO(render_xlsx(summary)))
    for ws in wb:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.page_setup.paperSize == 9
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
        assert ws.print_title_rows == "$1:$1"
        assert ws.oddHeader.left.text == summary.street
        assert ws.oddHeader.center.text == f"四百走访汇总 · {ws.title}"
        assert ws.oddHeader.right.text == "统计期 2026-01-01 至 2026-10-31"
        assert ws.oddFooter.center.text == "第 &P 页 共 &N 页"
    # A grid's own summary names the grid (and its 居民区) on every page.
    grid = summary.to_json()["groups"][0]
    one = summary.at("micro-grid")
    one.grid = grid["micro_grid"]
    ws = load_workbook(io.BytesIO(render_xlsx(one, reveal=True)))["未访住户"]
    assert ws.oddHeader.left.text == f"{grid['community']} {grid['micro_grid']} 内部资料 注意保密"


def test_xlsx_and_csv_neutralise_formulas_from_the_data(summary):
    """A grid named like a formula stays text: never a live formula, in XLSX or CSV."""
    hostile = '=HYPERLINK("http://evil.example","点我")'
    for g in summary.base:
        if g.name == summary.groups[0].name:
            g.name = hostile
            g.community = "@cmd|' /C calc'!A0"
    summary.groups = summary.at("micro-grid").groups
    for r in summary.still_due_list:
        r["address"] = "-1+1 " + r["address"]
    data = render_xlsx(summary)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = "".join(z.read(n).decode() for n in z.namelist() if "worksheets/sheet" in n)
    assert "<f>" not in xml and "<f " not in xml
    wb = load_workbook(io.BytesIO(data))
    names = [c for c in wb["微网格"]["A"] if c.value == hostile]
    assert names and all(c.data_type == "s" and c.quotePrefix for c in names)
    rows = list(csv.reader(io.StringIO(render_csv(summary).decode("utf-8-sig"), newline="")))
    cells = [c for row in rows for c in row]
    assert "'" + hostile in cells and "'@cmd|' /C calc'!A0" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_xlsx_reveal_shows_full_details(summary):
    wb = load_workbook(io.BytesIO(render_xlsx(summary, reveal=True)))
    rows = list(wb["未访住户"].iter_rows(min_row=2, values_only=True))
    assert {r[3] for r in rows} == {r["head"] or "" for r in summary.still_due_list}
    tagged = [r for r in summary.still_due_list if r["tags"]]
    assert tagged and any("、".join(r["tags"]) in {row[5] for row in rows} for r in tagged)


# -- HTML --------------------------------------------------------------------------------


class _Report(HTMLParser):
    """Collects the text, the tags, and per grid page its headings, list captions and rows.

    A list's heading is the first row of its table head (``tr.cap``), so it is
    counted with the h3 headings; the grid's name beside it is kept apart.
    """

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.style = ""
        self.pages: list[dict] = []
        self._in: list[str] = []
        self._cap = False
        self._span = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in.append(tag)
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "section" and "grid" in classes:
            self.pages.append({"h2": "", "h3": [], "rows": {}, "grid_names": [], "style": a})
        if tag == "tr" and "cap" in classes and self.pages:
            self._cap = True
            self.pages[-1]["h3"].append("")
        elif tag == "tr" and self.pages and self.pages[-1]["h3"] and "tbody" in self._in:
            heading = self.pages[-1]["h3"][-1]
            self.pages[-1]["rows"][heading] = self.pages[-1]["rows"].get(heading, 0) + 1
        if tag == "span" and self._cap:
            self._span = True

    def handle_endtag(self, tag):
        if tag == "tr":
            self._cap = False
        if tag == "span":
            self._span = False
        while self._in and self._in.pop() != tag:
            pass

    def handle_data(self, data):
        self.text.append(data)
        where = self._in[-1] if self._in else ""
        if where == "style":
            self.style += data
        elif self.pages and self._cap:
            page = self.pages[-1]
            if self._span:
                page["grid_names"].append(data)
            else:
                page["h3"][-1] += data
        elif self.pages and where in ("h2", "h3"):
            page = self.pages[-1]
            if where == "h2":
                page["h2"] += data
            else:
                page["h3"].append(data)


def _parse(html_text: str) -> _Report:
    parser = _Report()
    parser.feed(html_text)
    parser.close()
    return parser


def test_html_is_print_ready_without_javascript(summary, demo_store: Store):
    text = render_html(summary)
    report = _parse(text)
    assert "script" not in report.tags
    assert not re.search(r"\son\w+=", text)  # no inline event handlers either
    assert "@page" in report.style and "A4" in report.style
    assert "page-break-after" in report.style
    grids = summary.to_json()["groups"]
    assert [p["h2"] for p in report.pages] == [g["micro_grid"] for g in grids]
    assert report.tags.count("svg") == len(grids) + 1
    for page, g in zip(report.pages, grids, strict=True):
        due_heading = f"未访住户（{g['still_due']}）"
        assert due_heading in page["h3"]
        assert page["rows"].get(due_heading, 0) == g["still_due"]
        late_heading = f"超期条目（{g['overdue_items']}）"
        assert late_heading in page["h3"]
        assert page["rows"].get(late_heading, 0) == g["overdue_items"]
    assert_masked("".join(report.text), demo_store)


def test_html_names_a_cjk_font_for_every_system(summary):
    style = _parse(render_html(summary)).style
    fonts = re.search(r"html \{ font-family: ([^;]+);", style).group(1)
    for font in (
        "Microsoft YaHei",  # Windows
        "SimHei",
        "SimSun",
        "PingFang SC",  # macOS
        "Hiragino Sans GB",
        "STHeiti",
        "Noto Sans CJK SC",  # Linux
        "Noto Serif CJK SC",
        "WenQuanYi Micro Hei",
        "Source Han Sans SC",
    ):
        assert f'"{font}"' in fonts, font
    assert fonts.rstrip().endswith("sans-serif")


def test_html_repeats_the_grid_on_every_page_and_keeps_headings_with_tables(summary):
    report = _parse(render_html(summary))
    grids = summary.to_json()["groups"]
    for n, (page, g) in enumerate(zip(report.pages, grids, strict=True), start=1):
        # Every printed page of the grid is the named page g<n>, whose running
        # header is the grid and its 居民区 ...
        assert page["style"]["style"] == f"page: g{n}"
        rule = re.search(rf"@page g{n} \{{ @top-left \{{ content: \"([^\"]*)\"", report.style)
        assert rule.group(1) == f"{g['micro_grid']} · {g['community']}"
        # ... and each list's caption, repeated with the table head, names it too.
        lists = [h for h in page["h3"] if h.startswith(("未访住户", "超期条目"))]
        tables = sum(1 for h in lists if page["rows"].get(h))
        assert page["grid_names"] == [f"{g['micro_grid']} · {g['community']}"] * tables
    assert "break-after: avoid" in report.style
    assert "thead { display: table-header-group; }" in report.style
    assert '@bottom-center { content: "第 " counter(page) " 页 共 " counter(pages) " 页"' in (
        report.style
    )


def test_html_list_columns_are_never_narrower_than_a_word():
    from visitlog.render.html import MAX_ADDR_EM, OVERDUE_LAYOUT, PAD_EM, column_widths, text_em

    header = ["地址", "清单", "类别", "描述", "状态", "责任人", "办理期限", "超期天数"]
    rows = [
        [
            "曹杨一村12号楼301室",
            "问题",
            "养老助餐助医",
            "很长的描述" * 30,
            "办理中",
            "王丽华",
            "2026-02-17",
            289,
        ],
        [
            "上海市普陀区曹杨新村街道枣阳路100弄12号楼301室",
            "需求",
            "物业",
            "短",
            "待办",
            "王丽华、陈静（物业对接）",
            "2026-10-09",
            5,
        ],
    ]
    widths = column_widths(header, rows, OVERDUE_LAYOUT)
    assert widths[3] is None  # the description takes what is left
    assert widths[2] >= text_em("养老助餐助医")  # a category is never broken
    assert widths[4] >= text_em("办理中")
    assert widths[6] >= text_em("2026-10-09")  # nor a date
    assert widths[7] >= text_em("超期天数")  # nor the header of a short column
    assert widths[5] >= text_em("物业对接）")  # a name breaks only at punctuation
    assert widths[0] >= text_em("曹杨一村12号楼301室")  # a usual address on one line
    assert widths[0] <= MAX_ADDR_EM + PAD_EM  # a long one wraps within a bounded width
    assert sum(w for w in widths if w) < 58.5 - 10  # ≥ 10 em left for the description at 9 pt


def test_html_escapes_names_in_text_and_in_the_style_sheet(summary):
    hostile = 'x</style><script>alert(1)</script>"; } body { display: none'
    for g in summary.base:
        if g.name == summary.groups[0].name:
            g.name = hostile
    summary.groups = summary.at("micro-grid").groups
    text = render_html(summary)
    report = _parse(text)
    assert "script" not in report.tags
    assert "display: none" not in report.style
    assert hostile in "".join(report.text)


def test_html_reveal_shows_heads(summary):
    text = "".join(_parse(render_html(summary, reveal=True)).text)
    heads = [r["head"] for r in summary.still_due_list if r["head"] and len(r["head"]) > 1]
    assert heads and all(h in text for h in heads)


def test_html_coverage_bars_are_proportional(summary):
    text = render_html(summary)
    grid = summary.to_json()["groups"][0]
    # Each bar is drawn over a 410-unit track; the first grid's bar in the overview.
    widths = re.findall(r'<rect x="170" y="5" width="([\d.]+)"', text)
    assert float(widths[1]) == pytest.approx(grid["coverage"] * 410, abs=0.1)


# -- the notes under the tables, in each language --------------------------------------------


#: The labels of the notes, in order: key groups, top categories, modes, why still due,
#: data health, the overdue cut-off.
NOTE_LABELS = {
    "zh": ["重点人群（已访/应访）", "主要类别", "走访方式", "未访原因", "数据状况", "超期"],
    "en": [
        "Key groups (visited/due)",
        "Top categories",
        "Visit modes",
        "Why still due",
        "Data health",
        "Overdue",
    ],
}


def _key_groups_text(summary, sep: str) -> str:
    """The key groups of the totals as the note lists them, counted here from the JSON."""
    groups = summary.to_json()["totals"]["key_groups"]
    return sep.join(
        f"{k} {v['visited']}/{v['households']}" for k, v in groups.items() if v["households"]
    )


@pytest.mark.parametrize(("lang", "colon", "comma"), [("zh", "：", "，"), ("en", ": ", ", ")])
def test_notes_join_labels_and_lists_in_the_languages_punctuation(summary, lang, colon, comma):
    """English notes read "Key groups (visited/due): 独居老人 3/5, …" in every format.

    Chinese ones keep "重点人群（已访/应访）：独居老人 3/5，…"; the workbook puts the
    label and the text in cells of their own in both languages.
    """
    set_lang(lang)
    labels = NOTE_LABELS[lang]
    key_groups = _key_groups_text(summary, comma)
    assert comma in key_groups  # more than one key group: the list separator shows

    table = [
        line.strip()
        for line in _table_text(summary, width=1000).splitlines()
        if line.startswith(tuple(labels))
    ]
    md = [line[2:] for line in render_md(summary).splitlines() if line.startswith("- ")]
    html_notes = [
        unescape(x) for x in re.findall(r'<p class="note">(.*?)</p>', render_html(summary))
    ]
    kinds = [x for x in html_notes if x.startswith(t("summary.note.kinds"))]
    overview = [x for x in html_notes if x not in kinds]
    for name, lines in (("table", table), ("md", md), ("html", overview)):
        assert len(lines) == len(labels), (name, lines)
        assert lines[0] == labels[0] + colon + key_groups, name
        for line, label in zip(lines, labels, strict=True):
            assert line.startswith(label + colon), (name, line)
            if lang == "en":
                assert "：" not in line and "，" not in line, (name, line)
    # Each 微网格's page names its four lists the same way.
    assert len(kinds) == len(summary.at("micro-grid").to_json()["groups"])
    for line in kinds:
        assert line.startswith(t("summary.note.kinds") + colon) and comma in line, line
        if lang == "en":
            assert "：" not in line and "，" not in line, line

    wb = load_workbook(io.BytesIO(render_xlsx(summary)))
    rows = list(wb[t("summary.sheet.notes")].iter_rows(values_only=True))
    notes = {r[0]: r[1] for r in rows[1:] if r[0] in labels}
    assert list(notes) == labels  # every note has its label in a cell of its own
    assert notes[labels[0]] == key_groups
    assert [label + colon + value for label, value in notes.items()] == md
    for label, value in notes.items():
        assert not value.startswith((":", "：")), (label, value)
        if lang == "en":
            assert "：" not in value and "，" not in value, (label, value)


# -- the same through the CLI: every file parsed back, nothing unmasked -----------------------


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "md", "xlsx", "html"])
def test_cli_outputs_mask_personal_data(demo_cli, demo_store: Store, tmp_path: Path, fmt):
    target = tmp_path / f"out.{'txt' if fmt == 'table' else fmt}"
    result = demo_cli("summary", *PERIOD, "--format", fmt, "-o", str(target))
    assert result.exit_code == 0, result.output
    if fmt == "xlsx":
        wb = load_workbook(target)
        text = "\n".join(
            str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v
        )
    else:
        text = target.read_bytes().decode("utf-8-sig")
    if fmt == "json":
        assert json.loads(text)["period"]["from"] == FROM.isoformat()
    assert_masked(text, demo_store)


@pytest.mark.parametrize(("lang", "opening", "closing"), [("zh", "（", "）"), ("en", " (", ")")])
def test_html_counts_in_brackets_of_the_language(summary, lang, opening, closing):
    """The chart's key-group bars and the two lists of each 微网格 say their
    counts as "独居老人 (3/5)" and "Still due (4)" in English, "独居老人（3/5）"
    and "今年仍应走访（4）" in Chinese."""
    set_lang(lang)
    page = unescape(render_html(summary))
    groups = summary.at("micro-grid").to_json()["groups"]
    bars = [
        f"{tag}{opening}{v['visited']}/{v['households']}{closing}"
        for g in groups
        for tag, v in g["key_groups"].items()
        if v["households"]
    ]
    assert bars and all(bar in page for bar in bars)
    for sheet in ("summary.sheet.still_due", "summary.sheet.overdue"):
        captions = re.findall(re.escape(t(sheet)) + r"(\s?[（(])\d+([）)])", page)
        assert len(captions) >= len(groups), sheet
        assert set(captions) == {(opening, closing)}, captions
