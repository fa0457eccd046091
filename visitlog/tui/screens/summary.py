"""My grid at a glance: the figures of ``visitlog summary``, computed off the UI thread."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from visitlog.crashlog import crash_line, crash_log
from visitlog.i18n import t
from visitlog.model import Kind, VisitlogError
from visitlog.tui.common import (
    ALL_GRIDS,
    Plain,
    VisitlogScreen,
    as_dict,
    bar,
    enum_label,
    optional,
    pct,
    shown,
)

#: Column of ``groups`` naming the grid (the --by level).
GROUP_KEYS = ("micro_grid", "community", "street", "name", "group")


class SummaryScreen(VisitlogScreen, Screen[None]):
    """Coverage bar, households still due, items per list, 办结率, overdue, 满意率.

    Args:
        grid: the 微网格 to sum up (:data:`ALL_GRIDS`: every grid, with totals).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "tui.key.back"),
        Binding("r", "recompute", "tui.key.refresh"),
    ]

    class Computed(Message):
        def __init__(self, data: dict[str, Any] | None, error: str | None = None):
            super().__init__()
            self.data, self.error = data, error

    def __init__(self, grid: str):
        super().__init__()
        self.grid = grid
        self.data: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="summary-scroll"):
            yield Plain(t("tui.summary.computing"), id="summary-body")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#summary-scroll").focus()
        self.action_recompute()

    def action_recompute(self) -> None:
        self.query_one("#summary-body", Static).update(t("tui.summary.computing"))
        self._compute()

    @work(thread=True, exclusive=True, group="summary")
    def _compute(self) -> None:
        compute = optional("visitlog.summary", "compute_summary")
        if compute is None:
            self.post_message(
                self.Computed(None, t("tui.unavailable", feature=t("tui.key.summary")))
            )
            return
        app = self.vapp
        try:
            with app.reader() as store:
                report = compute(
                    store,
                    by="micro-grid",
                    grid=None if self.grid == ALL_GRIDS else self.grid,
                    today=app.today(),
                )
                data = as_dict(report)
        except VisitlogError as exc:
            self.post_message(self.Computed(None, str(exc)))
            return
        except Exception as exc:  # a core bug must not take the app down
            self.post_message(self.Computed(None, crash_line(exc, crash_log(exc, "tui summary"))))
            return
        self.post_message(self.Computed(data))

    def on_summary_screen_computed(self, message: Computed) -> None:
        body = self.query_one("#summary-body", Static)
        if message.data is None:
            body.update(shown(message.error or "", style=self.vapp.theme_color("error")))
            return
        self.data = message.data
        body.update(self.render_summary(message.data))

    # -- rendering --------------------------------------------------------------------

    def _mine(self, data: dict[str, Any]) -> dict[str, Any]:
        """The group of my grid, or the totals when showing every grid."""
        if self.grid != ALL_GRIDS:
            for group in data.get("groups") or []:
                if any(group.get(k) == self.grid for k in GROUP_KEYS):
                    return group
        return data.get("totals") or {}

    def render_summary(self, data: dict[str, Any]) -> Group:
        """The figures as rich renderables (pure; tested through the screen)."""
        accent = self.vapp.theme_color("accent")
        g = self._mine(data)
        grid = t("tui.grid.all") if self.grid == ALL_GRIDS else self.grid
        period = data.get("period") or {}
        dates = [
            str(v)
            for k, v in period.items()
            if v and k in ("from", "to", "date_from", "date_to", "start", "end")
        ]
        title = shown(t("tui.summary.title", grid=grid), style="bold")
        if dates:
            title.append("   " + " — ".join(dates), style="dim")
        households = int(g.get("households") or 0)
        visited = int(g.get("visited_households") or 0)
        due = g.get("still_due", g.get("households_due_left", max(0, households - visited)))
        coverage = g.get("coverage")
        cov = Table.grid(padding=(0, 1))
        cov.add_row(
            Text(t("tui.summary.coverage"), style="bold"),
            bar(coverage, 30, style=accent, empty_style="dim"),
            Text(pct(coverage), style="bold"),
            Text(t("tui.summary.visited_of", visited=visited, households=households), style="dim"),
        )
        facts = Table.grid(padding=(0, 3))
        facts.add_column(style="bold", no_wrap=True)
        facts.add_column(justify="right")
        facts.add_column(style="bold", no_wrap=True)
        facts.add_column(justify="right")
        items = g.get("items") or {}
        lists = "  ".join(f"{enum_label(k.value, Kind)} {items.get(k.value, 0)}" for k in Kind)
        facts.add_row(
            t("tui.summary.still_due"), str(due), t("tui.summary.visits"), str(g.get("visits", "—"))
        )
        facts.add_row(
            t("tui.summary.open"),
            str(g.get("open_items", "—")),
            t("tui.summary.overdue"),
            str(g.get("overdue_items", "—")),
        )
        facts.add_row(
            t("tui.summary.closure"),
            pct(g.get("closure_rate")),
            t("tui.summary.satisfaction"),
            pct(g.get("satisfaction_rate")),
        )
        if "key_coverage" in g or "on_spot_rate" in g:
            facts.add_row(
                t("tui.summary.key_coverage"),
                pct(g.get("key_coverage")),
                t("tui.summary.on_spot"),
                pct(g.get("on_spot_rate")),
            )
        parts: list[Any] = [
            title,
            Text(""),
            cov,
            Text(""),
            facts,
            Text(""),
            Text.assemble((t("tui.summary.lists") + "  ", "bold"), lists),
        ]
        groups = data.get("groups") or []
        if self.grid == ALL_GRIDS and groups:
            table = Table(box=None, padding=(0, 1), header_style="bold", expand=False)
            table.add_column(
                t("tui.summary.col.grid"), no_wrap=True, overflow="ellipsis", max_width=22
            )
            table.add_column(t("tui.summary.col.households"), justify="right")
            table.add_column(t("tui.summary.coverage"), no_wrap=True)
            table.add_column(t("tui.summary.open"), justify="right")
            table.add_column(t("tui.summary.overdue"), justify="right")
            for group in groups:
                name = next((str(group[k]) for k in GROUP_KEYS if group.get(k)), "—")
                table.add_row(
                    shown(name),
                    str(group.get("households", "")),
                    Text.assemble(
                        bar(group.get("coverage"), 10, style=accent, empty_style="dim"),
                        " " + pct(group.get("coverage")),
                    ),
                    str(group.get("open_items", "")),
                    str(group.get("overdue_items", "")),
                )
            parts += [Text(""), table]
        return Group(*parts)
