"""A small question with a few answers, one key each."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button

from visitlog.i18n import t
from visitlog.tui.common import Localized, Plain


class ChoiceDialog(Localized, ModalScreen[str | None]):
    """Ask *message*; dismiss with the key of the chosen answer (None on escape).

    Args:
        title: one line at the top.
        message: the question.
        choices: ``(key, label)`` pairs.
        default: the key of the answer that has the focus (so ``enter``
            chooses it); the first one when not given.  Questions whose first
            answer loses work default to the safe one.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "tui.key.cancel")]

    def __init__(
        self,
        title: str,
        message: str,
        choices: list[tuple[str, str]],
        default: str | None = None,
    ):
        super().__init__()
        self._title = title
        self._message = message
        self._choices = choices
        self._default = default or choices[0][0]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Plain(self._title, classes="dialog-title")
            yield Plain(self._message, classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                for key, label in self._choices:
                    yield Button(
                        label,
                        id=f"choice-{key}",
                        variant="primary" if key == self._default else "default",
                    )

    def on_mount(self) -> None:
        self.query_one(f"#choice-{self._default}", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss((event.button.id or "").removeprefix("choice-"))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ChoiceDialog):
    """A yes/no question; dismisses with "yes", "no" or None."""

    def __init__(
        self,
        title: str,
        message: str,
        yes: str | None = None,
        no: str | None = None,
        default: str = "yes",
    ):
        super().__init__(
            title, message, [("yes", yes or t("tui.yes")), ("no", no or t("tui.no"))], default
        )
