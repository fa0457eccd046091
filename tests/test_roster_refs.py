"""编号 read as text; one that a spreadsheet stored as a number (digits lost) is
not trusted: the household imports without it, with a warning, listed in the
rejects file; the report names the sheet it read."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from visitlog.roster import import_roster
from visitlog.store import Store

HEADER = ["编号", "地址", "微网格", "户主"]


def _xlsx(path: Path, rows: list[list], hidden_first: bool = False) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    if hidden_first:
        ws.title = "旧名册"
        ws.append(HEADER)
        ws.append(["OLD-1", "旧地址1号", "9号网格", "旧"])
        ws.sheet_state = "hidden"
        ws = wb.create_sheet("名册")
    else:
        ws.title = "名册"
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def _refs(store: Store) -> dict[str, tuple[str | None, str | None]]:
    rows = store.conn.execute("SELECT address, ref, note FROM households").fetchall()
    return {a: (ref, note) for a, ref, note in rows}


def test_a_number_cell_that_lost_digits_imports_without_its_ref(tmp_path, store):
    path = _xlsx(
        tmp_path / "名册.xlsx",
        [
            [310101199001011234, "兰溪路1号", "1号网格", "张伟"],
            [310101199001011299, "兰溪路2号", "1号网格", "王芳"],
            ["0012", "兰溪路3号", "1号网格", "李明"],
            [12, "兰溪路4号", "1号网格", "赵强"],
        ],
    )
    report = import_roster(store, path)
    assert report.imported == 4 and report.rejected == 0
    assert report.warning_counts["ref_damaged"] == 2
    refs = _refs(store)
    # two 编号 that became the same float are not taken for one household
    assert refs["兰溪路1号"][0] is None and refs["兰溪路2号"][0] is None
    assert "3.10101199001011E+17" in refs["兰溪路1号"][1]
    assert refs["兰溪路3号"][0] == "0012"  # text stays text, zeros kept
    assert refs["兰溪路4号"][0] == "12"  # a small number cell is exact
    rejects = report.rejects_path.read_text(encoding="utf-8-sig")
    assert rejects.count("末几位已丢失") == 2


@pytest.mark.parametrize("text", ["3.10101199001011e+17", "3.10101199001011E+17", "1E+16"])
def test_a_float_shaped_ref_in_a_csv_is_not_trusted(tmp_path, store, text):
    path = tmp_path / "名册.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerow([text, "兰溪路1号", "1号网格", "张伟"])
        w.writerow(["CY1-0002", "兰溪路2号", "1号网格", "王芳"])
    report = import_roster(store, path)
    assert report.imported == 2 and report.warning_counts["ref_damaged"] == 1
    refs = _refs(store)
    assert refs["兰溪路1号"][0] is None and text in refs["兰溪路1号"][1]
    assert refs["兰溪路2号"][0] == "CY1-0002"


def test_the_report_names_the_visible_sheet_read_not_the_hidden_first_one(tmp_path, cli):
    path = _xlsx(tmp_path / "名册.xlsx", [["CY1-0001", "兰溪路1号", "1号网格", "张伟"]], True)
    cli("init", "-w", "王丽华", "-g", "1号网格")
    result = cli("roster", "import", str(path))
    assert result.exit_code == 0, result.output
    first = result.output.strip().splitlines()[0]
    assert "名册" in first and "旧名册" not in first
    assert "旧名册" in result.output  # the hidden sheet is named as skipped
    listed = cli.json("household", "list")
    assert [h["address"] for h in listed] == ["兰溪路1号"]
    named = cli("roster", "import", str(path), "--sheet", "旧名册", "--dry-run")
    assert named.exit_code == 0 and "旧名册" in named.output.strip().splitlines()[0]
