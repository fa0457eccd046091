"""First run: ask the worker's name (and their 微网格) once."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from visitlog.i18n import t
from visitlog.tui.common import Choice, Localized, Plain, PlainInput, shown


class IdentityDialog(Localized, ModalScreen[tuple[str, str | None] | None]):
    """Dismisses with ``(worker, grid or None)``.

    There is no cancel: every visit records its visitor, so the name is
    needed before anything else.  The 微网格 is optional (default: all).

    Args:
        grids: names of the 微网格 already in the database (may be empty,
            then the grid is typed).
        worker: a name to start with (when changing it later).
        grid: the grid to start with.
    """

    def __init__(self, grids: list[str], worker: str = "", grid: str | None = None):
        super().__init__()
        self._grids = grids
        self._worker = worker
        self._grid = grid

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="identity"):
            yield Plain(t("tui.identity.title"), classes="dialog-title")
            yield Plain(t("tui.identity.body"), classes="dialog-body")
            with Horizontal(classes="row"):
                yield Label(t("tui.identity.name"), classes="field-label")
                yield PlainInput(self._worker, id="worker", compact=True, max_length=60)
            yield Plain("", id="err-worker", classes="error")
            with Horizontal(classes="row"):
                yield Label(t("tui.identity.grid"), classes="field-label")
                if self._grids:
                    yield Choice(
                        [(shown(g), g) for g in self._grids],
                        prompt=t("tui.grid.all"),
                        value=self._grid if self._grid in self._grids else Select.NULL,
                        id="grid",
                        compact=True,
                    )
                else:
                    yield PlainInput(
                        self._grid or "",
                        placeholder=t("tui.identity.grid_placeholder"),
                        id="grid",
                        compact=True,
                    )
            with Horizontal(classes="dialog-buttons"):
                yield Button(t("tui.ok"), id="ok", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#worker", Input).focus()

    def _submit(self) -> None:
        name = self.query_one("#worker", Input).value.strip()
        if not name:
            error = self.query_one("#err-worker", Static)
            error.update(t("tui.identity.name_required"))
            error.add_class("-shown")
            self.query_one("#worker", Input).focus()
            return
        widget = self.query_one("#grid")
        if isinstance(widget, Select):
            grid = None if widget.value is Select.NULL else str(widget.value)
        else:
            grid = widget.value.strip() or None  # type: ignore[attr-defined]
        self.dismiss((name, grid))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "worker" and event.value.strip():
            self.focus_next()
        else:
            self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self._submit()
