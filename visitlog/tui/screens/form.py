"""What every data-entry screen shares: ctrl+s, escape, errors by the field, drafts.

A form in progress is written to the ``drafts`` table about 0.3 s after each
change (debounced), on a worker thread so a busy database never blocks the
keyboard.  The draft is removed when the form is saved or deliberately
abandoned, and kept when the app is closed or crashes, so the next start can
offer it back.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Checkbox, Input, Select, Static, TextArea

from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.tui.common import VisitlogScreen
from visitlog.tui.screens.confirm import ConfirmDialog

#: Seconds of quiet after a change before the draft is written.
DRAFT_DELAY = 0.3


class FormScreen(VisitlogScreen, Screen[Any]):
    """Base of the forms; subclasses implement :meth:`collect`, :meth:`fill`, :meth:`save`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "tui.key.save", priority=True),
        Binding("escape", "cancel", "tui.key.cancel"),
    ]

    #: ``drafts.kind`` of this form.
    DRAFT_KIND = "form"

    def __init__(self, draft: dict[str, Any] | None = None):
        super().__init__()
        self._draft = draft
        self._initial: dict[str, Any] | None = None
        self._draft_timer: Timer | None = None
        self._draft_lock = threading.Lock()
        self._draft_seq = 0
        self._written_seq = 0
        self._form_closing = False
        #: The values at the last change (written on unmount if still pending).
        self._latest: dict[str, Any] | None = None

    # -- to implement -----------------------------------------------------------------

    @property
    def draft_id(self) -> str:
        raise NotImplementedError

    def collect(self) -> dict[str, Any]:
        """The form's values as plain JSON-able data (also the draft)."""
        raise NotImplementedError

    def fill(self, data: dict[str, Any]) -> None:
        """Put the values of a draft back into the widgets."""
        raise NotImplementedError

    def save(self) -> Any:
        """Validate and store; return what to dismiss with, or None to stay open.

        Show problems with :meth:`field_error` and return None.
        """
        raise NotImplementedError

    # -- lifecycle ------------------------------------------------------------------

    def on_mount(self) -> None:
        self._initial = self.collect()
        if self._draft:
            self.fill(self._draft)
            self.notify(t("tui.draft.restored"))

    def changed(self) -> bool:
        """Has anything been typed since the form opened (a restored draft counts)?"""
        return self._initial is not None and (bool(self._draft) or self.collect() != self._initial)

    # -- drafts ---------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        self._schedule_draft()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._schedule_draft()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._schedule_draft()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self._schedule_draft()

    def _schedule_draft(self) -> None:
        if self._initial is None or self._form_closing:
            return
        if self._draft_timer is not None:
            self._draft_timer.stop()
        with contextlib.suppress(NoMatches):  # a part still being mounted
            self._latest = self.collect()
        self._draft_timer = self.set_timer(DRAFT_DELAY, self.write_draft)

    def write_draft(self) -> None:
        """Write (or, when the form is back to its defaults, remove) the draft now."""
        self._draft_timer = None
        if self._form_closing:
            return
        try:
            data = self.collect()
        except NoMatches:  # a part still being mounted: try again shortly
            self._schedule_draft()
            return
        keep = bool(self._draft) or data != self._initial
        self._queue_draft(data if keep else None)

    def _queue_draft(self, data: dict[str, Any] | None) -> None:
        self._draft_seq += 1
        seq, store, draft_id, kind = (
            self._draft_seq,
            self.vapp.store,
            self.draft_id,
            self.DRAFT_KIND,
        )

        def write() -> None:
            # Writes are serialised and a stale one (overtaken by a later
            # change) is skipped, so the newest text always wins.
            with self._draft_lock:
                if seq <= self._written_seq:
                    return
                try:
                    if data is None:
                        store.discard_draft(draft_id)
                    else:
                        store.save_draft(draft_id, kind, data)
                except VisitlogError:
                    return
                self._written_seq = seq

        self.vapp.run_worker(write, thread=True, group="draft", name="draft")

    def on_unmount(self) -> None:
        # The app is closing with a change not yet written (ctrl+q within the
        # debounce delay, a closed terminal): write it now, on this thread.
        # The widgets are already gone, so the values kept at the last change are used.
        if self._draft_timer is not None and not self._form_closing and self._latest is not None:
            self._draft_timer.stop()
            data = self._latest
            if bool(self._draft) or data != self._initial:
                with self._draft_lock, contextlib.suppress(VisitlogError):
                    self.vapp.store.save_draft(self.draft_id, self.DRAFT_KIND, data)

    def _close(self, result: Any) -> None:
        self._form_closing = True
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._queue_draft(None)
        self.dismiss(result)

    # -- errors -----------------------------------------------------------------------

    def clear_errors(self) -> None:
        for error in self.query(".error"):
            error.remove_class("-shown")

    def field_error(self, name: str, message: str) -> None:
        """Show *message* in the ``#err-NAME`` line next to the field."""
        try:
            error = self.query_one(f"#err-{name}", Static)
        except NoMatches:
            error = self.query_one("#err-form", Static)
        error.update(message)
        error.add_class("-shown")
        self.call_after_refresh(error.scroll_visible)

    # -- actions ----------------------------------------------------------------------

    def action_save(self) -> None:
        self.clear_errors()
        try:
            result = self.save()
        except VisitlogError as exc:
            self.field_error("form", str(exc))
            return
        if result is not None:
            self._close(result)

    def action_cancel(self) -> None:
        if not self.changed():
            self._close(None)
            return

        def answer(choice: str | None) -> None:
            if choice == "yes":
                self._close(None)

        self.app.push_screen(
            ConfirmDialog(
                t("tui.cancel.title"),
                t("tui.cancel.body"),
                yes=t("tui.cancel.yes"),
                no=t("tui.cancel.no"),
                # A reflexive enter must not throw away what was typed.
                default="no",
            ),
            answer,
        )
