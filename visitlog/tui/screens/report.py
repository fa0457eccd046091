"""Show the outcome of a long operation (sync, roster import, demo) as a few lines."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button

from visitlog.i18n import t
from visitlog.tui.common import Localized, Plain, shown


class ReportDialog(Localized, ModalScreen[None]):
    """A title, an optional message and ``(label, value)`` lines; any key closes it.

    Args:
        title: one line at the top.
        lines: label/value pairs shown as a two-column grid.
        message: a paragraph under the lines (e.g. an error).
        error: style the message as an error.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "tui.key.close"),
        Binding("enter", "close", "tui.key.close", show=False),
    ]

    def __init__(
        self,
        title: str,
        lines: list[tuple[str, str]] | None = None,
        message: str = "",
        error: bool = False,
    ):
        super().__init__()
        self._title = title
        self._lines = lines or []
        self._message = message
        self._error = error

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Plain(self._title, classes="dialog-title")
            if self._lines:
                grid = Table.grid(padding=(0, 2))
                grid.add_column(style="bold")
                grid.add_column()
                for label, value in self._lines:
                    grid.add_row(shown(label), shown(value))
                yield Plain(grid, classes="dialog-body")
            if self._message:
                # Not the forms' ".error" class: that one stays hidden until a
                # field has a problem, and the message must always be seen.
                yield Plain(
                    self._message,
                    id="report-message",
                    classes="dialog-body" + (" report-error" if self._error else ""),
                )
            yield Button(t("tui.ok"), id="ok", variant="primary")

    def on_mount(self) -> None:
        self.query_one(Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
