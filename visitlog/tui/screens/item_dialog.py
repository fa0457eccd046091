"""Change one item's status, with a resolution note and the resident's satisfaction."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from visitlog.i18n import t
from visitlog.model import Category, Item, Kind, Satisfaction, Status
from visitlog.tui.common import (
    Choice,
    Plain,
    PlainInput,
    VisitlogScreen,
    enum_label,
    enum_options,
    known_value,
)

#: The statuses a worker moves an item to from this dialog.
TARGETS = (Status.DOING, Status.DONE, Status.FED_BACK, Status.UNSOLVABLE)


class ItemDialog(VisitlogScreen, ModalScreen[Item | None]):
    """Dismisses with the updated item, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "tui.key.save", priority=True),
        Binding("escape", "cancel", "tui.key.cancel"),
    ]

    def __init__(self, item: Item, address: str = ""):
        super().__init__()
        self.item = item
        self.address = address
        #: True from ctrl+s until the change is stored (it may wait for the database).
        self.saving = False

    def compose(self) -> ComposeResult:
        item = self.item
        # Suggest the next step: 待办 → 办理中, 办理中 → 已办结.
        default = Status.DOING.value if item.status == Status.TODO.value else Status.DONE.value
        with Vertical(classes="dialog", id="item-dialog"):
            yield Plain(t("tui.item_dialog.title"), classes="dialog-title")
            head = f"{enum_label(item.kind, Kind)} · {enum_label(item.category, Category)}"
            yield Plain(
                Text.assemble((head, "bold"), "  ", item.description), classes="dialog-body"
            )
            if self.address:
                yield Plain(self.address, classes="hint")
            with Horizontal(classes="row"):
                yield Label(t("tui.item_dialog.status"), classes="field-label wide")
                yield Choice(
                    [(enum_label(s.value, Status), s.value) for s in TARGETS],
                    value=default,
                    allow_blank=False,
                    id="status",
                    compact=True,
                )
            yield Plain("", id="err-status", classes="error")
            with Horizontal(classes="row"):
                yield Label(t("tui.item_dialog.note"), classes="field-label wide")
                yield PlainInput(
                    item.resolution or "",
                    id="note",
                    compact=True,
                    placeholder=t("tui.item_dialog.note_placeholder"),
                )
            yield Plain("", id="err-note", classes="error")
            with Horizontal(classes="row"):
                yield Label(t("tui.item_dialog.satisfaction"), classes="field-label wide")
                # One "not rated" choice (未评), also for an item never asked.
                yield Choice(
                    enum_options(Satisfaction),
                    value=known_value(Satisfaction, item.satisfaction)
                    or Satisfaction.UNRATED.value,
                    allow_blank=False,
                    id="satisfaction",
                    compact=True,
                )
            yield Plain("", id="err-satisfaction", classes="error")
            yield Plain("", id="form-status")
            with Horizontal(classes="dialog-buttons"):
                yield Button(t("tui.save"), id="save", variant="primary")
                yield Button(t("tui.cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#status", Select).focus()

    def _error(self, name: str, message: str) -> None:
        error = self.query_one(f"#err-{name}", Static)
        error.update(message)
        error.add_class("-shown")

    def action_save(self) -> None:
        if self.saving:
            self.notify(t("tui.save.pending"), severity="warning")
            return
        for error in self.query(".error"):
            error.remove_class("-shown")
        status = str(self.query_one("#status", Select).value)
        note = self.query_one("#note", Input).value.strip()
        sat = str(self.query_one("#satisfaction", Select).value)
        if sat == Satisfaction.UNRATED.value and not self.item.satisfaction:
            sat = ""  # never asked and still not rated: nothing to store
        if status == Status.UNSOLVABLE.value and not note:
            self._error("note", t("tui.item_dialog.note_required"))
            self.query_one("#note", Input).focus()
            return
        item_id, today = self.item.id or "", self.vapp.today()
        changes = {
            "status": status,
            "note": note if note != (self.item.resolution or "") else None,
            "satisfaction": sat or None,
        }
        self.saving = True
        self._set_status(t("tui.save.saving"))
        self.vapp.write(
            lambda store: store.update_item(item_id, today=today, **changes),
            done=self._stored,
            failed=self._failed,
            waiting=lambda _seconds: self._set_status(t("tui.item_dialog.waiting")),
        )

    def _set_status(self, message: str | None) -> None:
        status = self.query_one("#form-status", Static)
        status.update(message or "")
        status.set_class(bool(message), "-shown")

    def _stored(self, updated: Item) -> None:
        self.saving = False
        if self.is_attached:
            self.dismiss(updated)

    def _failed(self, message: str) -> None:
        self.saving = False
        if self.is_attached:
            self._set_status(None)
            self._error("status", message)

    def action_cancel(self) -> None:
        if self.saving:
            # The change is on its way; leaving now would hide whether it was stored.
            self.notify(t("tui.save.pending"), severity="warning")
            return
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()
