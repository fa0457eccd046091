"""One list item (问题/需求/赋能/措施) inside the new-visit form."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, Select, Static

from visitlog.i18n import t
from visitlog.model import Category, Kind, Level
from visitlog.tui.common import Choice, Plain, PlainInput, enum_choice, enum_options, known_value

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
        #: What the item starts with, as the widgets will show it: a value a
        #: Select cannot show (an older version's, a damaged draft's) is its default.
        d = data or {}
        self._start = {
            "kind": known_value(Kind, d.get("kind")) or Kind.PROBLEM.value,
            "category": known_value(Category, d.get("category")) or Category.OTHER.value,
            "level": known_value(Level, d.get("level")) or "",
            **{
                name: str(d.get(name) or "").strip()
                for name in ("description", "owner", "deadline")
            },
        }
        self._focus = focus

    def on_mount(self) -> None:
        if self._focus:
            self.query_one("#description", Input).focus()
            self.call_after_refresh(self.scroll_visible)

    def compose(self) -> ComposeResult:
        d = self._start
        with Horizontal(classes="row"):
            yield Label(t("tui.item.number", n=self.number), classes="item-number")
            yield enum_choice(Kind, d["kind"], "kind")
            yield enum_choice(Category, d["category"], "category")
            yield Choice(
                enum_options(Level),
                value=d["level"] or Select.NULL,
                prompt=t("tui.item.level"),
                id="level",
                compact=True,
                classes="level",
            )
            yield Button(t("tui.item.remove"), id="remove", compact=True, classes="remove")
        with Horizontal(classes="row"):
            yield Label(t("tui.item.description"), classes="field-label")
            yield PlainInput(
                d["description"],
                id="description",
                compact=True,
                placeholder=t("tui.item.description_placeholder"),
            )
        with Horizontal(classes="row"):
            yield Label(t("tui.item.owner"), classes="field-label")
            yield PlainInput(d["owner"], id="owner", compact=True, classes="owner")
            yield Label(t("tui.item.deadline"), classes="field-label")
            yield PlainInput(
                d["deadline"],
                id="deadline",
                compact=True,
                classes="date",
                placeholder=t("tui.date_placeholder"),
            )
        yield Plain("", classes="error item-error")

    def value(self) -> dict[str, str]:
        """The item as typed (strings; blank level as "").

        Each field is what it started with until its widget is mounted (a
        draft being restored, an item just added): a Select holds no value
        before then, and a draft written meanwhile must not lose one.
        """
        out: dict[str, str] = {}
        for name in FIELDS:
            found = self.query(f"#{name}")
            widget = found.first() if found else None
            if widget is None or not widget.is_mounted:
                out[name] = self._start[name]
            elif isinstance(widget, Select):
                out[name] = "" if widget.value is Select.NULL else str(widget.value)
            else:
                out[name] = widget.value.strip()  # type: ignore[attr-defined]
        return out

    @property
    def ready(self) -> bool:
        """Every field's widget is mounted and shows the item."""
        return all(w.is_mounted for name in FIELDS for w in self.query(f"#{name}")) and bool(
            self.query("#description")
        )

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
