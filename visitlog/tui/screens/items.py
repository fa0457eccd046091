"""Open items of my 微网格, overdue first, and moving them along."""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Label, Select, Static
from textual.widgets.data_table import ColumnKey

from visitlog.i18n import t
from visitlog.model import Category, Item, Kind, Status, VisitlogError
from visitlog.tui.common import (
    ALL_GRIDS,
    Choice,
    CompactFooter,
    Plain,
    RowTable,
    VisitlogScreen,
    enum_label,
    enum_options,
    is_overdue,
    shown,
)
from visitlog.tui.screens.item_dialog import ItemDialog

#: (i18n key of a column, its width on a wide terminal, on an 80-column one);
#: the description (None) takes what the others leave.
COLUMNS: tuple[tuple[str, int | None, int | None], ...] = (
    ("tui.items.col.deadline", 12, 12),
    ("tui.items.col.kind", 6, 4),
    ("tui.items.col.category", 12, 8),
    ("tui.items.col.description", None, None),
    ("tui.col.address", 20, 16),
    ("tui.items.col.status", 8, 6),
)

#: Below this many columns the narrow widths are used.
WIDE = 100


def column_widths(width: int) -> list[tuple[str, int]]:
    """Each column's width for a screen *width* cells wide: the description gets
    the rest, never less than 12 cells (two cells of padding per column and
    two for the scrollbar)."""
    wide = width >= WIDE
    fixed = sum((w if wide else n) or 0 for _k, w, n in COLUMNS)
    rest = max(12, width - fixed - 2 * len(COLUMNS) - 2)
    return [(key, (w if wide else n) or rest) for key, w, n in COLUMNS]


class ItemsTable(RowTable):
    """The items table; its enter binding is the one the Footer shows.

    Every grid's open items may be tens of thousands: the table holds the
    first :attr:`PAGE` rows and the next page whenever the cursor comes near
    the last one, so showing them never waits for the whole list.
    """

    PAGE = 60
    #: Load the next page when the cursor is this close to the last loaded row.
    SLACK = 20

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "tui.key.handle"),
    ]


class ItemsScreen(VisitlogScreen, Screen[None]):
    """A table of open items; ``enter`` changes the highlighted item's status.

    Args:
        grid: the 微网格 to show (:data:`ALL_GRIDS` for all).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "tui.key.back"),
        Binding("enter", "edit_item", "tui.key.handle", show=False),
        Binding("k", "focus_kind", "tui.key.kind"),
        Binding("c", "focus_category", "tui.key.category"),
    ]
    #: The table has the focus from the start (not the first dropdown, then the table).
    AUTO_FOCUS = "#items"

    def __init__(self, grid: str):
        super().__init__()
        self.grid = grid
        self.items: list[Item] = []
        self._addresses: dict[str, str] = {}
        self._generation = 0
        #: What the list shows (open items of the grid, filters), and whether
        #: :attr:`items` holds all of them yet (every grid's come a page at a time).
        self._query: dict[str, Any] = {}
        self._complete = False
        self._overdue = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="toolbar"):
            yield Label(t("tui.items.kind"), classes="field-label")
            yield Choice(enum_options(Kind), prompt=t("tui.items.all"), id="kind", compact=True)
            yield Label(t("tui.items.category"), classes="field-label")
            yield Choice(
                enum_options(Category), prompt=t("tui.items.all"), id="category", compact=True
            )
        yield Plain(t("tui.loading"), id="status")
        yield ItemsTable(id="items", cursor_type="row", zebra_stripes=True)
        yield CompactFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, width in column_widths(self.size.width or 80):
            table.add_column(t(key), width=width, key=key)
        table.focus()
        self.refresh_data()

    def on_resize(self) -> None:
        # The description takes what the other columns leave.
        table = self.query_one(DataTable)
        if not self.size.width:
            return
        changed = False
        for key, width in column_widths(self.size.width):
            column = table.columns.get(ColumnKey(key))
            if column is not None and (column.width != width or column.auto_width):
                column.width = width
                column.auto_width = False
                changed = True
        if changed:  # the first resize, as the screen opens, changes nothing
            table.refresh()

    class Counted(Message):
        """How many open items the list holds, and how many are overdue (a worker's count)."""

        def __init__(self, generation: int, n: int, overdue: int, error: str | None = None):
            super().__init__()
            self.generation, self.n, self.overdue, self.error = generation, n, overdue, error

    def _address(self, household_id: str | None) -> str:
        return self._addresses.get(household_id or "", "")

    def refresh_data(self, row: int | None = None) -> None:
        """Read the open items again.

        One grid's are read whole (a few hundred, milliseconds).  Every grid's
        may be tens of thousands: they are read a page at a time, straight
        from the index of open items in the order shown (milliseconds a page,
        so on the UI thread, and the table is filled before the screen is
        first drawn), and counted in a worker.

        Args:
            row: the table row to put the cursor on.
        """
        kind = self.query_one("#kind", Select).value
        category = self.query_one("#category", Select).value
        self._generation += 1
        self._query = {
            "open_only": True,
            "kind": None if kind is Select.NULL else str(kind),
            "category": None if category is Select.NULL else str(category),
            "grid": None if self.grid == ALL_GRIDS else self.grid,
            "today": self.vapp.today(),
        }
        self.items, self._complete = [], False
        table = self.query_one(DataTable)
        table.clear()
        first = max(ItemsTable.PAGE, (row or 0) + ItemsTable.SLACK)
        if not self._load_more(first):
            return
        grid = t("tui.grid.all") if self.grid == ALL_GRIDS else self.grid
        if self._complete:
            today = self.vapp.today()
            overdue = sum(is_overdue(i.deadline, today) for i in self.items)
            self._show_count(len(self.items), overdue)
        else:
            self.query_one("#status", Static).update(t("tui.items.counting", grid=grid))
            self._count(self._generation, self._query)
        if row is not None and table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))

    def _fetch(self, count: int) -> bool:
        """Read up to *count* more items after those read (all of them for one
        grid); False after saying why it could not."""
        store = self.vapp.store
        one_grid = self._query["grid"] is not None
        try:
            if one_grid:
                more = store.list_items(**self._query)
            else:
                more = store.list_items(**self._query, limit=count, offset=len(self.items))
        except VisitlogError as exc:
            self.notify(str(exc), severity="error")
            return False
        self._complete = one_grid or len(more) < count
        for household_id in {i.household_id for i in more if i.household_id}:
            if household_id in self._addresses:
                continue
            home_row = self.vapp.home_row(household_id)
            if home_row is not None:
                self._addresses[household_id] = home_row.get("address") or ""
            else:
                with contextlib.suppress(VisitlogError):
                    self._addresses[household_id] = store.get_household(household_id).address
        self.items += more
        return True

    @work(thread=True, exclusive=True, group="items")
    def _count(self, generation: int, query: dict[str, Any]) -> None:
        """Count every grid's open items, off the UI thread."""
        try:
            with self.vapp.reader() as store:
                n, overdue = store.count_items(**query)
        except VisitlogError as exc:
            self.post_message(self.Counted(generation, 0, 0, str(exc)))
            return
        self.post_message(self.Counted(generation, n, overdue))

    def on_items_screen_counted(self, message: Counted) -> None:
        if message.generation != self._generation:
            return  # a newer filter was chosen meanwhile
        if message.error is not None:
            self.notify(message.error, severity="error")
            return
        self._show_count(message.n, message.overdue)

    def _show_count(self, n: int, overdue: int) -> None:
        self._overdue = overdue
        grid = t("tui.grid.all") if self.grid == ALL_GRIDS else self.grid
        self.query_one("#status", Static).update(
            t("tui.items.status", grid=grid, n=n, overdue=overdue)
        )

    def _load_more(self, count: int) -> bool:
        """Add the next *count* items to the table, reading them first when
        needed (a page at a time, see ItemsTable); False if they could not be read."""
        table = self.query_one(DataTable)
        start = table.row_count
        if start + count > len(self.items) and not self._complete:
            if not self._fetch(start + count - len(self.items)):
                return False
        today = self.vapp.today()
        error = self.vapp.theme_color("error")
        for item in self.items[start : start + count]:
            late = is_overdue(item.deadline, today)
            style = f"bold {error}" if late else ""
            deadline = (("⚠ " if late else "") + item.deadline) if item.deadline else "—"
            cells: list[Any] = [
                shown(deadline, style=style),
                Text(enum_label(item.kind, Kind), style=style),
                Text(
                    enum_label(item.category, Category),
                    style=style,
                    no_wrap=True,
                    overflow="ellipsis",
                ),
                shown(item.description, style=style, no_wrap=True, overflow="ellipsis"),
                shown(self._address(item.household_id), no_wrap=True, overflow="ellipsis"),
                Text(
                    enum_label(item.status, Status),
                    style="bold" if item.status == Status.DOING.value else "",
                ),
            ]
            table.add_row(*cells, key=item.id)
        return True

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        table = self.query_one(DataTable)
        if (
            table.row_count < len(self.items) or not self._complete
        ) and event.cursor_row >= table.row_count - ItemsTable.SLACK:
            self._load_more(ItemsTable.PAGE)

    @on(Select.Changed)
    def _filter_changed(self) -> None:
        self.refresh_data()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit_item()

    def action_focus_kind(self) -> None:
        self.query_one("#kind", Select).focus()

    def action_focus_category(self) -> None:
        self.query_one("#category", Select).focus()

    def current_item(self) -> Item | None:
        table = self.query_one(DataTable)
        if not table.row_count or not 0 <= table.cursor_row < len(self.items):
            return None
        return self.items[table.cursor_row]

    def action_edit_item(self) -> None:
        item = self.current_item()
        if item is None:
            self.notify(t("tui.items.none_selected"), severity="warning")
            return

        def done(updated: Item | None) -> None:
            if updated is not None:
                self.notify(t("tui.items.updated", status=enum_label(updated.status, Status)))
                self.vapp.data_changed(updated.household_id)
                self.refresh_data(row=self.query_one(DataTable).cursor_row)

        self.app.push_screen(ItemDialog(item, self._address(item.household_id)), done)
