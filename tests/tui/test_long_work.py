"""Summary, sync, roster import and conflicts: core modules run in workers; missing ones say so."""

from __future__ import annotations

import asyncio
import sys
import time

from textual.widgets import DataTable, Input

from visitlog.model import Household
from visitlog.store import Store
from visitlog.summary import compute_summary
from visitlog.sync import sync_with
from visitlog.tui.app import make_app
from visitlog.tui.screens.conflicts import ConflictsScreen
from visitlog.tui.screens.home import HomeScreen
from visitlog.tui.screens.prompt import PromptDialog
from visitlog.tui.screens.report import ReportDialog
from visitlog.tui.screens.summary import SummaryScreen


def test_summary_of_my_grid(tui_store, today, settle, plain):
    async def run():
        app = make_app(tui_store, today=today)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            await pilot.press("s")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, SummaryScreen)
            text = plain(screen.query_one("#summary-body"))
            data = compute_summary(tui_store, grid="曹杨一村1号网格", today=today).to_json()
            [mine] = data["groups"]
            assert "走访覆盖率" in text and "█" in text
            assert f"{mine['coverage'] * 100:.1f}%" in text
            assert f"已访 {mine['visited_households']} / 应访 {mine['households']} 户" in text
            assert f"{mine['closure_rate'] * 100:.1f}%" in text
            for kind in ("问题", "需求", "赋能", "措施"):
                assert f"{kind} {mine['items'].get(kind, 0)}" in text
            await pilot.press("escape")
            assert isinstance(app.screen, HomeScreen)

    asyncio.run(run())


def test_missing_summary_and_sync_modules_say_so(tui_store, today, settle, monkeypatch):
    # None in sys.modules makes the import fail, as in a build without the module.
    monkeypatch.setitem(sys.modules, "visitlog.summary", None)
    monkeypatch.setitem(sys.modules, "visitlog.sync", None)
    monkeypatch.setitem(sys.modules, "visitlog.roster", None)

    async def run():
        app = make_app(tui_store, today=today)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            for key in ("s", "y"):
                await pilot.press(key)
                await pilot.pause()
                assert isinstance(app.screen, HomeScreen)
            app.action_import_roster()
            await pilot.pause()
            assert isinstance(app.screen, HomeScreen)
            messages = [n.message for n in app._notifications]
            assert any("汇总" in m and "尚未" in m for m in messages)
            # sync: not available, and the unsynced count is still told
            assert any(str(tui_store.unsynced_count()) in m for m in messages)
            assert any("导入花名册" in m for m in messages)

    asyncio.run(run())


def test_sync_asks_the_hub_once_then_syncs_in_a_worker(tui_store, today, settle, tmp_path):
    hub = tmp_path / "hub.db"

    async def run():
        app = make_app(tui_store, today=today)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            unsynced = tui_store.unsynced_count()
            assert unsynced > 0 and str(unsynced) in app.sub_title
            await pilot.press("y")
            await pilot.pause()
            assert isinstance(app.screen, PromptDialog)
            app.screen.query_one(Input).value = str(hub)
            await pilot.press("enter")
            await settle(pilot)
            report = app.screen
            assert isinstance(report, ReportDialog)
            lines = dict(report._lines)
            assert int(lines["发出的修改"]) == unsynced
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, HomeScreen)
            assert "未同步 0" in app.sub_title
            # the second time the hub is known: no question
            await pilot.press("y")
            await settle(pilot)
            assert isinstance(app.screen, ReportDialog)
            assert dict(app.screen._lines)["发出的修改"] == "0"

    asyncio.run(run())
    assert tui_store.get_setting("hub_path") == str(hub)
    assert hub.exists()


def test_roster_import_from_the_palette(store, today, settle, tmp_path):
    store.init_identity("王丽华")
    roster = tmp_path / "花名册.csv"
    roster.write_text(
        "地址,微网格,户主,联系电话\n"
        "曹杨一村12号301室,曹杨一村1号网格,王建国,13812345678\n"
        "曹杨一村12号302室,曹杨一村1号网格,李梅,13912345678\n"
        ",曹杨一村1号网格,没有地址,\n",
        encoding="utf-8",
    )

    async def run():
        app = make_app(store, today=today)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            await pilot.press("r")  # from the welcome screen
            await pilot.pause()
            prompt = app.screen
            assert isinstance(prompt, PromptDialog)
            prompt.query_one(Input).value = str(tmp_path / "nope.csv")
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen is prompt  # a missing file is said by the box
            assert prompt.query_one("#prompt-error").has_class("-shown")
            prompt.query_one(Input).value = str(roster)
            await pilot.press("enter")
            await settle(pilot)
            report = app.screen
            assert isinstance(report, ReportDialog)
            lines = dict(report._lines)
            assert lines["新增"] == "2" and lines["未导入（有错误）"] == "1"
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, HomeScreen)  # the welcome screen is gone
            assert app.screen.table.row_count == 2

    asyncio.run(run())


def test_conflicts_review_restores_the_overwritten_value(tmp_path, today, settle):
    hub = tmp_path / "hub.db"
    a = Store(tmp_path / "a.db")
    a.init_identity("王丽华", "laptop-a")
    h = a.add_household(Household(address="曹杨一村12号301室", micro_grid="1号网格", head="王建国"))
    sync_with(a, hub)
    b = Store(tmp_path / "b.db")
    b.init_identity("李晓燕", "laptop-b")
    sync_with(b, hub)
    a.update_household(h.id, head="王建华")
    time.sleep(0.01)  # b's stamp is certainly the later one
    b.update_household(h.id, head="王建民")
    sync_with(a, hub)
    sync_with(b, hub)  # b's edit is later: it wins, a's value is kept as a conflict
    assert b.get_household(h.id).head == "王建民"

    async def run():
        app = make_app(b, today=today)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            commands = {c.title: c for c in app.get_system_commands(app.screen)}
            commands["同步冲突"].callback()  # the palette entry (sync offers review)
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ConflictsScreen)
            assert screen.query_one(DataTable).row_count == 1
            await pilot.press("enter")
            await settle(pilot)
            assert screen.query_one(DataTable).row_count == 0

    asyncio.run(run())
    assert b.get_household(h.id).head == "王建华"
    a.close()
    b.close()
