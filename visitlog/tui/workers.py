"""Long work of the app in worker threads: the demo street, roster import, sync.

Each runs in a ``@work(thread=True)`` worker on a database connection of its
own, shows its progress in the progress dialog (one progress shape,
:mod:`visitlog.progress`), and reports back with one typed message:
:class:`DemoDone`, :class:`ImportDone`, :class:`SyncDone`, or
:class:`WorkFailed` with the one line to show.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.message import Message

from visitlog.crashlog import crash_line, crash_log
from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.store.files import check_user_file

if TYPE_CHECKING:
    # The demo, roster and sync modules load when their work is asked for,
    # not at start: the home screen paints without them.
    from visitlog.roster import RosterReport
    from visitlog.sync import SyncReport

#: Households in the demo street loaded from the welcome screen.
DEMO_HOUSEHOLDS = 2000


class DemoDone(Message):
    """The demo street is in the database."""

    def __init__(self, counts: dict[str, int]):
        super().__init__()
        self.counts = counts


class ImportDone(Message):
    """A roster was imported."""

    def __init__(self, report: RosterReport):
        super().__init__()
        self.report = report


class SyncDone(Message):
    """A sync with the hub ended."""

    def __init__(self, report: SyncReport):
        super().__init__()
        self.report = report


class WorkFailed(Message):
    """Long work of *kind* (``demo``, ``import``, ``sync``) failed; *line* says why."""

    def __init__(self, kind: str, line: str):
        super().__init__()
        self.kind, self.line = kind, line


class LongWork:
    """Mixin of the app: the actions that start long work and the handlers of its end.

    The app provides ``store``, ``home``, ``reader()``, ``_report_waits()``,
    ``_start_progress()``, ``_reporter()``, ``_end_progress()``,
    ``_close_welcome()`` and ``data_changed()``.
    """

    # -- the demo street ----------------------------------------------------------------

    def action_load_demo(self) -> None:
        if self.home is not None and self.home.grids:
            self.notify(t("tui.demo.not_empty"), severity="warning")
            return
        self._start_progress(t("tui.demo.title"))
        self._run_demo()

    def _post_outcome(self, kind: str, run: Callable[[], Message]) -> None:
        """Run one piece of long work (in the calling worker thread) and post
        what it says when done, or ``WorkFailed`` with one plain line: a
        refusal as it is worded, a bug of the core as one line naming the
        private crash log (it must not take the app down)."""
        try:
            message = run()
        except VisitlogError as exc:
            message = WorkFailed(kind, str(exc))
        except Exception as exc:
            message = WorkFailed(kind, crash_line(exc, crash_log(exc, f"tui {kind}")))
        self.post_message(message)

    @work(thread=True, exclusive=True, group="long")
    def _run_demo(self) -> None:
        progress = self._reporter("tui.demo.progress")

        def run() -> Message:
            with self.reader() as store:
                self._report_waits(store)
                from visitlog import demo

                counts = demo.generate_into(
                    store,
                    households=DEMO_HOUSEHOLDS,
                    seed=1,
                    today=self.today(),
                    progress=progress,
                )
            return DemoDone(dict(counts))

        self._post_outcome("demo", run)

    def on_demo_done(self, message: DemoDone) -> None:
        self._end_progress()
        counts = message.counts
        self.notify(
            t("tui.demo.done", **{k: counts.get(k, 0) for k in ("households", "visits", "items")})
        )
        self._close_welcome()
        self.data_changed()

    # -- roster import ------------------------------------------------------------------

    def action_import_roster(self) -> None:
        from visitlog.tui.screens.prompt import PromptDialog

        def check(text: str) -> None:
            path = check_user_file(text)  # not the database or its -wal/-shm
            if not path.is_file():
                raise VisitlogError(t("tui.import.no_file", path=text))

        def chosen(path: str | None) -> None:
            if path:
                self._start_progress(t("tui.import.title"))
                self._run_import(Path(path).expanduser())

        self.push_screen(
            PromptDialog(
                t("tui.import.title"),
                t("tui.import.prompt"),
                placeholder="~/花名册.xlsx",
                check=check,
            ),
            chosen,
        )

    @work(thread=True, exclusive=True, group="long")
    def _run_import(self, path: Path) -> None:
        progress = self._reporter("tui.import.progress")

        def run() -> Message:
            with self.reader() as store:
                self._report_waits(store)
                from visitlog.roster import import_roster

                return ImportDone(import_roster(store, path, progress=progress))

        self._post_outcome("import", run)

    def on_import_done(self, message: ImportDone) -> None:
        from visitlog.tui.screens.report import ReportDialog

        self._end_progress()
        report = message.report
        lines = [
            (t(f"tui.import.{k}"), str(getattr(report, k)))
            for k in ("imported", "updated", "unchanged", "rejected")
        ]
        if report.rejected and report.rejects_path:
            lines.append((t("tui.import.rejects_path"), str(report.rejects_path)))
        self.push_screen(ReportDialog(t("tui.import.title"), lines))
        self.data_changed()

    # -- sync ---------------------------------------------------------------------------

    def action_sync(self) -> None:
        hub = self.store.get_setting("hub_path")
        if hub:
            self._start_sync(hub)
        else:
            self.action_set_hub(then_sync=True)

    def action_set_hub(self, then_sync: bool = False) -> None:
        from visitlog.tui.screens.prompt import PromptDialog

        def chosen(path: str | None) -> None:
            if not path:
                return
            self.write(lambda store: store.set_settings(hub_path=path))
            if then_sync:
                self._start_sync(path)

        self.push_screen(
            PromptDialog(
                t("tui.sync.hub_title"),
                t("tui.sync.hub_prompt"),
                value=self.store.get_setting("hub_path") or "",
                placeholder="/media/usb/hub.db",
            ),
            chosen,
        )

    def _start_sync(self, hub: str) -> None:
        """Sync with *hub*; a hub that is not there is made only once the worker says so
        (a mistyped path or an unmounted share must not become a second hub)."""
        from visitlog.sync import hub_exists
        from visitlog.tui.screens.confirm import ConfirmDialog

        path = Path(hub).expanduser()
        if hub_exists(path) or path.is_dir() or not path.parent.is_dir():
            # An existing hub, or a path the sync itself explains.
            self._start_progress(t("tui.sync.title"))
            self._run_sync(path, create=False)
            return

        def answer(choice: str | None) -> None:
            if choice == "yes":
                self._start_progress(t("tui.sync.title"))
                self._run_sync(path, create=True)

        self.push_screen(
            ConfirmDialog(
                t("tui.sync.new_hub_title"),
                t("tui.sync.new_hub_body", path=path),
                yes=t("tui.sync.new_hub_yes"),
                no=t("tui.sync.new_hub_no"),
                default="no",
            ),
            answer,
        )

    @work(thread=True, exclusive=True, group="long")
    def _run_sync(self, hub: Path, create: bool = False) -> None:
        progress = self._reporter("tui.sync.progress")

        def run() -> Message:
            with self.reader() as store:
                from visitlog.sync import sync_with

                return SyncDone(sync_with(store, hub, progress=progress, create=create))

        self._post_outcome("sync", run)

    def on_sync_done(self, message: SyncDone) -> None:
        from visitlog.tui.screens.report import ReportDialog

        self._end_progress()
        report = message.report
        lines = [
            (t("tui.sync.sent"), str(report.sent_total)),
            (t("tui.sync.received"), str(report.received_total)),
            (t("tui.sync.conflicts"), str(len(report.conflicts))),
        ]
        # restored or copied database, far-future stamps: said in words
        notes = "\n".join(report.notes())
        self.push_screen(ReportDialog(t("tui.sync.title"), lines, message=notes))
        self.data_changed()

    # -- failures -----------------------------------------------------------------------

    def on_work_failed(self, message: WorkFailed) -> None:
        from visitlog.tui.screens.report import ReportDialog

        self._end_progress()
        title = t(f"tui.{message.kind}.title")
        self.push_screen(ReportDialog(title, message=message.line, error=True))
