"""Visit planning by rule: 全域覆盖、重点多访、特情必访.

Owns the street's planning rules (:mod:`~visitlog.plan.rules`, the synced
table ``plan_rules`` over built-in defaults), the due-date arithmetic
(:mod:`~visitlog.plan.due`, pure functions), walking order
(:mod:`~visitlog.plan.walk`: building, floor, room), the week's list of
households due (:mod:`~visitlog.plan.week`) and the 按期走访 figures per
微网格 (:mod:`~visitlog.plan.ontime`).  Everything it reads goes through the
store's queries; nothing here prints.
"""

from visitlog.plan.due import ItemFact, Reason, VisitFact, household_due
from visitlog.plan.ontime import ON_TIME_KEYS, OnTime, on_time_by_grid
from visitlog.plan.rules import (
    DEFAULT_RULES,
    KINDS,
    Rule,
    RuleBook,
    builtin_rules,
    load_rules,
    parse_days,
    parse_rule_key,
    rule_id,
    set_rule,
)
from visitlog.plan.walk import Spot, floor_of, spot
from visitlog.plan.week import (
    Plan,
    PlanEntry,
    check_worker,
    due_dates,
    end_of_week,
    make_plan,
)

__all__ = [
    "DEFAULT_RULES",
    "KINDS",
    "ON_TIME_KEYS",
    "ItemFact",
    "OnTime",
    "Plan",
    "PlanEntry",
    "Reason",
    "Rule",
    "RuleBook",
    "Spot",
    "VisitFact",
    "builtin_rules",
    "check_worker",
    "due_dates",
    "end_of_week",
    "floor_of",
    "household_due",
    "load_rules",
    "make_plan",
    "on_time_by_grid",
    "parse_days",
    "parse_rule_key",
    "rule_id",
    "set_rule",
    "spot",
]
