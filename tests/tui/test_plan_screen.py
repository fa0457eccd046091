"""本周待访 (key w): the week's list of my grid, and a visit that meets a household removes it."""

from __future__ import annotations

import asyncio

from visitlog.plan import make_plan
from visitlog.tui.app import make_app
from visitlog.tui.screens.plan import PlanScreen
from visitlog.tui.screens.visit_form import VisitFormScreen


def test_week_list_and_a_met_household_leaves_it_at_once(tui_store, today, settle, plain, wait_for):
    async def run():
        app = make_app(tui_store, today=today)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            await pilot.press("w")
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, PlanScreen) and app.screen.entries,
                "the week's list",
            )
            screen = app.screen
            expected = make_plan(tui_store, grid="曹杨一村1号网格", today=today)
            assert [e.household_id for e in screen.entries] == [
                e.household_id for e in expected.entries
            ]
            table = screen.query_one("#plan")
            assert table.row_count == len(expected.entries) > 0
            status = plain(screen.query_one("#status"))
            assert str(len(expected.entries)) in status and "2026-11-29" in status
            # The rule behind each line is shown.
            first = table.get_row_at(0)
            assert first[3].plain == "；".join(r.text() for r in expected.entries[0].reasons)
            # Record a visit that meets the second household: it leaves the list.
            await pilot.press("down")
            gone = screen.entries[1].household_id
            await pilot.press("n")
            await wait_for(
                pilot,
                lambda: (
                    isinstance(app.screen, VisitFormScreen)
                    and getattr(app.focused, "id", "") == "summary"
                ),
                "the visit form",
            )
            await pilot.press(*"见到本人，身体尚好")
            await pilot.press("ctrl+s")
            await wait_for(
                pilot,
                lambda: (
                    app.screen is screen and gone not in [e.household_id for e in screen.entries]
                ),
                "the household gone from the list",
            )
            assert len(screen.entries) == len(expected.entries) - 1
            assert screen.query_one("#plan").cursor_row == 1
            # escape goes back home
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, PlanScreen), "home")

    asyncio.run(run())
