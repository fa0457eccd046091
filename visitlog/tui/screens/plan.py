"""本周待访: the households of my 微网格 due by Sunday, building by building.

The same list as ``visitlog plan`` (:func:`visitlog.plan.make_plan`), with
the rule behind each line.  ``n`` records a visit for the highlighted
household; once saved the list is read again, so a household the visit met
leaves it at once.  ``r`` shows the rules and changes one.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header
from textual.widgets.data_table import ColumnKey

from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.plan import Plan, PlanEntry, make_plan
from visitlog.tui.common import ALL_GRIDS, CompactFooter, Plain, RowTable, VisitlogScreen, shown

#: Columns of the list (key, width); the rule's column takes the rest of the width.
COLUMNS: tuple[tuple[str, int | None], ...] = (
    ("tui.plan.col.due", 10),
    ("tui.plan.col.overdue", 4),
    ("tui.col.address", 22),
    ("tui.plan.col.reason", None),
)


class PlanTable(RowTable):
    """The week's households; its keys are the ones the Footer shows."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "tui.key.details"),
    ]


class PlanScreen(VisitlogScreen, Screen[None]):
    """The households due by Sunday, most overdue building first.

    Args:
        grid: the 微网格 to show (:data:`ALL_GRIDS` for all).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "tui.key.back"),
        Binding("n", "new_visit", "tui.key.new_visit"),
        Binding("r", "rules", "tui.key.rules"),
    ]

    class Planned(Message):
        """The week's list, read in a worker."""

        def __init__(self, generation: int, plan: Plan | None, error: str | None = None):
            super().__init__()
            self.generation, self.plan, self.error = generation, plan, error

    def __init__(self, grid: str):
        super().__init__()
        self.grid = grid
        self.entries: list[PlanEntry] = []
        self._generation = 0
        self._keep: str | None = None
        self._keep_row = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Plain("", id="status")
        yield PlanTable(id="plan", cursor_type="row", zebra_stripes=True)
        yield CompactFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, width in COLUMNS:
            table.add_column(t(key), width=width, key=key)
        table.focus()
        self.refresh_data()

    def on_resize(self) -> None:
        # The rule takes what the other columns leave (the address says the building).
        table = self.query_one(DataTable)
        reason = table.columns.get(ColumnKey("tui.plan.col.reason"))
        if reason is None or not self.size.width:
            return
        fixed = sum(w for _, w in COLUMNS if w)
        reason.width = max(12, self.size.width - fixed - 2 * len(COLUMNS) - 2)
        reason.auto_width = False
        table.refresh()

    def refresh_data(self, keep: str | None = None) -> None:
        """Read the list again in a worker (every grid's may be thousands of households)."""
        self._generation += 1
        self._keep = keep
        self._keep_row = self.query_one(DataTable).cursor_row
        self._read(self._generation)

    def data_changed(self, household_id: str | None = None) -> None:
        """A record was written (a visit saved, say): the list is read again."""
        self.refresh_data(keep=self._current_id())

    @work(thread=True, exclusive=True, group="plan")
    def _read(self, generation: int) -> None:
        app = self.vapp
        try:
            with app.reader() as store:
                plan = make_plan(
                    store,
                    grid=None if self.grid == ALL_GRIDS else self.grid,
                    today=app.today(),
                )
        except VisitlogError as exc:
            self.post_message(self.Planned(generation, None, str(exc)))
            return
        self.post_message(self.Planned(generation, plan))

    def on_plan_screen_planned(self, message: Planned) -> None:
        if message.generation != self._generation:
            return
        if message.error is not None or message.plan is None:
            self.notify(message.error or "", severity="error")
            return
        plan = message.plan
        self.entries = plan.entries
        error = self.vapp.theme_color("error")
        table = self.query_one(DataTable)
        table.clear()
        for e in plan.entries:
            late = e.overdue_days > 0
            style = f"bold {error}" if late else ""
            table.add_row(
                Text(e.due.isoformat(), style=style),
                Text(str(e.overdue_days) if late else "", style=style, justify="right"),
                shown(e.address, no_wrap=True, overflow="ellipsis"),
                shown("；".join(r.text() for r in e.reasons), no_wrap=True, overflow="ellipsis"),
                key=e.household_id,
            )
        ids = [e.household_id for e in self.entries]
        if self._keep in ids:
            table.move_cursor(row=ids.index(self._keep))
        elif ids:
            # The household left the list (a visit met it): stay where it was.
            table.move_cursor(row=min(self._keep_row, len(ids) - 1))
        grid = t("tui.grid.all") if self.grid == ALL_GRIDS else self.grid
        status = (
            t(
                "tui.plan.status",
                grid=grid,
                until=plan.until,
                n=len(plan.entries),
                overdue=plan.overdue,
            )
            if plan.entries
            else t("tui.plan.none")
        )
        self.query_one("#status", Plain).update(status)

    def _current(self) -> PlanEntry | None:
        table = self.query_one(DataTable)
        if not table.row_count or not 0 <= table.cursor_row < len(self.entries):
            return None
        return self.entries[table.cursor_row]

    def _current_id(self) -> str | None:
        e = self._current()
        return e.household_id if e else None

    def _household(self, e: PlanEntry) -> dict[str, Any]:
        return {
            "id": e.household_id,
            "address": e.address,
            "head": e.head,
            "micro_grid": e.micro_grid,
            "community": e.community,
        }

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        e = self._current()
        if e is not None:
            self.vapp.open_household(e.household_id)

    def action_rules(self) -> None:
        from visitlog.tui.screens.plan_rules import RulesScreen

        self.app.push_screen(RulesScreen())

    def action_new_visit(self) -> None:
        e = self._current()
        if e is None:
            self.notify(t("tui.no_household"), severity="warning")
            return
        self.vapp.new_visit(self._household(e))
