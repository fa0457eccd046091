"""Core commands: identity, demo data, households, visits, list items, check, backup."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from visitlog.cli.common import cell, console, emit_json, err_console, progress_bar
from visitlog.cli.options import GridOpt, JsonOpt, RevealOpt
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

household_app = typer.Typer(
    help="住户：添加、修改、列出 (households: add, edit, list).", no_args_is_help=True
)
visit_app = typer.Typer(
    help="走访记录：添加、列出、修改、删除 (visits: add, list, edit, delete).",
    no_args_is_help=True,
)
item_app = typer.Typer(
    help="四个清单的条目：列出、更新状态 (list items: list, update).", no_args_is_help=True
)


def short_id(ident: str) -> str:
    """The random tail of a UUIDv7: unique in practice, and accepted as an id."""
    return ident[-8:]


def _table(title: str, columns: list[str], wrap: tuple[str, ...] = ()) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in columns:
        table.add_column(t(f"col.{col}"), no_wrap=col not in wrap, overflow="fold")
    return table


def _audit_json(store, what: str, rows: int, **detail: str | None) -> None:
    """A ``--json`` listing writes records out of the database: audited before it is printed."""
    from visitlog.security import record_export

    record_export(store, what, rows=rows, to="stdout", format="json", **detail)


def _state(ctx: typer.Context):
    return ctx.find_root().obj


def _store(ctx: typer.Context):
    return _state(ctx).store()


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("demo")(demo)
    app.command("check")(check)
    app.command("backup")(backup)
    app.command("tui")(tui)
    app.add_typer(household_app, name="household")
    app.add_typer(visit_app, name="visit")
    app.add_typer(item_app, name="item")


# -- identity ----------------------------------------------------------------


def init(
    ctx: typer.Context,
    worker: Annotated[str, typer.Option("--worker", "-w", help="社工姓名 (worker's name).")],
    device: Annotated[
        str | None, typer.Option("--device", help="这台电脑的名字 (this laptop's name).")
    ] = None,
    grid: GridOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """设置本机身份：社工姓名、设备名、默认微网格 (this laptop's identity)."""
    info = _store(ctx).init_identity(worker, device, grid)
    if json_out:
        emit_json(info)
    else:
        console.print(t("cli.init_done", **info))


def demo(
    ctx: typer.Context,
    households: Annotated[
        int, typer.Option("--households", "-n", min=1, max=200_000, help="住户数 (households).")
    ] = 2000,
    seed: Annotated[
        int, typer.Option("--seed", help="随机种子 (seed; same seed, same street).")
    ] = 1,
    json_out: JsonOpt = False,
) -> None:
    """生成一个逼真的示范街道 (fill the database with a realistic demo street)."""
    from visitlog.demo import generate_into

    store = _store(ctx)
    started = time.perf_counter()
    with progress_bar(lambda *_: t("cli.demo_progress")) as progress:
        # The demo street still reports (households_done, households_total).
        report = (lambda done, total: progress("households", done, total)) if progress else False
        counts = generate_into(store, households=households, seed=seed, progress=report)
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


@household_app.command("add")
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
    json_out: JsonOpt = False,
) -> None:
    """添加一户 (add a household)."""
    h = _store(ctx).add_household(
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


@household_app.command("edit")
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
    """修改一户，只改给出的字段 (change the given fields of a household)."""
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


@household_app.command("list")
def household_list(
    ctx: typer.Context,
    grid: GridOpt = None,
    unvisited: Annotated[
        bool,
        typer.Option("--unvisited", help="只列今年还没见面的户 (only those not met this year)."),
    ] = False,
    reveal: RevealOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """列出住户 (list live households)."""
    store = _store(ctx)
    if json_out:
        households = store.list_households(grid=grid, unvisited=unvisited)
        _audit_json(store, "household", len(households), grid=grid)
        emit_json(households)
        return
    if grid:
        store.check_grid(grid)
    rows = store.household_overview(grid=grid, unvisited=unvisited)
    if reveal:
        from visitlog.security import record_reveal

        record_reveal(store, "household", grid=grid, unvisited=unvisited or None, count=len(rows))
    table = _table(
        t("cli.households_title", count=len(rows)),
        ["id", "grid", "address", "head", "phone", "tags", "last_visit", "visited"],
        wrap=("grid", "address"),
    )
    for r in rows:
        head, phone, tags = present_person(r["head"], r["phone"], r["tags"], reveal)
        table.add_row(
            short_id(r["id"]),
            r["micro_grid"],
            r["address"],
            head,
            phone,
            tags,
            r["last_visit"] or "",
            "✓" if r["visited_this_year"] else "✗",
        )
    console.print(table)


# -- visits ------------------------------------------------------------------------


def _today() -> str:
    return dt.date.today().isoformat()


@visit_app.command("add")
def visit_add(
    ctx: typer.Context,
    household: Annotated[
        str, typer.Option("--household", "-H", help="住户编号，可只写前几位 (household id).")
    ],
    date: Annotated[
        str | None, typer.Option("--date", "-d", help="走访日期 YYYY-MM-DD，默认今天.")
    ] = None,
    visitor: Annotated[
        str | None,
        typer.Option("--visitor", help="走访人，默认本机社工 (visitor; default: this worker)."),
    ] = None,
    mode: Annotated[str, typer.Option("--mode", help="入户|电话|线上|约见|楼组活动.")] = "入户",
    outcome: Annotated[str, typer.Option("--outcome", help="见面|不在家|拒访|已搬离.")] = "见面",
    summary: Annotated[str | None, typer.Option("--summary", "-s", help="民情摘要.")] = None,
    role: Annotated[str | None, typer.Option("--role", help="走访人身份 (visitor's role).")] = None,
    next_due: Annotated[str | None, typer.Option("--next-due", help="下次走访日期.")] = None,
    problem: Annotated[
        list[str] | None, typer.Option("--problem", help='问题 "类别:描述"，可多次.')
    ] = None,
    demand: Annotated[list[str] | None, typer.Option("--demand", help='需求 "类别:描述".')] = None,
    empower: Annotated[
        list[str] | None, typer.Option("--empower", help='赋能 "类别:描述".')
    ] = None,
    measure: Annotated[
        list[str] | None, typer.Option("--measure", help='措施 "类别:描述".')
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """记录一次走访；打印新记录的编号 (record a visit; prints its id)."""
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


@visit_app.command("list")
def visit_list(
    ctx: typer.Context,
    household: Annotated[str | None, typer.Option("--household", "-H", help="住户编号.")] = None,
    grid: GridOpt = None,
    date_from: Annotated[str | None, typer.Option("--from", help="开始日期 (from date).")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="结束日期 (to date).")] = None,
    visitor: Annotated[str | None, typer.Option("--visitor", help="走访人.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """列出走访记录（不含已删除的）(list live visits)."""
    store = _store(ctx)
    visits = store.list_visits(
        household=household, grid=grid, date_from=date_from, date_to=date_to, visitor=visitor
    )
    if json_out:
        _audit_json(store, "visit", len(visits), grid=grid, household=household)
        emit_json(visits)
        return
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


@visit_app.command("edit")
def visit_edit(
    ctx: typer.Context,
    visit_id: Annotated[str, typer.Argument(help="走访编号，可只写前几位 (visit id).")],
    summary: Annotated[str | None, typer.Option("--summary", "-s", help="民情摘要.")] = None,
    outcome: Annotated[str | None, typer.Option("--outcome", help="走访结果.")] = None,
    mode: Annotated[str | None, typer.Option("--mode", help="走访方式.")] = None,
    date: Annotated[str | None, typer.Option("--date", "-d", help="走访日期.")] = None,
    visitor: Annotated[str | None, typer.Option("--visitor", help="走访人.")] = None,
    next_due: Annotated[str | None, typer.Option("--next-due", help="下次走访日期.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """只修改给出的字段 (change only the fields given)."""
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


@visit_app.command("delete")
def visit_delete(
    ctx: typer.Context,
    visit_id: Annotated[str, typer.Argument(help="走访编号 (visit id).")],
    json_out: JsonOpt = False,
) -> None:
    """删除一条走访（保留删除标记以便同步）(delete a visit; a tombstone stays for sync)."""
    vid = _store(ctx).delete_visit(visit_id)
    if json_out:
        emit_json({"id": vid, "deleted": True})
    else:
        console.print(t("cli.visit_deleted", id=vid))


# -- items -------------------------------------------------------------------------


@item_app.command("list")
def item_list(
    ctx: typer.Context,
    open_only: Annotated[
        bool, typer.Option("--open", help="只列未办结的 (open items only).")
    ] = False,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="只列已超期的 (overdue only).")
    ] = False,
    kind: Annotated[str | None, typer.Option("--kind", help="问题|需求|赋能|措施.")] = None,
    category: Annotated[str | None, typer.Option("--category", help="类别 (category).")] = None,
    grid: GridOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """列出清单条目，超期的在前 (list items, overdue first)."""
    store = _store(ctx)
    items = store.list_items(
        open_only=open_only, overdue=overdue, kind=kind, category=category, grid=grid
    )
    if json_out:
        _audit_json(store, "item", len(items), grid=grid)
        emit_json(items)
        return
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


@item_app.command("update")
def item_update(
    ctx: typer.Context,
    item_id: Annotated[str, typer.Argument(help="条目编号 (item id).")],
    status: Annotated[
        str | None, typer.Option("--status", help="待办|办理中|已办结|已反馈|无法解决.")
    ] = None,
    note: Annotated[
        str | None, typer.Option("--note", help="办理情况说明 (resolution note).")
    ] = None,
    satisfaction: Annotated[
        str | None, typer.Option("--satisfaction", help="满意|基本满意|不满意|未评.")
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="责任人 (owner).")] = None,
    deadline: Annotated[str | None, typer.Option("--deadline", help="办理期限.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """更新条目的状态、说明和满意度 (update an item's status, note, satisfaction)."""
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


def check(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """检查数据库完整性和数据一致性 (integrity and consistency check)."""
    store = _store(ctx)
    problems = store.check()
    if json_out:
        emit_json({"ok": not problems, "problems": problems, "counts": store.count_live()})
    elif problems:
        for p in problems:
            err_console.print(f"✗ {p}")
    else:
        console.print(t("cli.check_ok", path=store.path, **store.count_live()))
    if problems:
        raise typer.Exit(1)


def backup(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="备份文件 (backup file).")],
) -> None:
    """在线备份数据库（使用中也可以）(online backup, safe while in use)."""
    from visitlog.security import record_export

    store = _store(ctx)
    record_export(
        store, "backup", rows=store.count_live()["households"], to=str(file.expanduser().resolve())
    )
    dest = store.backup(file)
    console.print(t("cli.backup_done", path=dest))


def tui(ctx: typer.Context) -> None:
    """打开终端界面 (open the terminal app)."""
    from visitlog.cli.common import open_tui

    open_tui(_state(ctx))


__all__ = ["VisitlogError", "register"]
