"""Every screen and dialog at 80×24, the smallest terminal visitlog promises to fit.

The screens of ``visitlog/tui/screens``: home (and its search), household
details, the new-visit form (and a drop-down opened near its bottom), the
household form, open items, the item dialog (and its satisfaction list), the
first-run identity dialog, the welcome screen, the summary, 本周待访 and its
rules, a question (ChoiceDialog: the draft offer), a prompt (the hub's path),
progress, a report, conflicts, the duplicate review, and the keys panel over a
dialog.  Update after a deliberate change with ``--snapshot-update`` and look at
every picture first.
"""

from __future__ import annotations

import datetime as dt

import pytest
from pilot_support import settle as settle_workers
from pilot_support import wait_for
from test_snapshots import _fake_summary
from test_snapshots import _settle as settle

from visitlog.i18n import t
from visitlog.store import Store
from visitlog.tui.app import make_app
from visitlog.tui.common import ChoiceList
from visitlog.tui.screens import summary as summary_screen
from visitlog.tui.widgets.item_editor import ItemEditor

SIZE = (80, 24)
TODAY = dt.date(2026, 11, 27)


@pytest.fixture
def demo_app(demo_db):
    store = Store(demo_db)
    yield make_app(store, today=TODAY)
    store.close()


async def _screen(pilot, name: str) -> None:
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == name, name)


async def _list_open(pilot) -> None:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ChoiceList), "the list")
    await settle(pilot)


def test_home_search(snap_compare, demo_app):
    async def run(pilot):
        await settle(pilot)
        await pilot.press("slash", *"cy1c3")
        home = pilot.app.screen
        await wait_for(pilot, lambda: home.index is not None and home.result.query, "found")
        await settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=run)


def test_details(snap_compare, demo_app):
    async def run(pilot):
        await settle(pilot)
        await pilot.press("down", "down", "enter")
        await wait_for(pilot, lambda: getattr(pilot.app.screen, "household", None), "details")
        await settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=run)


async def _visit_form_with_items(pilot) -> None:
    app = pilot.app
    await settle(pilot)
    await pilot.press("n")
    await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "summary", "the form")
    await pilot.press("ctrl+n")
    await wait_for(pilot, lambda: [e for e in app.screen.query(ItemEditor) if e.ready], "item")
    await pilot.press("ctrl+n")
    await wait_for(pilot, lambda: len([e for e in app.screen.query(ItemEditor) if e.ready]) == 2)
    await settle(pilot)


def test_visit_form_items(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=SIZE, run_before=_visit_form_with_items)


def test_visit_form_dropdown_near_bottom(snap_compare, demo_app):
    """The category list of the last item, at the bottom of the screen: it opens
    above the field, and the text around it keeps every character whole."""

    async def run(pilot):
        await _visit_form_with_items(pilot)
        category = list(pilot.app.screen.query("#category"))[-1]
        category.focus()
        await pilot.press("enter")
        await _list_open(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=run)


def test_household_form(snap_compare, demo_app):
    async def run(pilot):
        await settle(pilot)
        pilot.app.action_add_household()
        await wait_for(pilot, lambda: getattr(pilot.app.focused, "id", "") == "address", "form")
        await settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=run)


async def _items(pilot) -> None:
    await settle(pilot)
    await pilot.press("i")
    await wait_for(pilot, lambda: getattr(pilot.app.screen, "items", None), "the items")
    await settle(pilot)


def test_items(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=SIZE, run_before=_items)


async def _item_dialog(pilot) -> None:
    await _items(pilot)
    await pilot.press("enter")
    await wait_for(pilot, lambda: getattr(pilot.app.focused, "id", "") == "status", "dialog")
    await settle(pilot)


def test_item_dialog(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=SIZE, run_before=_item_dialog)


def test_item_dialog_satisfaction_list(snap_compare, demo_app):
    """Four choices, one of them 未评, inside the dialog's border."""

    async def run(pilot):
        await _item_dialog(pilot)
        pilot.app.screen.query_one("#satisfaction").focus()
        await pilot.press("enter")
        await _list_open(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=run)


def test_keys_panel_over_a_question(snap_compare, demo_app):
    """The keys panel narrows the dialog; its buttons keep their whole labels."""
    from visitlog.tui.screens.confirm import ChoiceDialog

    async def run(pilot):
        await settle(pilot)
        choices = [
            ("restore", t("tui.draft.restore")),
            ("discard", t("tui.draft.discard")),
            ("later", t("tui.draft.later")),
        ]
        pilot.app.push_screen(
            ChoiceDialog(
                t("tui.draft.title"), t("tui.draft.visit", address="曹杨一村2号101室"), choices
            )
        )
        await _screen(pilot, "ChoiceDialog")
        pilot.app.action_show_help_panel()
        await settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=run)


def test_prompt(snap_compare, demo_app):
    async def run(pilot):
        await settle(pilot)
        pilot.app.action_set_hub()
        await _screen(pilot, "PromptDialog")
        await settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=run)


def test_progress(snap_compare, demo_app):
    from visitlog.tui.screens.progress import ProgressDialog

    async def run(pilot):
        await settle(pilot)
        progress = ProgressDialog(t("tui.sync.title"))
        pilot.app.push_screen(progress)
        await _screen(pilot, "ProgressDialog")
        await wait_for(pilot, lambda: progress.query("#progress-stage"), "the stage line")
        progress.report("正在发送改动", 40, 100)
        await settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=run)


def test_report(snap_compare, demo_app):
    from visitlog.tui.screens.report import ReportDialog

    async def run(pilot):
        await settle(pilot)
        lines = [("发送", "1,204 条改动"), ("接收", "87 条改动"), ("冲突", "2")]
        pilot.app.push_screen(ReportDialog(t("tui.sync.title"), lines, message="同步完成。"))
        await _screen(pilot, "ReportDialog")
        await settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=run)


def test_summary(snap_compare, demo_app, monkeypatch):
    monkeypatch.setattr(summary_screen, "compute_summary", lambda store, **kw: _fake_summary(**kw))

    async def run(pilot):
        await settle(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: getattr(pilot.app.screen, "data", None), "the summary")
        await settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=run)


async def _plan(pilot) -> None:
    await settle(pilot)
    await pilot.press("w")
    await wait_for(pilot, lambda: getattr(pilot.app.screen, "entries", None), "the week")
    await settle(pilot)


def test_plan(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=SIZE, run_before=_plan)


def test_plan_rules(snap_compare, demo_app):
    async def run(pilot):
        await _plan(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: getattr(pilot.app.screen, "rules", None), "the rules")
        await settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=run)


def test_conflicts(snap_compare, demo_app):
    async def run(pilot):
        await settle(pilot)
        pilot.app.action_conflicts()
        await wait_for(pilot, lambda: getattr(pilot.app.screen, "loaded", False), "conflicts")
        await settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=run)


def test_dedup_review(snap_compare, demo_app):
    async def run(pilot):
        await settle(pilot)
        pilot.app.action_dedup_review()
        await _screen(pilot, "DedupReviewScreen")
        await wait_for(pilot, lambda: pilot.app.screen.loaded, "the pairs")
        await settle_workers(pilot)
        await settle(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=run)


def test_welcome(snap_compare, db_path):
    store = Store(db_path)
    store.init_identity("王丽华")
    assert snap_compare(make_app(store, today=TODAY), terminal_size=SIZE, run_before=settle)
    store.close()


def test_home_light_theme_remembered(snap_compare, demo_db):
    """The theme chosen in one session is the one the next session starts with."""
    import asyncio

    store = Store(demo_db)
    first = make_app(store, today=TODAY)

    async def choose_light() -> None:
        async with first.run_test(size=SIZE) as pilot:
            await settle(pilot)
            first.action_toggle_dark()
            await settle_workers(pilot)

    asyncio.run(choose_light())
    assert snap_compare(make_app(store, today=TODAY), terminal_size=SIZE, run_before=settle)
    store.close()
