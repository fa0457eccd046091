"""The summary as a print-ready HTML report: an overview, then one A4 page per 微网格."""

from __future__ import annotations

import html
import re
from typing import Any

from rich.cells import cell_len

from visitlog.i18n import t
from visitlog.render.common import (
    FAIR,
    GOOD,
    Column,
    group_name,
    group_rows,
    level_label,
    note_line,
    note_lines,
    overdue_columns,
    overdue_rows,
    pct,
    period_text,
    still_due_columns,
    still_due_rows,
    text,
    views,
)
from visitlog.summary import GRID_PAGE, Summary, columns

#: The CJK font stack of the printed page: Windows (Microsoft YaHei, SimHei,
#: SimSun), macOS (PingFang SC, Hiragino Sans GB, STHeiti), Linux (Noto Sans
#: CJK SC, Source Han Sans, WenQuanYi Micro Hei, Noto Serif CJK SC), so that
#: no system falls back to a font without Chinese (printed as empty boxes).
CJK_FONTS = (
    '"Microsoft YaHei", "微软雅黑", "PingFang SC", "Hiragino Sans GB", "STHeiti", '
    '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", '
    '"WenQuanYi Micro Hei", "SimHei", "黑体", "Noto Serif CJK SC", "Source Han Serif SC", '
    '"SimSun", "宋体", sans-serif'
)

# Print rules, in short:
# * every page has a running header (report, or the grid on a grid's pages,
#   through a named @page per grid) and "第 N 页 共 M 页" at the foot;
# * a table's heading is the first row of its <thead>, so it is never left at
#   the foot of a page without its table and is repeated (for a grid's lists
#   with the grid's name) on every page the table continues on; a table of
#   the overview moves whole to the next page rather than split;
# * short columns (dates, status, category, names, numbers) never wrap inside
#   a word and take only the width they need; the long text column takes the
#   rest.
_CSS = """
@page {
  size: A4 portrait; margin: 16mm 12mm 16mm 12mm;
  @top-left { content: __TITLE__; font-size: 8.5pt; color: #555; }
  @top-right { content: __PERIOD__; font-size: 8.5pt; color: #555; }
  @bottom-center { content: __FOOTER__; font-size: 8.5pt; color: #555; }
}
__GRID_PAGES__
* { box-sizing: border-box; }
html { font-family: __FONTS__; }
body { font-size: 10pt; color: #111; margin: 0; line-height: 1.35;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.page { break-after: page; page-break-after: always; padding: 0 0 6mm 0; }
.page:last-child { break-after: auto; page-break-after: auto; }
h1 { font-size: 16pt; margin: 0 0 2mm 0; }
h2 { font-size: 13pt; margin: 0 0 2mm 0; }
h3 { font-size: 11pt; margin: 4mm 0 1.5mm 0; }
h1, h2, h3, .meta { break-after: avoid; page-break-after: avoid; }
.meta { color: #444; margin: 0 0 3mm 0; }
table { border-collapse: collapse; width: 100%; margin: 0 0 3mm 0; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
th, td { border: 0.5pt solid #888; padding: 1mm 1.5mm; vertical-align: top; }
th { background: #dde8f3; font-weight: bold; text-align: center; }
tr.cap th { background: none; border: none; text-align: left; font-size: 11pt;
  padding: 4mm 0 1.5mm 0; }
tr.cap .grid { float: right; font-size: 9pt; font-weight: normal; color: #444; padding-top: 1.5mm; }
table.list { table-layout: fixed; font-size: 9pt; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.num, .nowrap { white-space: nowrap; }
.words { word-break: keep-all; overflow-wrap: anywhere; }
td.long, td.addr { overflow-wrap: anywhere; }
tr.total td { font-weight: bold; background: #eef3f8; }
.overview th, .overview td { padding: 0.6mm 1.5mm; }
.overview h3 { margin-top: 3mm; }
.overview tr.cap th { padding: 3mm 0 1.5mm 0; }
table.figures { break-inside: avoid; page-break-inside: avoid; }
.good { color: #1a7f37; } .fair { color: #9a6700; } .poor { color: #cf222e; }
.metrics { break-inside: avoid; }
.metrics td:nth-child(odd) { white-space: nowrap; }
.metrics td:first-child { width: 35%; }
.chart { display: block; margin: 1mm 0 3mm 0; break-inside: avoid; }
.note { color: #444; font-size: 9pt; margin: 0.5mm 0; }
.empty { color: #666; font-style: italic; }
@media screen { body { max-width: 190mm; margin: 8mm auto; } .page { border-bottom: 1px dashed #bbb; margin-bottom: 8mm; } }
"""


def css_string(text: str) -> str:
    """*text* as a CSS string literal: ASCII punctuation and control characters escaped.

    Names from the data go into the style sheet (the running header of a
    grid's pages); escaping everything but letters, digits and spaces keeps
    them from ending the string, the rule or the ``<style>`` element.
    """
    out = []
    for ch in text:
        if ch == " " or (ch.isalnum() and ch.isascii()) or (not ch.isascii() and ch.isprintable()):
            out.append(ch)
        else:
            out.append(f"\\{ord(ch):x} ")
    return '"' + "".join(out) + '"'


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


#: How each column of a list is laid out.  "nowrap" (dates, codes, status,
#: category) and "num" never break; "words" (names, revealed key groups) break
#: only between words (CJK text only at punctuation such as 、); "addr" wraps
#: within a bounded width; "long" (the address of the still-due list, the
#: description of an overdue item) takes all the width left over.
DUE_LAYOUT = ["long", "words", "nowrap", "num", "nowrap", "nowrap"]
DUE_LAYOUT_REVEALED = ["long", "words", "nowrap", "words", "nowrap", "nowrap"]
OVERDUE_LAYOUT = ["addr", "nowrap", "nowrap", "long", "nowrap", "words", "nowrap", "num"]
#: Widest a "words" / "addr" column may be, in em of the list's font.  An
#: address of a 小区, a 号 or 楼, a room and 室 (曹杨一村110号楼102室, about
#: 10.5 em) stays on one line; the overdue list's description keeps 15 em and more.
MAX_WORDS_EM, MAX_ADDR_EM = 6.0, 12.0
#: Cell padding and border, in em of the list's font (1.5 mm a side at 9 pt).
PAD_EM = 1.2
#: Where "words" columns may break (punctuation and spaces).
_WORD_BREAK = re.compile(r"(?<=[、，,；;/（(）)\s])")


def text_em(text: str) -> float:
    """The printed width of *text* in em: 1 per CJK character, a little over ½ per other."""
    wide = cell_len(text) - len(text)  # CJK characters are two cells, others one
    return wide + (len(text) - wide) * 0.58


def column_widths(
    header: list[str], rows: list[list[Any]], layout: list[str]
) -> list[float | None]:
    """Each list column's width in em (None for the "long" one, which takes the rest).

    A column is never narrower than what may not break in it: a whole date,
    number or status; the longest word of a name.  Headers of short columns
    do not wrap either (bold text is a little wider).
    """
    widths: list[float | None] = []
    for i, kind in enumerate(layout):
        if kind == "long":
            widths.append(None)
            continue
        texts = ["" if r[i] is None else str(r[i]) for r in rows]
        head = text_em(header[i]) * 1.08
        if kind == "words":
            word = max((text_em(w) for x in texts for w in _WORD_BREAK.split(x)), default=0.0)
            whole = max((text_em(x) for x in texts), default=0.0)
            width = max(head, word, min(whole, MAX_WORDS_EM))
        elif kind == "addr":
            width = min(max((text_em(x) for x in texts), default=0.0), MAX_ADDR_EM)
            width = max(width, head)
        else:
            width = max(head, *(text_em(x) for x in texts))
        widths.append(round(width + PAD_EM, 2))
    return widths


def _list_table(
    caption: str, grid: str, header: list[str], rows: list[list[Any]], layout: list[str]
) -> str:
    """A list with its caption and the grid's name in the repeated <thead>."""
    cols = "".join(
        "<col>" if w is None else f'<col style="width: {w}em">'
        for w in column_widths(header, rows, layout)
    )
    out = [f'<table class="list"><colgroup>{cols}</colgroup>']
    out.append(
        f'<thead><tr class="cap"><th colspan="{len(header)}">{_e(caption)}'
        f'<span class="grid">{_e(grid)}</span></th></tr><tr>'
    )
    out += [f'<th class="{_th_class(c)}">{_e(h)}</th>' for h, c in zip(header, layout, strict=True)]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>")
        out += [f'<td class="{c}">{_e(v)}</td>' for v, c in zip(row, layout, strict=True)]
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _th_class(layout: str) -> str:
    # A short column's header does not wrap either: "超期天数" one character a
    # line would make the header row as tall as the column is narrow.
    return "" if layout in ("long", "addr") else "nowrap"


def render_html(summary: Summary, reveal: bool = False) -> str:
    """A print-ready HTML report: an overview page, then one A4 page per 微网格.

    No JavaScript and no external resources: it opens in any browser and
    prints as it is shown.
    """
    groups, totals = group_rows(summary)
    title = t("summary.title", street=summary.street)
    grid_summary = summary.at("micro-grid") if summary.by != "micro-grid" else summary
    grids = grid_summary.to_json()["groups"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)} {_e(period_text(summary))}</title>",
        f"<style>{_style(summary, grids)}</style></head><body>",
    ]
    # Overview: the chosen level, its coverage chart, the totals.
    parts.append('<section class="page overview">')
    parts.append(f"<h1>{_e(title)}</h1>")
    privacy = t("summary.masked") if not reveal else t("summary.revealed")
    parts.append(f'<p class="meta">{_e(period_text(summary))} · {_e(privacy)}</p>')
    parts.append(f"<h3>{_e(t('summary.chart_by', level=level_label(summary.by)))}</h3>")
    parts.append(svg_bars([(group_name(summary, g), g["coverage"]) for g in groups]))
    for view_title, cols in views():
        parts.append(_overview_table(summary, view_title, cols, groups, totals))
    parts += [f'<p class="note">{_e(line)}</p>' for line in note_lines(summary, totals)]
    parts.append("</section>")

    # One page per 微网格, with its lists.
    due_by_grid: dict[tuple[Any, Any], list[list[Any]]] = {}
    for row in still_due_rows(summary, reveal):
        due_by_grid.setdefault((row[0], row[1]), []).append(row[2:])
    late_by_grid: dict[tuple[Any, Any], list[list[Any]]] = {}
    for row in overdue_rows(summary):
        late_by_grid.setdefault((row[0], row[1]), []).append(row[2:])
    for n, g in enumerate(grids, start=1):
        key = (g.get("community") or "", g["micro_grid"])
        parts.append(_grid_page(n, g, due_by_grid.get(key, []), late_by_grid.get(key, [])))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _grid_label(g: dict[str, Any]) -> str:
    """A grid as its pages name it: 微网格 · 居民区."""
    return f"{g['micro_grid']} · {g.get('community') or t('summary.no_community')}"


def _style(summary: Summary, grids: list[dict[str, Any]]) -> str:
    """The style sheet, with the running headers of the report and of each grid's pages."""
    pages = "\n".join(
        f"@page g{n} {{ @top-left {{ content: {css_string(_grid_label(g))}; }} }}"
        for n, g in enumerate(grids, start=1)
    )
    footer = " ".join(
        {"{page}": "counter(page)", "{pages}": "counter(pages)"}.get(part) or css_string(part)
        for part in re.split(r"(\{pages?\})", t("summary.print_footer"))
        if part
    )
    return (
        _CSS.replace("__FONTS__", CJK_FONTS)
        .replace("__TITLE__", css_string(t("summary.title", street=summary.street)))
        .replace("__PERIOD__", css_string(period_text(summary)))
        .replace("__FOOTER__", footer)
        .replace("__GRID_PAGES__", pages)
    )


def _overview_table(
    summary: Summary,
    title: str,
    cols: list[Column],
    groups: list[dict[str, Any]],
    totals: dict[str, Any],
) -> str:
    """A table of the overview, its title the first row of its head (repeated on a new page)."""
    out = [
        f'<table class="figures"><thead><tr class="cap"><th colspan="{len(cols) + 1}">'
        f"{_e(title)}</th></tr><tr>",
        f'<th class="nowrap">{_e(level_label(summary.by))}</th>',
    ]
    out += [f'<th class="nowrap">{_e(c.label)}</th>' for c in cols]
    out.append("</tr></thead><tbody>")
    for g, total in [*((g, False) for g in groups), (totals, True)]:
        name = t("summary.totals") if total else group_name(summary, g)
        out.append('<tr class="total">' if total else "<tr>")
        out.append(f'<td class="nowrap">{_e(name)}</td>')
        for c in cols:
            cls = "num"
            if c.graded:
                cls += " " + _css_class(c.value(g))
            out.append(f'<td class="{cls.strip()}">{_e(text(c, g))}</td>')
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _grid_page(n: int, g: dict[str, Any], due: list[list[Any]], late: list[list[Any]]) -> str:
    """A 微网格's pages: figures, coverage chart, then its lists (named page ``g<n>``)."""
    community = g.get("community") or t("summary.no_community")
    out = [f'<section class="page grid" style="page: g{n}">', f"<h2>{_e(g['micro_grid'])}</h2>"]
    out.append(f'<p class="meta">{_e(community)}</p>')
    metrics = [(c.label, text(c, g)) for c in columns(GRID_PAGE)]
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
        (t("summary.counted", label=tag, count=f"{v['visited']}/{v['households']}"), v["coverage"])
        for tag, v in g["key_groups"].items()
        if v["households"]
    ]
    out.append(f"<h3>{_e(t('summary.chart'))}</h3>")
    out.append(svg_bars(bars))
    items = t("summary.note.list_sep").join(f"{k} {n}" for k, n in g["items"].items())
    out.append(f'<p class="note">{_e(note_line(t("summary.note.kinds"), items))}</p>')
    label = _grid_label(g)
    lists = [
        (t("summary.sheet.still_due"), still_due_columns()[2:], due, _due_layout(due)),
        (t("summary.sheet.overdue"), overdue_columns()[2:], late, OVERDUE_LAYOUT),
    ]
    for name, header, rows, layout in lists:
        caption = t("summary.counted", label=name, count=len(rows))
        if rows:
            out.append(_list_table(caption, label, header, rows, layout))
        else:
            out.append(f"<h3>{_e(caption)}</h3>")
            out.append(f'<p class="empty">{_e(t("summary.none"))}</p>')
    out.append("</section>")
    return "".join(out)


def _due_layout(rows: list[list[Any]]) -> list[str]:
    """Masked lists count key groups (a number); revealed ones name them (words)."""
    revealed = any(isinstance(r[3], str) for r in rows)
    return DUE_LAYOUT_REVEALED if revealed else DUE_LAYOUT
