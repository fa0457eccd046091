"""Hostile text in every CSV and XLSX file visitlog writes.

The summary (CSV, XLSX with the still-due list, revealed or not), the roster
export (CSV, XLSX) and the ``*.rejects.csv`` of an import are written from a
database that holds one string of :data:`hostile.CORPUS` in every text field.
No cell may begin with a character a spreadsheet runs as a formula (``= + - @``,
tab, CR), no XLSX cell may be a formula, and control characters XML cannot
hold are replaced — never a traceback.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from hostile import CORPUS
from typer.testing import CliRunner

from visitlog.model import Household, Item, Visit
from visitlog.roster.spreadsheet import FORMULA_START
from visitlog.store import Store

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _populate(db: Path, text: str) -> None:
    with Store(db) as s:
        s.init_identity("王丽华", "laptop-1", None)
        for n in range(2):
            h = s.add_household(
                Household(
                    address=f"{text}{n}"[:200],
                    micro_grid=text[:60],
                    community=text,
                    estate=text,
                    ref=f"{text}{n}",
                    head=text,
                    phone="+8613812345678",
                    note=text,
                )
            )
        s.add_visit(
            Visit(
                household_id=h.id,
                visit_date="2026-03-01",
                visitor=text[:60],
                outcome="不在家",
                summary=text,
                items=[
                    Item(
                        kind="问题",
                        category="物业",
                        description=text,
                        owner=text,
                        deadline="2026-03-02",
                    )
                ],
            )
        )


def _run(db: Path, *args: str):
    from visitlog.cli import app

    return CliRunner().invoke(app, ["--db", str(db), *map(str, args)])


def _csv_cells(data: bytes) -> list[str]:
    rows = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    return [cell for row in rows for cell in row]


def _assert_csv_safe(path: Path) -> None:
    cells = _csv_cells(path.read_bytes())
    assert cells
    live = [c for c in cells if c[:1] in FORMULA_START]
    assert live == [], path.name


def _assert_xlsx_safe(path: Path) -> None:
    with zipfile.ZipFile(path) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        assert sheets
        for name in [*sheets, "xl/sharedStrings.xml"]:
            if name not in z.namelist():
                continue
            xml = z.read(name).decode("utf-8")
            assert not re.search(r"<f[ >]", xml), f"{path.name}:{name} holds a formula"
            assert not _XML_ILLEGAL.search(xml), name
    from openpyxl import load_workbook

    wb = load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_spreadsheet_is_safe_with_hostile_text(name, tmp_path):
    text = CORPUS[name]
    db = tmp_path / "v.db"
    _populate(db, text)
    out = tmp_path / "out"
    out.mkdir()
    for args, path in [
        (("summary", "--format", "csv", "-o"), out / "summary.csv"),
        (("summary", "--format", "xlsx", "-o"), out / "summary.xlsx"),
        (("summary", "--reveal", "--format", "xlsx", "-o"), out / "revealed.xlsx"),
        (("roster", "export"), out / "roster.csv"),
        (("roster", "export"), out / "roster.xlsx"),
    ]:
        result = _run(db, *args, path)
        assert result.exit_code == 0, (args, result.output)
        assert "Traceback" not in result.output
        if path.suffix == ".csv":
            _assert_csv_safe(path)
        else:
            _assert_xlsx_safe(path)
    # The rejects file of an import: a row without its 微网格 is rejected verbatim.
    roster = out / "bad.csv"
    with open(roster, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["地址", "微网格", "户主"], [f"{text}9"[:200], "", text]])
    result = _run(db, "roster", "import", roster)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    rejects = out / "bad.csv.rejects.csv"
    if rejects.exists():
        _assert_csv_safe(rejects)
    else:
        # Text full of control characters reads as a binary file: refused in one line.
        assert result.stderr.startswith("错误："), result.output


@pytest.mark.parametrize("name", ["hyperlink_formula", "dde_formula", "plus", "at", "tab_leading"])
def test_roster_export_round_trips_formula_like_text(name, tmp_path):
    """Neutralised on the way out, given back exactly on the way in."""
    text = CORPUS[name]
    db = tmp_path / "v.db"
    _populate(db, text)
    path = tmp_path / "roster.csv"
    assert _run(db, "roster", "export", path).exit_code == 0
    again = _run(db, "roster", "import", path, "--json")
    assert again.exit_code == 0, again.output
    assert '"unchanged": 2' in again.stdout.replace(" ", "").replace(
        '"unchanged":2', '"unchanged": 2'
    )
