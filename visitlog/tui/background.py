"""Work off the UI thread: writes, long operations, and what they report back.

The app's own connection only reads (reads never wait in WAL mode); every
write runs in a worker on a connection of its own (:meth:`BackgroundWork.write`),
so when another program holds a long write (a roster import, a first sync)
the screen stays responsive and says what it waits for.  Workers report
back with typed messages, handled on the UI thread.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.worker import get_current_worker

from visitlog.crashlog import crash_line, crash_log
from visitlog.i18n import has, t
from visitlog.model import VisitlogError
from visitlog.progress import Progress as ProgressCallback
from visitlog.store import Store

if TYPE_CHECKING:
    from visitlog.tui.screens.progress import ProgressDialog

#: Milliseconds between reports while a write waits for another program's.
WAIT_STEP_MS = 250


class BackgroundWork:
    """Mixin of the app: :meth:`write`, :meth:`reader` and the progress dialog.

    The app provides ``store`` (its reading connection) and ``_update_subtitle``.
    """

    store: Store

    class Progress(Message):
        """A worker's progress, for the progress dialog."""

        def __init__(self, stage: str, done: int | None, total: int | None):
            super().__init__()
            self.stage, self.done, self.total = stage, done, total

    class Wrote(Message):
        """A write started by :meth:`BackgroundWork.write` ended (``error`` set when it failed)."""

        def __init__(self, ticket: int, result: Any = None, error: str | None = None):
            super().__init__()
            self.ticket, self.result, self.error = ticket, result, error

    class Waiting(Message):
        """A write waits for another program's write to end."""

        def __init__(self, ticket: int, seconds: float):
            super().__init__()
            self.ticket, self.seconds = ticket, seconds

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._progress: ProgressDialog | None = None
        self._tickets = 0
        self._writes: dict[int, tuple[Callable[..., Any] | None, ...]] = {}
        #: Writes waiting for another program's write (said in the subtitle).
        self._waiting: set[int] = set()
        # One write at a time, so they reach the database in the order asked.
        self._write_lock = threading.Lock()

    @contextlib.contextmanager
    def reader(self) -> Iterator[Store]:
        """A second connection to the same database, for a worker thread.

        The app's own connection serialises its users with a lock; a long
        query or transaction on it would make the UI wait for the lock.
        """
        store = Store(self.store.path)
        try:
            yield store
        finally:
            store.close()

    def _report_waits(self, store: Store) -> None:
        """Let a long write of a worker say, in the progress dialog, that it waits
        for another program's write, and give up when the app closes."""
        worker = get_current_worker()

        def on_wait(seconds: float) -> bool:
            if worker.is_cancelled:
                return False
            self.post_message(self.Progress(t("tui.wait.stage"), None, None))
            return True

        store.report_waits(on_wait, WAIT_STEP_MS, limit_s=float("inf"))

    def write(
        self,
        job: Callable[[Store], Any],
        done: Callable[[Any], None] | None = None,
        failed: Callable[[str], None] | None = None,
        waiting: Callable[[float], None] | None = None,
    ) -> int:
        """Run ``job(store)`` in a worker on a connection of its own; the UI never waits.

        While another program holds a long write, the job waits for it (for
        as long as it takes; closing the app stops the wait and writes
        nothing) and the app says so in its subtitle; *waiting* is called too.
        Then *done* is called with what the job returned, or *failed* with a
        plain message (shown as a notification when there is no *failed*).
        All callbacks run on the UI thread.

        Returns:
            A ticket (for tests and logs).
        """
        self._tickets += 1
        ticket = self._tickets
        self._writes[ticket] = (done, failed, waiting)
        self.run_worker(
            lambda: self._write_job(ticket, job),
            thread=True,
            group="write",
            name=f"write-{ticket}",
            exit_on_error=False,
        )
        return ticket

    def _write_job(self, ticket: int, job: Callable[[Store], Any]) -> None:
        worker = get_current_worker()

        def on_wait(seconds: float) -> bool:
            if worker.is_cancelled:
                return False  # the app is closing: give up, write nothing
            self.post_message(self.Waiting(ticket, seconds))
            return True

        try:
            with self._write_lock:
                store = Store(self.store.path)
                try:
                    store.report_waits(on_wait, WAIT_STEP_MS, limit_s=float("inf"))
                    result = job(store)
                finally:
                    store.close()
        except VisitlogError as exc:
            self.post_message(self.Wrote(ticket, error=str(exc)))
        except Exception as exc:  # a core bug must not take the app down
            log = crash_log(exc, "tui write")
            self.post_message(self.Wrote(ticket, error=crash_line(exc, log)))
        else:
            self.post_message(self.Wrote(ticket, result))

    def on_background_work_waiting(self, message: Waiting) -> None:
        callbacks = self._writes.get(message.ticket)
        if callbacks is None:
            return
        if message.ticket not in self._waiting:
            self._waiting.add(message.ticket)
            self._update_subtitle()
            self.notify(t("tui.wait.body"), title=t("tui.wait.title"), severity="warning")
        if callbacks[2] is not None:
            callbacks[2](message.seconds)

    def on_background_work_wrote(self, message: Wrote) -> None:
        done, failed, _ = self._writes.pop(message.ticket, (None, None, None))
        if message.ticket in self._waiting:
            self._waiting.discard(message.ticket)
            self._update_subtitle()
        if message.error is None:
            if done is not None:
                done(message.result)
        elif failed is not None:
            failed(message.error)
        else:
            self.notify(message.error, severity="error", timeout=15)

    @property
    def writes_pending(self) -> int:
        """Writes started and not yet ended."""
        return len(self._writes)

    # -- progress of long work ------------------------------------------------------

    def _start_progress(self, title: str) -> None:
        from visitlog.tui.screens.progress import ProgressDialog

        self._progress = ProgressDialog(title)
        self.push_screen(self._progress)

    def _end_progress(self) -> None:
        """Close the progress dialog of the long work that just ended."""
        if self._progress is not None:
            if self._progress.is_attached and self.screen is self._progress:
                self._progress.dismiss(None)
            self._progress = None

    def _reporter(self, stage_key: str) -> ProgressCallback:
        """A progress callback (:data:`visitlog.progress.Progress`) that a worker
        thread may call as often as it likes; a phase without words of its own
        is shown as the work's stage line."""

        def report(phase: str, done: int, total: int | None) -> None:
            key = f"tui.phase.{phase}"
            stage = t(key) if has(key) else t(stage_key)
            self.post_message(self.Progress(stage, done, total))

        return report

    def on_background_work_progress(self, message: Progress) -> None:
        if self._progress is not None:
            self._progress.report(message.stage, message.done, message.total)
