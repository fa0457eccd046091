"""Core commands: identity, demo data, households, visits, list items, check, backup."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from visitlog import search
from visitlog.cli.common import (
    cell,
    console,
    emit_json,
    emit_records,
    err_console,
    fitted_table,
    new_passphrase,
    progress_bar,
    show_recovery,
)
from visitlog.cli.options import GridOpt, JsonlOpt, JsonOpt, RevealOpt
from visitlog.grids import check_grid, look_alikes, settle_community
from visitlog.i18n import t
from visitlog.model import (
    Household,
    Item,
    Kind,
    ValidationError,
    Visit,
    VisitlogError,
)
from visitlog.privacy import present_person
from visitlog.store import cipher

household_app = typer.Typer(help="help.core.household_app", no_args_is_help=True)
visit_app = typer.Typer(
    help="help.core.visit_app",
    no_args_is_help=True,
)
item_app = typer.Typer(help="help.core.item_app", no_args_is_help=True)


def short_id(ident: str) -> str:
    """The random tail of a UUIDv7: unique in practice, and accepted as an id."""
    return ident[-8:]


def _table(title: str, columns: list[str], wrap: tuple[str, ...] = ()) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in columns:
        table.add_column(t(f"col.{col}"), no_wrap=col not in wrap, overflow="fold")
    return table


def _audit_json(store, what: str, rows: int, jsonl: bool, **detail: str | None) -> None:
    """A ``--json`` listing writes records out of the database: audited before it is printed."""
    from visitlog.security import record_export

    fmt = "jsonl" if jsonl else "json"
    record_export(store, what, rows=rows, to="stdout", format=fmt, **detail)


def _state(ctx: typer.Context):
    return ctx.find_root().obj


def _store(ctx: typer.Context):
    return _state(ctx).store()


def register(app: typer.Typer) -> None:
    app.command("init", help="help.core.init")(init)
    app.command("demo", help="help.core.demo")(demo)
    app.command("check", help="help.core.check")(check)
    app.command("backup", help="help.core.backup")(backup)
    app.command("tui", help="help.core.tui")(tui)
    app.add_typer(household_app, name="household")
    app.add_typer(visit_app, name="visit")
    app.add_typer(item_app, name="item")


# -- identity ----------------------------------------------------------------


def init(
    ctx: typer.Context,
    worker: Annotated[str, typer.Option("--worker", "-w", help="help.core.init.worker")],
    device: Annotated[str | None, typer.Option("--device", help="help.core.init.device")] = None,
    grid: GridOpt = None,
    plain: Annotated[bool, typer.Option("--plain", help="help.core.init.plain")] = False,
    json_out: JsonOpt = False,
) -> None:
    """This laptop's identity; a new database is encrypted (its recovery key shown once)."""
    state = _state(ctx)
    path = state.path
    fresh = not path.exists() or (path.is_file() and path.stat().st_size == 0)
    shown = None
    if fresh and not (plain or cipher.plain_requested()):
        shown = state.make_encrypted(new_passphrase()) or None
        store = state.store()
    elif fresh:
        with cipher.making_plain():
            store = state.store()
    else:
        store = state.store()
    info = store.init_identity(worker, device, grid)
    info["encrypted"] = store.key is not None
    if json_out:
        emit_json({**info, "recovery_key": shown} if shown else info)
        return
    console.print(t("cli.init_done", **info))
    if shown:
        console.print(t("enc.created", path=path))
        show_recovery(shown)
    elif store.key is None:
        err_console.print(t("enc.hint_plain", path=path))


def demo(
    ctx: typer.Context,
    households: Annotated[
        int,
        typer.Option("--households", "-n", min=1, help="help.core.demo.households"),
    ] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="help.core.demo.seed")] = 1,
    json_out: JsonOpt = False,
) -> None:
    """Fill the database with a realistic demo street."""
    from visitlog.demo import generate_into

    store = _store(ctx)
    started = time.perf_counter()
    with progress_bar(lambda *_: t("cli.demo_progress")) as progress:
        counts = generate_into(store, households=households, seed=seed, progress=progress)
        if households >= search.KEEP_FROM:
            # A district's street: the terminal app searches every grid through
            # the kept keys; made now, its first start need not make them.
            made = None if progress is None else lambda done, todo: progress("search", done, todo)
            search.refresh(store, made)
    counts["seconds"] = round(time.perf_counter() - started, 2)
    if json_out:
        emit_json(counts)
    else:
        console.print(t("cli.demo_done", path=store.path, **counts))


# -- households ----------------------------------------------------------------


# The options of ``household add`` and ``household edit``, declared once.
_Address = typer.Option("--address", "-a", help="help.household.address")
_Grid = typer.Option("--grid", "-g", help="help.household.grid")
CommunityOpt = Annotated[str | None, typer.Option("--community", help="help.household.community")]
EstateOpt = Annotated[str | None, typer.Option("--estate", help="help.household.estate")]
HeadOpt = Annotated[str | None, typer.Option("--head", help="help.household.head")]
PhoneOpt = Annotated[str | None, typer.Option("--phone", help="help.household.phone")]
MembersOpt = Annotated[int | None, typer.Option("--members", help="help.household.members")]
OccupancyOpt = Annotated[str | None, typer.Option("--occupancy", help="help.household.occupancy")]
TagsOpt = Annotated[str | None, typer.Option("--tags", help="help.household.tags")]
NoteOpt = Annotated[str | None, typer.Option("--note", help="help.household.note")]


@household_app.command("add", help="help.core.household_add")
def household_add(
    ctx: typer.Context,
    address: Annotated[str, _Address],
    grid: Annotated[str, _Grid],
    community: CommunityOpt = None,
    estate: EstateOpt = None,
    ref: Annotated[str | None, typer.Option("--ref", help="help.household.ref")] = None,
    head: HeadOpt = None,
    phone: PhoneOpt = None,
    members: MembersOpt = None,
    occupancy: OccupancyOpt = "自住",
    tags: TagsOpt = None,
    note: NoteOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="help.household.yes")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Add a household."""
    store = _store(ctx)
    # The 居民区 follows from the 微网格; an address read as a stored one is asked about.
    community = settle_community(store, grid.strip(), community)
    if not yes and (same := look_alikes(store, address, estate)):
        shown = "；".join(
            t("cli.look_alike", id=short_id(o.id), address=o.address, grid=o.micro_grid)
            for o in same[:3]
        )
        raise ValidationError(t("err.look_alike", address=address, same=shown))
    h = store.add_household(
        Household(
            address=address,
            micro_grid=grid,
            community=community,
            estate=estate,
            ref=ref,
            head=head,
            phone=phone,
            members=members,
            occupancy=occupancy,
            tags=tags or [],
            note=note,
        )
    )
    if json_out:
        emit_json(h)
    else:
        console.print(h.id)
    _tell_contact(h)


@household_app.command("edit", help="help.core.household_edit")
def household_edit(
    ctx: typer.Context,
    ident: Annotated[str, typer.Argument(help="help.household.id")],
    address: Annotated[str | None, _Address] = None,
    grid: Annotated[str | None, _Grid] = None,
    community: CommunityOpt = None,
    estate: EstateOpt = None,
    head: HeadOpt = None,
    phone: PhoneOpt = None,
    members: MembersOpt = None,
    occupancy: OccupancyOpt = None,
    tags: TagsOpt = None,
    note: NoteOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Change the given fields of a household."""
    h = _store(ctx).update_household(
        ident,
        address=address,
        micro_grid=grid,
        community=community,
        estate=estate,
        head=head,
        phone=phone,
        members=members,
        occupancy=occupancy,
        tags=tags,
        note=note,
    )
    if json_out:
        emit_json(h)
    else:
        console.print(h.id)
    if phone is not None:
        _tell_contact(h)


def _tell_contact(h: Household) -> None:
    """Say on stderr what could not be read in the contact (it is stored as written)."""
    from visitlog.residents import read_phones

    reading = read_phones(h.phone)
    for kind in reading.warnings:
        err_console.print(
            t(f"cli.contact.{kind}", value=h.phone, part="、".join(reading.unread)),
            soft_wrap=True,
        )


@household_app.command("list", help="help.core.household_list")
def household_list(
    ctx: typer.Context,
    grid: GridOpt = None,
    unvisited: Annotated[
        bool,
        typer.Option("--unvisited", help="help.core.household_list.unvisited"),
    ] = False,
    reveal: RevealOpt = False,
    json_out: JsonOpt = False,
    jsonl: JsonlOpt = False,
) -> None:
    """List live households."""
    store = _store(ctx)
    if grid:
        check_grid(store, grid)
    if json_out or jsonl:
        with store.households_listing(grid=grid, unvisited=unvisited) as households:
            _audit_json(store, "household", households.count, jsonl, grid=grid)
            emit_records(households, lines=jsonl)
        return
    rows = store.household_overview(grid=grid, unvisited=unvisited)
    if reveal:
        from visitlog.security import record_reveal

        record_reveal(
            store, "household", households=len(rows), grid=grid, unvisited=unvisited or None
        )
    names = ["id", "grid", "address", "head", "phone", "tags", "last_visit", "visited"]
    cells = []
    for r in rows:
        head, phone, tags = present_person(r["head"], r["phone"], r["tags"], reveal)
        cells.append(
            [
                short_id(r["id"]),
                r["micro_grid"],
                r["address"],
                head,
                phone,
                tags,
                r["last_visit"] or "",
                "✓" if r["visited_this_year"] else "✗",
            ]
        )
    # One line per household: on a narrow terminal the address is cut first,
    # then the grid (said by --grid, or the same for many rows), the tags, the
    # contact and the last visit give way.
    table = fitted_table(
        t("cli.households_title", count=len(rows)),
        [(n, t(f"col.{n}")) for n in names],
        cells,
        drop=("grid", "tags", "phone", "last_visit"),
        squeeze="address",
    )
    console.print(table)


# -- visits ------------------------------------------------------------------------


def _today() -> str:
    return dt.date.today().isoformat()


@visit_app.command("add", help="help.core.visit_add")
def visit_add(
    ctx: typer.Context,
    household: Annotated[
        str, typer.Option("--household", "-H", help="help.core.visit_add.household")
    ],
    date: Annotated[
        str | None, typer.Option("--date", "-d", help="help.core.visit_add.date")
    ] = None,
    visitor: Annotated[
        str | None,
        typer.Option("--visitor", help="help.core.visit_add.visitor"),
    ] = None,
    mode: Annotated[str, typer.Option("--mode", help="help.core.visit_add.mode")] = "入户",
    outcome: Annotated[str, typer.Option("--outcome", help="help.core.visit_add.outcome")] = "见面",
    summary: Annotated[
        str | None, typer.Option("--summary", "-s", help="help.core.visit_add.summary")
    ] = None,
    role: Annotated[str | None, typer.Option("--role", help="help.core.visit_add.role")] = None,
    next_due: Annotated[
        str | None, typer.Option("--next-due", help="help.core.visit_add.next_due")
    ] = None,
    problem: Annotated[
        list[str] | None, typer.Option("--problem", help="help.core.visit_add.problem")
    ] = None,
    demand: Annotated[
        list[str] | None, typer.Option("--demand", help="help.core.visit_add.demand")
    ] = None,
    empower: Annotated[
        list[str] | None, typer.Option("--empower", help="help.core.visit_add.empower")
    ] = None,
    measure: Annotated[
        list[str] | None, typer.Option("--measure", help="help.core.visit_add.measure")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Record a visit; prints its id."""
    store = _store(ctx)
    who = visitor or store.worker
    if not who:
        raise ValidationError(t("cli.need_visitor"))
    items = [
        Item.from_spec(kind, spec)
        for kind, specs in (
            (Kind.PROBLEM, problem),
            (Kind.DEMAND, demand),
            (Kind.EMPOWER, empower),
            (Kind.MEASURE, measure),
        )
        for spec in specs or []
    ]
    v = store.add_visit(
        Visit(
            household_id=household,
            visit_date=date or _today(),
            visitor=who,
            mode=mode,
            outcome=outcome,
            summary=summary,
            role=role,
            next_due=next_due,
            items=items,
        )
    )
    if json_out:
        emit_json(v)
    else:
        console.print(v.id)


@visit_app.command("list", help="help.core.visit_list")
def visit_list(
    ctx: typer.Context,
    household: Annotated[
        str | None, typer.Option("--household", "-H", help="help.core.visit_list.household")
    ] = None,
    grid: GridOpt = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="help.core.visit_list.date_from")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="help.core.visit_list.date_to")
    ] = None,
    visitor: Annotated[
        str | None, typer.Option("--visitor", help="help.core.visit_list.visitor")
    ] = None,
    json_out: JsonOpt = False,
    jsonl: JsonlOpt = False,
) -> None:
    """List live visits."""
    store = _store(ctx)
    if grid:
        check_grid(store, grid)
    query = {
        "household": household,
        "grid": grid,
        "date_from": date_from,
        "date_to": date_to,
        "visitor": visitor,
    }
    if json_out or jsonl:
        with store.visits_listing(**query) as listing:
            _audit_json(store, "visit", listing.count, jsonl, grid=grid, household=household)
            emit_records(listing, lines=jsonl)
        return
    visits = store.list_visits(**query)
    table = _table(
        t("cli.visits_title", count=len(visits)),
        ["id", "date", "visitor", "mode", "outcome", "summary", "items"],
        wrap=("summary",),
    )
    for v in visits:
        table.add_row(
            short_id(v.id),
            v.visit_date,
            v.visitor,
            v.mode,
            v.outcome,
            (v.summary or "")[:40],
            str(len(v.items)) if v.items else "",
        )
    console.print(table)


@visit_app.command("edit", help="help.core.visit_edit")
def visit_edit(
    ctx: typer.Context,
    visit_id: Annotated[str, typer.Argument(help="help.core.visit_edit.visit_id")],
    summary: Annotated[
        str | None, typer.Option("--summary", "-s", help="help.core.visit_edit.summary")
    ] = None,
    outcome: Annotated[
        str | None, typer.Option("--outcome", help="help.core.visit_edit.outcome")
    ] = None,
    mode: Annotated[str | None, typer.Option("--mode", help="help.core.visit_edit.mode")] = None,
    date: Annotated[
        str | None, typer.Option("--date", "-d", help="help.core.visit_edit.date")
    ] = None,
    visitor: Annotated[
        str | None, typer.Option("--visitor", help="help.core.visit_edit.visitor")
    ] = None,
    next_due: Annotated[
        str | None, typer.Option("--next-due", help="help.core.visit_edit.next_due")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Change only the fields given."""
    fields = {
        "summary": summary,
        "outcome": outcome,
        "mode": mode,
        "visit_date": date,
        "visitor": visitor,
        "next_due": next_due,
    }
    if all(v is None for v in fields.values()):
        raise ValidationError(t("err.nothing_to_change"))
    v = _store(ctx).edit_visit(visit_id, **fields)
    if json_out:
        emit_json(v)
    else:
        console.print(t("cli.visit_edited", id=v.id))


@visit_app.command("delete", help="help.core.visit_delete")
def visit_delete(
    ctx: typer.Context,
    visit_id: Annotated[str, typer.Argument(help="help.core.visit_delete.visit_id")],
    json_out: JsonOpt = False,
) -> None:
    """Delete a visit; a tombstone stays for sync."""
    vid = _store(ctx).delete_visit(visit_id)
    if json_out:
        emit_json({"id": vid, "deleted": True})
    else:
        console.print(t("cli.visit_deleted", id=vid))


# -- items -------------------------------------------------------------------------


@item_app.command("list", help="help.core.item_list")
def item_list(
    ctx: typer.Context,
    open_only: Annotated[
        bool, typer.Option("--open", help="help.core.item_list.open_only")
    ] = False,
    overdue: Annotated[bool, typer.Option("--overdue", help="help.core.item_list.overdue")] = False,
    kind: Annotated[str | None, typer.Option("--kind", help="help.core.item_list.kind")] = None,
    category: Annotated[
        str | None, typer.Option("--category", help="help.core.item_list.category")
    ] = None,
    grid: GridOpt = None,
    json_out: JsonOpt = False,
    jsonl: JsonlOpt = False,
) -> None:
    """List items, overdue first."""
    store = _store(ctx)
    if grid:
        check_grid(store, grid)
    query = {
        "open_only": open_only,
        "overdue": overdue,
        "kind": kind,
        "category": category,
        "grid": grid,
    }
    if json_out or jsonl:
        with store.items_listing(**query) as listing:
            _audit_json(store, "item", listing.count, jsonl, grid=grid)
            emit_records(listing, lines=jsonl)
        return
    items = store.list_items(**query)
    today = _today()
    table = _table(
        t("cli.items_title", count=len(items)),
        ["id", "kind", "category", "description", "status", "deadline", "owner"],
        wrap=("category", "description"),
    )
    for i in items:
        late = i.status in ("待办", "办理中") and i.deadline and i.deadline < today
        table.add_row(
            short_id(i.id),
            i.kind,
            i.category,
            i.description[:40],
            i.status,
            cell(i.deadline, "red") if late else (i.deadline or ""),
            i.owner or "",
        )
    console.print(table)


@item_app.command("update", help="help.core.item_update")
def item_update(
    ctx: typer.Context,
    item_id: Annotated[str, typer.Argument(help="help.core.item_update.item_id")],
    status: Annotated[
        str | None, typer.Option("--status", help="help.core.item_update.status")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="help.core.item_update.note")] = None,
    satisfaction: Annotated[
        str | None, typer.Option("--satisfaction", help="help.core.item_update.satisfaction")
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="help.core.item_update.owner")
    ] = None,
    deadline: Annotated[
        str | None, typer.Option("--deadline", help="help.core.item_update.deadline")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Update an item's status, note, satisfaction."""
    item = _store(ctx).update_item(
        item_id,
        status=status,
        note=note,
        satisfaction=satisfaction,
        owner=owner,
        deadline=deadline,
    )
    if json_out:
        emit_json(item)
    else:
        console.print(t("cli.item_updated", id=item.id, status=item.status))


# -- maintenance ---------------------------------------------------------------------


def check(
    ctx: typer.Context,
    full: Annotated[bool, typer.Option("--full", help="help.core.check.full")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Integrity and consistency check."""
    store = _store(ctx)
    problems = store.check(full=full)
    whole = store.last_check_whole
    if json_out:
        emit_json(
            {"ok": not problems, "problems": problems, "counts": store.count_live(), "full": whole}
        )
    elif problems:
        for p in problems:
            err_console.print(f"✗ {p}")
    else:
        console.print(t("cli.check_ok", path=store.path, **store.count_live()))
        if not whole:
            console.print(t("cli.check_partial"))
    if problems:
        raise typer.Exit(1)


def backup(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="help.core.backup.file")],
) -> None:
    """Online backup, safe while in use."""
    from visitlog.security import record_export

    store = _store(ctx)
    record_export(
        store, "backup", rows=store.count_live()["households"], to=str(file.expanduser().resolve())
    )
    dest = store.backup(file)
    console.print(t("cli.backup_done", path=dest))


def tui(ctx: typer.Context) -> None:
    """Open the terminal app."""
    from visitlog.cli.common import open_tui

    open_tui(_state(ctx))


__all__ = ["VisitlogError", "register"]
