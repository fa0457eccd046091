"""One list item (问题/需求/赋能/措施) inside the new-visit form."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, Select, Static

from visitlog.i18n import t
from visitlog.model import Category, Kind, Level
from visitlog.tui.common import enum_choice, enum_options, known_value

FIELDS = ("kind", "category", "level", "description", "owner", "deadline")


class ItemEditor(Vertical):
    """Kind, category, handling level, description, owner and deadline of one item."""

    class Remove(Message):
        """The worker asked to drop this item from the form."""

        def __init__(self, editor: ItemEditor):
            super().__init__()
            self.editor = editor

    def __init__(self, number: int, data: dict[str, Any] | None = None, focus: bool = False):
        super().__init__(classes="item-card")
        self.number = number
        self._data = data or {}
        self._focus = focus

    def on_mount(self) -> None:
        if self._focus:
            self.query_one("#description", Input).focus()
            self.call_after_refresh(self.scroll_visible)

    def compose(self) -> ComposeResult:
        d = self._data
        level = known_value(Level, d.get("level"))
        with Horizontal(classes="row"):
            yield Label(t("tui.item.number", n=self.number), classes="item-number")
            yield enum_choice(Kind, d.get("kind") or Kind.PROBLEM.value, "kind")
            yield enum_choice(Category, d.get("category") or Category.OTHER.value, "category")
            yield Select(
                enum_options(Level),
                value=level or Select.NULL,
                prompt=t("tui.item.level"),
                id="level",
                compact=True,
                classes="level",
            )
            yield Button(t("tui.item.remove"), id="remove", compact=True, classes="remove")
        with Horizontal(classes="row"):
            yield Label(t("tui.item.description"), classes="field-label")
            yield Input(
                d.get("description") or "",
                id="description",
                compact=True,
                placeholder=t("tui.item.description_placeholder"),
            )
        with Horizontal(classes="row"):
            yield Label(t("tui.item.owner"), classes="field-label")
            yield Input(d.get("owner") or "", id="owner", compact=True, classes="owner")
            yield Label(t("tui.item.deadline"), classes="field-label")
            yield Input(
                d.get("deadline") or "",
                id="deadline",
                compact=True,
                classes="date",
                placeholder=t("tui.date_placeholder"),
            )
        yield Static("", classes="error item-error")

    def value(self) -> dict[str, str]:
        """The item as typed (strings; blank level as "").

        Until its widgets are mounted (a draft being restored, an item just
        added) the item is what it was given.
        """
        if not self.is_mounted or not self.query("#description"):
            return {name: str(self._data.get(name) or "") for name in FIELDS}
        out: dict[str, str] = {}
        for name in FIELDS:
            widget = self.query_one(f"#{name}")
            if isinstance(widget, Select):
                out[name] = "" if widget.value is Select.NULL else str(widget.value)
            else:
                out[name] = widget.value.strip()  # type: ignore[attr-defined]
        return out

    def is_blank(self) -> bool:
        """Nothing typed in the free-text fields (the selects always have a value)."""
        v = self.value()
        return not (v["description"] or v["owner"] or v["deadline"])

    def show_error(self, message: str) -> None:
        error = self.query_one(".item-error", Static)
        error.update(message)
        error.add_class("-shown")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "remove":
            event.stop()
            self.post_message(self.Remove(self))
