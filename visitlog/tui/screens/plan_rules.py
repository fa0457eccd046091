"""The street's planning rules, and changing one (it syncs like any other change)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Header

from visitlog.i18n import t
from visitlog.plan import Rule, load_rules, parse_days, set_rule
from visitlog.tui.common import CompactFooter, Plain, RowTable, VisitlogScreen, shown


class RulesTable(RowTable):
    """The rules; ``enter`` changes the highlighted one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "tui.key.change_rule"),
    ]


def rule_name(rule: Rule) -> str:
    """The name ``set_rule`` reads: the tag, category or outcome, or 默认."""
    return rule.key or "默认"


def _check_days(text: str) -> None:
    """Refuse a bad number of days in the dialog, before anything is written."""
    parse_days(text)


class RulesScreen(VisitlogScreen, Screen[None]):
    """A table of the rules in force; ``enter`` asks for a rule's days (or off)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "tui.key.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rules: list[Rule] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Plain(t("tui.rules.status"), id="status")
        yield RulesTable(id="rules", cursor_type="row", zebra_stripes=True)
        yield CompactFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for col in ("kind", "key", "days", "source"):
            table.add_column(t(f"plan.rules.col.{col}"), key=col)
        table.focus()
        self.refresh_data()

    def refresh_data(self, row: int = 0) -> None:
        """Read the rules again (a handful of rows) and show them."""
        self.rules = load_rules(self.vapp.store).rules
        table = self.query_one(DataTable)
        table.clear()
        for r in self.rules:
            table.add_row(
                t(f"plan.rules.kind.{r.kind}"),
                shown(r.key or t("plan.rules.every")),
                t("plan.rules.off") if r.days is None else str(r.days),
                shown(t(f"plan.rules.source.{r.source}") + (f" · {r.worker}" if r.worker else "")),
            )
        if self.rules:
            table.move_cursor(row=min(row, len(self.rules) - 1))

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_change_rule()

    def action_change_rule(self) -> None:
        from visitlog.tui.screens.prompt import PromptDialog

        table = self.query_one(DataTable)
        if not 0 <= table.cursor_row < len(self.rules):
            return
        row = table.cursor_row
        rule = self.rules[row]
        name = rule_name(rule)

        def given(text: str | None) -> None:
            if text is None:
                return

            def saved(_rule: object) -> None:
                self.notify(t("tui.rules.saved", name=rule.key or t("plan.rules.every")))
                self.refresh_data(row)
                self.vapp.data_changed()

            self.vapp.write(lambda store: set_rule(store, name, text), saved)

        self.app.push_screen(
            PromptDialog(
                t("tui.rules.change", kind=t(f"plan.rules.kind.{rule.kind}"), name=name),
                t("tui.rules.days"),
                value="off" if rule.days is None else str(rule.days),
                check=_check_days,
            ),
            given,
        )
