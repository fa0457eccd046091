"""``visitlog roster import|export``: household rosters in and out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from visitlog.cli.common import console, emit_json, err_console, progress_bar
from visitlog.cli.options import GridOpt, JsonOpt
from visitlog.i18n import t
from visitlog.roster import export_roster, import_roster

roster_app = typer.Typer(
    help="住户名册：导入、导出 CSV/XLSX (household rosters in and out).", no_args_is_help=True
)

#: Files with fewer rows finish before a bar would be worth drawing.
BAR_FROM_ROWS = 2000


def register(app: typer.Typer) -> None:
    app.add_typer(roster_app, name="roster")


def _describe(phase: str, done: int, total: int | None) -> str:
    # Reading is over once every row is read; the one transaction follows.
    if total is not None and done >= total:
        return t("roster.progress_write")
    return t("roster.progress")


@roster_app.command("import")
def roster_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="名册文件 .csv 或 .xlsx (roster file).")],
    sheet: Annotated[
        str | None,
        typer.Option("--sheet", help="工作表名称 (XLSX sheet); 默认第一个有表头的工作表."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="只检查并报告，不改数据库 (check and report, change nothing)."
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """导入住户名册：按编号新增或更新，坏行写入 FILE.rejects.csv (import a roster; upsert by 编号)."""
    store = ctx.find_root().obj.store()
    with progress_bar(_describe, show_from=BAR_FROM_ROWS) as progress:
        # The roster engine still reports (rows_done, rows_total).
        rows = (lambda done, total: progress("rows", done, total)) if progress else None
        report = import_roster(store, file, sheet=sheet, dry_run=dry_run, progress=rows)
    if json_out:
        emit_json(report.as_dict())
    else:
        for line in report.lines():
            console.print(line, markup=False, soft_wrap=True)
    if not report.ok:
        raise typer.Exit(1)


@roster_app.command("export")
def roster_export(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="导出文件 .csv 或 .xlsx (file to write).")],
    grid: GridOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """导出住户名册，表头与导入相同 (export households in the roster headers)."""
    store = ctx.find_root().obj.store()
    count = export_roster(store, file, grid=grid)
    if json_out:
        emit_json({"path": str(file), "households": count})
        return
    console.print(t("roster.exported", count=count, path=file), markup=False, soft_wrap=True)
    err_console.print(t("roster.export_privacy"), markup=False)
