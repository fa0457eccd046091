"""本周待访 (key w): the week's list of my grid, and a visit that meets a household removes it."""

from __future__ import annotations

from visitlog.plan import make_plan
from visitlog.tui.app import make_app
from visitlog.tui.screens.plan import PlanScreen
from visitlog.tui.screens.visit_form import VisitFormScreen


async def test_week_list_and_a_met_household_leaves_it_at_once(
    tui_store, today, settle, plain, wait_for
):
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
            lambda: app.screen is screen and gone not in [e.household_id for e in screen.entries],
            "the household gone from the list",
        )
        assert len(screen.entries) == len(expected.entries) - 1
        assert screen.query_one("#plan").cursor_row == 1
        # escape goes back home
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, PlanScreen), "home")


async def test_rules_are_changed_from_the_week_list(tui_store, today, settle, wait_for):
    from textual.widgets import Input

    from visitlog.plan import load_rules
    from visitlog.tui.screens.plan_rules import RulesScreen
    from visitlog.tui.screens.prompt import PromptDialog

    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen), "the week's list")
        plan_screen = app.screen
        before = len(make_plan(tui_store, grid="曹杨一村1号网格", today=today).entries)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RulesScreen), "the rules")
        rules = app.screen
        row = next(i for i, r in enumerate(rules.rules) if r.kind == "default")
        rules.query_one("#rules").move_cursor(row=row)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptDialog), "the days")
        box = app.screen.query_one(Input)
        assert box.value == "365"
        box.value = "零"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PromptDialog)  # a bad number keeps it open
        box.value = "30"
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: load_rules(tui_store).days("default") == 30,
            "the rule written",
        )
        await wait_for(
            pilot,
            lambda: rules.rules[row].days == 30 and rules.rules[row].source == "set",
            "shown",
        )
        after = make_plan(tui_store, grid="曹杨一村1号网格", today=today).entries
        assert len(after) > before  # households met 30 to 365 days ago are due now
        await pilot.press("escape")
        await wait_for(
            pilot,
            lambda: app.screen is plan_screen and len(plan_screen.entries) == len(after),
            "the list read again",
        )
