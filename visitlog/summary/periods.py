"""The levels of the summary and its period (both dates inclusive)."""

from __future__ import annotations

import datetime as dt

from visitlog.i18n import t
from visitlog.model import ValidationError, parse_date

#: The levels of the summary, finest first, and the JSON key naming a group.
LEVELS = ("micro-grid", "community", "street")
LEVEL_KEYS = {"micro-grid": "micro_grid", "community": "community", "street": "street"}
_LEVEL_ALIASES = {
    "micro-grid": "micro-grid",
    "micro_grid": "micro-grid",
    "microgrid": "micro-grid",
    "grid": "micro-grid",
    "微网格": "micro-grid",
    "community": "community",
    "居民区": "community",
    "street": "street",
    "街道": "street",
}


def parse_level(text: str | None) -> str:
    """Accept micro-grid|community|street (also 微网格|居民区|街道).

    Raises:
        ValidationError: naming the accepted values.
    """
    key = (text or "micro-grid").strip().lower()
    if key not in _LEVEL_ALIASES:
        raise ValidationError(t("summary.err.by", value=text, accepted="|".join(LEVELS)))
    return _LEVEL_ALIASES[key]


def resolve_period(
    date_from: str | dt.date | None,
    date_to: str | dt.date | None,
    today: dt.date | None = None,
) -> tuple[dt.date, dt.date]:
    """The period, both ends inclusive.

    Defaults: ``to`` is today; ``from`` is 1 January of the year of ``to``
    (so the default is the current calendar year up to today).

    Raises:
        ValidationError: a date that is not a date, or from after to.
    """
    today = today or dt.date.today()
    end = parse_date(date_to, "date_to") or today
    start = parse_date(date_from, "date_from") or dt.date(end.year, 1, 1)
    if start > end:
        raise ValidationError(
            t("summary.err.period", date_from=start.isoformat(), date_to=end.isoformat())
        )
    return start, end


def months_in_period(start: dt.date, end: dt.date) -> int:
    """How many calendar months the period touches (a part of a month counts as one).

    2026-01-15 … 2026-03-02 touches January, February and March: 3.
    """
    return (end.year - start.year) * 12 + end.month - start.month + 1
