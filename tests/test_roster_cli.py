"""`visitlog roster import|export` and the export → import round trip."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from roster_corpus import GOOD, HEADER, households, write_csv

from visitlog.model import Household
from visitlog.roster import export_roster, import_roster
from visitlog.store import Store


def test_import_command_reports_counts(cli, tmp_path: Path):
    path = write_csv(tmp_path / "r.csv", [HEADER, *GOOD])
    result = cli("roster", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "新增 3 户，更新 0 户，未变 0 户，拒收 0 行" in result.stdout
    again = cli.json("roster", "import", str(path))
    assert (again["imported"], again["unchanged"], again["rejected"]) == (0, 3, 0)


def test_import_command_exits_1_when_rows_are_rejected(cli, tmp_path: Path):
    path = write_csv(tmp_path / "r.csv", [HEADER, GOOD[0], [*GOOD[1][:4], "", *GOOD[1][5:]]])
    result = cli("roster", "import", str(path), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)  # JSON still printed, and only JSON on stdout
    assert (data["imported"], data["rejected"]) == (1, 1)
    assert data["rejects_path"] == str(tmp_path / "r.csv.rejects.csv")
    text = cli("roster", "import", str(path))
    assert text.exit_code == 1
    assert "r.csv.rejects.csv" in text.stdout


def test_import_command_exits_0_when_rows_only_have_warnings(cli, tmp_path: Path):
    rows = [HEADER, [*GOOD[0][:6], "62345678转123 / 138****5678", *GOOD[0][7:]]]
    path = write_csv(tmp_path / "w.csv", rows)
    result = cli("roster", "import", str(path), "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert (data["imported"], data["rejected"], data["warned"]) == (1, 0, 1)
    assert data["warning_counts"] == {"phone_masked": 1}
    assert data["rejects_path"] == str(tmp_path / "w.csv.rejects.csv")
    [h] = cli.json("household", "list")
    assert h["phone"] == "62345678转123 / 138****5678"
    assert h["phones"] == ["02162345678转123", "138****5678"]
    text = cli("--lang", "en", "roster", "import", str(path))
    assert text.exit_code == 0
    assert "masked phone 1" in text.stdout


def test_import_dry_run_changes_nothing(cli, tmp_path: Path):
    path = write_csv(tmp_path / "r.csv", [HEADER, *GOOD])
    result = cli("roster", "import", str(path), "--dry-run")
    assert result.exit_code == 0
    assert "新增 3 户" in result.stdout and "试运行" in result.stdout
    assert cli.json("household", "list") == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "找不到文件"),
        (b"\x00\x01\x02\x03binary\x00" * 50, "不是文本表格"),
        ("编号,地址\n1,花溪路1号\n".encode(), "缺少必需的列：微网格"),
    ],
)
def test_bad_files_are_one_plain_line_and_exit_1(cli, tmp_path: Path, content, message):
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_bytes(content)
    result = cli("roster", "import", str(path))
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_bad_file_message_in_english(cli, tmp_path: Path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"address,grid\n\xff\xfe\xff caf\xe9\n")
    result = cli("--lang", "en", "roster", "import", str(path))
    assert result.exit_code == 1
    assert "none of UTF-8/GBK" in result.output


# -- export ------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_import_round_trip_on_the_demo_street(demo_store: Store, tmp_path: Path, suffix):
    path = tmp_path / f"street{suffix}"
    count = export_roster(demo_store, path)
    assert count == demo_store.count_live()["households"] > 0
    changes = demo_store.scalar("SELECT count(*) FROM change_log")
    report = import_roster(demo_store, path)
    assert (report.imported, report.updated, report.rejected) == (0, 0, 0)
    assert report.unchanged == count
    assert demo_store.scalar("SELECT count(*) FROM change_log") == changes
    with Store(tmp_path / "fresh.db") as fresh:
        assert import_roster(fresh, path).imported == count
        assert households(fresh) == households(demo_store)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_round_trip_of_awkward_values(store: Store, tmp_path: Path, suffix):
    awkward = [
        Household(address="花溪路1号101室", micro_grid="1号网格", note='多行\n备注, 带"引号"'),
        Household(address="花溪路1号101室", micro_grid="1号网格", head="张三"),  # same room
        Household(address="花溪路1号101室", micro_grid="1号网格", head="张三", members=0),
        Household(
            address="花溪路2号",
            micro_grid="1号网格",
            ref="00123",
            phone="02162345678",
            tags=["高龄", "独居老人"],
            note="=SUM(A1:A2)",
            members=5,
        ),
        Household(
            address="花溪路3号",
            micro_grid="2号网格",
            ref="7",
            head="王㐀",
            occupancy="空置",
            community="花溪园",
            estate="花溪园",
        ),
    ]
    for h in awkward:
        store.add_household(h)
    path = tmp_path / f"out{suffix}"
    assert export_roster(store, path) == 5
    report = import_roster(store, path)
    assert (report.imported, report.updated, report.unchanged) == (0, 0, 5)
    with Store(tmp_path / "fresh.db") as fresh:
        import_roster(fresh, path)
        assert households(fresh) == households(store)


def test_export_formats(store: Store, tmp_path: Path):
    store.add_household(
        Household(
            address="花溪路2号",
            micro_grid="1号网格",
            ref="00123",
            phone="13812345678",
            members=2,
            tags=["低保", "残疾"],
        )
    )
    store.add_household(Household(address="花溪路3号", micro_grid="2号网格"))
    csv_path = tmp_path / "g.csv"
    assert export_roster(store, csv_path, grid="1号网格") == 1
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(HEADER)
    assert lines[1] == "00123,,1号网格,,花溪路2号,,13812345678,2,自住,低保、残疾,"
    xlsx_path = tmp_path / "all.xlsx"
    assert export_roster(store, xlsx_path) == 2
    ws = openpyxl.load_workbook(xlsx_path).active
    assert [c.value for c in ws[1]] == HEADER
    # 编号 and phone stay text (a leading 0 survives); 人数 is a number
    assert (ws["A2"].value, ws["G2"].value, ws["H2"].value) == ("00123", "13812345678", 2)


def test_export_refuses_unknown_suffix_and_grid(cli, tmp_path: Path):
    result = cli("roster", "export", str(tmp_path / "out.pdf"))
    assert result.exit_code == 1 and ".csv 或 .xlsx" in result.output
    result = cli("roster", "export", str(tmp_path / "out.csv"), "--grid", "没有的网格")
    assert result.exit_code == 1 and "没有的网格" in result.output
    assert not (tmp_path / "out.csv").exists()


def test_export_command(demo_cli, tmp_path: Path):
    path = tmp_path / "street.xlsx"
    result = demo_cli("roster", "export", str(path))
    assert result.exit_code == 0
    assert "已导出" in result.stdout and "个人信息" in result.output
    assert path.stat().st_mode & 0o077 == 0  # owner-only: it holds personal data
    data = demo_cli.json("roster", "import", str(path))
    assert data["imported"] == data["updated"] == data["rejected"] == 0


# -- formulas and control characters ------------------------------------------------------

#: Values a spreadsheet would run, or that really begin with a quote, in every text column.
HOSTILE_HOUSEHOLDS = [
    Household(
        address='=HYPERLINK("http://evil.example","曹杨一村1号")',
        micro_grid="@网格",
        community="=cmd|' /C calc'!A0",
        estate="'=引号小区",
        ref="-0001",
        head="+张三",
        note="-1+2",
    ),
    Household(
        address="'花溪路1号",  # a real leading quote before ordinary text
        micro_grid="1号网格",
        head="''+李四",
        tags=["高龄"],
        note="#N/A",
    ),
    Household(address="花溪路\x1b[2J2号", micro_grid="1号网格", note="控制\x07字符"),
]


def _raw_csv_cells(path: Path) -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


def test_csv_export_neutralises_formulas_and_round_trips(store: Store, tmp_path: Path):
    for h in HOSTILE_HOUSEHOLDS:
        store.add_household(h)
    path = tmp_path / "out.csv"
    export_roster(store, path)
    cells = [c for row in _raw_csv_cells(path) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert '\'=HYPERLINK("http://evil.example","曹杨一村1号")' in cells
    assert "''=引号小区" in cells and "'''+李四" in cells and "'-0001" in cells
    assert "'花溪路1号" in cells  # a quote before ordinary text is data, written as it is
    before = households(store)
    report = import_roster(store, path)
    assert (report.imported, report.updated, report.unchanged) == (0, 0, 3)
    assert households(store) == before
    with Store(tmp_path / "fresh.db") as fresh:
        import_roster(fresh, path)
        assert households(fresh) == before


def test_xlsx_export_writes_text_cells_only_and_round_trips(store: Store, tmp_path: Path):
    import zipfile

    for h in HOSTILE_HOUSEHOLDS[:2]:
        store.add_household(h)
    path = tmp_path / "out.xlsx"
    export_roster(store, path)
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet
    ws = openpyxl.load_workbook(path).active
    by_value = {c.value: c for row in ws.iter_rows(min_row=2) for c in row if c.value}
    cell = by_value["=cmd|' /C calc'!A0"]
    assert cell.data_type == "s" and cell.quotePrefix
    assert by_value["#N/A"].data_type == "s"
    before = households(store)
    report = import_roster(store, path)
    assert (report.imported, report.updated, report.unchanged) == (0, 0, 2)
    with Store(tmp_path / "fresh.db") as fresh:
        import_roster(fresh, path)
        assert households(fresh) == before


def test_xlsx_export_shows_control_characters_instead_of_failing(store: Store, tmp_path: Path):
    store.add_household(HOSTILE_HOUSEHOLDS[2])
    path = tmp_path / "out.xlsx"
    assert export_roster(store, path) == 1
    ws = openpyxl.load_workbook(path).active
    values = [c.value for c in ws[2]]
    assert "花溪路␛[2J2号" in values and "控制␇字符" in values


def test_rejects_file_neutralises_formulas_and_reads_back_verbatim(store: Store, tmp_path: Path):
    from visitlog.roster import open_table

    bad = [
        "=1+1",
        '=HYPERLINK("http://x")',
        "1号网格",
        "",
        "花溪路1号",
        "@张三",
        "",
        "",
        "",
        "不存在的标签",
        "-备注",
    ]
    path = write_csv(tmp_path / "in.csv", [HEADER, bad])
    report = import_roster(store, path)
    assert (report.imported, report.warning_counts) == (1, {"tag_unknown": 1})
    raw = _raw_csv_cells(report.rejects_path)[1]
    assert raw[2:] == [
        "'=1+1",
        '\'=HYPERLINK("http://x")',
        "1号网格",
        "",
        "花溪路1号",
        "'@张三",
        "",
        "",
        "",
        "不存在的标签",
        "'-备注",
    ]
    table = open_table(report.rejects_path)
    rows = list(table.rows)
    table.close()
    assert rows[1][1][2:] == bad  # what the importer reads is what the roster said


def test_xlsx_export_prints_landscape_one_page_wide_with_fitted_columns(
    demo_store: Store, tmp_path: Path
):
    from rich.cells import cell_len

    path = tmp_path / "street.xlsx"
    export_roster(demo_store, path, grid="曹杨一村1号网格")
    ws = openpyxl.load_workbook(path).active
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
    assert ws.print_title_rows == "$1:$1"
    assert ws.oddHeader.left.text == "曹杨一村居民区 曹杨一村1号网格"
    assert ws.oddHeader.center.text == "住户名册"
    assert ws.oddFooter.center.text == "第 &P 页 共 &N 页"
    header = [c.value for c in ws[1]]
    width = {h: ws.column_dimensions[chr(65 + i)].width for i, h in enumerate(header)}
    for h in ("微网格", "居民区", "联系电话", "编号"):
        col = header.index(h)
        longest = max(cell_len(str(r[col].value or "")) for r in ws.iter_rows(min_row=2))
        assert width[h] >= longest, h  # two units per CJK character: nothing cut off
    assert width["地址"] <= 36 and width["人数"] < 10
    # Text longer than its capped column wraps instead of running into the next.
    addr = header.index("地址")
    for row in ws.iter_rows(min_row=2):
        if cell_len(row[addr].value) > width["地址"] - 2:
            assert row[addr].alignment.wrap_text
