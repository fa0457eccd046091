"""The terminal app leaves its database files to SQLite, whatever the worker does.

The app holds its own connection and opens more in its workers; any other
open() of the database, its -wal or -shm in the app's process would drop the
locks of all of them (see tests/open_audit.py).  One session goes through
the screens that read or write (a visit, an item, a household, the summary,
a roster import, a sync, conflicts and duplicates, a draft) under the audit
hook; roster paths that are the database's own files are refused.
"""

from __future__ import annotations

import pytest
from open_audit import watch_database_opens
from textual.widgets import Input

from visitlog.store import Store
from visitlog.tui.app import make_app
from visitlog.tui.screens.confirm import ConfirmDialog
from visitlog.tui.screens.conflicts import ConflictsScreen
from visitlog.tui.screens.dedup_review import DedupReviewScreen
from visitlog.tui.screens.home import HomeScreen
from visitlog.tui.screens.item_dialog import ItemDialog
from visitlog.tui.screens.prompt import PromptDialog
from visitlog.tui.screens.report import ReportDialog
from visitlog.tui.screens.summary import SummaryScreen


@pytest.mark.slow  # one long session through every screen
async def test_every_screen_leaves_the_database_files_to_sqlite(
    demo_db, tmp_path, today, settle, wait_for
):
    roster = tmp_path / "名册.csv"
    roster.write_text("地址,微网格\n曹杨一村99号101室,曹杨一村1号网格\n", encoding="utf-8")
    hub = tmp_path / "hub.db"

    def at(screen_type):
        return lambda: isinstance(app.screen, screen_type)

    async def run():
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            # a visit (its draft, then the save), and its history
            await pilot.press("n")
            await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "summary", "form")
            await pilot.press(*"看望老人")
            await wait_for(pilot, lambda: app.drafts.list(), "the draft written")
            await pilot.press("ctrl+s")
            await wait_for(pilot, at(HomeScreen), "saved")
            await pilot.press("enter")
            await wait_for(pilot, lambda: getattr(app.screen, "household", None), "details")
            await pilot.press("escape")
            # an item
            await pilot.press("i")
            await wait_for(pilot, lambda: getattr(app.screen, "items", None), "items")
            items = app.screen
            await pilot.press("enter")
            await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "status", "dialog")
            assert isinstance(app.screen, ItemDialog)
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: app.screen is items, "stored")
            await pilot.press("escape")
            # the summary
            await pilot.press("s")
            await wait_for(
                pilot, lambda: isinstance(app.screen, SummaryScreen) and app.screen.data, "summary"
            )
            await pilot.press("escape")
            await wait_for(pilot, at(HomeScreen), "home")
            # a roster: first the database itself (refused by the box), then a real one
            app.action_import_roster()
            await wait_for(pilot, lambda: isinstance(app.focused, Input), "the question")
            prompt = app.screen
            assert isinstance(prompt, PromptDialog)
            error = prompt.query_one("#prompt-error")
            for own, says in ((demo_db, "正在使用"), (f"{demo_db}-wal", "工作文件")):
                prompt.query_one(Input).value = str(own)
                await pilot.press("enter")
                await wait_for(pilot, lambda says=says: says in str(error.render()), "refused")
                assert app.screen is prompt
            prompt.query_one(Input).value = str(roster)
            await pilot.press("enter")
            await wait_for(pilot, at(ReportDialog), "imported")
            await settle(pilot)
            await pilot.press("enter")
            # a sync
            app._start_sync(str(hub))
            await wait_for(pilot, at(ConfirmDialog), "asked before a new hub is made")
            await wait_for(pilot, lambda: app.focused is not None, "an answer focused")
            await pilot.click("#choice-yes")
            await wait_for(pilot, at(ReportDialog), "synced")
            await settle(pilot)
            await pilot.press("enter")
            await wait_for(pilot, at(HomeScreen), "home")
            # a household
            app.action_add_household()
            await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "address", "form")
            await pilot.press(*"曹杨一村99号102室")
            await pilot.press("ctrl+s")
            await wait_for(pilot, at(HomeScreen), "saved")
            # conflicts and duplicates
            app.action_conflicts()
            await wait_for(
                pilot, lambda: isinstance(app.screen, ConflictsScreen) and app.screen.loaded, "read"
            )
            await pilot.press("escape")
            app.action_dedup_review()
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, DedupReviewScreen) and app.screen.loaded,
                "found",
            )
            await pilot.press("escape")
            await settle(pilot)

    with watch_database_opens() as seen:
        store = Store(demo_db)
        app = make_app(store, today=today)
        await run()
        store.close()
    assert not seen.opens, seen.report()
    with Store(demo_db) as s:
        assert s.check() == []
        assert any(v.summary == "看望老人" for v in s.list_visits())
