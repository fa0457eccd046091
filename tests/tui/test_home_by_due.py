"""The home table ordered by due date (``o``): the planning rules' dates, earliest first."""

from __future__ import annotations

from visitlog.plan import due_dates
from visitlog.tui.app import make_app
from visitlog.tui.screens.home import HomeScreen


def _ids(home: HomeScreen) -> list[str]:
    return [home.rows[i]["id"] for i in home.result.indices]


async def test_o_orders_by_due_date_and_shows_it(tui_store, today, settle, wait_for, plain):
    grid = "曹杨一村1号网格"
    expected = due_dates(tui_store, grid=grid, today=today)
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        before = _ids(home)
        await pilot.press("o")
        await wait_for(pilot, lambda: home.due_dates is not None, "the due dates")
        await settle(pilot)
        assert home.due_dates == expected
        shown = _ids(home)
        assert sorted(shown) == sorted(before)  # the same households, another order
        dates = [expected[i] for i in shown if i in expected]
        assert dates == sorted(dates) and dates[0] < dates[-1]
        # Households no rule makes due come last.
        assert all(i in expected for i in shown[: len(dates)])
        # The column says the date; the status line says the order.
        table = home.table
        header = [c.label.plain for c in table.columns.values()]
        assert "应访日期" in header and "今年已访" not in header
        first = table.get_row_at(0)
        assert expected[shown[0]].isoformat() in [cell.plain for cell in first]
        assert "按应访日期" in plain(home.query_one("#status"))
        # A search keeps the order among its matches.
        await pilot.press("slash", *"cy1c3")
        await wait_for(pilot, lambda: home.result.query != "", "the search")
        await settle(pilot)
        found = [expected[i] for i in _ids(home)[: home.result.exact] if i in expected]
        assert found == sorted(found) and len(found) > 1
        # o again: back to the usual order and column.
        await pilot.press("escape", "o")
        await settle(pilot)
        assert _ids(home) == before
        assert "今年已访" in [c.label.plain for c in table.columns.values()]


async def test_a_visit_moves_the_household_down_the_due_order(tui_store, today, settle, wait_for):
    from visitlog.model import Visit

    app = make_app(tui_store, today=today)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        home = app.screen
        await pilot.press("o")
        await wait_for(pilot, lambda: home.due_dates is not None, "the due dates")
        await settle(pilot)
        first = _ids(home)[0]
        old = home.due_dates[first]
        tui_store.add_visit(
            Visit(
                household_id=first, visit_date=today.isoformat(), visitor="王丽华", summary="见面"
            )
        )
        app.data_changed(first)
        await wait_for(
            pilot, lambda: home.due_dates is not None and home.due_dates[first] > old, "new dates"
        )
        await settle(pilot)
        assert _ids(home)[0] != first
