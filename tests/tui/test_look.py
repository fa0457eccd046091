"""The first-run boxes can be seen, and the light/dark choice outlives the session."""

from __future__ import annotations

import pytest

from visitlog.store import Store
from visitlog.tui.app import THEME_SETTING, make_app


def _contrast(widget, behind) -> float:
    """Difference in brightness between a widget's background and what is behind it."""
    _, own = widget.background_colors
    _, back = behind.background_colors
    return abs(own.brightness - back.brightness)


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
async def test_first_run_boxes_stand_out_from_the_dialog(db_path, today, settle, wait_for, theme):
    store = Store(db_path)
    app = make_app(store, today=today)
    app.theme = theme
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: type(app.screen).__name__ == "IdentityDialog", "dialog")
        await settle(pilot)
        dialog = app.screen.query_one("#identity")
        for box in ("#worker", "#grid"):
            widget = app.screen.query_one(box)
            if app.focused is widget:
                app.screen.set_focus(None)
                await settle(pilot)
            assert _contrast(widget, dialog) >= 0.05, (box, theme)
    store.close()


async def test_the_theme_chosen_is_the_next_start(demo_db, today, settle):
    store = Store(demo_db)
    first = make_app(store, today=today)
    async with first.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert first.current_theme.dark
        first.action_toggle_dark()
        await settle(pilot)
        assert not first.current_theme.dark
    assert store.get_setting(THEME_SETTING) == "textual-light"
    second = make_app(store, today=today)
    async with second.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not second.current_theme.dark
        second.action_toggle_dark()
        await settle(pilot)
    assert store.get_setting(THEME_SETTING) == "textual-dark"
    assert make_app(store, today=today).theme == "textual-dark"
    store.close()
