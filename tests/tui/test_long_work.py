"""Summary, sync, roster import and conflicts: core modules run in workers; a missing one is an error."""

from __future__ import annotations

import sys
import time

from textual.widgets import DataTable, Input

from visitlog.model import Household, Visit
from visitlog.store import Store
from visitlog.summary import compute_summary
from visitlog.sync import sync_with
from visitlog.tui.app import make_app
from visitlog.tui.screens.confirm import ConfirmDialog
from visitlog.tui.screens.conflicts import ConflictsScreen
from visitlog.tui.screens.home import HomeScreen
from visitlog.tui.screens.prompt import PromptDialog
from visitlog.tui.screens.report import ReportDialog
from visitlog.tui.screens.summary import SummaryScreen


async def test_summary_of_my_grid(tui_store, today, settle, plain, wait_for):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, SummaryScreen) and app.screen.data,
            "the summary computed",
        )
        screen = app.screen
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
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "home")


async def test_a_missing_core_module_is_an_error_not_a_missing_feature(
    store, today, settle, tmp_path, wait_for, plain, monkeypatch
):
    """The roster, sync and demo engines load when their work is asked for (the
    home screen paints without them); in a broken install that work fails with
    the one crash line naming the log, never as a feature quietly missing."""
    store.init_identity("王丽华")
    roster = tmp_path / "花名册.csv"
    roster.write_text("地址,微网格\n曹杨一村12号301室,曹杨一村1号网格\n", encoding="utf-8")
    # None in sys.modules makes the import fail, as in a broken install.
    for name in [
        m for m in sys.modules if m == "visitlog.roster" or m.startswith("visitlog.roster.")
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "visitlog.roster", None)
    app = make_app(store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")  # from the welcome screen
        await wait_for(pilot, lambda: isinstance(app.focused, Input), "the file question")
        app.screen.query_one(Input).value = str(roster)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReportDialog), "the report")
        message = app.screen.query_one("#report-message")
        assert message.has_class("report-error")
        assert "errors.log" in plain(message).replace("\n", "")
    assert store.micro_grids() == []


async def test_sync_asks_the_hub_once_then_syncs_in_a_worker(
    tui_store, today, settle, tmp_path, wait_for, plain, click
):
    hub = tmp_path / "hub.db"

    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        unsynced = tui_store.unsynced_count()
        assert unsynced > 0 and str(unsynced) in app.sub_title
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.focused, Input), "the hub question")
        assert isinstance(app.screen, PromptDialog)
        app.screen.query_one(Input).value = str(hub)
        await pilot.press("enter")
        # No hub there yet: asked before one is made, and "no" has the focus.
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "asked")
        assert str(hub) in plain(app.screen.query_one(".dialog-body")).replace("\n", "")
        await wait_for(pilot, lambda: app.focused is not None, "an answer focused")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "not made")
        await settle(pilot)
        assert not hub.exists()
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "asked again")
        await click(pilot, "#choice-yes")
        await wait_for(pilot, lambda: isinstance(app.screen, ReportDialog), "the report")
        report = app.screen
        lines = dict(report._lines)
        assert int(lines["发出的修改"]) == unsynced
        await wait_for(pilot, lambda: app.focused is not None, "the report's button")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "未同步 0" in app.sub_title, "nothing left to sync")
        assert isinstance(app.screen, HomeScreen)
        await settle(pilot)
        # the second time the hub is known: no question
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ReportDialog), "the report")
        assert dict(app.screen._lines)["发出的修改"] == "0"
    assert tui_store.get_setting("hub_path") == str(hub)
    assert hub.exists()


async def test_roster_import_from_the_palette(store, today, settle, tmp_path, wait_for):
    store.init_identity("王丽华")
    roster = tmp_path / "花名册.csv"
    roster.write_text(
        "地址,微网格,户主,联系电话\n"
        "曹杨一村12号301室,曹杨一村1号网格,王建国,13812345678\n"
        "曹杨一村12号302室,曹杨一村1号网格,李梅,13912345678\n"
        ",曹杨一村1号网格,没有地址,\n",
        encoding="utf-8",
    )

    app = make_app(store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")  # from the welcome screen
        await wait_for(pilot, lambda: isinstance(app.focused, Input), "the file question")
        prompt = app.screen
        assert isinstance(prompt, PromptDialog)
        prompt.query_one(Input).value = str(tmp_path / "nope.csv")
        await pilot.press("enter")
        error = prompt.query_one("#prompt-error")
        await wait_for(pilot, lambda: error.has_class("-shown"), "the box says it")
        assert app.screen is prompt  # a missing file is said by the box
        prompt.query_one(Input).value = str(roster)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReportDialog), "the report")
        await settle(pilot)
        report = app.screen
        assert isinstance(report, ReportDialog)
        lines = dict(report._lines)
        assert lines["新增"] == "2" and lines["未导入（有错误）"] == "1"
        await wait_for(pilot, lambda: app.focused is not None, "the report's button")
        await pilot.press("enter")
        # the welcome screen is gone
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
        await settle(pilot)
        assert app.screen.table.row_count == 2


async def test_conflicts_review_asks_names_who_and_restores_both_ways(
    tmp_path, today, settle, plain, wait_for, click
):
    hub = tmp_path / "hub.db"
    a = Store(tmp_path / "a.db")
    a.init_identity("王丽华", "laptop-a")
    h = a.add_household(Household(address="曹杨一村12号301室", micro_grid="1号网格", head="王建国"))
    # laptop-a's worker records visits: that is how laptop-b learns whose laptop it is
    a.add_visit(Visit(household_id=h.id, visit_date="2026-11-20", visitor="王丽华"))
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
    device_a = a.device_id

    app = make_app(b, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        commands["同步冲突"].callback()  # the palette entry (sync offers review)
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ConflictsScreen) and app.screen.loaded,
            "the conflicts read",
        )
        screen = app.screen
        table = screen.query_one(DataTable)
        assert table.row_count == 1
        row = " ".join(str(cell) for cell in table.get_row_at(0))
        # Chinese field name, both values, and who made the overwritten one
        assert "户主" in row and "head" not in row
        assert "王建华" in row and "王建民" in row
        assert f"王丽华 · {device_a}" in row
        # asked first: the safe answer has the focus, enter changes nothing
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "asked")
        question = plain(app.screen.query_one(".dialog-body"))
        assert "王建民" in question and "王建华" in question
        await wait_for(pilot, lambda: app.focused is not None, "an answer focused")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen, "back")
        await settle(pilot)
        assert b.get_household(h.id).head == "王建民"
        # yes: restored
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "asked")
        await click(pilot, "#choice-yes")
        await wait_for(pilot, lambda: b.get_household(h.id).head == "王建华", "restored")
        await wait_for(pilot, lambda: screen.loaded and table.row_count == 0, "list again")
        # the value it replaced is kept: shown with the handled ones, restorable
        await pilot.press("a")
        await wait_for(pilot, lambda: screen.loaded and table.row_count == 1, "all")
        row = " ".join(str(cell) for cell in table.get_row_at(0))
        assert "已恢复" in row
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "asked")
        await click(pilot, "#choice-yes")
        await wait_for(pilot, lambda: b.get_household(h.id).head == "王建民", "back again")
        await settle(pilot)
    a.close()
    b.close()


async def test_a_failed_sync_or_import_shows_its_message(
    tui_store, today, settle, tmp_path, plain, wait_for
):
    """The error dialog shows the error's words (they were hidden by the forms' error style)."""
    not_a_db = tmp_path / "hub.db"
    not_a_db.write_text("这不是数据库" * 100, encoding="utf-8")
    roster = tmp_path / "名册.csv"
    roster.write_text("姓名,年龄\n王建国,80\n", encoding="utf-8")

    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app._start_sync(str(not_a_db))
        await wait_for(pilot, lambda: isinstance(app.screen, ReportDialog), "the report")
        message = app.screen.query_one("#report-message")
        await wait_for(pilot, lambda: message.region.area > 0, "the message laid out")
        shown = plain(message)
        assert "不是 visitlog 数据库" in shown and "hub.db" in shown
        assert message.display and message.styles.display != "none"
        # the words are on the screen, not only in the widget
        assert "不是 visitlog 数据库" in _screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "closed")
        app._start_progress("导入")
        app._run_import(roster)
        await wait_for(pilot, lambda: isinstance(app.screen, ReportDialog), "the report")
        message = app.screen.query_one("#report-message")
        await wait_for(pilot, lambda: message.region.area > 0, "the message laid out")
        assert "地址" in plain(message)  # the header row it could not find
        assert "地址" in _screen_text(app)


def _screen_text(app) -> str:
    """What the terminal shows now, as text (the screenshot's characters)."""
    import re

    svg = app.export_screenshot()
    return re.sub(r"<[^>]+>", "", svg).replace("&#160;", " ").replace("\xa0", " ")
