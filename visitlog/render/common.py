"""What every format of the summary shares: columns, group names, the period, notes, lists.

The metrics of a group are :class:`Column` s (where the value is in the
JSON, how it is labelled and shown); the lists of households still due and
overdue items are rows with typed values (dates as dates, counts as
numbers), masked through :mod:`visitlog.privacy` unless ``reveal``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from visitlog.i18n import t
from visitlog.model import Category, Kind, Mode, Outcome, Satisfaction, Tag
from visitlog.privacy import present_person
from visitlog.summary import STILL_DUE_REASONS, Summary

#: Coverage at or above GOOD is green, at or above FAIR yellow, below red.
GOOD, FAIR = 0.9, 0.6


# -- values and columns ------------------------------------------------------------


def pct(value: float | None, empty: str = "—") -> str:
    """0.853 → 85.3%; None (nothing to divide by) → —."""
    return empty if value is None else f"{value * 100:.1f}%"


def days(value: float | None, empty: str = "—") -> str:
    return empty if value is None else f"{value:.1f}"


def coverage_style(value: float | None) -> str:
    """The colour of a coverage figure: green, yellow or red (dim when none)."""
    if value is None:
        return "dim"
    return "green" if value >= GOOD else "yellow" if value >= FAIR else "red"


@dataclass(frozen=True)
class Column:
    """One metric of a group as a column: where it is in the JSON and how to show it."""

    path: tuple[str, ...]
    label: str
    kind: str = "int"  # int | pct | days

    def value(self, group: dict[str, Any]) -> Any:
        v: Any = group
        for key in self.path:
            v = v.get(key) if isinstance(v, dict) else None
        return v

    def text(self, group: dict[str, Any], empty: str = "—") -> str:
        v = self.value(group)
        if self.kind == "pct":
            return pct(v, empty)
        if self.kind == "days":
            return days(v, empty)
        return empty if v is None else str(v)


def _c(path: str, key: str, fmt: str = "int", **kw: Any) -> Column:
    return Column(tuple(path.split(".")), t(f"summary.col.{key}", **kw), fmt)


def flat_columns() -> list[Column]:
    """Every metric of a group, one column each (CSV and XLSX)."""
    cols = [
        _c("households", "households"),
        _c("visited_households", "visited"),
        _c("coverage", "coverage", "pct"),
        _c("still_due", "still_due"),
    ]
    cols += [_c(f"still_due_reasons.{r}", "still_due_reason", reason=r) for r in STILL_DUE_REASONS]
    cols += [
        _c("live_households", "live"),
        _c("vacant_households", "vacant"),
        _c("visits", "visits"),
    ]
    cols += [_c(f"visits_by_mode.{m}", "visits_mode", mode=m) for m in Mode.choices()]
    cols += [_c(f"visits_by_outcome.{o}", "visits_outcome", outcome=o) for o in Outcome.choices()]
    cols += [
        _c("active_visitors", "visitors"),
        _c("key_households", "key_households"),
        _c("key_visited", "key_visited"),
        _c("key_coverage", "key_coverage", "pct"),
    ]
    for tag in Tag.choices():
        cols.append(_c(f"key_groups.{tag}.households", "tag_households", tag=tag))
        cols.append(_c(f"key_groups.{tag}.visited", "tag_visited", tag=tag))
    cols.append(_c("items_total", "items"))
    cols += [_c(f"items.{k}", "kind", kind=k) for k in Kind.choices()]
    cols += [_c(f"items_by_category.{c}", "category", category=c) for c in Category.choices()]
    cols += [
        _c("open_items", "open"),
        _c("closed_items", "closed"),
        _c("overdue_items", "overdue"),
        _c("on_spot_rate", "on_spot_rate", "pct"),
        _c("closure_rate", "closure_rate", "pct"),
        _c("on_time_rate", "on_time_rate", "pct"),
        _c("avg_days_to_close", "avg_days", "days"),
        _c("feedback_rate", "feedback_rate", "pct"),
        _c("satisfaction_rate", "satisfaction_rate", "pct"),
    ]
    cols += [_c(f"satisfaction.{s}", "satisfaction", value=s) for s in Satisfaction.choices()]
    cols += [_c("merged_households", "merged_households"), _c("merged_visits", "merged_visits")]
    return cols


def _columns(paths: Iterable[str]) -> list[Column]:
    """The columns of :func:`flat_columns` at *paths* (``items.问题``), in that order."""
    every = {".".join(c.path): c for c in flat_columns()}
    return [every[p] for p in paths]


def meeting_columns() -> list[Column]:
    """What the committee reads at the meeting, in reading order, one printed page wide.

    Coverage first (due, met, coverage, still due, key groups, visits), then
    the four lists, then how they are handled (open, overdue, 办结率, 按时办结率,
    满意率).  Everything else is on the detail sheets (:func:`detail_views`).
    """
    return _columns(
        [
            "households",
            "visited_households",
            "coverage",
            "still_due",
            "key_coverage",
            "visits",
            *(f"items.{k}" for k in Kind.choices()),
            "open_items",
            "overdue_items",
            "closure_rate",
            "on_time_rate",
            "satisfaction_rate",
        ]
    )


def detail_views() -> list[tuple[str, list[Column]]]:
    """The rest of the figures per group, a sheet per theme that prints one page wide.

    Together with :func:`meeting_columns` and the key groups (a sheet of their
    own, a row per tag) they hold every column of :func:`flat_columns`.
    """
    visits = [
        "live_households",
        "vacant_households",
        "households",
        "visited_households",
        "still_due",
        *(f"still_due_reasons.{r}" for r in STILL_DUE_REASONS),
        "visits",
        "active_visitors",
        "merged_households",
        "merged_visits",
    ]
    modes = [
        "visits",
        *(f"visits_by_mode.{m}" for m in Mode.choices()),
        *(f"visits_by_outcome.{o}" for o in Outcome.choices()),
    ]
    handling = [
        "items_total",
        "open_items",
        "closed_items",
        "overdue_items",
        "on_spot_rate",
        "closure_rate",
        "on_time_rate",
        "avg_days_to_close",
        "feedback_rate",
        *(f"satisfaction.{v}" for v in Satisfaction.choices()),
        "satisfaction_rate",
    ]
    # On the sheet of categories a header is the category alone.
    categories = [_columns(["items_total"])[0]] + [
        replace(c, label=t("summary.col.category_short", category=c.path[1]))
        for c in _columns(f"items_by_category.{c}" for c in Category.choices())
    ]
    return [
        (t("summary.sheet.visits"), _columns(visits)),
        (t("summary.sheet.modes"), _columns(modes)),
        (t("summary.sheet.categories"), categories),
        (t("summary.sheet.handling"), _columns(handling)),
    ]


def views() -> list[tuple[str, list[Column]]]:
    """The short tables of the terminal, Markdown and HTML overview (each fits 80 columns)."""
    return [
        (
            t("summary.view.visits"),
            [
                _c("households", "households_short"),
                _c("visited_households", "visited_short"),
                _c("coverage", "coverage_short", "pct"),
                _c("still_due", "still_due_short"),
                _c("visits", "visits_short"),
                _c("active_visitors", "visitors_short"),
                _c("key_coverage", "key_coverage_short", "pct"),
            ],
        ),
        (
            t("summary.view.items"),
            [_c(f"items.{k}", "kind_short", kind=k) for k in Kind.choices()]
            + [_c("open_items", "open_short"), _c("overdue_items", "overdue_short")],
        ),
        (
            t("summary.view.rates"),
            [
                _c("closure_rate", "closure_short", "pct"),
                _c("on_spot_rate", "on_spot_short", "pct"),
                _c("on_time_rate", "on_time_short", "pct"),
                _c("feedback_rate", "feedback_short", "pct"),
                _c("satisfaction_rate", "satisfaction_short", "pct"),
                _c("avg_days_to_close", "avg_days_short", "days"),
            ],
        ),
    ]


def level_label(by: str) -> str:
    return t(f"summary.level.{by}")


def group_name(summary: Summary, g: dict[str, Any]) -> str:
    name = g.get(summary.level_key)
    return t("summary.no_community") if name is None else str(name)


def period_text(summary: Summary) -> str:
    return t(
        "summary.period",
        date_from=summary.date_from.isoformat(),
        date_to=summary.date_to.isoformat(),
    )


def group_rows(summary: Summary) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    data = summary.to_json()
    return data["groups"], data["totals"]


def note_lines(summary: Summary, totals: dict[str, Any]) -> list[str]:
    """The lines under the tables: key groups, top categories, modes, data health."""
    lines = []
    tags = [
        f"{tag} {v['visited']}/{v['households']}"
        for tag, v in totals["key_groups"].items()
        if v["households"]
    ]
    if tags:
        lines.append(t("summary.note.key_groups") + "：" + "，".join(tags))
    if totals["top_categories"]:
        lines.append(
            t("summary.note.top_categories")
            + "："
            + "，".join(f"{c['category']} {c['count']}" for c in totals["top_categories"])
        )
    lines.append(
        t("summary.note.modes")
        + "："
        + "，".join(f"{m} {n}" for m, n in totals["visits_by_mode"].items())
    )
    reasons = "，".join(f"{r} {n}" for r, n in totals["still_due_reasons"].items())
    lines.append(t("summary.note.still_due") + "：" + reasons)
    lines.append(
        t(
            "summary.note.health",
            merged_households=totals["merged_households"],
            merged_visits=totals["merged_visits"],
            unsynced=totals["unsynced_changes"],
            conflicts=totals["open_conflicts"],
        )
    )
    lines.append(t("summary.note.overdue_cutoff", cutoff=summary.overdue_cutoff.isoformat()))
    return lines


# -- the still-due and overdue lists ---------------------------------------------------


def still_due_columns() -> list[str]:
    return [
        t("summary.level.community"),
        t("summary.level.micro-grid"),
        t("summary.list.address"),
        t("summary.list.head"),
        t("summary.list.phone"),
        t("summary.list.tags"),
        t("summary.list.reason"),
        t("summary.list.last_visit"),
    ]


def still_due_rows(summary: Summary, reveal: bool) -> Iterable[list[Any]]:
    """The households still due, masked unless ``reveal``.

    Key groups are a count (a number, None for none) unless ``reveal``, when
    they are the tags; the last attempt is a date or None.
    """
    for r in summary.still_due_list or []:
        head, phone, tags = present_person(r["head"], r["phone"], r["tags"], reveal)
        yield [
            r["community"] or "",
            r["micro_grid"],
            r["address"],
            head,
            phone,
            tags if reveal else (len(r["tags"]) or None),
            r["reason"],
            r["last_visit"],
        ]


def overdue_columns() -> list[str]:
    return [
        t("summary.level.community"),
        t("summary.level.micro-grid"),
        t("summary.list.address"),
        t("summary.list.kind"),
        t("summary.list.category"),
        t("summary.list.description"),
        t("summary.list.status"),
        t("summary.list.owner"),
        t("summary.list.deadline"),
        t("summary.list.days_overdue"),
    ]


def overdue_rows(summary: Summary) -> Iterable[list[Any]]:
    """The overdue items; the deadline is a date, the days overdue a number."""
    for r in summary.overdue_list or []:
        yield [
            r["community"] or "",
            r["micro_grid"],
            r["address"],
            r["kind"],
            r["category"],
            r["description"],
            r["status"],
            r["owner"] or "",
            r["deadline"],
            r["days_overdue"],
        ]
