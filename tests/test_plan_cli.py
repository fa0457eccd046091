"""``visitlog plan`` on the demo street (checked by a recount here), the route sheet, errors."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import defaultdict

import pytest
import rawdb

from visitlog.model import Household, Visit

D = dt.date
#: The built-in rules, written out here (not read from the code under test).
TAG_DAYS = {
    "独居老人": 30, "纯老家庭": 60, "高龄": 60, "失能失智": 30, "残疾": 90, "低保": 90,
    "低收入": 90, "困难人员": 90, "特困": 30, "优抚对象": 180, "困境儿童": 30,
    "计划生育特殊家庭": 180,
}  # fmt: skip
ITEM_DAYS = {"安全隐患": 7, "救助帮困": 7, "医疗": 7}
NOT_HOME_DAYS, DEFAULT_DAYS = 14, 365


def recount(path, today: D, until: D) -> dict[str, tuple[D, set[str]]]:
    """{household id: (due, rules)} of every household due by *until*, by plain loops."""
    conn = rawdb.connect(path)
    day = D.fromisoformat
    homes = {
        hid: (json.loads(tags), day(created[:10]))
        for hid, tags, created in conn.execute(
            "SELECT id, tags, created_at FROM households WHERE deleted = 0 "
            "AND merged_into IS NULL AND occupancy != '空置'"
        )
    }
    visits = defaultdict(list)
    for hid, vdate, outcome, nd in conn.execute(
        "SELECT live_household, visit_date, outcome, next_due FROM visits "
        "WHERE deleted = 0 AND merged_into IS NULL"
    ):
        visits[hid].append((day(vdate), outcome, day(nd) if nd else None))
    items = defaultdict(list)
    for hid, cat, raised in conn.execute(
        "SELECT live_household, category, raised_date FROM items WHERE deleted = 0 "
        "AND live_visit IS NOT NULL AND status IN ('待办', '办理中') AND kind IN ('问题', '需求')"
    ):
        items[hid].append((cat, day(raised)))
    conn.close()
    out = {}
    for hid, (tags, created) in homes.items():
        vs = visits.get(hid, [])
        met = max((d for d, o, _ in vs if o == "见面"), default=None)
        dates: list[tuple[D, str]] = []
        if met is None:
            dates.append((min(created, today), "never"))
        else:
            dates.append((met + dt.timedelta(DEFAULT_DAYS), "default"))
            dates += [(met + dt.timedelta(TAG_DAYS[tg]), "tag") for tg in tags if tg in TAG_DAYS]
        after = [(d, o, nd) for d, o, nd in vs if met is None or d >= met]
        not_home = [d for d, o, _ in after if o == "不在家" and d != met]
        if not_home:
            dates.append((max(not_home) + dt.timedelta(NOT_HOME_DAYS), "outcome"))
        dates += [(nd, "next_due") for _, _, nd in after if nd]
        for cat, raised in items.get(hid, []):
            if cat in ITEM_DAYS:
                start = max(raised, met) if met else raised
                dates.append((start + dt.timedelta(ITEM_DAYS[cat]), "item"))
        due = min(d for d, _ in dates)
        if due <= until:
            out[hid] = (due, {r for d, r in dates if d == due})
    return out


def test_demo_plan_json_lists_exactly_the_households_the_rules_make_due(demo_cli, demo_db):
    today = dt.date.today()
    until = today + dt.timedelta(days=10)
    listed = demo_cli.json("plan", "--until", until.isoformat())
    expected = recount(demo_db, today, until)
    assert len(listed) == len(expected) > 20
    assert {e["household_id"] for e in listed} == set(expected)
    for e in listed:
        due, rules = expected[e["household_id"]]
        assert e["due"] == due.isoformat()
        assert e["overdue_days"] == (today - due).days
        assert {r["rule"] for r in e["rules"]} == rules
        assert len(e["reasons"]) == len(e["rules"]) and all(e["reasons"])
        assert e["address"]
    # Every kind of rule shows up on the demo street.
    seen = {r for _, rules in expected.values() for r in rules}
    assert {"next_due", "tag", "item", "outcome"} <= seen
    # Grouped by building: a building's households are together, by floor then room.
    buildings = [(e["micro_grid"], e["building"]) for e in listed]
    firsts = [b for i, b in enumerate(buildings) if i == 0 or buildings[i - 1] != b]
    assert len(firsts) == len(set(firsts))
    for b in set(firsts):
        floors = [
            e["floor"] if e["floor"] is not None else -1
            for e in listed
            if (e["micro_grid"], e["building"]) == b
        ]
        assert floors == sorted(floors)
    # Buildings come most overdue first.
    earliest = [
        min(e["due"] for e in listed if (e["micro_grid"], e["building"]) == b) for b in firsts
    ]
    assert earliest == sorted(earliest)


def test_demo_plan_of_one_grid_and_one_worker(demo_cli, demo_db):
    everyone = demo_cli.json("plan", "--until", "2030-01-01")
    grid = demo_cli.json("plan", "--grid", "曹杨一村1号网格", "--until", "2030-01-01")
    assert grid and {e["micro_grid"] for e in grid} == {"曹杨一村1号网格"}
    assert {e["household_id"] for e in grid} == {
        e["household_id"] for e in everyone if e["micro_grid"] == "曹杨一村1号网格"
    }
    conn = rawdb.connect(demo_db)
    worker = conn.execute(
        "SELECT visitor FROM visits GROUP BY visitor ORDER BY count(*) DESC"
    ).fetchone()[0]
    latest = dict(
        conn.execute(
            "SELECT live_household, visitor FROM visits v WHERE deleted = 0 AND merged_into IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM visits w WHERE w.live_household = v.live_household "
            "AND w.deleted = 0 AND w.merged_into IS NULL AND (w.visit_date > v.visit_date "
            "OR (w.visit_date = v.visit_date AND (w.created_at > v.created_at "
            "OR (w.created_at = v.created_at AND w.id > v.id)))))"
        ).fetchall()
    )
    conn.close()
    mine = demo_cli.json("plan", "--worker", worker, "--until", "2030-01-01")
    assert mine
    assert {e["household_id"] for e in mine} == {
        e["household_id"] for e in everyone if latest.get(e["household_id"]) == worker
    }


@pytest.fixture
def sheet_cli(cli, store):
    """A grid with a resident whose name, phone and tags must never be printed."""
    store.init_identity("王丽华", "laptop-1")
    for address, head, phone, tags in (
        ("曹杨一村7号301室", "王秀英", "13812345678", ["独居老人", "残疾"]),
        ("曹杨一村7号101室", '=HYPERLINK("http://x","y")', "021-62345678", []),
        ("曹杨一村7号201室", "+SUM(1,2)", None, ["低保"]),
    ):
        h = store.add_household(
            Household(
                address=address, micro_grid="曹杨一村7号网格", head=head, phone=phone, tags=tags
            )
        )
        store.add_visit(Visit(household_id=h.id, visit_date="2025-06-01", visitor="王丽华"))
    return cli


SECRETS = ("王秀英", "13812345678", "62345678", "独居老人", "残疾", "低保")


def test_route_sheet_html_is_masked_and_has_a_tick_column(sheet_cli, tmp_path):
    out = tmp_path / "week.html"
    result = sheet_cli("plan", "--grid", "曹杨一村7号网格", "--format", "html", "-o", str(out))
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    for secret in SECRETS:
        assert secret not in page
    assert "王**" in page and "138****5678" in page and "021****5678" in page
    assert "已访" in page and page.count("□") == 3
    assert "重点多访：每 30 天" in page  # the rule, without naming the group
    assert "<a " not in page and "=*" in page  # the formula-like name, masked
    # walking order: 101, 201, 301 of building 7
    assert page.index("7号101室") < page.index("7号201室") < page.index("7号301室")
    assert oct(out.stat().st_mode & 0o777) == "0o600"


def test_route_sheet_xlsx_is_masked_and_formulas_are_text(sheet_cli, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "week.xlsx"
    result = sheet_cli("plan", "--grid", "曹杨一村7号网格", "-o", str(out))
    assert result.exit_code == 0, result.output
    ws = load_workbook(io.BytesIO(out.read_bytes())).active
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    text = "\n".join(str(c.value) for c in cells)
    for secret in SECRETS:
        assert secret not in text
    assert "王**" in text and "138****5678" in text
    assert all(c.data_type != "f" for c in cells)
    header = [c.value for c in ws[1]]
    assert header[:3] == ["楼栋", "已访", "室号"]
    masked = [c for c in cells if isinstance(c.value, str) and c.value.startswith(("=", "+"))]
    assert len(masked) == 2 and all(c.data_type == "s" and c.quotePrefix for c in masked)
    due = ws.cell(row=2, column=7)
    assert isinstance(due.value, dt.datetime) and due.number_format == "yyyy-mm-dd"


def test_route_sheet_reveal_is_audited(sheet_cli, store, tmp_path):
    out = tmp_path / "week.html"
    args = ("plan", "--grid", "曹杨一村7号网格", "--reveal", "-o", str(out))
    result = sheet_cli(*args)
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "王秀英" in page and "13812345678" in page and "独居老人" in page
    assert "=HYPERLINK(&quot;http://x&quot;" in page and "<a " not in page
    actions = [r["action"] for r in store.query("SELECT action FROM audit")]
    assert "plan.reveal" in actions and "plan.export" in actions


def test_terminal_list_masks_and_json_is_audited(sheet_cli, store):
    result = sheet_cli("plan", "--grid", "曹杨一村7号网格")
    assert result.exit_code == 0, result.output
    assert "王**" in result.stdout and "王秀英" not in result.stdout
    assert "独居老人" not in result.stdout
    listed = sheet_cli.json("plan", "--grid", "曹杨一村7号网格")
    assert len(listed) == 3
    assert store.scalar("SELECT count(*) FROM audit WHERE action = 'plan.export'") == 1


@pytest.mark.parametrize(
    ("args", "zh", "en"),
    [
        (("plan", "--grid", "不存在网格"), "没有名为", "micro-grid"),
        (("plan", "--worker", "无此人"), "无此人", "No visits by"),
        (("plan", "--until", "2026-13-01"), "截止日期", "until date"),
        (("plan", "--format", "pdf"), "pdf", "Unknown format"),
        (("plan", "--format", "html"), "-o", "-o"),
        (("plan", "rules", "set", "每周", "7"), "每周", "There is no rule"),
        (("plan", "rules", "set", "独居老人", "0"), "1 到 3660", "from 1 to 3660"),
        (("plan", "rules", "set", "独居老人", "三十"), "三十", "whole number"),
    ],
)
def test_errors_are_one_plain_line_in_chinese_or_english(sheet_cli, args, zh, en):
    for lang, expected in (("zh", zh), ("en", en)):
        result = sheet_cli("--lang", lang, *args)
        assert result.exit_code == 1, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], result.stderr
        assert "Traceback" not in result.output


def test_rules_show_and_set(cli):
    shown = cli.json("plan", "rules", "show")["rules"]
    assert {(r["kind"], r["key"]): r["days"] for r in shown}[("tag", "独居老人")] == 30
    result = cli("plan", "rules", "set", "独居老人", "21", "--note", "冬季")
    assert result.exit_code == 0 and "21" in result.stdout
    result = cli("plan", "rules", "set", "refused", "off")
    assert result.exit_code == 0
    rules = {(r["kind"], r["key"]): r for r in cli.json("plan", "rules")["rules"]}
    assert rules[("tag", "独居老人")]["days"] == 21
    assert rules[("tag", "独居老人")]["source"] == "set"
    assert rules[("outcome", "拒访")]["days"] is None
    table = cli("--lang", "en", "plan", "rules")
    assert table.exit_code == 0 and "Key group" in table.stdout
