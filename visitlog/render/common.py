"""What every format of the summary shares: formatting, columns, names, the period, notes, lists.

The metrics of a group come from the registry (:mod:`visitlog.summary.metrics`)
as :class:`~visitlog.summary.Column` s of a view (where the value is in the
JSON, how it is labelled); :func:`text` formats one the way every format
shows it (:func:`pct` is the one percentage); the lists of households still due and
overdue items are rows with typed values (dates as dates, counts as
numbers), masked through :mod:`visitlog.privacy` unless ``reveal``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from visitlog.i18n import t
from visitlog.privacy import present_person
from visitlog.summary import (
    DETAIL_SHEETS,
    FLAT,
    MEETING,
    OVERVIEWS,
    Column,
    Summary,
    columns,
    view_title,
)
from visitlog.summary.views import DAYS_FMT, PCT

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


def text(col: Column, group: dict[str, Any], empty: str = "—") -> str:
    """A column's value in *group* (a group's JSON) as shown: formatted by its kind."""
    v = col.value(group)
    if col.kind == PCT:
        return pct(v, empty)
    if col.kind == DAYS_FMT:
        return days(v, empty)
    return empty if v is None else str(v)


def flat_columns() -> list[Column]:
    """Every metric of a group, one column each (CSV and XLSX)."""
    return columns(FLAT)


def meeting_columns() -> list[Column]:
    """What the committee reads at the meeting, in reading order, one printed page wide."""
    return columns(MEETING)


def detail_views() -> list[tuple[str, list[Column]]]:
    """The rest of the figures per group, a sheet per theme that prints one page wide.

    Together with :func:`meeting_columns` and the key groups (a sheet of their
    own, a row per tag) they hold every column of :func:`flat_columns`.
    """
    return [(view_title(v), columns(v)) for v in DETAIL_SHEETS]


def views() -> list[tuple[str, list[Column]]]:
    """The short tables of the terminal, Markdown and HTML overview (each fits 80 columns)."""
    return [(view_title(v), columns(v)) for v in OVERVIEWS]


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


def notes(summary: Summary, totals: dict[str, Any]) -> list[tuple[str, str]]:
    """The notes under the tables as (label, text), in the current language.

    Key groups, top categories, visit modes, why still due, data health and the
    overdue cut-off; the items of a list are joined with the language's
    separator (``，`` / ``, ``).  The XLSX notes sheet puts label and text in
    cells of their own; the other formats show :func:`note_lines`.
    """
    sep = t("summary.note.list_sep")
    out = []
    tags = [
        f"{tag} {v['visited']}/{v['households']}"
        for tag, v in totals["key_groups"].items()
        if v["households"]
    ]
    if tags:
        out.append((t("summary.note.key_groups"), sep.join(tags)))
    if totals["top_categories"]:
        top = sep.join(f"{c['category']} {c['count']}" for c in totals["top_categories"])
        out.append((t("summary.note.top_categories"), top))
    modes = sep.join(f"{m} {n}" for m, n in totals["visits_by_mode"].items())
    out.append((t("summary.note.modes"), modes))
    reasons = sep.join(f"{r} {n}" for r, n in totals["still_due_reasons"].items())
    out.append((t("summary.note.still_due"), reasons))
    health = t(
        "summary.note.health_text",
        merged_households=totals["merged_households"],
        merged_visits=totals["merged_visits"],
        unsynced=totals["unsynced_changes"],
        conflicts=totals["open_conflicts"],
    )
    out.append((t("summary.note.health"), health))
    cutoff = t("summary.note.overdue_cutoff", cutoff=summary.overdue_cutoff.isoformat())
    out.append((t("summary.note.overdue"), cutoff))
    return out


def note_line(label: str, text: str) -> str:
    """A note as one line: its label, the language's ``：`` / ``: ``, its text."""
    return label + t("summary.note.sep") + text


def note_lines(summary: Summary, totals: dict[str, Any]) -> list[str]:
    """The lines under the tables (:func:`notes`, each label joined to its text)."""
    return [note_line(label, text) for label, text in notes(summary, totals)]


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
