"""First run: identity once, the welcome screen on an empty database, English labels."""

from __future__ import annotations

import threading

from textual.widgets import Input

from visitlog.model import Household
from visitlog.tui.app import make_app
from visitlog.tui.screens.home import HomeScreen
from visitlog.tui.screens.household_form import HouseholdFormScreen
from visitlog.tui.screens.identity import IdentityDialog
from visitlog.tui.screens.progress import ProgressDialog
from visitlog.tui.screens.welcome import WelcomeScreen
from visitlog.tui.widgets.household_table import HouseholdTable


async def test_no_identity_asks_the_name_once_then_shows_welcome(store, today, settle, wait_for):
    app = make_app(store, today=today)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, IdentityDialog)
        assert app.focused is dialog.query_one("#worker", Input)
        await pilot.press("tab", "enter")  # no name yet: the error shows by the field
        error = dialog.query_one("#err-worker")
        await wait_for(pilot, lambda: error.has_class("-shown"), "the name's error")
        assert app.screen is dialog
        dialog.query_one("#worker", Input).focus()
        await wait_for(pilot, lambda: app.focused is dialog.query_one("#worker"), "focus")
        await pilot.press(*"李晓燕", "enter")  # enter moves on to the grid
        await wait_for(pilot, lambda: app.focused is dialog.query_one("#grid"), "the grid")
        await pilot.press(*"曹杨一村2号网格", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen), "welcome")
        await settle(pilot)
    assert store.worker == "李晓燕"
    assert store.get_setting("default_grid") == "曹杨一村2号网格"

    app = make_app(store, today=today)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)  # not asked twice


async def test_welcome_on_empty_database_then_add_a_household(store, today, settle, wait_for):
    store.init_identity("王丽华", grid="曹杨一村1号网格")

    app = make_app(store, today=today)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        welcome = app.screen
        assert isinstance(welcome, WelcomeScreen)
        labels = [str(b.label) for b in welcome.query("Button")]
        assert any("花名册" in x for x in labels)
        assert any("添加" in x for x in labels)
        assert any("示范" in x for x in labels)
        await pilot.press("a")
        await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "address", "form")
        form = app.screen
        assert isinstance(form, HouseholdFormScreen)
        assert form.query_one("#micro_grid", Input).value == "曹杨一村1号网格"
        await pilot.press(*"曹杨一村12号301室")
        form.query_one("#tags", Input).value = "富豪"
        await pilot.press("ctrl+s")
        error = form.query_one("#err-tags")
        await wait_for(pilot, lambda: error.has_class("-shown"), "the tags' error")
        assert app.screen is form
        form.query_one("#tags", Input).value = ""
        form.query_one("#phone", Input).value = "62345678"  # a landline: accepted
        form.query_one("#head", Input).value = "王建国"
        # the first household of a grid: its 居民区 is asked for, once
        community = form.query_one("#err-community")
        assert community.has_class("-shown")
        form.query_one("#community", Input).value = "曹杨一村"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "saved")
        await settle(pilot)
        assert app.screen.table.row_count == 1
    [h] = store.list_households()
    assert (h.address, h.head, h.phone) == ("曹杨一村12号301室", "王建国", "62345678")
    assert h.phones == ["02162345678"]


async def test_ui_stays_responsive_while_the_demo_loads(
    store, today, settle, monkeypatch, wait_for, click
):
    """The demo street is made in a worker thread; the keyboard keeps working meanwhile."""
    store.init_identity("王丽华")
    from visitlog import demo

    started, release = threading.Event(), threading.Event()
    real = demo.generate_into

    def slow_generate(store, households, **kwargs):
        started.set()
        assert release.wait(120), "the test never released the worker"
        return real(store, households=30, **kwargs)

    monkeypatch.setattr(demo, "generate_into", slow_generate)

    app = make_app(store, today=today)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ProgressDialog), "progress")
        await wait_for(pilot, started.is_set, "the worker started")
        # The worker is blocked; keys are still handled.
        await pilot.press("escape")  # hide the progress dialog
        await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen), "welcome")
        await pilot.press("a")
        await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "address", "form")
        await pilot.press(*"测试")
        await wait_for(
            pilot, lambda: app.screen.query_one("#address", Input).value == "测试", "typed"
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen.query("#choice-yes"), "the question")
        await click(pilot, "#choice-yes")
        await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen), "welcome")
        assert not release.is_set()  # all of it while the worker was still blocked
        release.set()
        # done: the welcome screen made way for the households
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
        await settle(pilot)
        assert app.screen.table.row_count == 30
    assert store.count_live()["households"] == 30


async def test_english_labels_with_lang_en(tui_store, today, settle, wait_for):
    app = make_app(tui_store, lang="en", today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        home = app.screen
        headers = [str(c.label) for c in home.query_one(HouseholdTable).columns.values()]
        assert headers[:3] == ["Address", "Head", "Tags"]
        descriptions = {b.description for _, b, _, _ in home.active_bindings.values()}
        assert {"Search", "New visit", "Items", "Summary", "Sync", "Quit"} <= descriptions
        assert "unsynced" in app.sub_title
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen.query("#form-title"), "the form")
        assert "New visit" in str(app.screen.query_one("#form-title").render())


async def test_demo_refused_when_households_exist(tui_store, today, settle, wait_for):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.action_load_demo()
        await wait_for(pilot, lambda: any("示范" in n.message for n in app._notifications), "told")
        assert isinstance(app.screen, HomeScreen)


async def test_household_form_for_an_existing_grid(tui_store, today, settle, wait_for):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        before = app.screen.table.matches
        app.action_add_household()
        await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "address", "form")
        await pilot.press(*"曹杨一村99号101室")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "saved")
        await wait_for(pilot, lambda: app.screen.table.matches == before + 1, "the new row")
        await settle(pilot)
        assert app.screen.table.current_row()["address"] == "曹杨一村99号101室"


async def test_no_welcome_when_only_my_grid_is_empty(store, today, settle, wait_for):
    """My grid has no households yet but the file holds others': nothing to
    welcome to (the other grids are counted after my empty grid is shown)."""
    store.add_household(Household(address="兰溪路1号101室", micro_grid="兰溪1号网格"))
    store.init_identity("王丽华", grid="曹杨一村1号网格")
    app = make_app(store, today=today)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        home = app.home
        await wait_for(pilot, lambda: home.grids, "the grid list")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert [g["micro_grid"] for g in home.grids] == ["兰溪1号网格"]
