"""The meeting's figures per 微网格, rolled up to 居民区 and 街道, as plain data.

This package owns the metric registry (:mod:`~visitlog.summary.metrics`:
every figure once, with its labels, kind, roll-up and where it is shown),
the period and its levels (:mod:`~visitlog.summary.periods`), the aggregate
SQL and running it (:mod:`~visitlog.summary.queries`) and the groups and
their roll-ups (:mod:`~visitlog.summary.rollup`).  Rendering lives in
:mod:`visitlog.render`.

Definitions (see DOMAIN.md, "What the meeting looks at"):

* **Live** household: not deleted and not merged into another.  应访户数
  (``households``) = live households that are not vacant (居住状态 空置).
* 已访户数 (``visited_households``): households due that a live visit (not
  deleted, not merged) met (outcome 见面) in the period, both dates inclusive.
  走访覆盖率 (``coverage``) = visited ÷ due, ``None`` when nothing is due.
* Still due = due − visited.  Each one gets one reason, in this order: 拒访
  when any visit of the period was refused, else 不在家, else 已搬离 (offer to
  mark it 空置), else 未走访 (no attempt in the period).
* Visits: live visits of live households dated in the period, by mode and by
  outcome; active visitors = distinct visitor names among them (not additive:
  a roll-up counts each name once).
* 重点人群: per tag, due households carrying it and how many were visited.
  重点户逐月走访率 (``key_on_schedule_rate``): due households carrying any
  key-group tag that were met (见面) in *every* calendar month the period
  touches (a month partly inside the period counts with its part inside),
  ÷ due households carrying a tag.  DOMAIN.md asks for regular contact with
  key groups (微网格常态化联系) without naming an interval; a month is the
  interval the meeting reviews, so "按期" here means "met every month".
* List items: live items (of live visits and households) *raised* in the
  period, with their current status.  Closed = 已办结 / 已反馈 / 无法解决.
  当场解决 = closed on the day raised; 办结率 = closed ÷ raised; 按时办结率 =
  closed on or before the deadline ÷ closed with a deadline; overdue = open
  (待办 / 办理中) with a deadline before the *overdue cut-off*, which is the end
  of the period or today, whichever is earlier; average days to close over
  closed items with both dates; 反馈率 = 已反馈 ÷ closed; 满意率 = (满意 +
  基本满意) ÷ rated (满意 / 基本满意 / 不满意).
* Data health: households and visits merged as duplicates (per group, by the
  merged record's own grid); changes not yet synced and conflicts waiting
  for review (whole database, in the totals only).

Roll-ups add the counts of their parts and recompute every ratio from the
added numerators and denominators; no ratio is ever averaged.
"""

from visitlog.summary.metrics import (
    BY_NAME,
    METRICS,
    NOT_VISITED,
    RATED,
    SATISFIED,
    STILL_DUE_REASONS,
    TOP_CATEGORIES,
    Metric,
    Sql,
    columns,
    metric,
    ratio,
    view_title,
)
from visitlog.summary.periods import (
    LEVEL_KEYS,
    LEVELS,
    months_in_period,
    parse_level,
    resolve_period,
)
from visitlog.summary.queries import (
    ALL,
    COPY_LEAVES_OUT,
    DETAIL_INDEXES,
    DETAIL_READS,
    PARALLEL_FROM_ROWS,
    READS,
    compute_summary,
    copy_plan,
    run_queries,
    street_name,
)
from visitlog.summary.rollup import Group, Summary, rollup
from visitlog.summary.views import (
    DETAIL_SHEETS,
    FLAT,
    GRID_PAGE,
    MEETING,
    OVERVIEWS,
    TUI_FACTS,
    TUI_GRIDS,
    Column,
)

__all__ = [
    "ALL",
    "BY_NAME",
    "COPY_LEAVES_OUT",
    "DETAIL_INDEXES",
    "DETAIL_READS",
    "DETAIL_SHEETS",
    "FLAT",
    "GRID_PAGE",
    "LEVELS",
    "LEVEL_KEYS",
    "MEETING",
    "METRICS",
    "NOT_VISITED",
    "OVERVIEWS",
    "PARALLEL_FROM_ROWS",
    "RATED",
    "READS",
    "SATISFIED",
    "STILL_DUE_REASONS",
    "TOP_CATEGORIES",
    "TUI_FACTS",
    "TUI_GRIDS",
    "Column",
    "Group",
    "Metric",
    "Sql",
    "Summary",
    "columns",
    "compute_summary",
    "copy_plan",
    "metric",
    "months_in_period",
    "parse_level",
    "ratio",
    "resolve_period",
    "rollup",
    "run_queries",
    "street_name",
    "view_title",
]
