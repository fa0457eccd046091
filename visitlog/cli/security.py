"""``visitlog key init|show|import`` and ``visitlog audit verify|list``."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from visitlog.cli.common import console, emit_json, err_console
from visitlog.cli.options import JsonOpt
from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.security import (
    audit_break,
    import_key,
    init_key,
    read_key_source,
    show_key,
)
from visitlog.store import key_path
from visitlog.sync.heads import rewritten_peers

ForceOpt = Annotated[
    bool,
    typer.Option("--force", help="help.security.ForceOpt"),
]

key_app = typer.Typer(
    help="help.security.key_app",
    no_args_is_help=True,
)
audit_app = typer.Typer(
    help="help.security.audit_app",
    no_args_is_help=True,
)

#: Entries shown by ``audit list`` without ``--limit`` (table output).
DEFAULT_LIMIT = 50


def register(app: typer.Typer) -> None:
    app.add_typer(key_app, name="key")
    app.add_typer(audit_app, name="audit")


def _store(ctx: typer.Context):
    return ctx.find_root().obj.store()


# -- key ------------------------------------------------------------------------------------


@key_app.command("init", help="help.security.key_init")
def key_init(ctx: typer.Context, force: ForceOpt = False, json_out: JsonOpt = False) -> None:
    """Make this station's key, once, on the first laptop."""
    store = _store(ctx)
    key, path = init_key(store, force=force)
    if json_out:
        emit_json({"fingerprint": key.fingerprint, "path": str(path)})
        return
    console.print(t("key.created", fingerprint=key.fingerprint, path=path), markup=False)
    err_console.print(t("key.created_hint"), markup=False)


@key_app.command("show", help="help.security.key_show")
def key_show(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Print the key as one line to carry."""
    store = _store(ctx)
    key = show_key(store)
    if json_out:
        emit_json(
            {
                "key": key.to_line(),
                "fingerprint": key.fingerprint,
                "path": str(key_path(store.path)),
            }
        )
        return
    # Only the line on stdout, so `visitlog key show > station.key` writes a key file.
    console.print(key.to_line(), markup=False, soft_wrap=True)
    err_console.print(t("key.show_hint", fingerprint=key.fingerprint), markup=False)


@key_app.command("import", help="help.security.key_import")
def key_import(
    ctx: typer.Context,
    file: Annotated[
        str,
        typer.Argument(help="help.security.key_import.file"),
    ],
    force: ForceOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Read the station key on the station's other laptops."""
    key = read_key_source(file)
    store = _store(ctx)
    path, changed = import_key(store, key, force=force)
    if json_out:
        emit_json({"fingerprint": key.fingerprint, "path": str(path), "changed": changed})
        return
    msg = "key.imported" if changed else "key.already"
    console.print(t(msg, fingerprint=key.fingerprint, path=path), markup=False)


# -- audit ----------------------------------------------------------------------------------


@audit_app.command("verify", help="help.security.audit_verify")
def audit_verify(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Verify the hash chain."""
    store = _store(ctx)
    broken = audit_break(store)
    count = len(store.audit_entries())
    peers = rewritten_peers(store)
    if json_out:
        keyed = store.get_setting("audit_chain") == "k1"
        emit_json(
            {
                "ok": broken is None and not peers,
                "entries": count,
                "keyed": keyed,
                "broken": broken,
                "peers_rewritten": peers,
            }
        )
        if broken is not None or peers:
            raise typer.Exit(1)
        return
    if broken is None and peers:
        p = peers[-1]
        raise VisitlogError(
            t("audit.peer_rewritten", device=p["device"], id=p["id"], at=p["at"], count=len(peers))
        )
    if broken is None:
        console.print(t("audit.ok", count=count), markup=False)
        return
    if broken["reason"] in ("downgraded", "unsealed"):
        raise VisitlogError(t(f"audit.{broken['reason']}", **broken))
    if not broken["removed"]:
        raise VisitlogError(t("audit.broken", **broken))
    prev = broken["prev"]
    if prev is None:
        raise VisitlogError(t("audit.removed_first", id=broken["id"]))
    raise VisitlogError(
        t("audit.removed", id=broken["id"], prev=prev["id"], at=prev["at"], action=prev["action"])
    )


@audit_app.command("list", help="help.security.audit_list")
def audit_list(
    ctx: typer.Context,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            "-n",
            min=0,
            help="help.security.audit_list.limit",
            show_default=False,
        ),
    ] = None,
    action: Annotated[
        str | None,
        typer.Option(
            "--action",
            help="help.security.audit_list.action",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Who changed what and when, every --reveal included."""
    store = _store(ctx)
    entries = store.audit_entries()
    if action:
        entries = [e for e in entries if _matches(e["action"], action)]
    total = len(entries)
    if limit is None:
        limit = 0 if json_out else DEFAULT_LIMIT
    shown = entries[:limit] if limit else entries
    if json_out:
        emit_json([_entry_json(e) for e in shown])
        return
    if not shown:
        console.print(t("audit.none"), markup=False)
        return
    table = Table(
        title=t("audit.title", shown=len(shown), total=total),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for col in ("id", "at", "worker", "device", "action", "record", "detail"):
        table.add_column(
            t(f"audit.col.{col}"),
            no_wrap=col in ("id", "at", "action"),
            overflow="fold",
            justify="right" if col == "id" else "left",
        )
    for e in shown:
        record = f"{e['tbl']}:{e['row_id'][-8:]}" if e["tbl"] and e["row_id"] else e["tbl"] or ""
        table.add_row(
            str(e["id"]),
            e["at"][:16].replace("T", " "),
            e["worker"] or "",
            e["device"] or "",
            e["action"],
            record,
            _detail_text(e["detail"]),
        )
    console.print(table)
    if total > len(shown):
        err_console.print(t("audit.more", count=total - len(shown)), markup=False)


def _matches(name: str, wanted: str) -> bool:
    return name == wanted or name.startswith(wanted.rstrip(".") + ".")


def _entry_json(e: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "at", "worker", "device", "action", "tbl", "row_id", "detail", "hash")
    return {k: e.get(k) for k in keys}


def _detail_text(detail: Any) -> str:
    if detail is None:
        return ""
    if isinstance(detail, dict):
        return ", ".join(
            f"{k}={json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v}"
            for k, v in detail.items()
            if v is not None
        )
    return json.dumps(detail, ensure_ascii=False)


__all__ = ["register"]
