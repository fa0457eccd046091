"""The street's planning rules: built-in defaults, overridden by synced rows.

A rule is named by its ``kind`` and ``key``:

* ``default`` (key ""): 全域覆盖, every household met at least every N days;
* ``tag`` (a key-group tag): 重点多访, households carrying the tag met every N days;
* ``item`` (an item category): 特情必访, an open 问题 or 需求 of that category
  makes the household due within N days;
* ``outcome`` (不在家 or 拒访): a visit with that outcome makes the household
  due again within N days.

``days`` None means the rule is off.  The built-in values are in
:data:`DEFAULT_RULES`; a row of ``plan_rules`` (set with ``visitlog plan rules
set`` or from the TUI, synced like any change) overrides one of them.  Its id
is derived from kind and key, so two replicas setting one rule make one row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from visitlog.i18n import t
from visitlog.model import Category, Outcome, Tag, ValidationError
from visitlog.order import natural_key

if TYPE_CHECKING:  # pragma: no cover
    from visitlog.store import Store

#: Rule kinds, in the order they are shown.
KINDS = ("default", "tag", "item", "outcome")
#: The longest interval a rule may have (ten years), in days.
MAX_DAYS = 3660
#: Outcomes a rule may be set for: those after which a household is still due.
RULE_OUTCOMES = (Outcome.NOT_HOME.value, Outcome.REFUSED.value)
#: Words that name the rule for every household.
DEFAULT_WORDS = ("默认", "全部", "default", "all")
#: Words that turn a rule off.
OFF_WORDS = ("off", "关", "关闭", "none", "不")

#: The built-in rules ``{(kind, key): days}`` (None: off).  Intervals follow
#: the care each group needs: 独居老人, 失能失智 and 困境儿童 monthly; 高龄 and
#: 纯老家庭 every two months; 残疾, 低保, 低收入, 困难人员, 特困 quarterly (特困
#: monthly); 优抚对象 and 计划生育特殊家庭 twice a year; everyone else once a year.
DEFAULT_RULES: dict[tuple[str, str], int | None] = {
    ("default", ""): 365,
    ("tag", Tag.ALONE_ELDERLY.value): 30,
    ("tag", Tag.ELDERLY_ONLY.value): 60,
    ("tag", Tag.VERY_OLD.value): 60,
    ("tag", Tag.DISABLED_DEMENTIA.value): 30,
    ("tag", Tag.DISABILITY.value): 90,
    ("tag", Tag.DIBAO.value): 90,
    ("tag", Tag.LOW_INCOME.value): 90,
    ("tag", Tag.HARDSHIP.value): 90,
    ("tag", Tag.EXTREME_HARDSHIP.value): 30,
    ("tag", Tag.VETERAN.value): 180,
    ("tag", Tag.CHILD_AT_RISK.value): 30,
    ("tag", Tag.FAMILY_PLANNING.value): 180,
    ("item", Category.SAFETY.value): 7,
    ("item", Category.RELIEF.value): 7,
    ("item", Category.MEDICAL.value): 7,
    ("outcome", Outcome.NOT_HOME.value): 14,
    ("outcome", Outcome.REFUSED.value): None,
}


@dataclass(frozen=True)
class Rule:
    """One rule in force.

    Attributes:
        kind: ``default``, ``tag``, ``item`` or ``outcome``.
        key: the tag, category or outcome ("" for ``default``).
        days: interval or deadline in days; None when the rule is off.
        source: ``builtin`` or ``set`` (a stored row overrides the built-in value).
        worker: who set it (stored rules only).
    """

    kind: str
    key: str
    days: int | None
    source: str = "builtin"
    worker: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "key": self.key,
            "days": self.days,
            "source": self.source,
            "worker": self.worker,
        }


class RuleBook:
    """Every rule in force, looked up by kind and key."""

    def __init__(self, rules: list[Rule]):
        self.rules = rules
        self._by = {(r.kind, r.key): r for r in rules}
        self._active = {
            kind: {r.key: r.days for r in rules if r.kind == kind and r.days is not None}
            for kind in KINDS
        }

    def days(self, kind: str, key: str = "") -> int | None:
        """The rule's days (None: off or unknown)."""
        rule = self._by.get((kind, key))
        return rule.days if rule else None

    def active(self, kind: str) -> dict[str, int]:
        """``{key: days}`` of the rules of *kind* that are on (do not change it)."""
        return self._active.get(kind, {})


def rule_id(kind: str, key: str) -> str:
    """The id of a stored rule: derived, so two replicas setting one rule make one row."""
    digest = hashlib.sha1(f"plan|{kind}|{key}".encode()).hexdigest()
    return f"rule-{digest[:24]}"


#: Keys in the order the model lists them (tags, categories, outcomes).
_KEY_ORDER = {v: i for enum in (Tag, Category, Outcome) for i, v in enumerate(enum.choices())}


def _order(rule: Rule) -> tuple[object, ...]:
    return (KINDS.index(rule.kind), _KEY_ORDER.get(rule.key, -1), natural_key(rule.key))


def builtin_rules() -> RuleBook:
    """The rules with no stored row (what a new street starts with)."""
    return RuleBook(sorted((Rule(k, key, d) for (k, key), d in DEFAULT_RULES.items()), key=_order))


def load_rules(store: Store) -> RuleBook:
    """The built-in rules, each overridden by its stored row when there is one."""
    merged = {(k, key): Rule(k, key, d) for (k, key), d in DEFAULT_RULES.items()}
    for r in store.plan_rule_rows():
        if r["kind"] in KINDS:
            merged[(r["kind"], r["key"])] = Rule(
                r["kind"], r["key"], r["days"], source="set", worker=r["worker"]
            )
    return RuleBook(sorted(merged.values(), key=_order))


def parse_rule_key(text: str) -> tuple[str, str]:
    """(kind, key) of the rule a worker names: 默认, a tag, a category or 不在家/拒访.

    English aliases work too (``elderly-alone``, ``safety``, ``not-home``).

    Raises:
        ValidationError: the text names no rule; the message lists what does.
    """
    raw = (text or "").strip()
    if raw.lower() in DEFAULT_WORDS:
        return "default", ""
    for kind, enum in (("tag", Tag), ("item", Category)):
        for member in enum:
            if raw == member.value or raw.lower() == member.alias.lower():
                return kind, member.value
    for member in Outcome:
        if member.value in RULE_OUTCOMES and (
            raw == member.value or raw.lower() == member.alias.lower()
        ):
            return "outcome", member.value
    raise ValidationError(t("plan.err.rule_key", value=raw))


def parse_days(text: str | int | None) -> int | None:
    """Days of a rule: a whole number 1…3660, or off (``off``, 关)."""
    raw = str(text if text is not None else "").strip()
    if raw.lower() in OFF_WORDS:
        return None
    raw = raw.removesuffix("天").removesuffix("days").removesuffix("d").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise ValidationError(t("plan.err.days", value=text, max=MAX_DAYS))
    return int(raw)


def set_rule(store: Store, name: str, days: str | int | None, note: str | None = None) -> Rule:
    """Set the rule *name* (see :func:`parse_rule_key`) to *days*, kept and synced.

    Raises:
        ValidationError: an unknown rule or a bad number of days.
    """
    kind, key = parse_rule_key(name)
    value = parse_days(days)
    rid = rule_id(kind, key)
    worker = store.get_setting("worker")
    row = {"kind": kind, "key": key, "days": value, "worker": worker, "note": note, "deleted": 0}
    with store.transaction() as tx:
        tx.put("plan_rules", rid, row)
        tx.audit("plan_rule_set", "plan_rules", rid, {"kind": kind, "key": key, "days": value})
    return Rule(kind, key, value, source="set", worker=worker)
