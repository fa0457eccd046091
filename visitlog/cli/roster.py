"""``visitlog roster import|export``: household rosters in and out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from visitlog.cli.common import console, emit_json, err_console
from visitlog.i18n import t
from visitlog.roster import Progress, export_roster, import_roster

roster_app = typer.Typer(
    help="住户名册：导入、导出 CSV/XLSX (household rosters in and out).", no_args_is_help=True
)

#: Files with fewer rows finish before a bar would be worth drawing.
BAR_FROM_ROWS = 2000


def register(app: typer.Typer) -> None:
    app.add_typer(roster_app, name="roster")


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Progress | None]:
    """A transient rich bar on stderr, started only once a file turns out to be large."""
    if not enabled:
        yield None
        return
    from rich.progress import Progress as Bar

    bar: Bar | None = None
    task = None

    def update(done: int, total: int | None) -> None:
        nonlocal bar, task
        if bar is None:
            if max(done, total or 0) < BAR_FROM_ROWS:
                return
            bar = Bar(transient=True, console=err_console)
            task = bar.add_task(t("roster.progress"), total=total)
            bar.start()
        if total is not None and done >= total:
            # reading is over; the one transaction follows
            bar.update(task, completed=done, total=total, description=t("roster.progress_write"))
        else:
            bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if bar is not None:
            bar.stop()


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
    json_out: Annotated[
        bool, typer.Option("--json", help="输出 JSON (print JSON on stdout).")
    ] = False,
) -> None:
    """导入住户名册：按编号新增或更新，坏行写入 FILE.rejects.csv (import a roster; upsert by 编号)."""
    store = ctx.find_root().obj.store()
    with _progress_bar(True) as progress:
        report = import_roster(store, file, sheet=sheet, dry_run=dry_run, progress=progress)
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
    grid: Annotated[
        str | None, typer.Option("--grid", "-g", help="只导出这个微网格 (only this micro-grid).")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="输出 JSON (print JSON on stdout).")
    ] = False,
) -> None:
    """导出住户名册，表头与导入相同 (export households in the roster headers)."""
    store = ctx.find_root().obj.store()
    count = export_roster(store, file, grid=grid)
    if json_out:
        emit_json({"path": str(file), "households": count})
        return
    console.print(t("roster.exported", count=count, path=file), markup=False, soft_wrap=True)
    err_console.print(t("roster.export_privacy"), markup=False)
