"""The app never waits on the database on its UI thread.

Another program holding a long write (a roster import, a first sync) is
simulated by a second connection holding ``BEGIN IMMEDIATE``.  Meanwhile the
screen keeps handling keys, says what it waits for, keeps the draft, and
stores the change once the write lock is free; closing the app meanwhile
loses nothing (the draft is offered at the next start).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import rawdb
from textual.widgets import Input, Select, TextArea

from visitlog.model import Household
from visitlog.store import DraftBox, Store
from visitlog.tui.app import make_app
from visitlog.tui.screens.confirm import ChoiceDialog, ConfirmDialog
from visitlog.tui.screens.conflicts import ConflictsScreen
from visitlog.tui.screens.home import HomeScreen
from visitlog.tui.screens.item_dialog import ItemDialog
from visitlog.tui.screens.items import ItemsScreen


@contextlib.contextmanager
def write_lock_held(db: Path) -> Iterator[sqlite3.Connection]:
    """Another program's long write: the database's write lock, held until the block ends."""
    conn = rawdb.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def _shown(widget) -> bool:
    return widget.has_class("-shown") and bool(str(widget.render()).strip())


async def test_saving_a_visit_waits_for_another_programs_write_without_freezing(
    tui_store, today, settle, wait_for
):
    box = DraftBox(tui_store.path)

    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        row = app.screen.table.current_row()
        before = len(tui_store.list_visits(household=row["id"]))
        await pilot.press("n")
        await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "summary", "form")
        form = app.screen
        await pilot.press(*"楼道灯坏了")
        with write_lock_held(tui_store.path):
            await pilot.press("ctrl+s")
            status = form.query_one("#form-status")
            # it says what it waits for, on the form and in the header
            await wait_for(pilot, lambda: "等待数据库" in str(status.render()), "waiting")
            assert _shown(status) and "等待数据库" in app.sub_title
            # the draft is on disk, whatever happens next
            assert box.get(f"visit:{row['id']}").data["summary"] == "楼道灯坏了"
            # the keyboard still works: escape is answered (the save is pending)
            await pilot.press("escape")
            await wait_for(
                pilot,
                lambda: any("正在保存" in n.message for n in app._notifications),
                "escape answered",
            )
            assert app.screen is form and form.saving
            assert len(tui_store.list_visits(household=row["id"])) == before
        # the lock is free: the visit is stored, the form closes, the draft goes
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "saved")
        await settle(pilot)
        visits = tui_store.list_visits(household=row["id"])
        assert [v.summary for v in visits[before:]] == ["楼道灯坏了"]
        assert box.list() == [] and "等待数据库" not in app.sub_title


def test_closing_the_app_while_a_save_waits_keeps_the_draft(
    demo_db, today, settle, wait_for, click
):
    store = Store(demo_db)
    box = DraftBox(demo_db)

    async def close_while_waiting():
        app = make_app(store, today=today)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            row = app.screen.table.current_row()
            await pilot.press("n")
            await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "summary", "form")
            await pilot.press(*"独居老人")
            await pilot.press("ctrl+s")
            form = app.screen
            await wait_for(
                pilot,
                lambda: "等待数据库" in str(form.query_one("#form-status").render()),
                "waiting",
            )
            app.exit()  # the worker closes the laptop while the save waits
        return row

    # The other program keeps its lock until the app is gone; asyncio.run
    # returns (it waits for the worker threads): the waiting write gave up
    # instead of holding the app open.
    with write_lock_held(demo_db):
        row = asyncio.run(close_while_waiting())
    assert not [v for v in store.list_visits(household=row["id"]) if v.summary == "独居老人"]
    assert box.get(f"visit:{row['id']}").data["summary"] == "独居老人"

    async def next_start():
        app = make_app(store, today=today)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the offer")
            await click(pilot, "#choice-restore")
            await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "summary", "form")
            assert app.screen.query_one("#summary", TextArea).text == "独居老人"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "saved")
            await settle(pilot)

    asyncio.run(next_start())
    saved = [v for v in store.list_visits(household=row["id"]) if v.summary == "独居老人"]
    assert len(saved) == 1
    assert box.list() == []
    store.close()


async def test_changing_an_item_waits_for_another_programs_write(
    tui_store, today, settle, wait_for
):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, ItemsScreen), "items")
        items = app.screen
        await wait_for(pilot, lambda: items.items, "the items")
        item = items.items[0]
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ItemDialog), "the dialog")
        dialog = app.screen
        await wait_for(pilot, lambda: dialog.query("#note"), "the dialog's fields")
        dialog.query_one("#status", Select).value = "已办结"
        dialog.query_one("#note", Input).value = "已修好"
        with write_lock_held(tui_store.path):
            await pilot.press("ctrl+s")
            status = dialog.query_one("#form-status")
            await wait_for(pilot, lambda: "等待数据库" in str(status.render()), "waiting")
            assert app.screen is dialog
            assert tui_store.get_item(item.id).status == item.status
        await wait_for(pilot, lambda: app.screen is items, "stored")
        await settle(pilot)
        assert tui_store.get_item(item.id).status == "已办结"


async def test_adding_a_household_waits_and_the_header_says_so(db_path, today, settle, wait_for):
    store = Store(db_path)
    store.init_identity("王丽华", grid="一网格")
    store.add_household(Household(address="曹杨一村1号101室", micro_grid="一网格"))

    app = make_app(store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.action_add_household()
        await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "address", "form")
        await pilot.press(*"曹杨一村1号102室")
        with write_lock_held(db_path):
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: "等待数据库" in app.sub_title, "the header says so")
            assert len(store.list_households()) == 1
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "stored")
        await settle(pilot)
        assert app.screen.table.matches == 2
    assert len(store.list_households()) == 2
    store.close()


async def test_restoring_a_conflict_asks_then_waits_for_the_database(
    tmp_path, today, settle, wait_for, click
):
    from visitlog.sync import sync_with

    hub = tmp_path / "hub.db"
    a = Store(tmp_path / "a.db")
    a.init_identity("王丽华", "laptop-a")
    h = a.add_household(Household(address="曹杨一村12号301室", micro_grid="1号网格", head="王建国"))
    sync_with(a, hub)
    b = Store(tmp_path / "b.db")
    b.init_identity("李晓燕", "laptop-b")
    sync_with(b, hub)
    a.update_household(h.id, head="王建华")
    b.update_household(h.id, head="王建民")
    sync_with(a, hub)
    sync_with(b, hub)
    lost, kept = (
        ("王建华", "王建民") if b.get_household(h.id).head == "王建民" else ("王建民", "王建华")
    )

    app = make_app(b, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.action_conflicts()
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ConflictsScreen) and app.screen.loaded,
            "conflicts",
        )
        with write_lock_held(b.path):
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "asked")
            await click(pilot, "#choice-yes")
            await wait_for(pilot, lambda: "等待数据库" in app.sub_title, "waiting")
            assert b.get_household(h.id).head == kept
        await wait_for(pilot, lambda: b.get_household(h.id).head == lost, "restored")
        await settle(pilot)
    a.close()
    b.close()
