"""The grid summary as a terminal table, JSON, CSV, Markdown, XLSX or print-ready HTML.

One module per format; every renderer takes a :class:`~visitlog.summary.Summary`
and returns text or bytes, and nothing here queries the database.  Personal
data (names, phones, key-group tags) only appears in the still-due list of
the XLSX and HTML outputs, and there it is masked through
:mod:`visitlog.privacy` unless ``reveal`` is given (the command that reveals
writes an audit entry).
"""

from __future__ import annotations

from pathlib import Path

from visitlog import files
from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.render.html import render_html, svg_bars
from visitlog.render.table import render_table, table_text
from visitlog.render.text import render_csv, render_json, render_md
from visitlog.render.xlsx import render_xlsx
from visitlog.summary import LEVEL_KEYS, Summary

FORMATS = ("table", "json", "csv", "md", "xlsx", "html")
#: Formats that are files, never printed on the terminal.
FILE_FORMATS = ("xlsx", "html")


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
