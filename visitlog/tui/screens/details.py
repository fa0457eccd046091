"""One household: its facts, tags, and full visit history with the items raised."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static

from visitlog.i18n import t
from visitlog.model import (
    Category,
    Household,
    Kind,
    Level,
    Mode,
    Occupancy,
    Outcome,
    Role,
    Satisfaction,
    Status,
    Tag,
    Visit,
    VisitlogError,
)
from visitlog.tui.common import CompactFooter, Plain, VisitlogScreen, enum_label, is_overdue, shown
from visitlog.visible import visible


class HouseholdScreen(VisitlogScreen, Screen[None]):
    """Read-only view of a household; ``n`` records a new visit to it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "tui.key.back"),
        Binding("n", "new_visit", "tui.key.new_visit"),
    ]

    def __init__(self, household_id: str):
        super().__init__()
        self.household_id = household_id
        self.household: Household | None = None
        self.visits: list[Visit] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="details"):
            yield Plain(id="facts")
            yield Plain(id="history-title", classes="section-title")
            yield Plain(id="history")
        yield CompactFooter()

    def on_mount(self) -> None:
        self.refresh_data()
        self.query_one("#details").focus()

    def refresh_data(self) -> None:
        """Read the household and its visits again (they are small, so on the UI thread)."""
        store = self.vapp.store
        try:
            self.household = store.get_household(self.household_id)
            self.visits = store.list_visits(household=self.household_id)
        except VisitlogError as exc:
            self.notify(str(exc), severity="error")
            return
        self.query_one("#facts", Static).update(self._facts())
        self.query_one("#history-title", Static).update(
            t("tui.details.history", n=len(self.visits))
        )
        self.query_one("#history", Static).update(self._history())

    def _facts(self) -> Table:
        h = self.household
        assert h is not None
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        tags = "、".join(enum_label(x, Tag) for x in h.tags) or "—"
        rows = [
            (t("tui.col.address"), shown(h.address, style="bold")),
            (t("tui.details.community"), shown(f"{h.community or '—'} · {h.micro_grid}")),
            (t("tui.col.head"), shown(h.head or "—")),
            (t("tui.details.phone"), _contact(h.phone)),
            (t("tui.details.members"), "—" if h.members is None else str(h.members)),
            (t("tui.details.occupancy"), enum_label(h.occupancy, Occupancy)),
            (t("tui.col.tags"), shown(tags)),
            (t("tui.details.met_this_year"), self._met_this_year()),
        ]
        if h.note:
            rows.append((t("tui.details.note"), shown(h.note)))
        for label, value in rows:
            grid.add_row(shown(label), value)
        return grid

    def _met_this_year(self) -> Text:
        """✓ or ✗ as the home table shows it, and why: only a visit that met them counts."""
        year = str(self.vapp.today().year)
        this_year = sorted(
            (v for v in self.visits if v.visit_date.startswith(year)),
            key=lambda v: v.visit_date,
            reverse=True,
        )
        met = [v for v in this_year if v.outcome == Outcome.MET.value]
        if met:
            return Text(t("tui.details.met_on", date=met[0].visit_date))
        if this_year:
            last = this_year[0]
            outcome = enum_label(last.outcome, Outcome)
            return Text(t("tui.details.not_met", date=last.visit_date, outcome=outcome))
        return Text(t("tui.details.no_visit_this_year"), style="dim")

    def _history(self) -> Group | Text:
        if not self.visits:
            return Text(t("tui.details.no_visits"), style="dim")
        today = self.vapp.today()
        error = self.vapp.theme_color("error")
        blocks = []
        # Newest first: the last visit is what a worker wants to read before knocking.
        for v in sorted(
            self.visits, key=lambda v: (v.visit_date, v.created_at or ""), reverse=True
        ):
            text = Text()
            text.append(v.visit_date, style="bold")
            text.append(f"  {enum_label(v.mode, Mode)} · ")
            met = v.outcome == Outcome.MET.value
            text.append(enum_label(v.outcome, Outcome), style="bold" if met else error)
            role = f"（{enum_label(v.role, Role)}）" if v.role else ""
            text.append(visible(f"  {t('tui.details.visitor', name=v.visitor)}{role}"), style="dim")
            if v.next_due:
                text.append(f"  {t('tui.details.next_due', date=v.next_due)}", style="dim")
            if v.summary:
                text.append("\n  " + visible(v.summary))
            for item in v.items:
                text.append("\n  ▸ ")
                text.append(
                    f"{enum_label(item.kind, Kind)} · {enum_label(item.category, Category)}：",
                    style="bold",
                )
                text.append(visible(item.description))
                open_ = item.status in ("待办", "办理中")
                overdue = open_ and is_overdue(item.deadline, today)
                text.append(
                    f"  [{enum_label(item.status, Status)}]",
                    style=error if overdue else ("bold" if open_ else "dim"),
                )
                extra = []
                if item.level:
                    extra.append(enum_label(item.level, Level))
                if item.owner:
                    extra.append(item.owner)
                if item.deadline:
                    key = "tui.details.overdue" if overdue else "tui.details.deadline"
                    extra.append(t(key, date=item.deadline))
                if item.satisfaction:
                    extra.append(enum_label(item.satisfaction, Satisfaction))
                if extra:
                    text.append(
                        visible("  " + " · ".join(extra)), style=error if overdue else "dim"
                    )
                if item.resolution:
                    text.append(
                        "\n      " + visible(t("tui.details.resolution", text=item.resolution)),
                        style="dim",
                    )
            blocks.append(text)
            blocks.append(Text(""))
        return Group(*blocks)

    def action_new_visit(self) -> None:
        h = self.household
        if h is None:
            return
        self.vapp.new_visit({"id": h.id, "address": h.address, "head": h.head})


def _contact(phone: str | None) -> Text | str:
    """The contact as written, flagged when part of it could not be read."""
    if not phone:
        return "—"
    from visitlog.residents import read_phones

    text = shown(phone)
    for kind in read_phones(phone).warnings:
        text.append(f"  {t(f'tui.details.flag.{kind}')}", style="dim")
    return text
