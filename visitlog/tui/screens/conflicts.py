"""Values that lost a sync conflict, for review (only when the sync module offers it).

The palette lists this screen only when ``visitlog.sync`` has both
``list_conflicts(store)`` and ``restore_conflict(store, id)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from visitlog.i18n import t
from visitlog.tui.common import VisitlogScreen, as_dict, optional

#: (field of a conflict record, i18n key of its column), in display order.
COLUMNS = (
    ("detected_at", "tui.conflicts.col.when"),
    ("tbl", "tui.conflicts.col.table"),
    ("field", "tui.conflicts.col.field"),
    ("value", "tui.conflicts.col.lost"),
    ("winner_value", "tui.conflicts.col.kept"),
    ("device_name", "tui.conflicts.col.device"),
)


class ConflictsScreen(VisitlogScreen, Screen[None]):
    """A table of conflicts; ``enter`` restores the losing value of the highlighted one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "tui.key.back"),
        Binding("enter", "restore", "tui.key.restore"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.conflicts: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="status")
        yield DataTable(id="conflicts", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.refresh_data()
        self.query_one(DataTable).focus()

    def refresh_data(self) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        lister = optional("visitlog.sync", "list_conflicts")
        try:
            self.conflicts = [as_dict(c) for c in (lister(self.vapp.store) if lister else [])]
        except Exception as exc:  # the sync module's problem must not close the app
            self.query_one("#status", Static).update(Text(str(exc), style="bold"))
            return
        for _, label in COLUMNS:
            table.add_column(t(label))
        for c in self.conflicts:
            cells = []
            for key, _ in COLUMNS:
                value = c.get(key)
                if key == "device_name":
                    value = value or c.get("device")
                if key == "detected_at":
                    value = str(value or "")[:16].replace("T", " ")
                text = "—" if value is None else str(value)
                cells.append(Text(text, no_wrap=True, overflow="ellipsis"))
            table.add_row(*cells)
        self.query_one("#status", Static).update(t("tui.conflicts.status", n=len(self.conflicts)))

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_restore()

    def action_restore(self) -> None:
        table = self.query_one(DataTable)
        if not self.conflicts or not 0 <= table.cursor_row < len(self.conflicts):
            return
        restore = optional("visitlog.sync", "restore_conflict")
        conflict = self.conflicts[table.cursor_row]
        try:
            if restore is not None:
                restore(self.vapp.store, conflict.get("id"))
        except Exception as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify(t("tui.conflicts.restored"))
        self.vapp.data_changed()
        self.refresh_data()
