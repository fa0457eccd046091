"""``visitlog address aliases``: which places name one estate (learned, confirmed, rejected)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.table import Table

from visitlog.cli.common import console, emit_json
from visitlog.cli.options import JsonOpt
from visitlog.i18n import t

address_app = typer.Typer(
    help="help.address.address_app",
    no_args_is_help=True,
)
aliases_app = typer.Typer(
    help="help.address.aliases_app",
    invoke_without_command=True,
)

ScopeOpt = Annotated[
    str | None,
    typer.Option(
        "--scope",
        help="help.address.ScopeOpt",
    ),
]
NoteOpt = Annotated[str | None, typer.Option("--note", help="help.address.NoteOpt")]
AliasArg = Annotated[
    str,
    typer.Argument(help="help.address.AliasArg"),
]
TargetArg = Annotated[str, typer.Argument(help="help.address.TargetArg")]


def register(app: typer.Typer) -> None:
    address_app.add_typer(aliases_app, name="aliases")
    app.add_typer(address_app, name="address")


def _store(ctx: typer.Context):
    return ctx.find_root().obj.store()


@aliases_app.callback()
def aliases(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """列出在用的地址别名：从名册学到的和工作人员确认或否决的 (list address aliases)."""
    if ctx.invoked_subcommand is not None:
        return
    from visitlog.dedup import list_aliases

    found = list_aliases(_store(ctx))
    if json_out:
        emit_json({"aliases": [a.to_json() for a in found]})
        return
    if not found:
        console.print(t("alias.none"))
        return
    table = Table(
        title=t("alias.title", count=len(found)),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for col in ("alias", "target", "kind", "scope", "status", "evidence"):
        table.add_column(t(f"alias.col.{col}"), overflow="fold")
    for a in found:
        sources = "、".join(f"{t('alias.source.' + s)} {n}" for s, n in sorted(a.sources.items()))
        table.add_row(
            a.alias,
            a.target,
            t(f"alias.kind.{a.kind}"),
            a.scope,
            t(f"alias.status.{a.status}"),
            sources,
        )
    console.print(table)


@aliases_app.command("add", help="help.address.add")
def add(
    ctx: typer.Context,
    alias: AliasArg,
    target: TargetArg,
    scope: ScopeOpt = None,
    note: NoteOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Confirm that ALIAS names the estate TARGET."""
    from visitlog.dedup import add_alias

    _decide(ctx, add_alias, "alias.added", alias, target, scope, note, json_out)


@aliases_app.command("reject", help="help.address.reject")
def reject(
    ctx: typer.Context,
    alias: AliasArg,
    target: TargetArg,
    scope: ScopeOpt = None,
    note: NoteOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Reject: ALIAS does not name TARGET."""
    from visitlog.dedup import reject_alias

    _decide(ctx, reject_alias, "alias.rejected", alias, target, scope, note, json_out)


def _decide(ctx, decide, said, alias, target, scope, note, json_out) -> None:
    """One worker's decision on an alias (confirm or reject), said in words or as JSON."""
    row = decide(_store(ctx), alias, target, scope, note)
    if json_out:
        emit_json(row)
        return
    console.print(t(said, alias=row["alias"], target=row["target"]))
