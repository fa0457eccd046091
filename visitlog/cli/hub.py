"""Hub commands: ``hub init``, ``hub station add/list/remove`` (PostgreSQL)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.table import Table

from visitlog.cli.common import console
from visitlog.i18n import t
from visitlog.sync.postgres import public_url

hub_app = typer.Typer(help="help.hub.app", no_args_is_help=True)
station_app = typer.Typer(help="help.hub.station_app", no_args_is_help=True)
hub_app.add_typer(station_app, name="station")

UrlArg = Annotated[str, typer.Argument(help="help.hub.url")]


def register(app: typer.Typer) -> None:
    app.add_typer(hub_app, name="hub")


@hub_app.command("init", help="help.hub.init")
def init(url: UrlArg) -> None:
    from visitlog.sync.postgres import init_hub  # psycopg only for hub commands

    before, after, done = init_hub(url)
    shown = public_url(url)
    if not done:
        console.print(t("hub.current", url=shown, version=after), highlight=False)
    elif before:
        console.print(t("hub.upgraded", url=shown, old=before, version=after), highlight=False)
    else:
        console.print(t("hub.inited", url=shown, version=after), highlight=False)


def _scope(communities: tuple[str, ...], grids: tuple[str, ...], everything: bool) -> str:
    if everything:
        return t("hub.station.all")
    return t(
        "hub.station.scope",
        communities="、".join(communities) or "—",
        grids="、".join(grids) or "—",
    )


@station_app.command("add", help="help.hub.station_add")
def station_add(
    url: UrlArg,
    name: Annotated[str, typer.Argument(help="help.hub.station_name")],
    community: Annotated[
        list[str] | None, typer.Option("--community", help="help.hub.community")
    ] = None,
    grid: Annotated[list[str] | None, typer.Option("--grid", help="help.hub.grid")] = None,
    everything: Annotated[bool, typer.Option("--all", help="help.hub.all")] = False,
) -> None:
    from visitlog.sync.postgres.stations import add_station

    station = add_station(
        url,
        name,
        communities=tuple(community or ()),
        grids=tuple(grid or ()),
        everything=everything,
    )
    scope = _scope(station.communities, station.grids, station.everything)
    console.print(t("hub.station.added", name=station.role, scope=scope), highlight=False)
    if station.gained or station.lost:
        console.print(
            t("hub.station.moved", gained=station.gained, lost=station.lost), highlight=False
        )
    for place, near in station.unknown:
        hint = t("hub.station.near", name=near) if near else ""
        console.print(t("hub.station.unknown", place=place, near=hint), highlight=False)
    if station.unknown:
        console.print(t("hub.station.unknown_end"), highlight=False)


@station_app.command("list", help="help.hub.station_list")
def station_list(url: UrlArg) -> None:
    from visitlog.sync.postgres.stations import list_stations

    stations = list_stations(url)
    if not stations:
        console.print(t("hub.station.none"))
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column(t("hub.station.col.name"))
    table.add_column(t("hub.station.col.scope"))
    for s in stations:
        table.add_row(s.role, _scope(s.communities, s.grids, s.everything))
    console.print(table)


@station_app.command("remove", help="help.hub.station_remove")
def station_remove(
    url: UrlArg, name: Annotated[str, typer.Argument(help="help.hub.station_name")]
) -> None:
    from visitlog.sync.postgres.stations import remove_station

    remove_station(url, name)
    console.print(t("hub.station.removed", name=name), highlight=False)
