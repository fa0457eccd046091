"""Where the summary's metrics are shown: the views, and a metric's column in one.

A view is a table of some renderer (the CSV's columns, the meeting sheet, a
detail sheet, the short tables of the overview, a grid's page, the TUI's
summary screen); a metric says its place in each view it appears in
(:attr:`visitlog.summary.metrics.Metric.at`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: How a value is formatted (by :mod:`visitlog.render.common`): a whole number,
#: a percentage, days with one decimal.
INT, PCT, DAYS_FMT = "int", "pct", "days"

FLAT = "flat"  # every column, CSV and XLSX (one row per group)
MEETING = "meeting"  # what the committee reads at the meeting (XLSX, per level)
SHEET_VISITS = "sheet.visits"
SHEET_MODES = "sheet.modes"
SHEET_CATEGORIES = "sheet.categories"
SHEET_HANDLING = "sheet.handling"
OVERVIEW_VISITS = "view.visits"  # the short tables of the terminal, Markdown and HTML
OVERVIEW_ITEMS = "view.items"
OVERVIEW_RATES = "view.rates"
OVERVIEW_KEY = "view.key"
GRID_PAGE = "grid_page"  # the figures on a 微网格's page of the HTML report
TUI_FACTS = "tui.facts"  # the TUI's summary screen: the figures, two a line
TUI_GRIDS = "tui.grids"  # the TUI's summary screen: a line per grid

#: Each view: its title (an i18n key, or None) and whether its labels are short.
VIEWS: dict[str, tuple[str | None, bool]] = {
    FLAT: (None, False),
    MEETING: (None, False),
    SHEET_VISITS: ("summary.sheet.visits", False),
    SHEET_MODES: ("summary.sheet.modes", False),
    SHEET_CATEGORIES: ("summary.sheet.categories", False),
    SHEET_HANDLING: ("summary.sheet.handling", False),
    OVERVIEW_VISITS: ("summary.view.visits", True),
    OVERVIEW_ITEMS: ("summary.view.items", True),
    OVERVIEW_RATES: ("summary.view.rates", True),
    OVERVIEW_KEY: ("summary.view.key", True),
    GRID_PAGE: (None, False),
    TUI_FACTS: (None, False),
    TUI_GRIDS: (None, False),
}
#: The detail sheets of the workbook and the short tables of the overview, in order.
DETAIL_SHEETS = (SHEET_VISITS, SHEET_MODES, SHEET_CATEGORIES, SHEET_HANDLING)
OVERVIEWS = (OVERVIEW_VISITS, OVERVIEW_ITEMS, OVERVIEW_RATES, OVERVIEW_KEY)

#: Where a metric sits in a view: its position, or its position and a label
#: (i18n key) of its own in that view.
Place = int | tuple[int, str]


@dataclass(frozen=True)
class Column:
    """One column of a view: where its value is in a group's JSON, its label, its format."""

    path: tuple[str, ...]
    label: str
    kind: str = INT  # how it is formatted: int | pct | days
    graded: bool = False  # coloured by the coverage thresholds
    name: str = ""  # the metric it shows

    def value(self, group: Mapping[str, Any]) -> Any:
        v: Any = group
        for key in self.path:
            v = v.get(key) if isinstance(v, Mapping) else None
        return v
