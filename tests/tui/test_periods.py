"""Figures that differ between screens say their period; ✗ beside a visit says why."""

from __future__ import annotations

import io

from visitlog.model import Household, Visit
from visitlog.tui.app import make_app
from visitlog.tui.screens.details import HouseholdScreen
from visitlog.tui.screens.items import ItemsScreen
from visitlog.tui.screens.summary import SummaryScreen


async def test_summary_says_its_items_are_of_the_period(tui_store, today, settle, wait_for):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await wait_for(
            pilot, lambda: isinstance(app.screen, SummaryScreen) and app.screen.data, "summary"
        )
        summary = app.screen.data
        lines = [
            r.plain for r in app.screen.render_summary(summary).renderables if hasattr(r, "plain")
        ]
        note = next(line for line in lines if "清单条目只计" in line)
        assert summary.date_from.isoformat() in note and summary.date_to.isoformat() in note
        assert "所有年份" in note


async def test_items_screen_says_its_count_is_of_every_year(
    tui_store, today, settle, plain, wait_for
):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, ItemsScreen), "the items")
        await settle(pilot)
        assert "不限年份" in plain(app.screen.query_one("#status"))


def _household(store) -> Household:
    store.init_identity("王丽华", grid="曹杨一村1号网格")
    return store.add_household(
        Household(address="曹杨一村12号301室", micro_grid="曹杨一村1号网格", community="曹杨一村")
    )


async def _details(app, pilot, settle, wait_for, hid: str) -> str:
    await settle(pilot)
    app.open_household(hid)
    await wait_for(pilot, lambda: isinstance(app.screen, HouseholdScreen), "details")
    await settle(pilot)
    from rich.console import Console

    out = io.StringIO()
    Console(file=out, width=120).print(app.screen._facts())
    return out.getvalue()


async def test_not_at_home_says_why_it_does_not_count(store, today, settle, wait_for):
    h = _household(store)
    store.add_visit(
        Visit(household_id=h.id, visit_date="2026-05-03", visitor="王丽华", outcome="不在家")
    )
    app = make_app(store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        facts = await _details(app, pilot, settle, wait_for, h.id)
    line = next(line for line in facts.splitlines() if "今年已访" in line)
    assert "✗" in line and "2026-05-03" in line and "不在家" in line and "见面才算" in line


async def test_met_this_year_shows_the_date(store, today, settle, wait_for):
    h = _household(store)
    for date, outcome in (("2026-03-01", "见面"), ("2026-06-01", "不在家")):
        store.add_visit(Visit(household_id=h.id, visit_date=date, visitor="王", outcome=outcome))
    app = make_app(store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        facts = await _details(app, pilot, settle, wait_for, h.id)
    line = next(line for line in facts.splitlines() if "今年已访" in line)
    assert "✓" in line and "2026-03-01" in line and "✗" not in line


async def test_no_visit_this_year(store, today, settle, wait_for):
    h = _household(store)
    store.add_visit(Visit(household_id=h.id, visit_date="2025-05-03", visitor="王"))
    app = make_app(store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        facts = await _details(app, pilot, settle, wait_for, h.id)
    line = next(line for line in facts.splitlines() if "今年已访" in line)
    assert "今年还没有走访" in line
