"""The new-visit form: the cursor starts in 民情摘要, everything else has a default."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Header, Input, Label, Select, Static, TextArea

from visitlog.i18n import t
from visitlog.model import Item, Mode, Outcome, ValidationError, Visit, parse_date, require_text
from visitlog.tui.common import enum_choice
from visitlog.tui.screens.form import FormScreen
from visitlog.tui.widgets.item_editor import ItemEditor


class VisitFormScreen(FormScreen):
    """Record a visit to one household; dismisses with the saved :class:`Visit`.

    Args:
        household: at least ``id``, ``address`` and ``head`` of the household.
        draft: values of an unsaved form to restore.
    """

    DRAFT_KIND = "visit"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+n", "add_item", "tui.key.add_item")]

    def __init__(self, household: dict[str, Any], draft: dict[str, Any] | None = None):
        super().__init__(draft)
        self.household = household
        self._items = 0

    @property
    def draft_id(self) -> str:
        return f"visit:{self.household['id']}"

    def compose(self) -> ComposeResult:
        app = self.vapp
        h = self.household
        yield Header()
        title = t("tui.visit.title", address=h.get("address") or "", head=h.get("head") or "—")
        yield Static(title, id="form-title")
        with VerticalScroll(id="form"):
            with Horizontal(classes="row"):
                yield Label(t("tui.visit.date"), classes="field-label")
                yield Input(app.today().isoformat(), id="visit_date", compact=True, classes="date")
                yield Label(t("tui.visit.mode"), classes="field-label")
                yield enum_choice(Mode, Mode.HOME.value, "mode")
                yield Label(t("tui.visit.outcome"), classes="field-label")
                yield enum_choice(Outcome, Outcome.MET.value, "outcome")
            yield Static("", id="err-visit_date", classes="error")
            with Horizontal(classes="row"):
                yield Label(t("tui.visit.visitor"), classes="field-label")
                yield Input(app.store.worker or "", id="visitor", compact=True, classes="visitor")
                yield Label(t("tui.visit.next_due"), classes="field-label")
                yield Input(
                    "",
                    id="next_due",
                    compact=True,
                    classes="date",
                    placeholder=t("tui.date_placeholder"),
                )
            yield Static("", id="err-visitor", classes="error")
            yield Static("", id="err-next_due", classes="error")
            yield Label(t("tui.visit.summary"), classes="section-title")
            yield TextArea(id="summary", placeholder=t("tui.visit.summary_placeholder"))
            yield Static("", id="err-summary", classes="error")
            yield Label(t("tui.visit.items"), classes="section-title")
            yield Vertical(id="item-list")
            yield Button(t("tui.visit.add_item"), id="add-item", compact=True)
            yield Static("", id="err-form", classes="error")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#summary", TextArea).focus()

    # -- items ----------------------------------------------------------------------

    def _editors(self) -> list[ItemEditor]:
        return list(self.query(ItemEditor))

    def _add_editor(self, data: dict[str, Any] | None = None, focus: bool = True) -> None:
        self._items += 1
        self.query_one("#item-list", Vertical).mount(ItemEditor(self._items, data, focus=focus))
        self._schedule_draft()

    def action_add_item(self) -> None:
        self._add_editor()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "add-item":
            event.stop()
            self._add_editor()

    async def on_item_editor_remove(self, message: ItemEditor.Remove) -> None:
        await message.editor.remove()
        self._schedule_draft()

    # -- data -----------------------------------------------------------------------

    def collect(self) -> dict[str, Any]:
        def value(selector: str) -> str:
            widget = self.query_one(selector)
            if isinstance(widget, Select):
                return "" if widget.value is Select.NULL else str(widget.value)
            if isinstance(widget, TextArea):
                return widget.text
            return widget.value  # type: ignore[attr-defined]

        return {
            "household_id": self.household["id"],
            "address": self.household.get("address"),
            "head": self.household.get("head"),
            "visit_date": value("#visit_date").strip(),
            "mode": value("#mode"),
            "outcome": value("#outcome"),
            "visitor": value("#visitor").strip(),
            "next_due": value("#next_due").strip(),
            "summary": value("#summary"),
            "items": [e.value() for e in self._editors()],
        }

    def fill(self, data: dict[str, Any]) -> None:
        for name in ("visit_date", "visitor", "next_due"):
            if name in data:
                self.query_one(f"#{name}", Input).value = data[name] or ""
        for name in ("mode", "outcome"):
            if data.get(name):
                self.query_one(f"#{name}", Select).value = data[name]
        if "summary" in data:
            area = self.query_one("#summary", TextArea)
            area.text = data["summary"] or ""
            area.move_cursor(area.document.end)
        for item in data.get("items") or []:
            self._add_editor(item, focus=False)

    def save(self) -> Visit | None:
        data = self.collect()
        ok = True
        today = self.vapp.today()
        try:
            date = parse_date(data["visit_date"], "visit_date")
            if date is None:
                raise ValidationError(t("err.required", field=t("field.visit_date")))
            if date > today + dt.timedelta(days=1):
                raise ValidationError(t("err.future_date", value=date.isoformat()))
        except ValidationError as exc:
            self.field_error("visit_date", str(exc))
            ok = False
        try:
            require_text(data["visitor"], "visitor", 60)
        except ValidationError as exc:
            self.field_error("visitor", str(exc))
            ok = False
        try:
            parse_date(data["next_due"], "next_due")
        except ValidationError as exc:
            self.field_error("next_due", str(exc))
            ok = False
        items: list[Item] = []
        for editor, raw in zip(self._editors(), data["items"], strict=True):
            if editor.is_blank():
                continue  # an item added and left empty is not an error
            item = Item(
                kind=raw["kind"],
                category=raw["category"],
                description=raw["description"],
                level=raw["level"] or None,
                owner=raw["owner"] or None,
                deadline=raw["deadline"] or None,
            )
            try:
                items.append(item.validated())
            except ValidationError as exc:
                editor.show_error(str(exc))
                ok = False
        if not ok:
            return None
        visit = Visit(
            household_id=data["household_id"],
            visit_date=data["visit_date"],
            visitor=data["visitor"],
            mode=data["mode"] or Mode.HOME.value,
            outcome=data["outcome"] or Outcome.MET.value,
            summary=data["summary"],
            next_due=data["next_due"] or None,
            items=items,
        )
        return self.vapp.store.add_visit(visit)
