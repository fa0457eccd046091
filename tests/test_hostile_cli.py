"""Hostile text through every CLI listing, table and JSON output.

Each string of :data:`tests.hostile.CORPUS` goes into a household (address,
grid, community, head, note), a visit (visitor, summary) and its item
(description, owner); every command that shows them must exit 0, send no raw
control character to the terminal, read nothing as markup, and show the text
literally (its control characters as visible symbols).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile import CORPUS, raw_controls
from typer.testing import CliRunner

from visitlog.model import Household, Item, Visit
from visitlog.store import Store
from visitlog.visible import visible

#: Wide enough that short values are never folded, so they can be found whole.
WIDE = {"COLUMNS": "3000", "LINES": "50"}


@pytest.fixture(autouse=True)
def _wide_consoles(monkeypatch):
    """Wide consoles (whatever the environment), so short values are never folded."""
    from visitlog.cli import common

    for con in (common.console, common.err_console):
        monkeypatch.setattr(con, "_width", 3000)


def _populate(db: Path, text: str) -> dict[str, str]:
    with Store(db) as s:
        s.init_identity("王丽华", "laptop-1", None)
        h = s.add_household(
            Household(
                address=f"曹杨一村{text}",
                micro_grid=f"网格{text}"[:60],
                community=f"居民区{text}",
                head=f"王{text}",
                phone="13812345678",
                note=text,
            )
        )
        twin = s.add_household(Household(address=f"曹杨一村{text}", micro_grid=f"网格{text}"[:60]))
        v = s.add_visit(
            Visit(
                household_id=h.id,
                visit_date="2026-03-01",
                visitor=f"陈{text}"[:60],
                summary=text,
                items=[Item(kind="问题", category="物业", description=text, owner=text)],
            )
        )
        s.add_visit(
            Visit(
                household_id=h.id, visit_date="2026-03-01", visitor=f"陈{text}"[:60], summary=text
            )
        )
    return {"household": h.id, "twin": twin.id, "visit": v.id}


def _run(db: Path, *args: str):
    from visitlog.cli import app

    return CliRunner().invoke(app, ["--db", str(db), *args], env=WIDE)


LISTINGS = [
    ("household", "list"),
    ("household", "list", "--reveal"),
    ("visit", "list"),
    ("item", "list"),
    ("dedup", "households"),
    ("dedup", "households", "--reveal"),
    ("dedup", "visits"),
    ("summary",),
    ("summary", "--format", "md"),
    ("summary", "--format", "json"),
    ("audit", "list"),
    ("conflicts",),
    ("check",),
]
JSON_LISTINGS = [
    ("household", "list", "--json"),
    ("visit", "list", "--json"),
    ("item", "list", "--json"),
    ("dedup", "households", "--json"),
    ("audit", "list", "--json"),
]


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_listing_shows_hostile_text_literally(name, tmp_path):
    text = CORPUS[name]
    db = tmp_path / "v.db"
    _populate(db, text)
    shown = visible(text)
    for args in LISTINGS:
        result = _run(db, *args)
        assert result.exit_code == 0, (args, result.output)
        assert "Traceback" not in result.output
        assert raw_controls(result.stdout) == [], args
        assert raw_controls(result.stderr) == [], args
    if len(shown) < 60:
        # Short values are shown whole, as written: markup stays text.
        out = _run(db, "household", "list", "--reveal").stdout
        assert f"曹杨一村{shown}" in out
        assert f"网格{shown}" in out
        out = _run(db, "visit", "list").stdout
        assert f"陈{shown}" in out
        out = _run(db, "summary").stdout
        assert f"网格{shown}" in out


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_json_listing_gives_the_value_back_and_no_raw_control(name, tmp_path):
    text = CORPUS[name]
    db = tmp_path / "v.db"
    ids = _populate(db, text)
    for args in JSON_LISTINGS:
        result = _run(db, *args)
        assert result.exit_code == 0, (args, result.output)
        assert raw_controls(result.stdout) == [], args
        json.loads(result.stdout)
    households = json.loads(_run(db, "household", "list", "--json").stdout)
    mine = next(h for h in households if h["id"] == ids["household"])
    assert mine["note"] == text.strip()
    visits = json.loads(_run(db, "visit", "list", "--json").stdout)
    assert {v["summary"] for v in visits} == {text.strip()}
    items = json.loads(_run(db, "item", "list", "--json").stdout)
    assert items[0]["description"] == text.strip()


@pytest.mark.parametrize("name", ["osc52_clipboard", "c1_csi", "bidi_override", "backspace_cr"])
def test_summary_csv_on_a_terminal_shows_controls_and_in_a_file_keeps_them(
    name, tmp_path, monkeypatch
):
    import visitlog.cli.summary as summary_cli

    text = CORPUS[name]
    db = tmp_path / "v.db"
    _populate(db, text)
    piped = _run(db, "summary", "--format", "csv")
    assert piped.exit_code == 0
    assert f"网格{text}" in piped.stdout_bytes.decode("utf-8-sig")  # the file, as it is
    monkeypatch.setattr(summary_cli, "_on_terminal", lambda: True)
    shown = _run(db, "summary", "--format", "csv")
    assert shown.exit_code == 0
    assert raw_controls(shown.stdout) == []
    assert f"网格{visible(text)}" in shown.stdout


def test_markup_in_data_never_becomes_a_hyperlink_or_a_style(tmp_path):
    db = tmp_path / "v.db"
    _populate(db, "[link=https://x]a[/link][bold red]红[/bold red]")
    from visitlog.cli import app

    result = CliRunner().invoke(
        app, ["--db", str(db), "household", "list", "--reveal"], env={**WIDE, "FORCE_COLOR": "1"}
    )
    assert result.exit_code == 0, result.output
    assert "\x1b]8;" not in result.stdout  # OSC 8: a terminal hyperlink
    assert "[link=https://x]a[/link][bold red]红[/bold red]" in result.stdout


def test_errors_naming_hostile_values_are_one_plain_line(tmp_path):
    db = tmp_path / "v.db"
    _populate(db, "x")
    for text in (CORPUS["markup_close"], CORPUS["osc52_clipboard"], CORPUS["markup_link"]):
        result = _run(db, "household", "list", "--grid", text)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        assert raw_controls(result.stderr) == []
        assert visible(text) in result.stderr.replace("\n", "")


def test_text_that_cannot_be_stored_is_refused_in_one_line(tmp_path):
    """Undecodable bytes in an argument arrive as lone surrogates: refused, nothing stored."""
    db = tmp_path / "v.db"
    _populate(db, "x")
    result = _run(db, "household", "add", "--address", "曹杨\udcff一村", "--grid", "g")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith("错误：") and "无法保存的字符" in result.stderr
    with Store(db) as s:
        assert s.count_live()["households"] == 2
