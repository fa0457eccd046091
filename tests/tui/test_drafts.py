"""Drafts restore whatever the forms can write: every field, every item kind, both forms.

A form in progress is kept in a file beside the database (visitlog.store.drafts);
after a crash or a closed terminal the next start offers it back, with 恢复
as the default answer, so a draft that cannot be restored would stop the app
at every start.
"""

from __future__ import annotations

import json

import pytest
import rawdb
from textual.widgets import Input, Select, TextArea

from visitlog.model import Visit
from visitlog.store import DraftBox, Store
from visitlog.tui.app import make_app
from visitlog.tui.screens.confirm import ChoiceDialog
from visitlog.tui.screens.home import HomeScreen
from visitlog.tui.screens.household_form import HouseholdFormScreen
from visitlog.tui.screens.visit_form import VisitFormScreen
from visitlog.tui.widgets.item_editor import FIELDS, ItemEditor

#: One item of each kind, every field filled in (level left blank on one).
ITEMS = [
    {
        "kind": "问题",
        "category": "安全隐患",
        "level": "街道协调",
        "description": "楼道堆物",
        "owner": "王丽华",
        "deadline": "2026-12-15",
    },
    {
        "kind": "需求",
        "category": "养老助餐助医",
        "level": "居委自办",
        "description": "希望送餐上门",
        "owner": "李晓燕",
        "deadline": "2026-12-20",
    },
    {
        "kind": "赋能",
        "category": "救助帮困",
        "level": "",
        "description": "对接志愿者每周探望",
        "owner": "",
        "deadline": "",
    },
    {
        "kind": "措施",
        "category": "公共设施",
        "level": "当场解决",
        "description": "当场更换楼道灯",
        "owner": "物业张师傅",
        "deadline": "2026-11-27",
    },
]

VISIT_FIELDS = {
    "visit_date": "2026-11-26",
    "mode": "电话",
    "outcome": "见面",
    "visitor": "陈静",
    "next_due": "2027-01-15",
    "summary": "老人独居，腿脚不便。\n希望加装电梯。",
}


def _form_values(form: VisitFormScreen) -> dict:
    data = form.collect()
    return {k: data[k] for k in (*VISIT_FIELDS, "items")}


async def _restart_and_restore(pilot, app, wait_for, form_type):
    # 恢复 is the default answer: enter restores.
    await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the draft offered")
    await wait_for(pilot, lambda: app.focused is not None, "the default answer focused")
    assert app.focused.id == "choice-restore"
    await pilot.press("enter")
    first = form_type.FIRST_FOCUS.lstrip("#")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, form_type) and getattr(app.focused, "id", "") == first,
        "the restored form",
    )
    form = app.screen
    await wait_for(pilot, lambda: all(e.ready for e in form.query(ItemEditor)), "items built")
    return form


@pytest.mark.slow  # types a whole form and restarts the app twice
async def test_a_visit_draft_with_every_field_and_every_item_kind_restores(
    demo_db, today, settle, wait_for
):
    box = DraftBox(demo_db)
    store = Store(demo_db)

    async def type_it():
        app = make_app(store, today=today)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            await pilot.press("n")
            await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "summary", "the form")
            form = app.screen
            for name in ("visit_date", "visitor", "next_due"):
                form.query_one(f"#{name}", Input).value = VISIT_FIELDS[name]
            form.query_one("#mode", Select).value = VISIT_FIELDS["mode"]
            form.query_one("#summary", TextArea).text = VISIT_FIELDS["summary"]
            for _ in ITEMS:
                await pilot.press("ctrl+n")
            await wait_for(
                pilot,
                lambda: (
                    len(form.query(ItemEditor)) == len(ITEMS)
                    and all(e.ready for e in form.query(ItemEditor))
                ),
                "four item editors",
            )
            for editor, item in zip(form.query(ItemEditor), ITEMS, strict=True):
                for name in FIELDS:
                    widget = editor.query_one(f"#{name}")
                    widget.value = item[name] or Select.NULL if name == "level" else item[name]
            household = form.household["id"]
            expected = _form_values(form)
            assert expected["items"] == ITEMS
            await wait_for(
                pilot,
                lambda: (d := box.get(f"visit:{household}")) and d.data["items"] == ITEMS,
                "the draft written",
            )
            app.exit()  # a crash: no save, no cancel
        return household, expected

    household, expected = await type_it()

    app = make_app(store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        form = await _restart_and_restore(pilot, app, wait_for, VisitFormScreen)
        assert form.household["id"] == household
        assert _form_values(form) == expected
        # the kinds and levels are shown in their selects, not only kept
        kinds = [e.query_one("#kind", Select).value for e in form.query(ItemEditor)]
        assert kinds == ["问题", "需求", "赋能", "措施"]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "saved")
        await settle(pilot)
    [visit] = [v for v in store.list_visits(household=household) if v.visitor == "陈静"]
    assert (visit.visit_date, visit.mode, visit.next_due, visit.summary) == (
        "2026-11-26",
        "电话",
        "2027-01-15",
        VISIT_FIELDS["summary"],
    )
    stored = [
        {name: getattr(i, name) or "" for name in FIELDS} for i in visit.items
    ]  # fmt: skip
    assert stored == ITEMS
    assert box.list() == []
    store.close()


async def test_every_field_and_item_kind_of_a_visit_draft_comes_back(tui_store, today, wait_for):
    """The draft as the form writes it (the slow test above types it): every field,
    one item of each kind, restored into the widgets exactly."""
    h = tui_store.list_households()[0]
    data = {
        "visit_id": None,
        "household_id": h.id,
        "address": h.address,
        "head": h.head,
        **VISIT_FIELDS,
        "items": ITEMS,
    }
    DraftBox(tui_store.path).save(f"visit:{h.id}", "visit", data)

    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        form = await _restart_and_restore(pilot, app, wait_for, VisitFormScreen)
        assert _form_values(form) == {k: data[k] for k in (*VISIT_FIELDS, "items")}
        kinds = [e.query_one("#kind", Select).value for e in form.query(ItemEditor)]
        levels = [e.query_one("#level", Select).value for e in form.query(ItemEditor)]
        assert kinds == ["问题", "需求", "赋能", "措施"]
        assert levels == ["街道协调", "居委自办", Select.NULL, "当场解决"]


async def test_the_draft_that_crashed_every_start_now_restores(tui_store, today, settle, wait_for):
    """A draft with list items, as the form wrote it, offered at start (restore by default)."""
    h = tui_store.list_households()[0]
    data = {
        "household_id": h.id,
        "address": h.address,
        "head": h.head,
        "visit_date": "2026-11-27",
        "mode": "入户",
        "outcome": "见面",
        "visitor": "王丽华",
        "next_due": "",
        "summary": "写了一半",
        "items": [ITEMS[1]],
    }
    DraftBox(tui_store.path).save(f"visit:{h.id}", "visit", data)

    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        form = await _restart_and_restore(pilot, app, wait_for, VisitFormScreen)
        assert form.query_one("#summary", TextArea).text == "写了一半"
        [editor] = form.query(ItemEditor)
        assert editor.value() == ITEMS[1]
        # restored once, not twice (the form's mount handler runs once)
        assert len(form.collect()["items"]) == 1


async def test_a_household_draft_restores_every_field(db_path, today, settle, wait_for):
    store = Store(db_path)
    store.init_identity("王丽华", grid="曹杨一村1号网格")
    box = DraftBox(db_path)
    values = {
        "address": "曹杨一村12号301室",
        "micro_grid": "曹杨一村2号网格",
        "community": "曹杨一村",
        "head": "王建国",
        "phone": "021-62345678",
        "members": "3",
        "tags": "独居老人、高龄",
        "note": "楼上漏水",
    }

    app = make_app(store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.action_add_household()
        await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "address", "form")
        form = app.screen
        for name, value in values.items():
            form.query_one(f"#{name}", Input).value = value
        form.query_one("#occupancy", Select).value = "出租"
        await wait_for(
            pilot,
            lambda: (d := box.get("household:new")) and d.data["note"] == "楼上漏水",
            "the draft written",
        )
        app.exit()

    app = make_app(store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        form = await _restart_and_restore(pilot, app, wait_for, HouseholdFormScreen)
        for name, value in values.items():
            assert form.query_one(f"#{name}", Input).value == value, name
        assert form.query_one("#occupancy", Select).value == "出租"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "saved")
        await settle(pilot)
    [h] = store.list_households()
    assert (h.address, h.micro_grid, h.community, h.head, h.members, h.occupancy) == (
        "曹杨一村12号301室",
        "曹杨一村2号网格",
        "曹杨一村",
        "王建国",
        3,
        "出租",
    )
    assert (h.phone, h.phones) == ("021-62345678", ["02162345678"])
    assert (h.tags, h.note) == (["独居老人", "高龄"], "楼上漏水")
    assert box.list() == []
    store.close()


async def test_a_draft_with_values_the_form_cannot_show_still_opens(tui_store, today, wait_for):
    """Values an older version or a damaged file left behind fall back to the defaults."""
    h = tui_store.list_households()[0]
    data = {
        "household_id": h.id,
        "address": h.address,
        "visit_date": None,
        "mode": "骑车",
        "outcome": 7,
        "summary": "还在",
        "items": [{"kind": "投诉", "category": None, "level": "立刻", "description": None}, "x"],
    }
    DraftBox(tui_store.path).save(f"visit:{h.id}", "visit", data)

    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        form = await _restart_and_restore(pilot, app, wait_for, VisitFormScreen)
        assert form.query_one("#summary", TextArea).text == "还在"
        assert form.query_one("#mode", Select).value == "入户"
        [editor] = form.query(ItemEditor)
        assert editor.value()["kind"] == "问题" and editor.value()["level"] == ""


async def test_a_draft_whose_visit_was_saved_after_all_is_not_offered(
    tui_store, today, settle, wait_for
):
    """The app died between storing the visit and removing its draft: nothing is saved twice."""
    h = tui_store.list_households()[0]
    visit = tui_store.add_visit(Visit(household_id=h.id, visit_date="2026-11-27", visitor="王丽华"))
    box = DraftBox(tui_store.path)
    box.save(f"visit:{h.id}", "visit", {"visit_id": visit.id, "household_id": h.id})

    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
    assert box.list() == []


async def test_drafts_kept_in_the_database_by_older_versions_are_offered(
    tui_store, today, settle, wait_for
):
    h = tui_store.list_households()[0]
    data = {"household_id": h.id, "address": h.address, "summary": "旧版本的草稿"}
    conn = rawdb.connect(tui_store.path)
    with conn:
        conn.execute(
            "INSERT INTO drafts(id, kind, data, updated_at) VALUES (?, 'visit', ?, ?)",
            [f"visit:{h.id}", json.dumps(data, ensure_ascii=False), "2026-11-20T08:00:00+00:00"],
        )
    conn.close()

    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        form = await _restart_and_restore(pilot, app, wait_for, VisitFormScreen)
        assert form.query_one("#summary", TextArea).text == "旧版本的草稿"
        await settle(pilot)
    # moved: out of the database, into the draft files
    assert tui_store.drafts() == []
    assert DraftBox(tui_store.path).get(f"visit:{h.id}").data["summary"] == "旧版本的草稿"


async def test_a_draft_summary_with_control_characters_is_shown_made_visible(
    tui_store, today, wait_for
):
    """A summary holding an OSC 52 sequence (pasted, or from a stored visit) comes back
    into the text area with its control characters as visible symbols, never raw."""
    from hostile import CORPUS, raw_controls

    h = tui_store.list_households()[0]
    summary = CORPUS["osc52_clipboard"]
    data = {"visit_id": None, "household_id": h.id, "address": h.address, "head": h.head}
    data.update({**VISIT_FIELDS, "summary": summary, "items": []})
    DraftBox(tui_store.path).save(f"visit:{h.id}", "visit", data)

    app = make_app(tui_store, today=today)
    async with app.run_test(size=(100, 30)) as pilot:
        form = await _restart_and_restore(pilot, app, wait_for, VisitFormScreen)
        text = form.query_one("#summary", TextArea).text
        assert raw_controls(text) == []
        assert text.startswith("曹杨␛]52;c;") and text.endswith("一村")
