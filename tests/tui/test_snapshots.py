"""SVG snapshots of every screen on the deterministic demo street (fixed size, fixed today).

Update after a deliberate change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and look at the pictures in the report before committing them.
"""

from __future__ import annotations

import datetime as dt

import pytest
from pilot_support import settle as settle_workers
from pilot_support import wait_for as _wait_for
from textual.widgets import Input

from visitlog.store import Store
from visitlog.summary import Group, Summary
from visitlog.tui.app import make_app
from visitlog.tui.screens import summary as summary_screen
from visitlog.tui.widgets.item_editor import ItemEditor

SIZE = (100, 30)
TODAY = dt.date(2026, 11, 27)


async def _settle(pilot) -> None:
    """Let the loaders and their messages finish before the picture is taken.

    A blinking cursor would make the picture depend on the moment it is taken,
    so cursors are made steady.  The home screen is first waited for: its
    rows, and (on an empty database) the screen the app puts over it.
    """
    app = pilot.app
    await _wait_for(pilot, lambda: app.home is not None and app.home.loaded, "the home rows")
    await settle_workers(pilot)
    for widget in app.screen.query("Input, TextArea"):
        widget.cursor_blink = False
    # A TextArea caches its rendered lines under a key that, with blinking
    # off, no longer says whether the cursor was drawn: a line last drawn in
    # the blink's "off" phase would keep its missing cursor.  Drawn afresh,
    # the picture no longer depends on the moment the blinking stopped.
    for area in app.screen.query("TextArea"):
        area._line_cache.clear()
        area.refresh()
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


def test_home_search(snap_compare, demo_app, wait_for):
    async def search(pilot):
        await _settle(pilot)
        await pilot.press("slash", *"cy1c12")
        home = pilot.app.screen
        await wait_for(
            pilot, lambda: home.index is not None and home.result.query == "cy1c12", "found"
        )
        await _settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=search)


def test_household_details(snap_compare, demo_app, wait_for):
    async def details(pilot):
        await _settle(pilot)
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: getattr(pilot.app.screen, "household", None), "details")
        await _settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=details)


def test_new_visit(snap_compare, demo_app, wait_for):
    async def form(pilot):
        app = pilot.app
        await _settle(pilot)
        await pilot.press("n")
        # typed only once the form has the cursor in 民情摘要
        await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "summary", "the form")
        await pilot.press(*"老人腿脚不便希望加装电梯")
        summary = app.screen.query_one("#summary")
        await wait_for(pilot, lambda: summary.text == "老人腿脚不便希望加装电梯", "typed")
        await pilot.press("ctrl+n")
        await wait_for(
            pilot, lambda: [e for e in app.screen.query(ItemEditor) if e.ready], "the item"
        )
        editor = app.screen.query_one(ItemEditor)
        description = editor.query_one("#description", Input)
        await wait_for(pilot, lambda: app.focused is description, "the item's description")
        description.value = "希望加装电梯"
        editor.query_one("#deadline", Input).value = "2026-12-31"
        summary.focus()
        await wait_for(pilot, lambda: app.focused is summary, "the cursor back in 民情摘要")
        await _settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=form)


def test_new_visit_80x24(snap_compare, demo_app, wait_for):
    async def form(pilot):
        await _settle(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: getattr(pilot.app.focused, "id", "") == "summary", "form")
        await _settle(pilot)

    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=form)


def test_open_items(snap_compare, demo_app, wait_for):
    async def items(pilot):
        await _settle(pilot)
        await pilot.press("i")
        await wait_for(pilot, lambda: getattr(pilot.app.screen, "items", None), "the items")
        await _settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=items)


def test_item_dialog(snap_compare, demo_app, wait_for):
    async def dialog(pilot):
        await _settle(pilot)
        await pilot.press("i")
        await wait_for(pilot, lambda: getattr(pilot.app.screen, "items", None), "the items")
        await pilot.press("enter")
        await wait_for(pilot, lambda: getattr(pilot.app.focused, "id", "") == "status", "dialog")
        await _settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=dialog)


def _fake_summary(**_kwargs) -> Summary:
    """Fixed figures, so the picture tests the screen and not the summary module.

    ``items_total`` is 4 × 43, so that 当场解决率 is 25.0% and 办结率 32/43.
    """
    group = Group(
        name="曹杨一村1号网格",
        households=64,
        visited_households=41,
        still_due=23,
        visits=97,
        items={"问题": 18, "需求": 12, "赋能": 4, "措施": 9},
        items_total=172,
        open_items=11,
        closed_items=128,
        on_spot_items=43,
        overdue_items=3,
        satisfaction={"满意": 100, "基本满意": 14, "不满意": 11, "未评": 0},
        key_households=5,
        key_visited=4,
    )
    return Summary(
        by="micro-grid",
        date_from=dt.date(2026, 1, 1),
        date_to=dt.date(2026, 11, 27),
        today=TODAY,
        grid=None,
        street="曹杨新村街道",
        groups=[group],
        totals=group,
    )


def test_summary(snap_compare, demo_app, monkeypatch, wait_for):
    monkeypatch.setattr(summary_screen, "compute_summary", lambda store, **kw: _fake_summary(**kw))

    async def summary(pilot):
        await _settle(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: getattr(pilot.app.screen, "data", None), "the summary")
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
