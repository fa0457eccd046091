"""The grid summary as a terminal table, JSON, CSV, Markdown, XLSX or print-ready HTML.

One module per format, and :data:`WRITERS` naming each: every writer takes a
:class:`~visitlog.summary.Summary` and ``reveal`` and returns text or bytes,
and nothing here queries the database.  What the formats share (the one
:func:`~visitlog.render.common.pct`, the columns of the metric registry,
names, notes, the lists) is in :mod:`visitlog.render.common`.  Personal
data (names, phones, key-group tags) only appears in the still-due list of
the XLSX and HTML outputs, and there it is masked through
:mod:`visitlog.privacy` unless ``reveal`` is given (the command that reveals
writes an audit entry).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.render.common import pct
from visitlog.render.csv import render_csv
from visitlog.render.html import render_html, svg_bars
from visitlog.render.json import render_json
from visitlog.render.md import render_md
from visitlog.render.table import render_table, table_text, write_table
from visitlog.render.xlsx import render_xlsx
from visitlog.store import files
from visitlog.summary import LEVEL_KEYS, Summary

#: A format's writer: the summary and whether to reveal personal data → text or bytes.
Writer = Callable[[Summary, bool], str | bytes]

#: Every format, by the name ``--format`` takes.
WRITERS: dict[str, Writer] = {
    "table": write_table,
    "json": render_json,
    "csv": render_csv,
    "md": render_md,
    "xlsx": render_xlsx,
    "html": render_html,
}
FORMATS = tuple(WRITERS)
#: Formats that are files, never printed on the terminal.
FILE_FORMATS = ("xlsx", "html")


def render(summary: Summary, fmt: str, reveal: bool = False) -> str | bytes:
    """The summary in a format of :data:`FORMATS` (table as plain text)."""
    return WRITERS.get(fmt, write_table)(summary, reveal)


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
    "WRITERS",
    "Writer",
    "pct",
    "render",
    "render_csv",
    "render_html",
    "render_json",
    "render_md",
    "render_table",
    "render_xlsx",
    "svg_bars",
    "table_text",
    "write_private",
]
