"""Roster files made by the tests: rows, writers and readers shared by the roster tests."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl

from visitlog.roster import HEADERS
from visitlog.store import Store

HEADER = list(HEADERS.values())
TITLE = "曹杨新村街道花溪园居民区住户名册"

# ref, community, grid, estate, address, head, phone, members, occupancy, tags, note
GOOD = [
    [
        "HX001",
        "花溪园居民区",
        "花溪园1号网格",
        "花溪园",
        "花溪路100弄1号101室",
        "张建国",
        "13812345678",
        "3",
        "自住",
        "独居老人、高龄",
        "",
    ],
    [
        "HX002",
        "花溪园居民区",
        "花溪园1号网格",
        "花溪园",
        "花溪路100弄1号102室",
        "李秀英",
        "021-62345678",
        "1",
        "出租",
        "",
        "楼组长",
    ],
    [
        "HX003",
        "花溪园居民区",
        "花溪园2号网格",
        "花溪园",
        "花溪路100弄2号201室",
        "王㐀",
        "139 1234 5678",
        "2",
        "人户分离",
        "低保;残疾",
        "",
    ],
]


def write_csv(
    path: Path, rows: list[list[str]], encoding: str = "utf-8", newline: str = "\r\n"
) -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=newline).writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def households(store: Store) -> list[dict]:
    """Live households without the per-database columns, in a stable order."""
    out = []
    for h in store.list_households():
        d = {k: v for k, v in h.__dict__.items() if k not in ("id", "hlc", "device", "created_at")}
        out.append(d)
    return sorted(out, key=lambda d: (d["ref"] or "", d["address"], d["head"] or ""))


def change_count(store: Store) -> int:
    return store.scalar("SELECT count(*) FROM change_log")


def audit_count(store: Store) -> int:
    return store.scalar("SELECT count(*) FROM audit")


def read_rejects(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "rejects file must be UTF-8 with BOM"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def merged_xlsx(
    path: Path, rows: list[list], title: str | None = TITLE, float_numbers: bool = False
) -> Path:
    """An office-style workbook: a title row, then 居民区 and 微网格 merged per block."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "住户名册"
    if title:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    ws.append(HEADER)
    first = ws.max_row + 1
    for row in rows:
        values: list = [v if v != "" else None for v in row]
        if float_numbers:  # what Excel stores for numbers typed into General cells
            values[6] = float(row[6]) if row[6].isdigit() else values[6]
            values[7] = float(row[7]) if row[7] else None
        ws.append(values)
    for col in (1, 2):  # 居民区, 微网格: written once per block of equal values
        start = 0
        for i in range(1, len(rows) + 1):
            if i == len(rows) or rows[i][col] != rows[start][col]:
                if i - 1 > start:
                    for r in range(first + start + 1, first + i):
                        ws.cell(r, col + 1).value = None
                    ws.merge_cells(
                        start_row=first + start,
                        start_column=col + 1,
                        end_row=first + i - 1,
                        end_column=col + 1,
                    )
                start = i
    wb.save(path)
    return path
