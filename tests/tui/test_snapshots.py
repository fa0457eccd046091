"""SVG snapshots of every screen on the deterministic demo street (fixed size, fixed today).

Update after a deliberate change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and look at the pictures in the report before committing them.
"""

from __future__ import annotations

import datetime as dt
import sys
import types

import pytest
from textual.widgets import Input

from visitlog.store import Store
from visitlog.tui.app import make_app
from visitlog.tui.widgets.item_editor import ItemEditor

SIZE = (100, 30)
TODAY = dt.date(2026, 11, 27)


async def _settle(pilot) -> None:
    """Let the loaders and their messages finish before the picture is taken.

    A blinking cursor would make the picture depend on the moment it is taken,
    so cursors are made steady.
    """
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    for widget in pilot.app.screen.query("Input, TextArea"):
        widget.cursor_blink = False
    await pilot.pause()


@pytest.fixture
def demo_app(demo_db):
    store = Store(demo_db)
    yield make_app(store, today=TODAY)
    store.close()


def test_home(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=SIZE, run_before=_settle)


def test_home_80x24(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=_settle)


def test_home_search(snap_compare, demo_app):
    async def search(pilot):
        await _settle(pilot)
        await pilot.press("slash", *"cy1c12")
        await _settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=search)


def test_household_details(snap_compare, demo_app):
    async def details(pilot):
        await _settle(pilot)
        await pilot.press("down", "enter")
        await _settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=details)


def test_new_visit(snap_compare, demo_app):
    async def form(pilot):
        await _settle(pilot)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"老人腿脚不便，希望加装电梯")
        await pilot.press("ctrl+n")
        await pilot.pause()
        editor = pilot.app.screen.query_one(ItemEditor)
        editor.query_one("#description", Input).value = "希望加装电梯"
        editor.query_one("#deadline", Input).value = "2026-12-31"
        pilot.app.screen.query_one("#summary").focus()
        await _settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=form)


def test_new_visit_80x24(snap_compare, demo_app):
    async def form(pilot):
        await _settle(pilot)
        await pilot.press("n")
        await _settle(pilot)

    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=form)


def test_open_items(snap_compare, demo_app):
    async def items(pilot):
        await _settle(pilot)
        await pilot.press("i")
        await _settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=items)


def test_item_dialog(snap_compare, demo_app):
    async def dialog(pilot):
        await _settle(pilot)
        await pilot.press("i")
        await _settle(pilot)
        await pilot.press("enter")
        await _settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=dialog)


def _fake_summary(**_kwargs) -> types.SimpleNamespace:
    """Fixed figures, so the picture tests the screen and not the summary module."""
    group = {
        "micro_grid": "曹杨一村1号网格",
        "households": 64,
        "visited_households": 41,
        "coverage": 41 / 64,
        "still_due": 23,
        "visits": 97,
        "items": {"问题": 18, "需求": 12, "赋能": 4, "措施": 9},
        "open_items": 11,
        "closed_items": 32,
        "closure_rate": 32 / 43,
        "overdue_items": 3,
        "satisfaction_rate": 0.912,
        "key_coverage": 0.8,
        "on_spot_rate": 0.25,
    }
    data = {
        "period": {"from": "2026-01-01", "to": "2026-11-27"},
        "groups": [group],
        "totals": group,
    }
    return types.SimpleNamespace(to_json=lambda: data)


def test_summary(snap_compare, demo_app, monkeypatch):
    fake = types.ModuleType("visitlog.summary")
    fake.compute_summary = lambda store, **kwargs: _fake_summary(**kwargs)
    monkeypatch.setitem(sys.modules, "visitlog.summary", fake)

    async def summary(pilot):
        await _settle(pilot)
        await pilot.press("s")
        await _settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=summary)


def test_welcome(snap_compare, db_path):
    store = Store(db_path)
    store.init_identity("王丽华")
    app = make_app(store, today=TODAY)
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)
    store.close()


def test_identity_80x24(snap_compare, db_path):
    store = Store(db_path)
    app = make_app(store, today=TODAY)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_settle)
    store.close()


def test_home_english_light(snap_compare, demo_app):
    from visitlog.i18n import set_lang

    set_lang("en")
    store = demo_app.store
    app = make_app(store, today=TODAY)
    app.theme = "textual-light"
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)
