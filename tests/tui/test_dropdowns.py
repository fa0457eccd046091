"""Drop-down lists: opened near the bottom of the form they leave the Chinese
around them whole; in a dialog they stay inside its border; satisfaction offers
one "not rated" choice."""

from __future__ import annotations

import io

from rich.cells import get_character_cell_size
from rich.console import Console
from textual.widgets import OptionList

from visitlog.model import Satisfaction
from visitlog.tui.app import make_app
from visitlog.tui.common import ChoiceList
from visitlog.tui.widgets.item_editor import ItemEditor


def _cells(app) -> list[list[str]]:
    """The screen as the terminal shows it, one entry per cell (a wide
    character, then "" for the cell it also covers)."""
    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), record=True, force_terminal=True
    )
    console.print(
        app.screen._compositor.render_update(
            full=True, screen_stack=app._background_screens, simplify=True
        )
    )
    rows = []
    for line in console.export_text().splitlines()[:height]:
        cells: list[str] = []
        for ch in line:
            cells.append(ch)
            if get_character_cell_size(ch) == 2:
                cells.append("")
        rows.append(cells)
    return rows


async def _open_last_category(app, pilot, settle, wait_for) -> None:
    await settle(pilot)
    await pilot.press("n")
    await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "summary", "the form")
    for n in (1, 2):
        await pilot.press("ctrl+n")
        await wait_for(
            pilot, lambda n=n: len([e for e in app.screen.query(ItemEditor) if e.ready]) == n
        )
    await settle(pilot)


async def test_a_list_opened_near_the_bottom_leaves_its_neighbours_whole(
    tui_store, today, settle, wait_for
):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_last_category(app, pilot, settle, wait_for)
        form = app.screen
        category = list(form.query("#category"))[-1]
        category.focus()
        await settle(pilot)
        before = _cells(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceList), "the list")
        await settle(pilot)
        after = _cells(app)
        box = app.screen.query_one(OptionList).region
        # The list opened above the field: there is no room below it.
        assert box.bottom <= category.region.y
        # Each line of the list is one option, whole (the list scrolls: ten at a time).
        labels = {str(p) for p, _v in category._options}
        inside = [
            "".join(row[box.x + 1 : box.right - 3]).strip() for row in after[box.y : box.bottom]
        ]
        shown = [line for line in inside if line.strip("▔▁ ")]
        assert len(shown) >= 5 and all(line in labels for line in shown), inside
        # Outside the list (and the one cell beside each side, where a wide
        # character cut by its edge becomes blank) the screen is unchanged.
        for y, (old, new) in enumerate(zip(before, after, strict=True)):
            for x in range(min(len(old), len(new))):
                if box.y <= y < box.bottom and box.x - 1 <= x <= box.right:
                    continue
                assert old[x] == new[x], (y, x, "".join(old), "".join(new))
        # enter chooses the highlighted option; the form has it.
        await pilot.press("up", "enter")
        await wait_for(pilot, lambda: app.screen is form, "back on the form")
        assert category.value == category._options[-2][1]
        assert app.focused is category


async def test_satisfaction_list_inside_the_dialog_with_one_unrated(
    tui_store, today, settle, wait_for
):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await wait_for(pilot, lambda: getattr(app.screen, "items", None), "the items")
        await pilot.press("enter")
        await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "status", "dialog")
        dialog = app.screen
        item = dialog.item
        assert not item.satisfaction
        satisfaction = dialog.query_one("#satisfaction")
        labels = [str(p) for p, _v in satisfaction._options]
        assert labels == [s.value for s in Satisfaction]
        assert labels.count("未评") == 1 and "未填" not in labels
        assert satisfaction.value == Satisfaction.UNRATED.value
        satisfaction.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceList), "the list")
        await settle(pilot)
        box = app.screen.query_one(OptionList).region
        border = dialog.query_one("#item-dialog")
        inner = border.region.shrink(border.styles.border.spacing)
        assert inner.contains_region(box), (inner, box)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is dialog, "back in the dialog")
        # 未评 on an item never rated stores nothing for it.
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is not dialog, "saved")
        await settle(pilot)
        stored = next(i for i in tui_store.list_items() if i.id == item.id)
        assert not stored.satisfaction
