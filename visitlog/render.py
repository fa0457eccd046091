"""The grid summary as a terminal table, JSON, CSV, Markdown, XLSX or print-ready HTML.

Every renderer takes a :class:`~visitlog.summary.Summary` and returns text
or bytes; nothing here queries the database.  Personal data (names, phones,
key-group tags) only appears in the still-due list of the XLSX and HTML
outputs, and there it is masked through :mod:`visitlog.privacy` unless
``reveal`` is given (the command that reveals writes an audit entry).
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from visitlog import files
from visitlog.i18n import t
from visitlog.model import Category, Kind, Mode, Outcome, Satisfaction, Tag, VisitlogError
from visitlog.privacy import present_person
from visitlog.summary import LEVEL_KEYS, LEVELS, STILL_DUE_REASONS, Summary

FORMATS = ("table", "json", "csv", "md", "xlsx", "html")
#: Formats that are files, never printed on the terminal.
FILE_FORMATS = ("xlsx", "html")
#: Coverage at or above GOOD is green, at or above FAIR yellow, below red.
GOOD, FAIR = 0.9, 0.6
#: The CJK font stack of the printed page (Windows, macOS, Linux, then serif).
CJK_FONTS = (
    '"Microsoft YaHei", "微软雅黑", "PingFang SC", "Hiragino Sans GB", '
    '"Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", '
    '"SimHei", "SimSun", sans-serif'
)


# -- values and columns ------------------------------------------------------------


def pct(value: float | None, empty: str = "—") -> str:
    """0.853 → 85.3%; None (nothing to divide by) → —."""
    return empty if value is None else f"{value * 100:.1f}%"


def days(value: float | None, empty: str = "—") -> str:
    return empty if value is None else f"{value:.1f}"


def coverage_style(value: float | None) -> str:
    """The colour of a coverage figure: green, yellow or red (dim when none)."""
    if value is None:
        return "dim"
    return "green" if value >= GOOD else "yellow" if value >= FAIR else "red"


@dataclass(frozen=True)
class Column:
    """One metric of a group as a column: where it is in the JSON and how to show it."""

    path: tuple[str, ...]
    label: str
    kind: str = "int"  # int | pct | days

    def value(self, group: dict[str, Any]) -> Any:
        v: Any = group
        for key in self.path:
            v = v.get(key) if isinstance(v, dict) else None
        return v

    def text(self, group: dict[str, Any], empty: str = "—") -> str:
        v = self.value(group)
        if self.kind == "pct":
            return pct(v, empty)
        if self.kind == "days":
            return days(v, empty)
        return empty if v is None else str(v)


def _c(path: str, key: str, fmt: str = "int", **kw: Any) -> Column:
    return Column(tuple(path.split(".")), t(f"summary.col.{key}", **kw), fmt)


def flat_columns() -> list[Column]:
    """Every metric of a group, one column each (CSV and XLSX)."""
    cols = [
        _c("households", "households"),
        _c("visited_households", "visited"),
        _c("coverage", "coverage", "pct"),
        _c("still_due", "still_due"),
    ]
    cols += [_c(f"still_due_reasons.{r}", "still_due_reason", reason=r) for r in STILL_DUE_REASONS]
    cols += [
        _c("live_households", "live"),
        _c("vacant_households", "vacant"),
        _c("visits", "visits"),
    ]
    cols += [_c(f"visits_by_mode.{m}", "visits_mode", mode=m) for m in Mode.choices()]
    cols += [_c(f"visits_by_outcome.{o}", "visits_outcome", outcome=o) for o in Outcome.choices()]
    cols += [
        _c("active_visitors", "visitors"),
        _c("key_households", "key_households"),
        _c("key_visited", "key_visited"),
        _c("key_coverage", "key_coverage", "pct"),
    ]
    for tag in Tag.choices():
        cols.append(_c(f"key_groups.{tag}.households", "tag_households", tag=tag))
        cols.append(_c(f"key_groups.{tag}.visited", "tag_visited", tag=tag))
    cols.append(_c("items_total", "items"))
    cols += [_c(f"items.{k}", "kind", kind=k) for k in Kind.choices()]
    cols += [_c(f"items_by_category.{c}", "category", category=c) for c in Category.choices()]
    cols += [
        _c("open_items", "open"),
        _c("closed_items", "closed"),
        _c("overdue_items", "overdue"),
        _c("on_spot_rate", "on_spot_rate", "pct"),
        _c("closure_rate", "closure_rate", "pct"),
        _c("on_time_rate", "on_time_rate", "pct"),
        _c("avg_days_to_close", "avg_days", "days"),
        _c("feedback_rate", "feedback_rate", "pct"),
        _c("satisfaction_rate", "satisfaction_rate", "pct"),
    ]
    cols += [_c(f"satisfaction.{s}", "satisfaction", value=s) for s in Satisfaction.choices()]
    cols += [_c("merged_households", "merged_households"), _c("merged_visits", "merged_visits")]
    return cols


def views() -> list[tuple[str, list[Column]]]:
    """The short tables of the terminal, Markdown and HTML overview (each fits 80 columns)."""
    return [
        (
            t("summary.view.visits"),
            [
                _c("households", "households_short"),
                _c("visited_households", "visited_short"),
                _c("coverage", "coverage_short", "pct"),
                _c("still_due", "still_due_short"),
                _c("visits", "visits_short"),
                _c("active_visitors", "visitors_short"),
                _c("key_coverage", "key_coverage_short", "pct"),
            ],
        ),
        (
            t("summary.view.items"),
            [_c(f"items.{k}", "kind_short", kind=k) for k in Kind.choices()]
            + [_c("open_items", "open_short"), _c("overdue_items", "overdue_short")],
        ),
        (
            t("summary.view.rates"),
            [
                _c("closure_rate", "closure_short", "pct"),
                _c("on_spot_rate", "on_spot_short", "pct"),
                _c("on_time_rate", "on_time_short", "pct"),
                _c("feedback_rate", "feedback_short", "pct"),
                _c("satisfaction_rate", "satisfaction_short", "pct"),
                _c("avg_days_to_close", "avg_days_short", "days"),
            ],
        ),
    ]


def _level_label(by: str) -> str:
    return t(f"summary.level.{by}")


def _group_name(summary: Summary, g: dict[str, Any]) -> str:
    name = g.get(summary.level_key)
    return t("summary.no_community") if name is None else str(name)


def _period(summary: Summary) -> str:
    return t(
        "summary.period",
        date_from=summary.date_from.isoformat(),
        date_to=summary.date_to.isoformat(),
    )


def _rows(summary: Summary) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    data = summary.to_json()
    return data["groups"], data["totals"]


def _notes(summary: Summary, totals: dict[str, Any]) -> list[str]:
    """The lines under the tables: key groups, top categories, modes, data health."""
    lines = []
    tags = [
        f"{tag} {v['visited']}/{v['households']}"
        for tag, v in totals["key_groups"].items()
        if v["households"]
    ]
    if tags:
        lines.append(t("summary.note.key_groups") + "：" + "，".join(tags))
    if totals["top_categories"]:
        lines.append(
            t("summary.note.top_categories")
            + "："
            + "，".join(f"{c['category']} {c['count']}" for c in totals["top_categories"])
        )
    lines.append(
        t("summary.note.modes")
        + "："
        + "，".join(f"{m} {n}" for m, n in totals["visits_by_mode"].items())
    )
    reasons = "，".join(f"{r} {n}" for r, n in totals["still_due_reasons"].items())
    lines.append(t("summary.note.still_due") + "：" + reasons)
    lines.append(
        t(
            "summary.note.health",
            merged_households=totals["merged_households"],
            merged_visits=totals["merged_visits"],
            unsynced=totals["unsynced_changes"],
            conflicts=totals["open_conflicts"],
        )
    )
    lines.append(t("summary.note.overdue_cutoff", cutoff=summary.overdue_cutoff.isoformat()))
    return lines


# -- terminal table ---------------------------------------------------------------


def render_table(summary: Summary) -> RenderableType:
    """Rich tables that stay readable at 80 columns, coverage coloured."""
    groups, totals = _rows(summary)
    title = t("summary.title", street=summary.street) + "  " + _period(summary)
    parts: list[RenderableType] = [Text(title, style="bold")]
    show_communities = summary.by == "micro-grid" and len({g.get("community") for g in groups}) > 1
    for view_title, cols in views():
        table = Table(
            title=view_title,
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            collapse_padding=True,
            show_footer=False,
        )
        table.add_column(_level_label(summary.by), overflow="fold")
        for col in cols:
            table.add_column(col.label, justify="right", overflow="fold")
        community: Any = object()
        for g in groups:
            if show_communities and g.get("community") != community:
                community = g.get("community")
                label = community if community is not None else t("summary.no_community")
                table.add_row(Text(label, style="bold cyan"), *[""] * len(cols))
            table.add_row(_group_name(summary, g), *_cells(cols, g))
        table.add_section()
        table.add_row(Text(t("summary.totals"), style="bold"), *_cells(cols, totals, bold=True))
        parts.append(table)
    parts += [Text(line) for line in _notes(summary, totals)]
    return Group(*parts)


def _cells(cols: list[Column], group: dict[str, Any], bold: bool = False) -> list[Text]:
    out = []
    for col in cols:
        style = "bold" if bold else ""
        if col.path[-1] in ("coverage", "key_coverage"):
            style = (style + " " + coverage_style(col.value(group))).strip()
        out.append(Text(col.text(group), style=style))
    return out


def table_text(summary: Summary, width: int = 100) -> str:
    """The table as plain text (for ``-o FILE`` with the table format)."""
    console = Console(
        file=io.StringIO(), width=width, color_system=None, record=True, legacy_windows=False
    )
    console.print(render_table(summary))
    return console.export_text()


# -- JSON, CSV, Markdown -------------------------------------------------------------


def render_json(summary: Summary) -> str:
    return json.dumps(summary.to_json(), ensure_ascii=False, indent=2) + "\n"


def _flat_header(summary: Summary) -> list[str]:
    head = [_level_label(summary.by)]
    if summary.by == "micro-grid":
        head.append(t("summary.level.community"))
    return head + [c.label for c in flat_columns()]


def _flat_row(
    summary: Summary, g: dict[str, Any], name: str, fmt: Callable[[Column, dict], Any]
) -> list[Any]:
    row: list[Any] = [name]
    if summary.by == "micro-grid":
        community = g.get("community")
        row.append("" if community is None else community)
    return row + [fmt(c, g) for c in flat_columns()]


def render_csv(summary: Summary) -> bytes:
    """One row per group and a totals row, UTF-8 with a BOM (Excel on Chinese Windows)."""
    groups, totals = _rows(summary)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(_flat_header(summary))

    def fmt(c: Column, g: dict[str, Any]) -> str:
        return c.text(g, empty="")

    for g in groups:
        writer.writerow(_flat_row(summary, g, _group_name(summary, g), fmt))
    totals_row = _flat_row(summary, totals, t("summary.totals"), fmt)
    if summary.by == "micro-grid":
        totals_row[1] = ""
    writer.writerow(totals_row)
    return buf.getvalue().encode("utf-8-sig")


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_md(summary: Summary) -> str:
    """Markdown: a heading, the three short tables with totals, and the notes."""
    groups, totals = _rows(summary)
    out = [f"# {t('summary.title', street=summary.street)}", "", _period(summary), ""]
    for view_title, cols in views():
        out.append(f"## {view_title}")
        out.append("")
        head = [_level_label(summary.by), *[c.label for c in cols]]
        out.append("| " + " | ".join(_md_escape(h) for h in head) + " |")
        out.append("|" + "---|" + "---:|" * len(cols))
        for g in groups:
            cells = [_group_name(summary, g), *[c.text(g) for c in cols]]
            out.append("| " + " | ".join(_md_escape(x) for x in cells) + " |")
        cells = [f"**{t('summary.totals')}**", *[f"**{c.text(totals)}**" for c in cols]]
        out.append("| " + " | ".join(cells) + " |")
        out.append("")
    out += [f"- {_md_escape(line)}" for line in _notes(summary, totals)]
    return "\n".join(out) + "\n"


# -- the still-due and overdue lists ---------------------------------------------------


def still_due_columns() -> list[str]:
    return [
        t("summary.level.community"),
        t("summary.level.micro-grid"),
        t("summary.list.address"),
        t("summary.list.head"),
        t("summary.list.phone"),
        t("summary.list.tags"),
        t("summary.list.reason"),
        t("summary.list.last_visit"),
    ]


def still_due_rows(summary: Summary, reveal: bool) -> Iterable[list[Any]]:
    """The households still due, masked unless ``reveal``."""
    for r in summary.still_due_list or []:
        head, phone, tags = present_person(r["head"], r["phone"], r["tags"], reveal)
        yield [
            r["community"] or "",
            r["micro_grid"],
            r["address"],
            head,
            phone,
            tags,
            r["reason"],
            r["last_visit"] or "",
        ]


def overdue_columns() -> list[str]:
    return [
        t("summary.level.community"),
        t("summary.level.micro-grid"),
        t("summary.list.address"),
        t("summary.list.kind"),
        t("summary.list.category"),
        t("summary.list.description"),
        t("summary.list.status"),
        t("summary.list.owner"),
        t("summary.list.deadline"),
        t("summary.list.days_overdue"),
    ]


def overdue_rows(summary: Summary) -> Iterable[list[Any]]:
    for r in summary.overdue_list or []:
        yield [
            r["community"] or "",
            r["micro_grid"],
            r["address"],
            r["kind"],
            r["category"],
            r["description"],
            r["status"],
            r["owner"] or "",
            r["deadline"],
            r["days_overdue"],
        ]


# -- XLSX ----------------------------------------------------------------------------------

#: Column widths are measured on at most this many rows (enough to fit a
#: long sheet's typical values without measuring every cell).
WIDTH_SAMPLE = 2000
MAX_WIDTH = 60


def _widths(header: list[str], rows: list[list[Any]]) -> list[float]:
    """Excel widths (in character cells) that fit the text; CJK counts 2 cells."""
    widths = [cell_len(h) for h in header]
    for row in rows[:WIDTH_SAMPLE]:
        for i, v in enumerate(row):
            if v is not None:
                widths[i] = max(widths[i], cell_len(str(v)))
    return [min(MAX_WIDTH, w + 2) for w in widths]


def render_xlsx(summary: Summary, reveal: bool = False) -> bytes:
    """A workbook: a sheet per level, the households still due, the overdue items, notes."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    head_font = Font(bold=True, color="FFFFFF")
    head_fill = PatternFill("solid", fgColor="1F4E79")
    head_align = Alignment(horizontal="center", vertical="center", wrap_text=True)
    bold = Font(bold=True)

    def sheet(
        title: str, header: list[str], rows: list[list[Any]], kinds: list[str], total: bool
    ) -> None:
        """One sheet: styled, frozen header; fitted widths; the last row bold if a total."""
        ws = wb.create_sheet(title)
        shown = [[_show(v, k) for v, k in zip(r, kinds, strict=True)] for r in rows[:WIDTH_SAMPLE]]
        for i, width in enumerate(_widths(header, shown), 1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = "B2"
        ws.print_title_rows = "1:1"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = "9"  # A4
        if rows:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"
        cells = []
        for h in header:
            c = WriteOnlyCell(ws, value=h)
            c.font, c.fill, c.alignment = head_font, head_fill, head_align
            cells.append(c)
        ws.append(cells)
        styled = {i for i, k in enumerate(kinds) if k in ("pct", "days")}
        for n, row in enumerate(rows):
            last = total and n == len(rows) - 1
            if not styled and not last:
                ws.append(row)  # plain values are much quicker than cells
                continue
            out: list[Any] = []
            for i, v in enumerate(row):
                if i not in styled and not last:
                    out.append(v)
                    continue
                c = WriteOnlyCell(ws, value=v)
                if kinds[i] == "pct":
                    c.number_format = "0.0%"
                elif kinds[i] == "days":
                    c.number_format = "0.0"
                if last:
                    c.font = bold
                out.append(c)
            ws.append(out)

    cols = flat_columns()
    for by in LEVELS:
        s = summary.at(by)
        data = s.to_json()
        header = [_level_label(by)]
        kinds = ["text"]
        if by == "micro-grid":
            header.append(t("summary.level.community"))
            kinds.append("text")
        header += [c.label for c in cols]
        kinds += [c.kind for c in cols]
        rows = []
        for g in [*data["groups"], data["totals"]]:
            is_total = g is data["totals"]
            row: list[Any] = [t("summary.totals") if is_total else _group_name(s, g)]
            if by == "micro-grid":
                row.append("" if is_total else (g.get("community") or ""))
            row += [c.value(g) for c in cols]
            rows.append(row)
        sheet(_level_label(by), header, rows, kinds, total=True)

    due = list(still_due_rows(summary, reveal))
    sheet(t("summary.sheet.still_due"), still_due_columns(), due, ["text"] * 8, total=False)
    late = list(overdue_rows(summary))
    sheet(t("summary.sheet.overdue"), overdue_columns(), late, ["text"] * 10, total=False)

    notes = wb.create_sheet(t("summary.sheet.notes"))
    notes.column_dimensions["A"].width = 100
    for line in [
        t("summary.title", street=summary.street),
        _period(summary),
        t("summary.masked") if not reveal else t("summary.revealed"),
        *_notes(summary, summary.to_json()["totals"]),
    ]:
        notes.append([line])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _show(value: Any, kind: str) -> str:
    if kind == "pct":
        return pct(value, "")
    if kind == "days":
        return days(value, "")
    return "" if value is None else str(value)


# -- HTML ----------------------------------------------------------------------------------

_CSS = """
@page { size: A4 portrait; margin: 14mm 12mm 16mm 12mm; }
* { box-sizing: border-box; }
body { font-family: __FONTS__; font-size: 10pt; color: #111; margin: 0; line-height: 1.35; }
.page { page-break-after: always; break-after: page; padding: 0 0 6mm 0; }
.page:last-child { page-break-after: auto; break-after: auto; }
h1 { font-size: 16pt; margin: 0 0 2mm 0; }
h2 { font-size: 13pt; margin: 0 0 2mm 0; }
h3 { font-size: 11pt; margin: 4mm 0 1.5mm 0; }
.meta { color: #444; margin: 0 0 3mm 0; }
table { border-collapse: collapse; width: 100%; margin: 0 0 3mm 0; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; break-inside: avoid; }
th, td { border: 0.5pt solid #888; padding: 1mm 1.5mm; vertical-align: top; }
th { background: #1f4e79; color: #fff; font-weight: bold; text-align: center; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: bold; background: #eef3f8; }
.good { color: #1a7f37; } .fair { color: #9a6700; } .poor { color: #cf222e; }
.metrics td:first-child { width: 45%; }
.chart { display: block; margin: 1mm 0 3mm 0; }
.note { color: #444; font-size: 9pt; margin: 0.5mm 0; }
.empty { color: #666; font-style: italic; }
@media screen { body { max-width: 190mm; margin: 8mm auto; } .page { border-bottom: 1px dashed #bbb; margin-bottom: 8mm; } }
""".replace("__FONTS__", CJK_FONTS)


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _css_class(value: float | None) -> str:
    if value is None:
        return ""
    return "good" if value >= GOOD else "fair" if value >= FAIR else "poor"


def svg_bars(bars: list[tuple[str, float | None]], width: int = 640) -> str:
    """An inline SVG bar chart of shares (0–1), one labelled bar per row."""
    label_w, value_w, row_h = 170, 60, 18
    plot_w = width - label_w - value_w
    height = max(row_h, row_h * len(bars)) + 6
    colors = {"good": "#2da44e", "fair": "#d4a72c", "poor": "#cf222e", "": "#bbbbbb"}
    out = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{_e(t("summary.chart"))}">'
    ]
    for i, (label, share) in enumerate(bars):
        y = 3 + i * row_h
        w = 0 if share is None else max(0.0, min(1.0, share)) * plot_w
        out.append(
            f'<text x="{label_w - 6}" y="{y + 13}" font-size="11" text-anchor="end">'
            f"{_e(label)}</text>"
            f'<rect x="{label_w}" y="{y + 2}" width="{plot_w}" height="{row_h - 5}" '
            f'fill="#eeeeee"/>'
            f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row_h - 5}" '
            f'fill="{colors[_css_class(share)]}"/>'
            f'<text x="{label_w + plot_w + 6}" y="{y + 13}" font-size="11">{_e(pct(share))}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _html_table(header: list[str], rows: Iterable[list[Any]], num: set[int]) -> str:
    out = ["<table><thead><tr>", *[f"<th>{_e(h)}</th>" for h in header], "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>")
        for i, v in enumerate(row):
            out.append(f'<td class="num">{_e(v)}</td>' if i in num else f"<td>{_e(v)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def render_html(summary: Summary, reveal: bool = False) -> str:
    """A print-ready HTML report: an overview page, then one A4 page per 微网格.

    No JavaScript and no external resources: it opens in any browser and
    prints as it is shown.
    """
    groups, totals = _rows(summary)
    title = t("summary.title", street=summary.street)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)} {_e(_period(summary))}</title>",
        f"<style>{_CSS}</style></head><body>",
    ]
    # Overview: the chosen level, its coverage chart, the totals.
    parts.append('<section class="page overview">')
    parts.append(f"<h1>{_e(title)}</h1>")
    privacy = t("summary.masked") if not reveal else t("summary.revealed")
    parts.append(f'<p class="meta">{_e(_period(summary))} · {_e(privacy)}</p>')
    parts.append(f"<h3>{_e(t('summary.chart_by', level=_level_label(summary.by)))}</h3>")
    parts.append(svg_bars([(_group_name(summary, g), g["coverage"]) for g in groups]))
    for view_title, cols in views():
        parts.append(f"<h3>{_e(view_title)}</h3>")
        parts.append(_overview_table(summary, cols, groups, totals))
    parts += [f'<p class="note">{_e(line)}</p>' for line in _notes(summary, totals)]
    parts.append("</section>")

    # One page per 微网格, with its lists.
    grid_summary = summary.at("micro-grid") if summary.by != "micro-grid" else summary
    due_by_grid: dict[tuple[Any, Any], list[list[Any]]] = {}
    for row in still_due_rows(summary, reveal):
        due_by_grid.setdefault((row[0], row[1]), []).append(row[2:])
    late_by_grid: dict[tuple[Any, Any], list[list[Any]]] = {}
    for row in overdue_rows(summary):
        late_by_grid.setdefault((row[0], row[1]), []).append(row[2:])
    for g in grid_summary.to_json()["groups"]:
        key = (g.get("community") or "", g["micro_grid"])
        parts.append(_grid_page(g, due_by_grid.get(key, []), late_by_grid.get(key, [])))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _overview_table(
    summary: Summary, cols: list[Column], groups: list[dict[str, Any]], totals: dict[str, Any]
) -> str:
    out = ["<table><thead><tr>", f"<th>{_e(_level_label(summary.by))}</th>"]
    out += [f"<th>{_e(c.label)}</th>" for c in cols]
    out.append("</tr></thead><tbody>")
    for g, total in [*((g, False) for g in groups), (totals, True)]:
        name = t("summary.totals") if total else _group_name(summary, g)
        out.append('<tr class="total">' if total else "<tr>")
        out.append(f"<td>{_e(name)}</td>")
        for c in cols:
            cls = "num"
            if c.path[-1] in ("coverage", "key_coverage"):
                cls += " " + _css_class(c.value(g))
            out.append(f'<td class="{cls.strip()}">{_e(c.text(g))}</td>')
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _grid_page(g: dict[str, Any], due: list[list[Any]], late: list[list[Any]]) -> str:
    community = g.get("community") or t("summary.no_community")
    out = ['<section class="page grid">', f"<h2>{_e(g['micro_grid'])}</h2>"]
    out.append(f'<p class="meta">{_e(community)}</p>')
    metrics = [
        (t("summary.col.households"), g["households"]),
        (t("summary.col.visited"), g["visited_households"]),
        (t("summary.col.coverage"), pct(g["coverage"])),
        (t("summary.col.still_due"), g["still_due"]),
        (t("summary.col.visits"), g["visits"]),
        (t("summary.col.visitors"), g["active_visitors"]),
        (t("summary.col.key_coverage"), pct(g["key_coverage"])),
        (t("summary.col.items"), g["items_total"]),
        (t("summary.col.open"), g["open_items"]),
        (t("summary.col.overdue"), g["overdue_items"]),
        (t("summary.col.on_spot_rate"), pct(g["on_spot_rate"])),
        (t("summary.col.closure_rate"), pct(g["closure_rate"])),
        (t("summary.col.on_time_rate"), pct(g["on_time_rate"])),
        (t("summary.col.feedback_rate"), pct(g["feedback_rate"])),
        (t("summary.col.satisfaction_rate"), pct(g["satisfaction_rate"])),
        (t("summary.col.avg_days"), days(g["avg_days_to_close"])),
    ]
    half = (len(metrics) + 1) // 2
    paired = [
        [*metrics[i], *(metrics[i + half] if i + half < len(metrics) else ("", ""))]
        for i in range(half)
    ]
    out.append('<table class="metrics"><tbody>')
    for a, av, b, bv in paired:
        out.append(
            f'<tr><td>{_e(a)}</td><td class="num">{_e(av)}</td>'
            f'<td>{_e(b)}</td><td class="num">{_e(bv)}</td></tr>'
        )
    out.append("</tbody></table>")
    bars = [(t("summary.col.coverage"), g["coverage"])]
    bars += [
        (f"{tag}（{v['visited']}/{v['households']}）", v["coverage"])
        for tag, v in g["key_groups"].items()
        if v["households"]
    ]
    out.append(f"<h3>{_e(t('summary.chart'))}</h3>")
    out.append(svg_bars(bars))
    items = "，".join(f"{k} {n}" for k, n in g["items"].items())
    out.append(f'<p class="note">{_e(t("summary.note.kinds"))}：{_e(items)}</p>')
    out.append(f"<h3>{_e(t('summary.sheet.still_due'))}（{len(due)}）</h3>")
    if due:
        out.append(_html_table(still_due_columns()[2:], due, num=set()))
    else:
        out.append(f'<p class="empty">{_e(t("summary.none"))}</p>')
    out.append(f"<h3>{_e(t('summary.sheet.overdue'))}（{len(late)}）</h3>")
    if late:
        out.append(_html_table(overdue_columns()[2:], late, num={7}))
    else:
        out.append(f'<p class="empty">{_e(t("summary.none"))}</p>')
    out.append("</section>")
    return "".join(out)


# -- output ----------------------------------------------------------------------------------


def render(summary: Summary, fmt: str, reveal: bool = False) -> str | bytes:
    """The summary in a format of :data:`FORMATS` (table as plain text)."""
    if fmt == "json":
        return render_json(summary)
    if fmt == "csv":
        return render_csv(summary)
    if fmt == "md":
        return render_md(summary)
    if fmt == "xlsx":
        return render_xlsx(summary, reveal)
    if fmt == "html":
        return render_html(summary, reveal)
    return table_text(summary)


def write_private(path: Path, data: str | bytes) -> Path:
    """Write a file readable by its owner only (0600), whole or not at all.

    The data goes to a temporary file in the same folder first and is then
    renamed over the target, so a full disk never leaves half a report.

    Raises:
        VisitlogError: the folder does not exist, is not writable, or the
            path is a folder.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise VisitlogError(t("summary.err.is_dir", path=path))
    return files.write_private(path, data)


__all__ = [
    "FILE_FORMATS",
    "FORMATS",
    "LEVEL_KEYS",
    "render",
    "render_csv",
    "render_html",
    "render_json",
    "render_md",
    "render_table",
    "render_xlsx",
    "svg_bars",
    "write_private",
]
