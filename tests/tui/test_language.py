"""Every word on the screen is in the chosen language, Textual's own included.

The footer and the keys panel show the bindings of Textual's widgets (the
text box, the table, the dropdown, the button, the screen and the app); the
ctrl+c notice and the palette's "no matches" line are Textual's too.  In
Chinese none of them may show an English word; key names (esc, tab, ctrl…)
are keys, not words.
"""

from __future__ import annotations

import html
import re

from textual.widgets import Button, HelpPanel, Select, TextArea

from visitlog.i18n import set_lang
from visitlog.tui.app import make_app
from visitlog.tui.common import ChoiceList
from visitlog.tui.screens.home import HomeScreen
from visitlog.tui.screens.items import ItemsScreen
from visitlog.tui.screens.visit_form import VisitFormScreen

#: What a key is called on the keyboard, and the program's own name.
KEY_NAMES = {
    "esc", "tab", "shift", "ctrl", "alt", "del", "end", "home", "pgup", "pgdn", "super",
    "enter", "space", "insert", "visitlog",
}  # fmt: skip
WORD = re.compile(r"[A-Za-z]{3,}")  # "cy1c" in the search hint is pinyin
CJK = re.compile(r"[\u4e00-\u9fff]")


def screen_text(app) -> str:
    """The characters on the terminal now (the screenshot's text, without its styles)."""
    svg = app.export_screenshot()
    parts = re.findall(r"<text[^>]*>(.*?)</text>", svg, re.S)
    return "\n".join(html.unescape(p).replace("\xa0", " ") for p in parts)


def english_words(app) -> set[str]:
    return {w for w in WORD.findall(screen_text(app)) if w.lower() not in KEY_NAMES}


def shown_descriptions(app) -> list[str]:
    """What the footer and the keys panel show for each active key."""
    return [a.binding.description for a in app.screen.active_bindings.values()]


async def _show_keys(app, pilot, wait_for) -> None:
    app.action_show_help_panel()
    await wait_for(pilot, app.keys_shown, "the keys panel")
    await pilot.pause()


async def test_home_search_form_and_items_show_no_english_in_chinese(
    tui_store, today, settle, wait_for
):
    set_lang("zh")
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await _show_keys(app, pilot, wait_for)
        # the households table (DataTable: "Cursor up", "Page down"…)
        assert english_words(app) == set(), screen_text(app)
        assert "光标上移" in screen_text(app)

        # the search box (Input: "Delete character left", the group title "Input")
        await pilot.press("slash")
        await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "search", "the search box")
        await pilot.pause()
        assert english_words(app) == set(), screen_text(app)
        assert "输入框" in screen_text(app)
        await pilot.press("escape")  # closes the keys panel first
        await wait_for(pilot, lambda: not app.keys_shown(), "the keys panel closed by esc")
        await pilot.press("escape")

        # the new-visit form: TextArea, then a Select opened, then a Button
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.focused, TextArea), "the visit form")
        await _show_keys(app, pilot, wait_for)
        assert english_words(app) == set(), screen_text(app)
        form = app.screen
        outcome = next(s for s in form.query(Select) if s.id == "outcome")
        outcome.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceList), "the outcome list open")
        await pilot.pause()
        assert english_words(app) == set(), screen_text(app)
        await pilot.press("escape")  # the list
        await wait_for(pilot, lambda: app.screen is form, "the outcome list closed")
        if app.keys_shown():
            await pilot.press("escape")  # the keys panel
            await wait_for(pilot, lambda: not app.keys_shown(), "the keys panel closed")
        button = form.query(Button).first()
        button.focus()
        await _show_keys(app, pilot, wait_for)
        assert "按下按钮" in shown_descriptions(app)
        assert english_words(app) == set(), screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.keys_shown(), "the keys panel closed")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, VisitFormScreen), "form closed")

        # the items screen
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, ItemsScreen), "the items")
        await settle(pilot)
        await _show_keys(app, pilot, wait_for)
        assert english_words(app) == set(), screen_text(app)


async def test_ctrl_c_says_how_to_quit_in_chinese(tui_store, today, settle, wait_for):
    set_lang("zh")
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: list(app._notifications), "the quit notice")
        (notice,) = list(app._notifications)
        assert notice.title == "要退出吗？"
        assert notice.message == "按 ^q 退出 visitlog。"


async def test_palette_closes_the_keys_panel_and_says_no_matches_in_chinese(
    tui_store, today, settle, wait_for
):
    set_lang("zh")
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"快捷键")
        await wait_for(pilot, lambda: "显示当前页面的按键" in screen_text(app), "the keys command")
        await pilot.press("enter")
        await wait_for(pilot, app.keys_shown, "the keys panel from the palette")
        await pilot.press("ctrl+p")
        await pilot.press(*"关闭快捷键")
        await wait_for(pilot, lambda: "收起右边的按键说明" in screen_text(app), "the hide command")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.keys_shown(), "the keys panel closed")
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("ctrl+p")
        await pilot.press(*"zzqqxx")
        await wait_for(pilot, lambda: "没有找到这样的命令" in screen_text(app), "no matches")
        assert "No matches" not in screen_text(app)


async def test_esc_without_the_keys_panel_still_goes_back(tui_store, today, settle, wait_for):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, ItemsScreen), "the items")
        assert not app.screen.query(HelpPanel)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "back home by esc")


async def test_english_keys_panel_keeps_textual_words(tui_store, today, settle, wait_for):
    app = make_app(tui_store, lang="en", today=today)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await _show_keys(app, pilot, wait_for)
            descriptions = shown_descriptions(app)
            assert "Cursor up" in descriptions
            assert not any(CJK.search(d) for d in descriptions)
    finally:
        set_lang("zh")
