"""My grid at a glance: the figures of ``visitlog summary``, computed off the UI thread."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group as Renderables
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Static

from visitlog.crashlog import crash_line, crash_log
from visitlog.i18n import t
from visitlog.model import Kind, VisitlogError
from visitlog.render.common import pct, text
from visitlog.summary import TUI_FACTS, TUI_GRIDS, Group, Summary, columns, compute_summary
from visitlog.summary.views import PCT
from visitlog.tui.common import (
    ALL_GRIDS,
    CompactFooter,
    Plain,
    VisitlogScreen,
    bar,
    enum_label,
    shown,
)


class SummaryScreen(VisitlogScreen, Screen[None]):
    """Coverage bar, households still due, items per list, 办结率, overdue, 满意率.

    The figures and their labels come from the metric registry
    (:mod:`visitlog.summary.metrics`, views ``tui.facts`` and ``tui.grids``).

    Args:
        grid: the 微网格 to sum up (:data:`ALL_GRIDS`: every grid, with totals).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "tui.key.back"),
        Binding("r", "recompute", "tui.key.refresh"),
    ]

    class Computed(Message):
        def __init__(self, summary: Summary | None, error: str | None = None):
            super().__init__()
            self.summary, self.error = summary, error

    def __init__(self, grid: str):
        super().__init__()
        self.grid = grid
        self.data: Summary | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="summary-scroll"):
            yield Plain(t("tui.summary.computing"), id="summary-body")
        yield CompactFooter()

    def on_mount(self) -> None:
        self.query_one("#summary-scroll").focus()
        self.action_recompute()

    def action_recompute(self) -> None:
        self.query_one("#summary-body", Static).update(t("tui.summary.computing"))
        self._compute()

    @work(thread=True, exclusive=True, group="summary")
    def _compute(self) -> None:
        app = self.vapp
        try:
            with app.reader() as store:
                summary = compute_summary(
                    store,
                    by="micro-grid",
                    grid=None if self.grid == ALL_GRIDS else self.grid,
                    today=app.today(),
                )
        except VisitlogError as exc:
            self.post_message(self.Computed(None, str(exc)))
            return
        except Exception as exc:  # a core bug must not take the app down
            self.post_message(self.Computed(None, crash_line(exc, crash_log(exc, "tui summary"))))
            return
        self.post_message(self.Computed(summary))

    def on_summary_screen_computed(self, message: Computed) -> None:
        body = self.query_one("#summary-body", Static)
        if message.summary is None:
            body.update(shown(message.error or "", style=self.vapp.theme_color("error")))
            return
        self.data = message.summary
        body.update(self.render_summary(message.summary))

    # -- rendering --------------------------------------------------------------------

    def _mine(self, summary: Summary) -> Group:
        """The group of my grid, or the totals when showing every grid."""
        if self.grid != ALL_GRIDS:
            group = summary.group(self.grid)
            if group is not None:
                return group
        return summary.totals

    def render_summary(self, summary: Summary) -> Renderables:
        """The figures as rich renderables (pure; tested through the screen)."""
        accent = self.vapp.theme_color("accent")
        g = self._mine(summary).to_json()
        grid = t("tui.grid.all") if self.grid == ALL_GRIDS else self.grid
        title = shown(t("tui.summary.title", grid=grid), style="bold")
        period = (summary.date_from.isoformat(), summary.date_to.isoformat())
        title.append("   " + " — ".join(period), style="dim")
        coverage = g["coverage"]
        cov = Table.grid(padding=(0, 1))
        cov.add_row(
            Text(t("tui.summary.coverage"), style="bold"),
            bar(coverage, 30, style=accent, empty_style="dim"),
            Text(pct(coverage), style="bold"),
            Text(
                t(
                    "tui.summary.visited_of",
                    visited=g["visited_households"],
                    households=g["households"],
                ),
                style="dim",
            ),
        )
        facts = Table.grid(padding=(0, 3))
        facts.add_column(style="bold", no_wrap=True)
        facts.add_column(justify="right")
        facts.add_column(style="bold", no_wrap=True)
        facts.add_column(justify="right")
        cells = [x for c in columns(TUI_FACTS) for x in (c.label, text(c, g))]
        for i in range(0, len(cells), 4):
            facts.add_row(*cells[i : i + 4])
        lists = "  ".join(f"{enum_label(k, Kind)} {n}" for k, n in g["items"].items())
        parts: list[Any] = [
            title,
            Text(""),
            cov,
            Text(""),
            facts,
            Text(""),
            Text.assemble((t("tui.summary.lists") + "  ", "bold"), lists),
            # The items screen counts open items of every year: say why the figures differ.
            Text(
                t("tui.summary.period_note", date_from=period[0], date_to=period[1]),
                style="dim",
            ),
        ]
        if self.grid == ALL_GRIDS and summary.groups:
            parts += [Text(""), self._grids_table(summary, accent)]
        return Renderables(*parts)

    @staticmethod
    def _grids_table(summary: Summary, accent: str) -> Table:
        """A line per grid: the registry's ``tui.grids`` columns, rates drawn as bars."""
        cols = columns(TUI_GRIDS)
        table = Table(box=None, padding=(0, 1), header_style="bold", expand=False)
        table.add_column(t("tui.summary.col.grid"), no_wrap=True, overflow="ellipsis", max_width=22)
        for c in cols:
            if c.kind == PCT:
                table.add_column(c.label, no_wrap=True)
            else:
                table.add_column(c.label, justify="right")
        for group in summary.groups:
            values = group.to_json()
            cells: list[Any] = [shown(group.name or "—")]
            for c in cols:
                if c.kind == PCT:
                    share = c.value(values)
                    cells.append(
                        Text.assemble(
                            bar(share, 10, style=accent, empty_style="dim"), " " + text(c, values)
                        )
                    )
                else:
                    cells.append(text(c, values, empty=""))
            table.add_row(*cells)
        return table
