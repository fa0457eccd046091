"""Values that lost a sync conflict, for review: who made them, and restoring them.

``enter`` asks before restoring the highlighted value (a reflexive enter on
the question changes nothing); the value it replaces stays in the conflict
record, so restoring the same conflict again brings it back.  ``a`` shows the
conflicts already handled too.  The list is read and every restore written
in workers: the screen never waits for the database.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static
from textual.widgets.data_table import ColumnKey

from visitlog.crashlog import crash_line, crash_log
from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.sync.conflicts import (
    field_label,
    list_conflicts,
    made_by,
    restore_conflict,
    table_label,
)
from visitlog.tui.common import CompactFooter, Plain, VisitlogScreen, clip, shown

#: (i18n key of a column, its width; None takes what is left), in display order.
COLUMNS = (
    ("tui.conflicts.col.when", 16),
    ("tui.conflicts.col.record", 16),
    ("tui.conflicts.col.field", 10),
    ("tui.conflicts.col.lost", None),
    ("tui.conflicts.col.kept", None),
    ("tui.conflicts.col.who", 18),
    ("tui.conflicts.col.state", 6),
)


#: The widths of COLUMNS below 100 columns (the 80-column terminal included).
NARROW = (11, 10, 8, None, None, 10, 4)


def _shown(value: Any) -> str:
    return "—" if value is None or value == "" else str(value)


class ConflictsScreen(VisitlogScreen, Screen[None]):
    """A table of conflicts; ``enter`` restores the overwritten value of the highlighted one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "tui.key.back"),
        Binding("enter", "restore", "tui.key.restore"),
        Binding("a", "toggle_all", "tui.key.all_conflicts"),
    ]

    class Listed(Message):
        """The conflicts, read in a worker."""

        def __init__(self, conflicts: list[dict[str, Any]] | None, error: str | None = None):
            super().__init__()
            self.conflicts, self.error = conflicts, error

    def __init__(self) -> None:
        super().__init__()
        self.conflicts: list[dict[str, Any]] = []
        self.show_all = False
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Plain(t("tui.conflicts.loading"), id="status")
        yield DataTable(id="conflicts", cursor_type="row", zebra_stripes=True)
        yield CompactFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, width in COLUMNS:
            table.add_column(t(key), width=width, key=key)
        table.focus()
        self.refresh_data()

    def on_resize(self) -> None:
        # The two values share what the other columns leave.
        width = self.size.width
        if not width:
            return
        table = self.query_one(DataTable)
        widths = [w for _k, w in COLUMNS] if width >= 100 else list(NARROW)
        fixed = sum(w or 0 for w in widths)
        rest = width - fixed - 2 * len(widths) - 2
        for (key, _w), w in zip(COLUMNS, widths, strict=True):
            column = table.columns.get(ColumnKey(key))
            if column is None:
                continue
            if w is None:
                if width >= 100:
                    continue
                w = max(6, rest // 2)
            column.width = w
            column.auto_width = False
        table.refresh()

    def refresh_data(self) -> None:
        """Read the conflicts again (in a worker)."""
        self.loaded = False
        self._read(self.show_all)

    @work(thread=True, exclusive=True, group="conflicts")
    def _read(self, show_all: bool) -> None:
        try:
            with self.vapp.reader() as store:
                rows = list_conflicts(store, include_resolved=show_all)
        except VisitlogError as exc:
            self.post_message(self.Listed(None, str(exc)))
            return
        except Exception as exc:  # a core bug must not close the app
            self.post_message(self.Listed(None, crash_line(exc, crash_log(exc, "tui conflicts"))))
            return
        self.post_message(self.Listed(rows))

    def on_conflicts_screen_listed(self, message: Listed) -> None:
        status = self.query_one("#status", Static)
        if message.error is not None:
            status.update(shown(message.error, style="bold"))
            return
        self.conflicts = message.conflicts or []
        self.loaded = True
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for c in self.conflicts:
            state = ""
            if c.get("restored"):
                state = t("tui.conflicts.state.restored")
            elif c.get("resolved"):
                state = t("tui.conflicts.state.done")
            record = f"{table_label(c['tbl'])} {c['row_id'][-6:]}"
            cells = [
                str(c.get("detected_at") or "")[:16].replace("T", " "),
                record,
                field_label(c["tbl"], c["field"]),
                _shown(c.get("value")),
                _shown(c.get("current_value")),
                made_by(c),
                state,
            ]
            table.add_row(*(shown(clip(x, 60), no_wrap=True, overflow="ellipsis") for x in cells))
        if self.conflicts:
            table.move_cursor(row=min(row, len(self.conflicts) - 1))
        key = "tui.conflicts.status_all" if self.show_all else "tui.conflicts.status"
        status.update(t(key, n=len(self.conflicts)))

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_restore()

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.refresh_data()

    def action_restore(self) -> None:
        """Ask, then put the overwritten value back (or, on a restored one, the other)."""
        from visitlog.tui.screens.confirm import ConfirmDialog

        table = self.query_one(DataTable)
        if not self.conflicts or not 0 <= table.cursor_row < len(self.conflicts):
            return
        c = self.conflicts[table.cursor_row]
        value = c.get("winner_value") if c.get("restored") else c.get("value")
        question = t(
            "tui.conflicts.confirm",
            record=f"{table_label(c['tbl'])} {c['row_id'][-6:]}",
            field=field_label(c["tbl"], c["field"]),
            current=_shown(c.get("current_value")),
            value=_shown(value),
            who=made_by(c, winner=bool(c.get("restored"))),
        )

        def answer(choice: str | None) -> None:
            if choice != "yes":
                return
            conflict_id = c["id"]
            self.vapp.write(lambda store: restore_conflict(store, conflict_id), self._restored)

        self.app.push_screen(
            ConfirmDialog(
                t("tui.conflicts.confirm_title"),
                question,
                yes=t("tui.conflicts.restore_yes"),
                no=t("tui.conflicts.restore_no"),
                default="no",
            ),
            answer,
        )

    def _restored(self, rec: dict[str, Any]) -> None:
        self.notify(
            t(
                "tui.conflicts.done",
                field=field_label(rec["tbl"], rec["field"]),
                value=_shown(rec.get("current_value")),
                old=_shown(rec.get("replaced_value")),
            )
        )
        self.vapp.data_changed()
        if self.is_attached:
            self.refresh_data()
