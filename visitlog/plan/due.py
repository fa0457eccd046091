"""When a household is due, and why: the rule arithmetic, as pure functions.

A household's due date is the earliest date any rule gives (see
:mod:`visitlog.plan.rules`):

* **全域覆盖** (``default``) and **重点多访** (``tag``): the last live visit that
  met it (见面) plus the rule's interval; for a tag, only when the household
  carries it.  A household never met is due from the day it was registered
  (``never``; never later than today): nobody knows it yet.
* **特情必访** (``item``): an open (待办 / 办理中) 问题 or 需求 of a category with
  a rule makes it due that many days after the later of the day the item was
  raised and the last visit that met the household: visits keep coming while
  the situation lasts, and the rule stops when the item is closed.
* **不在家 / 拒访** (``outcome``): the latest visit with that outcome after the
  last meeting makes it due again that many days later.
* **约定** (``next_due``): the next-due date a visit on or after the last
  meeting recorded brings the date forward (never back: the earliest wins).

Every rule that gives the earliest date is a reason; their words come from
:meth:`Reason.text`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from visitlog.i18n import t
from visitlog.model import Outcome
from visitlog.plan.rules import RuleBook

#: Order in which reasons of one date are listed.
REASON_ORDER = ("item", "outcome", "next_due", "tag", "never", "default")


@dataclass(frozen=True, slots=True)
class VisitFact:
    """What a live visit tells the plan: its date, outcome and next-due date."""

    date: dt.date
    outcome: str
    next_due: dt.date | None = None


@dataclass(frozen=True, slots=True)
class ItemFact:
    """An open 问题 or 需求 of the household: its kind, category and the day it was raised."""

    kind: str
    category: str
    raised: dt.date


@dataclass(frozen=True)
class Reason:
    """One rule that makes a household due on ``due``.

    Attributes:
        rule: ``default``, ``tag``, ``item``, ``outcome``, ``next_due`` or ``never``.
        key: the tag, category or outcome the rule is for ("" otherwise).
        days: the rule's interval or deadline (None for ``next_due`` and ``never``).
        since: the date the rule counts from (last meeting, item raised, visit, registration).
        due: the date the rule gives.
    """

    rule: str
    key: str
    days: int | None
    since: dt.date
    due: dt.date

    def text(self, printed: bool = False) -> str:
        """The rule in words.  *printed*: for paper, where key-group tags are never named."""
        values = {"name": self.key, "days": self.days, "since": self.since, "due": self.due}
        if self.rule == "tag" and printed:
            return t("plan.reason.tag_printed", **values)
        return t(f"plan.reason.{self.rule}", **values)

    def to_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "key": self.key,
            "days": self.days,
            "since": self.since.isoformat(),
            "due": self.due.isoformat(),
            "text": self.text(),
        }


def _plus(day: dt.date, days: int) -> dt.date:
    return day + dt.timedelta(days=days)


def household_due(
    tags: Iterable[str],
    registered: dt.date,
    visits: Iterable[VisitFact],
    items: Iterable[ItemFact],
    rules: RuleBook,
    today: dt.date,
) -> tuple[dt.date, list[Reason]] | None:
    """The date a household is due and the rules that make it so.

    Args:
        tags: the household's key-group tags.
        registered: the day the household was registered (its ``created_at``).
        visits: its live visits, in any order.
        items: its open 问题 and 需求 (others are ignored).
        rules: the rules in force.
        today: the date the plan is made on.

    Returns:
        ``(due, reasons)``, or None when no rule in force applies (every rule
        that could is off).
    """
    visits = sorted(visits, key=lambda v: v.date)
    met = [v.date for v in visits if v.outcome == Outcome.MET.value]
    last_met = met[-1] if met else None
    found: list[Reason] = []
    if last_met is None:
        since = min(registered, today)
        found.append(Reason("never", "", None, since, since))
    else:
        default = rules.days("default")
        if default is not None:
            found.append(Reason("default", "", default, last_met, _plus(last_met, default)))
        tag_days = rules.active("tag")
        for tag in dict.fromkeys(tags):
            if tag in tag_days:
                days = tag_days[tag]
                found.append(Reason("tag", tag, days, last_met, _plus(last_met, days)))
    since_met = [v for v in visits if last_met is None or v.date >= last_met]
    for outcome, days in rules.active("outcome").items():
        tried = [v.date for v in since_met if v.outcome == outcome and v.date != last_met]
        if tried:
            found.append(Reason("outcome", outcome, days, tried[-1], _plus(tried[-1], days)))
    appointed = [(v.next_due, v.date) for v in since_met if v.next_due is not None]
    if appointed:
        due, made = min(appointed)
        found.append(Reason("next_due", "", None, made, due))
    item_days = rules.active("item")
    for item in items:
        if item.category in item_days:
            start = max(item.raised, last_met) if last_met else item.raised
            days = item_days[item.category]
            found.append(Reason("item", item.category, days, start, _plus(start, days)))
    if not found:
        return None
    due = min(r.due for r in found)
    reasons = sorted(
        {r for r in found if r.due == due},
        key=lambda r: (REASON_ORDER.index(r.rule), r.key, r.since),
    )
    return due, reasons
