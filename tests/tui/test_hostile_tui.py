"""Hostile text on every screen of the terminal app.

A worker name, a grid, an address, a head, a note, a visit summary, an item
and a conflict all hold one string of :data:`hostile.CORPUS`; the home list,
the household details, the open items and their dialog, the summary, the
conflicts review, the dedup review, a confirmation, an error report, a
notification, the header and the command palette must show it literally,
with no raw control character among what is drawn and nothing read as
markup.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from hostile import CORPUS, raw_controls

from visitlog.model import Household, Item, Visit
from visitlog.store import Store
from visitlog.sync import sync_with
from visitlog.tui.app import make_app
from visitlog.tui.screens.confirm import ConfirmDialog
from visitlog.tui.screens.conflicts import ConflictsScreen
from visitlog.tui.screens.dedup_review import DedupReviewScreen
from visitlog.tui.screens.details import HouseholdScreen
from visitlog.tui.screens.home import HomeScreen
from visitlog.tui.screens.identity import IdentityDialog
from visitlog.tui.screens.item_dialog import ItemDialog
from visitlog.tui.screens.items import ItemsScreen
from visitlog.tui.screens.report import ReportDialog
from visitlog.tui.screens.summary import SummaryScreen
from visitlog.visible import visible

#: Strings run in the fast suite; the whole corpus runs with the slow tests.
FAST = ("markup_close", "markup_link", "osc52_clipboard", "c1_csi", "bidi_override", "nul")


def _street(tmp_path: Path, text: str) -> Store:
    """Laptop b: a household, a visit with an item, a twin household, and a conflict."""
    hub = tmp_path / "hub.db"
    grid = f"网格{text}"[:60]
    a = Store(tmp_path / "a.db")
    a.init_identity(f"王{text}"[:60], "laptop-a", grid)
    h = a.add_household(
        Household(
            address=f"曹杨一村{text}"[:200],
            micro_grid=grid,
            community=f"居民区{text}",
            head=f"王{text}",
            note=text,
        )
    )
    a.add_household(Household(address=f"曹杨一村{text}"[:200], micro_grid=grid, head="王"))
    a.add_visit(
        Visit(
            household_id=h.id,
            visit_date="2026-11-20",
            visitor=f"陈{text}"[:60],
            summary=text,
            items=[Item(kind="问题", category="物业", description=text, owner=text)],
        )
    )
    sync_with(a, hub)
    b = Store(tmp_path / "b.db")
    b.init_identity(f"李{text}"[:60], "laptop-b", grid)
    sync_with(b, hub)
    a.update_household(h.id, head=f"甲{text}")
    time.sleep(0.01)  # b's stamp is certainly the later one
    b.update_household(h.id, head=f"乙{text}")
    sync_with(a, hub)
    sync_with(b, hub)  # a's value is kept as a conflict on b
    a.close()
    return b


def _drawn(app) -> str:
    """Every character drawn on the current screen (toasts and header included)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in strips)


def _check(app, where: str, *expected: str) -> str:
    drawn = _drawn(app)
    assert raw_controls(drawn) == [], where
    flat = drawn.replace("\n", "")
    for text in expected:
        assert text in flat, (where, text)
    return drawn


async def _tour(app, pilot, text: str, settle, wait_for, tmp_path) -> None:
    short = visible(text)[:8]  # what fits in every column at 120 cells
    await settle(pilot)
    home = app.screen
    assert isinstance(home, HomeScreen)
    await wait_for(pilot, lambda: home.table.row_count == 2, "the two households")
    _check(app, "home", short)
    # details
    await pilot.press("enter")
    await wait_for(
        pilot, lambda: isinstance(app.screen, HouseholdScreen) and app.screen.household, "details"
    )
    await settle(pilot)
    _check(app, "details", short)
    await pilot.press("escape")
    await wait_for(pilot, lambda: app.screen is home, "home again")
    # open items and their dialog
    app.action_open_items()
    await wait_for(pilot, lambda: isinstance(app.screen, ItemsScreen) and app.screen.items, "items")
    await settle(pilot)
    _check(app, "items", short)
    items = app.screen
    items.action_edit_item()
    await wait_for(pilot, lambda: isinstance(app.screen, ItemDialog), "item dialog")
    await settle(pilot)
    _check(app, "item dialog", short)
    await pilot.press("escape")
    await wait_for(pilot, lambda: app.screen is items, "items again")
    await pilot.press("escape")
    await wait_for(pilot, lambda: app.screen is home, "home again")
    # summary
    app.action_open_summary()
    await wait_for(
        pilot, lambda: isinstance(app.screen, SummaryScreen) and app.screen.data, "summary"
    )
    await settle(pilot)
    _check(app, "summary", short)
    await pilot.press("escape")
    await wait_for(pilot, lambda: app.screen is home, "home again")
    # conflicts and the question before a restore
    app.action_conflicts()
    await wait_for(
        pilot, lambda: isinstance(app.screen, ConflictsScreen) and app.screen.loaded, "conflicts"
    )
    await settle(pilot)
    _check(app, "conflicts", short)
    conflicts = app.screen
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "asked")
    _check(app, "confirm", short)
    await pilot.press("escape")
    await wait_for(pilot, lambda: app.screen is conflicts, "conflicts again")
    await pilot.press("escape")
    await wait_for(pilot, lambda: app.screen is home, "home again")
    # dedup review
    app.action_dedup_review()
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, DedupReviewScreen) and app.screen.loaded,
        "dedup review",
    )
    await settle(pilot)
    _check(app, "dedup review", short)
    await pilot.press("escape")
    await wait_for(pilot, lambda: app.screen is home, "home again")
    # an error report naming a hostile file, and a notification naming data
    missing = tmp_path / f"名册{text[:40]}.xlsx"
    app.push_screen(ReportDialog("导入", message=f"找不到 {missing}", error=True))
    await wait_for(pilot, lambda: isinstance(app.screen, ReportDialog), "report")
    await settle(pilot)
    _check(app, "report", visible(str(missing))[:20])
    await pilot.press("escape")
    await wait_for(pilot, lambda: app.screen is home, "home again")
    # an input holding data: the worker's name in the identity dialog
    app.action_identity()
    await wait_for(pilot, lambda: isinstance(app.screen, IdentityDialog), "identity")
    await settle(pilot)
    _check(app, "identity input", visible(f"李{text}")[:6])
    app.screen.dismiss(None)  # the dialog has no cancel: closed as it was
    await wait_for(pilot, lambda: app.screen is home, "home again")
    app.notify(f"已保存 {text}", title=text)
    await settle(pilot)
    _check(app, "notification", short)
    # the palette lists the grid by its name, shown literally
    titles = [c.title for c in app.get_system_commands(app.screen)]
    assert any(visible(f"网格{text}"[:60]) in title for title in titles)
    assert all(raw_controls(title) == [] for title in titles)


async def _run(tmp_path: Path, name: str, settle, wait_for) -> None:
    text = CORPUS[name]
    store = _street(tmp_path, text)
    try:
        app = make_app(store)
        async with app.run_test(size=(120, 40)) as pilot:
            await _tour(app, pilot, text, settle, wait_for, tmp_path)
    finally:
        store.close()


@pytest.mark.parametrize("name", FAST)
async def test_hostile_text_on_every_screen(name, tmp_path, settle, wait_for):
    await _run(tmp_path, name, settle, wait_for)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(CORPUS) - set(FAST)))
async def test_the_whole_corpus_on_every_screen(name, tmp_path, settle, wait_for):
    await _run(tmp_path, name, settle, wait_for)


async def test_a_crash_shows_one_plain_line_and_no_local_variables(store, capsys):
    """A bug in a screen: exit status 1, one line naming the log, no traceback, no data."""
    from visitlog.crashlog import log_path

    secret = "王秀英13812345678"
    store.add_household(Household(address="曹杨一村1号", micro_grid="一网格", head=secret))

    holder = {}

    async def run():
        app = make_app(store)
        holder["app"] = app

        def boom() -> None:
            phone_of_the_head = secret  # a local variable a traceback would print
            raise RuntimeError(f"bug near {phone_of_the_head}")

        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            app.call_later(boom)
            await pilot.pause()

    with pytest.raises(RuntimeError):
        await run()
    app = holder["app"]
    assert app.return_code == 1
    assert app.crash_message.startswith("visitlog 内部出错（RuntimeError）")
    assert str(log_path()) in app.crash_message
    printed = capsys.readouterr()
    shown = (printed.out + printed.err).replace("\n", "")
    assert "错误：visitlog 内部出错（RuntimeError）" in shown
    assert secret not in shown and "Traceback" not in shown and "phone_of_the_head" not in shown
    log = log_path()
    assert log.exists()
    content = log.read_text(encoding="utf-8")
    assert "RuntimeError" in content and "boom" in content
    assert secret not in content and "13812345678" not in content
    if sys.platform != "win32":
        assert log.stat().st_mode & 0o777 == 0o600
