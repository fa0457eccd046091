"""``visitlog plan``: the households due this week, and ``plan rules`` (show, set)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from visitlog.cli.common import cell, console, emit_json, emit_records
from visitlog.cli.options import GridOpt, JsonOpt, RevealOpt
from visitlog.i18n import t
from visitlog.model import ValidationError

plan_app = typer.Typer(help="help.plan.plan_app", invoke_without_command=True)
rules_app = typer.Typer(help="help.plan.rules_app", invoke_without_command=True)

#: Formats of ``--format``: the terminal table, JSON, and the route sheet files.
PLAN_FORMATS = ("table", "json", "html", "xlsx")
FILE_FORMATS = ("html", "xlsx")


def register(app: typer.Typer) -> None:
    plan_app.add_typer(rules_app, name="rules")
    app.add_typer(plan_app, name="plan")


def _store(ctx: typer.Context):
    return ctx.find_root().obj.store()


def _format(fmt: str | None, output: Path | None) -> str:
    if fmt is None:
        suffix = output.suffix.lower() if output else ""
        return {".html": "html", ".htm": "html", ".xlsx": "xlsx", ".json": "json"}.get(
            suffix, "table"
        )
    value = fmt.strip().lower()
    if value not in PLAN_FORMATS:
        raise ValidationError(t("plan.err.format", value=fmt, accepted="|".join(PLAN_FORMATS)))
    return value


@plan_app.callback()
def plan(
    ctx: typer.Context,
    grid: GridOpt = None,
    worker: Annotated[
        str | None,
        typer.Option("--worker", "-w", help="help.plan.plan.worker"),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="help.plan.plan.until"),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="help.plan.plan.fmt",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="help.plan.plan.output",
            dir_okay=False,
        ),
    ] = None,
    reveal: RevealOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """本周待访：按规则到期的住户，逾期最久的楼栋在前，楼内按楼层、室号 (the week's visits)."""
    if ctx.invoked_subcommand is not None:
        return
    from visitlog.plan import make_plan
    from visitlog.security import record_export, record_reveal

    chosen = "json" if json_out else _format(fmt, output)
    if chosen in FILE_FORMATS and output is None:
        raise ValidationError(t("plan.err.needs_output", format=chosen))
    store = _store(ctx)
    result = make_plan(store, grid=grid, worker=worker, until=until, today=dt.date.today())
    if reveal:
        if not store.worker:
            raise ValidationError(t("summary.err.reveal_worker"))
        to = str(output.resolve()) if output else "stdout" if chosen == "json" else "terminal"
        record_reveal(
            store,
            "plan",
            households=len(result.entries),
            to=to,
            grid=grid,
            for_worker=worker,
            format=chosen,
        )
    if chosen == "json":
        rows = len(result.entries)
        record_export(store, "plan", rows=rows, to=str(output or "stdout"), format="json")
        if output is not None:
            _write(output, emit_text(result.to_json()))
            return
        # a household a line as it is written (a district's plan lists 400,000)
        emit_records(e.to_json() for e in result.entries)
        return
    if chosen in FILE_FORMATS:
        from visitlog.render.route import render_route_html, render_route_xlsx

        assert output is not None
        record_export(store, "plan", rows=len(result.entries), to=str(output), format=chosen)
        data = (
            render_route_html(result, reveal)
            if chosen == "html"
            else render_route_xlsx(result, reveal)
        )
        _write(output, data)
        return
    _print_table(result, reveal)


def emit_text(data: object) -> str:
    from visitlog.cli.common import json_text

    return json_text(data) + "\n"


def _write(output: Path, data: str | bytes) -> None:
    from visitlog.render import write_private

    path = write_private(output, data)
    console.print(t("plan.written", path=path.resolve()), highlight=False)


def _print_table(result, reveal: bool) -> None:
    from visitlog.privacy import present_person

    if not result.entries:
        console.print(t("plan.none"))
        return
    console.print(
        t(
            "plan.heading",
            scope=result.grid or t("plan.all_grids"),
            until=result.until,
            n=len(result.entries),
            overdue=result.overdue,
        )
    )
    for building, entries in result.buildings():
        table = Table(title=building, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        for col in ("due", "late", "address", "head", "phone"):
            table.add_column(t(f"plan.col.{col}"), no_wrap=True)
        table.add_column(t("plan.col.reasons"), ratio=1, overflow="fold")
        for e in entries:
            head, phone, _ = present_person(e.head, e.phone, e.tags, reveal)
            late = e.overdue_days > 0
            table.add_row(
                cell(e.due.isoformat(), "bold red" if late else ""),
                cell(e.overdue_days if late else "", "bold red" if late else ""),
                cell(e.address),
                cell(head),
                cell(phone),
                cell("；".join(r.text(printed=not reveal) for r in e.reasons)),
            )
        console.print(table)


@rules_app.callback()
def rules(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """查看走访规则 (show the planning rules)."""
    if ctx.invoked_subcommand is not None:
        return
    _show(ctx, json_out)


@rules_app.command("show", help="help.plan.show")
def show(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """查看走访规则：默认值和本街道改过的 (show the rules in force)."""
    _show(ctx, json_out)


def _show(ctx: typer.Context, json_out: bool) -> None:
    from visitlog.plan import load_rules

    book = load_rules(_store(ctx))
    if json_out:
        emit_json({"rules": [r.to_json() for r in book.rules]})
        return
    table = Table(
        title=t("plan.rules.title"), title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False
    )
    for col in ("kind", "key", "days", "source"):
        table.add_column(t(f"plan.rules.col.{col}"))
    for r in book.rules:
        table.add_row(
            t(f"plan.rules.kind.{r.kind}"),
            cell(r.key or t("plan.rules.every")),
            t("plan.rules.off") if r.days is None else str(r.days),
            cell(t(f"plan.rules.source.{r.source}") + (f" · {r.worker}" if r.worker else "")),
        )
    console.print(table)


@rules_app.command("set", help="help.plan.set")
def set_(
    ctx: typer.Context,
    rule: Annotated[
        str,
        typer.Argument(help="help.plan.set.rule"),
    ],
    days: Annotated[str, typer.Argument(help="help.plan.set.days")],
    note: Annotated[str | None, typer.Option("--note", help="help.plan.set.note")] = None,
    json_out: JsonOpt = False,
) -> None:
    """修改一条走访规则，随同步传到其他电脑 (set one rule; it syncs)."""
    from visitlog.plan import set_rule

    r = set_rule(_store(ctx), rule, days, note)
    if json_out:
        emit_json(r.to_json())
        return
    console.print(
        t(
            "plan.rules.set",
            kind=t(f"plan.rules.kind.{r.kind}"),
            name=r.key or t("plan.rules.every"),
            days=t("plan.rules.off") if r.days is None else t("plan.rules.days", days=r.days),
        )
    )
