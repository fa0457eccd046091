"""Roster import: awkward files made here, each row imported or rejected for the right reason."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from roster_corpus import (
    GOOD,
    HEADER,
    TITLE,
    audit_count,
    change_count,
    households,
    merged_xlsx,
    read_rejects,
    write_csv,
)

from visitlog.dedup import merges as dedup_merge
from visitlog.model import Household, VisitlogError
from visitlog.roster import import_roster, normalize_header, rejects_path_for
from visitlog.store import Store

# -- encodings and file shapes --------------------------------------------------------


def test_gbk_csv_with_gb18030_only_character(store: Store, tmp_path: Path):
    # 㐀 (U+3400) is outside GBK: Excel writes such a file as GB18030.
    path = write_csv(tmp_path / "名册.csv", [HEADER, *GOOD], encoding="gb18030")
    report = import_roster(store, path)
    assert (report.imported, report.rejected) == (3, 0)
    assert report.source == "GBK/GB18030"
    got = {h["ref"]: h for h in households(store)}
    assert got["HX003"]["head"] == "王㐀"
    assert got["HX003"]["tags"] == ["低保", "残疾"]
    # phones as written, and the numbers understood from them
    assert (got["HX003"]["phone"], got["HX003"]["phones"]) == ("139 1234 5678", ["13912345678"])
    assert (got["HX002"]["phone"], got["HX002"]["phones"]) == ("021-62345678", ["02162345678"])
    assert got["HX001"]["members"] == 3


def test_plain_gbk_csv(store: Store, tmp_path: Path):
    rows = [[*r[:5], "赵家明", *r[6:]] for r in GOOD]  # no 㐀: encodable in GBK proper
    path = write_csv(tmp_path / "gbk.csv", [HEADER, *rows], encoding="gbk")
    report = import_roster(store, path)
    assert report.imported == 3
    assert {h["head"] for h in households(store)} == {"赵家明"}


def test_utf8_with_bom_and_crlf(store: Store, tmp_path: Path):
    path = write_csv(tmp_path / "bom.csv", [HEADER, *GOOD], encoding="utf-8-sig")
    assert path.read_bytes().count(b"\r\n") == 4
    report = import_roster(store, path)
    assert report.source == "UTF-8 BOM"
    assert report.imported == 3
    # the BOM must not stick to the first header
    assert {h["ref"] for h in households(store)} == {"HX001", "HX002", "HX003"}


def test_quoted_fields_with_newlines_and_commas_keep_excel_line_numbers(
    store: Store, tmp_path: Path
):
    note = '三楼，"东"边\n第二行, 还有逗号'
    rows = [HEADER, [*GOOD[0][:10], note], GOOD[1], [*GOOD[2][:4], "", *GOOD[2][5:]]]
    path = write_csv(tmp_path / "quoted.csv", rows)
    report = import_roster(store, path)
    assert (report.imported, report.rejected) == (2, 1)
    got = {h["ref"]: h for h in households(store)}
    assert got["HX001"]["note"] == note
    # the bad row is the 4th record (Excel row 4) although the note spans two lines
    assert read_rejects(report.rejects_path)[0]["原行号"] == "4"


def test_utf16_tab_separated_unicode_text(store: Store, tmp_path: Path):
    # Excel's "Unicode 文本" export
    text = "\r\n".join("\t".join(r) for r in [HEADER, *GOOD]) + "\r\n"
    path = tmp_path / "unicode.txt"
    path.write_bytes(text.encode("utf-16"))
    report = import_roster(store, path)
    assert (report.imported, report.source) == (3, "UTF-16")


def test_unknown_encoding_refused_with_advice(store: Store, tmp_path: Path):
    path = tmp_path / "latin.csv"
    path.write_bytes("地址,微网格\n".encode() + b"\xff\xfe\xff caf\xe9\n" * 3)
    with pytest.raises(VisitlogError, match=r"UTF-8.*GBK.*CSV UTF-8"):
        import_roster(store, path)
    assert store.count_live()["households"] == 0


def test_binary_file_renamed_csv_refused(store: Store, tmp_path: Path):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 20)
    with pytest.raises(VisitlogError, match="不是文本表格"):
        import_roster(store, path)
    assert not rejects_path_for(path).exists()


def test_old_xls_refused_with_advice(store: Store, tmp_path: Path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    with pytest.raises(VisitlogError, match=r"\.xls.*另存为"):
        import_roster(store, path)


def test_zip_that_is_not_a_workbook_refused(store: Store, tmp_path: Path):
    import zipfile

    path = tmp_path / "fake.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    with pytest.raises(VisitlogError, match=r"不是可读取的 \.xlsx"):
        import_roster(store, path)


def test_empty_and_missing_files(store: Store, tmp_path: Path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(VisitlogError, match="空文件"):
        import_roster(store, empty)
    with pytest.raises(VisitlogError, match="找不到文件"):
        import_roster(store, tmp_path / "nope.csv")


def test_header_only_file_imports_nothing_and_says_so(store: Store, tmp_path: Path):
    path = write_csv(tmp_path / "header.csv", [HEADER])
    report = import_roster(store, path)
    assert (report.rows, report.imported, report.rejected) == (0, 0, 0)
    assert report.ok
    assert any("只有表头" in w for w in report.warnings)
    assert change_count(store) == 0


def test_missing_required_column_is_a_clear_error_and_imports_nothing(store: Store, tmp_path: Path):
    header = [h for h in HEADER if h != "微网格"]
    rows = [[v for i, v in enumerate(r) if HEADER[i] != "微网格"] for r in GOOD]
    path = write_csv(tmp_path / "nogrid.csv", [header, *rows])
    with pytest.raises(VisitlogError) as err:
        import_roster(store, path)
    assert "缺少必需的列：微网格" in str(err.value)
    assert "地址" in str(err.value)  # what was found is named too
    assert store.count_live()["households"] == 0
    assert not rejects_path_for(path).exists()


def test_blank_rows_are_skipped_and_line_numbers_stay_true(store: Store, tmp_path: Path):
    bad = [*GOOD[2][:4], "", *GOOD[2][5:]]
    rows = [[TITLE], [], HEADER, GOOD[0], [], ["", "  ", ""], GOOD[1], bad, [], []]
    path = write_csv(tmp_path / "blank.csv", rows)
    report = import_roster(store, path)
    assert report.header_line == 3
    assert (report.rows, report.imported, report.rejected) == (3, 2, 1)
    rejects = read_rejects(report.rejects_path)
    assert rejects[0]["原行号"] == "8"
    assert "地址" in rejects[0]["拒收原因"]


def test_ten_thousand_character_field(store: Store, tmp_path: Path):
    long_note = "长" * 10_000
    long_address = "花溪路" + "1" * 10_000
    rows = [HEADER, [*GOOD[0][:10], long_note], [*GOOD[1][:4], long_address, *GOOD[1][5:]]]
    path = write_csv(tmp_path / "long.csv", rows)
    report = import_roster(store, path)
    assert (report.imported, report.rejected) == (1, 1)
    assert households(store)[0]["note"] == long_note
    rejects = read_rejects(report.rejects_path)
    assert "地址太长" in rejects[0]["拒收原因"]
    assert rejects[0]["地址"] == long_address  # verbatim


# -- headers ------------------------------------------------------------------------------


def test_headers_tolerate_spaces_fullwidth_aliases_and_remarks():
    assert normalize_header("　地址　") == "地址"
    assert normalize_header("Micro Grid") == "microgrid"
    assert normalize_header("ＰＨＯＮＥ") == "phone"
    assert normalize_header("联系电话（手机）") == "联系电话"
    assert normalize_header("地址*") == "地址"


def test_english_and_messy_headers_import(store: Store, tmp_path: Path):
    header = [
        "REF",
        " Community ",
        "micro_grid",
        "Estate",
        "ａｄｄｒｅｓｓ",
        "户主姓名",
        "手机号",
        "Members",
        "occupancy",
        "Tags",
        "备注（其他）",
    ]
    rows = [[*GOOD[0][:8], "owner", "elderly-alone", "x"]]
    path = write_csv(tmp_path / "en.csv", [header, *rows])
    report = import_roster(store, path)
    assert report.imported == 1
    h = households(store)[0]
    assert (h["ref"], h["micro_grid"], h["head"], h["occupancy"], h["tags"], h["note"]) == (
        "HX001",
        "花溪园1号网格",
        "张建国",
        "自住",
        ["独居老人"],
        "x",
    )


def test_unknown_columns_go_into_note_and_are_reported(store: Store, tmp_path: Path):
    header = [*HEADER, "楼组长", "", "序号"]
    rows = [
        [*GOOD[0][:10], "原备注", "陈阿姨", "", "1"],
        [*GOOD[1], "", "无名列的值", "2", "多出的格子"],
    ]
    path = write_csv(tmp_path / "extra.csv", [header, *rows])
    report = import_roster(store, path)
    assert report.imported == 2
    got = {h["ref"]: h for h in households(store)}
    assert got["HX001"]["note"] == "原备注；楼组长: 陈阿姨"
    assert got["HX002"]["note"] == "楼组长；第M列: 无名列的值；第O列: 多出的格子"
    assert any("楼组长" in w and "备注" in w for w in report.warnings)
    assert any("序号" in w for w in report.warnings)  # ignored, but said so


# -- validation and the rejects file ------------------------------------------------------


def test_only_what_cannot_be_a_household_is_rejected(store: Store, tmp_path: Path):
    def variant(ref: str, **changes: str) -> list[str]:
        row = dict(zip(HEADER, GOOD[0], strict=True)) | {"编号": ref, "地址": f"花溪路{ref}号"}
        row |= changes
        return list(row.values())

    rows = [
        HEADER,
        variant("OK1"),
        variant("P1", 联系电话="1381234"),
        variant("M1", 人数="2.5"),
        variant("T1", 标签="独居老人、外星人"),
        variant("A1", 地址=""),
        variant("OK2", 人数="4.0", 联系电话="13812345678.0"),
        variant("S1", 联系电话="1.38123E+10"),
        variant("G1", 微网格=" ", 居民区="别的居民区"),
        variant("O1", 居住状态="借住"),
        variant("OK1", 地址="花溪路OK1b号"),
        variant("L1", 联系电话="62345678"),
    ]
    path = write_csv(tmp_path / "bad.csv", rows)
    report = import_roster(store, path)
    assert (report.imported, report.rejected, report.rows) == (9, 2, 11)
    assert not report.ok
    assert report.rejects_path == tmp_path / "bad.csv.rejects.csv"
    listed = {r["编号"]: r for r in read_rejects(report.rejects_path)}
    assert set(listed) == {"P1", "M1", "T1", "A1", "S1", "G1", "O1", "OK1"}
    reasons = {ref: r["拒收原因"] for ref, r in listed.items()}
    # rejected: no address; no 微网格 and nothing to tell it from
    assert "地址不能为空" in reasons["A1"]
    assert "微网格不能为空" in reasons["G1"]
    # imported, with what to check
    assert reasons["P1"].startswith("已导入") and "1381234" in reasons["P1"]
    assert "人数“2.5”" in reasons["M1"]
    assert "外星人" in reasons["T1"]
    assert "科学计数法" in reasons["S1"]
    assert "借住" in reasons["O1"]
    assert "与第 2 行重复" in reasons["OK1"]
    assert listed["P1"]["原行号"] == "3"
    assert listed["OK1"]["原行号"] == "11"
    # verbatim: the cells exactly as they were in the file
    assert listed["M1"]["人数"] == "2.5"
    assert listed["T1"]["标签"] == "独居老人、外星人"
    assert report.warning_counts == {
        "phone_unreadable": 1,
        "phone_shortened": 1,
        "tag_unknown": 1,
        "members_unreadable": 1,
        "occupancy_unknown": 1,
        "ref_duplicate": 1,
    }
    assert any("外星人" in w for w in report.warnings)
    got = {h["address"]: h for h in households(store)}
    assert (got["花溪路OK2号"]["members"], got["花溪路OK2号"]["phone"]) == (4, "13812345678.0")
    assert got["花溪路OK2号"]["phones"] == ["13812345678"]
    assert (got["花溪路P1号"]["phone"], got["花溪路P1号"]["phones"]) == ("1381234", [])
    assert got["花溪路L1号"]["phones"] == ["02162345678"]
    assert got["花溪路T1号"]["tags"] == ["独居老人"]
    assert got["花溪路T1号"]["note"] == "标签: 外星人"
    assert (got["花溪路O1号"]["occupancy"], got["花溪路O1号"]["note"]) == ("自住", "居住状态: 借住")
    assert (got["花溪路OK1b号"]["ref"], got["花溪路OK1b号"]["note"]) == (None, "编号: OK1")
    assert any("请核对" in line and "1 行" in line for line in report.lines())


def test_empty_grid_is_told_from_the_building_or_the_community(store: Store, tmp_path: Path):
    rows = [
        HEADER,
        GOOD[0],
        [*GOOD[1][:2], "", *GOOD[1][3:]],  # building 1号 is in 花溪园1号网格
        ["X1", "桂巷居民区", "桂巷1号网格", "", "桂巷路66弄1号101室", "", "", "", "", "", ""],
        ["X2", "桂巷居民区", "", "", "桂巷路66弄9号101室", "", "", "", "", "", ""],
    ]
    report = import_roster(store, write_csv(tmp_path / "g.csv", rows))
    assert (report.imported, report.rejected, report.warning_counts) == (
        4,
        0,
        {"grid_suggested": 2},
    )
    got = {h["ref"]: h["micro_grid"] for h in households(store)}
    assert (got["HX002"], got["X2"]) == ("花溪园1号网格", "桂巷1号网格")


def test_nothing_valid_leaves_the_database_unchanged(demo_store: Store, tmp_path: Path):
    before = (households(demo_store), change_count(demo_store), audit_count(demo_store))
    rows = [HEADER, [*GOOD[0][:4], " ", *GOOD[0][5:]], [*GOOD[1][:4], "", *GOOD[1][5:]]]
    path = write_csv(tmp_path / "allbad.csv", rows)
    report = import_roster(demo_store, path)
    assert (report.imported, report.updated, report.rejected) == (0, 0, 2)
    assert (households(demo_store), change_count(demo_store), audit_count(demo_store)) == before


def test_fixed_rejects_file_imports_as_it_is(store: Store, tmp_path: Path):
    rows = [HEADER, GOOD[0], [*GOOD[1][:4], "", *GOOD[1][5:]]]
    path = write_csv(tmp_path / "fixme.csv", rows)
    first = import_roster(store, path)
    assert first.rejected == 1
    text = first.rejects_path.read_text(encoding="utf-8-sig").replace(
        ",花溪园,,", ",花溪园,花溪路100弄1号102室,"
    )
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(text, encoding="utf-8-sig")
    second = import_roster(store, fixed)
    assert (second.imported, second.rejected) == (1, 0)
    got = {h["ref"]: h for h in households(store)}
    assert got["HX002"]["address"] == "花溪路100弄1号102室"
    assert got["HX002"]["note"] == "楼组长"  # 原行号/拒收原因 did not leak into 备注
    # a clean run removes the stale list of rejects
    assert import_roster(store, path).rejected == 1
    path.write_text(fixed.read_text(encoding="utf-8-sig"), encoding="utf-8")
    assert import_roster(store, path).ok
    assert not rejects_path_for(path).exists()


# -- XLSX ----------------------------------------------------------------------------------


def test_xlsx_title_row_and_merged_cells(store: Store, tmp_path: Path):
    rows = [*GOOD, ["HX004", *GOOD[2][1:4], "花溪路100弄2号202室", "周平", "", "", "", "", ""]]
    path = merged_xlsx(tmp_path / "名册.xlsx", rows)
    ws = openpyxl.load_workbook(path).active
    assert ws["B3"].value == "花溪园居民区" and ws["B4"].value is None  # really merged
    report = import_roster(store, path)
    assert (report.header_line, report.sheet, report.imported) == (2, "住户名册", 4)
    got = {h["address"]: h for h in households(store)}
    assert {h["community"] for h in got.values()} == {"花溪园居民区"}
    assert got["花溪路100弄1号102室"]["micro_grid"] == "花溪园1号网格"
    assert got["花溪路100弄2号202室"]["micro_grid"] == "花溪园2号网格"


def test_xlsx_float_numbers_read_back_as_intended(store: Store, tmp_path: Path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(
        [
            1001.0,
            "花溪园居民区",
            "1号网格",
            None,
            "花溪路1号",
            "张三",
            13812345678.0,
            3.0,
            None,
            None,
            None,
        ]
    )
    ws.append(
        [
            1002,
            "花溪园居民区",
            "1号网格",
            None,
            "花溪路2号",
            "李四",
            13812345679,
            2.5,
            None,
            None,
            None,
        ]
    )
    ws.append([None] * 11)  # an empty trailing row
    ws["N1"] = None  # touch a trailing column so the sheet is wider than its data
    path = tmp_path / "floats.xlsx"
    wb.save(path)
    report = import_roster(store, path)
    assert (report.imported, report.rejected, report.warning_counts) == (
        2,
        0,
        {"members_unreadable": 1},
    )
    got = {h["ref"]: h for h in households(store)}
    assert (got["1001"]["phone"], got["1001"]["phones"], got["1001"]["members"]) == (
        "13812345678",
        ["13812345678"],
        3,
    )
    assert (got["1002"]["members"], got["1002"]["note"]) == (None, "人数: 2.5")
    listed = read_rejects(report.rejects_path)
    assert listed[0]["人数"] == "2.5" and listed[0]["编号"] == "1002"
    assert listed[0]["拒收原因"].startswith("已导入")


def test_gbk_csv_and_xlsx_import_the_same_households(tmp_path: Path):
    xlsx = merged_xlsx(tmp_path / "a.xlsx", GOOD, float_numbers=True)
    gbk = write_csv(tmp_path / "b.csv", [[TITLE], HEADER, *GOOD], encoding="gb18030")
    with Store(tmp_path / "x.db") as sx, Store(tmp_path / "c.db") as sc:
        assert import_roster(sx, xlsx).imported == 3
        assert import_roster(sc, gbk).imported == 3
        assert households(sx) == households(sc)


def test_xlsx_sheet_choice(store: Store, tmp_path: Path):
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["本表由居委会填写"])
    data = wb.create_sheet("名单")
    data.append(HEADER)
    data.append(GOOD[0])
    path = tmp_path / "two.xlsx"
    wb.save(path)
    report = import_roster(store, path)
    assert (report.sheet, report.imported) == ("名单", 1)
    assert any("说明" in w and "--sheet" in w for w in report.warnings)
    with pytest.raises(VisitlogError, match="没有名为“汇总”的工作表。现有：说明、名单"):
        import_roster(store, path, sheet="汇总")
    with pytest.raises(VisitlogError, match="缺少必需的列"):
        import_roster(store, path, sheet="说明")


def test_xlsx_renamed_to_csv_still_reads(store: Store, tmp_path: Path):
    path = merged_xlsx(tmp_path / "book.xlsx", GOOD)
    renamed = path.rename(tmp_path / "book.csv")
    report = import_roster(store, renamed)
    assert report.imported == 3
    assert any(".xlsx" in w for w in report.warnings)


def test_merged_block_past_the_data_does_not_make_households(store: Store, tmp_path: Path):
    path = merged_xlsx(tmp_path / "m.xlsx", GOOD[:2])
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    ws.unmerge_cells("B3:B4")
    ws.merge_cells("B3:B9")  # the office merged 居民区 over empty rows too
    wb.save(path)
    report = import_roster(store, path)
    assert (report.rows, report.imported, report.rejected) == (2, 2, 0)


# -- upsert --------------------------------------------------------------------------------


def test_reimport_is_all_unchanged_and_logs_nothing(store: Store, tmp_path: Path):
    path = write_csv(tmp_path / "r.csv", [HEADER, *GOOD])
    import_roster(store, path)
    before = (change_count(store), audit_count(store))
    report = import_roster(store, path)
    assert (report.imported, report.updated, report.unchanged) == (0, 0, 3)
    assert (change_count(store), audit_count(store)) == before


def test_changed_row_updates_only_changed_fields(store: Store, tmp_path: Path):
    path = write_csv(tmp_path / "r.csv", [HEADER, *GOOD])
    import_roster(store, path)
    changed = [GOOD[0], [*GOOD[1][:6], "13700001111", "2", *GOOD[1][8:]], GOOD[2]]
    write_csv(path, [HEADER, *changed])
    seq = store.scalar("SELECT max(seq) FROM change_log")
    report = import_roster(store, path)
    assert (report.updated, report.unchanged) == (1, 2)
    assert report.updated_fields == {"phone": 1, "members": 1}
    new = store.query("SELECT op, data FROM change_log WHERE seq > ?", [seq])
    assert [(r["op"], json.loads(r["data"])) for r in new] == [
        ("update", {"phone": "13700001111", "members": 2})
    ]


def test_rows_without_ref_match_by_grid_and_address(store: Store, tmp_path: Path):
    no_ref = [["", *r[1:]] for r in GOOD]
    # two registered households behind one room number (非成套): both stay
    no_ref.append(["", *GOOD[0][1:5], "张建民", "", "1", "", "", ""])
    path = write_csv(tmp_path / "noref.csv", [HEADER, *no_ref])
    assert import_roster(store, path).imported == 4
    again = import_roster(store, path)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 4)
    # a spelling of the same address, and a new phone: the household is updated
    no_ref[1] = [
        "",
        *GOOD[1][1:4],
        "花溪路一百弄1号102",
        *GOOD[1][5:6],
        "13600002222",
        *GOOD[1][7:],
    ]
    write_csv(path, [HEADER, *no_ref])
    third = import_roster(store, path)
    assert (third.imported, third.updated, third.unchanged) == (0, 1, 3)
    assert store.count_live()["households"] == 4


def test_ref_row_adopts_the_unnumbered_household_at_its_address(store: Store, tmp_path: Path):
    h = store.add_household(
        Household(address="花溪路100弄1号101室", micro_grid="花溪园1号网格", head="张建国")
    )
    path = write_csv(tmp_path / "r.csv", [HEADER, GOOD[0]])
    report = import_roster(store, path)
    assert (report.imported, report.updated) == (0, 1)
    assert store.get_household(h.id).ref == "HX001"


def test_ref_of_a_merged_household_is_left_alone(store: Store, tmp_path: Path):
    path = write_csv(tmp_path / "r.csv", [HEADER, *GOOD[:2]])
    import_roster(store, path)
    a, b = store.list_households()
    dedup_merge.merge(store, [a.id, b.id])
    report = import_roster(store, path)
    # The survivor took values from the other record, which the roster puts back.
    assert (report.imported, report.unchanged + report.updated, report.merged) == (0, 1, 1)
    assert store.count_live()["households"] == 1


def test_dry_run_reports_the_same_and_changes_nothing(store: Store, tmp_path: Path):
    # no 微网格, in a building nobody else is in, in a 居民区 of two grids: rejected
    lost = [*GOOD[0][:2], "", GOOD[0][3], "花溪路200弄9号101室", *GOOD[0][5:]]
    path = write_csv(tmp_path / "d.csv", [HEADER, *GOOD, lost])
    report = import_roster(store, path, dry_run=True)
    assert (report.imported, report.rejected, report.dry_run) == (3, 1, True)
    assert change_count(store) == 0 and audit_count(store) == 0
    assert report.rejects_path.exists()  # written anyway, to fix before the real run
    assert any("试运行" in line for line in report.lines())
    real = import_roster(store, path)
    assert (real.imported, real.rejected) == (report.imported, report.rejected)


def test_progress_is_reported(store: Store, tmp_path: Path):
    rows = [
        [f"R{i}", "", "1号网格", "", f"花溪路{i}号", "", "", "", "", "", ""] for i in range(1200)
    ]
    path = write_csv(tmp_path / "p.csv", [HEADER, *rows])
    calls: list[tuple[int, int | None]] = []
    report = import_roster(store, path, progress=lambda _phase, d, t: calls.append((d, t)))
    assert report.imported == 1200
    assert calls[0] == (500, 1200) and calls[-1] == (1200, 1200)


def test_report_lines_in_both_languages(store: Store, tmp_path: Path):
    from visitlog.i18n import set_lang

    path = write_csv(tmp_path / "l.csv", [HEADER, *GOOD])
    report = import_roster(store, path)
    assert report.lines()[1] == "新增 3 户，更新 0 户，未变 0 户，拒收 0 行"
    set_lang("en")
    assert report.lines()[1] == "3 imported, 0 updated, 0 unchanged, 0 rejected"
    assert report.as_dict()["imported"] == 3


def test_rejects_file_that_cannot_be_written_anywhere_stops_the_import(
    store: Store, tmp_path: Path, monkeypatch
):
    from visitlog.roster import importing

    path = write_csv(tmp_path / "r.csv", [HEADER, GOOD[0], [*GOOD[1][:4], "", *GOOD[1][5:]]])
    rejects_path_for(path).mkdir()  # something in the way of the rejects file
    blocked = tmp_path / "blocked.csv"
    blocked.mkdir()  # ... and in the way of the fallback in the data folder
    monkeypatch.setattr(importing, "_fallback_rejects_path", lambda p: blocked)
    with pytest.raises(VisitlogError, match="无法写入"):
        import_roster(store, path)
    assert store.count_live()["households"] == 0


def test_rejects_file_blocked_beside_the_roster_goes_to_the_data_folder(
    store: Store, tmp_path: Path
):
    path = write_csv(tmp_path / "r.csv", [HEADER, GOOD[0], [*GOOD[1][:4], "", *GOOD[1][5:]]])
    rejects_path_for(path).mkdir()  # something in the way of the rejects file
    report = import_roster(store, path)
    assert report.imported == 1 and report.rejected == 1
    assert report.rejects_path != rejects_path_for(path) and report.rejects_path.is_file()


def test_second_column_with_a_known_header_is_kept_in_note(store: Store, tmp_path: Path):
    path = write_csv(tmp_path / "twice.csv", [[*HEADER, "联系电话"], [*GOOD[0], "13900001111"]])
    report = import_roster(store, path)
    h = households(store)[0]
    assert (h["phone"], h["note"]) == ("13812345678", "联系电话: 13900001111")
    assert any("联系电话" in w for w in report.warnings)


def test_xlsx_suffix_on_a_text_file_and_sheet_option_on_csv(store: Store, tmp_path: Path):
    fake = tmp_path / "text.xlsx"
    fake.write_text("地址,微网格\n花溪路1号,1号网格\n", encoding="utf-8")
    with pytest.raises(VisitlogError, match="不是 Excel 文件"):
        import_roster(store, fake)
    path = write_csv(tmp_path / "r.csv", [HEADER, GOOD[0]])
    report = import_roster(store, path, sheet="Sheet1")
    assert report.imported == 1
    assert any("--sheet" in w for w in report.warnings)


def test_merged_ranges_found_across_chunks_and_by_the_slow_path(tmp_path: Path, monkeypatch):
    import types

    from visitlog.roster import files as roster_files

    path = merged_xlsx(tmp_path / "m.xlsx", [*GOOD, *GOOD[2:]] * 3 + GOOD[:1])
    expected = {
        (r.min_row, r.min_col, r.max_row, r.max_col)
        for r in openpyxl.load_workbook(path).active.merged_cells.ranges
    }
    assert len(expected) > 5
    wb = openpyxl.load_workbook(path, read_only=True)
    monkeypatch.setattr(roster_files, "MERGE_SCAN_CHUNK", 7)  # elements cut at every edge
    fast = roster_files._merged_ranges(wb, wb.active, path)
    wb.close()
    # without openpyxl's read-only internals, a full load answers the same
    slow = roster_files._merged_ranges(types.SimpleNamespace(), wb.active, path)
    assert set(fast) == set(slow) == expected
