"""The summary as a print-ready HTML report: an overview, then one A4 page per 微网格."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from visitlog.i18n import t
from visitlog.render.common import (
    FAIR,
    GOOD,
    Column,
    days,
    group_name,
    group_rows,
    level_label,
    note_lines,
    overdue_columns,
    overdue_rows,
    pct,
    period_text,
    still_due_columns,
    still_due_rows,
    views,
)
from visitlog.summary import Summary

#: The CJK font stack of the printed page (Windows, macOS, Linux, then serif).
CJK_FONTS = (
    '"Microsoft YaHei", "微软雅黑", "PingFang SC", "Hiragino Sans GB", '
    '"Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", '
    '"SimHei", "SimSun", sans-serif'
)


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
    groups, totals = group_rows(summary)
    title = t("summary.title", street=summary.street)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)} {_e(period_text(summary))}</title>",
        f"<style>{_CSS}</style></head><body>",
    ]
    # Overview: the chosen level, its coverage chart, the totals.
    parts.append('<section class="page overview">')
    parts.append(f"<h1>{_e(title)}</h1>")
    privacy = t("summary.masked") if not reveal else t("summary.revealed")
    parts.append(f'<p class="meta">{_e(period_text(summary))} · {_e(privacy)}</p>')
    parts.append(f"<h3>{_e(t('summary.chart_by', level=level_label(summary.by)))}</h3>")
    parts.append(svg_bars([(group_name(summary, g), g["coverage"]) for g in groups]))
    for view_title, cols in views():
        parts.append(f"<h3>{_e(view_title)}</h3>")
        parts.append(_overview_table(summary, cols, groups, totals))
    parts += [f'<p class="note">{_e(line)}</p>' for line in note_lines(summary, totals)]
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
    out = ["<table><thead><tr>", f"<th>{_e(level_label(summary.by))}</th>"]
    out += [f"<th>{_e(c.label)}</th>" for c in cols]
    out.append("</tr></thead><tbody>")
    for g, total in [*((g, False) for g in groups), (totals, True)]:
        name = t("summary.totals") if total else group_name(summary, g)
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
