"""A progress dialog for work running in a worker thread.

The dialog only displays what the worker reports; it never waits for it, so
the app stays responsive.  ``escape`` hides it and the work goes on; the app
says when it is done.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import ProgressBar, Static

from visitlog.i18n import t
from visitlog.tui.common import Localized, Plain


class ProgressDialog(Localized, ModalScreen[None]):
    """Shows a stage line and a progress bar; :meth:`report` updates them."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "hide", "tui.key.hide")]

    def __init__(self, title: str):
        super().__init__()
        self._title = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Plain(self._title, classes="dialog-title")
            yield Plain(t("tui.progress.starting"), id="progress-stage", classes="dialog-body")
            yield ProgressBar(total=None, show_eta=False, id="progress-bar")
            yield Plain(t("tui.progress.hint"), classes="hint")

    def report(self, stage: str, done: int | None = None, total: int | None = None) -> None:
        """Show how far the work has got (call on the UI thread)."""
        if not self.is_attached:
            return
        self.query_one("#progress-stage", Static).update(stage)
        bar = self.query_one(ProgressBar)
        if total:
            bar.update(total=total, progress=done or 0)

    def action_hide(self) -> None:
        self.dismiss(None)
