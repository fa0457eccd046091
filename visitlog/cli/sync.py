"""Sync commands: ``sync``, ``bundle export/import``, ``conflicts``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from visitlog.cli.common import console, emit_json, err_console, progress_bar
from visitlog.cli.options import JsonOpt, RevealOpt
from visitlog.i18n import t
from visitlog.model import SYNCED_FIELDS
from visitlog.privacy import present_field
from visitlog.store import load_key
from visitlog.sync import (
    SyncReport,
    export_bundle,
    get_conflict,
    import_bundle,
    import_into_target,
    list_conflicts,
    restore_conflict,
    sync_with,
)
from visitlog.sync.conflicts import field_label, made_by, table_label
from visitlog.visible import visible

_CORE_TABLES = ("households", "visits", "items")


bundle_app = typer.Typer(
    help="help.sync.bundle_app",
    no_args_is_help=True,
)
conflicts_app = typer.Typer(
    help="help.sync.conflicts_app",
    invoke_without_command=True,
)


def register(app: typer.Typer) -> None:
    app.command("sync", help="help.sync.sync")(sync)
    app.add_typer(bundle_app, name="bundle")
    app.add_typer(conflicts_app, name="conflicts")


def _store(ctx: typer.Context):
    return ctx.find_root().obj.store()


def _describe(phase: str, done: int, total: int | None) -> str | None:
    if phase == "commit" or not total:
        return None  # the commit is over in a moment
    return t(f"sync.phase.{phase}")


def _show_value(field: str, value: Any, reveal: bool) -> str:
    if value is None:
        return "—"
    if field == "deleted" and value in (0, 1):
        return t(f"sync.deleted.{value}")
    text = present_field(field, str(value), reveal)
    return text if len(text) <= 40 else text[:39] + "…"


def _print_report(report: SyncReport, title: str) -> None:
    if not report.sent_total and not report.received_total:
        console.print(title)
        console.print(t("sync.nothing"))
    else:
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column(t("sync.col.table"))
        table.add_column(t("sync.col.sent"), justify="right")
        table.add_column(t("sync.col.received"), justify="right")
        for tbl in SYNCED_FIELDS:
            if tbl not in _CORE_TABLES and not (report.sent.get(tbl) or report.received.get(tbl)):
                continue  # tables of later features appear when something moved
            table.add_row(
                table_label(tbl),
                str(report.sent.get(tbl, 0)),
                str(report.received.get(tbl, 0)),
            )
        table.add_section()
        table.add_row(t("sync.total"), str(report.sent_total), str(report.received_total))
        console.print(table)
    if report.estimated:
        console.print(t("sync.estimated"))
    if report.conflicts:
        console.print(t("sync.conflicts_found", count=len(report.conflicts)))
        for c in report.conflicts[:10]:
            console.print(
                "  "
                + t(
                    "sync.conflict_line",
                    id=c["id"][:8],
                    kind=table_label(c["tbl"]),
                    row=c["row_id"][-8:],
                    field=field_label(c["tbl"], c["field"]),
                    value=_show_value(c["field"], c["value"], False),
                ),
                highlight=False,
            )
        console.print(t("sync.conflicts_hint"))
    for note in report.notes():
        err_console.print(visible(note), highlight=False, soft_wrap=True)


def sync(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(help="help.sync.sync.target"),
    ],
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="help.sync.sync.dry_run"),
    ] = False,
    upgrade_target: Annotated[
        bool,
        typer.Option(
            "--upgrade-target",
            help="help.sync.sync.upgrade_target",
        ),
    ] = False,
    new_hub: Annotated[
        bool,
        typer.Option(
            "--new-hub",
            help="help.sync.sync.new_hub",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Two-way sync with another replica."""
    store = _store(ctx)
    with progress_bar(_describe) as progress:
        report = sync_with(
            store,
            target,
            dry_run=dry_run,
            upgrade_target=upgrade_target,
            progress=progress,
            create=new_hub,
        )
    if json_out:
        emit_json(report.to_json())
        return
    if report.schema_upgraded and not dry_run:
        console.print(t("sync.upgraded", path=target))
    key = "sync.title_dry" if dry_run else "sync.title"
    _print_report(report, t(key, path=str(target)))


@bundle_app.command("export", help="help.sync.bundle_export")
def bundle_export(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="help.sync.bundle_export.file")],
    for_peer: Annotated[
        str | None,
        typer.Option(
            "--for",
            help="help.sync.bundle_export.for_peer",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Write changes to one bundle file."""
    store = _store(ctx)
    with progress_bar(_describe) as progress:
        info = export_bundle(store, file, for_peer=for_peer, progress=progress)
    if json_out:
        emit_json(info.to_json())
    else:
        console.print(
            t(
                "bundle.exported",
                path=info.file,
                count=info.total,
                devices=len(info.devices),
            )
        )


@bundle_app.command("import", help="help.sync.bundle_import")
def bundle_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="help.sync.bundle_import.file")],
    hub: Annotated[str | None, typer.Option("--hub", help="help.sync.bundle_import.hub")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Apply a bundle with the same merge rules."""
    with progress_bar(_describe) as progress:
        if hub is not None:
            # The hub holds no station key: this laptop's opens the bundle.
            key = load_key(ctx.find_root().obj.path)
            report = import_into_target(hub, file, progress=progress, key=key)
        else:
            report = import_bundle(_store(ctx), file, progress=progress)
    if json_out:
        emit_json(report.to_json())
        return
    _print_report(report, t("bundle.imported", path=str(file)))


@conflicts_app.callback()
def conflicts(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="help.sync.conflicts.all_")] = False,
    reveal: RevealOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """列出同步冲突中落选的值 (list the losing values kept by sync)."""
    if ctx.invoked_subcommand is not None:
        return
    store = _store(ctx)
    rows = list_conflicts(store, include_resolved=all_)
    if reveal and not json_out:
        from visitlog.security import record_reveal

        households = {c["row_id"] for c in rows if c["tbl"] == "households"}
        record_reveal(store, "conflicts", households=len(households), count=len(rows))
    if json_out:
        from visitlog.security import record_export

        # Losing values are full names, phones, addresses as they were written.
        record_export(store, "conflicts", rows=len(rows), to="stdout", format="json")
        emit_json(rows)
        return
    if not rows:
        console.print(t("conflicts.none"))
        return
    table = Table(
        title=t("conflicts.title", count=len(rows)),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for col in ("id", "record", "field", "lost", "current", "who", "resolved"):
        table.add_column(t(f"conflicts.col.{col}"), overflow="fold", no_wrap=col == "id")
    for c in rows:
        field = c["field"]
        table.add_row(
            c["id"][:8],
            f"{table_label(c['tbl'])} {c['row_id'][-8:]}",
            field_label(c["tbl"], field),
            _show_value(field, c["value"], reveal),
            _show_value(field, c["current_value"], reveal),
            made_by(c),
            t("conflicts.state.restored")
            if c["restored"]
            else (t("conflicts.state.done") if c["resolved"] else ""),
        )
    console.print(table)
    console.print(t("conflicts.hint"))


@conflicts_app.command("restore", help="help.sync.conflicts_restore")
def conflicts_restore(
    ctx: typer.Context,
    conflict_id: Annotated[str, typer.Argument(help="help.sync.conflicts_restore.conflict_id")],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="help.sync.conflicts_restore.yes")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Restore the losing value as a new edit; the value it replaces stays restorable."""
    store = _store(ctx)
    rec = get_conflict(store, conflict_id)
    field = rec["field"]
    new = rec["winner_value"] if rec["restored"] else rec["value"]
    if not yes:
        question = t(
            "conflicts.confirm",
            id=rec["id"][:8],
            record=f"{table_label(rec['tbl'])} {rec['row_id'][-8:]}",
            field=field_label(rec["tbl"], field),
            current=_show_value(field, rec["current_value"], True),
            value=_show_value(field, new, True),
            who=made_by(rec, winner=rec["restored"]),
        )
        if not typer.confirm(visible(question), default=False, err=True):
            err_console.print(t("conflicts.kept"))
            return
    rec = restore_conflict(store, rec["id"])
    if json_out:
        emit_json(rec)
    elif rec["changed"]:
        console.print(
            t(
                "conflicts.restored",
                id=rec["id"][:8],
                field=field_label(rec["tbl"], field),
                value=_show_value(field, rec["current_value"], True),
                old=_show_value(field, rec["replaced_value"], True),
            )
        )
    else:
        console.print(t("conflicts.already", id=rec["id"][:8]))
