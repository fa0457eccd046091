"""Every grid of a district on the home screen: the kept search keys, rows read as shown.

A district lists hundreds of thousands of households; from ``COMPACT_FROM`` on,
"every grid" is searched through the keys kept in the database and its rows
are read a page at a time.  Here the threshold is lowered so the demo street
takes that way, and what the screen shows is compared with the in-memory way.
"""

from __future__ import annotations

import pytest
from reliability_support import read_only_dir
from textual.widgets import Input

from visitlog import search
from visitlog.plan import due_dates
from visitlog.store import Store
from visitlog.tui.app import make_app
from visitlog.tui.common import ALL_GRIDS
from visitlog.tui.screens.details import HouseholdScreen
from visitlog.tui.screens.home import HomeScreen
from visitlog.tui.search import CompactIndex, HouseholdIndex, LazyRows, display_order
from visitlog.tui.widgets.household_table import HouseholdTable


@pytest.fixture(autouse=True)
def _district(monkeypatch: pytest.MonkeyPatch) -> None:
    from visitlog.tui.screens import home

    monkeypatch.setattr(home, "COMPACT_FROM", 1)


def _ids(home: HomeScreen, exact_only: bool = False) -> list[str]:
    ids = home.rows.ids if isinstance(home.rows, LazyRows) else [r["id"] for r in home.rows]
    shown = home.result.indices[: home.result.exact] if exact_only else home.result.indices
    return [ids[i] for i in shown]


def _memory(store: Store, today) -> HouseholdIndex:
    return HouseholdIndex(display_order(store.household_overview(year=today.year)))


def _expected(index: HouseholdIndex, query: str, still_due: bool = False) -> list[str]:
    result = index.search(query, still_due=still_due)
    return [index.rows[i]["id"] for i in result.indices[: result.exact]]


async def _every_grid(app, pilot, settle) -> HomeScreen:
    await settle(pilot)
    home = app.screen
    app.action_set_grid(ALL_GRIDS)
    await settle(pilot)
    assert isinstance(home.index, CompactIndex) and isinstance(home.rows, LazyRows)
    return home


async def test_every_grid_is_listed_and_searched_through_the_kept_keys(
    tui_store, today, settle, plain
):
    assert tui_store.search_keys_count() == (0, 200)
    memory = _memory(tui_store, today)
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        home = await _every_grid(app, pilot, settle)
        # The app made the keys the first time it needed them.
        assert tui_store.search_keys_count() == (200, 200)
        table = home.table
        assert table.matches == 200 and table.row_count == HouseholdTable.PAGE
        order = [r["id"] for r in memory.rows]
        assert _ids(home) == order
        # The rows on screen were read for the first page only.
        assert [table.get_row_at(i)[0].plain for i in range(3)] == [
            r["address"] for r in memory.rows[:3]
        ]
        await pilot.press("slash", *"cy1c12h")
        await settle(pilot)
        assert home.query_one("#search", Input).value == "cy1c12h"
        found = _ids(home, exact_only=True)
        assert found and found == _expected(memory, "cy1c12h")
        for query in ("曹杨一村十二号", "曹杨1村12号", "一村12号楼", "王", "138"):
            home.query_one("#search", Input).value = query
            await settle(pilot)
            assert _ids(home, exact_only=True) == _expected(memory, query), query
        assert "找到" in plain(home.query_one("#status"))
        await pilot.press("escape")
        await settle(pilot)
        assert table.matches == 200


async def test_the_first_matches_at_once_and_the_rest_after(
    tui_store, today, settle, wait_for, plain, monkeypatch
):
    from visitlog.tui.screens import home as home_module

    monkeypatch.setattr(CompactIndex, "FIRST", 3)
    monkeypatch.setattr(home_module, "NEAR_DELAY", 0.3)
    memory = _memory(tui_store, today)
    everything = _expected(memory, "曹杨")
    assert len(everything) > 3
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        home = await _every_grid(app, pilot, settle)
        await pilot.press("slash", *"曹杨")
        assert home.result.more_pending and _ids(home, exact_only=True) == everything[:3]
        assert "还在找" in plain(home.query_one("#status"))
        await wait_for(pilot, lambda: not home.result.more_pending, "the rest of the matches")
        await settle(pilot)
        assert _ids(home, exact_only=True) == everything
        assert "还在找" not in plain(home.query_one("#status"))


async def test_still_due_enter_and_near_matches_on_every_grid(tui_store, today, settle, wait_for):
    memory = _memory(tui_store, today)
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        home = await _every_grid(app, pilot, settle)
        await pilot.press("u")
        await settle(pilot)
        due = tui_store.household_overview(year=today.year, unvisited=True)
        assert sorted(_ids(home)) == sorted(r["id"] for r in due) and 0 < len(due) < 200
        await pilot.press("u")
        await settle(pilot)
        assert home.table.matches == 200
        # A typo (扬 for 杨): no exact match, near matches after.
        home.query_one("#search", Input).value = "曹扬一村"
        # Looked for once typing pauses, in a worker.
        await wait_for(
            pilot,
            lambda: home.result.query == "曹扬1村" and len(home.result.indices) > 0,
            "the near matches",
        )
        await settle(pilot)
        assert home.result.exact == 0 and home.result.indices
        near = [home.rows[i] for i in home.result.indices]
        assert all("曹杨1村" in r["address_key"] for r in near)
        home.query_one("#search", Input).value = ""
        await settle(pilot)
        home.table.focus()
        await pilot.press("down", "down")
        row = home.table.current_row()
        assert row["id"] == memory.rows[2]["id"]
        assert app.home_row(row["id"])["address"] == row["address"]
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, HouseholdScreen) and app.screen.household,
            "the household's details",
        )
        assert app.screen.household_id == row["id"]


async def test_an_edit_is_searchable_at_once_and_the_cursor_stays(
    tui_store, today, settle, wait_for
):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        home = await _every_grid(app, pilot, settle)
        await pilot.press("down", "down", "down")
        row = home.table.current_row()
        tui_store.update_household(row["id"], head="欧阳娜娜")
        app.data_changed(row["id"])
        await settle(pilot)
        assert home.table.current_id() == row["id"]
        assert tui_store.search_keys_count() == (200, 200)
        await pilot.press("slash", *"oynn")
        await settle(pilot)
        assert _ids(home, exact_only=True) == [row["id"]]


async def test_o_orders_every_grid_by_due_date(tui_store, today, settle, wait_for):
    expected = due_dates(tui_store, today=today)
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(80, 24)) as pilot:
        home = await _every_grid(app, pilot, settle)
        await pilot.press("o")
        await wait_for(pilot, lambda: home.due_dates is not None, "the due dates")
        await settle(pilot)
        shown = _ids(home)
        assert len(shown) == 200
        dates = [expected[i] for i in shown if i in expected]
        assert dates == sorted(dates) and dates[0] < dates[-1]


async def test_a_read_only_district_is_listed_from_its_rows(demo_db, tmp_path, today, settle):
    with Store(demo_db) as s:
        s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    folder = tmp_path / "stick"
    folder.mkdir()
    dest = folder / "street.db"
    dest.write_bytes(demo_db.read_bytes())
    memory = None
    with read_only_dir(folder), Store(dest) as store:
        memory = _memory(store, today)
        app = make_app(store, today=today)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            home = app.screen
            app.action_set_grid(ALL_GRIDS)
            await settle(pilot)
            # No keys can be kept: the rows are read whole, as for a street.
            assert isinstance(home.index, HouseholdIndex)
            await pilot.press("slash", *"cy1c3h")
            await settle(pilot)
            assert _ids(home, exact_only=True) == _expected(memory, "cy1c3h")
        assert store.search_keys_count() == (0, 200)


async def test_kept_keys_made_by_demo_are_used_as_they_are(demo_db, today, settle):
    with Store(demo_db) as store:
        assert search.refresh(store) == 200
        before = store.query_values("SELECT count(*) FROM search_keys")
        app = make_app(store, today=today)
        async with app.run_test(size=(100, 30)) as pilot:
            home = await _every_grid(app, pilot, settle)
            assert len(home.index) == 200
        assert store.query_values("SELECT count(*) FROM search_keys") == before


async def test_the_cursor_is_kept_unless_deep_in_the_list(tui_store, today, settle, monkeypatch):
    monkeypatch.setattr(HouseholdTable, "KEEP_DEEPEST", 5)
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        home = await _every_grid(app, pilot, settle)
        await pilot.press("down", "down", "down")
        shallow = home.table.current_id()
        app.data_changed(shallow)
        await settle(pilot)
        assert home.table.current_id() == shallow
        await pilot.press(*["down"] * 7)
        deep = home.table.current_id()
        assert home.table.cursor_row == 10
        app.data_changed(deep)
        await settle(pilot)
        # Not kept ten rows down: the list starts at the top again.
        assert home.table.cursor_row == 0 and home.table.row_count == HouseholdTable.PAGE


async def test_the_first_page_of_a_district_comes_from_its_kept_keys(
    tui_store, today, settle, monkeypatch
):
    """Before the rest is read, every grid's first page is read from the kept keys
    in the list's order, without counting the grids first."""
    search.refresh(tui_store)
    tui_store.set_settings(default_grid=None)
    memory = _memory(tui_store, today)
    monkeypatch.setattr(HomeScreen, "_load", lambda *_args, **_kw: None)
    counted: list[int] = []
    real = Store.micro_grids
    monkeypatch.setattr(Store, "micro_grids", lambda self: counted.append(1) or real(self))
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        home = app.screen
        assert home.grid == ALL_GRIDS and not home.loaded
        table = home.table
        assert table.row_count == HouseholdTable.PAGE
        assert [table.get_row_at(i)[0].plain for i in range(HouseholdTable.PAGE)] == [
            r["address"] for r in memory.rows[: HouseholdTable.PAGE]
        ]
        assert counted == []


def _note_first_drawing(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A list that gets "drawn" when the household table first draws a row."""
    events: list[str] = []
    render = HouseholdTable.render_line

    def drawn(self, y):
        if self.row_count and "drawn" not in events:
            events.append("drawn")
        return render(self, y)

    monkeypatch.setattr(HouseholdTable, "render_line", drawn)
    return events


async def test_a_district_is_read_only_once_its_first_page_is_on_the_screen(
    tui_store, today, settle, monkeypatch
):
    """On a slow laptop drawing the first page may take longer than the pause
    before the district's keys are read; the read (seconds of work holding
    Python) must then wait for the drawing, not the other way round."""
    tui_store.set_settings(default_grid=None)  # every grid at start
    events = _note_first_drawing(monkeypatch)
    load = HomeScreen._load

    def loading(self, *args, **kwargs):
        events.append("load")
        return load(self, *args, **kwargs)

    monkeypatch.setattr(HomeScreen, "_load", loading)
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen) and home.grid == ALL_GRIDS
        assert events[:2] == ["drawn", "load"]
        assert isinstance(home.index, CompactIndex) and home.table.matches == 200


async def test_my_grid_is_drawn_before_every_grid_is_counted(tui_store, today, settle, monkeypatch):
    """A worker's laptop opens on its own grid: its rows are drawn first; the
    grid list (every grid counted, a pass over the whole file) is read after."""
    from textual.widgets import Select

    events = _note_first_drawing(monkeypatch)
    count = Store.micro_grids

    def counting(self):
        events.append("counted")
        return count(self)

    monkeypatch.setattr(Store, "micro_grids", counting)
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        home = app.home
        assert isinstance(home, HomeScreen) and home.grid == "曹杨一村1号网格"
        assert events[0] == "drawn"
        await pilot.pause(0.6)  # the grid list is read a moment after the drawing
        await settle(pilot)
        assert "counted" in events
        every = {g["micro_grid"] for g in count(tui_store)}
        assert {g["micro_grid"] for g in home.grids} == every and len(every) > 1
        options = home.query_one("#grid", Select)._options
        assert {value for _label, value in options if isinstance(value, str)} == every | {ALL_GRIDS}
        assert home.query_one("#grid", Select).value == "曹杨一村1号网格"
