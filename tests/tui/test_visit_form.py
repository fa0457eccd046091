"""New visit: cursor in 民情摘要, ctrl+s saves, escape asks first, drafts survive a crash."""

from __future__ import annotations

from textual.widgets import Input, TextArea

from visitlog.store import DraftBox
from visitlog.tui.app import make_app
from visitlog.tui.screens.confirm import ChoiceDialog, ConfirmDialog
from visitlog.tui.screens.details import HouseholdScreen
from visitlog.tui.screens.home import HomeScreen
from visitlog.tui.screens.visit_form import VisitFormScreen
from visitlog.tui.widgets.item_editor import ItemEditor


def _summary_focused(app) -> bool:
    return isinstance(app.screen, VisitFormScreen) and getattr(app.focused, "id", "") == "summary"


async def _open_form(app, pilot, settle, wait_for, downs: int = 3) -> dict:
    await settle(pilot)
    for _ in range(downs):
        await pilot.press("down")
    row = app.screen.table.current_row()
    await pilot.press("n")
    # Keys typed before the form has the focus would go to the table.
    await wait_for(pilot, lambda: _summary_focused(app), "the form with the cursor in 民情摘要")
    return row


def _drafts(store) -> list:
    return DraftBox(store.path).list()


async def test_new_visit_is_saved_and_shows_in_the_history(
    tui_store, today, settle, plain, wait_for
):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        row = await _open_form(app, pilot, settle, wait_for)
        form = app.screen
        # The cursor starts in 民情摘要; the other fields have their defaults.
        assert isinstance(app.focused, TextArea) and app.focused.id == "summary"
        assert form.query_one("#visit_date", Input).value == today.isoformat()
        assert form.query_one("#visitor", Input).value == "王丽华"
        await pilot.press(*"老人腿脚不便")
        # one list item: a problem with a deadline
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: [e for e in form.query(ItemEditor) if e.ready], "an item")
        editor = form.query_one(ItemEditor)
        description = editor.query_one("#description", Input)
        await wait_for(pilot, lambda: app.focused is description, "the item's description")
        await pilot.press(*"楼道灯不亮")
        editor.query_one("#deadline", Input).value = "2026-12-15"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "back home")
        await settle(pilot)
        visits = tui_store.list_visits(household=row["id"])
        new = [v for v in visits if v.summary == "老人腿脚不便"]
        assert len(new) == 1
        visit = new[0]
        assert (visit.visit_date, visit.visitor, visit.mode, visit.outcome) == (
            today.isoformat(),
            "王丽华",
            "入户",
            "见面",
        )
        assert [(i.kind, i.description, i.deadline, i.status) for i in visit.items] == [
            ("问题", "楼道灯不亮", "2026-12-15", "待办")
        ]
        assert _drafts(tui_store) == []
        # the row is updated: visited this year, last visit today, one more open item
        await wait_for(
            pilot,
            lambda: app.screen.row_by_id(row["id"])["last_visit"] == today.isoformat(),
            "the row updated",
        )
        updated = app.screen.row_by_id(row["id"])
        assert updated["visited_this_year"] is True
        assert updated["open_items"] == row["open_items"] + 1
        # and the visit is in the household's history
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HouseholdScreen), "details")
        assert "老人腿脚不便" in [v.summary for v in app.screen.visits]
        assert "楼道灯不亮" in plain(app.screen.query_one("#history"))


async def test_validation_errors_show_next_to_the_field(tui_store, today, settle, wait_for):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        row = await _open_form(app, pilot, settle, wait_for)
        before = len(tui_store.list_visits(household=row["id"]))
        form = app.screen
        form.query_one("#visit_date", Input).value = "2026-13-45"
        form.query_one("#next_due", Input).value = "明天"
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: [e for e in form.query(ItemEditor) if e.ready], "an item")
        form.query_one(ItemEditor).query_one("#deadline", Input).value = "下周"
        await pilot.press("ctrl+s")
        date_error = form.query_one("#err-visit_date")
        await wait_for(pilot, lambda: date_error.has_class("-shown"), "the date's error")
        assert app.screen is form  # nothing crashed, nothing saved
        assert "2026-13-45" in str(date_error.render())
        assert form.query_one("#err-next_due").has_class("-shown")
        item_error = form.query_one(ItemEditor).query_one(".item-error")
        assert item_error.has_class("-shown")
        assert not form.query_one("#err-visitor").has_class("-shown")
        assert len(tui_store.list_visits(household=row["id"])) == before
        # fixing the fields lets it save
        form.query_one("#visit_date", Input).value = today.isoformat()
        form.query_one("#next_due", Input).value = ""
        form.query_one(ItemEditor).query_one("#deadline", Input).value = ""
        form.query_one(ItemEditor).query_one("#description", Input).value = "漏水"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "back home")
        assert len(tui_store.list_visits(household=row["id"])) == before + 1


async def test_escape_asks_before_discarding_what_was_typed(
    tui_store, today, settle, wait_for, click
):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        row = await _open_form(app, pilot, settle, wait_for)
        before = len(tui_store.list_visits(household=row["id"]))
        await pilot.press(*"不在家")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        await click(pilot, "#choice-no")  # keep editing
        await wait_for(pilot, lambda: isinstance(app.screen, VisitFormScreen), "the form")
        assert app.screen.query_one("#summary", TextArea).text == "不在家"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        await click(pilot, "#choice-yes")  # discard
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "back home")
        await settle(pilot)
        assert len(tui_store.list_visits(household=row["id"])) == before
        assert _drafts(tui_store) == []


async def test_enter_on_the_discard_question_keeps_editing(tui_store, today, settle, wait_for):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_form(app, pilot, settle, wait_for)
        await pilot.press(*"楼道灯坏了")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        await wait_for(pilot, lambda: app.focused is not None, "a focused answer")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, VisitFormScreen), "the form")
        assert app.screen.query_one("#summary", TextArea).text == "楼道灯坏了"


async def test_escape_on_an_untouched_form_just_closes_it(tui_store, today, settle, wait_for):
    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_form(app, pilot, settle, wait_for)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "back home")


async def test_ctrl_s_on_an_untouched_form_asks_before_saving_an_empty_visit(
    tui_store, today, settle, wait_for, click
):
    """An empty 见面 visit counts toward coverage: a stray ctrl+s must not record one."""

    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        row = await _open_form(app, pilot, settle, wait_for)
        before = len(tui_store.list_visits(household=row["id"]))
        form = app.screen
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        assert "覆盖率" in str(app.screen.query_one(".dialog-body").render())
        await wait_for(pilot, lambda: app.focused is not None, "a focused answer")
        await pilot.press("enter")  # the safe answer has the focus: nothing saved
        await wait_for(pilot, lambda: app.screen is form, "back to the form")
        await settle(pilot)
        assert len(tui_store.list_visits(household=row["id"])) == before
        # not at home: the household is due again; no question, it is saved
        form.query_one("#outcome").value = "不在家"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "saved")
        # and an empty 见面 visit can still be recorded on purpose
        await pilot.press("n")
        await wait_for(pilot, lambda: _summary_focused(app), "a new form")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        await click(pilot, "#choice-yes")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "saved")
        await settle(pilot)
        outcomes = [v.outcome for v in tui_store.list_visits(household=row["id"])[before:]]
        assert sorted(outcomes) == ["不在家", "见面"]


async def test_draft_is_restored_after_the_app_dies_mid_form(
    tui_store, demo_db, today, settle, wait_for, click
):
    from visitlog.store import Store

    box = DraftBox(demo_db)

    async def crash():
        app = make_app(tui_store, today=today)
        async with app.run_test(size=(100, 30)) as pilot:
            row = await _open_form(app, pilot, settle, wait_for)
            await pilot.press(*"漏水严重")
            form = app.screen
            form.query_one("#next_due", Input).value = "2026-12-20"
            draft_id = f"visit:{row['id']}"
            # the draft is written ~0.3 s after the last change
            await wait_for(
                pilot,
                lambda: (d := box.get(draft_id)) and d.data["next_due"] == "2026-12-20",
                "the draft written",
            )
            # the app goes away without saving or cancelling (a crash, a closed terminal)
            app.exit()
        return row

    row = await crash()
    drafts = box.list()
    assert [d.id for d in drafts] == [f"visit:{row['id']}"]
    assert drafts[0].data["summary"] == "漏水严重"
    assert tui_store.list_visits(household=row["id"])[-1].summary != "漏水严重"

    store = Store(demo_db)
    app = make_app(store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        # the draft is offered back
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the offer")
        await click(pilot, "#choice-restore")
        await wait_for(pilot, lambda: _summary_focused(app), "the restored form")
        form = app.screen
        assert form.household["id"] == row["id"]
        assert form.query_one("#summary", TextArea).text == "漏水严重"
        assert form.query_one("#next_due", Input).value == "2026-12-20"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "saved")
        await settle(pilot)
    saved = store.list_visits(household=row["id"])
    assert [v.next_due for v in saved if v.summary == "漏水严重"] == ["2026-12-20"]
    assert box.list() == []
    store.close()


async def test_pressing_n_again_picks_up_the_draft_of_that_household(
    tui_store, today, settle, wait_for
):
    app = make_app(tui_store, today=today)
    box = DraftBox(tui_store.path)
    async with app.run_test(size=(100, 30)) as pilot:
        row = await _open_form(app, pilot, settle, wait_for)
        await pilot.press(*"草稿")
        await wait_for(pilot, lambda: box.get(f"visit:{row['id']}"), "the draft written")
        app.pop_screen()  # leave without the cancel question, as a crash would
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
        await pilot.press("n")
        await wait_for(pilot, lambda: _summary_focused(app), "the form again")
        assert app.screen.query_one("#summary", TextArea).text == "草稿"


async def test_closing_the_app_right_after_typing_keeps_the_last_keys(
    tui_store, today, settle, wait_for
):
    async def run():
        app = make_app(tui_store, today=today)
        async with app.run_test(size=(100, 30)) as pilot:
            row = await _open_form(app, pilot, settle, wait_for)
            await pilot.press(*"最后几个字")
            app.exit()  # well within the draft's debounce delay
        return row

    row = await run()
    [draft] = _drafts(tui_store)
    assert draft.id == f"visit:{row['id']}"
    assert draft.data["summary"] == "最后几个字"
