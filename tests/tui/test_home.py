"""Home screen: my grid's households, live search, grid switch, still-due toggle, paging."""

from __future__ import annotations

from textual.command import CommandPalette
from textual.widgets import Input

from visitlog.address import normalize_address
from visitlog.tui.app import make_app
from visitlog.tui.common import ALL_GRIDS
from visitlog.tui.screens.details import HouseholdScreen
from visitlog.tui.screens.home import HomeScreen
from visitlog.tui.widgets.household_table import HouseholdTable


def _shown(home: HomeScreen) -> list[dict]:
    """Rows in the table, in order (exact matches, then near ones)."""
    table = home.table
    return [home.index.rows[i] for i in home.result.indices[: table.row_count]]


def _matched(home: HomeScreen) -> list[dict]:
    """Every row the filter matched, loaded into the table or not yet."""
    return [home.index.rows[i] for i in home.result.indices]


def _exact(home: HomeScreen) -> list[str]:
    """Ids of the rows that contain the query."""
    return [home.index.rows[i]["id"] for i in home.result.indices[: home.result.exact]]


async def test_home_opens_on_my_grid_with_table_focused(tui_store, today, settle):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        assert isinstance(app.focused, HouseholdTable)
        assert home.grid == "曹杨一村1号网格"
        expected = tui_store.household_overview(grid="曹杨一村1号网格", year=today.year)
        assert home.table.matches == len(expected) > 0
        assert home.table.row_count == min(len(expected), HouseholdTable.PAGE)
        assert {r["micro_grid"] for r in _matched(home)} == {"曹杨一村1号网格"}
        # The header says how many local changes wait for sync.
        assert str(tui_store.unsynced_count()) in app.sub_title
        assert "王丽华" in app.sub_title


async def test_slash_focuses_search_and_filters_as_you_type(tui_store, today, settle):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        home = app.screen
        app.action_set_grid(ALL_GRIDS)
        await settle(pilot)
        total = home.table.matches
        assert total == 200
        await pilot.press("slash")
        search = home.query_one("#search", Input)
        assert app.focused is search
        assert search.value == ""  # the slash moved the cursor, it was not typed
        await pilot.press(*"cy1c12h")
        await settle(pilot)
        assert search.value == "cy1c12h"
        rows = _shown(home)[: home.result.exact]
        assert 0 < len(rows) < total
        assert all("曹杨1村12号" in normalize_address(r["address"]) for r in rows)
        found = _exact(home)
        # 一村, 1村, full-width digits and 号楼 all find the same households.
        for query in ("曹杨一村十二号", "曹杨1村12号", "曹杨一村１２号", "一村12号楼"):
            search.value = query
            await settle(pilot)
            assert _exact(home) == found, query
            # near matches (曹杨1村13号 …) come after every exact one
            assert [r["id"] for r in _shown(home)][: len(found)] == found
        # enter moves to the first row of the table.
        await pilot.press("enter")
        assert isinstance(app.focused, HouseholdTable)
        assert home.table.cursor_row == 0
        # escape clears the search: every household again.
        await pilot.press("slash")
        await pilot.press("escape")
        await settle(pilot)
        assert search.value == ""
        assert home.table.matches == total
        assert isinstance(app.focused, HouseholdTable)


async def test_search_by_head_name_and_near_matches(tui_store, today, settle):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        home = app.screen
        app.action_set_grid(ALL_GRIDS)
        await settle(pilot)
        target = next(r for r in home.rows if r["head"] and len(r["head"]) == 3)
        await pilot.press("slash", *target["head"])
        await settle(pilot)
        assert target["id"] in [r["id"] for r in _shown(home)[: home.result.exact]]
        # A typo (扬 for 杨) finds nothing exactly, but near matches are listed after.
        home.query_one("#search", Input).value = "曹扬一村"
        await settle(pilot)
        assert home.result.exact == 0
        near = _shown(home)
        assert near and all("曹杨1村" in normalize_address(r["address"]) for r in near)


async def test_enter_opens_details_of_the_highlighted_household(tui_store, today, settle, wait_for):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        home = app.screen
        await pilot.press("down", "down")
        row = home.table.current_row()
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, HouseholdScreen) and app.screen.household,
            "the household's details",
        )
        assert app.screen.household_id == row["id"]
        assert app.screen.visits == tui_store.list_visits(household=row["id"])
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is home, "back home")


async def test_still_due_toggle_shows_only_households_not_met_this_year(tui_store, today, settle):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        home = app.screen
        await pilot.press("u")
        await settle(pilot)
        due = tui_store.household_overview(grid=home.grid, year=today.year, unvisited=True)
        assert sorted(r["id"] for r in _matched(home)) == sorted(r["id"] for r in due)
        assert 0 < len(due) < len(home.rows)
        await pilot.press("u")
        await settle(pilot)
        assert home.table.matches == len(home.rows)


async def test_switch_grid_from_the_palette(tui_store, today, settle, wait_for):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        home = app.screen
        other = next(g["micro_grid"] for g in home.grids if g["micro_grid"] != home.grid)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is home, "the palette closed")
        commands = {c.title: c for c in app.get_system_commands(home)}
        assert "显示全部微网格" in commands and "汇总" in commands
        commands[f"切换到微网格：{other}"].callback()
        await settle(pilot)
        assert app.screen is home
        assert home.grid == other
        assert {r["micro_grid"] for r in _matched(home)} == {other}


async def test_table_holds_one_page_and_loads_more_at_the_bottom(
    tui_store, today, settle, monkeypatch, wait_for
):
    monkeypatch.setattr(HouseholdTable, "PAGE", 25)

    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        home = app.screen
        app.action_set_grid(ALL_GRIDS)
        await settle(pilot)
        table = home.table
        assert table.matches == 200
        assert table.row_count == 25  # not every row is built into the table
        status = str(home.query_one("#status").render())
        assert "25" in status and "200" in status
        await pilot.press("ctrl+end")
        await wait_for(pilot, lambda: table.row_count > 25, "the next page")
        assert table.row_count <= 75


async def test_typing_at_once_after_start_waits_for_the_keys(
    tui_store, today, settle, monkeypatch, wait_for
):
    """With the real start-up delay: `/` builds the search keys at once, and what was
    typed before they were ready is applied when they are."""
    from visitlog.tui.screens import home as home_module

    monkeypatch.setattr(home_module, "INDEX_DELAY", 30.0)  # the timer never fires in time

    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.screen.query("#search"), "the home screen")
        home = app.screen
        assert home.index is None
        await pilot.press("slash", *"cy1c3h")
        await settle(pilot)
        assert home.index is not None
        rows = _shown(home)[: home.result.exact]
        assert rows and all("曹杨1村3号" in normalize_address(r["address"]) for r in rows)
