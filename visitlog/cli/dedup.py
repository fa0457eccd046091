"""``visitlog dedup``: find, merge, undo and dismiss duplicate households and visits."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from visitlog.cli.common import console, emit_json, err_console
from visitlog.cli.options import JsonOpt, RevealOpt
from visitlog.i18n import t
from visitlog.model import ValidationError
from visitlog.privacy import present_person

dedup_app = typer.Typer(
    help="help.dedup.dedup_app",
    no_args_is_help=True,
)

ThresholdOpt = Annotated[
    str | None,
    typer.Option(
        "--threshold",
        help="help.dedup.ThresholdOpt",
        show_default=False,
    ),
]
ApplyOpt = Annotated[
    bool,
    typer.Option("--apply", help="help.dedup.ApplyOpt"),
]

ChangedOpt = Annotated[
    bool,
    typer.Option("--changed", help="help.dedup.ChangedOpt"),
]


def register(app: typer.Typer) -> None:
    app.add_typer(dedup_app, name="dedup")


def _store(ctx: typer.Context):
    return ctx.find_root().obj.store()


def _threshold(text: str | None) -> float:
    from visitlog.dedup import DEFAULT_THRESHOLD

    if text is None:
        return DEFAULT_THRESHOLD
    try:
        value = float(text.strip())
    except ValueError:
        raise ValidationError(t("dedup.err.threshold", value=text)) from None
    if not 0 < value <= 1:
        raise ValidationError(t("dedup.err.threshold", value=text))
    return value


def _run(
    ctx: typer.Context,
    kind: str,
    threshold: str | None,
    apply: bool,
    json_out: bool,
    reveal: bool,
    changed: bool = False,
) -> None:
    from visitlog import dedup
    from visitlog.dedup import merges as dedup_merge

    store = _store(ctx)
    result = dedup.find(store, kind, _threshold(threshold), changed=changed)
    if changed:
        if result.stats.get("changed_many"):
            err_console.print(t("dedup.changed_many", count=result.stats["changed_many"]))
        elif result.stats.get("changed") is None:
            err_console.print(t("dedup.changed_full"))
        elif not json_out:
            err_console.print(t("dedup.changed", **result.stats))
    merges: list[str] = []
    if apply and result.clusters:
        merges = dedup_merge.apply(store, result)
    if json_out:
        from visitlog.security import record_export

        record_export(store, "dedup", rows=len(result.pairs), to="stdout", format="json", kind=kind)
        out = result.to_json()
        if apply:
            out["merges"] = merges
        emit_json(out)
        return
    if reveal:
        from visitlog.security import record_reveal

        shown = {i for p in result.pairs for i in (p.a, p.b)}
        record_reveal(
            store, "dedup", households=len(shown) if kind == "households" else 0, kind=kind
        )
    _print(store, result, reveal)
    if apply:
        if merges:
            console.print(t("dedup.applied", count=len(merges)))
            for mid in merges:
                console.print(mid)
    elif result.clusters:
        console.print(t("dedup.apply_hint", clusters=len(result.clusters)))


def _label(kind: str, info: dict[str, Any] | None, reveal: bool) -> str:
    if info is None:
        return ""
    if kind == "households":
        head, phone, _tags = present_person(info["head"], info["phone"], None, reveal)
        return " ".join(x for x in (info["address"], head, phone) if x)
    parts = [info["visit_date"], info["visitor"], info["mode"], info["outcome"]]
    summary = info["summary"] or ""
    return " ".join(parts) + (f"\n{summary}" if summary else "")


def _print(store: Any, result: Any, reveal: bool) -> None:
    from visitlog.cli.core import short_id
    from visitlog.dedup import describe

    noun = t(f"noun.{result.kind}")
    if not result.pairs:
        console.print(t("dedup.none", kind=noun))
    else:
        cluster_no = {rid: n for n, c in enumerate(result.clusters, 1) for rid in c}
        info = describe(store, result.kind, {i for p in result.pairs for i in (p.a, p.b)})
        table = Table(
            title=t(
                "dedup.title",
                kind=noun,
                pairs=len(result.pairs),
                clusters=len(result.clusters),
                threshold=result.threshold,
            ),
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        table.add_column(t("dedup.col.score"), justify="right", no_wrap=True)
        table.add_column(t("dedup.col.cluster"), justify="right", no_wrap=True)
        table.add_column(t("dedup.col.a"), overflow="fold")
        table.add_column(t("dedup.col.b"), overflow="fold")
        table.add_column(t("dedup.col.reasons"), overflow="fold")
        for p in result.pairs:
            n = cluster_no.get(p.a) if cluster_no.get(p.a) == cluster_no.get(p.b) else None
            table.add_row(
                f"{p.score:.3f}",
                str(n) if n else "",
                f"{short_id(p.a)} {_label(result.kind, info.get(p.a), reveal)}",
                f"{short_id(p.b)} {_label(result.kind, info.get(p.b), reveal)}",
                "；".join(p.reasons),
            )
        console.print(table)
    stats = result.stats
    err_console.print(t("dedup.stats", **stats))
    if stats.get("skipped_blocks"):
        err_console.print(
            t(
                "dedup.skipped",
                blocks=stats["skipped_blocks"],
                records=stats.get("skipped_block_records", "?"),
            )
        )


@dedup_app.command("households", help="help.dedup.households")
def households(
    ctx: typer.Context,
    threshold: ThresholdOpt = None,
    apply: ApplyOpt = False,
    reveal: RevealOpt = False,
    json_out: JsonOpt = False,
    changed: ChangedOpt = False,
) -> None:
    """Find duplicate households; --apply merges them."""
    _run(ctx, "households", threshold, apply, json_out, reveal, changed)


@dedup_app.command("visits", help="help.dedup.visits")
def visits(
    ctx: typer.Context,
    threshold: ThresholdOpt = None,
    apply: ApplyOpt = False,
    reveal: RevealOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Find visits entered twice; --apply merges them."""
    _run(ctx, "visits", threshold, apply, json_out, reveal)


@dedup_app.command("review", help="help.dedup.review")
def review(
    ctx: typer.Context,
    threshold: ThresholdOpt = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="help.dedup.review.limit"),
    ] = None,
    merge: Annotated[
        tuple[str, str] | None,
        typer.Option("--merge", help="help.dedup.review.merge", show_default=False),
    ] = None,
    distinct: Annotated[
        tuple[str, str] | None,
        typer.Option("--distinct", help="help.dedup.review.distinct", show_default=False),
    ] = None,
    reveal: RevealOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Households for a person to decide, the most instructive first; --merge / --distinct decide."""
    from visitlog import dedup
    from visitlog.dedup import merges as dedup_merge

    store = _store(ctx)
    if merge and distinct:
        raise ValidationError(t("dedup.err.one_decision"))
    if merge or distinct:
        a, b = merge or distinct  # type: ignore[misc]
        if merge:
            done = {"decision": "merge", "id": dedup_merge.merge(store, [a, b], kind="households")}
        else:
            done = {"decision": "distinct", **dedup_merge.mark_distinct(store, a, b)}
        if json_out:
            emit_json(done)
        elif merge:
            console.print(t("dedup.applied", count=1))
            console.print(done["id"])
        else:
            console.print(t("dedup.ignored", a=done["a"], b=done["b"]))
        return
    result = dedup.find_households(store, _threshold(threshold))
    pairs = result.review[:limit] if limit else result.review
    if json_out:
        emit_json(
            {
                "threshold": result.threshold,
                "review_floor": dedup.REVIEW_FLOOR,
                "pairs": [p.to_json() for p in pairs],
                "total": len(result.review),
            }
        )
        return
    if reveal:
        from visitlog.security import record_reveal

        shown_ids = {i for p in pairs for i in (p.a, p.b)}
        record_reveal(store, "dedup", households=len(shown_ids), kind="households")
    shown = dedup.Candidates(result.kind, result.threshold, pairs, [], result.stats)
    if not pairs:
        console.print(t("dedup.review_none"))
        return
    console.print(t("dedup.review_title", count=len(result.review), shown=len(pairs)))
    _print(store, shown, reveal)
    console.print(t("dedup.review_hint"))


@dedup_app.command("undo", help="help.dedup.undo")
def undo(
    ctx: typer.Context,
    merge_id: Annotated[str, typer.Argument(help="help.dedup.undo.merge_id")],
    json_out: JsonOpt = False,
) -> None:
    """Undo a merge, restoring every field it changed."""
    from visitlog.dedup import undo as undo_merge

    result = undo_merge(_store(ctx), merge_id)
    if json_out:
        emit_json(result)
        return
    console.print(t("dedup.undone", id=result["id"], rows=result["rows"], fields=result["fields"]))
    if result["also"]:
        console.print(
            t("dedup.undone_also", count=len(result["also"]), ids="、".join(result["also"]))
        )
    if result["skipped"]:
        console.print(
            t(
                "dedup.undone_skipped",
                count=len(result["skipped"]),
                fields="、".join(result["skipped"]),
            )
        )


@dedup_app.command("ignore", help="help.dedup.ignore")
def ignore(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="help.dedup.ignore.a")],
    b: Annotated[str, typer.Argument(help="help.dedup.ignore.b")],
    note: Annotated[str | None, typer.Option("--note", help="help.dedup.ignore.note")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Record that A and B are not duplicates."""
    from visitlog.dedup import mark_distinct

    result = mark_distinct(_store(ctx), a, b, note)
    if json_out:
        emit_json(result)
        return
    console.print(t("dedup.ignored", a=result["a"], b=result["b"]))


@dedup_app.command("merges", help="help.dedup.merges")
def merges(
    ctx: typer.Context,
    json_out: JsonOpt = False,
) -> None:
    """List merges, newest first."""
    from visitlog.cli.core import short_id
    from visitlog.dedup import list_merges

    rows = list_merges(_store(ctx))
    if json_out:
        emit_json(rows)
        return
    table = Table(
        title=t("dedup.merges_title", count=len(rows)),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for col in ("id", "kind", "survivor", "merged", "state", "at"):
        table.add_column(t(f"dedup.col.{col}"), no_wrap=col != "merged", overflow="fold")
    for r in rows:
        table.add_row(
            short_id(r["id"]),
            t(f"noun.{r['kind']}"),
            short_id(r["survivor"]),
            " ".join(short_id(m) for m in r["members"]),
            t("dedup.undone_state") if r["undone"] else "",
            (r["created_at"] or "")[:16].replace("T", " "),
        )
    console.print(table)
