"""``household list`` fits the terminal: one line per household, Chinese counted two cells wide."""

from __future__ import annotations

import pytest
from rich.cells import cell_len

from visitlog.cli import common


def _listing(demo_cli, monkeypatch, width: int, *args: str) -> list[str]:
    monkeypatch.setattr(common.console, "width", width)
    result = demo_cli("household", "list", *args)
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


@pytest.mark.parametrize("width", [60, 80, 100])
def test_one_line_per_household(demo_cli, monkeypatch, width):
    households = demo_cli.json("household", "list")
    lines = _listing(demo_cli, monkeypatch, width)
    assert all(cell_len(line) <= width for line in lines), max(lines, key=cell_len)
    for h in households:
        short = h["id"][-8:]
        holding = [line for line in lines if short in line]
        assert len(holding) == 1, (short, holding)
        # the line says which household it is: its address, or its start when cut
        [line] = holding
        assert h["address"][:4] in line


def test_columns_give_way_in_order(demo_cli, monkeypatch):
    wide = "\n".join(_listing(demo_cli, monkeypatch, 160))
    narrow = "\n".join(_listing(demo_cli, monkeypatch, 60))
    for header in ("微网格", "电话", "标签", "地址", "户主", "已访"):
        assert header in wide
    for header in ("微网格", "电话", "标签"):
        assert header not in narrow
    for header in ("编号", "地址", "户主", "已访"):
        assert header in narrow


def test_a_long_address_is_cut_not_wrapped(cli, monkeypatch):
    address = "曹杨新村街道曹杨一村" * 4 + "12号301室"
    assert cli("household", "add", "--address", address, "--grid", "曹杨一村1号网格").exit_code == 0
    lines = _listing(cli, monkeypatch, 80)
    [line] = [ln for ln in lines if "曹杨新村街道" in ln]
    assert "…" in line and cell_len(line) <= 80
