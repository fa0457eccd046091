"""``visitlog summary``: the grid summary on the terminal or in a file."""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from visitlog.cli.common import console, err_console, progress_bar
from visitlog.cli.options import RevealOpt
from visitlog.i18n import t
from visitlog.model import ValidationError
from visitlog.store import Store
from visitlog.visible import visible

#: Formats guessed from the file name given with -o when --format is not.
_SUFFIX_FORMATS = {
    ".json": "json",
    ".csv": "csv",
    ".md": "md",
    ".markdown": "md",
    ".xlsx": "xlsx",
    ".html": "html",
    ".htm": "html",
    ".txt": "table",
}


def _on_terminal() -> bool:
    """Whether stdout is a terminal (a CSV printed there is read, not saved)."""
    return sys.stdout.isatty()


def register(app: typer.Typer) -> None:
    app.command("summary", help="help.summary.summary")(summary)


def _format(fmt: str | None, output: Path | None) -> str:
    from visitlog.render import FORMATS

    if fmt is None:
        return _SUFFIX_FORMATS.get(output.suffix.lower(), "table") if output else "table"
    value = fmt.strip().lower()
    if value == "markdown":
        value = "md"
    if value not in FORMATS:
        raise ValidationError(t("summary.err.format", value=fmt, accepted="|".join(FORMATS)))
    return value


def summary(
    ctx: typer.Context,
    by: Annotated[
        str,
        typer.Option("--by", help="help.summary.summary.by"),
    ] = "micro-grid",
    date_from: Annotated[
        str | None,
        typer.Option("--from", help="help.summary.summary.date_from"),
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="help.summary.summary.date_to")
    ] = None,
    grid: Annotated[
        str | None, typer.Option("--grid", "-g", help="help.summary.summary.grid")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="help.summary.summary.fmt",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="help.summary.summary.output",
            dir_okay=False,
        ),
    ] = None,
    reveal: RevealOpt = False,
    json_out: Annotated[bool, typer.Option("--json", help="help.summary.summary.json_out")] = False,
    hub: Annotated[str | None, typer.Option("--hub", help="help.summary.summary.hub")] = None,
) -> None:
    """The grid summary."""
    from visitlog.render import FILE_FORMATS
    from visitlog.summary import parse_level, resolve_period

    chosen = "json" if json_out else _format(fmt, output)
    level = parse_level(by)
    resolve_period(date_from, date_to)  # a bad date fails before anything is read
    if chosen in FILE_FORMATS and output is None:
        raise ValidationError(t("summary.err.needs_output", format=chosen))
    if hub is not None:
        with hub_copy(hub, details=chosen in FILE_FORMATS) as copy:
            _summary(copy, level, date_from, date_to, grid, chosen, output, reveal, kept=False)
        return
    _summary(ctx.find_root().obj.store(), level, date_from, date_to, grid, chosen, output, reveal)


@contextlib.contextmanager
def hub_copy(url: str, details: bool = False) -> Iterator[Store]:
    """What the hub holds (as its account may see it), copied into a
    temporary SQLite file that the summary reads like a laptop's: of its
    households, visits and items only the columns a summary reads (with
    its lists of households and items: *details*)."""
    from visitlog.summary import copy_plan
    from visitlog.sync import copy_replica

    only, leave_out = copy_plan(details)

    with tempfile.TemporaryDirectory(prefix="visitlog-hub-") as folder:
        path = Path(folder) / "hub.db"
        with progress_bar(_describe_copy, show_from=_SHOW_FROM) as progress:
            copy_replica(
                url,
                path,
                only=only,
                leave_out=leave_out,
                progress=progress,
            )
        store = Store(path)
        try:
            yield store
        finally:
            store.close()


#: A hub's rows are shown being read once a table has this many (a station
#: of one 居民区 is read before a bar is worth drawing).
_SHOW_FROM = 20_000


def _describe_copy(phase: str, done: int, total: int | None) -> str | None:
    """The progress line of ``summary --hub`` reading the hub (what a
    district's summary spends most of its minute or two on)."""
    if phase in ("households", "visits", "items", "indexes"):
        return t(f"summary.hub.{phase}")
    return None


def _summary(
    store: Store,
    level: str,
    date_from: str | None,
    date_to: str | None,
    grid: str | None,
    chosen: str,
    output: Path | None,
    reveal: bool,
    kept: bool = True,
) -> None:
    from visitlog.render import FILE_FORMATS, render, render_table, write_private
    from visitlog.summary import compute_summary

    worker = store.worker
    if reveal and not worker:
        raise ValidationError(t("summary.err.reveal_worker"))
    result = compute_summary(
        store,
        by=level,
        date_from=date_from,
        date_to=date_to,
        grid=grid,
        details=chosen in FILE_FORMATS,
        # A copy made only to be summed up once keeps no totals worth counting.
        kept=kept,
    )
    if reveal:
        from visitlog.security import record_reveal

        # Recorded before anything is shown: a reveal is never unaccounted for.
        record_reveal(
            store,
            "summary",
            households=len(result.still_due_list or []),
            to=str(output.resolve()) if output else "terminal" if chosen == "table" else "stdout",
            by=level,
            period=f"{result.date_from.isoformat()}..{result.date_to.isoformat()}",
            grid=result.grid,
            format=chosen,
            output=str(output) if output else None,
        )
        err_console.print(t("summary.reveal_logged", worker=worker))
    if output is not None:
        path = write_private(output, render(result, chosen, reveal))
        console.print(t("summary.written", path=path.resolve()), highlight=False)
    elif chosen == "table":
        console.print(render_table(result))  # on the terminal: coloured, as wide as it is
    else:
        data = render(result, chosen, reveal)
        if isinstance(data, bytes) and _on_terminal():
            # On a terminal the CSV is read, not saved: its text shown, never acted on.
            text = data.decode("utf-8-sig")
            data = visible(text.replace("\r\n", "\n"))
        if isinstance(data, bytes):
            # CSV keeps its BOM on stdout too: `> week.csv` must open in Excel.
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(data)
    sys.stdout.flush()
