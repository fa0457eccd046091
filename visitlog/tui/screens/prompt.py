"""Ask for one line of text (a file path, the hub path)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.tui.common import Localized, Plain, PlainInput


class PromptDialog(Localized, ModalScreen[str | None]):
    """One Input; dismisses with the text, or None on escape.

    Args:
        title: one line at the top.
        message: what to type.
        value: the text already in the box.
        check: called with the text before closing; a VisitlogError it raises
            is shown under the box and the dialog stays open.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "tui.key.cancel")]

    def __init__(
        self,
        title: str,
        message: str,
        value: str = "",
        placeholder: str = "",
        check: Callable[[str], None] | None = None,
    ):
        super().__init__()
        self._title = title
        self._message = message
        self._value = value
        self._placeholder = placeholder
        self._check = check

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Plain(self._title, classes="dialog-title")
            yield Plain(self._message, classes="dialog-body")
            yield PlainInput(self._value, placeholder=self._placeholder, id="prompt-input")
            yield Plain("", id="prompt-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(t("tui.ok"), id="ok", variant="primary")
                yield Button(t("tui.cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def _submit(self) -> None:
        text = self.query_one(Input).value.strip()
        error = self.query_one("#prompt-error", Static)
        try:
            if not text:
                raise VisitlogError(t("tui.err.empty"))
            if self._check is not None:
                self._check(text)
        except VisitlogError as exc:
            error.update(str(exc))
            error.add_class("-shown")
            return
        self.dismiss(text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
