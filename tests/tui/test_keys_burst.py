"""Keys typed in one burst go where they were typed, and home/end move along the rows."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from visitlog.tui.app import make_app
from visitlog.tui.screens.home import HomeScreen


def _burst(app, keys: str) -> None:
    """Queue every key at once, as a fast typist (or a paste) delivers them:
    no key waits for the previous one to be handled."""
    for ch in keys:
        key = "slash" if ch == "/" else ch
        app.post_message(events.Key(key, ch))


async def test_keys_right_after_slash_go_to_the_search_box(tui_store, today, settle, wait_for):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        _burst(app, "/dsy")
        search = home.query_one("#search", Input)
        await wait_for(pilot, lambda: search.value == "dsy", lambda: repr(search.value))
        await settle(pilot)
        # d, s and y were typed into the box: no summary, no sync, still home.
        assert app.screen is home
        assert app.focused is search
        assert search.value == "dsy"


async def test_end_and_home_go_to_the_last_and_first_row(tui_store, today, settle):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.table
        # The table holds a page at a time: each end goes to the last row
        # loaded and loads the next page, until the last household.
        for _ in range(table.matches // table.PAGE + 1):
            await pilot.press("end")
        assert table.cursor_row == table.row_count - 1 == table.matches - 1 > table.PAGE
        # Never sideways: the table is as wide as the screen.
        assert table.scroll_x == 0
        await pilot.press("home")
        assert table.cursor_row == 0
