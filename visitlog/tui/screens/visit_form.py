"""The new-visit form: the cursor starts in 民情摘要, everything else has a default.

The visit's id is made when the form opens and kept in its draft, so a save
that completed just before the app died is recognised at the next start
(the draft is then dropped instead of offered, and never saved twice).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Header, Input, Label, Select, TextArea

from visitlog.clock import new_id
from visitlog.i18n import t
from visitlog.model import Item, Mode, Outcome, ValidationError, Visit, parse_date, require_text
from visitlog.tui.common import CompactFooter, Plain, PlainInput, enum_choice, known_value
from visitlog.tui.screens.form import FormScreen, SaveJob
from visitlog.tui.widgets.item_editor import ItemEditor
from visitlog.visible import visible


class VisitFormScreen(FormScreen):
    """Record a visit to one household; dismisses with the saved :class:`Visit`.

    Args:
        household: at least ``id``, ``address`` and ``head`` of the household.
        draft: values of an unsaved form to restore.
    """

    DRAFT_KIND = "visit"
    FIRST_FOCUS = "#summary"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+n", "add_item", "tui.key.add_item")]

    def __init__(self, household: dict[str, Any], draft: dict[str, Any] | None = None):
        super().__init__(draft)
        self.household = household
        self._items = 0
        #: The id the visit is stored under (the draft's, when restoring one).
        self.visit_id: str = (draft or {}).get("visit_id") or new_id()

    @property
    def draft_id(self) -> str:
        return f"visit:{self.household['id']}"

    def compose(self) -> ComposeResult:
        app = self.vapp
        h = self.household
        yield Header()
        title = t("tui.visit.title", address=h.get("address") or "", head=h.get("head") or "—")
        yield Plain(title, id="form-title")
        yield Plain("", id="form-status")
        with VerticalScroll(id="form"):
            with Horizontal(classes="row"):
                yield Label(t("tui.visit.date"), classes="field-label")
                yield PlainInput(
                    app.today().isoformat(), id="visit_date", compact=True, classes="date"
                )
                yield Label(t("tui.visit.mode"), classes="field-label")
                yield enum_choice(Mode, Mode.HOME.value, "mode")
                yield Label(t("tui.visit.outcome"), classes="field-label")
                yield enum_choice(Outcome, Outcome.MET.value, "outcome")
            yield Plain("", id="err-visit_date", classes="error")
            with Horizontal(classes="row"):
                yield Label(t("tui.visit.visitor"), classes="field-label")
                yield PlainInput(
                    app.worker_name() or "", id="visitor", compact=True, classes="visitor"
                )
                yield Label(t("tui.visit.next_due"), classes="field-label")
                yield PlainInput(
                    "",
                    id="next_due",
                    compact=True,
                    classes="date",
                    placeholder=t("tui.date_placeholder"),
                )
            yield Plain("", id="err-visitor", classes="error")
            yield Plain("", id="err-next_due", classes="error")
            yield Label(t("tui.visit.summary"), classes="section-title")
            yield TextArea(id="summary", placeholder=t("tui.visit.summary_placeholder"))
            yield Plain("", id="err-summary", classes="error")
            yield Label(t("tui.visit.items"), classes="section-title")
            yield Vertical(id="item-list")
            yield Button(t("tui.visit.add_item"), id="add-item", compact=True)
            yield Plain("", id="err-form", classes="error")
        yield CompactFooter()

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
            "visit_id": self.visit_id,
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
                self.query_one(f"#{name}", Input).value = str(data[name] or "")
        for name, enum_cls in (("mode", Mode), ("outcome", Outcome)):
            value = known_value(enum_cls, data.get(name))
            if value:
                self.query_one(f"#{name}", Select).value = value
        if "summary" in data:
            area = self.query_one("#summary", TextArea)
            # A terminal shows what the text area holds as it is: control
            # characters from a draft or a stored visit are made visible.
            area.text = visible(data["summary"])
            area.move_cursor(area.document.end)
        for item in data.get("items") or []:
            if isinstance(item, dict):
                self._add_editor(item, focus=False)

    def _visit(self, data: dict[str, Any]) -> Visit | None:
        """The visit the form describes, or None after showing what is wrong."""
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
        # The store checks the whole visit again; what it refuses comes back
        # to the form's error line.
        return Visit(
            household_id=data["household_id"],
            visit_date=data["visit_date"],
            visitor=data["visitor"],
            mode=data["mode"] or Mode.HOME.value,
            outcome=data["outcome"] or Outcome.MET.value,
            summary=data["summary"],
            next_due=data["next_due"] or None,
            items=items,
            id=self.visit_id,
        )

    def prepare(self) -> SaveJob | None:
        visit = self._visit(self.collect())
        if visit is None:
            return None
        return lambda store: store.add_visit(visit)

    def confirm_save(self, data: dict[str, Any]) -> str | None:
        """An empty 见面 visit counts toward coverage: ask before storing one."""
        empty = not data["summary"].strip() and all(e.is_blank() for e in self._editors())
        if empty and (data["outcome"] or Outcome.MET.value) == Outcome.MET.value:
            return t("tui.visit.confirm_empty")
        return None
