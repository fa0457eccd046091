"""The visitlog terminal app and its factory :func:`make_app`.

Start-up: the home screen (households of my 微网格) loads in a worker; on a
laptop without an identity the worker's name is asked once; an empty database
shows the welcome screen; an unsaved form left by a crash is offered back.
Long work (sync, roster import, the demo street, the summary) runs in
``@work(thread=True)`` workers that report back with typed messages
(:mod:`visitlog.tui.workers`), each on its own database connection, so the keyboard never waits for the disk.  So does
every write (:mod:`visitlog.tui.background`): the app's own connection only
reads, and reads never wait in WAL mode, so when another program holds a long
write the screen stays responsive and says what it waits for.  Forms in
progress are drafts in files beside the database, offered back at the next
start (:mod:`visitlog.tui.draft_offers`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.content import Content
from textual.notifications import SeverityLevel
from textual.screen import Screen

from visitlog.crashlog import crash_line, crash_log
from visitlog.i18n import get_lang, set_lang, t
from visitlog.model import Outcome, Visit
from visitlog.store import DraftBox, Store
from visitlog.tui.background import BackgroundWork
from visitlog.tui.common import ALL_GRIDS, Localized, localize_textual
from visitlog.tui.draft_offers import DraftOffers
from visitlog.tui.screens.home import HomeScreen
from visitlog.tui.unlock import make_new as make_new  # run before the app (cli.common)
from visitlog.tui.unlock import unlock as unlock
from visitlog.tui.workers import LongWork
from visitlog.visible import visible

#: The local setting that keeps the theme chosen with the palette's light/dark command.
THEME_SETTING = "tui_theme"

# The other screens are imported where they are opened: the first paint of
# the home screen should not wait for modules it does not need.


class VisitlogApp(Localized, LongWork, BackgroundWork, DraftOffers, App[None]):
    """The app; build it with :func:`make_app`."""

    CSS_PATH = "visitlog.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "request_quit", "tui.key.quit"),
        Binding("ctrl+p", "command_palette", "tui.key.palette", show=False, priority=True),
        # Only while the keys panel is open (check_action): esc closes it first.
        Binding("escape", "hide_keys", "tui.key.hide_keys", priority=True),
    ]

    def __init__(self, store: Store, today: dt.date | Callable[[], dt.date] | None = None):
        super().__init__()
        self.store = store
        #: Forms in progress, kept beside the database.
        self.drafts = DraftBox(store.path)
        self._today = today
        self.unsynced: int | None = None
        self._started = False
        self._welcome_shown = False
        self._drafts_pending = True
        #: The identity given but not stored yet (its write may be waiting).
        self._pending_identity: tuple[str, str | None] | None = None
        #: The line shown on exit after a crash (None while all is well).
        self.crash_message: str | None = None
        self.title = t("tui.title")
        # The light or dark theme chosen last time (a local setting, one small read).
        saved = store.get_setting(THEME_SETTING)
        if saved in self.available_themes:
            self.theme = saved

    # -- basics -----------------------------------------------------------------

    def today(self) -> dt.date:
        """Today's date (injectable, so tests and snapshots never drift)."""
        if self._today is None:
            return dt.date.today()
        return self._today() if callable(self._today) else self._today

    def my_grid(self) -> str | None:
        if self._pending_identity is not None and self._pending_identity[1]:
            return self._pending_identity[1]
        return self.store.get_setting("default_grid")

    def worker_name(self) -> str | None:
        """The worker's name (the one just given, while its write waits)."""
        if self._pending_identity is not None:
            return self._pending_identity[0]
        return self.store.worker

    def theme_color(self, name: str) -> str:
        """A colour of the current theme (so text stays readable in light and dark)."""
        theme = self.current_theme
        value = getattr(theme, name, None) or theme.primary
        return str(value)

    @property
    def home(self) -> HomeScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, HomeScreen):
                return screen
        return None

    def home_row(self, household_id: str) -> dict[str, Any] | None:
        home = self.home
        return home.row_by_id(household_id) if home else None

    def current_grid(self) -> str:
        home = self.home
        return home.grid if home else (self.my_grid() or ALL_GRIDS)

    def set_unsynced(self, count: int | None) -> None:
        self.unsynced = count
        self._update_subtitle()

    def _update_subtitle(self) -> None:
        parts = []
        worker = self.worker_name()
        if worker:
            parts.append(worker)
        if self.unsynced is not None:
            parts.append(t("tui.unsynced", n=self.unsynced))
        if self._waiting:
            parts.append(t("tui.wait.subtitle"))
        self.sub_title = " · ".join(parts)

    def get_default_screen(self) -> Screen:
        return HomeScreen()

    # -- start-up -------------------------------------------------------------------

    def on_mount(self) -> None:
        self._update_subtitle()
        if self.worker_name() is None:
            from visitlog.tui.screens.identity import IdentityDialog

            grids = [g["micro_grid"] for g in self.store.micro_grids()]
            self.push_screen(IdentityDialog(grids), self._identity_given)
        else:
            self._after_identity()

    def _identity_given(self, answer: tuple[str, str | None] | None) -> None:
        if answer is None:
            return
        name, grid = answer
        # Used at once (subtitle, the visitor of a new visit) while it is stored.
        self._pending_identity = (name, grid)

        def stored(_info: Any) -> None:
            if self._pending_identity == (name, grid):
                self._pending_identity = None
            self._update_subtitle()

        def failed(error: str) -> None:
            if self._pending_identity == (name, grid):
                self._pending_identity = None
            self.notify(error, severity="error", timeout=15)
            self._update_subtitle()

        self.write(lambda store: store.init_identity(name, grid=grid), stored, failed)
        self._update_subtitle()
        home = self.home
        if home is not None and grid and home.grid != grid:
            home.set_grid(grid)
        self._after_identity()

    def _after_identity(self) -> None:
        self._started = True
        home = self.home
        if home is not None and home.loaded:
            self.home_loaded(home)
        else:
            # Offered once the home screen knows whether to show the welcome
            # screen, so that the question is not hidden under it.
            self._drafts_pending = True

    def home_loaded(self, home: HomeScreen) -> None:
        """The home screen has rows (or found none): show the welcome screen if empty,
        then offer the drafts left by the last session (on top of it)."""
        if not self._started:
            return
        empty = not home.grids and not len(home.rows)
        if empty and not self._welcome_shown:
            from visitlog.tui.screens.welcome import WelcomeScreen

            self._welcome_shown = True
            self.push_screen(WelcomeScreen())
        elif not empty:
            self._close_welcome()
        if self._drafts_pending:
            self._drafts_pending = False
            self._offer_drafts()

    def _close_welcome(self) -> None:
        if type(self.screen).__name__ == "WelcomeScreen":
            self.pop_screen()
        self._welcome_shown = False

    def grid_communities(self) -> dict[str, str | None]:
        """Each 微网格 with its 居民区 (None when its households name none)."""
        home = self.home
        grids = home.grids if home is not None and home.grids else self.store.micro_grids()
        return {g["micro_grid"]: g.get("community") or None for g in grids}

    def _grid_names(self) -> list[str]:
        home = self.home
        if home is not None and home.grids:
            return [g["micro_grid"] for g in home.grids]
        return [g["micro_grid"] for g in self.store.micro_grids()]

    # -- opening screens ----------------------------------------------------------------

    def open_household(self, household_id: str) -> None:
        from visitlog.tui.screens.details import HouseholdScreen

        self.push_screen(HouseholdScreen(household_id))

    def new_visit(self, household: dict[str, Any]) -> None:
        """Open the new-visit form (with its draft, if one was left)."""
        from visitlog.tui.screens.visit_form import VisitFormScreen

        found = self.drafts.get(f"visit:{household['id']}")
        draft = found.data if found is not None and not self.draft_was_saved(found) else None
        self.push_screen(VisitFormScreen(household, draft=draft), self._visit_saved)

    def _visit_saved(self, visit: Visit | None) -> None:
        if visit is None:
            return
        self.notify(t("tui.visit.saved", date=visit.visit_date))
        self.data_changed(visit.household_id)
        if visit.outcome == Outcome.MOVED.value:
            self._offer_vacant(visit.household_id)

    def _offer_vacant(self, household_id: str) -> None:
        from visitlog.tui.screens.confirm import ConfirmDialog

        def answer(choice: str | None) -> None:
            if choice == "yes":
                self.write(
                    lambda store: store.update_household(household_id, occupancy="空置"),
                    lambda _household: self.data_changed(household_id),
                )

        self.push_screen(ConfirmDialog(t("tui.vacant.title"), t("tui.vacant.body")), answer)

    def data_changed(self, household_id: str | None = None) -> None:
        """Something was written: refresh what is on the screens."""
        home = self.home
        if home is not None:
            home.reload(keep=household_id)
        for screen in self.screen_stack:
            # A household's details screen shows the change too.
            shown = getattr(screen, "household_id", None)
            if shown is not None and household_id in (None, shown):
                screen.refresh_data()  # type: ignore[attr-defined]
            elif callable(changed := getattr(screen, "data_changed", None)):
                changed(household_id)  # a list of many households (本周待访)

    def action_open_items(self) -> None:
        from visitlog.tui.screens.items import ItemsScreen

        self.push_screen(ItemsScreen(self.current_grid()))

    def action_open_plan(self) -> None:
        from visitlog.tui.screens.plan import PlanScreen

        self.push_screen(PlanScreen(self.current_grid()))

    def action_open_summary(self) -> None:
        from visitlog.tui.screens.summary import SummaryScreen

        self.push_screen(SummaryScreen(self.current_grid()))

    def action_go_home(self) -> None:
        while len(self.screen_stack) > 1 and not isinstance(self.screen, HomeScreen):
            self.pop_screen()

    def action_focus_search(self) -> None:
        self.action_go_home()
        home = self.home
        if home is not None:
            home.action_focus_search()

    def action_new_visit(self) -> None:
        home = self.home
        if home is not None:
            self.action_go_home()
            home.action_new_visit()

    def action_toggle_due(self) -> None:
        self.action_go_home()
        home = self.home
        if home is not None:
            home.action_toggle_due()

    def action_toggle_by_due(self) -> None:
        self.action_go_home()
        home = self.home
        if home is not None:
            home.action_toggle_by_due()

    def action_set_grid(self, grid: str) -> None:
        self.action_go_home()
        home = self.home
        if home is not None:
            home.set_grid(grid)

    def action_add_household(self) -> None:
        from visitlog.tui.screens.household_form import HouseholdFormScreen

        self.push_screen(
            HouseholdFormScreen(self._grid_names(), self.my_grid(), self.grid_communities()),
            self._household_saved,
        )

    def _household_saved(self, household: Any) -> None:
        if household is None:
            return
        self.notify(t("tui.household.saved", address=household.address))
        self._close_welcome()
        home = self.home
        if home is not None:
            if home.grid not in (ALL_GRIDS, household.micro_grid):
                home.set_grid(household.micro_grid)
            home.reload(keep=household.id)

    def action_identity(self) -> None:
        from visitlog.tui.screens.identity import IdentityDialog

        def given(answer: tuple[str, str | None] | None) -> None:
            if answer is not None:
                self._identity_given(answer)

        self.push_screen(
            IdentityDialog(self._grid_names(), self.worker_name() or "", self.my_grid()), given
        )

    def action_toggle_dark(self) -> None:
        """Switch between the light and dark themes, and remember the choice for the next start."""
        name = "textual-light" if self.current_theme.dark else "textual-dark"
        self.theme = name
        self.write(lambda store: store.set_settings(**{THEME_SETTING: name}), lambda _none: None)

    def action_command_palette(self) -> None:
        from visitlog.tui.palette import Palette

        if not CommandPalette.is_open(self):
            self.push_screen(
                Palette(placeholder=t("tui.palette.placeholder"), id="--command-palette")
            )

    # -- command palette ------------------------------------------------------------------

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """A notification that shows its text literally: messages name data
        (an address, a file, a grid), so never markup and no raw control character."""
        super().notify(
            visible(message), title=visible(title), severity=severity, timeout=timeout, markup=False
        )

    def format_title(self, title: str, sub_title: str) -> Content:
        """The header: the worker's name and the grid are data, shown literally."""
        return super().format_title(visible(title), visible(sub_title))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette (ctrl+p): every screen and action, and one entry per 微网格."""
        yield SystemCommand(t("tui.cmd.home"), t("tui.cmd.home_help"), self.action_go_home)
        yield SystemCommand(t("tui.cmd.search"), t("tui.cmd.search_help"), self.action_focus_search)
        yield SystemCommand(
            t("tui.cmd.new_visit"), t("tui.cmd.new_visit_help"), self.action_new_visit
        )
        yield SystemCommand(t("tui.cmd.items"), t("tui.cmd.items_help"), self.action_open_items)
        yield SystemCommand(
            t("tui.cmd.summary"), t("tui.cmd.summary_help"), self.action_open_summary
        )
        yield SystemCommand(t("tui.cmd.plan"), t("tui.cmd.plan_help"), self.action_open_plan)
        yield SystemCommand(t("tui.cmd.due"), t("tui.cmd.due_help"), self.action_toggle_due)
        yield SystemCommand(
            t("tui.cmd.by_due"), t("tui.cmd.by_due_help"), self.action_toggle_by_due
        )
        yield SystemCommand(t("tui.cmd.sync"), t("tui.cmd.sync_help"), self.action_sync)
        yield SystemCommand(t("tui.cmd.hub"), t("tui.cmd.hub_help"), self.action_set_hub)
        yield SystemCommand(
            t("tui.cmd.import"), t("tui.cmd.import_help"), self.action_import_roster
        )
        yield SystemCommand(
            t("tui.cmd.add_household"), t("tui.cmd.add_household_help"), self.action_add_household
        )
        home = self.home
        if home is not None and home.loaded and not home.grids:
            yield SystemCommand(t("tui.cmd.demo"), t("tui.cmd.demo_help"), self.action_load_demo)
        yield SystemCommand(
            t("tui.cmd.grid_all"), t("tui.cmd.grid_help"), lambda: self.action_set_grid(ALL_GRIDS)
        )
        for g in home.grids if home is not None else []:
            name = g["micro_grid"]
            yield SystemCommand(
                visible(t("tui.cmd.grid", grid=name)),
                t("tui.cmd.grid_help"),
                lambda name=name: self.action_set_grid(name),
            )
        yield SystemCommand(
            t("tui.cmd.conflicts"), t("tui.cmd.conflicts_help"), self.action_conflicts
        )
        yield SystemCommand(
            t("dedup.tui.command"), t("dedup.tui.command_help"), self.action_dedup_review
        )
        yield SystemCommand(t("tui.cmd.identity"), t("tui.cmd.identity_help"), self.action_identity)
        yield SystemCommand(t("tui.cmd.theme"), t("tui.cmd.theme_help"), self.action_toggle_dark)
        if self.keys_shown(screen):
            yield SystemCommand(
                t("tui.cmd.keys_hide"), t("tui.cmd.keys_hide_help"), self.action_hide_keys
            )
        else:
            yield SystemCommand(
                t("tui.cmd.keys"), t("tui.cmd.keys_help"), self.action_show_help_panel
            )
        yield SystemCommand(t("tui.cmd.quit"), t("tui.cmd.quit_help"), self.action_quit)

    # -- crashes ---------------------------------------------------------------------------

    def _handle_exception(self, error: Exception) -> None:
        """A bug in visitlog: one plain line on exit, the details in the private log.

        Textual's own report is a traceback with local variables, and those
        hold the data on the screen (names, phones, addresses); the log keeps
        only where the code failed (:mod:`visitlog.crashlog`).  The app exits
        with status 1.
        """
        self._return_code = 1
        if self._exception is None:  # what a Pilot test re-raises
            self._exception = error
            self._exception_event.set()
        self.crash_message = crash_line(error, crash_log(error, "tui"))
        self.bell()
        self._exit_renderables.append(Text(t("err.prefix") + visible(self.crash_message)))
        self._close_messages_no_wait()

    def action_request_quit(self) -> None:
        """``q``: quit, except from a form (a stray q must not close it; ctrl+q still does)."""
        from visitlog.tui.screens.form import FormScreen

        if isinstance(self.screen, FormScreen):
            self.notify(t("tui.quit_in_form"), severity="warning")
            return
        self.exit()

    def action_show_help_panel(self) -> None:
        with contextlib.suppress(Exception):
            super().action_show_help_panel()  # type: ignore[misc]
        self.refresh_bindings()  # the footer shows esc closing the panel

    def keys_shown(self, screen: Screen | None = None) -> bool:
        """Whether the keys panel (Textual's help panel) is open on *screen* (default: current)."""
        # By its CSS type name: importing HelpPanel loads Textual's Markdown
        # widget (a tenth of a second), and the footer asks this at first paint.
        return bool((screen or self.screen).query("HelpPanel"))

    async def action_hide_keys(self) -> None:
        """esc, or the palette: close the keys panel (of the screen under the palette too)."""
        for screen in reversed(self.screen_stack):
            if self.keys_shown(screen):
                await screen.query("HelpPanel").remove()
                # esc goes back to the screen (and the footer says so) once it is gone.
                self.refresh_bindings()
                return

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "hide_keys":
            # esc belongs to the screen (back, cancel) unless the keys panel is open.
            return self.keys_shown()
        return super().check_action(action, parameters)

    def action_help_quit(self) -> None:
        """ctrl+c outside a text box: say, in the worker's language, how to quit."""
        for active in self.active_bindings.values():
            if active.binding.action in ("quit", "app.quit"):
                shown = self.get_key_display(active.binding)
                self.notify(t("tui.help_quit.body", keys=shown), title=t("tui.help_quit.title"))
                return

    def action_conflicts(self) -> None:
        from visitlog.tui.screens.conflicts import ConflictsScreen

        self.push_screen(ConflictsScreen())

    def action_dedup_review(self) -> None:
        from visitlog.tui.screens.dedup_review import DedupReviewScreen

        self.push_screen(DedupReviewScreen())


def make_app(
    store: Store,
    lang: str | None = None,
    today: dt.date | Callable[[], dt.date] | None = None,
) -> VisitlogApp:
    """Build the terminal app over *store*.

    Args:
        store: the open database.
        lang: "zh" or "en"; None keeps the language already chosen (``--lang``
            or ``VISITLOG_LANG``).
        today: the date the app treats as today (a date or a callable);
            default the real date.  Tests pass a fixed one.
    """
    if lang is not None:
        set_lang(lang)
    else:
        set_lang(get_lang())
    localize_textual()
    return VisitlogApp(store, today=today)
