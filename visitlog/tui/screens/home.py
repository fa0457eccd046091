"""Home: the households of my 微网格, searchable as you type."""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Checkbox, DataTable, Header, Input, Select, Static
from textual.worker import get_current_worker

from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.order import natural_key
from visitlog.search import KEEP_FROM
from visitlog.tui.common import ALL_GRIDS, Choice, CompactFooter, Plain, VisitlogScreen, shown
from visitlog.tui.search import (
    CompactIndex,
    HouseholdIndex,
    LazyRows,
    SearchResult,
    display_order,
)
from visitlog.tui.widgets.household_table import HouseholdTable

#: Seconds after the rows are shown before the search keys are built (at
#: once when the search box is used first).
INDEX_DELAY = 0.4
#: Seconds of quiet in the search box before near matches are looked for
#: (only in large lists; small ones get them with the exact matches).
NEAR_DELAY = 0.15
#: Seconds between drawing the first grids' rows and reading all of them.
FULL_LOAD_DELAY = 0.8
#: ... and reading a district's kept search keys (well under a second of
#: work; the first paint is on the screen before it starts).
COMPACT_LOAD_DELAY = 0.2
#: Above this many households, "every grid" shows the first grids' rows first.
FIRST_PAGE_GRIDS = 2000
#: From this many households on, "every grid" is searched through the keys
#: kept in the database (:class:`CompactIndex`) and its rows are read a page
#: at a time: a whole district's rows would take half a minute and a
#: gigabyte to hold.
COMPACT_FROM = KEEP_FROM


class _Stopped(Exception):
    """The load was cancelled while the search keys were being made."""


class HomeScreen(VisitlogScreen, Screen[None]):
    """The households table with a grid switcher, a still-due toggle and the search box."""

    # The table has the focus from the start: focusing the grid switcher
    # first (Textual's default, the first focusable widget) and then the
    # table would make the footer rebuild its keys once more before the
    # first paint.
    AUTO_FOCUS = "#households"

    BINDINGS: ClassVar[list[BindingType]] = [
        # A priority key: handled as soon as it arrives, so the keys typed
        # right after it go to the search box (never to the table, where s
        # would open the summary); and "/" is never typed into the box.
        Binding("slash", "focus_search", "tui.key.search", key_display="/", priority=True),
        Binding("enter", "open_household", "tui.key.details", show=False),
        Binding("n", "new_visit", "tui.key.new_visit"),
        Binding("i", "app.open_items", "tui.key.items"),
        Binding("s", "app.open_summary", "tui.key.summary"),
        Binding("w", "app.open_plan", "tui.key.plan"),
        Binding("y", "app.sync", "tui.key.sync"),
        Binding("u", "toggle_due", "tui.key.due"),
        # Not in the footer, which at 80 columns has no room left for it once
        # q is shown: in the keys panel, the command palette and the README.
        Binding("o", "toggle_by_due", "tui.key.by_due", show=False),
        Binding("escape", "clear_search", "tui.key.clear", show=False),
    ]

    class Loaded(Message):
        """Rows of one grid came back from the loader worker."""

        def __init__(
            self,
            generation: int,
            grid: str,
            rows: Sequence[dict[str, Any]],
            grids: list[dict[str, Any]] | None,
            keep: str | None,
            partial: bool = False,
        ):
            super().__init__()
            self.generation, self.grid, self.rows = generation, grid, rows
            self.grids, self.keep, self.partial = grids, keep, partial

    class Indexed(Message):
        """Search keys of the loaded rows are ready."""

        def __init__(self, generation: int, index: HouseholdIndex):
            super().__init__()
            self.generation, self.index = generation, index

    class Unsynced(Message):
        """How many local changes wait for sync (counted after the rows)."""

        def __init__(self, count: int):
            super().__init__()
            self.count = count

    class KeysMade(Message):
        """Progress of making the search keys kept in the database."""

        def __init__(self, generation: int, done: int, todo: int):
            super().__init__()
            self.generation, self.done, self.todo = generation, done, todo

    class DueKnown(Message):
        """Which households of a :class:`CompactIndex` are still due this year."""

        def __init__(self, generation: int, index: CompactIndex, due: bytearray):
            super().__init__()
            self.generation, self.index, self.due = generation, index, due

    class Rest(Message):
        """Every exact match of a query of a :class:`CompactIndex`, found off the UI thread."""

        def __init__(self, query_id: int, indices: list[int]):
            super().__init__()
            self.query_id, self.indices = query_id, indices

    class GridsKnown(Message):
        """Every grid's name and size, read after my grid's rows were shown."""

        def __init__(self, generation: int, grids: list[dict[str, Any]]):
            super().__init__()
            self.generation, self.grids = generation, grids

    class Failed(Message):
        """The loader could not read the database."""

        def __init__(self, error: str):
            super().__init__()
            self.error = error

    class DueDates(Message):
        """Every household's due date under the visit rules, worked out in a worker."""

        def __init__(self, generation: int, dates: dict[str, dt.date] | None, error: str = ""):
            super().__init__()
            self.generation, self.dates, self.error = generation, dates, error

    class Near(Message):
        """Near matches for a query, computed off the UI thread."""

        def __init__(self, query_id: int, indices: list[int]):
            super().__init__()
            self.query_id, self.indices = query_id, indices

    def __init__(self) -> None:
        super().__init__()
        self.grid: str = ALL_GRIDS
        self.rows: Sequence[dict[str, Any]] = []
        self.grids: list[dict[str, Any]] = []
        self.index: HouseholdIndex | CompactIndex | None = None
        #: Progress of making the kept search keys, while it runs: (done, todo).
        self._making: tuple[int, int] | None = None
        self._first_grids: list[dict[str, Any]] | None = None
        self.loaded = False
        self.result = SearchResult()
        self._generation = 0
        self._query_id = 0
        self._setting_grid = False
        self._by_id: dict[str, dict[str, Any]] = {}
        self._near_timer: Timer | None = None
        self._index_timer: Timer | None = None
        self._index_args: tuple[int, list[dict[str, Any]]] | None = None
        self._pending_keep: str | None = None
        #: The search text the table was last filtered by.
        self._filtered: str | None = None
        #: The table in order of due date (``o``), and the dates it uses.
        self.by_due = False
        self.due_dates: dict[str, dt.date] | None = None
        self._due_for = -1
        self._due_rank: tuple[list[dict[str, Any]] | None, list[int]] = (None, [])

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="toolbar"):
            yield Choice([], prompt=t("tui.grid.all"), id="grid", compact=True)
            yield Checkbox(t("tui.due_toggle"), id="due", compact=True)
            # Not select_on_focus: keys typed right after `/` must not replace
            # each other when the focus arrives a moment after them.
            yield Input(
                placeholder=t("tui.search.placeholder"),
                id="search",
                compact=True,
                select_on_focus=False,
            )
        yield Plain(t("tui.loading"), id="status")
        yield HouseholdTable(id="households")
        yield CompactFooter()

    def on_mount(self) -> None:
        self.grid = self.vapp.my_grid() or ALL_GRIDS
        self.query_one(HouseholdTable).focus()
        self.reload(quick=True)

    # -- loading ------------------------------------------------------------------

    def reload(self, keep: str | None = None, quick: bool = False) -> None:
        """Load the rows of the current grid again, in a worker.

        Args:
            keep: a household to keep the cursor on.
            quick: first read the first page on the UI thread (one grid's
                rows take milliseconds), so the table is never empty while
                a whole district is read in the background.
        """
        self._generation += 1
        generation = self._generation
        delay, grids = 0.0, None
        if quick:
            try:
                total = self._first_page(generation, keep)
            except VisitlogError as exc:
                self.on_home_screen_failed(self.Failed(str(exc)))
                return
            if total is None:
                return
            if total >= COMPACT_FROM:
                # A district: its kept keys are read next, with the grids just read.
                delay, grids = COMPACT_LOAD_DELAY, self._first_grids
            else:
                delay = FULL_LOAD_DELAY
            # The rest is read once the first page is on the screen: a slow
            # laptop may take longer than the delay to draw it, and the read
            # would then hold it back.
            self.call_after_refresh(self._load, generation, self.grid, keep, delay, grids)
            return
        self._load(generation, self.grid, keep, delay, grids)

    def _first_page(self, generation: int, keep: str | None) -> int | None:
        """Show my grid's rows, or the first grids' rows when listing every grid.

        Returns:
            None when that was everything (one grid, or a small database);
            else how many households every grid holds (the rest is read next).
        """
        store, year = self.vapp.store, self.vapp.today().year
        if self.grid == ALL_GRIDS and store.households_upper_bound() >= COMPACT_FROM:
            # A district: its first rows straight from the kept keys, in the
            # list's order (counting its grids first would cost more than the
            # rest of the first paint); the grids come with the rest.
            first_ids = store.search_keys_first(HouseholdTable.PAGE)
            if first_ids:
                found = {r["id"]: r for r in store.household_overview(ids=first_ids, year=year)}
                rows = [found[i] for i in first_ids if i in found]
                self._first_grids = None
                self.on_home_screen_loaded(self.Loaded(generation, self.grid, rows, [], keep, True))
                return COMPACT_FROM
        if self.grid != ALL_GRIDS:
            # My grid: its rows are all there is to show; every grid's name
            # and size (a count over the whole file, a quarter of a second in
            # a district) are read for the grid list once they are shown.
            rows = store.household_overview(grid=self.grid, year=year)
            self.on_home_screen_loaded(
                self.Loaded(generation, self.grid, display_order(rows), None, keep)
            )
            self.call_after_refresh(self._after_drawn, generation, self._load_grids)
            return None
        grids = sorted(store.micro_grids(), key=lambda g: natural_key(g["micro_grid"]))
        self._first_grids = grids
        total = sum(g["households"] for g in grids)
        if total < min(FIRST_PAGE_GRIDS + 1, COMPACT_FROM):
            rows = store.household_overview(year=year)
            self.on_home_screen_loaded(
                self.Loaded(generation, self.grid, display_order(rows), grids, keep)
            )
            return None
        first: list[dict[str, Any]] = []
        for g in grids:
            first += store.household_overview(grid=g["micro_grid"], year=year)
            if len(first) >= HouseholdTable.PAGE:
                break
        self.on_home_screen_loaded(
            self.Loaded(generation, self.grid, display_order(first), grids, keep, True)
        )
        return total

    def _load_grids(self) -> None:
        self._read_grids(self._generation)

    @work(thread=True, exclusive=True, group="home-grids")
    def _read_grids(self, generation: int) -> None:
        """Every grid's name and size, for the grid list (off the UI thread)."""
        try:
            with self.vapp.reader() as store:
                grids = sorted(store.micro_grids(), key=lambda g: natural_key(g["micro_grid"]))
        except VisitlogError:
            return  # the list keeps my grid; the next load reads them again
        self.post_message(self.GridsKnown(generation, grids))

    def on_home_screen_grids_known(self, message: GridsKnown) -> None:
        if message.generation == self._generation:
            self.grids = message.grids
            self._fill_grid_select()
            self.vapp.home_loaded(self)

    @work(thread=True, exclusive=True, group="home-load")
    def _load(
        self,
        generation: int,
        grid: str,
        keep: str | None,
        delay: float = 0.0,
        grids: list[dict[str, Any]] | None = None,
    ) -> None:
        """Read every row of the grid (on a second connection, off the UI thread)."""
        app = self.vapp
        worker = get_current_worker()
        if delay:
            # Let the first page be drawn before the long read competes with it.
            time.sleep(delay)
        if worker.is_cancelled:
            return
        try:
            with app.reader() as store:
                if grids is None:
                    grids = store.micro_grids()
                    grids.sort(key=lambda g: natural_key(g["micro_grid"]))
                large = sum(g["households"] for g in grids) >= COMPACT_FROM
                if grid == ALL_GRIDS and large and self._compact(store, generation, grids, keep):
                    return
                rows = store.household_overview(
                    grid=None if grid == ALL_GRIDS else grid, year=app.today().year
                )
        except _Stopped:
            return
        except VisitlogError as exc:
            self.post_message(self.Failed(str(exc)))
            return
        if not worker.is_cancelled:
            self.post_message(self.Loaded(generation, grid, display_order(rows), grids, keep))

    def _compact(
        self, store: Any, generation: int, grids: list[dict[str, Any]], keep: str | None
    ) -> bool:
        """Every grid of a district, on the loader's thread: the kept search keys
        (those missing made first), then which households are still due.

        Returns:
            False when the keys cannot be kept (a read-only file): the caller
            reads every row instead.
        """
        from visitlog.search import refresh

        app, worker = self.vapp, get_current_worker()
        kept = store.search_keys_kept()
        households = sum(g["households"] for g in grids)
        if kept != households:
            if store.read_only:
                return False

            def made(done: int, todo: int) -> None:
                if worker.is_cancelled:
                    raise _Stopped
                self.post_message(self.KeysMade(generation, done, todo))

            self.post_message(self.KeysMade(generation, 0, households - kept))
            try:
                refresh(store, made)
            except VisitlogError:
                # Busy or full: search this time from the rows themselves.
                return False
        year = app.today().year
        ui_store = app.store
        index = CompactIndex.read(
            store.search_index(), lambda ids: ui_store.household_overview(ids=ids, year=year)
        )
        if worker.is_cancelled:
            raise _Stopped
        self.post_message(self.Loaded(generation, ALL_GRIDS, index.rows, grids, keep))
        self.post_message(self.Indexed(generation, index))
        due = index.due_mask(store.households_due(year))
        if not worker.is_cancelled:
            self.post_message(self.DueKnown(generation, index, due))
            self.post_message(self.Unsynced(store.unsynced_count()))
        return True

    def on_home_screen_keys_made(self, message: KeysMade) -> None:
        if message.generation == self._generation:
            self._making = (message.done, message.todo)
            self._update_status()

    def on_home_screen_due_known(self, message: DueKnown) -> None:
        if message.generation != self._generation:
            return
        message.index.set_due_mask(message.due)
        if self.index is message.index and self._due():
            self.apply_filter(keep=self.table.current_id())

    @work(thread=True, exclusive=True, group="home-due")
    def _load_due(self, generation: int, grid: str) -> None:
        """Work out every household's due date (the planning rules), off the UI thread."""
        # Imported when first asked for: the first paint does not need the planning rules.
        from visitlog.plan import due_dates

        app = self.vapp
        try:
            with app.reader() as store:
                dates = due_dates(
                    store, grid=None if grid == ALL_GRIDS else grid, today=app.today()
                )
        except VisitlogError as exc:
            self.post_message(self.DueDates(generation, None, str(exc)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.DueDates(generation, dates))

    def on_home_screen_due_dates(self, message: DueDates) -> None:
        if message.dates is None:
            self.notify(message.error, severity="error")
            return
        if message.generation != self._generation:
            return
        self.due_dates, self._due_for = message.dates, message.generation
        if self.by_due:
            self.table.show_due(self.due_dates, self.vapp.today())
            self._reshow()

    def _reshow(self) -> None:
        """Show the rows again in the order in force, the cursor kept on its household."""
        keep = self.table.current_id()
        if self.index is not None:
            self.apply_filter(keep=keep)
        elif self.loaded:
            n = len(self.rows)
            self._show(SearchResult("", list(range(n)), n, n), self.rows, keep=keep)

    def _due_order(self, rows: list[dict[str, Any]], indices: list[int]) -> list[int]:
        """*indices* by due date, earliest first (no due date last; ties keep their order)."""
        if self._due_rank[0] is not rows:
            far = dt.date.max.toordinal()
            dates = self.due_dates or {}
            ids = rows.ids if isinstance(rows, LazyRows) else [r["id"] for r in rows]
            rank = [d.toordinal() if (d := dates.get(i)) else far for i in ids]
            self._due_rank = (rows, rank)
        return sorted(indices, key=self._due_rank[1].__getitem__)

    @work(thread=True, exclusive=True, group="home-index")
    def _index(self, generation: int, rows: list[dict[str, Any]]) -> None:
        """Build the search keys, then count the unsynced changes (after the first paint)."""
        worker = get_current_worker()
        previous = self.index if isinstance(self.index, HouseholdIndex) else None
        index = HouseholdIndex(rows, previous=previous)
        if worker.is_cancelled:
            return
        self.post_message(self.Indexed(generation, index))
        try:
            with self.vapp.reader() as store:
                # On a large change log this is the slowest query of all.
                unsynced = store.unsynced_count()
        except VisitlogError:
            return
        self.post_message(self.Unsynced(unsynced))

    def on_home_screen_loaded(self, message: Loaded) -> None:
        if message.generation != self._generation:
            return
        if message.grids is not None:
            self.grids = message.grids
            self._fill_grid_select()
        else:
            # Every grid is read once these rows are shown; meanwhile the
            # list offers the one shown.
            self._fill_grid_select([{"micro_grid": message.grid, "households": len(message.rows)}])
        if message.partial:
            # The first page of a long list: show it unless a filter is on.
            if self.index is None and not self._query() and not self._due():
                n = len(message.rows)
                self._show(SearchResult("", list(range(n)), n, n), message.rows)
            return
        self.rows = message.rows
        compact = isinstance(self.rows, LazyRows)
        self._by_id = {} if compact else {r["id"]: r for r in self.rows}
        self.loaded = True
        self._making = None
        self._pending_keep = message.keep
        # Until the search keys are ready, an unfiltered table can already be
        # shown; a filtered one keeps its old rows a moment longer.
        if not self._query() and not self._due():
            n = len(self.rows)
            self._show(SearchResult("", list(range(n)), n, n), self.rows, keep=message.keep)
        if message.grids is not None or len(self.rows):
            # (with my grid empty and the other grids not read yet, whether
            # the whole file is empty is known once they are: GridsKnown)
            self.vapp.home_loaded(self)
        if self.by_due:
            self._load_due(message.generation, message.grid)
        # The keys need pinyin, whose dictionaries take a few hundred
        # milliseconds to load; a thread doing that while the first screen is
        # drawn slows the drawing down, so wait a moment (or for the search box).
        if self._index_timer is not None:
            self._index_timer.stop()
        if compact:
            # Its index comes with it (Indexed, from the same worker).
            self._index_args = None
            return
        self._index_args = (message.generation, message.rows)
        self._index_timer = None
        self.call_after_refresh(self._after_drawn, message.generation, self._start_index)

    def _after_drawn(self, generation: int, then: Any) -> None:
        """Run *then* a moment after the rows of *generation* are on the screen:
        a slow laptop may take longer than that moment to draw them, and work
        started meanwhile would hold the drawing back."""
        if generation != self._generation:
            return
        timer = self.set_timer(INDEX_DELAY, then)
        if then == self._start_index:
            if self._index_args is None:  # built already (the search box was used)
                timer.stop()
                return
            self._index_timer = timer

    def _start_index(self) -> None:
        """Build the search keys now (once per load)."""
        if self._index_timer is not None:
            self._index_timer.stop()
            self._index_timer = None
        if self._index_args is not None:
            generation, rows = self._index_args
            self._index_args = None
            self._index(generation, rows)

    def on_home_screen_unsynced(self, message: Unsynced) -> None:
        self.vapp.set_unsynced(message.count)

    def on_home_screen_failed(self, message: Failed) -> None:
        self.query_one("#status", Static).update(message.error)
        self.notify(message.error, severity="error")

    def on_home_screen_indexed(self, message: Indexed) -> None:
        if message.generation != self._generation:
            return
        self.index = message.index
        # The rows and their search keys (hundreds of megabytes on a district)
        # live as long as this load: Python's collector need not walk them
        # again and again while every screen opens (pauses of 0.1–0.3 s).
        # Only with no other screen open: what is frozen and later dropped is
        # never collected if it holds a cycle, as a closed screen's widgets do.
        if self.app.screen is self:
            gc.freeze()
        keep, self._pending_keep = self._pending_keep, None
        if self._query() or self._due():
            self.apply_filter(keep=keep or self.table.current_id())
        else:
            # The table already lists these rows unfiltered; keep it as it is.
            n = len(self.index.rows)
            self.result = SearchResult("", range(n), n, n)

    def _fill_grid_select(self, grids: list[dict[str, Any]] | None = None) -> None:
        select = self.query_one("#grid", Select)
        grids = self.grids if grids is None else grids
        names = [g["micro_grid"] for g in grids]
        options = [(t("tui.grid.all"), ALL_GRIDS)] + [
            (shown(t("tui.grid.option", grid=g["micro_grid"], n=g["households"])), g["micro_grid"])
            for g in grids
        ]
        self._setting_grid = True
        select.set_options(options)
        select.value = self.grid if self.grid in names else ALL_GRIDS
        self.call_after_refresh(self._grid_set)

    def _grid_set(self) -> None:
        self._setting_grid = False

    # -- filtering ------------------------------------------------------------------

    def _query(self) -> str:
        return self.query_one("#search", Input).value

    def _due(self) -> bool:
        return self.query_one("#due", Checkbox).value

    def apply_filter(self, keep: str | None = None) -> None:
        """Filter the rows by the search box and the still-due toggle."""
        index = self.index
        if index is None or (
            isinstance(index, CompactIndex) and self._due() and not index.due_known
        ):
            # Applied when the keys are ready (see on_home_screen_indexed), or
            # which households are still due (on_home_screen_due_known).
            self._update_status()
            return
        self._query_id += 1
        self._filtered = self._query()
        result = self.index.search(
            self._query(), still_due=self._due(), near_limit=HouseholdTable.PAGE
        )
        self._show(result, self.index.rows, keep=keep)
        if self._near_timer is not None:
            self._near_timer.stop()
            self._near_timer = None
        if result.near_pending or result.more_pending:
            # Near matches of a large list cost some tens of milliseconds (and
            # the rest of a district's matches some hundreds): look for them
            # once typing pauses, so each keystroke stays quick.
            query_id, due = self._query_id, self._due()
            self._near_timer = self.set_timer(
                NEAR_DELAY, lambda: self._near(query_id, index, result, due)
            )

    @work(thread=True, exclusive=True, group="home-near")
    def _near(
        self,
        query_id: int,
        index: HouseholdIndex | CompactIndex,
        result: SearchResult,
        due: bool,
    ) -> None:
        worker = get_current_worker()

        def cancelled() -> bool:
            return worker.is_cancelled or query_id != self._query_id

        if result.more_pending and isinstance(index, CompactIndex):
            exact = index.rest(result, due, cancelled=cancelled)
            if exact is None or cancelled():
                return
            self.post_message(self.Rest(query_id, exact))
            result = SearchResult(result.query, exact, len(exact), result.total)
            if not index.wants_near(result, HouseholdTable.PAGE):
                return
        indices = index.near(result, due, HouseholdTable.PAGE, cancelled=cancelled)
        if not cancelled() and indices:
            self.post_message(self.Near(query_id, indices))

    def on_home_screen_rest(self, message: Rest) -> None:
        if message.query_id != self._query_id or self.index is None:
            return
        result = self.result
        result.indices, result.exact = message.indices, len(message.indices)
        result.more_pending = False
        self._show(result, self.index.rows, keep=self.table.current_id())

    def on_home_screen_near(self, message: Near) -> None:
        if message.query_id != self._query_id or self.index is None:
            return
        result = self.result
        result.indices = [*result.indices[: result.exact], *message.indices]
        self._show(result, self.index.rows, keep=self.table.current_id())

    def _show(
        self, result: SearchResult, rows: list[dict[str, Any]], keep: str | None = None
    ) -> None:
        if self.by_due and self.due_dates is not None:
            # The matches by due date; near matches stay after them.
            result.indices = [
                *self._due_order(rows, list(result.indices[: result.exact])),
                *result.indices[result.exact :],
            ]
        self.result = result
        self.table.show(rows, result.indices, result.exact, keep=keep)
        self._update_status()

    def _update_status(self) -> None:
        result = self.result
        near = len(result.indices) - result.exact
        parts = []
        if not self.loaded and self._making is not None:
            done, todo = self._making
            parts.append(t("tui.status.keys", done=done, todo=todo))
        elif not self.loaded:
            # Nothing yet, or the first page of a district while the rest is read.
            partial = self.grid == ALL_GRIDS and self.table.matches
            parts.append(t("tui.status.reading") if partial else t("tui.loading"))
        elif (self.index is None and (self._query() or self._due())) or (
            isinstance(self.index, CompactIndex) and self._due() and not self.index.due_known
        ):
            parts.append(t("tui.status.indexing"))
        elif not self.rows:
            parts.append(
                t("tui.status.empty_grid") if self.grid != ALL_GRIDS else t("tui.status.empty")
            )
        elif result.query and result.more_pending:
            parts.append(t("tui.status.found_more", n=result.exact, total=result.total))
        elif result.query:
            parts.append(t("tui.status.found", n=result.exact, total=result.total))
            if near:
                parts.append(t("tui.status.near", n=near))
        else:
            parts.append(t("tui.status.all", total=result.total))
        if self.by_due:
            ready = self.due_dates is not None and self._due_for == self._generation
            parts.append(t("tui.status.by_due") if ready else t("tui.status.due_loading"))
        shown = self.table.loaded
        if shown < len(result.indices):
            parts.append(t("tui.status.showing", n=shown, total=len(result.indices)))
        self.query_one("#status", Static).update("  ".join(parts), layout=False)

    @property
    def table(self) -> HouseholdTable:
        return self.query_one(HouseholdTable)

    @on(Input.Changed, "#search")
    def _search_changed(self) -> None:
        self._start_index()
        if self.index is not None and self._query() == self._filtered:
            return  # already shown (escape filters at once)
        self.apply_filter()

    @on(Input.Submitted, "#search")
    def _search_submitted(self) -> None:
        table = self.table
        table.focus()
        if table.row_count:
            table.move_cursor(row=0)

    @on(Checkbox.Changed, "#due")
    def _due_changed(self) -> None:
        self.apply_filter(keep=self.table.current_id())

    @on(Select.Changed, "#grid")
    def _grid_changed(self, event: Select.Changed) -> None:
        if self._setting_grid or event.value is Select.NULL:
            return
        value = str(event.value)
        if value != self.grid:
            self.set_grid(value)

    def set_grid(self, grid: str) -> None:
        """Show another 微网格 (or :data:`ALL_GRIDS`)."""
        self.grid = grid
        self._setting_grid = True
        select = self.query_one("#grid", Select)
        if any(value == grid for _, value in select._options):
            select.value = grid
        self.call_after_refresh(self._grid_set)
        self.index = None
        self.rows = []
        self._by_id = {}
        self.loaded = False
        self._show(SearchResult(), [])
        self.query_one("#status", Static).update(t("tui.loading"))
        self.reload(quick=True)

    @on(DataTable.RowHighlighted, "#households")
    def _highlighted(self) -> None:
        self._update_status()

    @on(DataTable.RowSelected, "#households")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_household()

    # -- actions --------------------------------------------------------------------

    def action_focus_search(self) -> None:
        # At once, not after the keys already waiting (Widget.focus waits its
        # turn): keys typed in a burst right after / belong in the box.
        self.set_focus(self.query_one("#search", Input))
        self._start_index()

    def action_clear_search(self) -> None:
        search = self.query_one("#search", Input)
        had_text = bool(search.value)
        search.value = ""
        self.set_focus(self.table)
        if had_text:
            # At once; the box's Changed message that follows finds it done.
            self.apply_filter()

    def action_toggle_by_due(self) -> None:
        """``o``: order the table by due date (earliest first) and show the dates, or back."""
        self.by_due = not self.by_due
        if self.by_due:
            if self._due_for != self._generation and self.loaded:
                self._load_due(self._generation, self.grid)
            if self.due_dates is not None:
                self.table.show_due(self.due_dates, self.vapp.today())
        else:
            self.table.show_due(None, self.vapp.today())
        self._reshow()
        self._update_status()

    def action_toggle_due(self) -> None:
        box = self.query_one("#due", Checkbox)
        box.value = not box.value

    def action_open_household(self) -> None:
        row = self.table.current_row()
        if row is None:
            self.notify(t("tui.no_household"), severity="warning")
            return
        self.vapp.open_household(row["id"])

    def action_new_visit(self) -> None:
        row = self.table.current_row()
        if row is None:
            self.notify(t("tui.no_household"), severity="warning")
            return
        self.vapp.new_visit(row)

    def row_by_id(self, household_id: str) -> dict[str, Any] | None:
        """The loaded row of a household, if it is in the current grid (None: not
        known here; the caller reads the household itself)."""
        if isinstance(self.rows, LazyRows):
            # A district's: only the rows read lately (looking a household up
            # among 450,000 ids for each item of a list would take long).
            return self.rows.kept(household_id)
        return self._by_id.get(household_id)
