"""The households table of the home screen, filled one page at a time.

A district has 50,000 households; a DataTable holding all of them takes
seconds to build.  This table only ever holds the rows the worker can see
plus a page of slack: the first :attr:`HouseholdTable.PAGE` matches, and the
next page whenever the cursor comes near the bottom.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from visitlog.i18n import t
from visitlog.model import Tag
from visitlog.tui.common import RowTable, enum_label, shown
from visitlog.tui.search import LazyRows

#: (i18n key of the header, minimum width in cells)
COLUMNS = (
    ("tui.col.address", 20),
    ("tui.col.head", 8),
    ("tui.col.tags", 12),
    ("tui.col.last_visit", 10),
    ("tui.col.visited", 4),
    ("tui.col.open_items", 4),
)


#: In the order by due date, the due date takes the place of "visited this year".
DUE_COLUMN = ("tui.col.due", 10)

#: The address column grows up to this many cells before the tags column does.
ADDRESS_MAX = 28


class HouseholdTable(RowTable):
    """Rows of ``Store.household_overview`` dicts, shown a page at a time."""

    # Shown in the Footer: the table has the focus, so its enter binding is
    # the one the Footer lists.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "tui.key.details"),
    ]

    PAGE = 40
    #: Load the next page when the cursor is this close to the last loaded row.
    SLACK = 15
    #: In a district's list read as shown, the cursor is kept on its household
    #: only up to this deep.
    KEEP_DEEPEST = 1000

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._rows: Sequence[dict[str, Any]] = []
        self._order: Sequence[int] = []
        self._exact = 0
        self._loaded = 0
        self._year = dt.date.today().year
        self._columns_made_for = -1
        #: Due dates by household id, when the table shows them (None: it does not).
        self._due: dict[str, dt.date] | None = None
        self._today = dt.date.today()

    # -- columns ---------------------------------------------------------------

    def _make_columns(self, width: int) -> None:
        """Size the address column to what is left of *width* (CJK is 2 cells)."""
        columns = self._columns()
        labels = [t(key) for key, _ in columns]
        widths = [
            max(cell_len(label), low) for label, (_, low) in zip(labels, columns, strict=True)
        ]
        # Each column has one cell of padding either side; keep 2 for the scrollbar.
        spare = width - (sum(widths) + 2 * len(widths) + 2)
        if spare > 0:
            # Addresses rarely need more than 28 cells; the rest goes to the tags.
            grow = min(spare, max(0, ADDRESS_MAX - widths[0]))
            widths[0] += grow
            widths[2] += spare - grow
        self.clear(columns=True)
        for label, w in zip(labels, widths, strict=True):
            self.add_column(label, width=w)
        self._columns_made_for = width

    def _columns(self) -> tuple[tuple[str, int], ...]:
        if self._due is None:
            return COLUMNS
        return tuple(DUE_COLUMN if key == "tui.col.visited" else (key, w) for key, w in COLUMNS)

    def show_due(self, due: dict[str, dt.date] | None, today: dt.date) -> None:
        """Show each household's due date instead of "visited this year" (None: back)."""
        changed = (due is None) != (self._due is None)
        self._due, self._today = due, today
        if changed and self.size.width:
            self._make_columns(self.size.width)

    def on_resize(self) -> None:
        if self.size.width and self.size.width != self._columns_made_for:
            self._make_columns(self.size.width)
            self._refill(keep=self.current_id())

    # -- rows ------------------------------------------------------------------

    def show(
        self,
        rows: Sequence[dict[str, Any]],
        order: Sequence[int],
        exact: int | None = None,
        keep: str | None = None,
        year: int | None = None,
    ) -> None:
        """Show ``rows[i] for i in order``: the first page now, more on demand.

        Args:
            rows: all loaded rows (or a district's, read as shown: :class:`LazyRows`).
            order: which of them match, in display order.
            exact: how many of ``order`` are exact matches (the rest are
                near matches, shown dimmed); default all.
            keep: id of a household to keep the cursor on, if still shown.
            year: the year "visited this year" refers to.
        """
        self._rows, self._order = rows, order
        self._exact = len(order) if exact is None else exact
        if year is not None:
            self._year = year
        self._refill(keep)

    def _refill(self, keep: str | None = None) -> None:
        if self._columns_made_for < 0:
            if not self.size.width:
                return  # on_resize fills it once the table has a size
            self._make_columns(self.size.width)
        self.clear()
        self._loaded = 0
        target = self._position(keep) if keep else None
        if target is not None and target > self.KEEP_DEEPEST and isinstance(self._rows, LazyRows):
            # Rows are built from the top: thousands of them to keep the cursor
            # deep in a district's list would take seconds.  Start at the top.
            target = None
        need = self.PAGE if target is None else max(self.PAGE, target + self.SLACK + 1)
        self._load_more(need)
        if target is not None:
            self.move_cursor(row=target, animate=False, scroll=True)

    def _position(self, household_id: str) -> int | None:
        """Where a household is in the table's order (None: not listed)."""
        rows = self._rows
        if isinstance(rows, LazyRows):
            # A district's every grid: find it by id, without reading the rows.
            i = rows.position(household_id)
            if i is None:
                return None
            try:
                return self._order.index(i)
            except ValueError:
                return None
        return next(
            (pos for pos, i in enumerate(self._order) if rows[i].get("id") == household_id),
            None,
        )

    def _load_more(self, count: int) -> None:
        end = min(len(self._order), self._loaded + count)
        if isinstance(self._rows, LazyRows):
            self._rows.prefetch(self._order[pos] for pos in range(self._loaded, end))
        batch = []
        for pos in range(self._loaded, end):
            row = self._rows[self._order[pos]]
            batch.append((self._cells(row, near=pos >= self._exact), row["id"]))
        for cells, key in batch:
            self.add_row(*cells, key=key)
        self._loaded = end

    def _cells(self, row: dict[str, Any], near: bool) -> list[Text]:
        dim = "dim italic" if near else ""
        tags = row.get("tags") or []
        tag_text = enum_label(tags[0], Tag) if tags else ""
        if len(tags) > 1:
            tag_text += f"+{len(tags) - 1}"
        visited = bool(row.get("visited_this_year"))
        open_items = int(row.get("open_items") or 0)
        if self._due is not None:
            due = self._due.get(row["id"])
            late = due is not None and due < self._today
            seen = Text(
                due.isoformat() if due else "—", style="bold" if late else dim, no_wrap=True
            )
        else:
            seen = Text(
                "✓" if visited else "✗", style="bold" if visited else "dim", justify="center"
            )
        return [
            shown(row.get("address") or "", style=dim, no_wrap=True, overflow="ellipsis"),
            shown(row.get("head") or "", style=dim, no_wrap=True, overflow="ellipsis"),
            Text(tag_text, style="dim" if near else "", no_wrap=True, overflow="ellipsis"),
            Text(row.get("last_visit") or "—", style=dim),
            seen,
            Text(str(open_items) if open_items else "", style="bold", justify="right"),
        ]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self._loaded < len(self._order) and event.cursor_row >= self._loaded - self.SLACK:
            self._load_more(self.PAGE)

    # -- queries -----------------------------------------------------------------

    @property
    def loaded(self) -> int:
        """Rows currently built into the table."""
        return self._loaded

    @property
    def matches(self) -> int:
        """Rows the current filter matches (loaded or not)."""
        return len(self._order)

    def current_id(self) -> str | None:
        """Id of the household under the cursor, or None when the table is empty."""
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:
            return None
        return key.value

    def current_row(self) -> dict[str, Any] | None:
        if not self.row_count or not 0 <= self.cursor_row < self._loaded:
            return None
        return self._rows[self._order[self.cursor_row]]
