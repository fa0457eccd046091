"""The household form takes phones and names as people write them, like the importer."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from visitlog.tui.app import make_app
from visitlog.tui.screens.home import HomeScreen
from visitlog.tui.screens.household_form import HouseholdFormScreen


@pytest.mark.parametrize(
    ("head", "phone", "phones"),
    [
        ("老王", "62345678", ["02162345678"]),
        ("王阿姨", "5847-6446", ["02158476446"]),
        ("王秀英（已故）", "62345678转123", ["02162345678转123"]),
        ("王秀英/冯玲建", "13812345678/13912345678", ["13812345678", "13912345678"]),
        ("王*国", "138****5678", ["138****5678"]),
        ("張偉", "2158942977", ["02158942977"]),
        ("王　秀英", "1381234", []),
    ],
)
async def test_form_saves_phone_and_name_as_written(
    store, today, settle, wait_for, head, phone, phones
):
    store.init_identity("王丽华", grid="曹杨一村1号网格")

    app = make_app(store, today=today)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "address", "form")
        form = app.screen
        assert isinstance(form, HouseholdFormScreen)
        form.query_one("#address", Input).value = "曹杨一村12号301室"
        form.query_one("#community", Input).value = "曹杨一村"  # a new grid asks for it
        form.query_one("#head", Input).value = head
        form.query_one("#phone", Input).value = phone
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "saved")
        await settle(pilot)
    [h] = store.list_households()
    assert (h.head, h.phone, h.phones) == (head, phone, phones)
