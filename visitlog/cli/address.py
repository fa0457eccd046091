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
    help="地址：小区名与门牌路弄、简称的对应（别名） (addresses: estate names, road and lane, short names).",
    no_args_is_help=True,
)
aliases_app = typer.Typer(
    help="地址别名：列出；add 确认；reject 否决 (address aliases: list; add confirms; reject).",
    invoke_without_command=True,
)

ScopeOpt = Annotated[
    str | None,
    typer.Option(
        "--scope",
        help="简称在哪个居民区里这样读，例如 曹杨一村居民区 (the 居民区 a short name is read in).",
    ),
]
NoteOpt = Annotated[str | None, typer.Option("--note", help="说明 (why).")]
AliasArg = Annotated[
    str,
    typer.Argument(
        help="别名：门牌路弄或简称，例如 花溪路45弄、一村 (road and lane, or short name)."
    ),
]
TargetArg = Annotated[str, typer.Argument(help="小区名，例如 曹杨一村 (the estate's name).")]


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


@aliases_app.command("add")
def add(
    ctx: typer.Context,
    alias: AliasArg,
    target: TargetArg,
    scope: ScopeOpt = None,
    note: NoteOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """确认一个别名：ALIAS 就是小区 TARGET (confirm that ALIAS names the estate TARGET)."""
    from visitlog.dedup import add_alias

    _decide(ctx, add_alias, "alias.added", alias, target, scope, note, json_out)


@aliases_app.command("reject")
def reject(
    ctx: typer.Context,
    alias: AliasArg,
    target: TargetArg,
    scope: ScopeOpt = None,
    note: NoteOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """否决一个别名：ALIAS 不是小区 TARGET，以后不再使用 (reject: ALIAS does not name TARGET)."""
    from visitlog.dedup import reject_alias

    _decide(ctx, reject_alias, "alias.rejected", alias, target, scope, note, json_out)


def _decide(ctx, decide, said, alias, target, scope, note, json_out) -> None:
    """One worker's decision on an alias (confirm or reject), said in words or as JSON."""
    row = decide(_store(ctx), alias, target, scope, note)
    if json_out:
        emit_json(row)
        return
    console.print(t(said, alias=row["alias"], target=row["target"]))
