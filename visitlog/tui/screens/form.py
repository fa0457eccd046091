"""What every data-entry screen shares: ctrl+s, escape, errors by the field, drafts.

A form in progress is kept as a draft (:mod:`visitlog.store.drafts`, files beside
the database, so keeping it never waits for the database) about 0.3 s after
each change, on a worker thread.  ``ctrl+s`` checks the values on the UI
thread, keeps the draft at once, and stores the record in a worker
(:meth:`VisitlogApp.write`): while another program holds a long write (a
roster import, a first sync) the form stays on screen, says what it waits
for, and closes when the record is stored.  The draft is removed when the
record is stored or the form deliberately abandoned, and kept when the app
is closed or crashes, so the next start can offer it back.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Checkbox, Input, Select, Static, TextArea

from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.store import Store
from visitlog.tui.common import VisitlogScreen
from visitlog.tui.screens.confirm import ConfirmDialog

#: Seconds of quiet after a change before the draft is written.
DRAFT_DELAY = 0.3

#: What a form stores: a function run in a worker with its own connection.
SaveJob = Callable[[Store], Any]


class FormScreen(VisitlogScreen, Screen[Any]):
    """Base of the forms.

    Subclasses implement :meth:`collect`, :meth:`fill` and :meth:`prepare`,
    compose a ``#form`` container with a ``#err-form`` line, and name the
    widget that has the focus first in :attr:`FIRST_FOCUS`.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "tui.key.save", priority=True),
        Binding("escape", "cancel", "tui.key.cancel"),
    ]

    #: ``kind`` of this form's drafts.
    DRAFT_KIND = "form"
    #: Selector of the widget focused when the form opens.
    FIRST_FOCUS = "#form"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Textual focuses this widget as the form opens.  Its default, the first
        # focusable widget, is the scrolling #form: giving the focus to it and
        # then to FIRST_FOCUS re-styles the whole form twice (a third of the
        # time the form takes to open).
        cls.AUTO_FOCUS = cls.FIRST_FOCUS

    def __init__(self, draft: dict[str, Any] | None = None):
        super().__init__()
        self._draft = draft
        self._initial: dict[str, Any] | None = None
        self._draft_timer: Timer | None = None
        self._draft_lock = threading.Lock()
        self._draft_seq = 0
        self._written_seq = 0
        self._form_closing = False
        #: True from ctrl+s until the record is stored (or the store failed).
        self.saving = False
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

    def prepare(self) -> SaveJob | None:
        """Check the values (on the UI thread, without the database).

        Returns:
            The function that stores the record, run in a worker with its
            own connection (what it returns is what the form dismisses
            with); None to stay open, after showing the problems with
            :meth:`field_error`.
        """
        raise NotImplementedError

    def confirm_save(self, data: dict[str, Any]) -> str | None:
        """A question to ask before storing *data* (None: store it without asking)."""
        return None

    # -- lifecycle ------------------------------------------------------------------
    # Textual calls on_mount of every class of the screen, so subclasses do not
    # define their own (the draft would be filled in twice).

    def on_mount(self) -> None:
        # The defaults, before a draft is filled in: "changed" compares with them.
        self._initial = self.collect()
        if self._draft:
            self.fill(self._draft)
            self.notify(t("tui.draft.restored"))
        with contextlib.suppress(NoMatches):
            self.query_one(self.FIRST_FOCUS).focus()

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
        if self._initial is None or self._form_closing or self.saving:
            return
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._latest = self.collect()
        self._draft_timer = self.set_timer(DRAFT_DELAY, self.write_draft)

    def write_draft(self) -> None:
        """Write (or, when the form is back to its defaults, remove) the draft now."""
        self._draft_timer = None
        if self._form_closing:
            return
        data = self.collect()
        keep = bool(self._draft) or data != self._initial
        self._queue_draft(data if keep else None)

    def _queue_draft(self, data: dict[str, Any] | None) -> None:
        self._draft_seq += 1
        seq, box, draft_id, kind = (
            self._draft_seq,
            self.vapp.drafts,
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
                        box.discard(draft_id)
                    else:
                        box.save(draft_id, kind, data)
                except VisitlogError:
                    return
                self._written_seq = seq

        self.vapp.run_worker(write, thread=True, group="draft", name="draft")

    def _keep_draft_now(self, data: dict[str, Any]) -> None:
        """Write the draft on this thread (a few hundred bytes to a file): it must
        exist before the record is stored, whatever happens to the app meanwhile."""
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        self._draft_seq += 1
        with self._draft_lock, contextlib.suppress(VisitlogError):
            self.vapp.drafts.save(self.draft_id, self.DRAFT_KIND, data)
            self._written_seq = self._draft_seq

    def on_unmount(self) -> None:
        # The app is closing with a change not yet written (ctrl+q within the
        # debounce delay, a closed terminal): write it now, on this thread.
        # The widgets are already gone, so the values kept at the last change are used.
        if self._draft_timer is not None and not self._form_closing and self._latest is not None:
            self._draft_timer.stop()
            data = self._latest
            if bool(self._draft) or data != self._initial:
                with self._draft_lock, contextlib.suppress(VisitlogError):
                    self.vapp.drafts.save(self.draft_id, self.DRAFT_KIND, data)

    def _close(self, result: Any) -> None:
        self._form_closing = True
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._queue_draft(None)
        self.dismiss(result)

    # -- errors and status ------------------------------------------------------------

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

    def _status(self, message: str | None) -> None:
        """The line under the form title that says what the save is doing."""
        with contextlib.suppress(NoMatches):
            status = self.query_one("#form-status", Static)
            status.update(message or "")
            status.set_class(bool(message), "-shown")

    # -- actions ----------------------------------------------------------------------

    def action_save(self) -> None:
        if self.saving:
            self.notify(t("tui.save.pending"), severity="warning")
            return
        self.clear_errors()
        try:
            job = self.prepare()
        except VisitlogError as exc:
            self.field_error("form", str(exc))
            return
        if job is None:
            return
        data = self.collect()
        question = self.confirm_save(data)
        if question is None:
            self._store(job, data)
            return

        def answer(choice: str | None) -> None:
            if choice == "yes":
                self._store(job, data)

        self.app.push_screen(
            ConfirmDialog(t("tui.save.confirm_title"), question, default="no"), answer
        )

    def _store(self, job: SaveJob, data: dict[str, Any]) -> None:
        self._keep_draft_now(data)
        self.saving = True
        # What is stored is what was on the screen at ctrl+s: no typing meanwhile.
        self.query_one("#form").disabled = True
        self._status(t("tui.save.saving"))
        self.vapp.write(
            job,
            done=self._stored,
            failed=self._store_failed,
            waiting=lambda _seconds: self._status(t("tui.save.waiting")),
        )

    def _stored(self, result: Any) -> None:
        self.saving = False
        self._form_closing = True
        # Stored: the draft goes (written drafts are all older, see _keep_draft_now).
        with self._draft_lock, contextlib.suppress(VisitlogError):
            self.vapp.drafts.discard(self.draft_id)
        if self.is_attached:
            self.dismiss(result)

    def _store_failed(self, message: str) -> None:
        self.saving = False
        if not self.is_attached:
            return
        self.query_one("#form").disabled = False
        self._status(None)
        self.field_error("form", t("tui.save.failed", error=message))

    def action_cancel(self) -> None:
        if self.saving:
            self.notify(t("tui.save.pending"), severity="warning")
            return
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
