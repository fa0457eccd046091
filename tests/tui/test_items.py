"""Open items of my grid: overdue first, filters, status changes with errors by the field."""

from __future__ import annotations

from textual.widgets import Input, Select

from visitlog.tui.app import make_app
from visitlog.tui.screens.item_dialog import ItemDialog
from visitlog.tui.screens.items import ItemsScreen


async def _open_items(app, pilot, settle, wait_for) -> ItemsScreen:
    await settle(pilot)
    await pilot.press("i")
    await wait_for(
        pilot, lambda: isinstance(app.screen, ItemsScreen) and app.screen.items, "the items"
    )
    return app.screen


async def _open_dialog(app, pilot, wait_for) -> ItemDialog:
    await pilot.press("enter")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, ItemDialog) and getattr(app.focused, "id", "") == "status",
        "the item dialog",
    )
    return app.screen


async def test_open_items_of_my_grid_overdue_first(tui_store, today, settle, plain, wait_for):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open_items(app, pilot, settle, wait_for)
        expected = tui_store.list_items(open_only=True, grid="曹杨一村1号网格", today=today)
        assert [i.id for i in screen.items] == [i.id for i in expected]
        assert screen.query_one("#items").row_count == len(expected) > 0
        overdue = [bool(i.deadline and i.deadline < today.isoformat()) for i in screen.items]
        assert any(overdue), "the demo street has overdue items"
        # every overdue item comes before every other one
        assert overdue == sorted(overdue, reverse=True)
        n_overdue = sum(overdue)
        status = plain(screen.query_one("#status"))
        assert str(len(expected)) in status and str(n_overdue) in status
        # filter by kind, then by category
        screen.query_one("#kind", Select).value = "需求"
        await wait_for(
            pilot,
            lambda: screen.items and {i.kind for i in screen.items} == {"需求"},
            "only 需求",
        )
        category = screen.items[0].category
        screen.query_one("#category", Select).value = category
        await wait_for(
            pilot,
            lambda: {(i.kind, i.category) for i in screen.items} == {("需求", category)},
            "one category",
        )


async def test_change_status_with_note_and_satisfaction(tui_store, today, settle, wait_for):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open_items(app, pilot, settle, wait_for)
        item = screen.items[0]
        dialog = await _open_dialog(app, pilot, wait_for)
        dialog.query_one("#status", Select).value = "已办结"
        dialog.query_one("#note", Input).value = "已联系物业修好"
        dialog.query_one("#satisfaction", Select).value = "满意"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen, "the dialog closed")
        await settle(pilot)
        stored = tui_store.get_item(item.id)
        assert (stored.status, stored.resolution, stored.satisfaction) == (
            "已办结",
            "已联系物业修好",
            "满意",
        )
        assert stored.closed_date == today.isoformat()
        # closed items leave the open list
        await wait_for(
            pilot, lambda: item.id not in [i.id for i in screen.items], "the list read again"
        )


async def test_unsolvable_without_a_note_shows_the_error_by_the_note(
    tui_store, today, settle, wait_for
):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open_items(app, pilot, settle, wait_for)
        item = screen.items[0]
        dialog = await _open_dialog(app, pilot, wait_for)
        dialog.query_one("#status", Select).value = "无法解决"
        dialog.query_one("#note", Input).value = ""
        await pilot.press("ctrl+s")
        error = dialog.query_one("#err-note")
        await wait_for(pilot, lambda: error.has_class("-shown"), "the note's error")
        assert app.screen is dialog  # still open, nothing crashed
        assert tui_store.get_item(item.id).status == item.status
        dialog.query_one("#note", Input).value = "产权不清，居委无法处理"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen, "the dialog closed")
        await settle(pilot)
        assert tui_store.get_item(item.id).status == "无法解决"
        # escape on the dialog changes nothing
        other = (await _open_dialog(app, pilot, wait_for)).item
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "the dialog closed")
        await settle(pilot)
        assert tui_store.get_item(other.id).status == other.status


async def test_every_grids_items_come_a_page_at_a_time_and_are_counted(
    tui_store, today, settle, plain, wait_for, monkeypatch
):
    """Every grid's open items (tens of thousands on a district) are not read
    whole as the screen opens: a page, the count from a worker, more pages as
    the cursor goes down, in the list's order to the last one."""
    from visitlog.tui.common import ALL_GRIDS
    from visitlog.tui.screens.items import ItemsTable

    # Pages of 10 on the demo street's few dozen open items.
    monkeypatch.setattr(ItemsTable, "PAGE", 10)
    monkeypatch.setattr(ItemsTable, "SLACK", 3)
    expected = tui_store.list_items(open_only=True, today=today)
    late = sum(bool(i.deadline and i.deadline < today.isoformat()) for i in expected)
    assert len(expected) > 2 * (ItemsTable.PAGE + ItemsTable.SLACK)
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.action_set_grid(ALL_GRIDS)
        await settle(pilot)
        await pilot.press("i")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ItemsScreen) and app.screen.items, "the items"
        )
        screen = app.screen
        table = screen.query_one("#items")
        assert len(screen.items) == ItemsTable.PAGE < len(expected)
        assert [i.id for i in screen.items] == [i.id for i in expected[: len(screen.items)]]
        status = screen.query_one("#status")
        await wait_for(pilot, lambda: str(len(expected)) in plain(status), "the count")
        assert f"逾期 {late} 条" in plain(status)
        while table.row_count < len(expected):
            before = table.row_count
            table.move_cursor(row=table.row_count - 1)
            await wait_for(pilot, lambda b=before: table.row_count > b, "the next page")
        assert [i.id for i in screen.items] == [i.id for i in expected]
        # A filter starts again from its own first page.
        screen.query_one("#kind", Select).value = "需求"
        needs = [i.id for i in expected if i.kind == "需求"]
        await wait_for(
            pilot,
            lambda: screen.items and {i.kind for i in screen.items} == {"需求"},
            "only 需求",
        )
        assert [i.id for i in screen.items] == needs[: len(screen.items)]
        await wait_for(pilot, lambda: str(len(needs)) in plain(status), "its count")
