"""``visitlog roster import|export``: household rosters in and out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from visitlog.cli.common import console, emit_json, err_console, progress_bar
from visitlog.cli.options import GridOpt, JsonOpt
from visitlog.i18n import t
from visitlog.roster import export_roster, import_roster

roster_app = typer.Typer(help="help.roster.roster_app", no_args_is_help=True)

#: Files with fewer rows finish before a bar would be worth drawing.
BAR_FROM_ROWS = 2000


def register(app: typer.Typer) -> None:
    app.add_typer(roster_app, name="roster")


def _describe(phase: str, done: int, total: int | None) -> str:
    # Reading is over once every row is read; the one transaction follows.
    if total is not None and done >= total:
        return t("roster.progress_write")
    return t("roster.progress")


@roster_app.command("import", help="help.roster.roster_import")
def roster_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="help.roster.roster_import.file")],
    sheet: Annotated[
        str | None,
        typer.Option("--sheet", help="help.roster.roster_import.sheet"),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="help.roster.roster_import.dry_run"),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """\u5bfc\u5165\u4f4f\u6237\u540d\u518c\uff1a\u6309\u7f16\u53f7\u65b0\u589e\u6216\u66f4\u65b0\uff0c\u574f\u884c\u5199\u5165 FILE.rejects.csv (import a roster; upsert by \u7f16\u53f7)."""
    store = ctx.find_root().obj.store()
    with progress_bar(_describe, show_from=BAR_FROM_ROWS) as progress:
        report = import_roster(store, file, sheet=sheet, dry_run=dry_run, progress=progress)
    if json_out:
        emit_json(report.as_dict())
    else:
        for line in report.lines():
            console.print(line, markup=False, soft_wrap=True)
    if not report.ok:
        raise typer.Exit(1)


@roster_app.command("export", help="help.roster.roster_export")
def roster_export(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="help.roster.roster_export.file")],
    grid: GridOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Export households in the roster headers."""
    store = ctx.find_root().obj.store()
    count = export_roster(store, file, grid=grid)
    if json_out:
        emit_json({"path": str(file), "households": count})
        return
    console.print(t("roster.exported", count=count, path=file), markup=False, soft_wrap=True)
    err_console.print(t("roster.export_privacy"), markup=False)
