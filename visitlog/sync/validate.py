"""Every received change checked against the model before anything is applied.

A change arrives from another replica (a sync, a bundle, a hub) as
``(device, seq, tbl, row_id, hlc, op, data, base)``.  Its author's visitlog
wrote it from validated values, so anything else is a damaged or forged
change: a ``tags`` that is not a list of known tags, an unknown enum value,
a stamp that does not follow the stamp grammar, an id that is not a uuid, a
date that is no date, a text longer than the model allows.  Applied, such a
value would spread to every replica and break listings there; so the first
invalid change refuses the whole batch (the receive runs in one transaction)
with one line naming the table, the row, the field and what is wrong.

:func:`check_change` is the one check every receive path runs (see
``Applier.add``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from typing import Any

from visitlog.i18n import t
from visitlog.model import (
    SYNCED_FIELDS,
    Category,
    ChoiceEnum,
    Kind,
    Level,
    Mode,
    Occupancy,
    Outcome,
    Role,
    Satisfaction,
    Status,
    Tag,
    VisitlogError,
)
from visitlog.visible import visible

STAMP = re.compile(r"\d{13}\.\d{5}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DEVICE = re.compile(r"[0-9a-f]{12}")
#: Row ids: device-made uuids, except where a table derives its ids.
ROW_IDS = {
    "address_aliases": re.compile(r"alias-[0-9a-f]{24}"),
    "plan_rules": re.compile(r"rule-[0-9a-f]{24}"),
}
OPS = ("insert", "update")
#: The largest ``data`` or ``base`` of one change (JSON text, characters).
MAX_DATA = 2_000_000
#: Free text without a tighter limit in the model (notes, summaries, …).
LONG_TEXT = 20_000
#: Short text: names, phones, 居民区, 小区, 编号.
SHORT_TEXT = 2_000


class InvalidChange(VisitlogError):
    """A received change that does not fit the model: the whole receive is refused."""


#: A check returns None when the value fits, else the key of what is wrong
#: (``recv.why.*``) and the values to format it with.
Check = Callable[[Any], tuple[str, dict[str, Any]] | None]


def _text(limit: int, required: bool = False, present: bool = False) -> Check:
    """Text up to ``limit``; ``required``: not empty; ``present``: not null (may be empty)."""

    def check(v: Any) -> tuple[str, dict[str, Any]] | None:
        if v is None:
            return ("recv.why.required", {}) if required or present else None
        if not isinstance(v, str):
            return "recv.why.not_text", {}
        if required and not v.strip():
            return "recv.why.required", {}
        if len(v) > limit:
            return "recv.why.too_long", {"max": limit}
        return None

    return check


def _enum(cls: type[ChoiceEnum], required: bool = False) -> Check:
    choices = frozenset(cls.choices())

    def check(v: Any) -> tuple[str, dict[str, Any]] | None:
        if v is None:
            return ("recv.why.required", {}) if required else None
        if not isinstance(v, str) or v not in choices:
            return "recv.why.enum", {"accepted": "、".join(cls.choices())}
        return None

    return check


def _choice(*values: str) -> Check:
    def check(v: Any) -> tuple[str, dict[str, Any]] | None:
        if v not in values or not isinstance(v, str):
            return "recv.why.enum", {"accepted": "、".join(values)}
        return None

    return check


def _is_date(v: Any) -> bool:
    if not isinstance(v, str) or len(v) != 10:
        return False
    try:
        dt.date.fromisoformat(v)
    except ValueError:
        return False
    return True


def _date(required: bool = False) -> Check:
    def check(v: Any) -> tuple[str, dict[str, Any]] | None:
        if v is None:
            return ("recv.why.required", {}) if required else None
        return None if _is_date(v) else ("recv.why.date", {})

    return check


def _moment(v: Any) -> tuple[str, dict[str, Any]] | None:
    """A time (ISO 8601) or None."""
    if v is None:
        return None
    if isinstance(v, str) and 10 <= len(v) <= 40:
        try:
            dt.datetime.fromisoformat(v)
            return None
        except ValueError:
            pass
    return "recv.why.moment", {}


def _uuid(required: bool = False) -> Check:
    def check(v: Any) -> tuple[str, dict[str, Any]] | None:
        if v is None:
            return ("recv.why.required", {}) if required else None
        if not isinstance(v, str) or not UUID.fullmatch(v):
            return "recv.why.uuid", {}
        return None

    return check


def _flag(v: Any) -> tuple[str, dict[str, Any]] | None:
    return None if isinstance(v, int) and v in (0, 1) else ("recv.why.flag", {})


def _members(v: Any) -> tuple[str, dict[str, Any]] | None:
    if v is None or (type(v) is int and 0 <= v <= 99):
        return None
    return "recv.why.members", {}


def _score(v: Any) -> tuple[str, dict[str, Any]] | None:
    if v is None or (isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)):
        return None
    return "recv.why.number", {}


#: Keys a planning rule may have: a tag, an item category, an outcome, or "" (every household).
_RULE_KEYS = frozenset(
    ["", *Tag.choices(), *Category.choices(), Outcome.NOT_HOME.value, Outcome.REFUSED.value]
)


def _rule_key(v: Any) -> tuple[str, dict[str, Any]] | None:
    if isinstance(v, str) and v in _RULE_KEYS:
        return None
    return "recv.why.enum", {"accepted": "、".join(sorted(k for k in _RULE_KEYS if k))}


def _days(v: Any) -> tuple[str, dict[str, Any]] | None:
    """An interval in days (1 to ten years), or None for a rule turned off."""
    if v is None or (type(v) is int and 1 <= v <= 3660):
        return None
    return "recv.why.days", {}


def _json(shape: str, fits: Callable[[Any], bool], limit: int, nullable: bool = True) -> Check:
    """JSON text holding a value of one shape (a list of tags, a dict, …)."""

    def check(v: Any) -> tuple[str, dict[str, Any]] | None:
        if v is None:
            return None if nullable else ("recv.why.required", {})
        if not isinstance(v, str):
            return "recv.why.json", {"shape": t(shape)}
        if len(v) > limit:
            return "recv.why.too_long", {"max": limit}
        try:
            inner = json.loads(v)
        except ValueError:
            return "recv.why.json", {"shape": t(shape)}
        return None if fits(inner) else ("recv.why.json", {"shape": t(shape)})

    return check


_TAGS = frozenset(Tag.choices())


def _tag_list(x: Any) -> bool:
    return isinstance(x, list) and all(isinstance(i, str) and i in _TAGS for i in x)


def _id_list(x: Any) -> bool:
    return isinstance(x, list) and all(isinstance(i, str) and UUID.fullmatch(i) for i in x)


def _text_list(x: Any) -> bool:
    return isinstance(x, list) and all(isinstance(i, str) and len(i) <= SHORT_TEXT for i in x)


def _id_map(x: Any) -> bool:
    return isinstance(x, dict) and all(
        UUID.fullmatch(k) and isinstance(i, str) and UUID.fullmatch(i) for k, i in x.items()
    )


def _record(x: Any) -> bool:
    return isinstance(x, dict)


RULES: dict[str, dict[str, Check]] = {
    "households": {
        "ref": _text(200),
        "community": _text(SHORT_TEXT),
        "micro_grid": _text(60, required=True),
        "estate": _text(SHORT_TEXT),
        "address": _text(200, required=True),
        "head": _text(SHORT_TEXT),
        "phone": _text(SHORT_TEXT),
        "members": _members,
        "occupancy": _enum(Occupancy, required=True),
        "tags": _json("recv.shape.tags", _tag_list, SHORT_TEXT, nullable=False),
        "note": _text(LONG_TEXT),
        "deleted": _flag,
    },
    "visits": {
        "household_id": _uuid(required=True),
        "visit_date": _date(required=True),
        "visitor": _text(60, required=True),
        "role": _enum(Role),
        "mode": _enum(Mode, required=True),
        "outcome": _enum(Outcome, required=True),
        "summary": _text(LONG_TEXT),
        "next_due": _date(),
        "deleted": _flag,
    },
    "items": {
        "visit_id": _uuid(required=True),
        "household_id": _uuid(required=True),
        "kind": _enum(Kind, required=True),
        "category": _enum(Category, required=True),
        "description": _text(2000, required=True),
        "level": _enum(Level),
        "owner": _text(SHORT_TEXT),
        "deadline": _date(),
        "status": _enum(Status, required=True),
        "resolution": _text(LONG_TEXT),
        "satisfaction": _enum(Satisfaction),
        "raised_date": _date(),
        "closed_date": _date(),
        "deleted": _flag,
    },
    "dedup_merges": {
        "kind": _choice("households", "visits"),
        "survivor": _uuid(required=True),
        "members": _json("recv.shape.ids", _id_list, 200_000, nullable=False),
        "score": _score,
        "reasons": _json("recv.shape.texts", _text_list, LONG_TEXT),
        "changes": _json("recv.shape.record", _record, MAX_DATA, nullable=False),
        "worker": _text(SHORT_TEXT),
        "undone": _flag,
        "undone_at": _moment,
        "twins": _json("recv.shape.id_map", _id_map, 200_000),
        "deleted": _flag,
    },
    "address_aliases": {
        "alias": _text(200, required=True),
        "target": _text(200, required=True),
        "kind": _choice("gate", "short"),
        "scope": _text(200, present=True),
        "status": _choice("confirmed", "rejected"),
        "worker": _text(SHORT_TEXT),
        "note": _text(LONG_TEXT),
        "deleted": _flag,
    },
    "plan_rules": {
        "kind": _choice("default", "tag", "item", "outcome"),
        "key": _rule_key,
        "days": _days,
        "worker": _text(SHORT_TEXT),
        "note": _text(LONG_TEXT),
        "deleted": _flag,
    },
    "dedup_decisions": {
        "kind": _choice("households", "visits"),
        "a": _uuid(required=True),
        "b": _uuid(required=True),
        "decision": _text(40, required=True),
        "worker": _text(SHORT_TEXT),
        "note": _text(LONG_TEXT),
        "deleted": _flag,
    },
}
assert {k: tuple(v) for k, v in RULES.items()} == {k: tuple(v) for k, v in SYNCED_FIELDS.items()}, (
    "a synced field without a rule"
)

#: Fields an insert may carry besides the synced ones (they travel with it).
_INSERT_EXTRA: dict[str, Check] = {"created_at": _moment}


def _shown(value: Any, limit: int = 40) -> str:
    """A short, printable rendering of a received value for the error line."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) > limit:
        text = text[:limit] + "…"
    return visible(text)


def _refuse(tbl: Any, row: Any, field: str, why: str, **values: Any) -> InvalidChange:
    return InvalidChange(
        t(
            "recv.err.invalid",
            table=_shown(tbl, 30),
            row=_shown(row),
            field=field,
            why=t(why, **values),
        )
    )


def check_change(ch: Any) -> dict[str, Any]:
    """Check one received change against the model.

    Returns:
        Its ``data``, decoded (so that it is decoded once).

    Raises:
        InvalidChange: the first thing wrong with it, in one line.
    """
    if not (isinstance(ch, list | tuple) and len(ch) == 8):
        raise InvalidChange(t("recv.err.shape"))
    device, seq, tbl, row_id, hlc, op, data, base = ch
    if not isinstance(tbl, str) or tbl not in RULES:
        raise _refuse(tbl, row_id, "tbl", "recv.why.table")
    if not isinstance(row_id, str) or not ROW_IDS.get(tbl, UUID).fullmatch(row_id):
        raise _refuse(tbl, row_id, "id", "recv.why.uuid")
    if not isinstance(device, str) or not DEVICE.fullmatch(device):
        raise _refuse(tbl, row_id, "device", "recv.why.device")
    if type(seq) is not int or seq < 1:
        raise _refuse(tbl, row_id, "seq", "recv.why.seq")
    if not isinstance(hlc, str) or not STAMP.fullmatch(hlc):
        raise _refuse(tbl, row_id, "hlc", "recv.why.stamp", value=_shown(hlc))
    if op not in OPS or not isinstance(op, str):
        raise _refuse(tbl, row_id, "op", "recv.why.enum", accepted="、".join(OPS))
    values = _object(tbl, row_id, "data", data)
    rules = RULES[tbl]
    if op == "update":
        if not values:
            raise _refuse(tbl, row_id, "data", "recv.why.empty")
        stamps = _object(tbl, row_id, "base", base)
        for f, stamp in stamps.items():
            # "~deleted": the tombstone stamp the author had seen (visitlog.sync.merge)
            if f not in rules and f != "~deleted":
                raise _refuse(tbl, row_id, f, "recv.why.field")
            if not (
                isinstance(stamp, list)
                and len(stamp) == 2
                and isinstance(stamp[0], str)
                and STAMP.fullmatch(stamp[0])
                and isinstance(stamp[1], str)
                and DEVICE.fullmatch(stamp[1])
            ):
                raise _refuse(tbl, row_id, f, "recv.why.base")
    elif base is not None:
        raise _refuse(tbl, row_id, "base", "recv.why.base")
    for f, v in values.items():
        rule = rules.get(f) or (_INSERT_EXTRA.get(f) if op == "insert" else None)
        if rule is None:
            raise _refuse(tbl, row_id, _shown(f, 30), "recv.why.field")
        wrong = rule(v)
        if wrong:
            raise _refuse(tbl, row_id, f, wrong[0], **wrong[1], value=_shown(v))
    if op == "insert":
        for f, rule in rules.items():
            if f not in values and rule(None):
                raise _refuse(tbl, row_id, f, "recv.why.required")
    return values


def _object(tbl: str, row_id: str, name: str, text: Any) -> dict[str, Any]:
    if not isinstance(text, str) or len(text) > MAX_DATA:
        raise _refuse(tbl, row_id, name, "recv.why.object")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise _refuse(tbl, row_id, name, "recv.why.object") from None
    if not isinstance(value, dict):
        raise _refuse(tbl, row_id, name, "recv.why.object")
    return value
