"""Values that lost a sync conflict, for review (only when the sync module offers it).

The palette lists this screen only when ``visitlog.sync`` has both
``list_conflicts(store)`` and ``restore_conflict(store, id)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from visitlog.i18n import t
from visitlog.tui.common import Localized, as_dict, optional

if TYPE_CHECKING:
    from visitlog.tui.app import VisitlogApp

#: Fields shown, in this order, when a conflict has them.
SHOWN = ("tbl", "table", "row_id", "field", "value", "winner", "loser", "hlc", "device")


class ConflictsScreen(Localized, Screen[None]):
    """A table of conflicts; ``enter`` restores the losing value of the highlighted one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "tui.key.back"),
        Binding("enter", "restore", "tui.key.restore"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.conflicts: list[dict[str, Any]] = []

    @property
    def vapp(self) -> VisitlogApp:
        return self.app  # type: ignore[return-value]

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
        keys = [k for k in SHOWN if any(k in c for c in self.conflicts)]
        for key in keys:
            table.add_column(key)
        for c in self.conflicts:
            table.add_row(
                *[Text(str(c.get(k, "")), no_wrap=True, overflow="ellipsis") for k in keys]
            )
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
