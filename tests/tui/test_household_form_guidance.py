"""The household form guides: 居民区 follows from the 微网格, a known address is offered."""

from __future__ import annotations

from textual.widgets import Input

from visitlog.model import Household
from visitlog.tui.app import make_app
from visitlog.tui.screens.confirm import ChoiceDialog
from visitlog.tui.screens.details import HouseholdScreen
from visitlog.tui.screens.home import HomeScreen
from visitlog.tui.screens.household_form import HouseholdFormScreen


def _setup(store) -> Household:
    store.init_identity("王丽华", grid="曹杨一村1号网格")
    return store.add_household(
        Household(
            address="曹杨一村12号301室", micro_grid="曹杨一村1号网格", community="曹杨一村",
            head="张阿姨",
        )
    )  # fmt: skip


async def _open_form(app, pilot, settle, wait_for) -> HouseholdFormScreen:
    await settle(pilot)
    app.action_add_household()
    await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "address", "the form")
    return app.screen


async def test_known_grid_fills_in_its_community(store, today, settle, wait_for):
    _setup(store)
    app = make_app(store, today=today)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _open_form(app, pilot, settle, wait_for)
        community = form.query_one("#community", Input)
        await wait_for(pilot, lambda: community.value == "曹杨一村", "the grid's community")
        assert community.disabled
        form.query_one("#address", Input).value = "曹杨一村14号101室"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "saved")
        await settle(pilot)
    added = [h for h in store.list_households() if h.address == "曹杨一村14号101室"]
    assert [h.community for h in added] == ["曹杨一村"]


async def test_new_grid_asks_for_its_community_once(store, today, settle, wait_for, plain):
    _setup(store)
    app = make_app(store, today=today)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _open_form(app, pilot, settle, wait_for)
        community = form.query_one("#community", Input)
        form.query_one("#micro_grid", Input).value = "曹杨二村3号网格"
        await wait_for(pilot, lambda: not community.disabled, "the community open to type")
        assert community.value == ""
        assert "新微网格" in community.placeholder
        form.query_one("#address", Input).value = "曹杨二村5号201室"
        await pilot.press("ctrl+s")
        error = form.query_one("#err-community")
        await wait_for(pilot, lambda: "新微网格" in plain(error), "asked for the community")
        assert isinstance(app.screen, HouseholdFormScreen)
        community.value = "曹杨二村"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "saved")
        await settle(pilot)
        # the next household of that grid finds its community
        form = await _open_form(app, pilot, settle, wait_for)
        form.query_one("#micro_grid", Input).value = "曹杨二村3号网格"
        community = form.query_one("#community", Input)
        await wait_for(pilot, lambda: community.value == "曹杨二村", "the new grid's community")
        assert community.disabled


async def test_address_of_a_recorded_household_offers_it(store, today, settle, wait_for):
    existing = _setup(store)
    app = make_app(store, today=today)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _open_form(app, pilot, settle, wait_for)
        form.query_one("#address", Input).value = "曹杨1村12号301"  # another spelling
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the question")
        await pilot.click("#choice-open")
        await wait_for(pilot, lambda: isinstance(app.screen, HouseholdScreen), "the household")
        assert app.screen.household_id == existing.id
        await settle(pilot)
    assert len(store.list_households()) == 1


async def test_another_household_at_the_same_address_can_be_added(store, today, settle, wait_for):
    _setup(store)
    app = make_app(store, today=today)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _open_form(app, pilot, settle, wait_for)
        form.query_one("#address", Input).value = "曹杨一村十二号301室"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the question")
        await pilot.click("#choice-back")
        await wait_for(pilot, lambda: app.screen is form, "back in the form")
        assert len(store.list_households()) == 1
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), "asked again")
        await pilot.click("#choice-add")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "saved")
        await settle(pilot)
    assert sorted(h.address for h in store.list_households()) == [
        "曹杨一村12号301室",
        "曹杨一村十二号301室",
    ]
